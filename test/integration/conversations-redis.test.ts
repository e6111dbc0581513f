// #19.6 The Redis conversation store (src/state/conversations-redis.ts) against a real Redis: labels this replica knows
// are answered without a round trip when every needed one is known, an absent label is always asked of Redis (another
// replica may have recorded it), the first sighting is whichever replica wrote first, and a known label is not
// written again.
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { RedisConversationStore } from '../../src/state/conversations-redis.js';
import { redisUrl, shouldRunRedis, TEST_STATE_PREFIX } from '../helpers/services.js';

const run = await shouldRunRedis('conversation store (Redis)');
const prefix = `${TEST_STATE_PREFIX}convtest:`;
const stores: RedisConversationStore[] = [];
const open = () => {
  const s = RedisConversationStore.open(redisUrl(), { prefix });
  stores.push(s);
  return s;
};

afterAll(async () => {
  for (const s of stores) await s.close();
  if (!run) return;
  const r = new Redis(redisUrl());
  const keys = await r.keys(`${prefix}*`);
  if (keys.length > 0) await r.del(...keys);
  r.disconnect();
});

const seenAt = (label: string, at: string) => ({ label, at, server: 'fs', tool: 'read_file' });

describe.skipIf(!run)('#19.6 conversation state in Redis, with what a replica already knows', () => {
  it('#19.6.6 an absent label is asked of Redis every time: what another replica recorded is seen at once', async () => {
    const a = open();
    const b = open();
    expect(await a.seen('c1', ['private'])).toEqual([]);
    await b.record('c1', [seenAt('private', 't1')]);
    expect((await a.seen('c1', ['private'])).map((l) => l.label)).toEqual(['private']);
  });

  it('#19.6.7 a known label answers without Redis; the first sighting stays the first writer’s', async () => {
    const a = open();
    const b = open();
    await a.record('c2', [seenAt('private', 't-a')]);
    await b.record('c2', [seenAt('private', 't-b')]);
    // b learnt the stored (first) sighting, not its own.
    expect(await b.seen('c2', ['private'])).toEqual([seenAt('private', 't-a')]);
    // Remove the key behind both replicas' backs: a check whose needed labels are all known still answers from
    // what the replica knows (labels are never taken back), a full read goes to Redis.
    const r = new Redis(redisUrl());
    await r.del(`${prefix}conv:c2`);
    expect((await a.seen('c2', ['private'])).map((l) => l.label)).toEqual(['private']);
    expect(await a.seen('c2')).toEqual([]);
    // A label that is needed and not known goes to Redis again.
    expect(await a.seen('c2', ['private', 'secret'])).toEqual([]);
    // A known label is not written again: recording it after the deletion leaves Redis empty ...
    await b.record('c2', [seenAt('private', 't-b2')]);
    expect(await r.hgetall(`${prefix}conv:c2`)).toEqual({});
    // ... and a new one is written.
    await b.record('c2', [seenAt('external', 't-b3')]);
    expect(Object.keys(await r.hgetall(`${prefix}conv:c2`))).toEqual(['external']);
    r.disconnect();
  });
});
