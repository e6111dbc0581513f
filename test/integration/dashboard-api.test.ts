// The dashboard's HTTP side: log-in with an admin token, the session cookie, CSRF, roles, security headers, static
// files (no traversal), DNS rebinding, the event stream, the simulator, audit filters, export and verify.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawRequest } from '../helpers/cli.js';
import {
  adminRequest,
  connect,
  PROBE,
  ROOT,
  type RunningGateway,
  startGateway,
  tempDir,
} from '../helpers/gateway.js';

const ADMIN = 'dashboard-test-admin-token';
process.env.WARDEN_ADMIN_TOKEN = ADMIN;

let gw: RunningGateway;
let policyPath: string;

beforeAll(async () => {
  policyPath = join(tempDir('warden-dash-'), 'policy.json');
  writeFileSync(
    policyPath,
    JSON.stringify({
      version: '1',
      default: 'allow',
      tools: {
        echo: {
          action: 'allow',
          deny_if: [
            { conditions: [{ path: 'args.text', op: 'contains', value: 'secret' }], on_deny: 'no secrets' },
          ],
        },
        pid: { action: 'deny', reason: 'Process ids are off today' },
      },
    }),
  );
  gw = await startGateway(`
mcpServers:
  probe:
    command: node
    args: ["--import", "tsx", "${PROBE}"]
    cwd: ${ROOT}
    policy: ${policyPath}
    isolation: session # a test below counts one more link per session (the stdio default, grant, shares one)
`);
  // One agent call, so that tools are classified and the audit log and the activity have something.
  const client = await connect(`${gw.mcpUrl}/probe`);
  await client.listTools();
  await client.callTool({ name: 'echo', arguments: { text: 'hello' } });
  await client.callTool({ name: 'pid', arguments: {} });
  await client.close();
});

afterAll(async () => {
  await gw?.close();
});

interface Login {
  cookie: string;
  csrf: string;
  setCookie: string;
}

