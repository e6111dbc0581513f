// The audit record's `era` (#18.7): which protocol era the agent spoke, on SQLite and PostgreSQL, through
// /api/audit, `warden audit query --json`, `warden audit export` (JSON Lines and CSV), and hashed like every field:
// records written before the field existed still verify beside the new ones.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client as ClientV2, StreamableHTTPClientTransport as HttpV2 } from '@modelcontextprotocol/client';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { resolveConfig } from '../../src/config/resolve.js';
import { createGateway, type Gateway } from '../../src/gateway.js';
import { createLogger } from '../../src/log.js';
import { openAuditStore } from '../../src/store/open.js';
import { adminRequest, connect, PROBE, ROOT, tempDir, textOf } from '../helpers/gateway.js';
import { pgUrl, shouldRunPg } from '../helpers/services.js';

const ADMIN = 'wda_test-audit-era-admin-token-0123456789';
process.env.WARDEN_ADMIN_TOKEN = ADMIN;
const CLI_SOURCE = join(ROOT, 'src/cli/main.ts');

type Json = Record<string, unknown>;

/** `warden <args>` from the source (the same code the built CLI runs), as its own process. */
function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', CLI_SOURCE, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, WARDEN_LOG_LEVEL: 'silent' },
    timeout: 60_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A body as warden wrote it before `era` existed (v1, keys mode, no era). */
function oldBody(requestId: number): Json {
  return {
    v: 1,
    requestId,
    session: 'old-session',
    grant: null,
    server: 'probe',
    method: 'tools/call',
    tool: 'echo',
    decision: 'allowed',
    rule: '(no policy)',
    policy: null,
    reason: null,
    shadow: false,
    outcome: 'ok',
    forwarded: true,
    errorCode: null,
    latencyMs: 1.25,
    args: { mode: 'keys', keys: ['text'] },
  };
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, ms = 10_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function exercise(storage: string): Promise<void> {
  // Two records from before the field existed, already in the chain.
  const before = await openAuditStore(storage);
  await before.append([
    { time: new Date().toISOString(), kind: 'final', requestKey: 'old-1', body: oldBody(1) },
    { time: new Date().toISOString(), kind: 'final', requestKey: 'old-2', body: oldBody(2) },
  ]);
  await before.close();

  const dir = tempDir();
  const file = join(dir, 'warden.yaml');
  const yaml = `mcpServers:
  probe:
    command: node
    args: ["--import", "tsx", "${PROBE}"]
    cwd: ${ROOT}
storage: ${storage}
auth: { anonymous: true }
`;
  writeFileSync(file, yaml);
  const config = resolveConfig(parseConfig(yaml, file));
  config.listen = { host: '127.0.0.1', port: 0 };
  config.admin = { host: '127.0.0.1', port: 0 };
  const gateway: Gateway = await createGateway(config, { log: createLogger('silent') });
  const { mcpUrl, adminUrl } = await gateway.listen();
  try {
    const old = await connect(`${mcpUrl}/probe`);
    expect(textOf(await old.callTool({ name: 'echo', arguments: { text: 'from 2025' } }))).toBe('from 2025');
    await old.close();
    const modern = new ClientV2(
      { name: 'era-audit', version: '1.0.0' },
      { capabilities: {}, versionNegotiation: { mode: { pin: '2026-07-28' } } },
    );
    await modern.connect(new HttpV2(new URL(`${mcpUrl}/probe`)));
    expect(textOf(await modern.callTool({ name: 'echo', arguments: { text: 'from 2026' } }))).toBe(
      'from 2026',
    );
    await modern.close();

    const calls = (records: Json[]) => records.filter((r) => r.method === 'tools/call');
    const api = await waitFor('both calls in /api/audit', async () => {
      const { body } = await adminRequest({ adminUrl }, ADMIN, '/api/audit?limit=50');
      return calls(body).length === 4 ? calls(body) : undefined;
    });
    // Oldest first: the two old records have no era; each new one says the era its agent spoke.
    expect(api.map((r) => r.era)).toEqual([undefined, undefined, '2025-11-25', '2026-07-28']);
    expect(api.map((r) => r.requestId === 1 || r.requestId === 2 || r.outcome === 'ok')).toEqual([
      true,
      true,
      true,
      true,
    ]);

    const query = cli(['audit', 'query', '--config', file, '--json']);
    expect(query.status, query.stderr).toBe(0);
    const queried = calls(
      query.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Json),
    );
    expect(queried.map((r) => r.era)).toEqual([undefined, undefined, '2025-11-25', '2026-07-28']);

    const jsonl = cli(['audit', 'export', '--config', file]);
    expect(jsonl.status, jsonl.stderr).toBe(0);
    const exported = calls(
      jsonl.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Json),
    );
    expect(exported.map((r) => r.era)).toEqual([undefined, undefined, '2025-11-25', '2026-07-28']);

    const csv = cli(['audit', 'export', '--config', file, '--format', 'csv']);
    expect(csv.status, csv.stderr).toBe(0);
    const lines = csv.stdout.trim().split('\n');
    expect(lines[0]!.endsWith(',args,era')).toBe(true);
    const echoRows = lines.filter((l) => l.includes(',tools/call,'));
    expect(echoRows.map((l) => l.slice(l.lastIndexOf(',') + 1))).toEqual([
      '',
      '',
      '2025-11-25',
      '2026-07-28',
    ]);

    // The field is in the hash: the old records and the new ones verify as one chain.
    const verify = cli(['audit', 'verify', '--config', file]);
    expect(verify.status, verify.stdout + verify.stderr).toBe(0);
    expect(verify.stdout).toMatch(/^ok \d+ records/);
  } finally {
    await gateway.close(1000);
  }
}

