// The counter store contract, run unchanged against the memory store and a real Redis (a fresh key prefix per test).
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { WardenError } from '../../src/errors.js';
import { MemoryCounterStore } from '../../src/state/memory.js';
import { openCounterStore } from '../../src/state/open.js';
import { RedisCounterStore } from '../../src/state/redis.js';
import type { CounterStore, LimitRequest, ReserveResult } from '../../src/state/types.js';
import { redisUrl, shouldRunRedis } from '../helpers/services.js';

const T0 = Date.parse('2025-03-10T12:00:00.000Z');
const SECOND = 1000;
const DAY = 86_400_000;

function sliding(key: string, max: number, windowMs = 60 * SECOND, amount = 1): LimitRequest {
  return { key, max, windowMs, window: 'sliding', amount };
}

function calendar(key: string, max: number, windowMs = DAY, amount = 1): LimitRequest {
  return { key, max, windowMs, window: 'calendar', amount };
}

function admitted(results: ReserveResult[]): number {
  return results.filter((r) => r.ok).length;
}

function refused(result: ReserveResult): Extract<ReserveResult, { ok: false }> {
  if (result.ok) throw new Error('expected the reserve to be refused');
  return result;
}

function granted(result: ReserveResult): Extract<ReserveResult, { ok: true }> {
  if (!result.ok) throw new Error(`expected the reserve to succeed, refused at ${result.index}`);
  return result;
}

interface Backend {
  name: string;
  run: boolean;
  fresh(): Promise<CounterStore>;
  cleanup(): Promise<void>;
}

function memoryBackend(): Backend {
  return {
    name: 'memory',
    run: true,
    fresh: async () => new MemoryCounterStore({ sweepIntervalMs: 0 }),
    cleanup: async () => {},
  };
}

async function redisBackend(): Promise<Backend> {
  const run = await shouldRunRedis('counter store contract (redis)');
  const prefixes: string[] = [];
  return {
    name: 'redis',
    run,
    async fresh() {
      const prefix = `warden-test:${randomUUID()}:`;
      prefixes.push(prefix);
      // The contract is about counting, not latency: a loaded test machine must not turn into timeouts here
      // (state-redis-replicas tests the short default).
      return RedisCounterStore.open(redisUrl(), { prefix, commandTimeoutMs: 10_000 });
    },
    async cleanup() {
      if (prefixes.length === 0) return;
      const redis = new Redis(redisUrl());
      try {
        for (const prefix of prefixes) {
          const keys = await redis.keys(`${prefix}*`);
          if (keys.length > 0) await redis.del(...keys);
        }
      } finally {
        redis.disconnect();
      }
    },
  };
}

const backends = [memoryBackend(), await redisBackend()];
const open: CounterStore[] = [];

afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

afterAll(async () => {
  for (const b of backends) await b.cleanup();
});

