// Human approval through the real SDK client: held calls approved, rejected, expired, cancelled, a gateway stopping,
// async approvals spent exactly once and kept across a restart, and two replicas (held on A, approved on B).
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { verifySignature } from '../../src/approvals/webhook.js';
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
import { pgUrl, redisStateYaml, shouldRunPg, shouldRunRedis } from '../helpers/services.js';

const ADMIN = 'approvals-test-admin-token';
process.env.WARDEN_ADMIN_TOKEN = ADMIN;

const running: RunningGateway[] = [];
afterAll(async () => {
  await Promise.all(running.map((g) => g.close()));
});

type Params = Record<string, unknown>;

function policyFile(approval: Params = {}): string {
  const file = join(tempDir('warden-approvals-'), 'policy.json');
  writeFileSync(
    file,
    JSON.stringify({
      version: '1',
      default: 'allow',
      tools: { echo: { action: 'require_approval', reason: 'Echoes need a person', approval } },
    }),
  );
  return file;
}

async function gateway(policy: string, extra = ''): Promise<RunningGateway> {
  const gw = await startGateway(`
mcpServers:
  probe:
    command: node
    args: ["--import", "tsx", "${PROBE}"]
    cwd: ${ROOT}
    policy: ${policy}
${extra}`);
  running.push(gw);
  return gw;
}

const admin = (gw: RunningGateway, path: string, init: RequestInit = {}) =>
  adminRequest(gw, ADMIN, path, init);

