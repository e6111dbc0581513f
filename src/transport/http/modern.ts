// The 2026-07-28 path of agent-facing HTTP (SPEC §12): no session lookup. Each request is checked on its own
// (headers against body, protocol version), then runs through a shared proxy session per endpoint and caller: the
// same pipeline as 2025 (policy, limits, approvals, audit), behind the session's 2026 face (src/era/front.ts).
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { BRIDGE_STATE_PREFIX } from '../../era/bridge.js';
import { type AnswerSink, type BridgeRelay, isBridgeState } from '../../era/bridge-relay.js';
import { ModernFront } from '../../era/front.js';
import { PARAM_HEADERS, type ParamHeaderValues, paramHeaderValues } from '../../era/upstream-headers.js';
import {
  checkModernHeaders,
  modernErrorStatus,
  REMOVED_IN_2026,
  SUBSCRIPTION_ID_META,
} from '../../era/wire.js';
import type { Identity } from '../../identity/authenticate.js';
import {
  errorResponse,
  INVALID_PARAMS,
  INVALID_REQUEST,
  isNotification,
  isResponse,
  type JsonRpcMessage,
  type JsonRpcRequest,
  METHOD_NOT_FOUND,
  type RequestId,
} from '../jsonrpc.js';
import type { DownstreamPort, SessionFactory } from '../types.js';
import { PostStream } from './post-stream.js';
import { writeJsonError } from './wire.js';

/**
 * Who a 2026 request acts for, the key of its shared session: the grant, or the identity provider's subject, or ''
 * for anonymous traffic (all of it together). Never the client's self-declared clientInfo: a limit or an approval keyed
 * on what the client says about itself would be the client's to reset.
 */
export function modernOwner(identity: Identity): string {
  if (identity.grant !== undefined) return `grant:${identity.grant.id}`;
  if (identity.oauth !== undefined) return `oauth:${identity.oauth.issuer}\n${identity.oauth.subject}`;
  return '';
}

interface Route {
  /** The POST's response stream, or (a retry relayed from another replica) the relay back to it. */
  stream: AnswerSink;
  agentId: RequestId;
}

/** One shared session of 2026 traffic: its 2026 face, and where each answer goes (by warden's id for the request). */
class ModernHub implements DownstreamPort {
  readonly front: ModernFront;
  readonly routes = new Map<RequestId, Route>();
  private next = 1;
  closed = false;

  constructor(
    readonly key: string,
    endpoint: string | undefined,
    identity: Identity,
    createSession: SessionFactory,
    log: Logger,
    version: string,
    private readonly onClose: () => void,
    private readonly relay: BridgeRelay | undefined,
  ) {
    this.front = new ModernFront(this, {
      log,
      version,
      closeOnStartFailure: true,
      cache: {
        aggregated: endpoint === undefined,
        shaped: identity.grant !== undefined || identity.oauth !== undefined,
      },
    });
    // The same caller on the same endpoint always gets the same session id: what is keyed on the session (a
    // per-session limit, the audit's session field) stays with the caller, also after an idle session is closed.
    const id = `2026-${createHash('sha256').update(key).digest('hex').slice(0, 32)}`;
    this.front.inner = createSession(endpoint, this.front, id, identity);
  }

  /** A fresh id for an agent request: ids of different clients sharing the session must not collide. */
  nextId(): string {
    return `m${this.next++}`;
  }

  send(message: JsonRpcMessage, relatedRequestId?: RequestId): void {
    if (isResponse(message)) {
      const route = this.routes.get(message.id as RequestId);
      if (route === undefined) return;
      this.routes.delete(message.id as RequestId);
      // Across replicas, a bridge state names this replica and this caller, sealed (src/era/bridge-relay.ts).
      if (this.relay !== undefined && 'result' in message && isBridgeState(message.result.requestState))
        message = {
          ...message,
          result: { ...message.result, requestState: this.relay.wrap(message.result.requestState, this.key) },
        };
      route.stream.deliver({ ...message, id: route.agentId } as JsonRpcMessage, route.agentId);
      return;
    }
    const route = relatedRequestId === undefined ? undefined : this.routes.get(relatedRequestId);
    // Progress, log messages and listen notifications travel on their request's own response stream; nothing else
    // has a place to go. A listen notification names its subscription by the agent's own id.
    if (route === undefined) return;
    const meta = (message as { params?: { _meta?: Record<string, unknown> } }).params?._meta;
    if (meta?.[SUBSCRIPTION_ID_META] === relatedRequestId) {
      const params = (message as { params: Record<string, unknown> }).params;
      message = {
        ...message,
        params: { ...params, _meta: { ...meta, [SUBSCRIPTION_ID_META]: route.agentId } },
      };
    }
    route.stream.deliver(message, undefined);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const r of this.routes.values()) r.stream.end();
    this.routes.clear();
    this.onClose();
  }
}

