// The entries of one sliding window, oldest first, in three parallel Float64Arrays (time, amount, sequence number)
// between `head` and `tail`. An entry costs 24 bytes outside the JS heap. It used to be an object with a reference
// string, about 150 bytes of heap that lived for the whole window: at thousands of calls a second under a one-minute
// window that was tens of MB for V8 to promote and collect, the largest part of the soak's live heap (issue 11).

const MIN_CAPACITY = 16;
const SHRINK_ABOVE = 1024;

// Sequence numbers are unique in the process, not per log: a reservation that outlives its log (emptied, dropped and
// made again under the same key) must never give back an entry of the new one.
let nextSeq = 0;

export class SlidingLog {
  /** What the entries inside the window add up to. */
  sum = 0;
  private t: Float64Array;
  private amount: Float64Array;
  private seq: Float64Array;
  private head = 0;
  private tail = 0;

  constructor(public windowMs: number) {
    this.t = new Float64Array(MIN_CAPACITY);
    this.amount = new Float64Array(MIN_CAPACITY);
    this.seq = new Float64Array(MIN_CAPACITY);
  }

  /** How many entries are held (some may have been given back and count 0). */
  get size(): number {
    return this.tail - this.head;
  }

  /** Room for entries, used or not: what the log holds in memory, 24 bytes each. */
  get capacity(): number {
    return this.t.length;
  }

  /**
   * Adds an entry and returns its sequence number, the handle release() takes. Time order is kept even when
   * callers' clocks step back a little (replicas, NTP adjustments): a late entry goes in its place.
   */
  add(t: number, amount: number): number {
    if (this.tail === this.t.length) this.makeRoom();
    let at = this.tail;
    if (at > this.head && this.t[at - 1]! > t) {
      let lo = this.head;
      let hi = at;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (this.t[mid]! <= t) lo = mid + 1;
        else hi = mid;
      }
      at = lo;
      this.t.copyWithin(at + 1, at, this.tail);
      this.amount.copyWithin(at + 1, at, this.tail);
      this.seq.copyWithin(at + 1, at, this.tail);
    }
    const seq = nextSeq++;
    this.t[at] = t;
    this.amount[at] = amount;
    this.seq[at] = seq;
    this.tail++;
    this.sum += amount;
    return seq;
  }

  /** Gives an entry back (it stays, counting 0); false when it has already left the window. */
  release(seq: number): boolean {
    // Search from the newest: a release usually follows its reservation closely.
    for (let j = this.tail - 1; j >= this.head; j--) {
      if (this.seq[j] !== seq) continue;
      this.sum -= this.amount[j]!;
      this.amount[j] = 0;
      return true;
    }
    return false;
  }

  /** Drops the entries that have left the window ending at `nowMs`: an entry counts while `t > now - windowMs`. */
  trim(nowMs: number): void {
    const cutoff = nowMs - this.windowMs;
    let head = this.head;
    while (head < this.tail && this.t[head]! <= cutoff) {
      this.sum -= this.amount[head]!;
      head++;
    }
    if (head === this.tail) {
      // Start over from exact zero rather than carry the rounding of fractional amounts.
      this.head = 0;
      this.tail = 0;
      this.sum = 0;
      if (this.t.length > SHRINK_ABOVE) this.resize(MIN_CAPACITY);
      return;
    }
    this.head = head;
    // A window that emptied after a burst gives its memory back, keeping twice what it holds.
    const live = this.tail - head;
    if (this.t.length > SHRINK_ABOVE && live * 8 < this.t.length) this.resize(this.t.length / 4);
  }

  /**
   * The time until enough of the oldest entries have left the window for `amount` to fit under `max`, given `used`
   * (this log's sum plus whatever the same call adds to it). When even an empty window cannot hold it, waiting never
   * helps; the full window length is reported then.
   */
  retryAfter(used: number, amount: number, max: number, windowMs: number, nowMs: number): number {
    let left = used;
    for (let j = this.head; j < this.tail; j++) {
      left -= this.amount[j]!;
      if (left + amount <= max) return this.t[j]! + windowMs - nowMs;
    }
    return windowMs;
  }

  /** Full: moves the entries to the front when at least half is free, otherwise doubles the room. */
  private makeRoom(): void {
    const live = this.tail - this.head;
    if (this.head > 0 && live * 2 <= this.t.length) {
      this.t.copyWithin(0, this.head, this.tail);
      this.amount.copyWithin(0, this.head, this.tail);
      this.seq.copyWithin(0, this.head, this.tail);
      this.head = 0;
      this.tail = live;
      return;
    }
    this.resize(this.t.length * 2);
  }

  private resize(capacity: number): void {
    const live = this.tail - this.head;
    const size = Math.max(MIN_CAPACITY, capacity, live);
    const t = new Float64Array(size);
    const amount = new Float64Array(size);
    const seq = new Float64Array(size);
    t.set(this.t.subarray(this.head, this.tail));
    amount.set(this.amount.subarray(this.head, this.tail));
    seq.set(this.seq.subarray(this.head, this.tail));
    this.t = t;
    this.amount = amount;
    this.seq = seq;
    this.head = 0;
    this.tail = live;
  }
}
