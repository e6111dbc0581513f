// Warden runs an upstream's own OAuth flow per user (mcpServers.<id>.credentials.type oauth), end to end: a real
// authorization server (oidc-provider, test/fixtures/upstream-as.ts) whose log-in and consent pages are driven over
// plain HTTP with cookies, an upstream that accepts only its tokens for itself (test/fixtures/protected-upstream.ts),
// real MCP SDK agents with tokens from another provider (test/fixtures/oidc-idp.ts), and the gateway's SQLite storage.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { resolveConfig } from '../../src/config/resolve.js';
import { createGateway, type Gateway } from '../../src/gateway.js';
import { parseCredentialKey } from '../../src/identity/upstream/crypto.js';
import { CLIENT_ROW, UpstreamOAuth } from '../../src/identity/upstream/oauth-flow.js';
import { UpstreamTokenStore } from '../../src/identity/upstream/token-store.js';
import { createLogger } from '../../src/log.js';
import { startTestIdp, type TestIdp } from '../fixtures/oidc-idp.js';
import { type ProtectedUpstream, startProtectedUpstream } from '../fixtures/protected-upstream.js';
import { startUpstreamAs, type UpstreamAs } from '../fixtures/upstream-as.js';
import { connect, PROBE, ROOT, tempDir, textOf } from '../helpers/gateway.js';
import { redisStateYaml, shouldRunRedis } from '../helpers/services.js';

const KEY_HEX = randomBytes(32).toString('hex');
const ADMIN = 'upstream-oauth-test-admin-token';

let agentIdp: TestIdp;
let as: UpstreamAs;
let upstream: ProtectedUpstream;
let gateway: Gateway;
let origin: string;
let mcpUrl: string;
let adminUrl: string;
let dbPath: string;
let configFile: string;

/** `warden <args>` from the sources, as a separate process against the test's config and database. */
function cli(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), ...args], {
    env: { ...process.env, WARDEN_CREDENTIAL_KEY: KEY_HEX },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, out, err })));
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** A browser stand-in: follows redirects by hand, keeps cookies per origin, fills the provider's forms. */
class Browser {
  private readonly jars = new Map<string, Map<string, string>>();
  constructor(private readonly login: string) {}

  cookies(url: URL): string {
    return [...(this.jars.get(url.origin) ?? new Map<string, string>())]
      .map(([k, v]) => `${k}=${v}`)
      .join('; ');
  }

  private keep(url: URL, res: Response): void {
    const jar = this.jars.get(url.origin) ?? new Map<string, string>();
    this.jars.set(url.origin, jar);
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const i = pair!.indexOf('=');
      jar.set(pair!.slice(0, i).trim(), pair!.slice(i + 1));
    }
  }

  async request(href: string, init: RequestInit = {}): Promise<Response> {
    const url = new URL(href);
    const res = await fetch(url, {
      ...init,
      redirect: 'manual',
      headers: { ...(init.headers as Record<string, string>), cookie: this.cookies(url) },
    });
    this.keep(url, res);
    return res;
  }

  /**
   * Opens `start` and goes through the provider's pages until the answer is at `stopAt` (warden's callback): that
   * URL is returned without being opened.
   */
  async authorize(start: string, stopAt: string): Promise<string> {
    let next = start;
    for (let i = 0; i < 20; i++) {
      if (next.startsWith(stopAt)) return next;
      const res = await this.request(next);
      const location = res.headers.get('location');
      if (location !== null) {
        next = new URL(location, next).href;
        continue;
      }
      const html = await res.text();
      expect(res.status, html.slice(0, 300)).toBe(200);
      const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
      const prompt = /name="prompt" value="([^"]+)"/.exec(html)?.[1];
      expect(action).toBeDefined();
      const form = new URLSearchParams({ prompt: prompt! });
      if (prompt === 'login') {
        form.set('login', this.login);
        form.set('password', 'any');
      }
      const posted = await this.request(new URL(action!, next).href, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: form.toString(),
      });
      next = new URL(posted.headers.get('location')!, next).href;
    }
    throw new Error('too many steps');
  }

  /** Start link -> provider -> warden's callback; the callback page's status and text. */
  async linkAccount(startUrl: string, at = origin): Promise<{ status: number; text: string }> {
    const callback = await this.authorize(startUrl, `${at}/oauth/upstream/callback`);
    const res = await this.request(callback);
    return { status: res.status, text: await res.text() };
  }
}

