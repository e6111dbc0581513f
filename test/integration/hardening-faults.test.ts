// Issue #17.1 and #17.2 through real servers: one hostile message never ends the gateway (answers nested thousands of
// levels from stdio and HTTP upstreams, on /mcp/<id>, /mcp, /sse and stdio; agent messages too; faults nobody caught),
// and a call that reached its upstream keeps its rate-limit unit, quota and budget whatever happens next.
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { afterAll, describe, expect, it } from 'vitest';
import type { Identity } from '../../src/identity/authenticate.js';
import { serveCli, writeConfig } from '../helpers/cli.js';
import {
  adminRequest,
  connect,
  PROBE,
  ROOT,
  type RunningGateway,
  startGateway,
  startHttpProbe,
  tempDir,
  textOf,
} from '../helpers/gateway.js';
import { redisUrl, shouldRunRedis, TEST_STATE_PREFIX } from '../helpers/services.js';

const DEEP = join(ROOT, 'test/fixtures/deep-server.ts');
const ADMIN = 'hardening-faults-admin-token';
process.env.WARDEN_ADMIN_TOKEN = ADMIN;

type Json = Record<string, unknown>;

const running: RunningGateway[] = [];
const children: Array<{ kill(): boolean }> = [];
afterAll(async () => {
  await Promise.all(running.map((g) => g.close()));
  for (const c of children) c.kill();
});

async function gateway(yaml: string): Promise<RunningGateway> {
  const gw = await startGateway(yaml);
  running.push(gw);
  return gw;
}

const deepStdio = `
  deep:
    command: node
    args: ["--import", "tsx", "${DEEP}"]
    cwd: ${ROOT}
`;

/** Resolves with the deep fixture over Streamable HTTP. */
function startHttpDeep(): Promise<{ url: string; kill(): boolean }> {
  return import('node:child_process').then(
    ({ spawn }) =>
      new Promise((resolve, reject) => {
        const child = spawn(process.execPath, ['--import', 'tsx', DEEP, '--port', '0'], {
          stdio: ['ignore', 'ignore', 'pipe'],
          cwd: ROOT,
        });
        children.push(child);
        let err = '';
        child.stderr!.setEncoding('utf8');
        child.stderr!.on('data', (c: string) => {
          err += c;
          const m = /listening (\S+)/.exec(err);
          if (m) resolve({ url: m[1]!, kill: () => child.kill() });
        });
        child.once('exit', () => reject(new Error(`deep server exited: ${err}`)));
      }),
  );
}

async function auditRecords(gw: RunningGateway): Promise<Json[]> {
  await new Promise((r) => setTimeout(r, 150)); // outcome entries reach the store a few ms after the answer
  return (await adminRequest(gw, ADMIN, '/api/audit?limit=1000')).body;
}

/** The record of the one call of `tool` (by the `levels` it asked for, when given). */
async function recordOf(gw: RunningGateway, tool: string): Promise<Json[]> {
  return (await auditRecords(gw)).filter((r) => r.method === 'tools/call' && r.tool === tool);
}

