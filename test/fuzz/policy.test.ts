// Property-based fuzzing of the policy engine: generated PolicyLayer JSON and Intercept YAML policies, and calls aimed
// at them, against what SPEC §5 promises of decide(), explain() and decideLayers().
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parsePolicyText } from '../../src/config/policy-file.js';
import { decide, decideLayers, explain } from '../../src/policy/decide.js';
import { resolvePath } from '../../src/policy/operators.js';
import type {
  CompiledPolicy,
  ConditionRule,
  Decision,
  Outcome,
  ToolCall,
  ToolEntry,
} from '../../src/policy/types.js';
import {
  aimsIn,
  buildDeep,
  type CallSpec,
  callArb,
  interceptArb,
  policyLayerArb,
  SEEDS,
} from './arbitraries.js';

type Format = 'policylayer' | 'intercept';
const RUNS = 1000;
const stats = { policies: 0, invalid: 0, calls: 0, denyChecks: 0, keyChecks: 0, orderChecks: 0 };

afterAll(() => {
  // The figures docs/security.md quotes (vitest prints console output of the file).
  console.log(`policy fuzz: ${JSON.stringify(stats)}`);
});

/** Through the loader, as a file would come: JSON text for PolicyLayer, YAML text for Intercept. */
function load(value: unknown, format: Format): { policy?: CompiledPolicy; problems: unknown[] } {
  const text = format === 'policylayer' ? JSON.stringify(value) : stringify(value);
  const { policy, problems } = parsePolicyText(text, format === 'policylayer' ? 'fuzz.json' : 'fuzz.yaml');
  stats.policies++;
  if (policy === undefined) {
    stats.invalid++;
    // A refused policy says where and why: every problem names the file, a path, and a message.
    expect(problems.length).toBeGreaterThan(0);
    for (const p of problems) {
      expect(p.file).toMatch(/^fuzz\.(json|yaml)$/);
      expect(typeof p.path).toBe('string');
      expect(p.message.length).toBeGreaterThan(0);
    }
  } else expect(problems).toEqual([]);
  return { ...(policy ? { policy } : {}), problems };
}

function toCall(spec: CallSpec, args = spec.args): ToolCall {
  let a = args;
  if (spec.deep !== undefined) a = { ...(a ?? {}), [spec.deep.key]: buildDeep(spec.deep) };
  return {
    server: 'fuzz',
    tool: spec.tool,
    args: a,
    category: spec.category,
    risk: spec.risk,
    grant: spec.grant,
    counter: (scope, name) => spec.counters[`${scope}.${name}`],
  };
}

/** RFC 6901 lookup: does the pointer name something in the policy as written? */
function pointsInto(policy: unknown, pointer: string): boolean {
  let cur: unknown = policy;
  for (const raw of pointer.split('/').slice(1)) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (cur === null || typeof cur !== 'object' || !Object.hasOwn(cur, key)) return false;
    cur = (cur as Record<string, unknown>)[key];
  }
  return true;
}

const SPECIAL_RULES = new Set(['(hidden)', '(default deny)', '(default allow)', '(no policy)']);
const STRICTNESS: Record<Outcome, number> = { allow: 0, require_approval: 1, deny: 2, hidden: 3 };

function entriesOf(p: CompiledPolicy): ToolEntry[] {
  return [...p.toolsExact.values(), ...p.toolGlobs.map((g) => g.entry), ...(p.allTools ? [p.allTools] : [])];
}

/** Which kind of rule produced a deny: a `deny_if` item, an unmet `require` item, or something static. */
function originOf(
  layers: readonly CompiledPolicy[],
  d: Decision,
): { kind: 'deny_if' | 'require'; rule: ConditionRule } | { kind: 'static' } {
  for (const p of layers) {
    for (const e of entriesOf(p)) {
      const deny = e.denyIf.find((r) => r.decision === d);
      if (deny) return { kind: 'deny_if', rule: deny };
      const req = e.require.find((r) => r.decision === d);
      if (req) return { kind: 'require', rule: req };
    }
  }
  return { kind: 'static' };
}

function holdsObject(v: unknown): boolean {
  if (Array.isArray(v)) return v.some(holdsObject);
  return v !== null && typeof v === 'object';
}

/**
 * A `deny_if` item that matched can stop matching when fields are added only by naming them itself: an
 * `exists: false` (the field was absent), or an equality-like operator on a whole object (its JSON changes).
 */
function undoneByAddedFields(rule: ConditionRule, args: Record<string, unknown> | undefined): boolean {
  return rule.conditions.some(
    (c) =>
      (c.op === 'exists' && c.value === false) ||
      (c.root === 'args' &&
        ['eq', 'neq', 'in', 'not_in', 'contains'].includes(c.op) &&
        holdsObject(resolvePath(args, c.segments))),
  );
}

