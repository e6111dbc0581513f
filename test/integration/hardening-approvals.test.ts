// Issue #17.24 through real servers: a held call whose agent cancelled, closed its request, closed stdin or ended its
// session never runs, and its approver is told; progress while held on /mcp/<id>, /mcp and stdio; `approval.hold`
// answers the agent before a client's 60 s timeout and lets the repeated call through once; the demo policy uses it.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { parsePolicyText } from '../../src/config/policy-file.js';
import type { Identity } from '../../src/identity/authenticate.js';
import { decide } from '../../src/policy/decide.js';
import {
  adminRequest,
  connect,
  PROBE,
  ROOT,
  type RunningGateway,
  startGateway,
  tempDir,
  textOf,
} from '../helpers/gateway.js';

const ADMIN = 'hardening-approvals-admin-token';
process.env.WARDEN_ADMIN_TOKEN = ADMIN;

type Json = Record<string, unknown>;

const running: RunningGateway[] = [];
afterAll(async () => {
  await Promise.all(running.map((g) => g.close()));
});

async function gateway(approval: Json = {}): Promise<RunningGateway> {
  const file = join(tempDir('warden-hardening-approvals-'), 'policy.json');
  writeFileSync(
    file,
    JSON.stringify({
      version: '1',
      default: 'allow',
      tools: { echo: { action: 'require_approval', reason: 'Echoes need a person', approval } },
    }),
  );
  const gw = await startGateway(`
mcpServers:
  probe:
    command: node
    args: ["--import", "tsx", "${PROBE}"]
    cwd: ${ROOT}
    policy: ${file}
`);
  running.push(gw);
  return gw;
}

const admin = (gw: RunningGateway, path: string, init: RequestInit = {}) =>
  adminRequest(gw, ADMIN, path, init);

async function eventually<T>(what: string, probe: () => Promise<T | undefined>, ms = 8000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The pending approval of the call whose text argument is `text`. */
function pendingFor(gw: RunningGateway, text: string): Promise<Json> {
  return eventually(`a pending approval for ${text}`, async () => {
    const { body } = await admin(gw, '/api/approvals?status=pending');
    return body.find((a) => (a.arguments as Json | undefined)?.text === text);
  });
}

/** Waits until approval `id` is cancelled, then checks that approving it is refused with why, and returns it. */
async function withdrawn(gw: RunningGateway, id: string): Promise<Json> {
  const a = await eventually(`approval ${id} cancelled`, async () => {
    const { body } = await admin(gw, `/api/approvals/${id}`);
    return body.status === 'cancelled' ? body : undefined;
  });
  const approve = await admin(gw, `/api/approvals/${id}/approve`, { method: 'POST' });
  expect(approve.status).toBe(409);
  expect(approve.body.error).toMatch(
    new RegExp(
      `^approval ${id} was cancelled by \\(agent\\) \\(.+\\): its call was withdrawn and will not run$`,
    ),
  );
  return a;
}

/** The tools/call records of the call that needed approval `id`. */
async function callRecords(gw: RunningGateway, id: unknown): Promise<Json[]> {
  await new Promise((r) => setTimeout(r, 200));
  const { body } = await admin(gw, '/api/audit?limit=1000');
  return body.filter((r) => r.method === 'tools/call' && r.approval === id);
}

const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

/** Opens a session with raw HTTP on `url`; returns its id. */
async function rawSession(url: string): Promise<string> {
  const res = await fetch(url, {
    method: 'POST',
    headers,
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
    }),
  });
  await res.text();
  const sid = res.headers.get('mcp-session-id')!;
  await fetch(url, {
    method: 'POST',
    headers: { ...headers, 'mcp-session-id': sid },
    body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
  });
  return sid;
}

