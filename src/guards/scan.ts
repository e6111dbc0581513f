// Applies the guards to one upstream result: finds every string a model may read (text content, structuredContent,
// embedded and read resources, prompt messages), scans each in its own and its normalized forms, then masks, blocks
// or flags as configured. Masking replaces strings by strings, so the result keeps its shape and types.
import type { GuardAction, GuardName, GuardSettings } from './config.js';
import { findInjection } from './injection.js';
import { base64Texts, normalize } from './normalize.js';
import { findPii } from './pii.js';
import { type Finding, findSecrets } from './secrets.js';

/** What the audit record keeps of one guard's work on a result: never the matched value. */
export interface GuardHit {
  /** The guard, or `size` for a result too big to scan (or one the scan failed on). */
  guard: GuardName | 'size';
  action: GuardAction;
  /** Rule id -> number of matches. */
  rules: Record<string, number>;
  shadow?: true;
}

export interface ScanOutcome {
  hits: GuardHit[];
  /** The guard that blocked the result (the result must then be replaced). */
  blocked: GuardName | undefined;
  /** Whether any string was changed. */
  masked: boolean;
}

export const MASKS: Record<GuardName, string> = {
  secrets: '[REDACTED:secret]',
  pii: '[REDACTED:pii]',
  injection: '[REMOVED:text aimed at the model]',
};

const FINDERS: Record<GuardName, (text: string) => Finding[]> = {
  secrets: findSecrets,
  pii: findPii,
  injection: findInjection,
};

/** Guards precedence: a block wins over a mask, a mask over a flag. */
const ORDER: GuardName[] = ['secrets', 'pii', 'injection'];

interface Leaf {
  get(): string;
  set(v: string): void;
  /** Text content items take part in the cross-item scan (a secret split over two items). */
  item: boolean;
  /**
   * A number read as its digits (a card number sent as a JSON number), or an object key: neither can be masked and
   * keep the result's shape.
   */
  fixed?: true;
}

/** Integers this long may be card numbers or ids a guard looks for; shorter ones are counts and amounts. */
const LONG_NUMBER = 1e8;
/** Object keys at least this long are scanned too. */
const KEY_TEXT = 16;

function numberLeaf(v: number): Leaf | undefined {
  if (!Number.isInteger(v) || Math.abs(v) < LONG_NUMBER) return undefined;
  return { get: () => String(v), set: () => {}, item: false, fixed: true };
}

const TEXTUAL_MIME =
  /^(?:text\/|application\/(?:json|xml|yaml|x-yaml|javascript|toml|x-sh|x-www-form-urlencoded)|[^;]*\+(?:json|xml))/i;

/** Every string a model may read, with a way to replace it. `_meta` is for clients, not models: left alone. */
function collect(value: unknown, out: Leaf[], item = false): void {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const v = value[i];
      if (typeof v === 'string')
        out.push({
          get: () => value[i] as string,
          set: (s) => {
            value[i] = s;
          },
          item: false,
        });
      else if (typeof v === 'number') {
        const leaf = numberLeaf(v);
        if (leaf !== undefined) out.push(leaf);
      } else collect(v, out);
    }
    return;
  }
  if (typeof value !== 'object' || value === null) return;
  const obj = value as Record<string, unknown>;
  const isContentItem = typeof obj.type === 'string';
  for (const key of Object.keys(obj)) {
    if (key === '_meta' || key === 'type' || key === 'mimeType') continue;
    // A key long enough to say something is read as well (an upstream may write its text into keys).
    if (key.length >= KEY_TEXT) out.push({ get: () => key, set: () => {}, item: false, fixed: true });
    const v = obj[key];
    if (typeof v === 'string') {
      if (key === 'data' && (obj.type === 'image' || obj.type === 'audio')) continue; // media bytes, not text
      if (key === 'blob') {
        // A text-typed blob is text in base64: scanned decoded, masked re-encoded. Binary blobs are not scanned.
        const mime = typeof obj.mimeType === 'string' ? obj.mimeType : '';
        if (!TEXTUAL_MIME.test(mime)) continue;
        out.push({
          get: () => Buffer.from(obj.blob as string, 'base64').toString('utf8'),
          set: (s) => {
            obj.blob = Buffer.from(s, 'utf8').toString('base64');
          },
          item: false,
        });
        continue;
      }
      out.push({
        get: () => obj[key] as string,
        set: (s) => {
          obj[key] = s;
        },
        item: item || (isContentItem && key === 'text'),
      });
    } else if (typeof v === 'number') {
      const leaf = numberLeaf(v);
      if (leaf !== undefined) out.push(leaf);
    } else collect(v, out, false);
  }
}

function count(rules: Record<string, number>, findings: Finding[]): void {
  for (const f of findings) rules[f.rule] = (rules[f.rule] ?? 0) + 1;
}

/** A text's other spellings, computed once for all guards. */
interface Spellings {
  normalized: string | undefined;
  hiddenTags: boolean;
  decoded: string[];
}

