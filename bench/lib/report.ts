// Result types and Markdown rendering for the benchmark report.
import type { EraRow } from './eras.js';
import type { ProcMem } from './proc.js';
import type { LatencySummary } from './stats.js';

export interface ThroughputSummary {
  concurrency: number;
  /** Median over rounds of (successful calls / seconds) in that round. */
  callsPerSec: number;
  /** Total successful calls / total measured seconds over all rounds. */
  aggregateCallsPerSec: number;
  perRound: number[];
  calls: number;
  errors: number;
  seconds: number;
  p50: number;
  p99: number;
}

export interface MemorySummary {
  /** Sum over the process tree of each process's VmHWM (its own peak RSS), read at the end of the run. */
  peakRssMb: number;
  /** Largest sum of VmRSS over the tree seen by the 1 Hz sampler. */
  sampledMaxRssMb: number;
  processes: ProcMem[];
}

export interface TargetResult {
  name: string;
  description: string;
  status: 'ok' | 'unavailable' | 'failed';
  reason?: string;
  url?: string;
  startupMs?: number;
  latency?: LatencySummary;
  sequentialErrors?: number;
  throughput?: ThroughputSummary[];
  /** CPU time (user + system) of the target's whole process tree per measured call, in ms. */
  cpuMsPerCall?: number;
  memory?: MemorySummary;
  /** initialize + notifications/initialized + first tools/list with a fresh client, in ms. */
  sessionSetup?: { count: number; p50: number; p90: number; max: number };
  setupErrors?: number;
  firstError?: string;
}

export interface BenchReport {
  date: string;
  /** The 2026 path against the 2025 path with one raw client (bench/lib/eras.ts), when warden-2026 ran. */
  eras?: { rows: EraRow[]; ratio: number; busyCores: number } | undefined;
  quick: boolean;
  wallSeconds: number;
  config: {
    rounds: number;
    sequentialCallsPerRound: number;
    throughputMsPerLevel: number;
    concurrency: number[];
    warmupCalls: number;
    warmupMs: number;
    payloadBytes: number;
    setupRounds: number;
    setupsPerRound: number;
  };
  machine: {
    cpu: string;
    cores: number;
    memGb: number;
    node: string;
    os: string;
  };
  versions: Record<string, string>;
  /** CPU used during the measured rounds, in cores: by the bench (client + targets) and by everything else. */
  load: { benchCores: number; otherCores: number; loadavgStart: number; loadavgEnd: number };
  targets: TargetResult[];
}

function fmt(value: number | undefined, digits: number): string {
  return value === undefined || !Number.isFinite(value) ? '–' : value.toFixed(digits);
}

function ratio(value: number | undefined, base: number | undefined): string {
  if (
    value === undefined ||
    base === undefined ||
    !Number.isFinite(value) ||
    !Number.isFinite(base) ||
    base === 0
  ) {
    return '–';
  }
  return `${(value / base).toFixed(2)}×`;
}

function tput(t: TargetResult, c: number): ThroughputSummary | undefined {
  return t.throughput?.find((x) => x.concurrency === c);
}

