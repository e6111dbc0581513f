// `npm run bench`: interleaved latency/throughput/RSS benchmark of mcp-warden vs direct SDK and peer proxies.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, type as osType, release, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { closeErasClient, compareEras, type ErasResult } from './lib/eras.js';
import { bundleFixture } from './lib/fixtures.js';
import {
  callEcho,
  closeSession,
  openSession,
  runSequential,
  runThroughput,
  type Session,
  timeSessionSetup,
} from './lib/measure.js';
import { killAllSync, selfCpuTicks, stop, systemTicks, treeCpuTicks, treeMem } from './lib/proc.js';
import { type BenchReport, renderMarkdown, type TargetResult, type ThroughputSummary } from './lib/report.js';
import { median, round, summarize } from './lib/stats.js';
import { latencySvg } from './lib/svg.js';
import { type Running, TARGETS, type TargetContext } from './lib/targets.js';

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
const ROOT = dirname(BENCH_DIR);
const RESULTS_DIR = join(BENCH_DIR, 'results');
const QUICK = process.env.BENCH_QUICK === '1';
const CONCURRENCY = [1, 16, 64];
const CONFIG = QUICK
  ? {
      rounds: 2,
      sequentialCallsPerRound: 80,
      throughputMsPerLevel: 500,
      warmupCalls: 50,
      warmupMs: 300,
      setupRounds: 2,
      setupsPerRound: 3,
    }
  : {
      rounds: 8,
      sequentialCallsPerRound: 250,
      throughputMsPerLevel: 1200,
      warmupCalls: 300,
      warmupMs: 1500,
      setupRounds: 4,
      setupsPerRound: 5,
    };
/** Linux USER_HZ: /proc CPU times are in these ticks (100 on every mainstream kernel build). */
const CLOCK_TICKS_PER_SEC = 100;
/** Hard ceiling on the whole run; children are killed and the process exits if it is reached. */
const HARD_LIMIT_MS = QUICK ? 3 * 60_000 : 12 * 60_000;
const MAX_CALLS_PER_PHASE = 1_000_000;
const SAMPLE_INTERVAL_MS = 1000;

interface Live {
  result: TargetResult;
  running: Running;
  session: Session;
  sequential: number[];
  cpuTicks: number;
  cpuCalls: number;
  levels: Map<
    number,
    { perRound: number[]; calls: number; errors: number; seconds: number; latencies: number[] }
  >;
  maxRssKb: number;
  setups: number[];
}

function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function readVersion(pkgDir: string): string {
  try {
    const json = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { version?: string };
    return json.version ?? '?';
  } catch {
    return 'not installed';
  }
}