describe('#18.7 audit era', () => {
  it('#18.7.1 SQLite: each record names its era, old records without it still verify', async () => {
    await exercise(`sqlite:${join(tempDir(), 'warden.db')}`);
  }, 120_000);

  it('#18.7.2 editing the era of a stored record breaks verification', async () => {
    const storage = `sqlite:${join(tempDir(), 'warden.db')}`;
    const store = await openAuditStore(storage);
    await store.append([
      {
        time: new Date().toISOString(),
        kind: 'final',
        requestKey: 'r1',
        body: { ...oldBody(1), era: '2026-07-28' },
      },
    ]);
    await store.close();
    const file = join(tempDir(), 'warden.yaml');
    writeFileSync(
      file,
      `storage: ${storage}\nmcpServers:\n  probe:\n    command: node\n    args: ["${PROBE}"]\n`,
    );
    const intact = cli(['audit', 'verify', '--config', file]);
    expect(intact.status, intact.stdout + intact.stderr).toBe(0);
    const Database = (await import('better-sqlite3')).default;
    const db = new Database(storage.slice('sqlite:'.length));
    db.prepare(`UPDATE audit SET body = replace(body, '2026-07-28', '2025-11-25')`).run();
    db.close();
    const broken = cli(['audit', 'verify', '--config', file]);
    expect(broken.status).toBe(1);
    expect(broken.stdout + broken.stderr).toContain('content was edited');
  }, 60_000);

  describe('PostgreSQL', async () => {
    const run = await shouldRunPg('audit era on PostgreSQL');
    const database = `warden_era_${process.pid}`;
    const sql = async (text: string) => {
      const c = new pg.Client({ connectionString: pgUrl() });
      await c.connect();
      try {
        await c.query(text);
      } finally {
        await c.end();
      }
    };
    afterAll(async () => {
      if (run) await sql(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    });

    it.runIf(run)(
      '#18.7.3 PostgreSQL: each record names its era, old records without it still verify',
      async () => {
        await sql(`CREATE DATABASE ${database}`);
        await exercise(pgUrl().replace(/\/[^/]*$/, `/${database}`));
      },
      120_000,
    );
  });
});
