// The approval store on SQLite: a connection of its own to the same file as the audit log (WAL lets them share it).
import type Database from 'better-sqlite3';
import { WardenError } from '../errors.js';
import {
  APPROVAL_COLUMNS,
  APPROVAL_INDEXES,
  APPROVAL_TABLE_COLUMNS,
  type Approval,
  type ApprovalFilter,
  type ApprovalRow,
  type ApprovalStatus,
  type ApprovalStore,
  approvalFromRow,
  approvalListLimit,
  approvalToRow,
  checkDecision,
} from './approvals.js';
import { openSqlite } from './connect.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS approvals (${APPROVAL_TABLE_COLUMNS});
${APPROVAL_INDEXES.map((i) => `CREATE INDEX IF NOT EXISTS ${i.name} ON approvals (${i.columns});`).join('\n')}
`;

/** Oldest first, the order consume() spends in and expireDue() reports in. */
function byAge(a: ApprovalRow, b: ApprovalRow): number {
  if (a.created_at !== b.created_at) return a.created_at < b.created_at ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

export class SqliteApprovalStore implements ApprovalStore {
  private readonly db: Database.Database;
  private readonly byId: Database.Statement<[string], ApprovalRow>;
  private readonly pendingCount: Database.Statement<[], { n: number }>;
  private readonly insert: Database.Statement<[ApprovalRow]>;
  private readonly decideOne: Database.Statement<
    [string, string, string | null, string, string],
    ApprovalRow
  >;
  private readonly spendable: Database.Statement<[string, string], { id: string }>;
  private readonly spend: Database.Statement<[string, string, string], ApprovalRow>;
  private readonly spendOne: Database.Statement<[string, string, string, string], ApprovalRow>;
  private readonly pendingFor: Database.Statement<[string, string], ApprovalRow>;
  private readonly expire: Database.Statement<[string, string], ApprovalRow>;
  /** Picks and spends in one write transaction (BEGIN IMMEDIATE): another process cannot pick the same row between. */
  private readonly consumeTx: (fingerprint: string, at: string) => ApprovalRow | undefined;

  /** Opens (creating if needed) the approvals table in the database at `path` (':memory:' too). Throws WardenError. */
  constructor(readonly path: string) {
    this.db = openSqlite(path, 'approval store', SCHEMA);
    this.pendingCount = this.db.prepare<[], { n: number }>(
      "SELECT count(*) AS n FROM approvals WHERE status = 'pending'",
    );
    this.byId = this.db.prepare(`SELECT ${APPROVAL_COLUMNS} FROM approvals WHERE id = ?`);
    this.insert = this.db.prepare(
      `INSERT INTO approvals (${APPROVAL_COLUMNS}) VALUES (@id, @status, @mode, @server, @tool, @arguments,
       @fingerprint, @rule, @reason, @risk, @grant_id, @grant_label, @session, @created_at, @expires_at, @decided_at,
       @decided_by, @note, @consumed_at)`,
    );
    // One statement: of two deciders, the second finds the row no longer pending and changes nothing.
    this.decideOne = this.db.prepare(
      `UPDATE approvals SET status = ?, decided_by = ?, note = COALESCE(?, note), decided_at = ?
       WHERE id = ? AND status = 'pending' RETURNING ${APPROVAL_COLUMNS}`,
    );
    this.spendable = this.db.prepare(
      `SELECT id FROM approvals
       WHERE fingerprint = ? AND status = 'approved' AND mode = 'async' AND expires_at > ?
       ORDER BY created_at, id LIMIT 1`,
    );
    this.spend = this.db.prepare(
      `UPDATE approvals SET status = 'consumed', consumed_at = ?
       WHERE id = ? AND status = 'approved' AND mode = 'async' AND expires_at > ? RETURNING ${APPROVAL_COLUMNS}`,
    );
    this.spendOne = this.db.prepare(
      `UPDATE approvals SET status = 'consumed', consumed_at = ?
       WHERE id = ? AND fingerprint = ? AND status = 'approved' AND mode = 'async' AND expires_at > ?
       RETURNING ${APPROVAL_COLUMNS}`,
    );
    this.pendingFor = this.db.prepare(
      `SELECT ${APPROVAL_COLUMNS} FROM approvals
       WHERE fingerprint = ? AND status = 'pending' AND mode = 'async' AND expires_at > ?
       ORDER BY created_at DESC, id DESC LIMIT 1`,
    );
    this.expire = this.db.prepare(
      `UPDATE approvals SET status = 'expired', decided_at = ?, decided_by = '(timeout)'
       WHERE status = 'pending' AND expires_at <= ? RETURNING ${APPROVAL_COLUMNS}`,
    );
    const consume = this.db.transaction((fingerprint: string, at: string) => {
      const pick = this.spendable.get(fingerprint, at);
      return pick === undefined ? undefined : this.spend.get(at, pick.id, at);
    });
    this.consumeTx = (fingerprint, at) => consume.immediate(fingerprint, at);
  }

  /** Runs a statement; a failure becomes a WardenError (a busy or closed database, a full disk). */
  private run<T>(op: string, fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      if (err instanceof WardenError) throw err;
      throw new WardenError(
        'STORE_UNAVAILABLE',
        `approval store (sqlite): ${op}: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
  }

  async create(approval: Approval): Promise<void> {
    const row = approvalToRow(approval);
    try {
      this.insert.run(row);
    } catch (err) {
      if ((err as { code?: string }).code?.startsWith('SQLITE_CONSTRAINT'))
        throw new WardenError('INTERNAL', `an approval with id ${approval.id} exists already`, {
          cause: err,
        });
      throw new WardenError(
        'STORE_UNAVAILABLE',
        `approval store (sqlite): create: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
  }

  async get(id: string): Promise<Approval | undefined> {
    const row = this.run('get', () => this.byId.get(id));
    return row === undefined ? undefined : approvalFromRow(row);
  }

  async countPending(): Promise<number> {
    return this.run('count', () => this.pendingCount.get()!.n);
  }

  async list(filter?: ApprovalFilter): Promise<Approval[]> {
    const limit = approvalListLimit(filter);
    const rows = this.run('list', () =>
      filter?.status === undefined
        ? this.db
            .prepare<[number], ApprovalRow>(
              `SELECT ${APPROVAL_COLUMNS} FROM approvals ORDER BY created_at DESC, id DESC LIMIT ?`,
            )
            .all(limit)
        : this.db
            .prepare<[string, number], ApprovalRow>(
              `SELECT ${APPROVAL_COLUMNS} FROM approvals WHERE status = ? ORDER BY created_at DESC, id DESC LIMIT ?`,
            )
            .all(filter.status, limit),
    );
    return rows.map(approvalFromRow);
  }

  async decide(
    id: string,
    status: Exclude<ApprovalStatus, 'pending' | 'consumed'>,
    by: string,
    note: string | undefined,
    at: string,
  ): Promise<Approval | undefined> {
    checkDecision(status);
    const row = this.run('decide', () => this.decideOne.get(status, by, note ?? null, at, id));
    return row === undefined ? undefined : approvalFromRow(row);
  }

  async consumeById(id: string, fingerprint: string, at: string): Promise<Approval | undefined> {
    // One UPDATE: SQLite's write lock makes the second of two retries find the row no longer approved.
    const row = this.run('consumeById', () => this.spendOne.get(at, id, fingerprint, at));
    return row === undefined ? undefined : approvalFromRow(row);
  }

  async consume(fingerprint: string, at: string): Promise<Approval | undefined> {
    const row = this.run('consume', () => this.consumeTx(fingerprint, at));
    return row === undefined ? undefined : approvalFromRow(row);
  }

  async findPending(fingerprint: string, at: string): Promise<Approval | undefined> {
    const row = this.run('findPending', () => this.pendingFor.get(fingerprint, at));
    return row === undefined ? undefined : approvalFromRow(row);
  }

  async expireDue(at: string): Promise<Approval[]> {
    const rows = this.run('expireDue', () => this.expire.all(at, at));
    return rows.sort(byAge).map(approvalFromRow);
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
