// Warden as an OAuth 2.1 protected resource (#20): a real OpenID provider (oidc-provider) on loopback issues the
// tokens; the MCP SDK client's own OAuth support discovers and authorizes against warden end to end.
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { OAuthClientInformationMixed, OAuthTokens } from '@modelcontextprotocol/sdk/shared/auth.js';
import { base64url, decodeJwt, importJWK, type JWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { resolveConfig } from '../../src/config/resolve.js';
import { createGateway, type Gateway } from '../../src/gateway.js';
import { createLogger } from '../../src/log.js';
import { type Idp, PKCE_CLIENT, PKCE_REDIRECT, startIdp } from '../fixtures/idp.js';
import { connect, PROBE, ROOT, startHttpProbe, tempDir, textOf } from '../helpers/gateway.js';

const ADMIN = 'test-admin-token-oauth-0123456789';
let idp: Idp;
let gateway: Gateway;
let publicUrl: string;
let mcpUrl: string;
let adminUrl: string;
let http: { url: string; child: ChildProcess };

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

function rawInit(url: string, headers: Record<string, string> = {}) {
  return fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...headers,
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } },
    }),
  });
}

/** A token signed with the IdP's own current key, with the claims given (for the refusals a real IdP won't mint). */
async function forge(claims: Record<string, unknown>, key: JWK = idp.keys[0]!): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({
    iss: idp.issuer,
    aud: `${publicUrl}/mcp`,
    sub: 'mallory',
    iat: now,
    exp: now + 300,
    ...claims,
  })
    .setProtectedHeader({ alg: 'RS256', kid: key.kid!, typ: 'at+jwt' })
    .sign(await importJWK(key, 'RS256'));
}

async function auditRecords(): Promise<Array<Record<string, unknown>>> {
  const res = await fetch(`${adminUrl}/api/audit?limit=200`, { headers: bearer(ADMIN) });
  return (await res.json()) as Array<Record<string, unknown>>;
}

beforeAll(async () => {
  process.env.WARDEN_ADMIN_TOKEN = ADMIN;
  const port = await freePort();
  publicUrl = `http://127.0.0.1:${port}`;
  idp = await startIdp({
    resourcePrefix: `${publicUrl}/mcp`,
    groups: { 'finance-bot': ['finance-agents'], 'ops-bot': ['ops', 'staff'], alice: ['finance-agents'] },
  });
  http = await startHttpProbe();
  const dir = tempDir('warden-oauth-');
  const finance = join(dir, 'finance.json');
  // The finance group may not call slow; everyone else may.
  writeFileSync(
    finance,
    JSON.stringify({ version: '1', default: 'allow', tools: { slow: { action: 'deny' } } }),
  );
  const serverPolicy = join(dir, 'probe.json');
  // pid once a minute per grant: for an OAuth identity, per subject.
  writeFileSync(
    serverPolicy,
    JSON.stringify({
      version: '1',
      default: 'allow',
      tools: { pid: { rate_limit: { max: 1, window: '1m', per: 'grant' } } },
    }),
  );
  const yaml = `
mcpServers:
  probe:
    command: node
    args: ["--import", "tsx", "${PROBE}"]
    cwd: ${ROOT}
    policy: ${serverPolicy}
  remote:
    url: ${http.url}
auth:
  anonymous: false
  publicUrl: ${publicUrl}
  oauth:
    issuer: ${idp.issuer}
    scopes: [mcp:tools]
    policies: { finance-agents: ./finance.json }
`;
  const file = join(dir, 'warden.yaml');
  writeFileSync(file, yaml);
  const config = resolveConfig(parseConfig(yaml, file));
  config.listen = { host: '127.0.0.1', port };
  config.admin = { host: '127.0.0.1', port: 0 };
  gateway = await createGateway(config, { log: createLogger(process.env.WARDEN_TEST_LOG ?? 'silent') });
  ({ mcpUrl, adminUrl } = await gateway.listen());
}, 60_000);

afterAll(async () => {
  await gateway?.close(1000);
  await idp?.close();
  http?.child.kill();
  delete process.env.WARDEN_ADMIN_TOKEN;
});

