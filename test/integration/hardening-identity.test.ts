// Issue #17, identity and resources: per-grant session caps and idle sessions (#17.18), bounded metric labels (#17.19).
import type { Span, Tracer } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { MAX_SERIES, Metrics, methodLabel, OTHER } from '../../src/audit/metrics.js';
import { startRequestSpan } from '../../src/audit/tracing.js';
import { RedisSessionDirectory } from '../../src/state/sessions.js';
import {
  adminRequest,
  connect,
  EVERYTHING,
  PROBE,
  ROOT,
  type RunningGateway,
  startGateway,
  textOf,
} from '../helpers/gateway.js';
import { redisUrl, shouldRunRedis } from '../helpers/services.js';

// Upstream processes start, stop and start again here; on a busy machine that takes longer than the default 30 s.
vi.setConfig({ testTimeout: 120_000 });

const ADMIN = 'h5-admin-token-0123456789abcdef';
const JSON_SSE = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
const INIT = {
  protocolVersion: '2025-06-18',
  capabilities: {},
  clientInfo: { name: 'short-run', version: '1' },
};

/** A POST to the agent endpoint, as a client that never opens a GET stream and never sends DELETE. */
async function post(
  url: string,
  token: string,
  body: unknown,
  session?: string,
): Promise<{
  status: number;
  session: string | null;
  body: Record<string, unknown> | undefined;
  text: string;
}> {
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      ...JSON_SSE,
      authorization: `Bearer ${token}`,
      ...(session === undefined ? {} : { 'mcp-session-id': session }),
    },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: Record<string, unknown> | undefined;
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    const data = /^data: (.*)$/m.exec(text);
    parsed = data ? (JSON.parse(data[1]!) as Record<string, unknown>) : undefined;
  }
  return { status: res.status, session: res.headers.get('mcp-session-id'), body: parsed, text };
}

/** Opens a session the way a short client run does: initialize, initialized, then nothing more. */
async function openSession(url: string, token: string): Promise<string> {
  const init = await post(url, token, { jsonrpc: '2.0', id: 1, method: 'initialize', params: INIT });
  expect(init.status, init.text).toBe(200);
  await post(url, token, { jsonrpc: '2.0', method: 'notifications/initialized' }, init.session!);
  return init.session!;
}

