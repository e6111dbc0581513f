// An OAuth issuer's metadata (RFC 8414, then OpenID discovery) and its signing keys (JWKS), fetched once and cached.
import { createLocalJWKSet, type JSONWebKeySet, type JWTVerifyGetKey, errors as joseErrors } from 'jose';
import { WardenError } from '../../errors.js';

/** The fields of RFC 8414 / OpenID provider metadata warden reads; the rest is kept as sent. */
export interface IssuerMetadata {
  issuer: string;
  jwks_uri?: string;
  authorization_endpoint?: string;
  token_endpoint?: string;
  introspection_endpoint?: string;
  userinfo_endpoint?: string;
  end_session_endpoint?: string;
  scopes_supported?: string[];
  code_challenge_methods_supported?: string[];
  [field: string]: unknown;
}

export interface IssuerOptions {
  fetch?: typeof fetch;
  now?: () => number;
  /** Per request to the issuer. */
  timeoutMs?: number;
  /** How long metadata is kept before it is fetched again. */
  metadataMaxAgeMs?: number;
  /** An unknown `kid` makes the key set be fetched again, at most this often (SPEC §14: 30 s). */
  keysRefetchMs?: number;
  /** A key set older than this is fetched again before use, so a key removed at the issuer stops working. */
  keysMaxAgeMs?: number;
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

/**
 * The issuer as a URL, or a config error: https only, except http on a loopback name (tests, local IdPs). No query or
 * fragment (RFC 8414 §2).
 */
export function issuerUrl(issuer: string): URL {
  let url: URL;
  try {
    url = new URL(issuer);
  } catch {
    throw new WardenError('CONFIG_INVALID', `auth.oauth.issuer is not a URL: ${issuer}`);
  }
  if (url.search !== '' || url.hash !== '')
    throw new WardenError('CONFIG_INVALID', 'auth.oauth.issuer has no query or fragment (RFC 8414)');
  if (url.protocol === 'https:') return url;
  if (url.protocol === 'http:' && LOOPBACK.has(url.hostname.toLowerCase())) return url;
  throw new WardenError(
    'CONFIG_INVALID',
    `auth.oauth.issuer must be https (http only on loopback): ${issuer}`,
  );
}

/** The metadata URLs to try, in order: RFC 8414 (path-inserted), OpenID discovery (path-appended), RFC 8414 legacy. */
export function discoveryUrls(issuer: string): string[] {
  const url = issuerUrl(issuer);
  const path = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '');
  const origin = url.origin;
  return [
    `${origin}/.well-known/oauth-authorization-server${path}`,
    `${origin}${path}/.well-known/openid-configuration`,
  ];
}

async function getJson(url: string, f: typeof fetch, timeoutMs: number): Promise<unknown> {
  const u = new URL(url);
  // The key set and metadata come over TLS, except from loopback: a key fetched in clear would let anyone sign.
  if (u.protocol !== 'https:' && !(u.protocol === 'http:' && LOOPBACK.has(u.hostname.toLowerCase())))
    throw new Error(`${url}: only https (http on loopback) is fetched`);
  const res = await f(url, {
    headers: { accept: 'application/json' },
    signal: AbortSignal.timeout(timeoutMs),
    redirect: 'error',
  });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return res.json();
}

/** Fetches an issuer's metadata; the document must name exactly this issuer (RFC 8414 §3.3, OpenID discovery §4.3). */
export async function fetchIssuerMetadata(
  issuer: string,
  opts: Pick<IssuerOptions, 'fetch' | 'timeoutMs'> = {},
): Promise<IssuerMetadata> {
  const f = opts.fetch ?? fetch;
  const problems: string[] = [];
  for (const url of discoveryUrls(issuer)) {
    let doc: unknown;
    try {
      doc = await getJson(url, f, opts.timeoutMs ?? 5000);
    } catch (err) {
      problems.push((err as Error).message);
      continue;
    }
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
      problems.push(`${url}: not a JSON object`);
      continue;
    }
    const meta = doc as IssuerMetadata;
    if (meta.issuer !== issuer) {
      // A metadata document for another issuer is a misconfiguration or an attack: never used.
      problems.push(`${url}: names issuer ${String(meta.issuer)}, not ${issuer}`);
      continue;
    }
    return meta;
  }
  throw new Error(`issuer metadata for ${issuer} could not be read: ${problems.join('; ')}`);
}

