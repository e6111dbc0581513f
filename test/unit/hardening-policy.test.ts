// Issue #17 regressions in the policy language: numbers as strings (5), Unicode forms (6), list quantifiers (7),
// server-declared tool annotations (10) and Intercept format detection (28).
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parsePolicyText } from '../../src/config/policy-file.js';
import { decide, explain, isHidden } from '../../src/policy/decide.js';
import type { CompiledPolicy, ToolCall } from '../../src/policy/types.js';

const DEMO = resolve(import.meta.dirname, '../../examples/policies/demo.json');

function load(value: unknown, file = 'p.json'): CompiledPolicy {
  const text = file.endsWith('.json') ? JSON.stringify(value) : stringify(value);
  const { policy, problems } = parsePolicyText(text, file);
  expect(problems).toEqual([]);
  return policy!;
}

function problemsOf(value: unknown, file = 'p.json') {
  const { policy, problems } = parsePolicyText(JSON.stringify(value), file);
  expect(policy).toBeUndefined();
  return problems;
}

/** A PolicyLayer policy with one entry for tool `t`. */
function entry(e: Record<string, unknown>): CompiledPolicy {
  return load({ version: '1', default: 'allow', tools: { t: e } });
}

function outcome(p: CompiledPolicy, args: Record<string, unknown>, extra: Partial<ToolCall> = {}): string {
  return decide(p, { server: 's', tool: 't', args, ...extra }).outcome;
}

