// #18 part 2 and the bridge of part 3 (2025 client -> 2026 upstream): the SDK v1 client through warden to the SDK v2
// fixture in 2026-only and dual-era mode (test/fixtures/modern-server.ts).
import type { ChildProcess } from 'node:child_process';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ToolListChangedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forgetProbes } from '../../src/era/upstream-modern.js';
import { ERA_2026 } from '../../src/era/versions.js';
import { createLogger } from '../../src/log.js';
import { UpstreamLink } from '../../src/proxy/upstream.js';
import {
  adminRequest,
  connect,
  ROOT,
  type RunningGateway,
  startGateway,
  startModernFixture,
  textOf,
} from '../helpers/gateway.js';

const ADMIN = 'eras-upstream-admin-token';
process.env.WARDEN_ADMIN_TOKEN = ADMIN;

function startModern(mode: 'modern' | 'dual'): Promise<{ url: string; child: ChildProcess }> {
  return startModernFixture(mode);
}

const POLICY = `    policy:
      version: "1"
      default: allow
      tools:
        delete_all: { action: deny, reason: "no mass deletes" }
`;

async function seen(client: Client, name = 'seen'): Promise<Array<Record<string, unknown>>> {
  return JSON.parse(textOf(await client.callTool({ name, arguments: {} }))) as Array<Record<string, unknown>>;
}

function agent(gw: RunningGateway, path: string): Promise<Client> {
  return connect(`${gw.mcpUrl}${path}`, { elicitation: {}, sampling: {} });
}

/** A call of `hang` the agent cancels: the upstream's request is aborted (it records `hang/aborted`). */
async function cancelsHang(gw: RunningGateway): Promise<void> {
  const client = await agent(gw, '/up');
  const abort = new AbortController();
  const call = client.callTool({ name: 'hang', arguments: {} }, undefined, { signal: abort.signal });
  await new Promise((r) => setTimeout(r, 300));
  abort.abort();
  await expect(call).rejects.toThrow();
  let aborted = false;
  for (let i = 0; i < 50 && !aborted; i++) {
    aborted = (await seen(client)).some((e) => e.method === 'hang/aborted');
    if (!aborted) await new Promise((r) => setTimeout(r, 100));
  }
  expect(aborted).toBe(true);
  await client.close();
}

