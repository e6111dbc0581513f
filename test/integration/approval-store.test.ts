// The approval store contract, run unchanged against SQLite (a temp file, and ':memory:') and PostgreSQL (a fresh
// schema per test). Each test gets two stores on the same database where the backend allows it (two SQLite
// connections to one file, two PostgreSQL pools on one schema), so that "exactly one wins" is tested across them.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { WardenError } from '../../src/errors.js';
import type { Approval, ApprovalStore } from '../../src/store/approvals.js';
import { PostgresApprovalStore } from '../../src/store/approvals-postgres.js';
import { SqliteApprovalStore } from '../../src/store/approvals-sqlite.js';
import { dropSchemas, freshSchemaName, pgUrl, shouldRunPg } from '../helpers/services.js';

const dirs: string[] = [];
const schemas: string[] = [];
afterAll(async () => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  if (schemas.length > 0) await dropSchemas(schemas);
});

const runPg = await shouldRunPg('approval store (postgres)');

/** Two stores on one database (the same store twice when a second connection would be another database). */
interface Pair {
  a: ApprovalStore;
  b: ApprovalStore;
  close(): Promise<void>;
}

function pair(a: ApprovalStore, b: ApprovalStore): Pair {
  return { a, b, close: async () => void (await Promise.all([a.close(), b.close()])) };
}

const backends: Array<{ name: string; run: boolean; open: () => Promise<Pair> }> = [
  {
    name: 'sqlite file',
    run: true,
    open: async () => {
      const dir = mkdtempSync(join(tmpdir(), 'warden-approvals-'));
      dirs.push(dir);
      const path = join(dir, 'warden.db');
      return pair(new SqliteApprovalStore(path), new SqliteApprovalStore(path));
    },
  },
  {
    name: 'sqlite :memory:',
    run: true,
    open: async () => {
      const store = new SqliteApprovalStore(':memory:');
      return { a: store, b: store, close: () => store.close() };
    },
  },
  {
    name: 'postgres',
    run: runPg,
    open: async () => {
      const schema = freshSchemaName('warden_approvals');
      schemas.push(schema);
      // Opened together: both create the table under the advisory lock.
      const [a, b] = await Promise.all([
        PostgresApprovalStore.open(pgUrl(), { schema }),
        PostgresApprovalStore.open(pgUrl(), { schema }),
      ]);
      return pair(a, b);
    },
  },
];

const T0 = '2026-11-29T00:00:00.000Z';
/** An ISO time `s` seconds after T0. */
function t(s: number): string {
  return new Date(Date.parse(T0) + s * 1000).toISOString();
}

let serial = 0;
/** A pending async approval, created at T0, expiring an hour later, with every optional field unset. */
function approval(more: Partial<Approval> = {}): Approval {
  serial++;
  return {
    id: `apr_${String(serial).padStart(20, '0')}`,
    status: 'pending',
    mode: 'async',
    server: 'github',
    tool: 'create_issue',
    arguments: { repo: 'acme/web', title: 'hello' },
    fingerprint: 'f'.repeat(64),
    rule: '/rules/0',
    reason: undefined,
    risk: undefined,
    grantId: undefined,
    grantLabel: undefined,
    session: 'sess-1',
    createdAt: T0,
    expiresAt: t(3600),
    decidedAt: undefined,
    decidedBy: undefined,
    note: undefined,
    consumedAt: undefined,
    ...more,
  };
}

/** An approved async approval, spendable until `expiresAt`. */
function approved(more: Partial<Approval> = {}): Approval {
  return approval({ status: 'approved', decidedAt: t(1), decidedBy: 'ops', ...more });
}