describe('#17.1 one message never ends the gateway', () => {
  it('#17.1 answers a stdio upstream result nested 5,000 levels with a JSON-RPC error and keeps serving (/mcp/<id>)', async () => {
    const gw = await gateway(`mcpServers:${deepStdio}`);
    const client = await connect(`${gw.mcpUrl}/deep`);
    await expect(client.callTool({ name: 'deep', arguments: { levels: 5000 } })).rejects.toThrow(
      /nested deeper than 256 levels/,
    );
    // The same session, and the same upstream, go on.
    expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'still here' } }))).toBe(
      'still here',
    );
    const records = await recordOf(gw, 'deep');
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ decision: 'allowed', outcome: 'error', errorCode: -32603 });
    await client.close();
  });

  it('#17.1 refuses a result nested 100,000 levels and one nested just past the bound, passes one at the bound', async () => {
    const gw = await gateway(`mcpServers:${deepStdio}`);
    const client = await connect(`${gw.mcpUrl}/deep`);
    await expect(client.callTool({ name: 'deep', arguments: { levels: 100_000 } })).rejects.toThrow(
      /nested deeper than 256/,
    );
    // structuredContent is one level under the result: 255 levels inside it make 256.
    const ok = await client.callTool({ name: 'deep', arguments: { levels: 255 } });
    expect(textOf(ok)).toBe('deep');
    await expect(client.callTool({ name: 'deep', arguments: { levels: 256 } })).rejects.toThrow(
      /nested deeper than 256/,
    );
    await client.close();
  });

  it('#17.1 answers a deep result on the aggregated endpoint /mcp with an error and keeps serving', async () => {
    const gw = await gateway(`mcpServers:${deepStdio}`);
    const client = await connect(gw.mcpUrl);
    await expect(client.callTool({ name: 'deep__deep', arguments: { levels: 5000 } })).rejects.toThrow(
      /nested deeper than 256/,
    );
    expect(textOf(await client.callTool({ name: 'deep__echo', arguments: { text: 'ok' } }))).toBe('ok');
    await client.close();
  });

  it('#17.1 answers a deep result from an HTTP upstream with an error and keeps serving', async () => {
    const deep = await startHttpDeep();
    const gw = await gateway(`mcpServers:\n  deep:\n    url: ${deep.url}\n`);
    const client = await connect(`${gw.mcpUrl}/deep`);
    await expect(client.callTool({ name: 'deep', arguments: { levels: 5000 } })).rejects.toThrow(
      /nested deeper than 256/,
    );
    expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'http ok' } }))).toBe('http ok');
    await client.close();
  });

  it('#17.1 answers a deep error data (stdio upstream) with an error and keeps serving', async () => {
    const gw = await gateway(`mcpServers:${deepStdio}`);
    const client = await connect(`${gw.mcpUrl}/deep`);
    await expect(
      client.callTool({ name: 'deep', arguments: { levels: 5000, where: 'error' } }),
    ).rejects.toThrow(/error data is nested deeper than 256/);
    expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'y' } }))).toBe('y');
    await client.close();
  });

  it('#17.1 drops a deep upstream notification and still answers its call (stdio and HTTP upstreams)', async () => {
    const deep = await startHttpDeep();
    const gw = await gateway(`mcpServers:${deepStdio}  web:\n    url: ${deep.url}\n`);
    for (const server of ['deep', 'web']) {
      const client = await connect(`${gw.mcpUrl}/${server}`);
      const r = await client.callTool({ name: 'deep', arguments: { levels: 5000, where: 'notification' } });
      expect(textOf(r)).toBe('after the notification');
      await client.close();
    }
  });

  it('#17.1 answers a deep result on the legacy /sse endpoint with an error and keeps serving', async () => {
    const gw = await gateway(`mcpServers:${deepStdio}`);
    const base = gw.mcpUrl.replace(/\/mcp$/, '');
    const client = new Client({ name: 'sse-test', version: '1.0.0' });
    await client.connect(new SSEClientTransport(new URL(`${base}/sse/deep`)));
    await expect(client.callTool({ name: 'deep', arguments: { levels: 5000 } })).rejects.toThrow(
      /nested deeper than 256/,
    );
    expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'sse' } }))).toBe('sse');
    await client.close();
  });

  it('#17.1 answers a deep result in stdio mode with an error, and an over-long line with an error, and keeps serving', async () => {
    const gw = await gateway(`mcpServers:${deepStdio}http:\n  maxBodyBytes: 65536\n`);
    const input = new PassThrough();
    const output = new PassThrough();
    const lines: Json[] = [];
    let text = '';
    output.setEncoding('utf8');
    output.on('data', (c: string) => {
      text += c;
      let nl = text.indexOf('\n');
      while (nl !== -1) {
        lines.push(JSON.parse(text.slice(0, nl)) as Json);
        text = text.slice(nl + 1);
        nl = text.indexOf('\n');
      }
    });
    const anonymous = { grant: undefined } as unknown as Identity;
    const served = gw.gateway.serveStdio(input, output, 'deep', anonymous);
    const answer = async (id: number): Promise<Json> => {
      for (let i = 0; i < 200; i++) {
        const found = lines.find((l) => l.id === id);
        if (found) return found;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`no answer to ${id}`);
    };
    const send = (m: Json) => input.write(`${JSON.stringify(m)}\n`);
    send({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } },
    });
    await answer(1);
    send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    send({
      jsonrpc: '2.0',
      id: 2,
      method: 'tools/call',
      params: { name: 'deep', arguments: { levels: 5000 } },
    });
    expect(((await answer(2)).error as Json).message).toMatch(/nested deeper than 256/);
    // A line longer than the body limit, sent in pieces without a newline, then the rest of it.
    const long = 'x'.repeat(40_000);
    input.write(`{"jsonrpc":"2.0","id":3,"method":"ping","params":{"pad":"${long}`);
    input.write(long);
    input.write(`${long}"}}\n`);
    await new Promise((r) => setTimeout(r, 200));
    expect(
      lines.some(
        (l) => (l.error as Json | undefined)?.message === 'Invalid Request: message exceeds 65536 characters',
      ),
    ).toBe(true);
    send({
      jsonrpc: '2.0',
      id: 4,
      method: 'tools/call',
      params: { name: 'echo', arguments: { text: 'stdio ok' } },
    });
    expect(textOf((await answer(4)).result)).toBe('stdio ok');
    input.end();
    await served;
  });

  it('#17.1 refuses an agent answer nested deeper than the bound (400 -32600), before it reaches an upstream', async () => {
    const gw = await gateway(`mcpServers:${deepStdio}`);
    const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    const init = await fetch(`${gw.mcpUrl}/deep`, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } },
      }),
    });
    const sid = init.headers.get('mcp-session-id')!;
    await init.text();
    const deepAnswer = `{"jsonrpc":"2.0","id":"warden-1","result":{"roots":${'['.repeat(5000)}${']'.repeat(5000)}}}`;
    const res = await fetch(`${gw.mcpUrl}/deep`, {
      method: 'POST',
      headers: { ...headers, 'mcp-session-id': sid },
      body: deepAnswer,
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: Json }).error).toMatchObject({
      code: -32600,
      message: 'Invalid Request: result is nested deeper than 256 levels',
    });
  });
});

