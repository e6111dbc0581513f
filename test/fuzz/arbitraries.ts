// Generators shared by the fuzz tests: policies in both formats the compiler accepts, calls aimed at them, JSON.
import fc from 'fast-check';
import { CATEGORIES, OPERATORS } from '../../src/policy/types.js';

/** Fixed seeds, so that every run replays the same cases (a failure prints the seed and the shrunk counterexample). */
export const SEEDS = { policy: 20_261_101, config: 20_261_102, http: 20_261_103 } as const;

/** Tool names with the characters a JSON Pointer must escape (`/`, `~`), unicode, and an empty-looking one. */
export const TOOL_NAMES = [
  'read_file',
  'write_file',
  'delete_repo',
  'create_refund',
  'search_code',
  'search_issues',
  'x',
  'café',
  'a/b~c',
] as const;
export const TOOL_GLOBS = ['*', 'delete_*', 'search_*', '*_file', 'search_?ode', '*e*', 'c?fé'] as const;
/** Top-level argument names the generated conditions refer to; calls use these and others. */
export const ARG_KEYS = ['amount', 'path', 'mode', 'reason', 'opts', 'items'] as const;
const SUB_KEYS = ['force', 'name', '0', '1', 'a'] as const;
const COUNTERS = ['calls', 'refunds', 'spend'] as const;
const RISKS = ['low', 'medium', 'high', 'critical'] as const;
const SAFE_PATTERNS = ['^a', 'b$', '[0-9]+', '.*', 'x|y', '^(a+)+$', '\\d{2,}', '^/etc/', 'é', '[', '(?=x)'];

const text = fc.oneof(
  fc.constantFrom('x', 'rm', '/etc/passwd', '1', 'true', '', 'a', 'aaaa', 'DROP TABLE', '\u200b', '𝒳'),
  fc.string({ maxLength: 8 }),
);
export const scalar: fc.Arbitrary<unknown> = fc.oneof(
  text,
  fc.integer({ min: -5, max: 1000 }),
  fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }),
  fc.boolean(),
  fc.constant(null),
);
export const compound: fc.Arbitrary<unknown> = fc.oneof(
  fc.dictionary(fc.constantFrom('a', 'b', 'force', 'name'), scalar, { maxKeys: 3 }),
  fc.array(scalar, { maxLength: 3 }),
  fc.array(fc.dictionary(fc.constantFrom('a', 'b'), scalar, { maxKeys: 2 }), { maxLength: 2 }),
);
const anyValue = fc.oneof({ weight: 3, arbitrary: scalar }, { weight: 1, arbitrary: compound });
const finite = fc.oneof(
  fc.integer({ min: -10, max: 1000 }),
  fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }),
);

const argsPath = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...ARG_KEYS).map((k) => `args.${k}`) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.constantFrom(...ARG_KEYS), fc.constantFrom(...SUB_KEYS))
      .map(([k, s]) => `args.${k}.${s}`),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom('grant.label', 'grant.groups', 'grant.id', 'tool.category', 'tool.risk'),
  },
  // #17.7: list quantifiers, on the argument itself or on a key of each element.
  {
    weight: 2,
    arbitrary: fc
      .tuple(
        fc.constantFrom(...ARG_KEYS),
        fc.constantFrom('[*]', '[any]', '[all]'),
        fc.option(fc.constantFrom(...SUB_KEYS)),
      )
      .map(([k, q, s]) => `args.${k}${q}${s === null ? '' : `.${s}`}`),
  },
);

/** A condition whose value suits its operator (mostly: some regex patterns are refused, which must be a problem). */
export function conditionArb(path: fc.Arbitrary<string> = argsPath): fc.Arbitrary<Record<string, unknown>> {
  return fc.constantFrom(...OPERATORS).chain((op) => {
    let value: fc.Arbitrary<unknown>;
    switch (op) {
      case 'lt':
      case 'lte':
      case 'gt':
      case 'gte':
        value = finite;
        break;
      case 'in':
      case 'not_in':
        value = fc.array(anyValue, { maxLength: 4 });
        break;
      case 'exists':
        value = fc.boolean();
        break;
      case 'regex':
        value = fc.oneof(fc.constantFrom(...SAFE_PATTERNS), fc.string({ maxLength: 6 }));
        break;
      default:
        value = fc.oneof(anyValue, fc.constantFrom(...CATEGORIES), fc.constantFrom(...RISKS));
    }
    return fc.record({ path, op: fc.constant(op), value });
  });
}

