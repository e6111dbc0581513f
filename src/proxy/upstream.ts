// One upstream MCP session: its calls, cancels and notifications, and what the upstream sends, over its parts: the
// connection (upstream-connection.ts), its lifecycle with restarts (upstream-lifecycle.ts), the pending requests with
// their ids, progress tokens and timeouts (upstream-pending.ts), 2026 round trips (upstream-round-trips.ts) and what
// the upstream lists (upstream-catalog.ts).
import type { Logger } from 'pino';
import type { UpstreamSpec } from '../config/resolve.js';
import { ROUND_TRIP_METHODS } from '../era/input-bridge.js';
import { ModernLink } from '../era/upstream-link.js';
import { ERA_2025, ERA_2026, type Era } from '../era/versions.js';
import type { WardenError } from '../errors.js';
import { maskCredentials } from '../guards/credentials.js';
import {
  CONNECTION_CLOSED,
  errorResponse,
  isRequest,
  isResponse,
  type JsonRpcError,
  type JsonRpcMessage,
  type JsonRpcNotification,
  type JsonRpcRequest,
  type JsonRpcResponse,
  METHOD_NOT_FOUND,
} from '../transport/jsonrpc.js';
import { loggedMethod, SERVER_NOTIFICATIONS, SERVER_REQUESTS } from './methods.js';
import { type ResourceCatalog, UpstreamCatalog } from './upstream-catalog.js';
import { UpstreamConnection } from './upstream-connection.js';
import { LinkLifecycle } from './upstream-lifecycle.js';
import {
  type CallOptions,
  type InitializeResult,
  notDelivered,
  sessionGone,
  type UpstreamCall,
  type UpstreamLinkOptions,
  withRoots,
} from './upstream-parts.js';
import { type Pending, PendingRequests } from './upstream-pending.js';
import { RoundTrips } from './upstream-round-trips.js';

export { catalogHas, type ResourceCatalog } from './upstream-catalog.js';
export {
  type CallOptions,
  defaultTransport,
  type InitializeResult,
  notDelivered,
  type UpstreamCall,
  type UpstreamLinkOptions,
  withRoots,
} from './upstream-parts.js';

export class UpstreamLink {
  readonly spec: UpstreamSpec;
  readonly id: string;
  initResult: InitializeResult | undefined;
  /** Why the last start failed, for requests that arrive while the upstream is down. */
  lastError: WardenError | undefined;
  /** The era this upstream is spoken to in (SPEC §12), known once it started. */
  era: Era = ERA_2025;
  /** The 2026 side of this link: envelope, probe, listen, bridge asks (src/era/upstream-link.ts). */
  private readonly modern: ModernLink;

  /** Its state, the calls waiting for it to be ready, restarts (src/proxy/upstream-lifecycle.ts). */
  private readonly lifecycle: LinkLifecycle;
  /** Its transport, era discovery, initialize, the transport closing (src/proxy/upstream-connection.ts). */
  private readonly connection: UpstreamConnection;
  /** The requests sent upstream and waited on: ids, progress tokens, timers (src/proxy/upstream-pending.ts). */
  private readonly pending: PendingRequests;
  /** What the upstream lists (tools, prompts, resources), kept for policy checks and tool list answers. */
  private readonly catalog: UpstreamCatalog;
  /** 2026 calls in round trips (src/proxy/upstream-round-trips.ts); made on first use, as most links never run one. */
  private roundTrips: RoundTrips | undefined;
  private childLog: Logger | undefined;