describe('#17.24 a held call whose agent is gone never runs', () => {
  it('#17.24 withdraws a held call its agent cancelled (notifications/cancelled): approving it answers 409 and it never runs', async () => {
    const gw = await gateway();
    const client = await connect(`${gw.mcpUrl}/probe`);
    const abort = new AbortController();
    const call = client
      .callTool({ name: 'echo', arguments: { text: 'cancelled' } }, undefined, { signal: abort.signal })
      .catch((e: Error) => e);
    const a = await pendingFor(gw, 'cancelled');
    abort.abort('changed my mind');
    expect(await call).toBeInstanceOf(Error);
    const cancelled = await withdrawn(gw, String(a.id));
    expect(cancelled).toMatchObject({ decidedBy: '(agent)' });
    expect(cancelled.note).toMatch(/^The agent cancelled the call .*before anyone decided\.$/);
    const [record] = await callRecords(gw, a.id);
    expect(record).toMatchObject({ decision: 'denied', forwarded: false });
    await client.close();
  });

  it('#17.24 withdraws a held call whose agent timed out (the SDK cancels a request at its timeout)', async () => {
    const gw = await gateway();
    const client = await connect(`${gw.mcpUrl}/probe`);
    const call = client
      .callTool({ name: 'echo', arguments: { text: 'timed out' } }, undefined, { timeout: 4000 })
      .catch((e: Error) => e);
    const a = await pendingFor(gw, 'timed out');
    expect(String(await call)).toMatch(/timed out/i);
    const cancelled = await withdrawn(gw, String(a.id));
    expect(cancelled.note).toMatch(/^The agent cancelled the call \(.*\) before anyone decided\.$/);
    await client.close();
  });

  for (const endpoint of ['/probe', ''] as const) {
    it(`#17.24 withdraws a held call whose agent closed its HTTP request without cancelling (${endpoint === '' ? '/mcp' : '/mcp/<id>'})`, async () => {
      const gw = await gateway();
      const url = `${gw.mcpUrl}${endpoint}`;
      const sid = await rawSession(url);
      const abort = new AbortController();
      const text = `closed ${endpoint}`;
      const post = fetch(url, {
        method: 'POST',
        headers: { ...headers, 'mcp-session-id': sid },
        signal: abort.signal,
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'tools/call',
          params: { name: endpoint === '' ? 'probe__echo' : 'echo', arguments: { text } },
        }),
      }).catch((e: Error) => e);
      const a = await pendingFor(gw, text);
      abort.abort(); // a client giving up after its timeout, without notifications/cancelled
      await post;
      const cancelled = await withdrawn(gw, String(a.id));
      expect(cancelled.note).toBe('The agent closed its request before anyone decided.');
      const [record] = await callRecords(gw, a.id);
      expect(record).toMatchObject({ decision: 'denied', forwarded: false });
    });
  }

  it('#17.24 withdraws a held call whose session the agent ended (DELETE)', async () => {
    const gw = await gateway();
    const url = `${gw.mcpUrl}/probe`;
    const sid = await rawSession(url);
    const post = fetch(url, {
      method: 'POST',
      headers: { ...headers, 'mcp-session-id': sid },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'tools/call',
        params: { name: 'echo', arguments: { text: 'deleted' } },
      }),
    }).catch((e: Error) => e);
    const a = await pendingFor(gw, 'deleted');
    const del = await fetch(url, { method: 'DELETE', headers: { 'mcp-session-id': sid } });
    expect(del.status).toBe(200);
    await post;
    const cancelled = await withdrawn(gw, String(a.id));
    expect(cancelled.note).toBe("The agent's session closed before anyone decided.");
  });

  it('#17.24 withdraws a held call at once when a stdio agent closes stdin', async () => {
    const gw = await gateway();
    const input = new PassThrough();
    const output = new PassThrough();
    output.resume();
    const served = gw.gateway.serveStdio(input, output, 'probe', { grant: undefined } as unknown as Identity);
    const send = (m: Json) => input.write(`${JSON.stringify(m)}\n`);
    send({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } },
    });
    send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    send({
      jsonrpc: '2.0',
      id: 2,
      method: 'tools/call',
      params: { name: 'echo', arguments: { text: 'stdin' } },
    });
    const a = await pendingFor(gw, 'stdin');
    input.end();
    // Before the 5 s the session gives answers still on their way: nobody is left to read this one.
    const cancelled = await withdrawn(gw, String(a.id));
    expect(cancelled.note).toBe('The agent closed its connection (stdin) before anyone decided.');
    await served;
  });
});

