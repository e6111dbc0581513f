// Golden policy files (PolicyLayer JSON, Intercept YAML): every field loads, and decide() gives the tabled decisions.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPolicyFile, parsePolicyText } from '../../src/config/policy-file.js';
import { ConfigError, WardenError } from '../../src/errors.js';
import { decide, decideLayers, decideName, NO_POLICY } from '../../src/policy/decide.js';
import type { Category, Decision, LimitObligation } from '../../src/policy/types.js';

const DIR = resolve(import.meta.dirname, '../fixtures/policies');
const FULL_JSON = join(DIR, 'policylayer-full.json');
const FULL_YAML = join(DIR, 'intercept-full.yaml');
const GLOBAL_JSON = join(DIR, 'policylayer-global.json');
const SHADOW_JSON = join(DIR, 'policylayer-shadow.json');

const pl = loadPolicyFile(FULL_JSON).policy;
const ic = loadPolicyFile(FULL_YAML).policy;
const globalPolicy = loadPolicyFile(GLOBAL_JSON).policy;
const shadowPolicy = loadPolicyFile(SHADOW_JSON).policy;

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

type Args = Record<string, unknown> | undefined;
type Row = [
  behaviour: string,
  tool: string,
  args: Args,
  outcome: Decision['outcome'],
  rule: string,
  reason: string | undefined,
];

function call(tool: string, args: Args = {}, category?: Category) {
  return { server: 'billing', tool, args, category };
}

/** outcome, rule and reason of one decision. */
function summary(d: Decision) {
  return { outcome: d.outcome, rule: d.rule, reason: d.reason };
}

/** A limit obligation as the policies below spell it; the defaults are those of a plain calendar quota. */
function limit(l: Partial<LimitObligation> & Pick<LimitObligation, 'rule' | 'counter' | 'max' | 'windowMs'>) {
  return {
    scope: 'grant',
    window: 'calendar',
    increment: 1,
    incrementFrom: undefined,
    message: undefined,
    ...l,
  };
}

function problemsOf(text: string, file: string) {
  const { policy, problems } = parsePolicyText(text, file);
  expect(policy).toBeUndefined();
  return problems;
}

// The limits every call to a tool of the PolicyLayer fixture carries (all_tools.limits and all_tools.rate_limit).
const PL_SHARED = [
  limit({ rule: '/all_tools/limits/0', counter: 'calls_per_minute', max: 120, windowMs: MINUTE }),
  limit({ rule: '/all_tools/limits/1', counter: 'calls_per_day', max: 5000, windowMs: DAY, scope: 'global' }),
  limit({
    rule: '/all_tools/rate_limit',
    counter: 'rate:/all_tools',
    max: 20,
    windowMs: 1000,
    scope: 'session',
    window: 'sliding',
  }),
];

// The limit every listed tool of the Intercept fixture carries (the "*" rule `rate_limit: 60/minute`).
const IC_GLOBAL_RATE = limit({
  rule: '/tools/*/rules/0',
  counter: '_global._rate_minute',
  max: 60,
  windowMs: MINUTE,
  scope: 'global',
  message: 'Rate limit of 60 per minute reached. Try again later.',
});

const REFUND = { amount: 2500, currency: 'usd', reason: 'charged twice' };