async function login(token = ADMIN): Promise<Login> {
  const res = await fetch(`${gw.adminUrl}/api/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token }),
  });
  expect(res.status).toBe(200);
  const setCookie = res.headers.get('set-cookie') ?? '';
  const body = (await res.json()) as { csrf: string };
  return { cookie: setCookie.split(';')[0]!, csrf: body.csrf, setCookie };
}

function withCookie(l: Login, path: string, init: RequestInit & { csrf?: boolean } = {}): Promise<Response> {
  const headers: Record<string, string> = { cookie: l.cookie, 'content-type': 'application/json' };
  if (init.csrf !== false) headers['x-csrf-token'] = l.csrf;
  return fetch(`${gw.adminUrl}${path}`, { ...init, headers: { ...headers, ...(init.headers ?? {}) } });
}

async function createAdminToken(label: string, role: string): Promise<string> {
  const { status, body } = await adminRequest(gw, ADMIN, '/api/grants', {
    method: 'POST',
    body: JSON.stringify({ label, role }),
  });
  expect(status).toBe(201);
  return body.token as unknown as string;
}

describe('dashboard log-in', () => {
  it('refuses a wrong token, an agent token and an empty body', async () => {
    for (const body of [{ token: 'nope' }, { token: '' }, {}]) {
      const res = await fetch(`${gw.adminUrl}/api/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      expect(res.status).toBe(401);
      expect(res.headers.get('set-cookie')).toBeNull();
    }
  });

  it('sets an HttpOnly, SameSite=Strict session cookie and returns a CSRF token, never the admin token', async () => {
    const res = await fetch(`${gw.adminUrl}/api/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: ADMIN }),
    });
    const text = await res.text();
    const cookie = res.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(
      /^warden_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=\d+$/,
    );
    expect(JSON.parse(text)).toMatchObject({ label: '(environment)', role: 'admin' });
    expect(text).not.toContain(ADMIN);
    expect(cookie).not.toContain(ADMIN);
  });

  it('marks the cookie Secure when the page came through an HTTPS proxy', async () => {
    const res = await fetch(`${gw.adminUrl}/api/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-proto': 'https' },
      body: JSON.stringify({ token: ADMIN }),
    });
    expect(res.headers.get('set-cookie')).toMatch(/; HttpOnly; SameSite=Strict; Secure; Max-Age=\d+$/);
  });

  it('tells the page who is logged in, given the cookie and its CSRF token; nothing to the cookie alone', async () => {
    const l = await login();
    const me = await withCookie(l, '/api/session');
    expect(await me.json()).toEqual({ label: '(environment)', role: 'admin' });
    expect((await withCookie(l, '/api/session', { csrf: false })).status).toBe(401);
    expect((await fetch(`${gw.adminUrl}/api/session`)).status).toBe(401);
  });

  it('keeps at most 20 sessions per admin token, so one token cannot log everyone else out', async () => {
    const admin = await login();
    const viewerToken = await createAdminToken('dash-flood', 'viewer');
    const first = await login(viewerToken);
    for (let i = 0; i < 25; i++) await login(viewerToken);
    expect((await withCookie(admin, '/api/tools')).status).toBe(200);
    expect((await withCookie(first, '/api/tools')).status).toBe(401);
  });

  it('ends the session a browser had when it logs in again', async () => {
    const before = await login();
    const res = await fetch(`${gw.adminUrl}/api/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: before.cookie },
      body: JSON.stringify({ token: ADMIN }),
    });
    expect(res.status).toBe(200);
    expect((await withCookie(before, '/api/tools')).status).toBe(401);
  });

  it('refuses a log-in posted from another origin', async () => {
    const res = await fetch(`${gw.adminUrl}/api/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'http://evil.example' },
      body: JSON.stringify({ token: ADMIN }),
    });
    expect(res.status).toBe(403);
  });

  it('ends the session on log-out: the cookie no longer works', async () => {
    const l = await login();
    const out = await withCookie(l, '/api/session', { method: 'DELETE' });
    expect(out.status).toBe(200);
    expect(out.headers.get('set-cookie')).toContain('Max-Age=0');
    expect((await withCookie(l, '/api/tools')).status).toBe(401);
  });

  it('ends the session when its admin token is revoked', async () => {
    const token = await createAdminToken('dash-revoked', 'viewer');
    const l = await login(token);
    expect((await withCookie(l, '/api/tools')).status).toBe(200);
    await adminRequest(gw, ADMIN, '/api/grants/dash-revoked/revoke', { method: 'POST' });
    expect((await withCookie(l, '/api/tools')).status).toBe(401);
  });
});