for (const backend of backends) {
  describe.runIf(backend.run)(`CounterStore (${backend.name})`, () => {
    async function store(): Promise<CounterStore> {
      const s = await backend.fresh();
      open.push(s);
      return s;
    }

    it.each(['sliding', 'calendar'] as const)(
      'admits exactly max of 200 concurrent reserves (%s window)',
      async (window) => {
        const s = await store();
        const req = window === 'sliding' ? sliding('burst', 10) : calendar('burst', 10);
        const results = await Promise.all(Array.from({ length: 200 }, () => s.reserve([req], T0)));
        expect(admitted(results)).toBe(10);
        expect(await s.read('burst', req.windowMs, window, T0)).toBe(10);
      },
    );

    it('adds none of the requests when one limit is full', async () => {
      const s = await store();
      granted(await s.reserve([calendar('full', 1)], T0));
      const result = refused(
        await s.reserve([sliding('a', 5), calendar('full', 1), sliding('b', 5), calendar('c', 5)], T0),
      );
      expect(result.index).toBe(1);
      expect(result.used).toBe(1);
      expect(await s.read('a', 60 * SECOND, 'sliding', T0)).toBe(0);
      expect(await s.read('b', 60 * SECOND, 'sliding', T0)).toBe(0);
      expect(await s.read('c', DAY, 'calendar', T0)).toBe(0);
      expect(await s.read('full', DAY, 'calendar', T0)).toBe(1);
    });

    it('adds every request when all fit', async () => {
      const s = await store();
      const r = granted(await s.reserve([sliding('a', 5), calendar('b', 5, DAY, 3)], T0));
      expect(r.reservation.entries.map((e) => [e.key, e.window, e.amount])).toEqual([
        ['a', 'sliding', 1],
        ['b', 'calendar', 3],
      ]);
      expect(await s.read('a', 60 * SECOND, 'sliding', T0)).toBe(1);
      expect(await s.read('b', DAY, 'calendar', T0)).toBe(3);
    });

    it('counts a counter named twice in one call twice', async () => {
      const s = await store();
      expect(refused(await s.reserve([sliding('twice', 1), sliding('twice', 1)], T0)).index).toBe(1);
      expect(await s.read('twice', 60 * SECOND, 'sliding', T0)).toBe(0);
      granted(await s.reserve([calendar('twice', 2), calendar('twice', 2)], T0));
      expect(await s.read('twice', DAY, 'calendar', T0)).toBe(2);
    });

    it.each(['sliding', 'calendar'] as const)(
      'gives back exactly the released amount, once (%s window)',
      async (window) => {
        const s = await store();
        const req = (amount: number) =>
          window === 'sliding'
            ? sliding('give', 100, 60 * SECOND, amount)
            : calendar('give', 100, DAY, amount);
        granted(await s.reserve([req(10)], T0));
        const middle = granted(await s.reserve([req(20)], T0 + 1));
        granted(await s.reserve([req(30)], T0 + 2));
        await s.release(middle.reservation);
        expect(await s.read('give', req(1).windowMs, window, T0 + 3)).toBe(40);
        await s.release(middle.reservation);
        expect(await s.read('give', req(1).windowMs, window, T0 + 3)).toBe(40);
      },
    );

    it('lets a released reservation be taken again', async () => {
      const s = await store();
      const first = granted(await s.reserve([sliding('again', 1), calendar('again', 1)], T0));
      refused(await s.reserve([sliding('again', 1), calendar('again', 1)], T0));
      await s.release(first.reservation);
      granted(await s.reserve([sliding('again', 1), calendar('again', 1)], T0));
    });

    it('takes a release off its own calendar window, not the current one', async () => {
      const s = await store();
      const yesterday = granted(await s.reserve([calendar('old', 5)], T0 - DAY));
      granted(await s.reserve([calendar('old', 5)], T0));
      await s.release(yesterday.reservation);
      expect(await s.read('old', DAY, 'calendar', T0)).toBe(1);
    });

    it('lets sliding entries leave the window exactly windowMs after they were added', async () => {
      const s = await store();
      granted(await s.reserve([sliding('slide', 2, SECOND)], T0));
      granted(await s.reserve([sliding('slide', 2, SECOND)], T0 + 400));
      refused(await s.reserve([sliding('slide', 2, SECOND)], T0 + 999));
      granted(await s.reserve([sliding('slide', 2, SECOND)], T0 + 1000));
      expect(await s.read('slide', SECOND, 'sliding', T0 + 1000)).toBe(2);
      expect(await s.read('slide', SECOND, 'sliding', T0 + 1400)).toBe(1);
      expect(await s.read('slide', SECOND, 'sliding', T0 + 2000)).toBe(0);
    });

    it('says exactly when the oldest sliding entry leaves', async () => {
      const s = await store();
      for (const t of [0, 100, 200]) granted(await s.reserve([sliding('retry', 3, SECOND)], T0 + t));
      const r = refused(await s.reserve([sliding('retry', 3, SECOND)], T0 + 300));
      expect(r.retryAfterMs).toBe(700);
      expect(r.used).toBe(3);
      expect(refused(await s.reserve([sliding('retry', 3, SECOND)], T0 + 999)).retryAfterMs).toBe(1);
    });

    it('waits for as many sliding entries as the amount needs', async () => {
      const s = await store();
      for (const t of [0, 100, 200]) granted(await s.reserve([sliding('many', 3, SECOND)], T0 + t));
      const r = refused(await s.reserve([sliding('many', 3, SECOND, 2)], T0 + 300));
      expect(r.retryAfterMs).toBe(800);
      granted(await s.reserve([sliding('many', 3, SECOND, 2)], T0 + 1100));
    });

    it('does not make a caller wait for a released sliding entry', async () => {
      const s = await store();
      const oldest = granted(await s.reserve([sliding('skip', 2, SECOND)], T0));
      granted(await s.reserve([sliding('skip', 2, SECOND)], T0 + 100));
      await s.release(oldest.reservation);
      granted(await s.reserve([sliding('skip', 2, SECOND)], T0 + 200));
      // Full again: the next entry to leave is the one at +100, not the released one at 0.
      expect(refused(await s.reserve([sliding('skip', 2, SECOND)], T0 + 300)).retryAfterMs).toBe(800);
    });

    it('starts a new calendar window at UTC midnight and says how long until then', async () => {
      const s = await store();
      const beforeMidnight = Date.parse('2025-03-10T23:59:59.000Z');
      granted(await s.reserve([calendar('daily', 1)], beforeMidnight));
      expect(refused(await s.reserve([calendar('daily', 1)], beforeMidnight)).retryAfterMs).toBe(1000);
      const midnight = Date.parse('2025-03-11T00:00:00.000Z');
      granted(await s.reserve([calendar('daily', 1)], midnight));
      expect(await s.read('daily', DAY, 'calendar', midnight)).toBe(1);
      expect(await s.read('daily', DAY, 'calendar', beforeMidnight)).toBe(1);
    });

    it('aligns calendar windows to multiples of their length since the epoch', async () => {
      const s = await store();
      const hour = 3_600_000;
      const at = Date.parse('2025-03-10T10:59:30.000Z');
      granted(await s.reserve([calendar('hourly', 1, hour)], at));
      expect(refused(await s.reserve([calendar('hourly', 1, hour)], at)).retryAfterMs).toBe(30_000);
      granted(await s.reserve([calendar('hourly', 1, hour)], Date.parse('2025-03-10T11:00:00.000Z')));
    });

    it('adds amounts against a budget', async () => {
      const s = await store();
      const spend = (amount: number) => s.reserve([calendar('refunds', 500, DAY, amount)], T0);
      granted(await spend(200));
      granted(await spend(200));
      const r = refused(await spend(200));
      expect(r.used).toBe(400);
      granted(await spend(100));
      expect(await s.read('refunds', DAY, 'calendar', T0)).toBe(500);
    });

    it('keeps fractional amounts exact through reserve and release', async () => {
      const s = await store();
      const a = granted(await s.reserve([sliding('cents', 100, 60 * SECOND, 12.25)], T0));
      granted(await s.reserve([sliding('cents', 100, 60 * SECOND, 0.5)], T0));
      granted(await s.reserve([calendar('cents', 100, DAY, 12.25)], T0));
      expect(await s.read('cents', 60 * SECOND, 'sliding', T0)).toBe(12.75);
      await s.release(a.reservation);
      expect(await s.read('cents', 60 * SECOND, 'sliding', T0)).toBe(0.5);
      expect(await s.read('cents', DAY, 'calendar', T0)).toBe(12.25);
    });

    it('reads 0 for a counter never used', async () => {
      const s = await store();
      expect(await s.read('never', SECOND, 'sliding', T0)).toBe(0);
      expect(await s.read('never', DAY, 'calendar', T0)).toBe(0);
    });

    it('keeps counters with different keys, window kinds or window lengths apart', async () => {
      const s = await store();
      granted(await s.reserve([sliding('k1', 1)], T0));
      granted(await s.reserve([sliding('k2', 1)], T0));
      granted(await s.reserve([calendar('k1', 1)], T0));
      granted(await s.reserve([sliding('k1', 1, 3_600_000)], T0));
      granted(await s.reserve([calendar('k1', 1, 3_600_000)], T0));
      refused(await s.reserve([sliding('k1', 1)], T0));
      expect(await s.read('k1', 60 * SECOND, 'sliding', T0)).toBe(1);
      expect(await s.read('k1', 3_600_000, 'sliding', T0)).toBe(1);
      expect(await s.read('k3', 60 * SECOND, 'sliding', T0)).toBe(0);
    });

    it('rejects an amount that is not a positive number', async () => {
      const s = await store();
      await expect(s.reserve([sliding('nan', 5, SECOND, Number.NaN)], T0)).rejects.toMatchObject({
        code: 'INTERNAL',
      });
      await expect(s.reserve([calendar('zero', 5, DAY, 0)], T0)).rejects.toBeInstanceOf(WardenError);
      expect(await s.read('nan', SECOND, 'sliding', T0)).toBe(0);
    });
  });
}

