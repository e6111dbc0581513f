// Warden as an OAuth 2.1 protected resource (SPEC §14): RFC 9728 metadata, the 401/403 challenges, JWT access tokens.
import { createHash } from 'node:crypto';
import { type JWTPayload, errors as joseErrors } from 'jose';
import type { OAuthConfig } from '../../config/resolve.js';
import type { CompiledPolicy } from '../../policy/types.js';
import type { Identity, OAuthIdentity } from '../authenticate.js';
import type { Introspector } from './introspection.js';
import { type Issuer, issuerFor } from './issuer.js';
import { JwtError, verifyJwt } from './jwt.js';

/** Asymmetric algorithms only: `none` and the HS* family (a shared secret anyone holding the JWKS could guess) never. */
export const ACCEPTED_ALGORITHMS: ReadonlySet<string> = new Set([
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
]);

export type TokenCheck =
  | { ok: true; identity: Identity }
  | {
      ok: false;
      /** invalid: 401 invalid_token; insufficient_scope: 403; unavailable: the issuer cannot be reached (503). */
      error: 'invalid' | 'insufficient_scope' | 'unavailable';
      description: string;
    };

export interface ResourceServerOptions {
  config: OAuthConfig;
  /** auth.publicUrl, no trailing slash. */
  publicUrl: string;
  /** Compiled group policies (group -> policy), from auth.oauth.policies. */
  groupPolicies: ReadonlyMap<string, CompiledPolicy>;
  issuer?: Issuer | undefined;
  /** Opaque (non-JWT) tokens are introspected when set (RFC 7662); without it only JWTs are accepted. */
  introspector?: Introspector | undefined;
  now?: () => number;
}

const WELL_KNOWN = '/.well-known/oauth-protected-resource';
/** A verified JWT is remembered this long at most (a key removed at the issuer stops its tokens within this). */
const VERIFIED_MS = 60_000;
const VERIFIED_MAX = 10_000;

/** A claim by name, or by dotted path (`realm_access.roles`) when no top-level claim has that exact name. */
export function claimAt(payload: Record<string, unknown>, path: string): unknown {
  if (Object.hasOwn(payload, path)) return payload[path];
  let at: unknown = payload;
  for (const part of path.split('.')) {
    if (typeof at !== 'object' || at === null || Array.isArray(at) || !Object.hasOwn(at, part))
      return undefined;
    at = (at as Record<string, unknown>)[part];
  }
  return at;
}

/** Groups as a list of strings: a JSON list (non-strings dropped) or a space-separated string. */
export function groupsOf(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter((g): g is string => typeof g === 'string' && g !== '');
  if (typeof value === 'string') return value.split(/\s+/).filter((g) => g !== '');
  return [];
}

export class ResourceServer {
  readonly issuer: Issuer;
  private readonly now: () => number;
  /** The audience every endpoint accepts (RFC 8707): auth.oauth.audience or <publicUrl>/mcp. */
  readonly audience: string;

  /** publicUrl split once: the metadata URL of a resource is origin + well-known + path (RFC 9728 §3.1). */
  private readonly origin: string;
  private readonly basePath: string;
  /**
   * sha256(token) -> claims of a JWT whose signature and claims held, for at most VERIFIED_MS and never past its exp:
   * an agent sends the same token with every request, and an RSA verification costs far more than a hash. aud, exp
   * and scopes are checked again on every hit; a tampered token hashes differently.
   */
  private readonly verified = new Map<string, { payload: JWTPayload; until: number }>();

  constructor(private readonly opts: ResourceServerOptions) {
    this.issuer = opts.issuer ?? issuerFor(opts.config.issuer);
    this.now = opts.now ?? Date.now;
    this.audience = opts.config.audience ?? `${opts.publicUrl}/mcp`;
    const url = new URL(opts.publicUrl);
    this.origin = url.origin;
    this.basePath = url.pathname.replace(/\/$/, '');
  }

  /** The protected resource a request path belongs to: `<publicUrl>/mcp` or `<publicUrl>/mcp/<id>`. */
  resourceFor(path: string): string {
    return `${this.opts.publicUrl}${endpointSuffix(path)}`;
  }

  /** Where the metadata of a resource is (RFC 9728 §3.1: the well-known segment goes before the resource's path). */
  metadataUrlFor(path: string): string {
    return `${this.origin}${WELL_KNOWN}${this.basePath}${endpointSuffix(path)}`;
  }

