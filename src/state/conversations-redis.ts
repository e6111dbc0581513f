// Conversation state in Redis: one hash per conversation (label -> first sighting as JSON), written with HSETNX so the
// first sighting stays whichever replica records it. Labels are never taken back, so what this replica has read or
// written stays true: a label it knows is not written again, and a check whose needed labels are all known is answered
// without a round trip. The absence of a label is asked of Redis (another replica may have recorded it), except while
// Redis tracks what this replica read (CLIENT TRACKING, src/state/redis-tracking.ts): a conversation read in full is
// then kept as a complete view until Redis says its key changed, and a check that finds no label in it needs no
// round trip either.
import { Redis } from 'ioredis';
import { WardenError } from '../errors.js';
import type { ConversationStore, LabelSeen, OpenConversationStoreOptions } from './conversations.js';
import { RedisTracking } from './redis-tracking.js';

/** Conversations whose known labels this replica keeps (then it starts over: a miss only costs a round trip). */
const KNOWN_CONVERSATIONS = 10_000;
/**
 * A complete view is trusted this long at most, invalidations or not: an invalidation connection that died without a
 * sign (a NAT that forgot it) cannot keep a stale view longer than this.
 */
const VIEW_MS = 5000;

export class RedisConversationStore implements ConversationStore {
  private readonly known = new Map<string, Map<string, LabelSeen>>();
  /** Complete views of conversations (every label Redis held), by key, while tracking says nothing changed. */
  private readonly complete = new Map<string, { labels: LabelSeen[]; epoch: number; until: number }>();
  private readonly tracking: RedisTracking;

  private constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    url: string,
  ) {
    this.tracking = new RedisTracking(redis, url, (key) => {
      if (key === null) this.complete.clear();
      else this.complete.delete(key);
    });
  }

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
    return new RedisConversationStore(redis, `${opts.prefix ?? 'warden:'}conv:`, url);
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

  async seen(conversation: string, needed?: readonly string[]): Promise<LabelSeen[]> {
    const mine = this.known.get(conversation);
    if (needed !== undefined && mine !== undefined && needed.every((l) => mine.has(l)))
      return [...mine.values()];
    const key = this.prefix + conversation;
    const view = needed === undefined ? undefined : this.complete.get(key);
    if (view !== undefined && this.tracking.valid(view.epoch) && Date.now() < view.until) return view.labels;
    const ticket = this.tracking.begin(key);
    let all: Record<string, string>;
    try {
      all = await this.run(() => this.redis.hgetall(key));
    } finally {
      // Kept only when tracking held for the whole read and nothing changed the key meanwhile.
      if (this.tracking.end(ticket)) this.keepView(key, ticket.epoch, all!);
    }
    const labels = Object.values(all).map((v) => JSON.parse(v) as LabelSeen);
    this.learn(conversation, labels);
    return labels;
  }

  async record(conversation: string, events: readonly LabelSeen[]): Promise<void> {
    const mine = this.known.get(conversation);
    const fresh = mine === undefined ? events : events.filter((e) => !mine.has(e.label));
    if (fresh.length === 0) return;
    const key = this.prefix + conversation;
    // This replica's own write changes the key: its view goes now, not when Redis's invalidation arrives.
    this.complete.delete(key);
    await this.run(async () => {
      const m = this.redis.multi();
      for (const e of fresh) m.hsetnx(key, e.label, JSON.stringify(e));
      // The first sighting is whichever replica's write came first: read back what is stored.
      m.hmget(key, ...fresh.map((e) => e.label));
      const replies = await m.exec();
      const stored = (replies?.[fresh.length]?.[1] ?? []) as Array<string | null>;
      this.learn(
        conversation,
        stored.flatMap((v) => (v === null ? [] : [JSON.parse(v) as LabelSeen])),
      );
    });
  }

  private keepView(key: string, epoch: number, all: Record<string, string> | undefined): void {
    if (all === undefined) return;
    if (this.complete.size >= KNOWN_CONVERSATIONS) this.complete.clear();
    this.complete.set(key, {
      labels: Object.values(all).map((v) => JSON.parse(v) as LabelSeen),
      epoch,
      until: Date.now() + VIEW_MS,
    });
  }

  /** For tests: the client id of the connection that receives invalidations. */
  get trackingClientId(): number | undefined {
    return this.tracking.clientId;
  }

  private learn(conversation: string, labels: readonly LabelSeen[]): void {
    if (labels.length === 0) return;
    let mine = this.known.get(conversation);
    if (mine === undefined) {
      if (this.known.size >= KNOWN_CONVERSATIONS) this.known.clear();
      mine = new Map();
      this.known.set(conversation, mine);
    }
    for (const l of labels) if (!mine.has(l.label)) mine.set(l.label, l);
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
    await this.tracking.close();
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
