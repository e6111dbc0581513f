// The 11 condition operators with exact semantics, path lookup into arguments, and regex safety checks.
//
// Every comparison has three outcomes: it holds, it does not, or the value cannot be compared with what the policy
// wrote (a list or object where one value was written, a string no parser reads as a number, a boolean against a
// number, a string too long to search). The last fails closed: a `deny_if` or `approve_if` counts it as matched, a
// `require` as unmet (decide.ts), so no spelling of a value a server would accept walks past a rule.
import v8 from 'node:v8';
import type { CompiledCondition, GrantFacts, Operator, PathStep } from './types.js';

/** Holds, does not hold, or cannot be compared (fails closed: see the file header). */
export type Truth = boolean | 'unknown';

/** Resolves `segments` in `root`; `undefined` when the path does not exist. Arrays are indexed by number segments. */
export function resolvePath(root: unknown, segments: readonly string[]): unknown {
  let cur: unknown = root;
  for (let i = 0; i < segments.length; i++) {
    if (cur === null || typeof cur !== 'object') return undefined;
    const seg = segments[i]!;
    if (Array.isArray(cur)) {
      const idx = Number(seg);
      if (!Number.isInteger(idx) || idx < 0 || idx >= cur.length) return undefined;
      cur = cur[idx];
    } else {
      if (!Object.hasOwn(cur, seg)) return undefined;
      cur = (cur as Record<string, unknown>)[seg];
    }
  }
  return cur;
}

function isNumber(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

/** Strings compare in Unicode NFC: a path spelled with combining marks (NFD) is the path the NFC rule names. */
export function nfc(s: string): string {
  return s.normalize('NFC');
}

// What Python's int()/float() accept (pydantic's lax mode and hand-written servers), after stripping whitespace and
// reading every Unicode decimal digit as its value: underscores between digits, a sign on base prefixes, inf and nan.
const PY_INT = /^[+-]?(?:\d(?:_?\d)*|0[xX](?:_?[0-9a-fA-F])+|0[oO](?:_?[0-7])+|0[bB](?:_?[01])+)$/;
const PY_FLOAT = /^[+-]?(?:\d(?:_?\d)*(?:\.(?:\d(?:_?\d)*)?)?|\.\d(?:_?\d)*)(?:[eE][+-]?\d(?:_?\d)*)?$/;
const PY_SPECIAL = /^([+-]?)(inf|infinity|nan)$/i;
/** Python's str.strip() whitespace: Unicode White_Space plus the information separators U+001C..U+001F. */
function isPythonSpace(ch: string): boolean {
  const c = ch.charCodeAt(0);
  return (c >= 0x1c && c <= 0x1f) || c === 0x85 || /\s/.test(ch);
}

function pythonStrip(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && isPythonSpace(s[a]!)) a++;
  while (b > a && isPythonSpace(s[b - 1]!)) b--;
  return s.slice(a, b);
}
const NON_ASCII_DIGIT = /\p{Nd}/gu;
const IS_ND = /^\p{Nd}$/u;

/** The value of a Unicode decimal digit: digits come in runs of whole blocks of ten, 0 to 9 in code point order. */
function digitValue(ch: string): string {
  const cp = ch.codePointAt(0)!;
  let start = cp;
  while (start > 0 && IS_ND.test(String.fromCodePoint(start - 1))) start--;
  return String((cp - start) % 10);
}

function pythonReading(s: string): number | undefined {
  let t = pythonStrip(s);
  if (/\P{ASCII}/u.test(t)) t = t.normalize('NFKC').replace(NON_ASCII_DIGIT, digitValue);
  if (PY_INT.test(t)) {
    const neg = t.startsWith('-');
    const body = t.replace(/^[+-]/, '').replace(/_/g, '');
    const n = /^0[xob]/i.test(body) ? Number(body.toLowerCase()) : Number(body);
    return neg ? -n : n;
  }
  if (PY_FLOAT.test(t)) return Number(t.replace(/_/g, ''));
  const special = PY_SPECIAL.exec(t);
  if (special)
    return special[2]!.toLowerCase() === 'nan' ? Number.NaN : special[1] === '-' ? -Infinity : Infinity;
  return undefined;
}

