import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { BridgeRelay } from '../../era/bridge-relay.js';
import { isModernPost } from '../../era/wire.js';
import type { AuthResult, Identity } from '../../identity/authenticate.js';
import type { SessionDirectory } from '../../state/sessions.js';
import { VERSION } from '../../version.js';
import type { SessionFactory } from '../types.js';
import { messagesOf, readJson } from './body.js';
import { ModernPath } from './modern.js';
import { StatefulPath } from './stateful.js';
import { accepts, decodeSegment, holds, hostName, SERVER_ERROR, writeJsonError } from './wire.js';

export interface HttpEndpointOptions {
  log: Logger;
  /** Server ids that have a per-server endpoint. */
  servers: ReadonlySet<string>;
  createSession: SessionFactory;
  maxBodyBytes: number;
  maxSessions: number;
  sessionIdleMs: number;
  /** Open sessions per owner (a grant, or every anonymous agent together); undefined = no cap of its own. */
  maxSessionsPerGrant?: number | undefined;
  /** An idle session's upstreams are stopped after this long (see ProxySession.suspend); undefined = never. */
  upstreamIdleMs?: number | undefined;
  /** Host header names accepted (without port); undefined = any. */
  allowedHosts: ReadonlySet<string> | undefined;
  /** Origins accepted when an Origin header is present. */
  allowedOrigin: (origin: string) => boolean;
  /** Resolves the Authorization header of every request; a failure is answered 401. */
  // oauth: the request path is passed too (the OAuth resource, hence audience and challenge, depend on it).
  authenticate: (authorization: string | undefined, path: string) => Promise<AuthResult>;
  // oauth: answers GET /.well-known/... (RFC 9728 metadata) before authentication; undefined = not ours (404).
  wellKnown?: ((path: string) => Record<string, unknown> | undefined) | undefined;
  /** idp (#20): the per-user upstream OAuth pages under /oauth/ (src/identity/upstream/oauth-pages.ts). */
  oauthPages?:
    | ((req: IncomingMessage, res: ServerResponse, path: string, query: string) => Promise<void>)
    | undefined;
  /** Shared with other replicas (Redis): a session opened elsewhere is taken over instead of "not found". */
  directory?: SessionDirectory | undefined;
  /** Shared with other replicas (Redis): bridged 2026 retries reach the replica that holds their call. */
  bridgeRelay?: BridgeRelay | undefined;
}

export class HttpEndpoint {
  /** The 2025 path: sessions (Streamable HTTP and legacy SSE). */
  private readonly stateful: StatefulPath;
  private readonly reaper: NodeJS.Timeout;
  private draining = false;
  /** The 2026 path: shared sessions of stateless traffic, per endpoint and caller. */
  private readonly modern: ModernPath;

  constructor(private readonly opts: HttpEndpointOptions) {
    this.stateful = new StatefulPath(opts);
    this.modern = new ModernPath({
      log: opts.log,
      createSession: opts.createSession,
      version: VERSION,
      relay: opts.bridgeRelay,
    });
    const shortest = Math.min(opts.sessionIdleMs, opts.upstreamIdleMs ?? Number.POSITIVE_INFINITY);
    const every = Math.max(1000, Math.min(shortest / 4, 60_000));
    this.reaper = setInterval(() => this.reapIdle(), every);
    this.reaper.unref();
  }

  get sessionCount(): number {
    return this.stateful.sessionCount;
  }

  get inflight(): number {
    return this.stateful.inflight + this.modern.inflight;
  }

  /** The request listener for node:http. Never throws. */
  handle = (req: IncomingMessage, res: ServerResponse): void => {
    this.route(req, res).catch((err: unknown) => {
      this.opts.log.error({ err }, 'unexpected error in HTTP handler');
      if (!res.headersSent) writeJsonError(res, 500, -32603, 'Internal error in mcp-warden');
      else res.end();
    });
  };