describe('#17.24 progress while a call is held', () => {
  for (const endpoint of ['/probe', ''] as const) {
    it(`#17.24 sends progress naming the approval while held, when the agent gave a progress token (${endpoint === '' ? '/mcp' : '/mcp/<id>'})`, async () => {
      const gw = await gateway();
      const client = await connect(`${gw.mcpUrl}${endpoint}`);
      const progress: Json[] = [];
      const text = `progress ${endpoint}`;
      const call = client.callTool(
        { name: endpoint === '' ? 'probe__echo' : 'echo', arguments: { text } },
        undefined,
        { onprogress: (p) => progress.push(p as Json) },
      );
      const a = await pendingFor(gw, text);
      await eventually('a progress notification', async () => (progress.length > 0 ? true : undefined));
      expect(progress[0]!.message).toBe(`Waiting for a person to approve echo (approval ${a.id})`);
      expect((await admin(gw, `/api/approvals/${a.id}/approve`, { method: 'POST' })).status).toBe(200);
      expect(textOf(await call)).toBe(text);
      await client.close();
    });
  }

  it('#17.24 sends progress naming the approval while held, when the agent gave a progress token (stdio)', async () => {
    const gw = await gateway();
    const input = new PassThrough();
    const output = new PassThrough();
    const lines: Json[] = [];
    let buffer = '';
    output.setEncoding('utf8');
    output.on('data', (c: string) => {
      buffer += c;
      let nl = buffer.indexOf('\n');
      while (nl !== -1) {
        lines.push(JSON.parse(buffer.slice(0, nl)) as Json);
        buffer = buffer.slice(nl + 1);
        nl = buffer.indexOf('\n');
      }
    });
    const served = gw.gateway.serveStdio(input, output, 'probe', { grant: undefined } as unknown as Identity);
    const send = (m: Json) => input.write(`${JSON.stringify(m)}\n`);
    send({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } },
    });
    send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    send({
      jsonrpc: '2.0',
      id: 2,
      method: 'tools/call',
      params: { name: 'echo', arguments: { text: 'stdio progress' }, _meta: { progressToken: 'tok-7' } },
    });
    const a = await pendingFor(gw, 'stdio progress');
    const note = await eventually('a progress notification', async () =>
      lines.find((l) => l.method === 'notifications/progress'),
    );
    expect(note.params).toMatchObject({
      progressToken: 'tok-7',
      progress: 1,
      message: `Waiting for a person to approve echo (approval ${a.id})`,
    });
    await admin(gw, `/api/approvals/${a.id}/approve`, { method: 'POST' });
    const answer = await eventually('the answer', async () => lines.find((l) => l.id === 2));
    expect(textOf(answer.result)).toBe('stdio progress');
    input.end();
    await served;
  });
});

