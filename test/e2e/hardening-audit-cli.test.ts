// Issue #17.13, #17.20, #17.21, #17.22 end to end: a gateway (the built CLI) writes a keyed log and exports heads;
// a database writer then tampers with the SQLite file by raw SQL, and `warden audit verify` must exit 1 naming the
// problem (SPEC §11: exit 0 and `ok <count> records` only when intact).
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalJson, entryHash } from '../../src/audit/chain.js';
import { argsMac, auditKey } from '../../src/audit/keys.js';
import { pgDatabaseUrl, pgSql } from '../faults/helpers.js';
import { runCli, type ServeProcess, serveCli, writeConfig } from '../helpers/cli.js';
import { connect, PROBE, ROOT, tempDir } from '../helpers/gateway.js';
import { shouldRunPg } from '../helpers/services.js';

const SECRET = 'e2e-audit-key-0123456789abcdefghijklmn';
const KEY = auditKey(SECRET);
let dir: string;
let keyFile: string;
let headsFile: string;
let policyFile: string;
let dbFile: string;
let gw: ServeProcess | undefined;

function configFor(db: string, heads = headsFile, extra = ''): string {
  return writeConfig(`
mcpServers:
  probe:
    command: node
    args: ["--import", "tsx", "${PROBE}"]
    cwd: ${ROOT}
    policy: ${policyFile}
storage: sqlite:${db}
audit:
  keyFile: ${keyFile}
  heads: { file: ${heads}, interval: 200ms }
${extra}`);
}

/** A copy of the gateway's log (and its heads file) to attack, with a config that reads it. */
function copyLog(): { db: string; config: string; heads: string } {
  const d = tempDir('warden-h6-copy-');
  const db = join(d, 'audit.db');
  copyFileSync(dbFile, db);
  for (const ext of ['-wal', '-shm']) if (existsSync(dbFile + ext)) copyFileSync(dbFile + ext, db + ext);
  const heads = join(d, 'heads.jsonl');
  copyFileSync(headsFile, heads);
  return { db, config: configFor(db, heads), heads };
}

function sql(db: string, text: string, ...params: unknown[]): void {
  const conn = new Database(db);
  try {
    conn.prepare(text).run(...params);
  } finally {
    conn.close();
  }
}

function verify(config: string, ...more: string[]) {
  return runCli(['audit', 'verify', '--config', config, ...more]);
}

interface Rec {
  seq: number;
  method: string;
  tool: string | null;
  decision: string;
  args: { hash?: string } | null;
}

function query(config: string, ...filters: string[]): Rec[] {
  const r = runCli(['audit', 'query', '--config', config, '--json', '--limit', '1000', ...filters]);
  expect(r.status, r.stderr).toBe(0);
  return r.stdout
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Rec);
}

beforeAll(async () => {
  dir = tempDir('warden-h6-');
  keyFile = join(dir, 'audit.key');
  writeFileSync(keyFile, `${SECRET}\n`, { mode: 0o600 });
  headsFile = join(dir, 'heads.jsonl');
  policyFile = join(dir, 'policy.json');
  writeFileSync(
    policyFile,
    JSON.stringify({ version: '1', default: 'allow', tools: { slow: { action: 'deny', reason: 'no' } } }),
  );
  dbFile = join(dir, 'audit.db');
  gw = await serveCli(configFor(dbFile));
  const client = await connect(`${gw.mcpUrl}/probe`);
  for (let i = 0; i < 3; i++)
    await client.callTool({ name: 'echo', arguments: { text: `hi-${i}`, pin: '4821' } });
  await client.callTool({ name: 'slow', arguments: {} }); // denied
  await client.callTool({ name: 'echo', arguments: { text: 'last' } });
  await client.close();
  expect(await gw.stop()).toBe(0);
  gw = undefined;
}, 60_000);

afterAll(async () => {
  await gw?.stop();
});

