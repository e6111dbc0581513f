// Limits through the real SDK client: exact admission under concurrency, retry hints, rollback, budgets, reload,
// grants across sessions, and Redis shared by two gateways (and Redis unreachable: fail closed).
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  connect,
  PROBE,
  ROOT,
  type RunningGateway,
  startGateway,
  tempDir,
  textOf,
} from '../helpers/gateway.js';
import { redisStateYaml, shouldRunRedis } from '../helpers/services.js';

type Result = Awaited<ReturnType<Awaited<ReturnType<typeof connect>>['callTool']>>;

const running: RunningGateway[] = [];
afterAll(async () => {
  await Promise.all(running.map((g) => g.close()));
});

async function gateway(policy: unknown, extra = ''): Promise<{ gw: RunningGateway; policyFile: string }> {
  const policyFile = join(tempDir('warden-limits-'), 'policy.json');
  writeFileSync(policyFile, JSON.stringify(policy));
  const gw = await startGateway(`
mcpServers:
  probe:
    command: node
    args: ["--import", "tsx", "${PROBE}"]
    cwd: ${ROOT}
    timeout: 0.5
    policy: ${policyFile}
${extra}`);
  running.push(gw);
  return { gw, policyFile };
}

const denied = (r: Result) => r.isError === true && textOf(r).startsWith('[POLICY DENIED]');

function meta(r: Result): Record<string, unknown> {
  return (r._meta as Record<string, Record<string, unknown>>)['mcp-warden/decision']!;
}

const ADMIN = 'limits-test-admin-token';
process.env.WARDEN_ADMIN_TOKEN = ADMIN;

async function audit(gw: RunningGateway): Promise<Array<Record<string, unknown>>> {
  await new Promise((r) => setTimeout(r, 50)); // outcome entries are written after the answer
  const res = await fetch(`${gw.adminUrl}/api/audit?limit=1000`, {
    headers: { authorization: `Bearer ${ADMIN}` },
  });
  return (await res.json()) as Array<Record<string, unknown>>;
}

