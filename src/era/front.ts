// The 2026-07-28 face of one proxy session (SPEC §12): sits between an agent-facing transport and the ProxySession,
// so that 2026 requests run the same pipeline as 2025 ones. It answers what only 2026 has (server/discover,
// subscriptions/listen), starts the upstreams once without an agent `initialize`, and shapes every answer to a 2026
// request (resultType, ttlMs, cacheScope). 2025 traffic passes through untouched.
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import {
  errorResponse,
  INTERNAL_ERROR,
  isNotification,
  isRequest,
  isResponse,
  type JsonRpcMessage,
  type JsonRpcNotification,
  type JsonRpcRequest,
  type JsonRpcResponse,
  METHOD_NOT_FOUND,
  type RequestId,
} from '../transport/jsonrpc.js';
import type { DownstreamPort, SessionSink } from '../transport/types.js';
import { BRIDGE_STATE_PREFIX, EraBridge } from './bridge.js';
import { ERA_2025 } from './versions.js';
import {
  type CachePolicy,
  discoverResult,
  envelopeCapabilities,
  envelopeVersion,
  eraOfMessage,
  modernResult,
  SUBSCRIPTION_ID_META,
  SUPPORTED_2026_VERSIONS,
  UNSUPPORTED_PROTOCOL_VERSION,
} from './wire.js';

/** The id of warden's own initialize on a session that only 2026 requests use. */
const INIT_ID = 'warden-era-initialize';

/** What a `subscriptions/listen` asks to hear. */
export interface ListenFilter {
  toolsListChanged?: boolean;
  promptsListChanged?: boolean;
  resourcesListChanged?: boolean;
  resourceSubscriptions?: string[];
}

/**
 * A source of change notifications for listen streams beyond the session's own upstream links (a 2026 upstream's
 * listen stream, fed by the upstream side): `subscribe` returns the function that stops it.
 */
export interface ChangeSource {
  subscribe(onChange: (notification: JsonRpcNotification) => void): () => void;
}

interface Listener {
  id: RequestId;
  filter: ListenFilter;
}

export interface ModernFrontOptions {
  log: Logger;
  version: string;
  cache: CachePolicy;
  /**
   * When warden's own initialize fails (no upstream could be started): end this face and its session, so that the
   * next request starts afresh (HTTP). Without it (stdio) the requests waiting are answered with the error and the
   * session stays.
   */
  closeOnStartFailure?: boolean;
}

/** Does a listen filter take this change notification? */
export function listens(filter: ListenFilter, n: JsonRpcNotification): boolean {
  switch (n.method) {
    case 'notifications/tools/list_changed':
      return filter.toolsListChanged === true;
    case 'notifications/prompts/list_changed':
      return filter.promptsListChanged === true;
    case 'notifications/resources/list_changed':
      return filter.resourcesListChanged === true;
    case 'notifications/resources/updated': {
      const uri = n.params?.uri;
      return typeof uri === 'string' && (filter.resourceSubscriptions ?? []).includes(uri);
    }
    default:
      return false;
  }
}

function filterOf(request: JsonRpcRequest): ListenFilter {
  const raw = request.params?.notifications;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return {};
  const r = raw as Record<string, unknown>;
  const filter: ListenFilter = {};
  if (r.toolsListChanged === true) filter.toolsListChanged = true;
  if (r.promptsListChanged === true) filter.promptsListChanged = true;
  if (r.resourcesListChanged === true) filter.resourcesListChanged = true;
  if (Array.isArray(r.resourceSubscriptions))
    filter.resourceSubscriptions = r.resourceSubscriptions.filter((u): u is string => typeof u === 'string');
  return filter;
}

export class ModernFront implements SessionSink, DownstreamPort {
  /** The proxy session behind this face. */
  inner!: SessionSink;
  /** Answers owed to 2026 requests: their method, for the result metadata. */
  private readonly modern = new Map<RequestId, string>();
  /** 2026 requests still owed an answer, as the agent made them (the bridge reads their capabilities and call). */
  private readonly asked = new Map<RequestId, JsonRpcRequest>();
  /** Upstream requests answered in-band by 2026 clients (src/era/bridge.ts). */
  private readonly bridge = new EraBridge();
  private readonly listeners = new Map<RequestId, Listener>();
  /** Warden's id for an agent request whose own id was still taken inside -> the agent's id (see `inward`). */
  private readonly aliases = new Map<RequestId, RequestId>();
  /** The agent's id -> warden's, while such a request runs. */
  private readonly aliased = new Map<RequestId, RequestId>();
  private nextAlias = 0;
  /** Random per face: an agent cannot pick an id that a later alias will take. */
  private readonly aliasPrefix = `warden-era-alias-${randomBytes(6).toString('base64url')}-`;
  private readonly sources: Array<() => void> = [];
  /** The initialize result behind this session: the agent's own (2025) or warden's (2026 only). */
  private init: Promise<Record<string, unknown> | undefined> | undefined;
  private resolveInit: ((result: Record<string, unknown> | undefined) => void) | undefined;
  /** The id of an agent's own initialize (a 2025 client on the same stdio). */
  private agentInitId: RequestId | undefined;
  private closed = false;

