// Which check a bearer token gets on the agent endpoints: grant tokens (wdn_/wda_ prefix) by the grant store, anything
// else as an OAuth access token of auth.oauth.issuer; with an issuer configured, every 401 names the resource metadata.
import { loadPolicyFile } from '../../config/policy-file.js';
import type { OAuthConfig } from '../../config/resolve.js';
import { WardenError } from '../../errors.js';
import type { CompiledPolicy } from '../../policy/types.js';
import { Authenticator, type AuthResult } from '../authenticate.js';
import { ADMIN_TOKEN_PREFIX, TOKEN_PREFIX } from '../tokens.js';
import { Introspector } from './introspection.js';
import { type Issuer, issuerFor, issuerUrl } from './issuer.js';
import { ResourceServer } from './resource-server.js';

export type AgentAuthenticate = (authorization: string | undefined, path: string) => Promise<AuthResult>;

/** A grant token, by its prefix: such a token is never sent to the issuer's checks (and no JWT starts with it). */
export function isGrantToken(token: string): boolean {
  return token.startsWith(TOKEN_PREFIX) || token.startsWith(ADMIN_TOKEN_PREFIX);
}

/** The resource server of auth.oauth: checks publicUrl and the issuer URL, compiles the group policies once. */
export function createResourceServer(
  config: OAuthConfig,
  publicUrl: string | undefined,
  opts: { issuer?: Issuer; now?: () => number; fetch?: typeof fetch } = {},
): ResourceServer {
  if (publicUrl === undefined)
    throw new WardenError('CONFIG_INVALID', 'auth.oauth needs auth.publicUrl', {
      hint: 'auth.publicUrl is how agents reach warden (e.g. https://mcp.example.com); the resource is <publicUrl>/mcp',
    });
  issuerUrl(config.issuer);
  const groupPolicies = new Map<string, CompiledPolicy>();
  for (const [group, file] of Object.entries(config.policies))
    groupPolicies.set(group, loadPolicyFile(file).policy);
  const issuer = opts.issuer ?? issuerFor(config.issuer);
  const introspector =
    config.introspection === undefined
      ? undefined
      : new Introspector({ issuer, ...config.introspection, now: opts.now, fetch: opts.fetch });
  return new ResourceServer({ config, publicUrl, groupPolicies, issuer, introspector, now: opts.now });
}

/** The agent endpoints' authenticate: grants as before, and OAuth access tokens when `rs` is set. */
export function agentAuthenticate(grants: Authenticator, rs: ResourceServer | undefined): AgentAuthenticate {
  if (rs === undefined) return (authorization) => grants.authenticate(authorization);
  return async (authorization, path) => {
    const token = Authenticator.bearer(authorization);
    if (token === undefined || token === '' || isGrantToken(token)) {
      const r = await grants.authenticate(authorization);
      if (r.ok || r.error === 'unavailable') return r;
      return {
        ...r,
        challenge: rs.challenge(
          path,
          r.error === 'missing'
            ? undefined
            : { error: 'invalid_token', description: 'The token is unknown, revoked or malformed' },
        ),
      };
    }
    const check = await rs.verify(token, path);
    if (check.ok) return check;
    if (check.error === 'unavailable') return { ok: false, error: 'unavailable' };
    return {
      ok: false,
      error: check.error,
      challenge: rs.challenge(path, {
        error: check.error === 'insufficient_scope' ? 'insufficient_scope' : 'invalid_token',
        description: check.description,
      }),
    };
  };
}
