// The connection of an upstream link: its transport (made for the spec and the era, wired, written to), era
// discovery (server/discover under `auto`), initialize, and what follows when the transport closes or an HTTP upstream
// forgets the session.
import type { Logger } from 'pino';
import type { UpstreamSpec } from '../config/resolve.js';
import type { ModernLink } from '../era/upstream-link.js';
import { ERA_2025, ERA_2026, type Era } from '../era/versions.js';
import { WardenError } from '../errors.js';
import {
  CONNECTION_CLOSED,
  errorResponse,
  type JsonRpcError,
  type JsonRpcMessage,
  type JsonRpcResponse,
} from '../transport/jsonrpc.js';
import type { MessageTransport } from '../transport/types.js';
import type { UpstreamCatalog } from './upstream-catalog.js';
import type { LinkLifecycle } from './upstream-lifecycle.js';
import {
  defaultTransport,
  ending,
  type InitializeResult,
  TERMINATE_TIMEOUT_MS,
  type UpstreamLinkOptions,
} from './upstream-parts.js';
import type { Pending, PendingRequests } from './upstream-pending.js';

/** How long an `auto` probe waits for its server/discover answer. */
const PROBE_TIMEOUT_MS = 10_000;

/** What the connection keeps up to date on its link (UpstreamLink's public fields). */
export interface LinkSession {
  readonly id: string;
  readonly spec: UpstreamSpec;
  era: Era;
  initResult: InitializeResult | undefined;
  lastError: WardenError | undefined;
}

/** The parts of its link the connection works with. */
export interface ConnectionParts {
  opts: UpstreamLinkOptions;
  modern: ModernLink;
  lifecycle: LinkLifecycle;
  pending: PendingRequests;
  catalog: UpstreamCatalog;
  log: () => Logger;
  /** Hears every message the upstream sends. */
  onMessage: (m: JsonRpcMessage) => void;
}

export class UpstreamConnection {
  private transport: MessageTransport | undefined;
  /** Why a request of the current start could not be sent, when the person can fix it (see rawRequest). */
  private refusal: WardenError | undefined;
  /** Counts starts: a late write failure of an earlier start is not taken for the current one's. */
  private starts = 0;
  private initParams: Record<string, unknown> | undefined;
  private clientInitialized = false;
  private readonly opts: UpstreamLinkOptions;
  private readonly modern: ModernLink;
  private readonly lifecycle: LinkLifecycle;
  private readonly pending: PendingRequests;
  private readonly catalog: UpstreamCatalog;
  private readonly log: () => Logger;
  private readonly onMessage: (m: JsonRpcMessage) => void;

  constructor(
    private readonly link: LinkSession,
    parts: ConnectionParts,
  ) {
    // Kept one by one rather than as the parts object: one object less for each link of an idle session.
    this.opts = parts.opts;
    this.modern = parts.modern;
    this.lifecycle = parts.lifecycle;
    this.pending = parts.pending;
    this.catalog = parts.catalog;
    this.log = parts.log;
    this.onMessage = parts.onMessage;
  }

  /** Connects and initializes with these params (kept for restarts). Throws UPSTREAM_START_FAILED. */
  start(initParams: Record<string, unknown>): Promise<InitializeResult> {
    this.initParams = initParams;
    return this.connect();
  }

  /** Sends the agent's `notifications/initialized` now if the upstream is ready, and after every restart. */
  confirmInitialized(): void {
    // Once: a session taken over from another replica confirms itself, then may hear the agent's own notification.
    if (this.clientInitialized) return;
    this.clientInitialized = true;
    if (this.lifecycle.state === 'ready' && this.link.era === ERA_2025) this.initialized();
  }

  /** Sends `notifications/initialized`; a failure is logged (an HTTP upstream may answer it with an error status). */
  private initialized(): void {
    this.write({ jsonrpc: '2.0', method: 'notifications/initialized' }).catch((err: Error) =>
      this.log().warn({ err: err.message }, 'upstream refused notifications/initialized'),
    );
  }

  /** Makes the link's transport and wires it (`modern`: the 2026 HTTP transport). */
  private attach(modern: boolean): MessageTransport {
    // Per-user credentials go with every request of either era; such a link never takes the test seam's transport.
    const auth = this.opts.authFor?.(this.link.spec);
    // A 2026 stdio upstream takes the pipe as it is (no headers to compute); the link sends its listen request there.
    const transport =
      modern && this.link.spec.kind === 'http'
        ? this.modern.transport(auth)
        : auth !== undefined
          ? defaultTransport(this.link.spec, this.log, auth)
          : (this.opts.createTransport?.(this.link.spec, this.log()) ??
            defaultTransport(this.link.spec, this.log));
    this.transport = transport;
    if (modern && this.link.spec.kind !== 'http') this.modern.over(transport);
    transport.onmessage = this.onMessage;
    transport.onerror = (err) => this.log().warn({ err: err.message }, 'upstream transport error');
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
    this.link.era = ERA_2026;
    this.modern.client(this.initParams);
    const remembered = this.modern.remembered(this.initParams);
    if (remembered !== undefined) return remembered;
    // Under auto, a server that does not answer the probe soon is not kept waiting on: initialize follows.
    const wait =
      this.link.spec.protocol === ERA_2026
        ? this.link.spec.startTimeoutMs
        : Math.min(this.link.spec.startTimeoutMs, PROBE_TIMEOUT_MS);
    const answer = await this.rawRequest('server/discover', {}, wait);
    const result = this.modern.discovered(answer, this.initParams);
    if (result !== undefined) return result;
    // Not a 2026 upstream: initialize on a transport of its own, as for any 2025 upstream.
    this.link.era = ERA_2025;
    this.transport = undefined;
    await transport.close().catch(() => {});
    return undefined;
  }

