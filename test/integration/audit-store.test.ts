// The audit store contract, run unchanged against SQLite (a temp file) and PostgreSQL (a fresh schema per test).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, describe, expect, it, vi } from 'vitest';
import {
  type AuditEntry,
  canonicalJson,
  entryHash,
  GENESIS_HASH,
  type NewAuditEntry,
  verifyEntries,
} from '../../src/audit/chain.js';
import { pagedRecords, recentRecords } from '../../src/audit/view.js';
import { AuditWriter } from '../../src/audit/writer.js';
import { WardenError } from '../../src/errors.js';
import { type OpenAuditStoreOptions, openAuditStore } from '../../src/store/open.js';
import { type AuditStore, verifyStore } from '../../src/store/types.js';
import { dropSchemas, freshSchemaName, pgUrl, shouldRunPg } from '../helpers/services.js';

const ROOT = resolve(import.meta.dirname, '../..');
const T0 = Date.parse('2025-01-01T00:00:00.000Z');
const MINUTE = 60_000;

/** An entry `minutes` after T0; body fields default to an allowed call of fs/read_file. */
function entry(i: number, body: Record<string, unknown> = {}, minutes = i): NewAuditEntry {
  return {
    time: new Date(T0 + minutes * MINUTE).toISOString(),
    kind: 'decision',
    requestKey: `req-${i}`,
    body: { v: 1, grant: 'ci', server: 'fs', tool: 'read_file', decision: 'allowed', n: i, ...body },
  };
}

function entries(n: number, from = 1): NewAuditEntry[] {
  return Array.from({ length: n }, (_, k) => entry(from + k));
}

/** One database per test, and a way to reach its tables behind the store's back. */
interface TestDb {
  url: string;
  opts: OpenAuditStoreOptions;
  /** Raw SQL on the database; tables are unqualified. */
  raw(sql: string): Promise<void>;
}

/** Store options the suite varies; each backend puts them where its store reads them. */
interface Tuning {
  pruneBatch?: number;
}

interface Backend {
  name: string;
  run: boolean;
  fresh(tuning?: Tuning): TestDb;
  cleanup(): Promise<void>;
}

function sqliteBackend(): Backend {
  const dirs: string[] = [];
  return {
    name: 'sqlite',
    run: true,
    fresh(tuning = {}) {
      const dir = mkdtempSync(join(tmpdir(), 'warden-audit-'));
      dirs.push(dir);
      const file = join(dir, 'audit.db');
      return {
        url: `sqlite:${file}`,
        opts: { sqlite: tuning },
        async raw(sql) {
          const db = new Database(file);
          try {
            db.exec(sql);
          } finally {
            db.close();
          }
        },
      };
    },
    async cleanup() {
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    },
  };
}

function postgresBackend(run: boolean): Backend {
  const schemas: string[] = [];
  return {
    name: 'postgres',
    run,
    fresh(tuning = {}) {
      const schema = freshSchemaName();
      schemas.push(schema);
      return {
        url: pgUrl(),
        opts: { postgres: { schema, ...tuning } },
        async raw(sql) {
          const c = new pg.Client({ connectionString: pgUrl() });
          await c.connect();
          try {
            await c.query(`SET search_path TO "${schema}"; ${sql}`);
          } finally {
            await c.end();
          }
        },
      };
    },
    cleanup: () => dropSchemas(schemas),
  };
}

/**
 * Counts append() calls, i.e. transactions, and records their sizes; `failOn` makes those calls (1-based) throw;
 * `hold`, while set, delays each append until it resolves (a slow disk).
 */
