// One upstream MCP session: connects, initializes with the agent's capabilities, maps ids and progress tokens,
// times out, cancels, and restarts a stdio server that died (with backoff).
import type { Logger } from 'pino';
import type { UpstreamSpec } from '../config/resolve.js';
import { type BridgeHooks, ROUND_TRIP_METHODS, runRoundTrips } from '../era/input-bridge.js';
import { ModernLink } from '../era/upstream-link.js';
import { ERA_2025, ERA_2026, type Era } from '../era/versions.js';
import { WardenError } from '../errors.js';
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
  REQUEST_TIMEOUT,
} from '../transport/jsonrpc.js';
import type { MessageTransport } from '../transport/types.js';
import { loggedMethod, SERVER_NOTIFICATIONS, SERVER_REQUESTS } from './methods.js';
import { type ResourceCatalog, UpstreamCatalog } from './upstream-catalog.js';

import {
  type CallOptions,
  defaultTransport,
  ending,
  type InitializeResult,
  notDelivered,
  sessionGone,
  TERMINATE_TIMEOUT_MS,
  type UpstreamCall,
  type UpstreamLinkOptions,
  withRoots,
} from './upstream-parts.js';

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

interface Pending {
  id: number;
  resolve: (r: JsonRpcResponse | undefined) => void;
  timer: NodeJS.Timeout | undefined;
  timeoutMs: number;
  progressToken: string | number | undefined;
  callerToken: unknown;
  onProgress: ((params: Record<string, unknown>) => void) | undefined;
  method: string;
}

type LinkState = 'new' | 'starting' | 'ready' | 'down' | 'closed';

const MAX_BACKOFF_MS = 30_000;
const FIRST_BACKOFF_MS = 200;

