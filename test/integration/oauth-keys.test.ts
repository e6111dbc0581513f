// Key rotation at a real OpenID provider (oidc-provider): an unknown kid makes warden fetch the JWKS again (at most
// every 30 s), a key removed at the IdP stops working once the key set is fetched again. The issuer's clock is injected.
import { importJWK, type JWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OAuthConfig } from '../../src/config/resolve.js';
import { createResourceServer } from '../../src/identity/oauth/gate.js';
import { discoveryUrls, fetchIssuerMetadata, Issuer, issuerUrl } from '../../src/identity/oauth/issuer.js';
import { type Idp, newSigningKey, startIdp } from '../fixtures/idp.js';

const PUBLIC = 'http://127.0.0.1:9/warden';
let idp: Idp;
let k1: JWK;
let k2: JWK;

beforeAll(async () => {
  k1 = await newSigningKey('k1');
  k2 = await newSigningKey('k2');
  idp = await startIdp({ resourcePrefix: `${PUBLIC}/mcp`, groups: {} }, [k1]);
});
afterAll(() => idp?.close());

function config(): OAuthConfig {
  return {
    issuer: idp.issuer,
    audience: undefined,
    subjectClaim: 'sub',
    groupsClaim: 'groups',
    policies: {},
    scopes: [],
    clockSkewMs: 60_000,
    introspection: undefined,
  };
}

async function sign(key: JWK, claims: Record<string, unknown> = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ iss: idp.issuer, aud: `${PUBLIC}/mcp`, sub: 'svc', exp: now + 3600, ...claims })
    .setProtectedHeader({ alg: 'RS256', kid: key.kid! })
    .sign(await importJWK(key, 'RS256'));
}

describe('JWKS key rotation', () => {
  it('#20.1 takes a new key after a refetch, at most every 30 s, and drops a removed key', async () => {
    idp.rotate([k1]);
    let clock = Date.now();
    let jwksFetches = 0;
    const counting: typeof fetch = (input, init) => {
      if (String(input).endsWith('/jwks')) jwksFetches++;
      return fetch(input, init);
    };
    const issuer = new Issuer(idp.issuer, { now: () => clock, fetch: counting });
    // The same clock for the resource server: its cache of verified tokens ends with the clock too.
    const rs = createResourceServer(config(), PUBLIC, { issuer, now: () => clock });
    expect((await rs.verify(await sign(k1), '/mcp')).ok).toBe(true);
    expect(jwksFetches).toBe(1);

    idp.rotate([k2, k1]);
    clock += 5_000;
    const b = await sign(k2);
    // Within 30 s of the last fetch an unknown kid is refused without asking the IdP (forged kids cannot hammer it).
    expect(await rs.verify(b, '/mcp')).toMatchObject({ ok: false, error: 'invalid' });
    expect(await rs.verify(await sign(k2, { sub: 'other' }), '/mcp')).toMatchObject({ ok: false });
    expect(jwksFetches).toBe(1);
    clock += 30_000;
    expect((await rs.verify(b, '/mcp')).ok).toBe(true);
    expect(jwksFetches).toBe(2);

    // k1 is removed at the IdP: once the key set is older than its maximum age it is fetched again, and k1 is gone.
    idp.rotate([k2]);
    const a = await sign(k1);
    clock += 11 * 60_000;
    expect(await rs.verify(a, '/mcp')).toMatchObject({ ok: false, error: 'invalid' });
    expect((await rs.verify(b, '/mcp')).ok).toBe(true);
    expect(jwksFetches).toBe(3);
  });

  it('#20.1 checks tokens that arrive together right after start against the one key fetch under way (no 503)', async () => {
    idp.rotate([k1]);
    const issuer = new Issuer(idp.issuer);
    const rs = createResourceServer(config(), PUBLIC, { issuer });
    // The second check starts while the first one's key fetch is under way: it waits for it, not takes it for failed.
    const tokens = [await sign(k1), await sign(k1, { sub: 'other' }), await sign(k1, { sub: 'third' })];
    const results = await Promise.all(tokens.map((t) => rs.verify(t, '/mcp')));
    expect(results.map((r) => r.ok)).toEqual([true, true, true]);
  });

  it('#20.1 refuses a token signed by a stranger key under a known kid', async () => {
    idp.rotate([k1, k2]);
    const rs = createResourceServer(config(), PUBLIC, { issuer: new Issuer(idp.issuer) });
    const stranger = await newSigningKey('k1'); // same kid, another key: the signature does not verify
    expect(await rs.verify(await sign(stranger), '/mcp')).toMatchObject({ ok: false, error: 'invalid' });
  });
});

