// Per-user upstream credentials in the gateway: an upstream with `credentials` (mcpServers.<id>.credentials) gets, on every
// request, a token obtained for the identity of the agent session the link belongs to, never the agent's own token.
//
// Links with per-user credentials are per identity by construction: upstream links belong to one agent session, and a
// session is bound to the identity that opened it (SPEC §14), so one user's upstream token never serves another.
import type { UpstreamSpec } from '../../config/resolve.js';
import { WardenError } from '../../errors.js';
import type { AuthFor } from '../../proxy/upstream-parts.js';
import type { Identity } from '../authenticate.js';
import { issuerFor } from '../oauth/issuer.js';
import { TokenExchangeError, TokenExchanger } from './exchange.js';
import type { UpstreamOAuth } from './oauth-flow.js';

/**
 * Whose upstream credential a call uses: `<issuer>|<sub>` for an identity-provider token, `grant:<id>` for a grant;
 * undefined for anonymous access (nobody to hold a credential for).
 */
export function credentialSubject(identity: Identity): string | undefined {
  if (identity.oauth !== undefined) return `${identity.oauth.issuer}|${identity.oauth.subject}`;
  if (identity.grant !== undefined) return `grant:${identity.grant.id}`;
  return undefined;
}

export class UpstreamCredentials {
  private readonly exchangers = new Map<string, TokenExchanger>();

  /** `issuer`: auth.oauth.issuer (where agents' tokens come from and are exchanged). */
  constructor(
    upstreams: readonly UpstreamSpec[],
    private readonly issuer: string | undefined,
    /** The per-user OAuth flow of upstreams with `credentials.type: oauth` (src/identity/upstream/oauth-flow.ts). */
    private readonly flow?: UpstreamOAuth,
  ) {
    for (const spec of upstreams) {
      if (spec.auth?.type !== 'token-exchange' || issuer === undefined) continue;
      this.exchangers.set(
        spec.id,
        new TokenExchanger(issuerFor(issuer), {
          clientId: spec.auth.clientId,
          clientSecret: spec.auth.clientSecret,
          audience: spec.auth.audience,
          scope: spec.auth.scope,
        }),
      );
    }
  }

  get any(): boolean {
    return this.exchangers.size > 0 || this.flow !== undefined;
  }

  private uses(spec: UpstreamSpec): boolean {
    return this.exchangers.has(spec.id) || (this.flow?.has(spec.id) ?? false);
  }

  /** The Authorization value for `spec` on behalf of `identity`; a clear error when there is none to be had. */
  async authorization(spec: UpstreamSpec, identity: Identity): Promise<string> {
    if (this.flow?.has(spec.id)) {
      const subject = credentialSubject(identity);
      if (subject === undefined)
        throw new WardenError(
          'UPSTREAM_START_FAILED',
          `upstream ${spec.id} acts for each user: connect with a grant or an access token (anonymous agents have no upstream credential)`,
        );
      return this.flow.authorization(spec.id, subject);
    }
    const exchanger = this.exchangers.get(spec.id);
    const oauth = identity.oauth;
    if (exchanger === undefined) throw new Error(`upstream ${spec.id} has no credential source`);
    if (oauth === undefined)
      throw new WardenError(
        'UPSTREAM_START_FAILED',
        `upstream ${spec.id} acts for each user: call it with an access token from ${this.issuer} (a grant has no upstream credential)`,
      );
    if (oauth.expiresAt <= Date.now())
      throw new WardenError(
        'UPSTREAM_START_FAILED',
        `upstream ${spec.id}: the agent's access token has expired`,
      );
    try {
      const token = await exchanger.tokenFor(
        `${oauth.issuer}|${oauth.subject}`,
        oauth.token,
        oauth.expiresAt,
      );
      return `Bearer ${token}`;
    } catch (err) {
      // The issuer's answer names an error code, never a token.
      const why =
        err instanceof TokenExchangeError ? err.message : `token exchange failed: ${(err as Error).message}`;
      throw new WardenError('UPSTREAM_START_FAILED', `upstream ${spec.id}: ${why}`);
    }
  }

  /**
   * The per-user credentials of one agent session's identity: for an upstream with `credentials`, the hooks its HTTP
   * transport (either era) asks for each request's Authorization value; undefined for the others.
   */
  authFor(identity: Identity): AuthFor | undefined {
    if (!this.any) return undefined;
    return (spec) =>
      spec.auth !== undefined && this.uses(spec)
        ? {
            authorization: () => this.authorization(spec, identity),
            // A 401 from the upstream: the oauth flow refreshes before the one retry (an exchange is simply redone).
            unauthorized: (value) => {
              const subject = credentialSubject(identity);
              if (subject !== undefined && this.flow?.has(spec.id))
                this.flow.refusedBy(spec.id, subject, value);
            },
          }
        : undefined;
  }
}
