// Upstream Streamable HTTP transport on node:http (one POST per message, the GET stream, DELETE; in 2026 mode, no
// session, per-request headers and the listen stream). The legacy SSE one is in sse-client.ts. Only the configured
// headers reach the upstream.
import http, { type ClientRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import https from 'node:https';
import net, { isIP, type Socket } from 'node:net';
import tls from 'node:tls';
import { EventStreamParser } from './event-stream.js';
import { checkMessage, type JsonRpcMessage, refusedAnswer } from './jsonrpc.js';
import type { MessageTransport } from './types.js';

/** An upstream answered with an HTTP status that is not success; `status` 404 on a POST means the session is gone. */
export class HttpStatusError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** The start of the upstream's error body: for the log only (it may quote the request's credentials). */
    readonly detail?: string,
  ) {
    super(message);
    this.name = 'HttpStatusError';
  }
}

/** An error whose message is safe for the agent and whose detail (upstream text) is for the log only. */
export class UpstreamTextError extends Error {
  constructor(
    message: string,
    readonly detail: string,
  ) {
    super(message);
    this.name = 'UpstreamTextError';
  }
}

/** Longest JSON body or single event accepted from an upstream (the stdio transport's line limit). */
const MAX_MESSAGE_CHARS = 64 * 1024 * 1024;
/** How much of an error body is quoted in the error. */
const ERROR_BODY_CHARS = 500;
const REDIRECTS = 5;
/**
 * The GET stream reconnects after it ends, waiting this long and growing by half with each attempt that fails or
 * stream that ends within STEADY_MS (reset by one that lasted longer). A server's `retry:` is honoured within
 * [MIN_RETRY_MS, MAX_RETRY_MS], and every wait is spread by up to a quarter so that the sessions of an upstream that
 * restarts do not all come back in the same millisecond.
 */
const FIRST_RECONNECT_MS = 1000;
const MAX_RECONNECT_MS = 30_000;
const STEADY_MS = 10_000;
const MIN_RETRY_MS = 250;
const MAX_RETRY_MS = 300_000;
/** A POST's event stream that breaks before its response is resumed (with Last-Event-ID) this many times. */
const POST_RESUMES = 2;

// One connection pool per process: sockets to an upstream are reused across its sessions and calls.
const agents = {
  'http:': new http.Agent({ keepAlive: true, noDelay: true }),
  'https:': new https.Agent({ keepAlive: true, noDelay: true }),
};

interface Attempt {
  url: URL;
  redirects: number;
  repeatable: boolean;
  retried: boolean;
  /** idp (#20): sent again once after a 401, with a fresh per-user Authorization. */
  reauthorized?: boolean;
  /** Told each HTTP request made for this message (a redirect makes another), so that it can be aborted. */
  track?: (req: ClientRequest) => void;
}

/**
 * How a transport speaks the 2026-07-28 revision (src/era/upstream-link.ts): no session, and each request's headers
 * computed from its own body. `headersFor` gets the message as it goes on the wire.
 */
export interface ModernMode {
  headersFor(message: JsonRpcMessage): Record<string, string>;
}

/** Which request an event stream answers, how often it was reopened, and the last event id seen before. */
interface StreamOrigin {
  /** `listen`: a 2026 subscriptions/listen stream, reopened like the GET stream. */
  kind: 'post' | 'get' | 'listen';
  attempt: number;
  lastId: string | undefined;
}

const parsedUrls = new Map<string, URL>();

/** The configured URL, parsed once and shared by every session's transport (never changed). */
function parsedUrl(url: string): URL {
  let parsed = parsedUrls.get(url);
  if (parsed === undefined) {
    parsed = new URL(url);
    parsedUrls.set(url, parsed);
  }
  return parsed;
}

/**
 * A new connection to the URL's host, TLS for https: (certificates checked as by https.request). TCP keep-alive
 * probes an idle GET stream, so one that a NAT or proxy dropped silently ends instead of looking open for ever.
 */
export function connectTo(url: URL): Socket {
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  if (url.protocol === 'https:') {
    const socket = tls.connect({
      host,
      port: Number(url.port || 443),
      servername: isIP(host) === 0 ? host : undefined,
      ALPNProtocols: ['http/1.1'],
    });
    socket.setKeepAlive(true, 30_000);
    return socket;
  }
  return net.connect({
    host,
    port: Number(url.port || 80),
    noDelay: true,
    keepAlive: true,
    keepAliveInitialDelay: 30_000,
  });
}

