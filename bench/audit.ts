// Audit throughput: entries per second through the group-commit writer, SQLite and PostgreSQL, with many callers.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import pino from 'pino';
import { AuditSpool } from '../src/audit/spool.js';
import { AuditWriter } from '../src/audit/writer.js';
import { openAuditStore } from '../src/store/open.js';
import { verifyStore } from '../src/store/types.js';

const ENTRIES = Number(process.env.AUDIT_ENTRIES ?? 20_000);
const CALLERS = [1, 64, 1024];
const DURABILITY = process.env.AUDIT_DURABILITY === 'power-loss' ? 'power-loss' : 'crash';
const PG = process.env.WARDEN_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

function body(i: number): Record<string, unknown> {
  return {
    v: 1,
    requestId: i,
    session: 's',
    grant: null,
    server: 'bench',
    method: 'tools/call',
    tool: 'echo',
    decision: 'allowed',
    rule: '/tools/echo',
    policy: 'bench.json',
    reason: null,
    shadow: false,
    outcome: null,
    errorCode: null,
    latencyMs: null,
    args: { mode: 'keys', keys: ['text'], hash: 'a'.repeat(64) },
  };
}

type Via = 'store' | 'spool';

/**
 * `store`: callers wait for their entry's store transaction (group commit), as without a spool. `spool`: callers
 * wait for the spool write, as the gateway does; the clock stops when the store has every entry.
 */
async function run(
  url: string,
  callers: number,
  via: Via,
): Promise<{ perSecond: number; verified: boolean }> {
  const schema = `bench_${process.pid}_${callers}_${via}`;
  const store = await openAuditStore(url, { sqlite: { durability: DURABILITY }, postgres: { schema } });
  const spool =
    via === 'spool'
      ? await AuditSpool.open(join(dir, `${schema}.spool`), store, {
          durability: DURABILITY,
          log: pino({ level: 'silent' }),
        })
      : undefined;
  const writer = spool ?? new AuditWriter(store, { maxDelayMs: 0 });
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (next < ENTRIES) {
        const i = next++;
        await writer.write({
          time: new Date().toISOString(),
          kind: 'decision',
          requestKey: `k${i}`,
          body: body(i),
        });
      }
    }),
  );
  if (spool !== undefined) await spool.drained();
  const seconds = (performance.now() - started) / 1000;
  await writer.close();
  const verified = (await verifyStore(store)).ok;
  await store.close();
  if (url.startsWith('postgres')) {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await client.end();
  }
  return { perSecond: Math.round(ENTRIES / seconds), verified };
}

const dir = mkdtempSync(join(tmpdir(), 'warden-audit-bench-'));
const rows: string[] = [];
for (const via of ['store', 'spool'] as const) {
  for (const callers of CALLERS) {
    const sqlite = await run(`sqlite:${join(dir, `audit-${callers}-${via}.db`)}`, callers, via);
    let pg = '(unavailable)';
    try {
      const r = await run(PG, callers, via);
      pg = `${r.perSecond}${r.verified ? '' : ' (verify failed)'}`;
    } catch (err) {
      pg = `(unavailable: ${(err as Error).message.split('\n')[0]})`;
    }
    rows.push(
      `| ${via} | ${callers} | ${sqlite.perSecond}${sqlite.verified ? '' : ' (verify failed)'} | ${pg} |`,
    );
  }
}
rmSync(dir, { recursive: true, force: true });
process.stdout.write(
  `| callers wait for | callers | SQLite (${DURABILITY}) entries/s | PostgreSQL entries/s |\n| --- | ---: | ---: | ---: |\n${rows.join('\n')}\n`,
);