describe('PolicyLayer golden file', () => {
  it('loads as a PolicyLayer policy with every section', () => {
    expect(pl.format).toBe('policylayer');
    expect(pl.default).toBe('deny');
    expect(pl.shadow).toBe(false);
    expect(pl.source).toBe(FULL_JSON);
    expect([...pl.hideExact]).toEqual(['purge_customer_data']);
    expect(pl.hideGlobs).toHaveLength(1);
    expect(pl.toolGlobs.map((g) => g.entry.key)).toEqual([
      'delete_customer_*',
      'delete_*',
      'list_*',
      'get_*',
    ]);
    expect([...pl.categories.keys()]).toEqual(['read', 'destructive', 'financial', 'communication']);
  });

  const rows: Row[] = [
    // hide
    [
      'hides a listed tool named in hide',
      'purge_customer_data',
      {},
      'hidden',
      '(hidden)',
      'This tool is hidden by policy',
    ],
    [
      'hides a tool matched by a hide glob',
      'internal_audit_log',
      {},
      'hidden',
      '(hidden)',
      'This tool is hidden by policy',
    ],
    // names and globs
    [
      'allows a tool listed with {} under default deny',
      'list_customers',
      {},
      'allow',
      '/tools/list_customers',
      undefined,
    ],
    ['prefers the exact name over a glob', 'get_balance', {}, 'allow', '/tools/get_balance', undefined],
    ['allows a tool matched by a glob entry', 'get_invoice', {}, 'allow', '/tools/get_*', undefined],
    ['allows another glob entry', 'list_invoices', {}, 'allow', '/tools/list_*', undefined],
    [
      'lets the most specific glob win',
      'delete_customer_notes',
      {},
      'deny',
      '/tools/delete_customer_*/action',
      'Customer records are never deleted by agents.',
    ],
    [
      'falls back to the less specific glob',
      'delete_invoice',
      {},
      'require_approval',
      '/tools/delete_*/action',
      'Deleting billing records needs a human.',
    ],
    [
      'denies an unlisted tool by default',
      'refund_everything',
      {},
      'deny',
      '(default deny)',
      'This tool is not permitted by policy',
    ],
    // actions
    [
      'denies action: deny with a generated reason',
      'cancel_subscription',
      {},
      'deny',
      '/tools/cancel_subscription/action',
      'Denied by rule /tools/cancel_subscription',
    ],
    [
      'takes the reason of action: deny from on_deny',
      'archive_customer',
      {},
      'deny',
      '/tools/archive_customer/action',
      'Archiving is done by the nightly job.',
    ],
    [
      'holds action: require_approval',
      'update_customer',
      {},
      'require_approval',
      '/tools/update_customer/action',
      'Approval required by rule /tools/update_customer',
    ],
    [
      'denies on a deny_if entry with no conditions',
      'charge_card',
      { amount: 1 },
      'deny',
      '/tools/charge_card/deny_if/0',
      'Card charges require a human.',
    ],
    // create_refund: deny_if, require, approve_if in that order
    [
      'allows a call that meets every rule',
      'create_refund',
      REFUND,
      'allow',
      '/tools/create_refund',
      undefined,
    ],
    [
      'denies on deny_if before checking require',
      'create_refund',
      { amount: 60000 },
      'deny',
      '/tools/create_refund/deny_if/0',
      'Refunds over 500.00 are not allowed.',
    ],
    [
      'gives a bare deny_if the entry on_deny',
      'create_refund',
      { ...REFUND, reason: 'test refund' },
      'deny',
      '/tools/create_refund/deny_if/1',
      'Refund blocked by policy.',
    ],
    [
      'denies an unmet require with its own on_deny',
      'create_refund',
      { amount: 2500, currency: 'usd' },
      'deny',
      '/tools/create_refund/require/0',
      'Refunds need a reason.',
    ],
    [
      'gives a bare require the entry on_deny',
      'create_refund',
      { ...REFUND, currency: 'jpy' },
      'deny',
      '/tools/create_refund/require/1',
      'Refund blocked by policy.',
    ],
    [
      'denies when a required argument is missing',
      'create_refund',
      { amount: 2500, reason: 'charged twice' },
      'deny',
      '/tools/create_refund/require/1',
      'Refund blocked by policy.',
    ],
    [
      'denies on an unmet require before approval',
      'create_refund',
      { amount: 2500, currency: 'usd', customer: { tier: 'enterprise' } },
      'deny',
      '/tools/create_refund/require/0',
      'Refunds need a reason.',
    ],
    [
      'holds a call that matches approve_if on a nested path',
      'create_refund',
      { ...REFUND, customer: { tier: 'enterprise' } },
      'require_approval',
      '/tools/create_refund/approve_if/0',
      // The entry's on_deny is for denials; an approval gets its own default message.
      'Approval required by rule /tools/create_refund/approve_if/0',
    ],
    // all_tools
    [
      'applies all_tools.approve_if to a listed tool',
      'create_refund',
      { ...REFUND, amount: 20000 },
      'require_approval',
      '/all_tools/approve_if/0',
      'Amounts of 100.00 or more need a human.',
    ],
    [
      'applies all_tools.deny_if when all its conditions hold',
      'list_customers',
      { environment: 'production', dry_run: false },
      'deny',
      '/all_tools/deny_if/0',
      'Changes to production must be dry runs.',
    ],
    [
      'does not apply all_tools.deny_if when a neq argument is missing',
      'list_customers',
      { environment: 'production' },
      'allow',
      '/tools/list_customers',
      undefined,
    ],
    [
      'does not apply all_tools.deny_if when one condition fails',
      'list_customers',
      { environment: 'production', dry_run: true },
      'allow',
      '/tools/list_customers',
      undefined,
    ],
    [
      'checks the entry deny_if before all_tools.deny_if',
      'create_refund',
      { ...REFUND, amount: 60000, environment: 'production' },
      'deny',
      '/tools/create_refund/deny_if/0',
      'Refunds over 500.00 are not allowed.',
    ],
    [
      'checks all_tools.deny_if before the entry require',
      'create_refund',
      { environment: 'production', dry_run: false },
      'deny',
      '/all_tools/deny_if/0',
      'Changes to production must be dry runs.',
    ],
    [
      'gives a bare all_tools require the all_tools on_deny',
      'get_invoice',
      { impersonate: 'cfo' },
      'deny',
      '/all_tools/require/0',
      'Blocked by the billing workspace policy.',
    ],
    [
      'lets all_tools.deny_if deny an action: allow entry',
      'get_balance',
      { environment: 'production', dry_run: false },
      'deny',
      '/all_tools/deny_if/0',
      'Changes to production must be dry runs.',
    ],
    // send_email: regex, contains, array index
    [
      'denies on a regex match',
      'send_email',
      { to: 'someone@gmail.com', subject: 'Invoice' },
      'deny',
      '/tools/send_email/deny_if/0',
      'Email goes to company addresses only.',
    ],
    [
      // #17.7: a list where the rule expects one value cannot be searched; the deny_if fails closed (was allow).
      'denies a list where a regex expects one string (fails closed)',
      'send_email',
      { to: ['someone@gmail.com'], subject: 'Invoice' },
      'deny',
      '/tools/send_email/deny_if/0',
      'Email goes to company addresses only.',
    ],
    [
      'gives a multi-condition require without a message a generated reason',
      'send_email',
      { to: 'ap@billing.example', subject: '' },
      'deny',
      '/tools/send_email/require/0',
      'Requirements of rule /tools/send_email/require/0 are not met',
    ],
    [
      'holds a call whose first list element matches approve_if',
      'send_email',
      { to: 'ap@billing.example', subject: 'Invoice', attachments: [{ name: 'a.pdf', bytes: 2_000_000 }] },
      'require_approval',
      '/tools/send_email/approve_if/0',
      'Large attachments need a look first.',
    ],
    [
      'holds a call whose list argument contains the value',
      'send_email',
      { to: 'ap@billing.example', subject: 'Invoice', cc: ['ops@billing.example', 'legal@billing.example'] },
      'require_approval',
      '/tools/send_email/approve_if/1',
      'Approval required by rule /tools/send_email/approve_if/1',
    ],
    // export_invoices: lte, not_in, lt with generated reasons
    [
      'allows an export within bounds',
      'export_invoices',
      { rows: 100, format: 'csv', year: 2024 },
      'allow',
      '/tools/export_invoices',
      undefined,
    ],
    [
      'names the failed condition of a bare require',
      'export_invoices',
      { rows: 20000, format: 'csv', year: 2024 },
      'deny',
      '/tools/export_invoices/require/0',
      'Required: args.rows lte 10000',
    ],
    [
      // #17.5: a numeric string compares as its number (it used to fail every numeric operator).
      'reads a numeric string as a number',
      'export_invoices',
      { rows: '100', format: 'csv', year: 2024 },
      'allow',
      '/tools/export_invoices',
      undefined,
    ],
    [
      'denies a numeric string over a number bound',
      'export_invoices',
      { rows: '1e5', format: 'csv', year: 2024 },
      'deny',
      '/tools/export_invoices/require/0',
      'Required: args.rows lte 10000',
    ],
    [
      'denies a value in a not_in list',
      'export_invoices',
      { rows: 100, format: 'xlsm', year: 2024 },
      'deny',
      '/tools/export_invoices/require/1',
      'Required: args.format not_in ["xlsm","exe"]',
    ],
    [
      'denies when the not_in argument is missing',
      'export_invoices',
      { rows: 100, year: 2024 },
      'deny',
      '/tools/export_invoices/require/1',
      'Required: args.format not_in ["xlsm","exe"]',
    ],
    [
      'denies a value at the lt bound',
      'export_invoices',
      { rows: 100, format: 'csv', year: 2100 },
      'deny',
      '/tools/export_invoices/require/2',
      'Required: args.year lt 2100',
    ],
  ];

  it.each(rows)('%s', (_behaviour, tool, args, outcome, rule, reason) => {
    expect(summary(decide(pl, call(tool, args)))).toEqual({ outcome, rule, reason });
  });

  it.each([
    [
      'allows an unlisted tool of an allowed category',
      'lookup_tax_rate',
      'read',
      'allow',
      '/categories/read',
      undefined,
    ],
    [
      'denies an unlisted tool of a denied category',
      'wire_transfer',
      'financial',
      'deny',
      '/categories/financial',
      'Tools of category financial are not allowed by policy',
    ],
    [
      'holds an unlisted tool of an approval category',
      'drop_table',
      'destructive',
      'require_approval',
      '/categories/destructive',
      undefined,
    ],
    [
      'falls to the default for a category with no action',
      'write_note',
      'write',
      'deny',
      '(default deny)',
      'This tool is not permitted by policy',
    ],
    [
      'ignores the category of a listed tool',
      'list_customers',
      'financial',
      'allow',
      '/tools/list_customers',
      undefined,
    ],
    [
      'ignores the category of a glob-matched tool',
      'get_invoice',
      'financial',
      'allow',
      '/tools/get_*',
      undefined,
    ],
    [
      'ignores the category of a hidden tool',
      'internal_reset',
      'read',
      'hidden',
      '(hidden)',
      'This tool is hidden by policy',
    ],
  ] as const)('%s', (_behaviour, tool, category, outcome, rule, reason) => {
    expect(summary(decide(pl, call(tool, {}, category)))).toEqual({ outcome, rule, reason });
  });

  it('applies all_tools rules to an unlisted tool before its category', () => {
    expect(summary(decide(pl, call('lookup_tax_rate', { impersonate: 'x' }, 'read')))).toEqual({
      outcome: 'deny',
      rule: '/all_tools/require/0',
      reason: 'Blocked by the billing workspace policy.',
    });
  });

  it('names the policy file in every decision', () => {
    expect(decide(pl, call('list_customers')).policy).toBe(FULL_JSON);
    expect(decide(pl, call('purge_customer_data')).policy).toBe(FULL_JSON);
    expect(decide(pl, call('nope')).policy).toBe(FULL_JSON);
  });

  it('carries the entry limits, then the all_tools limits, on an allow', () => {
    expect(decide(pl, call('create_refund', REFUND)).limits).toEqual([
      limit({
        rule: '/tools/create_refund/limits/0',
        counter: 'refund_cents_per_day',
        max: 200000,
        windowMs: DAY,
        incrementFrom: ['amount'],
        message: 'The daily refund budget is used up.',
      }),
      limit({ rule: '/tools/create_refund/limits/1', counter: 'refunds_per_hour', max: 10, windowMs: HOUR }),
      limit({
        rule: '/tools/create_refund/limits/2',
        counter: 'refunds_per_5_minutes',
        max: 3,
        windowMs: 300_000,
        scope: 'server',
      }),
      ...PL_SHARED,
    ]);
  });

  it('turns rate_limit into a sliding limit named after the entry', () => {
    expect(decide(pl, call('get_balance')).limits).toEqual([
      limit({
        rule: '/tools/get_balance/rate_limit',
        counter: 'rate:/tools/get_balance',
        max: 30,
        windowMs: MINUTE,
        scope: 'tool',
        window: 'sliding',
      }),
      ...PL_SHARED,
    ]);
  });

  it('reads a second window and a default grant scope', () => {
    expect(decide(pl, call('get_invoice')).limits[0]).toEqual(
      limit({
        rule: '/tools/get_*/limits/0',
        counter: 'lookups_per_second',
        max: 5,
        windowMs: 1000,
        scope: 'session',
      }),
    );
    expect(decide(pl, call('list_invoices')).limits[0]).toEqual(
      limit({ rule: '/tools/list_*/limits/0', counter: 'listings', max: 200, windowMs: HOUR }),
    );
  });

  it('carries only the all_tools limits for a {} entry and an allowed category', () => {
    expect(decide(pl, call('list_customers')).limits).toEqual(PL_SHARED);
    expect(decide(pl, call('lookup_tax_rate', {}, 'read')).limits).toEqual(PL_SHARED);
  });

  it('carries no limits on a default deny, an action deny or a hidden tool', () => {
    expect(decide(pl, call('nope')).limits).toEqual([]);
    expect(decide(pl, call('cancel_subscription')).limits).toEqual([]);
    expect(decide(pl, call('purge_customer_data')).limits).toEqual([]);
  });

  it('carries the limits on an approval as well', () => {
    const d = decide(pl, call('create_refund', { ...REFUND, customer: { tier: 'enterprise' } }));
    expect(d.limits.map((l) => l.counter)).toEqual([
      'refund_cents_per_day',
      'refunds_per_hour',
      'refunds_per_5_minutes',
      'calls_per_minute',
      'calls_per_day',
      'rate:/all_tools',
    ]);
  });

  it.each([
    [
      'the entry approval settings to approve_if',
      call('create_refund', { ...REFUND, customer: { tier: 'enterprise' } }),
      { rule: '/tools/create_refund/approve_if/0', timeoutMs: 2 * HOUR, mode: 'hold' },
    ],
    [
      'the all_tools approval settings to all_tools.approve_if',
      call('create_refund', { ...REFUND, amount: 20000 }),
      { rule: '/all_tools/approve_if/0', timeoutMs: 15 * MINUTE, mode: 'async' },
    ],
    [
      'a timeout in seconds to action: require_approval',
      call('delete_invoice'),
      { rule: '/tools/delete_*/action', timeoutMs: 10 * MINUTE, mode: 'hold' },
    ],
    [
      'the default of 5 minutes in hold mode',
      call('update_customer'),
      { rule: '/tools/update_customer/action', timeoutMs: 5 * MINUTE, mode: 'hold' },
    ],
    [
      'the default to an approve_if without approval settings',
      call('send_email', { to: 'a@billing.example', subject: 's', cc: ['legal@billing.example'] }),
      { rule: '/tools/send_email/approve_if/1', timeoutMs: 5 * MINUTE, mode: 'hold' },
    ],
    [
      'all_tools.approval to a category approval (#17.24: the demo holds category approvals within a client timeout)',
      call('drop_table', {}, 'destructive'),
      { rule: '/categories/destructive', timeoutMs: 15 * MINUTE, mode: 'async' },
    ],
  ])('gives %s', (_name, c, approval) => {
    const d = decide(pl, c);
    expect(d.outcome).toBe('require_approval');
    expect(d.approval).toEqual(approval);
  });

  it('carries no approval obligation on an allow or a deny', () => {
    expect(decide(pl, call('create_refund', REFUND)).approval).toBeUndefined();
    expect(decide(pl, call('charge_card')).approval).toBeUndefined();
  });

  it.each([
    ['hides a prompt matched by a glob', 'internal_triage', 'hide', '/prompts/internal_*'],
    ['allows a prompt by exact name', 'summarize_account', 'allow', '/prompts/summarize_account'],
    ['denies a prompt matched by a glob', 'debug_state', 'deny', '/prompts/debug_*'],
  ])('%s', (_behaviour, name, action, pointer) => {
    const rule = decideName(pl.prompts, name);
    expect(rule?.action).toBe(action);
    expect(rule?.pointer).toBe(pointer);
  });

  it('leaves a prompt no rule matches undecided', () => {
    expect(decideName(pl.prompts, 'weekly_report')).toBeUndefined();
  });

  it.each([
    ['billing://customers/cus_1', 'allow', '/resources/billing:~1~1customers~1*', undefined],
    [
      'billing://exports/2024.csv',
      'deny',
      '/resources/billing:~1~1exports~1*',
      'Denied by rule /resources/billing:~1~1exports~1*',
    ],
    ['secret://stripe-key', 'hidden', '/resources/secret:~1~1*', 'Secrets are not listed.'],
  ])('decides resource %s with an escaped JSON pointer', (uri, outcome, pointer, reason) => {
    const rule = decideName(pl.resources, uri);
    expect(rule?.pointer).toBe(pointer);
    expect(summary(rule!.decision)).toEqual({ outcome, rule: pointer, reason });
  });
});

