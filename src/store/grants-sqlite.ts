// The grant store on SQLite: a connection of its own to the same file as the audit log (WAL lets them share it).
import type Database from 'better-sqlite3';
import { WardenError } from '../errors.js';
import { openSqlite } from './connect.js';
import {
  GRANT_COLUMNS,
  GRANT_TABLE_COLUMNS,
  type Grant,
  type GrantRow,
  type GrantStore,
  grantFromRow,
  grantToRow,
} from './grants.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS grants (${GRANT_TABLE_COLUMNS});
CREATE UNIQUE INDEX IF NOT EXISTS grants_live_label ON grants (label) WHERE revoked_at IS NULL;
`;

export class SqliteGrantStore implements GrantStore {
  private readonly db: Database.Database;
  private readonly byId: Database.Statement<[string], GrantRow>;
  private readonly byLabel: Database.Statement<[string], GrantRow>;

  /** Opens (creating if needed) the grants table in the database at `path`. Throws WardenError. */
  constructor(readonly path: string) {
    this.db = openSqlite(path, 'grant store', SCHEMA);
    this.byId = this.db.prepare(`SELECT ${GRANT_COLUMNS} FROM grants WHERE id = ?`);
    this.byLabel = this.db.prepare(
      `SELECT ${GRANT_COLUMNS} FROM grants WHERE label = ? AND revoked_at IS NULL`,
    );
  }

  async create(grant: Grant): Promise<void> {
    try {
      this.db
        .prepare(
          `INSERT INTO grants (${GRANT_COLUMNS}) VALUES (@id, @label, @token_hash, @servers, @group_names, @role, @policy_source,
           @policy_text, @created_at, @last_used_at, @rotated_at, @revoked_at)`,
        )
        .run(grantToRow(grant));
    } catch (err) {
      if ((err as { code?: string }).code?.startsWith('SQLITE_CONSTRAINT'))
        throw new WardenError('CONFLICT', `a grant labelled "${grant.label}" exists already`, {
          hint: 'revoke it first, rotate its token, or choose another label',
        });
      throw err;
    }
  }

  async get(id: string): Promise<Grant | undefined> {
    const row = this.byId.get(id);
    return row === undefined ? undefined : grantFromRow(row);
  }

  async find(labelOrId: string): Promise<Grant | undefined> {
    const row = this.byLabel.get(labelOrId) ?? this.byId.get(labelOrId);
    return row === undefined ? undefined : grantFromRow(row);
  }

  async list(): Promise<Grant[]> {
    return this.db
      .prepare<[], GrantRow>(`SELECT ${GRANT_COLUMNS} FROM grants ORDER BY created_at, id`)
      .all()
      .map(grantFromRow);
  }

  async revoke(id: string, at: string): Promise<Grant | undefined> {
    this.db.prepare('UPDATE grants SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL').run(at, id);
    return this.get(id);
  }

  async rotate(id: string, tokenHash: string, at: string): Promise<boolean> {
    const r = this.db
      .prepare('UPDATE grants SET token_hash = ?, rotated_at = ? WHERE id = ? AND revoked_at IS NULL')
      .run(tokenHash, at, id);
    return r.changes === 1;
  }

  async touch(id: string, at: string): Promise<void> {
    this.db.prepare('UPDATE grants SET last_used_at = ? WHERE id = ?').run(at, id);
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
