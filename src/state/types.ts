// The counter store interface for limits (memory and Redis implement it): reserve all-or-none, then commit or give back.

/** One counter a call must fit under. `key` already names the scope (e.g. `grant:ci-runner|tool:everything/echo|calls`). */
export interface LimitRequest {
  key: string;
  max: number;
  windowMs: number;
  /**
   * sliding: a rolling window of `windowMs` ending now (rate limits).
   * calendar: fixed UTC windows aligned to multiples of `windowMs` since the epoch (day = UTC midnight; quotas).
   */
  window: 'sliding' | 'calendar';
  /** What this call adds (1, or an amount for budgets); > 0. */
  amount: number;
}

/**
 * What a successful reserve() holds: enough to give it back exactly. One entry per request, in request order;
 * `windowMs` tells apart counters that share a key under different windows (calls per minute and per day);
 * `windowStart` is the calendar window's start, or for a sliding window the time the entry was logged.
 */
export interface Reservation {
  readonly id: string;
  readonly entries: ReadonlyArray<{
    key: string;
    window: 'sliding' | 'calendar';
    windowMs: number;
    windowStart: number;
    amount: number;
    /** The in-process store's handle for a sliding entry, which release() gives back. */
    seq?: number;
  }>;
}

export type ReserveResult =
  | { ok: true; reservation: Reservation }
  | {
      ok: false;
      /** Index into the requests of the first limit that did not fit. */
      index: number;
      /** When a call of the same amount would fit again (ms from now), as far as the store can tell. */
      retryAfterMs: number;
      /** The counter's use at the time of the check. */
      used: number;
    };

export interface CounterStore {
  /**
   * Atomically checks every request and, when all fit (used + amount <= max), adds all of them; otherwise adds
   * none. Atomic across every process sharing the store. Rejects with WardenError('STATE_UNAVAILABLE') when the
   * backend cannot be reached: the caller decides between failing closed and open.
   */
  reserve(requests: readonly LimitRequest[], nowMs: number): Promise<ReserveResult>;
  /** Gives a reservation back (the call never reached its upstream: docs/limits.md). Idempotent. */
  release(reservation: Reservation): Promise<void>;
  /** The current use of a counter (for `state.*` policy conditions). */
  read(key: string, windowMs: number, window: 'sliding' | 'calendar', nowMs: number): Promise<number>;
  close(): Promise<void>;
}