describe('limits (memory state)', () => {
  it('admits exactly the limit out of 200 concurrent calls', async () => {
    const { gw } = await gateway({
      version: '1',
      default: 'allow',
      tools: { echo: { rate_limit: { max: 10, window: 60, per: 'global' } } },
    });
    const client = await connect(`${gw.mcpUrl}/probe`);
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => client.callTool({ name: 'echo', arguments: { text: `c${i}` } })),
    );
    expect(results.filter((r) => !r.isError)).toHaveLength(10);
    expect(results.filter(denied)).toHaveLength(190);
    await client.close();
  });

  it('says when to retry, in _meta and in the text, and audits rate_limited', async () => {
    const { gw } = await gateway({
      version: '1',
      default: 'allow',
      tools: { echo: { rate_limit: { max: 1, window: '1m', per: 'session' } } },
    });
    const client = await connect(`${gw.mcpUrl}/probe`);
    expect((await client.callTool({ name: 'echo', arguments: { text: 'a' } })).isError).toBeFalsy();
    const r = await client.callTool({ name: 'echo', arguments: { text: 'b' } });
    expect(denied(r)).toBe(true);
    const retry = meta(r).retryAfterSeconds as number;
    expect(retry).toBeGreaterThanOrEqual(59);
    expect(retry).toBeLessThanOrEqual(60);
    expect(textOf(r)).toContain(`Retry after ${retry} s.`);
    expect(meta(r).rule).toBe('/tools/echo/rate_limit');
    const limited = (await audit(gw)).filter((a) => a.decision === 'rate_limited');
    expect(limited).toHaveLength(1);
    expect(limited[0]!.rule).toBe('/tools/echo/rate_limit');
    await client.close();
  });

  it('counts per session: a new session starts afresh, a per-grant limit does not', async () => {
    const { gw } = await gateway({
      version: '1',
      default: 'allow',
      tools: {
        echo: { rate_limit: { max: 1, window: 60, per: 'session' } },
        pid: { limits: [{ counter: 'pids', window: 'hour', max: 1, scope: 'grant' }] },
      },
    });
    const a = await connect(`${gw.mcpUrl}/probe`);
    const b = await connect(`${gw.mcpUrl}/probe`);
    expect((await a.callTool({ name: 'echo', arguments: { text: 'x' } })).isError).toBeFalsy();
    expect((await b.callTool({ name: 'echo', arguments: { text: 'x' } })).isError).toBeFalsy();
    expect((await a.callTool({ name: 'pid', arguments: {} })).isError).toBeFalsy();
    // The same (anonymous) grant in a new session: still counted.
    expect(denied(await b.callTool({ name: 'pid', arguments: {} }))).toBe(true);
    await a.close();
    await b.close();
  });

  it('keeps the reservation of a call that reached the upstream and then timed out (#17.2)', async () => {
    const { gw } = await gateway({
      version: '1',
      default: 'allow',
      tools: { slow: { rate_limit: { max: 1, window: 60, per: 'session' } } },
    });
    const client = await connect(`${gw.mcpUrl}/probe`);
    // The upstream timeout is 0.5 s: this call fails, but it was sent (the upstream may have run it): still counted.
    await expect(client.callTool({ name: 'slow', arguments: { ms: 2000 } })).rejects.toThrow(
      /did not answer tools\/call within 500 ms/,
    );
    await new Promise((r) => setTimeout(r, 50));
    expect(denied(await client.callTool({ name: 'slow', arguments: { ms: 1 } }))).toBe(true);
    await client.close();
  });

  it('spends budgets by an argument (increment_from) and refuses a call without the amount', async () => {
    const { gw } = await gateway({
      version: '1',
      default: 'allow',
      tools: {
        echo: {
          limits: [
            { counter: 'refunds', window: 'day', max: 500, scope: 'grant', increment_from: 'args.amount' },
          ],
        },
      },
    });
    const client = await connect(`${gw.mcpUrl}/probe`);
    const call = (amount: unknown) => client.callTool({ name: 'echo', arguments: { text: 'r', amount } });
    expect((await call(200)).isError).toBeFalsy();
    expect((await call(200)).isError).toBeFalsy();
    expect(denied(await call(200))).toBe(true);
    expect((await call(100)).isError).toBeFalsy();
    const missing = await call('lots');
    expect(textOf(missing)).toContain('args.amount');
    await client.close();
  });

  it('reads a counter another rule declares in an Intercept condition (state.<tool>.<counter>)', async () => {
    const { gw } = await gateway({
      version: '1',
      default: 'allow',
      tools: {
        echo: {
          rules: [
            {
              name: 'echo budget',
              conditions: [{ path: 'state.echo.echoes', op: 'lte', value: 100 }],
              state: { counter: 'echoes', window: 'day' },
            },
          ],
        },
        // pid is only allowed while fewer than 2 echoes were made today: the counter of another tool's rule.
        pid: {
          rules: [
            {
              name: 'quiet days only',
              conditions: [{ path: 'state.echo.echoes', op: 'lt', value: 2 }],
              on_deny: 'Too many echoes today',
            },
          ],
        },
      },
    });
    const client = await connect(`${gw.mcpUrl}/probe`);
    expect(denied(await client.callTool({ name: 'pid', arguments: {} }))).toBe(false);
    await client.callTool({ name: 'echo', arguments: { text: '1' } });
    expect(denied(await client.callTool({ name: 'pid', arguments: {} }))).toBe(false);
    await client.callTool({ name: 'echo', arguments: { text: '2' } });
    const refused = await client.callTool({ name: 'pid', arguments: {} });
    expect(denied(refused)).toBe(true);
    expect(textOf(refused)).toContain('Too many echoes today');
    expect(meta(refused).rule).toBe('/tools/pid/rules/0');
    await client.close();
  });

  it('refuses an Intercept policy whose condition reads a counter no rule declares', async () => {
    await expect(
      gateway({
        version: '1',
        default: 'allow',
        tools: {
          pid: { rules: [{ name: 'x', conditions: [{ path: 'state.echo.nothing', op: 'lt', value: 2 }] }] },
        },
      }),
    ).rejects.toThrow(/no rule declares the counter echo\.nothing/);
  });

  it('keeps counters across a policy reload', async () => {
    const policy = {
      version: '1',
      default: 'allow',
      tools: { echo: { limits: [{ counter: 'kept', window: 'hour', max: 2, scope: 'global' }] } },
    };
    const { gw, policyFile } = await gateway(policy);
    const client = await connect(`${gw.mcpUrl}/probe`);
    expect((await client.callTool({ name: 'echo', arguments: { text: '1' } })).isError).toBeFalsy();
    writeFileSync(policyFile, JSON.stringify({ ...policy, hide: ['crash'] }));
    await expect
      .poll(async () => (await client.listTools()).tools.some((t) => t.name === 'crash'))
      .toBe(false);
    expect((await client.callTool({ name: 'echo', arguments: { text: '2' } })).isError).toBeFalsy();
    expect(denied(await client.callTool({ name: 'echo', arguments: { text: '3' } }))).toBe(true);
    await client.close();
  });

  it('does not enforce a limit of a shadow policy', async () => {
    const { gw } = await gateway({
      version: '1',
      default: 'allow',
      shadow: true,
      tools: { echo: { rate_limit: { max: 1, window: 60, per: 'session' } } },
    });
    const client = await connect(`${gw.mcpUrl}/probe`);
    for (let i = 0; i < 3; i++)
      expect((await client.callTool({ name: 'echo', arguments: { text: 'x' } })).isError).toBeFalsy();
    await client.close();
  });
});