const message = fc.oneof(
  fc.constantFrom('No.', 'Refunds over 500 need a human.'),
  fc.string({ maxLength: 10 }),
);
const conditionRule = fc.oneof(
  conditionArb(),
  fc.record(
    { conditions: fc.array(conditionArb(), { maxLength: 3 }), on_deny: message },
    { requiredKeys: ['conditions'] },
  ),
);
const rules = fc.array(conditionRule, { maxLength: 3 });
const duration = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 1, max: 3600 }) },
  { weight: 8, arbitrary: fc.constantFrom('30s', '1m', '10m', '1h', '500ms') },
  { weight: 1, arbitrary: fc.constantFrom(1e308, 2 ** 53, 9_999_999_999, '99999999999d', 0.0001) },
);
const scope = fc.constantFrom('session', 'grant', 'tool', 'server', 'global');
const limit = fc.record(
  {
    counter: fc.constantFrom(...COUNTERS),
    window: fc.oneof(fc.constantFrom('second', 'minute', 'hour', 'day'), fc.integer({ min: 1, max: 86_400 })),
    max: fc.integer({ min: 0, max: 1000 }),
    scope,
    increment_from: fc.constant('args.amount'),
    on_deny: message,
  },
  { requiredKeys: ['counter', 'window', 'max'] },
);
const entryFields = {
  on_deny: message,
  deny_if: rules,
  require: rules,
  approve_if: rules,
  limits: fc.array(limit, { maxLength: 2 }),
  rate_limit: fc.record(
    { max: fc.integer({ min: 1, max: 100 }), window: duration, per: scope },
    { requiredKeys: ['max', 'window'] },
  ),
  approval: fc.record({ timeout: duration, mode: fc.constantFrom('hold', 'async') }, { requiredKeys: [] }),
};
const toolEntry = fc.oneof(
  { weight: 1, arbitrary: fc.constant(null) },
  {
    weight: 6,
    arbitrary: fc.record(
      {
        action: fc.constantFrom('allow', 'deny', 'require_approval'),
        reason: message,
        description: fc.string({ maxLength: 6 }),
        ...entryFields,
      },
      { requiredKeys: [] },
    ),
  },
);
const action = fc.constantFrom('allow', 'deny', 'require_approval');

/** A PolicyLayer (warden-native) policy object, as a JSON file holds it. */
export const policyLayerArb: fc.Arbitrary<Record<string, unknown>> = fc.record(
  {
    version: fc.constantFrom('1', 1),
    default: fc.constantFrom('allow', 'deny'),
    description: fc.string({ maxLength: 6 }),
    hide: fc.array(fc.constantFrom(...TOOL_NAMES, ...TOOL_GLOBS), { maxLength: 2 }),
    all_tools: fc.record(entryFields, { requiredKeys: [] }),
    tools: fc.dictionary(fc.constantFrom(...TOOL_NAMES, ...TOOL_GLOBS), toolEntry, { maxKeys: 5 }),
    categories: fc.dictionary(fc.constantFrom(...CATEGORIES), action, { maxKeys: 4 }),
    shadow: fc.boolean(),
    prompts: fc.dictionary(
      fc.constantFrom('p', 'p*'),
      fc.record(
        { action: fc.constantFrom('allow', 'deny', 'hide'), reason: message },
        { requiredKeys: ['action'] },
      ),
      { maxKeys: 2 },
    ),
  },
  { requiredKeys: ['version', 'default'] },
);

