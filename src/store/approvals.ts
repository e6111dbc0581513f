// The approval store interface (SQLite and PostgreSQL implement it): calls waiting for a person, and what was decided.

import { WardenError } from '../errors.js';

export type ApprovalStatus = 'pending' | 'approved' | 'rejected' | 'expired' | 'cancelled' | 'consumed';
export type ApprovalMode = 'hold' | 'async';

export interface Approval {
  /** `apr_` and 20 random base32 characters. */
  id: string;
  status: ApprovalStatus;
  /** hold: the agent's call waits open; async: it returned at once and a later identical call goes through. */
  mode: ApprovalMode;
  server: string;
  tool: string;
  /** The call's arguments as the agent sent them (the call is forwarded with exactly these). */
  arguments: Record<string, unknown>;
  /** sha256 of server, tool, canonical arguments, rule and grant id: an async approval is spent by the same call. */
  fingerprint: string;
  /** JSON Pointer of the rule that asked for approval. */
  rule: string;
  /** Why (the rule's message), shown to the approver. */
  reason: string | undefined;
  /** The tool's risk level when the call was made (`low|medium|high|critical`), when known. */
  risk: string | undefined;
  grantId: string | undefined;
  grantLabel: string | undefined;
  session: string;
  createdAt: string;
  /** A pending approval past this is expired; an approved async one past this can no longer be spent. */
  expiresAt: string;
  decidedAt: string | undefined;
  /** The admin token's label (or `(cli)`, `(environment)`) that decided; `(timeout)`/`(agent)`/`(gateway)` otherwise. */
  decidedBy: string | undefined;
  note: string | undefined;
  consumedAt: string | undefined;
}

export interface ApprovalFilter {
  status?: ApprovalStatus;
  limit?: number;
}

export interface ApprovalStore {
  create(approval: Approval): Promise<void>;
  get(id: string): Promise<Approval | undefined>;
  /** Newest first. */
  list(filter?: ApprovalFilter): Promise<Approval[]>;
  /**
   * Moves a pending approval to `status` (approved, rejected, expired, cancelled) atomically: of two deciders at
   * once, one wins. Returns the approval as it now is when this call changed it, undefined when it was not pending
   * (or does not exist).
   */
  decide(
    id: string,
    status: Exclude<ApprovalStatus, 'pending' | 'consumed'>,
    by: string,
    note: string | undefined,
    at: string,
  ): Promise<Approval | undefined>;
  /**
   * Spends an approved async approval with this fingerprint that has not expired at `at` (approved -> consumed,
   * atomically: exactly one of several identical calls gets it). Returns it, or undefined when there is none.
   */
  consume(fingerprint: string, at: string): Promise<Approval | undefined>;
  /**
   * Spends this one approval (approved -> consumed, in one statement) when it is an approved async approval of this
   * fingerprint that has not expired at `at`: the retry of a 2026 round trip names its approval. Exactly one of several
   * retries at once gets it; undefined for the others, and for an approval in any other state.
   */
  consumeById(id: string, fingerprint: string, at: string): Promise<Approval | undefined>;
  /** The newest pending async approval with this fingerprint that has not expired at `at`. */
  findPending(fingerprint: string, at: string): Promise<Approval | undefined>;
  /** How many approvals are pending (the metric). */
  countPending(): Promise<number>;
  /** Marks every pending approval whose expiresAt is at or before `at` as expired; returns those it changed. */
  expireDue(at: string): Promise<Approval[]>;
  close(): Promise<void>;
}

/** A row of the approvals table (both dialects): TEXT everywhere, NULL for an absent optional field. */
export interface ApprovalRow {
  id: string;
  status: string;
  mode: string;
  server: string;
  tool: string;
  arguments: string;
  fingerprint: string;
  rule: string;
  reason: string | null;
  risk: string | null;
  grant_id: string | null;
  grant_label: string | null;
  session: string;
  created_at: string;
  expires_at: string;
  decided_at: string | null;
  decided_by: string | null;
  note: string | null;
  consumed_at: string | null;
}

