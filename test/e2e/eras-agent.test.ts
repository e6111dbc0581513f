// Both eras facing agents (#18 part 1): the real SDK v1 client (2025) and v2 client (2026 pinned, auto) through
// warden, on /mcp/<id> and /mcp, in front of a 2025 stdio upstream and a 2025 HTTP upstream; and warden stdio in 2026.
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client as ClientV2, StreamableHTTPClientTransport as HttpV2 } from '@modelcontextprotocol/client';
import { StdioClientTransport as StdioV2 } from '@modelcontextprotocol/client/stdio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CLI,
  connect,
  PROBE,
  ROOT,
  type RunningGateway,
  startGateway,
  startHttpProbe,
  tempDir,
  textOf,
} from '../helpers/gateway.js';

const ERA_2026 = '2026-07-28';

let gw: RunningGateway;
let http: { url: string; child: ChildProcess };
let policyFile: string;

const POLICY = {
  version: '1',
  default: 'allow',
  tools: {
    crash: { action: 'deny', reason: 'crash is denied by policy' },
    pid: { rate_limit: { max: 2, window: 60, per: 'session' } },
  },
};

beforeAll(async () => {
  http = await startHttpProbe(0, { PROBE_LIST_GROW: '1' });
  policyFile = join(tempDir('warden-eras-'), 'policy.json');
  writeFileSync(policyFile, JSON.stringify(POLICY));
  gw = await startGateway(`
mcpServers:
  probe:
    command: node
    args: ["--import", "tsx", "${PROBE}"]
    cwd: ${ROOT}
    policy: ${policyFile}
  remote:
    url: ${http.url}
    policy: ${policyFile}
  growing:
    command: node
    args: ["--import", "tsx", "${PROBE}"]
    cwd: ${ROOT}
    env: { PROBE_LIST_GROW: "1" }
  broken:
    command: /nonexistent/warden-test-binary
`);
}, 60_000);

afterAll(async () => {
  await gw?.close();
  http?.child.kill();
});

async function modern(url: string, mode: 'auto' | { pin: string } = { pin: ERA_2026 }): Promise<ClientV2> {
  const client = new ClientV2(
    { name: 'eras-test', version: '1.0.0' },
    { capabilities: {}, versionNegotiation: { mode } },
  );
  await client.connect(new HttpV2(new URL(url)));
  return client;
}

/** One raw 2026 POST: headers as given, body as given. */
async function post(url: string, body: unknown, headers: Record<string, string>): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...headers,
    },
    body: JSON.stringify(body),
  });
}

function call(name: string, args: Record<string, unknown>, version = ERA_2026) {
  return {
    jsonrpc: '2.0',
    id: 7,
    method: 'tools/call',
    params: {
      name,
      arguments: args,
      _meta: {
        'io.modelcontextprotocol/protocolVersion': version,
        'io.modelcontextprotocol/clientCapabilities': {},
        'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' },
      },
    },
  };
}

for (const target of ['probe', 'remote', 'aggregated'] as const) {
  const path = () => (target === 'aggregated' ? gw.mcpUrl : `${gw.mcpUrl}/${target}`);
  const tool = (name: string) => (target === 'aggregated' ? `probe__${name}` : name);

  describe(`#18.1 2026 client on ${target === 'aggregated' ? '/mcp' : `/mcp/${target}`}`, () => {
    it('#18.1 connects pinned to 2026, lists, calls, is denied by policy, gets progress', async () => {
      const client = await modern(path());
      try {
        expect(client.getProtocolEra()).toBe('modern');
        const listed = await client.listTools();
        const names = listed.tools.map((t) => t.name);
        expect(names).toContain(tool('echo'));
        expect(textOf(await client.callTool({ name: tool('echo'), arguments: { text: 'hi 2026' } }))).toBe(
          'hi 2026',
        );
        // The same pipeline decides: the policy denial is the 2025 one, an isError result naming the reason.
        const denied = await client.callTool({ name: tool('crash'), arguments: {} });
        expect(denied.isError).toBe(true);
        expect(textOf(denied)).toContain('crash is denied by policy');
        const steps: number[] = [];
        const done = await client.callTool(
          { name: tool('progress'), arguments: { steps: 3 } },
          { onprogress: (p) => steps.push(p.progress) },
        );
        expect(textOf(done)).toBe('done 3');
        expect(steps).toEqual([1, 2, 3]);
      } finally {
        await client.close();
      }
    }, 30_000);

    it('#18.1 auto client is not downgraded', async () => {
      const client = await modern(path(), 'auto');
      try {
        expect(client.getProtocolEra()).toBe('modern');
        expect(client.getNegotiatedProtocolVersion()).toBe(ERA_2026);
        expect((await client.listTools()).tools.length).toBeGreaterThan(0);
      } finally {
        await client.close();
      }
    }, 30_000);
  });
}

