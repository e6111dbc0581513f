// The audit hash chain: each entry's hash covers its content and the previous entry's hash. Pure functions.
import { createHash, createHmac } from 'node:crypto';
import type { AuditKey } from './keys.js';

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
  /**
   * The row's indexed columns, which are outside the hash (read() hands them back so that verify can hold them
   * against the hashed body: filters and indexes use them).
   */
  columns?: IndexedColumns;
}

/** The copies of body fields (and of the time) that a row keeps in indexed columns. */
export interface IndexedColumns {
  timeMs: number;
  grant: string | null;
  server: string | null;
  tool: string | null;
  decision: string | null;
}

/** A body field as the indexed columns copy it: a string, else null. */
export function columnValue(body: Record<string, unknown>, key: string): string | null {
  const v = body[key];
  return typeof v === 'string' ? v : null;
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

/**
 * sha256 of the previous hash and the entry's content; with a key, HMAC-SHA256 under the key's chain key (about
 * 0.7 µs more per entry, paid when entries are moved into the store, off the call path).
 */
export function entryHash(
  prevHash: string,
  e: Pick<AuditEntry, 'seq' | 'time' | 'kind' | 'requestKey' | 'body'>,
  bodyJson: string = canonicalJson(e.body),
  key?: AuditKey,
): string {
  // Exactly canonicalJson({seq, time, kind, requestKey, body}) (keys in sorted order), with the body's JSON reused.
  const text = `{"body":${bodyJson},"kind":${JSON.stringify(e.kind)},"requestKey":${JSON.stringify(e.requestKey)},"seq":${canonicalJson(e.seq)},"time":${JSON.stringify(e.time)}}`;
  const h = key === undefined ? createHash('sha256') : createHmac('sha256', key.chain);
  return h.update(prevHash).update('\n').update(text).digest('hex');
}

/** Chains new entries after `prev` (seq and hash of the last stored entry), keyed when a key is given. */
export function chain(
  prev: { seq: number; hash: string },
  entries: readonly NewAuditEntry[],
  key?: AuditKey,
): AuditEntry[] {
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
    stored.hash = entryHash(prevHash, stored, bodyJson, key);
    out[i] = stored;
    prevHash = stored.hash;
  }
  return out;
}

export type VerifyResult =
  | {
      ok: true;
      count: number;
      lastHash: string;
      /** With keys: which key the newest records are keyed with, and from which record the chain is keyed. */
      keyed?: { key: string; from: number | null };
      /** Exported heads held against the log. */
      heads?: number;
    }
  | { ok: false; count: number; badSeq: number; problem: string };

/** A chain head exported outside the database (src/audit/heads.ts), as verify reads it back. */
export interface ExportedHead {
  seq: number;
  hash: string;
  time: string;
  /** Where it was read: `<file>:<line>`. */
  source: string;
  /** `mac`: its MAC matches a configured key; `unkeyed`: it has none; `bad`: it has one that matches no key. */
  authentic: 'mac' | 'unkeyed' | 'bad';
}

export interface VerifyOptions {
  /** Configured keys, current first: entries keyed with them verify, and the chain must stay keyed once it is. */
  keys?: readonly AuditKey[];
  /**
   * `prev` is the retention checkpoint: the chain must hold an `audit.pruned` event that names it (seq and hash),
   * else the checkpoint was made by hand and what it hides was never pruned by retention.
   */
  checkpoint?: boolean;
  /** Exported heads: each must match the entry of its seq; one beyond the last entry means entries were deleted. */
  heads?: readonly ExportedHead[];
}

type Failure = Extract<VerifyResult, { ok: false }>;

const COLUMN_FIELDS: ReadonlyArray<[keyof IndexedColumns, string, string]> = [
  ['grant', 'grant', 'grant_label'],
  ['server', 'server', 'server'],
  ['tool', 'tool', 'tool'],
  ['decision', 'decision', 'decision'],
];

/**
 * Checks a run of entries in seq order, one at a time (so a store can be verified a page at a time): consecutive
 * seqs (nothing removed or reordered), each prevHash the hash before it, each hash recomputed from the content
 * (nothing edited), the indexed columns equal to the hashed body, and with keys: each entry keyed, never less
 * keyed than the one before it. finish() checks what can only be known at the end: the checkpoint, the heads.
 */
export class ChainVerifier {
  private expectedSeq: number;
  private prevHash: string;
  private count = 0;
  private readonly keys: readonly AuditKey[];
  /** keys.length - index of the key of the last entry; 0 unkeyed; -1 before the first entry. */
  private rank = -1;
  private firstKeyed: number | null = null;
  private checkpointNamed = false;
  private readonly heads = new Map<number, ExportedHead[]>();
  private failure: Failure | undefined;

  constructor(
    private readonly start: { seq: number; hash: string } = { seq: 0, hash: GENESIS_HASH },
    private readonly opts: VerifyOptions = {},
  ) {
    this.expectedSeq = start.seq + 1;
    this.prevHash = start.hash;
    this.keys = opts.keys ?? [];
    for (const h of opts.heads ?? []) {
      if (h.authentic === 'bad') {
        this.failure ??= {
          ok: false,
          count: 0,
          badSeq: h.seq,
          problem: `the head exported at ${h.time} (${h.source}) has a MAC that matches no configured audit key (forged, or made with a key no longer configured)`,
        };
      }
      if (h.seq < start.seq) continue; // pruned since: nothing left to hold it against
      if (h.seq === start.seq && start.seq > 0 && h.hash !== start.hash) {
        this.failure ??= {
          ok: false,
          count: 0,
          badSeq: h.seq,
          problem: `the checkpoint does not match the head exported at ${h.time} (${h.source}): rewritten`,
        };
      }
      const list = this.heads.get(h.seq);
      if (list === undefined) this.heads.set(h.seq, [h]);
      else list.push(h);
    }
  }

