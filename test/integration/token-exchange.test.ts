// RFC 8693 token exchange (src/identity/upstream/exchange.ts) against a real OpenID provider (oidc-provider with a
// token-exchange grant, test/fixtures/oidc-idp.ts) and an upstream that is itself a protected resource
// (test/fixtures/protected-upstream.ts): the upstream accepts the exchanged token (its own audience, the agent's
// subject), refuses the agent's token, and never sees the agent's token when warden's exchanger is used.
import { Client as ClientV2, StreamableHTTPClientTransport as HttpV2 } from '@modelcontextprotocol/client';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { resolveConfig } from '../../src/config/resolve.js';
import { Issuer } from '../../src/identity/oauth/issuer.js';
import { TokenExchangeError, TokenExchanger } from '../../src/identity/upstream/exchange.js';
import { startTestIdp, type TestIdp } from '../fixtures/oidc-idp.js';
import { type ProtectedUpstream, startProtectedUpstream } from '../fixtures/protected-upstream.js';
import { connect, startGateway, textOf } from '../helpers/gateway.js';

const WARDEN_AUDIENCE = 'http://127.0.0.1:7420/mcp';
const CLIENT = 'warden-exchange';
const SECRET = 'token-exchange-test-secret';

let idp: TestIdp;
let upstream: ProtectedUpstream;
/** The same protected upstream, speaking the 2026-07-28 era only. */
let modern: ProtectedUpstream;
let issuer: Issuer;

