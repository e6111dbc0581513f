// The admin HTTP app on its own port (loopback by default): health now; the admin API and dashboard build on it.
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface AdminStatus {
  upstreams: string[];
  sessions: () => number;
  version: string;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export function createAdminHandler(status: AdminStatus): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/healthz') {
      json(res, 200, { status: 'ok', version: status.version, sessions: status.sessions() });
      return;
    }
    json(res, 404, { error: 'not found' });
  };
}