describe('protected resource metadata (RFC 9728)', () => {
  it('#20.1 answers the root, /mcp and /mcp/<id> forms naming the issuer and the resource', async () => {
    for (const [path, resource] of [
      ['', `${publicUrl}/mcp`],
      ['/mcp', `${publicUrl}/mcp`],
      ['/mcp/probe', `${publicUrl}/mcp/probe`],
    ] as const) {
      const res = await fetch(`${publicUrl}/.well-known/oauth-protected-resource${path}`);
      expect(res.status).toBe(200);
      const doc = (await res.json()) as Record<string, unknown>;
      expect(doc.resource).toBe(resource);
      expect(doc.authorization_servers).toEqual([idp.issuer]);
      expect(doc.scopes_supported).toEqual(['mcp:tools']);
    }
  });

  it('#20.1 answers 404 for a server that is not configured', async () => {
    const res = await fetch(`${publicUrl}/.well-known/oauth-protected-resource/mcp/nope`);
    expect(res.status).toBe(404);
  });

  it('#20.1 answers 401 with resource_metadata for the endpoint, and invalid_token when a token was sent', async () => {
    const none = await rawInit(`${mcpUrl}/probe`);
    expect(none.status).toBe(401);
    const challenge = none.headers.get('www-authenticate')!;
    expect(challenge).toContain(
      `resource_metadata="${publicUrl}/.well-known/oauth-protected-resource/mcp/probe"`,
    );
    expect(challenge).not.toContain('error=');
    const bad = await rawInit(`${mcpUrl}/probe`, bearer('not-a-token'));
    expect(bad.status).toBe(401);
    expect(bad.headers.get('www-authenticate')).toContain('error="invalid_token"');
  });
});

