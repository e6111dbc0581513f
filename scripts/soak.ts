// Soak: many tools/call through the built gateway (`dist/cli/main.js serve`) with a production-like config (policy
// with conditions, limits that never trigger, audit on SQLite), sampling the gateway's RSS and open file descriptors.
// `npm run soak -- [--calls N] [--clients N] [--minutes M] [--sample-seconds S] [--warmup F] [--window-seconds W]
//  [--max-old-space-mb N] [--out file.json]`
// Exit code 0 when RSS grew less than 10% after warm-up, no file descriptor was added and no call failed; 1 otherwise.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const ROOT = resolve(import.meta.dirname, '..');
const CLI = join(ROOT, 'dist/cli/main.js');
const PROBE = join(ROOT, 'test/fixtures/probe-server.ts');

export interface SoakOptions {
  calls: number;
  clients: number;
  /** Stops issuing calls after this long, whatever was reached. */
  maxMs: number;
  sampleMs: number;
  /**
   * The share of the calls (0..1) after which the baseline is taken; never before two limit windows have passed
   * (the sliding-window log of the rate limit fills for one window, then stays level).
   */
  warmup: number;
  /** The rate limit's window in seconds (default 60). */
  windowSeconds?: number;
  /**
   * Caps the gateway's V8 old space (MB). V8 grows its heap lazily under a high allocation rate, so RSS alone cannot
   * tell a leak from a heap still growing to its working size; under a cap a leak ends in an out-of-memory exit.
   */
  maxOldSpaceMb?: number;
  log?: (line: string) => void;
}

export interface Sample {
  atMs: number;
  calls: number;
  rssKb: number;
  fds: number;
}

export interface SoakResult {
  callsPlanned: number;
  callsDone: number;
  errors: number;
  firstErrors: string[];
  clients: number;
  seconds: number;
  callsPerSecond: number;
  latencyMs: { p50: number; p99: number; max: number };
  baseline: { rssKb: number; fds: number; calls: number };
  final: { rssKb: number; fds: number };
  peakRssKbAfterWarmup: number;
  rssGrowthPercent: number;
  fdGrowth: number;
  samples: Sample[];
  timedOut: boolean;
  /** False when the run was too short for a baseline after warm-up (the last samples were used). */
  warmedUp: boolean;
  ok: boolean;
}

function rssKb(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : Number.NaN;
}

function fds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

const policy = (windowSeconds: number) => ({
  version: '1',
  default: 'deny',
  hide: ['crash'],
  all_tools: { limits: [{ counter: 'calls', window: 'minute', max: 1_000_000_000, scope: 'session' }] },
  tools: {
    echo: {
      require: [{ path: 'args.text', op: 'exists', value: true }],
      deny_if: [
        { path: 'args.text', op: 'regex', value: '^forbidden' },
        { path: 'args.size', op: 'gt', value: 1_000_000 },
      ],
      rate_limit: { max: 1_000_000_000, window: windowSeconds, per: 'global' },
    },
    pid: {},
  },
});

function startGateway(
  dir: string,
  windowSeconds: number,
  maxOldSpaceMb: number | undefined,
): Promise<{ child: ChildProcess; url: string }> {
  const policyFile = join(dir, 'policy.json');
  writeFileSync(policyFile, JSON.stringify(policy(windowSeconds), null, 2));
  const config = join(dir, 'warden.yaml');
  writeFileSync(
    config,
    `mcpServers:
  probe:
    command: ${JSON.stringify(process.execPath)}
    args: ["--import", "tsx", ${JSON.stringify(PROBE)}]
    cwd: ${JSON.stringify(ROOT)}
    policy: ${JSON.stringify(policyFile)}
storage: sqlite:${join(dir, 'audit.db')}
auth: { anonymous: true }
log: { level: warn }
`,
  );
  const child = spawn(
    process.execPath,
    [
      ...(maxOldSpaceMb === undefined ? [] : [`--max-old-space-size=${maxOldSpaceMb}`]),
      CLI,
      'serve',
      '--config',
      config,
      '--listen',
      '127.0.0.1:0',
      '--admin',
      '127.0.0.1:0',
    ],
    { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let err = '';
  child.stderr!.setEncoding('utf8');
  return new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`no ready line within 30 s: ${err}`)), 30_000);
    child.stderr!.on('data', (c: string) => {
      if (err.length < 1 << 20) err += c;
      const m = /^listening mcp=(\S+) admin=(\S+)$/m.exec(err);
      if (m) {
        clearTimeout(timer);
        ok({ child, url: `${m[1]}/probe` });
      }
    });
    child.once('exit', (code) => fail(new Error(`warden exited with ${code}: ${err}`)));
  });
}