  constructor(
    private readonly out: DownstreamPort,
    private readonly opts: ModernFrontOptions,
  ) {}

  get lastActivity(): number {
    return this.inner.lastActivity;
  }

  get busy(): boolean {
    return this.inner.busy || this.listeners.size > 0;
  }

  /** Open listen streams. */
  get listening(): number {
    return this.listeners.size;
  }

  /** Feeds change notifications of another source (see ChangeSource) to this session's listen streams. */
  addSource(source: ChangeSource): void {
    this.sources.push(source.subscribe((n) => this.fanOut(n)));
  }

  // --- from the agent ---

  handle(message: JsonRpcMessage): void {
    if (this.closed) return;
    if (!isRequest(message)) {
      if (isNotification(message) && message.method === 'notifications/cancelled') {
        const agentId = message.params?.requestId as RequestId | undefined;
        if (agentId !== undefined && this.listeners.delete(agentId)) return;
        const id = agentId === undefined ? undefined : (this.aliased.get(agentId) ?? agentId);
        if (id !== undefined) this.asked.delete(id); // a cancelled request gets no answer
        // A bridged retry cancelled: the call it waits on is the one to cancel.
        const original = id === undefined ? undefined : this.bridge.originalOf(id);
        if (original !== undefined) {
          this.bridge.done(original);
          this.inner.handle({ ...message, params: { ...message.params, requestId: original } });
          return;
        }
        if (id !== agentId) {
          this.inner.handle({ ...message, params: { ...message.params, requestId: id } });
          return;
        }
      }
      this.inner.handle(message);
      return;
    }
    if (message.method === 'initialize') {
      this.agentInitId = message.id;
      this.init ??= new Promise((r) => {
        this.resolveInit = r;
      });
      this.inner.handle(message);
      return;
    }
    if (eraOfMessage(message) === ERA_2025 && this.agentInitId !== undefined) {
      this.inner.handle(message);
      return;
    }
    const version = envelopeVersion(message);
    if (version !== undefined && !SUPPORTED_2026_VERSIONS.includes(version)) {
      // HTTP checked this with the headers already; stdio has no headers, so the body's claim is checked here.
      this.deliver(
        errorResponse(
          message.id,
          UNSUPPORTED_PROTOCOL_VERSION,
          `Unsupported protocol version: ${version} (supported versions: ${SUPPORTED_2026_VERSIONS.join(', ')})`,
          { supported: [...SUPPORTED_2026_VERSIONS], requested: version },
        ),
      );
      return;
    }
    if (message.method === 'server/discover') {
      void this.ready().then((init) => {
        if (this.closed) return;
        if (init === undefined)
          this.deliver(errorResponse(message.id, -32603, 'No upstream server could be started'));
        else this.deliver({ jsonrpc: '2.0', id: message.id, result: discoverResult(init) });
      });
      return;
    }
    if (message.method === 'subscriptions/listen') {
      const filter = filterOf(message);
      this.listeners.set(message.id, { id: message.id, filter });
      void this.ready().then(() => {
        if (this.closed || !this.listeners.has(message.id)) return;
        this.deliver(
          {
            jsonrpc: '2.0',
            method: 'notifications/subscriptions/acknowledged',
            params: { notifications: filter, _meta: { [SUBSCRIPTION_ID_META]: message.id } },
          },
          message.id,
        );
      });
      return;
    }
    const request = this.inward(message);
    const state = (request.params as Record<string, unknown> | undefined)?.requestState;
    if (typeof state === 'string' && state.startsWith(BRIDGE_STATE_PREFIX)) {
      this.resumeBridged(request, state);
      return;
    }
    this.modern.set(request.id, request.method);
    this.asked.set(request.id, request);
    if (this.init === undefined) this.ready();
    this.inner.handle(request);
  }

