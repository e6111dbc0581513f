// The admin HTTP app on its own port (loopback by default): health, metrics, the admin API behind admin tokens, and
// the dashboard (a logged-in browser uses a session cookie plus a CSRF token instead of the bearer token).

import type { IncomingMessage, ServerResponse } from 'node:http';
import { argumentsForApprover, escapeHiddenJson, hiddenCharacters } from '../approvals/display.js';
import type { ApprovalService } from '../approvals/service.js';
import type { AuditKey } from '../audit/keys.js';
import type { Metrics } from '../audit/metrics.js';
import { type ArgsMode, auditArgs } from '../audit/redact.js';
import { type AuditRecordView, csvHeader, csvRow } from '../audit/view.js';
import { WardenError } from '../errors.js';
import type { AdminIdentity } from '../identity/authenticate.js';
import type { GrantService } from '../identity/grants.js';
import { isSubjectKey } from '../identity/oauth/resource-server.js';
import type { Logger } from '../log.js';
import type { Approval, ApprovalStatus } from '../store/approvals.js';
import { ADMIN_ROLES, type AdminRole } from '../store/grants.js';
import type { AuditFilter } from '../store/types.js';
import { hostName } from '../transport/http/wire.js';
import { OIDC_BINDING_COOKIE, type OidcLogin, OidcLoginError } from './oidc-login.js';
import { cookieValue, type DashboardSession, type DashboardSessions } from './session.js';
import { type Asset, SECURITY_HEADERS } from './static.js';

/** What the simulator is asked: would this grant's call of this tool with these arguments go through? */
export interface SimulationRequest {
  server: string;
  tool: string;
  args: Record<string, unknown> | undefined;
  grant: string | undefined;
  /** The earlier calls of the conversation (flow rules, docs/flows.md). */
  earlier?: Array<{ server: string; tool: string }> | undefined;
  /** Labels the conversation has seen besides those of the earlier calls. */
  seen?: string[] | undefined;
}

export interface AdminOptions {
  version: string;
  /** idp (#20): users' tokens at upstreams whose OAuth flow warden runs (src/identity/upstream/oauth-flow.ts). */
  upstreamTokens?:
    | {
        has(server: string): boolean;
        credentialsOf(subject?: string): Promise<unknown[]>;
        revoke(server: string, subject: string | undefined, actor: string): Promise<number>;
      }
    | undefined;
  sessions: () => number;
  metrics: Metrics;
  /** The newest `limit` audit records that match `filter`, oldest first. */
  recentAudit: (limit: number, filter?: AuditFilter) => Promise<AuditRecordView[]>;
  /** Like `recentAudit`, read a page at a time (for large exports from a running gateway). */
  exportAudit: (limit: number, filter: AuditFilter) => Promise<AuditRecordView[]>;
  /** Checks the audit hash chain from its checkpoint. */
  verifyAudit: () => Promise<Record<string, unknown>>;
  /** Live figures for the dashboard's overview: activity per minute, sessions, upstreams, pending approvals. */
  overview: () => Record<string, unknown>;
  /** Each server's policy layers, with their text where they come from a file. */
  policies: () => Array<Record<string, unknown>>;
  /** The decision and explain path of a call that is not made. */
  simulate: (request: SimulationRequest) => Promise<Record<string, unknown>>;
  /** How the audit log keeps arguments: how viewers see the arguments of approvals. */
  auditArgs: ArgsMode;
  /** audit.key's current key, for the arguments' keyed hash (none without a key). */
  auditArgsKey?: AuditKey;
  /** Dashboard log-ins (session cookie + CSRF token). */
  logins: DashboardSessions;
  /** Log-in through the identity provider (`auth.dashboard`); undefined when only admin tokens log in. */
  oidc?: OidcLogin | undefined;
  /** The dashboard's built files; undefined when the UI was not built (the API works without it). */
  assets: Map<string, Asset> | undefined;
  /** Host header names accepted (DNS rebinding); undefined accepts any (the admin port listens on all addresses). */
  allowedHosts: ReadonlySet<string> | undefined;
  /** The admin identity of an Authorization header (admin tokens, WARDEN_ADMIN_TOKEN); undefined when none. */
  authenticate: (authorization: string | undefined) => Promise<AdminIdentity | undefined>;
  grants: GrantService;
  approvals: ApprovalService;
  /** The tools seen so far with classification, pin and visibility (SPEC §11 `/api/tools` fields first). */
  tools: () => Array<Record<string, unknown>>;
  /** Conversations with the labels each has seen, first sighting of each (docs/flows.md); undefined: no flows. */
  conversations?: (limit: number) => Promise<Array<Record<string, unknown>>>;
  /** Lists every upstream's tools now (outside agent sessions): tools per server, or why a server failed. */
  scanTools: () => Promise<Array<Record<string, unknown>>>;
  /** Accepts a changed tool definition; undefined when the tool had no pending change. */
  /** Accepts a tool's definition under review; `hash`: only that one (what the reviewer saw). */
  acceptTool: (server: string, tool: string, by: string, hash?: string) => Promise<unknown>;
  /** A tool's pin with the definition under review and its difference from the accepted one (views.ts pinView). */
  toolPin?: (server: string, tool: string) => Promise<Record<string, unknown> | undefined>;
  log: Logger;
}

