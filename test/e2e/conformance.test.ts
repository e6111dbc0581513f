// E2E: the official MCP conformance suite against the fixture and server-everything, directly (vs baselines) and through the gateway (parity).
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Baseline,
  type ConformanceRun,
  compareParity,
  compareWithBaseline,
  describeChecks,
  failedChecks,
  loadBaseline,
  passedChecks,
  runConformanceDetailed,
} from '../conformance/run-suite.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const FIXTURE = path.join(ROOT, 'test/fixtures/conformance-server.ts');
const EVERYTHING = path.join(ROOT, 'node_modules/@modelcontextprotocol/server-everything/dist/index.js');
const GATEWAY_CLI = path.join(ROOT, 'dist/cli/main.js');
const BASELINE_DIR = path.join(ROOT, 'test/conformance');

const TEST_TIMEOUT = 180_000;
/** Budget for one suite run; leaves headroom inside TEST_TIMEOUT for process start/stop. */
const SUITE_TIMEOUT = 140_000;
const START_TIMEOUT = 30_000;

// ---------------------------------------------------------------------------------------------
// Process helpers

interface Started {
  child: ChildProcess;
  match: RegExpExecArray;
  stderr: () => string;
  stop: () => Promise<void>;
}

/** Stop functions of every process spawned by this file (all stopped in afterAll). */
const running = new Set<() => Promise<void>>();

/** Spawns a process and resolves once its stderr matches `ready` (patterns end in a newline: whole lines only). */
function start(
  label: string,
  command: string,
  args: string[],
  ready: RegExp,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Started> {
  const child = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const stop = async () => {
    running.delete(stop);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const killTimer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(killTimer);
    }
  };
  running.add(stop);
  let stderr = '';
  return new Promise((resolve, reject) => {
    let done = false;
    const settle = (err: Error | undefined, match?: RegExpExecArray) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (match) {
        resolve({ child, match, stderr: () => stderr, stop });
      } else {
        void stop();
        reject(err);
      }
    };
    const timer = setTimeout(
      () => settle(new Error(`${label} did not become ready within ${START_TIMEOUT} ms; stderr:\n${stderr}`)),
      START_TIMEOUT,
    );
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr = `${stderr}${chunk.toString('utf8')}`.slice(-50_000);
      const m = ready.exec(stderr);
      if (m) settle(undefined, m);
    });
    child.once('error', (err) => settle(new Error(`${label} failed to start: ${err.message}`)));
    child.once('exit', (code, signal) =>
      settle(new Error(`${label} exited before ready (code ${code}, signal ${signal}); stderr:\n${stderr}`)),
    );
  });
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const address = srv.address();
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('could not allocate a port');
  return address.port;
}

async function startFixtureHttp(): Promise<Started & { url: string }> {
  const s = await start(
    'conformance fixture',
    process.execPath,
    ['--import', 'tsx', FIXTURE, '--port', '0'],
    /^listening (http:\/\/\S+)\r?\n/m,
  );
  return Object.assign(s, { url: s.match[1] as string });
}

async function startEverythingHttp(): Promise<Started & { url: string }> {
  // server-everything takes its port from $PORT only (and echoes $PORT, not the bound port),
  // so pick a free port first.
  const port = await freePort();
  const s = await start(
    'server-everything',
    process.execPath,
    [EVERYTHING, 'streamableHttp'],
    /listening on port (\d+)\r?\n/,
    { ...process.env, PORT: String(port) },
  );
  return Object.assign(s, { url: `http://127.0.0.1:${port}/mcp` });
}

