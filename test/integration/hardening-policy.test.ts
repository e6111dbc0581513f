// Issue #17 regressions through a real gateway: the demo policy (examples/policies/demo.json) in front of the real
// @modelcontextprotocol/server-filesystem holds its README promise for list arguments (7), server-declared
// destructive tools (10), numbers as strings (5) and NFD paths (6), on /mcp/<server>, /mcp, /sse and warden stdio.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeConfig } from '../helpers/cli.js';
import {
  adminRequest,
  CLI,
  connect,
  EVERYTHING,
  FILESYSTEM,
  ROOT,
  type RunningGateway,
  startGateway,
  tempDir,
  textOf,
} from '../helpers/gateway.js';

const ADMIN = 'hardening-policy-admin-token';
process.env.WARDEN_ADMIN_TOKEN = ADMIN;
const DEMO = join(ROOT, 'examples/policies/demo.json');
const SECRET = 'sk_live_hardening_policy_secret';

let gw: RunningGateway;
let dir: string;
const clients: Client[] = [];

beforeAll(async () => {
  dir = tempDir('warden-hardening-policy-');
  writeFileSync(join(dir, '.env'), `API_KEY=${SECRET}\n`);
  mkdirSync(join(dir, '.ssh'));
  writeFileSync(join(dir, 'a.txt'), 'alpha\n');
  writeFileSync(join(dir, 'b.txt'), 'bravo\n');
  writeFileSync(join(dir, 'caf\u00e9.txt'), 'private\n');
  const strict = join(dir, '..', `${dir.split('/').pop()}-strict.json`);
  writeFileSync(
    strict,
    JSON.stringify({
      version: '1',
      default: 'allow',
      tools: {
        'get-sum': { deny_if: [{ path: 'args.a', op: 'gt', value: 500 }] },
        read_text_file: { deny_if: [{ path: 'args.path', op: 'contains', value: 'caf\u00e9' }] },
      },
    }),
  );
  gw = await startGateway(`
policy: ${DEMO}
mcpServers:
  filesystem:
    command: node
    args: ["${FILESYSTEM}", "${dir}"]
  everything:
    command: node
    args: ["${EVERYTHING}", "stdio"]
    policy: ${strict}
  fsstrict:
    command: node
    args: ["${FILESYSTEM}", "${dir}"]
    policy: ${strict}
`);
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
  await gw?.close();
});

async function client(path: string): Promise<Client> {
  const c = await connect(`${gw.mcpUrl}${path}`);
  clients.push(c);
  return c;
}

const admin = (path: string, init: RequestInit = {}) => adminRequest(gw, ADMIN, path, init);

