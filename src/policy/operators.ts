// The 11 condition operators with exact semantics, path lookup into arguments, and regex safety checks.
import v8 from 'node:v8';
import type { CompiledCondition, GrantFacts, Operator } from './types.js';

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

/**
 * Equality as PolicyLayer/Intercept define it: numbers compare as numbers; otherwise the printed forms compare, so
 * `"1"` equals `1` and `true` equals `"true"`. Objects and arrays compare by their JSON, keys sorted (JSON objects are
 * unordered: `{"b":1,"a":2}` is `{"a":2,"b":1}`); a value nested deeper than MAX_COMPARE_DEPTH equals nothing.
 */
export function looseEquals(actual: unknown, expected: unknown): boolean {
  if (isNumber(actual) && isNumber(expected)) return actual === expected;
  if (actual === expected) return true;
  const a = printed(actual);
  return a !== undefined && a === printed(expected);
}

/** Deeper than any policy value: an argument nested deeper cannot equal one, and printing it would exhaust the stack. */
export const MAX_COMPARE_DEPTH = 256;

function printed(v: unknown): string | undefined {
  if (v === null || v === undefined) return '<nil>';
  if (typeof v === 'object') return canonical(v, 0);
  return String(v);
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

/** Longest string a regex condition is run against; longer values do not match (bounding the linear-time work). */
export const MAX_REGEX_INPUT = 64 * 1024;

/**
 * Evaluates one condition against a resolved value. `present` is false when the path does not exist: then every
 * operator is false except `exists`, which also treats null as absent.
 */
export function evaluateOp(
  op: Operator,
  actual: unknown,
  present: boolean,
  expected: unknown,
  regex?: RegExp,
): boolean {
  if (op === 'exists') return (present && actual !== null) === (expected === true);
  if (!present) return false;
  switch (op) {
    case 'eq':
      return looseEquals(actual, expected);
    case 'neq':
      return !looseEquals(actual, expected);
    case 'lt':
      return isNumber(actual) && isNumber(expected) && actual < expected;
    case 'lte':
      return isNumber(actual) && isNumber(expected) && actual <= expected;
    case 'gt':
      return isNumber(actual) && isNumber(expected) && actual > expected;
    case 'gte':
      return isNumber(actual) && isNumber(expected) && actual >= expected;
    case 'in':
    case 'not_in': {
      let found = false;
      if (Array.isArray(expected)) {
        for (const e of expected) {
          if (looseEquals(actual, e)) {
            found = true;
            break;
          }
        }
      }
      return op === 'in' ? found : !found;
    }
    case 'regex':
      return typeof actual === 'string' && actual.length <= MAX_REGEX_INPUT && regex?.test(actual) === true;
    case 'contains':
      if (typeof actual === 'string') return typeof expected === 'string' && actual.includes(expected);
      if (Array.isArray(actual)) {
        for (const e of actual) if (looseEquals(e, expected)) return true;
      }
      return false;
  }
}

export function evaluateCondition(
  c: CompiledCondition,
  args: Record<string, unknown> | undefined,
  counter: ((scope: string, name: string) => number | undefined) | undefined,
  grant?: GrantFacts,
  tool?: { category?: string | undefined; risk?: string | undefined },
): boolean {
  if (c.root === 'state') {
    // Intercept: state.<scope>.<counter>; a counter never touched reads as 0.
    const value = counter?.(c.segments[0]!, c.segments[1]!) ?? 0;
    return evaluateOp(c.op, value, true, c.value, c.regex);
  }
  const actual =
    c.root === 'tool'
      ? (tool?.[c.segments[0] as 'category' | 'risk'] ?? undefined)
      : resolvePath(c.root === 'grant' ? grant : args, c.segments);
  return evaluateOp(c.op, actual, actual !== undefined, c.value, c.regex);
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
