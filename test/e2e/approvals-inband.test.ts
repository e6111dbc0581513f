// Approvals in-band for 2026 clients (#18.4): the real SDK v2 client pinned to 2026 meets require_approval as an
// InputRequiredResult (URL or form elicitation, sealed requestState) and retries; raw retries for the refusals; two
// replicas sharing PostgreSQL and Redis; the audit records of one call's rounds linked by `round`.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client as ClientV2, StreamableHTTPClientTransport as HttpV2 } from '@modelcontextprotocol/client';
import { afterAll, describe, expect, it } from 'vitest';
import {
  adminRequest,
  PROBE,
  ROOT,
  type RunningGateway,
  startGateway,
  tempDir,
  textOf,
} from '../helpers/gateway.js';
import { pgUrl, redisStateYaml, shouldRunPg, shouldRunRedis } from '../helpers/services.js';

const ERA_2026 = '2026-07-28';
const ADMIN = 'approvals-inband-admin-token';
process.env.WARDEN_ADMIN_TOKEN = ADMIN;
const STATE_KEY = 'inband-test-state-key-0123456789abcdef';

const running: RunningGateway[] = [];
afterAll(async () => {
  await Promise.all(running.map((g) => g.close()));
});

type Params = Record<string, unknown>;

function policyFile(approval: Params = {}): string {
  const file = join(tempDir('warden-inband-'), 'policy.json');
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
approvals:
  stateKey: ${STATE_KEY}
${extra}`);
  running.push(gw);
  return gw;
}

const admin = (gw: RunningGateway, path: string, init: RequestInit = {}) =>
  adminRequest(gw, ADMIN, path, init);

type Elicit = { mode?: string; url?: string; message?: string; elicitationId?: string };

/** The SDK v2 client pinned to 2026, declaring `elicitation` as given, answering elicitations with `onElicit`. */
async function modern(
  url: string,
  elicitation: { url?: Record<string, never>; form?: Record<string, never> },
  onElicit: (p: Elicit) => Promise<void>,
): Promise<ClientV2> {
  const client = new ClientV2(
    { name: 'inband-test', version: '1.0.0' },
    { capabilities: { elicitation }, versionNegotiation: { mode: { pin: ERA_2026 } } },
  );
  client.setRequestHandler('elicitation/create', async (request) => {
    await onElicit(request.params as Elicit);
    return { action: 'accept', content: {} };
  });
  await client.connect(new HttpV2(new URL(url)));
  return client;
}

/** The approval id a URL-mode or form-mode elicitation names. */
function approvalIdOf(p: Elicit): string {
  const id =
    p.elicitationId ??
    /#\/approvals\/(apr_[A-Za-z0-9]+)$/.exec(p.url ?? '')?.[1] ??
    /approval (apr_[A-Za-z0-9]+)/.exec(p.message ?? '')?.[1];
  if (id === undefined) throw new Error(`no approval id in ${JSON.stringify(p)}`);
  return id;
}

/** One raw 2026 tools/call on /mcp/probe, with extra params (requestState, inputResponses). */
async function rawCall(
  gw: RunningGateway,
  args: Params,
  more: Params = {},
  id = 1,
  capabilities: Params = { elicitation: { form: {} } },
): Promise<Params> {
  const res = await fetch(`${gw.mcpUrl}/probe`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': ERA_2026,
      'mcp-method': 'tools/call',
      'mcp-name': 'echo',
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id,
      method: 'tools/call',
      params: {
        name: 'echo',
        arguments: args,
        ...more,
        _meta: {
          'io.modelcontextprotocol/protocolVersion': ERA_2026,
          'io.modelcontextprotocol/clientCapabilities': capabilities,
          'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' },
        },
      },
    }),
  });
  const text = await res.text();
  // A JSON body, or one SSE event carrying it.
  const json = text.startsWith('{') ? text : (/^data: (.*)$/m.exec(text)?.[1] ?? text);
  return (JSON.parse(json) as { result: Params }).result;
}

function decision(r: Params): Params {
  return ((r._meta as Params | undefined)?.['mcp-warden/decision'] ?? {}) as Params;
}

function textOfRaw(r: Params): string {
  return String((r.content as Array<{ text: string }>)[0]?.text);
}

async function auditRecords(gw: RunningGateway): Promise<Params[]> {
  await new Promise((r) => setTimeout(r, 150)); // records reach the store a few ms after the answer
  return (await admin(gw, '/api/audit?limit=1000')).body;
}

describe('#18.4 approvals in-band, SDK v2 client in 2026', () => {
  it('#18.4.10 approved: URL elicitation to the dashboard, then the call runs once, rounds linked in the audit', async () => {
    const gw = await gateway(policyFile());
    const seen: Elicit[] = [];
    const client = await modern(`${gw.mcpUrl}/probe`, { url: {}, form: {} }, async (p) => {
      seen.push(p);
      const id = approvalIdOf(p);
      expect((await admin(gw, `/api/approvals/${id}/approve`, { method: 'POST' })).status).toBe(200);
    });
    const result = await client.callTool({ name: 'echo', arguments: { text: 'ship it 2026' } });
    expect(result.isError).toBeFalsy();
    expect(textOf(result)).toBe('ship it 2026');
    expect(seen).toHaveLength(1);
    expect(seen[0]!.mode).toBe('url');
    const id = approvalIdOf(seen[0]!);
    expect(seen[0]!.url).toBe(`${gw.adminUrl}/#/approvals/${id}`);
    const approvals = (await admin(gw, '/api/approvals?status=consumed')).body;
    expect(approvals.map((a) => a.id)).toEqual([id]);
    const calls = (await auditRecords(gw)).filter((r) => r.method === 'tools/call');
    expect(calls).toHaveLength(2);
    expect(calls.map((r) => r.round)).toEqual(
      expect.arrayContaining([
        { of: id, n: 1 },
        { of: id, n: 2 },
      ]),
    );
    expect(calls.find((r) => (r.round as Params).n === 2)).toMatchObject({
      decision: 'approved',
      approval: id,
      outcome: 'ok',
    });
    await client.close();
  });

  it('#18.4.11 pending: a retry before anyone decided gets the same approval again, never a second one', async () => {
    const gw = await gateway(policyFile());
    const ids: string[] = [];
    const client = await modern(`${gw.mcpUrl}/probe`, { form: {} }, async (p) => {
      expect(p.mode ?? 'form').toBe('form');
      ids.push(approvalIdOf(p));
      // The person decides only on the third round.
      if (ids.length === 3)
        expect((await admin(gw, `/api/approvals/${ids[0]}/approve`, { method: 'POST' })).status).toBe(200);
    });
    const result = await client.callTool({ name: 'echo', arguments: { text: 'patience' } });
    expect(textOf(result)).toBe('patience');
    expect(ids).toHaveLength(3);
    expect(new Set(ids).size).toBe(1);
    expect((await admin(gw, '/api/approvals?status=all')).body.length).toBe(1);
    await client.close();
  });

  it('#18.4.12 denied: the retry gets the policy denial and the call is not run', async () => {
    const gw = await gateway(policyFile());
    const client = await modern(`${gw.mcpUrl}/probe`, { form: {} }, async (p) => {
      await admin(gw, `/api/approvals/${approvalIdOf(p)}/deny`, { method: 'POST', body: '{"note":"no"}' });
    });
    const result = await client.callTool({ name: 'echo', arguments: { text: 'never' } });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/^\[POLICY DENIED\] The call was rejected/);
    expect(decision(result as Params)).toMatchObject({ approvalStatus: 'rejected' });
    await client.close();
  });

  it('#18.4.13 expired: the retry after the approval timed out gets the policy denial', async () => {
    const gw = await gateway(policyFile({ timeout: '1s' }));
    const first = await rawCall(gw, { text: 'too late' });
    expect(first.resultType).toBe('input_required');
    const id = String(decision(first).approvalId);
    for (let i = 0; i < 60; i++) {
      const a = (await admin(gw, `/api/approvals/${id}`)).body as Params;
      if (a.status === 'expired') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const retry = await rawCall(gw, { text: 'too late' }, { requestState: first.requestState }, 2);
    expect(retry.isError).toBe(true);
    expect(textOfRaw(retry)).toMatch(/^\[POLICY DENIED\] Nobody approved the call in time/);
    expect(decision(retry)).toMatchObject({ approvalId: id, approvalStatus: 'expired' });
  });
  it('#18.4.18 on the aggregated endpoint /mcp the prefixed tool takes the same round trip', async () => {
    const gw = await gateway(policyFile());
    const ids: string[] = [];
    const client = await modern(gw.mcpUrl, { form: {} }, async (p) => {
      ids.push(approvalIdOf(p));
      await admin(gw, `/api/approvals/${ids[0]}/approve`, { method: 'POST' });
    });
    const result = await client.callTool({ name: 'probe__echo', arguments: { text: 'aggregated' } });
    expect(textOf(result)).toBe('aggregated');
    expect(ids).toHaveLength(1);
    expect(((await admin(gw, `/api/approvals/${ids[0]}`)).body as Params).status).toBe('consumed');
    await client.close();
  });

  it('#18.4.19 a client that declared no elicitation gets the state alone, and its retry runs once approved', async () => {
    const gw = await gateway(policyFile());
    const first = await rawCall(gw, { text: 'no ui' }, {}, 1, {});
    expect(first.resultType).toBe('input_required');
    expect(first.inputRequests).toBeUndefined();
    expect(typeof first.requestState).toBe('string');
    const id = String(decision(first).approvalId);
    await admin(gw, `/api/approvals/${id}/approve`, { method: 'POST' });
    const ran = await rawCall(gw, { text: 'no ui' }, { requestState: first.requestState }, 2, {});
    expect(textOfRaw(ran)).toBe('no ui');
  });
});