describe('CSRF', () => {
  it('refuses a cookie request that changes something without the CSRF token', async () => {
    const l = await login();
    const res = await withCookie(l, '/api/grants', {
      method: 'POST',
      body: JSON.stringify({ label: 'csrf-victim' }),
      csrf: false,
    });
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({ error: 'forbidden: missing or wrong CSRF token' });
    const list = (await adminRequest(gw, ADMIN, '/api/grants')).body;
    expect(list.map((g) => g.label)).not.toContain('csrf-victim');
  });

  it('refuses a wrong CSRF token, and another session’s token', async () => {
    const a = await login();
    const b = await login();
    for (const token of ['x', b.csrf]) {
      const res = await withCookie(a, '/api/audit/verify', {
        method: 'POST',
        headers: { 'x-csrf-token': token },
      });
      expect(res.status).toBe(403);
    }
  });

  it('refuses a cookie request from another origin even with the token', async () => {
    const l = await login();
    const res = await withCookie(l, '/api/audit/verify', {
      method: 'POST',
      headers: { origin: 'http://evil.example' },
    });
    expect(res.status).toBe(403);
  });

  it('refuses a cookie alone, even for reading: the cookie reaches every port of the host, the token does not', async () => {
    const l = await login();
    for (const path of ['/api/tools', '/api/audit', '/api/approvals', '/api/events', '/api/audit/export']) {
      const res = await withCookie(l, path, { csrf: false });
      expect([path, res.status]).toEqual([path, 403]);
    }
  });

  it('takes the token as ?csrf= on a GET (event streams and download links cannot set headers)', async () => {
    const l = await login();
    const res = await withCookie(l, `/api/audit/export?format=jsonl&csrf=${encodeURIComponent(l.csrf)}`, {
      csrf: false,
    });
    expect(res.status).toBe(200);
    const wrong = await withCookie(l, '/api/audit/export?format=jsonl&csrf=nope', { csrf: false });
    expect(wrong.status).toBe(403);
    // Never for a request that changes something.
    const post = await withCookie(l, `/api/audit/verify?csrf=${encodeURIComponent(l.csrf)}`, {
      method: 'POST',
      csrf: false,
    });
    expect(post.status).toBe(403);
  });

  it('refuses a log-out from another origin', async () => {
    const l = await login();
    const res = await withCookie(l, '/api/session', {
      method: 'DELETE',
      headers: { origin: 'http://evil.example' },
    });
    expect(res.status).toBe(403);
    expect((await withCookie(l, '/api/tools')).status).toBe(200);
  });

  it('accepts the same request with its CSRF token', async () => {
    const l = await login();
    const res = await withCookie(l, '/api/audit/verify', { method: 'POST' });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ ok: true });
  });

  it('needs no CSRF token with a bearer token (browsers never send one on their own)', async () => {
    const { status } = await adminRequest(gw, ADMIN, '/api/audit/verify', { method: 'POST' });
    expect(status).toBe(200);
  });
});

describe('roles through the dashboard session', () => {
  it('lets a viewer read but not create grants or accept tools', async () => {
    const l = await login(await createAdminToken('dash-viewer', 'viewer'));
    expect((await withCookie(l, '/api/approvals')).status).toBe(200);
    const create = await withCookie(l, '/api/grants', {
      method: 'POST',
      body: JSON.stringify({ label: 'nope' }),
    });
    expect(create.status).toBe(403);
    const accept = await withCookie(l, '/api/tools/probe/echo/accept', { method: 'POST' });
    expect(accept.status).toBe(403);
  });

  it('lets a viewer run the simulator (it changes nothing)', async () => {
    const l = await login(await createAdminToken('dash-viewer-2', 'viewer'));
    const res = await withCookie(l, '/api/simulate', {
      method: 'POST',
      body: JSON.stringify({ server: 'probe', tool: 'pid', arguments: {} }),
    });
    expect(res.status).toBe(200);
  });
});

