// The start-up check of `warden serve`: starts each upstream once and lists its tools through warden's own transports
// (not the SDK client, which a default gateway never loads), keeping the cause line of a failed server's stderr.
import pino from 'pino';
import type { UpstreamSpec } from '../config/resolve.js';
import type { JsonRpcMessage } from '../transport/jsonrpc.js';
import { VERSION } from '../version.js';
import { causeLine, maskConfigured, type UpstreamListing } from './listing.js';
import { defaultTransport } from './upstream.js';

const PARALLEL = 4;

/** Lists one upstream: initialize, then every page of tools/list; closed afterwards. */
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
  const transport = defaultTransport(spec, () => capture);
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
  const request = async (method: string, params: Record<string, unknown>) => {
    const id = next++;
    const answer = new Promise<JsonRpcMessage>((resolve) => pending.set(id, resolve));
    await transport.send({ jsonrpc: '2.0', id, method, params } as JsonRpcMessage);
    const m = (await Promise.race([answer, ended])) as { result?: Record<string, unknown>; error?: unknown };
    if (m.error !== undefined) throw new Error(`${method} answered with an error`);
    return m.result ?? {};
  };
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no answer within ${spec.startTimeoutMs / 1000} s`)),
      spec.startTimeoutMs,
    );
  });
  try {
    const names = await Promise.race([
      (async () => {
        await transport.start();
        const init = await request('initialize', {
          protocolVersion: '2025-06-18',
          capabilities: {},
          clientInfo: { name: 'mcp-warden-check', version: VERSION },
        });
        if (typeof init.protocolVersion === 'string') transport.setProtocolVersion?.(init.protocolVersion);
        await transport.send({ jsonrpc: '2.0', method: 'notifications/initialized' } as JsonRpcMessage);
        const tools: Array<Record<string, unknown>> = [];
        let cursor: unknown;
        for (let page = 0; page < 1000; page++) {
          const r = await request('tools/list', cursor === undefined ? {} : { cursor });
          if (Array.isArray(r.tools)) tools.push(...(r.tools as Array<Record<string, unknown>>));
          cursor = r.nextCursor;
          if (typeof cursor !== 'string') break;
        }
        return tools;
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
    clearTimeout(timer);
    await transport.terminate?.().catch(() => {});
    await transport.close().catch(() => {});
  }
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