/** The media type of a Content-Type header, without parameters, lower case. */
function mediaType(header: string | undefined): string {
  if (header === undefined) return '';
  const semi = header.indexOf(';');
  return (semi === -1 ? header : header.slice(0, semi)).trim().toLowerCase();
}

/**
 * The MCP Streamable HTTP client transport (spec 2025-03-26 and later), written for a gateway that holds one upstream
 * session per agent session: each session costs a few objects and, once initialized, the one socket of its GET stream
 * (undici's fetch with web streams cost about 40 KB of heap a session more; bench/README.md).
 *
 * - Every message is one POST. A JSON answer is read whole; an event-stream answer is read as it arrives, and resumed
 *   with `Last-Event-ID` when it breaks after an event id and before its response (as the SDK does, twice at most).
 * - After `notifications/initialized` is accepted, a GET stream carries what the server sends on its own
 *   (list_changed, logging, server-to-client requests). It reconnects with backoff whenever it ends, for as long as the
 *   transport is open (see FIRST_RECONNECT_MS); a 405, or a 200 that is no event stream, means the server has none,
 *   and a 4xx other than 409 and 429 stops it.
 * - Redirects are followed only within the upstream's own origin, so configured headers never reach another host.
 * - `send` resolves when the upstream has taken the message (202, a JSON answer read, or an event stream opened) and
 *   rejects with HttpStatusError on an HTTP error.
 */
export class StreamableHttpClient implements MessageTransport {
  onmessage?: (message: JsonRpcMessage) => void;
  onclose?: (error?: Error) => void;
  onerror?: (error: Error) => void;

  private sessionId: string | undefined;
  private protocolVersion: string | undefined;
  private closed = false;
  private readonly open = new Set<ClientRequest>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private listening = false;
  /** Counts the GET streams opened; `streamOpen` while one is. See channel(). */
  private streams = 0;
  private streamOpen = false;
  /** The server's last `retry:`, held within [MIN_RETRY_MS, MAX_RETRY_MS]. */
  private retryMs: number | undefined;
  private readonly url: URL;
  private readonly agent: http.Agent;
  /** 2026: the HTTP requests of the JSON-RPC requests in flight, by id (see abort). */
  private readonly inflight = new Map<string | number, ClientRequest>();
  /** 2026: the subscriptions/listen request, reopened whenever its stream ends. */
  private listenMessage: JsonRpcMessage | undefined;

  constructor(
    url: string,
    private readonly headers: Record<string, string>,
    private readonly modern?: ModernMode,
    // idp (#20): per-user upstream credentials. When set, each request's Authorization header is asked for here
    // (a token obtained for the agent's identity, src/identity/upstream/credentials.ts); nothing else changes.
    private readonly authorization?: () => Promise<string>,
    /** Told the Authorization value the upstream answered 401 to, before the one retry with a fresh one. */
    private readonly unauthorized?: (authorization: string) => void,
  ) {
    this.url = parsedUrl(url);
    const agent = agents[this.url.protocol as keyof typeof agents];
    if (agent === undefined) throw new Error(`unsupported URL scheme ${this.url.protocol} (http: or https:)`);
    this.agent = agent;
  }

  async start(): Promise<void> {}

  channel(): number | undefined {
    return this.streamOpen ? this.streams : undefined;
  }

  setProtocolVersion(version: string): void {
    this.protocolVersion = version;
  }

