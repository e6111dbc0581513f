// The built CLI as users run it: serve over HTTP, stdio for desktop clients, bad configs, bad upstreams, bad input.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VERSION } from '../../src/version.js';
import { rawRequest, runCli, type ServeProcess, serveCli, writeConfig } from '../helpers/cli.js';
import { CLI, connect, EVERYTHING, PROBE, ROOT, textOf } from '../helpers/gateway.js';

const CONFIG = `
mcpServers:
  everything:
    command: node
    args: ["${EVERYTHING}", "stdio"]
  probe:
    command: node
    args: ["--import", "tsx", "${PROBE}"]
    cwd: ${ROOT}
  missing:
    command: warden-no-such-command-xyz
`;

describe('warden --version', () => {
  it('prints the package version', () => {
    const r = runCli(['--version']);
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(VERSION);
  });
});

describe('warden serve', () => {
  let gw: ServeProcess;

  beforeAll(async () => {
    gw = await serveCli(writeConfig(CONFIG));
  });

  afterAll(async () => {
    await gw?.stop();
  });

  it('prints the ready line and answers health checks', async () => {
    expect(gw.mcpUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
    const health = await fetch(`${gw.adminUrl}/healthz`);
    expect(health.status).toBe(200);
  });

  it('gives the client an error when the upstream crashes mid-call, and the next call works', async () => {
    const client = await connect(`${gw.mcpUrl}/probe`);
    await expect(client.callTool({ name: 'crash', arguments: {} })).rejects.toThrow(/Upstream probe closed/);
    const echo = await client.callTool({ name: 'echo', arguments: { text: 'back' } });
    expect(textOf(echo)).toBe('back');
    await client.close();
  });

  it('reports an upstream command that does not exist, and keeps serving the others', async () => {
    await expect(connect(`${gw.mcpUrl}/missing`)).rejects.toThrow(
      /cannot start warden-no-such-command-xyz.*ENOENT/,
    );
    const client = await connect(gw.mcpUrl);
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toContain('everything__echo');
    await client.close();
    expect(gw.stderr()).toContain('upstream failed to start');
  });

  it('answers 200 malformed requests with errors and keeps serving', async () => {
    const url = `${gw.mcpUrl}/everything`;
    const accept = 'application/json, text/event-stream';
    const bodies: Array<{
      body: string | Buffer;
      headers?: Record<string, string>;
      method?: string;
      path?: string;
    }> = [
      { body: '{' },
      { body: 'null' },
      { body: '[]' },
      { body: '"just a string"' },
      { body: '{"jsonrpc":"1.0","id":1,"method":"initialize"}' },
      { body: '{"jsonrpc":"2.0","id":{},"method":"tools/list"}' },
      { body: '{"jsonrpc":"2.0","id":1,"method":"tools/list"}' },
      { body: '{"jsonrpc":"2.0","id":1,"method":"tools/list"}', headers: { 'mcp-session-id': 'nope' } },
      {
        body: '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}',
        headers: { 'content-type': 'text/plain' },
      },
      { body: Buffer.alloc(5 * 1024 * 1024, 0x20) },
      { body: `${'['.repeat(5000)}${']'.repeat(5000)}` },
      { body: '\u0000\u0001\u0002' },
      {
        body: '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}',
        headers: { accept: 'text/html' },
      },
      { body: '', method: 'PUT' },
      { body: '', method: 'GET', headers: { accept: 'text/event-stream' } },
      { body: '', method: 'DELETE', headers: { 'mcp-session-id': 'nope' } },
      { body: '{}', path: '/mcp/../../etc/passwd' },
      { body: '{}', path: '/mcp/unknown-server' },
      {
        body: '[{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}},{"jsonrpc":"2.0","id":2,"method":"ping"}]',
      },
      {
        body: '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}',
        headers: { host: 'evil.example.com' },
      },
    ];
    const statuses = new Set<number>();
    for (let i = 0; i < 200; i++) {
      const b = bodies[i % bodies.length]!;
      const target = b.path === undefined ? url : url.replace(/\/mcp\/everything$/, b.path);
      const res = await rawRequest(target, {
        method: b.method ?? 'POST',
        headers: { 'content-type': 'application/json', accept, ...(b.headers ?? {}) },
        body: b.method === undefined || b.method === 'POST' ? b.body : undefined,
      });
      expect(res.status, `request ${i % bodies.length}`).toBeGreaterThanOrEqual(400);
      statuses.add(res.status);
      if (res.text !== '') expect(JSON.parse(res.text)).toHaveProperty('error');
    }
    expect([...statuses].sort()).toEqual([400, 403, 404, 405, 406, 413, 415]);
    const client = await connect(url);
    expect(textOf(await client.callTool({ name: 'echo', arguments: { message: 'alive' } }))).toBe(
      'Echo: alive',
    );
    await client.close();
  });

  it('refuses other hosts and origins (DNS rebinding)', async () => {
    const init = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: {} });
    const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    const badOrigin = await fetch(gw.mcpUrl, {
      method: 'POST',
      headers: { ...headers, origin: 'https://evil.example' },
      body: init,
    });
    expect(badOrigin.status).toBe(403);
    const localOrigin = await fetch(gw.mcpUrl, {
      method: 'POST',
      headers: { ...headers, origin: 'http://localhost:3000' },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } },
      }),
    });
    expect(localOrigin.status).toBe(200);
    await localOrigin.text();
  });

  it('drains, kills its upstream processes and exits 0 on SIGTERM', async () => {
    const own = await serveCli(writeConfig(CONFIG));
    const client = await connect(`${own.mcpUrl}/probe`);
    const pid = Number(textOf(await client.callTool({ name: 'pid', arguments: {} })));
    expect(processAlive(pid)).toBe(true);
    expect(await own.stop()).toBe(0);
    // The upstream processes go with the gateway.
    await expect.poll(() => processAlive(pid), { timeout: 5000 }).toBe(false);
  });
});

