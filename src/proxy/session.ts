// One agent session: its upstream links, the id maps between agent and upstreams, and the pipeline each request runs.
import type { Logger } from 'pino';
import { maskSecrets, maskString } from '../audit/redact.js';
import type { UpstreamSpec } from '../config/resolve.js';
import type { Identity } from '../identity/authenticate.js';
import { type CallContext, cancelContext, createContext, type SessionView } from '../pipeline/context.js';
import { grantRefusal } from '../pipeline/identity.js';
import {
  errorResponse,
  INTERNAL_ERROR,
  INVALID_REQUEST,
  isNotification,
  isRequest,
  type JsonRpcMessage,
  type JsonRpcNotification,
  type JsonRpcRequest,
  type JsonRpcResponse,
  METHOD_NOT_FOUND,
  type RequestId,
} from '../transport/jsonrpc.js';
import type { DownstreamPort } from '../transport/types.js';
import { aggregateInit } from './aggregate-init.js';
import { BridgedRounds } from './bridged-rounds.js';
import { type Reply, replyForError, wire } from './downstream.js';
import { CLIENT_NOTIFICATIONS, loggedMethod } from './methods.js';
import { NameTable } from './naming.js';
import { type Lease, type LeaseSink, UpstreamPool } from './pool.js';
import { mayAsk, ServerRequests } from './server-requests.js';
import type { InitializeResult, UpstreamLink } from './upstream.js';
import type { AuthFor, CreateTransport } from './upstream-parts.js';

export interface SessionOptions {
  id: string;
  identity: Identity;
  /** A per-server endpoint's server, or undefined for the aggregated endpoint. */
  server: string | undefined;
  upstreams: readonly UpstreamSpec[];
  separator: string;
  pipeline: (ctx: CallContext) => Promise<void>;
  downstream: DownstreamPort;
  log: Logger;
  version: string;
  createTransport?: CreateTransport;
  /** Per-user upstream credentials of this session's identity (mcpServers.<id>.credentials). */
  authFor?: AuthFor;
  /** Where the session's upstream links come from (shared per `isolation`); absent: a pool of its own. */
  pool?: UpstreamPool;
  onClose?: (session: ProxySession) => void;
}

const prefixTables = new WeakMap<readonly UpstreamSpec[], ReadonlyMap<string, string>>();

/** Server ids by prefix, made once per list of upstreams and shared by its sessions. */
function serversByPrefix(upstreams: readonly UpstreamSpec[]): ReadonlyMap<string, string> {
  let table = prefixTables.get(upstreams);
  if (table === undefined) {
    table = new Map(upstreams.map((spec) => [spec.prefix, spec.id]));
    prefixTables.set(upstreams, table);
  }
  return table;
}

export class ProxySession implements SessionView, LeaseSink {
  readonly id: string;
  readonly identity: Identity;
  readonly server: string | undefined;
  readonly links = new Map<string, UpstreamLink>();
  /** The pool's leases behind `links`, by server. */
  private readonly leases = new Map<string, Lease>();
  /** Resources this session subscribed to, as `<server>\0<upstream URI>`: a shared link's updates go by them. */
  private readonly subscriptions = new Set<string>();
  private readonly pool: UpstreamPool;
  /** The pool was made for this session alone (no pool given): it closes with the session. */
  private readonly ownPool: boolean;
  readonly names: NameTable;
  readonly resourceOwners = new Map<string, string>();
  readonly templates: Array<{ server: string; uriTemplate: string }> = [];
  lastActivity = Date.now();