describe('#17.5 numbers sent as strings', () => {
  const denyOver500 = entry({ deny_if: [{ path: 'args.amount', op: 'gt', value: 500 }] });
  const requireUpTo500 = entry({ require: [{ path: 'args.amount', op: 'lte', value: 500 }] });

  it.each([
    ['"900"', '900'],
    ['"9e2"', '9e2'],
    ['" 900 "', ' 900 '],
    ['"0x384"', '0x384'],
    ['"+900"', '+900'],
    ['"900.0"', '900.0'],
    ['"1e3"', '1e3'],
    ['"Infinity"', 'Infinity'],
    ['"inf"', 'inf'],
    ['"0b1110000100"', '0b1110000100'],
    ['"0o1604"', '0o1604'],
    ['fullwidth "９００"', '９００'],
    ['Arabic-Indic "٩٠٠"', '٩٠٠'],
    ['"900_0"', '900_0'],
    ['"900\\n"', '900\n'],
    ['"\\u00a0900"', '\u00a0900'],
    ['"900abc" (parseInt reads 900)', '900abc'],
  ])('#17.5 denies %s in deny_if amount gt 500', (_name, amount) => {
    expect(outcome(denyOver500, { amount })).toBe('deny');
  });

  it.each([
    ['a number in a one-element list', [900]],
    ['a numeric string in a one-element list', ['900']],
    ['an object', { value: 900 }],
    ['a boolean', true],
    ['a string no parser reads as a number', 'nine hundred'],
    ['"NaN"', 'NaN'],
  ])('#17.5 fails closed in deny_if for %s (the condition counts as matched)', (_name, amount) => {
    expect(outcome(denyOver500, { amount })).toBe('deny');
  });

  it.each([
    ['"100"', '100'],
    ['" 100 "', ' 100 '],
    ['"1e2"', '1e2'],
    ['"0x10"', '0x10'],
    ['fullwidth "１００"', '１００'],
  ])('#17.5 compares the number of %s, so a small amount passes deny_if gt 500', (_name, amount) => {
    expect(outcome(denyOver500, { amount })).toBe('allow');
  });

  it.each([
    ['"900"', '900'],
    ['"1e3" (parseInt reads 1, Number() 1000: they disagree)', '1e3'],
    ['[100]', [100]],
    ['an object', { n: 100 }],
    ['a boolean', false],
    ['"abc"', 'abc'],
  ])('#17.5 fails closed in require amount lte 500 for %s (counts as unmet)', (_name, amount) => {
    expect(outcome(requireUpTo500, { amount })).toBe('deny');
  });

  it('#17.5 meets require amount lte 500 with the string "100"', () => {
    expect(outcome(requireUpTo500, { amount: '100' })).toBe('allow');
  });

  it('#17.5 reads null as absent (it never reads as a large number): deny_if gt does not match', () => {
    expect(outcome(denyOver500, { amount: null })).toBe('allow');
    expect(outcome(requireUpTo500, { amount: null })).toBe('deny');
  });

  it('#17.5 compares 900 and "900" as equal in eq, neq, in and not_in', () => {
    expect(
      outcome(entry({ deny_if: [{ path: 'args.amount', op: 'eq', value: 900 }] }), { amount: '900' }),
    ).toBe('deny');
    expect(
      outcome(entry({ deny_if: [{ path: 'args.amount', op: 'eq', value: '900' }] }), { amount: 900 }),
    ).toBe('deny');
    expect(
      outcome(entry({ deny_if: [{ path: 'args.amount', op: 'in', value: [900] }] }), { amount: '900.0' }),
    ).toBe('deny');
    expect(
      outcome(entry({ require: [{ path: 'args.amount', op: 'neq', value: 900 }] }), { amount: ' 900' }),
    ).toBe('deny');
    expect(
      outcome(entry({ require: [{ path: 'args.amount', op: 'not_in', value: [900] }] }), { amount: '+900' }),
    ).toBe('deny');
    expect(
      outcome(entry({ require: [{ path: 'args.amount', op: 'not_in', value: [900] }] }), { amount: '901' }),
    ).toBe('allow');
  });

  it('#17.5 fails closed in eq against a number for a list or a boolean', () => {
    const p = entry({ deny_if: [{ path: 'args.amount', op: 'eq', value: 900 }] });
    expect(outcome(p, { amount: [900] })).toBe('deny');
    expect(outcome(p, { amount: true })).toBe('deny');
    expect(outcome(p, { amount: 'nine' })).toBe('allow'); // no parser reads a number: simply another value
  });

  it('#17.5 holds a call for approval when approve_if cannot compare the value', () => {
    const p = entry({ approve_if: [{ path: 'args.amount', op: 'gt', value: 500 }] });
    expect(outcome(p, { amount: '9e2' })).toBe('require_approval');
    expect(outcome(p, { amount: '100' })).toBe('allow');
  });

  it('#17.5 denies a numeric string over the bound of an Intercept evaluate rule', () => {
    const p = load(
      {
        version: '1',
        tools: {
          t: {
            rules: [
              { name: 'cap', conditions: [{ path: 'args.amount', op: 'lte', value: 500 }], on_deny: 'cap' },
            ],
          },
        },
      },
      'p.yaml',
    );
    expect(outcome(p, { amount: '900' })).toBe('deny');
    expect(outcome(p, { amount: ' 0x384 ' })).toBe('deny');
    expect(outcome(p, { amount: '100' })).toBe('allow');
  });

  it('#17.5 says in explain() that a value could not be compared and which way it counted', () => {
    const steps = explain(denyOver500, { server: 's', tool: 't', args: { amount: [900] } }).steps;
    expect(steps).toContainEqual(
      expect.objectContaining({ result: 'matched', detail: expect.stringContaining('fails closed') }),
    );
  });
});

