// Warden runs an upstream's own OAuth flow for each user (mcpServers.<id>.credentials.type: oauth): the upstream's
// authorization server and warden's client there (discovery.ts), authorization code + PKCE (S256) with `resource` (RFC 8707) and a state bound to the subject and the browser, tokens
// stored sealed per (upstream, subject) in the token store, refresh before expiry and after a 401, and revocation
// (RFC 7009 at the authorization server when it offers it). The agent's own token is never part of any of this.
import { createHash, randomBytes } from 'node:crypto';
import { WardenError } from '../../errors.js';
import { clientRequestHeaders } from '../oauth/client-auth.js';
import { type CredentialKey, openSecret, sealSecret } from './crypto.js';
import {
  AuthServerDiscovery,
  CLIENT_ROW,
  type ClientIdentity,
  type UpstreamAuthServer,
} from './discovery.js';
import { secureEndpoint } from './exchange.js';
import { type FlowStateStore, MemoryFlowState } from './flow-state.js';
import type { UpstreamTokenStore } from './token-store.js';

export { CLIENT_ROW, type ClientIdentity, resourceMetadataOf, type UpstreamAuthServer } from './discovery.js';

/** `mcpServers.<id>.credentials` with type oauth, as resolved. */
export interface UpstreamOAuthConfig {
  type: 'oauth';
  /** The RFC 8707 resource asked for (default: the upstream's url). */
  resource: string;
  scope?: string | undefined;
  /** A client registered by hand at the upstream's authorization server: wins over CIMD and registration. */
  clientId?: string | undefined;
  clientSecret?: string | undefined;
}

/** An audit event of the flow (linked, refreshed away, revoked), with the subject it concerns. */
export interface FlowEvent {
  event: 'upstream_token.linked' | 'upstream_token.revoked';
  server: string;
  subject: string;
  actor: string;
  reason: string;
}

export interface UpstreamOAuthOptions {
  /** auth.publicUrl: the start page, the callback and the Client ID Metadata Document live under it. */
  publicUrl: string;
  store: UpstreamTokenStore;
  audit?: (e: FlowEvent) => Promise<void> | void;
  fetch?: typeof fetch;
  now?: () => number;
  /** An access token is refreshed this long before it expires (default 60 s). */
  refreshBeforeMs?: number;
  /** How long a start link and a started authorization stay usable (default 10 minutes). */
  pendingMs?: number;
  /**
   * Flows under way (src/identity/upstream/flow-state.ts): Redis when replicas share state, so the start page and the
   * callback may reach any of them; default: this process's memory.
   */
  flows?: FlowStateStore;
  /** Seals what the flow store keeps (the credential key; a random one per process without it). */
  key?: CredentialKey;
}

/** The call cannot go through until the user authorizes warden at the upstream: carries the URL to open. */
export class AuthorizationRequired extends WardenError {
  /** The person can fix this from outside (by authorizing): the link starts again on its next use (LinkLifecycle). */
  readonly retryOnUse = true;

  constructor(
    readonly server: string,
    readonly url: string,
    why = 'has no token of yours yet',
  ) {
    // Worded without "authorization:", which the log and audit masking takes for a credential.
    super(
      'UPSTREAM_START_FAILED',
      `upstream ${server} acts for each user and ${why}; open ${url} in a browser to sign in there, then try again`,
    );
  }
}

/** A refusal of the start page or callback: shown to the person on the page, never a token. */
export class FlowError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

interface Ticket {
  server: string;
  subject: string;
}

interface Pending {
  server: string;
  subject: string;
  verifier: string;
  /** SHA-256 of the browser binding cookie: the callback must come from the browser that started. */
  binding: string;
  client: ClientIdentity;
  issuer: string;
  /** RFC 9207: the server says it sends `iss`, so an answer without it is refused. */
  issRequired: boolean;
  tokenEndpoint: string;
  resource: string;
}

interface TokenAnswer {
  access_token?: unknown;
  token_type?: unknown;
  expires_in?: unknown;
  refresh_token?: unknown;
  scope?: unknown;
  error?: unknown;
}

/** The cookie that ties a callback to the browser that opened the start page. */
export const BINDING_COOKIE = 'warden_upstream_oauth';
const b64url = (n: number) => randomBytes(n).toString('base64url');
const sha256 = (s: string) => createHash('sha256').update(s).digest('base64url');
/** The flow store (Redis) failed: the person is told to try again, and nothing is used up. */
function stateDown(): never {
  const err = new FlowError(503, 'Warden cannot reach its shared state right now. Try again in a moment.');
  // On an agent's call (making a start link) the link starts again on its next use, as for a missing authorization.
  Object.assign(err, { retryOnUse: true });
  throw err;
}
/** Refused access tokens remembered at most (the oldest go first). */
const MAX_REFUSED = 10_000;

