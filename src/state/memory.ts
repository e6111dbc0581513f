// The in-process counter store (the default): exact sliding-window logs and calendar-window counters in Maps.
import { randomBytes } from 'node:crypto';
import { WardenError } from '../errors.js';
import { SlidingLog } from './sliding-log.js';
import type { CounterStore, LimitRequest, Reservation, ReserveResult } from './types.js';

export interface MemoryCounterStoreOptions {
  /**
   * How often expired windows are dropped (ms); 0 turns the sweep off. Keys are also trimmed when touched, but a
   * key that goes idle (a finished session) is only ever dropped by the sweep. Default 60 s.
   */
  sweepIntervalMs?: number;
  /** Reservation ids; injectable so that tests can name them. Default: a per-process random part and a counter. */
  newId?: () => string;
}

/** One calendar window of one counter. */
interface CalendarBucket {
  end: number;
  used: number;
  /** Refs already given back: calendar counts keep no per-call log, so a second release must be recognised. */
  released: Set<string> | undefined;
}

/**
 * Single-process counters. reserve() checks and adds without awaiting in between, so concurrent callers in this
 * process see each other's reservations exactly; it is not shared across processes (use Redis for replicas).
 */
export class MemoryCounterStore implements CounterStore {
  private readonly sliding = new Map<string, SlidingLog>();
  private readonly calendar = new Map<string, CalendarBucket>();
  private readonly newId: () => string;
  private readonly timer: NodeJS.Timeout | undefined;
  // The sweep runs on the callers' clock (which tests inject) advanced by the real time elapsed since it was last
  // seen; Date.now() alone would drop the windows of a test whose clock is set in the past.
  private lastNow = Number.NEGATIVE_INFINITY;
  private lastNowAt = 0;

  constructor(opts: MemoryCounterStoreOptions = {}) {
    this.newId = opts.newId ?? nextReservationId;
    const every = opts.sweepIntervalMs ?? 60_000;
    if (every > 0) {
      this.timer = setInterval(() => {
        if (this.lastNow === Number.NEGATIVE_INFINITY) return;
        this.sweep(this.lastNow + (performance.now() - this.lastNowAt));
      }, every);
      // Counters must never keep a process alive that is otherwise done.
      this.timer.unref();
    }
  }

  /** How many windows are held (sliding logs plus calendar buckets): what the sweep keeps bounded. */
  get size(): number {
    return this.sliding.size + this.calendar.size;
  }

  async reserve(requests: readonly LimitRequest[], nowMs: number): Promise<ReserveResult> {
    this.seen(nowMs);
    // Check everything first, then add everything: no await in between, so no other caller can interleave.
    // `pending` holds what earlier requests of this same call would add, for a counter named twice.
    let pending: Map<string, number> | undefined;
    const ids: string[] = [];
    for (let i = 0; i < requests.length; i++) {
      const r = requests[i]!;
      validateRequest(r, nowMs);
      const id = counterId(r.key, r.window, r.windowMs);
      ids.push(id);
      const before = pending?.get(id) ?? 0;
      if (r.window === 'sliding') {
        const log = this.slidingLog(id, r.windowMs, nowMs);
        const used = (log?.sum ?? 0) + before;
        if (used + r.amount > r.max) {
          const retryAfterMs = log?.retryAfter(used, r.amount, r.max, r.windowMs, nowMs) ?? r.windowMs;
          return { ok: false, index: i, retryAfterMs, used };
        }
      } else {
        const start = windowStart(nowMs, r.windowMs);
        const used = (this.calendar.get(bucketId(id, start))?.used ?? 0) + before;
        if (used + r.amount > r.max) {
          return { ok: false, index: i, retryAfterMs: start + r.windowMs - nowMs, used };
        }
      }
      if (requests.length > 1) {
        pending ??= new Map();
        pending.set(id, before + r.amount);
      }
    }

    const reservationId = this.newId();
    const entries: Reservation['entries'][number][] = [];
    for (let i = 0; i < requests.length; i++) {
      const r = requests[i]!;
      const id = ids[i]!;
      if (r.window === 'sliding') {
        let log = this.sliding.get(id);
        if (log === undefined) {
          log = new SlidingLog(r.windowMs);
          this.sliding.set(id, log);
        }
        entries.push({
          key: r.key,
          window: 'sliding',
          windowMs: r.windowMs,
          windowStart: nowMs,
          amount: r.amount,
          seq: log.add(nowMs, r.amount),
        });
      } else {
        const start = windowStart(nowMs, r.windowMs);
        const bid = bucketId(id, start);
        const bucket = this.calendar.get(bid);
        if (bucket === undefined) {
          this.calendar.set(bid, { end: start + r.windowMs, used: r.amount, released: undefined });
        } else {
          bucket.used += r.amount;
        }
        entries.push({
          key: r.key,
          window: 'calendar',
          windowMs: r.windowMs,
          windowStart: start,
          amount: r.amount,
        });
      }
    }
    return { ok: true, reservation: { id: reservationId, entries } };
  }