export interface ModernPathOptions {
  log: Logger;
  createSession: SessionFactory;
  version: string;
  /** Replicas sharing Redis: a bridged retry reaches the replica holding its call wherever it arrives. */
  relay?: BridgeRelay | undefined;
}

/** A retry this replica relayed to the holder of its call, until answered (for `notifications/cancelled`). */
interface Relayed {
  key: string;
  agentId: RequestId;
  stream: PostStream;
  cancel: () => void;
}

export class ModernPath {
  private readonly hubs = new Map<string, ModernHub>();
  private readonly relayed = new Set<Relayed>();

  constructor(private readonly opts: ModernPathOptions) {
    opts.relay?.serve((call, sink) => this.resumeRelayed(call.hub, call.request, sink));
  }

  get count(): number {
    return this.hubs.size;
  }

  get inflight(): number {
    let n = 0;
    for (const h of this.hubs.values()) n += h.routes.size;
    return n + this.relayed.size;
  }

  private hubFor(
    endpoint: string | undefined,
    identity: Identity,
    key = hubKey(endpoint, identity),
  ): ModernHub {
    let hub = this.hubs.get(key);
    if (hub === undefined || hub.closed) {
      const made: ModernHub = new ModernHub(
        key,
        endpoint,
        identity,
        this.opts.createSession,
        this.opts.log,
        this.opts.version,
        () => {
          if (this.hubs.get(key) === made) this.hubs.delete(key);
        },
        this.opts.relay,
      );
      hub = made;
      this.hubs.set(key, hub);
    }
    return hub;
  }

