// Fault injection: the gateway's Redis (limit counters, sessions, approval bus) goes away and comes back. The shared
// Redis is never stopped: a TCP proxy between the gateway and it is cut and restored. Limits fail closed meanwhile
// (state_fail_mode: closed, the default), calls without a limit go on, and limits work again afterwards.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, PROBE, ROOT, type RunningGateway, startGateway, textOf } from '../helpers/gateway.js';
import { redisUrl, shouldRunRedis } from '../helpers/services.js';
import { TcpProxy, until } from './helpers.js';

const run = await shouldRunRedis('Redis down and back (fault injection)');

describe.runIf(run)('Redis down and back', () => {
  let proxy: TcpProxy;
  let gw: RunningGateway;

  beforeAll(async () => {
    const target = new URL(redisUrl());
    proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port || 6379) });
    const url = new URL(redisUrl());
    url.hostname = '127.0.0.1';
    url.port = String(proxy.port);
    gw = await startGateway(`
mcpServers:
  probe:
    command: node
    args: ["--import", "tsx", "${PROBE}"]
    cwd: ${ROOT}
state: ${url.href}
state_fail_mode: closed
policy:
  version: "1"
  default: allow
  tools:
    echo: { rate_limit: { max: 100000, window: 60, per: session } }
`);
  });

  afterAll(async () => {
    await gw?.close();
    await proxy?.close();
  });

  it('refuses limited calls while Redis is unreachable, serves the others, and counts again when it is back', async () => {
    const client = await connect(`${gw.mcpUrl}/probe`);
    const echo = () => client.callTool({ name: 'echo', arguments: { text: 'counted' } });
    expect(textOf(await echo())).toBe('counted');

    await proxy.cut();
    const t0 = performance.now();
    const refused = await echo();
    const refusedMs = performance.now() - t0;
    expect(refused.isError).toBe(true);
    expect(textOf(refused)).toBe(
      '[POLICY DENIED] Limits cannot be checked right now, so the call was not made.',
    );
    expect(refused._meta?.['mcp-warden/decision']).toMatchObject({ rule: '/tools/echo/rate_limit' });
    // Fails fast (the command timeout is 1 s), instead of holding the agent.
    expect(refusedMs).toBeLessThan(3000);
    // A tool with no limit needs no counter: it is still served.
    expect(textOf(await client.callTool({ name: 'pid', arguments: {} }))).toMatch(/^\d+$/);
    // A fresh session too (the shared session directory being down only costs takeover by other replicas).
    const fresh = await connect(`${gw.mcpUrl}/probe`);
    expect((await fresh.callTool({ name: 'echo', arguments: { text: 'x' } })).isError).toBe(true);
    await fresh.close();

    await proxy.restore();
    const back = await until(
      async () => {
        const r = await echo();
        return r.isError !== true && textOf(r) === 'counted';
      },
      20_000,
      200,
    );
    expect(back).toBe(true);
    await client.close();
  }, 60_000);
});