  constructor(private readonly opts: UpstreamLinkOptions) {
    this.spec = opts.spec;
    this.id = opts.spec.id;
    this.modern = new ModernLink(opts.spec, {
      ask: (request) => opts.onServerRequest(this, request),
      withdraw: (id) =>
        opts.onNotification(this, {
          jsonrpc: '2.0',
          method: 'notifications/cancelled',
          params: { requestId: id },
        }),
    });
    this.catalog = new UpstreamCatalog({
      call: (method, params) => this.call(method, params),
      capability: (name) => this.capability(name),
      channel: () => this.connection.channel(),
      onTools: (catalog) => this.modern.tools(catalog),
    });
    const log = () => this.log;
    this.pending = new PendingRequests(this.id, log, (id, reason) => this.withdraw(id, reason));
    this.lifecycle = new LinkLifecycle(this, log, () => this.connection.connect());
    this.connection = new UpstreamConnection(this, {
      opts,
      modern: this.modern,
      lifecycle: this.lifecycle,
      pending: this.pending,
      catalog: this.catalog,
      log,
      onMessage: (m) => this.onMessage(m),
    });
  }

  /**
   * Listens to this upstream's change notifications (list_changed, resources/updated), whatever its era: from a 2025
   * upstream's GET stream, from a 2026 upstream's subscriptions/listen stream. Returns the unsubscribe function.
   */
  onChange(listener: (notification: JsonRpcNotification) => void): () => void {
    return this.modern.onChange(listener);
  }

  /** Made on first use: most links of idle sessions never log, and a child logger per link adds up. */
  private get log(): Logger {
    this.childLog ??= this.opts.log.child({ upstream: this.id });
    return this.childLog;
  }

  get ready(): boolean {
    return this.lifecycle.state === 'ready';
  }

  /** Its start failed for a reason the person can fix (they had not authorized yet): see LinkLifecycle.retry. */
  get retryable(): boolean {
    return this.lifecycle.retryable;
  }

  /** Starts a retryable link again: whether it is ready now. */
  retryStart(): Promise<boolean> {
    return this.lifecycle.retry();
  }

  capability(name: string): unknown {
    return this.initResult?.capabilities?.[name];
  }

  /** Whether this upstream takes its roots from the agent (`roots: agent`), rather than from the config or none. */
  get rootsFromAgent(): boolean {
    return this.spec.roots === 'agent';
  }

  /**
   * Connects and sends `initialize` with the agent's own params, except for roots: the agent's roots capability is
   * declared upstream only under `roots: agent`; configured roots are declared (and answered) by warden, and by
   * default none is, so an agent cannot widen what a server such as the filesystem server may touch.
   * Throws UPSTREAM_START_FAILED.
   */
  async start(initParams: Record<string, unknown>): Promise<InitializeResult> {
    return this.connection.start(withRoots(initParams, this.spec.roots ?? 'none'));
  }

  /** Forwards the agent's `notifications/initialized` (and remembers it for restarts). */
  confirmInitialized(): void {
    this.connection.confirmInitialized();
  }

  /**
   * Sends a request upstream. The params object is not modified; when it carries a progress token, a copy with a
   * token of the gateway's own goes upstream and progress comes back under the caller's token.
   */
  call(method: string, params: Record<string, unknown> | undefined, options: CallOptions = {}): UpstreamCall {
    const first = this.leg(method, params, options);
    if (this.era !== ERA_2026 || !ROUND_TRIP_METHODS.has(method) || options.modernCaller) return first;
    this.roundTrips ??= new RoundTrips({
      leg: (m, p, o) => this.leg(m, p, o),
      ask: (m, p, asked) => this.modern.ask(m, p, this.spec.roots ?? 'none', asked),
      withdraw: (id) => this.modern.withdraw(id),
      closed: () => this.lifecycle.state === 'closed',
    });
    return this.roundTrips.run(first, method, params, options);
  }