  async send(message: JsonRpcMessage): Promise<void> {
    const body = JSON.stringify(message);
    const toolCall = 'method' in message && message.method === 'tools/call';
    const extra: OutgoingHttpHeaders = {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
    };
    const id = 'id' in message && 'method' in message ? message.id : undefined;
    let track: ((req: ClientRequest) => void) | undefined;
    if (this.modern !== undefined) {
      Object.assign(extra, this.modern.headersFor(message));
      if (id !== undefined && id !== null) track = (req) => this.inflight.set(id, req);
    }
    const res = await this.request('POST', body, extra, {
      url: this.url,
      redirects: REDIRECTS,
      repeatable: !toolCall,
      retried: false,
      ...(track === undefined ? {} : { track }),
    });
    if (id !== undefined && id !== null && track !== undefined)
      res.once('close', () => this.inflight.delete(id));
    if (
      this.modern !== undefined &&
      res.statusCode !== undefined &&
      res.statusCode >= 400 &&
      res.statusCode < 500 &&
      mediaType(res.headers['content-type']) === 'application/json' &&
      (await this.deliverError(res, id))
    )
      return;
    if (res.statusCode !== undefined && res.statusCode >= 400) {
      // The body may quote the request (its Authorization header): the agent hears the status, the log the body.
      throw new HttpStatusError(
        res.statusCode,
        `HTTP ${res.statusCode} from the upstream`,
        await errorText(res),
      );
    }
    if (res.statusCode === 202 || !('id' in message && 'method' in message)) {
      res.resume();
      if (res.statusCode === 202 && 'method' in message && message.method === 'notifications/initialized') {
        this.listen();
      }
      return;
    }
    const type = mediaType(res.headers['content-type']);
    if (type === 'application/json') {
      const text = await readText(res, MAX_MESSAGE_CHARS);
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        throw new UpstreamTextError('the upstream answered with invalid JSON', text.slice(0, 200));
      }
      for (const m of Array.isArray(value) ? value : [value]) this.deliver(m);
      return;
    }
    if (type === 'text/event-stream') {
      this.readStream(res, { kind: 'post', attempt: 0, lastId: undefined });
      return;
    }
    res.resume();
    throw new Error(
      `the upstream answered with unexpected content type ${res.headers['content-type'] ?? '(none)'}`,
    );
  }

  /**
   * 2026: a 4xx that carries a JSON-RPC error answering this request (the revision answers -32020..-32022 so) is that
   * request's answer, delivered as such; any other body is an HttpStatusError, as for a 2025 upstream.
   */
  private async deliverError(res: IncomingMessage, id: string | number | null | undefined): Promise<true> {
    const status = res.statusCode ?? 0;
    const text = await readText(res, 64 * 1024).catch(() => '');
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      value = undefined;
    }
    const error = (value as { error?: unknown } | null | undefined)?.error;
    if (
      id !== undefined &&
      id !== null &&
      typeof error === 'object' &&
      error !== null &&
      (value as { id?: unknown }).id === id
    ) {
      this.deliver(value);
      return true;
    }
    throw new HttpStatusError(status, `HTTP ${status} from the upstream`, text.slice(0, ERROR_BODY_CHARS));
  }

  /**
   * 2026: ends the HTTP request of JSON-RPC request `id` (a cancelled or timed-out call): the upstream sees its client
   * disconnect, the revision's way to cancel. Nothing happens for an id not in flight.
   */
  abort(id: string | number): void {
    const req = this.inflight.get(id);
    if (req === undefined) return;
    this.inflight.delete(id);
    req.destroy();
  }

  /**
   * 2026: opens the `subscriptions/listen` stream with this request, and opens it again (with backoff, as the GET
   * stream) whenever it ends, for as long as the transport is open. Its notifications arrive on onmessage; the
   * acknowledgement is not passed on.
   */
  subscribe(message: JsonRpcMessage): void {
    if (this.closed || this.listenMessage !== undefined) return;
    this.listenMessage = message;
    this.openListen(0);
  }

  private openListen(attempt: number): void {
    const message = this.listenMessage;
    if (message === undefined || this.closed) return;
    const extra: OutgoingHttpHeaders = {
      'content-type': 'application/json',
      accept: 'text/event-stream, application/json',
      ...(this.modern?.headersFor(message) ?? {}),
    };
    const again = () => this.later(() => this.openListen(attempt + 1), this.delay(attempt));
    this.request('POST', JSON.stringify(message), extra).then(
      (res) => {
        const status = res.statusCode ?? 0;
        if (status === 200 && mediaType(res.headers['content-type']) === 'text/event-stream')
          return this.readStream(res, { kind: 'listen', attempt, lastId: undefined });
        res.resume();
        // A server without listen support answers an error (JSON, or a 4xx): nothing to reopen.
        if (status >= 400 && status < 500 && status !== 429) {
          this.onerror?.(new Error(`the upstream refused subscriptions/listen: HTTP ${status}`));
          return;
        }
        if (status === 200) return;
        again();
      },
      (err: Error) => {
        if (this.closed) return;
        this.onerror?.(new Error(`the upstream's listen stream: ${err.message}`));
        again();
      },
    );
  }

  /** DELETE with the session id: ends the upstream's session. A 405 (the server keeps sessions until they expire) is fine. */
  async terminate(): Promise<void> {
    if (this.sessionId === undefined || this.closed) return;
    const res = await this.request('DELETE', undefined, {});
    res.resume();
    if (
      res.statusCode !== undefined &&
      res.statusCode >= 400 &&
      res.statusCode !== 405 &&
      res.statusCode !== 404
    ) {
      throw new HttpStatusError(res.statusCode, `HTTP ${res.statusCode} from the upstream on DELETE`);
    }
    this.sessionId = undefined;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const req of this.open) req.destroy();
    this.open.clear();
    this.onclose?.();
  }

  /**
   * One HTTP request with the session's headers; resolves with the response once its headers are in. `attempt`:
   * where it goes (a redirect's target), how many redirects it may still follow, whether it may be sent again on a
   * new connection (see below) and whether it was.
   */
  private request(
    method: 'POST' | 'GET' | 'DELETE',
    body: string | undefined,
    extra: OutgoingHttpHeaders,
    attempt: Attempt = { url: this.url, redirects: REDIRECTS, repeatable: true, retried: false },
  ): Promise<IncomingMessage> {
    const { url, redirects, repeatable, retried } = attempt;
    if (this.closed) return Promise.reject(new Error('the upstream transport is closed'));
    // idp (#20): fetch the per-user Authorization once per request; redirects and retries reuse it through `extra`.
    if (this.authorization !== undefined && extra.authorization === undefined)
      return this.authorization().then((authorization) =>
        this.request(method, body, { ...extra, authorization }, attempt),
      );
    const headers: OutgoingHttpHeaders = { ...this.headers, ...extra };
    if (this.sessionId !== undefined) headers['mcp-session-id'] = this.sessionId;
    if (this.protocolVersion !== undefined && this.modern === undefined)
      headers['mcp-protocol-version'] = this.protocolVersion;
    if (body !== undefined) headers['content-length'] = Buffer.byteLength(body);
    const send = url.protocol === 'https:' ? https.request : http.request;
    return new Promise<IncomingMessage>((resolve, reject) => {
      let answered = false;
      // A GET is an event stream that holds its connection for as long as it lasts (the session's life, for the
      // standalone one): it gets a connection of its own rather than one of the pool's, which saves the pool's
      // bookkeeping of a socket (about 1.5 KB a session) and keeps the pool for requests that come and go.
      const connection =
        method === 'GET' ? { createConnection: () => connectTo(url) } : { agent: this.agent };
      const req = send(url, { method, headers, ...connection }, (res) => {
        answered = true;
        // A connection that breaks mid-answer errors the response too; what that means is handled on 'close'.
        res.on('error', () => {});
        res.once('close', () => this.open.delete(req));
        const status = res.statusCode ?? 0;
        const location = res.headers.location;
        if ((status === 307 || status === 308) && location !== undefined) {
          res.resume();
          const next = URL.canParse(location, url.href) ? new URL(location, url) : undefined;
          if (next === undefined) {
            reject(
              new HttpStatusError(
                status,
                `the upstream redirected to an invalid URL: ${location.slice(0, 200)}`,
              ),
            );
            return;
          }
          if (next.origin !== this.url.origin || redirects === 0) {
            reject(
              new HttpStatusError(status, `the upstream redirected to ${next.origin}, which is not followed`),
            );
            return;
          }
          this.request(method, body, extra, { ...attempt, url: next, redirects: redirects - 1 }).then(
            resolve,
            reject,
          );
          return;
        }
        // idp (#20): a per-user token the upstream refused (expired early, revoked) is renewed and the request sent
        // once more; a 401 means the upstream did not act on it, so even a tool call may go again.
        if (status === 401 && this.authorization !== undefined && attempt.reauthorized !== true) {
          res.resume();
          if (typeof extra.authorization === 'string') this.unauthorized?.(extra.authorization);
          this.request(
            method,
            body,
            { ...extra, authorization: undefined },
            { ...attempt, reauthorized: true },
          ).then(resolve, reject);
          return;
        }
        // The session id comes with the answer to initialize (a POST); GET and DELETE answers do not set it.
        const sessionId = res.headers['mcp-session-id'];
        if (
          method === 'POST' &&
          this.modern === undefined &&
          typeof sessionId === 'string' &&
          sessionId !== ''
        )
          this.sessionId = sessionId;
        resolve(res);
      });
      this.open.add(req);
      attempt.track?.(req);
      req.on('error', (err: NodeJS.ErrnoException) => {
        this.open.delete(req);
        if (answered) return;
        if (this.closed) return reject(new Error('the upstream transport is closed'));
        // A kept-alive socket the server closed while idle breaks the next request before the server read it (Node's
        // documented race): that request is sent once more, on a new connection. Not a tools/call: the same error is
        // what a server that crashed while running the tool gives, and a tool must never run twice unasked.
        if (
          !retried &&
          repeatable &&
          req.reusedSocket &&
          (err.code === 'ECONNRESET' || err.code === 'EPIPE')
        ) {
          this.request(method, body, extra, { ...attempt, retried: true }).then(resolve, reject);
          return;
        }
        reject(err);
      });
      req.end(body);
    });
  }

  private deliver(value: unknown): boolean {
    const problem = checkMessage(value);
    if (problem !== undefined) {
      this.onerror?.(new Error(`the upstream sent an invalid JSON-RPC message: ${problem}`));
      // An answer refused (nested too deep, #17.1) still ends its call, with an error that says why.
      const refused = refusedAnswer(value, problem);
      if (refused === undefined) return false;
      this.onmessage?.(refused);
      return true;
    }
    this.onmessage?.(value as JsonRpcMessage);
    return 'result' in (value as object) || 'error' in (value as object);
  }

  /**
   * Reads an event stream until it ends. A POST's stream that ends before its response, after giving an event id, is
   * resumed from that id; the GET stream is reopened whenever it ends (backing off while it keeps ending soon).
   */
  private readStream(res: IncomingMessage, from: StreamOrigin): void {
    let lastId = from.lastId;
    let answered = false;
    const parser = new EventStreamParser(
      (event) => {
        // An empty id clears the last one: no Last-Event-ID is sent for it (the format's rule).
        if (event.id !== undefined) lastId = event.id === '' ? undefined : event.id;
        if (event.event !== 'message' || event.data === '') return;
        let value: unknown;
        try {
          value = JSON.parse(event.data);
        } catch {
          this.onerror?.(
            new Error(`the upstream sent an event that is not JSON: ${event.data.slice(0, 200)}`),
          );
          return;
        }
        if (from.kind === 'listen' && isAcknowledgement(value)) return;
        if (this.deliver(value)) answered = true;
      },
      (ms) => {
        this.retryMs = Math.min(Math.max(ms, MIN_RETRY_MS), MAX_RETRY_MS);
      },
      MAX_MESSAGE_CHARS,
    );
    const opened = Date.now();
    if (from.kind !== 'post') {
      this.streams++;
      this.streamOpen = true;
    }
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      try {
        parser.feed(chunk);
      } catch (err) {
        this.onerror?.(err as Error);
        res.destroy();
      }
    });
    res.once('close', () => {
      if (from.kind !== 'post') this.streamOpen = false;
      if (this.closed) return;
      if (from.kind !== 'post') {
        const attempt = Date.now() - opened >= STEADY_MS ? 0 : from.attempt + 1;
        if (from.kind === 'get') this.later(() => this.openStream(lastId, attempt), this.delay(attempt));
        else this.later(() => this.openListen(attempt), this.delay(attempt));
      } else if (answered) {
        // done
      } else if (lastId !== undefined && from.attempt < POST_RESUMES && this.modern === undefined) {
        this.later(() => this.resume(lastId as string, from.attempt + 1), this.delay(from.attempt));
      } else {
        this.onerror?.(new Error('an event stream from the upstream ended before its response'));
      }
    });
  }

  /** Reopens a POST's broken stream from its last event id (the server replays what followed). */
  private resume(lastId: string, attempt: number): void {
    this.request('GET', undefined, { accept: 'text/event-stream', 'last-event-id': lastId }).then(
      (res) => {
        if (res.statusCode === 200) return this.readStream(res, { kind: 'post', attempt, lastId });
        res.resume();
        this.onerror?.(new Error(`resuming an event stream: HTTP ${res.statusCode} from the upstream`));
      },
      (err: Error) => {
        if (this.closed) return;
        if (attempt < POST_RESUMES) this.later(() => this.resume(lastId, attempt + 1), this.delay(attempt));
        else this.onerror?.(new Error(`resuming an event stream: ${err.message}`));
      },
    );
  }

  /** Opens the GET stream once per session (after `notifications/initialized` is accepted). */
  private listen(): void {
    if (this.listening || this.closed) return;
    this.listening = true;
    this.openStream(undefined, 0);
  }

  private openStream(lastId: string | undefined, attempt: number): void {
    const extra: OutgoingHttpHeaders = { accept: 'text/event-stream' };
    if (lastId !== undefined) extra['last-event-id'] = lastId;
    const again = () => this.later(() => this.openStream(lastId, attempt + 1), this.delay(attempt));
    this.request('GET', undefined, extra).then(
      (res) => {
        const status = res.statusCode ?? 0;
        const stream = mediaType(res.headers['content-type']) === 'text/event-stream';
        if (status === 200 && stream) return this.readStream(res, { kind: 'get', attempt, lastId });
        res.resume();
        // 405: this server has no GET stream (nor has one that answers with something else). Other client errors (a
        // gone session among them) do not mend by retrying: the link notices a gone session on its next request and
        // opens a new one. 409 (the server still holds the previous stream) and 429 do.
        if (status === 405 || (status === 200 && !stream)) return;
        if (status >= 400 && status < 500 && status !== 409 && status !== 429) {
          this.onerror?.(new Error(`the upstream refused its event stream: HTTP ${status}`));
          return;
        }
        again();
      },
      (err: Error) => {
        if (this.closed) return;
        this.onerror?.(new Error(`the upstream's event stream: ${err.message}`));
        again();
      },
    );
  }

  /**
   * How long to wait before the next attempt (see FIRST_RECONNECT_MS): the server's `retry:` the first time, else
   * the backoff but never less than the server asked for, spread by up to a quarter.
   */
  private delay(attempt: number): number {
    const backoff = Math.min(FIRST_RECONNECT_MS * 1.5 ** attempt, MAX_RECONNECT_MS);
    const retry = this.retryMs;
    const wait = attempt === 0 && retry !== undefined ? retry : Math.max(backoff, retry ?? 0);
    return Math.round(wait * (1 - Math.random() / 4));
  }

  private later(fn: () => void, ms: number): void {
    if (this.closed) return;
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }
}

