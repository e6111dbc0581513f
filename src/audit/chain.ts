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

/**
 * JSON with object keys sorted at every level, so that a hash never depends on key order. It runs for every audit
 * record, on the hot path of every call, so it makes one JSON.stringify pass over a tree whose objects have their
 * keys in sorted order (the input itself where it already is, copies where not); only an object whose sorted keys
 * include array indexes (which JavaScript always enumerates first, in numeric order) takes the slow path.
 */
export function canonicalJson(value: unknown): string {
  const sorted = value === null || typeof value !== 'object' ? value : sortedTree(value);
  return sorted === UNSORTABLE ? slowCanonicalJson(value) : (JSON.stringify(sorted) ?? 'null');
}

const UNSORTABLE = Symbol('unsortable');
const ARRAY_INDEX = /^(?:0|[1-9]\d*)$/;

function sortedTree(value: unknown): unknown {
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const v: unknown = value[i];
      if (v === null || typeof v !== 'object') continue;
      const s = sortedTree(v);
      if (s === UNSORTABLE) return UNSORTABLE;
      if (s !== v) {
        copy ??= value.slice();
        copy[i] = s;
      }
    }
    return copy ?? value;
  }
  const obj = value as Record<string, unknown>;
  // Assigning "__proto__" (an own property after JSON.parse) to a copy would set the copy's prototype instead.
  if (Object.hasOwn(obj, '__proto__')) return UNSORTABLE;
  const keys = Object.keys(obj);
  let inOrder = true;
  for (let i = 1; i < keys.length; i++) {
    if (keys[i - 1]! > keys[i]!) {
      inOrder = false;
      break;
    }
  }
  if (!inOrder) {
    keys.sort();
    for (const k of keys) if (ARRAY_INDEX.test(k)) return UNSORTABLE;
  }
  let copy: Record<string, unknown> | undefined;
  for (let i = 0; i < keys.length; i++) {
    const v = obj[keys[i]!];
    if (v === null || typeof v !== 'object') continue;
    const s = sortedTree(v);
    if (s === UNSORTABLE) return UNSORTABLE;
    if (s !== v) {
      copy ??= copyInOrder(obj, keys);
      copy[keys[i]!] = s;
    }
  }
  return copy ?? (inOrder ? obj : copyInOrder(obj, keys));
}

/** A plain object: a null-prototype one is a dictionary, several times slower for JSON.stringify. */
function copyInOrder(obj: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  const copy: Record<string, unknown> = {};
  for (const k of keys) copy[k] = obj[k];
  return copy;
}

function slowCanonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ',';
      const v: unknown = value[i];
      out += v === undefined ? 'null' : slowCanonicalJson(v);
    }
    return `${out}]`;
  }
  const obj = value as Record<string, unknown>;
  let out = '{';
  for (const k of Object.keys(obj).sort()) {
    const v = obj[k];
    if (v === undefined) continue;
    if (out.length > 1) out += ',';
    out += `${JSON.stringify(k)}:${slowCanonicalJson(v)}`;
  }
  return `${out}}`;
}

export function entryHash(
  prevHash: string,
  e: Pick<AuditEntry, 'seq' | 'time' | 'kind' | 'requestKey' | 'body'>,
  bodyJson: string = canonicalJson(e.body),
): string {
  // Exactly canonicalJson({seq, time, kind, requestKey, body}) (keys in sorted order), with the body's JSON reused.
  const text = `{"body":${bodyJson},"kind":${JSON.stringify(e.kind)},"requestKey":${JSON.stringify(e.requestKey)},"seq":${canonicalJson(e.seq)},"time":${JSON.stringify(e.time)}}`;
  return createHash('sha256').update(prevHash).update('\n').update(text).digest('hex');
}

/** Chains new entries after `prev` (seq and hash of the last stored entry). */
export function chain(prev: { seq: number; hash: string }, entries: readonly NewAuditEntry[]): AuditEntry[] {
  const out: AuditEntry[] = new Array(entries.length);
  let seq = prev.seq;
  let prevHash = prev.hash;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    seq++;
    const bodyJson = canonicalJson(e.body);
    const stored: AuditEntry = {
      time: e.time,
      kind: e.kind,
      requestKey: e.requestKey,
      body: e.body,
      seq,
      prevHash,
      hash: '',
      bodyJson,
    };
    stored.hash = entryHash(prevHash, stored, bodyJson);
    out[i] = stored;
    prevHash = stored.hash;
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
