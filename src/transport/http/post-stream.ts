// The response stream of one POST that carried requests (either era).
import type { ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { encodeMessage } from '../encode.js';
import type { JsonRpcMessage, RequestId } from '../jsonrpc.js';
import { SERVER_ERROR, serialisable, sseEvent, writeEvent, writeJsonError } from './wire.js';

/** The response stream of one POST that carried requests: JSON when only answers come back, SSE when more does. */
export class PostStream {
  private readonly waiting = new Set<RequestId>();
  private readonly buffered: JsonRpcMessage[] = [];
  private mode: 'pending' | 'sse' | 'done' = 'pending';

  constructor(
    private readonly res: ServerResponse,
    ids: RequestId[],
    private readonly batch: boolean,
    private readonly headers: Record<string, string>,
    private readonly log: Logger,
    /** The HTTP status of a single answer sent as JSON (2026: some errors have their own, src/era/wire.ts). */
    private readonly statusOf?: (answer: JsonRpcMessage) => number,
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
        const status = this.batch || this.statusOf === undefined ? 200 : this.statusOf(this.buffered[0]!);
        this.res.writeHead(status, {
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
