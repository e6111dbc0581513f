// Issue #17.13, #17.20, #17.21, #17.22: the audit log attacked as a database writer would, with raw SQL behind the
// store's back, on SQLite and on PostgreSQL; verify must fail and name the problem, and readers must show the
// hashed record. Keys, key files, exported heads and the keyed argument hash.
import { createHash } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { canonicalJson, entryHash, type NewAuditEntry } from '../../src/audit/chain.js';
import { HeadExporter, readHeads } from '../../src/audit/heads.js';
import { type AuditKey, auditKey, headMac, loadAuditKeys } from '../../src/audit/keys.js';
import { auditArgs } from '../../src/audit/redact.js';
import { recentRecords } from '../../src/audit/view.js';
import { WardenError } from '../../src/errors.js';
import { type OpenAuditStoreOptions, openAuditStore } from '../../src/store/open.js';
import { type AuditStore, type VerifyStoreOptions, verifyStore } from '../../src/store/types.js';
import { dropSchemas, freshSchemaName, pgUrl, shouldRunPg } from '../helpers/services.js';

const SECRET = 'audit-key-for-tests-0123456789abcdef';
const OLD_SECRET = 'an-earlier-audit-key-0123456789abcdef';
const KEY = auditKey(SECRET);
const OLD_KEY = auditKey(OLD_SECRET);
const T0 = Date.parse('2025-01-01T00:00:00.000Z');
const MINUTE = 60_000;

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'warden-hardening-audit-'));
  dirs.push(d);
  return d;
}

/** Entry i: a call of fs/read_file by grant ci; even ones denied, odd ones allowed. */
function entry(i: number, minutes = i): NewAuditEntry {
  return {
    time: new Date(T0 + minutes * MINUTE).toISOString(),
    kind: 'final',
    requestKey: `req-${i}`,
    body: {
      v: 1,
      grant: 'ci',
      server: 'fs',
      tool: i % 2 === 0 ? 'write_file' : 'read_file',
      method: 'tools/call',
      decision: i % 2 === 0 ? 'denied' : 'allowed',
      n: i,
    },
  };
}
const entries = (n: number, from = 1) => Array.from({ length: n }, (_, k) => entry(from + k));

interface Row {
  seq: number;
  time: string;
  kind: string;
  request_key: string;
  body: string;
  prev_hash: string;
  hash: string;
}

/** A database, and raw SQL on it as a database writer would run it (tables unqualified). */
interface TestDb {
  url: string;
  opts: OpenAuditStoreOptions;
  sql(text: string, params?: unknown[]): Promise<void>;
  rows(): Promise<Row[]>;
}

interface Backend {
  name: string;
  run: boolean;
  fresh(): TestDb;
  cleanup(): Promise<void>;
}

function sqliteBackend(): Backend {
  return {
    name: 'sqlite',
    run: true,
    fresh() {
      const file = join(tempDir(), 'audit.db');
      const withDb = <T>(fn: (db: Database.Database) => T): T => {
        const db = new Database(file);
        try {
          return fn(db);
        } finally {
          db.close();
        }
      };
      return {
        url: `sqlite:${file}`,
        opts: {},
        async sql(text, params = []) {
          withDb((db) => db.prepare(text).run(...(params as unknown[])));
        },
        async rows() {
          return withDb((db) => db.prepare('SELECT * FROM audit ORDER BY seq').all() as Row[]);
        },
      };
    },
    async cleanup() {},
  };
}

function postgresBackend(run: boolean): Backend {
  const schemas: string[] = [];
  return {
    name: 'postgres',
    run,
    fresh() {
      const schema = freshSchemaName('warden_h6');
      schemas.push(schema);
      const withClient = async <T>(fn: (c: pg.Client) => Promise<T>): Promise<T> => {
        const c = new pg.Client({ connectionString: pgUrl() });
        await c.connect();
        try {
          await c.query(`SET search_path TO "${schema}"`);
          return await fn(c);
        } finally {
          await c.end();
        }
      };
      return {
        url: pgUrl(),
        opts: { postgres: { schema } },
        async sql(text, params = []) {
          // $n placeholders: the SQLite spelling `?` is rewritten.
          let n = 0;
          await withClient((c) =>
            c.query(
              text.replace(/\?/g, () => `$${++n}`),
              params,
            ),
          );
        },
        async rows() {
          return withClient(async (c) => {
            const r = await c.query<Row>('SELECT * FROM audit ORDER BY seq');
            return r.rows.map((x) => ({ ...x, seq: Number(x.seq) }));
          });
        },
      };
    },
    cleanup: () => dropSchemas(schemas),
  };
}

