// Grants through the real SDK client over HTTP: 401s, server limits, revoke and rotate, session binding, policies.
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  connect,
  PROBE,
  ROOT,
  type RunningGateway,
  startGateway,
  startHttpProbe,
  tempDir,
  textOf,
} from '../helpers/gateway.js';

const ADMIN = 'test-admin-token-0123456789';
let gw: RunningGateway;
let http: { url: string; child: ChildProcess };
let policyFile: string;

async function admin(path: string, init: { method?: string; body?: unknown; token?: string } = {}) {
  const res = await fetch(`${gw.adminUrl}${path}`, {
    method: init.method ?? 'GET',
    headers: {
      authorization: `Bearer ${init.token ?? ADMIN}`,
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function createGrant(body: Record<string, unknown>): Promise<{ id: string; token: string }> {
  const r = await admin('/api/grants', { method: 'POST', body });
  expect(r.status).toBe(201);
  return r.body as { id: string; token: string };
}

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

/** A raw POST initialize, to look at status codes and headers the SDK hides. */
function rawInit(url: string, headers: Record<string, string> = {}) {
  return fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...headers,
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } },
    }),
  });
}

beforeAll(async () => {
  process.env.WARDEN_ADMIN_TOKEN = ADMIN;
  http = await startHttpProbe();
  const dir = tempDir('warden-grants-');
  policyFile = join(dir, 'probe.json');
  writeFileSync(
    policyFile,
    JSON.stringify({
      version: '1',
      default: 'allow',
      tools: {
        // Only grants whose label starts with ci- may not call slow.
        slow: {
          deny_if: [
            {
              conditions: [{ path: 'grant.label', op: 'regex', value: '^ci-' }],
              on_deny: 'CI may not wait.',
            },
          ],
        },
        // Only grants in the ops group may see the process id.
        pid: { require: [{ path: 'grant.groups', op: 'contains', value: 'ops' }] },
      },
    }),
  );
  gw = await startGateway(`
mcpServers:
  probe:
    command: node
    args: ["--import", "tsx", "${PROBE}"]
    cwd: ${ROOT}
    policy: ${policyFile}
  remote:
    url: ${http.url}
auth: { anonymous: false }
`);
});

afterAll(async () => {
  await gw?.close();
  http?.child.kill();
  delete process.env.WARDEN_ADMIN_TOKEN;
});

describe('agent authentication', () => {
  it('answers 401 with WWW-Authenticate and no server names when the token is missing', async () => {
    const known = await rawInit(`${gw.mcpUrl}/probe`);
    const unknown = await rawInit(`${gw.mcpUrl}/no-such-server`);
    expect(known.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(known.headers.get('www-authenticate')).toBe('Bearer realm="mcp-warden"');
    const [a, b] = [await known.text(), await unknown.text()];
    expect(a).toBe(b); // nothing tells a known server from an unknown one
    expect(a).not.toContain('probe');
  });

  it('answers 401 invalid_token for a malformed, unknown or admin token', async () => {
    const { token: adminToken } = await createGrant({ label: 'an-admin', role: 'viewer' });
    for (const token of ['nonsense', `wdn_0123456789abcdef_${'A'.repeat(43)}`, adminToken]) {
      const res = await rawInit(`${gw.mcpUrl}/probe`, bearer(token));
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toContain('error="invalid_token"');
    }
  });

  it('lets a grant in and records its label in the audit log', async () => {
    const { token } = await createGrant({ label: 'alice-laptop' });
    const client = await connect(`${gw.mcpUrl}/probe`, {}, bearer(token));
    expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'hi' } }))).toContain('hi');
    await client.close();
    const records = (await admin('/api/audit?limit=50')).body as unknown as Array<Record<string, unknown>>;
    const call = records.findLast((r) => r.method === 'tools/call' && r.tool === 'echo');
    expect(call?.grant).toBe('alice-laptop');
    const created = records.find((r) => r.method === 'grant/create' && r.grant === 'alice-laptop');
    expect(created?.decision).toBe('event');
    expect(created?.actor).toBe('(environment) (admin)');
  });

  it('never forwards the agent token or cookies to an HTTP upstream', async () => {
    const { token } = await createGrant({ label: 'header-check' });
    const client = await connect(`${gw.mcpUrl}/remote`, {}, { ...bearer(token), Cookie: 'sid=agent' });
    const seen = JSON.parse(textOf(await client.callTool({ name: 'headers', arguments: {} }))) as Record<
      string,
      string
    >;
    expect(seen.authorization).toBeUndefined();
    expect(seen.cookie).toBeUndefined();
    expect(JSON.stringify(seen)).not.toContain(token.slice(4));
    await client.close();
  });
});

