// Lists an upstream's tools once, outside any agent session: for `warden scan --config` and the dashboard's scan.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { maskString } from '../audit/redact.js';
import type { UpstreamSpec } from '../config/resolve.js';
import { VERSION } from '../version.js';
import { causeLine, maskConfigured, type UpstreamListing } from './listing.js';

function transportOf(spec: UpstreamSpec): Transport {
  if (spec.kind === 'stdio') {
    return new StdioClientTransport({
      command: spec.command!,
      args: spec.args,
      env: { ...getDefaultEnvironment(), ...spec.env },
      cwd: spec.cwd,
      stderr: 'pipe',
    });
  }
  const url = new URL(spec.url!);
  const requestInit = { headers: spec.headers };
  return spec.kind === 'sse'
    ? new SSEClientTransport(url, { requestInit })
    : new StreamableHTTPClientTransport(url, { requestInit });
}

/** Why an upstream could not be listed, for the log: the message, and the line of its stderr that says why. */
export class ListingError extends Error {
  constructor(
    message: string,
    /** The cause line of the server's stderr, configured secrets masked; for the log and the operator only. */
    readonly stderr: string | undefined,
  ) {
    super(message);
  }
}

/** Every tool an upstream lists (all pages), through a short-lived client of its own; closed afterwards. */
export async function listUpstreamTools(spec: UpstreamSpec): Promise<Array<Record<string, unknown>>> {
  const client = new Client({ name: 'mcp-warden-scan', version: VERSION });
  const timeout = spec.startTimeoutMs;
  const transport = transportOf(spec);
  // The child's stderr is kept (the last 64 KiB) to say why it failed, if it does.
  let stderr = '';
  const stream = transport instanceof StdioClientTransport ? transport.stderr : null;
  stream?.on('data', (chunk: Buffer | string) => {
    stderr = (stderr + chunk.toString()).slice(-64 * 1024);
  });
  const failed = async (err: unknown): Promise<never> => {
    // What the child wrote before it died may arrive after the error: a moment for the pipe to drain.
    if (stream) await new Promise((r) => setTimeout(r, 100));
    const code = (err as NodeJS.ErrnoException)?.code;
    const message =
      code === 'ENOENT' && spec.kind === 'stdio'
        ? `cannot start "${spec.command}": not found on PATH or in ${spec.cwd}`
        : scanError(err);
    const line = causeLine(stderr.split('\n'));
    throw new ListingError(
      message,
      line === undefined ? undefined : maskConfigured(line.slice(0, 500), spec),
    );
  };
  try {
    await client.connect(transport, { timeout });
  } catch (err) {
    await client.close().catch(() => {});
    return failed(err);
  }
  try {
    const tools: Array<Record<string, unknown>> = [];
    let cursor: string | undefined;
    for (let page = 0; page < 1000; page++) {
      const r = await client.listTools(cursor === undefined ? {} : { cursor }, { timeout });
      tools.push(...(r.tools as Array<Record<string, unknown>>));
      cursor = r.nextCursor;
      if (cursor === undefined) break;
    }
    return tools;
  } catch (err) {
    return failed(err);
  } finally {
    await client.close().catch(() => {});
  }
}

/**
 * Why a scan of one server failed, for `warden scan` and the dashboard: the SDK quotes an HTTP upstream's error body
 * ("Error POSTing to endpoint (HTTP 401): <body>"), which may echo the configured credentials; the status is kept,
 * the body dropped, and the rest masked (#17.15).
 */
export function scanError(err: unknown): string {
  const text = (err as Error)?.message ?? String(err);
  // The SDK's HTTP errors carry the status as `code` and the body in the message.
  const code = (err as { code?: unknown })?.code;
  if (typeof code === 'number' && code >= 400 && code <= 599) return `HTTP ${code} from the upstream`;
  const body = /(Error POSTing to endpoint|\(HTTP \d{3}\))/.exec(text);
  return maskString(body === null ? text : text.slice(0, body.index + body[0].length));
}

export type { UpstreamListing };

/** How many upstreams are started at once: enough to hide start-up time, few enough not to swamp a laptop. */
const PARALLEL = 4;

/**
 * Lists several upstreams' tools, a few at a time; the results come in the order of `specs` whatever finishes first.
 * `progress` hears how many are done and which are still starting.
 */
export async function listEveryUpstream(
  specs: readonly UpstreamSpec[],
  progress: (done: number, starting: readonly string[]) => void = () => {},
): Promise<UpstreamListing[]> {
  const results: UpstreamListing[] = [];
  const starting = new Set<string>();
  let done = 0;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < specs.length) {
      const i = next++;
      const spec = specs[i]!;
      starting.add(spec.id);
      progress(done, [...starting]);
      try {
        results[i] = { server: spec.id, tools: await listUpstreamTools(spec) };
      } catch (err) {
        const stderr = err instanceof ListingError ? err.stderr : undefined;
        results[i] = {
          server: spec.id,
          error: scanError(err),
          ...(stderr === undefined ? {} : { stderr }),
        };
      }
      starting.delete(spec.id);
      done++;
      progress(done, [...starting]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, specs.length) }, worker));
  return results;
}