/**
 * An approval as the admin API shows it (SPEC §11 fields first, then the rest of what an approver needs). Arguments
 * have their secrets masked (#17.14); `hiddenCharacters` lists where they hold characters a person cannot see
 * (bidi controls, zero-width and tag characters: #17.16), empty when there are none.
 */
export function approvalView(a: Approval): Record<string, unknown> {
  return {
    id: a.id,
    server: a.server,
    tool: a.tool,
    arguments: argumentsForApprover(a.arguments),
    // oauth: an identity provider's subject asks as a grant keyed `oauth:...` (src/identity/oauth/resource-server.ts):
    // the approver sees whom the agent acts for as `subject` (after the SPEC §11 fields), and no grant.
    grant: isSubjectKey(a.grantId) ? null : (a.grantLabel ?? null),
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
    hiddenCharacters: hiddenCharacters(a.arguments),
    subject: isSubjectKey(a.grantId) ? (a.grantLabel ?? null) : null,
  };
}

/**
 * An approval as this admin may see it: approvers and admins need the arguments to decide; a viewer sees them as the
 * audit log keeps them (`audit.args`: argument names and a hash by default), since arguments may hold secrets.
 */
function approvalFor(who: AdminIdentity, a: Approval, opts: AdminOptions): Record<string, unknown> {
  const view = approvalView(a);
  if (who.role === 'viewer') view.arguments = auditArgs(a.arguments, opts.auditArgs, opts.auditArgsKey);
  return view;
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
/** Records in one export from the dashboard; `warden audit export` has no limit. */
const EXPORT_LIMIT = 100_000;
/** Records serialised per turn of the event loop while an export is written. */
const EXPORT_CHUNK = 1000;

/** What one admin app keeps between requests. */
interface AdminState {
  /** An audit export is being written (one at a time). */
  exporting: boolean;
  /** Open event streams per admin token (a few tabs each). */
  streams: Map<string, number>;
}

function json(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  // Characters that hide (bidi controls, zero-width, tags) travel as \u escapes: the same JSON, nothing hidden.
  const text = escapeHiddenJson(JSON.stringify(body));
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(text)),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    'cross-origin-resource-policy': 'same-origin',
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
  const type = String(req.headers['content-type'] ?? '')
    .split(';')[0]!
    .trim()
    .toLowerCase();
  if (type !== 'application/json')
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
  const state: AdminState = { exporting: false, streams: new Map() };
  return (req, res) => {
    handle(req, res, opts, state).catch((err: Error) => {
      // A client that went away mid-request (its body cut short) is no internal failure.
      if (req.destroyed || res.destroyed) {
        opts.log.debug({ err: err.message }, 'admin client went away');
        return;
      }
      opts.log.error({ err: err.message }, 'admin request failed');
      if (!res.headersSent) json(res, 500, { error: 'internal error' });
      else res.end();
    });
  };
}

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
/** HTTP status of a local fault the client caused; any other is 400. */
const STATUS_OF: Partial<Record<WardenError['code'], number>> = { NOT_FOUND: 404, CONFLICT: 409 };
/** How often the dashboard's event stream sends the overview. */
const EVENT_INTERVAL_MS = 2000;

