// Issue #17, what a new user met in config loading: client configs load unchanged, policy files are what their name
// says, the example config keeps its servers out of shared directories.
import { existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { assignServerIds, serverIdFor } from '../../src/config/client-config.js';
import { loadConfigFile, parseConfig } from '../../src/config/load.js';
import { parsePolicyText } from '../../src/config/policy-file.js';
import { resolveConfig } from '../../src/config/resolve.js';
import { ConfigError } from '../../src/errors.js';
import { ROOT, tempDir } from '../helpers/gateway.js';

const CLIENTS = join(ROOT, 'test/fixtures/client-configs');
const ENV = { WARDEN_FIXTURE_TOKEN: 'fixture-token', WARDEN_INPUT_API_KEY: 'input-value' };

function problemsOf(run: () => unknown) {
  try {
    run();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('#17.25 client configs load unchanged', () => {
  it('#17.25 loads a Claude Desktop config with globalShortcut and server names with spaces and brackets', () => {
    const loaded = loadConfigFile(join(CLIENTS, 'claude_desktop_config.json'), ENV);
    expect(Object.keys(loaded.config.mcpServers)).toEqual(['everything-server', 'files-read-only', 'memory']);
    const messages = loaded.warnings.map((w) => `${w.line} ${w.message}`);
    expect(messages).toContain('2 "globalShortcut" is left out: a Claude Desktop setting');
    const renamed = loaded.warnings.find((w) => w.path === 'mcpServers.files (read-only)')!;
    expect(renamed.message).toBe(
      'server "files (read-only)" is not a valid id; it is served as "files-read-only"',
    );
    expect(renamed.hint).toContain('/mcp/files-read-only');
    expect(renamed.line).toBe(8);
  });

  it('#17.25 loads a Cursor config: ${env:NAME}, ${workspaceFolder}, envFile, url with headers', () => {
    const config = resolveConfig(loadConfigFile(join(CLIENTS, 'cursor/.cursor/mcp.json'), ENV));
    const [everything, docs] = config.upstreams;
    const workspace = join(CLIENTS, 'cursor');
    expect(everything!.args[0]).toBe(
      join(workspace, 'node_modules/@modelcontextprotocol/server-everything/dist/index.js'),
    );
    // envFile is read; env wins over it.
    expect(everything!.env).toEqual({ EVERYTHING_MODE: 'fixture', EVERYTHING_TOKEN: 'fixture-token' });
    expect(docs).toMatchObject({ id: 'context7-docs', kind: 'http', url: 'http://127.0.0.1:9/mcp' });
    expect(docs!.headers).toEqual({ CONTEXT7_API_KEY: 'fixture-token' });
  });

  it('#17.25 loads a VS Code config: "servers", comments, inputs, ${input:id}, ${userHome}, type stdio|http|sse', () => {
    const loaded = loadConfigFile(join(CLIENTS, 'vscode/.vscode/mcp.json'), ENV);
    const config = resolveConfig(loaded);
    expect(config.upstreams.map((u) => [u.id, u.kind])).toEqual([
      ['everything', 'stdio'],
      ['github-remote', 'http'],
      ['legacy_sse', 'sse'],
    ]);
    expect(config.upstreams[0]!.env.API_KEY).toBe('input-value');
    expect(config.upstreams[0]!.env.HOME_DIR).not.toContain('${');
    expect(config.upstreams[1]!.headers.Authorization).toBe('Bearer fixture-token');
    expect(loaded.warnings.map((w) => w.path)).toEqual([
      'inputs',
      'servers.github-remote.gallery',
      'servers.github-remote.version',
      'servers.legacy_sse.dev',
    ]);
  });

  it('#17.25 names the variable a VS Code ${input:id} is read from when it is not set', () => {
    const problems = problemsOf(() =>
      loadConfigFile(join(CLIENTS, 'vscode/.vscode/mcp.json'), { WARDEN_FIXTURE_TOKEN: 'x' }),
    );
    expect(problems).toHaveLength(1);
    expect(problems[0]!.message).toBe(
      'input "api-key" has no value: environment variable WARDEN_INPUT_API_KEY is not set',
    );
    expect(problems[0]!.path).toBe('mcpServers.everything.env.API_KEY');
    // In the everything entry (the yaml parser places a node inside a flow map at the entry's end).
    expect(problems[0]!.line).toBeGreaterThanOrEqual(12);
    expect(problems[0]!.line).toBeLessThanOrEqual(19);
  });

  it('#17.25 loads a Windsurf config: serverUrl, disabled, disabledTools (left out with a warning)', () => {
    const loaded = loadConfigFile(join(CLIENTS, 'windsurf/mcp_config.json'), ENV);
    const config = resolveConfig(loaded);
    expect(config.upstreams.map((u) => [u.id, u.kind, u.url])).toEqual([
      ['everything', 'stdio', undefined],
      ['remote-docs', 'http', 'http://127.0.0.1:9/mcp'],
    ]);
    const dropped = loaded.warnings.find((w) => w.path === 'mcpServers.everything.disabledTools')!;
    expect(dropped.message).toContain('hide them in a policy');
  });

  it('#17.25 gives colliding derived ids -2, -3 in file order, after the valid names claim theirs', () => {
    expect(
      Object.fromEntries(assignServerIds(['My Server', 'my-server', 'MY SERVER', 'my server!'])),
    ).toEqual({
      'My Server': 'my-server-2',
      'my-server': 'my-server',
      'MY SERVER': 'my-server-3',
      'my server!': 'my-server-4',
    });
  });

  it('#17.25 derives ids from names in other scripts and forms deterministically', () => {
    expect(serverIdFor('GitHub (work)')).toBe('github-work');
    expect(serverIdFor('Café Ｓｅｒｖｅｒ')).toBe('cafe-server'); // NFKD folds accents and full-width letters
    expect(serverIdFor('a__b')).toBe('a_b');
    expect(serverIdFor('日本語')).toBe('server');
    expect(serverIdFor('x'.repeat(100)).length).toBeLessThanOrEqual(64);
    expect(serverIdFor('ok_name')).toBe('ok_name');
  });

  it('#17.25 keeps an unknown key an error in a warden config (a typo must not pass) but not a client key', () => {
    const problems = problemsOf(() =>
      parseConfig(
        'listen: 127.0.0.1:7420\nlistn: 1\nglobalShortcut: x\nmcpServers:\n  a:\n    command: node\n    arg: [x]\n',
        '/etc/warden/warden.yaml',
        {},
      ),
    );
    expect(problems.map((p) => p.message).sort()).toEqual(['unknown key "arg"', 'unknown key "listn"']);
  });

  it('#17.25 leaves unknown keys of a client config out with a warning, never uses them', () => {
    const loaded = parseConfig(
      JSON.stringify({ theme: 'dark', mcpServers: { a: { command: 'node', arg: ['x'] } } }),
      '/home/u/client.json',
      {},
    );
    expect(loaded.config.mcpServers.a).toEqual({ command: 'node' });
    expect(loaded.warnings.map((w) => w.message)).toEqual([
      '"theme" is left out: not a warden setting',
      '"arg" is left out: not a warden setting',
    ]);
  });

  it('#17.25 does not interpolate keys it leaves out (an unset variable there is no error)', () => {
    const loaded = parseConfig(
      JSON.stringify({ globalShortcut: '${UNSET_VAR}', mcpServers: { a: { command: 'node' } } }),
      '/home/u/client.json',
      {},
    );
    expect(loaded.warnings).toHaveLength(1);
  });

  it('#17.25 keeps every server key warden reads in a file of mcpServers alone (roots, pinning: none left out)', () => {
    const loaded = parseConfig(
      'mcpServers:\n  fs:\n    command: node\n    roots: ["./data"]\n    pinning: { onChange: hide }\n',
      '/tmp/warden.yaml',
      {},
    );
    expect(loaded.warnings).toEqual([]);
    expect(loaded.config.mcpServers.fs?.roots).toEqual(['./data']);
    expect(loaded.config.mcpServers.fs?.pinning).toEqual({ onChange: 'hide' });
  });

  it('#17.25 refuses a config with both "mcpServers" and "servers"', () => {
    const problems = problemsOf(() =>
      parseConfig(
        JSON.stringify({ mcpServers: { a: { command: 'x' } }, servers: { b: { command: 'y' } } }),
        '/c.json',
        {},
      ),
    );
    expect(problems[0]!.message).toBe('both "mcpServers" and "servers" are set');
  });

  it('#17.25 keeps // and /* */ inside strings of a .json config', () => {
    const loaded = parseConfig(
      '{ // comment\n "mcpServers": { "a": { "url": "http://h/x//y" /* c */ } } }',
      '/c.json',
      {},
    );
    expect(loaded.config.mcpServers.a!.url).toBe('http://h/x//y');
  });

  it('#17.25 reports an envFile that cannot be read at its place', () => {
    const dir = tempDir();
    const file = join(dir, 'mcp.json');
    writeFileSync(file, JSON.stringify({ mcpServers: { a: { command: 'node', envFile: './missing.env' } } }));
    const problems = problemsOf(() => resolveConfig(loadConfigFile(file, {})));
    expect(problems[0]!.path).toBe('mcpServers.a.envFile');
  });
});

describe('#17.27 a .json policy is strict JSON', () => {
  it('#17.27 refuses a trailing comma in a .json policy, with file and line', () => {
    const r = parsePolicyText('{\n  "version": "1",\n  "default": "allow",\n}\n', '/p/policy.json');
    expect(r.policy).toBeUndefined();
    expect(r.problems[0]).toMatchObject({ file: '/p/policy.json', line: 4 });
    expect(r.problems[0]!.message).toMatch(/^not valid JSON/);
  });

  it('#17.27 refuses comments and unquoted keys in a .json policy', () => {
    expect(parsePolicyText('{"version": "1", // c\n"default": "allow"}', '/p.json').policy).toBeUndefined();
    expect(parsePolicyText('{version: "1", default: allow}', '/p.JSON').policy).toBeUndefined();
  });

  it('#17.27 reads a .yaml policy as YAML still', () => {
    expect(parsePolicyText('version: "1"\ndefault: allow\nhide: [a,]\n', '/p.yaml').policy).toBeDefined();
  });

  it('#17.27 does not interpolate ${...} in a policy (a value means what it says)', () => {
    const r = parsePolicyText(
      JSON.stringify({
        version: '1',
        default: 'allow',
        tools: { t: { deny_if: [{ path: 'args.x', op: 'eq', value: '${WARDEN_H8_NEVER_SET}' }] } },
      }),
      '/p.json',
    );
    expect(r.problems).toEqual([]);
    expect(r.policy!.toolsExact.get('t')!.denyIf[0]!.conditions[0]!.value).toBe('${WARDEN_H8_NEVER_SET}');
  });
});

describe('#17.27 the example config keeps the filesystem server out of /tmp', () => {
  it('#17.27 gives the filesystem server a directory of its own outside npm start', () => {
    const env = { ...process.env };
    delete env.WARDEN_DEMO_DIR;
    const config = resolveConfig(loadConfigFile(join(ROOT, 'examples/warden.yaml'), env));
    const fs = config.upstreams.find((u) => u.id === 'filesystem')!;
    const root = resolve(fs.cwd, fs.args[1]!);
    expect(root).toBe(join(ROOT, 'examples/demo-files'));
    expect(existsSync(root)).toBe(true);
    // Not the shared temporary directory itself (the repository may be checked out below it, as in CI).
    expect(root).not.toBe(resolve(tmpdir()));
    const memory = config.upstreams.find((u) => u.id === 'memory')!;
    expect(memory.env.MEMORY_FILE_PATH).toBe(join(ROOT, 'examples/demo-files/memory.jsonl'));
  });
});
