// Prometheus metrics of the gateway, kept in memory and rendered as text exposition format at /metrics.
import { Activity } from './activity.js';

const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

function labelText(labels: Record<string, string>): string {
  const parts = Object.entries(labels).map(
    ([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`,
  );
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

class Counter {
  private readonly values = new Map<string, { labels: Record<string, string>; value: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}
  inc(labels: Record<string, string> = {}, by = 1): void {
    const key = labelText(labels);
    const v = this.values.get(key);
    if (v) v.value += by;
    else this.values.set(key, { labels, value: by });
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    for (const v of this.values.values()) lines.push(`${this.name}${labelText(v.labels)} ${v.value}`);
    return lines.join('\n');
  }
}

class Histogram {
  private readonly series = new Map<
    string,
    { labels: Record<string, string>; counts: number[]; sum: number; count: number }
  >();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}
  observe(labels: Record<string, string>, seconds: number): void {
    const key = labelText(labels);
    let s = this.series.get(key);
    if (!s) {
      s = { labels, counts: BUCKETS.map(() => 0), sum: 0, count: 0 };
      this.series.set(key, s);
    }
    for (let i = 0; i < BUCKETS.length; i++) if (seconds <= BUCKETS[i]!) s.counts[i]!++;
    s.sum += seconds;
    s.count++;
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const s of this.series.values()) {
      BUCKETS.forEach((b, i) => {
        lines.push(`${this.name}_bucket${labelText({ ...s.labels, le: String(b) })} ${s.counts[i]}`);
      });
      lines.push(`${this.name}_bucket${labelText({ ...s.labels, le: '+Inf' })} ${s.count}`);
      lines.push(`${this.name}_sum${labelText(s.labels)} ${s.sum}`);
      lines.push(`${this.name}_count${labelText(s.labels)} ${s.count}`);
    }
    return lines.join('\n');
  }
}

export class Metrics {
  /** Tool calls per minute, for the dashboard's charts. */
  readonly activity = new Activity();
  readonly requests = new Counter(
    'warden_requests_total',
    'Requests that reached a decision, by server, method, tool and decision',
  );
  readonly latency = new Histogram(
    'warden_request_duration_seconds',
    'Time from request to answer, by server and method',
  );
  readonly auditFailures = new Counter(
    'warden_audit_write_failures_total',
    'Audit entries that could not be written',
  );
  readonly stateFailures = new Counter(
    'warden_state_failures_total',
    'Limit checks that could not reach the counter store, by state_fail_mode (closed: refused, open: let through)',
  );
  private readonly gauges: Array<{
    name: string;
    help: string;
    read: () => Array<{ labels: Record<string, string>; value: number }>;
  }> = [];

  /** A value read when /metrics is scraped (sessions, upstream health). */
  gauge(
    name: string,
    help: string,
    read: () => Array<{ labels: Record<string, string>; value: number }>,
  ): void {
    this.gauges.push({ name, help, read });
  }

  render(): string {
    const parts = [
      this.requests.render(),
      this.latency.render(),
      this.auditFailures.render(),
      this.stateFailures.render(),
    ];
    for (const g of this.gauges) {
      const lines = [`# HELP ${g.name} ${g.help}`, `# TYPE ${g.name} gauge`];
      for (const v of g.read()) lines.push(`${g.name}${labelText(v.labels)} ${v.value}`);
      parts.push(lines.join('\n'));
    }
    return `${parts.join('\n')}\n`;
  }
}
