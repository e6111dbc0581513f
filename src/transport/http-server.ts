// Agent-facing HTTP: Streamable HTTP at /mcp and /mcp/<server>, legacy SSE at /sse; sessions, streams, guards.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { AuthResult, Identity } from '../identity/authenticate.js';
import type { SessionDirectory } from '../state/sessions.js';
import { encodeMessage } from './encode.js';
import {
  checkMessage,
  errorResponse,
  INTERNAL_ERROR,
  INVALID_REQUEST,
  idOf,
  isNotification,
  isRequest,
  isResponse,
  type JsonRpcMessage,
  PARSE_ERROR,
  type RequestId,
} from './jsonrpc.js';
import type { DownstreamPort, SessionFactory, SessionSink } from './types.js';

/** Protocol versions an agent may name in MCP-Protocol-Version. */
export const SUPPORTED_PROTOCOL_VERSIONS = [
  '2025-11-25',
  '2025-06-18',
  '2025-03-26',
  '2024-11-05',
  '2024-10-07',
];
const MAX_QUEUED = 1000;
/**
 * Bytes written to an agent's event stream and not yet taken by the agent, past which notifications to that stream
 * are dropped (answers and requests never are): a client that reads slowly or not at all must not make the gateway
 * buffer an upstream's notification flood without bound (found by test/faults/notification-flood.test.ts).
 */
export const MAX_UNREAD_BYTES = 4 * 1024 * 1024;
const MAX_BATCH = 100;
/** SDK error code for "session not found". */
const SESSION_NOT_FOUND = -32001;
const SERVER_ERROR = -32000;

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
  /** Shared with other replicas (Redis): a session opened elsewhere is taken over instead of "not found". */
  directory?: SessionDirectory | undefined;
}

/** A grant's id, or '' for anonymous: what a session is bound to. */
function ownerOf(identity: Identity): string {
  return identity.grant?.id ?? '';
}

/** May this identity use this endpoint? A server the grant does not hold is as absent as one never configured. */
function holds(identity: Identity, endpoint: string | undefined): boolean {
  const servers = identity.grant?.servers;
  return endpoint === undefined || servers === undefined || servers.has(endpoint);
}

