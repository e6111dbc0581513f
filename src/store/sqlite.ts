// The audit store on SQLite (better-sqlite3): one file, WAL, every append batch durable before it resolves.
import Database from 'better-sqlite3';
import { type AuditEntry, chain, type NewAuditEntry } from '../audit/chain.js';
import type { AuditKey } from '../audit/keys.js';
import { WardenError } from '../errors.js';
import {
  type AuditFilter,
  type AuditRow,
  type AuditStore,
  type ChainPoint,
  checkLimit,
  checkNewEntry,
  dateMs,
  ENTRY_COLUMNS,
  filterSql,
  fromRow,
  GENESIS,
  matchesBody,
  prunedEvent,
  READ_COLUMNS,
  storeError,
  toRow,
} from './types.js';

export interface SqliteAuditStoreOptions {
  /** How long a writer waits for another connection's write transaction before failing. */
  busyTimeoutMs?: number;
  /** Entries deleted per transaction by prune(): a long retention backlog must not hold the write lock for long. */
  pruneBatch?: number;
  /**
   * What a committed batch survives. `crash` (default): a crash or kill -9 of the gateway (WAL, synchronous=NORMAL:
   * the commit is written to the WAL file, which the OS keeps whatever happens to the process). `power-loss`:
   * also an OS crash or power cut (synchronous=FULL: an fsync per commit, about 0.5 ms here).
   */
  durability?: 'crash' | 'power-loss';
  /** Keys the chain (HMAC): entries appended by this store are keyed with it (src/audit/keys.ts). */
  key?: AuditKey;
}

// `seq INTEGER PRIMARY KEY` is the rowid: entries are stored in seq order and every index already ends with seq,
// so "the newest N for this server" is an index range scan without a sort.
const SCHEMA = `
CREATE TABLE IF NOT EXISTS audit (
  seq INTEGER PRIMARY KEY,
  time TEXT NOT NULL,
  time_ms INTEGER NOT NULL,
  kind TEXT NOT NULL,
  request_key TEXT NOT NULL,
  grant_label TEXT,
  server TEXT,
  tool TEXT,
  decision TEXT,
  body TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_time ON audit (time_ms);
CREATE INDEX IF NOT EXISTS audit_request_key ON audit (request_key);
CREATE INDEX IF NOT EXISTS audit_grant ON audit (grant_label);
CREATE INDEX IF NOT EXISTS audit_server ON audit (server);
CREATE INDEX IF NOT EXISTS audit_tool ON audit (tool);
CREATE INDEX IF NOT EXISTS audit_decision ON audit (decision);
CREATE TABLE IF NOT EXISTS audit_checkpoint (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  seq INTEGER NOT NULL,
  hash TEXT NOT NULL,
  pruned_at TEXT NOT NULL
);
`;

type EntryRecord = Parameters<typeof fromRow>[0];
/** The INSERT's parameters, in AuditRow's column order. */
type InsertParams = [
  AuditRow['seq'],
  AuditRow['time'],
  AuditRow['timeMs'],
  AuditRow['kind'],
  AuditRow['requestKey'],
  AuditRow['grant'],
  AuditRow['server'],
  AuditRow['tool'],
  AuditRow['decision'],
  AuditRow['body'],
  AuditRow['prevHash'],
  AuditRow['hash'],
];

export class SqliteAuditStore implements AuditStore {
  private readonly db: Database.Database;
  private readonly insert: Database.Statement<InsertParams>;
  private readonly lastStmt: Database.Statement<[], ChainPoint>;
  private readonly checkpointStmt: Database.Statement<[], ChainPoint>;
  private readonly readStmt: Database.Statement<[number, number], EntryRecord>;
  private readonly queries = new Map<string, Database.Statement<unknown[], EntryRecord>>();
  private readonly appendTx: (entries: readonly NewAuditEntry[]) => AuditEntry[];
  private readonly pruneEnd: (beforeMs: number) => number;
  private readonly pruneStep: (last: number) => number;
  private readonly pruneBatch: number;
  private closed = false;

