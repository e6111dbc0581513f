// `npm run bench:eras`: what warden's own request path costs in each protocol era, with the client held equal. One
// `warden serve` (built CLI) in front of the echo server (stdio child, 2025), one raw HTTP client (node:http, one
// kept-alive connection, no SDK) that sends the same tools/call either as a 2025 request (in an initialized session)
// or as a 2026-07-28 request (no session, the envelope in `_meta`, Mcp-Method/Mcp-Name headers). Rounds alternate the
// eras; the gateway's own CPU (its process, not the child) per call and the latency are reported per era. The main
// bench's `warden-2026` target uses the SDK v2 client, whose requests differ from the SDK v1 client's in more than
// the era, so its CPU figure mixes the two clients' habits with warden's path.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { bundleFixture } from './lib/fixtures.js';
import { killAllSync, processCpuTicks, start, stop, systemTicks, waitForLine } from './lib/proc.js';
import { median, round, summarize } from './lib/stats.js';

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 8);
const CALLS = Number(process.env.BENCH_CALLS ?? 3000);
const WARMUP = 1000;
/** BENCH_ONLY=2025|2026: one era only (a profile of one path). */
const ONLY = process.env.BENCH_ONLY;
/** Clock ticks per second of /proc/<pid>/stat (USER_HZ; 100 on Linux). */
const HZ = 100;

type Era = '2025' | '2026';
const agent = new Agent({ keepAlive: true, maxSockets: 1 });

function post(
  url: URL,
  headers: Record<string, string>,
  body: string,
): Promise<{ headers: Record<string, unknown>; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'content-length': Buffer.byteLength(body),
          ...headers,
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          text += c;
        });
        res.on('end', () => {
          if ((res.statusCode ?? 0) >= 300)
            reject(new Error(`HTTP ${res.statusCode}: ${text.slice(0, 200)}`));
          else resolve({ headers: res.headers, text });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function answerOf(text: string): Record<string, unknown> {
  const data = text.startsWith('{')
    ? text
    : text
        .split('\n')
        .find((l) => l.startsWith('data:'))
        ?.slice(5);
  if (data === undefined) throw new Error(`no answer in ${text.slice(0, 200)}`);
  return JSON.parse(data) as Record<string, unknown>;
}

/** A caller of one era: `call()` sends one echo tools/call and checks the answer. */
async function caller(url: URL, era: Era): Promise<() => Promise<void>> {
  let id = 1;
  let headers: Record<string, string>;
  let envelope: Record<string, unknown> | undefined;
  if (era === '2025') {
    const init = await post(
      url,
      {},
      JSON.stringify({
        jsonrpc: '2.0',
        id: 0,
        method: 'initialize',
        params: {
          protocolVersion: '2025-11-25',
          capabilities: {},
          clientInfo: { name: 'bench-eras', version: '1' },
        },
      }),
    );
    const session = init.headers['mcp-session-id'] as string;
    headers = { 'mcp-session-id': session, 'mcp-protocol-version': '2025-11-25' };
    await post(url, headers, JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }));
  } else {
    headers = { 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call', 'mcp-name': 'echo' };
    envelope = {
      'io.modelcontextprotocol/protocolVersion': '2026-07-28',
      'io.modelcontextprotocol/clientCapabilities': {},
      'io.modelcontextprotocol/clientInfo': { name: 'bench-eras', version: '1' },
    };
  }
  return async () => {
    const params: Record<string, unknown> = { name: 'echo', arguments: { text: 'x' } };
    if (envelope !== undefined) params._meta = envelope;
    const { text } = await post(
      url,
      headers,
      JSON.stringify({ jsonrpc: '2.0', id: id++, method: 'tools/call', params }),
    );
    const answer = answerOf(text);
    if (answer.error !== undefined) throw new Error(JSON.stringify(answer.error));
  };
}

async function main(): Promise<void> {
  const tmp = mkdtempSync(join(tmpdir(), 'warden-bench-eras-'));
  try {
    const echoScript = await bundleFixture('echo-server', tmp);
    const dir = join(tmp, 'warden');
    mkdirSync(dir);
    const file = join(dir, 'warden.yaml');
    writeFileSync(
      file,
      JSON.stringify({
        mcpServers: { echo: { command: process.execPath, args: [echoScript] } },
        auth: { anonymous: true },
      }),
    );
    const proc = start({
      name: 'warden',
      command: process.execPath,
      args: [
        // BENCH_CPU_PROF=<dir>: the gateway writes a V8 CPU profile there when it stops (for `--cpu-prof` diffs).
        ...(process.env.BENCH_CPU_PROF
          ? ['--cpu-prof', '--cpu-prof-interval', '250', '--cpu-prof-dir', process.env.BENCH_CPU_PROF]
          : []),
        join(ROOT, 'dist', 'cli', 'main.js'),
        'serve',
        '--config',
        file,
        '--listen',
        '127.0.0.1:0',
        '--admin',
        '127.0.0.1:0',
      ],
      cwd: dir,
    });
    const m = await waitForLine(proc, /listening mcp=(http:\/\/[^\s]+?)\/?\s+admin=/, 30_000);
    const url = new URL(`${m[1]!}/echo`);
    const calls: Record<Era, () => Promise<void>> = {
      '2025': await caller(url, '2025'),
      '2026': await caller(url, '2026'),
    };
    const eras = (['2025', '2026'] as const).filter((e) => ONLY === undefined || ONLY === e);
    for (const era of eras) for (let i = 0; i < WARMUP; i++) await calls[era]();
    const cpu: Record<Era, number[]> = { '2025': [], '2026': [] };
    const latency: Record<Era, number[]> = { '2025': [], '2026': [] };
    const sys0 = systemTicks();
    for (let r = 0; r < ROUNDS; r++) {
      for (const era of (r % 2 === 0 ? ['2025', '2026'] : ['2026', '2025']) as Era[]) {
        if (!eras.includes(era)) continue;
        const before = processCpuTicks(proc.child.pid!);
        for (let i = 0; i < CALLS; i++) {
          const t = performance.now();
          await calls[era]();
          latency[era].push(performance.now() - t);
        }
        cpu[era].push(((processCpuTicks(proc.child.pid!) - before) / HZ / CALLS) * 1e6);
      }
    }
    const sys1 = systemTicks();
    await stop(proc);
    console.log(
      `bench:eras ${new Date().toISOString()} ${ROUNDS} rounds x ${CALLS} calls per era, machine busy ${round(((sys1.busy - sys0.busy) / (sys1.total - sys0.total)) * 2, 2)} of 2 cores`,
    );
    console.log(
      '| era  | warden CPU us/call (median of rounds) | rounds min-max | p50 ms | p90 ms | p99 ms |',
    );
    console.log(
      '| ---- | ------------------------------------: | -------------- | -----: | -----: | -----: |',
    );
    for (const era of ['2025', '2026'] as const) {
      const s = summarize([...latency[era]].sort((a, b) => a - b));
      const c = [...cpu[era]].sort((a, b) => a - b);
      console.log(
        `| ${era} | ${round(median(c), 1)} | ${round(c[0]!, 1)}-${round(c[c.length - 1]!, 1)} | ${round(s.p50, 3)} | ${round(s.p90, 3)} | ${round(s.p99, 3)} |`,
      );
    }
    console.log(`2026 / 2025 CPU: ${round(median(cpu['2026']) / median(cpu['2025']), 3)}x`);
  } finally {
    killAllSync();
    rmSync(tmp, { recursive: true, force: true });
    agent.destroy();
  }
}

await main();
