// The approval store on PostgreSQL: shared by every gateway replica, so an approval made on one is seen by all.
import type pg from 'pg';
import { WardenError } from '../errors.js';
import {
  APPROVAL_COLUMN_NAMES,
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
import { openPostgresTable } from './connect.js';

export interface PostgresApprovalStoreOptions {
  /** Schema for the table, created if missing (tests use a fresh one). */
  schema?: string;
  onIdleError?: (err: Error) => void;
}

const UNIQUE_VIOLATION = '23505';

/** Oldest first, the order expireDue() reports in (RETURNING has no order of its own). */
function byAge(a: ApprovalRow, b: ApprovalRow): number {
  if (a.created_at !== b.created_at) return a.created_at < b.created_at ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

export class PostgresApprovalStore implements ApprovalStore {
  private constructor(
    private readonly pool: pg.Pool,
    private readonly table: string,
  ) {}

  static async open(url: string, opts: PostgresApprovalStoreOptions = {}): Promise<PostgresApprovalStore> {
    const { pool, table } = await openPostgresTable(
      url,
      opts,
      'approval store',
      'approvals',
      2,
      (table) => `CREATE TABLE IF NOT EXISTS ${table} (${APPROVAL_TABLE_COLUMNS});
${APPROVAL_INDEXES.map((i) => `CREATE INDEX IF NOT EXISTS ${i.name} ON ${table} (${i.columns});`).join('\n')}`,
    );
    return new PostgresApprovalStore(pool, table);
  }

  private async rows(op: string, sql: string, params: unknown[]): Promise<ApprovalRow[]> {
    try {
      return (await this.pool.query<ApprovalRow>(sql, params)).rows;
    } catch (err) {
      throw new WardenError(
        'STORE_UNAVAILABLE',
        `approval store (postgres): ${op}: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
  }

  async create(approval: Approval): Promise<void> {
    const row = approvalToRow(approval);
    try {
      await this.pool.query(
        `INSERT INTO ${this.table} (${APPROVAL_COLUMNS})
         VALUES (${APPROVAL_COLUMN_NAMES.map((_, i) => `$${i + 1}`).join(', ')})`,
        APPROVAL_COLUMN_NAMES.map((c) => row[c]),
      );
    } catch (err) {
      if ((err as { code?: string }).code === UNIQUE_VIOLATION)
        throw new WardenError('INTERNAL', `an approval with id ${approval.id} exists already`, {
          cause: err,
        });
      throw new WardenError(
        'STORE_UNAVAILABLE',
        `approval store (postgres): create: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
  }

  async get(id: string): Promise<Approval | undefined> {
    const [row] = await this.rows('get', `SELECT ${APPROVAL_COLUMNS} FROM ${this.table} WHERE id = $1`, [id]);
    return row === undefined ? undefined : approvalFromRow(row);
  }

  async countPending(): Promise<number> {
    const rows = (await this.rows(
      'count',
      `SELECT count(*)::int AS n FROM ${this.table} WHERE status = 'pending'`,
      [],
    )) as unknown as Array<{ n: number }>;
    return rows[0]!.n;
  }

  async list(filter?: ApprovalFilter): Promise<Approval[]> {
    const limit = approvalListLimit(filter);
    const rows =
      filter?.status === undefined
        ? await this.rows(
            'list',
            `SELECT ${APPROVAL_COLUMNS} FROM ${this.table} ORDER BY created_at DESC, id DESC LIMIT $1`,
            [limit],
          )
        : await this.rows(
            'list',
            `SELECT ${APPROVAL_COLUMNS} FROM ${this.table} WHERE status = $1
             ORDER BY created_at DESC, id DESC LIMIT $2`,
            [filter.status, limit],
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
    // One statement: the second of two deciders waits on the row lock, then finds it no longer pending.
    const [row] = await this.rows(
      'decide',
      `UPDATE ${this.table} SET status = $1, decided_by = $2, note = COALESCE($3, note), decided_at = $4
       WHERE id = $5 AND status = 'pending' RETURNING ${APPROVAL_COLUMNS}`,
      [status, by, note ?? null, at, id],
    );
    return row === undefined ? undefined : approvalFromRow(row);
  }

  async consume(fingerprint: string, at: string): Promise<Approval | undefined> {
    // SKIP LOCKED: a row another consumer is spending is passed over rather than waited for; the outer conditions are
    // checked again on the locked row, so a row spent since this statement's snapshot is never spent twice.
    const [row] = await this.rows(
      'consume',
      `UPDATE ${this.table} SET status = 'consumed', consumed_at = $2
       WHERE id = (
         SELECT id FROM ${this.table}
         WHERE fingerprint = $1 AND status = 'approved' AND mode = 'async' AND expires_at > $2
         ORDER BY created_at, id LIMIT 1 FOR UPDATE SKIP LOCKED
       ) AND status = 'approved' AND mode = 'async' AND expires_at > $2
       RETURNING ${APPROVAL_COLUMNS}`,
      [fingerprint, at],
    );
    return row === undefined ? undefined : approvalFromRow(row);
  }

  async consumeById(id: string, fingerprint: string, at: string): Promise<Approval | undefined> {
    // One UPDATE: the second of two retries waits on the row lock, then finds the row no longer approved.
    const [row] = await this.rows(
      'consumeById',
      `UPDATE ${this.table} SET status = 'consumed', consumed_at = $3
       WHERE id = $1 AND fingerprint = $2 AND status = 'approved' AND mode = 'async' AND expires_at > $3
       RETURNING ${APPROVAL_COLUMNS}`,
      [id, fingerprint, at],
    );
    return row === undefined ? undefined : approvalFromRow(row);
  }

  async findPending(fingerprint: string, at: string): Promise<Approval | undefined> {
    const [row] = await this.rows(
      'findPending',
      `SELECT ${APPROVAL_COLUMNS} FROM ${this.table}
       WHERE fingerprint = $1 AND status = 'pending' AND mode = 'async' AND expires_at > $2
       ORDER BY created_at DESC, id DESC LIMIT 1`,
      [fingerprint, at],
    );
    return row === undefined ? undefined : approvalFromRow(row);
  }

  async expireDue(at: string): Promise<Approval[]> {
    const rows = await this.rows(
      'expireDue',
      `UPDATE ${this.table} SET status = 'expired', decided_at = $1, decided_by = '(timeout)'
       WHERE status = 'pending' AND expires_at <= $1 RETURNING ${APPROVAL_COLUMNS}`,
      [at],
    );
    return rows.sort(byAge).map(approvalFromRow);
  }

  async close(): Promise<void> {
    await this.pool.end().catch(() => {});
  }
}