describe('#18.1 2026 wire checks', () => {
  const url = () => `${gw.mcpUrl}/probe`;
  const good = { 'mcp-protocol-version': ERA_2026, 'mcp-method': 'tools/call', 'mcp-name': 'echo' };

  it('#18.1.1 a raw request with matching headers runs and has resultType', async () => {
    const res = await post(url(), call('echo', { text: 'x' }), good);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { result: Record<string, unknown> };
    expect(body.result.resultType).toBe('complete');
  });

  it('#18.1.2 Mcp-Name that differs from params.name is refused with -32020', async () => {
    const res = await post(url(), call('echo', { text: 'x' }), { ...good, 'mcp-name': 'pid' });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: number } }).error.code).toBe(-32020);
  });

  it('#18.1.3 Mcp-Method that differs from the body is refused with -32020', async () => {
    const res = await post(url(), call('echo', { text: 'x' }), { ...good, 'mcp-method': 'tools/list' });
    expect(((await res.json()) as { error: { code: number } }).error.code).toBe(-32020);
  });

  it('#18.1.4 a missing Mcp-Name is refused with -32020', async () => {
    const { 'mcp-name': _, ...rest } = good;
    const res = await post(url(), call('echo', { text: 'x' }), rest);
    expect(((await res.json()) as { error: { code: number } }).error.code).toBe(-32020);
  });

  it('#18.1.5 the Base64 sentinel form of Mcp-Name is decoded before the comparison', async () => {
    const encoded = `=?base64?${Buffer.from('echo').toString('base64')}?=`;
    const ok = await post(url(), call('echo', { text: 'x' }), { ...good, 'mcp-name': encoded });
    expect(ok.status).toBe(200);
    const other = `=?base64?${Buffer.from('crash').toString('base64')}?=`;
    const bad = await post(url(), call('echo', { text: 'x' }), { ...good, 'mcp-name': other });
    expect(((await bad.json()) as { error: { code: number } }).error.code).toBe(-32020);
  });

  it('#18.1.6 an unsupported version gets -32022 with the supported list', async () => {
    const res = await post(url(), call('echo', { text: 'x' }, '2099-01-01'), {
      ...good,
      'mcp-protocol-version': '2099-01-01',
    });
    const body = (await res.json()) as { error: { code: number; data: { supported: string[] } } };
    expect(body.error.code).toBe(-32022);
    expect(body.error.data.supported).toContain(ERA_2026);
  });

  it('#18.1.13 a policy denial carries resultType too', async () => {
    const res = await post(url(), call('crash', {}), { ...good, 'mcp-name': 'crash' });
    const body = (await res.json()) as { result: Record<string, unknown> };
    expect(body.result.isError).toBe(true);
    expect(body.result.resultType).toBe('complete');
  });

  it('#18.1.14 the 2026 version header without the envelope in the body is refused', async () => {
    const bare = {
      jsonrpc: '2.0',
      id: 3,
      method: 'tools/call',
      params: { name: 'echo', arguments: { text: 'x' } },
    };
    const res = await post(url(), bare, good);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: number } }).error.code).toBe(-32602);
  });

  it('#18.8.1 a request whose _meta has no client capabilities is refused: HTTP 400, -32602 (conformance sep-2575)', async () => {
    const body = call('echo', { text: 'x' });
    delete (body.params._meta as Record<string, unknown>)['io.modelcontextprotocol/clientCapabilities'];
    const res = await post(url(), body, good);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: number } }).error.code).toBe(-32602);
  });

  it('#18.8.2 a header version that differs from the body version is a header mismatch first (-32020), whatever the body says', async () => {
    const res = await post(url(), call('echo', { text: 'x' }, 'v999.0.0'), good);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: number } }).error.code).toBe(-32020);
  });

  it('#18.8.3 methods 2026-07-28 removed, and unknown ones, are not found: HTTP 404, -32601', async () => {
    for (const method of [
      'initialize',
      'ping',
      'logging/setLevel',
      'resources/subscribe',
      'no/such/method',
    ]) {
      const body = { ...call('echo', {}), method, params: { ...call('echo', {}).params } };
      delete (body.params as Record<string, unknown>).name;
      delete (body.params as Record<string, unknown>).arguments;
      const res = await post(url(), body, { 'mcp-protocol-version': ERA_2026, 'mcp-method': method });
      expect({ method, status: res.status }).toEqual({ method, status: 404 });
      expect(((await res.json()) as { error: { code: number } }).error.code).toBe(-32601);
    }
  });

  it("#18.1.15 server/discover answers with the upstream's own capabilities and server info", async () => {
    const res = await post(
      url(),
      {
        jsonrpc: '2.0',
        id: 4,
        method: 'server/discover',
        params: {
          _meta: {
            'io.modelcontextprotocol/protocolVersion': ERA_2026,
            'io.modelcontextprotocol/clientCapabilities': {},
          },
        },
      },
      { 'mcp-protocol-version': ERA_2026, 'mcp-method': 'server/discover' },
    );
    const body = (await res.json()) as { result: Record<string, any> };
    expect(body.result.supportedVersions).toEqual([ERA_2026]);
    expect(body.result._meta['io.modelcontextprotocol/serverInfo'].name).toBe('probe');
    expect(body.result.capabilities.tools).toBeDefined();
  });

  it('#18.1.20 an upstream that cannot start gets each 2026 request an error answer, never a hang', async () => {
    const broken = `${gw.mcpUrl}/broken`;
    for (let i = 0; i < 2; i++) {
      const res = await post(broken, call('echo', { text: 'x' }), good);
      const body = (await res.json()) as { error?: { code: number; message: string } };
      expect(body.error?.message).toMatch(/could be started|broken/i);
    }
  }, 30_000);

  it('#18.1.7 lists carry ttlMs and cacheScope; /mcp lists are private', async () => {
    const list = (u: string) =>
      post(
        u,
        {
          jsonrpc: '2.0',
          id: 1,
          method: 'tools/list',
          params: {
            _meta: {
              'io.modelcontextprotocol/protocolVersion': ERA_2026,
              'io.modelcontextprotocol/clientCapabilities': {},
            },
          },
        },
        { 'mcp-protocol-version': ERA_2026, 'mcp-method': 'tools/list' },
      ).then((r) => r.json() as Promise<{ result: Record<string, unknown> }>);
    const one = await list(url());
    expect(one.result.resultType).toBe('complete');
    expect(one.result.ttlMs).toBe(0);
    expect(['public', 'private']).toContain(one.result.cacheScope);
    const all = await list(gw.mcpUrl);
    expect(all.result.cacheScope).toBe('private');
  });

  it('#18.1.8 a 2025 client on the same endpoint is unchanged', async () => {
    const client = await connect(url());
    try {
      const result = await client.callTool({ name: 'echo', arguments: { text: 'old' } });
      expect(textOf(result)).toBe('old');
      expect((result as Record<string, unknown>).resultType).toBeUndefined();
    } finally {
      await client.close();
    }
  });
});