  /**
   * The RFC 9728 document for a well-known request path, or undefined when the path is not one warden answers:
   * `/.well-known/oauth-protected-resource` (the /mcp resource), `.../mcp`, `.../mcp/<id>` for a configured server.
   * Paths are taken relative to publicUrl's own path, so a warden behind a path prefix answers its own forms.
   */
  metadata(path: string, servers: ReadonlySet<string>): Record<string, unknown> | undefined {
    const prefix = new URL(this.opts.publicUrl).pathname.replace(/\/$/, '');
    let rest: string;
    if (path.startsWith(`${WELL_KNOWN}${prefix}`)) rest = path.slice(WELL_KNOWN.length + prefix.length);
    else if (path.startsWith(WELL_KNOWN)) rest = path.slice(WELL_KNOWN.length);
    else return undefined;
    const parts = rest.split('/').filter((p) => p !== '');
    let resource: string;
    if (parts.length === 0 || (parts.length === 1 && parts[0] === 'mcp'))
      resource = `${this.opts.publicUrl}/mcp`;
    else if (
      parts.length === 2 &&
      parts[0] === 'mcp' &&
      servers.has(decodeURIComponentSafe(parts[1]!) ?? '\0')
    )
      resource = this.resourceFor(`/mcp/${parts[1]}`);
    else return undefined;
    return {
      resource,
      authorization_servers: [this.opts.config.issuer],
      bearer_methods_supported: ['header'],
      ...(this.opts.config.scopes.length > 0 ? { scopes_supported: this.opts.config.scopes } : {}),
      resource_name: 'mcp-warden',
    };
  }

  /** The WWW-Authenticate value of a 401 (or, with insufficient_scope, a 403) for this request path. */
  challenge(
    path: string,
    error?: { error: 'invalid_token' | 'insufficient_scope'; description: string },
  ): string {
    let v = `Bearer resource_metadata="${this.metadataUrlFor(path)}"`;
    if (this.opts.config.scopes.length > 0) v += `, scope="${this.opts.config.scopes.join(' ')}"`;
    if (error !== undefined)
      v += `, error="${error.error}", error_description="${error.description.replace(/["\\]/g, '')}"`;
    return v;
  }

  /**
   * Checks a JWT access token for the request path: signature by a key of the issuer's JWKS (asymmetric only), iss,
   * aud (the shared audience or this exact resource), exp (required) and nbf within the clock skew, then the scopes.
   */
  async verify(token: string, path: string): Promise<TokenCheck> {
    if (this.opts.introspector !== undefined && !looksLikeJwt(token)) return this.verifyOpaque(token, path);
    const { config } = this.opts;
    const key = createHash('sha256').update(token).digest('base64url');
    const hit = this.verified.get(key);
    if (hit !== undefined) {
      const now = this.now();
      const aud = hit.payload.aud;
      const resource = this.resourceFor(path);
      const forHere = Array.isArray(aud)
        ? aud.includes(this.audience) || aud.includes(resource)
        : aud === this.audience || aud === resource;
      if (now < hit.until && forHere) return this.fromClaims(hit.payload, token);
      if (now >= hit.until) this.verified.delete(key);
      if (!forHere && now < hit.until)
        return { ok: false, error: 'invalid', description: 'the token was not issued for this resource' };
    }
    let payload: JWTPayload;
    try {
      payload = await verifyJwt(token, this.issuer.key, {
        issuer: config.issuer,
        audience: [this.audience, this.resourceFor(path)],
        algorithms: ACCEPTED_ALGORITHMS,
        clockToleranceSec: Math.round(config.clockSkewMs / 1000),
        requiredClaims: ['exp'],
        nowMs: this.now(),
      });
    } catch (err) {
      if (err instanceof JwtError || err instanceof joseErrors.JOSEError)
        return { ok: false, error: 'invalid', description: describe(err) };
      // Not a token problem: the issuer's metadata or keys could not be fetched.
      return { ok: false, error: 'unavailable', description: 'the issuer cannot be reached' };
    }
    this.remember(key, payload);
    return this.fromClaims(payload, token);
  }

  private remember(key: string, payload: JWTPayload): void {
    const until = Math.min(
      this.now() + VERIFIED_MS,
      (payload.exp as number) * 1000 + this.opts.config.clockSkewMs,
    );
    if (this.verified.size >= VERIFIED_MAX) {
      const oldest = this.verified.keys().next().value;
      if (oldest !== undefined) this.verified.delete(oldest);
    }
    this.verified.set(key, { payload, until });
  }