  private fail(badSeq: number, problem: string): Failure {
    this.failure = { ok: false, count: this.count, badSeq, problem };
    return this.failure;
  }

  /** The failure (the first one) once there is one; undefined while all is well. */
  push(e: AuditEntry): Failure | undefined {
    if (this.failure !== undefined) return this.failure;
    if (e.seq !== this.expectedSeq) {
      return this.fail(e.seq, `expected record ${this.expectedSeq}, found ${e.seq} (removed or reordered)`);
    }
    if (e.prevHash !== this.prevHash) return this.fail(e.seq, 'does not follow the record before it');
    const bodyJson = canonicalJson(e.body);
    let rank = -1;
    for (let i = 0; i < this.keys.length && rank < 0; i++) {
      if (entryHash(this.prevHash, e, bodyJson, this.keys[i]) === e.hash) rank = this.keys.length - i;
    }
    if (rank < 0 && entryHash(this.prevHash, e, bodyJson) === e.hash) rank = 0;
    if (rank < 0) {
      // Also what a keyed record looks like to a verify run without audit.key (docs/audit-format.md).
      return this.fail(e.seq, 'content was edited');
    }
    if (rank < this.rank) {
      return this.fail(
        e.seq,
        rank === 0
          ? `is not keyed although record ${this.firstKeyed} before it is: the chain was recomputed without the audit key (rewritten)`
          : `is keyed with an older audit key than the record before it: rewritten with a retired key`,
      );
    }
    if (rank > 0) this.firstKeyed ??= e.seq;
    this.rank = rank;
    const c = e.columns;
    if (c !== undefined) {
      const t = Date.parse(e.time);
      if (c.timeMs !== t) {
        return this.fail(
          e.seq,
          `column time_ms says ${c.timeMs}, the hashed record's time is ${e.time} (edited)`,
        );
      }
      for (const [k, field, column] of COLUMN_FIELDS) {
        const hashed = columnValue(e.body, field);
        if (c[k] !== hashed) {
          return this.fail(
            e.seq,
            `column ${column} says ${JSON.stringify(c[k])}, the hashed record says ${JSON.stringify(hashed)} (edited)`,
          );
        }
      }
    }
    for (const h of this.heads.get(e.seq) ?? []) {
      if (h.hash !== e.hash) {
        return this.fail(
          e.seq,
          `does not match the head exported at ${h.time} (${h.source}): this record or one before it was rewritten`,
        );
      }
    }
    if (this.opts.checkpoint === true && this.start.seq > 0 && !this.checkpointNamed && e.kind === 'event') {
      const cp = (e.body as { method?: unknown; checkpoint?: { seq?: unknown; hash?: unknown } }).checkpoint;
      if (
        e.body.method === 'audit.pruned' &&
        cp !== null &&
        typeof cp === 'object' &&
        cp.seq === this.start.seq &&
        cp.hash === this.start.hash
      ) {
        this.checkpointNamed = true;
      }
    }
    this.prevHash = e.hash;
    this.expectedSeq++;
    this.count++;
    return undefined;
  }

  finish(): VerifyResult {
    if (this.failure !== undefined) return this.failure;
    const last = this.expectedSeq - 1;
    if (this.opts.checkpoint === true && this.start.seq > 0 && !this.checkpointNamed) {
      return this.fail(
        this.start.seq,
        `the checkpoint (verification starts after record ${this.start.seq}) is not authenticated: no audit.pruned record in the chain names it, so records up to ${this.start.seq} were removed without retention (or by an earlier version of warden, which did not record it: the next retention run records one)`,
      );
    }
    let newest: ExportedHead | undefined;
    for (const [seq, list] of this.heads) {
      if (seq > last && (newest === undefined || seq > newest.seq)) newest = list[0];
    }
    if (newest !== undefined) {
      return this.fail(
        last + 1,
        `the log ends at record ${last}, but the head exported at ${newest.time} (${newest.source}) says record ${newest.seq} exists: records were deleted from the end`,
      );
    }
    if (this.keys.length > 0 && this.count > 0 && this.rank < this.keys.length) {
      return this.fail(
        last,
        this.rank === 0
          ? 'the newest record is not keyed: the log was rewritten without the audit key, or no gateway has written to it since audit.key was set (starting one records audit.key_changed)'
          : 'the newest record is keyed with an earlier audit key, not the current one: rewritten with a retired key, or no gateway has written since the key was rotated',
      );
    }
    const out: VerifyResult = { ok: true, count: this.count, lastHash: this.prevHash };
    if (this.keys.length > 0) out.keyed = { key: this.keys[0]!.id, from: this.firstKeyed };
    if (this.opts.heads !== undefined) out.heads = this.opts.heads.length;
    return out;
  }
}

/** Verifies a run of entries after `prev` (see ChainVerifier). */
export function verifyEntries(
  entries: Iterable<AuditEntry>,
  prev: { seq: number; hash: string } = { seq: 0, hash: GENESIS_HASH },
  opts: VerifyOptions = {},
): VerifyResult {
  const v = new ChainVerifier(prev, opts);
  for (const e of entries) if (v.push(e) !== undefined) break;
  return v.finish();
}
