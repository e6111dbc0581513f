// Upstream credentials per user (tokens warden obtained for one subject at one upstream), in the gateway's database
// (SQLite file or PostgreSQL, as `storage`), with every token sealed by crypto.ts: the row holds ciphertext only, and
// the key lives outside the database. Revoking deletes the row (nothing is kept that could be used again).
import type Database from 'better-sqlite3';
import type pg from 'pg';
import { WardenError } from '../../errors.js';
import { openPostgresTable, openSqlite } from '../../store/connect.js';
import { type CredentialKey, openSecret, sealSecret } from './crypto.js';

export interface UpstreamCredential {
  /** The upstream's id (`mcpServers.<id>`). */
  upstream: string;
  /** Whose credential: `<issuer>|<sub>` of the agent's identity. */
  subject: string;
  accessToken?: string | undefined;
  refreshToken?: string | undefined;
  /** When the access token expires (ms since the epoch); undefined when the upstream did not say. */
  expiresAt?: number | undefined;
  scope?: string | undefined;
  createdAt: string;
  updatedAt: string;
}

/** What a listing shows: never a token. */
export type CredentialInfo = Omit<UpstreamCredential, 'accessToken' | 'refreshToken'> & {
  hasRefreshToken: boolean;
};

/** A row as stored: tokens sealed. */
interface CredentialRow {
  upstream: string;
  subject: string;
  access_token: string | null;
  refresh_token: string | null;
  expires_at: number | null;
  scope: string | null;
  created_at: string;
  updated_at: string;
}

const COLUMNS = 'upstream, subject, access_token, refresh_token, expires_at, scope, created_at, updated_at';
const TABLE_COLUMNS = `upstream TEXT NOT NULL, subject TEXT NOT NULL, access_token TEXT, refresh_token TEXT,
  expires_at BIGINT, scope TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL, PRIMARY KEY (upstream, subject)`;

/** The rows, as each database keeps them. */
interface CredentialRows {
  upsert(row: CredentialRow): Promise<void>;
  get(upstream: string, subject: string): Promise<CredentialRow | undefined>;
  list(subject: string | undefined): Promise<CredentialRow[]>;
  delete(upstream: string, subject: string | undefined): Promise<number>;
  close(): Promise<void>;
}

class SqliteRows implements CredentialRows {
  private readonly db: Database.Database;
  constructor(path: string) {
    this.db = openSqlite(
      path,
      'upstream credential store',
      `CREATE TABLE IF NOT EXISTS upstream_credentials (${TABLE_COLUMNS});`,
    );
  }
  async upsert(row: CredentialRow): Promise<void> {
    this.db
      .prepare(
        `INSERT INTO upstream_credentials (${COLUMNS}) VALUES (@upstream, @subject, @access_token, @refresh_token,
         @expires_at, @scope, @created_at, @updated_at) ON CONFLICT (upstream, subject) DO UPDATE SET
         access_token = excluded.access_token, refresh_token = excluded.refresh_token, expires_at = excluded.expires_at,
         scope = excluded.scope, updated_at = excluded.updated_at`,
      )
      .run(row);
  }
  async get(upstream: string, subject: string): Promise<CredentialRow | undefined> {
    return this.db
      .prepare<[string, string], CredentialRow>(
        `SELECT ${COLUMNS} FROM upstream_credentials WHERE upstream = ? AND subject = ?`,
      )
      .get(upstream, subject);
  }
  async list(subject: string | undefined): Promise<CredentialRow[]> {
    return subject === undefined
      ? this.db
          .prepare<[], CredentialRow>(
            `SELECT ${COLUMNS} FROM upstream_credentials ORDER BY subject, upstream`,
          )
          .all()
      : this.db
          .prepare<[string], CredentialRow>(
            `SELECT ${COLUMNS} FROM upstream_credentials WHERE subject = ? ORDER BY upstream`,
          )
          .all(subject);
  }
  async delete(upstream: string, subject: string | undefined): Promise<number> {
    return subject === undefined
      ? this.db.prepare('DELETE FROM upstream_credentials WHERE upstream = ?').run(upstream).changes
      : this.db
          .prepare('DELETE FROM upstream_credentials WHERE upstream = ? AND subject = ?')
          .run(upstream, subject).changes;
  }
  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}

