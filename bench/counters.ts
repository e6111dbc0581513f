// Counter store throughput: reserves per second, memory and Redis, with 1 and 64 concurrent callers.
import { randomUUID } from 'node:crypto';
import { MemoryCounterStore } from '../src/state/memory.js';
import { RedisCounterStore } from '../src/state/redis.js';
import type { CounterStore, LimitRequest } from '../src/state/types.js';

const RESERVES = Number(process.env.COUNTER_RESERVES ?? 20_000);
const REDIS = process.env.WARDEN_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const CALLERS = [1, 64];

// A typical call: a per-session rate limit and a per-grant daily quota, both far from full so every reserve adds.
const REQUESTS: LimitRequest[] = [
  { key: 'session:s1|calls', window: 'sliding', windowMs: 60_000, max: 1e12, amount: 1 },
  { key: 'grant:g1|refunds', window: 'calendar', windowMs: 86_400_000, max: 1e12, amount: 1 },
];

async function run(store: CounterStore, callers: number): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (next++ < RESERVES) {
        if (!(await store.reserve(REQUESTS, Date.now())).ok) throw new Error('refused');
      }
    }),
  );
  return RESERVES / ((performance.now() - started) / 1000);
}

const rows: string[] = [];
for (const backend of ['memory', 'redis'] as const) {
  for (const callers of CALLERS) {
    const prefix = `warden-bench:${randomUUID()}:`;
    const store =
      backend === 'memory'
        ? new MemoryCounterStore()
        : await RedisCounterStore.open(REDIS, { prefix, commandTimeoutMs: 10_000 });
    const perSecond = await run(store, callers);
    await store.close();
    rows.push(`| ${backend} | ${callers} | ${Math.round(perSecond).toLocaleString('en-US')} |`);
  }
}
console.log(`Counter store: ${RESERVES} reserves of 2 limits (sliding + calendar) each\n`);
console.log('| store | callers | reserves/s |\n| --- | ---: | ---: |');
console.log(rows.join('\n'));