describe('#18.4 approvals in-band: refused retries (raw 2026 requests)', () => {
  it('#18.4.14 a form elicitation says what waits; a replayed state after the call ran is refused', async () => {
    const gw = await gateway(policyFile());
    const first = await rawCall(gw, { text: 'once' });
    expect(first.resultType).toBe('input_required');
    const ask = (first.inputRequests as Params)['mcp-warden/approval'] as { method: string; params: Params };
    expect(ask.method).toBe('elicitation/create');
    expect(ask.params.mode).toBe('form');
    const id = String(decision(first).approvalId);
    expect(String(ask.params.message)).toContain(`probe/echo is waiting for a person (approval ${id}`);
    expect((await admin(gw, `/api/approvals/${id}/approve`, { method: 'POST' })).status).toBe(200);
    const ran = await rawCall(gw, { text: 'once' }, { requestState: first.requestState }, 2);
    expect(ran.resultType).toBe('complete');
    expect(textOfRaw(ran)).toBe('once');
    const replayed = await rawCall(gw, { text: 'once' }, { requestState: first.requestState }, 3);
    expect(replayed.isError).toBe(true);
    expect(textOfRaw(replayed)).toContain(`Approval ${id} was already used`);
  });

  it('#18.4.15 a retry with changed arguments is refused, and the approval stays unspent', async () => {
    const gw = await gateway(policyFile());
    const first = await rawCall(gw, { text: 'rm -rf /tmp/a' });
    const id = String(decision(first).approvalId);
    await admin(gw, `/api/approvals/${id}/approve`, { method: 'POST' });
    const changed = await rawCall(gw, { text: 'rm -rf /' }, { requestState: first.requestState }, 2);
    expect(changed.isError).toBe(true);
    expect(textOfRaw(changed)).toContain('does not match the call that was approved');
    // Numbers as strings, key order: a different spelling of different arguments is still different.
    const spelled = await rawCall(
      gw,
      { text: 'rm -rf /tmp/a', extra: '1' },
      { requestState: first.requestState },
      3,
    );
    expect(spelled.isError).toBe(true);
    expect(((await admin(gw, `/api/approvals/${id}`)).body as Params).status).toBe('approved');
  });

  it('#18.4.16 a forged or foreign requestState is refused, not turned into a new approval', async () => {
    const gw = await gateway(policyFile());
    const first = await rawCall(gw, { text: 'forge' });
    const state = String(first.requestState);
    const forged = `${state.slice(0, -2)}AA`;
    for (const requestState of [forged, 'some-upstream-state', `${state}x`]) {
      const r = await rawCall(gw, { text: 'forge' }, { requestState }, 2);
      expect(r.isError).toBe(true);
      expect(r.resultType).not.toBe('input_required');
    }
    expect((await admin(gw, '/api/approvals?status=all')).body.length).toBe(1);
  });
});

const runShared =
  (await shouldRunPg('in-band approvals across replicas')) &&
  (await shouldRunRedis('in-band approvals across replicas'));

describe.runIf(runShared)('#18.4 approvals in-band across replicas', () => {
  it('#18.4.17 asked on replica A, approved on B, the retry served by B runs once; a second retry on A is refused', async () => {
    const policy = policyFile();
    const extra = `storage: ${pgUrl()}\n${redisStateYaml()}`;
    const a = await gateway(policy, extra);
    const b = await gateway(policy, extra);
    const text = `replicas-inband-${Date.now()}-${Math.random()}`;
    const first = await rawCall(a, { text });
    expect(first.resultType).toBe('input_required');
    const id = String(decision(first).approvalId);
    expect((await admin(b, `/api/approvals/${id}/approve`, { method: 'POST' })).status).toBe(200);
    const ran = await rawCall(b, { text }, { requestState: first.requestState }, 2);
    expect(textOfRaw(ran)).toBe(text);
    const again = await rawCall(a, { text }, { requestState: first.requestState }, 3);
    expect(again.isError).toBe(true);
    expect(textOfRaw(again)).toContain('already used');
  });
});
