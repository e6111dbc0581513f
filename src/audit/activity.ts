// The last hour of tool calls in one-minute buckets (calls by decision, latency percentiles), for the dashboard.

const MINUTE = 60_000;
/** Latency samples kept per minute: a reservoir, so a busy minute costs the same memory as a quiet one. */
const SAMPLES = 512;

interface Bucket {
  minute: number;
  decisions: Map<string, number>;
  samples: number[];
  seen: number;
}

export interface ActivityMinute {
  /** Start of the minute, ISO 8601. */
  time: string;
  calls: number;
  decisions: Record<string, number>;
  p50Ms: number | null;
  p99Ms: number | null;
}

function percentile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return Math.round(sorted[i]! * 1000) / 1000;
}

export class Activity {
  private readonly buckets: Bucket[] = [];

  constructor(
    private readonly minutes = 60,
    private readonly now: () => number = Date.now,
    private readonly random: () => number = Math.random,
  ) {}

  record(decision: string, latencyMs: number): void {
    const minute = Math.floor(this.now() / MINUTE) * MINUTE;
    let b = this.buckets[this.buckets.length - 1];
    if (b === undefined || b.minute !== minute) {
      b = { minute, decisions: new Map(), samples: [], seen: 0 };
      this.buckets.push(b);
      while (this.buckets.length > this.minutes) this.buckets.shift();
    }
    b.decisions.set(decision, (b.decisions.get(decision) ?? 0) + 1);
    b.seen++;
    if (b.samples.length < SAMPLES) b.samples.push(latencyMs);
    else {
      const j = Math.floor(this.random() * b.seen);
      if (j < SAMPLES) b.samples[j] = latencyMs;
    }
  }

  /** One entry per minute of the last `count` minutes, oldest first, quiet minutes included. */
  series(count = 30): ActivityMinute[] {
    const current = Math.floor(this.now() / MINUTE) * MINUTE;
    const byMinute = new Map(this.buckets.map((b) => [b.minute, b]));
    const out: ActivityMinute[] = [];
    for (let m = current - (count - 1) * MINUTE; m <= current; m += MINUTE) {
      const b = byMinute.get(m);
      const sorted = b === undefined ? [] : [...b.samples].sort((x, y) => x - y);
      out.push({
        time: new Date(m).toISOString(),
        calls: b?.seen ?? 0,
        decisions: b === undefined ? {} : Object.fromEntries(b.decisions),
        p50Ms: percentile(sorted, 0.5),
        p99Ms: percentile(sorted, 0.99),
      });
    }
    return out;
  }
}