export class UpstreamOAuth {
  private readonly discovery: AuthServerDiscovery;
  private readonly flows: FlowStateStore;
  private readonly key: CredentialKey;
  private readonly refreshing = new Map<string, Promise<string>>();
  /** Access tokens the upstream refused (401): the next use refreshes instead. */
  private readonly refused = new Set<string>();
  private readonly f: typeof fetch;
  private readonly now: () => number;
  private readonly base: string;

  constructor(
    private readonly upstreams: ReadonlyMap<string, { url: string; oauth: UpstreamOAuthConfig }>,
    private readonly opts: UpstreamOAuthOptions,
  ) {
    this.f = opts.fetch ?? fetch;
    this.now = opts.now ?? Date.now;
    this.base = opts.publicUrl.replace(/\/$/, '');
    this.flows = opts.flows ?? new MemoryFlowState(this.now);
    this.discovery = new AuthServerDiscovery(upstreams, {
      store: opts.store,
      fetch: this.f,
      redirectUri: this.redirectUri,
      metadataDocumentUrl: this.metadataDocumentUrl,
    });
    const key = randomBytes(32);
    this.key = opts.key ?? { id: createHash('sha256').update(key).digest('hex').slice(0, 8), key };
  }

  /** Keeps a flow's step under a hash of its secret, sealed (the store sees neither the secret nor the content). */
  private async keepFlow(kind: 'ticket' | 'state', secret: string, value: Ticket | Pending): Promise<void> {
    const id = `${kind}:${sha256(secret)}`;
    const sealed = sealSecret(this.key, JSON.stringify(value), `flow|${id}`);
    await this.flows.put(id, sealed, this.pendingMs).catch(stateDown);
  }

  /** A flow's step by its secret (`take`: and spends it), or undefined: unknown, used, expired or not warden's. */
  private async flowOf<T>(kind: 'ticket' | 'state', secret: string, take: boolean): Promise<T | undefined> {
    const id = `${kind}:${sha256(secret)}`;
    const sealed = await (take ? this.flows.take(id) : this.flows.get(id)).catch(stateDown);
    if (sealed === undefined) return undefined;
    try {
      return JSON.parse(openSecret([this.key], sealed, `flow|${id}`)) as T;
    } catch {
      return undefined;
    }
  }

  private get pendingMs(): number {
    return this.opts.pendingMs ?? 600_000;
  }

  /**
   * The upstream's authorization server and warden's client there, found once per upstream (src/identity/upstream/
   * discovery.ts).
   */
  authServer(server: string): Promise<UpstreamAuthServer> {
    return this.discovery.get(server);
  }

  /** The one redirect URI for every upstream. */
  get redirectUri(): string {
    return `${this.base}/oauth/upstream/callback`;
  }

  /** Warden's Client ID Metadata Document URL (its client_id where the authorization server takes one). */
  get metadataDocumentUrl(): string {
    return `${this.base}/oauth/client-metadata.json`;
  }

