// Property-based fuzzing of config and policy loading: valid configs with mutations, random and YAML-ish text, wrong
// types, unknown keys, huge numbers and odd unicode either load into a usable config or are refused with a ConfigError
// whose every problem names its file, path and (where the text has one) line.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { parseDocument, stringify } from 'yaml';
import { loadConfigFile, parseConfig } from '../../src/config/load.js';
import { loadPolicyFile, parsePolicyText } from '../../src/config/policy-file.js';
import { resolveConfig } from '../../src/config/resolve.js';
import { ConfigError, formatProblems, type Problem, WardenError } from '../../src/errors.js';
import type { CompiledPolicy } from '../../src/policy/types.js';
import { tempDir } from '../helpers/gateway.js';
import { interceptArb, policyLayerArb, SEEDS } from './arbitraries.js';

const RUNS = 1200;
const DIR = tempDir('warden-fuzz-config-');
const CONFIG = join(DIR, 'warden.yaml');
/** Policy files a config may name: valid, invalid, unreadable (a directory), missing. */
const POLICY_FILES = {
  valid: join(DIR, 'ok.json'),
  invalid: join(DIR, 'bad.yaml'),
  directory: join(DIR, 'dir.json'),
  missing: join(DIR, 'missing.json'),
};
writeFileSync(POLICY_FILES.valid, JSON.stringify({ version: '1', default: 'deny', tools: { read: {} } }));
writeFileSync(POLICY_FILES.invalid, 'version: 2\ndefault: maybe\ntools: [1\n');
mkdirSync(POLICY_FILES.directory);
const ENV = { SET: 'value', EMPTY: '', TOKEN: 'Bearer abc' };
/** Node's timers hold at most this many ms; a longer timeout fires after 1 ms instead. */
const MAX_TIMER_MS = 2 ** 31 - 1;
const stats = { configs: 0, loaded: 0, policies: 0, policiesLoaded: 0 };

afterAll(() => {
  console.log(`config fuzz: ${JSON.stringify(stats)}`);
});