/**
 * A request authenticated by the session cookie must also carry the session's CSRF token, whatever its method:
 * browsers send the cookie to every port of the host (cookies are not kept apart by port), so the cookie alone must
 * not be enough to read or do anything. The page keeps the token in sessionStorage (per origin, so per port) and
 * sends it in `x-csrf-token`; a GET may carry it as `?csrf=` instead (EventSource and download links cannot set
 * headers). A request that changes something needs the header and a same-origin `Origin`.
 */
function csrfPasses(req: IncomingMessage, url: URL, login: DashboardSession, opts: AdminOptions): boolean {
  if (MUTATING.has(req.method ?? ''))
    return opts.logins.csrfMatches(login, req.headers['x-csrf-token']) && sameOrigin(req);
  const given = req.headers['x-csrf-token'] ?? url.searchParams.get('csrf') ?? undefined;
  return opts.logins.csrfMatches(login, given);
}

/** A browser's Origin, when it sends one, must be this very admin origin (same host and port). */
function sameOrigin(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  opts: AdminOptions,
  state: AdminState,
): Promise<void> {
  let url: URL;
  try {
    url = new URL(req.url ?? '/', 'http://admin');
  } catch {
    // `//`, `//x:y`: a target that is no path of ours (the client's mistake, not an internal error).
    json(res, 400, { error: 'bad request target' });
    return;
  }
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
  // DNS rebinding: a page on another name that resolves here must not reach the dashboard or the API.
  const host = req.headers.host;
  if (opts.allowedHosts !== undefined && !opts.allowedHosts.has(host === undefined ? '' : hostName(host))) {
    json(res, 403, { error: 'forbidden: unknown Host' });
    return;
  }
  if (!path.startsWith('/api/')) {
    const asset = req.method === 'GET' || req.method === 'HEAD' ? opts.assets?.get(path) : undefined;
    if (asset === undefined) {
      if (path === '/' && opts.assets === undefined)
        json(res, 503, { error: 'the dashboard is not built: run npm run build' }, SECURITY_HEADERS);
      else json(res, 404, { error: 'not found' }, SECURITY_HEADERS);
      return;
    }
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'content-type': asset.type,
      'content-length': String(asset.body.length),
      'cache-control': 'no-cache',
    });
    res.end(req.method === 'HEAD' ? undefined : asset.body);
    return;
  }
  if (path === '/api/session') {
    await loginRoute(req, res, opts);
    return;
  }
  if (path === '/api/login-options' || path.startsWith('/api/oidc/')) {
    await oidcRoute(req, res, opts, path, url);
    return;
  }
  // A bearer token (scripts) or a dashboard session (browsers). Only the cookie is sent by browsers on their own,
  // so only cookie requests need the CSRF token.
  let who: AdminIdentity | undefined;
  if (req.headers.authorization !== undefined) who = await opts.authenticate(req.headers.authorization);
  else {
    const login = opts.logins.peek(req.headers.cookie);
    if (login !== undefined) {
      // Checked before anything else: a replayed cookie without its token neither acts nor keeps the session alive.
      if (!csrfPasses(req, url, login, opts)) {
        json(res, 403, { error: 'forbidden: missing or wrong CSRF token' });
        return;
      }
      who = await sessionIdentity(login, opts);
      if (who === undefined) opts.logins.end(login.id);
      else opts.logins.touch(login);
    }
  }
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
  const caller = who;
  const may = (role: AdminRole): boolean => {
    if (RANK[caller.role] >= RANK[role]) return true;
    json(res, 403, { error: `forbidden: this needs role ${role}; the token has role ${caller.role}` });
    return false;
  };
  try {
    await api(req, res, opts, state, url, caller, may);
  } catch (err) {
    if (err instanceof WardenError || err instanceof SyntaxError) {
      const status = err instanceof WardenError ? (STATUS_OF[err.code] ?? 400) : 400;
      json(res, status, {
        error: err.message,
        ...(err instanceof WardenError && err.hint ? { hint: err.hint } : {}),
      });
      return;
    }
    throw err;
  }
}