describe('servers a grant holds', () => {
  it('answers a server the grant does not hold exactly as a server that does not exist', async () => {
    const { token } = await createGrant({ label: 'probe-only', servers: ['probe'] });
    const notHeld = await rawInit(`${gw.mcpUrl}/remote`, bearer(token));
    const absent = await rawInit(`${gw.mcpUrl}/no-such-server`, bearer(token));
    expect(notHeld.status).toBe(404);
    expect(absent.status).toBe(404);
    expect(await notHeld.text()).toBe(await absent.text());
  });

  it('shows only the held servers on the aggregated endpoint', async () => {
    const { token } = await createGrant({ label: 'probe-only-2', servers: ['probe'] });
    const client = await connect(gw.mcpUrl, {}, bearer(token));
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toContain('probe__echo');
    expect(names.some((n) => n.startsWith('remote__'))).toBe(false);
    await expect(client.callTool({ name: 'remote__echo', arguments: { text: 'x' } })).rejects.toThrow(
      /Unknown tool: remote__echo/,
    );
    await client.close();
  });

  it('refuses a grant on a server that is not configured', async () => {
    const r = await admin('/api/grants', { method: 'POST', body: { label: 'x', servers: ['nope'] } });
    expect(r.status).toBe(400);
    expect(r.body.error).toContain('no server "nope"');
  });
});

describe('revoke and rotate', () => {
  it('revokes a grant on the next request, open sessions included', async () => {
    const { id, token } = await createGrant({ label: 'to-revoke' });
    const client = await connect(`${gw.mcpUrl}/probe`, {}, bearer(token));
    await client.callTool({ name: 'echo', arguments: { text: 'before' } });
    expect((await admin(`/api/grants/${id}/revoke`, { method: 'POST' })).status).toBe(200);
    await expect(client.callTool({ name: 'echo', arguments: { text: 'after' } })).rejects.toThrow(
      /Unauthorized/,
    );
    expect((await rawInit(`${gw.mcpUrl}/probe`, bearer(token))).status).toBe(401);
    const listed = (await admin('/api/grants')).body as unknown as Array<Record<string, unknown>>;
    expect(listed.find((g) => g.id === id)?.revokedAt).toEqual(expect.any(String));
    expect(JSON.stringify(listed)).not.toContain('tokenHash');
  });

  it('rotates a token: the old one stops, the new one works', async () => {
    const { id, token: old } = await createGrant({ label: 'to-rotate' });
    const r = await admin(`/api/grants/${id}/rotate`, { method: 'POST' });
    const fresh = String(r.body.token);
    expect(fresh).not.toBe(old);
    expect((await rawInit(`${gw.mcpUrl}/probe`, bearer(old))).status).toBe(401);
    const client = await connect(`${gw.mcpUrl}/probe`, {}, bearer(fresh));
    expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'new' } }))).toContain('new');
    await client.close();
  });

  it('allows the label of a revoked grant to be used again', async () => {
    const { id } = await createGrant({ label: 'reused' });
    expect((await admin('/api/grants', { method: 'POST', body: { label: 'reused' } })).status).toBe(409);
    await admin(`/api/grants/${id}/revoke`, { method: 'POST' });
    await createGrant({ label: 'reused' });
  });
});