describe('Intercept golden file', () => {
  it('loads as an Intercept policy without globs', () => {
    expect(ic.format).toBe('intercept');
    expect(ic.default).toBe('deny');
    expect([...ic.hideExact].sort()).toEqual(['delete_*', 'transfer_repository']);
    expect(ic.hideGlobs).toEqual([]);
    expect(ic.toolGlobs).toEqual([]);
    expect(ic.allTools?.key).toBe('*');
    expect(ic.allTools?.lists).toBe(false);
  });

  const rows: Row[] = [
    [
      'hides a tool named in hide',
      'transfer_repository',
      {},
      'hidden',
      '(hidden)',
      'This tool is hidden by policy',
    ],
    [
      'hides only the literal name of a hide entry with a star',
      'delete_*',
      {},
      'hidden',
      '(hidden)',
      'This tool is hidden by policy',
    ],
    [
      'does not treat a hide entry as a glob',
      'delete_branch',
      { branch: 'feature/x' },
      'allow',
      '/tools/delete_branch',
      undefined,
    ],
    [
      'allows a tool listed with rules: []',
      'get_issue',
      { number: 7 },
      'allow',
      '/tools/get_issue',
      undefined,
    ],
    [
      'allows another tool listed with rules: []',
      'list_pull_requests',
      {},
      'allow',
      '/tools/list_pull_requests',
      undefined,
    ],
    [
      'denies an unlisted tool even though "*" has rules',
      'fork_repository',
      {},
      'deny',
      '(default deny)',
      'This tool is not permitted by policy',
    ],
    [
      'denies on a deny rule',
      'delete_repository',
      { name: 'scratch' },
      'deny',
      '/tools/delete_repository/rules/0',
      'Repository deletion is not permitted',
    ],
    [
      'allows when every condition of an evaluate rule holds',
      'create_pull_request',
      { base: 'main', head: 'feature/login' },
      'allow',
      '/tools/create_pull_request',
      undefined,
    ],
    [
      'denies when an evaluate rule has a missing argument',
      'create_pull_request',
      { base: 'main' },
      'deny',
      '/tools/create_pull_request/rules/0',
      'Pull requests go from feature/ or fix/ branches into main or develop',
    ],
    [
      'denies when an in condition fails',
      'create_pull_request',
      { base: 'release', head: 'fix/crash' },
      'deny',
      '/tools/create_pull_request/rules/0',
      'Pull requests go from feature/ or fix/ branches into main or develop',
    ],
    [
      'names the rule when on_deny is absent',
      'create_issue',
      { body: 'no title' },
      'deny',
      '/tools/create_issue/rules/0',
      'Denied by rule "title required"',
    ],
    [
      'allows when exists: true holds',
      'create_issue',
      { title: 'Flaky test' },
      'allow',
      '/tools/create_issue',
      undefined,
    ],
    [
      'allows inside gte and lte bounds',
      'search_code',
      { q: 'TODO', per_page: 100 },
      'allow',
      '/tools/search_code',
      undefined,
    ],
    [
      'denies below a gte bound',
      'search_code',
      { q: 'TODO', per_page: 0 },
      'deny',
      '/tools/search_code/rules/0',
      'per_page is between 1 and 100',
    ],
    [
      // #17.5, on purpose unlike Intercept (which never reads a string as a number): "50" is the 50 a server reads.
      'allows a numeric string within a number bound',
      'search_code',
      { q: 'TODO', per_page: '50' },
      'allow',
      '/tools/search_code',
      undefined,
    ],
    [
      'denies a numeric string outside a number bound',
      'search_code',
      { q: 'TODO', per_page: ' 500 ' },
      'deny',
      '/tools/search_code/rules/0',
      'per_page is between 1 and 100',
    ],
    [
      'denies a value in a not_in list',
      'delete_branch',
      { branch: 'main' },
      'deny',
      '/tools/delete_branch/rules/0',
      'Protected branches stay',
    ],
    [
      'denies a value equal to neq',
      'delete_branch',
      { branch: 'gh-pages' },
      'deny',
      '/tools/delete_branch/rules/0',
      'Protected branches stay',
    ],
    [
      'denies a not_in condition on a missing argument',
      'delete_branch',
      {},
      'deny',
      '/tools/delete_branch/rules/0',
      'Protected branches stay',
    ],
    [
      'holds a require_approval rule whose conditions hold',
      'merge_pull_request',
      { base: 'main', number: 12 },
      'require_approval',
      '/tools/merge_pull_request/rules/0',
      'Merging into main needs the release manager',
    ],
    [
      'allows when a require_approval rule does not match',
      'merge_pull_request',
      { base: 'develop', number: 12 },
      'allow',
      '/tools/merge_pull_request',
      undefined,
    ],
    [
      'holds on a contains match in a list',
      'add_labels',
      { labels: ['bug', 'release'] },
      'require_approval',
      '/tools/add_labels/rules/0',
      'Approval required by rule /tools/add_labels/rules/0',
    ],
    [
      'allows when a list does not contain the value',
      'add_labels',
      { labels: ['bug'] },
      'allow',
      '/tools/add_labels',
      undefined,
    ],
    [
      'allows within a counter rule and its other conditions',
      'run_workflow',
      { minutes: 30, runner: { cores: 4 } },
      'allow',
      '/tools/run_workflow',
      undefined,
    ],
    [
      'keeps the other conditions of a counter rule',
      'run_workflow',
      { minutes: 0, runner: { cores: 4 } },
      'deny',
      '/tools/run_workflow/rules/0',
      'Denied by rule "runner minutes per day"',
    ],
    [
      'denies on a nested argument',
      'run_workflow',
      { minutes: 30, runner: { cores: 16 } },
      'deny',
      '/tools/run_workflow/rules/1',
      'Denied by rule "runner size"',
    ],
    [
      'denies when a nested argument is missing',
      'run_workflow',
      { minutes: 30 },
      'deny',
      '/tools/run_workflow/rules/1',
      'Denied by rule "runner size"',
    ],
    [
      'applies "*" rules to a listed tool',
      'get_issue',
      { number: 7, force: true },
      'deny',
      '/tools/*/rules/1',
      'Force operations are not allowed',
    ],
    [
      'treats a null argument as absent for exists: false',
      'get_issue',
      { number: 7, force: null },
      'allow',
      '/tools/get_issue',
      undefined,
    ],
  ];

  it.each(rows)('%s', (_behaviour, tool, args, outcome, rule, reason) => {
    expect(summary(decide(ic, call(tool, args)))).toEqual({ outcome, rule, reason });
  });

  it("reads another tool's counter in a state condition", () => {
    const asked: string[] = [];
    const at = (n: number) => ({
      ...call('comment_on_issue', { body_length: 200 }),
      counter: (scope: string, name: string) => {
        asked.push(`${scope}.${name}`);
        return n;
      },
    });
    expect(summary(decide(ic, at(4)))).toEqual({
      outcome: 'allow',
      rule: '/tools/comment_on_issue',
      reason: undefined,
    });
    expect(summary(decide(ic, at(5)))).toEqual({
      outcome: 'deny',
      rule: '/tools/comment_on_issue/rules/0',
      reason: 'Denied by rule "issue quota left"',
    });
    expect(asked).toEqual(['create_issue._rate_hour', 'create_issue._rate_hour']);
  });

  it('reads a counter as 0 when the call has no counter reader', () => {
    expect(decide(ic, call('comment_on_issue', { body_length: 200 })).outcome).toBe('allow');
  });

  it('expands rate_limit into limits named _rate_<window>, scoped to the tool, then the global one', () => {
    expect(decide(ic, call('create_issue', { title: 't' })).limits).toEqual([
      limit({
        rule: '/tools/create_issue/rules/1',
        counter: 'create_issue._rate_hour',
        max: 5,
        windowMs: HOUR,
        scope: 'tool',
        message: 'Rate limit of 5 per hour reached. Try again later.',
      }),
      limit({
        rule: '/tools/create_issue/rules/2',
        counter: 'create_issue._rate_day',
        max: 40,
        windowMs: DAY,
        scope: 'tool',
        message: 'The bot opened enough issues today',
      }),
      IC_GLOBAL_RATE,
    ]);
  });

  it('gives every listed tool the "*" rate limit with global scope', () => {
    expect(decide(ic, call('get_issue')).limits).toEqual([IC_GLOBAL_RATE]);
  });

  it('turns a state counter bounded by lte into a limit of that size', () => {
    expect(decide(ic, call('merge_pull_request', { base: 'develop' })).limits).toEqual([
      limit({
        rule: '/tools/merge_pull_request/rules/1',
        counter: 'merge_pull_request.merges',
        max: 20,
        windowMs: DAY,
        scope: 'tool',
        message: 'Rate limit exceeded for merges per day',
      }),
      IC_GLOBAL_RATE,
    ]);
  });

  it('turns lt into a limit one lower and keeps increment_from and increment', () => {
    expect(decide(ic, call('run_workflow', { minutes: 30, runner: { cores: 4 } })).limits).toEqual([
      limit({
        rule: '/tools/run_workflow/rules/0',
        counter: 'run_workflow.runner_minutes',
        max: 999,
        windowMs: DAY,
        scope: 'tool',
        incrementFrom: ['minutes'],
        message: 'Rate limit exceeded for runner minutes per day',
      }),
      limit({
        rule: '/tools/run_workflow/rules/2',
        counter: 'run_workflow.runs',
        max: 100,
        windowMs: HOUR,
        scope: 'tool',
        increment: 2,
        message: 'Rate limit exceeded for runs per hour',
      }),
      IC_GLOBAL_RATE,
    ]);
  });

  it('does not check the own-counter bound as a condition (the limit enforces it)', () => {
    const full = { ...call('merge_pull_request', { base: 'develop' }), counter: () => 1_000 };
    expect(decide(ic, full).outcome).toBe('allow');
  });

  it('carries no limits on a default deny', () => {
    expect(decide(ic, call('fork_repository')).limits).toEqual([]);
  });

  it('takes the approval timeout from approval_timeout', () => {
    expect(decide(ic, call('merge_pull_request', { base: 'main' })).approval).toEqual({
      rule: '/tools/merge_pull_request/rules/0',
      timeoutMs: 30 * MINUTE,
      mode: 'async',
    });
  });

  it('gives a require_approval rule without approval_timeout the default timeout', () => {
    expect(decide(ic, call('add_labels', { labels: ['release'] })).approval).toEqual({
      rule: '/tools/add_labels/rules/0',
      timeoutMs: 5 * MINUTE,
      mode: 'async',
    });
  });
});