/** A response body as text, up to `max` characters (more is an error). */
function readText(res: IncomingMessage, max: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: string[] = [];
    let chars = 0;
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      chars += chunk.length;
      if (chars > max) {
        res.destroy();
        reject(new Error(`the upstream's answer is longer than ${max} characters`));
        return;
      }
      parts.push(chunk);
    });
    res.once('end', () => resolve(parts.join('')));
    res.once('error', reject);
    res.once('close', () => {
      if (!res.complete)
        reject(new Error('the upstream closed the connection before its answer was complete'));
    });
  });
}

/** The start of an error response's body, for the error message; the rest is not read. */
function errorText(res: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    const done = () => {
      const trimmed = text.trim();
      resolve(trimmed === '' ? (res.statusMessage ?? '') : trimmed.slice(0, ERROR_BODY_CHARS));
    };
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      text += chunk;
      if (text.length >= ERROR_BODY_CHARS) {
        res.destroy();
        done();
      }
    });
    res.once('close', done);
  });
}

/** The first event of a 2026 listen stream: says which notifications the server will send; not for the link. */
function isAcknowledgement(value: unknown): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { method?: unknown }).method === 'notifications/subscriptions/acknowledged'
  );
}

/** Per-user credentials of an HTTP upstream (src/identity/upstream/credentials.ts), in either era. */
export interface UpstreamAuth {
  /** Asked for each request's Authorization header. */
  authorization: () => Promise<string>;
  /** Told the Authorization value an upstream answered 401 to (the request is then sent once more). */
  unauthorized?: (authorization: string) => void;
}

export function createHttpClientTransport(
  url: string,
  headers: Record<string, string>,
  options: {
    /** The 2026 mode of the link (src/era/upstream-link.ts). */
    modern?: ModernMode;
  } & Partial<UpstreamAuth> = {},
): StreamableHttpClient {
  return new StreamableHttpClient(url, headers, options.modern, options.authorization, options.unauthorized);
}