function counting(store: AuditStore, failOn: readonly number[] = []) {
  const counter = {
    appends: 0,
    sizes: [] as number[],
    hold: undefined as Promise<void> | undefined,
    store: {
      append: async (batch: readonly NewAuditEntry[]) => {
        counter.appends++;
        counter.sizes.push(batch.length);
        if (counter.hold) await counter.hold;
        if (failOn.includes(counter.appends)) throw new Error('disk full');
        return store.append(batch);
      },
      read: (afterSeq: number, limit: number) => store.read(afterSeq, limit),
      query: (f: Parameters<AuditStore['query']>[0]) => store.query(f),
      head: () => store.head(),
      checkpoint: () => store.checkpoint(),
      prune: (before: Date) => store.prune(before),
      close: () => store.close(),
    } satisfies AuditStore,
  };
  return counter;
}

/**
 * Runs a child process that opens its own store and AuditWriter on the database, waits for "go" on stdin, then
 * writes `rounds` rounds of `size` concurrent entries tagged with `id`: another gateway process, as far as the
 * database can tell. (A tight loop of raw appends would not interleave on SQLite: its busy handler polls, and a
 * writer that takes the lock again within microseconds of releasing it starves the other process.)
 */
function childWriter(db: TestDb, id: string, rounds: number, size: number) {
  const code = `
    const { openAuditStore } = await import(process.env.OPEN_MODULE);
    const { AuditWriter } = await import(process.env.WRITER_MODULE);
    const { url, opts, id, rounds, size } = JSON.parse(process.env.CHILD_ARGS);
    const store = await openAuditStore(url, opts);
    const writer = new AuditWriter(store);
    console.log('ready');
    process.stdin.once('data', async () => {
      for (let r = 0; r < rounds; r++) {
        const round = [];
        for (let i = 0; i < size; i++) {
          round.push(writer.write({ time: new Date().toISOString(), kind: 'event', requestKey: id + '-' + r + '-' + i, body: { writer: id } }));
        }
        await Promise.all(round);
      }
      await writer.close();
      await store.close();
      console.log('done');
      process.exit(0);
    });`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    cwd: ROOT,
    env: {
      ...process.env,
      OPEN_MODULE: pathToFileURL(join(ROOT, 'src/store/open.ts')).href,
      WRITER_MODULE: pathToFileURL(join(ROOT, 'src/audit/writer.ts')).href,
      CHILD_ARGS: JSON.stringify({ url: db.url, opts: db.opts, id, rounds, size }),
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += String(d);
  });
  const lines = createInterface({ input: child.stdout });
  const said = (word: string) =>
    new Promise<void>((res, rej) => {
      lines.on('line', (l) => l === word && res());
      child.once('exit', (code) =>
        rej(new Error(`writer ${id} exited with ${code} before "${word}": ${stderr}`)),
      );
    });
  const ready = said('ready');
  const done = said('done');
  return { ready, done, go: () => child.stdin.write('go\n') };
}

const backends = [sqliteBackend(), postgresBackend(await shouldRunPg('audit store (postgres)'))];