describe('#17.1 other shapes of one hostile message', () => {
  it('#17.1 keeps a "__proto__" argument in the audit record (audit.args full) instead of dropping it', async () => {
    const gw = await gateway(`mcpServers:
  probe:
    command: node
    args: ["--import", "tsx", "${PROBE}"]
    cwd: ${ROOT}
audit: { args: full }
`);
    const client = await connect(`${gw.mcpUrl}/probe`);
    const args = JSON.parse('{"text":"hi","__proto__":{"amount":900,"password":"hunter2"}}') as Json;
    expect(textOf(await client.callTool({ name: 'echo', arguments: args }))).toBe('hi');
    const [record] = await recordOf(gw, 'echo');
    const value = (record!.args as { value: Json }).value;
    expect(Object.hasOwn(value, '__proto__')).toBe(true);
    expect(JSON.stringify(value)).toContain('"__proto__":{"amount":900,"password":"[REDACTED]"}');
    await client.close();
  });

  it('#17.1 carries lone surrogates, CR, LF and U+2028 in an event-stream answer without breaking its framing', async () => {
    const gw = await gateway(`mcpServers:
  probe:
    command: node
    args: ["--import", "tsx", "${PROBE}"]
    cwd: ${ROOT}
`);
    const client = await connect(`${gw.mcpUrl}/probe`);
    const text = 'a\ud800b\udc00c\r\nevent: x\ndata: y\u2028z\n\n';
    // A progress token makes the answer travel on an event stream.
    const r = await client.callTool({ name: 'echo', arguments: { text } }, undefined, {
      onprogress: () => {},
    });
    expect(textOf(r)).toBe(text);
    expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'next' } }))).toBe('next');
    await client.close();
  });
});

describe('#17.1 last-resort handlers of the serving commands', () => {
  it('#17.1 warden serve logs an uncaught exception and an unhandled rejection and keeps serving', async () => {
    const dir = tempDir('warden-faults-');
    const inject = join(dir, 'inject.mjs');
    // A fault nobody catches, of each kind, once the gateway is up: as a throw in a socket's event handler would be.
    writeFileSync(
      inject,
      `setTimeout(() => { throw new Error('injected uncaught fault'); }, 1500);\n` +
        `setTimeout(() => { Promise.reject(new Error('injected unhandled rejection')); }, 1600);\n`,
    );
    const config = writeConfig(`mcpServers:
  probe:
    command: node
    args: ["--import", "tsx", "${PROBE}"]
    cwd: ${ROOT}
`);
    const serve = await serveCli(config, [], { args: ['--import', inject] });
    try {
      for (let i = 0; i < 100 && !serve.stderr().includes('injected unhandled rejection'); i++)
        await new Promise((r) => setTimeout(r, 50));
      expect(serve.stderr()).toContain('uncaught fault: logged, and the gateway keeps serving');
      expect(serve.stderr()).toContain('unhandled promise rejection: logged, and the gateway keeps serving');
      expect(serve.child.exitCode).toBeNull();
      const client = await connect(`${serve.mcpUrl}/probe`);
      expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'alive' } }))).toBe('alive');
      await client.close();
    } finally {
      expect(await serve.stop()).toBe(0);
    }
  });
});

