// The audit store interface (SQLite and PostgreSQL implement it) and helpers shared by both implementations.
import {
  type AuditEntry,
  ChainVerifier,
  canonicalJson,
  columnValue,
  type EntryKind,
  type ExportedHead,
  GENESIS_HASH,
  type NewAuditEntry,
  type VerifyResult,
} from '../audit/chain.js';
import type { AuditKey } from '../audit/keys.js';
import { eventBody } from '../audit/record.js';
import { WardenError } from '../errors.js';

/** A position in the chain: the seq and hash of one entry (or of the checkpoint, or genesis). */
export interface ChainPoint {
  seq: number;
  hash: string;
}

export const GENESIS: ChainPoint = Object.freeze({ seq: 0, hash: GENESIS_HASH });

export interface AuditFilter {
  /** Inclusive. */
  since?: Date;
  /** Exclusive. */
  until?: Date;
  /** `body.grant` */
  grant?: string;
  /** `body.server` */
  server?: string;
  /** `body.tool` */
  tool?: string;
  /** `body.decision` */
  decision?: string;
  requestKey?: string;
  /** Only entries before this seq (exclusive): for reading a large result a page at a time, newest first. */
  beforeSeq?: number;
  /** No limit when absent. */
  limit?: number;
  /** Which end `limit` keeps: 'asc' the oldest, 'desc' the newest. The result is ascending by seq either way. */
  order?: 'asc' | 'desc';
}

export interface AuditStore {
  /**
   * Chains and stores a batch in one transaction, serialised against every other writer of the same database,
   * and resolves once it is durable. All or nothing.
   */
  append(entries: readonly NewAuditEntry[]): Promise<AuditEntry[]>;
  /** Up to `limit` entries with seq > afterSeq, ascending. Pruned entries are gone: reading starts after the checkpoint. */
  read(afterSeq: number, limit: number): Promise<AuditEntry[]>;
  query(filter: AuditFilter): Promise<AuditEntry[]>;
  /** The last entry, or the checkpoint when every entry was pruned, or genesis. */
  head(): Promise<ChainPoint>;
  /** The last pruned entry (where verification starts), or genesis when nothing was pruned. */
  checkpoint(): Promise<ChainPoint>;
  /**
   * Deletes the oldest entries whose time is before `before`, as a prefix of the chain (the first entry not older
   * than `before` stops it, whatever comes after), moves the checkpoint to the last one deleted, returns how many.
   */
  prune(before: Date): Promise<number>;
  close(): Promise<void>;
}

/** One row as both stores write it: the indexed columns are copies of body fields, `body` is what was hashed. */
export interface AuditRow {
  seq: number;
  time: string;
  timeMs: number;
  kind: EntryKind;
  requestKey: string;
  grant: string | null;
  server: string | null;
  tool: string | null;
  decision: string | null;
  body: string;
  prevHash: string;
  hash: string;
}

const KINDS: ReadonlySet<string> = new Set<EntryKind>(['decision', 'outcome', 'final', 'event']);

const field = columnValue;

/**
 * Rejects what a store could not index or could not hand back unchanged, before any transaction starts: a bad time
 * would fall out of every time range and out of retention.
 */
export function checkNewEntry(e: NewAuditEntry): void {
  if (typeof e.time !== 'string' || Number.isNaN(Date.parse(e.time))) {
    throw new WardenError('INTERNAL', `audit entry has an invalid time: ${String(e.time)}`);
  }
  if (!KINDS.has(e.kind))
    throw new WardenError('INTERNAL', `audit entry has an unknown kind: ${String(e.kind)}`);
  if (typeof e.requestKey !== 'string') throw new WardenError('INTERNAL', 'audit entry has no request key');
  if (e.body === null || typeof e.body !== 'object' || Array.isArray(e.body)) {
    throw new WardenError('INTERNAL', 'audit entry body must be an object');
  }
}

/**
 * The record a retention run appends for each slice it prunes, in the same transaction: it names the new
 * checkpoint (seq and hash of the last deleted entry) and authenticates it (verify accepts no checkpoint without).
 */
export function prunedEvent(checkpoint: ChainPoint, deleted: number, time: string): NewAuditEntry {
  return {
    time,
    kind: 'event',
    requestKey: `audit.pruned:${checkpoint.seq}:${checkpoint.hash}`,
    body: {
      ...eventBody('audit.pruned', {
        grant: null,
        actor: '(retention)',
        reason: `${deleted} records up to ${checkpoint.seq} pruned by audit.retention`,
      }),
      checkpoint: { seq: checkpoint.seq, hash: checkpoint.hash },
      pruned: deleted,
    },
  };
}

export function toRow(e: AuditEntry): AuditRow {
  return {
    seq: e.seq,
    time: e.time,
    timeMs: Date.parse(e.time),
    kind: e.kind,
    requestKey: e.requestKey,
    grant: field(e.body, 'grant'),
    server: field(e.body, 'server'),
    tool: field(e.body, 'tool'),
    decision: field(e.body, 'decision'),
    // The text that was hashed, not JSON.stringify: parsing it gives back an object that re-hashes identically.
    body: e.bodyJson ?? canonicalJson(e.body),
    prevHash: e.prevHash,
    hash: e.hash,
  };
}

/** Column order of every SELECT that builds entries, in both stores. */
export const ENTRY_COLUMNS = 'seq, time, kind, request_key, body, prev_hash, hash';
/** What read() selects: the entry and its indexed columns, which verification holds against the hashed body. */
export const READ_COLUMNS = `${ENTRY_COLUMNS}, time_ms, grant_label, server, tool, decision`;