/**
 * Every number a server could read from `s`: JavaScript's Number() (zod's coerce), parseFloat and parseInt (which
 * stop at the first character they cannot read, and parseInt reads `0x`), and Python's int()/float() (pydantic's
 * lax mode). Empty when no parser reads a number; NaN is kept (it compares with nothing).
 */
export function numericReadings(s: string): number[] {
  const out: number[] = [];
  const add = (n: number | undefined) => {
    if (n === undefined) return;
    if (!out.some((m) => Object.is(m, n) || (Number.isNaN(m) && Number.isNaN(n)))) out.push(n);
  };
  const n = Number(s);
  if (!Number.isNaN(n)) add(n);
  const f = Number.parseFloat(s);
  if (!Number.isNaN(f)) add(f);
  // biome-ignore lint/correctness/useParseIntRadix: without a radix parseInt reads "0x" as hex, as a server calling it does
  const i = Number.parseInt(s);
  if (!Number.isNaN(i)) add(i);
  add(pythonReading(s));
  return out;
}

/**
 * A numeric comparison of `actual` with the policy's number. A number compares as itself; a string compares as
 * every number a server could read from it (all must agree, else it cannot be compared); anything else cannot be
 * compared, except null, which is absent (JSON null never reads as a large number).
 */
function numericTruth(
  actual: unknown,
  expected: number,
  cmp: (a: number, b: number) => boolean,
  readings?: readonly number[],
): Truth {
  if (isNumber(actual)) return cmp(actual, expected);
  if (actual === null) return false;
  if (typeof actual !== 'string') return 'unknown';
  readings ??= numericReadings(actual);
  if (readings.length === 0) return 'unknown';
  let result: Truth | undefined;
  for (const r of readings) {
    if (Number.isNaN(r)) return 'unknown';
    const t = cmp(r, expected);
    if (result === undefined) result = t;
    else if (result !== t) return 'unknown';
  }
  return result!;
}

const numEq = (a: number, b: number) => a === b;

/**
 * Equality as PolicyLayer/Intercept define it: numbers compare as numbers; otherwise the printed forms compare, so
 * `"1"` equals `1` and `true` equals `"true"`. Objects and arrays compare by their JSON, keys sorted (JSON objects are
 * unordered: `{"b":1,"a":2}` is `{"a":2,"b":1}`); a value nested deeper than MAX_COMPARE_DEPTH equals nothing.
 * A number and a string compare as numbers (every reading of the string must agree); a list, an object or a boolean
 * against a number, and a list or an object against a single value, cannot be compared.
 */
export function equalsTruth(actual: unknown, expected: unknown): Truth {
  if (isNumber(actual) && isNumber(expected)) return actual === expected;
  if (actual === expected) return true;
  if (isNumber(expected) && actual !== null && actual !== undefined) {
    if (typeof actual === 'string') {
      const readings = numericReadings(actual);
      // A string no parser reads as a number is simply another value (its printed form differs).
      return readings.length === 0 ? false : numericTruth(actual, expected, numEq, readings);
    }
    if (typeof actual === 'object' || typeof actual === 'boolean') return 'unknown';
  }
  if (isNumber(actual) && typeof expected === 'string') {
    // The policy's own string means what JavaScript reads in it (`"2.5"` is 2.5); a non-number prints differently.
    const e = expected.trim() === '' ? Number.NaN : Number(expected);
    return Number.isNaN(e) ? false : actual === e;
  }
  if (
    actual !== null &&
    typeof actual === 'object' &&
    expected !== null &&
    expected !== undefined &&
    typeof expected !== 'object'
  ) {
    return 'unknown'; // a list or an object where one value was written
  }
  const a = printed(actual);
  if (a === undefined) return 'unknown';
  const e = printed(expected);
  if (e === undefined) return 'unknown';
  return a === e;
}

/** equalsTruth where a value that cannot be compared is unequal (for callers outside conditions). */
export function looseEquals(actual: unknown, expected: unknown): boolean {
  return equalsTruth(actual, expected) === true;
}