describe('#17.6 Unicode normalisation', () => {
  const nfc = '/data/caf\u00e9/secret.txt';
  const nfd = '/data/cafe\u0301/secret.txt';

  it('#17.6 denies an NFD path that an NFC regex rule names', () => {
    const p = entry({ deny_if: [{ path: 'args.path', op: 'regex', value: '^/data/caf\u00e9/' }] });
    expect(outcome(p, { path: nfd })).toBe('deny');
    expect(outcome(p, { path: nfc })).toBe('deny');
  });

  it('#17.6 denies an NFC path that an NFD rule names (the policy is normalised too)', () => {
    const p = entry({ deny_if: [{ path: 'args.path', op: 'regex', value: '^/data/cafe\u0301/' }] });
    expect(outcome(p, { path: nfc })).toBe('deny');
  });

  it.each([
    ['eq', nfc],
    ['in', [nfc]],
    ['contains', 'caf\u00e9'],
  ])('#17.6 compares NFC forms in %s', (op, value) => {
    const p = entry({ deny_if: [{ path: 'args.path', op, value }] });
    expect(outcome(p, { path: nfd })).toBe('deny');
  });

  it('#17.6 compares NFC forms inside objects compared whole', () => {
    const p = entry({ deny_if: [{ path: 'args.opts', op: 'eq', value: { dir: 'caf\u00e9' } }] });
    expect(outcome(p, { opts: { dir: 'cafe\u0301' } })).toBe('deny');
  });

  it('#17.6 hides a tool whose name is the hidden name in NFKC (fullwidth letters), as nonexistent', () => {
    const p = load({ version: '1', default: 'allow', hide: ['get-env'] });
    expect(isHidden(p, '\uff47\uff45\uff54-env')).toBe(true);
    expect(decide(p, { server: 's', tool: '\uff47\uff45\uff54-env', args: {} }).outcome).toBe('hidden');
    expect(isHidden(p, 'get-env2')).toBe(false);
  });

  it('#17.6 applies a tool entry to a name spelled with compatibility characters (a ligature)', () => {
    const p = load({ version: '1', default: 'allow', tools: { delete_file: { action: 'deny' } } });
    expect(decide(p, { server: 's', tool: 'delete_\ufb01le', args: {} }).outcome).toBe('deny');
  });

  it('#17.6 keeps the case of tool names (MCP names are case-sensitive)', () => {
    const p = load({ version: '1', default: 'allow', hide: ['get-env'] });
    expect(isHidden(p, 'GET-ENV')).toBe(false);
  });

  it('#17.6 refuses two tool keys that are one name after NFKC', () => {
    const problems = problemsOf({
      version: '1',
      default: 'allow',
      tools: { delete_file: { action: 'deny' }, 'delete_\ufb01le': { action: 'allow' } },
    });
    expect(problems[0]?.message).toContain('NFKC');
  });
});