  /** Opens (creating if needed) the database at `path`, or an in-memory one for ':memory:'. Throws WardenError. */
  constructor(
    readonly path: string,
    opts: SqliteAuditStoreOptions = {},
  ) {
    let db: Database.Database | undefined;
    try {
      db = new Database(path, { fileMustExist: false });
      db.pragma('journal_mode = WAL');
      // In WAL mode NORMAL writes each commit to the WAL with write() and fsyncs only at checkpoints: a committed
      // transaction survives any crash of this process (the record of a forwarded call is never lost to kill -9),
      // not a power cut. FULL adds an fsync per commit; group commit in AuditWriter pays it once per batch.
      db.pragma(`synchronous = ${opts.durability === 'power-loss' ? 'FULL' : 'NORMAL'}`);
      // A 16 MB page cache keeps the hot ends of the six indexes in memory; checkpointing every 4,000 pages (16 MB
      // of WAL) instead of SQLite's 1,000 quarters the checkpoint fsyncs that synchronous=NORMAL pays. Measured in
      // bench/README.md (audit benchmark): together about +15 % entries/s.
      db.pragma('cache_size = -16000');
      db.pragma('wal_autocheckpoint = 4000');
      db.pragma(`busy_timeout = ${Math.max(0, Math.floor(opts.busyTimeoutMs ?? 10_000))}`);
      db.exec(SCHEMA);
    } catch (err) {
      db?.close();
      throw new WardenError(
        'INTERNAL',
        `cannot open the audit database sqlite:${path}: ${(err as Error).message}`,
        {
          hint: 'check that the directory exists and is writable',
          cause: err,
        },
      );
    }
    this.db = db;
    this.pruneBatch = Math.max(1, Math.floor(opts.pruneBatch ?? 10_000));
    this.insert = db.prepare(
      `INSERT INTO audit (seq, time, time_ms, kind, request_key, grant_label, server, tool, decision, body, prev_hash, hash)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.lastStmt = db.prepare('SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1');
    this.checkpointStmt = db.prepare('SELECT seq, hash FROM audit_checkpoint WHERE id = 1');
    this.readStmt = db.prepare(`SELECT ${READ_COLUMNS} FROM audit WHERE seq > ? ORDER BY seq LIMIT ?`);
    // Walks the chain from its oldest entry and stops at the first one to keep, so the cost is that of the entries
    // about to be deleted; NOT INDEXED stops the planner from scanning the (much larger) recent part by time.
    const firstKept = db.prepare<[number], { seq: number }>(
      'SELECT seq FROM audit NOT INDEXED WHERE time_ms >= ? ORDER BY seq LIMIT 1',
    );
    const hashOf = db.prepare<[number], { hash: string }>('SELECT hash FROM audit WHERE seq = ?');
    const deleteUpTo = db.prepare<[number]>('DELETE FROM audit WHERE seq <= ?');
    const saveCheckpoint = db.prepare<[number, string, string]>(
      `INSERT INTO audit_checkpoint (id, seq, hash, pruned_at) VALUES (1, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, pruned_at = excluded.pruned_at`,
    );

    // The head is read inside the write transaction: BEGIN IMMEDIATE takes the write lock first, so another
    // connection (another gateway process on the same file) cannot append between our read and our insert.
    const key = opts.key;
    const appendTx = db.transaction((entries: readonly NewAuditEntry[]) => {
      const chained = chain(this.headSync(), entries, key);
      for (const e of chained) {
        // Positional parameters: binding by name costs better-sqlite3 a property lookup per column per row.
        const r = toRow(e);
        this.insert.run(
          r.seq,
          r.time,
          r.timeMs,
          r.kind,
          r.requestKey,
          r.grant,
          r.server,
          r.tool,
          r.decision,
          r.body,
          r.prevHash,
          r.hash,
        );
      }
      return chained;
    });
    this.appendTx = (entries) => appendTx.immediate(entries);

    this.pruneEnd = (beforeMs) => {
      const kept = firstKept.get(beforeMs)?.seq;
      return kept === undefined ? this.headSync().seq : kept - 1;
    };
    // One slice of a prune: moves the checkpoint at most `pruneBatch` entries towards `last`; -1 when there.
    const pruneStep = db.transaction((last: number) => {
      const cp = this.checkpointSync();
      if (last <= cp.seq) return -1;
      const upTo = Math.min(last, cp.seq + this.pruneBatch);
      const hash = hashOf.get(upTo)?.hash;
      if (hash === undefined) {
        throw new WardenError('INTERNAL', `audit record ${upTo} is missing; cannot prune`);
      }
      const deleted = deleteUpTo.run(upTo).changes;
      const now = new Date().toISOString();
      saveCheckpoint.run(upTo, hash, now);
      // The checkpoint is authenticated by a record in the chain that names it (verify requires one): a checkpoint
      // row inserted by hand has none. Appended in the same transaction, so the two never disagree.
      appendTx([prunedEvent({ seq: upTo, hash }, deleted, now)]);
      return deleted;
    });
    this.pruneStep = (last) => pruneStep.immediate(last);
  }

  private headSync(): ChainPoint {
    return this.lastStmt.get() ?? this.checkpointSync();
  }

  private checkpointSync(): ChainPoint {
    return this.checkpointStmt.get() ?? GENESIS;
  }

  private run<T>(op: string, fn: () => T): Promise<T> {
    if (this.closed)
      return Promise.reject(new WardenError('INTERNAL', `audit store (sqlite): ${op} after close`));
    try {
      return Promise.resolve(fn());
    } catch (err) {
      return Promise.reject(storeError('sqlite', op, err));
    }
  }

  append(entries: readonly NewAuditEntry[]): Promise<AuditEntry[]> {
    return this.run('append', () => {
      if (entries.length === 0) return [];
      for (const e of entries) checkNewEntry(e);
      return this.appendTx(entries);
    });
  }

  read(afterSeq: number, limit: number): Promise<AuditEntry[]> {
    return this.run('read', () => {
      checkLimit(limit);
      return this.readStmt.all(afterSeq, limit).map(fromRow);
    });
  }

  query(filter: AuditFilter): Promise<AuditEntry[]> {
    return this.run('query', () => {
      checkLimit(filter.limit);
      const { where, params } = filterSql(filter, () => '?');
      const desc = filter.order === 'desc';
      // The limit is a parameter (-1: none) so that the cache holds one statement per shape of filter, 256 at most.
      const sql = `SELECT ${ENTRY_COLUMNS} FROM audit ${where} ORDER BY seq ${desc ? 'DESC' : 'ASC'} LIMIT ?`;
      let stmt = this.queries.get(sql);
      if (stmt === undefined) {
        stmt = this.db.prepare(sql);
        this.queries.set(sql, stmt);
      }
      const rows = stmt
        .all(...params, filter.limit ?? -1)
        .map(fromRow)
        .filter((e) => matchesBody(filter, e));
      return desc ? rows.reverse() : rows;
    });
  }

  head(): Promise<ChainPoint> {
    return this.run('head', () => this.headSync());
  }

  checkpoint(): Promise<ChainPoint> {
    return this.run('checkpoint', () => this.checkpointSync());
  }

  async prune(before: Date): Promise<number> {
    // Where the prefix ends is found once: entries up to it never change, and appends only come after it.
    const last = await this.run('prune', () => this.pruneEnd(dateMs(before, 'prune before')));
    let total = 0;
    for (;;) {
      const deleted = await this.run('prune', () => this.pruneStep(last));
      if (deleted < 0) return total;
      total += deleted;
      // Between slices, let this process's own requests (and their audit appends) run.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }
}