/** The browser reached us over HTTPS: TLS here, or a TLS-terminating proxy in front says so. */
function overHttps(req: IncomingMessage): boolean {
  return (
    (req.socket as { encrypted?: boolean }).encrypted === true || req.headers['x-forwarded-proto'] === 'https'
  );
}

/**
 * Who a dashboard session is: an OIDC log-in carries its identity (role from claims at log-in); a token log-in
 * authenticates its admin token again, so revoking the token ends the session.
 */
async function sessionIdentity(
  login: DashboardSession,
  opts: AdminOptions,
): Promise<AdminIdentity | undefined> {
  if (login.identity !== undefined) return login.identity;
  return opts.authenticate(`Bearer ${login.token}`);
}

/** A short HTML page for the browser when an OIDC log-in is refused (the reason escaped, no script). */
function refusalPage(
  res: ServerResponse,
  status: number,
  reason: string,
  clearCookie: string | undefined,
): void {
  const esc = reason.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  const body = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Log-in refused</title></head><body><main><h1>Log-in refused</h1><p id="reason">${esc}</p><p><a href="/">Back to the dashboard</a></p></main></body></html>`;
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    ...(clearCookie === undefined ? {} : { 'set-cookie': clearCookie }),
  });
  res.end(body);
}

/**
 * OIDC log-in (oidc-login.ts): `GET /api/login-options` tells the log-in page whether to offer it, `GET
 * /api/oidc/login` sends the browser to the provider, `GET /api/oidc/callback` finishes and starts a session.
 */
async function oidcRoute(
  req: IncomingMessage,
  res: ServerResponse,
  opts: AdminOptions,
  path: string,
  url: URL,
): Promise<void> {
  if (req.method !== 'GET') {
    json(res, 405, { error: 'method not allowed' });
    return;
  }
  if (path === '/api/login-options') {
    json(res, 200, { oidc: opts.oidc !== undefined });
    return;
  }
  const oidc = opts.oidc;
  if (oidc === undefined) {
    json(res, 404, { error: 'not found: no auth.dashboard log-in is configured' });
    return;
  }
  const secure = overHttps(req);
  if (path === '/api/oidc/login') {
    try {
      const { location, cookie } = await oidc.begin(secure);
      res.writeHead(302, { location, 'set-cookie': cookie, 'cache-control': 'no-store' });
      res.end();
    } catch (err) {
      opts.log.warn({ err: (err as Error).message }, 'dashboard OIDC log-in could not start');
      refusalPage(res, 502, 'The identity provider cannot be reached; try again later.', undefined);
    }
    return;
  }
  if (path === '/api/oidc/callback') {
    const clear = oidc.clearBinding(secure);
    try {
      const done = await oidc.finish(url.searchParams, cookieValue(req.headers.cookie, OIDC_BINDING_COOKIE));
      const previous = opts.logins.peek(req.headers.cookie);
      if (previous !== undefined) opts.logins.end(previous.id);
      const login = opts.logins.create(done.key, done.identity);
      opts.log.info({ who: done.identity.label, role: done.identity.role }, 'dashboard OIDC log-in');
      // The fragment is never sent to a server: the hand-off code stays out of logs and Referer headers.
      res.writeHead(302, {
        location: `/#oidc=${oidc.handoff(login.id)}`,
        'set-cookie': [opts.logins.cookie(login, secure), clear],
        'cache-control': 'no-store',
      });
      res.end();
    } catch (err) {
      if (!(err instanceof OidcLoginError)) throw err;
      opts.log.warn({ err: err.message, remote: req.socket.remoteAddress }, 'dashboard OIDC log-in refused');
      refusalPage(res, 403, err.message, clear);
    }
    return;
  }
  json(res, 404, { error: 'not found' });
}

