// Opening a side table's database (grants, approvals, pins): the same connection settings, creation and errors for
// every store, so that each store file holds only its own queries. The pg driver is loaded on first use.
import Database from 'better-sqlite3';
import type pg from 'pg';
import { WardenError } from '../errors.js';

/** The URL with its password masked, for error messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString();
  } catch {
    return url.replace(/\/\/[^@/]*@/, '//***@');
  }
}

/** A SQLite connection (WAL, 10 s busy timeout) with `schema` applied; `what` names the store in errors. */
export function openSqlite(path: string, what: string, schema: string): Database.Database {
  try {
    const db = new Database(path, { fileMustExist: false });
    db.pragma('journal_mode = WAL');
    db.pragma('busy_timeout = 10000');
    db.exec(schema);
    return db;
  } catch (err) {
    throw new WardenError(
      'STORE_UNAVAILABLE',
      `cannot open the ${what} sqlite:${path}: ${(err as Error).message}`,
      {
        hint: 'check that the directory exists and is writable',
        cause: err,
      },
    );
  }
}

export interface PostgresTableOptions {
  /** Schema for the table, created if missing (tests use a fresh one). */
  schema?: string | undefined;
  onIdleError?: ((err: Error) => void) | undefined;
}

/**
 * A pool and the qualified name of `name`, created by `ddl(table)` under an advisory lock ('WARD', `lockId`): two
 * replicas starting together would otherwise race on CREATE ... IF NOT EXISTS.
 */
export async function openPostgresTable(
  url: string,
  opts: PostgresTableOptions,
  what: string,
  name: string,
  lockId: number,
  ddl: (table: string) => string,
): Promise<{ pool: pg.Pool; table: string }> {
  const schema = opts.schema;
  if (schema !== undefined && !/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(schema))
    throw new WardenError('CONFIG_INVALID', `invalid PostgreSQL schema name: ${JSON.stringify(schema)}`);
  const table = schema === undefined ? name : `"${schema}".${name}`;
  const { default: driver } = await import('pg');
  const pool = new driver.Pool({
    connectionString: url,
    max: 4,
    connectionTimeoutMillis: 10_000,
    // These tables are read on the request path (grants on every request, pins and approvals on calls): a network
    // that drops packets must fail the request closed within seconds, not hold it until TCP gives up. A query that
    // times out gets its connection destroyed by the pool, so a late answer cannot reach the next query.
    query_timeout: 10_000,
    application_name: 'mcp-warden',
  });
  pool.on('error', (err) => opts.onIdleError?.(err));
  try {
    await pool.query(`BEGIN; SELECT pg_advisory_xact_lock(1464897092, ${lockId});
${schema === undefined ? '' : `CREATE SCHEMA IF NOT EXISTS "${schema}";`}
${ddl(table)}
COMMIT`);
  } catch (err) {
    await pool.end().catch(() => {});
    throw new WardenError(
      'STORE_UNAVAILABLE',
      `cannot open the ${what} ${redactUrl(url)}: ${(err as Error).message || String(err)}`,
      {
        hint: 'check that PostgreSQL is running and that the URL, user and database are right',
        cause: err,
      },
    );
  }
  return { pool, table };
}
