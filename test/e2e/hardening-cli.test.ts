// Issue #17, what a new user met, through the built CLI: real client configs served and wrapped unchanged, policy
// typos and broken upstream commands reported at start, explain agreeing with the gateway, stdio grants' last use.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { wardenCommand } from '../../src/cli/init.js';
import { runCli, serveCli, writeConfig } from '../helpers/cli.js';
import { CLI, connect, FILESYSTEM, MODULES, PROBE, ROOT, tempDir, textOf } from '../helpers/gateway.js';

const CLIENTS = join(ROOT, 'test/fixtures/client-configs');
const FIXTURE_ENV = { WARDEN_FIXTURE_TOKEN: 'fixture-token-1234', WARDEN_INPUT_API_KEY: 'input-value-1234' };

/**
 * A client's config file copied unchanged into a fresh workspace (its own folder layout kept) whose node_modules is
 * the repository's, so that its relative and ${workspaceFolder} paths reach the reference servers.
 */
function workspaceWith(fixture: string): { dir: string; file: string } {
  const dir = tempDir('warden-client-');
  const file = join(dir, fixture.split('/').slice(1).join('/') || fixture);
  mkdirSync(dirname(file), { recursive: true });
  cpSync(join(CLIENTS, fixture), file);
  symlinkSync(MODULES, join(dir, 'node_modules'));
  if (fixture.startsWith('cursor/')) cpSync(join(CLIENTS, 'cursor/.env'), join(dir, '.env'));
  return { dir, file };
}

/** The fixtures, each with the id warden serves its server-everything under. */
const FIXTURES: Array<[string, string, string]> = [
  ['Claude Desktop', 'claude_desktop_config.json', 'everything-server'],
  ['Cursor', 'cursor/.cursor/mcp.json', 'everything'],
  ['VS Code', 'vscode/.vscode/mcp.json', 'everything'],
  ['Windsurf', 'windsurf/mcp_config.json', 'everything'],
];

function waitFor(read: () => string, pattern: RegExp, ms = 30_000): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const tick = () => {
      const m = pattern.exec(read());
      if (m) return resolve(m);
      if (Date.now() - started > ms) return reject(new Error(`no ${pattern} in: ${read()}`));
      setTimeout(tick, 100);
    };
    tick();
  });
}

beforeAll(() => {
  Object.assign(process.env, FIXTURE_ENV);
});
afterAll(() => {
  for (const k of Object.keys(FIXTURE_ENV)) delete process.env[k];
});

describe('#17.25 real client configs, unchanged', () => {
  for (const [client, fixture, id] of FIXTURES) {
    it(`#17.25 warden serve loads a ${client} config unchanged and serves its servers`, async () => {
      const { file } = workspaceWith(fixture);
      const original = readFileSync(file, 'utf8');
      const created = runCli(['grants', 'create', 'desk', '--config', file, '--json']);
      expect(created.status, created.stderr).toBe(0);
      const { token } = JSON.parse(created.stdout) as { token: string };
      const gw = await serveCli(file);
      try {
        const mcp = await connect(`${gw.mcpUrl}/${id}`, {}, { authorization: `Bearer ${token}` });
        const { tools } = await mcp.listTools();
        expect(tools.map((t) => t.name)).toContain('echo');
        expect(textOf(await mcp.callTool({ name: 'echo', arguments: { message: 'hi' } }))).toContain('hi');
        await mcp.close();
      } finally {
        await gw.stop();
      }
      expect(readFileSync(file, 'utf8')).toBe(original);
    }, 90_000);

    it(`#17.25 warden init --from a ${client} config writes a warden.yaml that loads`, () => {
      const { dir, file } = workspaceWith(fixture);
      const out = join(dir, 'warden');
      const r = runCli(['init', '--from', file, '--out', out]);
      expect(r.status, r.stderr).toBe(0);
      const yaml = readFileSync(join(out, 'warden.yaml'), 'utf8');
      expect(yaml).toContain(`  ${id}:`);
      const printed = JSON.parse(r.stdout) as Record<string, Record<string, { args: string[] }>>;
      const servers = printed.mcpServers ?? printed.servers!;
      const entry = Object.values(servers).find((s) => s.args.includes(id))!;
      expect(entry.args).toContain('stdio');
      // What was written loads as a config.
      const listed = runCli(['grants', 'list', '--config', join(out, 'warden.yaml'), '--json']);
      expect(listed.status, listed.stderr).toBe(0);
    }, 90_000);
  }

  it('#17.25 warden serve logs which id to use for a server name that is no valid id', async () => {
    const { file } = workspaceWith('claude_desktop_config.json');
    runCli(['grants', 'create', 'desk', '--config', file]);
    const gw = await serveCli(file);
    try {
      expect(gw.stderr()).toContain(
        'server \\"Everything Server\\" is not a valid id; it is served as \\"everything-server\\"',
      );
      expect(gw.stderr()).toContain('\\"globalShortcut\\" is left out');
    } finally {
      await gw.stop();
    }
  }, 60_000);
});