for (const backend of backends) {
  describe.runIf(backend.run)(`approval store (${backend.name})`, () => {
    it('gives back what it was given, every optional field set and unset', async () => {
      const { a, b, close } = await backend.open();
      const bare = approval();
      const full = approval({
        status: 'consumed',
        mode: 'async',
        arguments: { nested: { list: [1, 'two', null, true], empty: {} }, n: 1.5, s: 'ünïcode ✓' },
        reason: 'writes to a public repo',
        risk: 'high',
        grantId: '00000000000000a1',
        grantLabel: 'ci-runner',
        decidedAt: t(10),
        decidedBy: '(cli)',
        note: 'looks fine',
        consumedAt: t(20),
      });
      const hold = approval({ mode: 'hold', status: 'rejected', arguments: {} });
      await a.create(bare);
      await a.create(full);
      await a.create(hold);
      // toStrictEqual: an unset field comes back as a present key with the value undefined, as in the type.
      expect(await b.get(bare.id)).toStrictEqual(bare);
      expect(await b.get(full.id)).toStrictEqual(full);
      expect(await b.get(hold.id)).toStrictEqual(hold);
      expect(await b.get('apr_nonexistent')).toBeUndefined();
      const listed = await b.list();
      expect(listed).toHaveLength(3);
      expect(listed.find((x) => x.id === full.id)).toStrictEqual(full);
      await close();
    });

    it('refuses a second approval with the same id', async () => {
      const { a, close } = await backend.open();
      const one = approval();
      await a.create(one);
      const err = await a.create({ ...one, tool: 'other' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WardenError);
      expect((await a.get(one.id))?.tool).toBe('create_issue');
      await close();
    });

    it('lists newest first, filtered by status, up to the limit (100 by default)', async () => {
      const { a, b, close } = await backend.open();
      const p1 = approval({ createdAt: t(1) });
      const r2 = approval({ createdAt: t(2), status: 'rejected' });
      const p3 = approval({ createdAt: t(3) });
      const x4 = approval({ createdAt: t(4), status: 'expired' });
      // Created out of order: the order is by createdAt, not by insertion.
      for (const x of [p3, p1, x4, r2]) await a.create(x);
      expect((await b.list()).map((x) => x.id)).toEqual([x4.id, p3.id, r2.id, p1.id]);
      expect((await b.list({ status: 'pending' })).map((x) => x.id)).toEqual([p3.id, p1.id]);
      expect((await b.list({ status: 'rejected' })).map((x) => x.id)).toEqual([r2.id]);
      expect(await b.list({ status: 'consumed' })).toEqual([]);
      expect(await b.countPending()).toBe(2);
      expect((await b.list({ limit: 2 })).map((x) => x.id)).toEqual([x4.id, p3.id]);
      expect((await b.list({ status: 'pending', limit: 1 })).map((x) => x.id)).toEqual([p3.id]);
      for (let i = 0; i < 100; i++) await a.create(approval({ createdAt: t(100 + i) }));
      const page = await b.list();
      expect(page).toHaveLength(100);
      expect(page[0]?.createdAt).toBe(t(199));
      expect(page[99]?.createdAt).toBe(t(100));
      expect(await b.list({ limit: 1000 })).toHaveLength(104);
      await expect(b.list({ limit: 0 })).rejects.toBeInstanceOf(WardenError);
      await close();
    });

    it('decides a pending approval once: a second decide changes nothing', async () => {
      const { a, b, close } = await backend.open();
      const p = approval({ reason: 'why' });
      await a.create(p);
      const decided = await a.decide(p.id, 'approved', 'ops', 'ok by me', t(5));
      expect(decided).toStrictEqual({
        ...p,
        status: 'approved',
        decidedAt: t(5),
        decidedBy: 'ops',
        note: 'ok by me',
      });
      expect(await b.decide(p.id, 'rejected', 'someone-else', 'no', t(6))).toBeUndefined();
      expect(await a.get(p.id)).toStrictEqual(decided);
      expect(await a.decide('apr_nonexistent', 'approved', 'ops', undefined, t(6))).toBeUndefined();

      // Every decision a pending approval can get; no note leaves the note unset.
      for (const status of ['rejected', 'expired', 'cancelled'] as const) {
        const q = approval();
        await a.create(q);
        expect(await b.decide(q.id, status, '(agent)', undefined, t(7))).toStrictEqual({
          ...q,
          status,
          decidedAt: t(7),
          decidedBy: '(agent)',
        });
      }
      // A consumed one is not pending either.
      const c = approval({ status: 'consumed', consumedAt: t(3) });
      await a.create(c);
      expect(await a.decide(c.id, 'cancelled', 'ops', undefined, t(8))).toBeUndefined();
      await close();
    });

    it('lets exactly one of several concurrent deciders win', async () => {
      const { a, b, close } = await backend.open();
      const p = approval();
      await a.create(p);
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          (i % 2 === 0 ? a : b).decide(
            p.id,
            i % 3 === 0 ? 'rejected' : 'approved',
            `admin-${i}`,
            `n${i}`,
            t(i),
          ),
        ),
      );
      const winners = results.filter((r) => r !== undefined);
      expect(winners).toHaveLength(1);
      expect(await a.get(p.id)).toStrictEqual(winners[0]);
      await close();
    });

    it('spends an approved async approval exactly once among 20 concurrent identical calls', async () => {
      const { a, b, close } = await backend.open();
      const ok = approved({ fingerprint: '1'.repeat(64) });
      await a.create(ok);
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a : b).consume(ok.fingerprint, t(30))),
      );
      const spent = results.filter((r) => r !== undefined);
      expect(spent).toHaveLength(1);
      expect(spent[0]).toStrictEqual({ ...ok, status: 'consumed', consumedAt: t(30) });
      expect(await b.get(ok.id)).toStrictEqual(spent[0]);
      expect(await a.consume(ok.fingerprint, t(31))).toBeUndefined();
      await close();
    });

    it('spends two approvals for the same call one each, oldest first', async () => {
      const { a, b, close } = await backend.open();
      const older = approved({ fingerprint: '2'.repeat(64), createdAt: t(1) });
      const newer = approved({ fingerprint: '2'.repeat(64), createdAt: t(2) });
      await a.create(newer);
      await a.create(older);
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a : b).consume(older.fingerprint, t(30))),
      );
      const spent = results.filter((r) => r !== undefined).map((r) => r.id);
      expect(spent.sort()).toEqual([older.id, newer.id].sort());
      expect(await a.consume(older.fingerprint, t(31))).toBeUndefined();
      await close();
    });

    it('refuses to spend an expired, hold-mode, not-approved or other-call approval', async () => {
      const { a, b, close } = await backend.open();
      const fp = '3'.repeat(64);
      const expired = approved({ fingerprint: fp, expiresAt: t(100) });
      const hold = approved({ fingerprint: fp, mode: 'hold' });
      const others = (['pending', 'rejected', 'expired', 'cancelled', 'consumed'] as const).map((status) =>
        approval({ fingerprint: fp, status }),
      );
      const otherCall = approved({ fingerprint: '4'.repeat(64) });
      for (const x of [expired, hold, ...others, otherCall]) await a.create(x);
      // At its expiry exactly, and after it: no longer spendable.
      expect(await b.consume(fp, t(100))).toBeUndefined();
      expect(await b.consume(fp, t(101))).toBeUndefined();
      expect(await b.get(expired.id)).toStrictEqual(expired);
      expect(await b.get(hold.id)).toStrictEqual(hold);
      for (const x of others) expect(await b.get(x.id)).toStrictEqual(x);
      // Before its expiry, the expired one was fine.
      expect((await b.consume(fp, t(99)))?.id).toBe(expired.id);
      expect(await b.consume('5'.repeat(64), t(1))).toBeUndefined();
      await close();
    });

    it('#18.4.5 spends a named approval exactly once among 20 concurrent retries', async () => {
      const { a, b, close } = await backend.open();
      const ok = approved({ fingerprint: '7'.repeat(64) });
      const twin = approved({ fingerprint: '7'.repeat(64) });
      await a.create(ok);
      await a.create(twin);
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a : b).consumeById(ok.id, ok.fingerprint, t(30))),
      );
      const spent = results.filter((r) => r !== undefined);
      expect(spent).toHaveLength(1);
      expect(spent[0]).toStrictEqual({ ...ok, status: 'consumed', consumedAt: t(30) });
      // Replayed after it was spent: nothing; the identical twin approval is not touched by a retry naming another.
      expect(await a.consumeById(ok.id, ok.fingerprint, t(31))).toBeUndefined();
      expect(await b.get(twin.id)).toStrictEqual(twin);
      await close();
    });

    it('#18.4.6 refuses to spend a named approval for another call, expired, or not approved', async () => {
      const { a, b, close } = await backend.open();
      const fp = '8'.repeat(64);
      const ok = approved({ fingerprint: fp, expiresAt: t(100) });
      const pending = approval({ fingerprint: fp });
      const hold = approved({ fingerprint: fp, mode: 'hold' });
      for (const x of [ok, pending, hold]) await a.create(x);
      expect(await b.consumeById(ok.id, '9'.repeat(64), t(1))).toBeUndefined();
      expect(await b.consumeById(ok.id, fp, t(100))).toBeUndefined();
      expect(await b.consumeById(pending.id, fp, t(1))).toBeUndefined();
      expect(await b.consumeById(hold.id, fp, t(1))).toBeUndefined();
      expect(await b.consumeById('apr_missing', fp, t(1))).toBeUndefined();
      expect(await b.get(ok.id)).toStrictEqual(ok);
      expect((await b.consumeById(ok.id, fp, t(99)))?.id).toBe(ok.id);
      await close();
    });

    it('finds the newest pending async approval for a call that has not expired', async () => {
      const { a, b, close } = await backend.open();
      const fp = '6'.repeat(64);
      expect(await b.findPending(fp, t(0))).toBeUndefined();
      const old = approval({ fingerprint: fp, createdAt: t(1), expiresAt: t(500) });
      const recent = approval({ fingerprint: fp, createdAt: t(2), expiresAt: t(200) });
      // Never found: newer, but held, approved, or for another call.
      const hold = approval({ fingerprint: fp, createdAt: t(3), mode: 'hold' });
      const done = approved({ fingerprint: fp, createdAt: t(4) });
      const other = approval({ fingerprint: '7'.repeat(64), createdAt: t(5) });
      for (const x of [old, recent, hold, done, other]) await a.create(x);
      expect(await b.findPending(fp, t(10))).toStrictEqual(recent);
      // Past the newer one's expiry (at it exactly, too), the older one still pending is found.
      expect(await b.findPending(fp, t(200))).toStrictEqual(old);
      expect(await b.findPending(fp, t(500))).toBeUndefined();
      await b.decide(recent.id, 'rejected', 'ops', undefined, t(11));
      expect((await b.findPending(fp, t(12)))?.id).toBe(old.id);
      await close();
    });

    it('expires the pending approvals that are due, once, and nothing else', async () => {
      const { a, b, close } = await backend.open();
      const due = approval({ createdAt: t(2), expiresAt: t(50) });
      const dueExactly = approval({ createdAt: t(1), expiresAt: t(60), mode: 'hold', note: 'kept' });
      const notYet = approval({ expiresAt: t(61) });
      const approvedPast = approved({ expiresAt: t(10) });
      const rejectedPast = approval({
        status: 'rejected',
        expiresAt: t(10),
        decidedAt: t(5),
        decidedBy: 'ops',
      });
      for (const x of [due, dueExactly, notYet, approvedPast, rejectedPast]) await a.create(x);
      const expired = await b.expireDue(t(60));
      const want = (x: Approval): Approval => ({
        ...x,
        status: 'expired',
        decidedAt: t(60),
        decidedBy: '(timeout)',
      });
      // Oldest first.
      expect(expired).toStrictEqual([want(dueExactly), want(due)]);
      for (const x of [due, dueExactly]) expect(await a.get(x.id)).toStrictEqual(want(x));
      for (const x of [notYet, approvedPast, rejectedPast]) expect(await a.get(x.id)).toStrictEqual(x);
      expect(await a.expireDue(t(60))).toEqual([]);
      // An expired approval cannot be decided any more.
      expect(await a.decide(due.id, 'approved', 'ops', undefined, t(70))).toBeUndefined();
      expect((await a.expireDue(t(61))).map((x) => x.id)).toEqual([notYet.id]);
      await close();
    });
  });
}

