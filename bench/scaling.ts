// `npm run bench:scaling`: how warden's costs grow with idle sessions, upstreams, policy size and audit size.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, type as osType, release, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { NewAuditEntry } from '../src/audit/chain.js';
import { recentRecords } from '../src/audit/view.js';
import { compilePolicyLayer } from '../src/policy/compile.js';
import { decide } from '../src/policy/decide.js';
import { policyLayerSchema } from '../src/policy/schema.js';
import type { ToolCall } from '../src/policy/types.js';
import { openAuditStore } from '../src/store/open.js';
import { verifyStore } from '../src/store/types.js';
import { bundleFixture } from './lib/fixtures.js';
import { closeSession, openSession, runSequential } from './lib/measure.js';
import { mixCalls, mixPolicy, mixTools } from './lib/policy-mix.js';
import {
  descendants,
  killAllSync,
  type Managed,
  readMem,
  selfCpuTicks,
  sleep,
  start,
  stop,
  systemTicks,
  treeCpuTicks,
  waitForLine,
} from './lib/proc.js';
import { type RawSession, rawSetup } from './lib/raw.js';
import { staticListServer } from './lib/static-answer.js';
import { median, round, summarize } from './lib/stats.js';
import { type Curve, curveSvg } from './lib/svg.js';

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
const ROOT = dirname(BENCH_DIR);
const RESULTS_DIR = join(BENCH_DIR, 'results');
const QUICK = process.env.BENCH_QUICK === '1';
const ONLY = process.env.SCALING_ONLY?.split(',').map((s) => s.trim());
const node = process.execPath;
const CLI = join(ROOT, 'dist', 'cli', 'main.js');
const HARD_LIMIT_MS = (QUICK ? 6 : 30) * 60_000;
const READY_MS = 60_000;

const SESSION_LEVELS = QUICK ? [10, 100] : [10, 100, 1_000, 10_000];
/** A stdio upstream is one process per warden session (about 40 MB each), so this curve stops at 100. */
const STDIO_SESSION_LEVELS = QUICK ? [10] : [10, 100];
const UPSTREAM_LEVELS = QUICK ? [1, 10] : [1, 10, 50];
const TOOLS_PER_UPSTREAM = 100;
const POLICY_LEVELS = [10, 100, 1_000, 10_000];
const AUDIT_MAX = Number(process.env.SCALING_AUDIT_MAX ?? (QUICK ? 10_000 : 10_000_000));
const AUDIT_LEVELS = [1_000, 10_000, 100_000, 1_000_000, 10_000_000].filter((n) => n <= AUDIT_MAX);
const OPEN_CONCURRENCY = 16;

function log(message: string): void {
  process.stderr.write(`[scaling] ${message}\n`);
}

const tmp = mkdtempSync(join(tmpdir(), 'mcp-warden-scaling-'));
function cleanup(): void {
  killAllSync();
  rmSync(tmp, { recursive: true, force: true });
}
process.on('exit', cleanup);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => process.exit(130));
}
const hardLimit = setTimeout(() => {
  log(`hard time limit of ${HARD_LIMIT_MS / 60_000} min reached; killing everything`);
  process.exit(2);
}, HARD_LIMIT_MS);
hardLimit.unref();

const mb = (kb: number): number => round(kb / 1024, 1);

/** CPU time of this process's children that have exited and been waited for (cutime + cstime), in ticks. */
function reapedChildTicks(): number {
  const text = readFileSync('/proc/self/stat', 'utf8');
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return Number(rest[13]) + Number(rest[14]);
}
const rssKb = (pid: number): number => readMem(pid)?.rssKb ?? 0;

/** Starts a fixture over HTTP (`--http --json`); returns its URL and process. */
async function startHttpFixture(script: string, args: string[]): Promise<{ url: string; proc: Managed }> {
  const proc = start({
    name: 'upstream',
    command: node,
    args: [script, '--http', '--json', ...args],
    cwd: tmp,
  });
  const m = await waitForLine(proc, /listening (http:\/\/127\.0\.0\.1:\d+\/mcp)/, READY_MS);
  return { url: m[1]!, proc };
}

