// The start-up check of `warden serve`: starts each upstream once and lists its tools through warden's own transports
// (not the SDK client, which a default gateway never loads), keeping the cause line of a failed server's stderr.
import pino from 'pino';
import type { UpstreamSpec } from '../config/resolve.js';
import { requestHeaders } from '../era/upstream-headers.js';
import { envelope, knownEra, readDiscover } from '../era/upstream-modern.js';
import { ERA_2025, ERA_2026 } from '../era/versions.js';
import { createHttpClientTransport } from '../transport/http-client.js';
import type { JsonRpcMessage } from '../transport/jsonrpc.js';
import type { MessageTransport } from '../transport/types.js';
import { VERSION } from '../version.js';
import { causeLine, maskConfigured, type UpstreamListing } from './listing.js';
import { defaultTransport } from './upstream.js';

const PARALLEL = 4;

/** Lists one upstream in its era (2026: server/discover; 2025: initialize), then every page of tools/list; closed afterwards. */
async function listOne(spec: UpstreamSpec): Promise<UpstreamListing> {
  const stderr: string[] = [];
  // The child's stderr lines come to this logger (stdio-client.ts logs them), not to the gateway's log.
  const capture = pino(
    { level: 'info' },
    {
      write(line: string) {
        try {
          const entry = JSON.parse(line) as { stderr?: unknown };
          if (typeof entry.stderr === 'string') stderr.push(entry.stderr);
          if (stderr.length > 50) stderr.shift();
        } catch {
          // not a line of ours
        }
      },
    },
  );
  let timer: NodeJS.Timeout | undefined;
  // Once the check has given up (or ended), nothing more is opened: a 2025 fallback after the timeout would open a
  // session nobody closes.
  let over = false;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      over = true;
      reject(new Error(`no answer within ${spec.startTimeoutMs / 1000} s`));
    }, spec.startTimeoutMs);
  });
  const open: Connection[] = [];
  const connect = (modern: boolean): Connection => {
    if (over) throw new Error('the start-up check is over');
    const c = connection(
      modern && spec.kind === 'http'
        ? createHttpClientTransport(spec.url ?? '', spec.headers, {
            modern: { headersFor: (m) => ('method' in m ? requestHeaders(m.method, m.params) : {}) },
          })
        : defaultTransport(spec, () => capture),
    );
    open.push(c);
    return c;
  };
  try {
    const names = await Promise.race([
      (async () => {
        // An HTTP upstream not known as 2025 is asked in 2026 first (server/discover, no initialize); one pinned to
        // 2026 only so (a stdio one too); under `auto`, an upstream that is no 2026 server is then listed in 2025.
        if (spec.kind !== 'sse' && knownEra(spec) !== ERA_2025) {
          const modern = await listModern(connect(true)).catch((err: unknown) => {
            if (spec.protocol === ERA_2026)
              throw new Error(
                `server/discover or tools/list in ${ERA_2026} failed: ${(err as Error).message}`,
              );
            return undefined;
          });
          if (modern !== undefined) return modern;
        }
        return listLegacy(connect(false));
      })(),
      timeout,
    ]);
    return { server: spec.id, tools: names };
  } catch (err) {
    // What the child wrote before it died may arrive after the error: a moment for the pipe to drain.
    await new Promise((r) => setTimeout(r, 100));
    const e = err as Error & { code?: string };
    const message =
      e?.code === 'UPSTREAM_START_FAILED'
        ? `${e.message}${(e as { hint?: string }).hint ? ` (${(e as { hint?: string }).hint})` : ''}`
        : e?.code === 'UPSTREAM_CLOSED' || /closed the connection/.test(e?.message ?? '')
          ? 'the server exited before it answered'
          : (e?.message ?? String(err));
    const line = causeLine(stderr);
    return {
      server: spec.id,
      error: message,
      ...(line === undefined ? {} : { stderr: maskConfigured(line.slice(0, 500), spec) }),
    };
  } finally {
    over = true;
    clearTimeout(timer);
    for (const c of open) await c.close();
  }
}

