// `warden audit query|tail|export|verify`: read the audit log of a config's storage, for people and for scripts.
import { createWriteStream } from 'node:fs';
import { dirname } from 'node:path';
import type { ExportedHead } from '../audit/chain.js';
import { readHeads } from '../audit/heads.js';
import { type AuditKeys, loadAuditKeys } from '../audit/keys.js';
import { recoverSpool } from '../audit/spool.js';
import { type AuditRecordView, csvHeader, csvRow, recentRecords, toRecords } from '../audit/view.js';
import type { GatewayConfig } from '../config/resolve.js';
import { ConfigError } from '../errors.js';
import { auditSpoolBase, openAuditStore, spoolFamily } from '../store/open.js';
import { type AuditFilter, type AuditStore, verifyStore } from '../store/types.js';
import { EXIT_FAILURE, EXIT_OK, fail, loadGatewayConfig } from './common.js';

export interface AuditFlags {
  config: string;
  json?: boolean;
  limit?: string;
  since?: string;
  until?: string;
  grant?: string;
  server?: string;
  tool?: string;
  decision?: string;
}

/**
 * Opens the config's audit store. Records a crashed gateway left in its spool are moved in first, so that what is
 * read (and verified) includes every call that was made; a running gateway moves its own.
 */
async function openStore(
  configFile: string,
  opened?: (config: GatewayConfig, keys: AuditKeys | undefined) => void,
): Promise<AuditStore> {
  const config = loadGatewayConfig({ config: configFile });
  const baseDir = dirname(config.file);
  // Records recovered from a spool are chained here: keyed, as the gateway would have.
  const keys = loadAuditKeys(config.auditKey);
  opened?.(config, keys);
  const store = await openAuditStore(config.storage, { baseDir, key: keys?.keys[0] });
  try {
    const base = auditSpoolBase(config.storage, config.auditSpool, baseDir);
    for (const spool of base === undefined ? [] : spoolFamily(base)) {
      const moved = await recoverSpool(spool, store);
      if (moved !== undefined && moved > 0) {
        process.stderr.write(
          `recovered ${moved} audit records from ${spool} (left by a gateway that stopped)\n`,
        );
      }
    }
  } catch (err) {
    await store.close();
    throw err;
  }
  return store;
}

function date(flag: string, value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) {
    throw new ConfigError([
      { file: '(command line)', path: flag, message: `not a date: "${value}" (use ISO 8601)` },
    ]);
  }
  return d;
}

function positive(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) {
    throw new ConfigError([
      { file: '(command line)', path: flag, message: `expected a positive integer, got "${value}"` },
    ]);
  }
  return n;
}

function filterOf(flags: AuditFlags): AuditFilter {
  const filter: AuditFilter = {};
  const since = date('--since', flags.since);
  const until = date('--until', flags.until);
  if (since) filter.since = since;
  if (until) filter.until = until;
  if (flags.grant) filter.grant = flags.grant;
  if (flags.server) filter.server = flags.server;
  if (flags.tool) filter.tool = flags.tool;
  if (flags.decision) filter.decision = flags.decision;
  return filter;
}

function line(r: AuditRecordView): string {
  const where = [r.server, r.tool].filter((x) => x !== null && x !== '').join('/');
  const latency = r.latencyMs === null ? '' : ` ${r.latencyMs}ms`;
  return `${r.time} #${r.seq} ${r.decision.padEnd(16)} ${r.method} ${where} ${r.rule ?? ''} ${r.outcome ?? ''}${latency}`;
}

async function withStore(
  configFile: string,
  run: (store: AuditStore) => Promise<number>,
  opened?: (config: GatewayConfig, keys: AuditKeys | undefined) => void,
): Promise<void> {
  let store: AuditStore | undefined;
  try {
    store = await openStore(configFile, opened);
    const code = await run(store);
    await store.close();
    // Output to a pipe is written asynchronously: exiting before it is flushed cut an export short (found by
    // test/faults/disk-full.test.ts; regression test in test/faults/audit-export-pipe.test.ts).
    await new Promise<void>((flushed) => process.stdout.write('', () => flushed()));
    process.exit(code);
  } catch (err) {
    await store?.close().catch(() => {});
    fail(err);
  }
}