  private initialized = false;
  private initializing: Promise<void> | undefined;
  /** Upstreams are being started (initialize, a takeover, a resume). */
  private starting = false;
  /** The agent's initialize params, to start the upstreams again after a suspension. */
  private initParams: Record<string, unknown> | undefined;
  /** The upstreams were stopped while the session sat idle; the next request starts them again. */
  private suspended = false;
  /** The last resume could start no upstream: the requests that waited on it get an error, not silence. */
  private resumeFailed = false;
  private closed = false;
  /** Agent requests in flight, by the agent's id. */
  private readonly inflight = new Map<RequestId, CallContext>();
  /** Bridged retries waiting for their answer (src/pipeline/bridged-round.ts), and the rounds each call had. */
  private readonly rounds = new BridgedRounds();
  /** Requests from upstreams to the agent, until it answers them. */
  private readonly serverRequests = new ServerRequests();
  private childLog: Logger | undefined;

  constructor(private readonly opts: SessionOptions) {
    this.id = opts.id;
    this.identity = opts.identity;
    this.server = opts.server;
    this.names = new NameTable(opts.separator, serversByPrefix(opts.upstreams));
    this.ownPool = opts.pool === undefined;
    this.pool =
      opts.pool ??
      new UpstreamPool({ upstreams: opts.upstreams, log: opts.log, createTransport: opts.createTransport });
  }

  /** Made on first use: an idle session never logs, and a child logger per session adds up over thousands. */
  private get log(): Logger {
    this.childLog ??= this.opts.log.child({ session: this.id });
    return this.childLog;
  }

  get isInitialized(): boolean {
    return this.initialized;
  }

  /** A request in flight, or upstreams starting: an idle reaper must not close or suspend the session now. */
  get busy(): boolean {
    return this.inflight.size > 0 || this.starting;
  }

  /** Whether the upstreams are stopped until the next request (see suspend). */
  get isSuspended(): boolean {
    return this.suspended;
  }

  /** Everything the agent sends comes in here. Never throws. */
  handle(message: JsonRpcMessage): void {
    this.lastActivity = Date.now();
    if (this.closed) return;
    try {
      if (isRequest(message)) this.onRequest(message);
      else if (isNotification(message)) this.onAgentNotification(message);
      else this.onResponse(message as JsonRpcResponse);
    } catch (err) {
      this.log.error({ err }, 'unexpected error while handling a message');
      if (isRequest(message)) this.reply(message.id, wire.internal());
    }
  }

  private reply(id: RequestId, reply: Reply): void {
    // Every error the agent reads passes the mask: an upstream's own error text may quote a configured secret.
    const message =
      'error' in reply
        ? errorResponse(
            id,
            reply.error.code,
            maskString(reply.error.message),
            reply.error.data === undefined ? undefined : maskSecrets(reply.error.data),
          )
        : {
            jsonrpc: '2.0' as const,
            id,
            result: reply.result,
          };
    this.send(message, id);
  }

  /**
   * Hands a message to the agent's transport. A fault there (a message that cannot be serialised, a stream that
   * throws) ends this one message, logged, and never the process (#17.1); an answer that fails becomes an internal
   * error for its request.
   */
  private send(message: JsonRpcMessage, related?: RequestId): void {
    try {
      this.opts.downstream.send(message, related);
    } catch (err) {
      this.log.error({ err, related }, 'a message to the agent could not be sent');
      if (!('id' in message) || 'method' in message) return;
      try {
        this.opts.downstream.send(
          errorResponse(message.id, INTERNAL_ERROR, 'Internal error in mcp-warden'),
          related,
        );
      } catch (again) {
        this.log.error({ err: again }, 'the error answer could not be sent either');
      }
    }
  }

  private onRequest(request: JsonRpcRequest): void {
    if (request.method === 'initialize') {
      void this.initialize(request);
      return;
    }
    if (this.suspended) this.resume();
    if (!this.initialized) {
      if (this.initializing) {
        // A client that pipelines requests behind initialize gets them answered once the upstreams are up.
        void this.initializing.then(() => {
          if (this.initialized) this.onRequest(request);
          else if (this.resumeFailed && !this.closed)
            this.reply(
              request.id,
              wire.unavailable('The upstream servers of this session could not be restarted'),
            );
        });
      } else if (request.method === 'ping') {
        this.reply(request.id, { result: {} });
      } else {
        this.reply(request.id, wire.invalidRequest('Server not initialized'));
      }
      return;
    }
    if (this.inflight.has(request.id)) {
      this.reply(request.id, wire.invalidRequest(`Request id ${String(request.id)} is already in use`));
      return;
    }
    this.run(createContext(this, request));
  }

