// singleFlight: the dashboard's server scan runs once at a time, however many admins press the button.
import { describe, expect, it } from 'vitest';
import { singleFlight } from '../../src/dashboard/views.js';

describe('singleFlight', () => {
  it('shares one run among calls made while it is under way, and starts a new one afterwards', async () => {
    let runs = 0;
    let finish: (n: number) => void = () => {};
    const once = singleFlight(
      () =>
        new Promise<number>((resolve) => {
          runs++;
          finish = resolve;
        }),
    );
    const a = once();
    const b = once();
    expect(runs).toBe(1);
    finish(7);
    expect(await Promise.all([a, b])).toEqual([7, 7]);
    const c = once();
    expect(runs).toBe(2);
    finish(8);
    expect(await c).toBe(8);
  });

  it('starts afresh after a run that failed', async () => {
    let runs = 0;
    const once = singleFlight(async () => {
      runs++;
      if (runs === 1) throw new Error('first fails');
      return runs;
    });
    await expect(once()).rejects.toThrow('first fails');
    expect(await once()).toBe(2);
  });
});
