// A short soak for CI: 30,000 tools/call through the built gateway with the soak script's production-like config;
// no call fails, the gateway's RSS grows less than 10% after warm-up and it holds no more file descriptors at the end.
import { describe, expect, it } from 'vitest';
import { runSoak } from '../../scripts/soak.js';

describe('soak (short)', () => {
  it('serves 30,000 calls without errors, RSS growth or file descriptor growth', async () => {
    const r = await runSoak({
      calls: 30_000,
      clients: 8,
      maxMs: 50_000,
      sampleMs: 500,
      warmup: 0.4,
      windowSeconds: 1,
    });
    console.log(
      `[soak] ${r.callsDone} calls in ${r.seconds.toFixed(1)} s (${r.callsPerSecond.toFixed(0)}/s), rss ${r.baseline.rssKb} -> ${r.final.rssKb} kB (${r.rssGrowthPercent.toFixed(1)}%), fds ${r.baseline.fds} -> ${r.final.fds}`,
    );
    expect(r.firstErrors).toEqual([]);
    expect(r.callsDone).toBe(30_000);
    expect(r.errors).toBe(0);
    expect(r.warmedUp).toBe(true);
    expect(r.fdGrowth).toBeLessThanOrEqual(0);
    expect(r.rssGrowthPercent).toBeLessThan(10);
  }, 60_000);
});
