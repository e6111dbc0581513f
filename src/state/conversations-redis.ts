// Conversation state in Redis: one hash per conversation (label -> first sighting as JSON), written with HSETNX so the
// first sighting stays whichever replica records it.
import { Redis } from 'ioredis';
import { WardenError } from '../errors.js';
import type { ConversationStore, LabelSeen, OpenConversationStoreOptions } from './conversations.js';

export class RedisConversationStore implements ConversationStore {
  private constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  static open(url: string, opts: OpenConversationStoreOptions = {}): RedisConversationStore {
    let reported = false;
    const redis = new Redis(url, {
      lazyConnect: false,
      enableOfflineQueue: true,
      maxRetriesPerRequest: 1,
      commandTimeout: opts.commandTimeoutMs ?? 1000,
      retryStrategy: (times) => Math.min(times * 100, opts.commandTimeoutMs ?? 1000),
    });
    redis.on('ready', () => {
      reported = false;
    });
    redis.on('error', (err: Error) => {
      if (reported) return;
      reported = true;
      opts.onError?.(err);
    });
    return new RedisConversationStore(redis, `${opts.prefix ?? 'warden:'}conv:`);
  }

  private async run<T>(what: () => Promise<T>): Promise<T> {
    try {
      return await what();
    } catch (err) {
      throw new WardenError(
        'STATE_UNAVAILABLE',
        `conversation state unavailable: ${(err as Error)?.message ?? String(err)}`,
      );
    }
  }

  async seen(conversation: string): Promise<LabelSeen[]> {
    const all = await this.run(() => this.redis.hgetall(this.prefix + conversation));
    return Object.values(all).map((v) => JSON.parse(v) as LabelSeen);
  }

  async record(conversation: string, events: readonly LabelSeen[]): Promise<void> {
    if (events.length === 0) return;
    const key = this.prefix + conversation;
    await this.run(async () => {
      const m = this.redis.multi();
      for (const e of events) m.hsetnx(key, e.label, JSON.stringify(e));
      await m.exec();
    });
  }

  async list(limit: number): Promise<Array<{ conversation: string; labels: LabelSeen[] }>> {
    const out: Array<{ conversation: string; labels: LabelSeen[] }> = [];
    let cursor = '0';
    do {
      const [next, keys] = await this.run(() =>
        this.redis.scan(cursor, 'MATCH', `${this.prefix}*`, 'COUNT', 200),
      );
      cursor = next;
      for (const key of keys) {
        if (out.length >= limit) return out;
        const conversation = key.slice(this.prefix.length);
        out.push({ conversation, labels: await this.seen(conversation) });
      }
    } while (cursor !== '0');
    return out;
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
