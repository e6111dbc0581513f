// Talks to the admin API with the session cookie; every request that changes something carries the CSRF token.

/**
 * The session's CSRF token, from the log-in answer. Kept in sessionStorage (per origin, so per port, unlike the
 * cookie) so a reload keeps the log-in; the gateway asks for it on every request the cookie authenticates.
 */
const CSRF_KEY = 'warden.csrf';
let csrf = sessionStorage.getItem(CSRF_KEY) ?? '';
let onLoggedOut: () => void = () => {};

export interface Me {
  label: string;
  role: 'viewer' | 'approver' | 'admin';
}

/** The token as a query parameter, for requests that cannot carry a header (event streams, downloads). */
export function csrfParam(): string {
  return `csrf=${encodeURIComponent(csrf)}`;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** After a log-in (with its token), a log-out (undefined), or a reload (the kept token, unchanged). */
export function setSession(token: string | undefined, loggedOut?: () => void): void {
  if (token !== undefined) {
    csrf = token;
    sessionStorage.setItem(CSRF_KEY, token);
  }
  if (loggedOut) onLoggedOut = loggedOut;
}

export function clearSession(): void {
  csrf = '';
  sessionStorage.removeItem(CSRF_KEY);
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json', 'x-csrf-token': csrf };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'same-origin',
  });
  const text = await res.text();
  let data: unknown;
  try {
    data = text === '' ? undefined : JSON.parse(text);
  } catch {
    data = undefined;
  }
  if (!res.ok) {
    if (res.status === 401 && path !== '/api/session') onLoggedOut();
    const error = (data as { error?: string; hint?: string } | undefined) ?? {};
    throw new ApiError(res.status, `${error.error ?? res.statusText}${error.hint ? ` (${error.hint})` : ''}`);
  }
  return data as T;
}

/** `role` or better: viewers read, approvers also decide approvals, admins also manage grants and tools. */
export function can(me: Me, role: Me['role']): boolean {
  const rank = { viewer: 0, approver: 1, admin: 2 };
  return rank[me.role] >= rank[role];
}

export interface Minute {
  time: string;
  calls: number;
  decisions: Record<string, number>;
  p50Ms: number | null;
  p99Ms: number | null;
}

export interface Overview {
  time: string;
  sessions: number;
  pendingApprovals: number;
  upstreams: Array<{ server: string; transport: string; links: number; ready: number; status: string }>;
  minutes: Minute[];
}

export interface Signal {
  kind: string;
  evidence: string;
}

export interface Tool {
  server: string;
  name: string;
  category: string;
  risk: string;
  signals: Signal[];
  pinned: boolean;
  hidden: boolean;
  changed: boolean;
  /** Flagged as tool poisoning and not yet accepted by a person. */
  poisoned: boolean;
  decision: string;
  confidence: number;
  rationale: string;
}

export interface DiffLine {
  op: ' ' | '-' | '+';
  text: string;
}

/** GET /api/tools/<server>/<tool>/pin: the accepted definition and the one waiting for a person, as a diff. */
export interface PinReview {
  server: string;
  tool: string;
  acceptedAt: string;
  acceptedBy: string;
  review: {
    hash: string;
    seenAt: string;
    reason: 'changed' | 'poisoning';
    poisoned: boolean;
    poisoning: Signal[];
    diff: {
      fields: Array<{ field: string; changed: boolean; lines: DiffLine[] }>;
      hiddenCharacters: string[];
    };
  } | null;
}

export interface Approval {
  id: string;
  server: string;
  tool: string;
  arguments: unknown;
  grant: string | null;
  /** oauth: the identity provider's subject the agent acts for (SPEC §14); absent or null for grants. */
  subject?: string | null;
  risk: string | null;
  rule: string;
  createdAt: string;
  status: string;
  reason: string | null;
  expiresAt: string;
  decidedBy: string | null;
  decidedAt: string | null;
  note: string | null;
  /** Where the arguments hold characters a person cannot see (bidi controls, zero-width, tags). */
  hiddenCharacters?: { path: string; characters: string[]; inKey?: true }[];
}

export interface AuditRecord {
  seq: number;
  time: string;
  requestKey: string;
  grant: string | null;
  /** oauth: the identity provider's subject the agent acts for (SPEC §14); absent or null for grants. */
  subject?: string | null;
  server: string | null;
  method: string;
  tool: string | null;
  decision: string;
  rule: string | null;
  reason: string | null;
  outcome: string | null;
  latencyMs: number | null;
  [key: string]: unknown;
}

export interface Grant {
  id: string;
  label: string;
  kind: 'agent' | 'admin';
  role?: string;
  servers: string[] | 'all';
  groups: string[];
  policy: string | null;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

export function age(iso: string, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
}

export function pretty(v: unknown): string {
  return JSON.stringify(v, null, 2) ?? 'undefined';
}