describe('#17.7 list quantifiers', () => {
  const anyEnv = entry({ deny_if: [{ path: 'args.paths[*]', op: 'regex', value: '(^|/)\\.env$' }] });

  it('#17.7 denies read_multiple_files when any element of paths reaches .env', () => {
    expect(outcome(anyEnv, { paths: ['/tmp/a.txt', '/tmp/x/.env'] })).toBe('deny');
    expect(outcome(anyEnv, { paths: ['/tmp/a.txt', '/tmp/b.txt'] })).toBe('allow');
  });

  it('#17.7 reads [any] as [*]', () => {
    const p = entry({ deny_if: [{ path: 'args.paths[any]', op: 'regex', value: '\\.env$' }] });
    expect(outcome(p, { paths: ['a', 'b/.env'] })).toBe('deny');
  });

  it('#17.7 shows in explain() which element matched', () => {
    const e = explain(anyEnv, { server: 's', tool: 't', args: { paths: ['/tmp/a.txt', '/tmp/x/.env'] } });
    expect(e.steps).toContainEqual(
      expect.objectContaining({ result: 'matched', detail: 'args.paths[1] = "/tmp/x/.env"' }),
    );
  });

  it('#17.7 requires every element with [all] and names the first that fails', () => {
    const p = entry({ require: [{ path: 'args.paths[all]', op: 'regex', value: '^/tmp/' }] });
    expect(outcome(p, { paths: ['/tmp/a', '/tmp/b'] })).toBe('allow');
    expect(outcome(p, { paths: ['/tmp/a', '/etc/passwd'] })).toBe('deny');
    const e = explain(p, { server: 's', tool: 't', args: { paths: ['/tmp/a', '/etc/passwd'] } });
    expect(e.steps).toContainEqual(
      expect.objectContaining({ result: 'not matched', detail: 'args.paths[1] = "/etc/passwd"' }),
    );
  });

  it('#17.7 reaches a key of every element (args.edits[*].path) and lists of lists', () => {
    const p = entry({ deny_if: [{ path: 'args.edits[*].path', op: 'contains', value: '.ssh' }] });
    expect(outcome(p, { edits: [{ path: 'a' }, { path: '/home/u/.ssh/id_rsa' }] })).toBe('deny');
    expect(outcome(p, { edits: [{ path: 'a' }, { other: 1 }] })).toBe('allow');
    const nested = entry({ deny_if: [{ path: 'args.m[*][*]', op: 'eq', value: 'x' }] });
    expect(outcome(nested, { m: [['a'], ['b', 'x']] })).toBe('deny');
  });

  it('#17.7 reads a single value under a quantifier as a list of one', () => {
    expect(outcome(anyEnv, { paths: '/tmp/.env' })).toBe('deny');
  });

  it('#17.7 gives an empty list no match for [*] and a vacuous hold for [all]; a missing list is absent', () => {
    const all = entry({ require: [{ path: 'args.paths[all]', op: 'regex', value: '^/tmp/' }] });
    expect(outcome(anyEnv, { paths: [] })).toBe('allow');
    expect(outcome(all, { paths: [] })).toBe('allow');
    expect(outcome(all, {})).toBe('deny');
    expect(outcome(anyEnv, {})).toBe('allow');
  });

  it('#17.7 fails closed when one element cannot be compared and none matched', () => {
    expect(outcome(anyEnv, { paths: ['/tmp/a', { p: '/tmp/.env' }] })).toBe('deny');
  });

  it('#17.7 fails closed when a regex rule without a quantifier meets a list', () => {
    const p = entry({ deny_if: [{ path: 'args.path', op: 'regex', value: '\\.env$' }] });
    expect(outcome(p, { path: ['/tmp/.env'] })).toBe('deny');
    const req = entry({ require: [{ path: 'args.path', op: 'regex', value: '^/tmp/' }] });
    expect(outcome(req, { path: ['/tmp/a'] })).toBe('deny');
  });

  it('#17.7 fails closed when eq or contains on a string meets a list or an object', () => {
    const eq = entry({ deny_if: [{ path: 'args.mode', op: 'eq', value: 'force' }] });
    expect(outcome(eq, { mode: ['force'] })).toBe('deny');
    const contains = entry({ deny_if: [{ path: 'args.cmd', op: 'contains', value: 'rm' }] });
    expect(outcome(contains, { cmd: { argv: 'rm -rf /' } })).toBe('deny');
  });

  it('#17.7 keeps contains on a list as membership (documented, unchanged)', () => {
    const p = entry({ deny_if: [{ path: 'args.tags', op: 'contains', value: 'prod' }] });
    expect(outcome(p, { tags: ['dev', 'prod'] })).toBe('deny');
    expect(outcome(p, { tags: ['dev'] })).toBe('allow');
  });

  it('#17.7 fails closed on a string too long to search', () => {
    const p = entry({ deny_if: [{ path: 'args.cmd', op: 'regex', value: 'rm -rf' }] });
    expect(outcome(p, { cmd: `rm -rf /${' '.repeat(70 * 1024)}` })).toBe('deny');
  });

  it('#17.7 refuses a quantifier with no list name before it', () => {
    expect(
      problemsOf({
        version: '1',
        default: 'allow',
        tools: { t: { deny_if: [{ path: 'args.[*]', op: 'exists', value: true }] } },
      })[0]?.message,
    ).toContain('quantifier');
  });

  it('#17.7 loads quantifiers in an Intercept file too', () => {
    const p = load(
      {
        version: '1',
        tools: {
          t: {
            rules: [
              { name: 'tmp only', conditions: [{ path: 'args.paths[all]', op: 'regex', value: '^/tmp/' }] },
            ],
          },
        },
      },
      'p.yaml',
    );
    expect(outcome(p, { paths: ['/tmp/a'] })).toBe('allow');
    expect(outcome(p, { paths: ['/tmp/a', '/etc/shadow'] })).toBe('deny');
  });
});

