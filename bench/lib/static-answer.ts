// The floor of a tools/list measurement: a Streamable HTTP endpoint that answers tools/list with bytes made in
// advance (the same result another server gave), so that what is left is the client's own work (fetch, reading and
// parsing the body) and loopback. It runs in the bench process: it does no work per request beyond one copy.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export async function staticListServer(result: unknown): Promise<{ url: string; close(): Promise<void> }> {
  const json = Buffer.from(JSON.stringify(result), 'utf8');
  const server = createServer((req, res) => {
    if (req.method === 'DELETE') {
      res.writeHead(200).end();
      return;
    }
    if (req.method !== 'POST') {
      res.writeHead(405).end();
      return;
    }
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => {
      text += c;
    });
    req.on('end', () => {
      const m = JSON.parse(text) as { id?: number | string; method?: string };
      if (m.id === undefined) {
        res.writeHead(202).end();
        return;
      }
      const answer =
        m.method === 'tools/list'
          ? json
          : Buffer.from(
              JSON.stringify({
                protocolVersion: '2025-06-18',
                capabilities: { tools: {} },
                serverInfo: { name: 'static', version: '1.0.0' },
              }),
            );
      const body = Buffer.concat([
        Buffer.from(`{"jsonrpc":"2.0","id":${JSON.stringify(m.id)},"result":`),
        answer,
        Buffer.from('}'),
      ]);
      res.writeHead(200, {
        'content-type': 'application/json',
        'content-length': String(body.length),
        'mcp-session-id': 'static',
      });
      res.end(body);
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}