/** Connects as `token` to the tracker endpoint and calls whoami: its answer, or the error's message. */
async function whoami(token: string): Promise<string> {
  let agent: Awaited<ReturnType<typeof connect>> | undefined;
  try {
    agent = await connect(`${mcpUrl}/tracker`, {}, { authorization: `Bearer ${token}` });
    return textOf(await agent.callTool({ name: 'whoami', arguments: {} }));
  } catch (err) {
    return `error: ${(err as Error).message}`;
  } finally {
    await agent?.close().catch(() => undefined);
  }
}

function startLinkIn(message: string): string {
  const m = /open (\S+\/oauth\/upstream\/tracker\/start\?ticket=\S+) in a browser to sign in/.exec(message);
  expect(m, message).not.toBeNull();
  return m![1]!;
}

/** Tries a refresh token at the provider as warden's registered client: the error code, or 'ok'. */
async function refreshAtProvider(refreshToken: string): Promise<string> {
  const meta = (await (await fetch(`${as.issuer}/.well-known/openid-configuration`)).json()) as {
    token_endpoint: string;
  };
  const res = await fetch(meta.token_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'refresh_token',
      refresh_token: refreshToken,
      client_id: as.registered[0]!,
    }),
  });
  return ((await res.json()) as { error?: string }).error ?? 'ok';
}

async function admin(path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${adminUrl}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${ADMIN}`, ...(init.headers as Record<string, string>) },
  });
}

async function plainStore(): Promise<UpstreamTokenStore> {
  return UpstreamTokenStore.open(`sqlite:${dbPath}`, [parseCredentialKey(KEY_HEX, 'test')]);
}

/** The config of a gateway in front of the tracker with its own flow, public at `publicUrl`; `extra` goes first. */
function trackerYaml(db: string, publicUrl: string, extra = '', servers = ''): string {
  return `
storage: sqlite:${db}
${extra}
mcpServers:
  tracker:
    url: ${upstream.url}
    credentials: { type: oauth, scope: tracker }
${servers}
auth:
  publicUrl: ${publicUrl}
  oauth: { issuer: '${agentIdp.issuer}', audience: '${publicUrl}/mcp' }
`;
}

/** A gateway on `port` (admin on any port) from `yaml`; its MCP URL. */
async function startOn(
  yaml: string,
  file: string,
  port: number,
): Promise<{ gateway: Gateway; mcpUrl: string; adminUrl: string }> {
  const config = resolveConfig(parseConfig(yaml, file));
  config.listen = { host: '127.0.0.1', port };
  config.admin = { host: '127.0.0.1', port: 0 };
  const gw = await createGateway(config, { log: createLogger(process.env.WARDEN_TEST_LOG ?? 'silent') });
  return { gateway: gw, ...(await gw.listen()) };
}

beforeAll(async () => {
  process.env.WARDEN_CREDENTIAL_KEY = KEY_HEX;
  process.env.WARDEN_ADMIN_TOKEN = ADMIN;
  const port = await freePort();
  origin = `http://127.0.0.1:${port}`;
  agentIdp = await startTestIdp({
    clientId: 'unused-dashboard',
    redirectUri: 'http://127.0.0.1:1/api/oidc/callback',
    accounts: {},
  });
  as = await startUpstreamAs();
  upstream = await startProtectedUpstream(as.issuer, as.jwksUri);
  const dir = tempDir('warden-uoauth-');
  dbPath = join(dir, 'warden.db');
  const file = join(dir, 'warden.yaml');
  const yaml = trackerYaml(dbPath, origin);
  writeFileSync(file, yaml);
  configFile = file;
  ({ gateway, mcpUrl, adminUrl } = await startOn(yaml, file, port));
}, 30_000);

afterAll(async () => {
  await gateway?.close(1000);
  await upstream?.close();
  await as?.close();
  await agentIdp?.close();
  delete process.env.WARDEN_CREDENTIAL_KEY;
  delete process.env.WARDEN_ADMIN_TOKEN;
});

