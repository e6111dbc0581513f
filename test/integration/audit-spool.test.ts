// The audit spool in front of each real store (SQLite file, PostgreSQL schema): durable on write, moved in order,
// recovered after a crash without duplicates, held while the store refuses records, refused when two own it.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import type { NewAuditEntry } from '../../src/audit/chain.js';
import { AuditSpool, recoverSpool, spoolLockPath, spoolOwner } from '../../src/audit/spool.js';
import { openAuditStore } from '../../src/store/open.js';
import { type AuditStore, verifyStore } from '../../src/store/types.js';
import { dropSchemas, freshSchemaName, pgUrl, shouldRunPg } from '../helpers/services.js';

const log = pino({ level: 'silent' });
const dirs: string[] = [];
const schemas: string[] = [];

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'warden-spool-'));
  dirs.push(d);
  return d;
}

afterAll(async () => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  if (schemas.length > 0) await dropSchemas(schemas);
});

function entry(i: number, kind: NewAuditEntry['kind'] = 'decision'): NewAuditEntry {
  return {
    time: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
    kind,
    requestKey: `req-${i}`,
    body: { v: 1, server: 'fs', tool: 'read_file', decision: 'allowed', n: i },
  };
}

const backends: Array<{ name: string; run: boolean; open: (dir: string) => Promise<AuditStore> }> = [
  { name: 'sqlite', run: true, open: (dir) => openAuditStore(`sqlite:${join(dir, 'audit.db')}`) },
  {
    name: 'postgres',
    run: await shouldRunPg('audit spool (postgres)'),
    open: () => {
      const schema = freshSchemaName('warden_spool');
      schemas.push(schema);
      return openAuditStore(pgUrl(), { postgres: { schema } });
    },
  },
];

/** The `n` of every stored entry, in chain order. */
async function storedNumbers(store: AuditStore): Promise<number[]> {
  return (await store.read(0, 10_000)).map((e) => e.body.n as number);
}

for (const backend of backends) {
  describe.runIf(backend.run)(`audit spool (${backend.name})`, () => {
    it('has a record in the file when write() resolves, and in the store, in order, soon after', async () => {
      const dir = tempDir();
      const store = await backend.open(dir);
      const path = join(dir, 'audit.spool');
      const spool = await AuditSpool.open(path, store, { durability: 'crash', log });
      await Promise.all([1, 2, 3].map((i) => spool.write(entry(i))));
      // On disk before the store has it: the file holds the three records as JSON lines.
      const lines = readFileSync(path, 'utf8').trim().split('\n');
      expect(lines.map((l) => (JSON.parse(l) as NewAuditEntry).requestKey)).toEqual([
        'req-1',
        'req-2',
        'req-3',
      ]);
      await spool.write(entry(4));
      await spool.drained();
      expect(await storedNumbers(store)).toEqual([1, 2, 3, 4]);
      expect(await verifyStore(store)).toMatchObject({ ok: true, count: 4 });
      await spool.close();
      await store.close();
    });

    it('moves what a crash left in the spool on the next open, skipping records the store has', async () => {
      const dir = tempDir();
      const store = await backend.open(dir);
      const path = join(dir, 'audit.spool');
      await store.append([entry(1)]);
      // 1 was stored before the crash; 2 and its outcome were only spooled; the last line was torn mid-write.
      const spooled = [entry(1), entry(2), entry(2, 'outcome')].map((e) => JSON.stringify(e)).join('\n');
      writeFileSync(path, `${spooled}\n{"time":"2026-01-01T00:00:09.000Z","ki`);
      writeFileSync(spoolLockPath(path), '999999999\n'); // left by the crashed process
      const spool = await AuditSpool.open(path, store, { durability: 'crash', log });
      const stored = await store.read(0, 100);
      expect(stored.map((e) => `${e.requestKey}/${e.kind}`)).toEqual([
        'req-1/decision',
        'req-2/decision',
        'req-2/outcome',
      ]);
      expect(readFileSync(path, 'utf8')).toBe('');
      await spool.close();
      await store.close();
    });

    it('keeps records while the store refuses them and moves them, in order, when it is back', async () => {
      const dir = tempDir();
      const real = await backend.open(dir);
      // Fault injection: the store refuses appends while `down` is set (a real outage cannot be switched on and
      // off inside one test without stopping the shared server).
      let down = true;
      let refused = 0;
      const store: AuditStore = Object.create(real, {
        append: {
          value: (e: NewAuditEntry[]) => {
            if (down) {
              refused++;
              return Promise.reject(new Error('connection refused'));
            }
            return real.append(e);
          },
        },
      });
      const spool = await AuditSpool.open(join(dir, 'audit.spool'), store, {
        durability: 'crash',
        log,
        retryMs: { first: 20, max: 50 },
        maxPending: 5,
      });
      for (let i = 1; i <= 5; i++) await spool.write(entry(i)); // durable in the spool: every write succeeds
      await spool.drained();
      expect(refused).toBeGreaterThan(0);
      expect(spool.pending).toBe(5);
      // The spool is full: a sixth record is refused, so the call it belongs to fails closed.
      await expect(spool.write(entry(6))).rejects.toThrow(/audit store unavailable/);
      down = false;
      await new Promise((r) => setTimeout(r, 200));
      expect(spool.pending).toBe(0);
      await spool.write(entry(7));
      await spool.close();
      expect(await storedNumbers(real)).toEqual([1, 2, 3, 4, 5, 7]);
      expect(await verifyStore(real)).toMatchObject({ ok: true, count: 6 });
      await real.close();
    });
  });
}