function gitCommit(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

/** Formats the generated files with the repo's Biome so `npm run lint` stays clean after a run (best-effort). */
function formatWithBiome(files: string[]): void {
  const biome = join(ROOT, 'node_modules', '.bin', 'biome');
  try {
    execFileSync(biome, ['format', '--write', ...files], { cwd: ROOT, stdio: 'ignore', timeout: 60_000 });
  } catch (err) {
    log(`could not format results with biome: ${errorText(err)}`);
  }
}

async function warmUp(live: Live): Promise<void> {
  const seq = await runSequential(live.session, CONFIG.warmupCalls, 60_000);
  if (seq.errors > 0) throw new Error(`warm-up errors: ${seq.errors} (${seq.firstError})`);
  const burst = await runThroughput(live.session, 16, CONFIG.warmupMs, MAX_CALLS_PER_PHASE);
  if (burst.errors > 0) throw new Error(`warm-up burst errors: ${burst.errors} (${burst.firstError})`);
}

function sampleMemory(targets: Iterable<Live>): void {
  for (const live of targets) {
    const mem = treeMem(live.running.proc);
    const rss = mem.reduce((acc, p) => acc + p.rssKb, 0);
    if (rss > live.maxRssKb) live.maxRssKb = rss;
  }
}

async function measureRound(live: Live, roundIndex: number): Promise<void> {
  const cpuBefore = treeCpuTicks(live.running.proc.root.pid);
  let calls = 0;
  const seq = await runSequential(live.session, CONFIG.sequentialCallsPerRound, 120_000);
  calls += seq.samples.length + seq.errors;
  live.sequential.push(...seq.samples);
  live.result.sequentialErrors = (live.result.sequentialErrors ?? 0) + seq.errors;
  live.result.firstError ??= seq.firstError;
  for (const c of CONCURRENCY) {
    const r = await runThroughput(live.session, c, CONFIG.throughputMsPerLevel, MAX_CALLS_PER_PHASE);
    const level = live.levels.get(c) ?? { perRound: [], calls: 0, errors: 0, seconds: 0, latencies: [] };
    level.perRound.push(r.calls / r.seconds);
    level.calls += r.calls;
    level.errors += r.errors;
    level.seconds += r.seconds;
    level.latencies.push(...r.latencies);
    live.levels.set(c, level);
    live.result.firstError ??= r.firstError;
    calls += r.calls + r.errors;
  }
  live.cpuTicks += treeCpuTicks(live.running.proc.root.pid) - cpuBefore;
  live.cpuCalls += calls;
  const c64 = live.levels.get(CONCURRENCY[CONCURRENCY.length - 1] ?? 1)?.perRound.at(-1) ?? Number.NaN;
  log(
    `round ${roundIndex + 1}/${CONFIG.rounds} ${live.result.name}: seq p50 ${summarize(seq.samples).p50.toFixed(3)} ms, ` +
      `@${CONCURRENCY.at(-1)} ${c64.toFixed(0)} calls/s`,
  );
}

function finish(live: Live): void {
  const latency = summarize(live.sequential);
  live.result.latency = {
    count: latency.count,
    min: round(latency.min),
    mean: round(latency.mean),
    p50: round(latency.p50),
    p90: round(latency.p90),
    p99: round(latency.p99),
    p999: round(latency.p999),
    max: round(latency.max),
  };
  const throughput: ThroughputSummary[] = [];
  for (const c of CONCURRENCY) {
    const level = live.levels.get(c);
    if (!level) continue;
    const lat = summarize(level.latencies);
    throughput.push({
      concurrency: c,
      callsPerSec: round(median(level.perRound), 1),
      aggregateCallsPerSec: round(level.calls / level.seconds, 1),
      perRound: level.perRound.map((v) => round(v, 1)),
      calls: level.calls,
      errors: level.errors,
      seconds: round(level.seconds),
      p50: round(lat.p50),
      p99: round(lat.p99),
    });
  }
  live.result.throughput = throughput;
  if (live.setups.length > 0) {
    const setup = summarize(live.setups);
    live.result.sessionSetup = {
      count: setup.count,
      p50: round(setup.p50),
      p90: round(setup.p90),
      max: round(setup.max),
    };
  }
  live.result.cpuMsPerCall = round(
    ((live.cpuTicks / CLOCK_TICKS_PER_SEC) * 1000) / Math.max(1, live.cpuCalls),
    3,
  );
  const processes = treeMem(live.running.proc);
  live.result.memory = {
    peakRssMb: round(processes.reduce((acc, p) => acc + p.hwmKb, 0) / 1024, 1),
    sampledMaxRssMb: round(live.maxRssKb / 1024, 1),
    processes,
  };
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const only = process.env.BENCH_TARGETS?.split(',').map((s) => s.trim());
  const selected = TARGETS.filter((t) => !only || only.includes(t.name));
  const tmp = mkdtempSync(join(tmpdir(), 'mcp-warden-bench-'));
  scratchDir = tmp;
  const results: TargetResult[] = [];
  const lives: Live[] = [];
  let sampler: NodeJS.Timeout | undefined;
  let load: BenchReport['load'] = {
    benchCores: Number.NaN,
    otherCores: Number.NaN,
    loadavgStart: 0,
    loadavgEnd: 0,
  };
  try {
    log(`compiling echo fixture into ${tmp}`);
    const echoScript = await bundleFixture('echo-server', tmp);
    const echo2026Script = await bundleFixture('echo-server-2026', tmp);
    const ctx: TargetContext = { root: ROOT, tmp, echoScript, echo2026Script };
    for (const def of selected) {
      const result: TargetResult = { name: def.name, description: def.description, status: 'ok' };
      results.push(result);
      const why = def.unavailable(ctx);
      if (why) {
        result.status = 'unavailable';
        result.reason = why;
        log(`${def.name}: ${why}; skipped`);
        continue;
      }
      let running: Running | undefined;
      try {
        const s0 = performance.now();
        running = await def.launch(ctx);
        const session = await openSession(running.url, running.headers, running.era);
        await callEcho(session);
        result.startupMs = round(performance.now() - s0, 0);
        result.url = running.url;
        const live: Live = {
          result,
          running,
          session,
          sequential: [],
          cpuTicks: 0,
          cpuCalls: 0,
          levels: new Map(),
          maxRssKb: 0,
          setups: [],
        };
        await warmUp(live);
        lives.push(live);
        log(`${def.name}: ready at ${running.url} (${result.startupMs} ms to first call), warmed up`);
      } catch (err) {
        result.status = 'failed';
        result.reason = errorText(err);
        log(`${def.name}: failed: ${result.reason}`);
        if (running) await stop(running.proc);
      }
    }
    sampleMemory(lives);
    sampler = setInterval(() => sampleMemory(lives), SAMPLE_INTERVAL_MS);
    const loadStart = loadavg()[0] ?? 0;
    const sys0 = systemTicks();
    const ours0 = selfCpuTicks() + lives.reduce((a, l) => a + treeCpuTicks(l.running.proc.root.pid), 0);
    for (let r = 0; r < CONFIG.rounds; r++) {
      const active = lives.filter((l) => l.result.status === 'ok');
      // Rotate the order each round so no target always runs first or right after the same neighbour.
      const order = active.map((_, i) => active[(i + r) % active.length]!);
      for (const live of order) {
        await measureRound(live, r);
        if (live.running.proc.exited()) {
          live.result.status = 'failed';
          live.result.reason = `process exited during round ${r + 1}:\n${live.running.proc.output()}`;
          log(`${live.result.name}: ${live.result.reason}`);
        }
      }
    }
    // Session set-up (initialize, notifications/initialized, first tools/list), interleaved like the rounds.
    // Outside the CPU accounting above: warden and supergateway start an upstream process per session here.
    const sys1 = systemTicks();
    const ours1 = selfCpuTicks() + lives.reduce((a, l) => a + treeCpuTicks(l.running.proc.root.pid), 0);
    for (let r = 0; r < CONFIG.setupRounds; r++) {
      const active = lives.filter((l) => l.result.status === 'ok');
      for (const live of active.map((_, i) => active[(i + r) % active.length]!)) {
        for (let k = 0; k < CONFIG.setupsPerRound; k++) {
          try {
            live.setups.push(
              (await timeSessionSetup(live.running.url, live.running.headers, live.running.era)).ms,
            );
          } catch (err) {
            live.result.setupErrors = (live.result.setupErrors ?? 0) + 1;
            live.result.firstError ??= errorText(err);
          }
        }
      }
      log(`session set-up round ${r + 1}/${CONFIG.setupRounds} done`);
    }
    const cores = cpus().length;
    const share = (ticks: number): number => round((ticks / Math.max(1, sys1.total - sys0.total)) * cores, 2);
    load = {
      benchCores: share(ours1 - ours0),
      otherCores: share(Math.max(0, sys1.busy - sys0.busy - (ours1 - ours0))),
      loadavgStart: round(loadStart, 2),
      loadavgEnd: round(loadavg()[0] ?? 0, 2),
    };
    clearInterval(sampler);
    sampler = undefined;
    sampleMemory(lives);
    for (const live of lives) if (live.result.status === 'ok') finish(live);
  } finally {
    if (sampler) clearInterval(sampler);
    for (const live of lives) await closeSession(live.session).catch(() => undefined);
    for (const live of lives) await stop(live.running.proc);
    rmSync(tmp, { recursive: true, force: true });
    scratchDir = undefined;
  }

  // The 2026 path against the 2025 path with one client held equal (bench/lib/eras.ts): the SDK v1 and v2 clients of
  // `warden` and `warden-2026` differ in more than the era, so their CPU figures mix the clients' habits in.
  let eras: ErasResult | undefined;
  if (selected.some((d) => d.name === 'warden-2026') && existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) {
    const erasTmp = mkdtempSync(join(tmpdir(), 'mcp-warden-bench-eras-'));
    scratchDir = erasTmp;
    try {
      log('2026 path against 2025 path, one raw client');
      eras = await compareEras({
        root: ROOT,
        tmp: erasTmp,
        echoScript: await bundleFixture('echo-server', erasTmp),
        rounds: QUICK ? 2 : 12,
        calls: QUICK ? 500 : 2000,
        warmup: QUICK ? 200 : 1000,
      });
    } catch (err) {
      log(`eras comparison failed: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      closeErasClient();
      rmSync(erasTmp, { recursive: true, force: true });
      scratchDir = undefined;
    }
  }

  const report: BenchReport = {
    date: new Date().toISOString(),
    quick: QUICK,
    wallSeconds: round((performance.now() - t0) / 1000, 1),
    config: { ...CONFIG, concurrency: CONCURRENCY, payloadBytes: 48 },
    machine: {
      cpu: cpus()[0]?.model.trim() ?? 'unknown',
      cores: cpus().length,
      memGb: Math.round(totalmem() / 2 ** 30),
      node: process.version,
      os: `${osType()} ${release()}`,
    },
    versions: {
      'mcp-warden': `${readVersion(ROOT)} (${gitCommit()}${existsSync(join(ROOT, 'dist', 'cli', 'main.js')) ? '' : ', not built'})`,
      '@modelcontextprotocol/sdk': readVersion(join(ROOT, 'node_modules', '@modelcontextprotocol', 'sdk')),
      supergateway: readVersion(join(ROOT, 'node_modules', 'supergateway')),
      'mcp-proxy': readVersion(join(ROOT, 'node_modules', 'mcp-proxy')),
    },
    load,
    targets: results,
    eras: eras === undefined ? undefined : { rows: eras.rows, ratio: eras.ratio, busyCores: eras.busyCores },
  };
  const markdown = renderMarkdown(report);
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(join(RESULTS_DIR, 'latest.json'), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(
    join(RESULTS_DIR, 'latest.md'),
    `${markdown}\n![tools/call latency percentiles](latency.svg)\n${eras === undefined ? '' : `\n#### The 2026 path against the 2025 path, one client (bench/lib/eras.ts)\n\n${eras.markdown}\n`}`,
  );
  const svg = latencySvg(
    lives
      .filter((l) => l.result.status === 'ok')
      .map((l) => ({ name: l.result.name, samples: l.sequential })),
    'Sequential tools/call echo latency',
    `${report.date.slice(0, 16).replace('T', ' ')} UTC · ${report.machine.cpu}, ${report.machine.cores} cores · Node ${report.machine.node}${QUICK ? ' · quick run' : ''}`,
  );
  writeFileSync(join(RESULTS_DIR, 'latency.svg'), svg);
  const outputs = ['latest.json', 'latest.md', 'latency.svg'].map((f) => join(RESULTS_DIR, f));
  formatWithBiome(outputs);
  process.stdout.write(readFileSync(join(RESULTS_DIR, 'latest.md'), 'utf8'));
  log(`wrote bench/results/latest.md, latest.json, latency.svg in ${report.wallSeconds} s`);
  if (!results.some((r) => r.status === 'ok')) process.exitCode = 1;
}

/** Scratch directory of the current run, removed by the emergency exit paths too. */
let scratchDir: string | undefined;

function emergencyCleanup(): void {
  killAllSync();
  if (scratchDir) rmSync(scratchDir, { recursive: true, force: true });
  scratchDir = undefined;
}

const hardLimit = setTimeout(() => {
  log(`hard time limit of ${HARD_LIMIT_MS / 1000} s reached; killing targets`);
  emergencyCleanup();
  process.exit(2);
}, HARD_LIMIT_MS);
hardLimit.unref();
process.on('exit', () => emergencyCleanup());
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    emergencyCleanup();
    process.exit(130);
  });
}

main()
  .catch((err: unknown) => {
    log(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exitCode = 1;
  })
  .finally(() => {
    clearTimeout(hardLimit);
  });
