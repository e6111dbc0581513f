// Where an upstream that warden signs users in to (credentials.type: oauth) has its authorization server, and how
// warden is known there: RFC 9728 protected-resource metadata from the upstream (the 401's `resource_metadata`, then
// the well-known URLs), RFC 8414 / OpenID metadata of its server, and a client identity (configured > Client ID
// Metadata Document > RFC 7591 registration, kept sealed in the token store). Found once per upstream.
import { fetchIssuerMetadata, type IssuerMetadata } from '../oauth/issuer.js';
import { secureEndpoint } from './exchange.js';
import type { UpstreamOAuthConfig } from './oauth-flow.js';
import type { UpstreamTokenStore } from './token-store.js';

/** How warden is known to one authorization server. */
export interface ClientIdentity {
  clientId: string;
  clientSecret?: string | undefined;
  /** configured: from the config; metadata-document: warden's CIMD URL; registered: RFC 7591 at start. */
  kind: 'configured' | 'metadata-document' | 'registered';
}

/** What discovery found for one upstream. */
export interface UpstreamAuthServer {
  resource: string;
  metadata: IssuerMetadata;
  client: ClientIdentity;
}

/**
 * The row (subject) that keeps a dynamically registered client, sealed like a token, so a restart does not register
 * again and orphan every stored refresh token. No user's subject looks like it (`<issuer>|<sub>`, `grant:<id>`).
 */
export const CLIENT_ROW = '(registered client)';

/** The `resource_metadata` parameter of a `WWW-Authenticate: Bearer ...` challenge (RFC 9728 §5.1). */
export function resourceMetadataOf(challenge: string | null): string | undefined {
  if (challenge === null) return undefined;
  const m = /resource_metadata="([^"]+)"/i.exec(challenge);
  return m?.[1];
}

export interface DiscoveryOptions {
  store: UpstreamTokenStore;
  fetch: typeof fetch;
  /** Warden's redirect URI and Client ID Metadata Document URL, under auth.publicUrl. */
  redirectUri: string;
  metadataDocumentUrl: string;
}

export class AuthServerDiscovery {
  private readonly discovered = new Map<string, Promise<UpstreamAuthServer>>();

  constructor(
    private readonly upstreams: ReadonlyMap<string, { url: string; oauth: UpstreamOAuthConfig }>,
    private readonly opts: DiscoveryOptions,
  ) {}

  private async getJson(url: string, what: string): Promise<Record<string, unknown>> {
    if (!secureEndpoint(url)) throw new Error(`${what} ${url} must be https (http only on loopback)`);
    const res = await this.opts.fetch(url, {
      headers: { accept: 'application/json' },
      redirect: 'error',
      signal: AbortSignal.timeout(10_000),
    });
    if (!res.ok) throw new Error(`${what} ${url}: HTTP ${res.status}`);
    const doc = (await res.json()) as unknown;
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
      throw new Error(`${what} ${url}: not a JSON object`);
    return doc as Record<string, unknown>;
  }

  /**
   * The upstream's authorization server and warden's client there, found once per upstream (a failure is not kept:
   * the next call tries again). The upstream's 401 names its metadata; without one the RFC 9728 well-known URLs.
   */
  get(server: string): Promise<UpstreamAuthServer> {
    let p = this.discovered.get(server);
    if (p === undefined) {
      p = this.discover(server);
      this.discovered.set(server, p);
      p.catch(() => this.discovered.delete(server));
    }
    return p;
  }