/** Waits until an MCP endpoint answers initialize + tools/list (upstreams behind the gateway may start lazily). */
async function waitForMcp(url: string, timeoutMs = START_TIMEOUT): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    const client = new Client({ name: 'conformance-e2e-probe', version: '1.0.0' });
    try {
      await client.connect(new StreamableHTTPClientTransport(new URL(url)));
      const { tools } = await client.listTools();
      if (tools.length > 0) return;
      lastError = new Error('tools/list returned no tools');
    } catch (err) {
      lastError = err;
    } finally {
      await client.close().catch(() => {});
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url} not ready within ${timeoutMs} ms: ${String(lastError)}`);
}

// ---------------------------------------------------------------------------------------------
// Direct runs (memoized: the gateway parity tests compare against the same direct results)

type Target = 'fixture' | 'everything';

const directRuns = new Map<Target, Promise<ConformanceRun>>();

function directRun(target: Target): Promise<ConformanceRun> {
  let run = directRuns.get(target);
  if (!run) {
    run = (async () => {
      const server = target === 'fixture' ? await startFixtureHttp() : await startEverythingHttp();
      try {
        return await runConformanceDetailed(server.url, { timeoutMs: SUITE_TIMEOUT });
      } finally {
        await server.stop();
      }
    })();
    directRuns.set(target, run);
  }
  return run;
}

function summary(run: ConformanceRun): string {
  return `${passedChecks(run.results).length} passed, ${failedChecks(run.results).length} failed`;
}

afterAll(async () => {
  await Promise.all([...running].map((stop) => stop()));
});

describe('MCP conformance suite, servers reached directly over Streamable HTTP', () => {
  const cases: Array<[Target, string]> = [
    ['fixture', 'baseline-fixture.json'],
    ['everything', 'baseline-everything.json'],
  ];

  for (const [target, baselineFile] of cases) {
    it(
      `${target}: failures match ${baselineFile}`,
      async () => {
        const baseline: Baseline = await loadBaseline(path.join(BASELINE_DIR, baselineFile));
        const run = await directRun(target);
        expect(run.timedOut, `suite timed out against ${target}:\n${run.output.slice(-5_000)}`).toBe(false);

        const { newFailures, noLongerFailing } = compareWithBaseline(run.results, baseline);
        if (noLongerFailing.length > 0) {
          console.warn(
            `[conformance] ${target}: ${noLongerFailing.length} check(s) in ${baselineFile} no longer fail ` +
              `(refresh the baseline, see test/conformance/README.md):\n${describeChecks(noLongerFailing, run)}`,
          );
        }
        expect(
          newFailures,
          `new failures against ${target} (${summary(run)}):\n${describeChecks(newFailures, run)}`,
        ).toEqual([]);
        expect(passedChecks(run.results).length).toBeGreaterThanOrEqual(baseline.passing);
      },
      TEST_TIMEOUT,
    );
  }
});

// ---------------------------------------------------------------------------------------------
// Through the gateway

const gatewayBuilt = existsSync(GATEWAY_CLI);
const skipGateway = !gatewayBuilt && process.env.CI !== 'true';
if (skipGateway) {
  console.warn(
    `[conformance] SKIPPING gateway parity tests: ${path.relative(ROOT, GATEWAY_CLI)} does not exist ` +
      '(run `npm run build`; under CI=true these tests run and fail instead of skipping).',
  );
}

interface Gateway extends Started {
  mcpUrl: string;
}

async function startGateway(configYaml: string, tmp: string, name: string): Promise<Gateway> {
  if (!existsSync(GATEWAY_CLI)) {
    throw new Error(
      `${GATEWAY_CLI} does not exist: build the gateway (npm run build) before running this test`,
    );
  }
  const configFile = path.join(tmp, `${name}.yaml`);
  // The suite speaks no warden auth: the gateway under test lets anonymous agents in.
  await writeFile(configFile, `${configYaml}\nauth: { anonymous: true }\n`);
  const s = await start(
    `gateway (${name})`,
    process.execPath,
    [GATEWAY_CLI, 'serve', '--config', configFile, '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0'],
    /^listening mcp=(http:\/\/\S+) admin=(http:\/\/\S+)\r?\n/m,
  );
  return Object.assign(s, { mcpUrl: (s.match[1] as string).replace(/\/$/, '') });
}

async function expectParity(target: Target, gatewayEndpoint: string, gateway: Started): Promise<void> {
  await waitForMcp(gatewayEndpoint);
  const direct = await directRun(target);
  const via = await runConformanceDetailed(gatewayEndpoint, { timeoutMs: SUITE_TIMEOUT });
  const { violations, notApplicable } = compareParity(direct.results, via.results);
  const explainKeys = (keys: string[]) =>
    keys
      .map((k) => {
        const d = direct.results.get(k) ?? 'missing';
        const g = via.results.get(k) ?? 'missing';
        const msg = via.details.get(k)?.errorMessage ?? direct.details.get(k)?.errorMessage;
        return `  ${k}: direct=${d} gateway=${g}${msg ? ` — ${msg}` : ''}`;
      })
      .join('\n');
  if (notApplicable.length > 0) {
    console.warn(
      `[conformance] ${gatewayEndpoint}: ${notApplicable.length} check(s) pass against ${target} directly but are ` +
        `INFO ("not applicable") through the gateway:\n${explainKeys(notApplicable)}`,
    );
  }
  expect(
    violations,
    `${gatewayEndpoint} loses checks that pass against ${target} directly ` +
      `(direct: ${summary(direct)}; via gateway: ${summary(via)}${via.timedOut ? '; suite TIMED OUT' : ''}):\n` +
      `${explainKeys(violations)}\n--- gateway stderr (tail) ---\n${gateway.stderr().slice(-4_000)}`,
  ).toEqual([]);
}

describe.skipIf(skipGateway)('MCP conformance suite through the gateway (parity with direct runs)', () => {
  let tmp = '';

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'warden-conformance-'));
  });
  afterAll(async () => {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  describe('stdio upstreams', () => {
    let gateway: Gateway | undefined;

    beforeAll(async () => {
      const yaml = [
        'mcpServers:',
        '  fixture:',
        '    command: node',
        `    args: ["--import", "tsx", ${JSON.stringify(FIXTURE)}, "--stdio"]`,
        // `--import tsx` resolves tsx from the child's cwd (default: the config file's directory).
        `    cwd: ${JSON.stringify(ROOT)}`,
        '  everything:',
        '    command: node',
        `    args: [${JSON.stringify(EVERYTHING)}, "stdio"]`,
        `    cwd: ${JSON.stringify(ROOT)}`,
        '',
      ].join('\n');
      gateway = await startGateway(yaml, tmp, 'stdio-upstreams');
    }, 60_000);
    afterAll(async () => {
      await gateway?.stop();
    });

    it(
      '/mcp/fixture passes every check the fixture passes directly',
      async () => {
        if (!gateway) throw new Error('gateway did not start');
        await expectParity('fixture', `${gateway.mcpUrl}/fixture`, gateway);
      },
      TEST_TIMEOUT,
    );

    it(
      '/mcp/everything passes every check server-everything passes directly',
      async () => {
        if (!gateway) throw new Error('gateway did not start');
        await expectParity('everything', `${gateway.mcpUrl}/everything`, gateway);
      },
      TEST_TIMEOUT,
    );
  });

  describe('Streamable HTTP upstream', () => {
    let fixture: (Started & { url: string }) | undefined;
    let gateway: Gateway | undefined;

    beforeAll(async () => {
      fixture = await startFixtureHttp();
      const yaml = ['mcpServers:', '  fixture:', `    url: ${JSON.stringify(fixture.url)}`, ''].join('\n');
      gateway = await startGateway(yaml, tmp, 'http-upstream');
    }, 60_000);
    afterAll(async () => {
      await gateway?.stop();
      await fixture?.stop();
    });

    it(
      '/mcp/fixture passes every check the fixture passes directly',
      async () => {
        if (!gateway) throw new Error('gateway did not start');
        await expectParity('fixture', `${gateway.mcpUrl}/fixture`, gateway);
      },
      TEST_TIMEOUT,
    );
  });
});
