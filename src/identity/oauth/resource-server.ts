// Warden as an OAuth 2.1 protected resource (SPEC §14): RFC 9728 metadata, the 401/403 challenges, JWT access tokens.
import { createHash } from 'node:crypto';
import { type JWTPayload, errors as joseErrors, jwtVerify } from 'jose';
import type { OAuthConfig } from '../../config/resolve.js';
import type { CompiledPolicy } from '../../policy/types.js';
import type { Identity, OAuthIdentity } from '../authenticate.js';
import { type Issuer, issuerFor } from './issuer.js';

/** Asymmetric algorithms only: `none` and the HS* family (a shared secret anyone holding the JWKS could guess) never. */
export const ACCEPTED_ALGORITHMS = [
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
];

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
  now?: () => number;
}

const WELL_KNOWN = '/.well-known/oauth-protected-resource';

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

  constructor(private readonly opts: ResourceServerOptions) {
    this.issuer = opts.issuer ?? issuerFor(opts.config.issuer);
    this.now = opts.now ?? Date.now;
    this.audience = opts.config.audience ?? `${opts.publicUrl}/mcp`;
  }

  /** The protected resource a request path belongs to: `<publicUrl>/mcp` or `<publicUrl>/mcp/<id>`. */
  resourceFor(path: string): string {
    const parts = path.split('/').filter((p) => p !== '');
    if (parts[0] === 'mcp' && parts.length === 2) return `${this.opts.publicUrl}/mcp/${parts[1]}`;
    return `${this.opts.publicUrl}/mcp`;
  }

  /** Where the metadata of a resource is (RFC 9728 §3.1: the well-known segment goes before the resource's path). */
  metadataUrlFor(path: string): string {
    const resource = new URL(this.resourceFor(path));
    return `${resource.origin}${WELL_KNOWN}${resource.pathname}`;
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
      resource = `${this.opts.publicUrl}/mcp/${parts[1]}`;
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
    const { config } = this.opts;
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.issuer.key, {
        issuer: config.issuer,
        audience: [this.audience, this.resourceFor(path)],
        algorithms: ACCEPTED_ALGORITHMS,
        clockTolerance: Math.round(config.clockSkewMs / 1000),
        requiredClaims: ['exp', 'iss', 'aud'],
        currentDate: new Date(this.now()),
      }));
    } catch (err) {
      if (err instanceof joseErrors.JOSEError)
        return { ok: false, error: 'invalid', description: describe(err) };
      // Not a token problem: the issuer's metadata or keys could not be fetched.
      return { ok: false, error: 'unavailable', description: 'the issuer cannot be reached' };
    }
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
    };
  }
}

/** A stable grant-like key for an issuer's subject: `oauth:` and 16 hex of SHA-256 (issuer, subject). */
export function subjectKey(issuer: string, subject: string): string {
  return `oauth:${createHash('sha256').update(`${issuer}\n${subject}`).digest('hex').slice(0, 16)}`;
}

function decodeURIComponentSafe(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}

/** What went wrong, in words safe to send back (no claim values). */
function describe(err: joseErrors.JOSEError): string {
  switch (err.code) {
    case 'ERR_JWT_EXPIRED':
      return 'the token has expired';
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED': {
      const claim = (err as joseErrors.JWTClaimValidationFailed).claim;
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
