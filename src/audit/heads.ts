// Exported chain heads: the seq and hash of the newest record this process stored, MACed with the audit key, appended
// to a file (and/or the log) that the database writer cannot rewrite. `warden audit verify` holds the log against
// them: a log shorter than a head, or whose record at a head's seq has another hash, was cut or rewritten.
import { appendFileSync, readFileSync } from 'node:fs';
import type { Logger } from '../log.js';
import type { AuditStore } from '../store/types.js';
import type { AuditEntry, ExportedHead, NewAuditEntry } from './chain.js';
import { type AuditKey, headMac } from './keys.js';

export interface HeadLine {
  seq: number;
  hash: string;
  time: string;
  /** Id of the key that made `mac` (absent without a key). */
  key?: string;
  mac?: string;
}

export interface HeadExportOptions {
  /** Appended to, one JSON line per export. */
  file?: string;
  /** An info line `audit head` with `auditHead` per export. */
  log: boolean;
  intervalMs: number;
  key: AuditKey | undefined;
  logger: Logger;
}

/**
 * Wraps the audit store: every batch appended through it moves the head this process knows (no extra query), and
 * the head is exported every `intervalMs` when it moved, and on close. Costs nothing per record.
 */
export class HeadExporter {
  private last: { seq: number; hash: string } | undefined;
  private exportedSeq = -1;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly opts: HeadExportOptions) {
    this.timer = setInterval(() => this.export(), Math.max(100, opts.intervalMs));
    this.timer.unref();
  }

  /** A store that reports what it appended to this exporter; everything else goes straight through. */
  track(store: AuditStore): AuditStore {
    const saw = (stored: AuditEntry[]) => {
      const e = stored[stored.length - 1];
      if (e !== undefined && (this.last === undefined || e.seq > this.last.seq)) {
        this.last = { seq: e.seq, hash: e.hash };
      }
      return stored;
    };
    return {
      append: (entries: readonly NewAuditEntry[]) => store.append(entries).then(saw),
      read: (afterSeq, limit) => store.read(afterSeq, limit),
      query: (filter) => store.query(filter),
      head: () => store.head(),
      checkpoint: () => store.checkpoint(),
      prune: (before) => store.prune(before),
      close: () => store.close(),
    };
  }

  /** Exports the head if it moved since the last export. Never throws: a failure is logged. */
  export(): void {
    const h = this.last;
    if (h === undefined || h.seq === this.exportedSeq) return;
    const line: HeadLine = { seq: h.seq, hash: h.hash, time: new Date().toISOString() };
    if (this.opts.key !== undefined) {
      line.key = this.opts.key.id;
      line.mac = headMac(this.opts.key, line);
    }
    try {
      if (this.opts.file !== undefined) appendFileSync(this.opts.file, `${JSON.stringify(line)}\n`);
      if (this.opts.log) this.opts.logger.info({ auditHead: line }, 'audit head');
      this.exportedSeq = h.seq;
    } catch (err) {
      this.opts.logger.warn({ err: (err as Error).message, file: this.opts.file }, 'audit head not exported');
    }
  }

  /** Stops the timer and exports the final head. */
  close(): void {
    clearInterval(this.timer);
    this.export();
  }
}

function headOf(v: unknown): HeadLine | undefined {
  if (v === null || typeof v !== 'object') return undefined;
  const o = v as Record<string, unknown>;
  // A line of the gateway's log carries the head under auditHead.
  if (o.auditHead !== undefined) return headOf(o.auditHead);
  if (!Number.isSafeInteger(o.seq) || typeof o.hash !== 'string' || typeof o.time !== 'string')
    return undefined;
  const h: HeadLine = { seq: o.seq as number, hash: o.hash, time: o.time };
  if (typeof o.key === 'string') h.key = o.key;
  if (o.mac !== undefined) h.mac = typeof o.mac === 'string' ? o.mac : '';
  return h;
}

/**
 * The heads in a file of head lines or of the gateway's JSON log lines (other lines are skipped), each marked as
 * MACed by one of `keys`, unkeyed, or bad. A missing file has none (the caller says so).
 */
export function readHeads(file: string, keys: readonly AuditKey[]): ExportedHead[] | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const out: ExportedHead[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!.trim();
    if (!l.startsWith('{')) continue;
    let h: HeadLine | undefined;
    try {
      h = headOf(JSON.parse(l));
    } catch {
      continue;
    }
    if (h === undefined) continue;
    const authentic =
      h.mac === undefined ? 'unkeyed' : keys.some((k) => headMac(k, h) === h.mac) ? 'mac' : 'bad';
    out.push({ seq: h.seq, hash: h.hash, time: h.time, source: `${file}:${i + 1}`, authentic });
  }
  return out;
}

/** The heads of the configured heads file (none when it does not exist yet), for verification. */
export function headsToVerify(
  file: string | undefined,
  keys: readonly AuditKey[],
): ExportedHead[] | undefined {
  return file === undefined ? undefined : (readHeads(file, keys) ?? []);
}