const backends = [sqliteBackend(), postgresBackend(await shouldRunPg('hardening: audit log (PostgreSQL)'))];
const stores: AuditStore[] = [];

afterAll(async () => {
  for (const s of stores) await s.close().catch(() => {});
  for (const b of backends) await b.cleanup();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/**
 * Rewrites every row from `fromSeq` on with recomputed hashes (the attack an unkeyed chain cannot see), the body
 * of `fromSeq` changed by `edit`, the columns kept in step. `key` undefined: plain sha256, as the format documents.
 */
async function rewriteChain(
  db: TestDb,
  fromSeq: number,
  edit: (body: Record<string, unknown>) => void,
  key?: AuditKey,
): Promise<void> {
  const rows = await db.rows();
  let prevHash = fromSeq === 1 ? '0'.repeat(64) : rows.find((r) => r.seq === fromSeq - 1)!.hash;
  for (const r of rows.filter((x) => x.seq >= fromSeq)) {
    const body = JSON.parse(r.body) as Record<string, unknown>;
    if (r.seq === fromSeq) edit(body);
    const e = { seq: r.seq, time: r.time, kind: r.kind as 'final', requestKey: r.request_key, body };
    const hash = entryHash(prevHash, e, canonicalJson(body), key);
    await db.sql('UPDATE audit SET body = ?, prev_hash = ?, hash = ?, decision = ? WHERE seq = ?', [
      canonicalJson(body),
      prevHash,
      hash,
      body.decision,
      r.seq,
    ]);
    prevHash = hash;
  }
}

/** The edit of the attacks: a denied call made allowed, an allowed one denied. */
const flip = (b: Record<string, unknown>) => {
  b.decision = b.decision === 'denied' ? 'allowed' : 'denied';
};

for (const backend of backends) {
  describe.runIf(backend.run)(`hardening: audit log (${backend.name})`, () => {
    async function fresh(key?: AuditKey) {
      const db = backend.fresh();
      const store = await openAuditStore(db.url, { ...db.opts, key });
      stores.push(store);
      return { db, store };
    }

    const bad = (seq: number, problem: RegExp) => ({
      ok: false,
      badSeq: seq,
      problem: expect.stringMatching(problem),
    });

    describe('#17.20 indexed columns are held against the hashed body', () => {
      async function tenDenied() {
        const f = await fresh();
        await f.store.append(entries(10));
        expect(await verifyStore(f.store)).toMatchObject({ ok: true, count: 10 });
        return f;
      }

      it('#17.20 a denied row whose decision column is set to allowed fails verify and is not shown as allowed', async () => {
        const { db, store } = await tenDenied();
        await db.sql(`UPDATE audit SET decision = 'allowed' WHERE seq = 4`);
        expect(await verifyStore(store)).toMatchObject(
          bad(4, /column decision says "allowed", the hashed record says "denied"/),
        );
        // Readers read the hashed body: a filter on the edited column does not make the row an allowed one.
        expect((await store.query({ decision: 'allowed' })).map((e) => e.seq)).toEqual([1, 3, 5, 7, 9]);
        expect((await recentRecords(store, 100, { decision: 'allowed' })).map((r) => r.seq)).not.toContain(4);
        expect((await recentRecords(store, 100)).find((r) => r.seq === 4)!.decision).toBe('denied');
      });

      it('#17.20 an edited tool column fails verify and does not move the row to another tool', async () => {
        const { db, store } = await tenDenied();
        await db.sql(`UPDATE audit SET tool = 'read_file' WHERE seq = 6`);
        expect(await verifyStore(store)).toMatchObject(bad(6, /column tool says "read_file".*"write_file"/));
        expect((await store.query({ tool: 'read_file' })).map((e) => e.seq)).not.toContain(6);
      });

      it('#17.20 an edited server column fails verify', async () => {
        const { db, store } = await tenDenied();
        await db.sql(`UPDATE audit SET server = 'other' WHERE seq = 2`);
        expect(await verifyStore(store)).toMatchObject(bad(2, /column server says "other"/));
        expect(await store.query({ server: 'other' })).toEqual([]);
      });

      it('#17.20 an edited grant_label column fails verify', async () => {
        const { db, store } = await tenDenied();
        await db.sql(`UPDATE audit SET grant_label = 'someone-else' WHERE seq = 8`);
        expect(await verifyStore(store)).toMatchObject(bad(8, /column grant_label says "someone-else"/));
        expect(await store.query({ grant: 'someone-else' })).toEqual([]);
      });

      it('#17.20 a decision column set to NULL (hiding the row from --decision denied) fails verify', async () => {
        const { db, store } = await tenDenied();
        await db.sql(`UPDATE audit SET decision = NULL WHERE seq = 10`);
        expect(await verifyStore(store)).toMatchObject(bad(10, /column decision says null/));
      });

      it('#17.20 an edited time_ms column (moving a row out of a time range) fails verify and is not shown there', async () => {
        const { db, store } = await tenDenied();
        await db.sql(`UPDATE audit SET time_ms = ? WHERE seq = 3`, [T0 + 500 * MINUTE]);
        expect(await verifyStore(store)).toMatchObject(bad(3, /column time_ms says/));
        const late = await store.query({ since: new Date(T0 + 400 * MINUTE) });
        expect(late.map((e) => e.seq)).toEqual([]);
      });
    });

    describe('#17.21 checkpoints are authenticated', () => {
      it('#17.21 a checkpoint row inserted by hand, with the records before it deleted, fails verify', async () => {
        const { db, store } = await fresh();
        const appended = await store.append(entries(10));
        await db.sql('DELETE FROM audit WHERE seq <= 4');
        await db.sql(`INSERT INTO audit_checkpoint (id, seq, hash, pruned_at) VALUES (1, 4, ?, ?)`, [
          appended[3]!.hash,
          new Date().toISOString(),
        ]);
        expect(await verifyStore(store)).toMatchObject(
          bad(4, /checkpoint .*after record 4\) is not authenticated: no audit\.pruned record/),
        );
      });

      it('#17.21 a checkpoint row inserted by hand with nothing deleted fails verify (it would hide records 1-4)', async () => {
        const { db, store } = await fresh();
        const appended = await store.append(entries(10));
        await db.sql(`INSERT INTO audit_checkpoint (id, seq, hash, pruned_at) VALUES (1, 4, ?, ?)`, [
          appended[3]!.hash,
          new Date().toISOString(),
        ]);
        // An edit to a record the checkpoint would hide:
        await db.sql(`UPDATE audit SET body = replace(body, '"denied"', '"allowed"') WHERE seq = 2`);
        expect(await verifyStore(store)).toMatchObject(bad(4, /not authenticated/));
      });

      it('#17.21 a real retention prune verifies: its audit.pruned record names the checkpoint', async () => {
        const { store } = await fresh(KEY);
        await store.append(entries(10));
        expect(await store.prune(new Date(T0 + 5 * MINUTE))).toBe(4);
        expect(await verifyStore(store, { keys: [KEY] })).toMatchObject({ ok: true, count: 7 });
        expect((await store.query({ decision: 'event' }))[0]!.body).toMatchObject({
          method: 'audit.pruned',
          checkpoint: await store.checkpoint(),
          pruned: 4,
        });
      });

      it('#17.21 a checkpoint moved forward by hand after a real prune fails verify', async () => {
        const { db, store } = await fresh();
        const appended = await store.append(entries(10));
        await store.prune(new Date(T0 + 3 * MINUTE));
        await db.sql('DELETE FROM audit WHERE seq <= 6');
        await db.sql('UPDATE audit_checkpoint SET seq = 6, hash = ? WHERE id = 1', [appended[5]!.hash]);
        expect(await verifyStore(store)).toMatchObject(bad(6, /not authenticated/));
      });

      it('#17.21 a checkpoint row deleted after a real prune fails verify (records 1.. are missing)', async () => {
        const { db, store } = await fresh();
        await store.append(entries(10));
        await store.prune(new Date(T0 + 3 * MINUTE));
        await db.sql('DELETE FROM audit_checkpoint');
        expect(await verifyStore(store)).toMatchObject(bad(3, /expected record 1, found 3/));
      });

      it('#17.21 a forged audit.pruned record cannot be inserted into a keyed chain', async () => {
        const { db, store } = await fresh(KEY);
        const appended = await store.append(entries(10));
        await db.sql('DELETE FROM audit WHERE seq <= 4');
        await db.sql(`INSERT INTO audit_checkpoint (id, seq, hash, pruned_at) VALUES (1, 4, ?, ?)`, [
          appended[3]!.hash,
          new Date().toISOString(),
        ]);
        // The forger appends the naming record, chained with sha256 (it does not have the key).
        const head = appended[9]!;
        const body = {
          method: 'audit.pruned',
          decision: 'event',
          checkpoint: { seq: 4, hash: appended[3]!.hash },
        };
        const e = { seq: 11, time: new Date().toISOString(), kind: 'event' as const, requestKey: 'x', body };
        await db.sql(
          `INSERT INTO audit (seq, time, time_ms, kind, request_key, decision, body, prev_hash, hash)
           VALUES (11, ?, ?, 'event', 'x', 'event', ?, ?, ?)`,
          [e.time, Date.parse(e.time), canonicalJson(body), head.hash, entryHash(head.hash, e)],
        );
        expect(await verifyStore(store, { keys: [KEY] })).toMatchObject(
          bad(11, /is not keyed although record 5/),
        );
      });
    });

    describe('#17.22 keyed chain', () => {
      it('#17.22 every hash recomputed (sha256) after an edit fails verify with the key', async () => {
        const { db, store } = await fresh(KEY);
        await store.append(entries(10));
        expect(await verifyStore(store, { keys: [KEY] })).toMatchObject({
          ok: true,
          count: 10,
          keyed: { key: KEY.id, from: 1 },
        });
        await rewriteChain(db, 4, flip);
        // Unkeyed, the rewrite is invisible: that is the attack.
        expect(await verifyStore(store)).toMatchObject({ ok: false, badSeq: 1 });
        expect(await verifyStore(store, { keys: [KEY] })).toMatchObject(
          bad(4, /is not keyed although record 1 before it is/),
        );
      });

      it('#17.22 the whole chain recomputed from record 1 without the key fails verify with the key', async () => {
        const { db, store } = await fresh(KEY);
        await store.append(entries(10));
        await rewriteChain(db, 1, flip);
        expect(await verifyStore(store, { keys: [KEY] })).toMatchObject(
          bad(10, /newest record is not keyed/),
        );
      });

      it('#17.22 the chain recomputed with a key of the attacker fails verify as edited', async () => {
        const { db, store } = await fresh(KEY);
        await store.append(entries(10));
        await rewriteChain(db, 4, flip, auditKey('the-attackers-own-key-0123456789abc'));
        expect(await verifyStore(store, { keys: [KEY] })).toMatchObject(bad(4, /^content was edited$/));
      });

      it('#17.22 the keyed part rewritten with a retired key fails verify', async () => {
        const { db, store } = await fresh(KEY);
        await store.append(entries(10));
        await rewriteChain(db, 6, flip, OLD_KEY);
        expect(await verifyStore(store, { keys: [KEY, OLD_KEY] })).toMatchObject(bad(6, /older audit key/));
      });

      it('#17.22 a key added to an existing unkeyed log: the old records stay verifiable, the new ones keyed', async () => {
        const db = backend.fresh();
        const unkeyed = await openAuditStore(db.url, db.opts);
        stores.push(unkeyed);
        await unkeyed.append(entries(5));
        const keyed = await openAuditStore(db.url, { ...db.opts, key: KEY });
        stores.push(keyed);
        await keyed.append(entries(3, 6));
        expect(await verifyStore(keyed, { keys: [KEY] })).toMatchObject({
          ok: true,
          count: 8,
          keyed: { key: KEY.id, from: 6 },
        });
        // Verify without the key cannot check keyed records: it says so as an edit.
        expect(await verifyStore(keyed)).toMatchObject(bad(6, /content was edited/));
      });

      it('#17.22 key rotation: records of the previous key verify while it is listed, and fail once it is not', async () => {
        const db = backend.fresh();
        const old = await openAuditStore(db.url, { ...db.opts, key: OLD_KEY });
        stores.push(old);
        await old.append(entries(4));
        const rotated = await openAuditStore(db.url, { ...db.opts, key: KEY });
        stores.push(rotated);
        await rotated.append(entries(2, 5));
        expect(await verifyStore(rotated, { keys: [KEY, OLD_KEY] })).toMatchObject({ ok: true, count: 6 });
        expect(await verifyStore(rotated, { keys: [KEY] })).toMatchObject(bad(1, /content was edited/));
      });
    });

    describe('#17.22 exported heads', () => {
      function exporter(file: string, key: AuditKey | undefined) {
        return new HeadExporter({
          file,
          log: false,
          intervalMs: 3_600_000,
          key,
          logger: pino({ level: 'silent' }),
        });
      }
      const headsOf = (file: string, keys: AuditKey[]): VerifyStoreOptions => ({
        keys,
        heads: readHeads(file, keys) ?? [],
      });

      it('#17.22 deleting the newest records fails verify against an exported head', async () => {
        const { db, store } = await fresh(KEY);
        const file = join(tempDir(), 'heads.jsonl');
        const heads = exporter(file, KEY);
        const tracked = heads.track(store);
        await tracked.append(entries(10));
        heads.close();
        const line = JSON.parse(readFileSync(file, 'utf8').trim()) as Record<string, unknown>;
        expect(line).toMatchObject({ seq: 10, key: KEY.id, mac: expect.stringMatching(/^[0-9a-f]{64}$/) });
        expect(await verifyStore(store, headsOf(file, [KEY]))).toMatchObject({
          ok: true,
          count: 10,
          heads: 1,
        });
        await db.sql('DELETE FROM audit WHERE seq > 7');
        // The keyed chain alone cannot see it...
        expect(await verifyStore(store, { keys: [KEY] })).toMatchObject({ ok: true, count: 7 });
        // ...the head can.
        expect(await verifyStore(store, headsOf(file, [KEY]))).toMatchObject(
          bad(
            8,
            /log ends at record 7, but the head exported at .* says record 10 exists: records were deleted/,
          ),
        );
      });

      it('#17.22 an unkeyed chain recomputed after an edit fails verify against an (unkeyed) exported head', async () => {
        const { db, store } = await fresh();
        const file = join(tempDir(), 'heads.jsonl');
        const heads = exporter(file, undefined);
        await heads.track(store).append(entries(10));
        heads.close();
        await rewriteChain(db, 3, flip);
        expect(await verifyStore(store)).toMatchObject({ ok: true, count: 10 });
        expect(await verifyStore(store, headsOf(file, []))).toMatchObject(
          bad(10, /does not match the head exported at/),
        );
      });

      it('#17.22 a head older than the log is fine; a later head must match', async () => {
        const { store } = await fresh(KEY);
        const file = join(tempDir(), 'heads.jsonl');
        const heads = exporter(file, KEY);
        const tracked = heads.track(store);
        await tracked.append(entries(5));
        heads.export();
        await tracked.append(entries(5, 6));
        heads.export();
        await store.append(entries(3, 11)); // appended by another process: no head for these yet
        heads.close();
        expect(readFileSync(file, 'utf8').trim().split('\n')).toHaveLength(2);
        expect(await verifyStore(store, headsOf(file, [KEY]))).toMatchObject({
          ok: true,
          count: 13,
          heads: 2,
        });
      });

      it('#17.22 a head line whose MAC does not match (forged or edited) fails verify', async () => {
        const { store } = await fresh(KEY);
        await store.append(entries(3));
        const file = join(tempDir(), 'heads.jsonl');
        const h = { seq: 2, hash: (await store.read(1, 1))[0]!.hash, time: new Date().toISOString() };
        writeFileSync(
          file,
          `${JSON.stringify({ ...h, key: KEY.id, mac: headMac(auditKey('x'.repeat(40)), h) })}\n`,
        );
        expect(await verifyStore(store, headsOf(file, [KEY]))).toMatchObject(
          bad(2, /MAC that matches no configured audit key/),
        );
      });

      it('#17.22 heads read from the gateway log (auditHead lines) are checked too', async () => {
        const { db, store } = await fresh(KEY);
        const file = join(tempDir(), 'warden.log');
        const lines: string[] = [];
        const logger = pino({ level: 'info' }, { write: (l: string) => void lines.push(l) });
        const heads = new HeadExporter({ log: true, intervalMs: 3_600_000, key: KEY, logger });
        await heads.track(store).append(entries(6));
        heads.close();
        writeFileSync(file, `not json\n${lines.join('')}`);
        expect(await verifyStore(store, headsOf(file, [KEY]))).toMatchObject({ ok: true, heads: 1 });
        await db.sql('DELETE FROM audit WHERE seq = 6');
        expect(await verifyStore(store, headsOf(file, [KEY]))).toMatchObject(
          bad(6, /records were deleted from the end/),
        );
      });
    });
  });
}

describe('#17.13 the argument hash is keyed, or absent', () => {
  // Every four-digit PIN, hashed the way the log used to: a viewer's whole dictionary.
  const dictionary = new Map<string, string>();
  for (let i = 0; i < 10_000; i++) {
    const pin = String(i).padStart(4, '0');
    dictionary.set(
      createHash('sha256')
        .update(canonicalJson({ password: pin }))
        .digest('hex'),
      pin,
    );
  }

  it('#17.13 a four-digit PIN is not recovered from the record by trying all 10,000 (no key: no hash)', () => {
    // The value is masked in every mode (a secret's name); the hash was what gave it away.
    for (const mode of ['keys', 'redacted', 'full'] as const) {
      const a = auditArgs({ password: '4821' }, mode)!;
      expect(a.hash).toBeUndefined();
      expect(JSON.stringify(a)).not.toContain('4821');
    }
  });

  it('#17.13 with audit.key the hash is an HMAC: the dictionary of sha256 hashes finds nothing', () => {
    for (const mode of ['keys', 'redacted', 'full'] as const) {
      const a = auditArgs({ password: '4821' }, mode, KEY)!;
      expect(a.hash).toMatch(/^[0-9a-f]{64}$/);
      expect(dictionary.has(a.hash!)).toBe(false);
      expect(JSON.stringify(a)).not.toContain('4821');
      // Still tells equal arguments apart from different ones, under the same key.
      expect(auditArgs({ password: '4821' }, mode, KEY)!.hash).toBe(a.hash);
      expect(auditArgs({ password: '4822' }, mode, KEY)!.hash).not.toBe(a.hash);
    }
  });

  it('#17.13 the argument hash is keyed apart from the chain (one use cannot stand in for another)', () => {
    expect(KEY.args.equals(KEY.chain)).toBe(false);
    expect(KEY.head.equals(KEY.chain)).toBe(false);
  });
});

describe('#17.22 the audit key comes from outside the database', () => {
  it('#17.22 a key file readable by group or others is refused', () => {
    const file = join(tempDir(), 'audit.key');
    writeFileSync(file, `${SECRET}\n`);
    chmodSync(file, 0o644);
    expect(() => loadAuditKeys({ file })).toThrow(/accessible to group or others \(mode 644\)/);
    chmodSync(file, 0o600);
    expect(loadAuditKeys({ file })!.keys.map((k) => k.id)).toEqual([KEY.id]);
  });

  it('#17.22 a key file that is a symbolic link is refused', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'real.key'), SECRET, { mode: 0o600 });
    symlinkSync(join(dir, 'real.key'), join(dir, 'link.key'));
    expect(() => loadAuditKeys({ file: join(dir, 'link.key') })).toThrow(WardenError);
  });

  it('#17.22 a key file lists the current key first and earlier keys after it (rotation)', () => {
    const file = join(tempDir(), 'audit.key');
    writeFileSync(file, `# current first\n${SECRET}\n${OLD_SECRET}\n`, { mode: 0o600 });
    expect(loadAuditKeys({ file })!.keys.map((k) => k.id)).toEqual([KEY.id, OLD_KEY.id]);
  });

  it('#17.22 a short key is refused with a hint', () => {
    expect(() => loadAuditKeys({ secrets: ['1234'] })).toThrow(/at least 32/);
  });

  it('#17.22 no key configured: no keys', () => {
    expect(loadAuditKeys(undefined)).toBeUndefined();
  });
});