  /** Serves one 2026 POST whose body is already parsed and checked as JSON-RPC. */
  serve(
    req: IncomingMessage,
    res: ServerResponse,
    endpoint: string | undefined,
    identity: Identity,
    messages: JsonRpcMessage[],
    batch: boolean,
  ): void {
    if (batch || messages.length !== 1) {
      writeJsonError(
        res,
        400,
        INVALID_REQUEST,
        'Invalid Request: MCP 2026-07-28 takes one message per request',
      );
      return;
    }
    const message = messages[0]!;
    if (isResponse(message)) {
      writeJsonError(res, 400, INVALID_REQUEST, 'Invalid Request: MCP 2026-07-28 clients send no responses');
      return;
    }
    if (isNotification(message)) {
      res.writeHead(202);
      res.end();
      this.notify(endpoint, identity, message);
      return;
    }
    const request = message as JsonRpcRequest;
    if (REMOVED_IN_2026.has(request.method)) {
      writeJsonError(
        res,
        404,
        METHOD_NOT_FOUND,
        `Method not found: ${request.method} is not part of MCP 2026-07-28`,
        request.id,
      );
      return;
    }
    // Repeated headers stay apart (Node joins a repeated custom header with ", "): a header sent twice is refused,
    // never compared as one joined value that an intermediary reading the first one would not see.
    const headers = distinctHeaders(req);
    const problem = checkModernHeaders(request, headers);
    if (problem !== undefined) {
      const body = JSON.stringify(errorResponse(request.id, problem.code, problem.message, problem.data));
      res.writeHead(400, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
      return;
    }
    // The tool's x-mcp-header declarations are known only once the call is routed: the pipeline checks these.
    if (request.method === 'tools/call')
      (request as JsonRpcRequest & { [PARAM_HEADERS]?: ParamHeaderValues })[PARAM_HEADERS] =
        paramHeaderValues(headers);
    const key = hubKey(endpoint, identity);
    const stream = new PostStream(res, [request.id], false, {}, this.opts.log, modernErrorStatus);
    const relay = this.opts.relay;
    const state = (request.params as Record<string, unknown> | undefined)?.requestState;
    if (relay !== undefined && isBridgeState(state)) {
      const opened = relay.open(state, key);
      if (!opened.ok) {
        stream.deliver(errorResponse(request.id, INVALID_PARAMS, opened.reason), request.id);
        return;
      }
      const local = {
        ...request,
        params: { ...request.params, requestState: BRIDGE_STATE_PREFIX + opened.token },
      };
      if (opened.replica !== relay.replica) {
        const entry: Relayed = { key, agentId: request.id, stream, cancel: () => {} };
        const finish = (): void => {
          this.relayed.delete(entry);
        };
        entry.cancel = relay.relay(opened.replica, key, local, {
          deliver: (message, answers) => {
            if (answers !== undefined) finish();
            return stream.deliver(message, answers);
          },
          end: () => {
            finish();
            stream.end();
          },
        });
        this.relayed.add(entry);
        // The agent gave up on the answer: the holder cancels the call, as for a retry that came to it.
        res.on('close', () => {
          if (!this.relayed.has(entry)) return;
          finish();
          entry.cancel();
        });
        return;
      }
      this.resume(this.hubFor(endpoint, identity, key), local, stream, res);
      return;
    }
    this.resume(this.hubFor(endpoint, identity, key), request, stream, res);
  }

  /** Runs one request on its shared session; the answer goes to `stream`. Returns what cancels it. */
  private resume(
    hub: ModernHub,
    request: JsonRpcRequest,
    stream: AnswerSink,
    res?: ServerResponse,
  ): () => void {
    const id = hub.nextId();
    hub.routes.set(id, { stream, agentId: request.id });
    const cancel = () => {
      if (!hub.routes.has(id)) return;
      hub.routes.delete(id);
      // The agent gave up on the answer: in 2026 that is the cancellation (a held call is withdrawn, #17.24).
      hub.front.agentGone('The agent closed its request before it was answered.', id);
      hub.front.handle({
        jsonrpc: '2.0',
        method: 'notifications/cancelled',
        params: { requestId: id, reason: 'The agent closed its request' },
      });
    };
    res?.on('close', cancel);
    hub.front.handle({ ...request, id });
    return cancel;
  }

  /**
   * A retry another replica relayed here: its call is held by the shared session of the same endpoint and caller
   * (the relaying replica authenticated it), which checks, as for a local retry, that the state names a request
   * waiting there, for the same call, once.
   */
  private resumeRelayed(key: string, request: JsonRpcRequest, sink: AnswerSink): () => void {
    const hub = this.hubs.get(key);
    if (hub === undefined || hub.closed) {
      sink.deliver(
        errorResponse(
          request.id,
          INVALID_PARAMS,
          'This requestState names no upstream request waiting here (answered already, or the call ended). Make the call again without requestState',
        ),
        request.id,
      );
      return () => {};
    }
    return this.resume(hub, request, sink);
  }

  /** A 2026 notification: only cancellation means anything without a session; it names the agent's own id. */
  private notify(endpoint: string | undefined, identity: Identity, message: JsonRpcMessage): void {
    if (!isNotification(message) || message.method !== 'notifications/cancelled') return;
    const key = hubKey(endpoint, identity);
    const hub = this.hubs.get(key);
    const agentId = message.params?.requestId;
    if (agentId === undefined) return;
    const relayed = [...this.relayed].filter((r) => r.key === key && r.agentId === agentId);
    const matches = hub === undefined ? [] : [...hub.routes].filter(([, r]) => r.agentId === agentId);
    // Two clients of the same caller may use the same id: cancel only what is unambiguous.
    if (relayed.length + matches.length !== 1) return;
    if (relayed.length === 1) {
      this.relayed.delete(relayed[0]!);
      relayed[0]!.stream.end();
      relayed[0]!.cancel();
      return;
    }
    if (hub === undefined) return;
    const [id, route] = matches[0]!;
    hub.routes.delete(id);
    route.stream.end();
    hub.front.agentGone('The agent cancelled its request.', id);
    hub.front.handle({ ...message, params: { ...message.params, requestId: id } });
  }

  /** Closes the shared sessions nobody used for `idleMs` (no request in flight, no listen stream open). */
  reap(idleMs: number, suspendMs: number | undefined): void {
    const now = Date.now();
    for (const hub of this.hubs.values()) {
      if (hub.front.busy || hub.routes.size > 0) continue;
      if (now - hub.front.lastActivity >= idleMs) {
        this.opts.log.info('closing an idle shared session of 2026 traffic');
        this.hubs.delete(hub.key);
        void hub.front.close();
      } else if (suspendMs !== undefined && now - hub.front.lastActivity >= suspendMs) {
        void hub.front.suspend().catch(() => {});
      }
    }
  }

  async close(): Promise<void> {
    const all = [...this.hubs.values()];
    this.hubs.clear();
    await Promise.all(all.map((h) => h.front.close()));
  }
}

/**
 * The request's `Mcp-*` headers (the only ones the 2026 checks read), lower-case, a repeated one as the list of its
 * values: read from rawHeaders, since req.headers joins repeats with ", " and req.headersDistinct builds every header
 * anew on each request (measured: 8 us a call).
 */
/** The shared session of a caller on an endpoint. */
function hubKey(endpoint: string | undefined, identity: Identity): string {
  return `${endpoint ?? ''}\n${modernOwner(identity)}`;
}

function distinctHeaders(req: IncomingMessage): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length < 5 || (name.charCodeAt(0) | 0x20) !== 0x6d) continue; // not m/M: not an Mcp- header
    const lower = name.toLowerCase();
    if (!lower.startsWith('mcp-')) continue;
    const value = raw[i + 1]!;
    const had = out[lower];
    out[lower] = had === undefined ? value : Array.isArray(had) ? [...had, value] : [had, value];
  }
  return out;
}