const INTERCEPT_TOOLS = ['read_file', 'delete_repo', 'create_refund', 'x', 'café'] as const;
const stateScope = fc.constantFrom(...INTERCEPT_TOOLS, '_global');
const interceptCondition = fc.oneof(
  { weight: 4, arbitrary: conditionArb(argsPath.filter((p) => p.startsWith('args.'))) },
  {
    weight: 1,
    arbitrary: conditionArb(
      fc.tuple(stateScope, fc.constantFrom(...COUNTERS)).map(([s, c]) => `state.${s}.${c}`),
    ),
  },
);
const ruleName = fc.constantFrom('r1', 'limit spend', 'no deletes');
const stateDecl = fc.record(
  {
    counter: fc.constantFrom(...COUNTERS),
    window: fc.constantFrom('minute', 'hour', 'day'),
    increment: fc.integer({ min: 0, max: 5 }),
    increment_from: fc.constant('args.amount'),
  },
  { requiredKeys: ['counter', 'window'] },
);
/** Rules of the shapes Intercept writes (rate limit, deny, evaluate, approval), and now and then any mix of keys. */
const interceptRule = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record(
      {
        name: ruleName,
        rate_limit: fc
          .tuple(fc.integer({ min: 1, max: 50 }), fc.constantFrom('minute', 'hour', 'day'))
          .map(([n, w]) => `${n}/${w}`),
        on_deny: message,
      },
      { requiredKeys: ['name', 'rate_limit'] },
    ),
  },
  {
    weight: 6,
    arbitrary: fc.record(
      { name: ruleName, action: fc.constant('deny'), on_deny: message },
      { requiredKeys: ['name', 'action'] },
    ),
  },
  {
    weight: 6,
    arbitrary: fc.record(
      {
        name: ruleName,
        action: fc.constant('evaluate'),
        conditions: fc.array(interceptCondition, { minLength: 1, maxLength: 3 }),
        on_deny: message,
        state: stateDecl,
      },
      { requiredKeys: ['name', 'conditions'] },
    ),
  },
  {
    weight: 6,
    arbitrary: fc.record(
      {
        name: ruleName,
        action: fc.constant('require_approval'),
        conditions: fc.array(interceptCondition, { maxLength: 2 }),
        approval_timeout: duration,
      },
      { requiredKeys: ['name', 'action'] },
    ),
  },
  {
    weight: 1,
    arbitrary: fc.record(
      {
        name: ruleName,
        action: fc.constantFrom('evaluate', 'deny', 'require_approval'),
        conditions: fc.array(interceptCondition, { maxLength: 3 }),
        on_deny: message,
        rate_limit: fc.constantFrom('5/minute', '0/hour', '10/week'),
        state: stateDecl,
        approval_timeout: duration,
      },
      { requiredKeys: ['name'] },
    ),
  },
);

/** A PolicyLayer Intercept policy object, as its YAML file holds it. */
export const interceptArb: fc.Arbitrary<Record<string, unknown>> = fc.record(
  {
    version: fc.constantFrom('1', 1),
    description: fc.string({ maxLength: 6 }),
    default: fc.constantFrom('allow', 'deny'),
    hide: fc.array(fc.constantFrom(...INTERCEPT_TOOLS), { maxLength: 1 }),
    tools: fc.dictionary(
      fc.constantFrom(...INTERCEPT_TOOLS, '*'),
      fc.record({
        rules: fc.oneof(
          { weight: 1, arbitrary: fc.constant(null) },
          { weight: 8, arbitrary: fc.array(interceptRule, { minLength: 1, maxLength: 3 }) },
        ),
      }),
      { minKeys: 1, maxKeys: 3 },
    ),
    shadow: fc.boolean(),
  },
  { requiredKeys: ['version', 'tools'] },
);

/** A condition of a policy as a call can aim at it: the argument path it reads and a value it compares with. */
export interface Aim {
  segments: string[];
  value: unknown;
}

/** Every `args.*` condition of a policy (one aim per element of an `in` list): calls reuse them, so rules match. */
export function aimsIn(policy: unknown): Aim[] {
  const out: Aim[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v !== null && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (typeof o.path === 'string' && typeof o.op === 'string' && o.path.startsWith('args.')) {
        // A quantified key (`items[*]`) is aimed at through its first element (`items.0`).
        const segments = o.path
          .split('.')
          .slice(1)
          .flatMap((seg) => {
            const m = /^(.*?)((?:\[(?:\*|any|all)\])+)$/.exec(seg);
            return m === null
              ? [seg]
              : [
                  m[1]!,
                  ...m[2]!
                    .split(']')
                    .slice(0, -1)
                    .map(() => '0'),
                ];
          });
        out.push({ segments, value: o.value });
        if (Array.isArray(o.value)) for (const e of o.value) out.push({ segments, value: e });
      }
      for (const x of Object.values(o)) walk(x);
    }
  };
  walk(policy);
  return out;
}