const ODD = [
  '\ufeff',
  '\u202e',
  '\u200b',
  '\u0000',
  '\ud800',
  'ｍｃｐ',
  'é',
  '𝒳',
  '\t',
  '\r\n',
  '${SET}',
  '${UNSET}',
  '${UNSET:-fallback}',
  '${',
  '$${SET}',
];
const HUGE = [1e308, -1e308, 2 ** 53 + 2, -0, 5e-324, 2 ** 31, 2 ** 32, 99_999, 65_536, -1, 0, 1.5];
const oddString = fc.oneof(
  fc.constantFrom(...ODD),
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.string({ unit: 'grapheme', maxLength: 12 }),
  fc.constantFrom('x'.repeat(5000), '127.0.0.1:99999', '[::1]:0', 'sqlite:', 'redis://', 'memory ', '1e400'),
);
const oddValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(...HUGE),
  oddString,
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom(null, true, [], {}, [1, 'a'], { a: { b: {} } }),
);
const duration = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('30s', '5m', '1h', '2d', '500ms', '1.5h') },
  { weight: 4, arbitrary: fc.integer({ min: 1, max: 3600 }) },
  { weight: 1, arbitrary: fc.constantFrom(...HUGE) },
);
const hostPort = fc.oneof(
  fc.constantFrom('127.0.0.1:7420', 'localhost:0', '[::1]:7421', '0.0.0.0:65535'),
  fc.integer({ min: 0, max: 70_000 }).map((p) => `127.0.0.1:${p}`),
);
const serverId = fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,8}$/);
const policyRef = fc.oneof(
  { weight: 2, arbitrary: policyLayerArb },
  { weight: 1, arbitrary: interceptArb },
  { weight: 3, arbitrary: fc.constantFrom(POLICY_FILES.valid, './ok.json') },
  { weight: 1, arbitrary: fc.constantFrom(...Object.values(POLICY_FILES), '../nope.yaml', '') },
);
/** Text without `${`: most generated configs should load, so that "accepted means usable" is tested too. */
const plainString = fc.string({ maxLength: 8 }).filter((t) => !t.includes('${'));
const stdioServer = fc.record(
  {
    command: fc.constantFrom('node', 'npx', 'python3'),
    args: fc.array(fc.oneof(plainString, oddString), { maxLength: 3 }),
    env: fc.dictionary(fc.stringMatching(/^[A-Z_]{1,6}$/), plainString, { maxKeys: 2 }),
    cwd: fc.constantFrom('.', '/tmp', 'sub'),
    timeout: duration,
    startTimeout: duration,
    prefix: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9-]{3,8}$/),
    disabled: fc.boolean(),
    policy: policyRef,
    autoApprove: fc.array(fc.string({ maxLength: 5 }), { maxLength: 2 }),
    type: fc.constant('stdio'),
  },
  { requiredKeys: ['command'] },
);
const httpServer = fc.record(
  {
    url: fc.constantFrom('http://127.0.0.1:9000/mcp', 'https://example.com/sse', 'http://[::1]:1/x'),
    headers: fc.dictionary(
      fc.constantFrom('Authorization', 'X-Key'),
      fc.oneof(plainString, fc.constant('${TOKEN}')),
      {
        maxKeys: 2,
      },
    ),
    transport: fc.constantFrom('http', 'sse', 'streamable-http'),
    timeout: duration,
    policy: policyRef,
  },
  { requiredKeys: ['url'] },
);
const configArb: fc.Arbitrary<Record<string, unknown>> = fc.record(
  {
    mcpServers: fc.dictionary(serverId, fc.oneof(stdioServer, httpServer), { minKeys: 1, maxKeys: 3 }),
    listen: hostPort,
    admin: hostPort,
    storage: fc.constantFrom('sqlite:./warden.db', 'postgres://u@127.0.0.1/db', 'sqlite:${SET}.db'),
    state: fc.constantFrom('memory', 'redis://127.0.0.1:6379'),
    state_fail_mode: fc.constantFrom('closed', 'open'),
    policy: policyRef,
    auth: fc.record({ anonymous: fc.boolean() }),
    aggregate: fc.record({ separator: fc.constantFrom('__', '.', '-_-') }),
    http: fc.record(
      {
        allowedHosts: fc.array(fc.string({ maxLength: 6 }), { maxLength: 2 }),
        maxBodyBytes: fc.oneof(
          { weight: 6, arbitrary: fc.integer({ min: 1, max: 1e7 }) },
          { weight: 1, arbitrary: fc.constantFrom(...HUGE) },
        ),
        maxSessions: fc.oneof(
          { weight: 6, arbitrary: fc.integer({ min: 1, max: 1000 }) },
          { weight: 1, arbitrary: fc.constantFrom(...HUGE) },
        ),
        sessionIdleTimeout: duration,
      },
      { requiredKeys: [] },
    ),
    audit: fc.record(
      {
        args: fc.constantFrom('keys', 'redacted', 'full'),
        retention: duration,
        spool: fc.constantFrom('a.spool'),
      },
      { requiredKeys: [] },
    ),
    approvals: fc.record({
      webhooks: fc.array(
        fc.record({
          url: fc.constant('http://127.0.0.1:1/hook'),
          secret: fc.constantFrom('${SET}-and-16-chars', 'x'.repeat(16)),
        }),
        { maxLength: 1 },
      ),
    }),
    log: fc.record({ level: fc.constantFrom('info', 'silent', 'debug') }),
  },
  { requiredKeys: ['mcpServers'] },
);

type Path = Array<string | number>;

/** Every path to a value inside a JSON value (the root excluded). */
function pathsOf(v: unknown, at: Path = [], out: Path[] = []): Path[] {
  if (Array.isArray(v)) {
    v.forEach((x, i) => {
      out.push([...at, i]);
      pathsOf(x, [...at, i], out);
    });
  } else if (v !== null && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      out.push([...at, k]);
      pathsOf(x, [...at, k], out);
    }
  }
  return out;
}