  async connect(): Promise<InitializeResult> {
    this.lifecycle.starting();
    this.refusal = undefined;
    this.starts++;
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
        const init = await this.rawRequest(
          'initialize',
          this.initParams ?? {},
          this.link.spec.startTimeoutMs,
        );
        if ('error' in init) {
          throw new WardenError('UPSTREAM_START_FAILED', `initialize failed: ${init.error.message}`);
        }
        result = init.result as InitializeResult;
        if (typeof result.protocolVersion === 'string')
          transport.setProtocolVersion?.(result.protocolVersion);
      }
      if (this.lifecycle.state === 'closed') {
        // The link was closed while this start ran: what it opened goes too.
        await transport?.close().catch(() => {});
        if (this.transport === transport) this.transport = undefined;
        throw new WardenError('UPSTREAM_CLOSED', `upstream ${this.link.id} is closed`);
      }
      this.link.initResult = result;
      this.catalog.forget();
      this.lifecycle.ready();
      this.link.lastError = undefined;
      if (this.link.era === ERA_2026) this.modern.listen();
      else if (this.clientInitialized) this.initialized();
      this.lifecycle.wake();
      return result;
    } catch (cause) {
      const err =
        this.refusal ??
        (cause instanceof WardenError && cause.code === 'UPSTREAM_START_FAILED'
          ? cause
          : new WardenError('UPSTREAM_START_FAILED', (cause as Error).message, {
              cause,
              ...(this.link.lastError?.detail === undefined ? {} : { detail: this.link.lastError.detail }),
            }));
      this.link.lastError = err;
      transport ??= this.transport;
      if (this.transport === transport) this.transport = undefined;
      // Calls waiting for this start fail now, with its reason, instead of at their timeout.
      this.lifecycle.wake();
      this.lifecycle.failed();
      await transport?.close().catch(() => {});
      throw err;
    }
  }

  private onTransportClosed(err: Error | undefined): void {
    this.transport = undefined;
    if (this.lifecycle.state === 'closed') return;
    const reason = err?.message ?? 'connection closed';
    // The stderr tail is logged (masked); the agent's error carries only the reason (#17.15).
    const detail = err instanceof WardenError ? err.detail : undefined;
    this.log().warn({ reason, ...(detail === undefined ? {} : { stderr: detail }) }, 'upstream went away');
    this.link.lastError = new WardenError('UPSTREAM_CLOSED', `upstream ${this.link.id} closed: ${reason}`, {
      ...(detail === undefined ? {} : { detail }),
    });
    this.pending.failAll(CONNECTION_CLOSED, `Upstream ${this.link.id} closed: ${reason}`);
    this.lifecycle.wentDown();
  }

  private rawRequest(
    method: string,
    params: Record<string, unknown>,
    timeoutMs: number,
  ): Promise<JsonRpcResponse> {
    const id = this.pending.newId();
    const start = this.starts;
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
      this.pending.armTimer(p);
      this.pending.add(p);
      const outgoing = this.link.era === ERA_2026 ? this.modern.envelope(params) : params;
      this.write({ jsonrpc: '2.0', id, method, params: outgoing }).catch((err: Error) => {
        // A refusal the person can fix (AuthorizationRequired from the credentials hook) is kept as it is, so that
        // the link knows to start again on its next use.
        if ((err as { retryOnUse?: unknown }).retryOnUse === true && start === this.starts)
          this.refusal = err as WardenError;
        this.pending.settle(
          id,
          errorResponse(id, CONNECTION_CLOSED, `Upstream ${this.link.id}: ${err.message}`) as JsonRpcError,
        );
      });
    });
  }

  /** See MessageTransport.channel: 0 for transports whose channel lives as long as they do. */
  channel(): number | undefined {
    const t = this.transport;
    if (t === undefined) return undefined;
    return t.channel === undefined ? 0 : t.channel();
  }

  /**
   * An HTTP upstream that no longer knows our session (it restarted, or expired it) answers 404: open a new upstream
   * session with the same initialize params, once for every caller that noticed.
   */
  recover(): Promise<void> {
    // A 2026 upstream has no session to lose: a 404 is its answer, not a reason to start again.
    if (this.link.era === ERA_2026) return Promise.reject(new Error('HTTP 404 from the upstream'));
    return this.lifecycle.recover(async () => {
      const old = this.transport;
      this.transport = undefined; // its close must not count as the upstream going away
      await old?.close().catch(() => {});
      await this.connect();
    });
  }

  write(message: JsonRpcMessage): Promise<void> {
    const t = this.transport;
    if (!t) return Promise.reject(new WardenError('UPSTREAM_CLOSED', 'not connected'));
    return t.send(message).catch((err: Error & { detail?: unknown }) => {
      // What the upstream said (its error body) goes to the log, masked; the error itself names only the status.
      if (typeof err.detail === 'string' && err.detail !== '')
        this.log().warn({ err: err.message, body: err.detail }, 'upstream refused a message');
      throw err;
    });
  }

  /** Lets the transport go (the link is closing): an HTTP upstream is told the session ends, for a while at most. */
  async end(): Promise<void> {
    const t = this.transport;
    this.transport = undefined;
    if (t?.terminate !== undefined) await ending(t.terminate(), TERMINATE_TIMEOUT_MS, this.log());
    await t?.close().catch(() => {});
  }
}