function spellings(text: string): Spellings {
  const n = normalize(text);
  return {
    normalized: n.text === text ? undefined : n.text,
    hiddenTags: n.hiddenTags,
    decoded: base64Texts(n.text).map((d) => normalize(d).text),
  };
}

/** Findings in a text's other spellings that its own spelling does not show. */
function hiddenFindings(guard: GuardName, sp: Spellings, own: number): Finding[] {
  const found: Finding[] = [];
  if (sp.hiddenTags && guard === 'injection') found.push({ rule: 'hidden-unicode-tags', start: 0, end: 0 });
  if (sp.normalized !== undefined) {
    const again = FINDERS[guard](sp.normalized);
    if (again.length > own) found.push(...again);
  }
  if (guard !== 'pii') for (const d of sp.decoded) found.push(...FINDERS[guard](d));
  return found;
}

/** Replaces the spans by their masks (the audit mask uses it too). Overlapping spans merge. */
export function maskSpans(text: string, spans: Array<{ start: number; end: number; mask: string }>): string {
  spans.sort((a, b) => a.start - b.start);
  let out = '';
  let at = 0;
  for (const s of spans) {
    if (s.end <= at) continue;
    out += text.slice(at, Math.max(at, s.start)) + s.mask;
    at = s.end;
  }
  return out + text.slice(at);
}

/** The total size of the strings a scan would read, stopping once past `limit`. */
export function scanSize(result: unknown, limit: number): number {
  const leaves: Leaf[] = [];
  collect(result, leaves);
  let n = 0;
  for (const l of leaves) {
    n += l.get().length;
    if (n > limit) return n;
  }
  return n;
}

/**
 * Scans `result` (changed in place when masking) under `settings`. A shadow scan records what would happen and
 * changes nothing.
 */
export function scanResult(result: unknown, settings: GuardSettings): ScanOutcome {
  const leaves: Leaf[] = [];
  collect(result, leaves);
  const active = ORDER.filter((g) => settings.actions[g] !== 'off');
  const hits: GuardHit[] = [];
  // Per leaf: spans to mask, or the whole leaf when a match shows only in another spelling.
  const spans = new Map<number, Array<{ start: number; end: number; mask: string }>>();
  const whole = new Map<number, string>();
  const texts = leaves.map((l) => l.get());
  const spelled = texts.map(spellings);
  let unmaskable: GuardName | undefined;
  for (const guard of active) {
    const action = settings.actions[guard];
    const rules: Record<string, number> = {};
    for (let i = 0; i < texts.length; i++) {
      const text = texts[i]!;
      const own = FINDERS[guard](text);
      const hidden = hiddenFindings(guard, spelled[i]!, own.length);
      count(rules, own);
      count(rules, hidden);
      if (action !== 'mask') continue;
      // A number cannot be masked and stay a number: the result is withheld instead.
      if (leaves[i]!.fixed && own.length + hidden.length > 0) unmaskable ??= guard;
      else if (hidden.length > 0 || (guard === 'injection' && own.length > 0)) whole.set(i, MASKS[guard]);
      else if (own.length > 0) {
        const list = spans.get(i) ?? [];
        for (const f of own) list.push({ start: f.start, end: f.end, mask: MASKS[guard] });
        spans.set(i, list);
      }
    }
    // A match that only exists across content items (each item harmless alone).
    const items = leaves.map((l, i) => (l.item ? i : -1)).filter((i) => i >= 0);
    if (items.length > 1) {
      const joined = items.map((i) => texts[i]).join('');
      const before = Object.values(rules).reduce((a, b) => a + b, 0);
      const across = FINDERS[guard](joined);
      if (across.length > before) {
        count(rules, across.slice(0, across.length - before));
        if (action === 'mask')
          for (const i of items)
            if (across.some((f) => spansItem(f, items, texts, i))) whole.set(i, MASKS[guard]);
      }
    }
    if (Object.keys(rules).length > 0)
      hits.push({ guard, action, rules, ...(settings.shadow ? { shadow: true as const } : {}) });
  }
  if (settings.shadow) return { hits, blocked: undefined, masked: false };
  const blocked = ORDER.find((g) => hits.some((h) => h.guard === g && h.action === 'block')) ?? unmaskable;
  if (blocked !== undefined) return { hits, blocked, masked: false };
  let masked = false;
  for (let i = 0; i < leaves.length; i++) {
    const w = whole.get(i);
    if (w !== undefined) {
      leaves[i]!.set(w);
      masked = true;
      continue;
    }
    const s = spans.get(i);
    if (s !== undefined) {
      leaves[i]!.set(maskSpans(texts[i]!, s));
      masked = true;
    }
  }
  return { hits, blocked: undefined, masked };
}

/** Whether finding `f` in the joined text covers part of item `i`. */
function spansItem(f: Finding, items: number[], texts: string[], i: number): boolean {
  let at = 0;
  for (const j of items) {
    const len = texts[j]!.length;
    if (j === i) return f.start < at + len && f.end > at;
    at += len;
  }
  return false;
}