interface Mutation {
  op: 'set' | 'delete' | 'unknown-key' | 'rename';
  at: number;
  key: string;
  value: unknown;
}
const mutation: fc.Arbitrary<Mutation> = fc.record({
  op: fc.constantFrom('set', 'delete', 'unknown-key', 'rename'),
  at: fc.nat(),
  key: fc.oneof(oddString, fc.constantFrom('__proto__', 'constructor', 'listen ', 'mcpservers', 'Policy')),
  value: oddValue,
});

/** Applies structural mutations to a copy: wrong types, huge numbers, unknown or renamed keys, deleted ones. */
function mutate(value: Record<string, unknown>, mutations: readonly Mutation[]): unknown {
  const root = JSON.parse(JSON.stringify(value)) as Record<string, unknown>;
  for (const m of mutations) {
    const paths = pathsOf(root);
    if (paths.length === 0) break;
    const path = paths[m.at % paths.length]!;
    const parent = path.slice(0, -1).reduce<any>((o, k) => o[k], root);
    const last = path.at(-1)!;
    if (m.op === 'set') parent[last] = m.value;
    else if (m.op === 'delete') {
      if (Array.isArray(parent)) parent.splice(Number(last), 1);
      else delete parent[last];
    } else if (m.op === 'unknown-key') {
      const target = parent[last];
      if (target !== null && typeof target === 'object' && !Array.isArray(target))
        Object.defineProperty(target, m.key, {
          value: m.value,
          enumerable: true,
          writable: true,
          configurable: true,
        });
    } else if (!Array.isArray(parent) && typeof last === 'string') {
      const v = parent[last];
      delete parent[last];
      Object.defineProperty(parent, `${last}${m.key}`, {
        value: v,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
  }
  return root;
}

interface TextEdit {
  kind: 'truncate' | 'insert' | 'delete' | 'duplicate-line' | 'swap-lines';
  at: number;
  length: number;
  text: string;
}
const YAMLISH = [
  'mcpServers:',
  '  a:',
  '    command: node',
  '- ',
  '&a ',
  '*a',
  '<<: *a',
  '!!binary ',
  '!!js/function ',
  '!custom ',
  '{',
  '}',
  '[',
  ']',
  '"',
  "'",
  '# ',
  '---',
  '...',
  '%YAML 1.1',
  '? ',
  ': ',
  '|',
  '>-',
  '.inf',
  '.nan',
  '0x1F',
  '1e400',
  '~',
];
const textEdit: fc.Arbitrary<TextEdit> = fc.record({
  kind: fc.constantFrom('truncate', 'insert', 'delete', 'duplicate-line', 'swap-lines'),
  at: fc.nat(),
  length: fc.integer({ min: 1, max: 20 }),
  text: fc.oneof(fc.constantFrom(...YAMLISH, ...ODD), oddString),
});

function editText(text: string, edits: readonly TextEdit[]): string {
  let out = text;
  for (const e of edits) {
    const at = out.length === 0 ? 0 : e.at % (out.length + 1);
    const lines = out.split('\n');
    const line = lines.length === 0 ? 0 : e.at % lines.length;
    switch (e.kind) {
      case 'truncate':
        out = out.slice(0, at);
        break;
      case 'insert':
        out = out.slice(0, at) + e.text + out.slice(at);
        break;
      case 'delete':
        out = out.slice(0, at) + out.slice(at + e.length);
        break;
      case 'duplicate-line':
        lines.splice(line, 0, lines[line] ?? '');
        out = lines.join('\n');
        break;
      case 'swap-lines': {
        const other = (line + e.length) % lines.length;
        [lines[line], lines[other]] = [lines[other]!, lines[line]!];
        out = lines.join('\n');
      }
    }
  }
  return out;
}

/** An alias bomb: each level repeats the one below `width` times. */
const aliasBomb = fc
  .tuple(fc.integer({ min: 2, max: 12 }), fc.integer({ min: 2, max: 8 }))
  .map(([width, levels]) => {
    let text = `l0: &l0 [${Array(width).fill('x').join(', ')}]\n`;
    for (let i = 1; i < levels; i++)
      text += `l${i}: &l${i} [${Array(width)
        .fill(`*l${i - 1}`)
        .join(', ')}]\n`;
    return `${text}mcpServers:\n  a:\n    command: node\n`;
  });

function serialize(value: unknown, how: 'yaml' | 'json' | 'json-pretty'): string {
  if (how === 'yaml') return stringify(value);
  return JSON.stringify(value, null, how === 'json' ? undefined : 2) ?? 'null';
}

/** Generated config texts: valid ones, structurally mutated ones, edited text, YAML-ish and random text, bombs. */
const configText: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc
      .tuple(configArb, fc.constantFrom('yaml', 'json', 'json-pretty') as fc.Arbitrary<'yaml'>)
      .map(([c, how]) => serialize(c, how)),
  },
  {
    weight: 4,
    arbitrary: fc
      .tuple(
        configArb,
        fc.array(mutation, { minLength: 1, maxLength: 4 }),
        fc.constantFrom('yaml', 'json') as fc.Arbitrary<'yaml'>,
      )
      .map(([c, ms, how]) => serialize(mutate(c, ms), how)),
  },
  {
    weight: 3,
    arbitrary: fc
      .tuple(
        configArb,
        fc.array(textEdit, { minLength: 1, maxLength: 4 }),
        fc.constantFrom('yaml', 'json') as fc.Arbitrary<'yaml'>,
      )
      .map(([c, edits, how]) => editText(serialize(c, how), edits)),
  },
  {
    weight: 1,
    arbitrary: fc.array(fc.constantFrom(...YAMLISH, ...ODD), { maxLength: 30 }).map((l) => l.join('\n')),
  },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 300 }) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v) ?? '') },
  { weight: 1, arbitrary: aliasBomb },
);