/** Resolves with the first pending approval, polling the admin API. */
async function pending(gw: RunningGateway): Promise<Params> {
  for (let i = 0; i < 100; i++) {
    const { body } = await admin(gw, '/api/approvals?status=pending');
    if (body.length > 0) return body[0]!;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('no pending approval appeared');
}

function meta(r: unknown): Params {
  return ((r as { _meta: Params })._meta['mcp-warden/decision'] ?? {}) as Params;
}

async function auditRecords(gw: RunningGateway): Promise<Params[]> {
  await new Promise((r) => setTimeout(r, 100)); // records reach the store a few ms after the answer
  return (await admin(gw, '/api/audit?limit=1000')).body;
}

describe('hold mode', () => {
  it('holds the call, shows it to approvers, and forwards it when approved', async () => {
    const gw = await gateway(policyFile());
    const client = await connect(`${gw.mcpUrl}/probe`);
    const progress: Params[] = [];
    const call = client.callTool({ name: 'echo', arguments: { text: 'ship it' } }, undefined, {
      onprogress: (p) => progress.push(p as Params),
    });
    const a = await pending(gw);
    expect(Object.keys(a).slice(0, 9)).toEqual([
      'id',
      'server',
      'tool',
      'arguments',
      'grant',
      'session',
      'risk',
      'rule',
      'createdAt',
    ]);
    expect(a).toMatchObject({
      server: 'probe',
      tool: 'echo',
      arguments: { text: 'ship it' },
      rule: '/tools/echo/action',
    });
    const decided = await admin(gw, `/api/approvals/${a.id}/approve`, {
      method: 'POST',
      body: '{"note":"fine"}',
    });
    expect(decided.status).toBe(200);
    const result = await call;
    expect(result.isError).toBeFalsy();
    expect(textOf(result)).toBe('ship it');
    expect(progress.length).toBeGreaterThan(0);
    expect(String(progress[0]!.message)).toContain(String(a.id));
    // A second decision finds it decided.
    expect((await admin(gw, `/api/approvals/${a.id}/deny`, { method: 'POST' })).status).toBe(409);
    const records = await auditRecords(gw);
    const record = records.find((r) => r.method === 'tools/call')!;
    expect(record).toMatchObject({ decision: 'approved', approval: a.id, outcome: 'ok' });
    const events = records.filter((r) => r.decision === 'event').map((r) => r.method);
    expect(events).toEqual(expect.arrayContaining(['approval.requested', 'approval.approved']));
    await client.close();
  });

  it('answers [POLICY DENIED] with the approver and the note when rejected', async () => {
    const gw = await gateway(policyFile());
    const client = await connect(`${gw.mcpUrl}/probe`);
    const call = client.callTool({ name: 'echo', arguments: { text: 'no' } });
    const a = await pending(gw);
    await admin(gw, `/api/approvals/${a.id}/deny`, { method: 'POST', body: '{"note":"not on a Friday"}' });
    const result = await call;
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(
      /^\[POLICY DENIED\] The call was rejected by .*: not on a Friday\. It was not run; do not make it again unless a person asks for it$/,
    );
    expect(meta(result)).toMatchObject({ approvalId: a.id, approvalStatus: 'rejected' });
    const record = (await auditRecords(gw)).find((r) => r.method === 'tools/call')!;
    expect(record).toMatchObject({ decision: 'rejected', outcome: 'not_called' });
    await client.close();
  });

  it('expires a call nobody decides, as a denial recorded as expired', async () => {
    const gw = await gateway(policyFile({ timeout: '1s' }));
    const client = await connect(`${gw.mcpUrl}/probe`);
    const started = Date.now();
    const result = await client.callTool({ name: 'echo', arguments: { text: 'late' } });
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(textOf(result)).toMatch(/^\[POLICY DENIED\] Nobody approved the call in time/);
    expect((await auditRecords(gw)).find((r) => r.method === 'tools/call')).toMatchObject({
      decision: 'expired',
    });
    await client.close();
  });

  it('cancels the approval when the agent cancels the call', async () => {
    const gw = await gateway(policyFile());
    const client = await connect(`${gw.mcpUrl}/probe`);
    const abort = new AbortController();
    const call = client.callTool({ name: 'echo', arguments: { text: 'x' } }, undefined, {
      signal: abort.signal,
    });
    const a = await pending(gw);
    abort.abort('changed my mind');
    await expect(call).rejects.toThrow();
    for (let i = 0; i < 50; i++) {
      const now = await admin(gw, `/api/approvals/${a.id}`);
      if (now.body.status !== 'pending') {
        expect(now.body).toMatchObject({ status: 'cancelled', decidedBy: '(agent)' });
        break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    expect((await admin(gw, `/api/approvals/${a.id}`)).body.status).toBe('cancelled');
    await client.close();
  });

  it('tells a held agent clearly when the gateway stops', async () => {
    const gw = await gateway(policyFile());
    const client = await connect(`${gw.mcpUrl}/probe`);
    const call = client.callTool({ name: 'echo', arguments: { text: 'x' } });
    await pending(gw);
    const closing = gw.close();
    const result = await call;
    expect(textOf(result)).toBe(
      '[POLICY DENIED] The approval was cancelled: The gateway stopped before anyone decided. The call was not run; make it again to ask for a new approval',
    );
    await closing;
  });

  it('lets a viewer see approvals, without argument values, but not decide them', async () => {
    const gw = await gateway(policyFile());
    const created = await admin(gw, '/api/grants', {
      method: 'POST',
      body: JSON.stringify({ label: 'watcher', role: 'viewer' }),
    });
    const client = await connect(`${gw.mcpUrl}/probe`);
    const call = client.callTool({ name: 'echo', arguments: { text: 'x' } });
    const a = await pending(gw);
    const res = await fetch(`${gw.adminUrl}/api/approvals/${a.id}/approve`, {
      method: 'POST',
      headers: { authorization: `Bearer ${created.body.token}` },
    });
    expect(res.status).toBe(403);
    // A viewer sees the arguments as the audit log keeps them (names and a hash); an admin sees the values.
    const asViewer = await adminRequest(
      gw,
      created.body.token as unknown as string,
      `/api/approvals/${a.id}`,
    );
    expect(asViewer.body.arguments).toMatchObject({ mode: 'keys', keys: ['text'] });
    expect(JSON.stringify(asViewer.body)).not.toContain('"x"');
    const listed = await adminRequest(
      gw,
      created.body.token as unknown as string,
      '/api/approvals?status=pending',
    );
    expect(listed.body[0]!.arguments).toMatchObject({ mode: 'keys' });
    expect((await admin(gw, `/api/approvals/${a.id}`)).body.arguments).toEqual({ text: 'x' });
    await admin(gw, `/api/approvals/${a.id}/deny`, { method: 'POST' });
    await call;
    await client.close();
  });
});

describe('approver role', () => {
  it('lets an approver decide a call made by another grant', async () => {
    const gw = await gateway(policyFile());
    const created = await admin(gw, '/api/grants', {
      method: 'POST',
      body: JSON.stringify({ label: 'on-call', role: 'approver' }),
    });
    const client = await connect(`${gw.mcpUrl}/probe`);
    const call = client.callTool({ name: 'echo', arguments: { text: 'go' } });
    const a = await pending(gw);
    const decided = await adminRequest(
      gw,
      created.body.token as unknown as string,
      `/api/approvals/${a.id}/approve`,
      {
        method: 'POST',
        body: JSON.stringify({ note: 'checked' }),
      },
    );
    expect(decided.status).toBe(200);
    expect(decided.body).toMatchObject({
      status: 'approved',
      decidedBy: 'on-call (approver)',
      note: 'checked',
    });
    expect(textOf(await call)).toBe('go');
    await client.close();
  });
});

describe('webhooks', () => {
  it('POSTs a signed notice of each request and decision to the configured receiver', async () => {
    const secret = 'approvals-webhook-secret-0123456789';
    const received: Array<{ event: string; body: Params; valid: boolean }> = [];
    const server = createServer((req, res) => {
      let text = '';
      req.on('data', (c: Buffer) => {
        text += c.toString();
      });
      req.on('end', () => {
        const valid = verifySignature(
          secret,
          String(req.headers['x-warden-timestamp']),
          text,
          String(req.headers['x-warden-signature']),
        );
        received.push({
          event: String(req.headers['x-warden-event']),
          body: JSON.parse(text) as Params,
          valid,
        });
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    try {
      const gw = await gateway(
        policyFile(),
        `approvals:\n  webhooks:\n    - { url: "http://127.0.0.1:${port}/hook", secret: "${secret}" }`,
      );
      const client = await connect(`${gw.mcpUrl}/probe`);
      const call = client.callTool({ name: 'echo', arguments: { text: 'hooked' } });
      const a = await pending(gw);
      await admin(gw, `/api/approvals/${a.id}/approve`, { method: 'POST', body: '{"note":"ok"}' });
      await call;
      for (let i = 0; i < 50 && received.length < 2; i++) await new Promise((r) => setTimeout(r, 50));
      received.sort((x, y) => x.event.localeCompare(y.event));
      expect(received.map((r) => [r.event, r.valid])).toEqual([
        ['approval.approved', true],
        ['approval.requested', true],
      ]);
      expect(received[1]!.body).toMatchObject({ id: a.id, tool: 'echo', arguments: { text: 'hooked' } });
      expect(received[0]!.body).toMatchObject({ id: a.id, note: 'ok' });
      await client.close();
    } finally {
      server.close();
    }
  });
});

describe('async mode', () => {
  it('answers at once with an approval id, lets the same call through once, and refuses a replay', async () => {
    const storage = join(tempDir('warden-approvals-'), 'warden.db');
    const policy = policyFile({ mode: 'async' });
    const gw = await gateway(policy, `storage: sqlite:${storage}`);
    const client = await connect(`${gw.mcpUrl}/probe`);
    const first = await client.callTool({ name: 'echo', arguments: { text: 'once' } });
    expect(first.isError).toBe(true);
    const id = String(meta(first).approvalId);
    expect(textOf(first)).toContain(`Approval ${id} is waiting for a person`);
    // Asking again before anyone decided gives the same approval, not a second one.
    const again = await client.callTool({ name: 'echo', arguments: { text: 'once' } });
    expect(meta(again).approvalId).toBe(id);
    await client.close();

    // The approval outlives the gateway: approve it on a new one with the same storage.
    await gw.close();
    const gw2 = await gateway(policy, `storage: sqlite:${storage}`);
    expect((await admin(gw2, `/api/approvals/${id}/approve`, { method: 'POST' })).status).toBe(200);
    const client2 = await connect(`${gw2.mcpUrl}/probe`);
    // Other arguments are another call: not approved.
    const other = await client2.callTool({ name: 'echo', arguments: { text: 'twice' } });
    expect(meta(other).approvalId).not.toBe(id);
    const through = await client2.callTool({ name: 'echo', arguments: { text: 'once' } });
    expect(through.isError).toBeFalsy();
    expect(textOf(through)).toBe('once');
    // Spent: the same call again needs a new approval.
    const replay = await client2.callTool({ name: 'echo', arguments: { text: 'once' } });
    expect(replay.isError).toBe(true);
    expect(meta(replay).approvalId).not.toBe(id);
    expect((await admin(gw2, `/api/approvals/${id}`)).body.status).toBe('consumed');
    await client2.close();
  });
});

const runShared =
  (await shouldRunPg('approvals across replicas')) && (await shouldRunRedis('approvals across replicas'));

describe.runIf(runShared)('two replicas', () => {
  it('forwards a call held on replica A when it is approved on replica B', async () => {
    const policy = policyFile();
    const extra = `storage: ${pgUrl()}\n${redisStateYaml()}`;
    const a = await gateway(policy, extra);
    const b = await gateway(policy, extra);
    const client = await connect(`${a.mcpUrl}/probe`);
    const text = `replicas-${Date.now()}`;
    const call = client.callTool({ name: 'echo', arguments: { text } });
    let id: unknown;
    for (let i = 0; i < 100 && id === undefined; i++) {
      const list = (await admin(b, '/api/approvals?status=pending')).body;
      id = list.find((x) => (x.arguments as Params).text === text)?.id;
      if (id === undefined) await new Promise((r) => setTimeout(r, 50));
    }
    const started = Date.now();
    expect((await admin(b, `/api/approvals/${id}/approve`, { method: 'POST' })).status).toBe(200);
    const result = await call;
    expect(textOf(result)).toBe(text);
    // Woken through Redis, not by the one-second poll.
    expect(Date.now() - started).toBeLessThan(900);
    await client.close();
  });
});
