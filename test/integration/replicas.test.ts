// Two gateway replicas sharing Redis behind a round-robin balancer: a session opened on one keeps working on the other.
import { randomUUID } from 'node:crypto';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, PROBE, ROOT, type RunningGateway, startGateway, textOf } from '../helpers/gateway.js';
import { redisStateYaml, shouldRunRedis } from '../helpers/services.js';

/** A load balancer without affinity: request n goes to backend n mod 2. */
function roundRobin(backends: string[]): Promise<{ url: string; server: Server; hits: number[] }> {
  const hits = backends.map(() => 0);
  let next = 0;
  const server = createServer((req, res) => {
    const i = next++ % backends.length;
    hits[i]!++;
    const target = new URL(req.url ?? '/', backends[i]);
    const upstream = request(
      target,
      { method: req.method, headers: { ...req.headers, host: target.host } },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, hits }),
    ),
  );
}

describe('replicas sharing Redis', async () => {
  const run = await shouldRunRedis('replicas sharing Redis');
  let a: RunningGateway;
  let b: RunningGateway;
  let lb: Awaited<ReturnType<typeof roundRobin>>;

  beforeAll(async () => {
    if (!run) return;
    const counter = `replica-${randomUUID()}`;
    const yaml = `
mcpServers:
  probe:
    command: node
    args: ["--import", "tsx", "${PROBE}"]
    cwd: ${ROOT}
    policy: { version: "1", default: "allow", tools: { pid: { limits: [{ counter: "${counter}", window: hour, max: 3, scope: global }] } } }
${redisStateYaml()}`;
    [a, b] = await Promise.all([startGateway(yaml), startGateway(yaml)]);
    lb = await roundRobin([new URL(a.mcpUrl).origin, new URL(b.mcpUrl).origin]);
  });

  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    lb?.server.close();
  });

  it.runIf(run)('keeps a session working when the balancer moves it to the other replica', async () => {
    const client = await connect(`${lb.url}/mcp/probe`);
    const pids = new Set<string>();
    for (let i = 0; i < 6; i++) {
      const r = await client.callTool({ name: 'echo', arguments: { text: `call ${i}` } });
      expect(r.isError).toBeFalsy();
      expect(textOf(r)).toContain(`call ${i}`);
    }
    // Both replicas served this one session, each from an upstream of its own.
    expect(lb.hits[0]).toBeGreaterThan(2);
    expect(lb.hits[1]).toBeGreaterThan(2);
    const results = [];
    for (let i = 0; i < 5; i++) results.push(await client.callTool({ name: 'pid', arguments: {} }));
    for (const r of results.filter((x) => !x.isError)) pids.add(textOf(r));
    expect(pids.size).toBe(2);
    // The limit of 3 is one limit across both replicas.
    expect(results.filter((r) => !r.isError)).toHaveLength(3);
    await client.close();
  });

  it.runIf(run)('refuses a session id that was never opened, on any replica', async () => {
    const res = await fetch(`${lb.url}/mcp/probe`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-session-id': randomUUID(),
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    expect(res.status).toBe(404);
  });
});
