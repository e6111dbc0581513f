// Forwarding details against the probe fixture: cancellation, paging, restarts, timeouts, headers, failed upstreams.
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  connect,
  PROBE,
  ROOT,
  type RunningGateway,
  startGateway,
  startHttpProbe,
  textOf,
} from '../helpers/gateway.js';

const probe = (extra = '') => `command: node
    args: ["--import", "tsx", "${PROBE}"${extra}]
    cwd: ${ROOT}`;

/** Stops an HTTP probe and starts another on its port: an upstream that restarts and forgets its sessions. */
async function restartHttpProbe(
  first: { url: string; child: ChildProcess },
  args: string[] = [],
): Promise<{ url: string; child: ChildProcess }> {
  await new Promise((r) => {
    first.child.once('exit', r);
    first.child.kill();
  });
  return startHttpProbe(Number(new URL(first.url).port), {}, args);
}

describe('forwarding through the probe fixture', () => {
  let gw: RunningGateway;
  let http: { url: string; child: ChildProcess };

  beforeAll(async () => {
    http = await startHttpProbe();
    gw = await startGateway(`
mcpServers:
  probe:
    ${probe()}
    timeout: 1.5
  paged:
    ${probe(', "--tools", "25", "--page", "10"')}
  remote:
    url: ${http.url}
    headers: { Authorization: "Bearer upstream-secret", X-From-Config: "yes" }
  broken:
    command: /nonexistent/warden-test-binary
`);
  });

  afterAll(async () => {
    await gw?.close();
    http?.child.kill();
  });

  it('tells the upstream when the agent cancels, and the upstream stops', async () => {
    const client = await connect(`${gw.mcpUrl}/probe`);
    const abort = new AbortController();
    const call = client.callTool({ name: 'slow', arguments: { ms: 1000 } }, undefined, {
      signal: abort.signal,
    });
    setTimeout(() => abort.abort(), 100);
    await expect(call).rejects.toThrow();
    await new Promise((r) => setTimeout(r, 100));
    const count = await client.callTool({ name: 'cancellations', arguments: {} });
    expect(textOf(count)).toBe('1');
    await client.close();
  });

  it('times out an upstream call that takes too long with a JSON-RPC error', async () => {
    const client = await connect(`${gw.mcpUrl}/probe`);
    await expect(client.callTool({ name: 'slow', arguments: { ms: 5000 } })).rejects.toThrow(
      /did not answer tools\/call within 1500 ms/,
    );
    const echo = await client.callTool({ name: 'echo', arguments: { text: 'after timeout' } });
    expect(textOf(echo)).toBe('after timeout');
    await client.close();
  });

  it('passes pagination cursors through on a per-server endpoint', async () => {
    const client = await connect(`${gw.mcpUrl}/paged`);
    const first = await client.listTools();
    expect(first.tools).toHaveLength(10);
    expect(first.nextCursor).toBe('10');
    const second = await client.listTools({ cursor: first.nextCursor });
    expect(second.tools[0]?.name).toBe('tool_0003');
    await client.close();
  });

  it('pages the aggregated list so that every tool of every server appears exactly once', async () => {
    const client = await connect(gw.mcpUrl);
    const names: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await client.listTools(cursor === undefined ? {} : { cursor });
      names.push(...page.tools.map((t) => t.name));
      cursor = page.nextCursor;
      pages++;
    } while (cursor !== undefined && pages < 20);
    const paged = names.filter((n) => n.startsWith('paged__'));
    expect(paged).toHaveLength(32);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toContain('probe__echo');
    expect(names).toContain('remote__echo');
    expect(pages).toBe(4);
    await expect(client.listTools({ cursor: 'not-a-cursor' })).rejects.toThrow(/Invalid cursor/);
    await client.close();
  });

  it('adds configured headers upstream and never forwards the agent credentials', async () => {
    const client = await connect(`${gw.mcpUrl}/remote`, {}, { Cookie: 'sid=agent' });
    const seen = JSON.parse(textOf(await client.callTool({ name: 'headers', arguments: {} }))) as Record<
      string,
      string
    >;
    // The upstream got the configured header (it echoes it); the agent sees it masked, as any upstream credential
    // an upstream sends back (src/guards/credentials.ts): only the exact configured value is masked like this.
    expect(seen.authorization).toBe('[REDACTED]');
    expect(seen['x-from-config']).toBe('yes');
    expect(seen.cookie).toBeUndefined();
    expect(JSON.stringify(seen)).not.toContain('sid=agent');
    await client.close();
  });

  it('ends its upstream HTTP session (DELETE) when the agent ends its own', async () => {
    const open = async () =>
      ((await (await fetch(new URL('/sessions', http.url))).json()) as { open: number }).open;
    const before = await open();
    const client = await connect(`${gw.mcpUrl}/remote`);
    expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'x' } }))).toBe('x');
    expect(await open()).toBe(before + 1);
    await (client.transport as StreamableHTTPClientTransport).terminateSession();
    await client.close();
    await expect.poll(open, { timeout: 5000 }).toBe(before);
  });

  it('relays tools/list_changed from an upstream, with the new tool prefixed on /mcp', async () => {
    const client = await connect(gw.mcpUrl);
    let changed = 0;
    client.setNotificationHandler(ToolListChangedNotificationSchema, async () => {
      changed++;
    });
    const grown = textOf(await client.callTool({ name: 'probe__grow', arguments: {} }));
    await expect.poll(() => changed).toBe(1);
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toContain(`probe__${grown}`);
    await client.close();
  });

  it('restarts a stdio upstream that crashed mid-call; the next call works', async () => {
    const client = await connect(`${gw.mcpUrl}/probe`);
    const before = textOf(await client.callTool({ name: 'pid', arguments: {} }));
    await expect(client.callTool({ name: 'crash', arguments: {} })).rejects.toThrow(/closed/);
    const after = textOf(await client.callTool({ name: 'pid', arguments: {} }));
    expect(after).toMatch(/^\d+$/);
    expect(after).not.toBe(before);
    await client.close();
  });

  it('keeps serving the other upstreams when one cannot start, and says why', async () => {
    const client = await connect(gw.mcpUrl);
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toContain('probe__echo');
    expect(names.some((n) => n.startsWith('broken__'))).toBe(false);
    await expect(client.callTool({ name: 'broken__anything', arguments: {} })).rejects.toThrow(
      /cannot start \/nonexistent\/warden-test-binary/,
    );
    await client.close();
    await expect(connect(`${gw.mcpUrl}/broken`)).rejects.toThrow(
      /No upstream server could be started.*ENOENT/,
    );
  });

  it('opens a new upstream session when an HTTP upstream restarts and forgets ours', async () => {
    const first = await startHttpProbe();
    const own = await startGateway(`mcpServers:\n  remote:\n    url: ${first.url}\n`);
    const client = await connect(`${own.mcpUrl}/remote`);
    try {
      const before = textOf(await client.callTool({ name: 'pid', arguments: {} }));
      const second = await restartHttpProbe(first);
      try {
        const after = textOf(await client.callTool({ name: 'pid', arguments: {} }));
        expect(after).not.toBe(before);
        expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'same session' } }))).toBe(
          'same session',
        );
      } finally {
        second.child.kill();
      }
    } finally {
      await client.close();
      await own.close();
    }
  });

  it('relays the list_changed an HTTP upstream sends on its GET stream, and asks for the list again after it', async () => {
    const up = await startHttpProbe(0, { PROBE_LIST_GROW: '1' });
    const own = await startGateway(`mcpServers:\n  remote:\n    url: ${up.url}\n`);
    const client = await connect(`${own.mcpUrl}/remote`);
    try {
      let changed = 0;
      client.setNotificationHandler(ToolListChangedNotificationSchema, async () => {
        changed++;
      });
      const listings = async () => Number(textOf(await client.callTool({ name: 'listings', arguments: {} })));
      // The GET stream opens after notifications/initialized; a list is kept only once it is open.
      await new Promise((r) => setTimeout(r, 200));
      const first = (await client.listTools()).tools.map((t) => t.name);
      const asked = await listings();
      // The probe declares tools.listChanged: the gateway answers from the list it keeps.
      expect((await client.listTools()).tools.map((t) => t.name)).toEqual(first);
      expect(await listings()).toBe(asked);
      const added = textOf(await client.callTool({ name: 'grow', arguments: {} }));
      await expect.poll(() => changed, { timeout: 5000 }).toBe(1);
      expect((await client.listTools()).tools.map((t) => t.name)).toEqual([...first, added]);
      expect(await listings()).toBe(asked + 1);
    } finally {
      await client.close();
      await own.close();
      up.child.kill();
    }
  });

  it('asks an HTTP upstream with no GET stream for every list, though it declares listChanged', async () => {
    // Stateless servers have no GET stream: their announcements cannot reach the gateway, so their promise is empty.
    const up = await startHttpProbe(0, { PROBE_LIST_GROW: '1', PROBE_NO_GET: '1' });
    const own = await startGateway(`mcpServers:\n  remote:\n    url: ${up.url}\n`);
    const client = await connect(`${own.mcpUrl}/remote`);
    try {
      const listings = async () => Number(textOf(await client.callTool({ name: 'listings', arguments: {} })));
      await client.listTools();
      await new Promise((r) => setTimeout(r, 200));
      const asked = await listings();
      await client.listTools();
      await client.listTools();
      expect(await listings()).toBe(asked + 2);
      const added = textOf(await client.callTool({ name: 'grow', arguments: {} }));
      expect((await client.listTools()).tools.map((t) => t.name)).toContain(added);
    } finally {
      await client.close();
      await own.close();
      up.child.kill();
    }
  });

  it('shows the tools of an HTTP upstream that restarted with other tools, not the list kept from before', async () => {
    const first = await startHttpProbe();
    const own = await startGateway(`mcpServers:\n  remote:\n    url: ${first.url}\n`);
    const client = await connect(`${own.mcpUrl}/remote`);
    try {
      const names = async () => (await client.listTools()).tools.map((t) => t.name);
      const before = await names();
      await new Promise((r) => setTimeout(r, 200));
      expect(await names()).toEqual(before); // kept: the GET stream is open
      const second = await restartHttpProbe(first, ['--tools', '2']);
      try {
        expect(await names()).toEqual([...before, 'tool_0000', 'tool_0001']);
      } finally {
        second.child.kill();
      }
    } finally {
      await client.close();
      await own.close();
    }
  });

  it('keeps serving an HTTP upstream that answers notifications/initialized with an error status', async () => {
    // A failed notification is logged; before, its rejection went unhandled and ended the gateway's process.
    const seen: string[] = [];
    const up = createServer((req, res) => {
      let text = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => {
        text += c;
      });
      req.on('end', () => {
        if (req.method !== 'POST') {
          res.writeHead(405).end();
          return;
        }
        const m = JSON.parse(text) as { id?: number; method: string };
        seen.push(m.method);
        if (m.method === 'notifications/initialized') {
          res.writeHead(503).end('starting up');
          return;
        }
        const result =
          m.method === 'initialize'
            ? {
                protocolVersion: '2025-06-18',
                capabilities: { tools: {} },
                serverInfo: { name: 'moody', version: '1' },
              }
            : { content: [{ type: 'text', text: 'still here' }] };
        res.writeHead(200, { 'content-type': 'application/json', 'mcp-session-id': 'm1' });
        res.end(JSON.stringify({ jsonrpc: '2.0', id: m.id, result }));
      });
    });
    await new Promise<void>((resolve) => up.listen(0, '127.0.0.1', resolve));
    const own = await startGateway(
      `mcpServers:\n  moody:\n    url: http://127.0.0.1:${(up.address() as AddressInfo).port}/mcp\n`,
    );
    try {
      const client = await connect(`${own.mcpUrl}/moody`);
      await expect.poll(() => seen.includes('notifications/initialized')).toBe(true);
      await new Promise((r) => setTimeout(r, 50));
      expect(textOf(await client.callTool({ name: 'any', arguments: {} }))).toBe('still here');
      await client.close();
    } finally {
      await own.close();
      up.close();
    }
  });

  it('refuses sessions beyond http.maxSessions with 503, and accepts again when one closes', async () => {
    const own = await startGateway(`mcpServers:\n  probe:\n    ${probe()}\nhttp: { maxSessions: 1 }\n`);
    try {
      const first = await connect(`${own.mcpUrl}/probe`);
      await expect(connect(`${own.mcpUrl}/probe`)).rejects.toThrow(/Too many sessions/);
      await (first.transport as unknown as { terminateSession(): Promise<void> }).terminateSession();
      await first.close();
      const again = await connect(`${own.mcpUrl}/probe`);
      expect(textOf(await again.callTool({ name: 'echo', arguments: { text: 'room' } }))).toBe('room');
      await again.close();
    } finally {
      await own.close();
    }
  });
});
