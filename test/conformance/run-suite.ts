// Harness around the official MCP conformance suite (server mode): runs it against a URL and returns one result per check.
//
// Library use:   const results = await runConformance('http://127.0.0.1:1234/mcp');
// CLI use:       node --import tsx test/conformance/run-suite.ts <url> [--scenario <name>]... [--details]
//                  [--write-baseline <file.json> [--target <description>]]
//
// How the suite reports: `conformance server --url <u> --suite all -o <dir>` runs every server
// scenario in sequence and writes `<dir>/server-<scenario>-<ISO timestamp>/checks.json` (an
// array of {id, name, description, status: SUCCESS|FAILURE|WARNING|INFO, errorMessage?, ...})
// for each scenario that completed; its exit code is 1 when any check failed. A scenario that
// throws produces no file (the suite only prints a synthetic FAILURE check whose id is the
// scenario name); this harness records the same synthetic `<scenario>/<scenario>` failure.
//
// Node 20: the suite's bundle imports `globSync` from 'fs' (Node 22+), so it is started with
// `--import ./node20-shim.mjs`, which supplies it (no-op on Node >= 22). See README.md.
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export type CheckStatus = 'pass' | 'fail' | 'warning' | 'info' | 'skipped';

export interface CheckDetail {
  scenario: string;
  id: string;
  status: CheckStatus;
  description?: string;
  errorMessage?: string;
}

export interface ConformanceOptions {
  /** Scenario names to run (default: every server scenario the suite knows, i.e. `--suite all`). */
  scenarios?: string[];
  /** Overall time budget for the suite process(es); scenarios without results by then count as failed. */
  timeoutMs?: number;
  /** Keep the suite's raw checks.json files in this directory instead of a removed temp dir. */
  outputDir?: string;
}

export interface ConformanceRun {
  /** `<scenario>/<check id>` -> status (worst status when the suite repeats an id within a scenario). */
  results: Map<string, CheckStatus>;
  details: Map<string, CheckDetail>;
  scenarios: string[];
  /** Combined stdout+stderr of the suite process(es), truncated to the last 200 kB. */
  output: string;
  timedOut: boolean;
}

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const NODE20_SHIM = path.join(HERE, 'node20-shim.mjs');
const requireFromHere = createRequire(import.meta.url);
export const CONFORMANCE_BIN = path.join(
  path.dirname(requireFromHere.resolve('@modelcontextprotocol/conformance/package.json')),
  'dist',
  'index.js',
);
/** The newer suite installed beside the pinned one (npm alias): its 2026-07-28 server scenarios (conformance-2026). */
export const CONFORMANCE_NEXT_BIN = path.join(
  path.dirname(requireFromHere.resolve('@modelcontextprotocol/conformance-next/package.json')),
  'dist',
  'index.js',
);
export const CONFORMANCE_NEXT_VERSION: string = (
  requireFromHere('@modelcontextprotocol/conformance-next/package.json') as { version: string }
).version;
export const CONFORMANCE_VERSION: string = (
  requireFromHere('@modelcontextprotocol/conformance/package.json') as { version: string }
).version;

const DEFAULT_TIMEOUT_MS = 150_000;
const MAX_OUTPUT_CHARS = 200_000;
const RESULT_DIR_RE = /^server-(.+)-(\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z)$/;

const SEVERITY: Record<CheckStatus, number> = { fail: 4, warning: 3, pass: 2, skipped: 1, info: 0 };

function toStatus(raw: unknown): CheckStatus {
  switch (raw) {
    case 'SUCCESS':
      return 'pass';
    case 'FAILURE':
      return 'fail';
    case 'WARNING':
      return 'warning';
    case 'SKIPPED':
      return 'skipped';
    default:
      return 'info';
  }
}

interface ProcessResult {
  code: number | null;
  output: string;
  timedOut: boolean;
}

/** Runs the suite CLI (through the Node 20 shim) and captures its output. */
export function runSuiteCli(
  args: string[],
  timeoutMs: number = DEFAULT_TIMEOUT_MS,
  bin: string = CONFORMANCE_BIN,
): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', pathToFileURL(NODE20_SHIM).href, bin, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
    });
    let output = '';
    const append = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (output.length > MAX_OUTPUT_CHARS * 2) output = output.slice(-MAX_OUTPUT_CHARS);
    };
    child.stdout.on('data', append);
    child.stderr.on('data', append);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output: output.slice(-MAX_OUTPUT_CHARS), timedOut });
    });
  });
}

let scenarioListCache: Promise<string[]> | undefined;

/** Every server scenario the installed suite knows (`conformance list --server`). */
export function listServerScenarios(): Promise<string[]> {
  scenarioListCache ??= runSuiteCli(['list', '--server'], 60_000).then(({ code, output }) => {
    const names = [...output.matchAll(/^\s+- (\S+)/gm)].map((m) => m[1] as string);
    if (code !== 0 || names.length === 0) {
      throw new Error(`conformance list --server failed (exit ${code}):\n${output}`);
    }
    return names;
  });
  return scenarioListCache;
}

