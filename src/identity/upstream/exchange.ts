// RFC 8693 token exchange at the agent's issuer: for an upstream that trusts the same identity provider, warden trades
// the agent's token (issued for warden) for a token issued for the upstream (audience = the upstream), with the same
// subject. The agent's own token therefore never reaches the upstream; the upstream sees a token meant for itself.
//
// Exchanged tokens are cached per subject until shortly before they expire, and never past the expiry of the agent
// token they were obtained with: an agent whose token ran out gets no upstream token from the cache either.

import { clientRequestHeaders } from '../oauth/client-auth.js';
import type { Issuer } from '../oauth/issuer.js';

export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

export interface ExchangeConfig {
  /** Warden's client at the issuer (allowed the token-exchange grant there). */
  clientId: string;
  clientSecret?: string | undefined;
  /** What the upstream token is for: sent as `audience`, and as `resource` (RFC 8707) when it is a URL. */
  audience: string;
  /** Scopes asked for the upstream token; the issuer's default when undefined. */
  scope?: string | undefined;
}

export interface ExchangeOptions {
  fetch?: typeof fetch;
  now?: () => number;
  /** An exchanged token is used until this long before it expires (default 60 s). */
  refreshBeforeMs?: number;
  /** Cached subjects at most (the oldest go first). */
  maxEntries?: number;
  timeoutMs?: number;
}

/** Why an exchange failed: the issuer's `error` code when it sent one (never a token). */
export class TokenExchangeError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
  }
}

interface Cached {
  token: string;
  /** When the cached token stops being handed out (ms since the epoch). */
  until: number;
}

/** https, or http on a loopback name (tests, a provider on this machine). */
export function secureEndpoint(url: string): boolean {
  if (!URL.canParse(url)) return false;
  const u = new URL(url);
  return (
    u.protocol === 'https:' ||
    (u.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname.toLowerCase()))
  );
}

/** Without `expires_in` an exchanged token is cached this long at most. */
const DEFAULT_LIFETIME_MS = 5 * 60_000;

export class TokenExchanger {
  private readonly cache = new Map<string, Cached>();
  private readonly pending = new Map<string, Promise<string>>();
  private readonly f: typeof fetch;
  private readonly now: () => number;
  /** Exchanges done (not cache hits): for tests and metrics. */
  exchanges = 0;

  constructor(
    private readonly issuer: Issuer,
    private readonly config: ExchangeConfig,
    private readonly opts: ExchangeOptions = {},
  ) {
    this.f = opts.fetch ?? fetch;
    this.now = opts.now ?? Date.now;
  }

  /**
   * A token for the upstream on behalf of `subject` (`issuer|sub`), from the cache or by exchanging `subjectToken`.
   * `subjectExpiresAt` (ms) caps how long the result is cached. Concurrent calls for one subject share one exchange.
   */
  async tokenFor(subject: string, subjectToken: string, subjectExpiresAt?: number): Promise<string> {
    const hit = this.cache.get(subject);
    if (hit !== undefined && this.now() < hit.until) return hit.token;
    if (hit !== undefined) this.cache.delete(subject);
    let p = this.pending.get(subject);
    if (p === undefined) {
      p = this.exchange(subject, subjectToken, subjectExpiresAt).finally(() => this.pending.delete(subject));
      this.pending.set(subject, p);
    }
    return p;
  }

  private async exchange(subject: string, subjectToken: string, subjectExpiresAt?: number): Promise<string> {
    const meta = await this.issuer.metadata();
    if (typeof meta.token_endpoint !== 'string')
      throw new TokenExchangeError(`issuer ${meta.issuer} publishes no token_endpoint`, undefined);
    // The agent's token goes there: never in clear, except to a provider on this machine.
    if (!secureEndpoint(meta.token_endpoint))
      throw new TokenExchangeError(
        `issuer ${meta.issuer}: token_endpoint must be https (http only on loopback)`,
        undefined,
      );
    const body = new URLSearchParams({
      grant_type: TOKEN_EXCHANGE_GRANT,
      subject_token: subjectToken,
      subject_token_type: ACCESS_TOKEN_TYPE,
      requested_token_type: ACCESS_TOKEN_TYPE,
      audience: this.config.audience,
    });
    if (URL.canParse(this.config.audience)) body.set('resource', this.config.audience);
    if (this.config.scope !== undefined) body.set('scope', this.config.scope);
    const headers = clientRequestHeaders(body, this.config.clientId, this.config.clientSecret);
    this.exchanges++;
    const res = await this.f(meta.token_endpoint, {
      method: 'POST',
      headers,
      body,
      redirect: 'error',
      signal: AbortSignal.timeout(this.opts.timeoutMs ?? 10_000),
    });
    const answer = (await res.json().catch(() => ({}))) as {
      access_token?: unknown;
      token_type?: unknown;
      issued_token_type?: unknown;
      expires_in?: unknown;
      error?: unknown;
    };
    if (!res.ok || typeof answer.access_token !== 'string' || answer.access_token === '') {
      const code = typeof answer.error === 'string' ? answer.error.slice(0, 64) : undefined;
      throw new TokenExchangeError(
        `token exchange for ${this.config.audience} refused by the issuer (${code ?? `HTTP ${res.status}`})`,
        code,
      );
    }
    // RFC 8693 2.2.1: an access token comes back as Bearer (or N_A for other token types, which we did not ask for).
    if (typeof answer.token_type === 'string' && answer.token_type.toLowerCase() !== 'bearer')
      throw new TokenExchangeError(
        `token exchange returned token_type ${answer.token_type}, not Bearer`,
        undefined,
      );
    const now = this.now();
    const lifetime =
      typeof answer.expires_in === 'number' && answer.expires_in > 0
        ? answer.expires_in * 1000
        : DEFAULT_LIFETIME_MS;
    const margin = Math.min(this.opts.refreshBeforeMs ?? 60_000, lifetime / 2);
    const until = Math.min(now + lifetime - margin, subjectExpiresAt ?? Number.POSITIVE_INFINITY);
    this.cache.set(subject, { token: answer.access_token, until });
    while (this.cache.size > (this.opts.maxEntries ?? 10_000))
      this.cache.delete(this.cache.keys().next().value!);
    return answer.access_token;
  }
}
