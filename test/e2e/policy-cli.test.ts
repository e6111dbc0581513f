// `warden policy validate|explain|test` as a user runs them: exit codes, readable output, JSON output.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/gateway.js';

const dir = tempDir('warden-policy-cli-');
const policyFile = join(dir, 'refunds.json');
writeFileSync(
  policyFile,
  JSON.stringify({
    version: '1',
    default: 'deny',
    tools: {
      get_issue: {},
      create_refund: {
        require: [{ path: 'args.reason', op: 'exists', value: true }],
        deny_if: [{ path: 'args.amount', op: 'gt', value: 500 }],
        on_deny: 'Refunds over 500 need a human.',
      },
    },
  }),
);
const configFile = join(dir, 'warden.yaml');
writeFileSync(configFile, 'mcpServers:\n  pay:\n    command: node\n    policy: ./refunds.json\n');

describe('warden policy validate', () => {
  it('exits 0 for a valid policy', () => {
    const r = runCli(['policy', 'validate', policyFile]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('policylayer format');
  });

  it('exits 2 and lists every problem with line and path', () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(
      bad,
      [
        'version: "1"',
        'default: deny',
        'tools:',
        '  x:',
        '    rules:',
        '      - action: deny',
        '        conditions: [{ path: args.a, op: eq, value: 1 }]',
        '      - name: r2',
        '        rate_limit: lots',
      ].join('\n'),
    );
    const r = runCli(['policy', 'validate', bad, '--json']);
    expect(r.status).toBe(2);
    const out = JSON.parse(r.stdout) as { valid: boolean; problems: Array<{ path: string; line: number }> };
    expect(out.valid).toBe(false);
    expect(out.problems.map((p) => `${p.line} ${p.path}`)).toEqual(
      expect.arrayContaining(['6 tools.x.rules[0].name', '9 tools.x.rules[1].rate_limit']),
    );
  });
});

describe('warden policy explain', () => {
  it('prints the decision and the path of rules as JSON', () => {
    const r = runCli([
      'policy',
      'explain',
      '--config',
      configFile,
      '--server',
      'pay',
      '--tool',
      'create_refund',
      '--args',
      '{"amount": 900, "reason": "dup"}',
      '--json',
    ]);
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as {
      decision: { outcome: string; rule: string; reason: string };
      path: Array<{ steps: Array<{ rule: string; result: string }> }>;
    };
    expect(out.decision).toMatchObject({
      outcome: 'deny',
      rule: '/tools/create_refund/deny_if/0',
      reason: 'Refunds over 500 need a human.',
    });
    expect(out.path[0]?.steps.at(-1)).toEqual(
      expect.objectContaining({ rule: '/tools/create_refund/deny_if/0', result: 'decided' }),
    );
  });

  it('says which rule decided, for people', () => {
    const r = runCli(['policy', 'explain', '--config', configFile, '--server', 'pay', '--tool', 'nope']);
    expect(r.stdout).toContain('deny pay/nope by (default deny)');
  });
});

describe('warden policy test', () => {
  it('reports each case and exits 1 when one fails', () => {
    const cases = join(dir, 'refunds.cases.yaml');
    writeFileSync(
      cases,
      [
        'policy: ./refunds.json',
        'cases:',
        '  - name: small refund with a reason',
        '    tool: create_refund',
        '    args: { amount: 20, reason: dup }',
        '    expect: allow',
        '  - name: refund without a reason',
        '    tool: create_refund',
        '    args: { amount: 20 }',
        '    expect: deny',
        '    rule: /tools/create_refund/require/0',
        '  - name: a wrong expectation',
        '    tool: get_issue',
        '    expect: hidden',
      ].join('\n'),
    );
    const r = runCli(['policy', 'test', cases]);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('✓ small refund with a reason');
    expect(r.stdout).toContain('✗ a wrong expectation: expected hidden, got allow');
    expect(r.stdout).toContain('2 passed, 1 failed');
  });
});
