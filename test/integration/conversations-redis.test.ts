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
    // (Redis tells the replicas the key changed; its message travels on another connection: give it a moment.)
    await new Promise((res) => setTimeout(res, 50));
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

  /** How many commands Redis has run for this store's key, by MONITOR on a side connection. */
  async function commandsOn(key: string, during: () => Promise<void>): Promise<string[]> {
    const seen: string[] = [];
    const monitor = await new Redis(redisUrl()).monitor();
    monitor.on('monitor', (_time: string, args: string[]) => {
      if (args.includes(key)) seen.push(args[0]!.toLowerCase());
    });
    await new Promise((res) => setTimeout(res, 50));
    await during();
    await new Promise((res) => setTimeout(res, 50));
    monitor.disconnect();
    return seen;
  }

  const tracked = async (s: RedisConversationStore) => {
    for (let i = 0; i < 100 && s.trackingClientId === undefined; i++)
      await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 50));
  };

  it('#19.6.10 while Redis tracks the reads, a check that finds no label asks Redis once, not on every call', async () => {
    const a = open();
    await tracked(a);
    const key = `${prefix}conv:c10`;
    const commands = await commandsOn(key, async () => {
      for (let i = 0; i < 20; i++) expect(await a.seen('c10', ['private'])).toEqual([]);
    });
    expect(commands.filter((c) => c === 'hgetall')).toHaveLength(1);
  });

  it('#19.6.11 a label another replica records invalidates the kept view at once: the next check sees it', async () => {
    const a = open();
    const b = open();
    await Promise.all([tracked(a), tracked(b)]);
    expect(await a.seen('c11', ['private'])).toEqual([]);
    expect(await a.seen('c11', ['private'])).toEqual([]); // from the kept view
    await b.record('c11', [seenAt('private', 't-b')]);
    // The invalidation is on its way when b's write returns; within a few milliseconds a sees the label.
    let labels: string[] = [];
    for (let i = 0; i < 50 && labels.length === 0; i++) {
      labels = (await a.seen('c11', ['private'])).map((l) => l.label);
      if (labels.length === 0) await new Promise((r) => setTimeout(r, 2));
    }
    expect(labels).toEqual(['private']);
    // A write by anyone (an operator's redis-cli) counts the same.
    const r = new Redis(redisUrl());
    expect(await a.seen('c11', ['secret'])).toHaveLength(1);
    await r.hset(`${prefix}conv:c11`, 'secret', JSON.stringify(seenAt('secret', 't-r')));
    await new Promise((res) => setTimeout(res, 50));
    expect((await a.seen('c11', ['secret'])).map((l) => l.label).sort()).toEqual(['private', 'secret']);
    r.disconnect();
  });

  it('#19.6.12 when the invalidation connection is lost, nothing kept is trusted: every check asks Redis again', async () => {
    const a = open();
    const b = open();
    await Promise.all([tracked(a), tracked(b)]);
    expect(await a.seen('c12', ['private'])).toEqual([]);
    const r = new Redis(redisUrl());
    // Kill a's invalidation connection, then write behind its back before it could reconnect.
    await r.client('KILL', 'ID', String(a.trackingClientId));
    await b.record('c12', [seenAt('private', 't-b')]);
    expect((await a.seen('c12', ['private'])).map((l) => l.label)).toEqual(['private']);
    r.disconnect();
  });
});