/** One JSON-RPC POST on a keep-alive connection; the parsed answer. */
function post(
  agent: Agent,
  url: URL,
  body: string,
  sid: string | undefined,
): Promise<{ status: number; sid: string | undefined; json: unknown }> {
  return new Promise((ok, fail) => {
    const headers: Record<string, string | number> = {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'content-length': Buffer.byteLength(body),
    };
    if (sid !== undefined) {
      headers['mcp-session-id'] = sid;
      headers['mcp-protocol-version'] = '2025-06-18';
    }
    const req = request(
      { host: url.hostname, port: url.port, path: url.pathname, method: 'POST', agent, headers },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          text += c;
        });
        res.on('end', () => {
          const s = res.headers['mcp-session-id'];
          try {
            ok({
              status: res.statusCode ?? 0,
              sid: typeof s === 'string' ? s : undefined,
              json: text === '' ? undefined : JSON.parse(text),
            });
          } catch (e) {
            fail(
              new Error(
                `status ${res.statusCode}: not JSON: ${text.slice(0, 200)} (${(e as Error).message})`,
              ),
            );
          }
        });
        res.on('error', fail);
      },
    );
    req.setTimeout(30_000, () => req.destroy(new Error('no answer within 30 s')));
    req.on('error', fail);
    req.end(body);
  });
}

async function openSession(agent: Agent, url: URL): Promise<string> {
  const init = await post(
    agent,
    url,
    JSON.stringify({
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'soak', version: '1' } },
    }),
    undefined,
  );
  if (init.status !== 200 || init.sid === undefined) throw new Error(`initialize answered ${init.status}`);
  await post(agent, url, JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }), init.sid);
  return init.sid;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

export async function runSoak(opts: SoakOptions): Promise<SoakResult> {
  const log = opts.log ?? (() => {});
  const dir = mkdtempSync(join(tmpdir(), 'warden-soak-'));
  const windowSeconds = opts.windowSeconds ?? 60;
  const { child, url: mcp } = await startGateway(dir, windowSeconds, opts.maxOldSpaceMb);
  let exited: string | undefined;
  child.once('exit', (code, signal) => {
    exited = `the gateway exited (${signal ?? `code ${code}`}) during the soak`;
  });
  const pid = child.pid!;
  const url = new URL(mcp);
  const agent = new Agent({ keepAlive: true, maxSockets: opts.clients });
  const samples: Sample[] = [];
  const latencies: number[] = [];
  const firstErrors: string[] = [];
  let issued = 0;
  let done = 0;
  let errors = 0;
  let timedOut = false;
  const started = Date.now();
  const sample = () => {
    if (exited !== undefined) return;
    const s = { atMs: Date.now() - started, calls: done, rssKb: rssKb(pid), fds: fds(pid) };
    samples.push(s);
    log(
      `${(s.atMs / 1000).toFixed(0).padStart(5)} s  ${String(s.calls).padStart(8)} calls  rss ${(s.rssKb / 1024).toFixed(1)} MB  fds ${s.fds}  errors ${errors}`,
    );
  };
  const sampler = setInterval(sample, opts.sampleMs);
  try {
    const sessions = await Promise.all(Array.from({ length: opts.clients }, () => openSession(agent, url)));
    const client = async (c: number) => {
      const sid = sessions[c]!;
      let id = 1;
      while (issued < opts.calls) {
        if (Date.now() - started > opts.maxMs) {
          timedOut = true;
          return;
        }
        const n = issued++;
        const text = `soak-${c}-${n}`;
        const t0 = performance.now();
        try {
          const r = await post(
            agent,
            url,
            JSON.stringify({
              jsonrpc: '2.0',
              id: id++,
              method: 'tools/call',
              params: { name: 'echo', arguments: { text, size: n % 1000 } },
            }),
            sid,
          );
          const result = (r.json as { result?: { content?: Array<{ text?: string }>; isError?: boolean } })
            ?.result;
          if (r.status !== 200 || result?.isError === true || result?.content?.[0]?.text !== text) {
            throw new Error(`status ${r.status}: ${JSON.stringify(r.json).slice(0, 300)}`);
          }
          // Every 100th latency is enough for percentiles, and keeps the soak client's own memory flat.
          if (n % 100 === 0) latencies.push(performance.now() - t0);
        } catch (e) {
          errors++;
          if (firstErrors.length < 10) firstErrors.push((e as Error).message);
        }
        done++;
      }
    };
    await Promise.all(sessions.map((_, c) => client(c)));
  } finally {
    clearInterval(sampler);
  }
  sample();
  const seconds = (Date.now() - started) / 1000;
  agent.destroy();
  if (exited === undefined) {
    await new Promise<void>((r) => {
      child.once('exit', () => r());
      child.kill('SIGTERM');
    });
  } else {
    errors++;
    firstErrors.unshift(exited);
  }
  rmSync(dir, { recursive: true, force: true });

  // Baseline: the first (up to) three samples once the warm-up share of the calls is done and two limit windows have
  // passed; final: the last (up to) three.
  const warmCalls = Math.floor(opts.warmup * done);
  const firstCall = samples.find((s) => s.calls > 0)?.atMs ?? 0;
  const warm = samples.filter((s) => s.calls >= warmCalls && s.atMs >= firstCall + 2 * windowSeconds * 1000);
  const after = warm.length >= 4 ? warm : samples.slice(-Math.min(samples.length, 4));
  const k = Math.max(1, Math.min(3, Math.floor(after.length / 2)));
  const head = after.slice(0, k);
  const tail = after.slice(-k);
  const baseline = {
    rssKb: Math.round(mean(head.map((s) => s.rssKb))),
    fds: Math.max(...head.map((s) => s.fds)),
    calls: head[0]?.calls ?? 0,
  };
  const final = {
    rssKb: Math.round(mean(tail.map((s) => s.rssKb))),
    fds: Math.max(...tail.map((s) => s.fds)),
  };
  const sorted = latencies.sort((a, b) => a - b);
  const rssGrowthPercent = ((final.rssKb - baseline.rssKb) / baseline.rssKb) * 100;
  const fdGrowth = final.fds - baseline.fds;
  return {
    callsPlanned: opts.calls,
    callsDone: done,
    errors,
    firstErrors,
    clients: opts.clients,
    seconds,
    callsPerSecond: done / seconds,
    latencyMs: {
      p50: percentile(sorted, 50),
      p99: percentile(sorted, 99),
      max: sorted[sorted.length - 1] ?? Number.NaN,
    },
    baseline,
    final,
    peakRssKbAfterWarmup: Math.max(...after.map((s) => s.rssKb)),
    rssGrowthPercent,
    fdGrowth,
    samples,
    timedOut,
    warmedUp: warm.length >= 4,
    ok: errors === 0 && rssGrowthPercent < 10 && fdGrowth <= 0,
  };
}

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i === -1 ? fallback : Number(process.argv[i + 1]);
}