  async release(reservation: Reservation): Promise<void> {
    reservation.entries.forEach((e, i) => {
      const id = counterId(e.key, e.window, e.windowMs);
      if (e.window === 'sliding') {
        if (e.seq !== undefined) this.sliding.get(id)?.release(e.seq);
        return;
      }
      const ref = `${reservation.id}:${i}`;
      // A bucket that is gone belongs to a window that is over: nothing left to give back.
      const bucket = this.calendar.get(bucketId(id, e.windowStart));
      if (bucket === undefined || bucket.released?.has(ref)) return;
      bucket.used -= e.amount;
      bucket.released ??= new Set();
      bucket.released.add(ref);
    });
  }

  async read(key: string, windowMs: number, window: 'sliding' | 'calendar', nowMs: number): Promise<number> {
    this.seen(nowMs);
    const id = counterId(key, window, windowMs);
    if (window === 'sliding') return this.slidingLog(id, windowMs, nowMs)?.sum ?? 0;
    return this.calendar.get(bucketId(id, windowStart(nowMs, windowMs)))?.used ?? 0;
  }

  /** Drops every window that is over at `nowMs`. Runs on a timer; public so that tests can drive it. */
  sweep(nowMs: number): void {
    for (const [id, log] of this.sliding) {
      log.trim(nowMs);
      if (log.size === 0) this.sliding.delete(id);
    }
    for (const [id, bucket] of this.calendar) {
      if (bucket.end <= nowMs) this.calendar.delete(id);
    }
  }

  async close(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.sliding.clear();
    this.calendar.clear();
  }

  private seen(nowMs: number): void {
    if (nowMs > this.lastNow) {
      this.lastNow = nowMs;
      this.lastNowAt = performance.now();
    }
  }

  /** The log of a sliding counter trimmed to the window ending at `nowMs`; an emptied log is dropped. */
  private slidingLog(id: string, windowMs: number, nowMs: number): SlidingLog | undefined {
    const log = this.sliding.get(id);
    if (log === undefined) return undefined;
    log.trim(nowMs);
    if (log.size === 0) {
      this.sliding.delete(id);
      return undefined;
    }
    log.windowMs = windowMs;
    return log;
  }
}

// Reservation ids: one random part per process (unique across replicas) and a counter. A UUID per call would cost
// a trip to the system's random source on the hot path, which was measured at milliseconds on a loaded machine.
const PROCESS_ID = randomBytes(9).toString('base64url');
let reservations = 0;

export function nextReservationId(): string {
  reservations++;
  return `${PROCESS_ID}${reservations.toString(36)}`;
}

/** Rejects requests that would corrupt a counter: a NaN amount would make every later check pass. */
export function validateRequest(r: LimitRequest, nowMs: number): void {
  if (
    !(r.amount > 0 && Number.isFinite(r.amount)) ||
    !(r.windowMs > 0 && Number.isFinite(r.windowMs)) ||
    !Number.isFinite(r.max) ||
    !Number.isFinite(nowMs)
  ) {
    throw new WardenError(
      'INTERNAL',
      `invalid limit request for ${r.key}: amount ${r.amount}, max ${r.max}, window ${r.windowMs} ms, now ${nowMs}`,
    );
  }
}

/** One counter is a key under one window kind and length: `calls` per minute and per day are two counters. */
function counterId(key: string, window: 'sliding' | 'calendar', windowMs: number): string {
  return `${window === 'sliding' ? 's' : 'c'}:${windowMs}:${key}`;
}

function bucketId(id: string, start: number): string {
  return `${start}:${id}`;
}

/** Calendar windows are aligned to multiples of their length since the epoch, so a day starts at UTC midnight. */
export function windowStart(nowMs: number, windowMs: number): number {
  return Math.floor(nowMs / windowMs) * windowMs;
}