  /** One upstream request (see call). */
  private leg(
    method: string,
    params: Record<string, unknown> | undefined,
    options: CallOptions,
  ): UpstreamCall {
    const id = this.pending.newId();
    const timeoutMs = options.timeoutMs ?? this.spec.timeoutMs;
    const { params: own, progressToken, callerToken } = this.pending.ownToken(params);
    let outgoing = own;
    if (this.era === ERA_2026) outgoing = this.modern.envelope(outgoing, options.modernCaller?.capabilities);
    const call: { upstreamId: number; response: Promise<JsonRpcResponse | undefined>; sent: boolean } = {
      upstreamId: id,
      response: undefined as unknown as Promise<JsonRpcResponse | undefined>,
      sent: false,
    };
    const response = new Promise<JsonRpcResponse | undefined>((resolve) => {
      const p: Pending = {
        id,
        resolve,
        timer: undefined,
        timeoutMs,
        progressToken,
        callerToken,
        onProgress: options.onProgress,
        method,
      };
      this.pending.add(p);
      const message: JsonRpcRequest =
        outgoing === undefined
          ? { jsonrpc: '2.0', id, method }
          : { jsonrpc: '2.0', id, method, params: outgoing };
      const fail = (text: string) =>
        this.pending.settle(id, errorResponse(id, CONNECTION_CLOSED, text) as JsonRpcError);
      const send = (retried: boolean) => {
        if (!this.pending.has(id)) return; // cancelled or timed out while waiting for a restart
        if (this.lifecycle.state !== 'ready')
          return fail(this.lastError?.message ?? `Upstream ${this.id} is not running`);
        this.pending.armTimer(p);
        call.sent = true;
        this.write(message).catch((err: Error) => {
          // Set before the call settles below, so whoever reads `sent` on its response sees the final word.
          if (notDelivered(err)) call.sent = false;
          if (!retried && sessionGone(err)) {
            this.connection.recover().then(
              () => send(true),
              (e: Error) => fail(`Upstream ${this.id}: ${e.message}`),
            );
            return;
          }
          fail(`Upstream ${this.id}: ${err.message}`);
        });
      };
      if (this.lifecycle.state === 'ready' && !this.needsDeclarations(method, params)) send(false);
      else if (this.lifecycle.state === 'ready') {
        // A 2026 tools/call carries the tool's x-mcp-header values as headers: its definition is needed first.
        void this.toolDefinition(String(params?.name)).finally(() => send(false));
      } else {
        // Waiting for a restart counts against the start timeout; the request timeout starts when it is sent.
        this.lifecycle.whenReady(this.spec.startTimeoutMs).then(
          () => send(false),
          (err: WardenError) => fail(err.message),
        );
      }
    });
    if (method === 'tools/list' && params?.cursor === undefined) this.catalog.keepToolList(response);
    call.response = response;
    return call;
  }

  /** Whether a 2026 tools/call waits for the tool list (its x-mcp-header declarations) before it goes out. */
  private needsDeclarations(method: string, params: Record<string, unknown> | undefined): boolean {
    return (
      this.era === ERA_2026 &&
      method === 'tools/call' &&
      typeof params?.name === 'string' &&
      !this.modern.knowsTool(params.name)
    );
  }

  /** Drops what is known of the upstream's tools, prompts and resources (list_changed, a restart). */
  private forgetTools(): void {
    this.catalog.forget();
  }

  /** See UpstreamCatalog.toolListAnswer. */
  toolListAnswer(): JsonRpcResponse | undefined {
    return this.lifecycle.state === 'ready' ? this.catalog.toolListAnswer() : undefined;
  }

  /** Whether the upstream has a tool of this name (see UpstreamCatalog.hasTool). */
  hasTool(name: string): Promise<boolean | undefined> {
    return this.catalog.hasTool(name);
  }

  /** The tool's definition as the upstream listed it (for risk), undefined when unknown. */
  toolDefinition(name: string): Promise<Record<string, unknown> | undefined> {
    return this.catalog.toolDefinition(name);
  }

  /** Whether the upstream has a prompt of this name (see UpstreamCatalog.hasPrompt). */
  hasPrompt(name: string): Promise<boolean | undefined> {
    return this.catalog.hasPrompt(name);
  }

  /** The upstream's resources (see UpstreamCatalog.resources). */
  resources(): Promise<ResourceCatalog | undefined> {
    return this.catalog.resources();
  }