describe('issuer discovery', () => {
  it('#20.1 reports the issuer as unavailable (503, not 401) when its keys cannot be fetched', async () => {
    const down = 'http://127.0.0.1:1';
    const rs = createResourceServer({ ...config(), issuer: down }, PUBLIC, { issuer: new Issuer(down) });
    const token = await sign(k1, { iss: down });
    expect(await rs.verify(token, '/mcp')).toMatchObject({ ok: false, error: 'unavailable' });
    // Asked again at once (no new fetch within 30 s): still unavailable, not a refused token.
    expect(await rs.verify(token, '/mcp')).toMatchObject({ ok: false, error: 'unavailable' });
  });

  it('#20.1 reads OpenID discovery when RFC 8414 metadata is absent and checks the issuer it names', async () => {
    const meta = await fetchIssuerMetadata(idp.issuer);
    expect(meta.issuer).toBe(idp.issuer);
    expect(meta.jwks_uri).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/jwks$/);
    // The same IdP under another spelling of its URL is another issuer: its metadata names the real one, so refused.
    await expect(fetchIssuerMetadata(idp.issuer.replace('127.0.0.1', 'localhost'))).rejects.toThrow(
      /names issuer/,
    );
  });

  it('#20.1 allows http:// only for loopback issuers', () => {
    expect(() => issuerUrl('http://idp.example.com')).toThrow(/https/);
    expect(() => issuerUrl('http://127.0.0.1.nip.io')).toThrow(/https/);
    expect(issuerUrl('http://[::1]:8080').hostname).toBe('[::1]');
    expect(issuerUrl('https://idp.example.com/realms/x').pathname).toBe('/realms/x');
  });

  it('#20.1 builds RFC 8414 (path inserted) and OpenID (path appended) discovery URLs', () => {
    expect(discoveryUrls('https://idp.example.com/realms/acme')).toEqual([
      'https://idp.example.com/.well-known/oauth-authorization-server/realms/acme',
      'https://idp.example.com/realms/acme/.well-known/openid-configuration',
    ]);
  });
});

describe('opaque tokens by introspection (RFC 7662)', () => {
  let opaqueIdp: Idp;
  beforeAll(async () => {
    opaqueIdp = await startIdp({
      resourcePrefix: `${PUBLIC}/mcp`,
      groups: { 'ops-bot': ['ops'] },
      opaque: true,
    });
  });
  afterAll(() => opaqueIdp?.close());

  it('#20.1 accepts an active opaque token once, then answers from the cache until exp', async () => {
    let introspections = 0;
    const counting: typeof fetch = (input, init) => {
      if (String(input).includes('introspect')) introspections++;
      return fetch(input, init);
    };
    // A client-credentials token's introspection answer has no sub: the client is the subject here.
    const cfg = {
      ...config(),
      issuer: opaqueIdp.issuer,
      subjectClaim: 'client_id',
      introspection: { clientId: 'warden', clientSecret: 'warden-secret' },
    };
    const rs = createResourceServer(cfg, PUBLIC, { issuer: new Issuer(opaqueIdp.issuer), fetch: counting });
    {
      const token = await opaqueIdp.clientCredentials('ops-bot', `${PUBLIC}/mcp`);
      expect(token.split('.').length).not.toBe(3);
      const first = await rs.verify(token, '/mcp');
      expect(first).toMatchObject({ ok: true, identity: { oauth: { subject: 'ops-bot', groups: ['ops'] } } });
      expect((await rs.verify(token, '/mcp/x')).ok).toBe(true);
      expect(introspections).toBe(1);
      // An unknown token is inactive: refused, and remembered a while so it cannot make warden ask again and again.
      const bogus = 'opaque-but-unknown-token-value';
      expect(await rs.verify(bogus, '/mcp')).toMatchObject({ ok: false, error: 'invalid' });
      expect(await rs.verify(bogus, '/mcp')).toMatchObject({ ok: false, error: 'invalid' });
      expect(introspections).toBe(2);
    }
  });

  it('#20.1 refuses an opaque token issued for another resource', async () => {
    const other = 'http://127.0.0.1:9/elsewhere';
    const cfg = {
      ...config(),
      issuer: opaqueIdp.issuer,
      subjectClaim: 'client_id',
      introspection: { clientId: 'warden', clientSecret: 'warden-secret' },
    };
    const rs = createResourceServer(cfg, `${other}`, { issuer: new Issuer(opaqueIdp.issuer) });
    const token = await opaqueIdp.clientCredentials('ops-bot', `${PUBLIC}/mcp`);
    expect(await rs.verify(token, '/mcp')).toMatchObject({
      ok: false,
      description: 'the token was not issued for this resource',
    });
  });
});