describe('per-user upstream OAuth through the gateway', () => {
  it('#20.5.1 a user without a token is sent to a start link; after log-in and consent the call goes through as that user, and the agent’s token never reaches the upstream', async () => {
    const alice = await agentIdp.mintAccessToken('alice', `${origin}/mcp`);
    const before = upstream.seen.length;
    const first = await whoami(alice);
    expect(first).toMatch(/upstream tracker acts for each user and has no token of yours yet/);
    const start = startLinkIn(first);
    expect(start.startsWith(`${origin}/oauth/upstream/tracker/start?ticket=`)).toBe(true);

    const page = await new Browser('alice-at-tracker').linkAccount(start);
    expect(page.status).toBe(200);
    expect(page.text).toContain('Authorized');
    // No client was configured and the provider takes no metadata document here: warden registered itself.
    expect(as.registered).toHaveLength(1);

    expect(await whoami(alice)).toBe('alice-at-tracker');
    expect(upstream.subjects.at(-1)).toBe('alice-at-tracker');
    expect(upstream.seen.slice(before)).not.toContain(alice);

    // A start link works once.
    const again = await new Browser('mallory').request(start);
    expect(again.status).toBe(400);
  });

  it('#20.5.2 tokens at rest are sealed: the database holds no token in clear, and the row names the subject', async () => {
    const used = upstream.seen.at(-1)!;
    const db = new Database(dbPath, { readonly: true });
    try {
      const rows = db
        .prepare(
          'SELECT upstream, subject, access_token, refresh_token FROM upstream_credentials WHERE subject <> ?',
        )
        .all(CLIENT_ROW) as Array<Record<string, string>>;
      expect(rows).toHaveLength(1);
      expect(rows[0]!.subject).toBe(`${agentIdp.issuer}|alice`);
      expect(rows[0]!.access_token).toMatch(/^v1\./);
      expect(rows[0]!.refresh_token).toMatch(/^v1\./);
      expect(rows[0]!.access_token).not.toContain(used.slice(0, 40));
      const whole = JSON.stringify(rows);
      expect(whole).not.toContain(used);
    } finally {
      db.close();
    }
    const store = await plainStore();
    try {
      const cred = await store.get('tracker', `${agentIdp.issuer}|alice`);
      expect(cred?.accessToken).toBe(used);
      expect(cred?.refreshToken).toBeDefined();
    } finally {
      await store.close();
    }
  });

  it('#20.5.11 the dynamically registered client is kept sealed in the storage: a restart uses it again instead of registering anew', async () => {
    const store = await plainStore();
    try {
      const restarted = new UpstreamOAuth(
        new Map([
          ['tracker', { url: upstream.url, oauth: { type: 'oauth' as const, resource: upstream.url } }],
        ]),
        { publicUrl: origin, store },
      );
      const { client } = await restarted.authServer('tracker');
      expect(client).toMatchObject({ clientId: as.registered[0], kind: 'registered' });
      expect(as.registered).toHaveLength(1);
      // Not listed as anyone's credential.
      expect((await restarted.credentialsOf()).map((c) => c.subject)).not.toContain(CLIENT_ROW);
    } finally {
      await store.close();
    }
    const db = new Database(dbPath, { readonly: true });
    try {
      const row = db
        .prepare('SELECT access_token FROM upstream_credentials WHERE subject = ?')
        .get(CLIENT_ROW) as { access_token: string };
      expect(row.access_token).toMatch(/^v1\./);
      expect(row.access_token).not.toContain(as.registered[0]!);
    } finally {
      db.close();
    }
  });

  it('#20.5.3 an access token near its expiry is refreshed, and the rotated refresh token replaces the stored one', async () => {
    const carol = await agentIdp.mintAccessToken('carol', `${origin}/mcp`);
    as.accessTokenTtl = 4;
    try {
      const w = await whoami(carol);
      const page = await new Browser('carol-at-tracker').linkAccount(startLinkIn(w));
      expect(page.status).toBe(200);
    } finally {
      as.accessTokenTtl = 600;
    }
    const store = await plainStore();
    try {
      const carolSubject = `${agentIdp.issuer}|carol`;
      const linked = await store.get('tracker', carolSubject);
      expect(linked?.expiresAt).toBeDefined();
      // Half of a 4 s life is past: the next call refreshes first.
      await new Promise((r) => setTimeout(r, Math.max(0, linked!.expiresAt! - 2000 - Date.now()) + 100));
      expect(await whoami(carol)).toBe('carol-at-tracker');
      const after = await store.get('tracker', carolSubject);
      expect(after?.accessToken).not.toBe(linked?.accessToken);
      expect(after?.refreshToken).not.toBe(linked?.refreshToken);
      expect(upstream.seen.at(-1)).toBe(after?.accessToken);
      // The old refresh token was rotated away at the provider.
      expect(await refreshAtProvider(linked!.refreshToken!)).toBe('invalid_grant');
    } finally {
      await store.close();
    }
  });

  it('#20.5.9 an access token the upstream refuses (401) is refreshed and the request sent once more', async () => {
    const frank = await agentIdp.mintAccessToken('frank', `${origin}/mcp`);
    expect((await new Browser('frank-at-tracker').linkAccount(startLinkIn(await whoami(frank)))).status).toBe(
      200,
    );
    const store = await plainStore();
    try {
      const linked = await store.get('tracker', `${agentIdp.issuer}|frank`);
      upstream.refused.add(linked!.accessToken!);
      const before = upstream.seen.length;
      expect(await whoami(frank)).toBe('frank-at-tracker');
      const after = await store.get('tracker', `${agentIdp.issuer}|frank`);
      expect(after?.accessToken).not.toBe(linked?.accessToken);
      // First the refused token, then the refreshed one.
      expect(upstream.seen.slice(before, before + 2)).toEqual([linked!.accessToken, after!.accessToken]);
    } finally {
      await store.close();
    }
  });

  it('#20.5.10 the CLI lists who holds a token (never the token) and revokes one user’s', async () => {
    const subject = `${agentIdp.issuer}|frank`;
    const listed = await cli(['upstream-tokens', 'list', '--json', '-c', configFile]);
    expect(listed.code, listed.err).toBe(0);
    const rows = JSON.parse(listed.out) as Array<{ upstream: string; subject: string }>;
    expect(rows.some((r) => r.upstream === 'tracker' && r.subject === subject)).toBe(true);
    expect(listed.out).not.toContain(upstream.seen.at(-1)!);
    const refused = await cli(['upstream-tokens', 'revoke', 'tracker', '-c', configFile]);
    expect(refused.code).toBe(2);
    expect(refused.err).toContain('--all');
    const revoked = await cli(['upstream-tokens', 'revoke', 'tracker', subject, '--json', '-c', configFile]);
    expect(revoked.code, revoked.err).toBe(0);
    expect(JSON.parse(revoked.out)).toEqual({ revoked: 1 });
    expect(await whoami(await agentIdp.mintAccessToken('frank', `${origin}/mcp`))).toMatch(
      /has no token of yours yet/,
    );
  }, 30_000);

  it('#20.5.4 a callback from another browser (no binding cookie) is refused and stores nothing', async () => {
    const dave = await agentIdp.mintAccessToken('dave', `${origin}/mcp`);
    const start = startLinkIn(await whoami(dave));
    const victim = new Browser('dave-at-tracker');
    const callback = await victim.authorize(start, `${origin}/oauth/upstream/callback`);
    const res = await fetch(callback, { redirect: 'manual' });
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('another browser');
    const store = await plainStore();
    try {
      expect(await store.get('tracker', `${agentIdp.issuer}|dave`)).toBeUndefined();
    } finally {
      await store.close();
    }
  });

  it('#20.5.14 a callback whose iss names another server, or none where the server sends one, is refused (RFC 9207)', async () => {
    const gina = await agentIdp.mintAccessToken('gina', `${origin}/mcp`);
    for (const iss of ['http://127.0.0.1:1', undefined]) {
      const browser = new Browser('gina-at-tracker');
      const callback = new URL(
        await browser.authorize(startLinkIn(await whoami(gina)), `${origin}/oauth/upstream/callback`),
      );
      expect(callback.searchParams.get('iss')).toBe(as.issuer);
      if (iss === undefined) callback.searchParams.delete('iss');
      else callback.searchParams.set('iss', iss);
      const res = await browser.request(callback.href);
      expect(res.status).toBe(400);
      expect(await res.text()).toContain('another authorization server');
    }
    const store = await plainStore();
    try {
      expect(await store.get('tracker', `${agentIdp.issuer}|gina`)).toBeUndefined();
    } finally {
      await store.close();
    }
  });

  it('#20.5.5 a user revokes their own credential with their agent token; only theirs goes', async () => {
    const erin = await agentIdp.mintAccessToken('erin', `${origin}/mcp`);
    const page = await new Browser('erin-at-tracker').linkAccount(startLinkIn(await whoami(erin)));
    expect(page.status).toBe(200);
    const mine = await fetch(`${origin}/oauth/upstream/token`, {
      headers: { authorization: `Bearer ${erin}` },
    });
    expect(((await mine.json()) as Array<{ subject: string }>).map((c) => c.subject)).toEqual([
      `${agentIdp.issuer}|erin`,
    ]);
    const res = await fetch(`${origin}/oauth/upstream/tracker/token`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${erin}` },
    });
    expect(await res.json()).toEqual({ revoked: 1 });
    expect(await whoami(erin)).toMatch(/has no token of yours yet/);
    const nobody = await fetch(`${origin}/oauth/upstream/tracker/token`, { method: 'DELETE' });
    expect(nobody.status).toBe(401);
    expect(await whoami(await agentIdp.mintAccessToken('alice', `${origin}/mcp`))).toBe('alice-at-tracker');
  });

  it('#20.5.6 an admin revokes a user’s credential: revoked at the provider too, the next call needs authorization, and audit names the subject', async () => {
    const subject = `${agentIdp.issuer}|alice`;
    const store = await plainStore();
    const refreshToken = (await store.get('tracker', subject))?.refreshToken;
    await store.close();
    expect(refreshToken).toBeDefined();
    const listed = (await (await admin('/api/upstream-tokens')).json()) as Array<Record<string, unknown>>;
    expect(listed.some((c) => c.subject === subject && c.hasRefreshToken === true)).toBe(true);
    expect(JSON.stringify(listed)).not.toContain(refreshToken!);

    const res = await admin(`/api/upstream-tokens/tracker/${encodeURIComponent(subject)}`, {
      method: 'DELETE',
    });
    expect(await res.json()).toEqual({ revoked: 1 });
    expect(await whoami(await agentIdp.mintAccessToken('alice', `${origin}/mcp`))).toMatch(
      /has no token of yours yet/,
    );
    // RFC 7009: the provider no longer honours the refresh token warden held.
    expect(await refreshAtProvider(refreshToken!)).toBe('invalid_grant');

    // The revocation's record is written after the answer: wait for it (up to 5 s) rather than guess a delay.
    let audit: Array<Record<string, unknown>> = [];
    for (let i = 0; i < 50; i++) {
      audit = (await (await admin('/api/audit?limit=200')).json()) as Array<Record<string, unknown>>;
      if (audit.some((r) => r.method === 'upstream_token.revoked' && r.subject === subject)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const linked = audit.filter((r) => r.method === 'upstream_token.linked' && r.subject === subject);
    const revoked = audit.filter((r) => r.method === 'upstream_token.revoked' && r.subject === subject);
    expect(linked.length).toBeGreaterThan(0);
    expect(revoked).toHaveLength(1);
    expect(revoked[0]!.server).toBe('tracker');
    expect(revoked[0]!.actor).toContain('environment');
    // The calls themselves carry the agent's subject, as every request made with an identity-provider token.
    const calls = audit.filter((r) => r.tool === 'whoami' && r.server === 'tracker');
    expect(calls.length).toBeGreaterThan(0);
    expect(calls.some((r) => r.subject === 'alice')).toBe(true);
  });

  it('#20.5.13 an agent with a grant is its own user (grant:<id>) and gets a start link of its own', async () => {
    const res = await admin('/api/grants', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ label: 'ci-runner' }),
    });
    expect(res.status).toBe(201);
    const { id, token } = (await res.json()) as { id: string; token: string };
    const said = await whoami(token);
    const start = startLinkIn(said);
    expect((await new Browser('ci-at-tracker').linkAccount(start)).status).toBe(200);
    expect(await whoami(token)).toBe('ci-at-tracker');
    const mine = await fetch(`${origin}/oauth/upstream/token`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(((await mine.json()) as Array<{ subject: string }>).map((c) => c.subject)).toEqual([
      `grant:${id}`,
    ]);
  });
});

describe('client identity at the upstream’s authorization server', () => {
  it('#20.5.7 warden serves its Client ID Metadata Document, and uses it as client_id where the server takes one (https public URL)', async () => {
    const res = await fetch(`${origin}/oauth/client-metadata.json`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as Record<string, unknown>;
    expect(doc).toMatchObject({
      client_id: `${origin}/oauth/client-metadata.json`,
      redirect_uris: [`${origin}/oauth/upstream/callback`],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    });
    expect(doc).not.toHaveProperty('client_secret');

    const cimdAs = await startUpstreamAs({ clientIdMetadataDocument: true });
    const cimdUpstream = await startProtectedUpstream(cimdAs.issuer, cimdAs.jwksUri);
    const store = await plainStore();
    try {
      const publicUrl = 'https://warden.example.com';
      const flow = new UpstreamOAuth(
        new Map([
          ['t', { url: cimdUpstream.url, oauth: { type: 'oauth' as const, resource: cimdUpstream.url } }],
        ]),
        { publicUrl, store },
      );
      const { location } = await flow.start(
        't',
        new URL(await flow.startUrl('t', 'someone')).searchParams.get('ticket')!,
      );
      const q = new URL(location).searchParams;
      expect(q.get('client_id')).toBe(`${publicUrl}/oauth/client-metadata.json`);
      expect(q.get('redirect_uri')).toBe(`${publicUrl}/oauth/upstream/callback`);
      expect(q.get('code_challenge_method')).toBe('S256');
      expect(q.get('resource')).toBe(cimdUpstream.url);
      expect(cimdAs.registered).toEqual([]);
      // A configured client wins over both.
      const configured = new UpstreamOAuth(
        new Map([
          [
            't',
            {
              url: cimdUpstream.url,
              oauth: { type: 'oauth' as const, resource: cimdUpstream.url, clientId: 'hand-made' },
            },
          ],
        ]),
        { publicUrl, store },
      );
      const second = await configured.start(
        't',
        new URL(await configured.startUrl('t', 'someone')).searchParams.get('ticket')!,
      );
      expect(new URL(second.location).searchParams.get('client_id')).toBe('hand-made');
    } finally {
      await store.close();
      await cimdUpstream.close();
      await cimdAs.close();
    }
  });

  it('#20.5.15 end to end with a Client ID Metadata Document: the server fetches warden’s document (behind https) and no registration happens', async () => {
    const port = await freePort();
    const httpsOrigin = `https://127.0.0.1:${port}`;
    const plain = `http://127.0.0.1:${port}`;
    // The test's stand-in for a TLS-terminating proxy in front of warden (the provider and the browser go through it).
    const viaProxy = (u: string) => (u.startsWith(httpsOrigin) ? plain + u.slice(httpsOrigin.length) : u);
    const fetched: string[] = [];
    const cimdAs = await startUpstreamAs({ clientIdMetadataDocument: true, fetchVia: viaProxy, fetched });
    const cimdUpstream = await startProtectedUpstream(cimdAs.issuer, cimdAs.jwksUri);
    const dir = tempDir('warden-uoauth-cimd-');
    const file = join(dir, 'warden.yaml');
    const yaml = `
storage: sqlite:${join(dir, 'warden.db')}
mcpServers:
  docs:
    url: ${cimdUpstream.url}
    credentials: { type: oauth, scope: tracker }
auth:
  publicUrl: ${httpsOrigin}
  oauth: { issuer: '${agentIdp.issuer}', audience: '${httpsOrigin}/mcp' }
`;
    writeFileSync(file, yaml);
    const config = resolveConfig(parseConfig(yaml, file));
    config.listen = { host: '127.0.0.1', port };
    config.admin = { host: '127.0.0.1', port: 0 };
    const gw = await createGateway(config, { log: createLogger(process.env.WARDEN_TEST_LOG ?? 'silent') });
    const urls = await gw.listen();
    try {
      const hana = await agentIdp.mintAccessToken('hana', `${httpsOrigin}/mcp`);
      const call = async () => {
        let agent: Awaited<ReturnType<typeof connect>> | undefined;
        try {
          agent = await connect(`${urls.mcpUrl}/docs`, {}, { authorization: `Bearer ${hana}` });
          return textOf(await agent.callTool({ name: 'whoami', arguments: {} }));
        } catch (err) {
          return `error: ${(err as Error).message}`;
        } finally {
          await agent?.close().catch(() => undefined);
        }
      };
      const said = await call();
      const start = /open (\S+\/oauth\/upstream\/docs\/start\?ticket=\S+) in a browser/.exec(said)?.[1];
      expect(start, said).toBeDefined();
      expect(start!.startsWith(`${httpsOrigin}/`)).toBe(true);
      const browser = new Browser('hana-at-docs');
      const callback = await browser.authorize(viaProxy(start!), `${httpsOrigin}/oauth/upstream/callback`);
      // The authorization request named warden's document as its client.
      expect(fetched).toContain(`${httpsOrigin}/oauth/client-metadata.json`);
      const page = await browser.request(viaProxy(callback));
      expect(page.status, await page.clone().text()).toBe(200);
      expect(cimdAs.registered).toEqual([]);
      expect(await call()).toBe('hana-at-docs');
      expect(cimdUpstream.seen).not.toContain(hana);
    } finally {
      await gw.close(1000);
      await cimdUpstream.close();
      await cimdAs.close();
    }
  }, 30_000);

  it('#20.5.12 discovery refuses protected-resource metadata that describes another resource', async () => {
    const store = await plainStore();
    try {
      const other = `${upstream.url}?tenant=2`;
      const flow = new UpstreamOAuth(
        new Map([['t', { url: other, oauth: { type: 'oauth' as const, resource: other } }]]),
        {
          publicUrl: origin,
          store,
        },
      );
      await expect(flow.authServer('t')).rejects.toThrow(
        `its metadata describes ${upstream.url}, not ${other}`,
      );
    } finally {
      await store.close();
    }
  });

  it('#20.5.8 config: the oauth mode needs auth.publicUrl, an HTTP upstream, and clientSecret only with clientId', () => {
    const problems = (yaml: string) => {
      try {
        resolveConfig(parseConfig(yaml, '/tmp/warden-uoauth.yaml'));
        return '';
      } catch (err) {
        return (err as Error).message;
      }
    };
    expect(
      problems('mcpServers:\n  t:\n    url: http://127.0.0.1:1/mcp\n    credentials: { type: oauth }\n'),
    ).toMatch(/mcpServers\.t\.credentials.*needs auth\.publicUrl/s);
    const pub = 'auth:\n  publicUrl: http://127.0.0.1:2\n';
    expect(
      problems(`mcpServers:\n  t:\n    command: node\n    credentials: { type: oauth }\n${pub}`),
    ).toMatch(/Streamable HTTP upstream/);
    expect(
      problems(
        `mcpServers:\n  t:\n    url: http://127.0.0.1:1/mcp\n    credentials: { type: oauth, clientSecret: s }\n${pub}`,
      ),
    ).toMatch(/mcpServers\.t\.credentials\.clientSecret.*needs clientId/s);
    expect(
      problems(
        `mcpServers:\n  t:\n    url: http://127.0.0.1:1/mcp\n    credentials: { type: oauth, tokenUrl: x }\n${pub}`,
      ),
    ).toMatch(/tokenUrl/);
    expect(
      problems(
        `mcpServers:\n  t:\n    url: http://127.0.0.1:1/mcp\n    credentials: { type: oauth }\n${pub}`,
      ),
    ).toBe('');
  });
});

describe('#20.5 the flow across replicas sharing Redis', async () => {
  const run = await shouldRunRedis('upstream OAuth flow across replicas');
  const replicas: Array<{ gateway: Gateway; mcpUrl: string; origin: string }> = [];
  let publicOrigin = '';

  beforeAll(async () => {
    if (!run) return;
    const dir = tempDir('warden-uoauth-replicas-');
    const ports = [await freePort(), await freePort()];
    // Both replicas stand behind one public address (a balancer): the first one's, as links and callbacks name it.
    publicOrigin = `http://127.0.0.1:${ports[0]}`;
    const yaml = trackerYaml(join(dir, 'warden.db'), publicOrigin, redisStateYaml());
    for (const port of ports) {
      const started = await startOn(yaml, join(dir, 'warden.yaml'), port);
      replicas.push({ ...started, origin: `http://127.0.0.1:${port}` });
    }
  }, 30_000);
  afterAll(async () => {
    for (const r of replicas) await r.gateway.close(1000);
  });

  async function whoamiAt(replica: number, token: string): Promise<string> {
    let agent: Awaited<ReturnType<typeof connect>> | undefined;
    try {
      agent = await connect(`${replicas[replica]!.mcpUrl}/tracker`, {}, { authorization: `Bearer ${token}` });
      return textOf(await agent.callTool({ name: 'whoami', arguments: {} }));
    } catch (err) {
      return `error: ${(err as Error).message}`;
    } finally {
      await agent?.close().catch(() => undefined);
    }
  }

  it.runIf(run)(
    '#20.5.16 a link made by one replica opens on another and the callback lands on a third hop; each is good once everywhere',
    async () => {
      const [a, b] = replicas as [(typeof replicas)[0], (typeof replicas)[0]];
      const gina = await agentIdp.mintAccessToken('gina', `${publicOrigin}/mcp`);
      // Replica B refuses the call and makes the link.
      const link = startLinkIn(await whoamiAt(1, gina));
      expect(link.startsWith(`${publicOrigin}/oauth/upstream/tracker/start?ticket=`)).toBe(true);
      // The balancer sends the start page to B and the callback to A.
      const onB = link.replace(publicOrigin, b.origin);
      const browser = new Browser('gina-at-tracker');
      const callback = await browser.authorize(onB, `${publicOrigin}/oauth/upstream/callback`);
      const cookie = browser.cookies(new URL(b.origin));
      expect(cookie).toContain('warden_upstream_oauth=');
      const done = await fetch(callback.replace(publicOrigin, a.origin), {
        headers: { cookie },
        redirect: 'manual',
      });
      expect(done.status, await done.clone().text()).toBe(200);
      // Both replicas now call the upstream as gina.
      expect(await whoamiAt(0, gina)).toBe('gina-at-tracker');
      expect(await whoamiAt(1, gina)).toBe('gina-at-tracker');
      // The link and the callback were spent for every replica.
      for (const r of replicas) {
        expect((await fetch(link.replace(publicOrigin, r.origin), { redirect: 'manual' })).status).toBe(400);
        const replay = await fetch(callback.replace(publicOrigin, r.origin), {
          headers: { cookie },
          redirect: 'manual',
        });
        expect(replay.status).toBe(400);
      }
    },
    60_000,
  );
});

describe('#20.5 no new session needed after authorizing (the aggregated endpoint)', () => {
  let gw: Gateway;
  let base: string;

  beforeAll(async () => {
    const dir = tempDir('warden-uoauth-agg-');
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    const yaml = trackerYaml(
      join(dir, 'warden.db'),
      base,
      '',
      `  probe:\n    command: node\n    args: ["--import", "tsx", "${PROBE}"]\n    cwd: ${ROOT}`,
    );
    gw = (await startOn(yaml, join(dir, 'warden.yaml'), port)).gateway;
  }, 30_000);
  afterAll(async () => {
    await gw?.close(1000);
  });

  it('#20.5.17 the session tells where to authorize, and lists and calls the server once the person has: no reconnect', async () => {
    const hank = await agentIdp.mintAccessToken('hank', `${base}/mcp`);
    const agent = await connect(`${base}/mcp`, {}, { authorization: `Bearer ${hank}` });
    try {
      // The other server started; the one waiting for hank says where to authorize, in the session's instructions.
      const instructions = agent.getInstructions() ?? '';
      expect(instructions).toContain('## tracker');
      const start = startLinkIn(instructions);
      const before = (await agent.listTools()).tools.map((t) => t.name);
      expect(before.some((n) => n.startsWith('probe'))).toBe(true);
      expect(before.some((n) => n.startsWith('tracker'))).toBe(false);

      const page = await new Browser('hank-at-tracker').linkAccount(start, base);
      expect(page.status, page.text).toBe(200);
      // (A waiting server is tried again at most every 2 s.)
      await new Promise((r) => setTimeout(r, 2100));
      const after = (await agent.listTools()).tools.map((t) => t.name);
      expect(after).toContain('tracker__whoami');
      expect(textOf(await agent.callTool({ name: 'tracker__whoami', arguments: {} }))).toBe(
        'hank-at-tracker',
      );
    } finally {
      await agent.close();
    }
  }, 30_000);
});
