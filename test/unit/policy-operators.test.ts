// Policy condition operators: the 11 ops, path lookup into arguments, counters, and the regex safety rules.
import { describe, expect, it } from 'vitest';
import { parsePolicyText } from '../../src/config/policy-file.js';
import { decide } from '../../src/policy/decide.js';
import {
  compileLinearRegex,
  evaluateCondition,
  evaluateOp,
  looseEquals,
  MAX_REGEX_INPUT,
  resolvePath,
} from '../../src/policy/operators.js';
import type { CompiledCondition, Operator } from '../../src/policy/types.js';
import { OPERATORS } from '../../src/policy/types.js';

/** A condition as compile.ts builds it, without going through a policy file. */
function cond(path: string, op: Operator, value: unknown): CompiledCondition {
  const [root, ...segments] = path.split('.');
  return {
    pointer: '/test',
    path,
    root: root === 'state' ? 'state' : 'args',
    segments: root === 'state' ? [segments[0]!, segments.slice(1).join('.')] : segments,
    op,
    value,
    regex: op === 'regex' ? new RegExp(value as string, 'u') : undefined,
  };
}

/** evaluateOp for a value that is present. */
function op(o: Operator, actual: unknown, expected: unknown): boolean {
  return evaluateOp(
    o,
    actual,
    true,
    expected,
    o === 'regex' ? new RegExp(expected as string, 'u') : undefined,
  );
}

describe('evaluateOp eq', () => {
  it.each([
    ['equal strings', 'usd', 'usd'],
    ['equal numbers', 42, 42],
    ['an integer and the same float', 1, 1.0],
    ['a numeric string and a number', '1', 1],
    ['a number and a numeric string', 2.5, '2.5'],
    ['a boolean and its printed form', true, 'true'],
    ['a numeric string that prints differently from the number (#17.5)', '1.0', 1],
    ['null and null', null, null],
    ['equal lists', ['a', 'b'], ['a', 'b']],
    ['equal objects with the same key order', { a: 1, b: 'x' }, { a: 1, b: 'x' }],
  ])('holds for %s', (_name, actual, expected) => {
    expect(op('eq', actual, expected)).toBe(true);
  });

  it.each([
    ['different strings', 'usd', 'eur'],
    ['different numbers', 1, 2],
    ['a case difference', 'USD', 'usd'],
    ['a boolean and a different string', false, 'true'],
    ['null and a string', null, 'null'],
    ['a list and its single element', ['a'], 'a'],
    ['lists in a different order', ['a', 'b'], ['b', 'a']],
  ])('fails for %s', (_name, actual, expected) => {
    expect(op('eq', actual, expected)).toBe(false);
  });
});

describe('evaluateOp neq', () => {
  it.each([
    ['different strings', 'main', 'develop', true],
    ['equal strings', 'main', 'main', false],
    ['a numeric string and the equal number', '7', 7, false],
    ['different numbers', 7, 8, true],
    ['a boolean and a different boolean', true, false, true],
  ])('compares %s loosely', (_name, actual, expected, result) => {
    expect(op('neq', actual, expected)).toBe(result);
  });
});

describe('evaluateOp lt lte gt gte', () => {
  it.each([
    ['lt', 1, 2, true],
    ['lt', 2, 2, false],
    ['lt', 3, 2, false],
    ['lt', -0.5, 0, true],
    ['lte', 2, 2, true],
    ['lte', 1.5, 2, true],
    ['lte', 2.0001, 2, false],
    ['gt', 3, 2, true],
    ['gt', 2, 2, false],
    ['gt', 1, 2, false],
    ['gte', 2, 2, true],
    ['gte', 3, 2, true],
    ['gte', 1.999, 2, false],
  ] as const)('%s compares %d with %d numerically', (o, actual, expected, result) => {
    expect(op(o, actual, expected)).toBe(result);
  });

  // #17.5: a numeric string compares as the number every parser reads in it (it used to be false).
  it.each([
    ['lt', '1', 2],
    ['lte', '2', 2],
    ['gt', '500', 100],
    ['gte', '100', 100],
  ] as const)('%s compares the numeric string %j with %j as a number', (o, actual, expected) => {
    expect(op(o, actual, expected)).toBe(true);
  });

  it.each([
    ['gt', 500, '100'],
    ['lt', true, 2],
    ['gte', null, 0],
    ['lte', [1], 2],
    ['gt', { n: 5 }, 1],
  ] as const)(
    '%s is false for %j against %j (not comparable, or not a number bound)',
    (o, actual, expected) => {
      expect(op(o, actual, expected)).toBe(false);
    },
  );
});

