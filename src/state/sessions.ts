// The session directory: what any replica needs to take over a Streamable HTTP session another replica opened.
import type { Redis } from 'ioredis';
import { WardenError } from '../errors.js';
import { busConnection } from './redis-pubsub.js';

/** A session as the directory keeps it: enough to re-establish the upstream side on another replica. */
export interface SessionRecord {
  id: string;
  /** The per-server endpoint's server, or null for the aggregated endpoint. */
  endpoint: string | null;
  /** The grant id that opened it ('' for anonymous): no other identity may take it over. */
  owner: string;
  /** The agent's initialize params, replayed to the upstreams when another replica takes the session over. */
  initialize: Record<string, unknown>;
}

export interface SessionDirectory {
  save(record: SessionRecord, ttlMs: number): Promise<void>;
  load(id: string): Promise<SessionRecord | undefined>;
  /** Extends the record's life (an active session must not expire in the directory); `owner` keeps it counted. */
  touch(id: string, ttlMs: number, owner?: string): Promise<void>;
  remove(id: string, owner?: string): Promise<void>;
  /** Sessions of an owner (a grant id, '' for anonymous) that have not expired, on every replica. */
  count(owner: string): Promise<number>;
  close(): Promise<void>;
}

/**
 * Adds (or, with XX, only refreshes) a session in its owner's set, scored by when it expires, and keeps the set for
 * as long as its longest-lived member (PEXPIRE's GT option would need Redis 7).
 */
const OWNED = `
if ARGV[4] == '1' then redis.call('ZADD', KEYS[1], 'XX', ARGV[1], ARGV[2])
else redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2]) end
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[3]) then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
return 1`;

/** Sessions in Redis, shared by every replica that uses the same Redis and prefix. */
export class RedisSessionDirectory implements SessionDirectory {
  private constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  static open(
    url: string,
    opts: { prefix?: string; onError?: (err: Error) => void } = {},
  ): RedisSessionDirectory {
    const redis = busConnection(url, opts.onError);
    return new RedisSessionDirectory(redis, opts.prefix ?? 'warden:session:');
  }

  private async run<T>(op: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw new WardenError(
        'STATE_UNAVAILABLE',
        `session directory (Redis) ${op}: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
  }

  /**
   * Each owner's sessions are also members of a sorted set scored by when they expire: counting them is one
   * ZREMRANGEBYSCORE (drop the expired) and one ZCARD, whatever the number of sessions in Redis.
   */
  private ownerKey(owner: string): string {
    return `${this.prefix}owner:${owner === '' ? '(anonymous)' : owner}`;
  }

  save(record: SessionRecord, ttlMs: number): Promise<void> {
    return this.run('save', async () => {
      const ttl = Math.max(1, Math.ceil(ttlMs));
      const key = this.ownerKey(record.owner);
      await this.redis
        .multi()
        .set(this.prefix + record.id, JSON.stringify(record), 'PX', ttl)
        .eval(OWNED, 1, key, Date.now() + ttl, record.id, ttl, '0')
        .exec();
    });
  }

  count(owner: string): Promise<number> {
    return this.run('count', async () => {
      const key = this.ownerKey(owner);
      const result = await this.redis.multi().zremrangebyscore(key, '-inf', Date.now()).zcard(key).exec();
      // A transaction reports its commands' failures in its result, not by rejecting.
      const failed = result === null ? new Error('transaction aborted') : result.find(([err]) => err)?.[0];
      if (failed) throw failed;
      return Number(result![1]![1]);
    });
  }

  load(id: string): Promise<SessionRecord | undefined> {
    return this.run('load', async () => {
      const text = await this.redis.get(this.prefix + id);
      return text === null ? undefined : (JSON.parse(text) as SessionRecord);
    });
  }

  touch(id: string, ttlMs: number, owner?: string): Promise<void> {
    return this.run('touch', async () => {
      const ttl = Math.max(1, Math.ceil(ttlMs));
      if (owner === undefined) {
        await this.redis.pexpire(this.prefix + id, ttl);
        return;
      }
      const key = this.ownerKey(owner);
      // XX: a session that expired or was removed meanwhile is not counted again.
      await this.redis
        .multi()
        .pexpire(this.prefix + id, ttl)
        .eval(OWNED, 1, key, Date.now() + ttl, id, ttl, '1')
        .exec();
    });
  }

  remove(id: string, owner?: string): Promise<void> {
    return this.run('remove', async () => {
      if (owner === undefined) {
        await this.redis.del(this.prefix + id);
        return;
      }
      await this.redis
        .multi()
        .del(this.prefix + id)
        .zrem(this.ownerKey(owner), id)
        .exec();
    });
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}
