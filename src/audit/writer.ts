// Group commit for audit entries: concurrent writes share one durable transaction instead of one fsync each.
import { WardenError } from '../errors.js';
import { type AuditStore, checkNewEntry } from '../store/types.js';
import type { AuditEntry, NewAuditEntry } from './chain.js';

export interface AuditWriterOptions {
  /** Entries per transaction at most. */
  maxBatch?: number;
  /** How long the first entry of an idle writer waits for company before its batch is committed. */
  maxDelayMs?: number;
}

interface Pending {
  entry: NewAuditEntry;
  resolve: (e: AuditEntry) => void;
  reject: (err: unknown) => void;
}

export class AuditWriter {
  private readonly maxBatch: number;
  private readonly maxDelayMs: number;
  private queue: Pending[] = [];
  /** A commit loop is running or about to: it takes whatever is queued when its current batch is done. */
  private committing = false;
  private timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  /** Entries accepted and entries settled (committed or failed), for flush(). */
  private accepted = 0;
  private settled = 0;
  private flushWaiters: { target: number; resolve: () => void }[] = [];
  private closed = false;

  constructor(
    private readonly store: AuditStore,
    opts: AuditWriterOptions = {},
  ) {
    this.maxBatch = opts.maxBatch ?? 256;
    this.maxDelayMs = opts.maxDelayMs ?? 2;
    if (!Number.isSafeInteger(this.maxBatch) || this.maxBatch < 1) {
      throw new WardenError(
        'INTERNAL',
        `AuditWriter maxBatch must be a positive integer, got ${this.maxBatch}`,
      );
    }
    if (!(this.maxDelayMs >= 0)) {
      throw new WardenError('INTERNAL', `AuditWriter maxDelayMs must be >= 0, got ${this.maxDelayMs}`);
    }
  }

  /**
   * Resolves with the stored entry once its transaction is committed; rejects if that transaction failed, so that
   * the caller fails closed. Entries are chained in the order of write() calls.
   */
  write(entry: NewAuditEntry): Promise<AuditEntry> {
    if (this.closed) return Promise.reject(new WardenError('INTERNAL', 'audit writer is closed'));
    try {
      // Checked here, not only in the store: one malformed entry would otherwise fail every entry of its batch.
      checkNewEntry(entry);
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise<AuditEntry>((resolve, reject) => {
      this.queue.push({ entry, resolve, reject });
      this.accepted++;
      this.schedule();
    });
  }

  /** Commits what is queued without waiting for the delay; resolves when every earlier write() has settled. */
  flush(): Promise<void> {
    const target = this.accepted;
    if (this.settled >= target) return Promise.resolve();
    if (!this.committing) this.start();
    return new Promise<void>((resolve) => this.flushWaiters.push({ target, resolve }));
  }

  /** Refuses further writes and waits for the queued ones. The store stays open: it belongs to whoever opened it. */
  close(): Promise<void> {
    this.closed = true;
    return this.flush();
  }

  private schedule(): void {
    if (this.committing) return;
    if (this.queue.length >= this.maxBatch) {
      // A full batch goes now, but from a microtask: write() itself never runs a (synchronous SQLite) transaction.
      this.committing = true;
      this.clearTimer();
      queueMicrotask(() => void this.commitLoop());
    } else if (this.timer === undefined) {
      this.timer =
        this.maxDelayMs === 0
          ? setImmediate(() => this.start())
          : setTimeout(() => this.start(), this.maxDelayMs);
    }
  }

  private start(): void {
    this.clearTimer();
    if (this.committing || this.queue.length === 0) return;
    this.committing = true;
    void this.commitLoop();
  }

  private clearTimer(): void {
    if (this.timer === undefined) return;
    clearTimeout(this.timer as NodeJS.Timeout);
    clearImmediate(this.timer as NodeJS.Immediate);
    this.timer = undefined;
  }

  /**
   * One batch at a time, so seqs follow the order of write() calls (two appends in flight on a pool could commit
   * in either order). Entries that arrive during a commit are taken right after it, without a further delay.
   */
  private async commitLoop(): Promise<void> {
    while (this.queue.length > 0) {
      let batch: Pending[];
      if (this.queue.length <= this.maxBatch) {
        batch = this.queue;
        this.queue = [];
      } else {
        // A backlog (slow store) is cut from the front; splice is a memmove, cheap next to a transaction.
        batch = this.queue.splice(0, this.maxBatch);
      }
      try {
        const stored = await this.store.append(batch.map((p) => p.entry));
        if (stored.length !== batch.length) {
          throw new WardenError('INTERNAL', `audit store stored ${stored.length} of ${batch.length} entries`);
        }
        for (let i = 0; i < batch.length; i++) batch[i]!.resolve(stored[i]!);
      } catch (err) {
        const failure =
          err instanceof WardenError
            ? err
            : new WardenError(
                'INTERNAL',
                `audit records not written: ${(err as Error)?.message ?? String(err)}`,
                {
                  cause: err,
                },
              );
        for (const p of batch) p.reject(failure);
      }
      this.settled += batch.length;
      while (this.flushWaiters.length > 0 && this.flushWaiters[0]!.target <= this.settled) {
        this.flushWaiters.shift()!.resolve();
      }
    }
    this.committing = false;
  }
}
