// What changed between a tool's accepted definition and a new one, for a person to read before accepting it: each
// field the model sees (name, title, description, schemas, annotations) as a line diff, with every character that
// renders as nothing or reorders text shown escaped, so an instruction hidden from the reader is seen.
import { canonicalJson } from '../audit/chain.js';
import { isHiddenCharacter } from '../hidden-chars.js';
import type { Pin } from '../store/pins.js';
import { showableAccepted } from './catalog.js';
import { classify } from './classify.js';
import type { Signal, ToolDefinition } from './types.js';

/** The fields of a definition that reach the model, in the order a reader expects them. */
export const DEFINITION_FIELDS = [
  'name',
  'title',
  'description',
  'inputSchema',
  'outputSchema',
  'annotations',
] as const;

export interface DiffLine {
  /** ' ' in both, '-' only in the accepted definition, '+' only in the new one. */
  op: ' ' | '-' | '+';
  text: string;
}

export interface FieldDiff {
  field: (typeof DEFINITION_FIELDS)[number];
  changed: boolean;
  lines: DiffLine[];
}

export interface DefinitionDiff {
  fields: FieldDiff[];
  /** Characters that render as nothing or reorder text, as found in either definition (escaped, with a count). */
  hiddenCharacters: string[];
}

/** The text with each hidden character as `<U+XXXX>`; the characters found are added to `found`. */
export function escapeHidden(text: string, found?: Map<string, number>): string {
  let out = '';
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (!isHiddenCharacter(ch)) {
      out += ch;
      continue;
    }
    const code = `<U+${cp.toString(16).toUpperCase().padStart(4, '0')}>`;
    found?.set(code, (found.get(code) ?? 0) + 1);
    out += code;
  }
  return out;
}

/** A field's value as lines to compare: text as it is, anything else as indented canonical JSON. */
function linesOf(value: unknown): string[] {
  if (value === undefined) return [];
  if (typeof value === 'string') return value.split('\n');
  return JSON.stringify(JSON.parse(canonicalJson(value)), null, 2).split('\n');
}

/** Longest-common-subsequence line diff (definitions are short; bounded below so a huge one cannot stall us). */
function diffLines(a: string[], b: string[]): DiffLine[] {
  if (a.length * b.length > 4_000_000) {
    return [
      ...a.map((text) => ({ op: '-' as const, text })),
      ...b.map((text) => ({ op: '+' as const, text })),
    ];
  }
  const n = a.length;
  const m = b.length;
  const lcs: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--)
    for (let j = m - 1; j >= 0; j--)
      lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  const out: DiffLine[] = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) {
      out.push({ op: ' ', text: a[i]! });
      i++;
      j++;
    } else if (lcs[i + 1]![j]! >= lcs[i]![j + 1]!) out.push({ op: '-', text: a[i++]! });
    else out.push({ op: '+', text: b[j++]! });
  }
  while (i < n) out.push({ op: '-', text: a[i++]! });
  while (j < m) out.push({ op: '+', text: b[j++]! });
  return out;
}

/**
 * The difference between two definitions (either may be missing: a first-use pin flagged as poisoning has only the
 * new one), field by field, with hidden characters escaped in every line.
 */
export function diffDefinitions(
  accepted: Record<string, unknown> | undefined,
  next: Record<string, unknown> | undefined,
): DefinitionDiff {
  const found = new Map<string, number>();
  const fields: FieldDiff[] = [];
  for (const field of DEFINITION_FIELDS) {
    const before = accepted?.[field];
    const after = next?.[field];
    if (before === undefined && after === undefined) continue;
    const a = linesOf(before).map((l) => escapeHidden(l, found));
    const b = linesOf(after).map((l) => escapeHidden(l, found));
    const changed = canonicalJson(before ?? null) !== canonicalJson(after ?? null);
    fields.push({ field, changed, lines: diffLines(a, b) });
  }
  return { fields, hiddenCharacters: [...found].map(([code, count]) => `${code} x${count}`) };
}

/** The diff as text for a terminal: a heading per changed field, then its lines marked ' ', '-' or '+'. */
export function formatDiff(diff: DefinitionDiff): string {
  const out: string[] = [];
  for (const f of diff.fields) {
    if (!f.changed) continue;
    out.push(`  ${f.field}:`);
    for (const l of f.lines) out.push(`    ${l.op} ${l.text}`);
  }
  if (diff.hiddenCharacters.length > 0)
    out.push(`  hidden characters (shown escaped): ${diff.hiddenCharacters.join(', ')}`);
  return out.join('\n');
}

function parseJson(text: string | undefined): Record<string, unknown> | undefined {
  if (text === undefined) return undefined;
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v)
      ? (v as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

export interface PinReview {
  server: string;
  tool: string;
  /** The definition a person (or first use, when clean) accepted; null when there is none fit to show. */
  accepted: Record<string, unknown> | null;
  acceptedHash: string | null;
  acceptedAt: string;
  acceptedBy: string;
  /** What waits for a person: a changed definition, or a first-use pin flagged as poisoning. Null: nothing. */
  review: {
    /** What `accept` with a hash accepts. */
    hash: string;
    seenAt: string;
    reason: 'changed' | 'poisoning';
    poisoned: boolean;
    poisoning: Signal[];
    definition: Record<string, unknown>;
    diff: DefinitionDiff;
  } | null;
}

/**
 * A tool's pin for a reviewer (the dashboard and `warden pins diff`): the accepted definition, the one waiting for a
 * person (a change, or a first-use pin flagged as poisoning, which nobody vouched for), its poisoning findings, and
 * the field-by-field difference with hidden characters escaped.
 */
export function pinReview(pin: Pin): PinReview {
  const pinned = parseJson(pin.definition);
  const changed = parseJson(pin.changedDefinition);
  const unvouched = pin.changedHash === undefined && showableAccepted(pin) === undefined;
  const accepted = unvouched ? undefined : pinned;
  const next = changed ?? (unvouched ? pinned : undefined);
  const signals = next === undefined ? [] : classify(next as unknown as ToolDefinition).signals;
  const poisoning = signals
    .filter((s) => s.kind === 'tool_poisoning')
    .map((s) => ({ ...s, evidence: escapeHidden(s.evidence) }));
  return {
    server: pin.server,
    tool: pin.tool,
    accepted: accepted ?? null,
    acceptedHash: unvouched ? null : pin.hash,
    acceptedAt: pin.acceptedAt,
    acceptedBy: pin.acceptedBy,
    review:
      next === undefined
        ? null
        : {
            hash: pin.changedHash ?? pin.hash,
            seenAt: pin.changedAt ?? pin.firstSeenAt,
            reason: changed !== undefined ? 'changed' : 'poisoning',
            poisoned: poisoning.length > 0,
            poisoning,
            definition: next,
            diff: diffDefinitions(accepted, next),
          },
  };
}
