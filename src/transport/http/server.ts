// Agent-facing HTTP: Streamable HTTP at /mcp and /mcp/<server>, legacy SSE at /sse. Routing, the Host and Origin
// checks and authentication (route), then each era's path: 2025 sessions here, 2026 requests in ./modern.ts.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { isModernPost } from '../../era/wire.js';
import type { AuthResult, Identity } from '../../identity/authenticate.js';
import type { SessionDirectory } from '../../state/sessions.js';
import { VERSION } from '../../version.js';
import {
  checkMessage,
  INVALID_REQUEST,
  idOf,
  isRequest,
  type JsonRpcMessage,
  PARSE_ERROR,
  type RequestId,
} from '../jsonrpc.js';
import type { SessionFactory } from '../types.js';
import { ModernPath } from './modern.js';
import { PostStream } from './post-stream.js';
import { LegacySseSession, StreamableSession } from './sessions.js';
import {
  accepts,
  decodeSegment,
  holds,
  hostName,
  MAX_BATCH,
  ownerOf,
  SERVER_ERROR,
  SESSION_NOT_FOUND,
  SUPPORTED_PROTOCOL_VERSIONS,
  writeJsonError,
} from './wire.js';

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
  authenticate: (authorization: string | undefined) => Promise<AuthResult>;
  /** Shared with other replicas (Redis): a session opened elsewhere is taken over instead of "not found". */
  directory?: SessionDirectory | undefined;
}

export class HttpEndpoint {
  private readonly sessions = new Map<string, StreamableSession>();
  private readonly legacy = new Map<string, LegacySseSession>();
  private readonly reaper: NodeJS.Timeout;
  private draining = false;
  /** The 2026 path: shared sessions of stateless traffic, per endpoint and caller. */
  private readonly modern: ModernPath;

  constructor(private readonly opts: HttpEndpointOptions) {
    this.modern = new ModernPath({ log: opts.log, createSession: opts.createSession, version: VERSION });
    const shortest = Math.min(opts.sessionIdleMs, opts.upstreamIdleMs ?? Number.POSITIVE_INFINITY);
    const every = Math.max(1000, Math.min(shortest / 4, 60_000));
    this.reaper = setInterval(() => this.reapIdle(), every);
    this.reaper.unref();
  }

  get sessionCount(): number {
    return this.sessions.size + this.legacy.size;
  }

