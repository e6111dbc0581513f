// Dashboard log-in: an admin token exchanged for an HttpOnly, SameSite=Strict session cookie and a CSRF token.
//
// The session keeps the admin token in this process's memory (never logged, never sent back) and authenticates it
// again on every request, so revoking the token ends its dashboard sessions at once. Sessions live in the replica
// that made them: behind a load balancer the dashboard needs sticky sessions (docs/dashboard.md).
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { AdminIdentity } from '../identity/authenticate.js';

export interface DashboardSession {
  id: string;
  /** Sent back by the page in `x-csrf-token` on every request that changes something. */
  csrf: string;
  /**
   * The admin token, checked again on every request; for an OIDC log-in a per-person key (`issuer|subject`) that
   * is never accepted as a token, since `identity` is set.
   */
  token: string;
  /** Set for an OIDC log-in (oidc-login.ts): who it is and the role from claims, fixed for the session's life. */
  identity?: AdminIdentity;
  createdAt: number;
  lastSeenAt: number;
}

export const SESSION_COOKIE = 'warden_session';

export interface SessionOptions {
  /** A session unused this long ends. */
  idleMs?: number;
  /** A session ends this long after log-in, used or not. */
  maxAgeMs?: number;
  /** The oldest sessions are dropped beyond this many. */
  maxSessions?: number;
  /** Sessions one admin token may hold at once; its oldest is dropped beyond. */
  perToken?: number;
  now?: () => number;
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The value of one cookie in a Cookie header. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export class DashboardSessions {
  private readonly sessions = new Map<string, DashboardSession>();
  private readonly idleMs: number;
  readonly maxAgeMs: number;
  private readonly maxSessions: number;
  private readonly perToken: number;
  private readonly now: () => number;

  constructor(opts: SessionOptions = {}) {
    this.idleMs = opts.idleMs ?? 60 * 60_000;
    this.maxAgeMs = opts.maxAgeMs ?? 12 * 60 * 60_000;
    this.maxSessions = opts.maxSessions ?? 1000;
    this.perToken = opts.perToken ?? 20;
    this.now = opts.now ?? Date.now;
  }

  /**
   * A new session for an admin token. Each token keeps at most `perToken` sessions (its own oldest go first), so
   * one token logging in again and again cannot push other people's sessions out.
   */
  create(token: string, identity?: AdminIdentity): DashboardSession {
    const now = this.now();
    const session: DashboardSession = {
      id: randomBytes(32).toString('base64url'),
      csrf: randomBytes(32).toString('base64url'),
      token,
      ...(identity === undefined ? {} : { identity }),
      createdAt: now,
      lastSeenAt: now,
    };
    // Maps iterate in insertion order: the first of a token's sessions is its oldest.
    const own = [...this.sessions.values()].filter((x) => x.token === token);
    for (const old of own.slice(0, Math.max(0, own.length - this.perToken + 1))) this.sessions.delete(old.id);
    this.sessions.set(session.id, session);
    while (this.sessions.size > this.maxSessions) this.sessions.delete(this.sessions.keys().next().value!);
    return session;
  }

  /** Counts a request as use of the session (for the idle limit). */
  touch(session: DashboardSession): void {
    session.lastSeenAt = this.now();
  }

  /**
   * The live session a Cookie header names; undefined when none, unknown or expired (an expired one is dropped).
   * Looking is not use: `touch` once the request has shown its CSRF token.
   */
  peek(header: string | undefined): DashboardSession | undefined {
    const id = cookieValue(header, SESSION_COOKIE);
    if (id === undefined || id === '') return undefined;
    const session = this.sessions.get(id);
    if (session === undefined) return undefined;
    const now = this.now();
    if (now - session.lastSeenAt > this.idleMs || now - session.createdAt > this.maxAgeMs) {
      this.sessions.delete(id);
      return undefined;
    }
    return session;
  }

  /** Compares in constant time; a missing header never matches. */
  csrfMatches(session: DashboardSession, header: string | string[] | undefined): boolean {
    return typeof header === 'string' && sameText(header, session.csrf);
  }

  end(id: string): void {
    this.sessions.delete(id);
  }

  /**
   * The Set-Cookie value that starts a session (or, with no session, clears the cookie). `secure` adds `Secure`: the
   * page came over HTTPS (a TLS socket, or a proxy in front that says so; the flag only ever narrows the cookie).
   */
  cookie(session: DashboardSession | undefined, secure = false): string {
    const attrs = `Path=/; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
    if (session === undefined) return `${SESSION_COOKIE}=; ${attrs}; Max-Age=0`;
    return `${SESSION_COOKIE}=${session.id}; ${attrs}; Max-Age=${Math.floor(this.maxAgeMs / 1000)}`;
  }
}