/** Deeper than any policy value: an argument nested deeper cannot equal one, and printing it would exhaust the stack. */
export const MAX_COMPARE_DEPTH = 256;

function printed(v: unknown): string | undefined {
  if (v === null || v === undefined) return '<nil>';
  if (typeof v === 'object') {
    const s = canonical(v, 0);
    return s === undefined ? undefined : nfc(s);
  }
  return nfc(String(v));
}

/** JSON with the keys of every object sorted; undefined past MAX_COMPARE_DEPTH levels. */
function canonical(v: unknown, depth: number): string | undefined {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (depth >= MAX_COMPARE_DEPTH) return undefined;
  let out = '';
  if (Array.isArray(v)) {
    for (const e of v) {
      const s = canonical(e, depth + 1);
      if (s === undefined) return undefined;
      out += out === '' ? s : `,${s}`;
    }
    return `[${out}]`;
  }
  for (const k of Object.keys(v).sort()) {
    const e = (v as Record<string, unknown>)[k];
    if (e === undefined) continue;
    const s = canonical(e, depth + 1);
    if (s === undefined) return undefined;
    out += `${out === '' ? '' : ','}${JSON.stringify(k)}:${s}`;
  }
  return `{${out}}`;
}

/** Longest string a regex condition is run against; a longer value cannot be compared (it fails closed). */
export const MAX_REGEX_INPUT = 64 * 1024;

function not(t: Truth): Truth {
  return t === 'unknown' ? t : !t;
}

/** Some element: true if one holds, else unknown if one cannot be compared, else false. */
function some<T>(items: readonly T[], test: (item: T) => Truth): Truth {
  let unknown = false;
  for (const item of items) {
    const t = test(item);
    if (t === true) return true;
    if (t === 'unknown') unknown = true;
  }
  return unknown ? 'unknown' : false;
}

/**
 * Evaluates one condition against a resolved value. `present` is false when the path does not exist: then every
 * operator is false except `exists`, which also treats null as absent.
 */
export function evaluateTruth(
  op: Operator,
  actual: unknown,
  present: boolean,
  expected: unknown,
  regex?: RegExp,
): Truth {
  if (op === 'exists') return (present && actual !== null) === (expected === true);
  if (!present) return false;
  switch (op) {
    case 'eq':
      return equalsTruth(actual, expected);
    case 'neq':
      return not(equalsTruth(actual, expected));
    case 'lt':
      return isNumber(expected) && numericTruth(actual, expected, (a, b) => a < b);
    case 'lte':
      return isNumber(expected) && numericTruth(actual, expected, (a, b) => a <= b);
    case 'gt':
      return isNumber(expected) && numericTruth(actual, expected, (a, b) => a > b);
    case 'gte':
      return isNumber(expected) && numericTruth(actual, expected, (a, b) => a >= b);
    case 'in':
    case 'not_in': {
      const found = Array.isArray(expected) ? some(expected, (e) => equalsTruth(actual, e)) : false;
      return op === 'in' ? found : not(found);
    }
    case 'regex':
      if (actual === null) return false;
      if (typeof actual !== 'string' || actual.length > MAX_REGEX_INPUT) return 'unknown';
      return regex?.test(nfc(actual)) === true;
    case 'contains':
      if (actual === null) return false;
      if (typeof actual === 'string')
        return typeof expected === 'string' && nfc(actual).includes(nfc(expected));
      if (Array.isArray(actual)) return some(actual, (e) => equalsTruth(e, expected));
      return 'unknown';
  }
}

/** evaluateTruth where a value that cannot be compared does not hold. */
export function evaluateOp(
  op: Operator,
  actual: unknown,
  present: boolean,
  expected: unknown,
  regex?: RegExp,
): boolean {
  return evaluateTruth(op, actual, present, expected, regex) === true;
}

/** The tool facts a `tool.*` condition reads: the gateway's classification and the server's annotations. */
export interface ToolFacts {
  category?: string | undefined;
  risk?: string | undefined;
  /** How often a classification reached this way was right on servers the rules had not seen (docs/risk.md). */
  confidence?: number | undefined;
  annotations?: Readonly<Record<string, unknown>> | undefined;
}

