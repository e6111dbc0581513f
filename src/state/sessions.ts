// The session directory: what any replica needs to take over a Streamable HTTP session another replica opened.
import { Redis } from 'ioredis';
import { WardenError } from '../errors.js';

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
  /** Extends the record's life (an active session must not expire in the directory). */
  touch(id: string, ttlMs: number): Promise<void>;
  remove(id: string): Promise<void>;
  close(): Promise<void>;
}

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
    const redis = new Redis(url, {
      lazyConnect: true,
      connectTimeout: 3000,
      commandTimeout: 1000,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: (times) => Math.min(times * 100, 1000),
    });
    let reported = false;
    redis.on('error', (err: Error) => {
      if (reported) return;
      reported = true;
      opts.onError?.(err);
    });
    redis.on('ready', () => {
      reported = false;
    });
    redis.connect().catch(() => {});
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

  save(record: SessionRecord, ttlMs: number): Promise<void> {
    return this.run('save', async () => {
      await this.redis.set(
        this.prefix + record.id,
        JSON.stringify(record),
        'PX',
        Math.max(1, Math.ceil(ttlMs)),
      );
    });
  }

  load(id: string): Promise<SessionRecord | undefined> {
    return this.run('load', async () => {
      const text = await this.redis.get(this.prefix + id);
      return text === null ? undefined : (JSON.parse(text) as SessionRecord);
    });
  }

  touch(id: string, ttlMs: number): Promise<void> {
    return this.run('touch', async () => {
      await this.redis.pexpire(this.prefix + id, Math.max(1, Math.ceil(ttlMs)));
    });
  }

  remove(id: string): Promise<void> {
    return this.run('remove', async () => {
      await this.redis.del(this.prefix + id);
    });
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}