function sessionView(who: AdminIdentity, login: DashboardSession): Record<string, unknown> {
  return { label: who.label, role: who.role, csrf: login.csrf };
}

/** POST logs in with an admin token, GET tells the page who is logged in, DELETE logs out. */
async function loginRoute(req: IncomingMessage, res: ServerResponse, opts: AdminOptions): Promise<void> {
  if (req.method === 'POST') {
    if (!sameOrigin(req)) {
      json(res, 403, { error: 'forbidden: cross-origin log-in' });
      return;
    }
    let token: unknown;
    let handoff: unknown;
    try {
      ({ token, handoff } = await readBody(req));
    } catch (err) {
      json(res, 400, { error: (err as Error).message });
      return;
    }
    if (typeof handoff === 'string' && opts.oidc !== undefined) {
      // After an OIDC log-in: the one-time code from the URL fragment, with the session cookie it was made for.
      const sessionId = opts.oidc.redeem(handoff);
      const login = opts.logins.peek(req.headers.cookie);
      if (
        sessionId === undefined ||
        login === undefined ||
        login.id !== sessionId ||
        login.identity === undefined
      ) {
        json(res, 401, { error: 'that log-in hand-off is unknown, used or expired: log in again' });
        return;
      }
      opts.logins.touch(login);
      json(res, 200, sessionView(login.identity, login));
      return;
    }
    const who =
      typeof token === 'string' && token !== '' ? await opts.authenticate(`Bearer ${token}`) : undefined;
    if (who === undefined || typeof token !== 'string') {
      opts.log.warn({ remote: req.socket.remoteAddress }, 'dashboard log-in refused');
      json(res, 401, { error: 'that is not a live admin token' });
      return;
    }
    // A log-in replaces the session this browser had, if any.
    const previous = opts.logins.peek(req.headers.cookie);
    if (previous !== undefined) opts.logins.end(previous.id);
    const login = opts.logins.create(token);
    json(res, 200, sessionView(who, login), { 'set-cookie': opts.logins.cookie(login, overHttps(req)) });
    return;
  }
  const login = opts.logins.peek(req.headers.cookie);
  if (req.method === 'GET') {
    // The page asks with the CSRF token it kept from the log-in; the cookie alone tells nothing (see csrfPasses).
    const who =
      login === undefined || !opts.logins.csrfMatches(login, req.headers['x-csrf-token'])
        ? undefined
        : await sessionIdentity(login, opts);
    if (login === undefined || who === undefined) json(res, 401, { error: 'not logged in' });
    else {
      opts.logins.touch(login);
      json(res, 200, { label: who.label, role: who.role });
    }
    return;
  }
  if (req.method === 'DELETE') {
    if (
      login !== undefined &&
      (!opts.logins.csrfMatches(login, req.headers['x-csrf-token']) || !sameOrigin(req))
    ) {
      json(res, 403, { error: 'forbidden: missing or wrong CSRF token' });
      return;
    }
    if (login !== undefined) opts.logins.end(login.id);
    json(res, 200, { ok: true }, { 'set-cookie': opts.logins.cookie(undefined, overHttps(req)) });
    return;
  }
  json(res, 405, { error: 'method not allowed' });
}