  get inflight(): number {
    let n = 0;
    for (const s of this.sessions.values()) if (s.sink?.busy) n++;
    for (const s of this.legacy.values()) if (s.sink?.busy) n++;
    return n + this.modern.inflight;
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
    const auth = await this.opts.authenticate(req.headers.authorization);
    if (!auth.ok) {
      if (auth.error === 'unavailable') {
        writeJsonError(res, 503, SERVER_ERROR, 'Service Unavailable: identities cannot be checked right now');
        return;
      }
      req.resume();
      res.setHeader(
        'www-authenticate',
        auth.error === 'missing'
          ? 'Bearer realm="mcp-warden"'
          : 'Bearer realm="mcp-warden", error="invalid_token", error_description="The token is unknown, revoked or malformed"',
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
    if (root === 'messages') return this.legacyPost(req, res, url.slice(q + 1), identity);
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
      return this.legacyOpen(req, res, endpoint, parts.length === 2 ? `/${parts[1]}` : '', identity);
    }
    switch (req.method) {
      case 'POST':
        return this.post(req, res, endpoint, identity);
      case 'GET':
        return this.get(req, res, endpoint, identity);
      case 'DELETE':
        return this.delete(req, res, endpoint, identity);
      default:
        res.setHeader('allow', 'GET, POST, DELETE');
        writeJsonError(res, 405, SERVER_ERROR, 'Method not allowed');
    }
  }

  /** Reads and parses a JSON body within the size limit; answers the error itself and returns undefined on failure. */
  private async readJson(req: IncomingMessage, res: ServerResponse): Promise<{ value: unknown } | undefined> {
    const type = req.headers['content-type'];
    if (type === undefined || !type.toLowerCase().includes('application/json')) {
      writeJsonError(res, 415, SERVER_ERROR, 'Unsupported Media Type: Content-Type must be application/json');
      return undefined;
    }
    const max = this.opts.maxBodyBytes;
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > max) {
      // A modestly oversized body is read and discarded so the client sees the 413; a huge one costs a connection.
      if (declared > 16 * max) res.setHeader('connection', 'close');
      writeJsonError(res, 413, SERVER_ERROR, `Payload Too Large: body exceeds ${max} bytes`);
      if (declared > 16 * max) req.destroy();
      else req.resume();
      return undefined;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of req) {
        size += (chunk as Buffer).length;
        if (size > max) {
          res.setHeader('connection', 'close');
          writeJsonError(res, 413, SERVER_ERROR, `Payload Too Large: body exceeds ${max} bytes`);
          req.destroy();
          return undefined;
        }
        chunks.push(chunk as Buffer);
      }
    } catch {
      return undefined; // the client went away mid-body
    }
    const text = chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8');
    try {
      return { value: JSON.parse(text) };
    } catch {
      writeJsonError(res, 400, PARSE_ERROR, 'Parse error: Invalid JSON');
      return undefined;
    }
  }

  /** Checks every message of a body; answers the error itself and returns undefined when one is invalid. */
  private messagesOf(
    value: unknown,
    res: ServerResponse,
  ): { messages: JsonRpcMessage[]; batch: boolean } | undefined {
    const batch = Array.isArray(value);
    const list: unknown[] = batch ? (value as unknown[]) : [value];
    if (list.length === 0 || list.length > MAX_BATCH) {
      writeJsonError(res, 400, INVALID_REQUEST, `Invalid Request: a batch holds 1 to ${MAX_BATCH} messages`);
      return undefined;
    }
    for (const m of list) {
      const problem = checkMessage(m);
      if (problem !== undefined) {
        writeJsonError(res, 400, INVALID_REQUEST, `Invalid Request: ${problem}`, idOf(m));
        return undefined;
      }
    }
    return { messages: list as JsonRpcMessage[], batch };
  }

  private async findSession(
    req: IncomingMessage,
    res: ServerResponse,
    endpoint: string | undefined,
    identity: Identity,
  ): Promise<StreamableSession | undefined> {
    const sid = req.headers['mcp-session-id'];
    if (typeof sid !== 'string' || sid === '') {
      writeJsonError(res, 400, SERVER_ERROR, 'Bad Request: Mcp-Session-Id header is required');
      return undefined;
    }
    const session = this.sessions.get(sid) ?? (await this.takeOver(sid, endpoint, identity));
    // A session belongs to the endpoint and the grant that opened it: another endpoint's or another grant's use of
    // its id is answered as for a made-up id, so a stolen session id is worth nothing without its own token.
    if (!session || session.endpoint !== endpoint || session.owner !== ownerOf(identity)) {
      writeJsonError(res, 404, SESSION_NOT_FOUND, 'Session not found');
      return undefined;
    }
    const version = req.headers['mcp-protocol-version'];
    if (typeof version === 'string' && !SUPPORTED_PROTOCOL_VERSIONS.includes(version)) {
      writeJsonError(
        res,
        400,
        SERVER_ERROR,
        `Bad Request: Unsupported protocol version: ${version} (supported versions: ${SUPPORTED_PROTOCOL_VERSIONS.join(', ')})`,
      );
      return undefined;
    }
    return session;
  }

  /**
   * A session this replica does not hold, looked up in the shared directory: when another replica opened it for the
   * same endpoint and identity, this one re-establishes the upstream side (same initialize params) and carries on.
   */
  private async takeOver(
    sid: string,
    endpoint: string | undefined,
    identity: Identity,
  ): Promise<StreamableSession | undefined> {
    const dir = this.opts.directory;
    if (dir === undefined || this.draining) return undefined;
    let record: Awaited<ReturnType<SessionDirectory['load']>>;
    try {
      record = await dir.load(sid);
    } catch (err) {
      this.opts.log.warn({ err: (err as Error).message }, 'session directory unavailable');
      return undefined;
    }
    if (record === undefined || record.endpoint !== (endpoint ?? null) || record.owner !== ownerOf(identity))
      return undefined;
    // Two requests of the same session may race here: the first one to finish the lookup creates it.
    const raced = this.sessions.get(sid);
    if (raced !== undefined) return raced;
    if (this.sessionCount >= this.opts.maxSessions) return undefined;
    const taken = new StreamableSession(sid, endpoint, ownerOf(identity), this.opts.log, () => {
      this.sessions.delete(sid);
      void taken.sink.close();
    });
    taken.sink = this.opts.createSession(endpoint, taken, sid, identity);
    this.sessions.set(sid, taken);
    taken.sink.restore(record.initialize);
    return taken;
  }

  /** Keeps an active session's directory record alive (at most once per quarter of the idle timeout). */
  private touchDirectory(session: StreamableSession): void {
    const dir = this.opts.directory;
    if (dir === undefined) return;
    const now = Date.now();
    if (now - session.touchedAt < this.opts.sessionIdleMs / 4) return;
    session.touchedAt = now;
    dir.touch(session.id, this.opts.sessionIdleMs, session.owner).catch((err: Error) => {
      this.opts.log.warn({ err: err.message }, 'session directory unavailable');
    });
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
    const body = await this.readJson(req, res);
    if (body === undefined) return;
    const parsed = this.messagesOf(body.value, res);
    if (parsed === undefined) return;
    const { messages, batch } = parsed;
    // The era is decided per request (SPEC §12): a 2026 request takes its own path, with no session lookup.
    if (isModernPost(messages, req.headers))
      return this.modern.serve(req, res, endpoint, identity, messages, batch);
    const init = messages.find((m) => isRequest(m) && m.method === 'initialize');
    let session: StreamableSession | undefined;
    if (init !== undefined) {
      if (messages.length > 1) {
        writeJsonError(
          res,
          400,
          INVALID_REQUEST,
          'Invalid Request: Only one initialization request is allowed',
        );
        return;
      }
      if (!(await this.admitFor(ownerOf(identity)))) {
        writeJsonError(
          res,
          429,
          SERVER_ERROR,
          `Too many sessions for this grant (at most ${this.opts.maxSessionsPerGrant}, all of them in use); end one with DELETE or try again later`,
        );
        return;
      }
      if (this.sessionCount >= this.opts.maxSessions) {
        writeJsonError(res, 503, SERVER_ERROR, 'Too many sessions; try again later');
        return;
      }
      const id = randomUUID();
      const created = new StreamableSession(id, endpoint, ownerOf(identity), this.opts.log, () => {
        this.sessions.delete(id);
        void created.sink.close();
      });
      created.sink = this.opts.createSession(endpoint, created, id, identity);
      created.initId = (init as { id: RequestId }).id;
      this.sessions.set(id, created);
      session = created;
      if (this.opts.directory !== undefined) {
        created.touchedAt = Date.now();
        const params = ((init as { params?: Record<string, unknown> }).params ?? {}) as Record<
          string,
          unknown
        >;
        await this.opts.directory
          .save(
            { id, endpoint: endpoint ?? null, owner: ownerOf(identity), initialize: params },
            this.opts.sessionIdleMs,
          )
          .catch((err: Error) => this.opts.log.warn({ err: err.message }, 'session directory unavailable'));
      }
    } else {
      session = await this.findSession(req, res, endpoint, identity);
      if (session === undefined) return;
      this.touchDirectory(session);
    }
    const ids: RequestId[] = [];
    for (const m of messages) if (isRequest(m)) ids.push(m.id);
    // An id still waiting for its answer in this session would take over that answer's stream, and the POST that
    // sent it first would never be answered: refuse the reuse (and a repeat within one batch) instead.
    if (ids.some((id, i) => session.streams.has(id) || ids.indexOf(id) !== i)) {
      writeJsonError(
        res,
        400,
        INVALID_REQUEST,
        'Invalid Request: a request id is already in use in this session',
      );
      return;
    }
    if (ids.length === 0) {
      res.writeHead(202, { 'mcp-session-id': session.id });
      res.end();
    } else {
      const stream = new PostStream(res, ids, batch, { 'mcp-session-id': session.id }, this.opts.log);
      session.track(res);
      for (const id of ids) session.streams.set(id, stream);
      res.on('close', () => {
        for (const id of ids)
          if (session.streams.get(id) === stream && !stream.open) session.streams.delete(id);
        // An answer that can no longer be delivered: a call held for approval is withdrawn (#17.24).
        if (!session.closed)
          for (const id of stream.unanswered())
            session.sink.agentGone?.('The agent closed its request before anyone decided.', id);
      });
    }
    for (const m of messages) session.sink.handle(m);
  }

  private async get(
    req: IncomingMessage,
    res: ServerResponse,
    endpoint: string | undefined,
    identity: Identity,
  ): Promise<void> {
    if (!accepts(req, 'text/event-stream')) {
      writeJsonError(res, 406, SERVER_ERROR, 'Not Acceptable: Client must accept text/event-stream');
      return;
    }
    const session = await this.findSession(req, res, endpoint, identity);
    if (session === undefined) return;
    if (session.standalone !== undefined) {
      writeJsonError(res, 409, SERVER_ERROR, 'Conflict: Only one SSE stream is allowed per session');
      return;
    }
    session.openStandalone(res);
  }

  private async delete(
    req: IncomingMessage,
    res: ServerResponse,
    endpoint: string | undefined,
    identity: Identity,
  ): Promise<void> {
    const session = await this.findSession(req, res, endpoint, identity);
    if (session === undefined) return;
    this.sessions.delete(session.id);
    this.opts.directory?.remove(session.id, session.owner).catch(() => {});
    await session.sink.close();
    res.writeHead(200);
    res.end();
  }

  private async legacyOpen(
    req: IncomingMessage,
    res: ServerResponse,
    endpoint: string | undefined,
    suffix: string,
    identity: Identity,
  ): Promise<void> {
    if (!accepts(req, 'text/event-stream')) {
      writeJsonError(res, 406, SERVER_ERROR, 'Not Acceptable: Client must accept text/event-stream');
      return;
    }
    if (!(await this.admitFor(ownerOf(identity)))) {
      writeJsonError(
        res,
        429,
        SERVER_ERROR,
        `Too many sessions for this grant (at most ${this.opts.maxSessionsPerGrant}, all of them in use); close one or try again later`,
      );
      return;
    }
    if (this.sessionCount >= this.opts.maxSessions) {
      writeJsonError(res, 503, SERVER_ERROR, 'Too many sessions; try again later');
      return;
    }
    const id = randomUUID();
    const session = new LegacySseSession(res, ownerOf(identity), this.opts.log);
    session.sink = this.opts.createSession(endpoint, session, id, identity);
    this.legacy.set(id, session);
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
    });
    res.write(`event: endpoint\ndata: /messages${suffix}?sessionId=${id}\n\n`);
    res.on('close', () => {
      this.legacy.delete(id);
      void session.sink.close();
    });
  }

  private async legacyPost(
    req: IncomingMessage,
    res: ServerResponse,
    query: string,
    identity: Identity,
  ): Promise<void> {
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST');
      writeJsonError(res, 405, SERVER_ERROR, 'Method not allowed');
      return;
    }
    const sid = new URLSearchParams(query).get('sessionId');
    const session = sid === null ? undefined : this.legacy.get(sid);
    if (!session || session.owner !== ownerOf(identity)) {
      writeJsonError(res, 404, SESSION_NOT_FOUND, 'Session not found');
      return;
    }
    const body = await this.readJson(req, res);
    if (body === undefined) return;
    const parsed = this.messagesOf(body.value, res);
    if (parsed === undefined) return;
    res.writeHead(202, { 'content-type': 'text/plain' });
    res.end('Accepted');
    for (const m of parsed.messages) session.sink.handle(m);
  }

  /**
   * May `owner` open one more session? Below its cap, yes. At it, its own least recently used session that nobody
   * is using (no request in flight, no GET stream: typically one a client left without DELETE) is closed to make
   * room; when every one of them is in use, no. With the shared directory, the owner's sessions on every replica
   * count (only this replica's can be reclaimed); a directory that cannot be read leaves this replica's count.
   */
  private async admitFor(owner: string): Promise<boolean> {
    const cap = this.opts.maxSessionsPerGrant;
    if (cap === undefined) return true;
    let open = 0;
    let lru: StreamableSession | undefined;
    for (const s of this.sessions.values()) {
      if (s.owner !== owner) continue;
      open++;
      if (s.sink.busy || s.standalone !== undefined) continue;
      if (lru === undefined || s.sink.lastActivity < lru.sink.lastActivity) lru = s;
    }
    for (const s of this.legacy.values()) if (s.owner === owner) open++;
    if (open < cap && this.opts.directory !== undefined) {
      try {
        open = Math.max(open, await this.opts.directory.count(owner));
      } catch (err) {
        this.opts.log.warn({ err: (err as Error).message }, 'session directory unavailable');
      }
    }
    if (open < cap) return true;
    if (lru === undefined || this.draining) return false;
    this.opts.log.info(
      { session: lru.id, idleMs: Date.now() - lru.sink.lastActivity },
      "closing the grant's least recently used idle session: it is at its session cap",
    );
    this.sessions.delete(lru.id);
    this.opts.directory?.remove(lru.id, lru.owner).catch(() => {});
    lru.close();
    void lru.sink.close();
    return true;
  }

  private reapIdle(): void {
    this.modern.reap(this.opts.sessionIdleMs, this.opts.upstreamIdleMs);
    const now = Date.now();
    const cutoff = now - this.opts.sessionIdleMs;
    const suspendCutoff = now - (this.opts.upstreamIdleMs ?? Number.POSITIVE_INFINITY);
    for (const [id, s] of this.sessions) {
      if (s.sink.busy || s.standalone !== undefined) continue;
      if (s.sink.lastActivity <= cutoff) {
        this.opts.log.info({ session: id }, 'closing idle session');
        this.sessions.delete(id);
        // The directory record stays: another replica may be serving the session now; it expires on its own.
        void s.sink.close();
      } else if (s.sink.lastActivity <= suspendCutoff) {
        void s.sink.suspend?.().catch((err: Error) => {
          this.opts.log.warn(
            { session: id, err: err.message },
            'could not stop the upstreams of an idle session',
          );
        });
      }
    }
  }

  /** Refuses new work, waits for in-flight requests (up to `graceMs`), then closes every session. */
  async drain(graceMs: number): Promise<void> {
    this.draining = true;
    clearInterval(this.reaper);
    const deadline = Date.now() + graceMs;
    while (this.inflight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const all = [...this.sessions.values(), ...this.legacy.values()];
    this.sessions.clear();
    this.legacy.clear();
    await Promise.all([...all.map((s) => s.sink.close()), this.modern.close()]);
  }
}