async function callPid(
  url: string,
  token: string,
  session: string,
): Promise<{ status: number; pid?: number }> {
  const r = await post(
    url,
    token,
    { jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'pid', arguments: {} } },
    session,
  );
  const result = r.body?.result as { content?: Array<{ text?: string }> } | undefined;
  const pid = Number(result?.content?.[0]?.text);
  return Number.isInteger(pid) ? { status: r.status, pid } : { status: r.status };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('per-grant session caps and idle sessions (#17.18)', () => {
  let gw: RunningGateway;
  const tokens: Record<string, string> = {};
  beforeAll(async () => {
    process.env.WARDEN_ADMIN_TOKEN = ADMIN;
    gw = await startGateway(`
mcpServers:
  probe:
    command: node
    args: ["--import", "tsx", "${PROBE}"]
    cwd: ${ROOT}
    isolation: session # the idle test below counts one process per session (the stdio default is grant)
auth: { anonymous: false }
http: { maxSessionsPerGrant: 2, upstreamIdleTimeout: 2s }
`);
    for (const label of ['reclaim', 'busy', 'other', 'idle', 'legacy']) {
      const r = await adminRequest(gw, ADMIN, '/api/grants', {
        method: 'POST',
        body: JSON.stringify({ label }),
      });
      expect(r.status).toBe(201);
      tokens[label] = String(r.body.token);
    }
  });
  afterAll(async () => {
    await gw?.close();
    delete process.env.WARDEN_ADMIN_TOKEN;
  });

  it("#17.18 closes the grant's least recently used idle session when the grant opens one past its cap", async () => {
    const url = `${gw.mcpUrl}/probe`;
    const first = await openSession(url, tokens.reclaim!);
    const second = await openSession(url, tokens.reclaim!);
    // The second is used after the first: the first is the least recently used.
    expect((await callPid(url, tokens.reclaim!, second)).pid).toBeGreaterThan(0);
    await openSession(url, tokens.reclaim!);
    expect((await callPid(url, tokens.reclaim!, first)).status).toBe(404);
    expect((await callPid(url, tokens.reclaim!, second)).pid).toBeGreaterThan(0);
  });

  it('#17.18 refuses a session past the cap with 429 while every session of the grant is in use, and other grants still get in', async () => {
    const url = `${gw.mcpUrl}/probe`;
    const streams = new AbortController();
    try {
      // Both sessions have their agent listening on a GET stream: neither may be taken away from it.
      for (let i = 0; i < 2; i++) {
        const session = await openSession(url, tokens.busy!);
        const get = await fetch(url, {
          headers: {
            accept: 'text/event-stream',
            authorization: `Bearer ${tokens.busy}`,
            'mcp-session-id': session,
          },
          signal: streams.signal,
        });
        expect(get.status).toBe(200);
      }
      const refused = await post(url, tokens.busy!, {
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: INIT,
      });
      expect(refused.status).toBe(429);
      expect(refused.text).toContain('Too many sessions for this grant (at most 2');
      // Another grant is not locked out, on either endpoint.
      await openSession(url, tokens.other!);
      await openSession(`${gw.mcpUrl}`, tokens.other!);
    } finally {
      streams.abort();
    }
  });

  it('#17.18 refuses a legacy SSE session past the cap with 429 while every session of the grant is in use', async () => {
    const streams = new AbortController();
    try {
      for (let i = 0; i < 2; i++) {
        const sse = await fetch(`${gw.mcpUrl.replace(/\/mcp$/, '')}/sse/probe`, {
          headers: { accept: 'text/event-stream', authorization: `Bearer ${tokens.legacy}` },
          signal: streams.signal,
        });
        expect(sse.status).toBe(200);
      }
      const third = await fetch(`${gw.mcpUrl.replace(/\/mcp$/, '')}/sse/probe`, {
        headers: { accept: 'text/event-stream', authorization: `Bearer ${tokens.legacy}` },
        signal: streams.signal,
      });
      expect(third.status).toBe(429);
    } finally {
      streams.abort();
    }
  });

  it("#17.18 stops an idle session's stdio upstream and starts it again on the session's next request", async () => {
    const url = `${gw.mcpUrl}/probe`;
    const session = await openSession(url, tokens.idle!);
    const before = (await callPid(url, tokens.idle!, session)).pid!;
    expect(alive(before)).toBe(true);
    await until('the idle upstream process has exited', () => !alive(before));
    const after = await callPid(url, tokens.idle!, session);
    expect(after.status).toBe(200);
    expect(after.pid).toBeGreaterThan(0);
    expect(after.pid).not.toBe(before);
  });

  it('#17.18 keeps the upstreams of a session whose agent holds its GET stream open', async () => {
    const client = await connect(`${gw.mcpUrl}/probe`, {}, { Authorization: `Bearer ${tokens.other}` });
    try {
      const first = Number(textOf(await client.callTool({ name: 'pid', arguments: {} })));
      await new Promise((r) => setTimeout(r, 5000));
      expect(alive(first)).toBe(true);
      expect(Number(textOf(await client.callTool({ name: 'pid', arguments: {} })))).toBe(first);
    } finally {
      await client.close();
    }
  });
});

describe.runIf(await shouldRunRedis('session directory owner counts'))(
  'session directory in Redis (#17.18)',
  () => {
    it("#17.18 counts an owner's sessions across replicas in the Redis session directory, without expired ones", async () => {
      const dir = RedisSessionDirectory.open(redisUrl(), {
        prefix: `warden:h5:${process.pid}:${Date.now()}:`,
      });
      try {
        await until('Redis is connected', () =>
          dir.load('(none)').then(
            () => true,
            () => false,
          ),
        );
        const record = (id: string, owner: string) => ({ id, endpoint: null, owner, initialize: {} });
        await dir.save(record('a', 'g1'), 60_000);
        await dir.save(record('b', 'g1'), 60_000);
        await dir.save(record('c', 'g2'), 60_000);
        await dir.save(record('d', ''), 60_000);
        await dir.save(record('e', 'g1'), 300);
        expect(await dir.count('g1')).toBe(3);
        expect(await dir.count('g2')).toBe(1);
        expect(await dir.count('')).toBe(1);
        await dir.remove('a', 'g1');
        expect(await dir.count('g1')).toBe(2);
        await new Promise((r) => setTimeout(r, 600));
        expect(await dir.count('g1')).toBe(1);
        // A touch keeps a session counted, and does not bring back one that was removed.
        await dir.touch('b', 60_000, 'g1');
        await dir.touch('a', 60_000, 'g1');
        expect(await dir.count('g1')).toBe(1);
      } finally {
        await dir.close();
      }
    });
  },
);

