// The grant store on PostgreSQL: shared by every gateway replica, so a revoke on one is seen by all on the next request.
import type pg from 'pg';
import { WardenError } from '../errors.js';
import { openPostgresTable } from './connect.js';
import {
  GRANT_COLUMNS,
  GRANT_TABLE_COLUMNS,
  type Grant,
  type GrantRow,
  type GrantStore,
  grantFromRow,
  grantToRow,
} from './grants.js';

export interface PostgresGrantStoreOptions {
  /** Schema for the table, created if missing (tests use a fresh one). */
  schema?: string;
  onIdleError?: (err: Error) => void;
}

const UNIQUE_VIOLATION = '23505';

export class PostgresGrantStore implements GrantStore {
  private constructor(
    private readonly pool: pg.Pool,
    private readonly table: string,
  ) {}

  static async open(url: string, opts: PostgresGrantStoreOptions = {}): Promise<PostgresGrantStore> {
    const { pool, table } = await openPostgresTable(
      url,
      opts,
      'grant store',
      'grants',
      1,
      (table) => `CREATE TABLE IF NOT EXISTS ${table} (${GRANT_TABLE_COLUMNS});
CREATE UNIQUE INDEX IF NOT EXISTS grants_live_label ON ${table} (label) WHERE revoked_at IS NULL;`,
    );
    return new PostgresGrantStore(pool, table);
  }

  private async rows(sql: string, params: unknown[]): Promise<GrantRow[]> {
    try {
      return (await this.pool.query<GrantRow>(sql, params)).rows;
    } catch (err) {
      throw new WardenError('STORE_UNAVAILABLE', `grant store (postgres): ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  async create(grant: Grant): Promise<void> {
    const r = grantToRow(grant);
    try {
      await this.pool.query(
        `INSERT INTO ${this.table} (${GRANT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
        [
          r.id,
          r.label,
          r.token_hash,
          r.servers,
          r.group_names,
          r.role,
          r.policy_source,
          r.policy_text,
          r.created_at,
          r.last_used_at,
          r.rotated_at,
          r.revoked_at,
        ],
      );
    } catch (err) {
      if ((err as { code?: string }).code === UNIQUE_VIOLATION)
        throw new WardenError('CONFLICT', `a grant labelled "${grant.label}" exists already`, {
          hint: 'revoke it first, rotate its token, or choose another label',
        });
      throw new WardenError('STORE_UNAVAILABLE', `grant store (postgres): ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  async get(id: string): Promise<Grant | undefined> {
    const [row] = await this.rows(`SELECT ${GRANT_COLUMNS} FROM ${this.table} WHERE id = $1`, [id]);
    return row === undefined ? undefined : grantFromRow(row);
  }

  async find(labelOrId: string): Promise<Grant | undefined> {
    // A live label wins over an id, as in SQLite.
    const [row] = await this.rows(
      `SELECT ${GRANT_COLUMNS} FROM ${this.table} WHERE (label = $1 AND revoked_at IS NULL) OR id = $1
       ORDER BY (label = $1 AND revoked_at IS NULL) DESC LIMIT 1`,
      [labelOrId],
    );
    return row === undefined ? undefined : grantFromRow(row);
  }

  async list(): Promise<Grant[]> {
    return (await this.rows(`SELECT ${GRANT_COLUMNS} FROM ${this.table} ORDER BY created_at, id`, [])).map(
      grantFromRow,
    );
  }

  async revoke(id: string, at: string): Promise<Grant | undefined> {
    await this.rows(`UPDATE ${this.table} SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL`, [
      at,
      id,
    ]);
    return this.get(id);
  }

  async rotate(id: string, tokenHash: string, at: string): Promise<boolean> {
    const rows = await this.rows(
      `UPDATE ${this.table} SET token_hash = $1, rotated_at = $2 WHERE id = $3 AND revoked_at IS NULL RETURNING id`,
      [tokenHash, at, id],
    );
    return rows.length === 1;
  }

  async touch(id: string, at: string): Promise<void> {
    await this.rows(`UPDATE ${this.table} SET last_used_at = $1 WHERE id = $2`, [at, id]);
  }

  async close(): Promise<void> {
    await this.pool.end().catch(() => {});
  }
}