describe('JWT access tokens from the IdP', () => {
  it('#20.1 lets a client-credentials token in and names the subject on every audit record', async () => {
    const token = await idp.clientCredentials('ops-bot', `${publicUrl}/mcp`);
    const client = await connect(`${mcpUrl}/probe`, {}, bearer(token));
    expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'hi' } }))).toContain('hi');
    await client.close();
    const mine = (await auditRecords()).filter((r) => r.subject === 'ops-bot');
    expect(mine.length).toBeGreaterThan(0);
    expect(mine.some((r) => r.tool === 'echo')).toBe(true);
    for (const r of mine) expect(r.grant).toBeNull();
  });

  it('#20.1 accepts a token issued for the exact per-server resource', async () => {
    const token = await idp.clientCredentials('ops-bot', `${publicUrl}/mcp/probe`);
    expect((await rawInit(`${mcpUrl}/probe`, bearer(token))).status).toBe(200);
    // ...and nowhere else: that token's audience is the probe endpoint only.
    expect((await rawInit(`${mcpUrl}/remote`, bearer(token))).status).toBe(401);
  });

  it('#20.1 names one resource per endpoint whatever its spelling (/mcp/pro%62e is /mcp/probe)', async () => {
    const odd = await idp.clientCredentials('ops-bot', `${publicUrl}/mcp/pro%62e`);
    expect((await rawInit(`${mcpUrl}/pro%62e`, bearer(odd))).status).toBe(401);
    expect((await rawInit(`${mcpUrl}/probe`, bearer(odd))).status).toBe(401);
    const canonical = await idp.clientCredentials('ops-bot', `${publicUrl}/mcp/probe`);
    const res = await rawInit(`${mcpUrl}/pro%62e`, bearer(canonical));
    expect(res.status).toBe(200);
    const none = await rawInit(`${mcpUrl}/pro%62e`);
    expect(none.headers.get('www-authenticate')).toContain('oauth-protected-resource/mcp/probe"');
  });

  it('#20.2 gives a member of a mapped group that group policy, and others not', async () => {
    const finance = await connect(
      `${mcpUrl}/probe`,
      {},
      bearer(await idp.clientCredentials('finance-bot', `${publicUrl}/mcp`)),
    );
    const denied = await finance.callTool({ name: 'slow', arguments: { ms: 1 } }).catch((e: Error) => e);
    expect(denied instanceof Error ? denied.message : JSON.stringify(denied)).toMatch(
      /denied|not allowed|slow/i,
    );
    expect(denied instanceof Error || (denied as { isError?: boolean }).isError === true).toBe(true);
    await finance.close();
    const ops = await connect(
      `${mcpUrl}/probe`,
      {},
      bearer(await idp.clientCredentials('ops-bot', `${publicUrl}/mcp`)),
    );
    const allowed = await ops.callTool({ name: 'slow', arguments: { ms: 1 } });
    expect(allowed.isError).not.toBe(true);
    await ops.close();
  });

  it('#20.1 refuses an expired token with 401 invalid_token', async () => {
    const past = Math.floor(Date.now() / 1000) - 3600;
    const res = await rawInit(`${mcpUrl}/probe`, bearer(await forge({ iat: past - 60, exp: past })));
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toContain('error="invalid_token"');
  });

  it('#20.1 refuses a token for another audience', async () => {
    const res = await rawInit(
      `${mcpUrl}/probe`,
      bearer(await forge({ aud: 'https://other.example.com/mcp' })),
    );
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toContain('not issued for this resource');
  });

  it('#20.1 refuses a token of another issuer, even signed with a known key', async () => {
    const res = await rawInit(`${mcpUrl}/probe`, bearer(await forge({ iss: 'http://127.0.0.1:1' })));
    expect(res.status).toBe(401);
  });

  it('#20.1 refuses a token without exp, and one not valid yet', async () => {
    const noExp = await forge({ exp: undefined });
    expect(decodeJwt(noExp).exp).toBeUndefined();
    expect((await rawInit(`${mcpUrl}/probe`, bearer(noExp))).status).toBe(401);
    const later = Math.floor(Date.now() / 1000) + 3600;
    expect(
      (await rawInit(`${mcpUrl}/probe`, bearer(await forge({ nbf: later, exp: later + 60 })))).status,
    ).toBe(401);
  });

  it('#20.1 refuses an unsigned token (alg none)', async () => {
    const real = await idp.clientCredentials('ops-bot', `${publicUrl}/mcp`);
    const payload = real.split('.')[1]!;
    const header = base64url.encode(JSON.stringify({ alg: 'none', typ: 'at+jwt' }));
    for (const token of [`${header}.${payload}.`, `${header}.${payload}`]) {
      const res = await rawInit(`${mcpUrl}/probe`, bearer(token));
      expect(res.status).toBe(401);
    }
  });

  it('#20.1 refuses an HS256 token whose secret is the public key (algorithm confusion)', async () => {
    const { n } = idp.keys[0]!;
    const secret = new TextEncoder().encode(JSON.stringify({ kty: 'RSA', n, e: 'AQAB' }));
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({
      iss: idp.issuer,
      aud: `${publicUrl}/mcp`,
      sub: 'mallory',
      exp: now + 300,
    })
      .setProtectedHeader({ alg: 'HS256', kid: idp.keys[0]!.kid! })
      .sign(secret);
    expect((await rawInit(`${mcpUrl}/probe`, bearer(token))).status).toBe(401);
  });

  it('#20.1 refuses a tampered token (payload changed, signature kept)', async () => {
    const real = await idp.clientCredentials('ops-bot', `${publicUrl}/mcp`);
    const [h, p, s] = real.split('.');
    const claims = JSON.parse(new TextDecoder().decode(base64url.decode(p!))) as Record<string, unknown>;
    claims.groups = ['admins'];
    const tampered = `${h}.${base64url.encode(JSON.stringify(claims))}.${s}`;
    const res = await rawInit(`${mcpUrl}/probe`, bearer(tampered));
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toContain('signature');
  });

  it('#20.1 answers 403 insufficient_scope naming the scope when the token lacks it', async () => {
    const res = await rawInit(`${mcpUrl}/probe`, bearer(await forge({ scope: 'other' })));
    expect(res.status).toBe(403);
    const challenge = res.headers.get('www-authenticate')!;
    expect(challenge).toContain('error="insufficient_scope"');
    expect(challenge).toContain('scope="mcp:tools"');
  });

  it('#20.1 binds a session to the subject that opened it', async () => {
    const a = await idp.clientCredentials('ops-bot', `${publicUrl}/mcp`);
    const b = await idp.clientCredentials('plain-bot', `${publicUrl}/mcp`);
    const opened = await rawInit(`${mcpUrl}/probe`, bearer(a));
    const session = opened.headers.get('mcp-session-id')!;
    expect(session).toBeTruthy();
    const res = await fetch(`${mcpUrl}/probe`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-session-id': session,
        ...bearer(b),
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }),
    });
    expect(res.status).toBe(404);
  });
});