/** `warden serve` with `config` in its own directory; returns the base MCP URL (`.../mcp`) and the process. */
async function startWarden(
  name: string,
  config: Record<string, unknown>,
  files: Record<string, string> = {},
): Promise<{ mcp: string; proc: Managed }> {
  const dir = join(tmp, name);
  mkdirSync(dir, { recursive: true });
  for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, file), text);
  const file = join(dir, 'warden.yaml');
  writeFileSync(file, `${JSON.stringify({ auth: { anonymous: true }, ...config }, null, 2)}\n`);
  const proc = start({
    name,
    command: node,
    args: [CLI, 'serve', '--config', file, '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0'],
    cwd: dir,
  });
  const m = await waitForLine(proc, /listening mcp=(http:\/\/[^\s]+?)\/?\s+admin=/, READY_MS);
  return { mcp: m[1]!, proc };
}

/** Runs `fn` over `items` with at most `limit` at a time. */
async function pool<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!);
      }
    }),
  );
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// 1. Idle sessions

interface SessionRow {
  upstream: 'http' | 'stdio';
  sessions: number;
  openSeconds: number;
  gatewayRssMb: number;
  gatewayKbPerSession: number;
  upstreamRssMb: number;
  upstreamKbPerSession: number;
  /** tools/call echo p50 on the oldest session with all sessions open, ms. */
  callP50Ms: number;
}

