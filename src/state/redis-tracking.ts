// Redis server-assisted client-side caching (CLIENT TRACKING, RESP2 redirect mode) for one connection: Redis remembers
// the keys that connection read and publishes, on `__redis__:invalidate` to a second connection of ours, each key that
// anyone (another replica, this one, an operator) changes afterwards. A reply may be kept only while tracking is on,
// since the read started, and when no invalidation of its key arrived meanwhile (the message and the reply travel on
// two connections, in either order). Any disconnect of either connection ends the epoch: whatever was kept is dropped.
import { Redis } from 'ioredis';

const INVALIDATE = '__redis__:invalidate';

export interface ReadTicket {
  key: string;
  epoch: number;
  /** Tracking was on when the read was sent (a read sent before CLIENT TRACKING ON is not tracked). */
  tracked: boolean;
}

export class RedisTracking {
  private epoch = 0;
  private active = false;
  private subId: number | undefined;
  private readonly sub: Redis;
  /** Reads in flight per key, and the keys invalidated while one was. */
  private readonly reading = new Map<string, number>();
  private readonly dirty = new Set<string>();
  private closed = false;
  /** One enable at a time: an OFF of one run landing after another run's ON would leave keys untracked. */
  private enabling: Promise<void> = Promise.resolve();

  constructor(
    private readonly main: Redis,
    url: string,
    /** A key changed (or, with null, everything may have: a flush, a lost connection). */
    private readonly invalidate: (key: string | null) => void,
  ) {
    this.sub = new Redis(url, {
      // RESP2: Redis then delivers invalidations to this connection as Pub/Sub messages; ioredis drops the RESP3
      // `invalidate` push a RESP3 connection would get instead.
      protocol: 2,
      lazyConnect: false,
      autoResubscribe: false,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      retryStrategy: (times) => Math.min(times * 100, 1000),
    });
    this.sub.on('error', () => {});
    this.sub.on('messageBuffer', (channel: Buffer, message: unknown) => {
      if (channel.toString() !== INVALIDATE) return;
      if (message === null || message === undefined) return this.drop();
      for (const k of Array.isArray(message) ? message : [message]) {
        const key = Buffer.isBuffer(k) ? k.toString('utf8') : String(k);
        if (this.reading.has(key)) this.dirty.add(key);
        this.invalidate(key);
      }
    });
    this.sub.on('ready', () => {
      this.subId = undefined;
      this.enableSoon();
    });
    this.main.on('ready', () => this.enableSoon());
    for (const c of [this.sub, this.main])
      for (const ev of ['close', 'end', 'reconnecting']) c.on(ev, () => this.drop());
  }

  private enableSoon(): void {
    this.enabling = this.enabling.then(() => this.enable());
  }

  /** Turns tracking on for the main connection, redirected to ours; kept replies start a new epoch. */
  private async enable(): Promise<void> {
    if (this.closed || this.main.status !== 'ready' || this.sub.status !== 'ready') return;
    this.drop();
    const epoch = this.epoch;
    try {
      if (this.subId === undefined) {
        this.subId = Number(await this.sub.client('ID'));
        await this.sub.subscribe(INVALIDATE);
      }
      await this.main.call('CLIENT', 'TRACKING', 'OFF');
      await this.main.call('CLIENT', 'TRACKING', 'ON', 'REDIRECT', String(this.subId));
      if (epoch === this.epoch && !this.closed) this.active = true;
    } catch {
      this.drop();
    }
  }

  private drop(): void {
    this.active = false;
    this.epoch++;
    this.invalidate(null);
  }

  /** Whether something kept in `epoch` may still be used. */
  valid(epoch: number): boolean {
    return this.active && epoch === this.epoch;
  }

  /** A read of `key` starts on the main connection. */
  begin(key: string): ReadTicket {
    this.reading.set(key, (this.reading.get(key) ?? 0) + 1);
    return { key, epoch: this.epoch, tracked: this.active };
  }

  /** The read's reply arrived (or failed): may it be kept? */
  end(t: ReadTicket): boolean {
    const n = (this.reading.get(t.key) ?? 1) - 1;
    const clean = !this.dirty.has(t.key);
    if (n <= 0) {
      this.reading.delete(t.key);
      this.dirty.delete(t.key);
    } else this.reading.set(t.key, n);
    return clean && t.tracked && this.valid(t.epoch);
  }

  /** For tests: the tracking connection's client id (to kill it). */
  get clientId(): number | undefined {
    return this.subId;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.drop();
    await this.sub.quit().catch(() => this.sub.disconnect());
  }
}
