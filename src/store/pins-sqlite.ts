// The pin store on SQLite: a connection of its own to the same file as the audit log (WAL lets them share it).
import type Database from 'better-sqlite3';
import { WardenError } from '../errors.js';
import { openSqlite } from './connect.js';
import {
  type AcceptOptions,
  acceptParams,
  acceptSql,
  checkWithoutWrite,
  firstUseRow,
  PIN_COLUMNS,
  PIN_TABLE_COLUMNS,
  type Pin,
  type PinCheck,
  type PinRow,
  type PinStore,
  pinFromRow,
} from './pins.js';

const SCHEMA = `CREATE TABLE IF NOT EXISTS pins (${PIN_TABLE_COLUMNS});`;

export class SqlitePinStore implements PinStore {
  private readonly db: Database.Database;
  private readonly byKey: Database.Statement<[string, string], PinRow>;
  private readonly acceptOne: Database.Statement<
    [string, string, string, string, number, string | null, string | null],
    PinRow
  >;
  /** Reads and writes in one write transaction (BEGIN IMMEDIATE): another process cannot write the pin between. */
  private readonly checkTx: (
    server: string,
    tool: string,
    hash: string,
    definition: string,
    at: string,
  ) => PinCheck;

  /** Opens (creating if needed) the pins table in the database at `path` (':memory:' too). Throws WardenError. */
  constructor(readonly path: string) {
    this.db = openSqlite(path, 'pin store', SCHEMA);
    this.byKey = this.db.prepare(`SELECT ${PIN_COLUMNS} FROM pins WHERE server = ? AND tool = ?`);
    const insert = this.db.prepare<[PinRow]>(
      `INSERT INTO pins (${PIN_COLUMNS}) VALUES (@server, @tool, @hash, @definition, @first_seen_at, @accepted_at,
       @accepted_by, @changed_hash, @changed_definition, @changed_at)`,
    );
    const clearChange = this.db.prepare<[string, string], PinRow>(
      `UPDATE pins SET changed_hash = NULL, changed_definition = NULL, changed_at = NULL
       WHERE server = ? AND tool = ? RETURNING ${PIN_COLUMNS}`,
    );
    const recordChange = this.db.prepare<[string, string, string, string, string], PinRow>(
      `UPDATE pins SET changed_hash = ?, changed_definition = ?, changed_at = ?
       WHERE server = ? AND tool = ? RETURNING ${PIN_COLUMNS}`,
    );
    this.acceptOne = this.db.prepare(acceptSql('pins', PIN_COLUMNS));
    const check = this.db.transaction(
      (server: string, tool: string, hash: string, definition: string, at: string): PinCheck => {
        const row = this.byKey.get(server, tool);
        const done = checkWithoutWrite(row, hash);
        if (done !== undefined) return done;
        if (row === undefined) {
          const pinned = firstUseRow(server, tool, hash, definition, at);
          insert.run(pinned);
          return { status: 'new', pin: pinFromRow(pinned) };
        }
        // Back to the pinned definition: the change recorded since is no longer pending.
        if (row.hash === hash)
          return { status: 'same', pin: pinFromRow(clearChange.get(server, tool) ?? row) };
        const now = recordChange.get(hash, definition, at, server, tool) ?? row;
        return { status: 'changed', pin: pinFromRow(now), first: true };
      },
    );
    this.checkTx = (server, tool, hash, definition, at) =>
      check.immediate(server, tool, hash, definition, at);
  }

  /** Runs a statement; a failure becomes a WardenError (a busy or closed database, a full disk). */
  private run<T>(op: string, fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      if (err instanceof WardenError) throw err;
      throw new WardenError('STORE_UNAVAILABLE', `pin store (sqlite): ${op}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  async check(server: string, tool: string, hash: string, definition: string, at: string): Promise<PinCheck> {
    return this.run('check', () => {
      // Most checks find the pin as it is and write nothing: answered without taking the write lock, which the audit
      // log on the same file needs too. Anything else is decided again inside the write transaction.
      return (
        checkWithoutWrite(this.byKey.get(server, tool), hash) ??
        this.checkTx(server, tool, hash, definition, at)
      );
    });
  }

  async get(server: string, tool: string): Promise<Pin | undefined> {
    const row = this.run('get', () => this.byKey.get(server, tool));
    return row === undefined ? undefined : pinFromRow(row);
  }

  async list(opts?: { server?: string; changedOnly?: boolean }): Promise<Pin[]> {
    const where: string[] = [];
    const params: string[] = [];
    if (opts?.server !== undefined) {
      where.push('server = ?');
      params.push(opts.server);
    }
    if (opts?.changedOnly === true) where.push('changed_hash IS NOT NULL');
    const sql = `SELECT ${PIN_COLUMNS} FROM pins${where.length === 0 ? '' : ` WHERE ${where.join(' AND ')}`}
      ORDER BY server, tool`;
    const rows = this.run('list', () => this.db.prepare<string[], PinRow>(sql).all(...params));
    return rows.map(pinFromRow);
  }

  async accept(
    server: string,
    tool: string,
    by: string,
    at: string,
    opts?: AcceptOptions,
  ): Promise<Pin | undefined> {
    const row = this.run('accept', () => this.acceptOne.get(...acceptParams(server, tool, by, at, opts)));
    return row === undefined ? undefined : pinFromRow(row);
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