describe('#18.1 listen', () => {
  const cases = [
    ['#18.1.9', 'a 2025 stdio upstream', 'growing', 'grow'],
    ['#18.1.10', 'a 2025 HTTP upstream (its GET stream)', 'remote', 'grow'],
    ['#18.1.11', 'an upstream behind /mcp', '', 'growing__grow'],
  ] as const;
  for (const [n, what, server, tool] of cases) {
    it(`${n} subscriptions/listen hears tools/list_changed from ${what}`, async () => {
      const client = await modern(server === '' ? gw.mcpUrl : `${gw.mcpUrl}/${server}`);
      try {
        let changed = 0;
        client.setNotificationHandler('notifications/tools/list_changed', async () => {
          changed++;
        });
        const sub = await client.listen({ toolsListChanged: true });
        // The GET stream of an HTTP upstream opens after its initialize: give it a moment.
        await new Promise((r) => setTimeout(r, 300));
        await client.callTool({ name: tool, arguments: {} });
        for (let i = 0; i < 100 && changed === 0; i++) await new Promise((r) => setTimeout(r, 50));
        expect(changed).toBeGreaterThan(0);
        await sub.close();
      } finally {
        await client.close();
      }
    }, 30_000);
  }
});

describe('#18.1 listen, filtered and fed by policy reloads', () => {
  it('#18.1.16 a listen stream that did not ask for tool changes hears none of them', async () => {
    const client = await modern(`${gw.mcpUrl}/growing`);
    try {
      let changed = 0;
      client.setNotificationHandler('notifications/tools/list_changed', async () => {
        changed++;
      });
      const sub = await client.listen({ promptsListChanged: true });
      await client.callTool({ name: 'grow', arguments: {} });
      // The probe sends list_changed before it answers: had it reached the client, it would be here by now.
      await new Promise((r) => setTimeout(r, 300));
      expect(changed).toBe(0);
      await sub.close();
    } finally {
      await client.close();
    }
  }, 30_000);

  it('#18.1.17 a policy reload that changes what is visible reaches listen streams', async () => {
    const client = await modern(`${gw.mcpUrl}/probe`);
    try {
      let changed = 0;
      client.setNotificationHandler('notifications/tools/list_changed', async () => {
        changed++;
      });
      const sub = await client.listen({ toolsListChanged: true });
      expect((await client.listTools()).tools.map((t) => t.name)).toContain('pid');
      writeFileSync(policyFile, JSON.stringify({ ...POLICY, hide: ['pid'] }));
      try {
        for (let i = 0; i < 200 && changed === 0; i++) await new Promise((r) => setTimeout(r, 50));
        expect(changed).toBeGreaterThan(0);
        expect((await client.listTools()).tools.map((t) => t.name)).not.toContain('pid');
      } finally {
        writeFileSync(policyFile, JSON.stringify(POLICY));
        // The reload is asynchronous: the next test must not start before pid is visible again (with a pooled
        // upstream, #18.5, its first call comes within milliseconds, before a watcher would have reloaded).
        for (let i = 0; i < 200; i++) {
          if ((await client.listTools()).tools.some((t) => t.name === 'pid')) break;
          await new Promise((r) => setTimeout(r, 50));
        }
      }
      await sub.close();
    } finally {
      await client.close();
    }
  }, 30_000);
});