  /** Runs a request's pipeline and answers it; retries waiting on it are released once it ends. */
  private run(ctx: CallContext): Promise<void> {
    const { request } = ctx;
    this.inflight.set(request.id, ctx);
    return (
      this.opts
        .pipeline(ctx)
        .then(
          () => {
            this.inflight.delete(request.id);
            if (ctx.reply !== undefined && 'result' in ctx.reply) this.noteSubscription(request.method, ctx);
            if (ctx.cancelled || this.closed) return;
            if (ctx.reply !== undefined) return this.reply(request.id, ctx.reply);
            // Every request gets an answer: a pipeline that produced none is a bug, not a reason to hang the agent.
            this.log.error({ method: request.method }, 'pipeline produced no reply');
            this.reply(request.id, wire.internal());
          },
          (err: unknown) => {
            this.inflight.delete(request.id);
            this.log.error({ err, method: request.method }, 'pipeline failed');
            if (!ctx.cancelled && !this.closed) this.reply(request.id, replyForError(err));
          },
        )
        // Nothing above throws (send() catches), but a fault here must never become an unhandled rejection.
        .catch((err: unknown) =>
          this.log.error({ err, method: request.method }, 'answering a request failed'),
        )
        // A bridged retry still waiting on this call gets no answer now (the call was cancelled or failed unanswered).
        .finally(() => this.rounds.release(request.id))
    );
  }

  continueRound(retry: JsonRpcRequest, original: RequestId, asked: string, reply: JsonRpcResponse): void {
    this.lastActivity = Date.now();
    const first = this.inflight.get(original);
    if (this.closed || first === undefined || this.inflight.has(retry.id)) {
      this.reply(retry.id, wire.invalidParams('The call this retry answers for has ended'));
      return;
    }
    let forwarded = false;
    const forward = (): void => {
      if (forwarded) return;
      forwarded = true;
      this.handle(reply);
    };
    const { n, answer } = this.rounds.open(retry.id, original);
    const ctx = createContext(this, retry);
    ctx.continues = { first, n, asked, answer, forward };
    void this.run(ctx).then(() => {
      if (forwarded) return;
      // Refused before its answer went up (a grant revoked since the call began): the upstream's question gets an
      // error and the call ends, so nothing the agent may no longer do runs on upstream.
      this.rounds.drop(retry.id);
      this.handle(errorResponse(reply.id, INVALID_REQUEST, 'The agent may no longer answer this request'));
      this.handle({
        jsonrpc: '2.0',
        method: 'notifications/cancelled',
        params: { requestId: original, reason: 'the retry that answers for this call was refused' },
      });
    });
  }

  answerRound(retry: RequestId, answer: JsonRpcResponse): void {
    this.rounds.answer(retry, 'error' in answer ? { error: answer.error } : { result: answer.result });
  }

  /** Remembers what this session subscribed to, so that a shared upstream's updates reach it and no other session. */
  private noteSubscription(method: string, ctx: CallContext): void {
    if (method !== 'resources/subscribe' && method !== 'resources/unsubscribe') return;
    for (const t of ctx.targets) {
      const uri = t.params?.uri;
      if (typeof uri !== 'string') continue;
      const key = `${t.server}\u0000${uri}`;
      if (method === 'resources/subscribe') this.subscriptions.add(key);
      else this.subscriptions.delete(key);
    }
  }