describe('hardening: warden audit verify on a tampered log (built CLI)', () => {
  it('#17.22 an intact keyed log verifies: ok, the key, the exported heads', () => {
    const r = verify(configFor(dbFile));
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^ok \d+ records\nhead \d+ [0-9a-f]{64}\n/);
    expect(r.stdout).toContain(`keyed: audit key ${KEY.id}, from record 1`);
    expect(r.stdout).toMatch(/heads: [1-9]\d* exported heads match/);
    const last = JSON.parse(readFileSync(headsFile, 'utf8').trim().split('\n').at(-1)!) as Record<
      string,
      unknown
    >;
    expect(last).toMatchObject({ key: KEY.id, mac: expect.stringMatching(/^[0-9a-f]{64}$/) });
  });

  it('#17.13 the record keeps an HMAC of the arguments, not a sha256 a viewer can look up', () => {
    const echo = query(configFor(dbFile), '--tool', 'echo').find((r) => r.method === 'tools/call')!;
    const args = { pin: '4821', text: 'hi-0' };
    expect(echo.args!.hash).toBe(argsMac(KEY, canonicalJson(args)));
    expect(echo.args!.hash).not.toBe(createHash('sha256').update(canonicalJson(args)).digest('hex'));
  });

  it('#17.20 a denied row whose decision column is set to allowed: verify exits 1, query still shows denied', () => {
    const { db, config } = copyLog();
    const denied = query(config, '--decision', 'denied')[0]!;
    sql(db, `UPDATE audit SET decision = 'allowed' WHERE seq = ?`, denied.seq);
    const r = verify(config);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain(
      `broken at record ${denied.seq}: column decision says "allowed", the hashed record says "denied"`,
    );
    expect(query(config, '--decision', 'allowed').map((x) => x.seq)).not.toContain(denied.seq);
    expect(query(config).find((x) => x.seq === denied.seq)!.decision).toBe('denied');
  });

  it('#17.21 a checkpoint row inserted by hand (records before it deleted): verify exits 1, not authenticated', () => {
    const { db, config } = copyLog();
    const conn = new Database(db);
    const row = conn.prepare('SELECT seq, hash FROM audit ORDER BY seq LIMIT 1 OFFSET 2').get() as {
      seq: number;
      hash: string;
    };
    conn.prepare('DELETE FROM audit WHERE seq <= ?').run(row.seq);
    conn
      .prepare('INSERT INTO audit_checkpoint (id, seq, hash, pruned_at) VALUES (1, ?, ?, ?)')
      .run(row.seq, row.hash, new Date().toISOString());
    conn.close();
    const r = verify(config);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(
      new RegExp(`broken at record ${row.seq}: the checkpoint .* is not authenticated`),
    );
  });

  it('#17.22 the newest records deleted: verify exits 1 against the exported head', () => {
    const { db, config } = copyLog();
    const conn = new Database(db);
    const { n } = conn.prepare('SELECT max(seq) AS n FROM audit').get() as { n: number };
    conn.prepare('DELETE FROM audit WHERE seq > ?').run(n - 2);
    conn.close();
    const r = verify(config);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(
      new RegExp(`the log ends at record ${n - 2}, but the head exported at .* says record ${n}`),
    );
  });

  it('#17.22 every hash recomputed (sha256) after an edit: verify exits 1', () => {
    const { db, config } = copyLog();
    const conn = new Database(db);
    const rows = conn
      .prepare('SELECT seq, time, kind, request_key, body, hash FROM audit ORDER BY seq')
      .all() as {
      seq: number;
      time: string;
      kind: 'final';
      request_key: string;
      body: string;
    }[];
    let prev = '0'.repeat(64);
    for (const r of rows) {
      const body = JSON.parse(r.body) as Record<string, unknown>;
      if (body.decision === 'denied') body.decision = 'allowed';
      const hash = entryHash(prev, {
        seq: r.seq,
        time: r.time,
        kind: r.kind,
        requestKey: r.request_key,
        body,
      });
      conn
        .prepare('UPDATE audit SET body = ?, decision = ?, prev_hash = ?, hash = ? WHERE seq = ?')
        .run(canonicalJson(body), body.decision ?? null, prev, hash, r.seq);
      prev = hash;
    }
    conn.close();
    const r = verify(config);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^broken at record \d+: /);
    // Without the heads file, the key alone sees it too.
    const noHeads = configFor(db, join(tempDir(), 'none.jsonl'));
    const k = verify(noHeads);
    expect(k.status).toBe(1);
    expect(k.stdout).toContain('the newest record is not keyed');
  });

  it('#17.22 an edited heads file (a line whose MAC no longer matches): verify exits 1', () => {
    const { config, heads } = copyLog();
    const lines = readFileSync(heads, 'utf8').trim().split('\n');
    const h = JSON.parse(lines[0]!) as { seq: number };
    lines[0] = JSON.stringify({ ...h, seq: h.seq + 1000 });
    writeFileSync(heads, `${lines.join('\n')}\n`);
    const r = verify(config);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('has a MAC that matches no configured audit key');
  });

  it('#17.22 verify --heads also checks heads from another copy (the gateway log)', () => {
    const { db, config } = copyLog();
    const logCopy = join(tempDir(), 'warden.log');
    const last = JSON.parse(readFileSync(headsFile, 'utf8').trim().split('\n').at(-1)!) as Record<
      string,
      unknown
    >;
    writeFileSync(logCopy, `${JSON.stringify({ level: 30, msg: 'audit head', auditHead: last })}\n`);
    const withoutHeads = configFor(db, join(tempDir(), 'none.jsonl'));
    expect(verify(withoutHeads, '--heads', logCopy).status).toBe(0);
    sql(db, 'DELETE FROM audit WHERE seq = ?', last.seq);
    const r = verify(withoutHeads, '--heads', logCopy);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('records were deleted from the end');
    expect(verify(config).status).toBe(1);
  });

  it('#17.22 a key added to an existing unkeyed log: the gateway records audit.key_changed and verify passes', async () => {
    const d = tempDir('warden-h6-addkey-');
    const db = join(d, 'audit.db');
    const plain = writeConfig(`
mcpServers:
  probe:
    command: node
    args: ["--import", "tsx", "${PROBE}"]
    cwd: ${ROOT}
storage: sqlite:${db}
`);
    let g = await serveCli(plain);
    let c = await connect(`${g.mcpUrl}/probe`);
    await c.callTool({ name: 'echo', arguments: { text: 'before' } });
    await c.close();
    expect(await g.stop()).toBe(0);
    // The key comes from the environment (${WARDEN_AUDIT_KEY}); verify without it fails once keyed records exist.
    const keyed = writeConfig(`
mcpServers:
  probe:
    command: node
    args: ["--import", "tsx", "${PROBE}"]
    cwd: ${ROOT}
storage: sqlite:${db}
audit:
  key: \${WARDEN_AUDIT_KEY}
`);
    process.env.WARDEN_AUDIT_KEY = SECRET;
    try {
      const before = verify(keyed);
      expect(before.status).toBe(1);
      expect(before.stdout).toContain('the newest record is not keyed');
      g = await serveCli(keyed);
      c = await connect(`${g.mcpUrl}/probe`);
      await c.callTool({ name: 'echo', arguments: { text: 'after' } });
      await c.close();
      expect(await g.stop()).toBe(0);
      const r = verify(keyed);
      expect(r.status, r.stdout).toBe(0);
      expect(r.stdout).toMatch(/^ok \d+ records/);
      expect(query(keyed).some((x) => x.method === 'audit.key_changed')).toBe(true);
    } finally {
      delete process.env.WARDEN_AUDIT_KEY;
    }
    expect(verify(plain).status).toBe(1);
  }, 60_000);

  it('#17.22 a key file readable by others stops verify with a clear error', () => {
    const loose = join(tempDir(), 'loose.key');
    writeFileSync(loose, SECRET, { mode: 0o644 });
    const config = writeConfig(`
mcpServers:
  probe:
    command: node
    args: ["--import", "tsx", "${PROBE}"]
storage: sqlite:${join(tempDir(), 'x.db')}
audit:
  keyFile: ${loose}
`);
    const r = verify(config);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('accessible to group or others');
  });
});

