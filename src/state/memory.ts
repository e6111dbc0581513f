// The in-process counter store (the default): exact sliding-window logs and calendar-window counters in Maps.
import { randomBytes } from 'node:crypto';
import { WardenError } from '../errors.js';
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

/** One call's share of a sliding window. `amount` becomes 0 when the reservation is given back. */
interface LogEntry {
  t: number;
  amount: number;
  ref: string;
}

/** The reservations inside one sliding window, oldest first from `head` (entries before it have left). */
interface SlidingLog {
  windowMs: number;
  entries: LogEntry[];
  head: number;
  sum: number;
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
          return { ok: false, index: i, retryAfterMs: slidingRetry(log, used, r, nowMs), used };
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
          log = { windowMs: r.windowMs, entries: [], head: 0, sum: 0 };
          this.sliding.set(id, log);
        }
        append(log, { t: nowMs, amount: r.amount, ref: `${reservationId}:${i}` });
        entries.push({
          key: r.key,
          window: 'sliding',
          windowMs: r.windowMs,
          windowStart: nowMs,
          amount: r.amount,
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
      const ref = `${reservation.id}:${i}`;
      if (e.window === 'sliding') {
        const log = this.sliding.get(id);
        if (log === undefined) return;
        // Search from the newest: a release usually follows its reservation closely.
        for (let j = log.entries.length - 1; j >= log.head; j--) {
          const entry = log.entries[j]!;
          if (entry.ref !== ref) continue;
          log.sum -= entry.amount;
          entry.amount = 0;
          return;
        }
        return;
      }
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
      trim(log, nowMs);
      if (log.head === log.entries.length) this.sliding.delete(id);
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
    trim(log, nowMs);
    if (log.head === log.entries.length) {
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

/** An entry counts while `t > now - windowMs`, i.e. it leaves the window at exactly `t + windowMs`. */
function trim(log: SlidingLog, nowMs: number): void {
  const cutoff = nowMs - log.windowMs;
  const { entries } = log;
  let head = log.head;
  while (head < entries.length && entries[head]!.t <= cutoff) {
    log.sum -= entries[head]!.amount;
    head++;
  }
  if (head === entries.length) {
    // Start over from exact zero rather than carry the rounding of fractional amounts.
    log.entries = [];
    log.head = 0;
    log.sum = 0;
  } else if (head > 64 && head * 2 > entries.length) {
    log.entries = entries.slice(head);
    log.head = 0;
  } else {
    log.head = head;
  }
}

/** Keeps the log in time order even when callers' clocks step back a little (replicas, NTP adjustments). */
function append(log: SlidingLog, entry: LogEntry): void {
  const { entries } = log;
  log.sum += entry.amount;
  const last = entries[entries.length - 1];
  if (last === undefined || last.t <= entry.t) {
    entries.push(entry);
    return;
  }
  let lo = log.head;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (entries[mid]!.t <= entry.t) lo = mid + 1;
    else hi = mid;
  }
  entries.splice(lo, 0, entry);
}

/**
 * The time until enough of the oldest entries have left the window for `r.amount` to fit. When even an empty window
 * cannot hold it (the amount alone exceeds max, or this same call already fills the counter), it never fits by
 * waiting; the full window length is reported then.
 */
function slidingRetry(log: SlidingLog | undefined, used: number, r: LimitRequest, nowMs: number): number {
  if (log === undefined) return r.windowMs;
  let left = used;
  for (let j = log.head; j < log.entries.length; j++) {
    const entry = log.entries[j]!;
    left -= entry.amount;
    if (left + r.amount <= r.max) return entry.t + r.windowMs - nowMs;
  }
  return r.windowMs;
}
