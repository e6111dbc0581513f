// The audit spool: an append-only local file that makes a record durable in one write(), ahead of the audit store.
//
// A call is forwarded once its decision record is on disk. Writing it straight into the store costs a transaction
// per group (SQLite: about 170 µs here, two syscalls per dirty page of the table and its six indexes; PostgreSQL: a
// round trip), which the 0.2 ms budget cannot pay. The spool costs one write() (about 4 µs): the record
// is then in the kernel's page cache and survives kill -9 of the gateway, exactly as a SQLite WAL commit with
// synchronous=NORMAL does (`power-loss` durability adds an fdatasync per group). Records are moved into the store
// (chained there, in spool order) right after, off the request path; when the store is down they stay in the spool
// and are retried, so a PostgreSQL outage loses nothing. After a crash, whatever the spool holds is moved on the
// next start (or by the next `warden audit` command), skipping records the store already has.
import {
  closeSync,
  fdatasyncSync,
  ftruncateSync,
  openSync,
  readFileSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { WardenError } from '../errors.js';
import type { Logger } from '../log.js';
import { type AuditStore, checkNewEntry } from '../store/types.js';
import type { NewAuditEntry } from './chain.js';

export interface AuditSpoolOptions {
  /** `power-loss`: fdatasync after every group of records (one per turn of the event loop). */
  durability: 'crash' | 'power-loss';
  log: Logger;
  /** Records per store transaction at most. */
  maxBatch?: number;
  /** The spool file is emptied once everything in it is in the store and it is larger than this. */
  truncateAtBytes?: number;
  /**
   * Records waiting for the store at most (held in memory as well as in the file). Past it, write() refuses, so
   * calls fail closed instead of the gateway's memory growing without bound through a long store outage.
   */
  maxPending?: number;
  /** How long records wait in the spool before they are sent to the store (they are durable meanwhile). */
  ingestDelayMs?: number;
  /** First and largest wait between attempts while the store refuses records. */
  retryMs?: { first: number; max: number };
}

interface Waiting {
  entry: NewAuditEntry;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** The lock file next to a spool: it holds the pid of the process that owns the spool. */
export function spoolLockPath(path: string): string {
  return `${path}.lock`;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A killed process its parent has not reaped yet (a zombie) still answers signal 0, but writes nothing more.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // no /proc (not Linux): trust the signal
  }
}

/** The pid holding the spool's lock when that process is alive; undefined when the lock is free or stale. */
export function spoolOwner(path: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(spoolLockPath(path), 'utf8');
  } catch {
    return undefined;
  }
  const pid = Number.parseInt(text, 10);
  return Number.isSafeInteger(pid) && pid > 0 && pid !== process.pid && pidAlive(pid) ? pid : undefined;
}

function takeLock(path: string): void {
  const lock = spoolLockPath(path);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(lock, `${process.pid}\n`, { flag: 'wx' });
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new WardenError(
          'INTERNAL',
          `cannot create the audit spool lock ${lock}: ${(err as Error).message}`,
          {
            hint: 'the directory must exist and be writable; set audit.spool to a file elsewhere (a read-only config directory needs it)',
            cause: err,
          },
        );
      }
      const owner = spoolOwner(path);
      if (owner !== undefined) {
        throw new WardenError('CONFIG_INVALID', `the audit spool ${path} is in use by process ${owner}`, {
          hint: 'two gateways need spools of their own: set audit.spool to a different file for each',
        });
      }
      unlinkSync(lock); // stale: its process is gone
    }
  }
  throw new WardenError('INTERNAL', `cannot take the audit spool lock ${lock}`);
}

/** Parses a spool file's text; a torn last line (the process died inside write()) was never acknowledged. */
export function parseSpool(text: string, path: string): NewAuditEntry[] {
  const out: NewAuditEntry[] = [];
  const end = text.lastIndexOf('\n');
  if (end < 0) return out;
  let lineNo = 0;
  for (const line of text.slice(0, end).split('\n')) {
    lineNo++;
    if (line === '') continue;
    try {
      const entry = JSON.parse(line) as NewAuditEntry;
      checkNewEntry(entry);
      out.push(entry);
    } catch (err) {
      throw new WardenError(
        'INTERNAL',
        `audit spool ${path}:${lineNo} is not a record: ${(err as Error).message}`,
        {
          hint: 'the file was edited or damaged; move it away to start, and keep it for inspection',
          cause: err,
        },
      );
    }
  }
  return out;
}