export function renderMarkdown(report: BenchReport): string {
  const lines: string[] = [];
  const ok = report.targets.filter((t) => t.status === 'ok');
  const direct = ok.find((t) => t.name === 'direct');
  const levels = report.config.concurrency;
  const c = report.config;
  lines.push(`### Run of ${report.date}${report.quick ? ' (BENCH_QUICK smoke run: numbers are noisy)' : ''}`);
  lines.push('');
  lines.push(
    `Machine: ${report.machine.cpu}, ${report.machine.cores} cores, ${report.machine.memGb} GB RAM, ` +
      `Node ${report.machine.node}, ${report.machine.os}.`,
  );
  lines.push(
    `Versions: ${Object.entries(report.versions)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}.`,
  );
  lines.push(
    `Method: ${c.rounds} interleaved rounds; per round and target ${c.sequentialCallsPerRound} sequential calls, ` +
      `then ${c.throughputMsPerLevel / 1000} s at each concurrency ${levels.join('/')}; ` +
      `warm-up ${c.warmupCalls} calls + ${c.warmupMs / 1000} s at 16 in flight; ${c.payloadBytes}-byte echo payload. ` +
      `Session set-up: ${c.setupRounds} interleaved rounds of ${c.setupsPerRound} fresh sessions per target. ` +
      `Whole run: ${report.wallSeconds.toFixed(0)} s.`,
  );
  lines.push(
    `CPU during the measured rounds: bench (client + targets) ${fmt(report.load.benchCores, 2)} cores, ` +
      `other processes ${fmt(report.load.otherCores, 2)} cores of ${report.machine.cores}` +
      (report.load.otherCores > 0.25 ? ' — **the machine was not idle; treat the numbers as noisy**' : '') +
      '.',
  );
  lines.push('');
  const head = [
    'target',
    'p50 ms',
    'p90 ms',
    'p99 ms',
    ...levels.map((l) => `calls/s @${l}`),
    'CPU ms/call',
    'peak RSS MB',
    'setup p50 ms',
  ];
  lines.push(`| ${head.join(' | ')} |`);
  lines.push(`| ${head.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`);
  for (const t of ok) {
    const row = [
      t.name,
      fmt(t.latency?.p50, 3),
      fmt(t.latency?.p90, 3),
      fmt(t.latency?.p99, 3),
      ...levels.map((l) => fmt(tput(t, l)?.callsPerSec, 0)),
      fmt(t.cpuMsPerCall, 2),
      fmt(t.memory?.peakRssMb, 1),
      fmt(t.sessionSetup?.p50, 1),
    ];
    lines.push(`| ${row.join(' | ')} |`);
  }
  lines.push('');
  if (direct) {
    lines.push('Ratios vs `direct` (latency, CPU and RSS: higher is worse; calls/s: lower is worse):');
    lines.push('');
    const rhead = [
      'target',
      'p50',
      'p90',
      'p99',
      ...levels.map((l) => `calls/s @${l}`),
      'CPU/call',
      'peak RSS',
    ];
    lines.push(`| ${rhead.join(' | ')} |`);
    lines.push(`| ${rhead.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`);
    for (const t of ok) {
      const row = [
        t.name,
        ratio(t.latency?.p50, direct.latency?.p50),
        ratio(t.latency?.p90, direct.latency?.p90),
        ratio(t.latency?.p99, direct.latency?.p99),
        ...levels.map((l) => ratio(tput(t, l)?.callsPerSec, tput(direct, l)?.callsPerSec)),
        ratio(t.cpuMsPerCall, direct.cpuMsPerCall),
        ratio(t.memory?.peakRssMb, direct.memory?.peakRssMb),
      ];
      lines.push(`| ${row.join(' | ')} |`);
    }
    lines.push('');
  }
  lines.push(
    'Spread over rounds (calls/s, min–max) and latency under load (p50 / p99 ms at the highest concurrency):',
  );
  lines.push('');
  const top = levels[levels.length - 1] ?? 1;
  const shead = ['target', ...levels.map((l) => `@${l} min–max`), `@${top} p50 / p99 ms`, 'errors'];
  lines.push(`| ${shead.join(' | ')} |`);
  lines.push(`| ${shead.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`);
  for (const t of ok) {
    const spread = levels.map((l) => {
      const r = tput(t, l)?.perRound ?? [];
      return r.length === 0 ? '–' : `${Math.min(...r).toFixed(0)}–${Math.max(...r).toFixed(0)}`;
    });
    const hi = tput(t, top);
    const errors =
      (t.sequentialErrors ?? 0) +
      (t.setupErrors ?? 0) +
      (t.throughput ?? []).reduce((a, x) => a + x.errors, 0);
    lines.push(
      `| ${[t.name, ...spread, `${fmt(hi?.p50, 2)} / ${fmt(hi?.p99, 2)}`, String(errors)].join(' | ')} |`,
    );
  }
  const others = report.targets.filter((t) => t.status !== 'ok');
  if (others.length > 0) {
    lines.push('');
    for (const t of others) lines.push(`- \`${t.name}\`: ${t.status} — ${(t.reason ?? '').split('\n')[0]}`);
  }
  lines.push('');
  return lines.join('\n');
}