/** Event streams one admin token may hold open at once (tabs); more get 429. */
const STREAMS_PER_TOKEN = 10;
/** Unsent bytes past which a stream's reader counts as gone: the stream ends instead of queueing more. */
const STREAM_UNREAD_LIMIT = 64 * 1024;

/** Server-sent events: the overview now and every two seconds, until the client leaves or its login ends. */
function eventStream(req: IncomingMessage, res: ServerResponse, opts: AdminOptions, state: AdminState): void {
  const token = req.headers.authorization ?? opts.logins.peek(req.headers.cookie)?.token ?? '';
  const open = state.streams.get(token) ?? 0;
  if (open >= STREAMS_PER_TOKEN) {
    json(res, 429, { error: `at most ${STREAMS_PER_TOKEN} event streams per admin token` });
    return;
  }
  state.streams.set(token, open + 1);
  res.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-store',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  const send = (): void => {
    // A reader that stopped reading is let go rather than queued for.
    if (res.writableLength > STREAM_UNREAD_LIMIT) {
      res.destroy();
      return;
    }
    res.write(`event: overview\ndata: ${JSON.stringify(opts.overview())}\n\n`);
  };
  // The token is checked again on every tick: a logout, an expiry or a revoked token ends the stream.
  const stillAllowed = async (): Promise<boolean> => {
    if (req.headers.authorization !== undefined)
      return (await opts.authenticate(req.headers.authorization)) !== undefined;
    // peek: an open tab's stream does not count as use, so an unattended tab still reaches the idle limit.
    const login = opts.logins.peek(req.headers.cookie);
    return login !== undefined && (await sessionIdentity(login, opts)) !== undefined;
  };
  send();
  const timer = setInterval(() => {
    stillAllowed()
      .then((ok) => (ok ? send() : res.end()))
      .catch(() => res.end());
  }, EVENT_INTERVAL_MS);
  res.on('close', () => {
    clearInterval(timer);
    const n = (state.streams.get(token) ?? 1) - 1;
    if (n <= 0) state.streams.delete(token);
    else state.streams.set(token, n);
  });
}

/** A %-encoded path segment; a malformed escape is the client's mistake (400), not an internal error. */
function segment(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new WardenError('CONFIG_INVALID', 'malformed %-escape in the path');
  }
}

/** The audit filter of a query string (grant, server, tool, decision, since, until). */
function auditFilter(q: URLSearchParams): AuditFilter {
  const filter: AuditFilter = {};
  for (const key of ['grant', 'server', 'tool', 'decision'] as const) {
    const v = q.get(key);
    if (v !== null && v !== '') filter[key] = v;
  }
  for (const key of ['since', 'until'] as const) {
    const v = q.get(key);
    if (v === null || v === '') continue;
    const d = new Date(v);
    if (Number.isNaN(d.getTime()))
      throw new WardenError('CONFIG_INVALID', `${key} must be a date (ISO 8601)`);
    filter[key] = d;
  }
  return filter;
}

