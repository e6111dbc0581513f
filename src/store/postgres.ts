// The audit store on PostgreSQL (pg Pool): several gateway processes may share one database and one chain.
import pg from 'pg';
import { type AuditEntry, chain, type NewAuditEntry } from '../audit/chain.js';
import type { AuditKey } from '../audit/keys.js';
import { WardenError } from '../errors.js';
import { redactUrl } from './connect.js';
import {
  type AuditFilter,
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

export interface PostgresAuditStoreOptions {
  /** Schema for the tables, created if missing (tests use a fresh one). Absent: unqualified names, the search_path. */
  schema?: string;
  /** Pool size. */
  maxConnections?: number;
  /** How long opening or borrowing a connection may take before it fails (pg waits forever by default). */
  connectTimeoutMs?: number;
  /** An idle pooled connection failed (server restart, network); the pool replaces it, the next query reports. */
  onIdleError?: (err: Error) => void;
  /** Entries deleted per transaction by prune(): a long retention backlog must not hold the writers' lock for long. */
  pruneBatch?: number;
  /** Keys the chain (HMAC): entries appended by this store are keyed with it (src/audit/keys.ts). */
  key?: AuditKey;
}

/** The first half of every advisory lock key we take: 'WARD'. */
const LOCK_CLASS = 0x57415244;

/** 32-bit FNV-1a, as a signed int4: the second half of the key, so that stores in other schemas do not contend. */
function lockKey(schema: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < schema.length; i++) {
    h ^= schema.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h | 0;
}

/**
 * Checks a connection out of the pool, with an 'error' listener for as long as it is out. pg emits a dead socket's
 * error as an 'error' event on a checked-out client (besides failing its query), and an unheard 'error' event ends
 * the process: a PostgreSQL restart during an append killed the gateway (test/faults/postgres-outage.test.ts).
 */
export async function checkOut(pool: pg.Pool): Promise<pg.PoolClient> {
  const client = await pool.connect();
  const heard = () => {}; // the query under way fails with the same error, and is handled there
  client.on('error', heard);
  const release = client.release;
  client.release = (err?: Error | boolean) => {
    // A connection given back healthy is reused: the pool listens to it again. A broken one keeps ours.
    if (err === undefined || err === false) client.off('error', heard);
    release.call(client, err);
  };
  return client;
}

export class PostgresAuditStore implements AuditStore {
  private closed = false;

  private constructor(
    private readonly pool: pg.Pool,
    private readonly t: { audit: string; checkpoint: string },
    /** Starts a transaction serialised against every other writer of these tables, on any connection. */
    private readonly beginLocked: string,
    private readonly insertSql: string,
    private readonly headSql: string,
    private readonly pruneBatch: number,
    private readonly key: AuditKey | undefined,
  ) {}

  /** Connects and creates the schema if needed; throws WardenError when the database cannot be used. */
  static async open(url: string, opts: PostgresAuditStoreOptions = {}): Promise<PostgresAuditStore> {
    const schema = opts.schema;
    if (schema !== undefined && !/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(schema)) {
      throw new WardenError('CONFIG_INVALID', `invalid PostgreSQL schema name: ${JSON.stringify(schema)}`);
    }
    const q = schema === undefined ? '' : `"${schema}".`;
    const t = { audit: `${q}audit`, checkpoint: `${q}audit_checkpoint` };
    // SET LOCAL: whatever the server default, an append is not acknowledged before its WAL is flushed (SPEC §8).
    const beginLocked = `BEGIN; SET LOCAL synchronous_commit = on; SELECT pg_advisory_xact_lock(${LOCK_CLASS}, ${lockKey(schema ?? '')})`;
    const pool = new pg.Pool({
      connectionString: url,
      max: opts.maxConnections ?? 10,
      connectionTimeoutMillis: opts.connectTimeoutMs ?? 10_000,
      application_name: 'mcp-warden',
    });
    // Without a listener an idle client's error is an 'error' event nobody handles, which kills the process.
    pool.on('error', (err) => opts.onIdleError?.(err));
    // Under the same lock as appends: concurrent CREATE ... IF NOT EXISTS from two processes can still collide.
    const ddl = `${beginLocked};
${schema === undefined ? '' : `CREATE SCHEMA IF NOT EXISTS "${schema}";`}
CREATE TABLE IF NOT EXISTS ${t.audit} (
  seq BIGINT PRIMARY KEY,
  time TEXT NOT NULL,
  time_ms BIGINT NOT NULL,
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
CREATE INDEX IF NOT EXISTS audit_time ON ${t.audit} (time_ms);
CREATE INDEX IF NOT EXISTS audit_request_key ON ${t.audit} (request_key);
CREATE INDEX IF NOT EXISTS audit_grant ON ${t.audit} (grant_label, seq);
CREATE INDEX IF NOT EXISTS audit_server ON ${t.audit} (server, seq);
CREATE INDEX IF NOT EXISTS audit_tool ON ${t.audit} (tool, seq);
CREATE INDEX IF NOT EXISTS audit_decision ON ${t.audit} (decision, seq);
CREATE TABLE IF NOT EXISTS ${t.checkpoint} (
  id SMALLINT PRIMARY KEY CHECK (id = 1),
  seq BIGINT NOT NULL,
  hash TEXT NOT NULL,
  pruned_at TEXT NOT NULL
);
COMMIT`;
    try {
      const client = await checkOut(pool);
      try {
        await client.query(ddl);
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {});
        throw err;
      } finally {
        client.release();
      }
    } catch (err) {
      await pool.end().catch(() => {});
      throw new WardenError(
        'INTERNAL',
        `cannot open the audit database ${redactUrl(url)}: ${(err as Error).message || String(err)}`,
        {
          hint: 'check that PostgreSQL is running and that the URL, user and database are right',
          cause: err,
        },
      );
    }
    // unnest: one statement and twelve parameters whatever the batch size (a VALUES list hits 65,535 parameters).
    const insertSql = `INSERT INTO ${t.audit}
      (seq, time, time_ms, kind, request_key, grant_label, server, tool, decision, body, prev_hash, hash)
      SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[],
                           $8::text[], $9::text[], $10::text[], $11::text[], $12::text[])`;
    // The last entry if any, else the checkpoint (entries always come after it), else nothing: genesis.
    const headSql = `SELECT seq, hash FROM (SELECT seq, hash FROM ${t.audit} ORDER BY seq DESC LIMIT 1) last
      UNION ALL SELECT seq, hash FROM ${t.checkpoint} WHERE id = 1
      ORDER BY seq DESC LIMIT 1`;
    const pruneBatch = Math.max(1, Math.floor(opts.pruneBatch ?? 10_000));
    return new PostgresAuditStore(pool, t, beginLocked, insertSql, headSql, pruneBatch, opts.key);
  }

  /** Runs `fn` in a transaction holding the writers' lock; rolls back and wraps the error when anything fails. */
  private async locked<T>(op: string, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    if (this.closed) throw new WardenError('INTERNAL', `audit store (postgres): ${op} after close`);
    let client: pg.PoolClient;
    try {
      client = await checkOut(this.pool);
    } catch (err) {
      throw storeError('postgres', op, err);
    }
    try {
      // The head must be read by a statement that starts after the lock is granted: in READ COMMITTED each
      // statement takes a fresh snapshot, so it sees what the previous lock holder committed. Reading the head in
      // the same statement as pg_advisory_xact_lock would use a snapshot taken before the wait, and fork the chain.
      await client.query(this.beginLocked);
      const out = await fn(client);
      await client.query('COMMIT');
      client.release();
      return out;
    } catch (err) {
      try {
        await client.query('ROLLBACK');
        client.release();
      } catch (rollbackErr) {
        // The connection is unusable: destroy it instead of handing it back to the pool.
        client.release(rollbackErr as Error);
      }
      throw storeError('postgres', op, err);
    }
  }

  private async headOn(c: pg.Pool | pg.PoolClient): Promise<ChainPoint> {
    const r = await c.query<{ seq: string; hash: string }>(this.headSql);
    const row = r.rows[0];
    return row === undefined ? GENESIS : { seq: Number(row.seq), hash: row.hash };
  }

  private async checkpointOn(c: pg.Pool | pg.PoolClient): Promise<ChainPoint> {
    const r = await c.query<{ seq: string; hash: string }>(
      `SELECT seq, hash FROM ${this.t.checkpoint} WHERE id = 1`,
    );
    const row = r.rows[0];
    return row === undefined ? GENESIS : { seq: Number(row.seq), hash: row.hash };
  }

  private async plain<T>(op: string, fn: () => Promise<T>): Promise<T> {
    if (this.closed) throw new WardenError('INTERNAL', `audit store (postgres): ${op} after close`);
    try {
      return await fn();
    } catch (err) {
      throw storeError('postgres', op, err);
    }
  }

  async append(entries: readonly NewAuditEntry[]): Promise<AuditEntry[]> {
    if (entries.length === 0) return [];
    try {
      for (const e of entries) checkNewEntry(e);
    } catch (err) {
      throw storeError('postgres', 'append', err);
    }
    return this.locked('append', (c) => this.appendOn(c, entries));
  }

  /** Chains and inserts on a connection that holds the writers' lock (inside locked()). */
  private async appendOn(c: pg.PoolClient, entries: readonly NewAuditEntry[]): Promise<AuditEntry[]> {
    const chained = chain(await this.headOn(c), entries, this.key);
    const rows = chained.map(toRow);
    await c.query(this.insertSql, [
      rows.map((r) => r.seq),
      rows.map((r) => r.time),
      rows.map((r) => r.timeMs),
      rows.map((r) => r.kind),
      rows.map((r) => r.requestKey),
      rows.map((r) => r.grant),
      rows.map((r) => r.server),
      rows.map((r) => r.tool),
      rows.map((r) => r.decision),
      rows.map((r) => r.body),
      rows.map((r) => r.prevHash),
      rows.map((r) => r.hash),
    ]);
    return chained;
  }

  read(afterSeq: number, limit: number): Promise<AuditEntry[]> {
    return this.plain('read', async () => {
      checkLimit(limit);
      const r = await this.pool.query<Parameters<typeof fromRow>[0]>(
        `SELECT ${READ_COLUMNS} FROM ${this.t.audit} WHERE seq > $1 ORDER BY seq LIMIT $2`,
        [afterSeq, limit],
      );
      return r.rows.map(fromRow);
    });
  }

  query(filter: AuditFilter): Promise<AuditEntry[]> {
    return this.plain('query', async () => {
      checkLimit(filter.limit);
      const { where, params } = filterSql(filter, (i) => `$${i}`);
      const desc = filter.order === 'desc';
      // LIMIT NULL is no limit.
      const sql = `SELECT ${ENTRY_COLUMNS} FROM ${this.t.audit} ${where} ORDER BY seq ${desc ? 'DESC' : 'ASC'} LIMIT $${params.length + 1}`;
      const r = await this.pool.query<Parameters<typeof fromRow>[0]>(sql, [...params, filter.limit ?? null]);
      const rows = r.rows.map(fromRow).filter((e) => matchesBody(filter, e));
      return desc ? rows.reverse() : rows;
    });
  }

  head(): Promise<ChainPoint> {
    return this.plain('head', () => this.headOn(this.pool));
  }

  checkpoint(): Promise<ChainPoint> {
    return this.plain('checkpoint', () => this.checkpointOn(this.pool));
  }

  async prune(before: Date): Promise<number> {
    const beforeMs = dateMs(before, 'prune before');
    // Where the prefix ends is found once: entries up to it never change, and appends only come after it.
    // In seq order, stopping at the first entry to keep: the cost is that of the entries about to be deleted.
    const last = await this.plain('prune', async () => {
      const kept = await this.pool.query<{ seq: string }>(
        `SELECT seq FROM ${this.t.audit} WHERE time_ms >= $1 ORDER BY seq LIMIT 1`,
        [beforeMs],
      );
      const firstKept = kept.rows[0]?.seq;
      return firstKept === undefined ? (await this.headOn(this.pool)).seq : Number(firstKept) - 1;
    });
    let total = 0;
    // In slices of `pruneBatch`, each its own transaction: appends wait for the lock only as long as one slice.
    for (;;) {
      const deleted = await this.locked('prune', async (c) => {
        const cp = await this.checkpointOn(c);
        if (last <= cp.seq) return -1;
        const upTo = Math.min(last, cp.seq + this.pruneBatch);
        const h = await c.query<{ hash: string }>(`SELECT hash FROM ${this.t.audit} WHERE seq = $1`, [upTo]);
        const hash = h.rows[0]?.hash;
        if (hash === undefined) {
          throw new WardenError('INTERNAL', `audit record ${upTo} is missing; cannot prune`);
        }
        const d = await c.query(`DELETE FROM ${this.t.audit} WHERE seq <= $1`, [upTo]);
        const now = new Date().toISOString();
        await c.query(
          `INSERT INTO ${this.t.checkpoint} (id, seq, hash, pruned_at) VALUES (1, $1, $2, $3)
           ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, pruned_at = excluded.pruned_at`,
          [upTo, hash, now],
        );
        // The record that authenticates the checkpoint (verify requires it), in the same transaction.
        await this.appendOn(c, [prunedEvent({ seq: upTo, hash }, d.rowCount ?? 0, now)]);
        return d.rowCount ?? 0;
      });
      if (deleted < 0) return total;
      total += deleted;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}