/** Calls `whoami` at the upstream with this bearer token; the tool's answer, or the error's message. */
async function whoami(token: string): Promise<string> {
  const client = new Client({ name: 'exchange-test', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(upstream.url), {
    requestInit: { headers: { authorization: `Bearer ${token}` } },
  });
  try {
    await client.connect(transport);
    const r = await client.callTool({ name: 'whoami', arguments: {} });
    return (r.content as Array<{ text: string }>)[0]!.text;
  } catch (err) {
    return `error: ${(err as Error).message}`;
  } finally {
    await client.close().catch(() => undefined);
  }
}

function exchanger(now?: () => number): TokenExchanger {
  return new TokenExchanger(
    issuer,
    { clientId: CLIENT, clientSecret: SECRET, audience: upstream.url },
    now === undefined ? {} : { now },
  );
}

beforeAll(async () => {
  // The upstream's URL must be known to the IdP's allowed audiences: start it first against a placeholder issuer
  // is not possible (it checks the issuer), so the IdP allows the audience by a late-bound list.
  const audiences: string[] = [];
  idp = await startTestIdp({
    clientId: 'unused-dashboard',
    redirectUri: 'http://127.0.0.1:1/api/oidc/callback',
    accounts: {},
    tokenExchange: { clientId: CLIENT, clientSecret: SECRET, subjectAudience: WARDEN_AUDIENCE, audiences },
  });
  issuer = new Issuer(idp.issuer);
  const meta = await issuer.metadata();
  upstream = await startProtectedUpstream(idp.issuer, meta.jwks_uri!);
  modern = await startProtectedUpstream(idp.issuer, meta.jwks_uri!, { era: '2026-07-28' });
  audiences.push(upstream.url, modern.url);
}, 30_000);

afterAll(async () => {
  await modern?.close();
  await upstream?.close();
  await idp?.close();
});

describe('token exchange for an upstream that trusts the same identity provider', () => {
  it('#20.b7 the upstream accepts the exchanged token (its audience, the agent’s subject) and refuses the agent’s', async () => {
    const agentToken = await idp.mintAccessToken('alice', WARDEN_AUDIENCE);
    // The agent's own token is for warden: the upstream refuses it (this is why it is never forwarded).
    expect(await whoami(agentToken)).toMatch(/^error: .*invalid_token/);
    const token = await exchanger().tokenFor(`${idp.issuer}|alice`, agentToken);
    expect(token).not.toBe(agentToken);
    expect(await whoami(token)).toBe('alice');
    expect(idp.exchanges.at(-1)).toEqual({ subject: 'alice', audience: upstream.url });
  });

  it('#20.b8 the agent’s token never reaches the upstream when calls go through the exchanger', async () => {
    const x = exchanger();
    const agentTokens = [
      await idp.mintAccessToken('bob', WARDEN_AUDIENCE),
      await idp.mintAccessToken('carol', WARDEN_AUDIENCE),
    ];
    const before = upstream.seen.length;
    for (const [i, t] of agentTokens.entries())
      expect(await whoami(await x.tokenFor(`${idp.issuer}|${['bob', 'carol'][i]}`, t))).toBe(
        ['bob', 'carol'][i],
      );
    const shown = upstream.seen.slice(before);
    expect(shown.length).toBeGreaterThan(0);
    for (const t of agentTokens) expect(shown).not.toContain(t);
  });

  it('#20.b9 caches per subject until shortly before expiry, and never past the agent token’s expiry', async () => {
    let now = Date.now();
    const x = exchanger(() => now);
    const agentToken = await idp.mintAccessToken('dave', WARDEN_AUDIENCE);
    const first = await x.tokenFor(`${idp.issuer}|dave`, agentToken);
    expect(await x.tokenFor(`${idp.issuer}|dave`, agentToken)).toBe(first);
    expect(x.exchanges).toBe(1);
    // Another subject is another exchange, never the first one's token.
    const erin = await x.tokenFor(`${idp.issuer}|erin`, await idp.mintAccessToken('erin', WARDEN_AUDIENCE));
    expect(erin).not.toBe(first);
    expect(x.exchanges).toBe(2);
    // 300 s tokens are used until 60 s before they expire.
    now += 239_000;
    expect(await x.tokenFor(`${idp.issuer}|dave`, agentToken)).toBe(first);
    now += 2000;
    await x.tokenFor(`${idp.issuer}|dave`, agentToken);
    expect(x.exchanges).toBe(3);
    // An agent token that expires in 10 s caps the cache at 10 s.
    const capped = exchanger(() => now);
    await capped.tokenFor(`${idp.issuer}|frank`, agentToken, now + 10_000);
    now += 11_000;
    await capped.tokenFor(`${idp.issuer}|frank`, agentToken, now - 1000);
    expect(capped.exchanges).toBe(2);
  });

  it('#20.b10 a token not issued for warden is not exchanged (invalid_grant), and concurrent calls share one exchange', async () => {
    const foreign = await idp.mintAccessToken('mallory', 'https://some-other-service.example');
    const err = await exchanger()
      .tokenFor(`${idp.issuer}|mallory`, foreign)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TokenExchangeError);
    expect((err as TokenExchangeError).code).toBe('invalid_grant');
    expect((err as Error).message).not.toContain(foreign);
    const x = exchanger();
    const agentToken = await idp.mintAccessToken('gina', WARDEN_AUDIENCE);
    const [a, b] = await Promise.all([
      x.tokenFor(`${idp.issuer}|gina`, agentToken),
      x.tokenFor(`${idp.issuer}|gina`, agentToken),
    ]);
    expect(a).toBe(b);
    expect(x.exchanges).toBe(1);
  });
});