/**
 * One issuer's metadata and keys, cached. A failed fetch is not cached: the next use tries again (at most every
 * `keysRefetchMs` for keys).
 */
export class Issuer {
  private meta: { value: IssuerMetadata; at: number } | undefined;
  private metaPending: Promise<IssuerMetadata> | undefined;
  private keys: { get: JWTVerifyGetKey; at: number } | undefined;
  private keysPending: Promise<JWTVerifyGetKey> | undefined;
  private keysTriedAt = Number.NEGATIVE_INFINITY;
  private readonly f: typeof fetch;
  private readonly now: () => number;

  constructor(
    readonly issuer: string,
    private readonly opts: IssuerOptions = {},
  ) {
    issuerUrl(issuer);
    this.f = opts.fetch ?? fetch;
    this.now = opts.now ?? Date.now;
  }

  /** The issuer's metadata, from the cache when fresh. */
  async metadata(): Promise<IssuerMetadata> {
    const cached = this.meta;
    if (cached !== undefined && this.now() - cached.at < (this.opts.metadataMaxAgeMs ?? 3_600_000))
      return cached.value;
    this.metaPending ??= fetchIssuerMetadata(this.issuer, this.opts)
      .then((value) => {
        this.meta = { value, at: this.now() };
        return value;
      })
      .finally(() => {
        this.metaPending = undefined;
      });
    return this.metaPending;
  }

  private loadKeys(): Promise<JWTVerifyGetKey> {
    this.keysPending ??= (async () => {
      this.keysTriedAt = this.now();
      const meta = await this.metadata();
      if (typeof meta.jwks_uri !== 'string') throw new Error(`issuer ${this.issuer} publishes no jwks_uri`);
      const doc = (await getJson(meta.jwks_uri, this.f, this.opts.timeoutMs ?? 5000)) as JSONWebKeySet;
      const get = createLocalJWKSet(doc);
      this.keys = { get, at: this.now() };
      return get;
    })().finally(() => {
      this.keysPending = undefined;
    });
    return this.keysPending;
  }

  /**
   * A jose key resolver: the cached key set, fetched again when it is older than `keysMaxAgeMs`, or when no key
   * matches the token's `kid` and the last fetch is at least `keysRefetchMs` ago (so forged kids cannot make warden
   * hammer the issuer).
   */
  readonly key: JWTVerifyGetKey = async (header, token) => {
    const refetch = this.opts.keysRefetchMs ?? 30_000;
    // A fetch under way (the first one after start, say) is waited for, not taken for a failed one.
    if (this.keysPending !== undefined) await this.keysPending.catch(() => {});
    let keys = this.keys;
    if (keys === undefined || this.now() - keys.at >= (this.opts.keysMaxAgeMs ?? 600_000)) {
      if (keys === undefined || this.now() - this.keysTriedAt >= refetch) {
        await this.loadKeys();
        keys = this.keys;
      }
    }
    // The first fetch failed less than `keysRefetchMs` ago: the issuer is unavailable (503), not the token invalid.
    if (keys === undefined) throw new Error(`the keys of issuer ${this.issuer} could not be fetched`);
    try {
      return await keys.get(header, token);
    } catch (err) {
      if (!(err instanceof joseErrors.JWKSNoMatchingKey) || this.now() - this.keysTriedAt < refetch)
        throw err;
      const fresh = await this.loadKeys();
      return fresh(header, token);
    }
  };
}

const issuers = new Map<string, Issuer>();

/** The process-wide cached Issuer for this URL (the resource server and the dashboard log-in share it). */
export function issuerFor(issuer: string, opts?: IssuerOptions): Issuer {
  let found = issuers.get(issuer);
  if (found === undefined || opts !== undefined) {
    found = new Issuer(issuer, opts);
    if (opts === undefined) issuers.set(issuer, found);
  }
  return found;
}
