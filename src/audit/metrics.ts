// Prometheus metrics of the gateway, kept in memory and rendered as text exposition format at /metrics.

import { CLIENT_REQUESTS, SERVER_REQUESTS } from '../proxy/methods.js';
import { Activity } from './activity.js';

/**
 * The one label value every name outside its catalog becomes: an agent that makes up tool names, methods or URIs
 * must not grow /metrics (each new label value is a series kept until the process ends).
 */
export const OTHER = '(other)';

/**
 * Series per metric past which any new combination of labels is counted under `(other)` in every label: the
 * backstop behind the catalogs, should a catalog itself grow large (an upstream listing thousands of tools).
 */
export const MAX_SERIES = 2000;

/** The methods of the MCP specification, client and server side (src/proxy/methods.ts): the method label's catalog. */
export const SPEC_METHODS: ReadonlySet<string> = new Set([...CLIENT_REQUESTS, ...SERVER_REQUESTS]);

/** A method as a label value: a spec method, else `(other)`. Span names use it too. */
export function methodLabel(method: string): string {
  return SPEC_METHODS.has(method) ? method : OTHER;
}

const DECISIONS: ReadonlySet<string> = new Set([
  'allowed',
  'denied',
  'hidden',
  'approval_pending',
  'approved',
  'rejected',
  'expired',
  'rate_limited',
  'error',
  'event',
]);

export interface LabelCatalog {
  /** Configured server ids. */
  servers: ReadonlySet<string>;
  /** Whether an upstream has listed this tool (the tool catalog); unknown names become `(other)`. */
  knownTool: (server: string, tool: string) => boolean;
}

const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

function labelText(labels: Record<string, string>): string {
  const parts = Object.entries(labels).map(
    ([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`,
  );
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

/** The labels of a new series, or all of them `(other)` once the metric holds MAX_SERIES series. */
function capped(
  series: ReadonlyMap<string, unknown>,
  labels: Record<string, string>,
): { key: string; labels: Record<string, string> } {
  const key = labelText(labels);
  if (series.has(key) || series.size < MAX_SERIES) return { key, labels };
  const other: Record<string, string> = {};
  for (const k of Object.keys(labels)) other[k] = OTHER;
  return { key: labelText(other), labels: other };
}

class Counter {
  private readonly values = new Map<string, { labels: Record<string, string>; value: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}
  inc(given: Record<string, string> = {}, by = 1): void {
    const { key, labels } = capped(this.values, given);
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
  observe(given: Record<string, string>, seconds: number): void {
    const { key, labels } = capped(this.series, given);
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
  /** What label values may be: without a catalog (unit tests), servers and tools are taken as given. */
  constructor(private readonly catalog?: LabelCatalog) {}

  /**
   * Counts one audited request. Every label value comes from a catalog: configured servers (and `(all)`), spec
   * methods, tools an upstream listed, the audit decisions; anything else is `(other)`. The tool label of a method
   * other than tools/call is empty (prompt names and URIs are the agent's to make up; the audit log has them).
   */
  request(server: string, method: string, tool: string | undefined, decision: string, seconds: number): void {
    const c = this.catalog;
    const serverLabel = server === '(all)' || c === undefined || c.servers.has(server) ? server : OTHER;
    const methodL = methodLabel(method);
    let toolLabel = '';
    if (method === 'tools/call' && tool !== undefined)
      toolLabel = c === undefined || c.knownTool(server, tool) ? tool : OTHER;
    const decisionL = DECISIONS.has(decision) ? decision : OTHER;
    this.requests.inc({ server: serverLabel, method: methodL, tool: toolLabel, decision: decisionL });
    this.latency.observe({ server: serverLabel, method: methodL }, seconds);
  }

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
