// The SQLite audit store on a thread of its own: better-sqlite3 is synchronous, and a transaction on the audit table
// (six indexes) costs about 170 µs here, which on the gateway's only thread delays whatever answer arrives meanwhile.
// Every call goes to the worker (src/store/sqlite-worker.ts) in order and comes back as a promise.
import { Worker } from 'node:worker_threads';
import type { AuditEntry, NewAuditEntry } from '../audit/chain.js';
import { WardenError, type WardenErrorCode } from '../errors.js';
import type { SqliteAuditStoreOptions } from './sqlite.js';
import type { AuditFilter, AuditStore, ChainPoint } from './types.js';

interface Reply {
  id?: number;
  ready?: boolean;
  value?: unknown;
  error?: { code: string; message: string; hint?: string };
}

function wardenError(e: { code: string; message: string; hint?: string }): WardenError {
  return new WardenError(
    e.code as WardenErrorCode,
    e.message,
    e.hint === undefined ? undefined : { hint: e.hint },
  );
}

export class ThreadedSqliteAuditStore implements AuditStore {
  private readonly pending = new Map<
    number,
    { resolve: (v: unknown) => void; reject: (e: unknown) => void }
  >();
  private next = 0;
  private closed = false;

  private constructor(private readonly worker: Worker) {
    worker.on('message', (m: Reply) => {
      if (m.id === undefined) return;
      const p = this.pending.get(m.id);
      if (p === undefined) return;
      this.pending.delete(m.id);
      if (m.error !== undefined) p.reject(wardenError(m.error));
      else p.resolve(m.value);
    });
    worker.on('error', (err) => this.failAll(err));
    worker.on('exit', (code) => this.failAll(new Error(`the audit store thread exited (${code})`)));
  }

  /** Starts the thread and opens the database there; rejects with the store's own error when it cannot. */
  static open(path: string, options: SqliteAuditStoreOptions = {}): Promise<ThreadedSqliteAuditStore> {
    // Built code runs the compiled worker; tests and `tsx` run the TypeScript source, through tsx's loader.
    const source = import.meta.url.endsWith('.ts');
    const boot = new URL(source ? './sqlite-worker-source.mjs' : './sqlite-worker.js', import.meta.url);
    const worker = new Worker(boot, { workerData: { path, options } });
    return new Promise((resolve, reject) => {
      const onError = (err: Error) =>
        reject(new WardenError('INTERNAL', `audit store thread: ${err.message}`));
      worker.once('error', onError);
      worker.once('message', (m: Reply) => {
        worker.off('error', onError);
        if (m.error !== undefined) {
          void worker.terminate();
          reject(wardenError(m.error));
        } else resolve(new ThreadedSqliteAuditStore(worker));
      });
    });
  }

  private failAll(err: unknown): void {
    const failure = new WardenError(
      'INTERNAL',
      `audit store (sqlite): ${(err as Error)?.message ?? String(err)}`,
    );
    for (const p of this.pending.values()) p.reject(failure);
    this.pending.clear();
  }

  private call<T>(op: string, ...args: unknown[]): Promise<T> {
    if (this.closed)
      return Promise.reject(new WardenError('INTERNAL', `audit store (sqlite): ${op} after close`));
    const id = this.next++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ id, op, args });
    });
  }

  append(entries: readonly NewAuditEntry[]): Promise<AuditEntry[]> {
    return this.call('append', entries);
  }

  read(afterSeq: number, limit: number): Promise<AuditEntry[]> {
    return this.call('read', afterSeq, limit);
  }

  query(filter: AuditFilter): Promise<AuditEntry[]> {
    return this.call('query', filter);
  }

  head(): Promise<ChainPoint> {
    return this.call('head');
  }

  checkpoint(): Promise<ChainPoint> {
    return this.call('checkpoint');
  }

  prune(before: Date): Promise<number> {
    return this.call('prune', before);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.call('close');
    this.closed = true;
    await this.worker.terminate();
  }
}