describe('MemoryCounterStore', () => {
  it('drops idle session counters once their windows are over', async () => {
    const s = new MemoryCounterStore({ sweepIntervalMs: 0 });
    for (let i = 0; i < 10_000; i++) {
      const session = `session:${i}|calls`;
      await s.reserve([sliding(session, 10, SECOND), calendar(session, 100, 60 * SECOND)], T0);
    }
    expect(s.size).toBe(20_000);
    s.sweep(T0 + 60 * SECOND);
    expect(s.size).toBe(0);
    await s.close();
  });

  it('keeps the counters whose windows are still open when it sweeps', async () => {
    const s = new MemoryCounterStore({ sweepIntervalMs: 0 });
    await s.reserve([sliding('live', 10, 60 * SECOND), calendar('live', 10, DAY)], T0);
    await s.reserve([sliding('idle', 10, SECOND)], T0);
    s.sweep(T0 + 30 * SECOND);
    expect(s.size).toBe(2);
    expect(await s.read('live', 60 * SECOND, 'sliding', T0 + 30 * SECOND)).toBe(1);
    await s.close();
  });

  it('sweeps idle counters on its own timer', async () => {
    const s = new MemoryCounterStore({ sweepIntervalMs: 20 });
    const now = Date.now();
    await s.reserve([sliding('timer', 10, 50), calendar('timer', 10, 50)], now);
    expect(s.size).toBe(2);
    await new Promise((r) => setTimeout(r, 250));
    expect(s.size).toBe(0);
    await s.close();
  });
});

describe('openCounterStore', () => {
  it('opens the memory store for "memory"', async () => {
    const s = await openCounterStore('memory');
    expect(s).toBeInstanceOf(MemoryCounterStore);
    await s.close();
  });

  it('opens the Redis store for a redis:// URL', async () => {
    // A closed port: the store opens all the same and fails its calls, so this needs no Redis.
    const s = await openCounterStore('redis://127.0.0.1:1', { redis: { connectTimeoutMs: 500 } });
    expect(s).toBeInstanceOf(RedisCounterStore);
    await s.close();
  });

  it('rejects another scheme with CONFIG_INVALID and a hint, without the password', async () => {
    const err = await openCounterStore('postgres://warden:s3cret@db:5432/x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WardenError);
    expect(err).toMatchObject({ code: 'CONFIG_INVALID', hint: expect.stringContaining('redis://') });
    expect((err as Error).message).not.toContain('s3cret');
  });
});