const runPg = await shouldRunPg('hardening: audit verify on PostgreSQL (built CLI)');
const database = `warden_h6_${process.pid}`;

describe.runIf(runPg)('hardening: warden audit verify on a tampered PostgreSQL log (built CLI)', () => {
  let config: string;
  const url = pgDatabaseUrl(database);
  async function sqlPg(text: string, params: unknown[] = []): Promise<void> {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      await c.query(text, params);
    } finally {
      await c.end();
    }
  }

  beforeAll(async () => {
    await pgSql(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await pgSql(`CREATE DATABASE ${database}`);
    config = writeConfig(`
mcpServers:
  probe:
    command: node
    args: ["--import", "tsx", "${PROBE}"]
    cwd: ${ROOT}
    policy: ${policyFile}
storage: ${url}
audit:
  keyFile: ${keyFile}
`);
    const g = await serveCli(config);
    const c = await connect(`${g.mcpUrl}/probe`);
    await c.callTool({ name: 'echo', arguments: { text: 'a' } });
    await c.callTool({ name: 'slow', arguments: {} }); // denied
    await c.callTool({ name: 'echo', arguments: { text: 'b' } });
    await c.close();
    expect(await g.stop()).toBe(0);
  }, 60_000);

  afterAll(async () => {
    if (runPg) await pgSql(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  });

  it('#17.20 PostgreSQL: a denied row whose decision column is set to allowed makes verify exit 1', async () => {
    expect(verify(config).status).toBe(0);
    const denied = query(config, '--decision', 'denied')[0]!;
    await sqlPg(`UPDATE audit SET decision = 'allowed' WHERE seq = $1`, [denied.seq]);
    const r = verify(config);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain(`broken at record ${denied.seq}: column decision says "allowed"`);
    expect(query(config, '--decision', 'allowed').map((x) => x.seq)).not.toContain(denied.seq);
    await sqlPg(`UPDATE audit SET decision = 'denied' WHERE seq = $1`, [denied.seq]);
    expect(verify(config).status).toBe(0);
  });

  it('#17.22 PostgreSQL: every hash recomputed (sha256) after an edit makes verify exit 1', async () => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      const rows = (await c.query('SELECT seq, time, kind, request_key, body FROM audit ORDER BY seq'))
        .rows as {
        seq: string;
        time: string;
        kind: 'final';
        request_key: string;
        body: string;
      }[];
      let prev = '0'.repeat(64);
      for (const r of rows) {
        const body = JSON.parse(r.body) as Record<string, unknown>;
        if (body.decision === 'denied') body.decision = 'allowed';
        const seq = Number(r.seq);
        const hash = entryHash(prev, { seq, time: r.time, kind: r.kind, requestKey: r.request_key, body });
        await c.query('UPDATE audit SET body = $1, decision = $2, prev_hash = $3, hash = $4 WHERE seq = $5', [
          canonicalJson(body),
          body.decision ?? null,
          prev,
          hash,
          seq,
        ]);
        prev = hash;
      }
    } finally {
      await c.end();
    }
    const r = verify(config);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('the newest record is not keyed');
  });

  it('#17.21 PostgreSQL: a checkpoint row inserted by hand makes verify exit 1', async () => {
    await sqlPg(
      `INSERT INTO audit_checkpoint (id, seq, hash, pruned_at) VALUES (1, 2, (SELECT hash FROM audit WHERE seq = 2), now()::text)`,
    );
    await sqlPg('DELETE FROM audit WHERE seq <= 2');
    const r = verify(config);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/broken at record 2: the checkpoint .* is not authenticated/);
  });
});
