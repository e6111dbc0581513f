// decide()'s precedence as a table: hidden, deny, unmet require, limits, approval, allow, categories, default.
import { describe, expect, it } from 'vitest';
import { compilePolicyLayer } from '../../src/policy/compile.js';
import { decide, decideLayers, explain } from '../../src/policy/decide.js';
import { type PolicyLayerFile, policyLayerSchema } from '../../src/policy/schema.js';
import type { Category } from '../../src/policy/types.js';

function compile(policy: unknown, source = 'test.json') {
  const parsed = policyLayerSchema.parse(policy) as PolicyLayerFile;
  const { policy: compiled, problems } = compilePolicyLayer(parsed, source);
  expect(problems).toEqual([]);
  return compiled;
}

const EVERYTHING = {
  version: '1',
  default: 'deny',
  hide: ['secret_*', 'exact_hidden'],
  all_tools: { deny_if: [{ path: 'args.dry_run', op: 'eq', value: 'never' }] },
  tools: {
    exact_hidden: {},
    secret_listed: {},
    blocked: { action: 'deny', reason: 'blocked by action' },
    refund: {
      deny_if: [{ conditions: [{ path: 'args.amount', op: 'gt', value: 500 }], on_deny: 'too much' }],
      require: [{ path: 'args.reason', op: 'exists', value: true }],
      approve_if: [{ path: 'args.amount', op: 'gt', value: 100 }],
      limits: [{ counter: 'refunds', window: 'hour', max: 10, scope: 'grant' }],
    },
    merge: { action: 'require_approval', approval: { timeout: '10m' } },
    'search_*': { rate_limit: { max: 10, window: 60, per: 'session' } },
    search_exact: {},
    'a*': { action: 'deny' },
    'ab*': {},
  },
  categories: { destructive: 'require_approval', financial: 'deny', read: 'allow' },
};

const policy = compile(EVERYTHING);