describe('#17.26 policy typos and broken upstreams are found at start', () => {
  const probe = `command: node\n    args: ["--import", "tsx", "${PROBE}"]\n    cwd: "${ROOT}"`;

  it('#17.26 warden serve logs an error naming a server whose command does not exist, before any agent connects', async () => {
    const config = writeConfig(
      `mcpServers:\n  good:\n    ${probe}\n  typo:\n    command: npx-typo-does-not-exist\n    args: ["-y", "x"]\n`,
    );
    const gw = await serveCli(config);
    try {
      const [line] = await waitFor(gw.stderr, /.*upstream typo cannot be started.*/);
      expect(line).toContain('npx-typo-does-not-exist');
      expect(line).toContain('not found on PATH');
      expect(line).toContain('"level":50');
    } finally {
      await gw.stop();
    }
  }, 60_000);

  it("#17.26 warden serve keeps the cause line of a dying server's stderr in the log, configured secrets masked", async () => {
    const dir = tempDir();
    const script = join(dir, 'dies.mjs');
    writeFileSync(
      script,
      "process.stderr.write('starting\\n');\nthrow new Error('invalid API key ' + process.env.API_KEY);\n",
    );
    const config = writeConfig(
      `mcpServers:\n  dies:\n    command: node\n    args: ["${script}"]\n    env: { API_KEY: "sk_live_secret_value_123" }\n  good:\n    ${probe}\n`,
    );
    const gw = await serveCli(config);
    try {
      const [line] = await waitFor(gw.stderr, /.*upstream dies cannot be started.*/);
      expect(line).toContain('"stderr":"Error: invalid API key [REDACTED]"');
      expect(gw.stderr()).not.toContain('sk_live_secret_value_123');
    } finally {
      await gw.stop();
    }
  }, 60_000);

  function typoPolicy(dir: string): string {
    const file = join(dir, 'typo.json');
    writeFileSync(
      file,
      JSON.stringify({
        version: '1',
        default: 'allow',
        hide: ['ecoh', 'pid'],
        tools: { 'nothing_*': { rate_limit: { max: 1, window: 60 } }, slow: { action: 'allow' } },
      }),
    );
    return file;
  }

  it('#17.26 warden serve warns about hide and tools names no upstream lists (exact names and globs)', async () => {
    const dir = tempDir();
    const config = writeConfig(`mcpServers:\n  p:\n    ${probe}\n    policy: "${typoPolicy(dir)}"\n`);
    const gw = await serveCli(config);
    try {
      const [line] = await waitFor(gw.stderr, /.*policy: tool \\"ecoh\\" is not listed.*/);
      expect(line).toContain('did you mean \\"echo\\"');
      expect(line).toContain('"at":"/hide/0"');
      await waitFor(gw.stderr, /\\"nothing_\*\\" matches no tool listed by server \\"p\\"/);
      // Names the server lists are not warned about.
      expect(gw.stderr()).not.toMatch(/tool \\"(pid|slow)\\"/);
    } finally {
      await gw.stop();
    }
  }, 60_000);

  it('#17.26 warden serve warns about a name in the global policy only once every upstream has listed', async () => {
    const dir = tempDir();
    const config = writeConfig(
      `policy: "${typoPolicy(dir)}"\nmcpServers:\n  p:\n    ${probe}\n  q:\n    ${probe}\n`,
    );
    const gw = await serveCli(config);
    try {
      const [line] = await waitFor(gw.stderr, /.*tool \\"ecoh\\" is not listed by any upstream.*/);
      expect(line).toContain('"server":"(all)"');
    } finally {
      await gw.stop();
    }
  }, 60_000);

  it("#17.26 the dashboard shows the warnings on the server's policy view (GET /api/policies)", async () => {
    const dir = tempDir();
    const config = writeConfig(`mcpServers:\n  p:\n    ${probe}\n    policy: "${typoPolicy(dir)}"\n`);
    const gw = await serveCli(config, [], { env: { WARDEN_ADMIN_TOKEN: 'admin-token-for-the-test' } });
    try {
      await waitFor(gw.stderr, /policy: tool \\"ecoh\\"/);
      const res = await fetch(`${gw.adminUrl}/api/policies`, {
        headers: { authorization: 'Bearer admin-token-for-the-test' },
      });
      const body = (await res.json()) as Array<{
        server: string;
        warnings: Array<{ tool: string; at: string }>;
      }>;
      expect(body[0]!.warnings.map((w) => [w.tool, w.at])).toEqual([
        ['ecoh', '/hide/0'],
        ['nothing_*', expect.stringContaining('/tools/')],
      ]);
    } finally {
      await gw.stop();
    }
  }, 60_000);

  it('#17.26 policy validate --config warns about names no upstream lists and exits 0', () => {
    const dir = tempDir();
    const config = writeConfig(`mcpServers:\n  p:\n    ${probe}\n    policy: "${typoPolicy(dir)}"\n`);
    const r = runCli(['policy', 'validate', '--config', config]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('at /hide/0: tool "ecoh" is not listed by server "p" (did you mean "echo"?)');
    const json = runCli(['policy', 'validate', '--config', config, '--json']);
    expect(json.status).toBe(0);
    const parsed = JSON.parse(json.stdout) as { valid: boolean; warnings: Array<{ tool?: string }> };
    expect(parsed.valid).toBe(true);
    expect(parsed.warnings.map((w) => w.tool)).toEqual(['ecoh', 'nothing_*']);
  }, 60_000);

  it('#17.26 policy validate --config notes a server it could not list instead of guessing', () => {
    const dir = tempDir();
    const config = writeConfig(
      `mcpServers:\n  gone:\n    command: npx-typo-does-not-exist\n    policy: "${typoPolicy(dir)}"\n`,
    );
    const r = runCli(['policy', 'validate', '--config', config]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('note: gone could not be listed');
    expect(r.stdout).not.toContain('ecoh');
  }, 60_000);

  it("#17.26 policy explain gives the gateway's category and decision (a categories rule applies)", async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'files'));
    const policy = join(dir, 'p.json');
    writeFileSync(policy, JSON.stringify({ version: '1', default: 'allow', categories: { write: 'deny' } }));
    const config = writeConfig(
      `mcpServers:\n  fs:\n    command: node\n    args: ["${FILESYSTEM}", "${join(dir, 'files')}"]\n    policy: "${policy}"\n`,
    );
    const r = runCli([
      'policy',
      'explain',
      '--config',
      config,
      '--server',
      'fs',
      '--tool',
      'create_directory',
      '--json',
    ]);
    expect(r.status, r.stderr).toBe(0);
    const explained = JSON.parse(r.stdout) as {
      decision: { outcome: string; rule: string };
      tool: { category: string; confidence: number };
    };
    expect(explained.tool.category).toBe('write');
    // The classification's confidence, for tool.confidence conditions (#21).
    expect(explained.tool.confidence).toBeGreaterThan(0);
    // The gateway, asked the same call.
    const gw = await serveCli(config);
    try {
      const mcp = await connect(`${gw.mcpUrl}/fs`);
      const result = (await mcp.callTool({
        name: 'create_directory',
        arguments: { path: join(dir, 'files', 'x') },
      })) as { isError?: boolean };
      expect(explained.decision.outcome).toBe(result.isError ? 'deny' : 'allow');
      expect(explained.decision.outcome).toBe('deny');
      await mcp.close();
    } finally {
      await gw.stop();
    }
  }, 90_000);

  it('#17.26 policy explain says when the server does not list the tool', () => {
    const config = writeConfig(`mcpServers:\n  p:\n    ${probe}\n`);
    const r = runCli(['policy', 'explain', '--config', config, '--server', 'p', '--tool', 'nope', '--json']);
    expect(r.status, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { tool: { listed: boolean } }).tool.listed).toBe(false);
  }, 60_000);
});