/** Whether the text holds a YAML document with any content (so that problems can have a line). */
function hasContent(text: string): boolean {
  try {
    return parseDocument(text).contents !== null;
  } catch {
    return true;
  }
}

function checkProblems(err: unknown, text: string, file: string, known: readonly string[]): void {
  expect(err, String((err as Error)?.stack)).toBeInstanceOf(ConfigError);
  const problems: Problem[] = (err as ConfigError).problems;
  expect(problems.length).toBeGreaterThan(0);
  expect((err as ConfigError).message).toBe(formatProblems(problems));
  const lines = text.split(/\r\n|\r|\n/).length;
  for (const p of problems) {
    expect([file, ...known], JSON.stringify(p)).toContain(p.file);
    expect(typeof p.path).toBe('string');
    expect(typeof p.message).toBe('string');
    expect(p.message.trim().length, JSON.stringify(p)).toBeGreaterThan(0);
    expect(p.message).not.toMatch(/\[object Object\]/);
    if (p.file === file) {
      if (p.line !== undefined) {
        expect(Number.isInteger(p.line)).toBe(true);
        expect(p.line).toBeGreaterThanOrEqual(1);
        expect(p.line).toBeLessThanOrEqual(lines);
      } else expect(hasContent(text), `no line for ${JSON.stringify(p)}`).toBe(false);
    }
  }
}

function timeoutsOf(policy: CompiledPolicy): number[] {
  const entries = [
    ...policy.toolsExact.values(),
    ...policy.toolGlobs.map((g) => g.entry),
    ...(policy.allTools ? [policy.allTools] : []),
  ];
  const out: number[] = [];
  for (const e of entries) {
    out.push(e.approval.timeoutMs);
    for (const r of e.approveIf) if (r.decision.approval) out.push(r.decision.approval.timeoutMs);
  }
  return out;
}