interface Connection {
  request(method: string, params: Record<string, unknown>): Promise<Record<string, unknown>>;
  transport: MessageTransport;
  close(): Promise<void>;
}

/** One transport with numbered requests; a closed transport fails every request waiting. */
function connection(transport: MessageTransport): Connection {
  const pending = new Map<number, (m: JsonRpcMessage) => void>();
  let closed: ((err: Error) => void) | undefined;
  const ended = new Promise<never>((_, reject) => {
    closed = reject;
  });
  ended.catch(() => {});
  transport.onmessage = (m) => {
    const id = (m as { id?: unknown }).id;
    if (typeof id === 'number' && ('result' in m || 'error' in m)) pending.get(id)?.(m);
  };
  transport.onclose = () => closed?.(new Error('the server closed the connection'));
  let next = 1;
  let started: Promise<void> | undefined;
  return {
    transport,
    async request(method, params) {
      started ??= transport.start();
      await started;
      const id = next++;
      const answer = new Promise<JsonRpcMessage>((resolve) => pending.set(id, resolve));
      await transport.send({ jsonrpc: '2.0', id, method, params } as JsonRpcMessage);
      const m = (await Promise.race([answer, ended])) as {
        result?: Record<string, unknown>;
        error?: { message?: unknown };
      };
      if (m.error !== undefined)
        throw new Error(
          `${method} answered with an error${typeof m.error.message === 'string' ? `: ${m.error.message.slice(0, 200)}` : ''}`,
        );
      return m.result ?? {};
    },
    async close() {
      await transport.terminate?.().catch(() => {});
      await transport.close().catch(() => {});
    },
  };
}

/** Every page of tools/list, each request's params made by `params`. */
async function allTools(
  c: Connection,
  params: (p: Record<string, unknown>) => Record<string, unknown>,
): Promise<Array<Record<string, unknown>>> {
  const tools: Array<Record<string, unknown>> = [];
  let cursor: unknown;
  for (let page = 0; page < 1000; page++) {
    const r = await c.request('tools/list', params(cursor === undefined ? {} : { cursor }));
    if (Array.isArray(r.tools)) tools.push(...(r.tools as Array<Record<string, unknown>>));
    cursor = r.nextCursor;
    if (typeof cursor !== 'string') break;
  }
  return tools;
}

async function listLegacy(c: Connection): Promise<Array<Record<string, unknown>>> {
  const init = await c.request('initialize', {
    protocolVersion: '2025-06-18',
    capabilities: {},
    clientInfo: { name: 'mcp-warden-check', version: VERSION },
  });
  if (typeof init.protocolVersion === 'string') c.transport.setProtocolVersion?.(init.protocolVersion);
  await c.transport.send({ jsonrpc: '2.0', method: 'notifications/initialized' } as JsonRpcMessage);
  return allTools(c, (p) => p);
}

/** 2026-07-28: server/discover must name the revision, then tools/list with the request envelope. */
async function listModern(c: Connection): Promise<Array<Record<string, unknown>>> {
  const found = readDiscover(await c.request('server/discover', envelope({}, {})));
  if (found === undefined || !found.supportedVersions.includes(ERA_2026))
    throw new Error(`server/discover did not name ${ERA_2026}`);
  return allTools(c, (p) => envelope(p, {}));
}

/** Lists every upstream, a few at a time; results in the order of `specs`. Never rejects. */
export async function checkUpstreams(specs: readonly UpstreamSpec[]): Promise<UpstreamListing[]> {
  const results: UpstreamListing[] = [];
  let i = 0;
  const worker = async () => {
    while (i < specs.length) {
      const n = i++;
      results[n] = await listOne(specs[n]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, specs.length) }, worker));
  return results;
}