describe('Intercept rule details', () => {
  // Engine bug (fails until fixed): compileIntercept keeps one `parts.approval` per tool and overwrites it with
  // each require_approval rule, so every approve rule of the tool gets the LAST rule's approval_timeout.
  it("keeps each require_approval rule's own approval_timeout", () => {
    const text = `version: "1"
tools:
  deploy:
    rules:
      - name: production
        action: require_approval
        conditions: [{ path: args.env, op: eq, value: prod }]
        approval_timeout: 10m
      - name: large
        action: require_approval
        conditions: [{ path: args.replicas, op: gt, value: 10 }]
        approval_timeout: 1h
`;
    const { policy } = parsePolicyText(text, 'deploy.yaml');
    expect(decide(policy!, call('deploy', { env: 'prod' })).approval).toEqual({
      rule: '/tools/deploy/rules/0',
      timeoutMs: 10 * MINUTE,
      mode: 'async',
    });
    expect(decide(policy!, call('deploy', { replicas: 50 })).approval).toEqual({
      rule: '/tools/deploy/rules/1',
      timeoutMs: HOUR,
      mode: 'async',
    });
  });

  // Engine bug (fails until fixed): decide() runs the "*" (all_tools) approve rules before the default, so under
  // default deny an unlisted tool becomes require_approval instead of `(default deny)`: a human can approve a tool
  // the policy never permitted. Intercept checks default deny before any rule (report 1.7 step 2).
  it('denies an unlisted tool under default deny even when a "*" rule requires approval', () => {
    const text = `version: "1"
default: deny
tools:
  get_issue:
    rules: []
  "*":
    rules:
      - name: every call needs a human
        action: require_approval
`;
    const { policy } = parsePolicyText(text, 'approve-all.yaml');
    expect(decide(policy!, call('get_issue')).outcome).toBe('require_approval');
    expect(summary(decide(policy!, call('fork_repository')))).toEqual({
      outcome: 'deny',
      rule: '(default deny)',
      reason: 'This tool is not permitted by policy',
    });
  });

  it('applies "*" rules to an unlisted tool under default allow', () => {
    const text = `version: "1"
tools:
  "*":
    rules:
      - name: no force
        conditions: [{ path: args.force, op: exists, value: false }]
`;
    const { policy } = parsePolicyText(text, 'allow.yaml');
    expect(policy!.default).toBe('allow');
    expect(summary(decide(policy!, call('anything')))).toEqual({
      outcome: 'allow',
      rule: '(default allow)',
      reason: undefined,
    });
    expect(decide(policy!, call('anything', { force: true })).rule).toBe('/tools/*/rules/0');
  });

  it('reads an unquoted version 1 and rules: null', () => {
    const { policy, problems } = parsePolicyText(
      'version: 1\ndefault: deny\ntools:\n  get_issue:\n    rules:\n',
      'v.yaml',
    );
    expect(problems).toEqual([]);
    expect(decide(policy!, call('get_issue')).outcome).toBe('allow');
  });

  it('treats increment: 0 as 1', () => {
    const text = `version: "1"
tools:
  t:
    rules:
      - name: c
        conditions: [{ path: state.t.c, op: lte, value: 3 }]
        state: { counter: c, window: minute, increment: 0 }
`;
    const { policy } = parsePolicyText(text, 'inc.yaml');
    expect(decide(policy!, call('t')).limits[0]).toMatchObject({ counter: 't.c', max: 3, increment: 1 });
  });

  it('does not turn a counter bound other than lt or lte into a limit', () => {
    const text = `version: "1"
tools:
  t:
    rules:
      - name: warm-up
        conditions: [{ path: state.t.c, op: gte, value: 0 }]
        state: { counter: c, window: hour }
`;
    const { policy } = parsePolicyText(text, 'gte.yaml');
    expect(decide(policy!, call('t')).limits).toEqual([]);
    expect(decide(policy!, { ...call('t'), counter: () => 3 }).outcome).toBe('allow');
  });
});

