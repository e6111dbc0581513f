// The 2026-07-28 side of an upstream link (src/proxy/upstream.ts holds the rest): the era probe's verdict, the
// request envelope, the HTTP transport in 2026 mode with headers computed from each body, the subscriptions/listen
// stream, and the agent's answers to the bridge's questions.

import type { UpstreamSpec } from '../config/resolve.js';
import { WardenError } from '../errors.js';
import {
  createHttpClientTransport,
  type StreamableHttpClient,
  type UpstreamAuth,
} from '../transport/http-client.js';
import {
  CONNECTION_CLOSED,
  errorResponse,
  type JsonRpcMessage,
  type JsonRpcNotification,
  type JsonRpcRequest,
  type JsonRpcResponse,
  METHOD_NOT_FOUND,
  REQUEST_TIMEOUT,
} from '../transport/jsonrpc.js';
import type { MessageTransport } from '../transport/types.js';
import { type ParamHeader, paramHeaders, requestHeaders } from './upstream-headers.js';
import {
  type Discovered,
  declaredCapabilities,
  envelope,
  knownDiscover,
  knownEra,
  legacyInitResult,
  listenFilter,
  readDiscover,
  rememberEra,
} from './upstream-modern.js';
import { ERA_2025, ERA_2026 } from './versions.js';

export interface ModernLinkHooks {
  /** Sends a server-to-client request to the agent (the session's path for them); the answer comes to `answered`. */
  ask(request: JsonRpcRequest): void;
  /** Tells the agent that a request sent by `ask` is withdrawn (notifications/cancelled with its id). */
  withdraw(id: string): void;
}

const CHANGE_NOTIFICATIONS = new Set([
  'notifications/tools/list_changed',
  'notifications/prompts/list_changed',
  'notifications/resources/list_changed',
  'notifications/resources/updated',
]);

export class ModernLink {
  private http: StreamableHttpClient | undefined;
  /** A 2026 stdio upstream's pipe (its listen request goes there; its notifications come back on it). */
  private pipe: MessageTransport | undefined;
  private capabilities: Record<string, unknown> = {};
  private found: Discovered | undefined;
  private readonly declarations = new Map<string, ParamHeader[]>();
  private readonly asks = new Map<string, { resolve: (r: JsonRpcResponse) => void; timer: NodeJS.Timeout }>();
  private nextAsk = 1;
  private readonly listeners = new Set<(n: JsonRpcNotification) => void>();

  constructor(
    private readonly spec: UpstreamSpec,
    private readonly hooks: ModernLinkHooks,
  ) {}

  /** Whether this upstream may speak 2026: an HTTP upstream not pinned to, nor probed as, 2025. */
  mayBeModern(): boolean {
    return knownEra(this.spec) !== ERA_2025;
  }

  /** The 2026 HTTP transport (a new one per connection; see StreamableHttpClient's ModernMode). */
  transport(auth?: UpstreamAuth): StreamableHttpClient {
    this.pipe = undefined;
    this.http = createHttpClientTransport(this.spec.url ?? '', this.spec.headers, {
      modern: { headersFor: (m) => this.headersFor(m) },
      ...auth,
    });
    return this.http;
  }

  /** A 2026 upstream over stdio: the link speaks on this pipe (no HTTP transport, no headers). */
  over(pipe: MessageTransport): void {
    this.http = undefined;
    this.pipe = pipe;
  }

  /** Whether requests are cancelled by closing their HTTP exchange (2026 over HTTP) rather than by notification. */
  get cancelsByClosing(): boolean {
    return this.http !== undefined;
  }

  /** Headers from the body as it goes out: never from anything the agent sent alongside it. */
  private headersFor(m: JsonRpcMessage): Record<string, string> {
    if (!('method' in m)) return {};
    const params = m.params as Record<string, unknown> | undefined;
    const name = m.method === 'tools/call' ? params?.name : undefined;
    const decls = typeof name === 'string' ? this.declarations.get(name) : undefined;
    return requestHeaders(m.method, params, decls);
  }

  /** Sets what warden declares upstream for this agent session (its capabilities, from its initialize params). */
  client(initParams: Record<string, unknown> | undefined): void {
    this.capabilities = declaredCapabilities(initParams);
  }

  envelope(
    params: Record<string, unknown> | undefined,
    capabilities: Record<string, unknown> = this.capabilities,
  ): Record<string, unknown> {
    return envelope(params, capabilities);
  }

  /**
   * The probe's verdict from the upstream's answer to server/discover: the initialize result a 2025 agent gets when
   * the upstream speaks 2026, undefined when it is to be spoken to in 2025. A pinned 2026 upstream that does not answer
   * as one fails to start.
   */
  discovered(
    answer: JsonRpcResponse,
    initParams: Record<string, unknown> | undefined,
  ): Record<string, unknown> | undefined {
    const pinned = this.spec.protocol === ERA_2026;
    let why: string;
    if ('error' in answer) {
      why = `server/discover failed: ${answer.error.message}`;
      // An upstream that answered (a JSON-RPC error, or an HTTP 4xx) has said it is no 2026 server; one that could
      // not be reached, or did not answer in time, has said nothing, and is asked again next time.
      const code = answer.error.code;
      const answered =
        (code !== CONNECTION_CLOSED && code !== REQUEST_TIMEOUT) || /HTTP 4\d\d/.test(answer.error.message);
      if (!pinned && answered) rememberEra(this.spec, ERA_2025);
    } else {
      const found = readDiscover(answer.result);
      if (found?.supportedVersions.includes(ERA_2026)) {
        rememberEra(this.spec, ERA_2026, found);
        this.found = found;
        return legacyInitResult(found, this.spec, initParams);
      }
      why =
        found === undefined
          ? 'server/discover answered with something that is not a discover result'
          : `the upstream does not support ${ERA_2026} (it supports ${found.supportedVersions.slice(0, 8).join(', ')})`;
      if (!pinned) rememberEra(this.spec, ERA_2025);
    }
    if (pinned) throw new WardenError('UPSTREAM_START_FAILED', `${why} (protocol ${ERA_2026} is configured)`);
    return undefined;
  }