  /**
   * The id a request of the agent runs under inside. A call the bridge answered early (its InputRequiredResult) runs
   * on upstream under its id, which the agent may use again (JSON-RPC: that request was answered), as a retry that
   * reuses the call's id does: such a request runs under an id of warden's, and its answer goes back under the
   * agent's (`deliver`).
   */
  private inward(request: JsonRpcRequest): JsonRpcRequest {
    if (!this.bridge.running(request.id) && !this.aliases.has(request.id)) return request;
    const id = `${this.aliasPrefix}${this.nextAlias++}`;
    this.aliases.set(id, request.id);
    this.aliased.set(request.id, id);
    return { ...request, id };
  }

  /** To the agent, under the agent's own ids. */
  private deliver(message: JsonRpcMessage, relatedRequestId?: RequestId): void {
    if (this.aliases.size > 0) {
      const related = relatedRequestId === undefined ? undefined : this.aliases.get(relatedRequestId);
      if (related !== undefined) relatedRequestId = related;
      const id = isResponse(message) ? (message.id as RequestId) : undefined;
      const agentId = id === undefined ? undefined : this.aliases.get(id);
      if (agentId !== undefined) {
        this.aliases.delete(id!);
        if (this.aliased.get(agentId) === id) this.aliased.delete(agentId);
        message = { ...message, id: agentId } as JsonRpcMessage;
      }
    }
    this.out.send(message, relatedRequestId);
  }

  /** A retry that answers an upstream's request: the answer goes upstream, the call's result will answer the retry. */
  private resumeBridged(retry: JsonRpcRequest, state: string): void {
    const resumed = this.bridge.resume(retry, state);
    if (!resumed.ok) {
      this.deliver(errorResponse(retry.id, -32602, resumed.reason), retry.id);
      return;
    }
    this.modern.set(retry.id, retry.method);
    this.asked.set(retry.id, retry);
    const reply: JsonRpcResponse =
      resumed.answer === undefined
        ? errorResponse(resumed.serverRequestId, -32602, 'The agent sent no answer to this request')
        : { jsonrpc: '2.0', id: resumed.serverRequestId, result: resumed.answer };
    // The retry is a request of its own (an audit record linked to the call's): the session hands the answer up once
    // the retry has passed the grant recheck, and the call's result, however soon it comes, finds the retry waiting.
    if (this.inner.continueRound !== undefined)
      this.inner.continueRound(retry, resumed.original, resumed.asked, reply);
    else this.inner.handle(reply);
  }

  /** Starts the upstreams with warden's own initialize when no agent sent one; resolves with the result. */
  private ready(): Promise<Record<string, unknown> | undefined> {
    if (this.init !== undefined) return this.init;
    this.init = new Promise((r) => {
      this.resolveInit = r;
    });
    this.inner.handle({
      jsonrpc: '2.0',
      id: INIT_ID,
      method: 'initialize',
      params: {
        protocolVersion: ERA_2025,
        // What a 2026 client may answer in-band through the bridge (a request that did not declare it is refused).
        capabilities: { elicitation: {}, sampling: {} },
        clientInfo: { name: 'mcp-warden', version: this.opts.version },
      },
    });
    return this.init;
  }

  restore(params: Record<string, unknown>): void {
    this.inner.restore(params);
  }

