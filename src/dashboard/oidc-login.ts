// Dashboard log-in through the organisation's identity provider: OpenID Connect authorization code with PKCE, as an
// alternative to admin tokens (config `auth.dashboard`, docs/identity-admin-upstream.md).
//
// The flow: GET /api/oidc/login makes a state, a nonce and a PKCE verifier, remembers them in this process (like the
// dashboard sessions: the replica that started a log-in must finish it), ties them to this browser with a short-lived
// HttpOnly cookie, and sends the browser to the provider. GET /api/oidc/callback takes the one-time state back,
// checks the cookie, redeems the code with the verifier at the token endpoint, verifies the ID token (signature by
// the provider's JWKS, iss, aud = our client id, exp, nonce) and maps the groups claim to a dashboard role. A person
// with no mapped role is refused. The session cookie is then the one admin tokens get; the page fetches its CSRF
// token once with a one-time hand-off code it finds in the URL fragment (never sent to any server, so never logged).
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { type JWTPayload, jwtVerify } from 'jose';
import type { AdminIdentity } from '../identity/authenticate.js';
import { clientRequestHeaders } from '../identity/oauth/client-auth.js';
import { type Issuer, type IssuerMetadata, issuerFor } from '../identity/oauth/issuer.js';
import { secureEndpoint } from '../identity/upstream/exchange.js';
import type { AdminRole } from '../store/grants.js';

export interface OidcLoginConfig {
  /** The provider's issuer URL; its metadata is read from `<issuer>/.well-known/openid-configuration`. */
  issuer: string;
  clientId: string;
  /** Confidential client (client_secret_basic); without it the dashboard is a public client (PKCE only). */
  clientSecret?: string | undefined;
  /** Exactly as registered at the provider: `<admin origin>/api/oidc/callback`. */
  redirectUri: string;
  scopes: string[];
  /** Claim (or dotted path) with the person's groups: a list or a space-separated string. */
  groupsClaim: string;
  /** Claim shown as who is logged in (decidedBy on approvals); `sub` when the token lacks it. */
  labelClaim: string;
  /** Groups per role; a person gets the highest role any of their groups maps to. */
  roles: Partial<Record<AdminRole, string[]>>;
}

/** Why a log-in was refused: shown to the person (it names nothing secret). */
export class OidcLoginError extends Error {}

interface ProviderMetadata {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  jwks_uri: string;
}

interface Pending {
  nonce: string;
  verifier: string;
  binding: string;
  createdAt: number;
}

export interface OidcSuccess {
  identity: AdminIdentity;
  /** `iss|sub`: one person, for per-person session limits. */
  key: string;
}

export const OIDC_BINDING_COOKIE = 'warden_oidc';
/** A log-in not finished within this long starts again. */
const PENDING_MS = 10 * 60_000;
/** Log-ins under way at once, at most (the oldest are dropped beyond): GET /api/oidc/login needs no credentials. */
const MAX_PENDING = 1000;
/** The page redeems its hand-off code at once; an unused one ends after this long. */
const HANDOFF_MS = 2 * 60_000;
/** Asymmetric signatures only: `none` and HMAC (a key the client also holds) are refused. */
const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];
const ROLE_ORDER: AdminRole[] = ['admin', 'approver', 'viewer'];

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

const token = (): string => randomBytes(32).toString('base64url');

/** An `http://` issuer only on loopback (tests, a provider on this machine); anything else must be https. */
export function checkIssuerUrl(issuer: string): void {
  const url = new URL(issuer);
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback))
    throw new OidcLoginError(`the issuer ${issuer} must use https (http only on loopback)`);
}

/** A claim by name or dotted path (`realm_access.roles`). */
function claimAt(payload: JWTPayload, path: string): unknown {
  if (Object.hasOwn(payload, path)) return payload[path];
  let at: unknown = payload;
  for (const part of path.split('.')) {
    if (typeof at !== 'object' || at === null || !Object.hasOwn(at, part)) return undefined;
    at = (at as Record<string, unknown>)[part];
  }
  return at;
}

/** Groups as a list of strings: a JSON list (non-strings ignored) or one space-separated string. */
export function groupsOf(value: unknown): string[] {
  if (typeof value === 'string') return value.split(/\s+/).filter((g) => g !== '');
  if (Array.isArray(value)) return value.filter((g): g is string => typeof g === 'string');
  return [];
}

/** The highest role any of the groups maps to (exact, case-sensitive names); undefined when none does. */
export function roleFor(groups: string[], roles: OidcLoginConfig['roles']): AdminRole | undefined {
  const have = new Set(groups);
  return ROLE_ORDER.find((role) => (roles[role] ?? []).some((g) => have.has(g)));
}

export class OidcLogin {
  private readonly issuer: Issuer;
  private readonly pending = new Map<string, Pending>();
  private readonly handoffs = new Map<string, { sessionId: string; createdAt: number }>();

  constructor(
    readonly config: OidcLoginConfig,
    private readonly now: () => number = Date.now,
  ) {
    checkIssuerUrl(config.issuer);
    this.issuer = issuerFor(config.issuer);
  }

  /** The provider's endpoints (shared, cached discovery: src/identity/oauth/issuer.ts). */
  private async discover(): Promise<ProviderMetadata> {
    let m: IssuerMetadata;
    try {
      m = await this.issuer.metadata();
    } catch (err) {
      throw new OidcLoginError(`the identity provider's metadata cannot be read: ${(err as Error).message}`);
    }
    for (const key of ['authorization_endpoint', 'token_endpoint', 'jwks_uri'] as const)
      if (typeof m[key] !== 'string' || !secureEndpoint(m[key]))
        throw new OidcLoginError(`the provider's metadata has no ${key} over https`);
    return m as ProviderMetadata;
  }