for (const mode of ['modern', 'dual'] as const) {
  describe(`#18.2 2025 client through warden to a ${mode === 'modern' ? '2026-only' : 'dual-era'} upstream`, () => {
    let fixture: { url: string; child: ChildProcess };
    let gw: RunningGateway;

    beforeAll(async () => {
      forgetProbes();
      fixture = await startModern(mode);
      gw = await startGateway(`mcpServers:\n  up:\n    url: ${fixture.url}\n${POLICY}`);
    });
    afterAll(async () => {
      await gw?.close();
      fixture?.child.kill();
    });

    it('#18.2.1 connects, lists and calls; the upstream is spoken to in 2026 (auto picks 2026)', async () => {
      const client = await agent(gw, '/up');
      expect(client.getServerVersion()?.name).toBe(`modern-fixture-${mode}`);
      const tools = await client.listTools();
      expect(tools.tools.map((t) => t.name)).toContain('echo');
      // ttlMs and cacheScope of the upstream's list are kept for the agent side.
      expect(tools).toMatchObject({ ttlMs: 0, cacheScope: 'private' });
      const r = await client.callTool({ name: 'echo', arguments: { text: 'hi' } });
      expect(textOf(r)).toBe('echo: hi');
      const log = await seen(client);
      const call = log.find((e) => e.method === 'tools/call' && e.name === 'echo');
      expect(call).toMatchObject({ era: 'modern', version: '2026-07-28' });
      expect(call?.session).toBeUndefined();
      expect(log.some((e) => e.era === 'legacy')).toBe(false);
      await client.close();
    });

    it('#18.2.2 a denied call is refused by the policy and never reaches the upstream', async () => {
      const client = await agent(gw, '');
      await expect(client.callTool({ name: 'up__delete_all', arguments: {} })).resolves.toMatchObject({
        isError: true,
      });
      const log = await seen(client, 'up__seen');
      expect(log.some((e) => e.name === 'delete_all')).toBe(false);
      await client.close();
    });

    it('#18.3.1 elicitation through the bridge: input_required becomes elicitation/create to the agent', async () => {
      const client = await agent(gw, '/up');
      const asked: string[] = [];
      client.setRequestHandler(ElicitRequestSchema, async (req) => {
        asked.push(String(req.params.message));
        return { action: 'accept', content: { ok: true } };
      });
      const r = await client.callTool({ name: 'confirm', arguments: { what: 'deploy' } });
      expect(textOf(r)).toBe('confirmed deploy');
      expect(asked).toEqual(['Do deploy?']);
      await client.close();
    });

    it("#18.3.7 an agent without elicitation: warden declares none upstream, and the upstream's JSON-RPC refusal (HTTP 4xx) reaches the agent", async () => {
      const client = await connect(`${gw.mcpUrl}/up`, {});
      const err = await client.callTool({ name: 'confirm', arguments: { what: 'x' } }).then(
        () => undefined,
        (e: Error) => e.message,
      );
      expect(err).toMatch(/elicitation/i);
      expect(err).not.toMatch(/HTTP 4/);
      await client.close();
    });

    it('#18.3.10 a bridged call is one policy decision and one audit record', async () => {
      const confirms = async () =>
        (await adminRequest(gw, ADMIN, '/api/audit?limit=1000')).body.filter((r) => r.tool === 'confirm');
      const client = await agent(gw, '/up');
      client.setRequestHandler(ElicitRequestSchema, async () => ({
        action: 'accept',
        content: { ok: true },
      }));
      await new Promise((r) => setTimeout(r, 200));
      const before = (await confirms()).length;
      await client.callTool({ name: 'confirm', arguments: { what: 'audit-me' } });
      await new Promise((r) => setTimeout(r, 200));
      const after = await confirms();
      expect(after.length).toBe(before + 1);
      expect(after.find((r) => r.outcome === 'ok')).toMatchObject({ decision: 'allowed' });
      await client.close();
    });

    it('#18.3.11 cancelling a call while the agent is asked withdraws the question from the agent', async () => {
      const client = await agent(gw, '/up');
      let withdrawn!: () => void;
      const gone = new Promise<void>((resolve) => {
        withdrawn = resolve;
      });
      let asked!: () => void;
      const waiting = new Promise<void>((resolve) => {
        asked = resolve;
      });
      client.setRequestHandler(ElicitRequestSchema, (_req, extra) => {
        asked();
        return new Promise((_resolve, reject) => {
          extra.signal.addEventListener('abort', () => {
            withdrawn();
            reject(new Error('withdrawn'));
          });
        });
      });
      const abort = new AbortController();
      const call = client.callTool({ name: 'confirm', arguments: { what: 'never' } }, undefined, {
        signal: abort.signal,
      });
      await waiting;
      abort.abort();
      await expect(call).rejects.toThrow();
      await gone;
      await client.close();
    });

    it('#18.3.2 sampling through the bridge: input_required becomes sampling/createMessage', async () => {
      const client = await agent(gw, '/up');
      client.setRequestHandler(CreateMessageRequestSchema, async () => ({
        role: 'assistant',
        model: 'test',
        content: { type: 'text', text: 'short' },
      }));
      const r = await client.callTool({ name: 'summarize', arguments: { topic: 'x' } });
      expect(textOf(r)).toBe('model said: short');
      await client.close();
    });

    it('#18.2.3 progress from a 2026 upstream reaches the agent under its own token', async () => {
      const client = await agent(gw, '/up');
      const progress: number[] = [];
      const r = await client.callTool({ name: 'slow', arguments: { steps: 3 } }, undefined, {
        onprogress: (p) => progress.push(p.progress),
      });
      expect(textOf(r)).toBe('done 3');
      expect(progress).toEqual([1, 2, 3]);
      await client.close();
    });

    it('#18.2.4 list_changed from the listen stream reaches the agent as notifications/tools/list_changed', async () => {
      const client = await agent(gw, '/up');
      await client.listTools();
      const changed = new Promise<void>((resolve) =>
        client.setNotificationHandler(ToolListChangedNotificationSchema, () => resolve()),
      );
      await client.callTool({ name: 'add_tool', arguments: {} });
      await changed;
      const tools = await client.listTools();
      expect(tools.tools.map((t) => t.name)).toContain('extra');
      await client.close();
    });

    it('#18.2.5 Mcp-Name and Mcp-Param headers are computed from the forwarded body', async () => {
      const client = await agent(gw, '/up');
      await client.listTools();
      await client.callTool({ name: 'route', arguments: { region: 'eu-west' } });
      await client.callTool({ name: 'route', arguments: { region: 'zürich\r\nx-evil: 1' } });
      const log = await seen(client);
      const routes = log.filter((e) => e.name === 'route');
      expect(routes[0]).toMatchObject({ method: 'tools/call', region: 'eu-west' });
      expect(routes[1]?.region).toBe(`=?base64?${Buffer.from('zürich\r\nx-evil: 1').toString('base64')}?=`);
      await client.close();
    });

    it('#18.2.6 hostile upstream: endless input_required ends after the round limit, huge requestState is refused', async () => {
      const client = await agent(gw, '/up');
      await expect(client.callTool({ name: 'loop', arguments: {} })).rejects.toThrow(/more than 8 rounds/);
      await expect(client.callTool({ name: 'huge_state', arguments: {} })).rejects.toThrow(
        /requestState longer/,
      );
      await client.close();
    });

    it('#18.2.7 a cancelled call closes the upstream request', async () => {
      await cancelsHang(gw);
    });
  });
}