describe('approval store (sqlite) opening', () => {
  it('reports a file it cannot open as STORE_UNAVAILABLE', () => {
    let err: unknown;
    try {
      new SqliteApprovalStore('/nonexistent-dir/for/sure/warden.db');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(WardenError);
    expect((err as WardenError).code).toBe('STORE_UNAVAILABLE');
  });

  it('keeps the approvals on disk across reopening', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'warden-approvals-'));
    dirs.push(dir);
    const path = join(dir, 'warden.db');
    const one = new SqliteApprovalStore(path);
    const p = approval();
    await one.create(p);
    await one.close();
    const two = new SqliteApprovalStore(path);
    expect(await two.get(p.id)).toStrictEqual(p);
    await two.close();
  });
});

describe('approval store (postgres) opening', () => {
  it('refuses an invalid schema name before connecting', async () => {
    const err = await PostgresApprovalStore.open(pgUrl(), { schema: 'x"; DROP TABLE y; --' }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WardenError);
    expect((err as WardenError).code).toBe('CONFIG_INVALID');
  });

  it('reports an unreachable server as STORE_UNAVAILABLE, without the password', async () => {
    // Port 1 on loopback: refused at once.
    const err = await PostgresApprovalStore.open('postgres://warden:s3cret-pw@127.0.0.1:1/test').catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WardenError);
    expect((err as WardenError).code).toBe('STORE_UNAVAILABLE');
    expect((err as WardenError).message).not.toContain('s3cret-pw');
    expect((err as WardenError).message).toContain('127.0.0.1:1');
  });
});
