// Who is calling: resolves an Authorization header to a grant (or anonymous, when the config allows it) on every request.

import { createHash, timingSafeEqual } from 'node:crypto';
import { parsePolicyText } from '../config/policy-file.js';
import { WardenError } from '../errors.js';
import type { Logger } from '../log.js';
import type { CompiledPolicy, GrantFacts } from '../policy/types.js';
import type { AdminRole, Grant, GrantStore } from '../store/grants.js';
import { parseToken, secretMatches } from './tokens.js';

/** The identity of a request: a grant, or nobody (anonymous access, when the config allows it). */
export interface Identity {
  grant: AuthenticatedGrant | undefined;
  /**
   * Reads the grant again: is it still live? Set for grants (not for anonymous access). HTTP requests are
   * authenticated one by one anyway; the pipeline calls this for a call that waited for an approval, and, when
   * `recheckEachRequest` is set, for every request.
   */
  recheck?: (() => Promise<GrantState>) | undefined;
  /** stdio mode: nothing authenticates a request on its way in, so the pipeline rechecks every request. */
  recheckEachRequest?: boolean | undefined;
  /** An agent known by an identity provider's access token (SPEC §14) rather than (or beside) a grant. */
  oauth?: OAuthIdentity | undefined;
}

/**
 * Who an identity provider's token says the agent acts for (SPEC §14). `token` is the access token as presented: kept in
 * memory for the length of the request, only for an RFC 8693 exchange at the issuer; never logged, never forwarded
 * upstream as is.
 */
export interface OAuthIdentity {
  issuer: string;
  /** The subject claim (`auth.oauth.identity.subject`): the identity in audit, limits and approvals. */
  subject: string;
  /** The groups or roles claim, as a list (`auth.oauth.identity.groups`). */
  groups: readonly string[];
  scopes: readonly string[];
  /** When the token expires, in ms since the epoch. */
  expiresAt: number;
  token: string;
}

/**
 * What a recheck found. `revoked` and `rotated` are for good (a revoked grant never comes back, a rotated token never
 * works again); `unavailable` (the store cannot be read) refuses this request only.
 */
export type GrantState = 'live' | 'revoked' | 'rotated' | 'unavailable';

export interface AuthenticatedGrant extends GrantFacts {
  /** Servers the grant may use; undefined = all. */
  servers: ReadonlySet<string> | undefined;
  /** The grant's own policy, compiled; undefined when it has none. */
  policy: CompiledPolicy | undefined;
  /** An OAuth identity's group policies (auth.oauth.policies), each only narrowing, after `policy`. */
  groupPolicies?: readonly CompiledPolicy[] | undefined;
}

export const ANONYMOUS: Identity = Object.freeze({ grant: undefined });

export type AuthResult =
  | { ok: true; identity: Identity }
  | {
      ok: false;
      /** insufficient_scope: an OAuth token without a scope every token must carry (403, SPEC §14). */
      error: 'missing' | 'invalid' | 'unavailable' | 'insufficient_scope';
      /** oauth: the WWW-Authenticate value to send (RFC 9728 resource_metadata); undefined: the grant-only challenge. */
      challenge?: string | undefined;
    };

/** Who is using the admin API: an admin token's label and role. */
export interface AdminIdentity {
  /** The admin token's label; `(environment)` for WARDEN_ADMIN_TOKEN. */
  label: string;
  role: AdminRole;
}

export interface AuthenticatorOptions {
  store: GrantStore;
  /** Requests without a token are let in as nobody. A token that is sent is still checked. */
  anonymous: boolean;
  /** WARDEN_ADMIN_TOKEN: a token of role admin that lives outside the store. */
  environmentAdminToken?: string | undefined;
  log: Logger;
  now?: () => number;
}

/** last_used_at is written at most this often per grant: a write per request would cost more than the lookup. */
const TOUCH_EVERY_MS = 60_000;

export class Authenticator {
  private readonly compiled = new Map<string, { text: string; policy: CompiledPolicy | undefined }>();
  private readonly touched = new Map<string, number>();
  private readonly now: () => number;

