// Opaque access tokens by RFC 7662 token introspection at the issuer, the answers cached per token hash (bounded).
import { createHash } from 'node:crypto';
import { clientRequestHeaders } from './client-auth.js';
import type { Issuer } from './issuer.js';

export interface IntrospectionOptions {
  issuer: Issuer;
  clientId: string;
  clientSecret: string;
  fetch?: typeof fetch;
  now?: () => number;
  /** Cached answers at most; the oldest go first. */
  maxEntries?: number;
  /** An inactive answer is remembered this long, so one bad token cannot make warden ask the issuer per request. */
  inactiveMs?: number;
  timeoutMs?: number;
}

/** The introspection answer's claims (RFC 7662 §2.2), for an active token only. */
export type IntrospectedClaims = Record<string, unknown> & { active: true };

export class Introspector {
  /** sha256(token) -> answer and until when it stands; the token itself is never kept. */
  private readonly cache = new Map<string, { claims: IntrospectedClaims | undefined; until: number }>();
  private readonly now: () => number;

  constructor(private readonly opts: IntrospectionOptions) {
    this.now = opts.now ?? Date.now;
  }

  get size(): number {
    return this.cache.size;
  }

  /**
   * The claims of an active token, undefined for an inactive one. Throws when the issuer cannot answer (the caller
   * refuses the request as unavailable, never lets it in). An active answer is cached until the token's exp.
   */
  async introspect(token: string): Promise<IntrospectedClaims | undefined> {
    const key = createHash('sha256').update(token).digest('base64url');
    const hit = this.cache.get(key);
    const now = this.now();
    if (hit !== undefined && hit.until > now) return hit.claims;
    if (hit !== undefined) this.cache.delete(key);
    const meta = await this.opts.issuer.metadata();
    if (typeof meta.introspection_endpoint !== 'string')
      throw new Error(`issuer ${this.opts.issuer.issuer} publishes no introspection_endpoint`);
    const form = new URLSearchParams({ token, token_type_hint: 'access_token' });
    const res = await (this.opts.fetch ?? fetch)(meta.introspection_endpoint, {
      method: 'POST',
      headers: clientRequestHeaders(form, this.opts.clientId, this.opts.clientSecret),
      body: form,
      signal: AbortSignal.timeout(this.opts.timeoutMs ?? 5000),
      redirect: 'error',
    });
    if (!res.ok) throw new Error(`introspection at ${meta.introspection_endpoint}: HTTP ${res.status}`);
    const body = (await res.json()) as Record<string, unknown>;
    const active = body.active === true && typeof body.exp === 'number' && body.exp * 1000 > now;
    const claims = active ? (body as IntrospectedClaims) : undefined;
    const until = active ? (body.exp as number) * 1000 : now + (this.opts.inactiveMs ?? 30_000);
    this.remember(key, claims, until);
    return claims;
  }

  private remember(key: string, claims: IntrospectedClaims | undefined, until: number): void {
    const max = this.opts.maxEntries ?? 10_000;
    while (this.cache.size >= max) {
      const oldest = this.cache.keys().next().value;
      if (oldest === undefined) break;
      this.cache.delete(oldest);
    }
    this.cache.set(key, { claims, until });
  }
}
