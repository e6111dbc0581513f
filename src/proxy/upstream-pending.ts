// The requests a link has sent upstream and waits on: their ids, the progress tokens handed out in place of the
// callers' own, their timers, and how each one ends (response, timeout, cancel, or the link going away).
import type { Logger } from 'pino';
import {
  errorResponse,
  type JsonRpcError,
  type JsonRpcResponse,
  REQUEST_TIMEOUT,
} from '../transport/jsonrpc.js';

export interface Pending {
  id: number;
  resolve: (r: JsonRpcResponse | undefined) => void;
  timer: NodeJS.Timeout | undefined;
  timeoutMs: number;
  progressToken: string | number | undefined;
  callerToken: unknown;
  onProgress: ((params: Record<string, unknown>) => void) | undefined;
  method: string;
}

export class PendingRequests {
  private nextId = 1;
  private nextToken = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly progress = new Map<string | number, Pending>();

  /**
   * `upstream` is the upstream's id, for the errors callers get; `withdraw` tells the upstream that a request is given
   * up on (cancelled, or timed out: reason `timeout`).
   */
  constructor(
    private readonly upstream: string,
    private readonly log: () => Logger,
    private readonly withdraw: (id: number, reason: string | undefined) => void,
  ) {}

  /** The id of a new upstream request. */
  newId(): number {
    return this.nextId++;
  }

  /**
   * The params that go upstream: the caller's own, not modified; when they carry a progress token, a copy with a
   * token of the gateway's own, and progress comes back under the caller's token (see progressed).
   */
  ownToken(params: Record<string, unknown> | undefined): {
    params: Record<string, unknown> | undefined;
    progressToken: number | undefined;
    callerToken: unknown;
  } {
    const meta = params?._meta as Record<string, unknown> | undefined;
    if (meta === undefined || meta.progressToken === undefined)
      return { params, progressToken: undefined, callerToken: undefined };
    const progressToken = this.nextToken++;
    return {
      params: { ...params, _meta: { ...meta, progressToken } },
      progressToken,
      callerToken: meta.progressToken,
    };
  }

  /** Waits on a request from now until it settles. */
  add(p: Pending): void {
    this.pending.set(p.id, p);
    if (p.progressToken !== undefined) this.progress.set(p.progressToken, p);
  }

  /** Whether the request still waits (it was not cancelled, did not time out, and has no response yet). */
  has(id: number): boolean {
    return this.pending.has(id);
  }

  armTimer(p: Pending): void {
    const id = p.id;
    if (p.timer) clearTimeout(p.timer);
    p.timer = setTimeout(() => {
      this.log().warn({ method: p.method, timeoutMs: p.timeoutMs }, 'upstream request timed out');
      this.withdraw(id, 'timeout');
      this.settle(
        id,
        errorResponse(
          id,
          REQUEST_TIMEOUT,
          `Upstream ${this.upstream} did not answer ${p.method} within ${p.timeoutMs} ms`,
        ) as JsonRpcError,
      );
    }, p.timeoutMs);
  }

  settle(id: number, response: JsonRpcResponse | undefined): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    if (p.timer) clearTimeout(p.timer);
    if (p.progressToken !== undefined) this.progress.delete(p.progressToken);
    p.resolve(response);
  }

  /** Settles every request with this error (the transport closed, or the link did). */
  failAll(code: number, message: string): void {
    for (const [id, p] of this.pending) {
      if (p.timer) clearTimeout(p.timer);
      if (p.progressToken !== undefined) this.progress.delete(p.progressToken);
      p.resolve(errorResponse(id, code, message) as JsonRpcError);
    }
    this.pending.clear();
  }

  /** Settles a request with no response (the agent asked for none) and tells the upstream. */
  cancel(id: number, reason: string | undefined): void {
    if (!this.pending.has(id)) return;
    this.settle(id, undefined);
    this.withdraw(id, reason);
  }

  /** Hands the upstream's notifications/progress params to the caller of the request, under the caller's token. */
  progressed(params: Record<string, unknown> | undefined): void {
    const token = params?.progressToken as string | number | undefined;
    const p = token === undefined ? undefined : this.progress.get(token);
    if (!p) return; // progress for a token we never handed out: dropped
    if (p.timer) this.armTimer(p);
    p.onProgress?.({ ...params, progressToken: p.callerToken });
  }
}