describe('#17.7 #17.10 the demo policy', () => {
  const demo = parsePolicyText(readFileSync(DEMO, 'utf8'), DEMO).policy!;
  const fs = (tool: string, args: Record<string, unknown>, annotations?: Record<string, unknown>) =>
    decide(demo, { server: 'filesystem', tool, args, annotations }).outcome;

  it.each([
    ['read_text_file', { path: '/tmp/demo/.env' }],
    ['read_file', { path: '/tmp/demo/.env' }],
    ['read_media_file', { path: '/tmp/demo/.ssh/id_rsa.png' }],
    ['read_multiple_files', { paths: ['/tmp/demo/a.txt', '/tmp/demo/.env'] }],
    ['edit_file', { path: '/tmp/demo/.env', edits: [] }],
    ['create_directory', { path: '/tmp/demo/.ssh' }],
    ['list_directory', { path: '/tmp/demo/.ssh' }],
    ['list_directory_with_sizes', { path: '/tmp/demo/.ssh' }],
    ['directory_tree', { path: '/tmp/demo/.ssh' }],
    ['move_file (source)', { source: '/tmp/demo/.env', destination: '/tmp/demo/env.txt' }],
    ['move_file (destination)', { source: '/tmp/demo/key', destination: '/tmp/demo/.ssh/authorized_keys' }],
    ['search_files', { path: '/tmp/demo/.ssh', pattern: '*' }],
    ['get_file_info', { path: '/tmp/demo/.env' }],
    ['read_text_file (.env.local)', { path: '/tmp/demo/.env.local' }],
    ['read_text_file (case: .ENV on a case-insensitive disk)', { path: '/tmp/demo/.ENV' }],
    ['read_text_file (a path sent as a list)', { path: ['/tmp/demo/.env'] }],
  ])('#17.7 denies %s into .env or .ssh', (tool, args) => {
    expect(fs(tool.split(' ')[0]!, args)).toBe('deny');
  });

  it('#17.7 lets read_multiple_files read ordinary files', () => {
    expect(fs('read_multiple_files', { paths: ['/tmp/demo/a.txt', '/tmp/demo/environment.md'] })).toBe(
      'allow',
    );
  });

  it.each([['edit_file'], ['move_file']])(
    '#17.10 holds %s for approval because the server marks it destructiveHint: true',
    (tool) => {
      expect(
        fs(
          tool,
          { path: '/tmp/demo/a.txt', source: '/tmp/demo/a', destination: '/tmp/demo/b' },
          { destructiveHint: true },
        ),
      ).toBe('require_approval');
    },
  );

  it('#17.10 does not hold a read-only tool', () => {
    expect(
      fs('read_text_file', { path: '/tmp/demo/a.txt' }, { readOnlyHint: true, openWorldHint: false }),
    ).toBe('allow');
  });
});

describe('#17.10 conditions on the annotations a server declares', () => {
  it('#17.10 matches tool.annotations.destructiveHint in approve_if', () => {
    const p = load({
      version: '1',
      default: 'allow',
      all_tools: { approve_if: [{ path: 'tool.annotations.destructiveHint', op: 'eq', value: true }] },
    });
    expect(p.readsAnnotations).toBe(true);
    expect(outcome(p, {}, { annotations: { destructiveHint: true } })).toBe('require_approval');
    expect(outcome(p, {}, { annotations: { destructiveHint: false } })).toBe('allow');
    expect(outcome(p, {}, {})).toBe('allow');
  });

  it('#17.10 matches openWorldHint and readOnlyHint: false in deny_if', () => {
    const p = entry({
      deny_if: [
        { path: 'tool.annotations.openWorldHint', op: 'eq', value: true },
        { path: 'tool.annotations.readOnlyHint', op: 'eq', value: false },
      ],
    });
    expect(outcome(p, {}, { annotations: { openWorldHint: true } })).toBe('deny');
    expect(outcome(p, {}, { annotations: { readOnlyHint: false } })).toBe('deny');
    expect(outcome(p, {}, { annotations: { readOnlyHint: true, openWorldHint: false } })).toBe('allow');
  });

  it('#17.10 refuses an annotation in require (a server could satisfy it by declaring)', () => {
    const problems = problemsOf({
      version: '1',
      default: 'allow',
      tools: { t: { require: [{ path: 'tool.annotations.readOnlyHint', op: 'eq', value: true }] } },
    });
    expect(problems[0]?.message).toContain('stricter');
  });

  it.each([
    ['neq', true],
    ['exists', false],
    ['eq', 'true'],
    ['in', [true]],
  ])(
    '#17.10 refuses an annotation condition with %s %j (it could match a hint the server leaves out)',
    (op, value) => {
      const problems = problemsOf({
        version: '1',
        default: 'allow',
        tools: { t: { deny_if: [{ path: 'tool.annotations.destructiveHint', op, value }] } },
      });
      expect(problems.map((p) => p.message).join('\n')).toContain('annotation');
    },
  );

  it('#17.10 refuses an unknown hint name', () => {
    expect(
      problemsOf({
        version: '1',
        default: 'allow',
        tools: { t: { deny_if: [{ path: 'tool.annotations.safeHint', op: 'eq', value: true }] } },
      }).length,
    ).toBeGreaterThan(0);
  });
});