  /**
   * The initialize result from an earlier probe of this server, when there was one: a new agent session of a known
   * 2026 upstream sends no server/discover of its own.
   */
  remembered(initParams: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
    const found = knownDiscover(this.spec);
    if (found === undefined) return undefined;
    this.found = found;
    return legacyInitResult(found, this.spec, initParams);
  }

  /** Opens the subscriptions/listen stream for what the upstream declared it announces. */
  listen(): void {
    const filter = this.found === undefined ? undefined : listenFilter(this.found.capabilities);
    if (filter === undefined) return;
    const request: JsonRpcRequest = {
      jsonrpc: '2.0',
      id: 'warden-listen',
      method: 'subscriptions/listen',
      params: this.envelope({ notifications: filter }),
    };
    // Over HTTP the listen request is a stream of its own, reopened when it ends; over stdio it stays open on the pipe
    // for the process's life (a restart starts the link, and so the listen request, again).
    if (this.http !== undefined) this.http.subscribe(request);
    else void this.pipe?.send(request).catch(() => {});
  }

  abort(id: number): void {
    this.http?.abort(id);
  }

  /** Keeps the x-mcp-header declarations of a tool list (headers need them synchronously). */
  tools(catalog: ReadonlyMap<string, Record<string, unknown>>): void {
    this.declarations.clear();
    for (const [name, def] of catalog) this.declarations.set(name, paramHeaders(def.inputSchema));
  }

  knowsTool(name: string): boolean {
    return this.declarations.has(name);
  }

  /**
   * Asks the agent one of the upstream's input requests. roots/list is answered by warden unless the config passes
   * the agent's own roots (`roots: agent`), as for a 2025 upstream's roots/list.
   */
  ask(
    method: string,
    params: Record<string, unknown> | undefined,
    roots: UpstreamSpec['roots'] & {},
    asked?: (id: string) => void,
  ): Promise<JsonRpcResponse> {
    if (method === 'roots/list' && roots !== 'agent') {
      const list = roots === 'none' ? [] : roots.map((r) => ({ ...r }));
      return Promise.resolve({ jsonrpc: '2.0', id: 0, result: { roots: list } });
    }
    const id = `warden-input-${this.nextAsk++}`;
    // Only what the agent declared is asked of it: a hostile upstream that asks anyway gets no request through.
    const needed =
      method === 'elicitation/create'
        ? 'elicitation'
        : method === 'sampling/createMessage'
          ? 'sampling'
          : 'roots';
    if (this.capabilities[needed] === undefined)
      return Promise.resolve(
        errorResponse(
          id,
          METHOD_NOT_FOUND,
          `the agent did not declare the ${needed} capability`,
        ) as JsonRpcResponse,
      );
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.asks.delete(id);
        resolve(
          errorResponse(
            id,
            CONNECTION_CLOSED,
            `no answer within ${this.spec.timeoutMs} ms`,
          ) as JsonRpcResponse,
        );
      }, this.spec.timeoutMs);
      this.asks.set(id, { resolve, timer });
      asked?.(id);
      const request: JsonRpcRequest =
        params === undefined ? { jsonrpc: '2.0', id, method } : { jsonrpc: '2.0', id, method, params };
      this.hooks.ask(request);
    });
  }

  /** Takes the agent's answer to one of our questions; false for any other response (it goes upstream). */
  answered(response: JsonRpcResponse): boolean {
    const key = typeof response.id === 'string' ? response.id : undefined;
    const waiting = key === undefined ? undefined : this.asks.get(key);
    if (waiting === undefined) return false;
    this.asks.delete(key as string);
    clearTimeout(waiting.timer);
    waiting.resolve(response);
    return true;
  }

  /** Withdraws a question the agent has not answered (its call was cancelled): the agent is told, the wait ends. */
  withdraw(id: string): void {
    const waiting = this.asks.get(id);
    if (waiting === undefined) return;
    this.asks.delete(id);
    clearTimeout(waiting.timer);
    this.hooks.withdraw(id);
    waiting.resolve(
      errorResponse(id, CONNECTION_CLOSED, 'withdrawn: the call was cancelled') as JsonRpcResponse,
    );
  }

  onChange(listener: (n: JsonRpcNotification) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Passes a change notification (either era's) to the listeners of onChange. */
  changed(n: JsonRpcNotification): void {
    if (!CHANGE_NOTIFICATIONS.has(n.method)) return;
    for (const l of this.listeners) l(n);
  }

  close(): void {
    for (const [id, waiting] of this.asks) {
      clearTimeout(waiting.timer);
      waiting.resolve(errorResponse(id, CONNECTION_CLOSED, 'the upstream link closed') as JsonRpcResponse);
    }
    this.asks.clear();
  }
}