async function metricsText(gw: RunningGateway): Promise<string> {
  return (await fetch(`${gw.adminUrl}/metrics`)).text();
}

describe('metric labels (#17.19)', () => {
  let gw: RunningGateway;
  beforeAll(async () => {
    gw = await startGateway(`
mcpServers:
  probe:
    command: node
    args: ["--import", "tsx", "${PROBE}"]
    cwd: ${ROOT}
    policy: { version: "1", default: "allow", hide: ["secret_*"], tools: { slow: { action: deny } } }
  everything:
    command: node
    args: ["${EVERYTHING}", "stdio"]
`);
  });
  afterAll(async () => {
    await gw?.close();
  });

  /** 4 x n requests whose names the agent made up, on the aggregated and the per-server endpoint. */
  async function madeUp(batch: string, n: number): Promise<void> {
    const agg = await connect(gw.mcpUrl);
    const per = await connect(`${gw.mcpUrl}/probe`);
    try {
      for (let i = 0; i < n; i++) {
        const name = `${batch}-${i}-${'x'.repeat(200)}`;
        await agg.callTool({ name: `probe__${name}` }).catch(() => undefined);
        await per.callTool({ name: `secret_${name}` }).catch(() => undefined);
        await agg.getPrompt({ name: `prompt-${name}` }).catch(() => undefined);
        await agg.readResource({ uri: `demo://${name}` }).catch(() => undefined);
      }
      // A known tool keeps its own label value.
      await per.callTool({ name: 'slow', arguments: {} });
    } finally {
      await agg.close();
      await per.close();
    }
  }

  it('#17.19 counts tool names, prompt names and URIs the agent made up under one label value', async () => {
    await madeUp('first', 12);
    const text = await metricsText(gw);
    expect(text).not.toContain('first-');
    expect(text).toContain(`tool="${OTHER}"`);
    expect(text).toMatch(
      /warden_requests_total\{server="probe",method="tools\/call",tool="slow",decision="denied"\} 1/,
    );
  });

  it('#17.19 keeps /metrics the same size however many made-up names arrive', async () => {
    const before = (await metricsText(gw)).split('\n').length;
    await madeUp('second', 12);
    const after = await metricsText(gw);
    expect(after).not.toContain('second-');
    expect(after.split('\n').length).toBe(before);
    expect(after.length).toBeLessThan(64 * 1024);
  });

  it('#17.19 gives a method outside the MCP specification the label value (other)', () => {
    const m = new Metrics({ servers: new Set(['probe']), knownTool: () => true });
    m.request('probe', 'made/up-1', undefined, 'denied', 0.001);
    m.request('probe', 'made/up-2', undefined, 'denied', 0.001);
    const text = m.render();
    expect(text).not.toContain('made/up');
    expect(text).toContain('method="(other)"');
    expect(methodLabel('tools/call')).toBe('tools/call');
  });

  it('#17.19 gives a server that is not configured and a decision that is not one the label value (other)', () => {
    const m = new Metrics({ servers: new Set(['probe']), knownTool: () => false });
    m.request('not-configured', 'tools/call', 'echo', 'made-up-decision', 0.001);
    const text = m.render();
    expect(text).toContain(
      'warden_requests_total{server="(other)",method="tools/call",tool="(other)",decision="(other)"} 1',
    );
  });

  it('#17.19 caps the series of each metric as a backstop behind the catalogs', () => {
    const m = new Metrics({ servers: new Set(['probe']), knownTool: () => true });
    for (let i = 0; i < MAX_SERIES + 500; i++) m.request('probe', 'tools/call', `t${i}`, 'allowed', 0.001);
    m.stateFailures.inc({ mode: 'x' });
    const lines = m.render().split('\n');
    const series = lines.filter((l) => l.startsWith('warden_requests_total{'));
    expect(series.length).toBe(MAX_SERIES + 1);
    expect(series.at(-1)).toBe(
      'warden_requests_total{server="(other)",method="(other)",tool="(other)",decision="(other)"} 500',
    );
  });

  it('#17.19 names an OpenTelemetry span after a spec method only', () => {
    const names: string[] = [];
    // A tracer that only records the names it is asked for (the OTel SDK's exporters are tested in tracing.test.ts).
    const tracer = {
      startSpan: (name: string) => {
        names.push(name);
        return {} as Span;
      },
    } as unknown as Tracer;
    startRequestSpan(tracer, 'tools/call');
    startRequestSpan(tracer, 'made/up-name-42');
    expect(names).toEqual(['mcp tools/call', 'mcp (other)']);
  });
});

