// The upstream Streamable HTTP transport against the SDK's own server transport (SSE and JSON answers, the GET stream,
// DELETE) and against plain node:http servers that misbehave on purpose (redirects, broken streams, reset sockets).
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server as McpServer } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpStatusError, StreamableHttpClient } from '../../src/transport/http-client.js';
import type { JsonRpcMessage } from '../../src/transport/jsonrpc.js';

const servers: Server[] = [];
const clients: StreamableHttpClient[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(
    servers.splice(0).map(
      (s) =>
        new Promise<void>((resolve) => {
          s.closeAllConnections();
          s.close(() => resolve());
        }),
    ),
  );
});

async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`;
}

/** A client that collects what it is sent. */
function client(url: string, headers: Record<string, string> = {}) {
  const c = new StreamableHttpClient(url, headers);
  clients.push(c);
  const messages: JsonRpcMessage[] = [];
  const errors: string[] = [];
  c.onmessage = (m) => messages.push(m);
  c.onerror = (e) => errors.push(e.message);
  return { c, messages, errors };
}

async function until(check: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

function body(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
  });
}

const INIT = {
  jsonrpc: '2.0' as const,
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } },
};

/** The SDK's server transport, one MCP server per session, with a tool that announces a list change. */
async function sdkServer(json: boolean) {
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  const mcp: McpServer[] = [];
  const closed: string[] = [];
  const url = await listen(async (req, res) => {
    const sid = req.headers['mcp-session-id'];
    let transport = typeof sid === 'string' ? sessions.get(sid) : undefined;
    if (transport === undefined) {
      if (req.method !== 'POST' || sid !== undefined) {
        res.writeHead(404).end();
        return;
      }
      const t: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        enableJsonResponse: json,
        onsessioninitialized: (id) => {
          sessions.set(id, t);
        },
        onsessionclosed: (id) => {
          sessions.delete(id);
          closed.push(id);
        },
      });
      const server = new McpServer(
        { name: 'sdk', version: '1' },
        { capabilities: { tools: { listChanged: true } } },
      );
      server.setRequestHandler(ListToolsRequestSchema, async () => ({
        tools: [{ name: 'announce', inputSchema: { type: 'object' } }],
      }));
      server.setRequestHandler(CallToolRequestSchema, async () => {
        await server.sendToolListChanged();
        return { content: [{ type: 'text', text: 'announced' }] };
      });
      await server.connect(t);
      mcp.push(server);
      transport = t;
    }
    await transport?.handleRequest(req, res);
  });
  return { url, sessions, closed, mcp };
}

describe('StreamableHttpClient against the SDK server transport', () => {
  for (const json of [false, true]) {
    it(`initializes, calls, hears list_changed on its GET stream and ends with DELETE (${json ? 'JSON' : 'SSE'} answers)`, async () => {
      const srv = await sdkServer(json);
      const { c, messages, errors } = client(srv.url);
      await c.start();
      await c.send(INIT);
      await until(() => messages.some((m) => 'id' in m && m.id === 1));
      const init = messages.find((m) => 'id' in m && m.id === 1) as unknown as {
        result: { protocolVersion: string };
      };
      expect(init.result.protocolVersion).toBe('2025-06-18');
      c.setProtocolVersion(init.result.protocolVersion);
      await c.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
      await c.send({ jsonrpc: '2.0', id: 2, method: 'tools/list' });
      await until(() => messages.some((m) => 'id' in m && m.id === 2));
      // The announcement is not related to a request: the server sends it on the GET stream, once that is open.
      await until(() => srv.mcp[0] !== undefined && srv.sessions.size === 1);
      await new Promise((r) => setTimeout(r, 100));
      await c.send({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'announce' } });
      await until(() =>
        messages.some((m) => 'method' in m && m.method === 'notifications/tools/list_changed'),
      );
      await until(() => messages.some((m) => 'id' in m && m.id === 3));
      await c.terminate();
      expect(srv.closed).toHaveLength(1);
      expect(srv.sessions.size).toBe(0);
      expect(errors).toEqual([]);
    });
  }

  it('rejects with status 404 once the server has forgotten the session', async () => {
    const srv = await sdkServer(true);
    const { c, messages } = client(srv.url);
    await c.send(INIT);
    await until(() => messages.length === 1);
    srv.sessions.clear();
    const err = await c.send({ jsonrpc: '2.0', id: 2, method: 'tools/list' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HttpStatusError);
    expect((err as HttpStatusError).status).toBe(404);
  });
});

describe('StreamableHttpClient on the wire', () => {
  it('sends the configured headers, the session id it was given and the protocol version, and nothing of its own', async () => {
    const seen: IncomingMessage['headers'][] = [];
    const url = await listen(async (req, res) => {
      seen.push(req.headers);
      await body(req);
      res.writeHead(200, { 'content-type': 'application/json', 'mcp-session-id': 'S1' });
      res.end(JSON.stringify({ jsonrpc: '2.0', id: 1, result: {} }));
    });
    const { c } = client(url, { authorization: 'Bearer up-secret', 'x-tenant': 't1' });
    await c.send(INIT);
    c.setProtocolVersion('2025-06-18');
    await c.send({ jsonrpc: '2.0', id: 1, method: 'ping' });
    expect(seen[0]?.authorization).toBe('Bearer up-secret');
    expect(seen[0]?.['x-tenant']).toBe('t1');
    expect(seen[0]?.['mcp-session-id']).toBeUndefined();
    expect(seen[0]?.accept).toBe('application/json, text/event-stream');
    expect(seen[1]?.['mcp-session-id']).toBe('S1');
    expect(seen[1]?.['mcp-protocol-version']).toBe('2025-06-18');
    expect(Object.keys(seen[1] ?? {}).sort()).toEqual(
      [
        'accept',
        'authorization',
        'connection',
        'content-length',
        'content-type',
        'host',
        'mcp-protocol-version',
        'mcp-session-id',
        'x-tenant',
      ].sort(),
    );
  });

  it('follows a redirect within the origin, and refuses one to another origin without sending it anything', async () => {
    const other: string[] = [];
    const elsewhere = await listen(async (req, res) => {
      other.push(String(req.headers.authorization));
      res.writeHead(500).end();
    });
    const hits: string[] = [];
    const url = await listen(async (req, res) => {
      hits.push(String(req.url));
      const text = await body(req);
      if (req.url === '/mcp') {
        res.writeHead(308, { location: '/mcp/' }).end();
        return;
      }
      if (req.url === '/away') {
        res.writeHead(307, { location: elsewhere }).end();
        return;
      }
      if (req.url === '/broken') {
        res.writeHead(307, { location: 'http://[' }).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ jsonrpc: '2.0', id: JSON.parse(text).id, result: { at: req.url } }));
    });
    const { c, messages } = client(url, { authorization: 'Bearer up-secret' });
    await c.send({ jsonrpc: '2.0', id: 5, method: 'ping' });
    expect(messages).toEqual([{ jsonrpc: '2.0', id: 5, result: { at: '/mcp/' } }]);
    expect(hits).toEqual(['/mcp', '/mcp/']);
    const away = client(url.replace('/mcp', '/away'), { authorization: 'Bearer up-secret' });
    const err = await away.c.send({ jsonrpc: '2.0', id: 6, method: 'ping' }).catch((e: Error) => e);
    expect(String(err)).toMatch(/redirected to http:\/\/127\.0\.0\.1:\d+, which is not followed/);
    expect(other).toEqual([]);
    // A Location that is no URL at all is an error of that request, not of the process.
    const broken = client(url.replace('/mcp', '/broken'));
    await expect(broken.c.send({ jsonrpc: '2.0', id: 7, method: 'ping' })).rejects.toThrow(
      'the upstream redirected to an invalid URL: http://[',
    );
  });

  it('reads every message of an SSE answer, and resumes a stream that breaks before its response', async () => {
    const gets: (string | undefined)[] = [];
    const url = await listen(async (req, res) => {
      if (req.method === 'GET') {
        gets.push(req.headers['last-event-id'] as string | undefined);
        if (req.headers['last-event-id'] !== 'e2') {
          res.writeHead(405).end();
          return;
        }
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.end('id: e3\ndata: {"jsonrpc":"2.0","id":9,"result":{"resumed":true}}\n\n');
        return;
      }
      await body(req);
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(
        'id: e1\ndata: {"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":1,"progress":1}}\n\n',
      );
      res.write(
        'retry: 20\nid: e2\ndata: {"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info"',
      );
      res.write(',"data":"x"}}\n\n');
      // The connection breaks before the response.
      setTimeout(() => res.destroy(), 20);
    });
    const { c, messages, errors } = client(url);
    await c.send({ jsonrpc: '2.0', id: 9, method: 'tools/call', params: { name: 'x' } });
    await until(() => messages.some((m) => 'id' in m && m.id === 9));
    expect(messages.map((m) => ('method' in m ? m.method : 'response'))).toEqual([
      'notifications/progress',
      'notifications/message',
      'response',
    ]);
    expect(gets).toEqual(['e2']);
    expect(errors).toEqual([]);
  });

  it('reopens its GET stream when it ends, from the last event id, and stops on 405', async () => {
    const gets: (string | undefined)[] = [];
    const url = await listen(async (req, res) => {
      if (req.method === 'GET') {
        gets.push(req.headers['last-event-id'] as string | undefined);
        if (gets.length === 3) {
          res.writeHead(405).end();
          return;
        }
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        const n = gets.length;
        res.end(
          `retry: 10\nid: g${n}\ndata: {"jsonrpc":"2.0","method":"notifications/message","params":{"n":${n}}}\n\n`,
        );
        return;
      }
      await body(req);
      res.writeHead(202).end();
    });
    const { c, messages } = client(url);
    await c.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    // Streams that end at once count as failed attempts: the second reopen waits longer than the first.
    await until(() => gets.length === 3, 10_000);
    await new Promise((r) => setTimeout(r, 200));
    expect(gets).toEqual([undefined, 'g1', 'g2']);
    expect(messages).toHaveLength(2);
  });

  it('sends a request again on a new connection when the server closed the kept-alive one it went out on', async () => {
    let requests = 0;
    const url = await listen(async (req, res) => {
      requests++;
      const text = await body(req);
      if (requests === 2) {
        // As a server does that closes an idle connection just as the next request arrives on it.
        req.socket.destroy();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ jsonrpc: '2.0', id: JSON.parse(text).id, result: {} }));
    });
    const { c, messages } = client(url);
    await c.send({ jsonrpc: '2.0', id: 1, method: 'ping' });
    await c.send({ jsonrpc: '2.0', id: 2, method: 'ping' });
    expect(messages.map((m) => ('id' in m ? m.id : undefined))).toEqual([1, 2]);
    expect(requests).toBe(3);
  });

  it("never sends a tools/call twice: a reset after it went out is that call's error", async () => {
    const calls: string[] = [];
    const url = await listen(async (req, res) => {
      const m = JSON.parse(await body(req)) as { id: number; method: string };
      calls.push(m.method);
      if (m.method === 'tools/call') {
        // Indistinguishable, for the client, from a server that crashed while it ran the tool.
        req.socket.destroy();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ jsonrpc: '2.0', id: m.id, result: {} }));
    });
    const { c } = client(url);
    await c.send({ jsonrpc: '2.0', id: 1, method: 'ping' });
    await expect(
      c.send({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'refund' } }),
    ).rejects.toThrow();
    expect(calls).toEqual(['ping', 'tools/call']);
  });

  it('backs off from a GET stream that keeps ending, whatever retry the server asks for', async () => {
    for (const retry of ['0', '2147483648']) {
      let gets = 0;
      const url = await listen(async (req, res) => {
        if (req.method === 'GET') {
          gets++;
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          res.end(
            `retry: ${retry}\ndata: {"jsonrpc":"2.0","method":"notifications/message","params":{}}\n\n`,
          );
          return;
        }
        await body(req);
        res.writeHead(202).end();
      });
      const { c } = client(url);
      await c.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
      await new Promise((r) => setTimeout(r, 1500));
      await c.close();
      // retry: 0 is raised to 250 ms and then backs off (about 1.1-1.5 s more); a retry past setTimeout's range is
      // capped rather than run at once.
      expect(gets, `retry: ${retry}`).toBeLessThanOrEqual(3);
      expect(gets).toBeGreaterThanOrEqual(1);
    }
  });

  it('retries a GET refused with 409, stops at a 200 that is no event stream, and keeps the session id of the POST', async () => {
    const gets: string[] = [];
    const posted: (string | undefined)[] = [];
    const url = await listen(async (req, res) => {
      if (req.method === 'GET') {
        gets.push(String(req.headers['mcp-session-id']));
        // The SDK answers 409 while it still holds the previous stream of the session.
        if (gets.length === 1) res.writeHead(409, { 'mcp-session-id': 'OTHER' }).end();
        else res.writeHead(200, { 'content-type': 'text/plain', 'mcp-session-id': 'OTHER' }).end('hello');
        return;
      }
      posted.push(req.headers['mcp-session-id'] as string | undefined);
      const m = JSON.parse(await body(req)) as { id?: number };
      if (m.id === undefined) {
        res.writeHead(202).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json', 'mcp-session-id': 'S1' });
      res.end(JSON.stringify({ jsonrpc: '2.0', id: m.id, result: {} }));
    });
    const { c } = client(url);
    await c.send(INIT);
    await c.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    await until(() => gets.length === 2);
    await new Promise((r) => setTimeout(r, 2000));
    await c.send({ jsonrpc: '2.0', id: 2, method: 'ping' });
    expect(gets).toEqual(['S1', 'S1']);
    expect(posted).toEqual([undefined, 'S1', 'S1']);
  });

  it('does not resume from an id the server cleared with an empty id', async () => {
    let gets = 0;
    const url = await listen(async (req, res) => {
      if (req.method === 'GET') {
        gets++;
        res.writeHead(405).end();
        return;
      }
      await body(req);
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('id: e1\ndata: {"jsonrpc":"2.0","method":"notifications/message","params":{}}\n\nid:\n\n');
      setTimeout(() => res.destroy(), 20);
    });
    const { c, errors } = client(url);
    await c.send({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'x' } });
    await until(() => errors.length > 0);
    expect(errors).toEqual(['an event stream from the upstream ended before its response']);
    expect(gets).toBe(0);
  });

  it('rejects an HTTP error with its status and the start of its body, and an answer that is not JSON', async () => {
    const url = await listen(async (req, res) => {
      await body(req);
      if (req.url === '/mcp') {
        res.writeHead(401, { 'content-type': 'text/plain' }).end('token expired');
        return;
      }
      if (req.url === '/mcp/huge') {
        // An error page that never ends: only its start is read.
        res.writeHead(502, { 'content-type': 'text/html' });
        const chunk = 'x'.repeat(64 * 1024);
        const more = () => {
          while (res.write(chunk)) {}
        };
        res.on('drain', more);
        more();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"jsonrpc":');
    });
    const err = (await client(url)
      .c.send({ jsonrpc: '2.0', id: 1, method: 'ping' })
      .catch((e: unknown) => e)) as HttpStatusError;
    expect(err.status).toBe(401);
    // The body is for the log only (#17.15): it may quote the request's credentials.
    expect(err.message).toBe('HTTP 401 from the upstream');
    expect(err.detail).toBe('token expired');
    await expect(client(`${url}/x`).c.send({ jsonrpc: '2.0', id: 1, method: 'ping' })).rejects.toThrow(
      /invalid JSON/,
    );
    const huge = (await client(`${url}/huge`)
      .c.send({ jsonrpc: '2.0', id: 1, method: 'ping' })
      .catch((e: unknown) => e)) as HttpStatusError;
    expect(huge.status).toBe(502);
    expect(huge.message).toBe('HTTP 502 from the upstream');
    expect(huge.detail).toBe('x'.repeat(500));
  });

  it('reports a message that is not JSON-RPC instead of delivering it', async () => {
    const url = await listen(async (req, res) => {
      await body(req);
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end('data: {"jsonrpc":"1.0","id":1}\n\ndata: {"jsonrpc":"2.0","id":1,"result":{}}\n\n');
    });
    const { c, messages, errors } = client(url);
    await c.send({ jsonrpc: '2.0', id: 1, method: 'ping' });
    await until(() => messages.length === 1);
    expect(errors).toEqual(['the upstream sent an invalid JSON-RPC message: jsonrpc must be "2.0"']);
  });

  it('closes its GET stream and every request in flight on close, and sends nothing after', async () => {
    const open = new Set<ServerResponse>();
    let posts = 0;
    const url = await listen(async (req, res) => {
      if (req.method === 'GET') {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(': open\n\n');
        open.add(res);
        res.on('close', () => open.delete(res));
        return;
      }
      posts++;
      const text = await body(req);
      if (text.includes('initialized')) {
        res.writeHead(202).end();
        return;
      }
      open.add(res); // never answered
      res.on('close', () => open.delete(res));
    });
    const { c } = client(url);
    let closedCalls = 0;
    c.onclose = () => closedCalls++;
    await c.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    const hanging = c.send({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'slow' } });
    await until(() => open.size === 2);
    await c.close();
    await expect(hanging).rejects.toThrow(/closed/);
    await until(() => open.size === 0);
    await expect(c.send({ jsonrpc: '2.0', id: 2, method: 'ping' })).rejects.toThrow(/closed/);
    expect(posts).toBe(2);
    expect(closedCalls).toBe(1);
  });
});
