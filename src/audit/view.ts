// Audit records as people and tools read them: one per request, from its entries (decision, then outcome).
import type { AuditFilter, AuditStore } from '../store/types.js';
import type { AuditEntry } from './chain.js';
import type { AuditBody } from './record.js';

export interface AuditRecordView extends AuditBody {
  /** seq of the request's first entry */
  seq: number;
  time: string;
  requestKey: string;
  /** Hash of the request's last entry */
  hash: string;
}

/** Groups entries by request (in seq order); a decision without its outcome (a crash in between) shows `unknown`. */
export function toRecords(entries: readonly AuditEntry[]): AuditRecordView[] {
  const byKey = new Map<string, AuditRecordView>();
  for (const e of entries) {
    const body = e.body as unknown as AuditBody;
    const prev = byKey.get(e.requestKey);
    if (prev === undefined) {
      byKey.set(e.requestKey, {
        ...body,
        outcome: body.outcome ?? 'unknown',
        seq: e.seq,
        time: e.time,
        requestKey: e.requestKey,
        hash: e.hash,
      });
    } else {
      byKey.set(e.requestKey, {
        ...body,
        seq: prev.seq,
        time: prev.time,
        requestKey: e.requestKey,
        hash: e.hash,
      });
    }
  }
  return [...byKey.values()].sort((a, b) => a.seq - b.seq);
}

const CSV_COLUMNS: Array<keyof AuditRecordView> = [
  'seq',
  'time',
  'requestKey',
  'requestId',
  'session',
  'grant',
  'server',
  'method',
  'tool',
  'decision',
  'rule',
  'reason',
  'outcome',
  'errorCode',
  'latencyMs',
  'hash',
];

function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  let s = typeof v === 'object' ? JSON.stringify(v) : String(v);
  // Spreadsheets run a cell that starts like a formula, quoted or not, and agents choose tool names and reasons:
  // such text gets a leading apostrophe (read as "this is text"). Numbers are left as they are.
  if (typeof v === 'string' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

// `era` came after `args` was already the last column: it is appended, so that readers by position keep working.
export function csvHeader(): string {
  return [...CSV_COLUMNS, 'args', 'era'].join(',');
}

export function csvRow(r: AuditRecordView): string {
  return [...CSV_COLUMNS.map((c) => csvCell(r[c])), csvCell(r.args), csvCell(r.era)].join(',');
}

/** The newest `limit` records that match `filter`, oldest first (for query, tail and GET /api/audit). */
export async function recentRecords(
  store: AuditStore,
  limit: number,
  filter: AuditFilter = {},
): Promise<AuditRecordView[]> {
  // A forwarded call has two entries, so twice the limit in entries covers `limit` records.
  const entries = await store.query({ ...filter, order: 'desc', limit: limit * 2 });
  return toRecords(entries).slice(-limit);
}

/** Entries read per query (and per turn of the event loop) by `pagedRecords`. */
const PAGE_ENTRIES = 2000;

/**
 * The newest `limit` records that match `filter`, oldest first, like `recentRecords`, but read a page at a time with
 * a turn of the event loop between pages: for exports from a running gateway, where one large synchronous query
 * (SQLite) would stall every call.
 */
export async function pagedRecords(
  store: AuditStore,
  limit: number,
  filter: AuditFilter = {},
): Promise<AuditRecordView[]> {
  const pages: AuditEntry[][] = [];
  let wanted = limit * 2;
  let before: number | undefined;
  while (wanted > 0) {
    const page = await store.query({
      ...filter,
      beforeSeq: before,
      order: 'desc',
      limit: Math.min(PAGE_ENTRIES, wanted),
    });
    if (page.length === 0) break;
    pages.push(page);
    wanted -= page.length;
    before = page[0]!.seq;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return toRecords(pages.reverse().flat()).slice(-limit);
}
