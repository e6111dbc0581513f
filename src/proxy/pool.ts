// Upstream links shared between agent sessions per `isolation` (docs/isolation.md): leased, counted, closed when idle,
// with what an upstream sends the client routed to the one agent session it belongs to.
import type { Logger } from 'pino';
import { DEFAULT_LINK_IDLE_MS, type Isolation, type UpstreamSpec } from '../config/resolve.js';
import type { Identity } from '../identity/authenticate.js';
import {
  errorResponse,
  INTERNAL_ERROR,
  type JsonRpcNotification,
  type JsonRpcRequest,
} from '../transport/jsonrpc.js';
import { VERSION } from '../version.js';
import { type InitializeResult, UpstreamLink } from './upstream.js';
import type { AuthFor, CreateTransport } from './upstream-parts.js';

/** The agent side of a lease: where an upstream's requests and notifications for this holder go. */
export interface LeaseSink {
  onServerRequest(link: UpstreamLink, request: JsonRpcRequest): void;
  onNotification(link: UpstreamLink, notification: JsonRpcNotification): void;
  /** Whether this holder has a request in flight on the link: what a shared link's traffic is routed by. */
  busyOn(link: UpstreamLink): boolean;
  /** Whether this holder subscribed to the resource (URI as the upstream knows it) on this link. */
  subscribedTo?(link: UpstreamLink, uri: string): boolean;
}

/** One holder's use of a link. `ready` settles like UpstreamLink.start; release() once, when done. */
export interface Lease {
  readonly link: UpstreamLink;
  readonly ready: Promise<InitializeResult>;
  readonly isolation: Isolation;
  /** Resolves once the link is closed when this was its last holder and it closes now; at once otherwise. */
  release(): Promise<void>;
}

export interface AcquireOptions {
  /** Absent for a holder that cannot be asked anything (a stateless request): the upstream's requests are refused. */
  sink?: LeaseSink;
  /** The agent's initialize params; used only by the lease that starts the link. */
  initParams?: Record<string, unknown>;
  /** The logger of a link of this lease's own (isolation session). */
  log?: Logger;
  /**
   * The transport factory of a link of this lease's own (isolation session): the session's, which carries its
   * identity's per-user upstream credentials (mcpServers.<id>.credentials, which require session isolation).
   */
  createTransport?: CreateTransport;
  /** The per-user credentials of this lease's identity (isolation session only: a shared link acts for nobody). */
  authFor?: AuthFor;
}

export interface PoolOptions {
  upstreams: readonly UpstreamSpec[];
  log: Logger;
  createTransport?: CreateTransport;
}

/** Params for a link started without an agent's initialize (a 2026 stateless request). */
const WARDEN_INIT: Record<string, unknown> = {
  protocolVersion: '2025-11-25',
  capabilities: {},
  clientInfo: { name: 'mcp-warden', version: VERSION },
};

interface Entry {
  key: string;
  spec: UpstreamSpec;
  link: UpstreamLink;
  started: Promise<InitializeResult>;
  holders: Set<Holder>;
  idleTimer: NodeJS.Timeout | undefined;
}

interface Holder {
  sink: LeaseSink | undefined;
}

/** Notifications about the server as a whole: every holder of a shared link hears them. */
const BROADCAST = new Set([
  'notifications/tools/list_changed',
  'notifications/prompts/list_changed',
  'notifications/resources/list_changed',
]);

/**
 * What of an agent's initialize an upstream acts on: the protocol version it asked for and the capabilities it declared
 * (roots aside: a pooled link never takes roots from an agent). Agents that differ here get links of their own, so that
 * an upstream never asks for elicitation of an agent that cannot answer, nor hides it from one that can, and every
 * agent is answered in the version it asked for.
 */
export function initKey(params: Record<string, unknown>): string {
  const { roots: _roots, ...capabilities } = (params.capabilities ?? {}) as Record<string, unknown>;
  return `${String(params.protocolVersion)}\u0000${stableJson(capabilities)}`;
}

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) =>
      a < b ? -1 : a > b ? 1 : 0,
    );
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** The pool key of an identity under grant isolation: the grant, else the OAuth subject, else anonymous. */
export function grantKey(identity: Identity): string {
  // By id, as limits are: a grant revoked and made again under the same label is another principal.
  if (identity.grant !== undefined) return `grant:${identity.grant.id}`;
  if (identity.oauth !== undefined) return `oauth:${identity.oauth.issuer}\u0000${identity.oauth.subject}`;
  return 'anonymous';
}

export class UpstreamPool {
  private readonly specs: ReadonlyMap<string, UpstreamSpec>;
  private readonly entries = new Map<string, Entry>();
  private nextPrivate = 1;
  private closed = false;

  constructor(private readonly opts: PoolOptions) {
    this.specs = new Map(opts.upstreams.map((s) => [s.id, s]));
  }

  /** Open links (each a child process for stdio) by server: metrics and tests. */
  linkCount(server?: string): number {
    let n = 0;
    for (const e of this.entries.values()) if (server === undefined || e.spec.id === server) n++;
    return n;
  }