/**
 * Moves what a spool file holds into the store, skipping records it already has (a record is the pair of its
 * request key and kind), then empties the file. Returns how many records were moved. The caller must own the spool
 * (or know its owner dead).
 */
export async function drainSpoolFile(path: string, store: AuditStore): Promise<number> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw new WardenError('INTERNAL', `cannot read the audit spool ${path}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const entries = parseSpool(text, path);
  const missing: NewAuditEntry[] = [];
  for (const e of entries) {
    const stored = await store.query({ requestKey: e.requestKey, limit: 10 });
    if (!stored.some((s) => s.kind === e.kind)) missing.push(e);
  }
  for (let i = 0; i < missing.length; i += 256) await store.append(missing.slice(i, i + 256));
  if (text.length > 0) writeFileSync(path, '');
  return missing.length;
}

/**
 * Recovers a spool whose owner is gone (a `warden audit` command after a crash): returns the records moved, or
 * undefined when a live gateway owns it (it moves them itself within milliseconds).
 */
export async function recoverSpool(path: string, store: AuditStore): Promise<number | undefined> {
  if (spoolOwner(path) !== undefined) return undefined;
  takeLock(path);
  try {
    const moved = await drainSpoolFile(path, store);
    // Everything it held is in the store: the file of a process that is gone has no further use.
    try {
      unlinkSync(path);
    } catch {}
    return moved;
  } finally {
    unlinkSync(spoolLockPath(path));
  }
}

export class AuditSpool {
  private readonly fd: number;
  private readonly maxBatch: number;
  private readonly truncateAt: number;
  private readonly retry: { first: number; max: number };
  private readonly maxPending: number;
  private readonly ingestDelayMs: number;
  /** Written to the spool, not yet handed to write()'s callers. */
  private waiting: Waiting[] = [];
  /** On disk in the spool, not yet in the store; the head is what the store is being sent. */
  private backlog: NewAuditEntry[] = [];
  private size = 0;
  private ingesting = false;
  private closed = false;
  private failing = false;
  private idleWaiters: Array<() => void> = [];
  private retryTimer: NodeJS.Timeout | undefined;

  private constructor(
    readonly path: string,
    private readonly store: AuditStore,
    private readonly opts: AuditSpoolOptions,
  ) {
    this.maxBatch = opts.maxBatch ?? 256;
    this.truncateAt = opts.truncateAtBytes ?? 1 << 20;
    this.retry = opts.retryMs ?? { first: 200, max: 5_000 };
    this.maxPending = opts.maxPending ?? 100_000;
    this.ingestDelayMs = opts.ingestDelayMs ?? 10;
    try {
      this.fd = openSync(path, 'a');
    } catch (err) {
      throw new WardenError('INTERNAL', `cannot open the audit spool ${path}: ${(err as Error).message}`, {
        hint: 'the directory must exist and be writable; set audit.spool to a file elsewhere (a read-only config directory needs it)',
        cause: err,
      });
    }
  }

  /** Takes the spool (refusing one a live process holds), moves what a crash left in it, and opens it. */
  static async open(path: string, store: AuditStore, opts: AuditSpoolOptions): Promise<AuditSpool> {
    takeLock(path);
    try {
      const moved = await drainSpoolFile(path, store);
      if (moved > 0) opts.log.warn({ records: moved, spool: path }, 'audit records recovered from the spool');
      return new AuditSpool(path, store, opts);
    } catch (err) {
      unlinkSync(spoolLockPath(path));
      throw err;
    }
  }

  /** Records on disk that the store does not have yet. */
  get pending(): number {
    return this.backlog.length;
  }

  /**
   * Resolves once the record is on disk (in the spool); rejects when it could not be written (disk full, ...), so
   * that the caller fails closed. Records reach the store in the order of write() calls.
   */
  write(entry: NewAuditEntry): Promise<void> {
    if (this.closed) return Promise.reject(new WardenError('INTERNAL', 'audit spool is closed'));
    if (this.backlog.length + this.waiting.length >= this.maxPending) {
      return Promise.reject(
        new WardenError('INTERNAL', `audit store unavailable and ${this.maxPending} records already spooled`),
      );
    }
    try {
      checkNewEntry(entry);
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise<void>((resolve, reject) => {
      if (this.waiting.length === 0) queueMicrotask(() => this.flush());
      this.waiting.push({ entry, resolve, reject });
    });
  }

  /** Writes every record written so far in this turn of the event loop with one write() (group commit). */
  private flush(): void {
    const group = this.waiting;
    this.waiting = [];
    if (group.length === 0) return;
    let text = '';
    for (const w of group) text += `${JSON.stringify(w.entry)}\n`;
    const bytes = Buffer.from(text);
    try {
      let off = 0;
      while (off < bytes.length) off += writeSync(this.fd, bytes, off);
      if (this.opts.durability === 'power-loss') fdatasyncSync(this.fd);
    } catch (err) {
      // A partial line may be in the file: the next record starts on a line of its own, and recovery stops at a
      // torn line only at the end, so cut the file back to where this group began.
      try {
        ftruncateSync(this.fd, this.size);
      } catch {}
      const failure = new WardenError('INTERNAL', `audit spool ${this.path}: ${(err as Error).message}`, {
        cause: err,
      });
      for (const w of group) w.reject(failure);
      return;
    }
    this.size += bytes.length;
    for (const w of group) {
      this.backlog.push(w.entry);
      w.resolve();
    }
    this.startIngest();
  }

  private startIngest(): void {
    if (this.ingesting || this.retryTimer !== undefined || this.backlog.length === 0) return;
    this.ingesting = true;
    // Not now: a SQLite transaction is synchronous work on this thread, and the calls whose records these are
    // should be forwarded and answered first. Waiting a little also makes each transaction carry more records.
    setTimeout(() => void this.ingest(), this.ingestDelayMs);
  }

  private async ingest(): Promise<void> {
    while (this.backlog.length > 0) {
      const batch = this.backlog.slice(0, this.maxBatch);
      try {
        await this.store.append(batch);
      } catch (err) {
        this.ingesting = false;
        this.onStoreFailure(err);
        return;
      }
      this.backlog.splice(0, batch.length);
      if (this.failing) {
        this.failing = false;
        this.opts.log.info({ spool: this.path }, 'audit store is back; spooled records moved');
      }
    }
    this.ingesting = false;
    if (this.size >= this.truncateAt && this.waiting.length === 0) {
      // Everything in the file is in the store. A crash between the store's commit and this leaves records that
      // recovery finds already stored and skips.
      try {
        ftruncateSync(this.fd, 0);
        this.size = 0;
      } catch (err) {
        this.opts.log.warn({ err: (err as Error).message, spool: this.path }, 'cannot empty the audit spool');
      }
    }
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  private retryDelay = 0;

  private onStoreFailure(err: unknown): void {
    if (!this.failing) {
      this.failing = true;
      this.retryDelay = this.retry.first;
      this.opts.log.error(
        { err: (err as Error)?.message ?? String(err), spool: this.path, pending: this.backlog.length },
        'audit store unavailable: records stay in the spool and are retried',
      );
    } else {
      this.retryDelay = Math.min(this.retry.max, this.retryDelay * 2);
    }
    for (const resolve of this.idleWaiters.splice(0)) resolve();
    if (this.closed) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.startIngest();
    }, this.retryDelay);
    this.retryTimer.unref();
  }

  /** Resolves when the store has every record written so far, or when an attempt to send them fails. */
  drained(): Promise<void> {
    if (this.waiting.length > 0) this.flush();
    if (this.backlog.length === 0) return Promise.resolve();
    if (!this.ingesting) {
      if (this.retryTimer !== undefined) {
        clearTimeout(this.retryTimer);
        this.retryTimer = undefined;
      }
      this.startIngest();
    }
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Refuses further records, sends the store what it can (one attempt), and releases the spool. Records the store
   * did not take stay in the file, for the next start.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.drained();
    this.closed = true;
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    if (this.backlog.length > 0) {
      this.opts.log.warn(
        { pending: this.backlog.length, spool: this.path },
        'audit records left in the spool; the next start moves them',
      );
    }
    closeSync(this.fd);
    // Empty of anything the store lacks: the file goes (each process has its own; they must not pile up).
    if (this.backlog.length === 0) {
      try {
        unlinkSync(this.path);
      } catch {}
    }
    try {
      unlinkSync(spoolLockPath(this.path));
    } catch {}
  }
}