/** The first path segment of every `args.*` condition: adding a field not among these may change nothing. */
function namedArgs(layers: readonly CompiledPolicy[]): Set<string> {
  const out = new Set<string>();
  for (const p of layers) {
    for (const e of entriesOf(p)) {
      for (const r of [...e.denyIf, ...e.require, ...e.approveIf]) {
        for (const c of r.conditions)
          if (c.root === 'args' && c.segments[0] !== undefined) out.add(c.segments[0]);
      }
    }
  }
  return out;
}

function clone<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

/** Adds each extra field to some object of the arguments (the root or any nested one), never changing a value. */
function extend(
  args: Record<string, unknown>,
  extras: ReadonlyArray<{ at: number; key: string; value: unknown }>,
): Record<string, unknown> {
  const out = clone(args);
  const objects: Record<string, unknown>[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v !== null && typeof v === 'object') {
      objects.push(v as Record<string, unknown>);
      Object.values(v).forEach(walk);
    }
  };
  walk(out);
  for (const x of extras) {
    const target = objects[x.at % objects.length]!;
    if (!Object.hasOwn(target, x.key)) target[x.key] = clone(x.value);
  }
  return out;
}

/** The same JSON value with the keys of every object in the opposite order. */
function reverseKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(reverseKeys);
  if (v === null || typeof v !== 'object') return v;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v).reverse()) out[k] = reverseKeys((v as Record<string, unknown>)[k]);
  return out;
}

const extras = fc.array(
  fc.record({
    at: fc.nat(),
    key: fc.oneof(
      fc.constantFrom('amount', 'path', 'mode', 'reason', 'opts', 'force', 'name', 'a', '0'),
      fc.string(),
    ),
    value: fc.jsonValue({ maxDepth: 2 }),
  }),
  { minLength: 1, maxLength: 4 },
);

/** Two policies (a global one and a server's own) of one format, and calls aimed at both. */
function casesOf(format: Format) {
  const arb = format === 'policylayer' ? policyLayerArb : interceptArb;
  return fc
    .tuple(arb, arb)
    .chain(([a, b]) =>
      fc.tuple(
        fc.constant(a),
        fc.constant(b),
        fc.array(callArb([...aimsIn(a), ...aimsIn(b)]), { minLength: 1, maxLength: 4 }),
      ),
    );
}

const options = (seed: number) => ({ seed, numRuns: RUNS, endOnFailure: false });