  private async discover(server: string): Promise<UpstreamAuthServer> {
    const up = this.upstreams.get(server);
    if (up === undefined) throw new Error(`upstream ${server} does not use the oauth flow`);
    const url = new URL(up.url);
    const candidates: string[] = [];
    // An unauthenticated initialize: the 401's challenge names the metadata (RFC 9728 §5.1).
    const probe = await this.opts.fetch(up.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 0,
        method: 'initialize',
        params: {
          protocolVersion: '2025-11-25',
          capabilities: {},
          clientInfo: { name: 'mcp-warden', version: '0' },
        },
      }),
      redirect: 'manual',
      signal: AbortSignal.timeout(10_000),
    });
    await probe.body?.cancel();
    const named = resourceMetadataOf(probe.headers.get('www-authenticate'));
    if (named !== undefined) candidates.push(named);
    const path = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '');
    candidates.push(`${url.origin}/.well-known/oauth-protected-resource${path}`);
    candidates.push(`${url.origin}/.well-known/oauth-protected-resource`);
    const problems: string[] = [];
    let prm: Record<string, unknown> | undefined;
    for (const c of candidates) {
      try {
        prm = await this.getJson(c, 'protected resource metadata');
        break;
      } catch (err) {
        problems.push((err as Error).message);
      }
    }
    if (prm === undefined)
      throw new Error(`upstream ${server}: no protected resource metadata (${problems.join('; ')})`);
    // RFC 9728 §3.3: metadata naming another resource is not used (it could send users to a foreign server).
    if (typeof prm.resource === 'string' && prm.resource !== up.url && prm.resource !== up.oauth.resource)
      throw new Error(`upstream ${server}: its metadata describes ${prm.resource}, not ${up.url}`);
    const servers = prm.authorization_servers;
    if (!Array.isArray(servers) || typeof servers[0] !== 'string')
      throw new Error(`upstream ${server}: its metadata names no authorization server`);
    const metadata = await fetchIssuerMetadata(servers[0]);
    for (const field of ['authorization_endpoint', 'token_endpoint'] as const) {
      const v = metadata[field];
      if (typeof v !== 'string' || !secureEndpoint(v))
        throw new Error(`authorization server ${metadata.issuer}: ${field} missing or not https`);
    }
    // MCP authorization: no S256 advertised means no PKCE to rely on; warden does not go on without it.
    if (!metadata.code_challenge_methods_supported?.includes('S256'))
      throw new Error(`authorization server ${metadata.issuer} does not advertise PKCE S256`);
    return { resource: up.oauth.resource, metadata, client: await this.clientAt(server, up.oauth, metadata) };
  }

  /** Configured client > Client ID Metadata Document (https public URL only) > RFC 7591 registration. */
  private async clientAt(
    server: string,
    config: UpstreamOAuthConfig,
    meta: IssuerMetadata,
  ): Promise<ClientIdentity> {
    if (config.clientId !== undefined)
      return { clientId: config.clientId, clientSecret: config.clientSecret, kind: 'configured' };
    if (
      meta.client_id_metadata_document_supported === true &&
      new URL(this.opts.metadataDocumentUrl).protocol === 'https:'
    )
      return { clientId: this.opts.metadataDocumentUrl, kind: 'metadata-document' };
    const endpoint = meta.registration_endpoint;
    if (typeof endpoint !== 'string')
      throw new Error(
        `authorization server ${meta.issuer} takes neither a Client ID Metadata Document (at an https auth.publicUrl) nor dynamic registration: configure clientId`,
      );
    if (!secureEndpoint(endpoint))
      throw new Error(`authorization server ${meta.issuer}: registration_endpoint must be https`);
    // A client registered before (by this or an earlier run) at this server for this redirect URI is used again.
    const kept = await this.opts.store.get(server, CLIENT_ROW).catch(() => undefined);
    if (kept?.accessToken !== undefined) {
      const c = JSON.parse(kept.accessToken) as {
        issuer?: string;
        redirectUri?: string;
        clientId?: string;
        clientSecret?: string;
      };
      if (
        c.issuer === meta.issuer &&
        c.redirectUri === this.opts.redirectUri &&
        typeof c.clientId === 'string'
      )
        return { clientId: c.clientId, clientSecret: c.clientSecret, kind: 'registered' };
    }
    const res = await this.opts.fetch(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({
        client_name: 'mcp-warden',
        redirect_uris: [this.opts.redirectUri],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'none',
      }),
      redirect: 'error',
      signal: AbortSignal.timeout(10_000),
    });
    const doc = (await res.json().catch(() => ({}))) as { client_id?: unknown; client_secret?: unknown };
    if (!res.ok || typeof doc.client_id !== 'string')
      throw new Error(`registration at ${meta.issuer} refused (HTTP ${res.status})`);
    const client: ClientIdentity = {
      clientId: doc.client_id,
      clientSecret: typeof doc.client_secret === 'string' ? doc.client_secret : undefined,
      kind: 'registered',
    };
    await this.opts.store.put({
      upstream: server,
      subject: CLIENT_ROW,
      accessToken: JSON.stringify({
        issuer: meta.issuer,
        redirectUri: this.opts.redirectUri,
        clientId: client.clientId,
        clientSecret: client.clientSecret,
      }),
    });
    return client;
  }
}