  private async initialize(request: JsonRpcRequest): Promise<void> {
    if (this.initializing) {
      this.reply(request.id, wire.invalidRequest('Session already initialized'));
      return;
    }
    const params = request.params ?? {};
    this.initParams = params;
    const done = this.beginInitializing();
    // stdio: a grant revoked before the agent initialized starts no upstream (later requests are checked in the pipeline).
    const { recheck, recheckEachRequest } = this.identity;
    if (recheckEachRequest === true && recheck !== undefined) {
      const state = await recheck();
      if (state !== 'live') {
        this.initializing = undefined;
        queueMicrotask(done);
        this.log.warn(
          { grant: this.identity.grant?.label, state },
          'initialize refused: grant no longer live',
        );
        this.reply(request.id, grantRefusal(state, this.identity).reply);
        return;
      }
    }
    const ok = await this.startLinks(params);
    // Requests pipelined behind initialize wait on `initializing`: release them only once the outcome is set.
    queueMicrotask(done);
    if (ok === undefined) return;
    if (ok.length === 0) {
      const reasons = [...this.links.values()].map(
        (l) => `${l.id}: ${l.lastError?.message ?? 'unknown error'}`,
      );
      this.reply(request.id, wire.unavailable(`No upstream server could be started (${reasons.join('; ')})`));
      return;
    }
    this.initialized = true;
    this.reply(request.id, {
      result:
        this.server === undefined
          ? aggregateInit(ok, params, this.opts.version, this.links.values())
          : (ok[0]!.result as Record<string, unknown>),
    });
  }

  restore(params: Record<string, unknown>): void {
    if (this.initializing) return;
    this.initParams = params;
    const done = this.beginInitializing();
    void this.startLinks(params).then((ok) => {
      queueMicrotask(done);
      if (ok === undefined || ok.length === 0) {
        this.log.error('session taken over from another replica, but no upstream could be started');
        return;
      }
      this.initialized = true;
      // The agent sent notifications/initialized to the replica that opened the session; the new links hear it here.
      for (const link of this.links.values()) link.confirmInitialized();
      this.log.info('session taken over from another replica');
    });
  }

  /** Marks the session as initializing; the returned function ends that (requests waiting on it then run). */
  private beginInitializing(): () => void {
    let done!: () => void;
    this.starting = true;
    this.initializing = new Promise((r) => {
      done = () => {
        this.starting = false;
        r();
      };
    });
    return done;
  }

  /**
   * Stops the upstream links of a session nobody is using (no request in flight, none of the upstreams' requests
   * waiting on the agent): stdio upstreams are processes, and agents that never send DELETE leave their sessions to
   * the idle timeout. The agent side stays; the next request starts the upstreams again with the agent's original
   * initialize params, as a replica taking the session over does. What an upstream kept for the session
   * (subscriptions, a log level, its own memory) starts afresh. Returns whether it stopped anything.
   */
  async suspend(): Promise<boolean> {
    if (
      this.closed ||
      this.suspended ||
      !this.initialized ||
      this.starting ||
      this.inflight.size > 0 ||
      this.serverRequests.size > 0 ||
      this.initParams === undefined
    )
      return false;
    this.suspended = true;
    this.initialized = false;
    const count = this.links.size;
    await this.releaseLinks();
    this.log.info({ upstreams: count }, 'idle session: upstreams released until its next request');
    return true;
  }

  /** Starts the upstreams of a suspended session again; requests wait on `initializing` meanwhile. */
  private resume(): void {
    this.suspended = false;
    this.resumeFailed = false;
    const done = this.beginInitializing();
    void this.startLinks(this.initParams ?? {}).then((ok) => {
      if (ok !== undefined && ok.length > 0) {
        this.initialized = true;
        for (const link of this.links.values()) link.confirmInitialized();
        this.log.info('idle session resumed: upstreams started again');
      } else if (ok !== undefined) {
        this.resumeFailed = true;
        // Links that failed to start are dropped: the next request tries again from scratch.
        void this.releaseLinks();
        this.suspended = true;
        this.log.error('idle session: no upstream could be started again');
      }
      queueMicrotask(done);
    });
  }