function writeJsonError(
  res: ServerResponse,
  status: number,
  code: number,
  message: string,
  id: RequestId | null = null,
) {
  if (res.headersSent) {
    res.end();
    return;
  }
  const body = JSON.stringify(errorResponse(id, code, message));
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/**
 * A message as it can go to the agent. Every input is bounded (depth, size), so a message that cannot be serialised is
 * a fault of the gateway's own: it must end its request, never the process (#17.1). An answer becomes an internal
 * error for its request; anything else is dropped. Only called once serialising has failed.
 */
function serialisable(message: JsonRpcMessage, log: Logger): JsonRpcMessage | undefined {
  try {
    JSON.stringify(message);
    return message;
  } catch (err) {
    log.error(
      { err: (err as Error).message, id: 'id' in message ? message.id : undefined },
      'a message to the agent could not be serialised',
    );
    return isResponse(message)
      ? errorResponse(
          message.id,
          INTERNAL_ERROR,
          'Internal error in mcp-warden: the answer could not be serialised',
        )
      : undefined;
  }
}

/** One event of an agent's event stream; '' for a message that could not be serialised and is dropped. */
function sseEvent(message: JsonRpcMessage, log: Logger): string {
  let data: string;
  try {
    data = JSON.stringify(message);
  } catch {
    const safe = serialisable(message, log);
    if (safe === undefined) return '';
    data = JSON.stringify(safe);
  }
  return `event: message\ndata: ${data}\n\n`;
}

/**
 * How long a response may stay unread by its agent once the agent's session has closed. Past it the connection is
 * destroyed: an agent that never reads would otherwise hold the connection and its unsent bytes for good (found by
 * test/faults/slow-client.test.ts).
 */
export const UNREAD_AFTER_CLOSE_MS = 5000;

/** Streams whose slow reader was already reported (one warning per stream). */
const slowReaders = new WeakSet<ServerResponse>();

/** Writes an event to an agent's stream, unless it is a notification and the agent has too much unread already. */
function writeEvent(res: ServerResponse, message: JsonRpcMessage, log: Logger): void {
  if (res.writableLength > MAX_UNREAD_BYTES && isNotification(message)) {
    if (!slowReaders.has(res)) {
      slowReaders.add(res);
      log.warn(
        { unreadBytes: res.writableLength, method: message.method },
        'agent is not reading its event stream: notifications to it are dropped until it catches up',
      );
    }
    return;
  }
  res.write(sseEvent(message, log));
}

function accepts(req: IncomingMessage, type: string): boolean {
  const accept = req.headers.accept;
  if (accept === undefined) return false;
  return accept.includes(type) || accept.includes('*/*');
}

/** The response stream of one POST that carried requests: JSON when only answers come back, SSE when more does. */
class PostStream {
  private readonly waiting = new Set<RequestId>();
  private readonly buffered: JsonRpcMessage[] = [];
  private mode: 'pending' | 'sse' | 'done' = 'pending';

  constructor(
    private readonly res: ServerResponse,
    ids: RequestId[],
    private readonly batch: boolean,
    private readonly headers: Record<string, string>,
    private readonly log: Logger,
  ) {
    for (const id of ids) this.waiting.add(id);
    res.on('close', () => {
      if (this.mode !== 'done') this.mode = 'done';
    });
  }

  get open(): boolean {
    return this.mode !== 'done';
  }

  /** The requests of this POST not answered yet. */
  unanswered(): RequestId[] {
    return [...this.waiting];
  }

  /** Returns false when the stream is gone, so the caller can route the message elsewhere. */
  deliver(message: JsonRpcMessage, answers: RequestId | undefined): boolean {
    if (this.mode === 'done') return false;
    if (answers !== undefined) this.waiting.delete(answers);
    const finished = this.waiting.size === 0;
    if (this.mode === 'pending') {
      if (answers !== undefined) {
        this.buffered.push(message);
        if (!finished) return true;
        // Encoded once (measuring the text for content-length and then writing it encoded it twice), and a big tool
        // list handed out again reuses its bytes (src/transport/encode.ts).
        let body: Buffer[];
        try {
          body = encodeMessage(this.batch ? this.buffered : this.buffered[0]);
        } catch {
          const safe = this.buffered.map((m) => serialisable(m, this.log)).filter((m) => m !== undefined);
          body = encodeMessage(this.batch ? safe : safe[0]);
        }
        let length = 0;
        for (const piece of body) length += piece.length;
        this.res.writeHead(200, {
          ...this.headers,
          'content-type': 'application/json',
          'content-length': String(length),
        });
        // One writev for the head and every piece.
        this.res.cork();
        for (const piece of body) this.res.write(piece);
        this.res.end();
        this.mode = 'done';
        return true;
      }
      this.res.writeHead(200, {
        ...this.headers,
        'content-type': 'text/event-stream',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
      });
      this.res.flushHeaders();
      this.mode = 'sse';
      for (const m of this.buffered) this.res.write(sseEvent(m, this.log));
      this.buffered.length = 0;
    }
    writeEvent(this.res, message, this.log);
    if (finished && answers !== undefined) {
      this.res.end();
      this.mode = 'done';
    }
    return true;
  }

  end(): void {
    if (this.mode === 'done') return;
    this.mode = 'done';
    if (this.res.headersSent) this.res.end();
    else writeJsonError(this.res, 503, SERVER_ERROR, 'Session closed');
  }
}

/** A Streamable HTTP session: routes each outgoing message to the stream it belongs to. */
class StreamableSession implements DownstreamPort {
  sink!: SessionSink;
  standalone: ServerResponse | undefined;
  private readonly queue: JsonRpcMessage[] = [];
  readonly streams = new Map<RequestId, PostStream>();
  /** Responses of this session not yet handed to the agent in full (the agent may not be reading). */
  private readonly unflushed = new Set<ServerResponse>();
  initId: RequestId | undefined;
  closed = false;
  /** When the shared directory last heard of this session (ms). */
  touchedAt = 0;

  constructor(
    readonly id: string,
    readonly endpoint: string | undefined,
    /** The grant that opened the session: no other may use it. */
    readonly owner: string,
    private readonly log: Logger,
    private readonly onInitFailed: () => void,
  ) {}

  send(message: JsonRpcMessage, relatedRequestId?: RequestId): void {
    if (this.closed) return;
    if (isResponse(message)) {
      const id = message.id as RequestId;
      const stream = this.streams.get(id);
      this.streams.delete(id);
      if (stream?.deliver(message, id)) {
        if (id === this.initId) {
          this.initId = undefined;
          if ('error' in message) this.onInitFailed();
        }
        return;
      }
      this.log.debug({ id }, 'response for a closed stream dropped');
      return;
    }
    if (relatedRequestId !== undefined) {
      const stream = this.streams.get(relatedRequestId);
      if (stream?.deliver(message, undefined)) return;
    }
    this.sendStandalone(message);
  }

  private sendStandalone(message: JsonRpcMessage): void {
    if (this.standalone && !this.standalone.writableEnded) {
      writeEvent(this.standalone, message, this.log);
      return;
    }
    if (this.queue.length >= MAX_QUEUED) this.queue.shift();
    this.queue.push(message);
  }

  openStandalone(res: ServerResponse): void {
    this.standalone = res;
    this.track(res);
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'mcp-session-id': this.id,
    });
    res.flushHeaders();
    for (const m of this.queue.splice(0)) res.write(sseEvent(m, this.log));
    res.on('close', () => {
      if (this.standalone === res) this.standalone = undefined;
    });
  }

  /** Follows a response of this session until the agent has all of it. */
  track(res: ServerResponse): void {
    this.unflushed.add(res);
    const done = () => this.unflushed.delete(res);
    res.once('finish', done);
    res.once('close', done);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.streams.values()) s.end();
    this.streams.clear();
    this.standalone?.end();
    this.standalone = undefined;
    for (const res of this.unflushed) destroyUnlessRead(res);
    this.unflushed.clear();
  }
}