  /**
   * A lease on the link `identity` shares for `server` (a server id or its spec), starting the link when there is
   * none. `session` isolation gives every lease a link of its own. Throws for an unknown server.
   */
  acquire(server: string | UpstreamSpec, identity: Identity, options: AcquireOptions = {}): Lease {
    const spec = typeof server === 'string' ? this.specs.get(server) : server;
    if (spec === undefined) throw new Error(`unknown upstream server ${String(server)}`);
    if (this.closed) throw new Error('the upstream pool is closed');
    const isolation = spec.isolation ?? 'session';
    const key =
      isolation === 'session'
        ? `${spec.id}\u0000private:${this.nextPrivate++}`
        : `${spec.id}\u0000${isolation === 'shared' ? 'shared' : grantKey(identity)}\u0000${initKey(options.initParams ?? WARDEN_INIT)}`;
    let entry = this.entries.get(key);
    if (entry === undefined) entry = this.open(key, spec, options);
    else if (entry.idleTimer !== undefined) {
      clearTimeout(entry.idleTimer);
      entry.idleTimer = undefined;
    }
    const holder: Holder = { sink: options.sink };
    entry.holders.add(holder);
    const owner = entry;
    let released = false;
    return {
      link: owner.link,
      ready: owner.started,
      isolation,
      release: async () => {
        if (released) return;
        released = true;
        owner.holders.delete(holder);
        if (owner.holders.size === 0) await this.idle(owner);
      },
    };
  }

  private open(key: string, spec: UpstreamSpec, options: AcquireOptions): Entry {
    const entry = { key, spec, holders: new Set<Holder>(), idleTimer: undefined } as unknown as Entry;
    entry.link = new UpstreamLink({
      spec,
      // A link of one session logs as that session; a pooled one belongs to no session in particular.
      log: (spec.isolation ?? 'session') === 'session' ? (options.log ?? this.opts.log) : this.opts.log,
      createTransport:
        (spec.isolation ?? 'session') === 'session'
          ? (options.createTransport ?? this.opts.createTransport)
          : this.opts.createTransport,
      authFor: (spec.isolation ?? 'session') === 'session' ? options.authFor : undefined,
      onServerRequest: (link, req) => this.routeRequest(entry, link, req),
      onNotification: (link, n) => this.routeNotification(entry, link, n),
    });
    entry.started = entry.link.start(options.initParams ?? WARDEN_INIT);
    // A link that never started is dropped at once: the next lease tries afresh instead of inheriting the failure.
    entry.started.catch(() => {
      if (this.entries.get(key) === entry) this.entries.delete(key);
      // Its holders release it in their own time; nothing else keeps it.
      if (entry.holders.size === 0) void entry.link.close();
    });
    this.entries.set(key, entry);
    return entry;
  }

  /** No holder left: a session link closes now (as before pooling); a pooled one after its idle time. */
  private async idle(entry: Entry): Promise<void> {
    const isolation = entry.spec.isolation ?? 'session';
    const idleMs = entry.spec.idleMs ?? DEFAULT_LINK_IDLE_MS;
    if (isolation === 'session' || idleMs <= 0 || this.closed || this.entries.get(entry.key) !== entry) {
      await this.drop(entry);
      return;
    }
    entry.idleTimer = setTimeout(() => {
      entry.idleTimer = undefined;
      if (entry.holders.size === 0) void this.drop(entry);
    }, idleMs);
    entry.idleTimer.unref();
  }

  private async drop(entry: Entry): Promise<void> {
    if (this.entries.get(entry.key) === entry) this.entries.delete(entry.key);
    await entry.link.close();
  }

  /**
   * Who a shared link's own traffic is for: the one holder with a request in flight on it. With none, or with
   * several (a stdio upstream's request names no request of ours), nobody can be told for sure: undefined.
   */
  private owner(entry: Entry, link: UpstreamLink): Holder | undefined {
    if (entry.holders.size === 1 && (entry.spec.isolation ?? 'session') === 'session') {
      return entry.holders.values().next().value;
    }
    let found: Holder | undefined;
    for (const h of entry.holders) {
      if (h.sink?.busyOn(link) !== true) continue;
      if (found !== undefined) return undefined;
      found = h;
    }
    return found;
  }

  private routeRequest(entry: Entry, link: UpstreamLink, request: JsonRpcRequest): void {
    const holder = this.owner(entry, link);
    if (holder?.sink !== undefined) {
      holder.sink.onServerRequest(link, request);
      return;
    }
    // Asking the wrong agent would show it another agent's question (and take its answer): refuse instead.
    this.opts.log.warn(
      { upstream: link.id, method: request.method },
      'request from a shared upstream matches no single agent request in flight; refused',
    );
    link.respond(
      errorResponse(
        request.id,
        INTERNAL_ERROR,
        'mcp-warden cannot tell which agent this request is for (shared upstream; see isolation)',
      ),
    );
  }

  private routeNotification(entry: Entry, link: UpstreamLink, n: JsonRpcNotification): void {
    const isolation = entry.spec.isolation ?? 'session';
    if (isolation === 'session' || BROADCAST.has(n.method)) {
      for (const h of entry.holders) h.sink?.onNotification(link, n);
      return;
    }
    if (n.method === 'notifications/cancelled') {
      // Withdraws a request the upstream sent: only the holder that has it translates it; the others ignore it.
      for (const h of entry.holders) h.sink?.onNotification(link, n);
      return;
    }
    if (n.method === 'notifications/resources/updated') {
      const uri = n.params?.uri;
      for (const h of entry.holders) {
        if (typeof uri === 'string' && h.sink?.subscribedTo?.(link, uri) === true)
          h.sink.onNotification(link, n);
      }
      return;
    }
    // Logging and the rest: to the one agent whose request is running, else to nobody.
    const holder = this.owner(entry, link);
    if (holder !== undefined) holder.sink?.onNotification(link, n);
    else
      this.opts.log.debug(
        { upstream: link.id, method: n.method },
        'shared upstream notification for no single agent dropped',
      );
  }

  async close(): Promise<void> {
    this.closed = true;
    const entries = [...this.entries.values()];
    this.entries.clear();
    for (const e of entries) if (e.idleTimer !== undefined) clearTimeout(e.idleTimer);
    await Promise.all(entries.map((e) => e.link.close()));
  }
}