export async function collectResults(
  outDir: string,
  scenarios: readonly string[],
): Promise<{ results: Map<string, CheckStatus>; details: Map<string, CheckDetail> }> {
  const results = new Map<string, CheckStatus>();
  const details = new Map<string, CheckDetail>();
  const seen = new Set<string>();
  const entries = await readdir(outDir, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    const scenario = entry.isDirectory() ? RESULT_DIR_RE.exec(entry.name)?.[1] : undefined;
    if (scenario === undefined || !scenarios.includes(scenario)) continue;
    let checks: unknown;
    try {
      checks = JSON.parse(await readFile(path.join(outDir, entry.name, 'checks.json'), 'utf8'));
    } catch {
      continue;
    }
    if (!Array.isArray(checks)) continue;
    seen.add(scenario);
    for (const raw of checks as Array<Record<string, unknown>>) {
      const id = String(raw.id ?? raw.name ?? 'unknown');
      const key = `${scenario}/${id}`;
      const status = toStatus(raw.status);
      const previous = results.get(key);
      if (previous !== undefined && SEVERITY[previous] >= SEVERITY[status]) continue;
      results.set(key, status);
      details.set(key, {
        scenario,
        id,
        status,
        description: typeof raw.description === 'string' ? raw.description : undefined,
        errorMessage: typeof raw.errorMessage === 'string' ? raw.errorMessage : undefined,
      });
    }
  }
  for (const scenario of scenarios) {
    if (seen.has(scenario)) continue;
    const key = `${scenario}/${scenario}`;
    results.set(key, 'fail');
    details.set(key, {
      scenario,
      id: scenario,
      status: 'fail',
      errorMessage: 'Scenario produced no results (it threw, crashed or timed out; see suite output)',
    });
  }
  return { results, details };
}