export const APPROVAL_COLUMN_NAMES = [
  'id',
  'status',
  'mode',
  'server',
  'tool',
  'arguments',
  'fingerprint',
  'rule',
  'reason',
  'risk',
  'grant_id',
  'grant_label',
  'session',
  'created_at',
  'expires_at',
  'decided_at',
  'decided_by',
  'note',
  'consumed_at',
] as const satisfies readonly (keyof ApprovalRow)[];

export const APPROVAL_COLUMNS = APPROVAL_COLUMN_NAMES.join(', ');

/** Column definitions shared by both dialects (TEXT everywhere; times are ISO 8601 strings, which sort as text). */
export const APPROVAL_TABLE_COLUMNS = `
  id TEXT PRIMARY KEY,
  status TEXT NOT NULL,
  mode TEXT NOT NULL,
  server TEXT NOT NULL,
  tool TEXT NOT NULL,
  arguments TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  rule TEXT NOT NULL,
  reason TEXT,
  risk TEXT,
  grant_id TEXT,
  grant_label TEXT,
  session TEXT NOT NULL,
  created_at TEXT NOT NULL,
  expires_at TEXT NOT NULL,
  decided_at TEXT,
  decided_by TEXT,
  note TEXT,
  consumed_at TEXT`;

/** Index definitions (name, columns) shared by both dialects: the pending queue by age, and lookups by call. */
export const APPROVAL_INDEXES: ReadonlyArray<{ name: string; columns: string }> = [
  { name: 'approvals_status_created', columns: 'status, created_at' },
  { name: 'approvals_fingerprint', columns: 'fingerprint' },
];

/** What list() returns when no limit is given. */
export const APPROVAL_LIST_DEFAULT_LIMIT = 100;

export function approvalFromRow(r: ApprovalRow): Approval {
  return {
    id: r.id,
    status: r.status as ApprovalStatus,
    mode: r.mode as ApprovalMode,
    server: r.server,
    tool: r.tool,
    arguments: JSON.parse(r.arguments) as Record<string, unknown>,
    fingerprint: r.fingerprint,
    rule: r.rule,
    reason: r.reason ?? undefined,
    risk: r.risk ?? undefined,
    grantId: r.grant_id ?? undefined,
    grantLabel: r.grant_label ?? undefined,
    session: r.session,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    decidedAt: r.decided_at ?? undefined,
    decidedBy: r.decided_by ?? undefined,
    note: r.note ?? undefined,
    consumedAt: r.consumed_at ?? undefined,
  };
}

export function approvalToRow(a: Approval): ApprovalRow {
  return {
    id: a.id,
    status: a.status,
    mode: a.mode,
    server: a.server,
    tool: a.tool,
    arguments: JSON.stringify(a.arguments),
    fingerprint: a.fingerprint,
    rule: a.rule,
    reason: a.reason ?? null,
    risk: a.risk ?? null,
    grant_id: a.grantId ?? null,
    grant_label: a.grantLabel ?? null,
    session: a.session,
    created_at: a.createdAt,
    expires_at: a.expiresAt,
    decided_at: a.decidedAt ?? null,
    decided_by: a.decidedBy ?? null,
    note: a.note ?? null,
    consumed_at: a.consumedAt ?? null,
  };
}

const DECISIONS: ReadonlySet<string> = new Set(['approved', 'rejected', 'expired', 'cancelled']);

/** Throws when `status` is not one decide() may set (the type says so; this holds for untyped callers too). */
export function checkDecision(status: string): void {
  if (!DECISIONS.has(status))
    throw new WardenError('INTERNAL', `an approval cannot be decided as ${JSON.stringify(status)}`);
}

/** The limit list() uses: the default when absent; a WardenError when not a positive integer. */
export function approvalListLimit(filter: ApprovalFilter | undefined): number {
  const limit = filter?.limit ?? APPROVAL_LIST_DEFAULT_LIMIT;
  if (!Number.isInteger(limit) || limit < 1)
    throw new WardenError('CONFIG_INVALID', `approval list limit must be a positive integer, not ${limit}`);
  return limit;
}