async function api(
  req: IncomingMessage,
  res: ServerResponse,
  opts: AdminOptions,
  state: AdminState,
  url: URL,
  who: AdminIdentity,
  may: (role: AdminRole) => boolean,
): Promise<void> {
  const path = url.pathname;
  const actor = `${who.label} (${who.role})`;
  if (req.method === 'GET' && path === '/api/audit') {
    const raw = Number(url.searchParams.get('limit') ?? 100);
    const limit = Number.isInteger(raw) && raw > 0 ? Math.min(raw, 10_000) : 100;
    json(res, 200, await opts.recentAudit(limit, auditFilter(url.searchParams)));
    return;
  }
  if (req.method === 'GET' && path === '/api/audit/export') {
    const format = url.searchParams.get('format') ?? 'jsonl';
    if (format !== 'jsonl' && format !== 'csv')
      throw new WardenError('CONFIG_INVALID', 'format must be jsonl or csv');
    const filter = auditFilter(url.searchParams);
    // One export at a time per gateway: each reads up to EXPORT_LIMIT records.
    if (state.exporting) {
      json(
        res,
        429,
        { error: 'another export is under way; try again when it is done' },
        { 'retry-after': '5' },
      );
      return;
    }
    state.exporting = true;
    try {
      const records = await opts.exportAudit(EXPORT_LIMIT, filter);
      res.writeHead(200, {
        'content-type': format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson',
        'content-disposition': `attachment; filename="warden-audit.${format}"`,
        'cache-control': 'no-store',
      });
      if (format === 'csv') res.write(`${csvHeader()}\n`);
      // Written in chunks, a turn of the event loop apart, waiting while the client is behind.
      for (let i = 0; i < records.length && !res.destroyed; i += EXPORT_CHUNK) {
        const chunk = records.slice(i, i + EXPORT_CHUNK);
        const text = `${chunk.map((r) => (format === 'csv' ? csvRow(r) : JSON.stringify(r))).join('\n')}\n`;
        if (!res.write(text))
          await new Promise<void>((resolve) => res.once('drain', resolve).once('close', resolve));
        else await new Promise<void>((resolve) => setImmediate(resolve));
      }
      res.end();
    } finally {
      state.exporting = false;
    }
    return;
  }
  if (req.method === 'POST' && path === '/api/audit/verify') {
    json(res, 200, await opts.verifyAudit());
    return;
  }
  if (req.method === 'GET' && path === '/api/overview') {
    json(res, 200, opts.overview());
    return;
  }
  if (req.method === 'GET' && path === '/api/events') {
    eventStream(req, res, opts, state);
    return;
  }
  if (req.method === 'GET' && path === '/api/policies') {
    json(res, 200, opts.policies());
    return;
  }
  if (req.method === 'POST' && path === '/api/simulate') {
    const body = await readBody(req);
    const { server, tool, grant } = body;
    const args = body.arguments;
    if (typeof server !== 'string' || typeof tool !== 'string')
      throw new WardenError('CONFIG_INVALID', 'server and tool are required');
    if (grant !== undefined && grant !== null && typeof grant !== 'string')
      throw new WardenError('CONFIG_INVALID', 'grant must be a grant label');
    if (args !== undefined && (typeof args !== 'object' || args === null || Array.isArray(args)))
      throw new WardenError('CONFIG_INVALID', 'arguments must be a JSON object');
    const earlier = body.earlier;
    if (
      earlier !== undefined &&
      (!Array.isArray(earlier) ||
        !earlier.every(
          (e) =>
            typeof e === 'object' &&
            e !== null &&
            typeof (e as Record<string, unknown>).server === 'string' &&
            typeof (e as Record<string, unknown>).tool === 'string',
        ))
    )
      throw new WardenError('CONFIG_INVALID', 'earlier must be a list of {server, tool}');
    json(
      res,
      200,
      await opts.simulate({
        server,
        tool,
        args: args as Record<string, unknown> | undefined,
        grant: typeof grant === 'string' && grant !== '' ? grant : undefined,
        earlier: earlier as Array<{ server: string; tool: string }> | undefined,
        seen: stringList(body.seen, 'seen'),
      }),
    );
    return;
  }
  if (req.method === 'GET' && path === '/api/upstream-tokens') {
    const subject = url.searchParams.get('subject') ?? undefined;
    json(res, 200, opts.upstreamTokens === undefined ? [] : await opts.upstreamTokens.credentialsOf(subject));
    return;
  }
  // DELETE /api/upstream-tokens/<server>/<subject> (one user's), or /<server> (everyone's at that upstream).
  const ut = /^\/api\/upstream-tokens\/([^/]+)(?:\/([^/]+))?$/.exec(path);
  if (req.method === 'DELETE' && ut !== null) {
    if (!may('admin')) return;
    const server = segment(ut[1]!);
    if (opts.upstreamTokens === undefined || !opts.upstreamTokens.has(server)) {
      json(res, 404, { error: `no upstream ${server} uses the oauth flow` });
      return;
    }
    const subject = ut[2] === undefined ? undefined : segment(ut[2]);
    json(res, 200, { revoked: await opts.upstreamTokens.revoke(server, subject, actor) });
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
  if (req.method === 'GET' && path === '/api/conversations') {
    json(res, 200, opts.conversations === undefined ? [] : await opts.conversations(200));
    return;
  }
  if (req.method === 'GET' && path === '/api/tools') {
    json(res, 200, opts.tools());
    return;
  }
  if (req.method === 'POST' && path === '/api/tools/scan') {
    if (!may('admin')) return;
    json(res, 200, await opts.scanTools());
    return;
  }
  const pinPath = /^\/api\/tools\/([^/]+)\/([^/]+)\/pin$/.exec(path);
  if (req.method === 'GET' && pinPath !== null && opts.toolPin !== undefined) {
    const view = await opts.toolPin(segment(pinPath[1]!), segment(pinPath[2]!));
    if (view === undefined) json(res, 404, { error: 'that tool has no pin' });
    else json(res, 200, view);
    return;
  }
  const t = /^\/api\/tools\/([^/]+)\/([^/]+)\/accept$/.exec(path);
  if (req.method === 'POST' && t !== null) {
    if (!may('admin')) return;
    // `hash`: accept only the definition the reviewer saw, not one the upstream switched to since.
    const body = await readBody(req);
    const hash = body.hash;
    if (hash !== undefined && (typeof hash !== 'string' || !/^[0-9a-f]{64}$/.test(hash)))
      throw new WardenError('CONFIG_INVALID', 'hash must be the 64 hex digits of a definition hash');
    const accepted = await opts.acceptTool(segment(t[1]!), segment(t[2]!), actor, hash);
    if (accepted === undefined)
      json(res, 409, {
        error:
          hash === undefined
            ? 'that tool has no changed definition to accept'
            : 'that tool has no definition with this hash waiting to be accepted',
      });
    else json(res, 200, accepted);
    return;
  }
  if (req.method === 'GET' && path === '/api/approvals') {
    // `all` as in `warden approvals list --status all`: every status.
    const asked = url.searchParams.get('status') ?? undefined;
    const status = asked === 'all' ? undefined : asked;
    if (status !== undefined && !APPROVAL_STATUSES.has(status))
      throw new WardenError(
        'CONFIG_INVALID',
        `status must be one of ${[...APPROVAL_STATUSES].join(', ')} or all`,
      );
    const list = await opts.approvals.store.list({
      status: status as ApprovalStatus | undefined,
      limit: 1000,
    });
    json(
      res,
      200,
      list.map((a) => approvalFor(who, a, opts)),
    );
    return;
  }
  const a = /^\/api\/approvals\/([^/]+)(?:\/(approve|deny))?$/.exec(path);
  if (a !== null) {
    const id = segment(a[1]!);
    if (req.method === 'GET' && a[2] === undefined) {
      const found = await opts.approvals.store.get(id);
      if (found === undefined) json(res, 404, { error: `no approval ${id}` });
      else json(res, 200, approvalFor(who, found, opts));
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
        json(res, 409, { error: await opts.approvals.notPending(id) });
        return;
      }
      json(res, 200, approvalView(decided));
      return;
    }
  }
  const m = /^\/api\/grants\/([^/]+)\/(revoke|rotate)$/.exec(path);
  if (req.method === 'POST' && m !== null) {
    if (!may('admin')) return;
    const id = segment(m[1]!);
    if (m[2] === 'revoke') json(res, 200, await opts.grants.revoke(id, actor));
    else {
      const rotated = await opts.grants.rotate(id, actor);
      json(res, 200, { id: rotated.grant.id, label: rotated.grant.label, token: rotated.token });
    }
    return;
  }
  json(res, 404, { error: 'not found' });
}