// ---- #17.2 ----

const denied = (r: unknown) =>
  (r as { isError?: boolean }).isError === true && textOf(r).startsWith('[POLICY DENIED]');

async function limitedGateway(policy: Json, extra = ''): Promise<RunningGateway> {
  const file = join(tempDir('warden-faults-'), 'policy.json');
  writeFileSync(file, JSON.stringify(policy));
  return gateway(`mcpServers:
  probe:
    command: node
    args: ["--import", "tsx", "${PROBE}"]
    cwd: ${ROOT}
    timeout: 1
    policy: ${file}
${extra}`);
}

/** Waits until the decision entry of a call of `tool` is durable: the call is forwarded right after that. */
async function forwarded(gw: RunningGateway, tool: string, count = 1): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const records = (await adminRequest(gw, ADMIN, '/api/audit?limit=1000')).body;
    if (records.filter((r) => r.tool === tool && r.decision === 'allowed').length >= count) {
      await new Promise((r) => setTimeout(r, 100));
      return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no call of ${tool} was forwarded`);
}

/** Calls `slow` (held upstream for 30 s), waits until it reached the upstream, then cancels it from the client. */
async function callThenCancel(gw: RunningGateway, client: Client, args: Json = {}): Promise<void> {
  const abort = new AbortController();
  const call = client
    .callTool({ name: 'slow', arguments: { ms: 30_000, ...args } }, undefined, {
      signal: abort.signal,
      timeout: 60_000,
    })
    .catch((err: Error) => err);
  await forwarded(gw, 'slow');
  abort.abort('the user pressed stop');
  expect(await call).toBeInstanceOf(Error);
}

function limitsTests(state: string) {
  const extra = state === 'memory' ? '' : `state: ${state}\nstate_prefix: "${TEST_STATE_PREFIX}"\n`;

  it(`#17.2 keeps the rate-limit unit of a forwarded call its agent cancelled, and audits it forwarded then cancelled (${state === 'memory' ? 'memory' : 'Redis'})`, async () => {
    const gw = await limitedGateway(
      {
        version: '1',
        default: 'allow',
        tools: { slow: { rate_limit: { max: 1, window: 60, per: 'session' } } },
      },
      extra,
    );
    const client = await connect(`${gw.mcpUrl}/probe`);
    await callThenCancel(gw, client);
    const again = await client.callTool({ name: 'slow', arguments: { ms: 1 } });
    expect(denied(again)).toBe(true);
    expect(textOf(again)).toMatch(/Retry after/);
    // The upstream did hear of the cancel: it was running the call.
    expect(textOf(await client.callTool({ name: 'cancellations', arguments: {} }))).toBe('1');
    const records = await recordOf(gw, 'slow');
    expect(records[0]).toMatchObject({ decision: 'allowed', outcome: 'cancelled', forwarded: true });
    expect(records[1]).toMatchObject({ decision: 'rate_limited', outcome: 'not_called', forwarded: false });
    await client.close();
  });

  it(`#17.2 keeps the quota (calendar limits[]) of a forwarded call its agent cancelled (${state === 'memory' ? 'memory' : 'Redis'})`, async () => {
    const counter = `quota-${randomUUID()}`;
    const gw = await limitedGateway(
      {
        version: '1',
        default: 'allow',
        tools: { slow: { limits: [{ counter, window: 'hour', max: 1, scope: 'global' }] } },
      },
      extra,
    );
    const client = await connect(`${gw.mcpUrl}/probe`);
    await callThenCancel(gw, client);
    expect(denied(await client.callTool({ name: 'slow', arguments: { ms: 1 } }))).toBe(true);
    await client.close();
  });

  it(`#17.2 keeps the budget (increment_from) of a forwarded call its agent cancelled (${state === 'memory' ? 'memory' : 'Redis'})`, async () => {
    const counter = `budget-${randomUUID()}`;
    const gw = await limitedGateway(
      {
        version: '1',
        default: 'allow',
        tools: {
          slow: {
            limits: [{ counter, window: 'day', max: 40_000, scope: 'global', increment_from: 'args.ms' }],
          },
        },
      },
      extra,
    );
    const client = await connect(`${gw.mcpUrl}/probe`);
    await callThenCancel(gw, client); // spends 30,000 of 40,000
    const over = await client.callTool({ name: 'slow', arguments: { ms: 20_000 } });
    expect(denied(over)).toBe(true);
    expect(textOf(await client.callTool({ name: 'slow', arguments: { ms: 5 } }))).toBe('slept 5');
    await client.close();
  });

  it(`#17.2 keeps the unit of a forwarded call that timed out upstream (${state === 'memory' ? 'memory' : 'Redis'})`, async () => {
    const gw = await limitedGateway(
      {
        version: '1',
        default: 'allow',
        tools: { slow: { rate_limit: { max: 1, window: 60, per: 'session' } } },
      },
      extra,
    );
    const client = await connect(`${gw.mcpUrl}/probe`);
    // The upstream timeout is 1 s.
    await expect(client.callTool({ name: 'slow', arguments: { ms: 3000 } })).rejects.toThrow(
      /within 1000 ms/,
    );
    expect(denied(await client.callTool({ name: 'slow', arguments: { ms: 1 } }))).toBe(true);
    const records = await recordOf(gw, 'slow');
    expect(records[0]).toMatchObject({ outcome: 'timeout', forwarded: true });
    await client.close();
  });
}

