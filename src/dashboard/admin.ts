// The admin HTTP app on its own port (loopback by default): health, metrics, and the admin API behind admin tokens.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Metrics } from '../audit/metrics.js';
import type { AuditRecordView } from '../audit/view.js';
import type { Logger } from '../log.js';

export type AdminRole = 'admin' | 'approver' | 'viewer';

export interface AdminOptions {
  version: string;
  sessions: () => number;
  metrics: Metrics;
  /** The newest `limit` audit records, oldest first. */
  recentAudit: (limit: number) => Promise<AuditRecordView[]>;
  /** Admin tokens and their roles (WARDEN_ADMIN_TOKEN gives role admin). */
  tokens: ReadonlyArray<{ token: string; role: AdminRole }>;
  log: Logger;
}

function json(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(text)),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/** The role of the request's bearer token, compared in constant time; undefined when there is none or it is wrong. */
export function roleOf(req: IncomingMessage, tokens: AdminOptions['tokens']): AdminRole | undefined {
  const header = req.headers.authorization;
  if (header === undefined || !header.startsWith('Bearer ')) return undefined;
  const given = digest(header.slice(7).trim());
  let role: AdminRole | undefined;
  for (const t of tokens) if (timingSafeEqual(given, digest(t.token))) role = t.role;
  return role;
}

export function createAdminHandler(opts: AdminOptions): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    handle(req, res, opts).catch((err: Error) => {
      opts.log.error({ err: err.message }, 'admin request failed');
      if (!res.headersSent) json(res, 500, { error: 'internal error' });
      else res.end();
    });
  };
}

async function handle(req: IncomingMessage, res: ServerResponse, opts: AdminOptions): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://admin');
  const path = url.pathname;
  if (req.method === 'GET' && path === '/healthz') {
    json(res, 200, { status: 'ok', version: opts.version, sessions: opts.sessions() });
    return;
  }
  if (req.method === 'GET' && path === '/metrics') {
    const text = opts.metrics.render();
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
    res.end(text);
    return;
  }
  if (!path.startsWith('/api/')) {
    json(res, 404, { error: 'not found' });
    return;
  }
  const role = roleOf(req, opts.tokens);
  if (role === undefined) {
    json(
      res,
      401,
      {
        error:
          opts.tokens.length === 0 ? 'no admin token is configured (set WARDEN_ADMIN_TOKEN)' : 'unauthorized',
      },
      { 'www-authenticate': 'Bearer realm="mcp-warden admin"' },
    );
    return;
  }
  if (req.method === 'GET' && path === '/api/audit') {
    const raw = Number(url.searchParams.get('limit') ?? 100);
    const limit = Number.isInteger(raw) && raw > 0 ? Math.min(raw, 10_000) : 100;
    json(res, 200, await opts.recentAudit(limit));
    return;
  }
  json(res, 404, { error: 'not found' });
}