  private sweep(): void {
    const now = this.now();
    for (const [state, p] of this.pending) if (now - p.createdAt > PENDING_MS) this.pending.delete(state);
    for (const [code, h] of this.handoffs) if (now - h.createdAt > HANDOFF_MS) this.handoffs.delete(code);
    while (this.pending.size > MAX_PENDING) this.pending.delete(this.pending.keys().next().value!);
    while (this.handoffs.size > MAX_PENDING) this.handoffs.delete(this.handoffs.keys().next().value!);
  }

  /** Where to send the browser, and the binding cookie to set with that redirect. */
  async begin(secure: boolean): Promise<{ location: string; cookie: string }> {
    const m = await this.discover();
    this.sweep();
    const state = token();
    const p: Pending = { nonce: token(), verifier: token(), binding: token(), createdAt: this.now() };
    this.pending.set(state, p);
    const url = new URL(m.authorization_endpoint);
    url.searchParams.set('response_type', 'code');
    url.searchParams.set('client_id', this.config.clientId);
    url.searchParams.set('redirect_uri', this.config.redirectUri);
    url.searchParams.set('scope', this.config.scopes.join(' '));
    url.searchParams.set('state', state);
    url.searchParams.set('nonce', p.nonce);
    url.searchParams.set('code_challenge', createHash('sha256').update(p.verifier).digest('base64url'));
    url.searchParams.set('code_challenge_method', 'S256');
    // Lax, not Strict: the provider sends the browser back by a cross-site top-level navigation.
    const cookie = `${OIDC_BINDING_COOKIE}=${p.binding}; Path=/api/oidc; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}; Max-Age=${PENDING_MS / 1000}`;
    return { location: url.href, cookie };
  }

  /** The Set-Cookie value that clears the binding cookie. */
  clearBinding(secure: boolean): string {
    return `${OIDC_BINDING_COOKIE}=; Path=/api/oidc; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}; Max-Age=0`;
  }

  /** Finishes a log-in from the callback's query and the binding cookie; throws OidcLoginError when refused. */
  async finish(query: URLSearchParams, binding: string | undefined): Promise<OidcSuccess> {
    this.sweep();
    const state = query.get('state') ?? '';
    const p = this.pending.get(state);
    // One use only, whatever the outcome: a state seen twice is a replay.
    this.pending.delete(state);
    if (p === undefined) throw new OidcLoginError('unknown or expired log-in (start again)');
    if (binding === undefined || !sameText(binding, p.binding))
      throw new OidcLoginError('this log-in was started in another browser');
    const error = query.get('error');
    if (error !== null) throw new OidcLoginError(`the identity provider refused: ${error.slice(0, 100)}`);
    const code = query.get('code');
    if (code === null || code === '') throw new OidcLoginError('the identity provider sent no code');
    const m = await this.discover();
    const body = new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: this.config.redirectUri,
      code_verifier: p.verifier,
    });
    const headers = clientRequestHeaders(body, this.config.clientId, this.config.clientSecret);
    const res = await fetch(m.token_endpoint, { method: 'POST', headers, body, redirect: 'error' });
    const tokens = (await res.json().catch(() => ({}))) as { id_token?: unknown; error?: unknown };
    if (!res.ok || typeof tokens.id_token !== 'string')
      throw new OidcLoginError(`the token endpoint refused the code (${String(tokens.error ?? res.status)})`);
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(tokens.id_token, this.issuer.key, {
        issuer: this.config.issuer,
        audience: this.config.clientId,
        algorithms: ALGORITHMS,
        requiredClaims: ['exp', 'iat', 'sub'],
        clockTolerance: 60,
      }));
    } catch (err) {
      throw new OidcLoginError(`the ID token is not valid: ${(err as Error).message}`);
    }
    // OIDC Core 3.1.3.7: with several audiences, the token must have been issued to us (azp).
    if (Array.isArray(payload.aud) && payload.aud.length > 1 && payload.azp !== this.config.clientId)
      throw new OidcLoginError(
        'the ID token names several audiences and was not issued to this client (azp)',
      );
    if (typeof payload.nonce !== 'string' || !sameText(payload.nonce, p.nonce))
      throw new OidcLoginError('the ID token does not carry this log-in’s nonce');
    const sub = payload.sub!;
    const groups = groupsOf(claimAt(payload, this.config.groupsClaim));
    const role = roleFor(groups, this.config.roles);
    const shown = claimAt(payload, this.config.labelClaim);
    const label = `oidc:${typeof shown === 'string' && shown !== '' ? shown : sub}`;
    if (role === undefined) throw new OidcLoginError(`${label} has no dashboard role (no mapped group)`);
    return { identity: { label, role }, key: `${this.config.issuer}|${sub}` };
  }

  /** A one-time code the page exchanges (with its new session cookie) for the session's CSRF token. */
  handoff(sessionId: string): string {
    const code = token();
    this.handoffs.set(code, { sessionId, createdAt: this.now() });
    return code;
  }

  /** The session a hand-off code was made for, once; undefined when unknown, used or expired. */
  redeem(code: string): string | undefined {
    this.sweep();
    const h = this.handoffs.get(code);
    this.handoffs.delete(code);
    return h?.sessionId;
  }
}