describe('#17.2 units of a forwarded call stay spent (memory state)', () => {
  limitsTests('memory');

  it('#17.2 keeps the unit of a call whose upstream died while running it (disconnect, restart)', async () => {
    const gw = await limitedGateway({
      version: '1',
      default: 'allow',
      tools: { crash: { rate_limit: { max: 1, window: 60, per: 'session' } } },
    });
    const client = await connect(`${gw.mcpUrl}/probe`);
    await expect(client.callTool({ name: 'crash', arguments: {} })).rejects.toThrow(/closed/);
    // Restarted with backoff: the next call is refused by its limit, not by the upstream.
    const again = await client.callTool({ name: 'crash', arguments: {} });
    expect(denied(again)).toBe(true);
    const records = await recordOf(gw, 'crash');
    expect(records[0]).toMatchObject({ outcome: 'error', forwarded: true });
    await client.close();
  });

  it('#17.2 keeps the unit of a call the upstream answered with an error it produced after running (refused deep answer)', async () => {
    const file = join(tempDir('warden-faults-'), 'policy.json');
    writeFileSync(
      file,
      JSON.stringify({
        version: '1',
        default: 'allow',
        tools: { deep: { rate_limit: { max: 1, window: 60, per: 'session' } } },
      }),
    );
    const gw = await gateway(`mcpServers:${deepStdio}    policy: ${file}\n`);
    const client = await connect(`${gw.mcpUrl}/deep`);
    await expect(client.callTool({ name: 'deep', arguments: { levels: 5000 } })).rejects.toThrow(/nested/);
    expect(denied(await client.callTool({ name: 'deep', arguments: { levels: 1 } }))).toBe(true);
    await client.close();
  });

  it('#17.2 gives the unit back when the call never reached the upstream (HTTP upstream refusing connections)', async () => {
    const probe = await startHttpProbe();
    children.push(probe.child);
    const file = join(tempDir('warden-faults-'), 'policy.json');
    writeFileSync(
      file,
      JSON.stringify({
        version: '1',
        default: 'allow',
        tools: { echo: { rate_limit: { max: 1, window: 60, per: 'session' } } },
      }),
    );
    const gw = await gateway(`mcpServers:\n  web:\n    url: ${probe.url}\n    policy: ${file}\n`);
    const client = await connect(`${gw.mcpUrl}/web`);
    // The catalog is fetched while the upstream is up, then the upstream goes away: connections are refused.
    expect((await client.listTools()).tools.length).toBeGreaterThan(0);
    probe.child.kill();
    await new Promise((r) => probe.child.once('exit', r));
    for (let i = 0; i < 3; i++) {
      const err = await client.callTool({ name: 'echo', arguments: { text: 'x' } }).catch((e: Error) => e);
      // Each time the upstream's failure, never the limit: the unit was given back.
      expect(err).toBeInstanceOf(Error);
      expect(String(err)).toMatch(/ECONNREFUSED/);
    }
    const records = await recordOf(gw, 'echo');
    expect(records.every((r) => r.forwarded === false && r.outcome === 'error')).toBe(true);
    await client.close();
  });
});

describe.runIf(await shouldRunRedis('#17.2 Redis counters'))(
  '#17.2 units of a forwarded call stay spent (Redis state)',
  () => {
    limitsTests(redisUrl());
  },
);
