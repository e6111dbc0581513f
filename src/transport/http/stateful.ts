// The 2025 path of agent-facing HTTP: Streamable HTTP sessions (initialize, Mcp-Session-Id, the GET stream,
// DELETE, takeover from another replica through the session directory) and legacy HTTP+SSE sessions; their caps and
// their idle reaping.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Identity } from '../../identity/authenticate.js';
import type { SessionDirectory } from '../../state/sessions.js';
import { INVALID_REQUEST, isRequest, type JsonRpcMessage, type RequestId } from '../jsonrpc.js';
import { messagesOf, readJson } from './body.js';
import { PostStream } from './post-stream.js';
import type { HttpEndpointOptions } from './server.js';
import { LegacySseSession, StreamableSession } from './sessions.js';
import {
  accepts,
  ownerOf,
  SERVER_ERROR,
  SESSION_NOT_FOUND,
  SUPPORTED_PROTOCOL_VERSIONS,
  writeJsonError,
} from './wire.js';

export class StatefulPath {
  readonly sessions = new Map<string, StreamableSession>();
  readonly legacy = new Map<string, LegacySseSession>();
  /** Set once the gateway drains: no takeover, no reclaiming. */
  draining = false;

  constructor(private readonly opts: HttpEndpointOptions) {}

  get sessionCount(): number {
    return this.sessions.size + this.legacy.size;
  }

  get inflight(): number {
    let n = 0;
    for (const s of this.sessions.values()) if (s.sink?.busy) n++;
    for (const s of this.legacy.values()) if (s.sink?.busy) n++;
    return n;
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

  /** A 2025 POST (initialize, or a request of an open session), its body already parsed and checked. */
  async post(
    req: IncomingMessage,
    res: ServerResponse,
    endpoint: string | undefined,
    identity: Identity,
    messages: JsonRpcMessage[],
    batch: boolean,
  ): Promise<void> {
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

  async get(
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

  async delete(
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

  async legacyOpen(
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

  async legacyPost(
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
    const body = await readJson(req, res, this.opts.maxBodyBytes);
    if (body === undefined) return;
    const parsed = messagesOf(body.value, res);
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

  reapIdle(): void {
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

  /** Closes every session (the gateway is draining). */
  async closeAll(): Promise<void> {
    const all = [...this.sessions.values(), ...this.legacy.values()];
    this.sessions.clear();
    this.legacy.clear();
    await Promise.all(all.map((s) => s.sink.close()));
  }
}