async function idleSessions(echo: string): Promise<SessionRow[]> {
  const rows: SessionRow[] = [];
  // HTTP upstream: one upstream process for all sessions; warden still opens one upstream session per agent session.
  {
    const up = await startHttpFixture(echo, []);
    const gw = await startWarden('sessions-http', {
      mcpServers: { echo: { url: up.url } },
      // One identity opens every session, and an idle session keeps its upstream: that is what is measured here.
      http: { maxSessions: 20_000, maxSessionsPerGrant: 20_000, upstreamIdleTimeout: '24h' },
    });
    const url = `${gw.mcp}/echo`;
    try {
      await sleep(1000);
      const gw0 = rssKb(gw.proc.root.pid);
      const up0 = rssKb(up.proc.root.pid);
      const sessions: RawSession[] = [];
      for (const level of SESSION_LEVELS) {
        const t0 = performance.now();
        const todo = Array.from({ length: level - sessions.length }, (_, i) => i);
        const opened = await pool(todo, OPEN_CONCURRENCY, async () => (await rawSetup(url)).session);
        sessions.push(...opened);
        const openSeconds = (performance.now() - t0) / 1000;
        await sleep(2000);
        const g = rssKb(gw.proc.root.pid);
        const u = rssKb(up.proc.root.pid);
        const calls: number[] = [];
        const oldest = sessions[0]!;
        for (let i = 0; i < 200; i++) {
          const c0 = performance.now();
          await oldest.request('tools/call', { name: 'echo', arguments: { text: `x-${i}` } });
          calls.push(performance.now() - c0);
        }
        const row: SessionRow = {
          upstream: 'http',
          sessions: level,
          openSeconds: round(openSeconds, 1),
          gatewayRssMb: mb(g),
          gatewayKbPerSession: round((g - gw0) / level, 1),
          upstreamRssMb: mb(u),
          upstreamKbPerSession: round((u - up0) / level, 1),
          callP50Ms: round(summarize(calls).p50),
        };
        rows.push(row);
        log(`sessions (http upstream) ${JSON.stringify(row)}`);
      }
      await pool(sessions, OPEN_CONCURRENCY, (s) => s.close());
    } finally {
      await stop(gw.proc);
      await stop(up.proc);
    }
  }
  // stdio upstream: every session starts its own upstream process.
  {
    const gw = await startWarden('sessions-stdio', {
      mcpServers: { echo: { command: node, args: [echo] } },
      // One identity opens every session, and an idle session keeps its upstream: that is what is measured here.
      http: { maxSessions: 20_000, maxSessionsPerGrant: 20_000, upstreamIdleTimeout: '24h' },
    });
    const url = `${gw.mcp}/echo`;
    try {
      await sleep(1000);
      const gw0 = rssKb(gw.proc.root.pid);
      const sessions: RawSession[] = [];
      for (const level of STDIO_SESSION_LEVELS) {
        const t0 = performance.now();
        const todo = Array.from({ length: level - sessions.length }, (_, i) => i);
        // Each set-up spawns a Node process: open them a few at a time.
        const opened = await pool(todo, 4, async () => (await rawSetup(url)).session);
        sessions.push(...opened);
        const openSeconds = (performance.now() - t0) / 1000;
        await sleep(3000);
        const g = rssKb(gw.proc.root.pid);
        const children = descendants(gw.proc.root.pid);
        for (const c of children) gw.proc.seen.set(c.pid, c);
        const u = children.reduce((a, c) => a + rssKb(c.pid), 0);
        const calls: number[] = [];
        for (let i = 0; i < 200; i++) {
          const c0 = performance.now();
          await sessions[0]!.request('tools/call', { name: 'echo', arguments: { text: `x-${i}` } });
          calls.push(performance.now() - c0);
        }
        const row: SessionRow = {
          upstream: 'stdio',
          sessions: level,
          openSeconds: round(openSeconds, 1),
          gatewayRssMb: mb(g),
          gatewayKbPerSession: round((g - gw0) / level, 1),
          upstreamRssMb: mb(u),
          upstreamKbPerSession: round(u / level, 1),
          callP50Ms: round(summarize(calls).p50),
        };
        rows.push(row);
        log(`sessions (stdio upstream, ${children.length} upstream processes) ${JSON.stringify(row)}`);
      }
      await pool(sessions, 4, (s) => s.close());
    } finally {
      await stop(gw.proc);
    }
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------------------------
// 2. Upstreams

interface UpstreamRow {
  upstreams: number;
  tools: number;
  target: string;
  setupP50Ms: number;
  setupMaxMs: number;
  setups: number;
  listP50Ms: number;
  listP90Ms: number;
  listP99Ms: number;
  gatewayRssMb: number;
  upstreamRssMb: number;
}

async function upstreamCurve(toolsScript: string): Promise<UpstreamRow[]> {
  const rows: UpstreamRow[] = [];
  for (const k of UPSTREAM_LEVELS) {
    const tools = k * TOOLS_PER_UPSTREAM;
    const setups = k >= 50 ? 3 : 5;
    const lists = QUICK ? 30 : k >= 50 ? 100 : 200;
    // Upstreams declare tools.listChanged (as McpServer-based servers do), so warden answers repeated lists from each
    // link's kept answer; at 10 upstreams also without it, when every tools/list goes to every upstream.
    for (const announces of k === 10 ? [true, false] : [true]) {
      const servers: Record<string, unknown> = {};
      for (let i = 0; i < k; i++) {
        servers[`s${String(i).padStart(2, '0')}`] = {
          command: node,
          args: [
            toolsScript,
            '--tools',
            String(TOOLS_PER_UPSTREAM),
            ...(announces ? [] : ['--no-list-changed']),
          ],
        };
      }
      // warden, aggregated endpoint /mcp, k stdio upstreams of 100 tools each.
      const gw = await startWarden(`upstreams-${k}${announces ? '' : '-unannounced'}`, {
        mcpServers: servers,
        http: { maxSessions: 1000, maxSessionsPerGrant: 1000 },
      });
      try {
        const url = gw.mcp;
        const setupMs: number[] = [];
        for (let i = 0; i < setups; i++) {
          const s = await rawSetup(url);
          if (s.tools !== tools) throw new Error(`expected ${tools} tools through /mcp, got ${s.tools}`);
          setupMs.push(s.ms);
          await s.session.close();
          await sleep(200);
        }
        const { session } = await rawSetup(url);
        const listMs = await listLatencies(session, lists);
        const children = descendants(gw.proc.root.pid);
        for (const c of children) gw.proc.seen.set(c.pid, c);
        const row = upstreamRow(
          announces
            ? 'warden /mcp (stdio upstreams)'
            : 'warden /mcp (stdio upstreams without tools.listChanged)',
          k,
          tools,
          setupMs,
          listMs,
          mb(rssKb(gw.proc.root.pid)),
          mb(children.reduce((a, c) => a + rssKb(c.pid), 0)),
        );
        rows.push(row);
        log(`upstreams ${JSON.stringify(row)}`);
        await session.close();
      } finally {
        await stop(gw.proc, 5000);
      }
    }
    // Baseline: one SDK server (JSON answers) serving the same number of tools directly.
    const direct = await startHttpFixture(toolsScript, ['--tools', String(tools)]);
    try {
      const setupMs: number[] = [];
      for (let i = 0; i < setups; i++) {
        const s = await rawSetup(direct.url);
        setupMs.push(s.ms);
        await s.session.close();
      }
      const { session } = await rawSetup(direct.url);
      const listMs = await listLatencies(session, lists);
      const row = upstreamRow(
        `direct-json (one SDK server with ${tools} tools)`,
        1,
        tools,
        setupMs,
        listMs,
        0,
        mb(rssKb(direct.proc.root.pid)),
      );
      rows.push(row);
      log(`upstreams baseline ${JSON.stringify(row)}`);
      // The floor at 10 upstreams (the issue's target): the same tools/list answer from bytes made in advance.
      if (k === 10) {
        const floor = await staticListServer(await session.request('tools/list'));
        try {
          const { session: own } = await rawSetup(floor.url);
          const row = upstreamRow(
            `floor (the same answer's bytes made in advance, in the bench process)`,
            1,
            tools,
            [],
            await listLatencies(own, lists),
            0,
            0,
          );
          rows.push(row);
          log(`upstreams floor ${JSON.stringify(row)}`);
        } finally {
          await floor.close();
        }
      }
      await session.close();
    } finally {
      await stop(direct.proc);
    }
  }
  return rows;
}

/** A row of the upstreams table; no set-ups (the floor) shows as a dash. */
function upstreamRow(
  target: string,
  upstreams: number,
  tools: number,
  setupMs: number[],
  listMs: number[],
  gatewayRssMb: number,
  upstreamRssMb: number,
): UpstreamRow {
  const setup = setupMs.length === 0 ? { p50: 0, max: 0 } : summarize(setupMs);
  const list = summarize(listMs);
  return {
    upstreams,
    tools,
    target,
    setupP50Ms: round(setup.p50, 1),
    setupMaxMs: round(setup.max, 1),
    setups: setupMs.length,
    listP50Ms: round(list.p50),
    listP90Ms: round(list.p90),
    listP99Ms: round(list.p99),
    gatewayRssMb,
    upstreamRssMb,
  };
}

/** `lists` sequential tools/list latencies (ms) on an open session, after 10 for warm-up. */
async function listLatencies(session: RawSession, lists: number): Promise<number[]> {
  for (let i = 0; i < 10; i++) await session.listTools();
  const ms: number[] = [];
  for (let i = 0; i < lists; i++) {
    const t0 = performance.now();
    await session.listTools();
    ms.push(performance.now() - t0);
  }
  return ms;
}

// ---------------------------------------------------------------------------------------------------------------
// 3. Policy size

/** A PolicyLayer policy of `n` tool entries in the mix of bench/decide.ts, plus the entry the echo calls hit. */
function policyOf(n: number): Record<string, unknown> {
  return mixPolicy({
    echo: {
      require: [{ path: 'args.text', op: 'exists', value: true }],
      deny_if: [
        { path: 'args.text', op: 'contains', value: 'DROP TABLE' },
        { path: 'args.size', op: 'gt', value: 1_048_576 },
      ],
    },
    ...mixTools(n - 1),
  });
}

function callsOf(n: number): ToolCall[] {
  return [...mixCalls(n - 1), { server: 's', tool: 'echo', args: { text: 'x' } }];
}

interface PolicyRow {
  rules: number;
  compileMs: number;
  decisionsPerSecond: number;
  nsPerDecision: number;
  gatewayCallP50Ms?: number;
  gatewayCallP99Ms?: number;
  gatewayRssMb?: number;
}

async function policyCurve(echo: string): Promise<PolicyRow[]> {
  const rows: PolicyRow[] = [];
  const calls = Number(process.env.SCALING_DECIDE_CALLS ?? (QUICK ? 300_000 : 2_000_000));
  for (const n of POLICY_LEVELS) {
    const file = policyOf(n);
    const compileMs: number[] = [];
    let compiled: ReturnType<typeof compilePolicyLayer> | undefined;
    for (let r = 0; r < 3; r++) {
      const t0 = performance.now();
      compiled = compilePolicyLayer(policyLayerSchema.parse(file), 'bench');
      compileMs.push(performance.now() - t0);
    }
    if (!compiled || compiled.problems.length > 0) throw new Error(JSON.stringify(compiled?.problems));
    const { policy } = compiled;
    const mix = callsOf(n);
    let sink = 0;
    for (let i = 0; i < 300_000; i++) sink += decide(policy, mix[i % mix.length]!).outcome.length;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < calls; i++) sink += decide(policy, mix[i % mix.length]!).outcome.length;
    const ns = Number(process.hrtime.bigint() - t0);
    if (sink === 0) throw new Error('no decisions');
    const row: PolicyRow = {
      rules: n,
      compileMs: round(median(compileMs), 2),
      decisionsPerSecond: Math.round(calls / (ns / 1e9)),
      nsPerDecision: round(ns / calls, 1),
    };
    rows.push(row);
    log(`policy ${JSON.stringify(row)}`);
  }
  // tools/call through the gateway with the smallest and the largest policy, interleaved.
  const ends = [POLICY_LEVELS[0]!, POLICY_LEVELS.at(-1)!];
  const gws = [];
  for (const n of ends) {
    const gw = await startWarden(
      `policy-${n}`,
      { mcpServers: { echo: { command: node, args: [echo] } }, policy: './policy.json' },
      { 'policy.json': JSON.stringify(policyOf(n)) },
    );
    gws.push({ n, gw, session: await openSession(`${gw.mcp}/echo`), samples: [] as number[] });
  }
  try {
    for (const g of gws) await runSequential(g.session, 200, 60_000);
    for (let r = 0; r < (QUICK ? 1 : 4); r++) {
      for (const g of r % 2 === 0 ? gws : [...gws].reverse()) {
        const seq = await runSequential(g.session, 250, 60_000);
        if (seq.errors > 0) throw new Error(`policy ${g.n}: ${seq.firstError}`);
        g.samples.push(...seq.samples);
      }
    }
    for (const g of gws) {
      const s = summarize(g.samples);
      const row = rows.find((x) => x.rules === g.n)!;
      row.gatewayCallP50Ms = round(s.p50);
      row.gatewayCallP99Ms = round(s.p99);
      row.gatewayRssMb = mb(rssKb(g.gw.proc.root.pid));
    }
  } finally {
    for (const g of gws) {
      await closeSession(g.session);
      await stop(g.gw.proc);
    }
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------------------------
// 4. Audit size

const TOOLS = Array.from({ length: 20 }, (_, i) => `tool_${i}`);

/** The entries of request `i` as the gateway writes them: allowed calls have a decision and an outcome entry. */
function requestEntries(i: number, t: number): NewAuditEntry[] {
  const r = i % 200;
  const decision = r < 180 ? 'allowed' : r < 194 ? 'denied' : r < 198 ? 'rate_limited' : 'hidden';
  const tool = TOOLS[(i * 7) % TOOLS.length]!;
  const base = {
    v: 1,
    requestId: i,
    session: `session-${Math.floor(i / 500)}`,
    grant: `grant-${i % 5}`,
    server: `server-${i % 3}`,
    method: 'tools/call',
    tool,
    decision,
    rule:
      decision === 'allowed'
        ? `/tools/${tool}`
        : decision === 'hidden'
          ? '(hidden)'
          : `/tools/${tool}/deny_if/0`,
    policy: 'policy.json',
    reason: decision === 'allowed' ? null : 'Not allowed for agents.',
    shadow: false,
    outcome: null,
    errorCode: null,
    latencyMs: null,
    args: { mode: 'keys', keys: ['owner', 'repo', 'text'], hash: 'ab'.repeat(32) },
  };
  const key = `req-${i}`;
  const time = new Date(t).toISOString();
  if (decision !== 'allowed') {
    return [
      { time, kind: 'final', requestKey: key, body: { ...base, outcome: 'not_called', latencyMs: 0.2 } },
    ];
  }
  return [
    { time, kind: 'decision', requestKey: key, body: base },
    {
      time: new Date(t + 2).toISOString(),
      kind: 'outcome',
      requestKey: key,
      body: { ...base, outcome: 'ok', latencyMs: 1.4 },
    },
  ];
}

interface AuditRow {
  entries: number;
  fillPerSecond: number;
  dbMb: number;
  recentMs: number;
  byToolMs: number;
  byDecisionMs: number;
  byToolAndDecisionMs: number;
  rareDecisionMs: number;
  verifyMs: number;
  verifyPerSecond: number;
}

async function timeQuery(fn: () => Promise<unknown>, runs: number): Promise<number> {
  await fn();
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    samples.push(performance.now() - t0);
  }
  return round(median(samples), 3);
}

async function auditCurve(): Promise<AuditRow[]> {
  const dir = join(tmp, 'audit');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'audit.db');
  const store = await openAuditStore(`sqlite:${file}`, { sqlite: { durability: 'crash' } });
  const rows: AuditRow[] = [];
  let written = 0;
  let request = 0;
  let t = Date.parse('2026-01-01T00:00:00Z');
  let fillSeconds = 0;
  try {
    for (const level of AUDIT_LEVELS) {
      const t0 = performance.now();
      while (written < level) {
        const batch: NewAuditEntry[] = [];
        while (batch.length < 2000 && written + batch.length < level) {
          batch.push(...requestEntries(request++, t));
          t += 10;
        }
        await store.append(batch);
        written += batch.length;
      }
      fillSeconds += (performance.now() - t0) / 1000;
      const runs = level >= 1_000_000 ? 7 : 15;
      const v0 = performance.now();
      const verified = await verifyStore(store);
      const verifyMs = performance.now() - v0;
      if (!verified.ok) throw new Error(`audit chain does not verify at ${level}`);
      const row: AuditRow = {
        entries: written,
        fillPerSecond: Math.round(written / fillSeconds),
        dbMb: mb(
          (statSync(file).size + (statSync(`${file}-wal`, { throwIfNoEntry: false })?.size ?? 0)) / 1024,
        ),
        recentMs: await timeQuery(() => recentRecords(store, 50), runs),
        byToolMs: await timeQuery(() => recentRecords(store, 50, { tool: 'tool_7' }), runs),
        byDecisionMs: await timeQuery(() => recentRecords(store, 50, { decision: 'denied' }), runs),
        byToolAndDecisionMs: await timeQuery(
          () => recentRecords(store, 50, { tool: 'tool_7', decision: 'denied' }),
          runs,
        ),
        rareDecisionMs: await timeQuery(() => recentRecords(store, 50, { decision: 'hidden' }), runs),
        verifyMs: round(verifyMs, 0),
        verifyPerSecond: Math.round(verified.count / (verifyMs / 1000)),
      };
      rows.push(row);
      log(`audit ${JSON.stringify(row)}`);
    }
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------------------------
// Report

function table(head: string[], rows: Array<Array<string | number | undefined>>): string {
  const cell = (v: string | number | undefined): string =>
    v === undefined ? '–' : typeof v === 'number' ? v.toLocaleString('en-US') : v;
  return [
    `| ${head.join(' | ')} |`,
    `| ${head.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`,
    ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
  ].join('\n');
}

function readVersion(dir: string): string {
  try {
    return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return '?';
  }
}

interface ScalingResult {
  sessions?: SessionRow[];
  upstreams?: UpstreamRow[];
  policy?: PolicyRow[];
  audit?: AuditRow[];
}

/** The charts of a run: [file name, SVG] for each curve that was measured. */
function drawCharts(result: ScalingResult, subtitle: string): Array<[string, string]> {
  const charts: Array<[string, string]> = [];
  if (result.sessions) {
    const http = result.sessions.filter((r) => r.upstream === 'http');
    const stdio = result.sessions.filter((r) => r.upstream === 'stdio');
    const curves: Curve[] = [
      { name: 'gateway, HTTP upstream', points: http.map((r) => [r.sessions, r.gatewayRssMb] as const) },
      { name: 'upstream (HTTP, 1 process)', points: http.map((r) => [r.sessions, r.upstreamRssMb] as const) },
      { name: 'gateway, stdio upstream', points: stdio.map((r) => [r.sessions, r.gatewayRssMb] as const) },
      {
        name: 'upstreams (stdio, 1 per session)',
        points: stdio.map((r) => [r.sessions, r.upstreamRssMb] as const),
      },
    ];
    charts.push([
      'scaling-sessions.svg',
      curveSvg(curves, 'RSS with idle sessions', subtitle, 'open sessions', 'RSS MB'),
    ]);
  }
  if (result.audit) {
    const a = result.audit;
    const curves: Curve[] = [
      { name: 'recent 50', points: a.map((r) => [r.entries, r.recentMs] as const) },
      { name: 'tool=', points: a.map((r) => [r.entries, r.byToolMs] as const) },
      { name: 'decision=denied', points: a.map((r) => [r.entries, r.byDecisionMs] as const) },
      { name: 'tool+decision', points: a.map((r) => [r.entries, r.byToolAndDecisionMs] as const) },
      { name: 'decision=hidden', points: a.map((r) => [r.entries, r.rareDecisionMs] as const) },
      { name: 'verify (whole chain)', points: a.map((r) => [r.entries, r.verifyMs] as const) },
    ];
    charts.push([
      'scaling-audit.svg',
      curveSvg(curves, 'Audit query latency vs log size (SQLite)', subtitle, 'audit entries', 'ms'),
    ]);
  }
  if (result.policy) {
    const p = result.policy;
    const curves: Curve[] = [
      { name: 'compile ms', points: p.map((r) => [r.rules, r.compileMs] as const) },
      { name: 'decide() ns', points: p.map((r) => [r.rules, r.nsPerDecision] as const) },
    ];
    charts.push([
      'scaling-policy.svg',
      curveSvg(curves, 'Policy compile time and decide() cost vs rules', subtitle, 'rules', 'ms / ns'),
    ]);
  }
  return charts;
}

function subtitleOf(report: { date: string; machine: { cpu: string; cores: number; node: string } }): string {
  return `${report.date.slice(0, 16).replace('T', ' ')} UTC · ${report.machine.cpu}, ${report.machine.cores} cores · Node ${report.machine.node}`;
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const wants = (s: string): boolean => !ONLY || ONLY.includes(s);
  const echo = await bundleFixture('echo-server', tmp);
  const toolsScript = await bundleFixture('tools-server', tmp);
  const sys0 = systemTicks();
  const self0 = selfCpuTicks();
  const load0 = loadavg()[0] ?? 0;
  const result: ScalingResult = {};
  // Every process a section starts has exited (and been waited for) when it ends, so its CPU time, and that of
  // its own children, is in this process's cutime + cstime; "other processes" is the machine's busy time minus that.
  const reaped0 = reapedChildTicks();
  if (wants('sessions')) result.sessions = await idleSessions(echo);
  if (wants('upstreams')) result.upstreams = await upstreamCurve(toolsScript);
  if (wants('policy')) result.policy = await policyCurve(echo);
  if (wants('audit')) result.audit = await auditCurve();
  const sys1 = systemTicks();
  const cores = cpus().length;
  const busy = sys1.busy - sys0.busy;
  const self = selfCpuTicks() - self0;
  const childTicks = reapedChildTicks() - reaped0 + treeCpuTicks(process.pid) - selfCpuTicks();
  const report = {
    date: new Date().toISOString(),
    quick: QUICK,
    wallSeconds: round((performance.now() - t0) / 1000, 1),
    machine: {
      cpu: cpus()[0]?.model.trim() ?? 'unknown',
      cores,
      memGb: Math.round(totalmem() / 2 ** 30),
      node: process.version,
      os: `${osType()} ${release()}`,
    },
    versions: {
      'mcp-warden': `${readVersion(ROOT)} (${execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim()})`,
      '@modelcontextprotocol/sdk': readVersion(join(ROOT, 'node_modules', '@modelcontextprotocol', 'sdk')),
    },
    load: {
      benchCoresApprox: round(((self + childTicks) / Math.max(1, sys1.total - sys0.total)) * cores, 2),
      otherCoresApprox: round(
        (Math.max(0, busy - self - childTicks) / Math.max(1, sys1.total - sys0.total)) * cores,
        2,
      ),
      loadavgStart: round(load0, 2),
      loadavgEnd: round(loadavg()[0] ?? 0, 2),
    },
    auditLevels: AUDIT_LEVELS,
    ...result,
  };
  const md: string[] = [];
  md.push(`### Scaling run of ${report.date}${QUICK ? ' (BENCH_QUICK: smaller levels)' : ''}`, '');
  md.push(
    `Machine: ${report.machine.cpu}, ${cores} cores, ${report.machine.memGb} GB RAM, Node ${report.machine.node}, ${report.machine.os}. ` +
      `Versions: ${Object.entries(report.versions)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}. Whole run: ${report.wallSeconds.toFixed(0)} s. ` +
      `CPU during the run: bench ≈ ${report.load.benchCoresApprox} cores, other processes ≈ ${report.load.otherCoresApprox} cores of ${cores} ` +
      `(load average ${report.load.loadavgStart} → ${report.load.loadavgEnd}).`,
    '',
  );
  if (result.sessions) {
    md.push(
      '**Idle sessions** (one `warden serve`; each session: initialize, notifications/initialized, tools/list, then idle; RSS read 2-3 s after the last one opened; per session = growth over the empty gateway / sessions):',
      '',
      table(
        [
          'upstream',
          'sessions',
          'open s',
          'gateway RSS MB',
          'gateway KB/session',
          'upstream RSS MB',
          'upstream KB/session',
          'tools/call p50 ms',
        ],
        result.sessions.map((r) => [
          r.upstream === 'http' ? 'HTTP (1 process)' : 'stdio (1 process per session)',
          r.sessions,
          r.openSeconds,
          r.gatewayRssMb,
          r.gatewayKbPerSession,
          r.upstreamRssMb,
          r.upstreamKbPerSession,
          r.callP50Ms,
        ]),
      ),
      '',
    );
  }
  if (result.upstreams) {
    md.push(
      `**Upstreams** (stdio upstreams of ${TOOLS_PER_UPSTREAM} tools each on the aggregated endpoint \`/mcp\`; set-up = initialize + notifications/initialized + first tools/list of a fresh session, which starts one process per upstream; tools/list on an open session, raw HTTP client):`,
      '',
      table(
        [
          'target',
          'upstreams',
          'tools',
          'set-up p50 ms',
          'set-up max ms',
          'tools/list p50 ms',
          'p90 ms',
          'p99 ms',
          'gateway RSS MB',
          'upstreams RSS MB',
        ],
        result.upstreams.map((r) => [
          r.target,
          r.upstreams,
          r.tools,
          r.setups === 0 ? undefined : r.setupP50Ms,
          r.setups === 0 ? undefined : r.setupMaxMs,
          r.listP50Ms,
          r.listP90Ms,
          r.listP99Ms,
          r.gatewayRssMb || undefined,
          r.setups === 0 ? undefined : r.upstreamRssMb,
        ]),
      ),
      '',
    );
  }
  if (result.policy) {
    md.push(
      '**Policy size** (compile = schema parse + compile, median of 3; decide() on one core over the mix of bench/decide.ts; tools/call echo through `warden serve` with that policy, 1,000 interleaved sequential calls):',
      '',
      table(
        [
          'rules',
          'compile ms',
          'decide()/s',
          'ns/decision',
          'gateway tools/call p50 ms',
          'p99 ms',
          'gateway RSS MB',
        ],
        result.policy.map((r) => [
          r.rules,
          r.compileMs,
          r.decisionsPerSecond,
          r.nsPerDecision,
          r.gatewayCallP50Ms,
          r.gatewayCallP99Ms,
          r.gatewayRssMb,
        ]),
      ),
      '',
    );
  }
  if (result.audit) {
    md.push(
      '**Audit size** (SQLite file, WAL, default durability; entries appended through `AuditStore.append` in batches of 2,000; queries as `warden audit query --limit 50` runs them, via `recentRecords`, median ms; verify = `verifyStore` over the whole chain):',
      '',
      table(
        [
          'entries',
          'fill entries/s',
          'DB MB',
          'recent 50 ms',
          'tool= ms',
          'decision=denied ms',
          'tool+decision ms',
          'decision=hidden ms',
          'verify ms',
          'verify entries/s',
        ],
        result.audit.map((r) => [
          r.entries,
          r.fillPerSecond,
          r.dbMb,
          r.recentMs,
          r.byToolMs,
          r.byDecisionMs,
          r.byToolAndDecisionMs,
          r.rareDecisionMs,
          r.verifyMs,
          r.verifyPerSecond,
        ]),
      ),
      '',
    );
  }
  mkdirSync(RESULTS_DIR, { recursive: true });
  // A partial run (SCALING_ONLY) writes its own files and no charts: the full run's stay as they were.
  const base = ONLY === undefined ? 'scaling' : `scaling-${ONLY.join('-')}`;
  const files = [join(RESULTS_DIR, `${base}.json`), join(RESULTS_DIR, `${base}.md`)];
  writeFileSync(files[0]!, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(files[1]!, `${md.join('\n')}\n`);
  const charts = ONLY === undefined ? drawCharts(result, subtitleOf(report)) : [];
  for (const [name, svg] of charts) {
    writeFileSync(join(RESULTS_DIR, name), svg);
    files.push(join(RESULTS_DIR, name));
  }
  try {
    execFileSync(join(ROOT, 'node_modules', '.bin', 'biome'), ['format', '--write', ...files], {
      cwd: ROOT,
      stdio: 'ignore',
      timeout: 60_000,
    });
  } catch (err) {
    log(`could not format results with biome: ${(err as Error).message}`);
  }
  process.stdout.write(readFileSync(files[1]!, 'utf8'));
  log(`wrote ${files.map((f) => f.slice(ROOT.length + 1)).join(', ')} in ${report.wallSeconds} s`);
}

/** `SCALING_REDRAW=1`: redraws the charts from bench/results/scaling.json without measuring anything. */
function redraw(): void {
  const report = JSON.parse(readFileSync(join(RESULTS_DIR, 'scaling.json'), 'utf8')) as ScalingResult & {
    date: string;
    machine: { cpu: string; cores: number; node: string };
  };
  for (const [name, svg] of drawCharts(report, subtitleOf(report))) {
    writeFileSync(join(RESULTS_DIR, name), svg);
    log(`wrote bench/results/${name}`);
  }
}

(process.env.SCALING_REDRAW === '1' ? Promise.resolve().then(redraw) : main())
  .catch((err: unknown) => {
    log(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exitCode = 1;
  })
  .finally(() => clearTimeout(hardLimit));