describe('warden serve with a bad config', () => {
  it('exits 2 and lists every problem with file, path and line', () => {
    const file = writeConfig('mcpServers:\n  a:\n    comand: node\nlisten: here\n');
    const r = runCli(['serve', '--config', file]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`${file}:3 at mcpServers.a.comand: unknown key "comand"`);
    expect(r.stderr).toContain(`${file}:4 at listen: expected HOST:PORT`);
  });

  it('exits 2 when the config file does not exist', () => {
    const r = runCli(['serve', '--config', '/nonexistent/warden.yaml']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('cannot read config file');
  });

  it('exits 2 on an unknown command', () => {
    expect(runCli(['frobnicate']).status).toBe(2);
  });
});

describe('warden stdio', () => {
  it('serves a desktop client over stdin/stdout with names unchanged for --server', async () => {
    const file = writeConfig(CONFIG);
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [CLI, 'stdio', '--config', file, '--server', 'everything'],
      stderr: 'pipe',
    });
    let stderr = '';
    transport.stderr?.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    const client = new Client({ name: 'desktop', version: '1.0.0' });
    await client.connect(transport);
    expect((await client.listTools()).tools.map((t) => t.name)).toContain('echo');
    expect(textOf(await client.callTool({ name: 'echo', arguments: { message: 'stdio' } }))).toBe(
      'Echo: stdio',
    );
    await client.close();
    expect(stderr).toContain('"level"');
  });

  it('aggregates every server when no --server is given, and stdout carries only JSON-RPC', () => {
    const file = writeConfig(CONFIG);
    const lines = [
      {
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: {
          protocolVersion: '2025-06-18',
          capabilities: {},
          clientInfo: { name: 'raw', version: '1' },
        },
      },
      { jsonrpc: '2.0', method: 'notifications/initialized' },
      { jsonrpc: '2.0', id: 2, method: 'tools/list' },
    ]
      .map((m) => JSON.stringify(m))
      .join('\n');
    const r = runCli(['stdio', '--config', file], `${lines}\nnot json\n`);
    const out = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(out.find((m) => m.id === 2)).toHaveProperty('result.tools');
    expect(JSON.stringify(out)).toContain('everything__echo');
    expect(out.some((m) => m.id === null && (m.error as { code: number }).code === -32700)).toBe(true);
  });
});

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
