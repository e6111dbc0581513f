// The pin store on PostgreSQL: shared by every gateway replica, so a tool pinned by one is pinned for all.
import type pg from 'pg';
import { WardenError } from '../errors.js';
import { openPostgresTable } from './connect.js';
import {
  type AcceptOptions,
  acceptParams,
  acceptSql,
  checkWithoutWrite,
  firstUseRow,
  PIN_COLUMN_NAMES,
  PIN_COLUMNS,
  PIN_TABLE_COLUMNS,
  type Pin,
  type PinCheck,
  type PinRow,
  type PinStore,
  pinFromRow,
} from './pins.js';
import { checkOut } from './postgres.js';

export interface PostgresPinStoreOptions {
  /** Schema for the table, created if missing (tests use a fresh one). */
  schema?: string;
  onIdleError?: (err: Error) => void;
}

function storeError(op: string, err: unknown): WardenError {
  if (err instanceof WardenError) return err;
  return new WardenError('STORE_UNAVAILABLE', `pin store (postgres): ${op}: ${(err as Error).message}`, {
    cause: err,
  });
}

export class PostgresPinStore implements PinStore {
  private constructor(
    private readonly pool: pg.Pool,
    private readonly table: string,
  ) {}

  static async open(url: string, opts: PostgresPinStoreOptions = {}): Promise<PostgresPinStore> {
    const { pool, table } = await openPostgresTable(
      url,
      opts,
      'pin store',
      'pins',
      3,
      (table) => `CREATE TABLE IF NOT EXISTS ${table} (${PIN_TABLE_COLUMNS});`,
    );
    return new PostgresPinStore(pool, table);
  }

  private async rows(op: string, sql: string, params: unknown[]): Promise<PinRow[]> {
    try {
      return (await this.pool.query<PinRow>(sql, params)).rows;
    } catch (err) {
      throw storeError(op, err);
    }
  }

  /** Runs `fn` in a transaction on one connection; rolls back and wraps the error when anything fails. */
  private async transaction<T>(op: string, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await checkOut(this.pool);
    } catch (err) {
      throw storeError(op, err);
    }
    try {
      await client.query('BEGIN');
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
      throw storeError(op, err);
    }
  }

  private byKey(c: pg.Pool | pg.PoolClient, server: string, tool: string, lock: boolean): Promise<PinRow[]> {
    return c
      .query<PinRow>(
        `SELECT ${PIN_COLUMNS} FROM ${this.table} WHERE server = $1 AND tool = $2${lock ? ' FOR UPDATE' : ''}`,
        [server, tool],
      )
      .then((r) => r.rows);
  }

  async check(server: string, tool: string, hash: string, definition: string, at: string): Promise<PinCheck> {
    // Most checks find the pin as it is and write nothing: answered by one read, without a transaction.
    let seen: PinRow[];
    try {
      seen = await this.byKey(this.pool, server, tool, false);
    } catch (err) {
      throw storeError('check', err);
    }
    const done = checkWithoutWrite(seen[0], hash);
    if (done !== undefined) return done;
    return this.transaction('check', async (c) => {
      // Of several first checks at once, one inserts; the others wait for it to commit, insert nothing, and then
      // lock and read the row it inserted (each statement takes a fresh snapshot in READ COMMITTED).
      const pinned = firstUseRow(server, tool, hash, definition, at);
      const inserted = await c.query<PinRow>(
        `INSERT INTO ${this.table} (${PIN_COLUMNS})
         VALUES (${PIN_COLUMN_NAMES.map((_, i) => `$${i + 1}`).join(', ')})
         ON CONFLICT (server, tool) DO NOTHING RETURNING ${PIN_COLUMNS}`,
        PIN_COLUMN_NAMES.map((col) => pinned[col]),
      );
      const fresh = inserted.rows[0];
      if (fresh !== undefined) return { status: 'new', pin: pinFromRow(fresh) };
      const [row] = await this.byKey(c, server, tool, true);
      if (row === undefined)
        throw new WardenError('INTERNAL', `the pin of ${server}/${tool} vanished during check`);
      const again = checkWithoutWrite(row, hash);
      if (again !== undefined) return again;
      if (row.hash === hash) {
        // Back to the pinned definition: the change recorded since is no longer pending.
        const cleared = await c.query<PinRow>(
          `UPDATE ${this.table} SET changed_hash = NULL, changed_definition = NULL, changed_at = NULL
           WHERE server = $1 AND tool = $2 RETURNING ${PIN_COLUMNS}`,
          [server, tool],
        );
        return { status: 'same', pin: pinFromRow(cleared.rows[0] ?? row) };
      }
      const recorded = await c.query<PinRow>(
        `UPDATE ${this.table} SET changed_hash = $3, changed_definition = $4, changed_at = $5
         WHERE server = $1 AND tool = $2 RETURNING ${PIN_COLUMNS}`,
        [server, tool, hash, definition, at],
      );
      return { status: 'changed', pin: pinFromRow(recorded.rows[0] ?? row), first: true };
    });
  }

  async get(server: string, tool: string): Promise<Pin | undefined> {
    let rows: PinRow[];
    try {
      rows = await this.byKey(this.pool, server, tool, false);
    } catch (err) {
      throw storeError('get', err);
    }
    return rows[0] === undefined ? undefined : pinFromRow(rows[0]);
  }

  async list(opts?: { server?: string; changedOnly?: boolean }): Promise<Pin[]> {
    const where: string[] = [];
    const params: string[] = [];
    if (opts?.server !== undefined) {
      params.push(opts.server);
      where.push(`server = $${params.length}`);
    }
    if (opts?.changedOnly === true) where.push('changed_hash IS NOT NULL');
    // COLLATE "C": code point order whatever the database's collation, the order SQLite gives.
    const rows = await this.rows(
      'list',
      `SELECT ${PIN_COLUMNS} FROM ${this.table}${where.length === 0 ? '' : ` WHERE ${where.join(' AND ')}`}
       ORDER BY server COLLATE "C", tool COLLATE "C"`,
      params,
    );
    return rows.map(pinFromRow);
  }

  async accept(
    server: string,
    tool: string,
    by: string,
    at: string,
    opts?: AcceptOptions,
  ): Promise<Pin | undefined> {
    // The second of two acceptors waits on the row lock, then finds nothing left to accept.
    let n = 0;
    const sql = acceptSql(this.table, PIN_COLUMNS)
      .replace(/\?/g, () => `$${++n}`)
      .replace('$5 = 1', '$5::int = 1')
      .replace('$6 IS NULL', '$6::text IS NULL');
    const [row] = await this.rows('accept', sql, acceptParams(server, tool, by, at, opts));
    return row === undefined ? undefined : pinFromRow(row);
  }

  async close(): Promise<void> {
    await this.pool.end().catch(() => {});
  }
}
