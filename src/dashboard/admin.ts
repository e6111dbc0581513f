// The admin HTTP app on its own port (loopback by default): health, metrics, and the admin API behind admin tokens.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApprovalService } from '../approvals/service.js';
import type { Metrics } from '../audit/metrics.js';
import type { AuditRecordView } from '../audit/view.js';
import { WardenError } from '../errors.js';
import type { AdminIdentity } from '../identity/authenticate.js';
import type { GrantService } from '../identity/grants.js';
import type { Logger } from '../log.js';
import type { Approval, ApprovalStatus } from '../store/approvals.js';
import { ADMIN_ROLES, type AdminRole } from '../store/grants.js';

export interface AdminOptions {
  version: string;
  sessions: () => number;
  metrics: Metrics;
  /** The newest `limit` audit records, oldest first. */
  recentAudit: (limit: number) => Promise<AuditRecordView[]>;
  /** The admin identity of an Authorization header (admin tokens, WARDEN_ADMIN_TOKEN); undefined when none. */
  authenticate: (authorization: string | undefined) => Promise<AdminIdentity | undefined>;
  grants: GrantService;
  approvals: ApprovalService;
  /** The tools seen so far with classification, pin and visibility (SPEC §11 `/api/tools` fields first). */
  tools: () => Array<Record<string, unknown>>;
  /** Accepts a changed tool definition; undefined when the tool had no pending change. */
  acceptTool: (server: string, tool: string, by: string) => Promise<unknown>;
  log: Logger;
}

/** An approval as the admin API shows it (SPEC §11 fields first, then the rest of what an approver needs). */
export function approvalView(a: Approval): Record<string, unknown> {
  return {
    id: a.id,
    server: a.server,
    tool: a.tool,
    arguments: a.arguments,
    grant: a.grantLabel ?? null,
    session: a.session,
    risk: a.risk ?? null,
    rule: a.rule,
    createdAt: a.createdAt,
    status: a.status,
    mode: a.mode,
    reason: a.reason ?? null,
    expiresAt: a.expiresAt,
    decidedAt: a.decidedAt ?? null,
    decidedBy: a.decidedBy ?? null,
    note: a.note ?? null,
  };
}

const APPROVAL_STATUSES: ReadonlySet<string> = new Set<ApprovalStatus>([
  'pending',
  'approved',
  'rejected',
  'expired',
  'cancelled',
  'consumed',
]);

/** What each role may do: viewers read, approvers also decide approvals, admins also manage grants. */
const RANK: Record<AdminRole, number> = { viewer: 0, approver: 1, admin: 2 };
const MAX_BODY = 64 * 1024;

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

/** A JSON object body (at most 64 KiB); an empty body is `{}`. Throws a WardenError for anything else. */
async function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new WardenError('CONFIG_INVALID', 'body too large');
    chunks.push(chunk as Buffer);
  }
  if (size === 0) return {};
  if (!String(req.headers['content-type'] ?? '').includes('application/json'))
    throw new WardenError('CONFIG_INVALID', 'Content-Type must be application/json');
  const value: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new WardenError('CONFIG_INVALID', 'the body must be a JSON object');
  return value as Record<string, unknown>;
}

function stringList(v: unknown, name: string): string[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string'))
    throw new WardenError('CONFIG_INVALID', `${name} must be a list of strings`);
  return v;
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
  const who = await opts.authenticate(req.headers.authorization);
  if (who === undefined) {
    json(
      res,
      401,
      { error: 'unauthorized: an admin token is required' },
      {
        'www-authenticate': 'Bearer realm="mcp-warden admin"',
      },
    );
    return;
  }
  const may = (role: AdminRole): boolean => {
    if (RANK[who.role] >= RANK[role]) return true;
    json(res, 403, { error: `forbidden: this needs role ${role}; the token has role ${who.role}` });
    return false;
  };
  try {
    await api(req, res, opts, url, who, may);
  } catch (err) {
    if (err instanceof WardenError || err instanceof SyntaxError) {
      json(res, 400, {
        error: err.message,
        ...(err instanceof WardenError && err.hint ? { hint: err.hint } : {}),
      });
      return;
    }
    throw err;
  }
}