  /** The Client ID Metadata Document warden serves at metadataDocumentUrl: a public client, code + refresh. */
  metadataDocument(): Record<string, unknown> {
    return {
      client_id: this.metadataDocumentUrl,
      client_name: 'mcp-warden',
      client_uri: this.base,
      redirect_uris: [this.redirectUri],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }

  has(server: string): boolean {
    return this.upstreams.has(server);
  }

  /** A one-time start link for `subject` at `server` (what an agent's error carries). */
  async startUrl(server: string, subject: string): Promise<string> {
    const ticket = b64url(24);
    await this.keepFlow('ticket', ticket, { server, subject });
    return `${this.base}/oauth/upstream/${encodeURIComponent(server)}/start?ticket=${ticket}`;
  }

  /**
   * The start page: trades a ticket (once, on any replica) for a redirect to the authorization server, and a browser
   * binding cookie value. The state names nothing: the subject stays in warden's flow store, bound to the state and
   * the cookie.
   */
  async start(server: string, ticket: string): Promise<{ location: string; binding: string }> {
    const refused = new FlowError(
      400,
      'This link is unknown, used or expired. Ask your agent again for a fresh one.',
    );
    const t = await this.flowOf<Ticket>('ticket', ticket, false);
    if (t === undefined || t.server !== server) throw refused;
    // Discovery first: a server that cannot be reached now does not use the link up.
    const as = await this.authServer(server);
    const verifier = b64url(48);
    const state = b64url(24);
    const binding = b64url(24);
    // The state is kept before the ticket is spent: a store that fails here uses nothing up.
    await this.keepFlow('state', state, {
      server,
      subject: t.subject,
      verifier,
      binding: sha256(binding),
      client: as.client,
      issuer: as.metadata.issuer,
      issRequired: as.metadata.authorization_response_iss_parameter_supported === true,
      tokenEndpoint: as.metadata.token_endpoint!,
      resource: as.resource,
    });
    // Once: of two openings at the same time (on any replicas), only the first goes on.
    if ((await this.flowOf<Ticket>('ticket', ticket, true)) === undefined) throw refused;
    const q = new URLSearchParams({
      response_type: 'code',
      client_id: as.client.clientId,
      redirect_uri: this.redirectUri,
      code_challenge: sha256(verifier),
      code_challenge_method: 'S256',
      state,
      resource: as.resource,
    });
    const scope = this.upstreams.get(server)?.oauth.scope;
    if (scope !== undefined) q.set('scope', scope);
    const endpoint = new URL(as.metadata.authorization_endpoint!);
    for (const [k, v] of q) endpoint.searchParams.set(k, v);
    return { location: endpoint.href, binding };
  }

  /** The callback: checks state, browser and issuer, trades the code, stores the tokens sealed. */
  async callback(params: URLSearchParams, binding: string | undefined): Promise<{ server: string }> {
    const state = params.get('state') ?? '';
    const unknown = new FlowError(
      400,
      'This authorization is unknown or expired. Start again from your agent.',
    );
    const p = await this.flowOf<Pending>('state', state, false);
    if (p === undefined) throw unknown;
    if (binding === undefined || sha256(binding) !== p.binding)
      throw new FlowError(
        403,
        'This authorization was started in another browser. Start again from your agent.',
      );
    // Once: a replayed callback (on any replica) finds nothing.
    if ((await this.flowOf<Pending>('state', state, true)) === undefined) throw unknown;
    // RFC 9207: an `iss` that names another server is a mix-up attack.
    const iss = params.get('iss');
    if ((iss !== null && iss !== p.issuer) || (iss === null && p.issRequired))
      throw new FlowError(400, 'The answer came from another authorization server, or did not say which.');
    const error = params.get('error');
    if (error !== null)
      throw new FlowError(403, `The authorization server said: ${error.slice(0, 64)}. Nothing was stored.`);
    const code = params.get('code');
    if (code === null || code === '') throw new FlowError(400, 'The answer carries no code.');
    const body = new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: this.redirectUri,
      code_verifier: p.verifier,
      resource: p.resource,
    });
    const answer = await this.tokenRequest(p.tokenEndpoint, body, p.client).catch((err: Error) => {
      throw new FlowError(502, err.message);
    });
    await this.keep(p.server, p.subject, answer, undefined);
    await this.opts.audit?.({
      event: 'upstream_token.linked',
      server: p.server,
      subject: p.subject,
      actor: p.subject,
      reason: `authorized at ${p.issuer} (client ${p.client.kind})`,
    });
    return { server: p.server };
  }

  private async tokenRequest(
    endpoint: string,
    body: URLSearchParams,
    client: ClientIdentity,
  ): Promise<TokenAnswer & { access_token: string }> {
    const headers = clientRequestHeaders(body, client.clientId, client.clientSecret);
    const res = await this.f(endpoint, {
      method: 'POST',
      headers,
      body,
      redirect: 'error',
      signal: AbortSignal.timeout(10_000),
    });
    const answer = (await res.json().catch(() => ({}))) as TokenAnswer;
    if (!res.ok || typeof answer.access_token !== 'string' || answer.access_token === '') {
      const code = typeof answer.error === 'string' ? answer.error.slice(0, 64) : `HTTP ${res.status}`;
      throw new TokenRefused(`the token endpoint refused (${code})`, code);
    }
    if (typeof answer.token_type === 'string' && answer.token_type.toLowerCase() !== 'bearer')
      throw new Error(`the token endpoint returned token_type ${answer.token_type}, not Bearer`);
    return answer as TokenAnswer & { access_token: string };
  }

  /** Stores an answer sealed; a refresh answer without a new refresh token keeps the old one. */
  private async keep(server: string, subject: string, a: TokenAnswer, oldRefresh: string | undefined) {
    await this.opts.store.put({
      upstream: server,
      subject,
      accessToken: a.access_token as string,
      refreshToken: typeof a.refresh_token === 'string' ? a.refresh_token : oldRefresh,
      expiresAt:
        typeof a.expires_in === 'number' && a.expires_in > 0 ? this.now() + a.expires_in * 1000 : undefined,
      scope: typeof a.scope === 'string' ? a.scope : undefined,
    });
  }

  /**
   * The Authorization value for `subject` at `server`: the stored access token, refreshed first when it is about to
   * expire or the upstream refused it; AuthorizationRequired (with a start link) when there is none to be had.
   */
  async authorization(server: string, subject: string): Promise<string> {
    const cred = await this.opts.store.get(server, subject);
    if (cred?.accessToken === undefined)
      throw new AuthorizationRequired(server, await this.startUrl(server, subject));
    const key = `${server}|${subject}`;
    // Refreshed ahead of expiry by refreshBeforeMs, or by half its life for a short-lived token (updatedAt: issued).
    const margin =
      cred.expiresAt === undefined
        ? 0
        : Math.min(this.opts.refreshBeforeMs ?? 60_000, (cred.expiresAt - Date.parse(cred.updatedAt)) / 2);
    const stale =
      this.refused.has(`${key}|${cred.accessToken}`) ||
      (cred.expiresAt !== undefined && cred.expiresAt - margin <= this.now());
    if (!stale) return `Bearer ${cred.accessToken}`;
    let p = this.refreshing.get(key);
    if (p === undefined) {
      p = this.refresh(server, subject, cred.refreshToken, cred.accessToken).finally(() =>
        this.refreshing.delete(key),
      );
      this.refreshing.set(key, p);
    }
    return `Bearer ${await p}`;
  }

  private async refresh(
    server: string,
    subject: string,
    refreshToken: string | undefined,
    old: string,
  ): Promise<string> {
    this.refused.delete(`${server}|${subject}|${old}`);
    const again = async () =>
      new AuthorizationRequired(
        server,
        await this.startUrl(server, subject),
        'can no longer renew your token',
      );
    if (refreshToken === undefined) {
      await this.opts.store.revoke(server, subject);
      throw await again();
    }
    const as = await this.authServer(server);
    const body = new URLSearchParams({
      grant_type: 'refresh_token',
      refresh_token: refreshToken,
      resource: as.resource,
    });
    let answer: TokenAnswer & { access_token: string };
    try {
      answer = await this.tokenRequest(as.metadata.token_endpoint!, body, as.client);
    } catch (err) {
      // A refresh token the server no longer honours (or no longer for this client) is dropped; anything else (the
      // server is down) keeps it.
      if (
        err instanceof TokenRefused &&
        ['invalid_grant', 'invalid_client', 'unauthorized_client'].includes(err.code)
      ) {
        await this.opts.store.revoke(server, subject);
        throw await again();
      }
      throw new WardenError(
        'UPSTREAM_START_FAILED',
        `upstream ${server}: refresh failed: ${(err as Error).message}`,
      );
    }
    await this.keep(server, subject, answer, refreshToken);
    return answer.access_token;
  }

  /** Who holds credentials where, for the upstreams of this flow (one subject's, or all): never a token. */
  async credentialsOf(subject?: string) {
    return (await this.opts.store.list(subject)).filter(
      (r) => this.upstreams.has(r.upstream) && r.subject !== CLIENT_ROW,
    );
  }

  /** The upstream answered 401 to this Authorization value: the next use refreshes (or asks for authorization). */
  refusedBy(server: string, subject: string, authorization: string): void {
    const token = authorization.replace(/^Bearer /, '');
    this.refused.add(`${server}|${subject}|${token}`);
    while (this.refused.size > MAX_REFUSED) this.refused.delete(this.refused.values().next().value!);
  }

  /**
   * Revokes one subject's tokens at `server` (or everyone's): RFC 7009 at the authorization server when it offers
   * it (best effort: the row goes whatever it answers), then the row. How many credentials went.
   */
  async revoke(server: string, subject: string | undefined, actor: string): Promise<number> {
    if (subject === CLIENT_ROW) return 0;
    const rows = await this.opts.store.list(subject);
    const mine = rows.filter((r) => r.upstream === server && r.subject !== CLIENT_ROW);
    let as: UpstreamAuthServer | undefined;
    try {
      as = mine.length > 0 ? await this.authServer(server) : undefined;
    } catch {
      as = undefined;
    }
    const endpoint = as?.metadata.revocation_endpoint;
    for (const r of mine) {
      if (as !== undefined && typeof endpoint === 'string' && secureEndpoint(endpoint)) {
        const cred = await this.opts.store.get(server, r.subject).catch(() => undefined);
        for (const [token, hint] of [
          [cred?.refreshToken, 'refresh_token'],
          [cred?.accessToken, 'access_token'],
        ] as const) {
          if (token === undefined) continue;
          const body = new URLSearchParams({ token, token_type_hint: hint });
          await this.f(endpoint, {
            method: 'POST',
            headers: clientRequestHeaders(body, as.client.clientId, as.client.clientSecret),
            body,
            redirect: 'error',
            signal: AbortSignal.timeout(10_000),
          })
            .then((res) => res.body?.cancel())
            .catch(() => undefined);
        }
      }
      await this.opts.store.revoke(server, r.subject);
      await this.opts.audit?.({
        event: 'upstream_token.revoked',
        server,
        subject: r.subject,
        actor,
        reason:
          typeof endpoint === 'string' ? 'revoked here and at the authorization server' : 'revoked here',
      });
    }
    return mine.length;
  }
}

/** The token endpoint's refusal, with its error code. */
class TokenRefused extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}
