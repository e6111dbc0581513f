// The built CLI's grant commands (SPEC §11 shapes), a served gateway using their tokens, and stdio --grant / WARDEN_TOKEN.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawRequest, runCli, type ServeProcess, serveCli, writeConfig } from '../helpers/cli.js';
import { CLI, connect, PROBE, ROOT, tempDir, textOf } from '../helpers/gateway.js';

const CONFIG = `
mcpServers:
  probe:
    command: node
    args: ["--import", "tsx", "${PROBE}"]
    cwd: ${ROOT}
    policy: { version: "1", default: "allow", tools: { slow: { deny_if: [{ path: grant.label, op: regex, value: "^ci-" }] } } }
  other:
    command: node
    args: ["--import", "tsx", "${PROBE}"]
    cwd: ${ROOT}
auth: { anonymous: false }
`;

let file: string;

function json(args: string[]): Record<string, unknown> {
  const r = runCli(args);
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

beforeAll(() => {
  file = writeConfig(CONFIG);
});

describe('warden grants', () => {
  it('creates a grant and prints {id, label, token} with --json', () => {
    const g = json(['grants', 'create', 'ci-runner', '--servers', 'probe', '--config', file, '--json']);
    expect(Object.keys(g).sort()).toEqual(['id', 'label', 'token']);
    expect(g.label).toBe('ci-runner');
    expect(g.token).toMatch(/^wdn_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    expect(String(g.token)).toContain(String(g.id));
  });

  it('refuses a second live grant with the same label, exit 2', () => {
    const r = runCli(['grants', 'create', 'ci-runner', '--config', file]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('exists already');
  });

  it('refuses a grant policy that does not compile, naming the problem, exit 2', () => {
    const bad = join(tempDir(), 'bad.yaml');
    writeFileSync(bad, 'version: "1"\ndefault: sometimes\n');
    const r = runCli(['grants', 'create', 'bad-policy', '--policy', bad, '--config', file]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('default');
  });

  it('lists grants without tokens or hashes', () => {
    const r = runCli(['grants', 'list', '--config', file, '--json']);
    expect(r.status).toBe(0);
    const list = JSON.parse(r.stdout) as Array<Record<string, unknown>>;
    expect(list.find((g) => g.label === 'ci-runner')?.servers).toEqual(['probe']);
    expect(r.stdout).not.toMatch(/wdn_|tokenHash|token_hash/);
    const table = runCli(['grants', 'list', '--config', file]);
    expect(table.stdout).toContain('ci-runner');
  });

  it('explains a decision for a grant (policy explain --grant)', () => {
    const asCi = json([
      'policy',
      'explain',
      '--config',
      file,
      '--server',
      'probe',
      '--tool',
      'slow',
      '--grant',
      'ci-runner',
      '--json',
    ]);
    expect((asCi.decision as Record<string, unknown>).outcome).toBe('deny');
    expect((asCi.decision as Record<string, unknown>).rule).toBe('/tools/slow/deny_if/0');
    const anonymous = json([
      'policy',
      'explain',
      '--config',
      file,
      '--server',
      'probe',
      '--tool',
      'slow',
      '--json',
    ]);
    expect((anonymous.decision as Record<string, unknown>).outcome).toBe('allow');
    expect(
      runCli([
        'policy',
        'explain',
        '--config',
        file,
        '--server',
        'probe',
        '--tool',
        'slow',
        '--grant',
        'nobody',
      ]).status,
    ).toBe(2);
  });

  it('writes every lifecycle change to the audit log', () => {
    json(['grants', 'create', 'audited', '--config', file, '--json']);
    json(['grants', 'rotate', 'audited', '--config', file, '--json']);
    expect(runCli(['grants', 'revoke', 'audited', '--config', file]).status).toBe(0);
    const r = runCli(['audit', 'query', '--config', file, '--json', '--grant', 'audited']);
    const events = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .map((e) => `${e.method} ${e.actor}`);
    expect(events).toEqual(['grant/create (cli)', 'grant/rotate (cli)', 'grant/revoke (cli)']);
    expect(runCli(['audit', 'verify', '--config', file]).status).toBe(0);
  });
});

describe('a served gateway with CLI-made grants', () => {
  let gw: ServeProcess;
  let token: string;

  beforeAll(async () => {
    token = String(
      json(['grants', 'create', 'served', '--servers', 'probe', '--config', file, '--json']).token,
    );
    gw = await serveCli(file);
  });

  afterAll(async () => {
    await gw?.stop();
  });

  it('takes the token, and answers 401 without it', async () => {
    const client = await connect(`${gw.mcpUrl}/probe`, {}, { Authorization: `Bearer ${token}` });
    expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'ok' } }))).toContain('ok');
    await client.close();
    const anon = await rawRequest(`${gw.mcpUrl}/probe`, {
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: '{}',
    });
    expect(anon.status).toBe(401);
  });

  it('stops the token when the CLI revokes the grant while the gateway runs', async () => {
    const client = await connect(`${gw.mcpUrl}/probe`, {}, { Authorization: `Bearer ${token}` });
    expect(runCli(['grants', 'revoke', 'served', '--config', file]).status).toBe(0);
    await expect(client.callTool({ name: 'echo', arguments: { text: 'no' } })).rejects.toThrow(
      /Unauthorized/,
    );
  });
});

describe('warden stdio as a grant', () => {
  async function stdioTools(args: string[], env: Record<string, string> = {}): Promise<string[]> {
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [CLI, 'stdio', '--config', file, ...args],
      env: { ...(process.env as Record<string, string>), ...env },
      stderr: 'pipe',
    });
    const client = new Client({ name: 'desktop', version: '1.0.0' });
    await client.connect(transport);
    const names = (await client.listTools()).tools.map((t) => t.name);
    await client.close();
    return names;
  }

  it('acts as the grant named by --grant, with only its servers', async () => {
    json(['grants', 'create', 'desk', '--servers', 'other', '--config', file, '--json']);
    const names = await stdioTools(['--grant', 'desk']);
    expect(names).toContain('other__echo');
    expect(names.some((n) => n.startsWith('probe__'))).toBe(false);
  });

  it('acts as the grant of WARDEN_TOKEN', async () => {
    const t = String(
      json(['grants', 'create', 'env-desk', '--servers', 'probe', '--config', file, '--json']).token,
    );
    const names = await stdioTools([], { WARDEN_TOKEN: t });
    expect(names).toContain('probe__echo');
    expect(names.some((n) => n.startsWith('other__'))).toBe(false);
  });

  it('refuses to start without a grant when anonymous access is off, exit 2', () => {
    const r = runCli(['stdio', '--config', file], '');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('stdio mode needs a grant');
  });
});