describe('evaluateOp in not_in', () => {
  it.each([
    ['a member string', 'usd', ['usd', 'eur'], true],
    ['a string that is not a member', 'gbp', ['usd', 'eur'], false],
    ['a numeric string against numbers', '2', [1, 2, 3], true],
    ['a number against numeric strings', 3, ['1', '3'], true],
    ['a boolean against its printed form', true, ['true'], true],
    ['a list against a list of lists', ['a'], [['a'], ['b']], true],
    ['anything against an empty list', 'usd', [], false],
  ])('in is %s: %j in %j', (_name, actual, expected, result) => {
    expect(op('in', actual, expected)).toBe(result);
    expect(op('not_in', actual, expected)).toBe(!result);
  });

  it.each([
    ['a string', 'usd'],
    ['a number', 1],
    ['an object', { usd: true }],
    ['null', null],
  ])('in is false when the expected value is %s rather than a list', (_name, expected) => {
    expect(op('in', 'usd', expected)).toBe(false);
  });

  it('not_in holds when the expected value is not a list (the loader rejects such policies)', () => {
    expect(op('not_in', 'usd', 'usd')).toBe(true);
  });
});

describe('evaluateOp exists', () => {
  it.each([
    ['a string', 'x', true, true],
    ['an empty string', '', true, true],
    ['zero', 0, true, true],
    ['false', false, true, true],
    ['an empty list', [], true, true],
    ['null', null, true, false],
    ['an undefined value that is present', undefined, true, true],
  ])('exists: true with %s present gives %s', (_name, actual, present, result) => {
    expect(evaluateOp('exists', actual, present, true)).toBe(result);
    expect(evaluateOp('exists', actual, present, false)).toBe(!result);
  });

  it('treats a missing path as absent', () => {
    expect(evaluateOp('exists', undefined, false, true)).toBe(false);
    expect(evaluateOp('exists', undefined, false, false)).toBe(true);
  });

  it('treats a non-boolean expected value as exists: false', () => {
    expect(evaluateOp('exists', 'x', true, 'true')).toBe(false);
    expect(evaluateOp('exists', undefined, false, 'true')).toBe(true);
  });
});

describe('evaluateOp regex', () => {
  it.each([
    ['an unanchored match in the middle', 'rm -rf /tmp', 'rf', true],
    ['an anchored pattern that matches', 'feature/login', '^(feature|fix)/[a-z-]+$', true],
    ['an anchored pattern that does not match', 'hotfix/login', '^(feature|fix)/', false],
    ['a case difference', 'DROP TABLE', 'drop table', false],
    ['a unicode letter class', 'Zürich', '^\\p{L}+$', true],
  ])('matches strings: %s', (_name, actual, pattern, result) => {
    expect(op('regex', actual, pattern)).toBe(result);
  });

  it.each([
    ['a number', 12345, '1'],
    ['a boolean', true, 'true'],
    ['null', null, 'null'],
    ['a list of strings', ['abc'], 'abc'],
    ['an object', { q: 'abc' }, 'abc'],
  ])('is false for %s', (_name, actual, pattern) => {
    expect(op('regex', actual, pattern)).toBe(false);
  });

  it('is false without a compiled regex', () => {
    expect(evaluateOp('regex', 'abc', true, 'abc')).toBe(false);
  });

  it('matches a string of exactly MAX_REGEX_INPUT characters', () => {
    expect(op('regex', `${'a'.repeat(MAX_REGEX_INPUT - 1)}!`, '!$')).toBe(true);
  });

  it('does not match a string longer than MAX_REGEX_INPUT', () => {
    expect(op('regex', `${'a'.repeat(MAX_REGEX_INPUT)}!`, '!$')).toBe(false);
  });

  it('does not match a 100 KB string even when the pattern would', () => {
    expect(op('regex', 'x'.repeat(100 * 1024), 'x')).toBe(false);
  });
});

