// The audit hash chain: each entry's hash covers its content and the previous entry's hash. Pure functions.
import { createHash } from 'node:crypto';

/** The hash before the first entry. */
export const GENESIS_HASH = '0'.repeat(64);

export type EntryKind = 'decision' | 'outcome' | 'final' | 'event';

/** What the gateway hands the store; the store adds seq, prevHash and hash in commit order. */
export interface NewAuditEntry {
  /** ISO 8601 time of the event. */
  time: string;
  kind: EntryKind;
  /** Links a decision entry to its outcome entry: one request = one key. */
  requestKey: string;
  /** The record's fields (audit-format.md), JSON-serialisable. */
  body: Record<string, unknown>;
}

export interface AuditEntry extends NewAuditEntry {
  seq: number;
  prevHash: string;
  hash: string;
  /** canonicalJson(body), when chain() already computed it: the store writes it instead of computing it again. */
  bodyJson?: string;
}

/** JSON with object keys sorted at every level, so that a hash never depends on key order. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value))
    return `[${value.map((v) => canonicalJson(v === undefined ? null : v)).join(',')}]`;
  const keys = Object.keys(value as Record<string, unknown>)
    .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(',')}}`;
}

export function entryHash(
  prevHash: string,
  e: Omit<AuditEntry, 'hash' | 'prevHash'>,
  bodyJson: string = canonicalJson(e.body),
): string {
  // Exactly canonicalJson({seq, time, kind, requestKey, body}) (keys in sorted order), with the body's JSON reused.
  const text = `{"body":${bodyJson},"kind":${JSON.stringify(e.kind)},"requestKey":${JSON.stringify(e.requestKey)},"seq":${canonicalJson(e.seq)},"time":${JSON.stringify(e.time)}}`;
  return createHash('sha256').update(prevHash).update('\n').update(text).digest('hex');
}

/** Chains new entries after `prev` (seq and hash of the last stored entry). */
export function chain(prev: { seq: number; hash: string }, entries: readonly NewAuditEntry[]): AuditEntry[] {
  const out: AuditEntry[] = [];
  let seq = prev.seq;
  let prevHash = prev.hash;
  for (const e of entries) {
    seq++;
    const bodyJson = canonicalJson(e.body);
    const hash = entryHash(prevHash, { ...e, seq }, bodyJson);
    out.push({ ...e, seq, prevHash, hash, bodyJson });
    prevHash = hash;
  }
  return out;
}

export type VerifyResult =
  | { ok: true; count: number; lastHash: string }
  | { ok: false; count: number; badSeq: number; problem: string };

/**
 * Checks a run of entries in seq order, starting after `prev`: consecutive seqs (nothing removed or reordered),
 * each prevHash the hash before it, each hash recomputed from the content (nothing edited).
 */
export function verifyEntries(
  entries: Iterable<AuditEntry>,
  prev: { seq: number; hash: string } = { seq: 0, hash: GENESIS_HASH },
): VerifyResult {
  let expectedSeq = prev.seq + 1;
  let prevHash = prev.hash;
  let count = 0;
  for (const e of entries) {
    if (e.seq !== expectedSeq) {
      return {
        ok: false,
        count,
        badSeq: e.seq,
        problem: `expected record ${expectedSeq}, found ${e.seq} (removed or reordered)`,
      };
    }
    if (e.prevHash !== prevHash) {
      return { ok: false, count, badSeq: e.seq, problem: 'does not follow the record before it' };
    }
    if (entryHash(prevHash, e) !== e.hash)
      return { ok: false, count, badSeq: e.seq, problem: 'content was edited' };
    prevHash = e.hash;
    expectedSeq++;
    count++;
  }
  return { ok: true, count, lastHash: prevHash };
}