  /** Creates and starts the session's upstream links; undefined when the session closed meanwhile. */
  private async startLinks(
    params: Record<string, unknown>,
  ): Promise<Array<{ id: string; result: InitializeResult }> | undefined> {
    const specs =
      this.server === undefined
        ? this.opts.upstreams
        : this.opts.upstreams.filter((s) => s.id === this.server);
    for (const spec of specs) {
      try {
        const lease = this.pool.acquire(spec, this.identity, {
          sink: this,
          initParams: params,
          log: this.log,
          createTransport: this.opts.createTransport,
          authFor: this.opts.authFor,
        });
        this.leases.set(spec.id, lease);
        this.links.set(spec.id, lease.link);
      } catch (err) {
        // The pool is closing (the gateway stops): this upstream is not started, like one that failed to.
        this.log.warn({ upstream: spec.id, err: (err as Error).message }, 'no upstream link to be had');
      }
    }
    const started = await Promise.allSettled([...this.leases.values()].map((l) => l.ready));
    if (this.closed) return undefined;
    const ok: Array<{ id: string; result: InitializeResult }> = [];
    started.forEach((s, i) => {
      const link = [...this.links.values()][i]!;
      if (s.status === 'fulfilled') ok.push({ id: link.id, result: s.value });
      else
        this.log.error({ upstream: link.id, err: (s.reason as Error).message }, 'upstream failed to start');
    });
    return ok;
  }

  /** Gives the session's leases back to the pool (which closes or keeps the links per isolation). */
  private async releaseLinks(): Promise<void> {
    const leases = [...this.leases.values()];
    this.leases.clear();
    this.links.clear();
    this.subscriptions.clear();
    await Promise.all(leases.map((lease) => lease.release()));
  }

  /** See LeaseSink.busyOn. */
  busyOn(link: UpstreamLink): boolean {
    return this.relatedRequest(link) !== undefined;
  }

  /** See LeaseSink.subscribedTo. */
  subscribedTo(link: UpstreamLink, uri: string): boolean {
    return this.subscriptions.has(`${link.id}\u0000${uri}`);
  }

  /** See LeaseSink.onNotification. */
  onNotification(link: UpstreamLink, n: JsonRpcNotification): void {
    if (!this.closed) this.onUpstreamNotification(link, n);
  }

  private onAgentNotification(n: JsonRpcNotification): void {
    // Only what the spec defines for a client travels upstream: a request sent without an id (`tools/call` as a
    // notification) would otherwise run upstream with no decision and no audit record. A notification gets no
    // answer (JSON-RPC), so the agent sees nothing; the log says what was dropped.
    if (!CLIENT_NOTIFICATIONS.has(n.method)) {
      this.log.warn(
        { method: loggedMethod(n.method) },
        'notification that MCP does not define for clients dropped',
      );
      return;
    }
    switch (n.method) {
      case 'notifications/initialized':
        for (const link of this.links.values()) link.confirmInitialized();
        return;
      case 'notifications/cancelled': {
        const id = n.params?.requestId as RequestId | undefined;
        const ctx = id === undefined ? undefined : this.inflight.get(id);
        if (ctx) {
          const reason = typeof n.params?.reason === 'string' ? n.params.reason : undefined;
          cancelContext(ctx, reason);
          this.inflight.delete(id!);
        }
        return;
      }
      case 'notifications/progress':
        // Progress of the agent's work on a request an upstream sent it: to that upstream, nowhere else.
        if (!this.serverRequests.progress(n)) this.log.debug('progress for no request in flight dropped');
        return;
      case 'notifications/roots/list_changed':
        // Only upstreams that take their roots from the agent hear that they changed (docs/configuration.md).
        for (const link of this.links.values()) if (link.rootsFromAgent) link.notify(n.method, n.params);
        return;
      default:
        // notifications/tasks/status: every upstream of the session hears it.
        for (const link of this.links.values()) link.notify(n.method, n.params);
    }
  }

  /** The agent's answer to a request an upstream sent it. */
  private onResponse(response: JsonRpcResponse): void {
    if (!this.serverRequests.answer(response))
      this.log.debug({ id: response.id }, 'response to an unknown request; ignored');
  }