describe('#18.2 2025 client through warden to a 2026-only stdio upstream (protocol pinned)', () => {
  let gw: RunningGateway;
  beforeAll(async () => {
    gw = await startGateway(`mcpServers:
  up:
    command: node
    args: ["--import", "tsx", "${ROOT}/test/fixtures/modern-server.ts", "modern", "--stdio"]
    cwd: ${ROOT}
    protocol: "2026-07-28"
${POLICY}`);
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('#18.2.18 the bridge runs the upstream round trips; a hostile one ends after the round limit', async () => {
    const client = await agent(gw, '/up');
    client.setRequestHandler(ElicitRequestSchema, async () => ({ action: 'accept', content: { ok: true } }));
    expect(textOf(await client.callTool({ name: 'confirm', arguments: { what: 'it' } }))).toBe(
      'confirmed it',
    );
    await expect(client.callTool({ name: 'loop', arguments: {} })).rejects.toThrow(/more than 8 rounds/);
    await client.close();
  });

  it('#18.2.19 a cancelled call is cancelled upstream by notification (no HTTP exchange to close on a pipe)', async () => {
    await cancelsHang(gw);
  });
});

describe('#18.2 protocol pinned and the probe cached', () => {
  let modern: { url: string; child: ChildProcess };
  let dual: { url: string; child: ChildProcess };
  beforeAll(async () => {
    forgetProbes();
    [modern, dual] = await Promise.all([startModern('modern'), startModern('dual')]);
  });
  afterAll(() => {
    modern?.child.kill();
    dual?.child.kill();
  });

  it('#18.2.8 protocol 2025-11-25 on a dual-era upstream speaks 2025 (initialize)', async () => {
    const gw = await startGateway(`mcpServers:\n  up:\n    url: ${dual.url}\n    protocol: 2025-11-25\n`);
    const client = await agent(gw, '/up');
    const r = await client.callTool({ name: 'echo', arguments: { text: 'a' } });
    expect(textOf(r)).toBe('echo: a');
    const log = await seen(client);
    expect(log.some((e) => e.era === 'modern')).toBe(false);
    await client.close();
    await gw.close();
  });

  it('#18.2.9 protocol 2026-07-28 pinned: no probe fallback; auto probes once per server', async () => {
    const gw = await startGateway(`mcpServers:\n  up:\n    url: ${modern.url}\n    protocol: 2026-07-28\n`);
    const a = await agent(gw, '/up');
    const b = await agent(gw, '/up');
    expect(textOf(await b.callTool({ name: 'echo', arguments: { text: 'b' } }))).toBe('echo: b');
    await a.close();
    await b.close();
    await gw.close();
    const auto = await startGateway(`mcpServers:\n  dd:\n    url: ${dual.url}\n`);
    const c1 = await agent(auto, '/dd');
    const c2 = await agent(auto, '/dd');
    await c2.callTool({ name: 'echo', arguments: { text: 'c' } });
    const discovers = (await seen(c2)).filter((e) => e.method === 'server/discover');
    expect(discovers.length).toBe(1);
    await c1.close();
    await c2.close();
    await auto.close();
  });

  it('#18.2.10 a 2025-only upstream answers the probe with an error and gets initialize', async () => {
    const { startHttpProbe } = await import('../helpers/gateway.js');
    const probe = await startHttpProbe();
    try {
      const gw = await startGateway(`mcpServers:\n  old:\n    url: ${probe.url}\n`);
      const client = await agent(gw, '/old');
      const tools = await client.listTools();
      expect(tools.tools.length).toBeGreaterThan(0);
      await client.close();
      await gw.close();
    } finally {
      probe.child.kill();
    }
  });
});

describe('#18.2 the upstream link as an event source', () => {
  it("#18.2.16 onChange hears a 2026 upstream's listen notifications (what the agent side serves subscriptions/listen from)", async () => {
    forgetProbes();
    const fixture = await startModern('modern');
    const link = new UpstreamLink({
      spec: {
        id: 'up',
        prefix: 'up',
        kind: 'http',
        url: fixture.url,
        args: [],
        env: {},
        cwd: ROOT,
        headers: {},
        timeoutMs: 10_000,
        startTimeoutMs: 10_000,
      },
      log: createLogger('silent'),
      onServerRequest: () => {},
      onNotification: () => {},
    });
    try {
      const init = await link.start({
        protocolVersion: '2025-11-25',
        capabilities: {},
        clientInfo: { name: 't', version: '1' },
      });
      expect(link.era).toBe(ERA_2026);
      expect(init.protocolVersion).toBe('2025-11-25');
      const heard = new Promise<string>((resolve) => link.onChange((n) => resolve(n.method)));
      const r = await link.call('tools/call', { name: 'add_tool', arguments: {} }).response;
      expect(r && 'result' in r).toBe(true);
      await expect(heard).resolves.toBe('notifications/tools/list_changed');
    } finally {
      await link.close();
      fixture.child.kill();
    }
  });
});