describe('evaluateOp contains', () => {
  it.each([
    ['a substring', 'please run the release', 'release', true],
    ['a string without the substring', 'please run', 'release', false],
    ['the empty substring', 'anything', '', true],
    ['a list element', ['bug', 'release'], 'release', true],
    ['a list without the element', ['bug'], 'release', false],
    ['a list element compared loosely', [1, 2, 3], '2', true],
    ['a list of objects', [{ id: 1 }], { id: 1 }, true],
  ])('finds %s', (_name, actual, expected, result) => {
    expect(op('contains', actual, expected)).toBe(result);
  });

  it.each([
    ['a string searched for a number', 'a1', 1],
    ['a number', 12345, '2'],
    ['an object', { release: true }, 'release'],
    ['null', null, 'x'],
    ['a boolean', true, 'true'],
  ])('is false for %s', (_name, actual, expected) => {
    expect(op('contains', actual, expected)).toBe(false);
  });
});

describe('evaluateOp with a missing path', () => {
  const expected: Record<Operator, unknown> = {
    eq: 'x',
    neq: 'x',
    lt: 1,
    lte: 1,
    gt: 1,
    gte: 1,
    in: ['x'],
    not_in: ['x'],
    exists: true,
    regex: '.*',
    contains: 'x',
  };

  it.each(OPERATORS.map((o) => [o] as const))('%s is false', (o) => {
    const regex = o === 'regex' ? /.*/u : undefined;
    expect(evaluateOp(o, undefined, false, expected[o], regex)).toBe(false);
  });

  it('exists: false is the one condition that holds', () => {
    expect(evaluateOp('exists', undefined, false, false)).toBe(true);
  });
});

describe('looseEquals', () => {
  it('compares numbers as numbers, not by their printed form', () => {
    expect(looseEquals(0.1 + 0.2, 0.3)).toBe(false);
    expect(looseEquals(1e21, 1e21)).toBe(true);
  });

  it('compares objects by their JSON', () => {
    expect(looseEquals({ a: [1, 2] }, { a: [1, 2] })).toBe(true);
    expect(looseEquals({ a: [1, 2] }, { a: [2, 1] })).toBe(false);
  });
});

describe('resolvePath', () => {
  const args = {
    amount: 1200,
    customer: { id: 'cus_1', tier: 'enterprise', address: { country: 'DE' } },
    items: [
      { sku: 'A-1', qty: 2 },
      { sku: 'B-2', qty: 1 },
    ],
    note: null,
    name: 'refund',
  };

  it.each([
    [['amount'], 1200],
    [['customer', 'tier'], 'enterprise'],
    [['customer', 'address', 'country'], 'DE'],
    [['items', '0', 'sku'], 'A-1'],
    [['items', '1', 'qty'], 1],
    [['items', '1'], { sku: 'B-2', qty: 1 }],
    [['note'], null],
  ])('resolves %j', (segments, value) => {
    expect(resolvePath(args, segments)).toEqual(value);
  });

  it.each([
    [['missing']],
    [['customer', 'missing']],
    [['items', '2', 'sku']],
    [['items', '-1']],
    [['items', '1.5']],
    [['items', 'length']],
    [['items', 'sku']],
    [['name', 'length']],
    [['name', '0']],
    [['note', 'x']],
    [['amount', 'toFixed']],
  ])('is undefined for %j', (segments) => {
    expect(resolvePath(args, segments)).toBeUndefined();
  });

  it.each([
    [['__proto__']],
    [['constructor']],
    [['constructor', 'name']],
    [['toString']],
    [['hasOwnProperty']],
    [['customer', '__proto__', 'polluted']],
    [['items', 'constructor']],
  ])('treats inherited property %j as missing', (segments) => {
    expect(resolvePath(args, segments)).toBeUndefined();
  });

  it('reads an own __proto__ key that came from JSON', () => {
    const parsed = JSON.parse('{"__proto__": {"admin": true}}') as Record<string, unknown>;
    expect(resolvePath(parsed, ['__proto__', 'admin'])).toBe(true);
  });

  it('is undefined when there are no arguments', () => {
    expect(resolvePath(undefined, ['amount'])).toBeUndefined();
  });
});