/**
 * A body edited into something that is not a JSON object must not make reading (and so verification) throw: it is
 * handed back wrapped, its hash no longer matches, and verification reports that seq as edited.
 */
function parseBody(text: string): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(text);
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // falls through
  }
  return { 'mcp-warden/unparseable-body': text };
}

export function fromRow(r: {
  seq: number | string;
  time: string;
  kind: string;
  request_key: string;
  body: string;
  prev_hash: string;
  hash: string;
  time_ms?: number | string;
  grant_label?: string | null;
  server?: string | null;
  tool?: string | null;
  decision?: string | null;
}): AuditEntry {
  const e: AuditEntry = {
    seq: Number(r.seq),
    time: r.time,
    kind: r.kind as EntryKind,
    requestKey: r.request_key,
    body: parseBody(r.body),
    prevHash: r.prev_hash,
    hash: r.hash,
  };
  if (r.time_ms !== undefined) {
    e.columns = {
      timeMs: Number(r.time_ms),
      grant: r.grant_label ?? null,
      server: r.server ?? null,
      tool: r.tool ?? null,
      decision: r.decision ?? null,
    };
  }
  return e;
}

/**
 * Whether an entry a filter selected by its indexed columns has the same values in its hashed body. A column
 * edited behind the store's back (a `denied` row's decision column set to `allowed`) must not make a reader show
 * the row under the edited value; verify reports the edit.
 */
export function matchesBody(filter: AuditFilter, e: AuditEntry): boolean {
  return (
    (filter.grant === undefined || e.body.grant === filter.grant) &&
    (filter.server === undefined || e.body.server === filter.server) &&
    (filter.tool === undefined || e.body.tool === filter.tool) &&
    (filter.decision === undefined || e.body.decision === filter.decision) &&
    (filter.since === undefined || Date.parse(e.time) >= filter.since.getTime()) &&
    (filter.until === undefined || Date.parse(e.time) < filter.until.getTime())
  );
}

/** WHERE clause and parameters for a filter; `param(i)` spells the i-th placeholder in the store's dialect. */
export function filterSql(
  filter: AuditFilter,
  param: (i: number) => string,
): { where: string; params: (string | number)[] } {
  const clauses: string[] = [];
  const params: (string | number)[] = [];
  const add = (sql: string, value: string | number) => {
    params.push(value);
    clauses.push(`${sql} ${param(params.length)}`);
  };
  if (filter.since !== undefined) add('time_ms >=', dateMs(filter.since, 'since'));
  if (filter.until !== undefined) add('time_ms <', dateMs(filter.until, 'until'));
  if (filter.grant !== undefined) add('grant_label =', filter.grant);
  if (filter.server !== undefined) add('server =', filter.server);
  if (filter.tool !== undefined) add('tool =', filter.tool);
  if (filter.decision !== undefined) add('decision =', filter.decision);
  if (filter.requestKey !== undefined) add('request_key =', filter.requestKey);
  if (filter.beforeSeq !== undefined) add('seq <', filter.beforeSeq);
  return { where: clauses.length === 0 ? '' : `WHERE ${clauses.join(' AND ')}`, params };
}

export function dateMs(d: Date, what: string): number {
  const ms = d.getTime();
  if (Number.isNaN(ms)) throw new WardenError('INTERNAL', `audit ${what}: invalid date`);
  return ms;
}

export function checkLimit(limit: number | undefined): void {
  if (limit !== undefined && !(Number.isSafeInteger(limit) && limit >= 0)) {
    throw new WardenError('INTERNAL', `audit query limit must be a non-negative integer, got ${limit}`);
  }
}

/** Wraps a driver error so callers see which store and operation failed; WardenErrors pass through. */
export function storeError(store: string, op: string, err: unknown): WardenError {
  if (err instanceof WardenError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new WardenError('INTERNAL', `audit store (${store}): ${op} failed: ${message}`, { cause: err });
}

export interface VerifyStoreOptions {
  /** Configured audit keys, current first (src/audit/keys.ts). */
  keys?: readonly AuditKey[];
  /** Heads exported outside the database (src/audit/heads.ts). */
  heads?: readonly ExportedHead[];
  pageSize?: number;
}

/**
 * Verifies the whole stored chain from the checkpoint, a page at a time so that memory stays flat on a large log:
 * the chain, the indexed columns against the hashed bodies, the checkpoint against the audit.pruned record that must
 * name it, the keys and the exported heads (ChainVerifier). A prune running at the same time moves the checkpoint
 * past what was read: verify again.
 */
export async function verifyStore(store: AuditStore, opts: VerifyStoreOptions = {}): Promise<VerifyResult> {
  const pageSize = opts.pageSize ?? 2000;
  let prev = await store.checkpoint();
  const verifier = new ChainVerifier(prev, { keys: opts.keys, heads: opts.heads, checkpoint: true });
  for (;;) {
    const page = await store.read(prev.seq, pageSize);
    if (page.length === 0) return verifier.finish();
    for (const e of page) if (verifier.push(e) !== undefined) return verifier.finish();
    const last = page[page.length - 1]!;
    prev = { seq: last.seq, hash: last.hash };
    // A synchronous store (SQLite) would otherwise check the whole log in one turn of the event loop: in a running
    // gateway that stalls every call for seconds on a large log (found in review: 2.7 s at 600,000 entries).
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}
