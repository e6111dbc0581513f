// The bridged retries of a session's calls (src/era/bridge.ts, src/pipeline/bridged-round.ts): a 2026 agent's retry
// waits here for what answers it (the call's own result, or the upstream's next question), and each call counts its
// rounds.
import type { RequestId } from '../transport/jsonrpc.js';
import type { Reply } from './downstream.js';

interface Waiting {
  original: RequestId;
  resolve: (answer: Reply | undefined) => void;
}

export class BridgedRounds {
  private readonly waiting = new Map<RequestId, Waiting>();
  /** Rounds so far, by the call's request id. */
  private readonly counts = new Map<RequestId, number>();

  /** Retry `retry` of call `original` waits for its answer: which round of the call it is, and the answer to come. */
  open(retry: RequestId, original: RequestId): { n: number; answer: Promise<Reply | undefined> } {
    const n = (this.counts.get(original) ?? 0) + 1;
    this.counts.set(original, n);
    const answer = new Promise<Reply | undefined>((resolve) => {
      this.waiting.set(retry, { original, resolve });
    });
    return { n, answer };
  }

  /** The retry's answer came. */
  answer(retry: RequestId, answer: Reply): void {
    const w = this.waiting.get(retry);
    if (w === undefined) return;
    this.waiting.delete(retry);
    w.resolve(answer);
  }

  /** The retry no longer waits (refused before its answer went up). */
  drop(retry: RequestId): void {
    this.waiting.delete(retry);
  }

  /** The call ended: a retry still waiting on it gets no answer (undefined). */
  release(original: RequestId): void {
    this.counts.delete(original);
    for (const [retry, w] of this.waiting)
      if (w.original === original) {
        this.waiting.delete(retry);
        w.resolve(undefined);
      }
  }
}