describe('#17.28 Intercept format detection', () => {
  const parse = (yaml: string) => parsePolicyText(yaml, 'intercept.yaml');

  it('#17.28 loads a hide-only Intercept file (no default, no tools) as Intercept', () => {
    const { policy, problems } = parse('version: "1"\nhide: [get_env]\n');
    expect(problems).toEqual([]);
    expect(policy?.format).toBe('intercept');
    expect(policy?.default).toBe('allow');
    expect(isHidden(policy!, 'get_env')).toBe(true);
  });

  it('#17.28 loads an Intercept file with an empty tools map', () => {
    const { policy, problems } = parse('version: "1"\ndescription: nothing yet\ntools: {}\n');
    expect(problems).toEqual([]);
    expect(policy?.format).toBe('intercept');
    expect(decide(policy!, { server: 's', tool: 'anything', args: {} }).outcome).toBe('allow');
  });

  it('#17.28 matches hide entries exactly in an Intercept file with default set and no rules', () => {
    const { policy } = parse('version: "1"\ndefault: allow\nhide: ["tool_*"]\n');
    expect(policy?.format).toBe('intercept');
    expect(isHidden(policy!, 'tool_a')).toBe(false);
    expect(isHidden(policy!, 'tool_*')).toBe(true);
  });

  it('#17.28 gives hide the same meaning with or without an unrelated rules entry', () => {
    const plain = parse('version: "1"\ndefault: allow\nhide: ["tool_*"]\n').policy!;
    const withRules = parse(
      'version: "1"\ndefault: allow\nhide: ["tool_*"]\ntools:\n  other:\n    rules:\n      - name: block\n        action: deny\n',
    ).policy!;
    for (const name of ['tool_a', 'tool_*', 'other'])
      expect(isHidden(withRules, name)).toBe(isHidden(plain, name));
  });

  it('#17.28 lists tools written as an empty entry or {} under default: deny, and "*" rescues no tool', () => {
    const { policy, problems } = parse(
      'version: "1"\ndefault: deny\ntools:\n  read_file:\n  list_dir: {}\n  "*": {}\n',
    );
    expect(problems).toEqual([]);
    expect(policy?.format).toBe('intercept');
    const o = (tool: string) => decide(policy!, { server: 's', tool, args: {} }).outcome;
    expect(o('read_file')).toBe('allow');
    expect(o('list_dir')).toBe('allow');
    expect(o('delete_file')).toBe('deny');
  });

  it('#17.28 keeps default: deny with rules: [] (Intercept docs: listed allowed, unlisted denied)', () => {
    const { policy } = parse(
      'version: "1"\ndefault: deny\ntools:\n  read_file:\n    rules: []\n  create_issue:\n    rules:\n      - name: hourly limit\n        rate_limit: 5/hour\n',
    );
    const o = (tool: string) => decide(policy!, { server: 's', tool, args: {} }).outcome;
    expect(o('read_file')).toBe('allow');
    expect(o('create_issue')).toBe('allow');
    expect(o('push_files')).toBe('deny');
  });

  it('#17.28 gives an Intercept deny rule its on_deny as the reason (warden adds its own [POLICY DENIED] prefix)', () => {
    const { policy } = parse(
      'version: "1"\ntools:\n  delete_customer:\n    rules:\n      - name: block\n        action: deny\n        on_deny: Deleting customers is not allowed\n',
    );
    const d = decide(policy!, { server: 's', tool: 'delete_customer', args: {} });
    expect(d.outcome).toBe('deny');
    expect(d.reason).toBe('Deleting customers is not allowed');
  });

  it.each([
    ['$schema', { $schema: 'x', version: '1', default: 'allow', hide: ['tool_*'] }],
    ['all_tools', { version: '1', default: 'allow', hide: ['tool_*'], all_tools: {} }],
    ['categories', { version: '1', default: 'allow', hide: ['tool_*'], categories: { read: 'allow' } }],
    [
      'a tool entry with action',
      { version: '1', default: 'allow', hide: ['tool_*'], tools: { x: { action: 'allow' } } },
    ],
  ])('#17.28 reads a file with %s (PolicyLayer only) as PolicyLayer, with globs', (_name, value) => {
    const p = load(value);
    expect(p.format).toBe('policylayer');
    expect(isHidden(p, 'tool_a')).toBe(true);
  });

  it('#17.28 still asks a PolicyLayer file for default', () => {
    const problems = problemsOf({ version: '1', tools: { x: { deny_if: [] } } });
    expect(problems[0]).toMatchObject({ path: 'default' });
  });
});