/** Where a quantified condition found its answer: the element's path and value, for explain(). */
export type Witness = (at: string, value: unknown, truth: Truth) => void;

/**
 * Evaluates a condition whose path has quantifiers (`[*]`/`[any]`: some element holds; `[all]`: every element
 * holds). A value that is not a list is read as a list of itself; a missing one as absent.
 */
function quantified(
  c: CompiledCondition,
  steps: readonly PathStep[],
  cur: unknown,
  i: number,
  at: string,
  witness: Witness | undefined,
): Truth {
  for (; i < steps.length; i++) {
    const step = steps[i]!;
    if (typeof step === 'string') {
      cur = resolvePath(cur, [step]);
      at += `.${step}`;
      continue;
    }
    if (cur === undefined || cur === null) return evaluateTruth(c.op, undefined, false, c.value, c.regex);
    const items = Array.isArray(cur) ? cur : [cur];
    const next = i + 1;
    let unknown = false;
    for (let k = 0; k < items.length; k++) {
      const t = quantified(c, steps, items[k], next, `${at}[${k}]`, witness);
      // any: the first element that holds decides; all: the first that does not.
      if (step.each === 'any' ? t === true : t === false) return t;
      if (t === 'unknown') unknown = true;
    }
    if (unknown) return 'unknown';
    return step.each === 'all';
  }
  const present = cur !== undefined;
  const t = evaluateTruth(c.op, cur, present, c.value, c.regex);
  witness?.(at, cur, t);
  return t;
}

export function evaluateConditionTruth(
  c: CompiledCondition,
  args: Record<string, unknown> | undefined,
  counter: ((scope: string, name: string) => number | undefined) | undefined,
  grant?: GrantFacts,
  tool?: ToolFacts,
  witness?: Witness,
): Truth {
  if (c.root === 'state') {
    // Intercept: state.<scope>.<counter>; a counter never touched reads as 0.
    const value = counter?.(c.segments[0]!, c.segments[1]!) ?? 0;
    return evaluateTruth(c.op, value, true, c.value, c.regex);
  }
  if (c.steps !== undefined) return quantified(c, c.steps, args, 0, 'args', witness);
  let actual: unknown;
  if (c.root === 'tool') {
    actual =
      c.segments[0] === 'annotations'
        ? tool?.annotations?.[c.segments[1]!]
        : (tool?.[c.segments[0] as 'category' | 'risk' | 'confidence'] ?? undefined);
  } else actual = resolvePath(c.root === 'grant' ? grant : args, c.segments);
  return evaluateTruth(c.op, actual, actual !== undefined, c.value, c.regex);
}

/** evaluateConditionTruth where a value that cannot be compared does not hold. */
export function evaluateCondition(
  c: CompiledCondition,
  args: Record<string, unknown> | undefined,
  counter: ((scope: string, name: string) => number | undefined) | undefined,
  grant?: GrantFacts,
  tool?: ToolFacts,
): boolean {
  return evaluateConditionTruth(c, args, counter, grant, tool) === true;
}

// V8's linear-time regex engine (the `l` flag, an automaton like RE2): matching time grows with the input, never
// exponentially, whatever the pattern. It must be switched on before the first `l` pattern is compiled.
v8.setFlagsFromString('--enable-experimental-regexp-engine');

/**
 * Compiles a policy pattern for the linear-time engine. Patterns it cannot run in linear time (backreferences,
 * lookahead, lookbehind) are refused, as RE2 (Intercept's engine) refuses them.
 */
export function compileLinearRegex(pattern: string): { regex: RegExp } | { error: string } {
  try {
    return { regex: new RegExp(pattern, 'l') };
  } catch (err) {
    const message = (err as Error).message;
    if (message.includes('linear time')) {
      return {
        error: 'unsafe regex: it cannot run in linear time (backreferences and lookaround are not supported)',
      };
    }
    try {
      new RegExp(pattern); // a plain syntax error reads better from the ordinary engine
    } catch (syntax) {
      return { error: `invalid regex: ${(syntax as Error).message}` };
    }
    return { error: `invalid regex: ${message}` };
  }
}