describe('dashboard files', () => {
  it('serves the page with a strict Content-Security-Policy and no framing', async () => {
    const res = await fetch(`${gw.adminUrl}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).toContain("frame-ancestors 'none'");
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await res.text()).toContain('/assets/app.js');
    const js = await fetch(`${gw.adminUrl}/assets/app.js`);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
  });

  it('answers 404 to path traversal, encoded or not, and to files not in the list', async () => {
    for (const path of [
      '/assets/../package.json',
      '/assets/%2e%2e/%2e%2e/package.json',
      '/assets/..%2f..%2fpackage.json',
      '/assets/app.js/../../../etc/passwd',
      '/assets/%2e%2e%5c%2e%2e%5cpackage.json',
      '/index.html',
      '/dist/cli/main.js',
      '/assets/',
    ]) {
      const res = await rawRequest(`${gw.adminUrl}${path}`, { method: 'GET' });
      expect([path, res.status]).toEqual([path, 404]);
      expect(res.text).not.toContain('"name": "mcp-warden"');
      expect(res.text).not.toContain('root:');
    }
  });

  it('refuses a foreign Host (DNS rebinding) on the page and the API', async () => {
    for (const path of ['/', '/api/session']) {
      const res = await rawRequest(`${gw.adminUrl}${path}`, {
        method: 'GET',
        headers: { host: 'attacker.example:80' },
      });
      expect(res.status).toBe(403);
    }
    const ok = await rawRequest(`${gw.adminUrl}/`, { method: 'GET', headers: { host: 'localhost' } });
    expect(ok.status).toBe(200);
  });
});

describe('scanning the servers from the dashboard', () => {
  it('lists, classifies and pins every server’s tools before any agent connects; admins only', async () => {
    const fresh = await startGateway(`
mcpServers:
  probe:
    command: node
    args: ["--import", "tsx", "${PROBE}"]
    cwd: ${ROOT}
  broken:
    command: /nonexistent/server
`);
    try {
      expect((await adminRequest(fresh, ADMIN, '/api/tools')).body).toEqual([]);
      const viewer = (
        await adminRequest(fresh, ADMIN, '/api/grants', {
          method: 'POST',
          body: JSON.stringify({ label: 'scan-viewer', role: 'viewer' }),
        })
      ).body.token as unknown as string;
      expect((await adminRequest(fresh, viewer, '/api/tools/scan', { method: 'POST' })).status).toBe(403);
      // Concurrent requests share one scan (each scan starts every stdio server).
      const [scan, again] = await Promise.all([
        adminRequest(fresh, ADMIN, '/api/tools/scan', { method: 'POST' }),
        adminRequest(fresh, ADMIN, '/api/tools/scan', { method: 'POST' }),
      ]);
      expect(again.body).toEqual(scan.body);
      expect(scan.status).toBe(200);
      expect(scan.body[0]).toEqual({ server: 'probe', tools: 7 });
      expect(scan.body[1]).toMatchObject({ server: 'broken', error: expect.any(String) });
      const tools = (await adminRequest(fresh, ADMIN, '/api/tools')).body;
      expect(tools).toHaveLength(7);
      expect(tools.find((t) => t.name === 'echo')).toMatchObject({ server: 'probe', pinned: true });
      await new Promise((r) => setTimeout(r, 100));
      const pinned = (await adminRequest(fresh, ADMIN, '/api/audit?limit=100')).body.filter(
        (r) => r.method === 'tool.pinned',
      );
      expect(pinned).toHaveLength(7);
    } finally {
      await fresh.close();
    }
  });
});

describe('admin API status codes', () => {
  it('answers 404 for a grant that does not exist, 409 for a label in use, 400 for a label spelled like an id', async () => {
    const missing = await adminRequest(gw, ADMIN, '/api/grants/no-such-grant/revoke', { method: 'POST' });
    expect(missing.status).toBe(404);
    const create = (label: string) =>
      adminRequest(gw, ADMIN, '/api/grants', { method: 'POST', body: JSON.stringify({ label }) });
    expect((await create('twice')).status).toBe(201);
    expect((await create('twice')).status).toBe(409);
    const idLike = await create('0123456789abcdef');
    expect(idLike.status).toBe(400);
    expect(idLike.body.hint).toContain('grant ids');
  });
});

describe('admin API paths', () => {
  it('answers a request target that is no URL path (`//`) with 400, not an internal error', async () => {
    for (const target of ['//', '//x:y', '//[']) {
      const res = await rawRequest(`${gw.adminUrl}${target}`, { method: 'GET' });
      expect([target, res.status]).toEqual([target, 400]);
    }
    expect((await fetch(`${gw.adminUrl}/healthz`)).status).toBe(200);
  });

  it('answers a malformed %-escape in a path with 400, not an internal error', async () => {
    for (const path of ['/api/approvals/%E0%A4%A', '/api/tools/%zz/echo/accept', '/api/grants/%/revoke']) {
      const method = path.endsWith('accept') || path.endsWith('revoke') ? 'POST' : 'GET';
      const { status, body } = await adminRequest(gw, ADMIN, path, { method });
      expect([path, status, body.error]).toEqual([path, 400, 'malformed %-escape in the path']);
    }
  });
});

describe('dashboard data', () => {
  it('streams the overview as server-sent events, with the calls counted by decision', async () => {
    const l = await login();
    const ctrl = new AbortController();
    const res = await withCookie(l, '/api/events', { signal: ctrl.signal });
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const reader = res.body!.getReader();
    let text = '';
    while (!text.includes('\n\n')) text += new TextDecoder().decode((await reader.read()).value);
    ctrl.abort();
    const data = JSON.parse(/^data: (.*)$/m.exec(text)![1]!);
    expect(text.startsWith('event: overview\n')).toBe(true);
    const now = data.minutes.at(-1);
    expect(data.minutes).toHaveLength(30);
    const all = data.minutes.reduce(
      (acc: Record<string, number>, m: { decisions: Record<string, number> }) => {
        for (const [k, v] of Object.entries(m.decisions)) acc[k] = (acc[k] ?? 0) + v;
        return acc;
      },
      {},
    );
    expect(all).toMatchObject({ allowed: 1, denied: 1 });
    expect(now).toHaveProperty('p99Ms');
    expect(data.upstreams).toEqual([expect.objectContaining({ server: 'probe', transport: 'stdio' })]);
  });

  it('ends the event stream when its admin token is revoked', async () => {
    const token = await createAdminToken('dash-stream', 'viewer');
    const res = await fetch(`${gw.adminUrl}/api/events`, { headers: { authorization: `Bearer ${token}` } });
    const reader = res.body!.getReader();
    await reader.read();
    await adminRequest(gw, ADMIN, '/api/grants/dash-stream/revoke', { method: 'POST' });
    const started = Date.now();
    let chunk = await reader.read();
    while (!chunk.done) chunk = await reader.read();
    expect(Date.now() - started).toBeLessThan(4500);
  });

  it('holds at most 10 event streams per admin token', async () => {
    const token = await createAdminToken('dash-streams', 'viewer');
    const ctrl = new AbortController();
    const open = await Promise.all(
      Array.from({ length: 10 }, () =>
        fetch(`${gw.adminUrl}/api/events`, {
          headers: { authorization: `Bearer ${token}` },
          signal: ctrl.signal,
        }),
      ),
    );
    expect(open.map((r) => r.status)).toEqual(Array(10).fill(200));
    const eleventh = await fetch(`${gw.adminUrl}/api/events`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(eleventh.status).toBe(429);
    ctrl.abort();
  });

  it('counts ready upstream links the same way in the overview and in /metrics', async () => {
    const probeLinks = async () =>
      ((await adminRequest(gw, ADMIN, '/api/overview')).body as Record<string, any>).upstreams[0];
    const before = await probeLinks();
    const client = await connect(`${gw.mcpUrl}/probe`);
    await client.listTools();
    try {
      const now = await probeLinks();
      expect(now).toEqual({
        server: 'probe',
        transport: 'stdio',
        links: before.links + 1,
        ready: before.ready + 1,
        status: 'up',
      });
      const metrics = await (await fetch(`${gw.adminUrl}/metrics`)).text();
      expect(metrics).toContain(`warden_upstream_ready{server="probe"} ${now.ready}`);
    } finally {
      await client.close();
    }
  });

  it('needs a log-in for the event stream', async () => {
    expect((await fetch(`${gw.adminUrl}/api/events`)).status).toBe(401);
  });

  it('simulates a call: the decision and the rules on its path, with argument conditions', async () => {
    const sim = async (tool: string, args: unknown) =>
      (
        await adminRequest(gw, ADMIN, '/api/simulate', {
          method: 'POST',
          body: JSON.stringify({ server: 'probe', tool, arguments: args }),
        })
      ).body as Record<string, any>;
    const denied = await sim('pid', {});
    expect(denied.decision).toMatchObject({ outcome: 'deny', reason: 'Process ids are off today' });
    expect(denied.path[0].policy).toBe(policyPath);
    expect(denied.path[0].steps.length).toBeGreaterThan(0);
    expect((await sim('echo', { text: 'fine' })).decision.outcome).toBe('allow');
    expect((await sim('echo', { text: 'my secret' })).decision).toMatchObject({
      outcome: 'deny',
      reason: 'no secrets',
    });
    expect((await sim('echo', {})).tool).toMatchObject({ category: expect.any(String) });
  });

  it('explains a bad simulation request instead of failing', async () => {
    const bad = await adminRequest(gw, ADMIN, '/api/simulate', {
      method: 'POST',
      body: JSON.stringify({ server: 'nope', tool: 'x' }),
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toContain('no server "nope"');
    const unknownGrant = await adminRequest(gw, ADMIN, '/api/simulate', {
      method: 'POST',
      body: JSON.stringify({ server: 'probe', tool: 'echo', grant: 'ghost' }),
    });
    expect(unknownGrant.status).toBe(400);
  });

  it('shows each server’s policy file and what it does with each tool', async () => {
    const policies = (await adminRequest(gw, ADMIN, '/api/policies')).body as Record<string, any>[];
    expect(policies[0]).toMatchObject({
      server: 'probe',
      layers: [{ source: policyPath, format: 'policylayer' }],
    });
    expect(policies[0]!.layers[0].text).toContain('Process ids are off today');
    const tools = (await adminRequest(gw, ADMIN, '/api/tools')).body;
    expect(tools.find((t) => t.name === 'pid')).toMatchObject({ decision: 'deny', hidden: false });
    expect(tools.find((t) => t.name === 'echo')).toMatchObject({ decision: 'allow' });
  });

  it('filters the audit log and exports it as JSON Lines and CSV', async () => {
    await new Promise((r) => setTimeout(r, 100)); // records reach the store a few ms after the answer
    const denied = (await adminRequest(gw, ADMIN, '/api/audit?decision=denied')).body;
    expect(denied.map((r) => r.tool)).toEqual(['pid']);
    const future = (
      await adminRequest(gw, ADMIN, `/api/audit?since=${new Date(Date.now() + 60_000).toISOString()}`)
    ).body;
    expect(future).toEqual([]);
    const bad = await adminRequest(gw, ADMIN, '/api/audit?since=yesterday');
    expect(bad.status).toBe(400);
    const res = await fetch(`${gw.adminUrl}/api/audit/export?format=csv&tool=echo`, {
      headers: { authorization: `Bearer ${ADMIN}` },
    });
    expect(res.headers.get('content-disposition')).toBe('attachment; filename="warden-audit.csv"');
    const lines = (await res.text()).trim().split('\n');
    expect(lines[0]).toMatch(/^seq,time,/);
    expect(lines.length).toBeGreaterThan(1);
    // The call, and the event that pinned the tool's definition.
    expect(lines.slice(1).map((l) => l.split(',')[7])).toEqual(['tool.pinned', 'tools/call']);
    const jsonl = await fetch(`${gw.adminUrl}/api/audit/export?format=jsonl&decision=allowed&tool=echo`, {
      headers: { authorization: `Bearer ${ADMIN}` },
    });
    const records = (await jsonl.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(records).toEqual([expect.objectContaining({ tool: 'echo', decision: 'allowed' })]);
  });
});

describe('the policy shown is the policy in force', () => {
  it('keeps showing the loaded text when an edit of the file does not compile (the gateway keeps the old policy)', async () => {
    const { readFileSync } = await import('node:fs');
    const original = readFileSync(policyPath, 'utf8');
    writeFileSync(policyPath, '{"version":"1","default":"deny", "oops');
    try {
      await new Promise((r) => setTimeout(r, 600)); // past the reload debounce
      const policies = (await adminRequest(gw, ADMIN, '/api/policies')).body as Record<string, any>[];
      expect(policies[0]!.layers[0].text).toBe(original);
      const sim = await adminRequest(gw, ADMIN, '/api/simulate', {
        method: 'POST',
        body: JSON.stringify({ server: 'probe', tool: 'echo', arguments: { text: 'fine' } }),
      });
      expect((sim.body as Record<string, any>).decision.outcome).toBe('allow');
    } finally {
      writeFileSync(policyPath, original);
    }
  });
});