  /** The newest agent request that went to this upstream: the stream that server-to-client traffic belongs on. */
  private relatedRequest(link: UpstreamLink): RequestId | undefined {
    let found: RequestId | undefined;
    for (const [id, ctx] of this.inflight) {
      // A bridged retry runs nothing upstream: what the upstream asks next belongs to the call it continues.
      if (ctx.continues === undefined && ctx.targets.some((t) => t.link === link)) found = id;
    }
    return found;
  }

  /** See LeaseSink.onServerRequest. */
  onServerRequest(link: UpstreamLink, request: JsonRpcRequest): void {
    const lease = this.leases.get(link.id);
    if (this.closed || lease === undefined) {
      link.respond(errorResponse(request.id, INTERNAL_ERROR, 'The agent session has ended'));
      return;
    }
    const caps = this.initParams?.capabilities as Record<string, unknown> | undefined;
    if (!mayAsk(request.method, lease.isolation !== 'session', caps)) {
      link.respond(errorResponse(request.id, METHOD_NOT_FOUND, `Method not found: ${request.method}`));
      return;
    }
    this.send(this.serverRequests.open(link, request), this.relatedRequest(link));
  }

  private onUpstreamNotification(link: UpstreamLink, n: JsonRpcNotification): void {
    if (n.method === 'notifications/cancelled') {
      // The upstream withdraws a request it sent the agent: translate its id to ours.
      const id = this.serverRequests.withdraw(link, n.params?.requestId);
      if (id !== undefined)
        this.send({ ...n, params: { ...n.params, requestId: id } }, this.relatedRequest(link));
      return;
    }
    const related = n.method === 'notifications/message' ? this.relatedRequest(link) : undefined;
    this.send(n, related);
  }

  /** A notification of the gateway's own to the agent (e.g. tools/list_changed after a policy reload). */
  announce(method: string): void {
    if (this.closed || (!this.initialized && !this.suspended)) return;
    this.send({ jsonrpc: '2.0', method });
  }

  progress(request: JsonRpcRequest, params: Record<string, unknown>): void {
    if (this.closed) return;
    this.send({ jsonrpc: '2.0', method: 'notifications/progress', params }, request.id);
  }

  /** See SessionSink.agentGone. */
  agentGone(why: string, id?: RequestId): void {
    const gone = id === undefined ? [...this.inflight.values()] : [this.inflight.get(id)];
    for (const ctx of gone) {
      if (ctx === undefined || ctx.agentGone !== undefined) continue;
      ctx.agentGone = why;
      for (const hook of ctx.agentGoneHooks) hook(why);
    }
  }

  /** Resolves when no agent request is in flight, or after timeoutMs. */
  async idle(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while ((this.inflight.size > 0 || this.starting) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const ctx of this.inflight.values()) cancelContext(ctx, 'session closed');
    this.inflight.clear();
    // Releasing a link of its own closes it, which also ends a start still in progress, so close does not wait for a
    // slow upstream; a shared link stays for its other holders.
    await this.releaseLinks();
    if (this.ownPool) await this.pool.close();
    await this.initializing;
    this.opts.downstream.close();
    this.opts.onClose?.(this);
  }
}

/** Each upstream's distinct links across the open sessions, and how many of them are ready (metrics, the dashboard). */
export function linkCounts(
  upstreams: readonly UpstreamSpec[],
  sessions: Iterable<ProxySession>,
): Map<string, { links: number; ready: number }> {
  const counts = new Map(upstreams.map((u) => [u.id, { links: 0, ready: 0 }]));
  // A link several sessions share (isolation grant or shared) is one link.
  const seen = new Set<UpstreamLink>();
  for (const s of sessions) {
    for (const [id, link] of s.links) {
      const c = counts.get(id);
      if (c === undefined || seen.has(link)) continue;
      seen.add(link);
      c.links++;
      if (link.ready) c.ready++;
    }
  }
  return counts;
}