/** An accepted policy can be used: its approval deadlines are dates, its limits are finite. */
function checkUsablePolicy(policy: CompiledPolicy): void {
  for (const ms of timeoutsOf(policy)) {
    expect(ms).toBeGreaterThan(0);
    expect(() => new Date(Date.now() + ms).toISOString(), `approval timeout ${ms} ms`).not.toThrow();
  }
  const entries = [...policy.toolsExact.values(), ...policy.toolGlobs.map((g) => g.entry)];
  for (const limit of entries.flatMap((e) => e.limits)) {
    expect(limit.windowMs, limit.rule).toBeGreaterThan(0);
    expect(Number.isSafeInteger(Math.ceil(limit.windowMs)), `${limit.rule} window ${limit.windowMs} ms`).toBe(
      true,
    );
    expect(Number.isFinite(limit.max), limit.rule).toBe(true);
  }
}

describe('config loading fuzz', () => {
  it('every generated config text loads into a usable config or is refused with located problems', () => {
    const known = Object.values(POLICY_FILES);
    fc.assert(
      fc.property(configText, (text) => {
        stats.configs++;
        let loaded: ReturnType<typeof parseConfig>;
        try {
          loaded = parseConfig(text, CONFIG, ENV);
        } catch (err) {
          checkProblems(err, text, CONFIG, known);
          return;
        }
        stats.loaded++;
        // Accepted means usable: it resolves, and what the gateway will do with each number is possible.
        const config = resolveConfig(loaded);
        for (const at of [config.listen, config.admin]) {
          expect(Number.isInteger(at.port), JSON.stringify(at)).toBe(true);
          expect(at.port).toBeGreaterThanOrEqual(0);
          expect(at.port, JSON.stringify(at)).toBeLessThanOrEqual(65_535);
        }
        expect(Number.isSafeInteger(config.maxBodyBytes)).toBe(true);
        expect(Number.isSafeInteger(config.maxSessions)).toBe(true);
        for (const u of config.upstreams) {
          for (const ms of [u.timeoutMs, u.startTimeoutMs]) {
            expect(ms).toBeGreaterThan(0);
            expect(ms, `upstream ${u.id} timeout ${ms} ms`).toBeLessThanOrEqual(MAX_TIMER_MS);
          }
        }
        for (const p of [config.policies.global, ...config.policies.servers.values()])
          if (p) checkUsablePolicy(p.policy);
      }),
      { seed: SEEDS.config, numRuns: RUNS, endOnFailure: false },
    );
  });

  it('the generators reach both outcomes', () => {
    expect(stats.loaded).toBeGreaterThan(100);
    expect(stats.configs - stats.loaded).toBeGreaterThan(100);
  });

  it('loadConfigFile refuses unreadable paths with a WardenError naming the file', () => {
    for (const path of [POLICY_FILES.missing, POLICY_FILES.directory, join(DIR, 'é\u0000x.yaml')]) {
      let caught: unknown;
      try {
        loadConfigFile(path);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(WardenError);
      expect((caught as WardenError).code).toBe('CONFIG_NOT_FOUND');
    }
  });
});

const policyText: fc.Arbitrary<{ text: string; file: string }> = fc.oneof(
  fc
    .tuple(
      fc.oneof(policyLayerArb, interceptArb),
      fc.array(mutation, { maxLength: 4 }),
      fc.constantFrom('yaml', 'json') as fc.Arbitrary<'yaml'>,
    )
    .map(([p, ms, how]) => ({ text: serialize(mutate(p, ms), how), file: join(DIR, `p.${how}`) })),
  fc
    .tuple(fc.oneof(policyLayerArb, interceptArb), fc.array(textEdit, { minLength: 1, maxLength: 4 }))
    .map(([p, edits]) => ({ text: editText(stringify(p), edits), file: join(DIR, 'p.yaml') })),
  fc
    .oneof(fc.string({ unit: 'binary', maxLength: 200 }), aliasBomb)
    .map((text) => ({ text, file: join(DIR, 'p.yaml') })),
);

describe('policy loading fuzz', () => {
  it('every generated policy text compiles or returns located problems, and never throws', () => {
    fc.assert(
      fc.property(policyText, ({ text, file }) => {
        stats.policies++;
        const { policy, problems } = parsePolicyText(text, file);
        if (policy !== undefined) {
          stats.policiesLoaded++;
          expect(problems).toEqual([]);
          checkUsablePolicy(policy);
          return;
        }
        checkProblems(new ConfigError(problems), text, file, []);
      }),
      { seed: SEEDS.config + 1, numRuns: RUNS, endOnFailure: false },
    );
  });

  it('loadPolicyFile throws only WardenError (ConfigError for a bad policy, CONFIG_NOT_FOUND for a bad path)', () => {
    for (const [path, code] of [
      [POLICY_FILES.valid, undefined],
      [POLICY_FILES.invalid, 'CONFIG_INVALID'],
      [POLICY_FILES.directory, 'CONFIG_NOT_FOUND'],
      [POLICY_FILES.missing, 'CONFIG_NOT_FOUND'],
    ] as const) {
      let caught: unknown;
      try {
        loadPolicyFile(path);
      } catch (err) {
        caught = err;
      }
      if (code === undefined) expect(caught).toBeUndefined();
      else expect((caught as WardenError).code).toBe(code);
    }
  });
});

describe('config loading fuzz findings', () => {
  const problemsOf = (text: string): Problem[] => {
    try {
      parseConfig(text, CONFIG, ENV);
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return (err as ConfigError).problems;
    }
    throw new Error('expected a ConfigError');
  };
  const server = 'mcpServers:\n  a:\n    command: node\n';

  it('finding: a YAML alias bomb is a located problem of the file, not a ReferenceError thrown out of the loader', () => {
    const bomb = Array.from({ length: 5 }, (_, i) =>
      i === 0
        ? 'l0: &l0 [x, x, x, x, x]\n'
        : `l${i}: &l${i} [${Array(5)
            .fill(`*l${i - 1}`)
            .join(', ')}]\n`,
    ).join('');
    expect(problemsOf(`${bomb}${server}`)).toEqual([
      { file: CONFIG, path: '', line: 1, message: expect.stringMatching(/alias/i) },
    ]);
    const { policy, problems } = parsePolicyText(`${bomb}version: "1"\ndefault: allow\n`, 'p.yaml');
    expect(policy).toBeUndefined();
    expect(problems[0]).toMatchObject({ file: 'p.yaml', line: 1, message: expect.stringMatching(/alias/i) });
  });

  it('finding: an upstream timeout past what a timer holds (24.8 days) is refused, instead of timing every call out after 1 ms', () => {
    expect(problemsOf(`${server}    timeout: 1e30\n`)).toEqual([
      {
        file: CONFIG,
        path: 'mcpServers.a.timeout',
        line: 4,
        message: 'a timeout is at most 24 days (2147483 seconds)',
      },
    ]);
    expect(problemsOf(`${server}    startTimeout: 30d\n`)[0]).toMatchObject({
      path: 'mcpServers.a.startTimeout',
    });
    expect(() => parseConfig(`${server}    timeout: 24d\n`, CONFIG, ENV)).not.toThrow();
  });

  it('finding: a port above 65535 is refused at its line, instead of a RangeError when the gateway listens', () => {
    expect(problemsOf(`${server}listen: 127.0.0.1:99999\n`)).toEqual([
      { file: CONFIG, path: 'listen', line: 4, message: 'the port is at most 65535' },
    ]);
    expect(() => parseConfig(`${server}admin: '[::1]:65535'\n`, CONFIG, ENV)).not.toThrow();
  });

  it('finding: a policy duration past 365 days is refused, instead of an approval whose deadline is not a date', () => {
    const { problems } = parsePolicyText(
      'version: "1"\ndefault: allow\ntools:\n  t:\n    approval:\n      timeout: 1e308\n',
      'p.yaml',
    );
    expect(problems).toEqual([
      expect.objectContaining({
        path: 'tools.t.approval.timeout',
        line: 6,
        message: 'a duration is at most 365 days',
      }),
    ]);
  });
});