describe('token exchange through the gateway (mcpServers.<id>.credentials)', () => {
  it('#20.b11 each agent’s call reaches the upstream with a token exchanged for its own subject, never its own token', async () => {
    const gw = await startGateway(`
mcpServers:
  tracker:
    url: ${upstream.url}
    credentials:
      type: token-exchange
      clientId: ${CLIENT}
      clientSecret: ${SECRET}
auth:
  publicUrl: http://127.0.0.1:7420
  oauth:
    issuer: ${idp.issuer}
    audience: ${WARDEN_AUDIENCE}
`);
    const tokens = {
      alice: await idp.mintAccessToken('alice', WARDEN_AUDIENCE),
      bob: await idp.mintAccessToken('bob', WARDEN_AUDIENCE),
    };
    const before = upstream.seen.length;
    // One after the other: two first requests at once can meet the key-set cold start of src/identity/oauth/issuer.ts
    // (the second caller does not wait for the first fetch; reported to its owner), which this test is not about.
    const agents = [];
    for (const t of Object.values(tokens))
      agents.push(await connect(`${gw.mcpUrl}/tracker`, {}, { authorization: `Bearer ${t}` }));
    try {
      const answers = await Promise.all(
        agents.map(async (a) => textOf(await a.callTool({ name: 'whoami', arguments: {} }))),
      );
      // Two sessions, two identities: each upstream link carries its own user's token.
      expect(answers).toEqual(['alice', 'bob']);
      const shown = upstream.seen.slice(before);
      expect(shown.length).toBeGreaterThan(0);
      for (const t of Object.values(tokens)) expect(shown).not.toContain(t);
      expect(upstream.subjects.slice(-2).sort()).toEqual(['alice', 'bob']);
    } finally {
      await Promise.all(agents.map((a) => a.close()));
      await gw.close();
    }
  });

  it('#20.b13 an agent with a grant (no identity-provider token) is told it needs one; the upstream sees no token of it', async () => {
    process.env.WARDEN_ADMIN_TOKEN = 'exchange-test-admin-token';
    const gw = await startGateway(`
mcpServers:
  tracker:
    url: ${upstream.url}
    credentials: { type: token-exchange, clientId: ${CLIENT}, clientSecret: ${SECRET} }
auth:
  publicUrl: http://127.0.0.1:7420
  oauth: { issuer: '${idp.issuer}', audience: '${WARDEN_AUDIENCE}' }
`);
    try {
      const res = await fetch(`${gw.adminUrl}/api/grants`, {
        method: 'POST',
        headers: { authorization: 'Bearer exchange-test-admin-token', 'content-type': 'application/json' },
        body: JSON.stringify({ label: 'grant-agent' }),
      });
      expect(res.status).toBe(201);
      const { token } = (await res.json()) as { token: string };
      const before = upstream.seen.length;
      let said = '';
      try {
        const agent = await connect(`${gw.mcpUrl}/tracker`, {}, { authorization: `Bearer ${token}` });
        const r = await agent.callTool({ name: 'whoami', arguments: {} });
        said = textOf(r);
        await agent.close();
      } catch (err) {
        said = (err as Error).message;
      }
      expect(said).toContain('acts for each user');
      expect(said).toContain(idp.issuer);
      expect(upstream.seen.slice(before)).toEqual([]);
    } finally {
      delete process.env.WARDEN_ADMIN_TOKEN;
      await gw.close();
    }
  });

  it('#20.b16 a 2026-only upstream: both eras of agent reach it with tokens exchanged for their own subjects, over 2026', async () => {
    const gw = await startGateway(`
mcpServers:
  tracker:
    url: ${modern.url}
    credentials: { type: token-exchange, clientId: ${CLIENT}, clientSecret: ${SECRET} }
auth:
  publicUrl: http://127.0.0.1:7420
  oauth: { issuer: '${idp.issuer}', audience: '${WARDEN_AUDIENCE}' }
`);
    const alice = await idp.mintAccessToken('alice', WARDEN_AUDIENCE);
    const bob = await idp.mintAccessToken('bob', WARDEN_AUDIENCE);
    const before = modern.seen.length;
    const agent2025 = await connect(`${gw.mcpUrl}/tracker`, {}, { authorization: `Bearer ${alice}` });
    const agent2026 = new ClientV2(
      { name: 'exchange-2026', version: '1.0.0' },
      { capabilities: {}, versionNegotiation: { mode: { pin: '2026-07-28' } } },
    );
    await agent2026.connect(
      new HttpV2(new URL(`${gw.mcpUrl}/tracker`), {
        requestInit: { headers: { authorization: `Bearer ${bob}` } },
      }),
    );
    try {
      expect(agent2026.getNegotiatedProtocolVersion()).toBe('2026-07-28');
      expect(textOf(await agent2025.callTool({ name: 'whoami', arguments: {} }))).toBe('alice');
      expect(textOf(await agent2026.callTool({ name: 'whoami', arguments: {} }))).toBe('bob');
      const shown = modern.seen.slice(before);
      expect(shown).not.toContain(alice);
      expect(shown).not.toContain(bob);
      // Every request went out in 2026 (the probe included, with the user's exchanged token): no initialize.
      expect(modern.methods).toContain('server/discover');
      expect(modern.methods).toContain('tools/call');
      expect(modern.methods).not.toContain('initialize');
      expect(modern.methods).not.toContain('');
    } finally {
      await agent2025.close();
      await agent2026.close();
      await gw.close();
    }
  });

  it('#20.b17 protocol 2026-07-28 pinned with credentials loads, and a grant agent is still told it needs a token', async () => {
    process.env.WARDEN_ADMIN_TOKEN = 'exchange-test-admin-token';
    const gw = await startGateway(`
mcpServers:
  tracker:
    url: ${modern.url}
    protocol: 2026-07-28
    credentials: { type: token-exchange, clientId: ${CLIENT}, clientSecret: ${SECRET} }
auth:
  publicUrl: http://127.0.0.1:7420
  oauth: { issuer: '${idp.issuer}', audience: '${WARDEN_AUDIENCE}' }
`);
    try {
      const carol = await idp.mintAccessToken('carol', WARDEN_AUDIENCE);
      const agent = await connect(`${gw.mcpUrl}/tracker`, {}, { authorization: `Bearer ${carol}` });
      expect(textOf(await agent.callTool({ name: 'whoami', arguments: {} }))).toBe('carol');
      await agent.close();
      const res = await fetch(`${gw.adminUrl}/api/grants`, {
        method: 'POST',
        headers: { authorization: 'Bearer exchange-test-admin-token', 'content-type': 'application/json' },
        body: JSON.stringify({ label: 'grant-agent-2026' }),
      });
      const { token } = (await res.json()) as { token: string };
      const before = modern.seen.length;
      let said = '';
      try {
        const g = await connect(`${gw.mcpUrl}/tracker`, {}, { authorization: `Bearer ${token}` });
        said = textOf(await g.callTool({ name: 'whoami', arguments: {} }));
        await g.close();
      } catch (err) {
        said = (err as Error).message;
      }
      expect(said).toContain('acts for each user');
      expect(modern.seen.slice(before)).toEqual([]);
    } finally {
      delete process.env.WARDEN_ADMIN_TOKEN;
      await gw.close();
    }
  });

  it('#20.b12 config: per-user auth needs auth.oauth, an HTTP upstream and no fixed Authorization header', () => {
    const problems = (yaml: string) => {
      try {
        resolveConfig(parseConfig(yaml, '/tmp/warden-exchange.yaml'));
        return '';
      } catch (err) {
        return (err as Error).message;
      }
    };
    const auth = `credentials: { type: token-exchange, clientId: w }`;
    expect(problems(`mcpServers:\n  t:\n    url: http://127.0.0.1:1/mcp\n    ${auth}\n`)).toMatch(
      /mcpServers\.t\.credentials.*needs auth\.oauth/s,
    );
    const oauth = `auth:\n  publicUrl: http://127.0.0.1:2\n  oauth: { issuer: 'http://127.0.0.1:1', audience: 'http://127.0.0.1:2/mcp' }\n`;
    expect(problems(`mcpServers:\n  t:\n    command: node\n    ${auth}\n${oauth}`)).toMatch(
      /Streamable HTTP upstream/,
    );
    expect(
      problems(
        `mcpServers:\n  t:\n    url: http://127.0.0.1:1/mcp\n    headers: { Authorization: 'Bearer shared' }\n    ${auth}\n${oauth}`,
      ),
    ).toMatch(/mcpServers\.t\.headers.*no fixed Authorization/s);
    expect(problems(`mcpServers:\n  t:\n    url: http://127.0.0.1:1/mcp\n    ${auth}\n${oauth}`)).toBe('');
  });
});