describe('#17.27 smaller defects', () => {
  it('#17.27 a stdio grant gets a last-used time', async () => {
    const config = writeConfig(
      `auth: { anonymous: false }\nmcpServers:\n  p:\n    command: node\n    args: ["--import", "tsx", "${PROBE}"]\n    cwd: "${ROOT}"\n`,
    );
    expect(runCli(['grants', 'create', 'local', '--config', config]).status).toBe(0);
    const mcp = new Client({ name: 'desk', version: '1.0.0' });
    await mcp.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: [CLI, 'stdio', '--config', config, '--server', 'p', '--grant', 'local'],
        stderr: 'ignore',
      }),
    );
    expect(textOf(await mcp.callTool({ name: 'echo', arguments: { text: 'x' } }))).toBe('x');
    await mcp.close();
    const list = runCli(['grants', 'list', '--config', config, '--json']);
    const grant = (JSON.parse(list.stdout) as Array<{ label: string; lastUsedAt: string | null }>).find(
      (g) => g.label === 'local',
    )!;
    expect(grant.lastUsedAt).not.toBeNull();
  }, 60_000);

  it("#17.27 init run from npx's cache writes a command that outlives the cache", () => {
    const cache = tempDir('warden-npx-');
    const pkg = join(cache, '.npm/_npx/0123abcd/node_modules/mcp-warden');
    mkdirSync(dirname(pkg), { recursive: true });
    symlinkSync(ROOT, pkg);
    const { dir, file } = workspaceWith('windsurf/mcp_config.json');
    const r = spawnCli([join(pkg, 'dist/cli/main.js'), 'init', '--from', file, '--out', join(dir, 'w')]);
    expect(r.status, r.stderr).toBe(0);
    const printed = JSON.parse(r.stdout) as {
      mcpServers: Record<string, { command: string; args: string[] }>;
    };
    const entry = printed.mcpServers.everything!;
    expect(entry.command).toBe('npx');
    expect(entry.args.slice(0, 2)).toEqual(['-y', expect.stringMatching(/^mcp-warden@\d/)]);
    expect(JSON.stringify(entry)).not.toContain('_npx');
  }, 90_000);

  it('#17.27 an installed warden is started by its absolute path', () => {
    expect(wardenCommand(CLI, '/usr/bin/node')).toEqual({ command: '/usr/bin/node', args: [CLI] });
    expect(wardenCommand('/home/u/.npm/_npx/1f/node_modules/.bin/warden').command).toBe('npx');
  });
});

function spawnCli(args: string[]) {
  return spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
}