describe('decide precedence', () => {
  it.each<[string, string, Record<string, unknown> | undefined, Category | undefined, string, string]>([
    // name, tool, args, category, outcome, rule
    ['hidden by glob beats a listing entry', 'secret_listed', {}, undefined, 'hidden', '(hidden)'],
    ['hidden by exact name', 'exact_hidden', {}, undefined, 'hidden', '(hidden)'],
    ['action deny', 'blocked', {}, undefined, 'deny', '/tools/blocked/action'],
    [
      'all_tools deny_if applies to every tool',
      'search_exact',
      { dry_run: 'never' },
      undefined,
      'deny',
      '/all_tools/deny_if/0',
    ],
    [
      'deny_if beats an unmet require',
      'refund',
      { amount: 900 },
      undefined,
      'deny',
      '/tools/refund/deny_if/0',
    ],
    ['unmet require beats approval', 'refund', { amount: 200 }, undefined, 'deny', '/tools/refund/require/0'],
    [
      'approve_if when requirements hold',
      'refund',
      { amount: 200, reason: 'dup' },
      undefined,
      'require_approval',
      '/tools/refund/approve_if/0',
    ],
    ['allowed with its limits', 'refund', { amount: 50, reason: 'dup' }, undefined, 'allow', '/tools/refund'],
    ['action require_approval', 'merge', {}, undefined, 'require_approval', '/tools/merge/action'],
    ['exact name beats a glob', 'search_exact', {}, undefined, 'allow', '/tools/search_exact'],
    ['glob entry', 'search_issues', {}, undefined, 'allow', '/tools/search_*'],
    ['the most specific glob wins', 'abc', {}, undefined, 'allow', '/tools/ab*'],
    ['a less specific glob', 'axe', {}, undefined, 'deny', '/tools/a*/action'],
    [
      'categories for unlisted tools',
      'drop_table',
      {},
      'destructive',
      'require_approval',
      '/categories/destructive',
    ],
    ['category deny', 'charge', {}, 'financial', 'deny', '/categories/financial'],
    ['category allow', 'lookup', {}, 'read', 'allow', '/categories/read'],
    ['a category without an entry falls to default', 'post', {}, 'communication', 'deny', '(default deny)'],
    ['unknown category falls to default', 'whatever', {}, undefined, 'deny', '(default deny)'],
  ])('%s', (_name, tool, args, category, outcome, rule) => {
    const d = decide(policy, { server: 's', tool, args, category });
    expect({ outcome: d.outcome, rule: d.rule }).toEqual({ outcome, rule });
  });

  it('returns the limits of an allowed call as obligations', () => {
    const d = decide(policy, { server: 's', tool: 'refund', args: { amount: 50, reason: 'dup' } });
    expect(d.limits).toEqual([
      expect.objectContaining({
        rule: '/tools/refund/limits/0',
        counter: 'refunds',
        max: 10,
        windowMs: 3_600_000,
        window: 'calendar',
        scope: 'grant',
      }),
    ]);
    const search = decide(policy, { server: 's', tool: 'search_x', args: {} });
    expect(search.limits).toEqual([
      expect.objectContaining({
        rule: '/tools/search_*/rate_limit',
        max: 10,
        windowMs: 60_000,
        window: 'sliding',
        scope: 'session',
      }),
    ]);
  });

  it('returns the approval obligation with its timeout', () => {
    const d = decide(policy, { server: 's', tool: 'merge', args: {} });
    expect(d.approval).toEqual({ rule: '/tools/merge/action', timeoutMs: 600_000, mode: 'hold' });
  });

  it('allows unlisted tools under default allow', () => {
    const open = compile({ version: '1', default: 'allow' });
    expect(decide(open, { server: 's', tool: 'x', args: {} }).rule).toBe('(default allow)');
  });

  it('returns the same decision object for the same outcome (no allocation per call)', () => {
    const call = { server: 's', tool: 'search_exact', args: {} };
    expect(decide(policy, call)).toBe(decide(policy, call));
  });

  it('explains the path it took, ending with the deciding rule', () => {
    const { decision, steps } = explain(policy, { server: 's', tool: 'refund', args: { amount: 200 } });
    expect(decision.rule).toBe('/tools/refund/require/0');
    expect(steps.map((s) => `${s.result} ${s.rule}`)).toEqual([
      'not matched /hide',
      'matched /tools/refund',
      'not matched /tools/refund/deny_if/0/conditions/0',
      'not matched /all_tools/deny_if/0',
      'not matched /tools/refund/require/0',
      'decided /tools/refund/require/0',
    ]);
  });
});

describe('decideLayers', () => {
  const global = compile(
    { version: '1', default: 'allow', hide: ['g_hidden'], tools: { g_denied: { action: 'deny' } } },
    'global.json',
  );
  const server = compile(
    {
      version: '1',
      default: 'deny',
      tools: { g_hidden: {}, g_denied: {}, ok: { limits: [{ counter: 'c', window: 'minute', max: 1 }] } },
    },
    'server.json',
  );

  it('hides what any policy hides', () => {
    expect(decideLayers([global, server], { server: 's', tool: 'g_hidden', args: {} }).outcome).toBe(
      'hidden',
    );
  });

  it('denies what any policy denies, naming that policy', () => {
    const d = decideLayers([global, server], { server: 's', tool: 'g_denied', args: {} });
    expect({ outcome: d.outcome, policy: d.policy }).toEqual({ outcome: 'deny', policy: 'global.json' });
    expect(decideLayers([global, server], { server: 's', tool: 'other', args: {} }).policy).toBe(
      'server.json',
    );
  });

  it('allows what every policy allows, with the most specific rule', () => {
    const d = decideLayers([global, server], { server: 's', tool: 'ok', args: {} });
    expect({ outcome: d.outcome, rule: d.rule, limits: d.limits.length }).toEqual({
      outcome: 'allow',
      rule: '/tools/ok',
      limits: 1,
    });
  });

  it('reports a shadow policy without enforcing it', () => {
    const shadow = compile({ version: '1', default: 'deny', shadow: true }, 'shadow.json');
    const seen: string[] = [];
    const d = decideLayers([shadow], { server: 's', tool: 'x', args: {} }, (s) =>
      seen.push(`${s.policy} ${s.rule}`),
    );
    expect(d.rule).toBe('(no policy)');
    expect(seen).toEqual(['shadow.json (default deny)']);
  });
});
