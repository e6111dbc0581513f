// Client-side load generation: SDK Client over Streamable HTTP, sequential latency and concurrent throughput.
import { performance } from 'node:perf_hooks';
import { Client as ClientV2, StreamableHTTPClientTransport as HttpV2 } from '@modelcontextprotocol/client';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';

const CALL_TIMEOUT_MS = 15_000;
const PAYLOAD = 'x'.repeat(48);

/**
 * The SDK transport passes one session-wide AbortSignal to every fetch; undici registers an abort listener on it
 * per request and only drops it when the request is garbage-collected, so at thousands of calls per second the
 * listener list grows past 1500 and Node prints a MaxListenersExceededWarning per call, which then dominates the
 * client's CPU. POST/DELETE requests are bounded by the per-call timeout anyway, so they go without the shared
 * signal; the long-lived GET stream keeps it so closing the client still aborts it.
 */
const benchFetch: FetchLike = (url, init) => {
  if (init?.method === 'GET' || init?.signal === undefined) return fetch(url, init);
  const { signal: _shared, ...rest } = init;
  return fetch(url, rest);
};

/** What the measurements use of a client, the same for the SDK v1 client (2025) and the v2 client (2026). */
export interface BenchClient {
  callTool(params: { name: string; arguments: Record<string, unknown> }): Promise<Record<string, unknown>>;
  listTools(): Promise<{ tools: Array<{ name: string }> }>;
  /** Ends the session where the era has one (2025: DELETE), then closes the client. */
  close(): Promise<void>;
}

export interface Session {
  client: BenchClient;
  counter: number;
}

/** A connected client of either era; `era: '2026'` is the SDK v2 client pinned to 2026-07-28. */
async function connectClient(
  url: string,
  headers?: Record<string, string>,
  era?: '2026',
): Promise<BenchClient> {
  const requestInit = headers === undefined ? undefined : { headers };
  if (era === '2026') {
    const client = new ClientV2(
      { name: 'mcp-warden-bench', version: '1.0.0' },
      { versionNegotiation: { mode: { pin: '2026-07-28' } } },
    );
    await client.connect(new HttpV2(new URL(url), { fetch: benchFetch, requestInit }), {
      timeout: CALL_TIMEOUT_MS,
    });
    return {
      callTool: (params) =>
        client.callTool(params, { timeout: CALL_TIMEOUT_MS }) as Promise<Record<string, unknown>>,
      listTools: () => client.listTools(undefined, { timeout: CALL_TIMEOUT_MS }),
      close: () => client.close().catch(() => undefined),
    };
  }
  const transport = new StreamableHTTPClientTransport(new URL(url), { fetch: benchFetch, requestInit });
  const client = new Client({ name: 'mcp-warden-bench', version: '1.0.0' });
  await client.connect(transport, { timeout: CALL_TIMEOUT_MS });
  return {
    callTool: (params) =>
      client.callTool(params, undefined, { timeout: CALL_TIMEOUT_MS }) as Promise<Record<string, unknown>>,
    listTools: () => client.listTools(undefined, { timeout: CALL_TIMEOUT_MS }),
    close: async () => {
      try {
        await transport.terminateSession();
      } catch {
        // Target may already be gone; closing below is what matters.
      }
      await client.close().catch(() => undefined);
    },
  };
}

/** Opens one MCP session (with `headers` on every request) and checks that the `echo` tool is listed. */
export async function openSession(
  url: string,
  headers?: Record<string, string>,
  era?: '2026',
): Promise<Session> {
  const client = await connectClient(url, headers, era);
  const { tools } = await client.listTools();
  if (!tools.some((t) => t.name === 'echo')) {
    throw new Error(`no echo tool at ${url}; got ${tools.map((t) => t.name).join(', ')}`);
  }
  return { client, counter: 0 };
}

export async function closeSession(session: Session): Promise<void> {
  await session.client.close();
}

/** One `tools/call echo`; returns latency in ms, throws if the call fails or the echo is wrong. */
export async function callEcho(session: Session): Promise<number> {
  session.counter += 1;
  const text = `${PAYLOAD}-${session.counter}`;
  const t0 = performance.now();
  const result = await session.client.callTool({ name: 'echo', arguments: { text } });
  const elapsed = performance.now() - t0;
  const content = result.content as Array<{ type: string; text?: string }> | undefined;
  const first = content?.[0];
  if (result.isError === true || first?.type !== 'text' || first.text !== text) {
    throw new Error(`bad echo result: ${JSON.stringify(result).slice(0, 200)}`);
  }
  return elapsed;
}

export interface SequentialResult {
  samples: number[];
  errors: number;
  firstError?: string;
}

/** `count` calls one after another (bounded also by `maxMs`); every successful latency is kept. */
export async function runSequential(
  session: Session,
  count: number,
  maxMs: number,
): Promise<SequentialResult> {
  const samples: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  const deadline = performance.now() + maxMs;
  for (let i = 0; i < count && performance.now() < deadline; i++) {
    try {
      samples.push(await callEcho(session));
    } catch (err) {
      errors += 1;
      firstError ??= err instanceof Error ? err.message : String(err);
    }
  }
  return { samples, errors, firstError };
}

export interface ThroughputResult {
  concurrency: number;
  calls: number;
  errors: number;
  seconds: number;
  latencies: number[];
  firstError?: string;
}

/** `concurrency` workers each issue calls back-to-back until `durationMs` passes or `maxCalls` are started. */
export async function runThroughput(
  session: Session,
  concurrency: number,
  durationMs: number,
  maxCalls: number,
): Promise<ThroughputResult> {
  const latencies: number[] = [];
  let started = 0;
  let errors = 0;
  let firstError: string | undefined;
  const t0 = performance.now();
  const deadline = t0 + durationMs;
  const worker = async (): Promise<void> => {
    while (performance.now() < deadline && started < maxCalls) {
      started += 1;
      try {
        latencies.push(await callEcho(session));
      } catch (err) {
        errors += 1;
        firstError ??= err instanceof Error ? err.message : String(err);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, () => worker()));
  const seconds = (performance.now() - t0) / 1000;
  return { concurrency, calls: latencies.length, errors, seconds, latencies, firstError };
}

/**
 * Session set-up as an agent sees it: `initialize`, `notifications/initialized` and the first `tools/list`, with
 * a fresh SDK client; returns the wall time in ms. The session is terminated afterwards (not timed).
 */
export async function timeSessionSetup(
  url: string,
  headers?: Record<string, string>,
  era?: '2026',
): Promise<{ ms: number; tools: number }> {
  const t0 = performance.now();
  const client = await connectClient(url, headers, era);
  try {
    const { tools } = await client.listTools();
    const ms = performance.now() - t0;
    return { ms, tools: tools.length };
  } finally {
    await client.close();
  }
}

/** `count` sequential `tools/list` calls on an open session; returns each latency in ms and the tool count. */
export async function timeToolsList(
  session: Session,
  count: number,
  maxMs: number,
): Promise<{ samples: number[]; tools: number }> {
  const samples: number[] = [];
  let tools = 0;
  const deadline = performance.now() + maxMs;
  for (let i = 0; i < count && performance.now() < deadline; i++) {
    const t0 = performance.now();
    const result = await session.client.listTools();
    samples.push(performance.now() - t0);
    tools = result.tools.length;
  }
  return { samples, tools };
}
