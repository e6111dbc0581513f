// The Redis counter store shared by several processes, and what it does when Redis goes away and comes back.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { RedisCounterStore } from '../../src/state/redis.js';
import type { LimitRequest } from '../../src/state/types.js';
import { redisAvailable, redisUrl, shouldRunRedis } from '../helpers/services.js';

const ROOT = resolve(import.meta.dirname, '../..');
const CLIENT = resolve(ROOT, 'test/fixtures/counter-client.ts');
const T0 = Date.parse('2025-03-10T12:00:00.000Z');
const LIMIT: LimitRequest = { key: 'k', max: 1000, windowMs: 60_000, window: 'sliding', amount: 1 };

const run = await shouldRunRedis('Redis counter store across processes');
const prefixes: string[] = [];
const children: ChildProcess[] = [];

afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
});

afterAll(async () => {
  if (!run || prefixes.length === 0) return;
  const redis = new Redis(redisUrl());
  for (const p of prefixes) {
    const keys = await redis.keys(`${p}*`);
    if (keys.length > 0) await redis.del(...keys);
  }
  redis.disconnect();
});

function freshPrefix(): string {
  const p = `warden-test:${randomUUID()}:`;
  prefixes.push(p);
  return p;
}

/** Starts one counter client process and resolves once it has connected and printed "ready". */
function startClient(args: string[]): Promise<{ go(): void; result: Promise<{ admitted: number }> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', CLIENT, ...args], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  children.push(child);
  const lines = createInterface({ input: child.stdout! });
  return new Promise((ready, fail) => {
    child.once('exit', (code) => fail(new Error(`counter client exited with ${code}`)));
    const result = new Promise<{ admitted: number }>((done) => {
      lines.on('line', (line) => {
        if (line === 'ready') ready({ go: () => child.stdin!.write('go\n'), result });
        else done(JSON.parse(line));
      });
    });
  });
}

async function hammer(window: string, max: number, amount: number): Promise<number[]> {
  const prefix = freshPrefix();
  const args = [redisUrl(), prefix, window, String(max), String(amount), '150', '16', String(T0)];
  const clients = await Promise.all([startClient(args), startClient(args), startClient(args)]);
  for (const c of clients) c.go();
  const results = await Promise.all(clients.map((c) => c.result));
  return results.map((r) => r.admitted);
}

describe.runIf(run)('RedisCounterStore across processes', () => {
  it('admits exactly the limit in total from three processes (sliding window)', async () => {
    const admitted = await hammer('sliding', 25, 1);
    expect(admitted.reduce((a, b) => a + b, 0)).toBe(25);
  }, 120_000);

  it('admits exactly what fits a budget in total from three processes (calendar window)', async () => {
    const admitted = await hammer('calendar', 1000, 7);
    expect(admitted.reduce((a, b) => a + b, 0)).toBe(142);
  }, 120_000);

  it('sets an expiry on every key it writes', async () => {
    const prefix = freshPrefix();
    const store = await RedisCounterStore.open(redisUrl(), { prefix, commandTimeoutMs: 10_000 });
    const redis = new Redis(redisUrl());
    const ttls = async () => Promise.all((await redis.keys(`${prefix}*`)).map((k) => redis.pttl(k)));
    const r = await store.reserve([LIMIT, { ...LIMIT, window: 'calendar', windowMs: 86_400_000 }], T0);
    // Reserved: the sorted set, its sum and the calendar counter.
    const afterReserve = await ttls();
    if (r.ok) await store.release(r.reservation);
    // Released: the calendar counter and the release marker (the emptied sorted set is gone).
    const afterRelease = await ttls();
    await store.close();
    redis.disconnect();
    expect(afterReserve.length).toBe(3);
    expect(afterRelease.length).toBe(2);
    for (const ttl of [...afterReserve, ...afterRelease]) expect(ttl).toBeGreaterThan(0);
  });
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  await new Promise<void>((r) => server.close(() => r()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** Our own throwaway redis-server (never the shared one), with persistence off. */
async function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: 'ignore',
    },
  );
  children.push(child);
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    if (await redisAvailable(url, 500)) return child;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`redis-server on ${port} did not start`);
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
}

/** How long a call took to reject, and with what. */
async function timed(call: () => Promise<unknown>): Promise<{ ms: number; err: unknown }> {
  const started = performance.now();
  const err = await call().then(
    () => undefined,
    (e: unknown) => e,
  );
  return { ms: performance.now() - started, err };
}

describe('RedisCounterStore when Redis is unavailable', () => {
  it('rejects reserve, release and read with STATE_UNAVAILABLE within a second on a closed port', async () => {
    const errors: Error[] = [];
    const store = await RedisCounterStore.open('redis://:hunter2@127.0.0.1:1', {
      connectTimeoutMs: 500,
      onError: (e) => errors.push(e),
    });
    const calls = [
      () => store.reserve([LIMIT], T0),
      () =>
        store.release({
          id: 'x',
          entries: [{ key: 'k', window: 'calendar', windowMs: 1000, windowStart: T0, amount: 1 }],
        }),
      () => store.read('k', 1000, 'sliding', T0),
    ];
    for (const call of calls) {
      const { ms, err } = await timed(call);
      expect(err).toMatchObject({ code: 'STATE_UNAVAILABLE' });
      expect((err as Error).message).not.toContain('hunter2');
      expect(ms).toBeLessThan(1000);
    }
    expect(errors.length).toBe(1);
    await store.close();
  });

  it.runIf(run)(
    'fails while its Redis is down and recovers on its own when it returns',
    async () => {
      const port = await freePort();
      let server = await startRedis(port);
      const store = await RedisCounterStore.open(`redis://127.0.0.1:${port}`, {
        prefix: 'w:',
        commandTimeoutMs: 5000,
      });
      expect((await store.reserve([LIMIT], T0)).ok).toBe(true);

      await stop(server);
      const down = await timed(() => store.reserve([LIMIT], T0));
      expect(down.err).toMatchObject({ code: 'STATE_UNAVAILABLE' });
      expect(down.ms).toBeLessThan(1000);

      server = await startRedis(port);
      let ok = false;
      for (let i = 0; i < 100 && !ok; i++) {
        ok = await store.reserve([LIMIT], T0).then(
          (r) => r.ok,
          () => false,
        );
        if (!ok) await new Promise((r) => setTimeout(r, 100));
      }
      expect(ok).toBe(true);
      await store.close();
      await stop(server);
    },
    60_000,
  );
});