describe('identity from claims', () => {
  it('#20.2 counts per: grant limits per subject, across tokens and sessions', async () => {
    const call = async (client: string) => {
      const c = await connect(
        `${mcpUrl}/probe`,
        {},
        bearer(await idp.clientCredentials(client, `${publicUrl}/mcp`)),
      );
      try {
        return await c.callTool({ name: 'pid', arguments: {} });
      } finally {
        await c.close();
      }
    };
    expect((await call('plain-bot')).isError).not.toBe(true);
    // A new token and a new session of the same subject: the same counter.
    const again = await call('plain-bot');
    expect(again.isError).toBe(true);
    expect(textOf(again)).toMatch(/limit|retry/i);
    // Another subject has a counter of its own.
    expect((await call('ops-bot')).isError).not.toBe(true);
  });
});

describe('the SDK client OAuth flow', () => {
  it('#20.4 discovers warden, authorizes by code + PKCE at the IdP, and calls a tool as the user', async () => {
    let tokens: OAuthTokens | undefined;
    let verifier = '';
    let code: string | undefined;
    const info: OAuthClientInformationMixed = { client_id: PKCE_CLIENT };
    const provider: OAuthClientProvider = {
      redirectUrl: PKCE_REDIRECT,
      clientMetadata: {
        redirect_uris: [PKCE_REDIRECT],
        client_name: 'warden-test',
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code'],
        response_types: ['code'],
      },
      clientInformation: () => info,
      tokens: () => tokens,
      saveTokens: (t) => {
        tokens = t;
      },
      saveCodeVerifier: (v) => {
        verifier = v;
      },
      codeVerifier: () => verifier,
      // The person at the browser: follow the redirects (the IdP fixture completes login and consent), keep cookies.
      redirectToAuthorization: async (url) => {
        code = await followToRedirect(url);
      },
    };
    const url = new URL(`${mcpUrl}/probe`);
    const first = new StreamableHTTPClientTransport(url, { authProvider: provider });
    const client = new Client({ name: 'oauth-test', version: '1.0.0' });
    await expect(client.connect(first)).rejects.toThrow(/Unauthorized/i);
    expect(code).toBeTruthy();
    await first.finishAuth(code!);
    expect(tokens?.access_token).toBeTruthy();
    expect(decodeJwt(tokens!.access_token).sub).toBe('alice');
    const second = new Client({ name: 'oauth-test', version: '1.0.0' });
    await second.connect(new StreamableHTTPClientTransport(url, { authProvider: provider }));
    expect(textOf(await second.callTool({ name: 'echo', arguments: { text: 'as alice' } }))).toContain(
      'as alice',
    );
    // alice is in finance-agents: that group's policy applies to her too.
    const denied = await second.callTool({ name: 'slow', arguments: { ms: 1 } }).catch((e: Error) => e);
    expect(denied instanceof Error || (denied as { isError?: boolean }).isError === true).toBe(true);
    await second.close();
    expect((await auditRecords()).some((r) => r.subject === 'alice' && r.tool === 'echo')).toBe(true);
  });
});

/** Follows an authorization URL through the IdP (cookies kept) to the client's redirect; returns the code. */
async function followToRedirect(start: URL): Promise<string> {
  const jar = new Map<string, string>();
  let next = start.toString();
  for (let i = 0; i < 20; i++) {
    const res = await fetch(next, {
      redirect: 'manual',
      headers: { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') },
    });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const eq = pair!.indexOf('=');
      jar.set(pair!.slice(0, eq), pair!.slice(eq + 1));
    }
    const location = res.headers.get('location');
    if (location === null) throw new Error(`no redirect from ${next}: ${res.status} ${await res.text()}`);
    next = new URL(location, next).toString();
    if (next.startsWith(PKCE_REDIRECT)) {
      const u = new URL(next);
      const code = u.searchParams.get('code');
      if (code === null) throw new Error(`no code: ${next}`);
      return code;
    }
  }
  throw new Error('too many redirects');
}