  /**
   * An opaque token, by introspection: active, and the answer's iss (when given) the issuer, aud (required: an answer
   * without one names no resource) the audience or this resource, exp (required) in the future within the skew.
   */
  private async verifyOpaque(token: string, path: string): Promise<TokenCheck> {
    let claims: Record<string, unknown> | undefined;
    try {
      claims = await this.opts.introspector!.introspect(token);
    } catch {
      return { ok: false, error: 'unavailable', description: 'the issuer cannot be reached' };
    }
    if (claims === undefined) return { ok: false, error: 'invalid', description: 'the token is not active' };
    if (claims.iss !== undefined && claims.iss !== this.opts.config.issuer)
      return { ok: false, error: 'invalid', description: "the token's iss claim is not accepted" };
    const aud = claims.aud;
    const auds = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : [];
    if (!auds.includes(this.audience) && !auds.includes(this.resourceFor(path)))
      return { ok: false, error: 'invalid', description: 'the token was not issued for this resource' };
    const skew = this.opts.config.clockSkewMs;
    if (typeof claims.nbf === 'number' && claims.nbf * 1000 > this.now() + skew)
      return { ok: false, error: 'invalid', description: 'the token is not valid yet' };
    return this.fromClaims(claims as JWTPayload, token);
  }

  /** The identity a verified token's claims name, once its scopes are checked. */
  private fromClaims(payload: JWTPayload, token: string): TokenCheck {
    const { config } = this.opts;
    const subject = claimAt(payload, config.subjectClaim);
    if (typeof subject !== 'string' || subject === '')
      return { ok: false, error: 'invalid', description: `the token has no ${config.subjectClaim} claim` };
    const scopes = groupsOf(payload.scope ?? payload.scp);
    const missing = config.scopes.filter((s) => !scopes.includes(s));
    if (missing.length > 0)
      return {
        ok: false,
        error: 'insufficient_scope',
        description: `the token lacks scope ${missing.join(' ')}`,
      };
    const groups = groupsOf(claimAt(payload, config.groupsClaim));
    const oauth: OAuthIdentity = {
      issuer: config.issuer,
      subject,
      groups,
      scopes,
      expiresAt: (payload.exp as number) * 1000,
      token,
    };
    return { ok: true, identity: this.identityOf(oauth) };
  }

  /**
   * The identity of a verified token. It stands as a grant of its own (id from issuer and subject), so sessions,
   * limits (`per: grant`) and approvals work per subject as they do per grant; its groups' policies narrow it.
   */
  private identityOf(oauth: OAuthIdentity): Identity {
    const policies: CompiledPolicy[] = [];
    for (const g of oauth.groups) {
      const p = this.opts.groupPolicies.get(g);
      if (p !== undefined && !policies.includes(p)) policies.push(p);
    }
    return {
      grant: {
        id: subjectKey(oauth.issuer, oauth.subject),
        label: oauth.subject,
        groups: oauth.groups,
        servers: undefined,
        policy: undefined,
        groupPolicies: policies.length === 0 ? undefined : policies,
      },
      oauth,
      // A call held for an approval is not made with a token that expired meanwhile (pipeline/identity.ts).
      recheck: async () => (this.now() < oauth.expiresAt ? 'live' : 'expired'),
    };
  }
}

/** Three base64url segments: a JWS. Anything else is an opaque token. */
function looksLikeJwt(token: string): boolean {
  return /^[\w-]+\.[\w-]+\.[\w-]*$/.test(token);
}

/** A stable grant-like key for an issuer's subject: `oauth:` and 16 hex of SHA-256 (issuer, subject). */
export function subjectKey(issuer: string, subject: string): string {
  return `oauth:${createHash('sha256').update(`${issuer}\n${subject}`).digest('hex').slice(0, 16)}`;
}

/** Is this grant id an OAuth subject's (see subjectKey) rather than a stored grant's? */
export function isSubjectKey(id: string | undefined): boolean {
  return id?.startsWith('oauth:') === true;
}

/**
 * `/mcp/<id>` with the id in one canonical spelling (decoded, then encoded), or `/mcp`: the endpoint a request path
 * reaches. `/mcp/pro%62e` is the probe endpoint, as the HTTP layer routes it, so it is the probe resource too: a token
 * issued for the odd spelling `.../mcp/pro%62e` is not one for it.
 */
function endpointSuffix(path: string): string {
  const parts = path.split('/').filter((p) => p !== '');
  if (parts[0] !== 'mcp' || parts.length !== 2) return '/mcp';
  const id = decodeURIComponentSafe(parts[1]!);
  return id === undefined ? '/mcp' : `/mcp/${encodeURIComponent(id)}`;
}

function decodeURIComponentSafe(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}

/** What went wrong, in words safe to send back (no claim values). */
function describe(err: { code: string; claim?: string | undefined }): string {
  switch (err.code) {
    case 'ERR_JWT_EXPIRED':
      return 'the token has expired';
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED': {
      const claim = err.claim;
      return claim === 'aud'
        ? 'the token was not issued for this resource'
        : `the token's ${claim} claim is not accepted`;
    }
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return 'the token is signed with an algorithm warden does not accept';
    case 'ERR_JWKS_NO_MATCHING_KEY':
      return "no key of the issuer matches the token's";
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return 'the token signature is invalid';
    default:
      return 'the token is malformed or not accepted';
  }
}