describe('#17.24 approval.hold: answered before a client gives up, then the same call runs once', () => {
  function decision(r: unknown): Json {
    return ((r as { _meta: Json })._meta['mcp-warden/decision'] ?? {}) as Json;
  }

  it('#17.24 answers a call nobody decided within its hold with what happened, where to approve and what to do', async () => {
    const gw = await gateway({ timeout: '10m', hold: '1s' });
    const client = await connect(`${gw.mcpUrl}/probe`);
    const r = await client.callTool({ name: 'echo', arguments: { text: 'later' } });
    const id = String(decision(r).approvalId);
    expect(id).toMatch(/^apr_[a-z2-7]{20}$/);
    expect(decision(r)).toMatchObject({ approvalStatus: 'pending' });
    expect(textOf(r)).toBe(
      `[POLICY DENIED] Echoes need a person. Nobody decided within 1 s, so the call was not run yet. Approval ${id} is waiting for a person, who can approve it on the dashboard at ${gw.adminUrl}/#/approvals/${id} or with \`warden approvals approve ${id}\`. Once it is approved, make the same call again with the same arguments before ${String(decision(r).expiresAt)}; it then runs exactly once.`,
    );
    // Still pending for a person; asking again before anyone decided holds on the same approval.
    const again = await client.callTool({ name: 'echo', arguments: { text: 'later' } });
    expect(decision(again).approvalId).toBe(id);
    expect((await admin(gw, `/api/approvals/${id}/approve`, { method: 'POST' })).status).toBe(200);
    // After approval the same call runs, exactly once.
    expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'later' } }))).toBe('later');
    const third = await client.callTool({ name: 'echo', arguments: { text: 'later' } });
    expect(decision(third).approvalId).not.toBe(id);
    expect(decision(third).approvalStatus).toBe('pending');
    // Other arguments are another call.
    const other = await client.callTool({ name: 'echo', arguments: { text: 'other' } });
    expect(decision(other).approvalId).not.toBe(id);
    await client.close();
  });

  it('#17.24 runs a held call approved within its hold, once: a repeat needs a new approval', async () => {
    const gw = await gateway({ timeout: '10m', hold: '20s' });
    const client = await connect(`${gw.mcpUrl}/probe`);
    const call = client.callTool({ name: 'echo', arguments: { text: 'in time' } });
    const a = await pendingFor(gw, 'in time');
    expect((await admin(gw, `/api/approvals/${a.id}/approve`, { method: 'POST' })).status).toBe(200);
    expect(textOf(await call)).toBe('in time');
    expect((await admin(gw, `/api/approvals/${a.id}`)).body.status).toBe('consumed');
    const repeat = client.callTool({ name: 'echo', arguments: { text: 'in time' } });
    const b = await pendingFor(gw, 'in time');
    expect(b.id).not.toBe(a.id);
    await admin(gw, `/api/approvals/${b.id}/deny`, { method: 'POST' });
    expect(textOf(await repeat)).toMatch(/^\[POLICY DENIED\] The call was rejected/);
    await client.close();
  });

  it('#17.24 cancels a held-then-async approval whose agent cancelled, so a repeat cannot run it', async () => {
    const gw = await gateway({ timeout: '10m', hold: '20s' });
    const client = await connect(`${gw.mcpUrl}/probe`);
    const abort = new AbortController();
    const call = client
      .callTool({ name: 'echo', arguments: { text: 'gone' } }, undefined, { signal: abort.signal })
      .catch((e: Error) => e);
    const a = await pendingFor(gw, 'gone');
    abort.abort();
    await call;
    await withdrawn(gw, String(a.id));
    await client.close();
  });

  it('#17.24 the demo policy answers held write_file and destructive calls before the SDK default 60 s timeout', () => {
    const file = join(ROOT, 'examples/policies/demo.json');
    const { policy, problems } = parsePolicyText(readFileSync(file, 'utf8'), file);
    expect(problems).toEqual([]);
    for (const call of [
      {
        server: 'filesystem',
        tool: 'write_file',
        args: { path: '/tmp/x', content: 'y' },
        category: 'write' as const,
      },
      {
        server: 'memory',
        tool: 'delete_entities',
        args: { entityNames: ['a'] },
        category: 'destructive' as const,
      },
    ]) {
      const d = decide(policy!, call);
      expect(d.outcome).toBe('require_approval');
      expect(d.approval!.holdMs).toBeLessThan(60_000);
      expect(d.approval!.holdMs).toBeLessThan(d.approval!.timeoutMs);
    }
  });
});