describe('a grant revoked while its call waits for approval (#17.17)', () => {
  let gw: RunningGateway;
  beforeAll(async () => {
    process.env.WARDEN_ADMIN_TOKEN = ADMIN;
    gw = await startGateway(`
mcpServers:
  probe:
    command: node
    args: ["--import", "tsx", "${PROBE}"]
    cwd: ${ROOT}
    policy: { version: "1", default: "allow", tools: { echo: { action: require_approval } } }
auth: { anonymous: false }
`);
  });
  afterAll(async () => {
    await gw?.close();
    delete process.env.WARDEN_ADMIN_TOKEN;
  });

  it('#17.17 does not make a held call whose grant was revoked before a person approved it (HTTP)', async () => {
    const created = await adminRequest(gw, ADMIN, '/api/grants', {
      method: 'POST',
      body: JSON.stringify({ label: 'held' }),
    });
    expect(created.status).toBe(201);
    const client = await connect(`${gw.mcpUrl}/probe`, {}, { Authorization: `Bearer ${created.body.token}` });
    try {
      const call = client.callTool({ name: 'echo', arguments: { text: 'after revoke' } }).then(
        (r) => ({ ok: true as const, text: textOf(r) }),
        (err: Error) => ({ ok: false as const, text: err.message }),
      );
      let pending: Record<string, unknown> | undefined;
      await until('the call is held', async () => {
        const list = await adminRequest(gw, ADMIN, '/api/approvals?status=pending');
        pending = (list.body as Array<Record<string, unknown>>)[0];
        return pending !== undefined;
      });
      const revoked = await adminRequest(gw, ADMIN, `/api/grants/${created.body.id}/revoke`, {
        method: 'POST',
      });
      expect(revoked.status).toBe(200);
      const approved = await adminRequest(gw, ADMIN, `/api/approvals/${pending!.id}/approve`, {
        method: 'POST',
      });
      expect(approved.status).toBe(200);
      const outcome = await call;
      expect(outcome.ok).toBe(false);
      expect(outcome.text).toContain('grant "held" was revoked');
    } finally {
      await client.close();
    }
    await until('the refusal is in the audit log', async () => {
      const records = await adminRequest(gw, ADMIN, '/api/audit?limit=20');
      return (records.body as Array<Record<string, unknown>>).some(
        (r) => r.rule === '(grant revoked)' && r.tool === 'echo' && r.decision === 'denied',
      );
    });
  });
});

describe('a session whose upstreams are still starting (#17.18)', () => {
  it('#17.18 neither closes nor suspends a session while its upstreams are starting (slower than the idle timeout)', async () => {
    const gw = await startGateway(`
mcpServers:
  probe:
    command: sh
    args: ["-c", "sleep 3; exec node --import tsx ${PROBE}"]
    cwd: ${ROOT}
http: { sessionIdleTimeout: 1s, upstreamIdleTimeout: 1s }
`);
    try {
      const init = await fetch(`${gw.mcpUrl}/probe`, {
        method: 'POST',
        headers: JSON_SSE,
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: INIT }),
      });
      expect(init.status).toBe(200);
      expect(((await init.json()) as { result?: unknown }).result).toBeDefined();
    } finally {
      await gw.close();
    }
  });
});