  /**
   * Both sides call this: the transport (SessionSink: the agent is gone) and the proxy session (DownstreamPort: the
   * session ended). Either way the session and the agent side both end.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const stop of this.sources.splice(0)) stop();
    this.listeners.clear();
    this.resolveInit?.(undefined);
    await this.inner.close();
    this.out.close();
  }

  async suspend(): Promise<boolean> {
    return (await this.inner.suspend?.()) ?? false;
  }

  agentGone(why: string, id?: RequestId): void {
    if (id === undefined) this.listeners.clear();
    else if (this.listeners.delete(id)) return;
    this.inner.agentGone?.(why, id === undefined ? undefined : (this.aliased.get(id) ?? id));
  }

  // --- from the proxy session ---

  send(message: JsonRpcMessage, relatedRequestId?: RequestId): void {
    if (isResponse(message) && this.bridge.current(message.id as RequestId) !== message.id) {
      // The answer of a bridged call goes to the retry that waits for it (none yet: nobody would read it).
      const original = message.id as RequestId;
      const retry = this.bridge.current(original);
      this.bridge.done(original);
      this.modern.delete(original);
      this.asked.delete(original);
      if (retry === undefined) return;
      message = { ...message, id: retry } as JsonRpcMessage;
      relatedRequestId = retry;
      if (this.inner.answerRound !== undefined) {
        // The retry's own request answers it (and leaves its record): its answer comes back here under its id.
        this.inner.answerRound(retry, message as JsonRpcResponse);
        return;
      }
    }
    if (isResponse(message)) {
      const id = message.id as RequestId;
      this.asked.delete(id);
      if (id === INIT_ID || id === this.agentInitId) {
        const result = 'result' in message ? message.result : undefined;
        if (id === INIT_ID) {
          if (result !== undefined)
            this.inner.handle({ jsonrpc: '2.0', method: 'notifications/initialized' });
          else
            this.opts.log.warn({ error: (message as { error?: unknown }).error }, 'upstreams did not start');
        }
        this.resolveInit?.(result);
        if (id === INIT_ID) {
          if (result === undefined) this.startFailed(message);
          return;
        }
      }
      const method = this.modern.get(id);
      if (method !== undefined) {
        this.modern.delete(id);
        if ('result' in message) {
          this.deliver(
            { ...message, result: modernResult(method, message.result, this.opts.cache) },
            relatedRequestId,
          );
          return;
        }
      }
      this.deliver(message, relatedRequestId);
      return;
    }
    if (isRequest(message)) {
      // An upstream asks the agent something while a 2026 request runs: a 2026 client takes no server-initiated
      // requests (the in-band round trip is the bridge's work); the upstream hears at once that it cannot be served.
      const answering = relatedRequestId === undefined ? undefined : this.bridge.current(relatedRequestId);
      const asked = answering === undefined ? undefined : this.asked.get(answering);
      if (
        relatedRequestId !== undefined &&
        answering !== undefined &&
        asked !== undefined &&
        EraBridge.canBridge(message.method, envelopeCapabilities(asked))
      ) {
        // The bridge: the agent's request is answered now with the upstream's question; its retry brings the answer.
        const result = this.bridge.park(relatedRequestId, asked, message);
        this.modern.delete(answering);
        this.asked.delete(answering);
        if (answering !== relatedRequestId && this.inner.answerRound !== undefined)
          this.inner.answerRound(answering, { jsonrpc: '2.0', id: answering, result });
        else this.deliver({ jsonrpc: '2.0', id: answering, result }, answering);
        return;
      }
      if (
        this.agentInitId === undefined &&
        (relatedRequestId === undefined ||
          this.modern.has(relatedRequestId) ||
          answering !== relatedRequestId)
      ) {
        this.inner.handle(
          errorResponse(
            message.id,
            METHOD_NOT_FOUND,
            'The agent (MCP 2026-07-28) takes no requests from servers',
          ),
        );
        return;
      }
      this.deliver(message, relatedRequestId);
      return;
    }
    if (relatedRequestId === undefined && this.fanOut(message)) return;
    if (relatedRequestId === undefined && this.agentInitId === undefined) return;
    this.deliver(message, relatedRequestId);
  }

  /**
   * Warden's own initialize failed: the 2026 requests waiting behind it would never be answered by the session, so
   * they are answered here with the reason.
   */
  private startFailed(message: JsonRpcMessage): void {
    const error = (message as { error?: { message?: unknown } }).error;
    const why = typeof error?.message === 'string' ? error.message : 'No upstream server could be started';
    for (const id of [...this.modern.keys()]) {
      this.modern.delete(id);
      this.deliver(errorResponse(id, INTERNAL_ERROR, why));
    }
    if (this.opts.closeOnStartFailure === true) void this.close();
  }

  /** Sends a change notification to every listen stream that asked for it; true when it is one (consumed here). */
  private fanOut(n: JsonRpcNotification): boolean {
    const change = n.method.endsWith('/list_changed') || n.method === 'notifications/resources/updated';
    if (!change) return false;
    for (const l of this.listeners.values()) {
      if (!listens(l.filter, n)) continue;
      const params = {
        ...(n.params ?? {}),
        _meta: { ...((n.params?._meta as object) ?? {}), [SUBSCRIPTION_ID_META]: l.id },
      };
      this.deliver({ jsonrpc: '2.0', method: n.method, params }, l.id);
    }
    // A 2025 client on the same session hears it the 2025 way too.
    if (this.agentInitId !== undefined) this.deliver(n);
    return true;
  }
}
