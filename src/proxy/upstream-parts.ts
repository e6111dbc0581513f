// The parts of an upstream link that are not the link itself: what its calls look like, how a transport is made for a
// spec, which send failures prove that nothing reached the upstream, and the initialize params an upstream gets.
import type { Logger } from 'pino';
import type { UpstreamSpec } from '../config/resolve.js';
import { WardenError } from '../errors.js';
import { createHttpClientTransport, HttpStatusError, type UpstreamAuth } from '../transport/http-client.js';
import type { JsonRpcNotification, JsonRpcRequest, JsonRpcResponse } from '../transport/jsonrpc.js';
import { createSseClientTransport } from '../transport/sse-client.js';
import { StdioClientTransport } from '../transport/stdio-client.js';
import type { MessageTransport } from '../transport/types.js';
import type { UpstreamLink } from './upstream.js';

export interface InitializeResult {
  protocolVersion?: string;
  capabilities?: Record<string, unknown>;
  serverInfo?: { name?: string; version?: string } & Record<string, unknown>;
  instructions?: string;
  [k: string]: unknown;
}

export interface CallOptions {
  timeoutMs?: number;
  /** Receives upstream progress with the caller's own token restored. */
  onProgress?: (params: Record<string, unknown>) => void;
  /**
   * A 2026 agent's request: a 2026 upstream is told the capabilities this request declared (not the session's), and
   * its InputRequiredResult goes back to the agent as it is (the agent's retry brings the answers and the upstream's
   * requestState), instead of being run as round trips here (those are for 2025 agents).
   */
  modernCaller?: { capabilities: Record<string, unknown> };
}

export interface UpstreamCall {
  upstreamId: number;
  /** The upstream's response, its id still the upstream's; undefined when the call was cancelled. */
  response: Promise<JsonRpcResponse | undefined>;
  /**
   * Whether the request reached the upstream, as far as anyone can tell: true from the moment it is handed to the
   * transport, unless the transport then proves it was never delivered (see notDelivered). A call that was sent may
   * have run, whatever happens to it next (cancel, timeout, error, disconnect, restart): its limits stay spent (#17.2).
   */
  readonly sent: boolean;
}

/**
 * Whether a failed send proves that the upstream never received the request: nothing was connected (no transport, a
 * stdio server that is not running), the connection was refused before anything was written, the message could not
 * be serialised, or an HTTP upstream refused it with a 4xx status before handling it. A reset connection or a 5xx
 * proves nothing (the upstream may have run it).
 */
export function notDelivered(err: unknown): boolean {
  if (err instanceof WardenError) return err.code === 'UPSTREAM_CLOSED';
  if (err instanceof HttpStatusError) return err.status >= 400 && err.status < 500;
  if (err instanceof RangeError || err instanceof TypeError) return true; // JSON.stringify refused the message
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EHOSTUNREACH';
}

export interface UpstreamLinkOptions {
  spec: UpstreamSpec;
  log: Logger;
  /** A request the upstream sends to the client (sampling, elicitation, roots). */
  onServerRequest: (link: UpstreamLink, request: JsonRpcRequest) => void;
  onNotification: (link: UpstreamLink, notification: JsonRpcNotification) => void;
  /** Test seam and extension point: how a transport is made for a spec. */
  createTransport?: CreateTransport;
  /**
   * Per-user credentials of the identity this link acts for (mcpServers.<id>.credentials; only on links of one
   * session): undefined for an upstream without them. Both eras' HTTP transports ask it for each request's token.
   */
  authFor?: AuthFor;
}

export type CreateTransport = (spec: UpstreamSpec, log: Logger) => MessageTransport;
export type AuthFor = (spec: UpstreamSpec) => UpstreamAuth | undefined;

/** A Streamable HTTP upstream answers 404 to a session it no longer knows (it restarted, or expired the session). */
export function sessionGone(err: unknown): boolean {
  return err instanceof HttpStatusError && err.status === 404;
}

/** `log` is called only by transports that log (stdio: the child's stderr). */
export function defaultTransport(
  spec: UpstreamSpec,
  log: () => Logger,
  auth?: UpstreamAuth,
): MessageTransport {
  if (spec.kind === 'stdio') {
    return new StdioClientTransport({
      command: spec.command ?? '',
      args: spec.args,
      env: spec.env,
      cwd: spec.cwd,
      log: log(),
    });
  }
  if (spec.kind === 'sse') return createSseClientTransport(spec.url ?? '', spec.headers);
  return createHttpClientTransport(spec.url ?? '', spec.headers, auth);
}

/**
 * How long closing a link waits for an HTTP upstream to acknowledge the end of its session. The session is gone on our
 * side either way; an upstream that does not answer expires it on its own.
 */
export const TERMINATE_TIMEOUT_MS = 2000;

export async function ending(done: Promise<void>, timeoutMs: number, log: Logger): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, timeoutMs);
    timer.unref();
  });
  try {
    await Promise.race([done, late]);
  } catch (err) {
    log.debug({ err: (err as Error).message }, 'ending the upstream session failed');
  } finally {
    clearTimeout(timer);
  }
}

/** The initialize params an upstream gets: the agent's, with the roots capability as the config says. */
export function withRoots(
  params: Record<string, unknown>,
  roots: 'none' | 'agent' | ReadonlyArray<unknown>,
): Record<string, unknown> {
  if (roots === 'agent') return params;
  const caps = params.capabilities;
  const { roots: _agent, ...rest } =
    typeof caps === 'object' && caps !== null && !Array.isArray(caps)
      ? (caps as Record<string, unknown>)
      : {};
  return { ...params, capabilities: roots === 'none' ? rest : { ...rest, roots: {} } };
}