describe('session binding', () => {
  it('refuses a session id presented with another grant token', async () => {
    const a = await createGrant({ label: 'owner-a' });
    const b = await createGrant({ label: 'thief-b' });
    const init = await rawInit(`${gw.mcpUrl}/probe`, bearer(a.token));
    const sid = init.headers.get('mcp-session-id')!;
    await init.text();
    const steal = await fetch(`${gw.mcpUrl}/probe`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-session-id': sid,
        ...bearer(b.token),
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }),
    });
    expect(steal.status).toBe(404);
    expect(await steal.text()).toContain('Session not found');
  });
});

describe('policies and grants', () => {
  it('matches grant.label in a server policy', async () => {
    const ci = await createGrant({ label: 'ci-runner' });
    const dev = await createGrant({ label: 'dev-box' });
    const ciClient = await connect(`${gw.mcpUrl}/probe`, {}, bearer(ci.token));
    const devClient = await connect(`${gw.mcpUrl}/probe`, {}, bearer(dev.token));
    const denied = await ciClient.callTool({ name: 'slow', arguments: { ms: 1 } });
    expect(denied.isError).toBe(true);
    expect(textOf(denied)).toBe('[POLICY DENIED] CI may not wait.');
    expect((await devClient.callTool({ name: 'slow', arguments: { ms: 1 } })).isError).toBeFalsy();
    await ciClient.close();
    await devClient.close();
  });

  it('matches grant.groups in a server policy', async () => {
    const ops = await createGrant({ label: 'ops-bot', groups: ['ops'] });
    const other = await createGrant({ label: 'other-bot', groups: ['support'] });
    const opsClient = await connect(`${gw.mcpUrl}/probe`, {}, bearer(ops.token));
    const otherClient = await connect(`${gw.mcpUrl}/probe`, {}, bearer(other.token));
    expect((await opsClient.callTool({ name: 'pid', arguments: {} })).isError).toBeFalsy();
    expect((await otherClient.callTool({ name: 'pid', arguments: {} })).isError).toBe(true);
    await opsClient.close();
    await otherClient.close();
  });
});

describe("a grant's own policy", () => {
  it('narrows the server policy for that grant only', async () => {
    const narrow = await createGrant({
      label: 'narrow',
      policy: {
        version: '1',
        default: 'allow',
        hide: ['pid'],
        tools: { echo: { action: 'deny', reason: 'No echo for you.' } },
      },
    });
    const client = await connect(`${gw.mcpUrl}/probe`, {}, bearer(narrow.token));
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).not.toContain('pid');
    expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'x' } }))).toBe(
      '[POLICY DENIED] No echo for you.',
    );
    await expect(client.callTool({ name: 'pid', arguments: {} })).rejects.toThrow(/Unknown tool: pid/);
    await client.close();
  });

  it('cannot widen what the server policy denies', async () => {
    const wide = await createGrant({
      label: 'ci-wide',
      policy: { version: '1', default: 'allow', tools: { slow: { action: 'allow' } } },
    });
    const client = await connect(`${gw.mcpUrl}/probe`, {}, bearer(wide.token));
    expect((await client.callTool({ name: 'slow', arguments: { ms: 1 } })).isError).toBe(true);
    await client.close();
  });

  it('refuses a policy that does not compile', async () => {
    const r = await admin('/api/grants', {
      method: 'POST',
      body: { label: 'broken', policy: { version: '1', default: 'maybe' } },
    });
    expect(r.status).toBe(400);
  });
});

describe('admin roles', () => {
  it('lets a viewer read grants but not create them', async () => {
    const { token } = await createGrant({ label: 'viewer-1', role: 'viewer' });
    expect((await admin('/api/grants', { token })).status).toBe(200);
    const r = await admin('/api/grants', { method: 'POST', body: { label: 'nope' }, token });
    expect(r.status).toBe(403);
  });

  it('refuses an agent token on the admin API', async () => {
    const { token } = await createGrant({ label: 'agent-not-admin' });
    expect((await admin('/api/grants', { token })).status).toBe(401);
  });
});