/** The pending approval of `tool`, polling the admin API (generous: the machine may be busy). */
async function pendingFor(tool: string): Promise<Record<string, unknown>> {
  for (let i = 0; i < 400; i++) {
    const { body } = await admin('/api/approvals?status=pending');
    const found = body.find((a) => a.tool === tool);
    if (found) return found;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no pending approval for ${tool}`);
}

describe('#17.7 the demo policy holds for list arguments (real server-filesystem)', () => {
  it('#17.7 denies read_multiple_files with a .env among its paths, and the secret never comes back', async () => {
    const c = await client('/filesystem');
    const result = await c.callTool({
      name: 'read_multiple_files',
      arguments: { paths: [join(dir, 'a.txt'), join(dir, '.env')] },
    });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toContain('[POLICY DENIED] Agents do not touch .env files or .ssh directories.');
    expect(JSON.stringify(result)).not.toContain(SECRET);
  });

  it('#17.7 denies read_multiple_files with a .env on the aggregated /mcp endpoint too', async () => {
    const c = await client('');
    const result = await c.callTool({
      name: 'filesystem__read_multiple_files',
      arguments: { paths: [join(dir, '.env')] },
    });
    expect(result.isError).toBe(true);
    expect(JSON.stringify(result)).not.toContain(SECRET);
  });

  it('#17.7 denies read_multiple_files with a .env on the /sse endpoint too', async () => {
    const c = new Client({ name: 'sse-test', version: '1.0.0' });
    await c.connect(new SSEClientTransport(new URL(gw.mcpUrl.replace(/\/mcp$/, '/sse'))));
    clients.push(c);
    const result = await c.callTool({
      name: 'filesystem__read_multiple_files',
      arguments: { paths: [join(dir, 'a.txt'), join(dir, '.env')] },
    });
    expect(result.isError).toBe(true);
    expect(JSON.stringify(result)).not.toContain(SECRET);
  });

  it('#17.7 denies read_multiple_files with a .env through warden stdio (the built CLI)', async () => {
    const file = writeConfig(`
policy: ${DEMO}
mcpServers:
  filesystem:
    command: node
    args: ["${FILESYSTEM}", "${dir}"]
`);
    const c = new Client({ name: 'stdio-test', version: '1.0.0' });
    await c.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: [CLI, 'stdio', '--config', file, '--server', 'filesystem'],
        stderr: 'ignore',
      }),
    );
    clients.push(c);
    const result = await c.callTool({
      name: 'read_multiple_files',
      arguments: { paths: [join(dir, '.env')] },
    });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toContain('[POLICY DENIED]');
    expect(JSON.stringify(result)).not.toContain(SECRET);
  });

  it('#17.7 denies move_file into .ssh (destination) and out of .env (source); nothing moves', async () => {
    const c = await client('/filesystem');
    const into = await c.callTool({
      name: 'move_file',
      arguments: { source: join(dir, 'b.txt'), destination: join(dir, '.ssh', 'authorized_keys') },
    });
    expect(into.isError).toBe(true);
    expect(textOf(into)).toContain('[POLICY DENIED]');
    const out = await c.callTool({
      name: 'move_file',
      arguments: { source: join(dir, '.env'), destination: join(dir, 'env.txt') },
    });
    expect(out.isError).toBe(true);
    expect(existsSync(join(dir, '.env'))).toBe(true);
    expect(existsSync(join(dir, 'b.txt'))).toBe(true);
    expect(existsSync(join(dir, '.ssh', 'authorized_keys'))).toBe(false);
  });

  it('#17.7 still reads ordinary files with read_multiple_files', async () => {
    const c = await client('/filesystem');
    const result = await c.callTool({
      name: 'read_multiple_files',
      arguments: { paths: [join(dir, 'a.txt'), join(dir, 'b.txt')] },
    });
    expect(result.isError).not.toBe(true);
    expect(textOf(result)).toContain('alpha');
    expect(textOf(result)).toContain('bravo');
  });
});

describe('#17.10 the demo holds every tool its server marks destructive (real server-filesystem)', () => {
  it.each([
    ['edit_file', () => ({ path: join(dir, 'a.txt'), edits: [{ oldText: 'alpha', newText: 'ALPHA' }] })],
    ['move_file', () => ({ source: join(dir, 'a.txt'), destination: join(dir, 'moved.txt') })],
  ])(
    '#17.10 holds %s for approval (destructiveHint: true) and does not run it when denied',
    async (tool, args) => {
      const c = await client('/filesystem');
      const call = c.callTool({ name: tool, arguments: args() }, undefined, { timeout: 120_000 });
      const approval = await pendingFor(tool);
      expect(approval.rule).toBe('/all_tools/approve_if/0');
      const denied = await admin(`/api/approvals/${approval.id}/deny`, { method: 'POST', body: '{}' });
      expect(denied.status).toBe(200);
      const result = await call;
      expect(result.isError).toBe(true);
      expect(readFileSync(join(dir, 'a.txt'), 'utf8')).toBe('alpha\n');
      expect(existsSync(join(dir, 'moved.txt'))).toBe(false);
    },
  );

  it('#17.10 lets a tool its server marks read-only run unasked', async () => {
    const c = await client('/filesystem');
    const result = await c.callTool({ name: 'list_directory', arguments: { path: dir } });
    expect(result.isError).not.toBe(true);
    expect(textOf(result)).toContain('a.txt');
  });
});

describe('#17.5 #17.6 through the gateway', () => {
  it('#17.5 denies a number sent as "9e2" before the server sees it', async () => {
    const c = await client('/everything');
    const { tools } = await c.listTools();
    expect(tools.map((t) => t.name)).toContain('get-sum');
    const result = await c.callTool({ name: 'get-sum', arguments: { a: '9e2', b: 1 } });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toContain('[POLICY DENIED]');
  });

  it('#17.6 denies an NFD spelling of a path the NFC rule names', async () => {
    const c = await client('/fsstrict');
    const result = await c.callTool({
      name: 'read_text_file',
      arguments: { path: join(dir, 'cafe\u0301.txt') },
    });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toContain('[POLICY DENIED]');
    const nfc = await c.callTool({ name: 'read_text_file', arguments: { path: join(dir, 'caf\u00e9.txt') } });
    expect(textOf(nfc)).toContain('[POLICY DENIED]');
  });
});