class PostgresRows implements CredentialRows {
  constructor(
    private readonly pool: pg.Pool,
    private readonly table: string,
  ) {}
  private async q<T extends object>(sql: string, params: unknown[]): Promise<pg.QueryResult<T>> {
    try {
      return await this.pool.query<T>(sql, params);
    } catch (err) {
      throw new WardenError(
        'STORE_UNAVAILABLE',
        `upstream credential store (postgres): ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
  }
  async upsert(r: CredentialRow): Promise<void> {
    await this.q(
      `INSERT INTO ${this.table} (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (upstream, subject)
       DO UPDATE SET access_token = EXCLUDED.access_token, refresh_token = EXCLUDED.refresh_token,
       expires_at = EXCLUDED.expires_at, scope = EXCLUDED.scope, updated_at = EXCLUDED.updated_at`,
      [
        r.upstream,
        r.subject,
        r.access_token,
        r.refresh_token,
        r.expires_at,
        r.scope,
        r.created_at,
        r.updated_at,
      ],
    );
  }
  async get(upstream: string, subject: string): Promise<CredentialRow | undefined> {
    const { rows } = await this.q<CredentialRow>(
      `SELECT ${COLUMNS} FROM ${this.table} WHERE upstream = $1 AND subject = $2`,
      [upstream, subject],
    );
    return rows[0] === undefined ? undefined : { ...rows[0], expires_at: numberOrNull(rows[0].expires_at) };
  }
  async list(subject: string | undefined): Promise<CredentialRow[]> {
    const { rows } =
      subject === undefined
        ? await this.q<CredentialRow>(`SELECT ${COLUMNS} FROM ${this.table} ORDER BY subject, upstream`, [])
        : await this.q<CredentialRow>(
            `SELECT ${COLUMNS} FROM ${this.table} WHERE subject = $1 ORDER BY upstream`,
            [subject],
          );
    return rows.map((r) => ({ ...r, expires_at: numberOrNull(r.expires_at) }));
  }
  async delete(upstream: string, subject: string | undefined): Promise<number> {
    const r =
      subject === undefined
        ? await this.q(`DELETE FROM ${this.table} WHERE upstream = $1`, [upstream])
        : await this.q(`DELETE FROM ${this.table} WHERE upstream = $1 AND subject = $2`, [upstream, subject]);
    return r.rowCount ?? 0;
  }
  async close(): Promise<void> {
    await this.pool.end();
  }
}

/** pg returns BIGINT as a string. */
function numberOrNull(v: unknown): number | null {
  return v === null || v === undefined ? null : Number(v);
}

/**
 * The credential store: seals tokens on the way in, opens them on the way out. `keys[0]` seals; every key in `keys`
 * opens (rotation: put the new key first, keep the old one until its rows were rewritten by a refresh).
 */
export class UpstreamTokenStore {
  private constructor(
    private readonly rows: CredentialRows,
    private readonly keys: readonly CredentialKey[],
  ) {
    if (keys.length === 0)
      throw new WardenError('CONFIG_INVALID', 'upstream credentials need a credential key');
  }

  /** `sqlite:<path>` or `postgres://...`, as `storage`; `schema` for PostgreSQL tests. */
  static async open(
    storage: string,
    keys: readonly CredentialKey[],
    opts: { schema?: string } = {},
  ): Promise<UpstreamTokenStore> {
    if (storage.startsWith('sqlite:')) return new UpstreamTokenStore(new SqliteRows(storage.slice(7)), keys);
    const { pool, table } = await openPostgresTable(
      storage,
      { schema: opts.schema },
      'upstream credential store',
      'upstream_credentials',
      7,
      (t) => `CREATE TABLE IF NOT EXISTS ${t} (${TABLE_COLUMNS});`,
    );
    return new UpstreamTokenStore(new PostgresRows(pool, table), keys);
  }

  private static context(upstream: string, subject: string, which: 'access' | 'refresh'): string {
    return `${which}|${upstream}|${subject}`;
  }

  async put(cred: Omit<UpstreamCredential, 'createdAt' | 'updatedAt'>, now = new Date()): Promise<void> {
    const key = this.keys[0]!;
    const at = now.toISOString();
    const seal = (v: string | undefined, which: 'access' | 'refresh') =>
      v === undefined
        ? null
        : sealSecret(key, v, UpstreamTokenStore.context(cred.upstream, cred.subject, which));
    const existing = await this.rows.get(cred.upstream, cred.subject);
    await this.rows.upsert({
      upstream: cred.upstream,
      subject: cred.subject,
      access_token: seal(cred.accessToken, 'access'),
      refresh_token: seal(cred.refreshToken, 'refresh'),
      expires_at: cred.expiresAt ?? null,
      scope: cred.scope ?? null,
      created_at: existing?.created_at ?? at,
      updated_at: at,
    });
  }

  /** The credential with its tokens opened; undefined when none. Throws when a token cannot be opened. */
  async get(upstream: string, subject: string): Promise<UpstreamCredential | undefined> {
    const r = await this.rows.get(upstream, subject);
    if (r === undefined) return undefined;
    const open = (v: string | null, which: 'access' | 'refresh') =>
      v === null ? undefined : openSecret(this.keys, v, UpstreamTokenStore.context(upstream, subject, which));
    return {
      upstream,
      subject,
      accessToken: open(r.access_token, 'access'),
      refreshToken: open(r.refresh_token, 'refresh'),
      expiresAt: r.expires_at ?? undefined,
      scope: r.scope ?? undefined,
      createdAt: r.created_at,
      updatedAt: r.updated_at,
    };
  }

  /** Who holds credentials where (one subject's, or all): no token in the answer. */
  async list(subject?: string): Promise<CredentialInfo[]> {
    return (await this.rows.list(subject)).map((r) => ({
      upstream: r.upstream,
      subject: r.subject,
      expiresAt: r.expires_at ?? undefined,
      scope: r.scope ?? undefined,
      hasRefreshToken: r.refresh_token !== null,
      createdAt: r.created_at,
      updatedAt: r.updated_at,
    }));
  }

  /** Deletes one subject's credential at an upstream (or every subject's with no subject); how many went. */
  revoke(upstream: string, subject?: string): Promise<number> {
    return this.rows.delete(upstream, subject);
  }

  close(): Promise<void> {
    return this.rows.close();
  }
}