describe('#18.1 session-scoped limits for 2026 traffic', () => {
  it('#18.1.19 a per-session limit counts per caller, not per self-declared clientInfo', async () => {
    const named = async (name: string) => {
      const client = new ClientV2(
        { name, version: '1.0.0' },
        { capabilities: {}, versionNegotiation: { mode: { pin: ERA_2026 } } },
      );
      await client.connect(new HttpV2(new URL(`${gw.mcpUrl}/probe`)));
      return client;
    };
    const a = await named('agent-a');
    const b = await named('agent-b-renamed');
    const old = await connect(`${gw.mcpUrl}/probe`);
    try {
      expect((await a.callTool({ name: 'pid', arguments: {} })).isError).toBeFalsy();
      expect((await a.callTool({ name: 'pid', arguments: {} })).isError).toBeFalsy();
      // Another 2026 client of the same (anonymous) caller: a new clientInfo does not reset the count.
      expect((await b.callTool({ name: 'pid', arguments: {} })).isError).toBe(true);
      // A 2025 session is a session of its own, as before.
      expect((await old.callTool({ name: 'pid', arguments: {} })).isError).toBeFalsy();
    } finally {
      await Promise.all([a.close(), b.close(), old.close()]);
    }
  }, 30_000);
});

describe('#18.1 warden stdio in 2026', () => {
  it('#18.1.12 a pinned 2026 client over warden stdio lists and calls', async () => {
    const dir = tempDir('warden-eras-stdio-');
    const file = join(dir, 'warden.yaml');
    writeFileSync(
      file,
      `mcpServers:\n  probe:\n    command: node\n    args: ["--import", "tsx", "${PROBE}"]\n    cwd: ${ROOT}\n    policy: ${policyFile}\nauth: { anonymous: true }\n`,
    );
    const client = new ClientV2(
      { name: 'eras-stdio', version: '1.0.0' },
      { capabilities: {}, versionNegotiation: { mode: { pin: ERA_2026 } } },
    );
    await client.connect(
      new StdioV2({ command: process.execPath, args: [CLI, 'stdio', '--config', file, '--server', 'probe'] }),
    );
    try {
      expect(client.getProtocolEra()).toBe('modern');
      expect((await client.listTools()).tools.map((t) => t.name)).toContain('echo');
      expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'stdio 2026' } }))).toBe(
        'stdio 2026',
      );
    } finally {
      await client.close();
    }
  }, 60_000);

  it('#18.1.18 warden stdio answers an unsupported 2026-era version with -32022 and shapes results', async () => {
    const dir = tempDir('warden-eras-stdio-raw-');
    const file = join(dir, 'warden.yaml');
    writeFileSync(
      file,
      `mcpServers:\n  probe:\n    command: node\n    args: ["--import", "tsx", "${PROBE}"]\n    cwd: ${ROOT}\nauth: { anonymous: true }\n`,
    );
    const child = spawn(process.execPath, [CLI, 'stdio', '--config', file, '--server', 'probe'], {
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    try {
      const answers = new Map<number, Record<string, any>>();
      let buffer = '';
      child.stdout!.setEncoding('utf8');
      child.stdout!.on('data', (chunk: string) => {
        buffer += chunk;
        for (let nl = buffer.indexOf('\n'); nl !== -1; nl = buffer.indexOf('\n')) {
          const m = JSON.parse(buffer.slice(0, nl)) as Record<string, any>;
          buffer = buffer.slice(nl + 1);
          if (typeof m.id === 'number') answers.set(m.id, m);
        }
      });
      const meta = (v: string) => ({ 'io.modelcontextprotocol/protocolVersion': v });
      const send = (m: unknown) => child.stdin!.write(`${JSON.stringify(m)}\n`);
      send({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: meta('2099-01-01') } });
      send({ jsonrpc: '2.0', id: 2, method: 'tools/list', params: { _meta: meta(ERA_2026) } });
      for (let i = 0; i < 400 && answers.size < 2; i++) await new Promise((r) => setTimeout(r, 50));
      expect(answers.get(1)?.error.code).toBe(-32022);
      expect(answers.get(1)?.error.data.supported).toEqual([ERA_2026]);
      expect(answers.get(2)?.result.resultType).toBe('complete');
      expect(answers.get(2)?.result.cacheScope).toBe('private');
      expect(answers.get(2)?.result.ttlMs).toBe(0);
    } finally {
      child.kill();
    }
  }, 60_000);
});