/** Runs the suite against `url` and returns every check with its details and the raw output. */
export async function runConformanceDetailed(
  url: string,
  opts: ConformanceOptions = {},
): Promise<ConformanceRun> {
  const all = await listServerScenarios();
  const scenarios = opts.scenarios ?? all;
  const unknown = scenarios.filter((s) => !all.includes(s));
  if (unknown.length > 0) throw new Error(`Unknown conformance scenario(s): ${unknown.join(', ')}`);

  const deadline = Date.now() + (opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  const outDir = opts.outputDir ?? (await mkdtemp(path.join(os.tmpdir(), 'mcp-conformance-')));
  if (opts.outputDir) await mkdir(opts.outputDir, { recursive: true });
  let output = '';
  let timedOut = false;
  try {
    if (opts.scenarios === undefined) {
      const r = await runSuiteCli(
        ['server', '--url', url, '--suite', 'all', '-o', outDir],
        deadline - Date.now(),
      );
      output = r.output;
      timedOut = r.timedOut;
    } else {
      for (const scenario of scenarios) {
        const remaining = deadline - Date.now();
        if (remaining <= 0) {
          timedOut = true;
          break;
        }
        const r = await runSuiteCli(
          ['server', '--url', url, '--scenario', scenario, '-o', outDir],
          remaining,
        );
        output = `${output}${r.output}`.slice(-MAX_OUTPUT_CHARS);
        timedOut ||= r.timedOut;
      }
    }
    const { results, details } = await collectResults(outDir, scenarios);
    return { results, details, scenarios: [...scenarios], output, timedOut };
  } finally {
    if (!opts.outputDir) await rm(outDir, { recursive: true, force: true });
  }
}

/** Runs the suite against `url`; returns `<scenario>/<check id>` -> status for every check. */
export async function runConformance(
  url: string,
  opts?: ConformanceOptions,
): Promise<Map<string, CheckStatus>> {
  return (await runConformanceDetailed(url, opts)).results;
}

// ---------------------------------------------------------------------------------------------
// Baselines and comparisons

export interface Baseline {
  $comment?: string;
  target: string;
  suite: string;
  /** Checks that passed when the baseline was recorded (informational). */
  passing: number;
  /** `<scenario>/<check id>` -> one-line reason. */
  expectedFailures: Record<string, string>;
}

export async function loadBaseline(file: string): Promise<Baseline> {
  return JSON.parse(await readFile(file, 'utf8')) as Baseline;
}

export function failedChecks(results: Map<string, CheckStatus>): string[] {
  return [...results].filter(([, s]) => s === 'fail').map(([k]) => k);
}

export function passedChecks(results: Map<string, CheckStatus>): string[] {
  return [...results].filter(([, s]) => s === 'pass').map(([k]) => k);
}

export interface BaselineComparison {
  /** Failing now but not listed in the baseline. */
  newFailures: string[];
  /** Listed in the baseline but not failing any more (passing, or no longer reported). */
  noLongerFailing: string[];
}

export function compareWithBaseline(
  results: Map<string, CheckStatus>,
  baseline: Baseline,
): BaselineComparison {
  const expected = new Set(Object.keys(baseline.expectedFailures));
  return {
    newFailures: failedChecks(results).filter((k) => !expected.has(k)),
    noLongerFailing: [...expected].filter((k) => results.get(k) !== 'fail'),
  };
}

export interface ParityResult {
  /** Pass directly but fail, warn or are missing through the gateway; or fail only through the gateway. */
  violations: string[];
  /**
   * Pass directly, INFO through the gateway. The suite uses INFO for "not applicable" outcomes
   * (e.g. server-sse-streams-functional is INFO when the server answers POSTs with JSON instead
   * of SSE, which the spec allows), so these are reported, not counted as violations.
   */
  notApplicable: string[];
}

/**
 * Compares a run through the gateway with a direct run of the same server: every check that
 * passes directly must pass through the gateway, and the gateway's failures must be a subset
 * of the direct failures.
 */
export function compareParity(
  direct: Map<string, CheckStatus>,
  viaGateway: Map<string, CheckStatus>,
): ParityResult {
  const violations = new Set<string>();
  const notApplicable = new Set<string>();
  for (const [key, status] of direct) {
    if (status !== 'pass') continue;
    const via = viaGateway.get(key);
    if (via === 'info') notApplicable.add(key);
    else if (via !== 'pass') violations.add(key);
  }
  for (const [key, status] of viaGateway) {
    if (status === 'fail' && direct.get(key) !== 'fail') violations.add(key);
  }
  return { violations: [...violations].sort(), notApplicable: [...notApplicable].sort() };
}

/** Human-readable lines `key: status — errorMessage` for a list of keys (for assertion messages). */
export function describeChecks(keys: string[], run: Pick<ConformanceRun, 'results' | 'details'>): string {
  return keys
    .map((k) => {
      const status = run.results.get(k) ?? 'missing';
      const msg = run.details.get(k)?.errorMessage;
      return `  ${k}: ${status}${msg ? ` — ${msg}` : ''}`;
    })
    .join('\n');
}

// ---------------------------------------------------------------------------------------------
// CLI

function sortedObject<V>(entries: Iterable<[string, V]>): Record<string, V> {
  return Object.fromEntries([...entries].sort(([a], [b]) => a.localeCompare(b)));
}

async function writeBaseline(file: string, target: string, run: ConformanceRun): Promise<void> {
  let previous: Record<string, string> = {};
  let comment: string | undefined;
  try {
    const old = await loadBaseline(file);
    previous = old.expectedFailures;
    comment = old.$comment;
  } catch {
    // no previous baseline
  }
  const failures = failedChecks(run.results).map((key): [string, string] => [
    key,
    previous[key] ?? `TODO explain: ${run.details.get(key)?.errorMessage ?? 'failed'}`,
  ]);
  const baseline: Baseline = {
    $comment:
      comment ??
      'Checks of the official MCP conformance suite that FAIL when run directly against this target. ' +
        'Refresh: see test/conformance/README.md.',
    target,
    suite: `@modelcontextprotocol/conformance@${CONFORMANCE_VERSION} server --suite all`,
    passing: passedChecks(run.results).length,
    expectedFailures: sortedObject(failures),
  };
  await writeFile(file, `${JSON.stringify(baseline, null, 2)}\n`);
}

async function main(argv: string[]): Promise<number> {
  const scenarios: string[] = [];
  let url: string | undefined;
  let baselineFile: string | undefined;
  let target: string | undefined;
  let showDetails = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--scenario') scenarios.push(argv[++i] ?? '');
    else if (arg === '--write-baseline') baselineFile = argv[++i];
    else if (arg === '--target') target = argv[++i];
    else if (arg === '--details') showDetails = true;
    else if (!arg.startsWith('-') && url === undefined) url = arg;
    else {
      url = undefined;
      break;
    }
  }
  if (url === undefined) {
    process.stderr.write(
      'usage: node --import tsx test/conformance/run-suite.ts <url> [--scenario <name>]... [--details]\n' +
        '         [--write-baseline <file.json> [--target <description>]]\n',
    );
    return 2;
  }
  const run = await runConformanceDetailed(url, scenarios.length > 0 ? { scenarios } : {});
  if (run.timedOut) process.stderr.write('warning: the conformance suite timed out\n');
  const printable = showDetails ? sortedObject(run.details) : sortedObject(run.results);
  process.stdout.write(`${JSON.stringify(printable, null, 2)}\n`);
  const failed = failedChecks(run.results);
  process.stderr.write(
    `${passedChecks(run.results).length} passed, ${failed.length} failed, ${run.results.size} checks in ${run.scenarios.length} scenarios\n`,
  );
  if (baselineFile !== undefined) {
    await writeBaseline(baselineFile, target ?? url, run);
    process.stderr.write(`baseline written to ${baselineFile}\n`);
  }
  return failed.length > 0 ? 1 : 0;
}

const isEntryPoint = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isEntryPoint) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 2;
    },
  );
}