/** Sets a value at a path, making objects (or, for a numeric segment, arrays) on the way; keeps what is there. */
function setAt(root: Record<string, unknown>, segments: readonly string[], value: unknown): void {
  let cur: Record<string, unknown> = root;
  for (let i = 0; i < segments.length - 1; i++) {
    const seg = segments[i]!;
    const next = cur[seg];
    const numeric = /^\d+$/.test(segments[i + 1]!);
    if (next === null || typeof next !== 'object' || (Array.isArray(next) && !numeric)) {
      cur[seg] = numeric ? [] : {};
    }
    cur = cur[seg] as Record<string, unknown>;
  }
  cur[segments.at(-1)!] = value;
}

/** A deeply nested value is described, not generated, so that a counterexample prints (its JSON would not). */
export interface DeepSpec {
  key: string;
  depth: number;
  kind: 'array' | 'object';
}

export function buildDeep(spec: DeepSpec): unknown {
  let v: unknown = 'bottom';
  for (let i = 0; i < spec.depth; i++) v = spec.kind === 'array' ? [v] : { force: v };
  return v;
}

export interface CallSpec {
  tool: string;
  args: Record<string, unknown> | undefined;
  deep: DeepSpec | undefined;
  category: (typeof CATEGORIES)[number] | undefined;
  risk: string | undefined;
  grant: { id: string; label: string; groups: string[] } | undefined;
  counters: Record<string, number>;
}

/** Calls aimed at a policy: its tool names, its argument paths, and the very values its conditions compare with. */
export function callArb(aims: readonly Aim[]): fc.Arbitrary<CallSpec> {
  const reuse = aims.length > 0 ? [fc.constantFrom(...aims.map((a) => a.value))] : [];
  const argValue: fc.Arbitrary<unknown> = fc.oneof(
    ...reuse,
    scalar,
    compound,
    fc.dictionary(fc.constantFrom(...SUB_KEYS), fc.oneof(...reuse, scalar), { maxKeys: 3 }),
    fc.jsonValue({ maxDepth: 3 }),
  );
  const args = fc
    .tuple(
      fc.dictionary(fc.constantFrom(...ARG_KEYS, 'other'), argValue, { maxKeys: 4 }),
      fc.subarray([...aims], { maxLength: Math.min(3, aims.length) }),
    )
    .map(([random, aimed]) => {
      const out = JSON.parse(JSON.stringify(random)) as Record<string, unknown>;
      for (const aim of aimed) setAt(out, aim.segments, JSON.parse(JSON.stringify(aim.value ?? null)));
      return out;
    });
  return fc.record({
    tool: fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom(...TOOL_NAMES) },
      { weight: 1, arbitrary: fc.string({ maxLength: 8 }) },
    ),
    args: fc.option(args, { freq: 8, nil: undefined }),
    deep: fc.oneof(
      { weight: 12, arbitrary: fc.constant(undefined) },
      {
        weight: 1,
        arbitrary: fc.record({
          key: fc.constantFrom(...ARG_KEYS),
          depth: fc.integer({ min: 2_000, max: 50_000 }),
          kind: fc.constantFrom('array' as const, 'object' as const),
        }),
      },
    ),
    category: fc.option(fc.constantFrom(...CATEGORIES), { nil: undefined }),
    risk: fc.option(fc.constantFrom(...RISKS), { nil: undefined }),
    grant: fc.option(
      fc.record({
        id: fc.constantFrom('g1', 'x'),
        label: fc.constantFrom('ci-runner', 'x', 'a'),
        groups: fc.array(fc.constantFrom('ops', 'x', 'a'), { maxLength: 2 }),
      }),
      { nil: undefined },
    ),
    counters: fc.dictionary(
      fc.tuple(stateScope, fc.constantFrom(...COUNTERS)).map(([s, c]) => `${s}.${c}`),
      fc.integer({ min: 0, max: 20 }),
      { maxKeys: 3 },
    ),
  });
}
