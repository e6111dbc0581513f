// The sliding-window log of the in-process counter store, against a plain model (an array of entries) under
// generated operations, plus its memory: room grows with the window and is given back when the window empties.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SlidingLog } from '../../src/state/sliding-log.js';

interface ModelEntry {
  t: number;
  amount: number;
  seq: number;
}

type Op =
  | { kind: 'add'; dt: number; amount: number }
  | { kind: 'release'; pick: number }
  | { kind: 'trim'; dt: number }
  | { kind: 'retry'; amount: number; max: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  // Mostly forward in time, sometimes a little back (a clock that steps back).
  fc.record({
    kind: fc.constant('add' as const),
    dt: fc.integer({ min: -50, max: 200 }),
    amount: fc.integer({ min: 1, max: 5 }),
  }),
  fc.record({ kind: fc.constant('release' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('trim' as const), dt: fc.integer({ min: 0, max: 1500 }) }),
  fc.record({
    kind: fc.constant('retry' as const),
    amount: fc.integer({ min: 1, max: 5 }),
    max: fc.integer({ min: 0, max: 40 }),
  }),
);

describe('SlidingLog', () => {
  it('agrees with a plain list of entries on sums, releases, trims and retry times', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 400 }), (ops) => {
        const windowMs = 1000;
        const log = new SlidingLog(windowMs);
        let model: ModelEntry[] = [];
        const handed: number[] = [];
        let now = 10_000;
        for (const o of ops) {
          if (o.kind === 'add') {
            const t = now + o.dt;
            now = Math.max(now, t);
            const seq = log.add(t, o.amount);
            handed.push(seq);
            // Stable insertion after every entry at or before t: the model's order.
            let at = model.length;
            while (at > 0 && model[at - 1]!.t > t) at--;
            model.splice(at, 0, { t, amount: o.amount, seq });
          } else if (o.kind === 'release') {
            if (handed.length === 0) continue;
            const seq = handed[o.pick % handed.length]!;
            const entry = model.find((e) => e.seq === seq);
            expect(log.release(seq)).toBe(entry !== undefined);
            if (entry) entry.amount = 0;
          } else if (o.kind === 'trim') {
            now += o.dt;
            log.trim(now);
            model = model.filter((e) => e.t > now - windowMs);
            expect(log.size).toBe(model.length);
          } else {
            const used = model.reduce((s, e) => s + e.amount, 0);
            let left = used;
            let expected = windowMs;
            for (const e of model) {
              left -= e.amount;
              if (left + o.amount <= o.max) {
                expected = e.t + windowMs - now;
                break;
              }
            }
            expect(log.retryAfter(used, o.amount, o.max, windowMs, now)).toBe(expected);
          }
          expect(log.sum).toBe(model.reduce((s, e) => s + e.amount, 0));
        }
      }),
      { seed: 20261129, numRuns: 300 },
    );
  });

  it('never gives back an entry of another log, even one made again under the same key', () => {
    const old = new SlidingLog(1000);
    const seq = old.add(0, 1);
    const again = new SlidingLog(1000);
    again.add(5, 3);
    expect(again.release(seq)).toBe(false);
    expect(again.sum).toBe(3);
  });

  it('grows with the window, reuses its room in a steady state, and gives memory back once the window empties', () => {
    const log = new SlidingLog(1000);
    // A steady 100 calls a second: the room settles at a small multiple of what one window holds.
    for (let t = 0; t < 60_000; t += 10) {
      log.add(t, 1);
      log.trim(t);
    }
    expect(log.size).toBe(100);
    expect(log.capacity).toBeLessThanOrEqual(256);
    // A burst of 100,000 in one window, then quiet.
    for (let i = 0; i < 100_000; i++) log.add(60_000, 1);
    expect(log.sum).toBe(100_000 + 100);
    expect(log.capacity).toBeGreaterThanOrEqual(100_100);
    log.trim(61_000);
    expect(log.size).toBe(0);
    expect(log.sum).toBe(0);
    expect(log.capacity).toBeLessThanOrEqual(1024);
  });

  it('shrinks step by step while a burst drains and keeps what is still inside the window', () => {
    const log = new SlidingLog(10_000);
    for (let i = 0; i < 50_000; i++) log.add(i / 10, 1);
    const big = log.capacity;
    log.trim(10_000 + 4_950);
    // Left: t = 4950.1 .. 4999.9 (an entry at exactly now - window has left).
    expect(log.size).toBe(499);
    expect(log.sum).toBe(499);
    expect(log.capacity).toBeLessThan(big);
    expect(log.capacity).toBeGreaterThanOrEqual(500);
  });
});