export function query(flags: AuditFlags): Promise<void> {
  return withStore(flags.config, async (store) => {
    const limit = positive('--limit', flags.limit, 100);
    const filter = filterOf(flags);
    const records = await recentRecords(store, limit, filter);
    for (const r of records) process.stdout.write(`${flags.json ? JSON.stringify(r) : line(r)}\n`);
    return EXIT_OK;
  });
}

/** Heads from a file: its lines, or a note on stderr when there is no such file yet. */
function headsFrom(file: string, keys: AuditKeys | undefined): ExportedHead[] {
  const heads = readHeads(file, keys?.keys ?? []);
  if (heads === undefined) process.stderr.write(`no exported heads at ${file} (none exported yet)\n`);
  return heads ?? [];
}

export function verify(flags: { config: string; json?: boolean; heads?: string[] }): Promise<void> {
  let keys: AuditKeys | undefined;
  let heads: ExportedHead[] | undefined;
  return withStore(
    flags.config,
    async (store) => {
      const result = await verifyStore(store, { keys: keys?.keys, heads });
      const head = await store.head();
      if (flags.json) process.stdout.write(`${JSON.stringify({ ...result, head })}\n`);
      else if (result.ok) {
        let out = `ok ${result.count} records\nhead ${head.seq} ${head.hash}\n`;
        if (result.keyed !== undefined) {
          out +=
            result.keyed.from === null
              ? `keyed: audit key ${result.keyed.key} (no records yet)\n`
              : `keyed: audit key ${result.keyed.key}, from record ${result.keyed.from}\n`;
        }
        if (result.heads !== undefined) out += `heads: ${result.heads} exported heads match\n`;
        process.stdout.write(out);
      } else
        process.stdout.write(
          `broken at record ${result.badSeq}: ${result.problem} (${result.count} records verified before it)\n`,
        );
      return result.ok ? EXIT_OK : EXIT_FAILURE;
    },
    (config, k) => {
      keys = k;
      const files = [
        ...(config.auditHeads?.file === undefined ? [] : [config.auditHeads.file]),
        ...(flags.heads ?? []),
      ];
      if (files.length > 0) heads = files.flatMap((f) => headsFrom(f, k));
    },
  );
}

export function exportCommand(flags: AuditFlags & { format?: string; output?: string }): Promise<void> {
  return withStore(flags.config, async (store) => {
    const format = flags.format ?? 'jsonl';
    if (format !== 'jsonl' && format !== 'csv') {
      throw new ConfigError([{ file: '(command line)', path: '--format', message: 'jsonl or csv' }]);
    }
    const out = flags.output ? createWriteStream(flags.output) : process.stdout;
    const filter = filterOf(flags);
    const entries = await store.query(filter);
    if (format === 'csv') out.write(`${csvHeader()}\n`);
    for (const r of toRecords(entries)) out.write(`${format === 'csv' ? csvRow(r) : JSON.stringify(r)}\n`);
    if (out !== process.stdout)
      await new Promise((r) => (out as ReturnType<typeof createWriteStream>).end(r));
    return EXIT_OK;
  });
}

export function tail(flags: AuditFlags & { follow?: boolean }): Promise<void> {
  return withStore(flags.config, async (store) => {
    const print = (r: AuditRecordView) =>
      process.stdout.write(`${flags.json ? JSON.stringify(r) : line(r)}\n`);
    const first = await recentRecords(store, positive('--limit', flags.limit, 20));
    for (const r of first) print(r);
    if (!flags.follow) return EXIT_OK;
    let after = (await store.head()).seq;
    // Follow by polling: works the same for SQLite and PostgreSQL, across gateway replicas.
    for (;;) {
      await new Promise((r) => setTimeout(r, 500));
      const entries = await store.read(after, 1000);
      if (entries.length === 0) continue;
      after = entries[entries.length - 1]!.seq;
      for (const r of toRecords(entries)) print(r);
    }
  });
}
