// Upstream sharing (isolation: session | grant | shared) with real stdio child processes: how many run, when they
// end, and that nothing one agent's call causes on a shared upstream reaches another agent.
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ElicitRequestSchema, LoggingMessageNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { resolveConfig } from '../../src/config/resolve.js';
import { alive, until } from '../faults/helpers.js';
import {
  adminRequest,
  connect,
  ROOT,
  type RunningGateway,
  startGateway,
  textOf,
} from '../helpers/gateway.js';

const FIXTURE = join(ROOT, 'test/fixtures/isolation-server.ts');
const server = (extra: string) => `command: node
    args: ["--import", "tsx", "${FIXTURE}"]
    cwd: ${ROOT}
    ${extra}`;

/** An agent with elicitation, whose questions and log lines are recorded. */
async function agent(url: string, answer: string) {
  const client = await connect(url, { elicitation: {} });
  const asked: string[] = [];
  const logs: string[] = [];
  client.setRequestHandler(ElicitRequestSchema, async (req) => {
    asked.push(String(req.params.message));
    return { action: 'accept', content: { answer } };
  });
  client.setNotificationHandler(LoggingMessageNotificationSchema, async (n) => {
    logs.push(String(n.params.data));
  });
  return { client, asked, logs };
}

async function pidOf(client: Client): Promise<number> {
  return Number(textOf(await client.callTool({ name: 'pid', arguments: {} })));
}

/** Ends the agent session the way a polite client does (DELETE), then the client. */
async function leave(client: Client): Promise<void> {
  await (client.transport as StreamableHTTPClientTransport).terminateSession();
  await client.close();
}