async function main(): Promise<void> {
  const opts: SoakOptions = {
    calls: flag('--calls', 1_000_000),
    clients: flag('--clients', 8),
    maxMs: flag('--minutes', 25) * 60_000,
    sampleMs: flag('--sample-seconds', 5) * 1000,
    warmup: flag('--warmup', 0.1),
    windowSeconds: flag('--window-seconds', 60),
    maxOldSpaceMb: process.argv.includes('--max-old-space-mb') ? flag('--max-old-space-mb', 0) : undefined,
    log: (line) => process.stderr.write(`${line}\n`),
  };
  process.stderr.write(
    `soak: ${opts.calls} calls, ${opts.clients} clients, at most ${opts.maxMs / 60_000} min, gateway ${CLI}\n`,
  );
  const r = await runSoak(opts);
  const outAt = process.argv.indexOf('--out');
  if (outAt !== -1) writeFileSync(process.argv[outAt + 1]!, `${JSON.stringify(r, null, 2)}\n`);
  const mb = (kb: number) => `${(kb / 1024).toFixed(1)} MB`;
  console.log(
    [
      `calls        ${r.callsDone} of ${r.callsPlanned}${r.timedOut ? ' (time bound reached)' : ''}, ${r.errors} errors`,
      `throughput   ${r.callsPerSecond.toFixed(0)} calls/s over ${r.seconds.toFixed(0)} s with ${r.clients} clients`,
      `latency      p50 ${r.latencyMs.p50.toFixed(2)} ms, p99 ${r.latencyMs.p99.toFixed(2)} ms, max ${r.latencyMs.max.toFixed(0)} ms`,
      `rss          ${mb(r.baseline.rssKb)} after warm-up (${r.baseline.calls} calls${r.warmedUp ? '' : '; too short a run for a warm-up'}) -> ${mb(r.final.rssKb)} at the end: ${r.rssGrowthPercent >= 0 ? '+' : ''}${r.rssGrowthPercent.toFixed(1)}% (target < 10%), peak ${mb(r.peakRssKbAfterWarmup)}`,
      `fds          ${r.baseline.fds} -> ${r.final.fds}: ${r.fdGrowth >= 0 ? '+' : ''}${r.fdGrowth} (target 0)`,
      ...r.firstErrors.map((e) => `error        ${e}`),
      r.ok ? 'ok' : 'FAILED',
    ].join('\n'),
  );
  process.exitCode = r.ok ? 0 : 1;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