describe('audit spool ownership', () => {
  it('refuses a spool a live process holds, and takes over one whose process is gone', async () => {
    const dir = tempDir();
    const store = await openAuditStore(`sqlite:${join(dir, 'audit.db')}`);
    const path = join(dir, 'audit.spool');
    const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)']);
    try {
      writeFileSync(spoolLockPath(path), `${holder.pid}\n`);
      await expect(AuditSpool.open(path, store, { durability: 'crash', log })).rejects.toThrow(
        `the audit spool ${path} is in use by process ${holder.pid}`,
      );
      // A `warden audit` command leaves a live gateway's spool alone.
      expect(await recoverSpool(path, store)).toBeUndefined();
    } finally {
      holder.kill('SIGKILL');
      await new Promise((r) => holder.once('exit', r));
    }
    writeFileSync(path, `${JSON.stringify(entry(1))}\n`);
    expect(await recoverSpool(path, store)).toBe(1);
    const spool = await AuditSpool.open(path, store, { durability: 'power-loss', log });
    await spool.write(entry(2));
    await spool.close();
    expect(await storedNumbers(store)).toEqual([1, 2]);
    await store.close();
  });

  it('takes over the spool of a killed process its parent has not reaped yet (a zombie)', async () => {
    const dir = tempDir();
    const path = join(dir, 'audit.spool');
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)']);
    await new Promise((r) => child.once('spawn', r));
    writeFileSync(spoolLockPath(path), `${child.pid}\n`);
    expect(spoolOwner(path)).toBe(child.pid);
    child.kill('SIGKILL');
    // Block this thread, so that the event loop cannot reap the child: it stays a zombie meanwhile.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300);
    expect(spoolOwner(path)).toBeUndefined();
    await new Promise((r) => child.once('exit', r));
  });

  it('names the line of a damaged spool instead of guessing', async () => {
    const dir = tempDir();
    const store = await openAuditStore(`sqlite:${join(dir, 'audit.db')}`);
    const path = join(dir, 'audit.spool');
    writeFileSync(path, `${JSON.stringify(entry(1))}\nnot json\n`);
    await expect(AuditSpool.open(path, store, { durability: 'crash', log })).rejects.toThrow(
      `audit spool ${path}:2 is not a record`,
    );
    await store.close();
  });
});