describe.each(['policylayer', 'intercept'] as const)('policy engine fuzz (%s)', (format) => {
  const seed = SEEDS.policy + (format === 'intercept' ? 1 : 0);

  it('loads or refuses every generated policy with located problems; decide() never throws, explain() agrees, the rule points into the policy', () => {
    fc.assert(
      fc.property(casesOf(format), ([a, b, calls]) => {
        const pa = load(a, format).policy;
        const pb = load(b, format).policy;
        for (const [value, p] of [
          [a, pa],
          [b, pb],
        ] as const) {
          if (p === undefined) continue;
          for (const spec of calls) {
            stats.calls++;
            const call = toCall(spec);
            const d = decide(p, call);
            const e = explain(p, call);
            expect(e.decision).toBe(d);
            const decided = e.steps.filter((s) => s.result === 'decided');
            expect(decided).toHaveLength(1);
            expect(e.steps.at(-1)).toMatchObject({ rule: d.rule, result: 'decided', detail: d.outcome });
            expect(SPECIAL_RULES.has(d.rule) || pointsInto(value, d.rule), d.rule).toBe(true);
            if (d.outcome === 'deny') expect(typeof d.reason).toBe('string');
            if (d.outcome === 'require_approval') expect(d.approval).toBeDefined();
          }
        }
        if (pa === undefined || pb === undefined) return;
        // Two layers: each may only narrow. The layered outcome is the strictest of the enforcing layers'.
        for (const spec of calls) {
          const call = toCall(spec);
          const layered = decideLayers([pa, pb], call);
          const enforcing = [pa, pb].filter((p) => !p.shadow).map((p) => STRICTNESS[decide(p, call).outcome]);
          expect(STRICTNESS[layered.outcome]).toBe(Math.max(0, ...enforcing));
        }
      }),
      options(seed),
    );
  });

  it('argument fields that no condition names never change the decision', () => {
    fc.assert(
      fc.property(
        casesOf(format),
        fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 2 }), { minKeys: 1, maxKeys: 4 }),
        ([a, b, calls], added) => {
          const pa = load(a, format).policy;
          const pb = load(b, format).policy;
          if (pa === undefined || pb === undefined) return;
          const named = namedArgs([pa, pb]);
          for (const spec of calls) {
            const base = spec.args ?? {};
            const more = clone(base);
            for (const [k, v] of Object.entries(added))
              if (!named.has(k) && !Object.hasOwn(more, k)) more[k] = v;
            const before = toCall({ ...spec, deep: undefined }, base);
            const after = toCall({ ...spec, deep: undefined }, more);
            stats.keyChecks++;
            expect(decide(pa, after)).toBe(decide(pa, before));
            expect(decideLayers([pa, pb], after)).toEqual(decideLayers([pa, pb], before));
          }
        },
      ),
      options(seed + 10),
    );
  });

  it('adding fields never turns a deny into an allow, except through the rule that names them (require, exists: false, whole-object equality)', () => {
    fc.assert(
      fc.property(casesOf(format), extras, ([a, b, calls], added) => {
        const pa = load(a, format).policy;
        const pb = load(b, format).policy;
        if (pa === undefined || pb === undefined) return;
        for (const layers of [[pa], [pb], [pa, pb]]) {
          for (const spec of calls) {
            const call = toCall({ ...spec, deep: undefined });
            const d = layers.length === 1 ? decide(layers[0]!, call) : decideLayers(layers, call);
            if (d.outcome !== 'deny' && d.outcome !== 'hidden') continue;
            const origin = originOf(layers, d);
            if (origin.kind === 'require') continue; // a require asks for fields: meeting it is the point
            if (origin.kind === 'deny_if' && undoneByAddedFields(origin.rule, call.args)) continue;
            const more = extend(call.args ?? {}, added);
            const d2 =
              layers.length === 1
                ? decide(layers[0]!, { ...call, args: more })
                : decideLayers(layers, { ...call, args: more });
            stats.denyChecks++;
            expect(['deny', 'hidden'], `${d.rule} -> ${d2.rule} with ${JSON.stringify(more)}`).toContain(
              d2.outcome,
            );
          }
        }
      }),
      options(seed + 20),
    );
  });

  it('the order of keys in an argument object never changes the decision', () => {
    fc.assert(
      fc.property(casesOf(format), ([a, b, calls]) => {
        const pa = load(a, format).policy;
        const pb = load(b, format).policy;
        if (pa === undefined || pb === undefined) return;
        for (const spec of calls) {
          const call = toCall({ ...spec, deep: undefined });
          const reordered = { ...call, args: reverseKeys(call.args) as Record<string, unknown> | undefined };
          stats.orderChecks++;
          expect(decide(pa, reordered)).toBe(decide(pa, call));
          expect(decideLayers([pa, pb], reordered)).toEqual(decideLayers([pa, pb], call));
        }
      }),
      options(seed + 30),
    );
  });
});

describe('policy engine fuzz (checks that the generators reach the rules)', () => {
  it('most generated policies load, and the deny property was exercised', () => {
    expect(stats.policies).toBeGreaterThan(0);
    expect(stats.invalid / stats.policies).toBeLessThan(0.7);
    expect(stats.denyChecks).toBeGreaterThan(1000);
  });
});

describe('policy engine fuzz findings', () => {
  const compiled = (deny_if: unknown) => {
    const { policy, problems } = parsePolicyText(
      JSON.stringify({ version: '1', default: 'allow', tools: { t: { deny_if: [deny_if] } } }),
      'finding.json',
    );
    expect(problems).toEqual([]);
    return policy!;
  };
  const call = (args: Record<string, unknown>): ToolCall => ({ server: 's', tool: 't', args });

  it('finding: an argument object whose keys come in another order than the policy value no longer escapes an eq deny_if', () => {
    const p = compiled({ path: 'args.opts', op: 'eq', value: { force: true, path: '/' } });
    expect(decide(p, call({ opts: { force: true, path: '/' } })).outcome).toBe('deny');
    expect(decide(p, call({ opts: { path: '/', force: true } })).outcome).toBe('deny');
    const listed = compiled({ path: 'args.opts', op: 'in', value: [{ a: 1, b: [{ c: 1, d: 2 }] }] });
    expect(decide(listed, call({ opts: { b: [{ d: 2, c: 1 }], a: 1 } })).outcome).toBe('deny');
  });

  // #17.7: a list where the rule wrote one value is not comparable, so every one of these deny_if items now fails
  // closed (eq, in and contains used to let it through).
  it('finding: a deeply nested argument is decided (it cannot be compared: deny_if fails closed) instead of making decide() throw', () => {
    const deep = JSON.parse(`${'['.repeat(100_000)}${']'.repeat(100_000)}`) as unknown;
    for (const op of ['eq', 'in', 'contains', 'neq', 'not_in']) {
      const p = compiled({ path: 'args.a', op, value: op === 'in' || op === 'not_in' ? ['x'] : 'x' });
      expect(decide(p, call({ a: deep })).outcome).toBe('deny');
    }
    const list = compiled({ path: 'args.a', op: 'eq', value: ['x'] });
    expect(decide(list, call({ a: deep })).outcome).toBe('deny');
  });
});