/** How long an `auto` probe waits for its server/discover answer. */
const PROBE_TIMEOUT_MS = 10_000;

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

  private state: LinkState = 'new';
  private transport: MessageTransport | undefined;
  private nextId = 1;
  private nextToken = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly progress = new Map<string | number, Pending>();
  private initParams: Record<string, unknown> | undefined;
  private clientInitialized = false;
  private waiters: Array<() => void> = [];
  private backoffMs = FIRST_BACKOFF_MS;
  private restartTimer: NodeJS.Timeout | undefined;
  /** What the upstream lists (tools, prompts, resources), kept for policy checks and tool list answers. */
  private readonly catalog: UpstreamCatalog;
  private recovering: Promise<void> | undefined;
  /** 2026 calls in round trips, by the id their caller knows: the request in flight now, and how to stop them. */
  private readonly roundTripLegs = new Map<number, { current: () => number; cancel: () => void }>();
  private readyAt = 0;
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
      channel: () => this.channel(),
      onTools: (catalog) => this.modern.tools(catalog),
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
    return this.state === 'ready';
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
    this.initParams = withRoots(initParams, this.spec.roots ?? 'none');
    return this.connect();
  }

  /** Forwards the agent's `notifications/initialized` (and remembers it for restarts). */
  confirmInitialized(): void {
    // Once: a session taken over from another replica confirms itself, then may hear the agent's own notification.
    if (this.clientInitialized) return;
    this.clientInitialized = true;
    if (this.state === 'ready' && this.era === ERA_2025) this.initialized();
  }

  /** Sends `notifications/initialized`; a failure is logged (an HTTP upstream may answer it with an error status). */
  private initialized(): void {
    this.write({ jsonrpc: '2.0', method: 'notifications/initialized' }).catch((err: Error) =>
      this.log.warn({ err: err.message }, 'upstream refused notifications/initialized'),
    );
  }

  /** Makes the link's transport and wires it (`modern`: the 2026 HTTP transport). */
  private attach(modern: boolean): MessageTransport {
    // Per-user credentials go with every request of either era; such a link never takes the test seam's transport.
    const auth = this.opts.authFor?.(this.spec);
    const transport = modern
      ? this.modern.transport(auth)
      : auth !== undefined
        ? defaultTransport(this.spec, () => this.log, auth)
        : (this.opts.createTransport?.(this.spec, this.log) ?? defaultTransport(this.spec, () => this.log));
    this.transport = transport;
    transport.onmessage = (m) => this.onMessage(m);
    transport.onerror = (err) => this.log.warn({ err: err.message }, 'upstream transport error');
    transport.onclose = (err) => {
      if (this.transport === transport) this.onTransportClosed(err);
    };
    return transport;
  }

  /**
   * 2026 first, where it may be: a server/discover (the probe, under `auto`); the upstream's answer decides the era.
   * Returns the initialize result a 2025 agent gets, or undefined when the upstream is to be spoken to in 2025.
   */
  private async discover(): Promise<InitializeResult | undefined> {
    if (!this.modern.mayBeModern()) return undefined;
    const transport = this.attach(true);
    await transport.start();
    this.era = ERA_2026;
    this.modern.client(this.initParams);
    const remembered = this.modern.remembered(this.initParams);
    if (remembered !== undefined) return remembered;
    // Under auto, a server that does not answer the probe soon is not kept waiting on: initialize follows.
    const wait =
      this.spec.protocol === ERA_2026
        ? this.spec.startTimeoutMs
        : Math.min(this.spec.startTimeoutMs, PROBE_TIMEOUT_MS);
    const answer = await this.rawRequest('server/discover', {}, wait);
    const result = this.modern.discovered(answer, this.initParams);
    if (result !== undefined) return result;
    // Not a 2026 upstream: initialize on a transport of its own, as for any 2025 upstream.
    this.era = ERA_2025;
    this.transport = undefined;
    await transport.close().catch(() => {});
    return undefined;
  }

  private async connect(): Promise<InitializeResult> {
    this.state = 'starting';
    let transport: MessageTransport | undefined;
    try {
      const modern = await this.discover();
      let result: InitializeResult;
      if (modern !== undefined) {
        transport = this.transport as MessageTransport;
        result = modern;
      } else {
        transport = this.attach(false);
        await transport.start();
        const init = await this.rawRequest('initialize', this.initParams ?? {}, this.spec.startTimeoutMs);
        if ('error' in init) {
          throw new WardenError('UPSTREAM_START_FAILED', `initialize failed: ${init.error.message}`);
        }
        result = init.result as InitializeResult;
        if (typeof result.protocolVersion === 'string')
          transport.setProtocolVersion?.(result.protocolVersion);
      }
      this.initResult = result;
      this.forgetTools();
      this.state = 'ready';
      this.readyAt = Date.now();
      this.lastError = undefined;
      if (this.era === ERA_2026) this.modern.listen();
      else if (this.clientInitialized) this.initialized();
      const waiters = this.waiters;
      this.waiters = [];
      for (const w of waiters) w();
      return result;
    } catch (cause) {
      const err =
        cause instanceof WardenError && cause.code === 'UPSTREAM_START_FAILED'
          ? cause
          : new WardenError('UPSTREAM_START_FAILED', (cause as Error).message, {
              cause,
              ...(this.lastError?.detail === undefined ? {} : { detail: this.lastError.detail }),
            });
      this.lastError = err;
      transport ??= this.transport;
      if (this.transport === transport) this.transport = undefined;
      // Calls waiting for this start fail now, with its reason, instead of at their timeout.
      const waiters = this.waiters;
      this.waiters = [];
      for (const w of waiters) w();
      // close() may have run while we awaited: a closed link stays closed.
      if ((this.state as LinkState) !== 'closed') this.state = 'down';
      await transport?.close().catch(() => {});
      throw err;
    }
  }

  private onTransportClosed(err: Error | undefined): void {
    this.transport = undefined;
    if (this.state === 'closed') return;
    const reason = err?.message ?? 'connection closed';
    // The stderr tail is logged (masked); the agent's error carries only the reason (#17.15).
    const detail = err instanceof WardenError ? err.detail : undefined;
    this.log.warn({ reason, ...(detail === undefined ? {} : { stderr: detail }) }, 'upstream went away');
    this.lastError = new WardenError('UPSTREAM_CLOSED', `upstream ${this.id} closed: ${reason}`, {
      ...(detail === undefined ? {} : { detail }),
    });
    this.failPending(CONNECTION_CLOSED, `Upstream ${this.id} closed: ${reason}`);
    const wasReady = this.state === 'ready';
    this.state = 'down';
    // Only a server that worked is restarted; one that never initialized is reported, not hammered.
    if (wasReady && this.initResult !== undefined) this.scheduleRestart();
  }

  private scheduleRestart(): void {
    if (this.restartTimer || this.state === 'closed') return;
    // A server that stayed up for a while earns a fresh backoff.
    if (this.readyAt !== 0 && Date.now() - this.readyAt > MAX_BACKOFF_MS) this.backoffMs = FIRST_BACKOFF_MS;
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, MAX_BACKOFF_MS);
    this.log.info({ delayMs: delay }, 'restarting upstream');
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.state === 'closed') return;
      this.connect().catch((err: Error) => {
        this.log.warn({ err: err.message }, 'upstream restart failed');
        if (this.state !== 'closed') this.scheduleRestart();
      });
    }, delay);
    this.restartTimer.unref();
  }

  private failPending(code: number, message: string): void {
    for (const [id, p] of this.pending) {
      if (p.timer) clearTimeout(p.timer);
      if (p.progressToken !== undefined) this.progress.delete(p.progressToken);
      p.resolve(errorResponse(id, code, message) as JsonRpcError);
    }
    this.pending.clear();
  }

  /** Waits until the upstream is ready again (after a restart), or fails with why it is not. */
  private async whenReady(timeoutMs: number): Promise<void> {
    if (this.state === 'ready') return;
    if (this.state === 'closed') throw new WardenError('UPSTREAM_CLOSED', `upstream ${this.id} is closed`);
    // Never ready and not restarting: fail at once with the start error.
    if (this.state === 'down' && !this.restartTimer && this.initResult === undefined) {
      throw this.lastError ?? new WardenError('UPSTREAM_CLOSED', `upstream ${this.id} is not running`);
    }
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== done);
        reject(
          new WardenError(
            'UPSTREAM_TIMEOUT',
            `upstream ${this.id} did not come back within ${timeoutMs} ms`,
            {
              cause: this.lastError,
            },
          ),
        );
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      this.waiters.push(done);
    });
  }

  private rawRequest(
    method: string,
    params: Record<string, unknown>,
    timeoutMs: number,
  ): Promise<JsonRpcResponse> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      const p: Pending = {
        id,
        resolve: (r) => resolve(r ?? (errorResponse(id, CONNECTION_CLOSED, 'cancelled') as JsonRpcError)),
        timer: undefined,
        timeoutMs,
        progressToken: undefined,
        callerToken: undefined,
        onProgress: undefined,
        method,
      };
      this.armTimer(id, p);
      this.pending.set(id, p);
      const outgoing = this.era === ERA_2026 ? this.modern.envelope(params) : params;
      this.write({ jsonrpc: '2.0', id, method, params: outgoing }).catch((err: Error) => {
        this.settle(
          id,
          errorResponse(id, CONNECTION_CLOSED, `Upstream ${this.id}: ${err.message}`) as JsonRpcError,
        );
      });
    });
  }

  /**
   * Sends a request upstream. The params object is not modified; when it carries a progress token, a copy with a
   * token of the gateway's own goes upstream and progress comes back under the caller's token.
   */
  call(method: string, params: Record<string, unknown> | undefined, options: CallOptions = {}): UpstreamCall {
    const first = this.leg(method, params, options);
    if (this.era !== ERA_2026 || !ROUND_TRIP_METHODS.has(method) || options.modernCaller) return first;
    return this.roundTrips(first, method, params, options);
  }

  /**
   * A 2026 call whose answer may be an InputRequiredResult: the round trips run here (src/era/input-bridge.ts), each
   * retry a new upstream request; cancelling the call cancels whichever of them is in flight. The caller sees one
   * call under the first request's id.
   */
  private roundTrips(
    first: UpstreamCall,
    method: string,
    params: Record<string, unknown> | undefined,
    options: CallOptions,
  ): UpstreamCall {
    const legs: UpstreamCall[] = [first];
    let cancelled = false;
    let asking: string | undefined;
    let stop!: () => void;
    const stopped = new Promise<undefined>((resolve) => {
      stop = () => resolve(undefined);
    });
    this.roundTripLegs.set(first.upstreamId, {
      current: () => legs[legs.length - 1]!.upstreamId,
      cancel: () => {
        cancelled = true;
        // A question the agent has not answered yet is withdrawn; the caller hears at once that nothing comes.
        if (asking !== undefined) this.modern.withdraw(asking);
        stop();
      },
    });
    const hooks: BridgeHooks = {
      ask: (m, p) =>
        this.modern.ask(m, p, this.spec.roots ?? 'none', (id) => {
          asking = id;
        }),
      retry: (p) => {
        const next = this.leg(method, p, options);
        legs.push(next);
        return next.response;
      },
      cancelled: () => cancelled || this.state === 'closed',
    };
    const trips = first.response.then((r) => runRoundTrips(r, params, hooks));
    const response = Promise.race([trips, stopped]).finally(() =>
      this.roundTripLegs.delete(first.upstreamId),
    );
    return {
      upstreamId: first.upstreamId,
      response,
      get sent() {
        return legs.some((l) => l.sent);
      },
    };
  }

  /** One upstream request (see call). */
  private leg(
    method: string,
    params: Record<string, unknown> | undefined,
    options: CallOptions,
  ): UpstreamCall {
    const id = this.nextId++;
    const timeoutMs = options.timeoutMs ?? this.spec.timeoutMs;
    let outgoing = params;
    let progressToken: string | number | undefined;
    let callerToken: unknown;
    const meta = params?._meta as Record<string, unknown> | undefined;
    if (meta !== undefined && meta.progressToken !== undefined) {
      callerToken = meta.progressToken;
      progressToken = this.nextToken++;
      outgoing = { ...params, _meta: { ...meta, progressToken } };
    }
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
      this.pending.set(id, p);
      if (progressToken !== undefined) this.progress.set(progressToken, p);
      const message: JsonRpcRequest =
        outgoing === undefined
          ? { jsonrpc: '2.0', id, method }
          : { jsonrpc: '2.0', id, method, params: outgoing };
      const fail = (text: string) =>
        this.settle(id, errorResponse(id, CONNECTION_CLOSED, text) as JsonRpcError);
      const send = (retried: boolean) => {
        if (!this.pending.has(id)) return; // cancelled or timed out while waiting for a restart
        if (this.state !== 'ready')
          return fail(this.lastError?.message ?? `Upstream ${this.id} is not running`);
        this.armTimer(id, p);
        call.sent = true;
        this.write(message).catch((err: Error) => {
          // Set before the call settles below, so whoever reads `sent` on its response sees the final word.
          if (notDelivered(err)) call.sent = false;
          if (!retried && sessionGone(err)) {
            this.recover().then(
              () => send(true),
              (e: Error) => fail(`Upstream ${this.id}: ${e.message}`),
            );
            return;
          }
          fail(`Upstream ${this.id}: ${err.message}`);
        });
      };
      if (this.state === 'ready' && !this.needsDeclarations(method, params)) send(false);
      else if (this.state === 'ready') {
        // A 2026 tools/call carries the tool's x-mcp-header values as headers: its definition is needed first.
        void this.toolDefinition(String(params?.name)).finally(() => send(false));
      } else {
        // Waiting for a restart counts against the start timeout; the request timeout starts when it is sent.
        this.whenReady(this.spec.startTimeoutMs).then(
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
    return this.state === 'ready' ? this.catalog.toolListAnswer() : undefined;
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

  /** See MessageTransport.channel: 0 for transports whose channel lives as long as they do. */
  private channel(): number | undefined {
    const t = this.transport;
    if (t === undefined) return undefined;
    return t.channel === undefined ? 0 : t.channel();
  }
  /**
   * An HTTP upstream that no longer knows our session (it restarted, or expired it) answers 404: open a new upstream
   * session with the same initialize params, once for every caller that noticed.
   */
  private recover(): Promise<void> {
    // A 2026 upstream has no session to lose: a 404 is its answer, not a reason to start again.
    if (this.era === ERA_2026) return Promise.reject(new Error('HTTP 404 from the upstream'));
    if (!this.recovering) {
      this.log.info('upstream session expired; initializing a new one');
      const old = this.transport;
      this.transport = undefined; // its close must not count as the upstream going away
      this.state = 'starting';
      this.recovering = (async () => {
        await old?.close().catch(() => {});
        await this.connect();
      })().finally(() => {
        this.recovering = undefined;
      });
    }
    return this.recovering;
  }

  /** Cancels a call: tells the upstream, and settles the call with no response (the agent asked for none). */
  cancel(upstreamId: number, reason?: string): void {
    const trip = this.roundTripLegs.get(upstreamId);
    if (trip !== undefined) {
      trip.cancel();
      upstreamId = trip.current();
    }
    if (!this.pending.has(upstreamId)) return;
    this.settle(upstreamId, undefined);
    // 2026: the client cancels by closing the request's HTTP exchange.
    if (this.era === ERA_2026) {
      this.modern.abort(upstreamId);
      return;
    }
    const params: Record<string, unknown> = { requestId: upstreamId };
    if (reason !== undefined) params.reason = reason;
    void this.write({ jsonrpc: '2.0', method: 'notifications/cancelled', params }).catch(() => {});
  }

  notify(method: string, params?: Record<string, unknown>): void {
    // A 2026 upstream takes no notifications from its client (cancellation closes the request instead).
    if (this.state !== 'ready' || this.era === ERA_2026) return;
    const message: JsonRpcNotification =
      params === undefined ? { jsonrpc: '2.0', method } : { jsonrpc: '2.0', method, params };
    void this.write(message).catch((err: Error) => this.log.debug({ err: err.message }, 'notify failed'));
  }

  /** Answers a request the upstream sent us (a server-to-client request). */
  respond(response: JsonRpcResponse): void {
    if (this.modern.answered(response)) return;
    void this.write(response).catch((err: Error) => this.log.debug({ err: err.message }, 'respond failed'));
  }

  private armTimer(id: number, p: Pending): void {
    if (p.timer) clearTimeout(p.timer);
    p.timer = setTimeout(() => {
      this.log.warn({ method: p.method, timeoutMs: p.timeoutMs }, 'upstream request timed out');
      // 2026: the request's HTTP exchange is closed; 2025: the upstream is told by notification.
      if (this.era === ERA_2026) {
        this.modern.abort(id);
      } else {
        void this.write({
          jsonrpc: '2.0',
          method: 'notifications/cancelled',
          params: { requestId: id, reason: 'timeout' },
        }).catch(() => {});
      }
      this.settle(
        id,
        errorResponse(
          id,
          REQUEST_TIMEOUT,
          `Upstream ${this.id} did not answer ${p.method} within ${p.timeoutMs} ms`,
        ) as JsonRpcError,
      );
    }, p.timeoutMs);
  }

  private settle(id: number, response: JsonRpcResponse | undefined): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    if (p.timer) clearTimeout(p.timer);
    if (p.progressToken !== undefined) this.progress.delete(p.progressToken);
    p.resolve(response);
  }

  private write(message: JsonRpcMessage): Promise<void> {
    const t = this.transport;
    if (!t) return Promise.reject(new WardenError('UPSTREAM_CLOSED', 'not connected'));
    return t.send(message).catch((err: Error & { detail?: unknown }) => {
      // What the upstream said (its error body) goes to the log, masked; the error itself names only the status.
      if (typeof err.detail === 'string' && err.detail !== '')
        this.log.warn({ err: err.message, body: err.detail }, 'upstream refused a message');
      throw err;
    });
  }

  private onMessage(m: JsonRpcMessage): void {
    if (isResponse(m)) {
      if (typeof m.id === 'number') this.settle(m.id, m);
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
      const token = m.params?.progressToken as string | number | undefined;
      const p = token === undefined ? undefined : this.progress.get(token);
      if (!p) return; // progress for a token we never handed out: dropped
      if (p.timer) this.armTimer(p.id, p);
      p.onProgress?.({ ...m.params, progressToken: p.callerToken });
      return;
    }
    if (m.method === 'notifications/tools/list_changed') this.forgetTools();
    else if (m.method === 'notifications/prompts/list_changed') this.catalog.forgetPrompts();
    else if (m.method === 'notifications/resources/list_changed') this.catalog.forgetResources();
    this.modern.changed(m);
    this.opts.onNotification(this, m);
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.modern.close();
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.failPending(CONNECTION_CLOSED, `Upstream ${this.id} closed`);
    for (const w of this.waiters) w();
    this.waiters = [];
    const t = this.transport;
    this.transport = undefined;
    if (t?.terminate !== undefined) await ending(t.terminate(), TERMINATE_TIMEOUT_MS, this.log);
    await t?.close().catch(() => {});
  }
}