describe('decideLayers', () => {
  const layers = [globalPolicy, ic];

  it('returns no policy for no layers', () => {
    expect(decideLayers([], call('get_issue'))).toBe(NO_POLICY);
  });

  it('gives the same decision as decide() for one layer', () => {
    const c = call('create_refund', REFUND);
    expect(decideLayers([pl], c)).toBe(decide(pl, c));
  });

  it('names the most specific allowing policy and adds the limits of both', () => {
    const d = decideLayers(layers, call('get_issue', { number: 1 }));
    expect(summary(d)).toEqual({ outcome: 'allow', rule: '/tools/get_issue', reason: undefined });
    expect(d.policy).toBe(FULL_YAML);
    expect(d.limits.map((l) => l.counter)).toEqual(['org_calls', '_global._rate_minute']);
  });

  it('denies when the first layer denies', () => {
    const d = decideLayers(layers, call('get_issue', { environment: 'production' }));
    expect(summary(d)).toEqual({
      outcome: 'deny',
      rule: '/all_tools/deny_if/0',
      reason: 'Agents do not touch production.',
    });
    expect(d.policy).toBe(GLOBAL_JSON);
  });

  it('denies when only the second layer denies', () => {
    const d = decideLayers(layers, call('fork_repository'));
    expect(summary(d)).toEqual({
      outcome: 'deny',
      rule: '(default deny)',
      reason: 'This tool is not permitted by policy',
    });
    expect(d.policy).toBe(FULL_YAML);
  });

  it('takes the deny of the first layer when both deny', () => {
    const d = decideLayers(layers, call('delete_repository'));
    expect(d.rule).toBe('/tools/delete_repository/action');
    expect(d.policy).toBe(GLOBAL_JSON);
  });

  it('hides a tool hidden by the first layer', () => {
    const d = decideLayers(layers, call('debug_dump'));
    expect(d.outcome).toBe('hidden');
    expect(d.policy).toBe(GLOBAL_JSON);
  });

  it('hides a tool hidden by the second layer even when the first allows it', () => {
    const d = decideLayers(layers, call('transfer_repository'));
    expect(d.outcome).toBe('hidden');
    expect(d.policy).toBe(FULL_YAML);
  });

  it('hides before any layer denies', () => {
    expect(decideLayers([ic, globalPolicy], call('debug_dump', { environment: 'production' })).outcome).toBe(
      'hidden',
    );
  });

  it('requires approval when a layer does and keeps the limits of both', () => {
    const d = decideLayers(layers, call('merge_pull_request', { base: 'develop' }));
    expect(summary(d)).toEqual({
      outcome: 'require_approval',
      rule: '/tools/merge_pull_request/action',
      reason: 'Approval required by rule /tools/merge_pull_request',
    });
    expect(d.approval).toEqual({ rule: '/tools/merge_pull_request/action', timeoutMs: HOUR, mode: 'hold' });
    expect(d.limits.map((l) => l.counter)).toEqual([
      'org_calls',
      'merge_pull_request.merges',
      '_global._rate_minute',
    ]);
  });

  it('takes the approval of the first layer that requires one', () => {
    const d = decideLayers(layers, call('merge_pull_request', { base: 'main' }));
    expect(d.policy).toBe(GLOBAL_JSON);
    expect(d.approval?.timeoutMs).toBe(HOUR);
  });

  describe('with a shadow layer', () => {
    const withShadow = [globalPolicy, shadowPolicy, ic];

    function run(tool: string, args: Args) {
      const reported: Decision[] = [];
      const d = decideLayers(withShadow, call(tool, args), (s) => reported.push(s));
      return { d, reported };
    }

    it('does not report a shadow allow', () => {
      const { d, reported } = run('get_issue', { number: 1 });
      expect(d.outcome).toBe('allow');
      expect(reported).toEqual([]);
    });

    it('does not hide what only the shadow policy hides, and reports it', () => {
      const { d, reported } = run('list_pull_requests', {});
      expect(summary(d)).toEqual({ outcome: 'allow', rule: '/tools/list_pull_requests', reason: undefined });
      expect(reported.map((r) => [r.outcome, r.rule, r.shadow, r.policy])).toEqual([
        ['hidden', '(hidden)', true, SHADOW_JSON],
      ]);
    });

    it('does not deny what only the shadow policy denies, and reports it', () => {
      const { d, reported } = run('create_issue', { title: 't', labels: ['wontfix'] });
      expect(d.outcome).toBe('allow');
      expect(d.shadow).toBe(false);
      expect(reported.map((r) => [r.outcome, r.rule, r.reason])).toEqual([
        ['deny', '/tools/create_issue/deny_if/0', 'Do not open issues that are already wontfix.'],
      ]);
    });

    it('does not add the shadow policy limits', () => {
      const { d } = run('get_issue', { number: 1 });
      expect(d.limits.map((l) => l.counter)).toEqual(['org_calls', '_global._rate_minute']);
    });

    it('still denies what an enforced layer denies', () => {
      const { d, reported } = run('fork_repository', {});
      expect(d.policy).toBe(FULL_YAML);
      expect(d.outcome).toBe('deny');
      expect(reported.map((r) => r.rule)).toEqual(['(default deny)']);
    });

    it('enforces nothing when the shadow policy is the only one', () => {
      const reported: Decision[] = [];
      expect(decideLayers([shadowPolicy], call('fork_repository'), (s) => reported.push(s))).toBe(NO_POLICY);
      expect(reported.map((r) => r.rule)).toEqual(['(default deny)']);
    });
  });
});