describe('evaluateCondition', () => {
  const args = { amount: 1200, items: [{ sku: 'A-1' }], note: null, customer: { tier: 'pro' } };

  it.each([
    ['args.amount', 'gt', 1000, true],
    ['args.amount', 'lte', 1000, false],
    ['args.items.0.sku', 'eq', 'A-1', true],
    ['args.items.0.sku', 'regex', '^A-', true],
    ['args.items.1.sku', 'exists', false, true],
    ['args.customer.tier', 'in', ['pro', 'enterprise'], true],
    ['args.customer.tier', 'not_in', ['pro'], false],
    ['args.note', 'exists', true, false],
    ['args.note', 'eq', null, true],
    ['args.missing', 'neq', 'x', false],
    ['args.missing', 'not_in', ['x'], false],
    ['args.missing', 'exists', false, true],
    ['args.constructor', 'exists', true, false],
    ['args.__proto__', 'exists', true, false],
  ] as const)('%s %s %j is %s', (path, o, value, result) => {
    expect(evaluateCondition(cond(path, o, value), args, undefined)).toBe(result);
  });

  it('treats every args path as missing when the call has no arguments', () => {
    expect(evaluateCondition(cond('args.amount', 'neq', 1), undefined, undefined)).toBe(false);
    expect(evaluateCondition(cond('args.amount', 'exists', false), undefined, undefined)).toBe(true);
  });

  it('reads state paths from the counter callback with scope and counter name', () => {
    const seen: Array<[string, string]> = [];
    const counter = (scope: string, name: string) => {
      seen.push([scope, name]);
      return 5;
    };
    expect(evaluateCondition(cond('state.create_issue._rate_hour', 'lt', 5), {}, counter)).toBe(false);
    expect(evaluateCondition(cond('state.create_issue._rate_hour', 'lte', 5), {}, counter)).toBe(true);
    expect(seen).toEqual([
      ['create_issue', '_rate_hour'],
      ['create_issue', '_rate_hour'],
    ]);
  });

  it('keeps dots in a counter name', () => {
    let asked: string | undefined;
    evaluateCondition(cond('state._global.calls.per.minute', 'lte', 1), {}, (_s, n) => {
      asked = n;
      return 0;
    });
    expect(asked).toBe('calls.per.minute');
  });

  it('reads a counter that was never touched as 0', () => {
    expect(evaluateCondition(cond('state.t.c', 'eq', 0), {}, () => undefined)).toBe(true);
    expect(evaluateCondition(cond('state.t.c', 'eq', 0), {}, undefined)).toBe(true);
  });

  it('does not match a regex condition against a 100 KB argument', () => {
    const c = cond('args.body', 'regex', 'secret');
    expect(evaluateCondition(c, { body: `secret${'x'.repeat(100 * 1024)}` }, undefined)).toBe(false);
    expect(evaluateCondition(c, { body: `secret${'x'.repeat(1024)}` }, undefined)).toBe(true);
  });
});