for (const backend of backends) {
  describe.runIf(backend.run)(`audit store (${backend.name})`, () => {
    const open: AuditStore[] = [];
    /** A store on a fresh database, closed after the suite. */
    async function fresh(
      tuning?: Tuning,
    ): Promise<{ store: AuditStore; db: TestDb; another: () => Promise<AuditStore> }> {
      const db = backend.fresh(tuning);
      const another = async () => {
        const s = await openAuditStore(db.url, db.opts);
        open.push(s);
        return s;
      };
      return { store: await another(), db, another };
    }

    afterAll(async () => {
      for (const s of open) await s.close();
      await backend.cleanup();
    });

    describe('append and read', () => {
      it('returns bodies that re-hash identically to what was appended', async () => {
        const { store } = await fresh();
        const awkward: NewAuditEntry = {
          time: '2025-01-01T01:00:00+01:00',
          kind: 'final',
          requestKey: 'r',
          body: {
            zeta: 1,
            alpha: { nested: [1, 'two', null, { b: true, a: false }], empty: {} },
            big: 2 ** 53 - 1,
            tiny: 1e-7,
            huge: 1e21,
            fraction: 0.1,
            negativeZero: -0,
            unicode: 'ünïcødé \u2028 🦀 \u0000 "quoted" \\',
            dropped: undefined,
          },
        };
        const appended = await store.append([entry(1), awkward, entry(3)]);
        const read = await store.read(0, 100);
        expect(verifyEntries(read)).toEqual({ ok: true, count: 3, lastHash: appended[2]!.hash });
        expect(read.map((e) => e.hash)).toEqual(appended.map((e) => e.hash));
        expect(canonicalJson(read[1]!.body)).toBe(canonicalJson(awkward.body));
        expect(read[1]!.time).toBe('2025-01-01T01:00:00+01:00');
      });

      it('numbers entries consecutively across batches, each following the one before', async () => {
        const { store } = await fresh();
        await store.append(entries(3, 1));
        await store.append(entries(1, 4));
        const last = await store.append(entries(5, 5));
        const read = await store.read(0, 100);
        expect(read.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
        expect(read[0]!.prevHash).toBe(GENESIS_HASH);
        expect(verifyEntries(read).ok).toBe(true);
        expect(await store.head()).toEqual({ seq: 9, hash: last[4]!.hash });
      });

      it('reads a page after a given seq', async () => {
        const { store } = await fresh();
        await store.append(entries(10));
        const page = await store.read(4, 3);
        expect(page.map((e) => e.seq)).toEqual([5, 6, 7]);
      });

      it('starts an empty store at genesis', async () => {
        const { store } = await fresh();
        expect(await store.head()).toEqual({ seq: 0, hash: GENESIS_HASH });
        expect(await store.checkpoint()).toEqual({ seq: 0, hash: GENESIS_HASH });
        expect(await store.read(0, 10)).toEqual([]);
        expect(await store.append([])).toEqual([]);
      });

      it('rejects a batch with an invalid time, storing none of it', async () => {
        const { store } = await fresh();
        await expect(store.append([entry(1), { ...entry(2), time: 'yesterday' }])).rejects.toThrow(
          /invalid time/,
        );
        expect(await store.head()).toEqual({ seq: 0, hash: GENESIS_HASH });
      });
    });

    describe('concurrent writers', () => {
      it('keeps one unbroken chain when two store instances append at the same time', async () => {
        const { store, another } = await fresh();
        const second = await another();
        const appends = Array.from({ length: 60 }, (_, k) =>
          (k % 2 === 0 ? store : second).append([entry(k * 3), entry(k * 3 + 1), entry(k * 3 + 2)]),
        );
        await Promise.all(appends);
        const read = await store.read(0, 1000);
        expect(read).toHaveLength(180);
        expect(new Set(read.map((e) => e.seq)).size).toBe(180);
        expect(verifyEntries(read)).toMatchObject({ ok: true, count: 180 });
      });

      it('keeps one unbroken chain when two processes append at the same time', async () => {
        const { store, db } = await fresh();
        const writers = [childWriter(db, 'a', 150, 3), childWriter(db, 'b', 150, 3)];
        await Promise.all(writers.map((w) => w.ready));
        for (const w of writers) w.go();
        await Promise.all(writers.map((w) => w.done));
        const read = await store.read(0, 10_000);
        expect(read).toHaveLength(900);
        expect(verifyEntries(read)).toMatchObject({ ok: true, count: 900 });
        // The two writers really interleaved: otherwise this test would prove nothing about serialisation.
        let switches = 0;
        for (let i = 1; i < read.length; i++)
          if (read[i]!.body.writer !== read[i - 1]!.body.writer) switches++;
        expect(switches).toBeGreaterThan(10);
      }, 60_000);
    });

    describe('query', () => {
      /** 12 entries one minute apart: servers fs/git alternating, tools by thirds, grants by halves. */
      async function populated() {
        const { store } = await fresh();
        await store.append(
          Array.from({ length: 12 }, (_, k) =>
            entry(k + 1, {
              server: k % 2 === 0 ? 'fs' : 'git',
              tool: ['read_file', 'write_file', 'push'][k % 3],
              decision: k % 4 === 3 ? 'denied' : 'allowed',
              grant: k < 6 ? 'ci' : 'alice',
            }),
          ),
        );
        return store;
      }
      const seqs = (es: AuditEntry[]) => es.map((e) => e.seq);

      it('filters by server', async () => {
        const store = await populated();
        expect(seqs(await store.query({ server: 'git' }))).toEqual([2, 4, 6, 8, 10, 12]);
      });

      it('filters by tool', async () => {
        const store = await populated();
        expect(seqs(await store.query({ tool: 'push' }))).toEqual([3, 6, 9, 12]);
      });

      it('filters by decision', async () => {
        const store = await populated();
        expect(seqs(await store.query({ decision: 'denied' }))).toEqual([4, 8, 12]);
      });

      it('filters by grant', async () => {
        const store = await populated();
        expect(seqs(await store.query({ grant: 'alice' }))).toEqual([7, 8, 9, 10, 11, 12]);
      });

      it('filters by request key', async () => {
        const store = await populated();
        expect(seqs(await store.query({ requestKey: 'req-5' }))).toEqual([5]);
      });

      it('filters by a time range, since inclusive and until exclusive', async () => {
        const store = await populated();
        const since = new Date(T0 + 3 * MINUTE);
        const until = new Date(T0 + 6 * MINUTE);
        expect(seqs(await store.query({ since, until }))).toEqual([3, 4, 5]);
      });

      it('keeps only entries before a seq, for paging newest first', async () => {
        const store = await populated();
        expect(seqs(await store.query({ beforeSeq: 5 }))).toEqual([1, 2, 3, 4]);
        expect(seqs(await store.query({ server: 'git', beforeSeq: 9, order: 'desc', limit: 2 }))).toEqual([
          6, 8,
        ]);
      });

      it("pages an export: the same records as one query, a request's entries joined across pages", async () => {
        const { store } = await fresh();
        // 2,500 requests of two entries each (decision, outcome), interleaved by twos, so pairs straddle pages.
        const batch: NewAuditEntry[] = [];
        for (let i = 0; i < 2500; i += 2) {
          for (const kind of ['decision', 'outcome'] as const)
            for (const k of [i, i + 1])
              batch.push({ ...entry(k, { tool: k % 3 === 0 ? 'push' : 'read_file' }), kind });
        }
        await store.append(batch);
        for (const filter of [{}, { tool: 'push' }]) {
          const paged = await pagedRecords(store, 1500, filter);
          expect(paged).toEqual(await recentRecords(store, 1500, filter));
          expect(paged.length).toBe(filter.tool ? 834 : 1500);
        }
      });

      it('combines filters', async () => {
        const store = await populated();
        expect(seqs(await store.query({ server: 'fs', grant: 'alice', decision: 'allowed' }))).toEqual([
          7, 9, 11,
        ]);
      });

      it('returns the newest N in ascending order for order desc with a limit', async () => {
        const store = await populated();
        expect(seqs(await store.query({ server: 'fs', order: 'desc', limit: 3 }))).toEqual([7, 9, 11]);
      });

      it('returns the oldest N for order asc with a limit', async () => {
        const store = await populated();
        expect(seqs(await store.query({ order: 'asc', limit: 2 }))).toEqual([1, 2]);
      });

      it('returns entries that verify as a run of the chain', async () => {
        const store = await populated();
        const all = await store.query({});
        expect(verifyEntries(all)).toMatchObject({ ok: true, count: 12 });
      });
    });

    describe('prune', () => {
      it('deletes entries older than the cutoff and verification starts from the checkpoint', async () => {
        const { store } = await fresh();
        const appended = await store.append(entries(10));
        const deleted = await store.prune(new Date(T0 + 5 * MINUTE));
        expect(deleted).toBe(4);
        const cp = await store.checkpoint();
        expect(cp).toEqual({ seq: 4, hash: appended[3]!.hash });
        const rest = await store.read(0, 100);
        // 11: the audit.pruned record that authenticates the checkpoint (#17.21), appended by the prune.
        expect(rest.map((e) => e.seq)).toEqual([5, 6, 7, 8, 9, 10, 11]);
        expect(rest[6]!.body).toMatchObject({ method: 'audit.pruned', checkpoint: cp, pruned: 4 });
        expect(verifyEntries(rest, cp)).toMatchObject({ ok: true, count: 7 });
        expect(verifyEntries(rest).ok).toBe(false);
        expect(await verifyStore(store)).toMatchObject({ ok: true, count: 7 });
      });

      it('deletes only a prefix of the chain: an entry not older than the cutoff protects those after it', async () => {
        const { store } = await fresh();
        // Clocks of two gateways disagree: entry 3 carries a late time, entries 4 and 5 earlier ones.
        await store.append([
          entry(1, {}, 1),
          entry(2, {}, 2),
          entry(3, {}, 30),
          entry(4, {}, 3),
          entry(5, {}, 4),
        ]);
        expect(await store.prune(new Date(T0 + 10 * MINUTE))).toBe(2);
        // 6: the audit.pruned record.
        expect((await store.read(0, 10)).map((e) => e.seq)).toEqual([3, 4, 5, 6]);
        expect(await verifyStore(store)).toMatchObject({ ok: true, count: 4 });
      });

      it('continues the chain from the checkpoint when every entry was pruned', async () => {
        const { store } = await fresh();
        const appended = await store.append(entries(3));
        expect(await store.prune(new Date(T0 + 60 * MINUTE))).toBe(3);
        expect(await store.checkpoint()).toEqual({ seq: 3, hash: appended[2]!.hash });
        // What is left is the audit.pruned record (seq 4), chained after the checkpoint.
        const [pruned] = await store.read(0, 10);
        expect(pruned).toMatchObject({ seq: 4, prevHash: appended[2]!.hash });
        expect(await store.head()).toEqual({ seq: 4, hash: pruned!.hash });
        const next = await store.append([entry(5, {}, 61)]);
        expect(next[0]).toMatchObject({ seq: 5, prevHash: pruned!.hash });
        expect(await verifyStore(store)).toMatchObject({ ok: true, count: 2 });
      });

      it('deletes a long prefix in slices, the checkpoint following each', async () => {
        const { store } = await fresh({ pruneBatch: 3 });
        const appended = await store.append(entries(20));
        expect(await store.prune(new Date(T0 + 11 * MINUTE))).toBe(10);
        expect(await store.checkpoint()).toEqual({ seq: 10, hash: appended[9]!.hash });
        // 10 kept and one audit.pruned record per slice (4 slices of at most 3).
        expect(await verifyStore(store)).toMatchObject({ ok: true, count: 14 });
      });

      it('deletes nothing and keeps the checkpoint when nothing is older than the cutoff', async () => {
        const { store } = await fresh();
        await store.append(entries(5));
        await store.prune(new Date(T0 + 3 * MINUTE));
        const cp = await store.checkpoint();
        expect(await store.prune(new Date(T0 + 3 * MINUTE))).toBe(0);
        expect(await store.prune(new Date(T0))).toBe(0);
        expect(await store.checkpoint()).toEqual(cp);
      });
    });

    describe('tampering', () => {
      async function tenEntries() {
        const f = await fresh();
        await f.store.append(entries(10));
        expect(await verifyStore(f.store)).toMatchObject({ ok: true, count: 10 });
        return f;
      }

      it('reports the seq of a body edited with raw SQL as content edited', async () => {
        const { store, db } = await tenEntries();
        await db.raw(`UPDATE audit SET body = replace(body, '"allowed"', '"denied"') WHERE seq = 4`);
        expect((await store.read(3, 1))[0]!.body.decision).toBe('denied');
        expect(await verifyStore(store)).toMatchObject({
          ok: false,
          badSeq: 4,
          problem: 'content was edited',
        });
      });

      it('reports a body edited into something that is not JSON as content edited', async () => {
        const { store, db } = await tenEntries();
        await db.raw(`UPDATE audit SET body = 'gone' WHERE seq = 6`);
        expect(await verifyStore(store)).toMatchObject({
          ok: false,
          badSeq: 6,
          problem: 'content was edited',
        });
      });

      it('reports a deleted row as removed', async () => {
        const { store, db } = await tenEntries();
        await db.raw('DELETE FROM audit WHERE seq = 5');
        const r = await verifyStore(store);
        expect(r).toMatchObject({ ok: false, badSeq: 6 });
        expect(!r.ok && r.problem).toMatch(/expected record 5, found 6 \(removed/);
      });

      it('reports a deleted row right after the checkpoint as removed', async () => {
        const { store, db } = await tenEntries();
        await store.prune(new Date(T0 + 4 * MINUTE));
        await db.raw('DELETE FROM audit WHERE seq = 4');
        expect(await verifyStore(store)).toMatchObject({ ok: false, badSeq: 5 });
      });

      it('reports two rows whose seqs were swapped at the first of them', async () => {
        const { store, db } = await tenEntries();
        await db.raw(
          'UPDATE audit SET seq = -1 WHERE seq = 3; UPDATE audit SET seq = 3 WHERE seq = 7; UPDATE audit SET seq = 7 WHERE seq = -1;',
        );
        const r = await verifyStore(store);
        expect(r).toMatchObject({ ok: false, badSeq: 3 });
        // The seqs stay consecutive, so chain.ts sees the moved record by its link to the record before it.
        expect(!r.ok && r.problem).toMatch(/reordered|does not follow the record before it/);
      });

      it('reports a row whose hash was recomputed after an edit at the next row', async () => {
        const { store, db } = await tenEntries();
        const [e4] = await store.read(3, 1);
        const body = { ...e4!.body, decision: 'denied' };
        const hash = entryHash(e4!.prevHash, { ...e4!, body });
        // The decision column too: it is held against the body (#17.20), which would report seq 4 itself.
        await db.raw(
          `UPDATE audit SET body = '${canonicalJson(body)}', hash = '${hash}', decision = 'denied' WHERE seq = 4`,
        );
        expect(await verifyStore(store)).toMatchObject({ ok: false, badSeq: 5 });
      });
    });

    describe('AuditWriter', () => {
      it('commits 1,000 concurrent writes in order, in a few transactions', async () => {
        const { store } = await fresh();
        const counter = counting(store);
        const writer = new AuditWriter(counter.store);
        const written = await Promise.all(Array.from({ length: 1000 }, (_, k) => writer.write(entry(k + 1))));
        expect(written.map((e) => e.seq)).toEqual(Array.from({ length: 1000 }, (_, k) => k + 1));
        expect(written.map((e) => e.requestKey)).toEqual(
          Array.from({ length: 1000 }, (_, k) => `req-${k + 1}`),
        );
        expect(counter.appends).toBeLessThanOrEqual(10);
        expect(await verifyStore(store)).toMatchObject({ ok: true, count: 1000 });
      });

      it('rejects every entry of a failed batch and only those, and keeps writing later batches', async () => {
        const { store } = await fresh();
        const counter = counting(store, [2]);
        const writer = new AuditWriter(counter.store, { maxBatch: 10 });
        const results = await Promise.allSettled(
          Array.from({ length: 30 }, (_, k) => writer.write(entry(k + 1))),
        );
        expect(results.map((r) => r.status)).toEqual([
          ...Array(10).fill('fulfilled'),
          ...Array(10).fill('rejected'),
          ...Array(10).fill('fulfilled'),
        ]);
        const failed = results[10] as PromiseRejectedResult;
        expect(failed.reason).toBeInstanceOf(WardenError);
        expect(failed.reason.message).toMatch(/disk full/);
        expect((results[20] as PromiseFulfilledResult<AuditEntry>).value.seq).toBe(11);
        expect(await verifyStore(store)).toMatchObject({ ok: true, count: 20 });
      });

      it('groups writes made while a batch commits into the next batch', async () => {
        const { store } = await fresh();
        const counter = counting(store);
        let release = () => {};
        counter.hold = new Promise((r) => {
          release = r;
        });
        const writer = new AuditWriter(counter.store, { maxDelayMs: 1 });
        const first = writer.write(entry(1));
        await vi.waitFor(() => expect(counter.appends).toBe(1));
        const more = [writer.write(entry(2)), writer.write(entry(3)), writer.write(entry(4))];
        counter.hold = undefined;
        release();
        const written = await Promise.all([first, ...more]);
        expect(counter.sizes).toEqual([1, 3]);
        expect(written.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
      });

      it('flush resolves once every earlier write is committed', async () => {
        const { store } = await fresh();
        const writer = new AuditWriter(store, { maxDelayMs: 10_000 });
        void writer.write(entry(1));
        void writer.write(entry(2));
        await writer.flush();
        expect((await store.head()).seq).toBe(2);
      });

      it('refuses writes after close', async () => {
        const { store } = await fresh();
        const writer = new AuditWriter(store);
        const pending = writer.write(entry(1));
        await writer.close();
        await expect(pending).resolves.toMatchObject({ seq: 1 });
        await expect(writer.write(entry(2))).rejects.toThrow(/closed/);
      });

      it('rejects a malformed entry alone instead of failing its batch', async () => {
        const { store } = await fresh();
        const writer = new AuditWriter(store);
        const results = await Promise.allSettled([
          writer.write(entry(1)),
          writer.write({ ...entry(2), time: 'not a time' }),
          writer.write(entry(3)),
        ]);
        expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
        expect(await verifyStore(store)).toMatchObject({ ok: true, count: 2 });
      });
    });
  });
}

describe('openAuditStore', () => {
  it('rejects an unsupported URL as a configuration error', async () => {
    await expect(openAuditStore('mysql://db/audit')).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
  });

  it('rejects a SQLite file in a missing directory with a WardenError', async () => {
    const err = await openAuditStore('sqlite:no/such/dir/audit.db', { baseDir: tmpdir() }).catch((e) => e);
    expect(err).toBeInstanceOf(WardenError);
    expect(err).toMatchObject({ code: 'INTERNAL', message: expect.stringContaining('cannot open') });
  });

  it('resolves a relative SQLite path against the base directory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'warden-audit-'));
    try {
      const store = await openAuditStore('sqlite:audit.db', { baseDir: dir });
      await store.append([entry(1)]);
      await store.close();
      const again = await openAuditStore(`sqlite:${join(dir, 'audit.db')}`);
      expect((await again.head()).seq).toBe(1);
      await again.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects an unreachable PostgreSQL with a WardenError that masks the password', async () => {
    const err = await openAuditStore('postgres://warden:s3cret@127.0.0.1:1/audit', {
      postgres: { connectTimeoutMs: 2000 },
    }).catch((e) => e);
    expect(err).toBeInstanceOf(WardenError);
    expect(err.code).toBe('INTERNAL');
    expect(err.message).toContain('cannot open the audit database');
    expect(err.message).not.toContain('s3cret');
  });

  it('rejects a store used after close', async () => {
    const store = await openAuditStore('sqlite::memory:');
    await store.close();
    await expect(store.append([entry(1)])).rejects.toThrow(/after close/);
  });
});
