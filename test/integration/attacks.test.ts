// Named attacks on a running gateway, each of which must fail: reaching a hidden tool by a disguised name, passing as
// someone through headers, crashing the parser with nesting, and stalling the policy engine with a hostile regex.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

const ADMIN = 'attacks-admin-token';
process.env.WARDEN_ADMIN_TOKEN = ADMIN;

let open: RunningGateway;
let closed: RunningGateway;

beforeAll(async () => {
  const policy = join(tempDir('warden-attacks-'), 'policy.json');
  writeFileSync(
    policy,
    JSON.stringify({
      version: '1',
      default: 'allow',
      hide: ['crash'],
      tools: {
        // A pattern with catastrophic backtracking in a backtracking engine: (a+)+$ against "aaaa…!".
        echo: { deny_if: [{ path: 'args.text', op: 'regex', value: '^(a+)+$' }] },
      },
    }),
  );
  const servers = `
mcpServers:
  probe:
    command: node
    args: ["--import", "tsx", "${PROBE}"]
    cwd: ${ROOT}
    policy: ${policy}
`;
  open = await startGateway(servers);
  closed = await startGateway(`${servers}auth: { anonymous: false }\n`);
});

afterAll(async () => {
  await open.close();
  await closed.close();
});

describe('attacks', () => {
  it('hidden tool by a disguised name on the aggregated endpoint: case, prefix, unicode and spacing tricks', async () => {
    const client = await connect(open.mcpUrl);
    const errorOf = async (name: string) => {
      try {
        await client.callTool({ name, arguments: {} });
      } catch (err) {
        return {
          code: (err as { code: number }).code,
          message: (err as Error).message.replace(name, '<name>'),
        };
      }
      return { code: 0, message: `${JSON.stringify(name)} was called` };
    };
    const missing = await errorOf('probe__no_such_tool');
    expect(missing.code).toBe(-32602);
    for (const disguise of [
      'probe__crash',
      'probe__CRASH',
      'PROBE__crash',
      'probe___crash',
      'probe__crash\u200b',
      'probe__\uff43rash', // fullwidth c
      'probe__crash ',
      ' probe__crash',
      'probe__crash\u0000',
      'crash',
    ]) {
      expect(await errorOf(disguise), JSON.stringify(disguise)).toEqual(missing);
    }
    await client.close();
  });

  it('spoofed identity headers: forwarded-for, user and grant headers never stand in for a token', async () => {
    const spoofs: Array<Record<string, string>> = [
      { 'x-forwarded-for': '127.0.0.1' },
      { 'x-real-ip': '127.0.0.1', 'x-forwarded-user': 'admin' },
      { 'x-warden-grant': 'ci-runner', 'x-warden-token': 'wdn_0000000000000000_x' },
      { cookie: 'warden_session=admin' },
      { authorization: 'Basic YWRtaW46YWRtaW4=' },
    ];
    for (const headers of spoofs) {
      const res = await fetch(`${closed.mcpUrl}/probe`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          ...headers,
        },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'initialize',
          params: {
            protocolVersion: '2025-06-18',
            capabilities: {},
            clientInfo: { name: 'x', version: '1' },
          },
        }),
      });
      expect(res.status, JSON.stringify(headers)).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer /);
    }
  });

  it('deeply nested JSON body: answered with a JSON-RPC error, and the gateway keeps serving', async () => {
    const depth = 200_000;
    const body = `${'['.repeat(depth)}${']'.repeat(depth)}`;
    const res = await fetch(`${open.mcpUrl}/probe`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body,
    });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    const client = await connect(`${open.mcpUrl}/probe`);
    expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'still here' } }))).toBe(
      'still here',
    );
    await client.close();
  });

  it('regex denial of service through a policy condition: a hostile input is decided at once', async () => {
    const client = await connect(`${open.mcpUrl}/probe`);
    const started = performance.now();
    // 50,000 "a" then "!": a backtracking engine needs on the order of 2^50000 steps for (a+)+$.
    const result = await client.callTool({ name: 'echo', arguments: { text: `${'a'.repeat(50_000)}!` } });
    // Generous bound: a linear engine takes milliseconds; backtracking would not finish at all.
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(textOf(result)).toBe(`${'a'.repeat(50_000)}!`);
    expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'aaaa' } }))).toMatch(
      /^\[POLICY DENIED\]/,
    );
    await client.close();
  });

  it('arguments that are not an object: refused before the policy, and recorded as an invalid request', async () => {
    const client = await connect(`${open.mcpUrl}/probe`);
    await expect(
      client.request(
        {
          method: 'tools/call',
          params: { name: 'echo', arguments: ['aaaa'] as unknown as Record<string, unknown> },
        },
        CallToolResultSchema,
      ),
    ).rejects.toThrow('Invalid params: arguments must be an object');
    await client.close();
    await new Promise((r) => setTimeout(r, 100));
    const records = (await adminRequest(open, ADMIN, '/api/audit?tool=echo&decision=denied')).body;
    expect(records.at(-1)).toMatchObject({
      rule: '(invalid request)',
      reason: 'Invalid params: arguments must be an object',
    });
  });
});