/** Destroys an ended response whose agent has not taken it within UNREAD_AFTER_CLOSE_MS. */
function destroyUnlessRead(res: ServerResponse): void {
  if (res.writableFinished || res.destroyed) return;
  const timer = setTimeout(() => res.destroy(), UNREAD_AFTER_CLOSE_MS);
  timer.unref();
  res.once('finish', () => clearTimeout(timer));
  res.once('close', () => clearTimeout(timer));
}

/** A legacy HTTP+SSE session (protocol 2024-11-05): everything goes down one event stream. */
class LegacySseSession implements DownstreamPort {
  sink!: SessionSink;
  closed = false;
  constructor(
    readonly res: ServerResponse,
    readonly owner: string,
    private readonly log: Logger,
  ) {}

  send(message: JsonRpcMessage): void {
    if (!this.closed && !this.res.writableEnded) writeEvent(this.res, message, this.log);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.res.end();
    destroyUnlessRead(this.res);
  }
}

export class HttpEndpoint {
  private readonly sessions = new Map<string, StreamableSession>();
  private readonly legacy = new Map<string, LegacySseSession>();
  private readonly reaper: NodeJS.Timeout;
  private draining = false;

  constructor(private readonly opts: HttpEndpointOptions) {
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
    return n;
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
      const body = JSON.stringify(doc);
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=3600' });
      res.end(body);
      return;
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
    await Promise.all(all.map((s) => s.sink.close()));
  }
}

/** A %-encoded path segment, or undefined when its escapes are malformed. */
function decodeSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/** `example.com:7420` -> `example.com`, `[::1]:7420` -> `[::1]`. */
export function hostName(host: string): string {
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    return end === -1 ? host.toLowerCase() : host.slice(0, end + 1).toLowerCase();
  }
  const colon = host.indexOf(':');
  return (colon === -1 ? host : host.slice(0, colon)).toLowerCase();
}