async function api(
  req: IncomingMessage,
  res: ServerResponse,
  opts: AdminOptions,
  url: URL,
  who: AdminIdentity,
  may: (role: AdminRole) => boolean,
): Promise<void> {
  const path = url.pathname;
  const actor = `${who.label} (${who.role})`;
  if (req.method === 'GET' && path === '/api/audit') {
    const raw = Number(url.searchParams.get('limit') ?? 100);
    const limit = Number.isInteger(raw) && raw > 0 ? Math.min(raw, 10_000) : 100;
    json(res, 200, await opts.recentAudit(limit));
    return;
  }
  if (req.method === 'GET' && path === '/api/grants') {
    json(res, 200, await opts.grants.list());
    return;
  }
  if (req.method === 'POST' && path === '/api/grants') {
    if (!may('admin')) return;
    const body = await readBody(req);
    if (typeof body.label !== 'string') throw new WardenError('CONFIG_INVALID', 'label is required');
    const role = body.role;
    if (role !== undefined && !ADMIN_ROLES.includes(role as AdminRole))
      throw new WardenError('CONFIG_INVALID', `role must be one of ${ADMIN_ROLES.join(', ')}`);
    const policy = body.policy;
    if (policy !== undefined && (typeof policy !== 'object' || policy === null || Array.isArray(policy)))
      throw new WardenError('CONFIG_INVALID', 'policy must be a policy object (PolicyLayer JSON)');
    const created = await opts.grants.create(
      {
        label: body.label,
        servers: stringList(body.servers, 'servers'),
        groups: stringList(body.groups, 'groups'),
        role: role as AdminRole | undefined,
        policy: policy === undefined ? undefined : { source: 'admin API', text: JSON.stringify(policy) },
      },
      actor,
    );
    json(res, 201, { id: created.grant.id, label: created.grant.label, token: created.token });
    return;
  }
  if (req.method === 'GET' && path === '/api/tools') {
    json(res, 200, opts.tools());
    return;
  }
  const t = /^\/api\/tools\/([^/]+)\/([^/]+)\/accept$/.exec(path);
  if (req.method === 'POST' && t !== null) {
    if (!may('admin')) return;
    const accepted = await opts.acceptTool(decodeURIComponent(t[1]!), decodeURIComponent(t[2]!), actor);
    if (accepted === undefined) json(res, 409, { error: 'that tool has no changed definition to accept' });
    else json(res, 200, accepted);
    return;
  }
  if (req.method === 'GET' && path === '/api/approvals') {
    const status = url.searchParams.get('status') ?? undefined;
    if (status !== undefined && !APPROVAL_STATUSES.has(status))
      throw new WardenError('CONFIG_INVALID', `status must be one of ${[...APPROVAL_STATUSES].join(', ')}`);
    const list = await opts.approvals.store.list({
      status: status as ApprovalStatus | undefined,
      limit: 1000,
    });
    json(res, 200, list.map(approvalView));
    return;
  }
  const a = /^\/api\/approvals\/([^/]+)(?:\/(approve|deny))?$/.exec(path);
  if (a !== null) {
    const id = decodeURIComponent(a[1]!);
    if (req.method === 'GET' && a[2] === undefined) {
      const found = await opts.approvals.store.get(id);
      if (found === undefined) json(res, 404, { error: `no approval ${id}` });
      else json(res, 200, approvalView(found));
      return;
    }
    if (req.method === 'POST' && a[2] !== undefined) {
      if (!may('approver')) return;
      const body = await readBody(req);
      const note = body.note;
      if (note !== undefined && typeof note !== 'string')
        throw new WardenError('CONFIG_INVALID', 'note must be a string');
      const found = await opts.approvals.store.get(id);
      if (found === undefined) {
        json(res, 404, { error: `no approval ${id}` });
        return;
      }
      // Separate identities: the grant that made a call can never approve it.
      if (found.grantLabel !== undefined && found.grantLabel === who.label) {
        json(res, 403, { error: 'forbidden: an approver cannot decide a call made by its own grant' });
        return;
      }
      const decided = await opts.approvals.decide(
        id,
        a[2] === 'approve' ? 'approved' : 'rejected',
        actor,
        note,
      );
      if (decided === undefined) {
        json(res, 409, {
          error: `approval ${id} is ${found.status === 'pending' ? 'already decided' : found.status}`,
        });
        return;
      }
      json(res, 200, approvalView(decided));
      return;
    }
  }
  const m = /^\/api\/grants\/([^/]+)\/(revoke|rotate)$/.exec(path);
  if (req.method === 'POST' && m !== null) {
    if (!may('admin')) return;
    const id = decodeURIComponent(m[1]!);
    if (m[2] === 'revoke') json(res, 200, await opts.grants.revoke(id, actor));
    else {
      const rotated = await opts.grants.rotate(id, actor);
      json(res, 200, { id: rotated.grant.id, label: rotated.grant.label, token: rotated.token });
    }
    return;
  }
  json(res, 404, { error: 'not found' });
}
