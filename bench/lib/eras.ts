// What warden's own request path costs in each protocol era, with the client held equal (`npm run bench:eras`, and a
// section of `npm run bench`). One `warden serve` (built CLI) in front of the echo server (stdio child, 2025), one raw
// HTTP client (node:http, one kept-alive connection, no SDK) that sends the same tools/call either as a 2025 request (in an initialized session)
// or as a 2026-07-28 request (no session, the envelope in `_meta`, Mcp-Method/Mcp-Name headers). Rounds alternate the
// eras; the gateway's own CPU (its process, not the child) per call and the latency are reported per era. The main
// bench's `warden-2026` target uses the SDK v2 client, whose requests differ from the SDK v1 client's in more than
// the era, so its CPU figure mixes the two clients' habits with warden's path.
import { mkdirSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { processCpuTicks, start, stop, systemTicks, waitForLine } from './proc.js';
import { median, round, summarize } from './stats.js';
import { wardenServeArgs } from './targets.js';

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ; 100 on Linux). */
const HZ = 100;

export type Era = '2025' | '2026';
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

export interface ErasOptions {
  /** Repository root (dist/ is the gateway run). */
  root: string;
  /** A scratch directory of the caller's. */
  tmp: string;
  /** The bundled echo server (bench/lib/fixtures.ts). */
  echoScript: string;
  rounds: number;
  calls: number;
  warmup: number;
  /** One era only (a profile of one path). */
  only?: Era;
  /** The gateway writes a V8 CPU profile into this directory when it stops. */
  cpuProfileDir?: string;
}

export interface EraRow {
  era: Era;
  /** The gateway's own CPU per call, median of rounds, and the rounds' least and most. */
  cpuUs: number;
  cpuMinUs: number;
  cpuMaxUs: number;
  p50: number;
  p90: number;
  p99: number;
}

export interface ErasResult {
  rows: EraRow[];
  /**
   * 2026 over 2025, gateway CPU per call: the median over rounds of each round's own ratio (the two eras run back to
   * back in a round, so a busy spell of the machine weighs on both sides of one ratio); NaN when one era did not run.
   */
  ratio: number;
  /** Share of the machine's 2 cores busy meanwhile (the bench's own processes included). */
  busyCores: number;
  markdown: string;
}

export async function compareEras(o: ErasOptions): Promise<ErasResult> {
  const dir = join(o.tmp, 'warden-eras');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'warden.yaml');
  writeFileSync(
    file,
    JSON.stringify({
      mcpServers: { echo: { command: process.execPath, args: [o.echoScript] } },
      auth: { anonymous: true },
    }),
  );
  const proc = start({
    name: 'warden-eras',
    command: process.execPath,
    args: [
      ...(o.cpuProfileDir === undefined
        ? []
        : ['--cpu-prof', '--cpu-prof-interval', '250', '--cpu-prof-dir', o.cpuProfileDir]),
      ...wardenServeArgs(o.root, file),
    ],
    cwd: dir,
  });
  try {
    const m = await waitForLine(proc, /listening mcp=(http:\/\/[^\s]+?)\/?\s+admin=/, 30_000);
    const url = new URL(`${m[1]!}/echo`);
    const eras = (['2025', '2026'] as const).filter((e) => o.only === undefined || o.only === e);
    const calls = new Map<Era, () => Promise<void>>();
    for (const era of eras) calls.set(era, await caller(url, era));
    for (const era of eras) for (let i = 0; i < o.warmup; i++) await calls.get(era)!();
    const cpu: Record<Era, number[]> = { '2025': [], '2026': [] };
    const latency: Record<Era, number[]> = { '2025': [], '2026': [] };
    const sys0 = systemTicks();
    for (let r = 0; r < o.rounds; r++) {
      for (const era of r % 2 === 0 ? eras : [...eras].reverse()) {
        const call = calls.get(era)!;
        const before = processCpuTicks(proc.child.pid!);
        for (let i = 0; i < o.calls; i++) {
          const t = performance.now();
          await call();
          latency[era].push(performance.now() - t);
        }
        cpu[era].push(((processCpuTicks(proc.child.pid!) - before) / HZ / o.calls) * 1e6);
      }
    }
    const sys1 = systemTicks();
    const rows: EraRow[] = eras.map((era) => {
      const s = summarize(latency[era]);
      const c = [...cpu[era]].sort((a, b) => a - b);
      return {
        era,
        cpuUs: round(median(c), 1),
        cpuMinUs: round(c[0]!, 1),
        cpuMaxUs: round(c[c.length - 1]!, 1),
        p50: round(s.p50, 3),
        p90: round(s.p90, 3),
        p99: round(s.p99, 3),
      };
    });
    const ratio = round(median(cpu['2026'].map((c, r) => c / cpu['2025'][r]!)), 3);
    const busyCores = round(((sys1.busy - sys0.busy) / (sys1.total - sys0.total)) * 2, 2);
    const markdown = [
      `${o.rounds} interleaved rounds x ${o.calls} sequential tools/call per era, one raw client (node:http, kept-alive), warden's own process CPU (not its echo child); machine busy ${busyCores} of 2 cores (the bench included).`,
      '',
      '| era  | warden CPU us/call | rounds min-max | p50 ms | p90 ms | p99 ms |',
      '| ---- | -----------------: | -------------- | -----: | -----: | -----: |',
      ...rows.map(
        (r) => `| ${r.era} | ${r.cpuUs} | ${r.cpuMinUs}-${r.cpuMaxUs} | ${r.p50} | ${r.p90} | ${r.p99} |`,
      ),
      '',
      `2026 / 2025, warden CPU per call (median of the rounds' own ratios): ${ratio}x (target: at most 1)`,
    ].join('\n');
    return { rows, ratio, busyCores, markdown };
  } finally {
    await stop(proc);
  }
}

/** Closes the client's kept-alive connection (at the end of a run). */
export function closeErasClient(): void {
  agent.destroy();
}