describe('invalid policy files', () => {
  it.each([
    [
      'an unknown key',
      'unknown.json',
      `{
  "version": "1",
  "default": "deny",
  "tools": {
    "get_issue": { "alow": true }
  }
}`,
      'tools.get_issue.alow',
      5,
      'unknown key "alow"',
    ],
    [
      'an unknown operator in a bare condition',
      'op.json',
      `{
  "version": "1",
  "default": "deny",
  "tools": {
    "create_refund": {
      "deny_if": [{ "path": "args.amount", "op": "greater_than", "value": 1 }]
    }
  }
}`,
      'tools.create_refund.deny_if[0].op',
      6,
      'expected one of "eq"',
    ],
    [
      'an unknown operator in an Intercept condition',
      'op.yaml',
      `version: "1"
tools:
  search_code:
    rules:
      - name: size
        conditions:
          - { path: args.size, op: between, value: [1, 2] }
`,
      'tools.search_code.rules[0].conditions[0].op',
      7,
      'expected one of "eq"',
    ],
    [
      'in with a value that is not a list',
      'in.json',
      `{
  "version": "1",
  "default": "deny",
  "tools": {
    "create_refund": {
      "require": [
        { "path": "args.currency", "op": "in", "value": "usd" }
      ]
    }
  }
}`,
      'tools.create_refund.require[0].value',
      7,
      'in needs a list value',
    ],
    [
      'lt with a string value',
      'lt.json',
      `{
  "version": "1",
  "default": "allow",
  "tools": {
    "export_invoices": {
      "require": [{ "conditions": [{ "path": "args.rows", "op": "lt", "value": "100" }] }]
    }
  }
}`,
      'tools.export_invoices.require[0].conditions[0].value',
      6,
      'lt needs a number value',
    ],
    [
      'a path outside args',
      'path.json',
      `{
  "version": "1",
  "default": "allow",
  "tools": {
    "create_refund": { "deny_if": [{ "path": "amount", "op": "gt", "value": 1 }] }
  }
}`,
      'tools.create_refund.deny_if[0].path',
      5,
      'a path is "args.',
    ],
    [
      'an Intercept rule without a name',
      'name.yaml',
      `version: "1"
tools:
  create_issue:
    rules:
      - conditions:
          - { path: args.title, op: exists, value: true }
`,
      'tools.create_issue.rules[0].name',
      5,
      'expected string',
    ],
    [
      'an Intercept deny rule with conditions',
      'deny.yaml',
      `version: "1"
tools:
  delete_repository:
    rules:
      - name: block
        action: deny
        conditions:
          - { path: args.name, op: eq, value: prod }
`,
      'tools.delete_repository.rules[0].conditions',
      8,
      'a deny rule has no conditions',
    ],
    [
      'an evaluate rule without conditions',
      'evaluate.yaml',
      `version: "1"
tools:
  create_issue:
    rules:
      - name: nothing to check
        on_deny: never shown
`,
      'tools.create_issue.rules[0].conditions',
      5,
      'an evaluate rule needs at least one condition',
    ],
    [
      'a rate_limit with spaces',
      'rate.yaml',
      `version: "1"
tools:
  create_issue:
    rules:
      - name: hourly
        rate_limit: 5 / hour
`,
      'tools.create_issue.rules[0].rate_limit',
      6,
      'rate_limit is "N/minute", "N/hour" or "N/day"',
    ],
    [
      'a rate_limit with a plural window',
      'plural.yaml',
      `version: "1"
tools:
  create_issue:
    rules:
      - name: hourly
        rate_limit: 5/hours
`,
      'tools.create_issue.rules[0].rate_limit',
      6,
      'rate_limit is "N/minute"',
    ],
    [
      'a rate_limit combined with conditions',
      'combined.yaml',
      `version: "1"
tools:
  create_issue:
    rules:
      - name: hourly
        rate_limit: 5/hour
        conditions: [{ path: args.title, op: exists, value: true }]
`,
      'tools.create_issue.rules[0].rate_limit',
      6,
      'cannot be combined',
    ],
    [
      'two rate limits with the same window on one tool',
      'twice.yaml',
      `version: "1"
tools:
  create_issue:
    rules:
      - name: a
        rate_limit: 5/hour
      - name: b
        rate_limit: 10/hour
`,
      'tools.create_issue.rules[1].rate_limit',
      8,
      'a second hour rate limit',
    ],
    [
      'a YAML syntax error',
      'syntax.yaml',
      `version: "1"
tools:
  create_issue:
    rules: [
      - name: x
`,
      '',
      5,
      'not allowed within flow collections',
    ],
    [
      'a duplicate key',
      'dup.yaml',
      `version: "1"
default: deny
default: allow
`,
      '',
      3,
      'unique',
    ],
  ])('reports %s with its path and line', (_name, file, text, path, line, fragment) => {
    const problems = problemsOf(text, file);
    expect(problems[0]).toMatchObject({ file, path, line, message: expect.stringContaining(fragment) });
  });

  it('reports every schema problem of a file at once', () => {
    const file = join(DIR, 'intercept-broken-schema.yaml');
    let error: unknown;
    try {
      loadPolicyFile(file);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.map((p) => [p.path, p.line, p.file]);
    expect(problems).toEqual([
      ['default', 3, file],
      ['tools.create_issue.rules[0].rate_limit', 8, file],
      ['tools.create_issue.rules[1].name', 9, file],
      ['tools.add_labels.rules[0].conditions[0].path', 13, file],
      ['tools.add_labels.rules[0].colour', 14, file],
    ]);
  });

  it('reports every rule problem of a file at once', () => {
    const file = join(DIR, 'intercept-broken-rules.yaml');
    let error: unknown;
    try {
      loadPolicyFile(file);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems.map((p) => [p.path, p.line, p.message])).toEqual([
      ['tools.delete_repository.rules[0].conditions', 8, 'a deny rule has no conditions'],
      ['tools.create_issue.rules[0].conditions', 11, 'an evaluate rule needs at least one condition'],
      ['tools.create_issue.rules[1].conditions[0].value', 13, 'in needs a list value'],
      ['tools.search_code.rules[0].conditions[0].value', 17, expect.stringContaining('unsafe regex')],
    ]);
  });

  it('says which format it read the file as', () => {
    expect(
      problemsOf('{ "version": "1", "default": "deny", "tools": { "x": { "alow": 1 } } }', 'a.json')[0]?.hint,
    ).toBe('read as a PolicyLayer policy');
    expect(
      problemsOf('version: "1"\ntools:\n  x:\n    rules: []\n    alow: 1\n', 'a.yaml')[0]?.hint,
    ).toContain('Intercept');
  });

  it('requires default in a PolicyLayer file', () => {
    // #17.28: `{ "tools": { "x": {} } }` is a file Intercept accepts (read as Intercept); an `action` makes it PolicyLayer.
    expect(
      problemsOf('{ "version": "1", "tools": { "x": { "action": "allow" } } }', 'nodefault.json')[0],
    ).toMatchObject({
      path: 'default',
    });
  });

  it('throws a WardenError for a file that does not exist', () => {
    const missing = join(mkdtempSync(join(tmpdir(), 'warden-policy-')), 'missing.yaml');
    expect(() => loadPolicyFile(missing)).toThrow(WardenError);
    expect(() => loadPolicyFile(missing)).not.toThrow(ConfigError);
  });

  it('loads a policy file written to disk', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'warden-policy-')), 'p.json');
    writeFileSync(file, '{ "version": "1", "default": "deny", "tools": { "get_issue": null } }');
    const loaded = loadPolicyFile(file);
    expect(loaded.file).toBe(file);
    expect(decide(loaded.policy, call('get_issue')).outcome).toBe('allow');
  });
});