describe('limits (Redis state)', async () => {
  const run = await shouldRunRedis('limits (Redis state)');

  it.runIf(run)('admits exactly the limit across two gateways sharing Redis', async () => {
    const counter = `shared-${randomUUID()}`;
    const policy = {
      version: '1',
      default: 'allow',
      tools: { echo: { limits: [{ counter, window: 'hour', max: 10, scope: 'global' }] } },
    };
    const [{ gw: a }, { gw: b }] = await Promise.all([
      gateway(policy, redisStateYaml()),
      gateway(policy, redisStateYaml()),
    ]);
    const ca = await connect(`${a.mcpUrl}/probe`);
    const cb = await connect(`${b.mcpUrl}/probe`);
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        (i % 2 === 0 ? ca : cb).callTool({ name: 'echo', arguments: { text: String(i) } }),
      ),
    );
    expect(results.filter((r) => !r.isError)).toHaveLength(10);
    await ca.close();
    await cb.close();
  });
});

describe('limits with the state backend unreachable', () => {
  it('fails closed when Redis cannot be reached, and calls without limits still work', async () => {
    const { gw } = await gateway(
      {
        version: '1',
        default: 'allow',
        tools: { echo: { rate_limit: { max: 5, window: 60, per: 'global' } } },
      },
      'state: redis://127.0.0.1:1\n',
    );
    const client = await connect(`${gw.mcpUrl}/probe`);
    const r = await client.callTool({ name: 'echo', arguments: { text: 'x' } });
    expect(denied(r)).toBe(true);
    expect(textOf(r)).toContain('Limits cannot be checked right now');
    expect((await client.callTool({ name: 'pid', arguments: {} })).isError).toBeFalsy();
    const metrics = await (await fetch(`${gw.adminUrl}/metrics`)).text();
    expect(metrics).toMatch(/warden_state_failures_total\{mode="closed"\} [1-9]/);
    await client.close();
  });

  it('lets calls through uncounted with state_fail_mode: open', async () => {
    const { gw } = await gateway(
      {
        version: '1',
        default: 'allow',
        tools: { echo: { rate_limit: { max: 1, window: 60, per: 'global' } } },
      },
      'state: redis://127.0.0.1:1\nstate_fail_mode: open\n',
    );
    const client = await connect(`${gw.mcpUrl}/probe`);
    for (let i = 0; i < 2; i++)
      expect((await client.callTool({ name: 'echo', arguments: { text: 'x' } })).isError).toBeFalsy();
    await client.close();
  });
});