describe('compileLinearRegex', () => {
  it.each([['(a)\\1'], ['(?<x>a)\\k<x>'], ['(?=a)'], ['a(?!b)'], ['(?<=a)b'], ['(?<!a)b']])(
    'refuses %s, which cannot run in linear time',
    (pattern) => {
      expect(compileLinearRegex(pattern)).toEqual({ error: expect.stringContaining('unsafe regex') });
    },
  );

  it('reports a syntax error as an invalid regex', () => {
    expect(compileLinearRegex('[a-')).toEqual({ error: expect.stringContaining('invalid regex') });
  });

  it.each([
    ['^[a-z]+$'],
    ['foo|bar'],
    ['(ab)+'],
    ['(a|b)+'],
    ['(a+)+'],
    ['(.*)*'],
    ['^([a-z]+\\.)*example\\.com$'],
    ['^(feature|fix)/[a-z0-9-]+$'],
    ['(?<year>\\d{4})-(?<month>\\d{2})'],
  ])('accepts %s', (pattern) => {
    expect(compileLinearRegex(pattern)).toHaveProperty('regex');
  });

  it.each([
    ['(a+)+b', 'a'.repeat(50_000)],
    ['a*a*a*b', 'a'.repeat(50_000)],
    ['.*secret.*token', 'x'.repeat(65_536)],
  ])('runs %s in linear time', (pattern, input) => {
    const compiled = compileLinearRegex(pattern);
    if (!('regex' in compiled)) throw new Error(compiled.error);
    const started = performance.now();
    expect(compiled.regex.test(input)).toBe(false);
    // A backtracking engine would not finish in the lifetime of the machine (2^50000 paths for the first), so a
    // generous bound proves linearity without failing on a loaded CI machine (measured: ~5 ms idle, ~1 s at load 20).
    expect(performance.now() - started).toBeLessThan(10_000);
  });
});

describe('regex conditions in a policy', () => {
  it('rejects a regex that cannot run in linear time with a problem naming its path and line', () => {
    const text = `{
  "version": "1",
  "default": "allow",
  "tools": {
    "search": {
      "deny_if": [
        { "conditions": [{ "path": "args.q", "op": "regex", "value": "^(a)\\\\1$" }] }
      ]
    }
  }
}`;
    const { policy, problems } = parsePolicyText(text, 'catastrophic.json');
    expect(policy).toBeUndefined();
    expect(problems).toEqual([
      expect.objectContaining({
        file: 'catastrophic.json',
        path: 'tools.search.deny_if[0].conditions[0].value',
        line: 7,
        message: expect.stringContaining('unsafe regex'),
      }),
    ]);
  });

  it('rejects a pattern JavaScript cannot compile', () => {
    const text =
      'version: "1"\ntools:\n  search:\n    rules:\n      - name: q\n        conditions:\n          - { path: args.q, op: regex, value: "[a-" }\n';
    const { problems } = parsePolicyText(text, 'bad.yaml');
    expect(problems).toEqual([
      expect.objectContaining({
        path: 'tools.search.rules[0].conditions[0].value',
        line: 7,
        message: expect.stringContaining('invalid regex'),
      }),
    ]);
  });

  it('denies a 100 KB argument in a loaded policy rather than search it', () => {
    const text =
      '{ "version": "1", "default": "allow", "tools": { "run": { "deny_if": [{ "path": "args.cmd", "op": "regex", "value": "rm -rf" }] } } }';
    const { policy } = parsePolicyText(text, 'regex.json');
    const call = (cmd: string) => decide(policy!, { server: 's', tool: 'run', args: { cmd } }).outcome;
    expect(call('rm -rf /')).toBe('deny');
    // #17.5/#17.7: too long to search is not comparable, and a deny_if fails closed (padding used to walk past it).
    expect(call(`rm -rf /${' '.repeat(100 * 1024)}`)).toBe('deny');
  });

  // Adjacent unbounded quantifiers backtrack polynomially in V8's default engine; the linear engine does not.
  it('evaluates a regex it accepted on the longest allowed input without stalling', () => {
    const text =
      '{ "version": "1", "default": "allow", "tools": { "run": { "deny_if": [{ "path": "args.cmd", "op": "regex", "value": ".*secret.*token" }] } } }';
    const { policy } = parsePolicyText(text, 'slow.json');
    if (policy === undefined) return;
    const started = performance.now();
    const d = decide(policy, { server: 's', tool: 'run', args: { cmd: 'x'.repeat(MAX_REGEX_INPUT) } });
    expect(d.outcome).toBe('allow');
    expect(performance.now() - started).toBeLessThan(250);
  });
});