  private guard(req: IncomingMessage, res: ServerResponse): boolean {
    const host = req.headers.host;
    if (this.opts.allowedHosts !== undefined) {
      const name = host === undefined ? '' : hostName(host);
      if (!this.opts.allowedHosts.has(name)) {
        writeJsonError(res, 403, SERVER_ERROR, `Forbidden: Host ${host ?? '(none)'} is not allowed`);
        return false;
      }
    }
    const origin = req.headers.origin;
    if (origin !== undefined && !this.opts.allowedOrigin(origin)) {
      writeJsonError(res, 403, SERVER_ERROR, `Forbidden: Origin ${origin} is not allowed`);
      return false;
    }
    return true;
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const parts = path.split('/').filter((p) => p !== '');
    const root = parts[0];
    // oauth: RFC 9728 metadata is public (no token), after the Host/Origin checks.
    if (root === '.well-known' && this.opts.wellKnown !== undefined) {
      if (!this.guard(req, res)) return;
      const doc = req.method === 'GET' ? this.opts.wellKnown(path) : undefined;
      if (doc === undefined) return writeJsonError(res, 404, SERVER_ERROR, 'Not found');
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=3600' });
      res.end(JSON.stringify(doc));
      return;
    }
    // idp (#20): the upstream OAuth pages (a browser's start and callback, a user's own credentials).
    if (root === 'oauth' && this.opts.oauthPages !== undefined) {
      if (!this.guard(req, res)) return;
      return this.opts.oauthPages(req, res, path, q === -1 ? '' : url.slice(q + 1));
    }
    if (root !== 'mcp' && root !== 'sse' && root !== 'messages') {
      writeJsonError(res, 404, SERVER_ERROR, 'Not found');
      return;
    }
    if (!this.guard(req, res)) return;
    if (this.draining) {
      res.setHeader('connection', 'close');
      writeJsonError(res, 503, SERVER_ERROR, 'Gateway is shutting down');
      return;
    }
    // Before anything about servers or sessions is looked at: without a valid token nothing exists.
    const auth = await this.opts.authenticate(req.headers.authorization, path); // oauth: path
    if (!auth.ok) {
      // oauth: a token without a required scope is 403 insufficient_scope, with the challenge naming the scope.
      if (auth.error === 'insufficient_scope') {
        req.resume();
        if (auth.challenge !== undefined) res.setHeader('www-authenticate', auth.challenge);
        writeJsonError(res, 403, SERVER_ERROR, 'Forbidden: the token lacks a required scope');
        return;
      }
      if (auth.error === 'unavailable') {
        writeJsonError(res, 503, SERVER_ERROR, 'Service Unavailable: identities cannot be checked right now');
        return;
      }
      req.resume();
      res.setHeader(
        'www-authenticate',
        // oauth: with an issuer configured, the challenge names the resource metadata (RFC 9728 §5.1).
        auth.challenge ??
          (auth.error === 'missing'
            ? 'Bearer realm="mcp-warden"'
            : 'Bearer realm="mcp-warden", error="invalid_token", error_description="The token is unknown, revoked or malformed"'),
      );
      writeJsonError(
        res,
        401,
        SERVER_ERROR,
        'Unauthorized: a valid grant token is required (Authorization: Bearer)',
      );
      return;
    }
    const identity = auth.identity;
    if (root === 'messages') return this.stateful.legacyPost(req, res, url.slice(q + 1), identity);
    if (parts.length > 2) {
      writeJsonError(res, 404, SERVER_ERROR, 'Not found');
      return;
    }
    let endpoint: string | undefined;
    if (parts.length === 2) {
      // A malformed %-escape names no server (decodeURIComponent would throw, a 500 for the client's mistake).
      endpoint = decodeSegment(parts[1]!);
      if (endpoint === undefined || !this.opts.servers.has(endpoint) || !holds(identity, endpoint)) {
        writeJsonError(res, 404, SERVER_ERROR, 'Not found');
        return;
      }
    }
    if (root === 'sse') {
      if (req.method !== 'GET') {
        res.setHeader('allow', 'GET');
        writeJsonError(res, 405, SERVER_ERROR, 'Method not allowed');
        return;
      }
      return this.stateful.legacyOpen(req, res, endpoint, parts.length === 2 ? `/${parts[1]}` : '', identity);
    }
    switch (req.method) {
      case 'POST':
        return this.post(req, res, endpoint, identity);
      case 'GET':
        return this.stateful.get(req, res, endpoint, identity);
      case 'DELETE':
        return this.stateful.delete(req, res, endpoint, identity);
      default:
        res.setHeader('allow', 'GET, POST, DELETE');
        writeJsonError(res, 405, SERVER_ERROR, 'Method not allowed');
    }
  }

  private async post(
    req: IncomingMessage,
    res: ServerResponse,
    endpoint: string | undefined,
    identity: Identity,
  ): Promise<void> {
    if (!accepts(req, 'application/json') || !accepts(req, 'text/event-stream')) {
      writeJsonError(
        res,
        406,
        SERVER_ERROR,
        'Not Acceptable: Client must accept both application/json and text/event-stream',
      );
      return;
    }
    const body = await readJson(req, res, this.opts.maxBodyBytes);
    if (body === undefined) return;
    const parsed = messagesOf(body.value, res);
    if (parsed === undefined) return;
    const { messages, batch } = parsed;
    // The era is decided per request (SPEC §12): a 2026 request takes its own path, with no session lookup.
    if (isModernPost(messages, req.headers))
      return this.modern.serve(req, res, endpoint, identity, messages, batch);
    return this.stateful.post(req, res, endpoint, identity, messages, batch);
  }

  private reapIdle(): void {
    this.modern.reap(this.opts.sessionIdleMs, this.opts.upstreamIdleMs);
    this.stateful.reapIdle();
  }

  /** Refuses new work, waits for in-flight requests (up to `graceMs`), then closes every session. */
  async drain(graceMs: number): Promise<void> {
    this.draining = true;
    this.stateful.draining = true;
    clearInterval(this.reaper);
    const deadline = Date.now() + graceMs;
    while (this.inflight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await Promise.all([this.stateful.closeAll(), this.modern.close()]);
  }
}