  constructor(private readonly opts: AuthenticatorOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** The bearer token of an Authorization header; undefined when there is none. */
  static bearer(header: string | undefined): string | undefined {
    if (header === undefined) return undefined;
    const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
    return m === null ? '' : m[1];
  }

  /**
   * Reads the grant from the store on every request, so a revoke or a rotation takes effect on the next request on
   * every replica. Fails closed: a store that cannot be read lets nobody in.
   */
  async authenticate(authorization: string | undefined): Promise<AuthResult> {
    const token = Authenticator.bearer(authorization);
    if (token === undefined)
      return this.opts.anonymous ? { ok: true, identity: ANONYMOUS } : { ok: false, error: 'missing' };
    const parsed = parseToken(token);
    // An admin token is no agent identity: it is refused here as any unknown token is.
    if (parsed === undefined || parsed.kind !== 'agent') return { ok: false, error: 'invalid' };
    let grant: Grant | undefined;
    try {
      grant = await this.opts.store.get(parsed.id);
    } catch (err) {
      this.opts.log.error({ err: (err as Error).message }, 'grant store unavailable: request refused');
      return { ok: false, error: 'unavailable' };
    }
    if (
      grant === undefined ||
      grant.role !== undefined ||
      grant.revokedAt !== undefined ||
      !secretMatches(parsed.secret, grant.tokenHash)
    )
      return { ok: false, error: 'invalid' };
    this.touch(grant.id);
    return {
      ok: true,
      identity: { ...this.identityOf(grant), recheck: this.rechecker(grant.id, undefined) },
    };
  }

  /**
   * stdio mode: the grant named on the command line (the person running warden can read its config and database,
   * so no token is asked for), or the token in WARDEN_TOKEN, or anonymous when the config allows it.
   */
  async stdioIdentity(label: string | undefined, token: string | undefined): Promise<Identity> {
    if (label !== undefined) {
      const grant = await this.opts.store.find(label);
      if (grant === undefined || grant.role !== undefined || grant.revokedAt !== undefined)
        throw new WardenError('CONFIG_INVALID', `no live grant labelled "${label}"`, {
          hint: 'warden grants list shows them; warden grants create makes one',
        });
      this.touch(grant.id);
      // Read again on every request, so `warden grants revoke` ends the running process's access (docs/identity.md).
      return {
        ...this.identityOf(grant),
        recheck: this.rechecker(grant.id, undefined),
        recheckEachRequest: true,
      };
    }
    if (token !== undefined && token !== '') {
      const r = await this.authenticate(`Bearer ${token}`);
      if (!r.ok)
        throw new WardenError(
          'CONFIG_INVALID',
          'WARDEN_TOKEN is not a valid grant token (unknown, revoked or malformed)',
        );
      // The token itself is checked again on every request: a rotation ends it as a revocation does.
      const parsed = parseToken(token)!;
      return { ...r.identity, recheck: this.rechecker(parsed.id, parsed.secret), recheckEachRequest: true };
    }
    if (this.opts.anonymous) return ANONYMOUS;
    throw new WardenError('CONFIG_INVALID', 'stdio mode needs a grant', {
      hint: 'pass --grant <label>, set WARDEN_TOKEN, or set auth.anonymous: true in the config',
    });
  }

  /**
   * A grant's recheck: one primary-key read per call (what every HTTP request costs too), no cache, so a revoke is
   * seen by the very next request. With `secret` (a token), a rotation ends it too. A final answer is remembered:
   * the store is not read again for a grant that is gone.
   */
  private rechecker(id: string, secret: string | undefined): () => Promise<GrantState> {
    let final: GrantState | undefined;
    return async () => {
      if (final !== undefined) return final;
      let grant: Grant | undefined;
      try {
        grant = await this.opts.store.get(id);
      } catch (err) {
        this.opts.log.error({ err: (err as Error).message }, 'grant store unavailable: request refused');
        return 'unavailable';
      }
      if (grant === undefined || grant.role !== undefined || grant.revokedAt !== undefined) final = 'revoked';
      else if (secret !== undefined && !secretMatches(secret, grant.tokenHash)) final = 'rotated';
      if (final !== undefined) return final;
      this.touch(id);
      return 'live';
    };
  }

  private identityOf(grant: Grant): Identity {
    return {
      grant: {
        id: grant.id,
        label: grant.label,
        groups: grant.groups,
        servers: grant.servers === undefined ? undefined : new Set(grant.servers),
        policy: this.policyOf(grant),
      },
    };
  }

  /**
   * The admin identity of an Authorization header on the admin port; undefined when it is missing or not an admin
   * token (agent tokens are refused). Read from the store on every request, like agent grants.
   */
  async authenticateAdmin(authorization: string | undefined): Promise<AdminIdentity | undefined> {
    const token = Authenticator.bearer(authorization);
    if (token === undefined || token === '') return undefined;
    const env = this.opts.environmentAdminToken;
    if (env !== undefined && env !== '' && timingSafeEqual(digest(token), digest(env)))
      return { label: '(environment)', role: 'admin' };
    const parsed = parseToken(token);
    if (parsed === undefined || parsed.kind !== 'admin') return undefined;
    const grant = await this.opts.store.get(parsed.id);
    if (
      grant === undefined ||
      grant.role === undefined ||
      grant.revokedAt !== undefined ||
      !secretMatches(parsed.secret, grant.tokenHash)
    )
      return undefined;
    this.touch(grant.id);
    return { label: grant.label, role: grant.role };
  }

  /** Compiled once per grant and policy text. A stored policy that no longer compiles denies everything. */
  private policyOf(grant: Grant): CompiledPolicy | undefined {
    if (grant.policy === undefined) return undefined;
    const cached = this.compiled.get(grant.id);
    if (cached !== undefined && cached.text === grant.policy.text) return cached.policy;
    const { policy, problems } = parsePolicyText(
      grant.policy.text,
      `grant ${grant.label}: ${grant.policy.source}`,
    );
    const result = policy ?? DENY_ALL;
    if (policy === undefined)
      this.opts.log.error(
        { grant: grant.label, problems },
        "grant policy does not compile: the grant's calls are denied",
      );
    this.compiled.set(grant.id, { text: grant.policy.text, policy: result });
    return result;
  }

  /**
   * A grant used where no request is authenticated (stdio mode: at start and with each message): records its use.
   * Not in stdioIdentity(), which the dashboard's simulator also asks.
   */
  noteUse(id: string): void {
    this.touch(id);
  }

  private touch(id: string): void {
    const now = this.now();
    if (now - (this.touched.get(id) ?? 0) < TOUCH_EVERY_MS) return;
    this.touched.set(id, now);
    this.opts.store
      .touch(id, new Date(now).toISOString())
      .catch((err: Error) => this.opts.log.warn({ err: err.message }, 'could not record grant use'));
  }
}

const digest = (s: string) => createHash('sha256').update(s).digest();

const DENY_ALL: CompiledPolicy = parsePolicyText('{"version":"1","default":"deny"}', '(invalid grant policy)')
  .policy as CompiledPolicy;
