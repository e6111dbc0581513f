// Config loading: YAML/JSON, client mcp.json files, ${ENV}, and problems reported with path and line.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configJsonSchema } from '../../src/config/json-schema.js';
import { loadConfigFile, parseConfig } from '../../src/config/load.js';
import { durationMs, resolveConfig } from '../../src/config/resolve.js';
import { ConfigError } from '../../src/errors.js';
import { ROOT, tempDir } from '../helpers/gateway.js';

function problemsOf(text: string, env: NodeJS.ProcessEnv = {}) {
  try {
    parseConfig(text, '/etc/warden/warden.yaml', env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('loads a Claude Desktop mcp.json unchanged', () => {
    const dir = tempDir();
    const file = join(dir, 'claude_desktop_config.json');
    writeFileSync(
      file,
      JSON.stringify({
        mcpServers: {
          filesystem: { command: 'npx', args: ['-y', '@modelcontextprotocol/server-filesystem', '/tmp'] },
          github: { command: 'npx', args: ['-y', 'github-mcp'], env: { GITHUB_TOKEN: 'x' } },
        },
      }),
    );
    const config = resolveConfig(loadConfigFile(file));
    expect(config.upstreams.map((u) => [u.id, u.kind, u.cwd])).toEqual([
      ['filesystem', 'stdio', dir],
      ['github', 'stdio', dir],
    ]);
    expect(config.listen).toEqual({ host: '127.0.0.1', port: 7420 });
  });

  it('loads Cursor, Claude Code and Windsurf entries (url, type, serverUrl, disabled)', () => {
    const loaded = parseConfig(
      JSON.stringify({
        mcpServers: {
          remote: { url: 'https://example.com/mcp', headers: { Authorization: 'Bearer t' } },
          legacy: { type: 'sse', url: 'https://example.com/sse' },
          surf: { serverUrl: 'https://example.com/mcp' },
          local: { type: 'stdio', command: 'node', args: ['x.js'] },
          off: { command: 'node', disabled: true },
        },
      }),
      '/x/mcp.json',
    );
    const resolved = resolveConfig(loaded);
    expect(resolved.upstreams.map((u) => `${u.id}:${u.kind}`)).toEqual([
      'remote:http',
      'legacy:sse',
      'surf:http',
      'local:stdio',
    ]);
  });

  it('interpolates ${VAR} and ${VAR:-default}', () => {
    const { config } = parseConfig(
      'mcpServers:\n  r:\n    url: "http://${HOST}:${PORT:-9000}/mcp"\n    headers: { Authorization: "Bearer ${TOKEN}" }\n',
      '/x/w.yaml',
      { HOST: '127.0.0.1', TOKEN: 's3cret' },
    );
    expect(config.mcpServers.r?.url).toBe('http://127.0.0.1:9000/mcp');
    expect(config.mcpServers.r?.headers?.Authorization).toBe('Bearer s3cret');
  });

  it('reports an unset variable with its path and line', () => {
    const problems = problemsOf(
      'mcpServers:\n  r:\n    url: http://x/mcp\n    headers:\n      A: "${NOPE}"\n',
    );
    expect(problems).toEqual([
      expect.objectContaining({
        path: 'mcpServers.r.headers.A',
        line: 5,
        message: 'environment variable NOPE is not set',
      }),
    ]);
  });

  it('reports every problem at once, each with file, path and line', () => {
    const problems = problemsOf(
      [
        'mcpServers:',
        '  ok:',
        '    command: node',
        '  bad:',
        '    command: node',
        '    argz: []',
        '  neither:',
        '    env: {}',
        'listen: nowhere',
        'colour: blue',
      ].join('\n'),
    );
    expect(problems.map((p) => `${p.line} ${p.path}: ${p.message}`)).toEqual(
      expect.arrayContaining([
        '6 mcpServers.bad.argz: unknown key "argz"',
        expect.stringMatching(/^8 mcpServers.neither: a server needs either "command"/),
        expect.stringMatching(/^9 listen: expected HOST:PORT/),
        '10 colour: unknown key "colour"',
      ]),
    );
    expect(problems.every((p) => p.file === '/etc/warden/warden.yaml')).toBe(true);
  });

  it('reports YAML syntax errors with a line', () => {
    const problems = problemsOf('mcpServers:\n  a:\n    command: [node\n');
    expect(problems[0]?.line).toBeGreaterThan(0);
  });

  it('serves a server whose name could make prefixes ambiguous under an id without "__" (#17.25)', () => {
    // Was refused until #17.25: a client's server names load unchanged, and an invalid one gets an id and a warning.
    const loaded = parseConfig('mcpServers:\n  a__b:\n    command: node\n', '/etc/warden/warden.yaml', {});
    expect(Object.keys(loaded.config.mcpServers)).toEqual(['a_b']);
    expect(loaded.warnings[0]?.path).toBe('mcpServers.a__b');
  });

  it('rejects two servers with the same prefix', () => {
    const problems = problemsOf(
      'mcpServers:\n  a:\n    command: node\n  b:\n    command: node\n    prefix: a\n',
    );
    expect(problems[0]?.message).toContain('already used by server "a"');
  });

  it('reports a policy file that cannot be read at its place in the config', () => {
    const problems = problemsOf('mcpServers:\n  a:\n    command: node\n    policy: ./p.json\n');
    expect(problems[0]).toEqual(
      expect.objectContaining({
        path: 'mcpServers.a.policy',
        line: 4,
        message: expect.stringContaining('cannot read policy file'),
      }),
    );
  });

  it('reports problems of an inline policy with their path and line in the config', () => {
    const problems = problemsOf(
      'mcpServers:\n  a:\n    command: node\n    policy:\n      version: "1"\n      default: allow\n      tools:\n        x: { action: maybe }\n',
    );
    expect(problems).toEqual([
      expect.objectContaining({ path: 'mcpServers.a.policy.tools.x.action', line: 8 }),
    ]);
  });

  it('reads durations as seconds or with a unit', () => {
    expect(durationMs(30)).toBe(30_000);
    expect(durationMs('500ms')).toBe(500);
    expect(durationMs('2m')).toBe(120_000);
  });

  it('loads the example config', () => {
    const config = resolveConfig(
      loadConfigFile(join(ROOT, 'examples/warden.yaml'), { WARDEN_DEMO_DIR: '/tmp/x' }),
    );
    expect(config.upstreams.map((u) => u.id)).toEqual(['everything', 'memory', 'filesystem']);
  });
});

describe('JSON Schema', () => {
  it('in schema/ is the one generated from the zod schema (run `npm run schema`)', () => {
    const committed = JSON.parse(readFileSync(join(ROOT, 'schema/warden.schema.json'), 'utf8'));
    expect(committed).toEqual(configJsonSchema());
  });
});