describe('upstream isolation (#18.5)', () => {
  let gw: RunningGateway;
  const clients: Client[] = [];
  const open = async (path: string, answer = 'x') => {
    const a = await agent(`${gw.mcpUrl}/${path}`, answer);
    clients.push(a.client);
    return a;
  };

  beforeAll(async () => {
    gw = await startGateway(`
mcpServers:
  shared:
    ${server('isolation: shared')}
  pergrant:
    ${server('')}
  persession:
    ${server('isolation: session')}
  brief:
    ${server('idleTimeout: 1')}
`);
  });
  // Every test's agents leave (DELETE): a session left open holds its leases, on the aggregated endpoint all of them.
  afterEach(async () => {
    const leaving = clients.splice(0);
    await Promise.all(leaving.map((c) => leave(c).catch(() => c.close())));
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('#18.5.1 runs one child for all sessions of a grant (stdio default) and one per session under isolation session', async () => {
    const grant = await Promise.all([open('pergrant'), open('pergrant'), open('pergrant')]);
    const grantPids = new Set(await Promise.all(grant.map((a) => pidOf(a.client))));
    expect(grantPids.size).toBe(1);
    const own = await Promise.all([open('persession'), open('persession'), open('persession')]);
    const ownPids = new Set(await Promise.all(own.map((a) => pidOf(a.client))));
    expect(ownPids.size).toBe(3);
    // The aggregated endpoint leases the same pooled child as the per-server endpoint.
    const aggregated = await open('');
    const viaAggregate = Number(
      textOf(await aggregated.client.callTool({ name: 'pergrant__pid', arguments: {} })),
    );
    expect(viaAggregate).toBe([...grantPids][0]);
  });

  it('#18.5.2 ends a pooled child once its last session left and idleTimeout passed, and starts a new one for the next', async () => {
    const a = await agent(`${gw.mcpUrl}/brief`, 'a');
    const b = await agent(`${gw.mcpUrl}/brief`, 'b');
    // (test 1's aggregated session, which leased this server too, has left)
    const pid = await pidOf(a.client);
    expect(await pidOf(b.client)).toBe(pid);
    await leave(a.client);
    // B still holds the link: the child stays well past the idle timeout.
    await new Promise((r) => setTimeout(r, 1500));
    expect(alive(pid)).toBe(true);
    await leave(b.client);
    expect(await until(() => !alive(pid), 10_000)).toBe(true);
    const c = await open('brief');
    const next = await pidOf(c.client);
    expect(next).not.toBe(pid);
    expect(alive(next)).toBe(true);
  });

  it("#18.5.3 sends a shared upstream's elicitation to the agent whose call asked, never to the other agent", async () => {
    const a = await open('shared', 'answer-of-a');
    const b = await open('shared', 'answer-of-b');
    expect(await pidOf(a.client)).toBe(await pidOf(b.client));
    const result = await b.client.callTool({ name: 'ask', arguments: { question: 'question-of-b' } });
    expect(textOf(result)).toContain('answer-of-b');
    expect(b.asked).toEqual(['question-of-b']);
    expect(a.asked).toEqual([]);
  });

  it("#18.5.13 ignores agent A's forged answer to B's elicitation on the shared link; B's own answer counts", async () => {
    const a = await open('shared', 'answer-of-a');
    const b = await open('shared', 'answer-of-b');
    let forged = 0;
    // B takes its time; meanwhile A answers every id warden could have given B's question.
    b.client.setRequestHandler(ElicitRequestSchema, async () => {
      for (let i = 1; i <= 20; i++) {
        forged++;
        await a.client.transport!.send({
          jsonrpc: '2.0',
          id: `warden-${i}`,
          result: { action: 'accept', content: { answer: 'forged-by-a' } },
        });
      }
      await new Promise((r) => setTimeout(r, 200));
      return { action: 'accept', content: { answer: 'answer-of-b' } };
    });
    const result = await b.client.callTool({ name: 'ask', arguments: { question: 'question-of-b' } });
    expect(forged).toBe(20);
    expect(textOf(result)).toContain('answer-of-b');
    expect(textOf(result)).not.toContain('forged-by-a');
  });

  it('#18.5.14 never sends an elicitation to an agent that did not declare it, while one that did uses the shared server', async () => {
    const a = await open('shared', 'answer-of-a');
    await pidOf(a.client);
    const plain = await connect(`${gw.mcpUrl}/shared`);
    clients.push(plain);
    let asked = 0;
    plain.fallbackRequestHandler = async () => {
      asked++;
      return {};
    };
    const result = await plain
      .callTool({ name: 'ask', arguments: { question: 'q' } })
      .then(textOf, (err: Error) => err.message);
    expect(result).not.toContain('"action"');
    expect(asked).toBe(0);
    expect(a.asked).toEqual([]);
  });

  it('#18.5.4 refuses an elicitation it cannot attribute (two agents have calls running on the shared link) rather than ask either', async () => {
    const a = await open('shared', 'answer-of-a');
    const b = await open('shared', 'answer-of-b');
    const stop = new AbortController();
    const running = a.client
      .callTool({ name: 'slow', arguments: { ms: 30_000 } }, undefined, { signal: stop.signal })
      .catch(() => undefined);
    await new Promise((r) => setTimeout(r, 200));
    const result = await b.client.callTool({ name: 'ask', arguments: { question: 'question-of-b' } }).then(
      (r) => textOf(r),
      (err: Error) => err.message,
    );
    stop.abort();
    await running;
    expect(result).not.toContain('answer-of');
    expect(a.asked).toEqual([]);
    expect(b.asked).toEqual([]);
  });

  it('#18.5.5 delivers progress on a shared upstream only to the agent whose call it is', async () => {
    const a = await open('shared');
    const b = await open('shared');
    const seenA: string[] = [];
    const seenB: string[] = [];
    await Promise.all([
      a.client.callTool({ name: 'progress', arguments: { steps: 5, ms: 20, label: 'A' } }, undefined, {
        onprogress: (p) => seenA.push(String(p.message)),
      }),
      b.client.callTool({ name: 'progress', arguments: { steps: 4, ms: 20, label: 'B' } }, undefined, {
        onprogress: (p) => seenB.push(String(p.message)),
      }),
    ]);
    expect(seenA).toEqual(['A', 'A', 'A', 'A', 'A']);
    expect(seenB).toEqual(['B', 'B', 'B', 'B']);
  });

  it("#18.5.6 cancels only A's call on the shared upstream when A cancels, and B's call completes", async () => {
    const a = await open('shared');
    const b = await open('shared');
    const before = Number(textOf(await b.client.callTool({ name: 'cancellations', arguments: {} })));
    const stop = new AbortController();
    const callA = a.client
      .callTool({ name: 'slow', arguments: { ms: 30_000 } }, undefined, { signal: stop.signal })
      .then(
        () => 'answered',
        () => 'aborted',
      );
    const callB = b.client.callTool({ name: 'slow', arguments: { ms: 1000 } });
    await new Promise((r) => setTimeout(r, 200));
    stop.abort();
    expect(await callA).toBe('aborted');
    expect(textOf(await callB)).toBe('slept');
    const after = Number(textOf(await b.client.callTool({ name: 'cancellations', arguments: {} })));
    expect(after - before).toBe(1);
  });

  it("#18.5.7 sends a shared upstream's log line only to the agent whose call is running", async () => {
    const a = await open('shared');
    const b = await open('shared');
    await b.client.callTool({ name: 'log', arguments: { text: 'line-of-b', ms: 100 } });
    await a.client.callTool({ name: 'pid', arguments: {} });
    expect(b.logs).toContain('line-of-b');
    expect(a.logs).toEqual([]);
  });

  it("#18.5.8 restarts a crashed shared child for everyone without leaking A's pending requests into B", async () => {
    const a = await open('shared', 'answer-of-a');
    const b = await open('shared', 'answer-of-b');
    const old = await pidOf(a.client);
    const slowB = b.client.callTool({ name: 'slow', arguments: { ms: 30_000 } }).then(
      (r) => ({ error: (r as { isError?: boolean }).isError === true, text: textOf(r) }),
      (err: Error) => ({ error: true, text: err.message }),
    );
    await new Promise((r) => setTimeout(r, 200));
    const crashA = await a.client.callTool({ name: 'crash', arguments: {} }).then(
      (r) => ({ error: (r as { isError?: boolean }).isError === true, text: textOf(r) }),
      (err: Error) => ({ error: true, text: err.message }),
    );
    expect(crashA.error).toBe(true);
    const b1 = await slowB;
    expect(b1.error).toBe(true);
    expect(b1.text).not.toContain('slept');
    // Both come back on one new child, each answered with its own result.
    expect(await until(async () => (await pidOf(b.client).catch(() => 0)) > 0, 15_000)).toBe(true);
    const [pa, pb] = await Promise.all([pidOf(a.client), pidOf(b.client)]);
    expect(pa).toBe(pb);
    expect(pa).not.toBe(old);
    const asked = await b.client.callTool({ name: 'ask', arguments: { question: 'after-restart' } });
    expect(textOf(asked)).toContain('answer-of-b');
    expect(a.asked).toEqual([]);
  });
});

describe('isolation grant with named grants (#18.5)', () => {
  const ADMIN = 'isolation-admin-token-0123456789abcdef';
  it('#18.5.12 never shares a grant-isolated child between two grants, and shares a shared one', async () => {
    process.env.WARDEN_ADMIN_TOKEN = ADMIN;
    const gw = await startGateway(`
mcpServers:
  pergrant:
    ${server('')}
  shared:
    ${server('isolation: shared')}
auth: { anonymous: false }
`);
    const clients: Client[] = [];
    try {
      const tokens: string[] = [];
      for (const label of ['iso-alice', 'iso-bob']) {
        const r = await adminRequest(gw, ADMIN, '/api/grants', {
          method: 'POST',
          body: JSON.stringify({ label }),
        });
        expect(r.status).toBe(201);
        tokens.push(String(r.body.token));
      }
      const as = async (token: string, path: string) => {
        const c = await connect(`${gw.mcpUrl}/${path}`, {}, { authorization: `Bearer ${token}` });
        clients.push(c);
        return pidOf(c);
      };
      const alice = await Promise.all([as(tokens[0]!, 'pergrant'), as(tokens[0]!, 'pergrant')]);
      const bob = await as(tokens[1]!, 'pergrant');
      expect(alice[0]).toBe(alice[1]);
      expect(bob).not.toBe(alice[0]);
      expect(await as(tokens[0]!, 'shared')).toBe(await as(tokens[1]!, 'shared'));
    } finally {
      for (const c of clients) await c.close().catch(() => {});
      await gw.close();
      delete process.env.WARDEN_ADMIN_TOKEN;
    }
  });
});

describe('an agent that never sends DELETE (#18.5)', () => {
  it('#18.5.11 does not pin a pooled child: the idle session releases it and the pool ends it after idleTimeout', async () => {
    const gw = await startGateway(`
mcpServers:
  brief:
    ${server('idleTimeout: 1')}
http: { upstreamIdleTimeout: 1s }
`);
    try {
      const a = await agent(`${gw.mcpUrl}/brief`, 'a');
      const pid = await pidOf(a.client);
      // The client goes away without DELETE: its agent session stays open on the gateway.
      await a.client.close();
      expect(await until(() => !alive(pid), 15_000)).toBe(true);
    } finally {
      await gw.close();
    }
  });
});

describe('isolation config (#18.5)', () => {
  it('#18.5.9 refuses roots "agent" with isolation shared or grant at load, naming the server\'s isolation key', () => {
    for (const isolation of ['shared', 'grant']) {
      const yaml = `mcpServers:\n  fs:\n    command: node\n    roots: agent\n    isolation: ${isolation}\n`;
      expect(() => resolveConfig(parseConfig(yaml, '/tmp/warden.yaml'))).toThrow(
        /mcpServers\.fs\.isolation[\s\S]*roots/,
      );
    }
  });

  it('#18.5.10 defaults stdio servers to grant (session when roots is "agent") and HTTP servers to session', () => {
    const yaml = `mcpServers:
  a: { command: node }
  b: { command: node, roots: agent }
  c: { url: "http://127.0.0.1:1/mcp" }
`;
    const config = resolveConfig(parseConfig(yaml, '/tmp/warden.yaml'));
    expect(config.upstreams.map((u) => u.isolation)).toEqual(['grant', 'session', 'session']);
  });
});