  /** Cancels a call: tells the upstream, and settles the call with no response (the agent asked for none). */
  cancel(upstreamId: number, reason?: string): void {
    this.pending.cancel(this.roundTrips?.cancel(upstreamId) ?? upstreamId, reason);
  }

  /** Tells the upstream that a request is given up on (cancelled, or timed out). */
  private withdraw(id: number, reason: string | undefined): void {
    // 2026 over HTTP: the client cancels by closing the request's HTTP exchange; else the upstream is told by
    // notification (2025, and 2026 over stdio).
    if (this.era === ERA_2026 && this.modern.cancelsByClosing) {
      this.modern.abort(id);
      return;
    }
    const params: Record<string, unknown> = { requestId: id };
    if (reason !== undefined) params.reason = reason;
    void this.write({ jsonrpc: '2.0', method: 'notifications/cancelled', params }).catch(() => {});
  }

  notify(method: string, params?: Record<string, unknown>): void {
    // A 2026 upstream takes no notifications from its client (cancellation closes the request instead).
    if (this.lifecycle.state !== 'ready' || this.era === ERA_2026) return;
    const message: JsonRpcNotification =
      params === undefined ? { jsonrpc: '2.0', method } : { jsonrpc: '2.0', method, params };
    void this.write(message).catch((err: Error) => this.log.debug({ err: err.message }, 'notify failed'));
  }

  /** Answers a request the upstream sent us (a server-to-client request). */
  respond(response: JsonRpcResponse): void {
    if (this.modern.answered(response)) return;
    void this.write(response).catch((err: Error) => this.log.debug({ err: err.message }, 'respond failed'));
  }

  private write(message: JsonRpcMessage): Promise<void> {
    return this.connection.write(message);
  }

  private onMessage(message: JsonRpcMessage): void {
    // The upstream's own credentials (and warden's secrets) are masked before anything reads what it sent.
    const m = maskCredentials(message);
    if (isResponse(m)) {
      if (typeof m.id === 'number') this.pending.settle(m.id, m);
      return;
    }
    if (isRequest(m)) {
      // The gateway is the upstream's client: it answers pings itself.
      if (m.method === 'ping') {
        this.respond({ jsonrpc: '2.0', id: m.id, result: {} });
        return;
      }
      const roots = this.spec.roots ?? 'none';
      if (m.method === 'roots/list' && roots !== 'agent') {
        // Configured roots are warden's answer; with none, the request is one this client does not serve.
        if (roots === 'none')
          this.respond(errorResponse(m.id, METHOD_NOT_FOUND, 'Method not found: roots/list'));
        else this.respond({ jsonrpc: '2.0', id: m.id, result: { roots: roots.map((r) => ({ ...r })) } });
        return;
      }
      if (!SERVER_REQUESTS.has(m.method)) {
        this.log.warn(
          { method: loggedMethod(m.method) },
          'request that MCP does not define for servers refused',
        );
        this.respond(errorResponse(m.id, METHOD_NOT_FOUND, `Method not found: ${m.method}`));
        return;
      }
      this.opts.onServerRequest(this, m);
      return;
    }
    if (!SERVER_NOTIFICATIONS.has(m.method)) {
      this.log.warn(
        { method: loggedMethod(m.method) },
        'notification that MCP does not define for servers dropped',
      );
      return;
    }
    if (m.method === 'notifications/progress') {
      this.pending.progressed(m.params);
      return;
    }
    if (m.method === 'notifications/tools/list_changed') this.forgetTools();
    else if (m.method === 'notifications/prompts/list_changed') this.catalog.forgetPrompts();
    else if (m.method === 'notifications/resources/list_changed') this.catalog.forgetResources();
    this.modern.changed(m);
    this.opts.onNotification(this, m);
  }

  async close(): Promise<void> {
    if (this.lifecycle.state === 'closed') return;
    this.lifecycle.close();
    this.modern.close();
    this.pending.failAll(CONNECTION_CLOSED, `Upstream ${this.id} closed`);
    this.lifecycle.wake();
    await this.connection.end();
  }
}
