// The 2025 sessions of agent-facing HTTP: Streamable HTTP (Mcp-Session-Id) and legacy HTTP+SSE (2024-11-05).
import type { ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { isResponse, type JsonRpcMessage, type RequestId } from '../jsonrpc.js';
import type { DownstreamPort, SessionSink } from '../types.js';
import type { PostStream } from './post-stream.js';
import { destroyUnlessRead, MAX_QUEUED, sseEvent, writeEvent } from './wire.js';

/** A Streamable HTTP session: routes each outgoing message to the stream it belongs to. */
export class StreamableSession implements DownstreamPort {
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

/** A legacy HTTP+SSE session (protocol 2024-11-05): everything goes down one event stream. */
export class LegacySseSession implements DownstreamPort {
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
