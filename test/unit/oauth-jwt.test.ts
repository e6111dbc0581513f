// The resource server's JWT check (src/identity/oauth/jwt.ts: Node's crypto.verify on a KeyObject) held against
// jose.jwtVerify on the same crafted tokens and the same JWKS: the same tokens pass, and a refused token is refused
// with the same error code. Two documented differences, both stricter: any `crit` header, and a segment with
// characters outside the base64url alphabet (padding, '+', '/').
import { createHmac, createPrivateKey, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import {
  createLocalJWKSet,
  exportJWK,
  type JSONWebKeySet,
  type JWK,
  type JWTVerifyGetKey,
  jwtVerify,
} from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { createResourceServer } from '../../src/identity/oauth/gate.js';
import type { Issuer } from '../../src/identity/oauth/issuer.js';
import { verifyJwt } from '../../src/identity/oauth/jwt.js';
import { ACCEPTED_ALGORITHMS } from '../../src/identity/oauth/resource-server.js';

const ISS = 'https://idp.example';
const AUD = 'http://127.0.0.1:8080/mcp';
const NOW = 1_800_000_000;
const SKEW = 60;

interface Signer {
  alg: string;
  kid: string;
  key: KeyObject;
}

const b64 = (v: unknown): string =>
  Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

function sigOf(s: Signer, input: string): string {
  const data = Buffer.from(input);
  const hash = s.alg.startsWith('Ed') ? null : `sha${s.alg.slice(2)}`;
  if (s.alg.startsWith('PS'))
    return sign(hash, data, { key: s.key, padding: 6, saltLength: -1 }).toString('base64url');
  if (s.alg.startsWith('ES'))
    return sign(hash, data, { key: s.key, dsaEncoding: 'ieee-p1363' }).toString('base64url');
  return sign(hash, data, s.key).toString('base64url');
}

function token(s: Signer, claims: unknown, header: Record<string, unknown> = {}): string {
  const h = b64({ alg: s.alg, kid: s.kid, typ: 'JWT', ...header });
  const p = typeof claims === 'string' ? b64(claims) : b64(claims);
  return `${h}.${p}.${sigOf(s, `${h}.${p}`)}`;
}

const good = (extra: Record<string, unknown> = {}) => ({
  iss: ISS,
  aud: AUD,
  sub: 'agent-1',
  iat: NOW - 10,
  exp: NOW + 600,
  ...extra,
});

type Outcome = { ok: true; sub: unknown } | { ok: false; code: string };

async function viaJose(t: string, get: JWTVerifyGetKey): Promise<Outcome> {
  try {
    const { payload } = await jwtVerify(t, get, {
      issuer: ISS,
      audience: [AUD, `${AUD}/probe`],
      algorithms: [...ACCEPTED_ALGORITHMS],
      clockTolerance: SKEW,
      requiredClaims: ['exp', 'iss', 'aud'],
      currentDate: new Date(NOW * 1000),
    });
    return { ok: true, sub: payload.sub };
  } catch (err) {
    return { ok: false, code: String((err as { code?: string }).code ?? (err as Error).name) };
  }
}

async function viaNode(t: string, get: JWTVerifyGetKey): Promise<Outcome> {
  try {
    const payload = await verifyJwt(t, get, {
      issuer: ISS,
      audience: [AUD, `${AUD}/probe`],
      algorithms: ACCEPTED_ALGORITHMS,
      clockToleranceSec: SKEW,
      requiredClaims: ['exp'],
      nowMs: NOW * 1000,
    });
    return { ok: true, sub: payload.sub };
  } catch (err) {
    return { ok: false, code: String((err as { code?: string }).code ?? (err as Error).name) };
  }
}

let signers: Record<string, Signer>;
let weak: Signer;
let get: JWTVerifyGetKey;

beforeAll(async () => {
  const pair = (alg: string, kind: string, opts: object): Signer => {
    const { privateKey } = generateKeyPairSync(kind as 'rsa', opts as { modulusLength: number });
    return { alg, kid: `k-${alg}`, key: privateKey };
  };
  signers = {
    RS256: pair('RS256', 'rsa', { modulusLength: 2048 }),
    RS512: pair('RS512', 'rsa', { modulusLength: 2048 }),
    PS256: pair('PS256', 'rsa', { modulusLength: 2048 }),
    ES256: pair('ES256', 'ec', { namedCurve: 'P-256' }),
    ES384: pair('ES384', 'ec', { namedCurve: 'P-384' }),
    ES512: pair('ES512', 'ec', { namedCurve: 'P-521' }),
    EdDSA: pair('EdDSA', 'ed25519', {}),
  };
  weak = pair('RS256', 'rsa', { modulusLength: 1024 });
  weak.kid = 'k-weak';
  const keys: JWK[] = [];
  for (const s of [...Object.values(signers), weak]) {
    const jwk = await exportJWK(createPrivateKey(s.key.export({ format: 'pem', type: 'pkcs8' })));
    delete jwk.d;
    delete jwk.p;
    delete jwk.q;
    delete jwk.dp;
    delete jwk.dq;
    delete jwk.qi;
    keys.push({ ...jwk, kid: s.kid, use: 'sig' });
  }
  get = createLocalJWKSet({ keys } as JSONWebKeySet);
});

function cases(): Array<[string, string]> {
  const rs = signers.RS256!;
  const out: Array<[string, string]> = [];
  for (const s of Object.values(signers)) {
    const t = token(s, good());
    const [h, p, sig] = t.split('.') as [string, string, string];
    out.push([`${s.alg} valid`, t]);
    out.push([`${s.alg} payload changed`, `${h}.${b64(good({ sub: 'admin' }))}.${sig}`]);
    out.push([
      `${s.alg} signature changed`,
      `${h}.${p}.${sig.slice(0, 10)}${sig[10] === 'A' ? 'B' : 'A'}${sig.slice(11)}`,
    ]);
    out.push([`${s.alg} signature cut`, `${h}.${p}.${sig.slice(0, -6)}`]);
  }
  const rsTok = token(rs, good());
  const [, rp, rsig] = rsTok.split('.') as [string, string, string];
  out.push(
    ['alg none, no signature', `${b64({ alg: 'none', typ: 'JWT' })}.${rp}.`],
    ['alg none with the RSA signature', `${b64({ alg: 'none', kid: rs.kid })}.${rp}.${rsig}`],
    ['alg NONE', `${b64({ alg: 'NONE', kid: rs.kid })}.${rp}.`],
    ['alg missing', `${b64({ kid: rs.kid })}.${rp}.${rsig}`],
    ['alg empty', `${b64({ alg: '', kid: rs.kid })}.${rp}.${rsig}`],
    ['alg as a list', `${b64({ alg: ['RS256'], kid: rs.kid })}.${rp}.${rsig}`],
    ['alg rs256 (case)', `${b64({ alg: 'rs256', kid: rs.kid })}.${rp}.${rsig}`],
    ['kid unknown', token({ ...rs, kid: 'nope' }, good())],
    ['RSA key named for ES256', token({ ...rs, alg: 'ES256' }, good())],
    ['EC kid with alg RS256', `${b64({ alg: 'RS256', kid: signers.ES256!.kid })}.${rp}.${rsig}`],
    ['RSA 1024-bit key', token(weak, good())],
    ['expired', token(rs, good({ exp: NOW - SKEW - 1 }))],
    ['expired exactly at the tolerance', token(rs, good({ exp: NOW - SKEW }))],
    ['expired within the tolerance', token(rs, good({ exp: NOW - SKEW + 1 }))],
    ['nbf in the future', token(rs, good({ nbf: NOW + SKEW + 1 }))],
    ['nbf within the tolerance', token(rs, good({ nbf: NOW + SKEW }))],
    ['exp as a string', token(rs, good({ exp: String(NOW + 600) }))],
    ['exp null', token(rs, good({ exp: null }))],
    ['iat as a string', token(rs, good({ iat: 'yesterday' }))],
    ['nbf as a string', token(rs, good({ nbf: '0' }))],
    ['no exp', token(rs, { iss: ISS, aud: AUD, sub: 'x' })],
    ['no aud', token(rs, { iss: ISS, sub: 'x', exp: NOW + 60 })],
    ['no iss', token(rs, { aud: AUD, sub: 'x', exp: NOW + 60 })],
    ['iss another issuer', token(rs, good({ iss: 'https://evil.example' }))],
    ['iss with a trailing slash', token(rs, good({ iss: `${ISS}/` }))],
    ['iss as a list', token(rs, good({ iss: [ISS] }))],
    ['aud another resource', token(rs, good({ aud: 'http://127.0.0.1:8080/other' }))],
    ['aud the per-server resource', token(rs, good({ aud: `${AUD}/probe` }))],
    ['aud a list with ours', token(rs, good({ aud: ['x', AUD] }))],
    ['aud a list without ours', token(rs, good({ aud: ['x', 'y'] }))],
    ['aud a number', token(rs, good({ aud: 5 }))],
    ['aud an object', token(rs, good({ aud: { [AUD]: true } }))],
    ['payload a JSON list', token(rs, [good()])],
    ['payload not JSON', token(rs, 'not json')],
    ['payload JSON null', token(rs, 'null')],
    ['header not JSON', `${b64('{alg')}.${rp}.${rsig}`],
    ['header a list', `${b64([{ alg: 'RS256' }])}.${rp}.${rsig}`],
    ['two segments', `${rsTok.split('.').slice(0, 2).join('.')}`],
    ['four segments', `${rsTok}.${rsig}`],
    ['empty', ''],
    ['crit names an unknown parameter', token(rs, good(), { crit: ['exp'], exp: 1 })],
    ['b64 false under crit', token(rs, good(), { crit: ['b64'], b64: false })],
  );
  // HS256 with the RSA public key as the shared secret (the classic confusion attack).
  const pem = rs.key.export({ format: 'pem', type: 'pkcs1' });
  const hh = b64({ alg: 'HS256', kid: rs.kid });
  out.push([
    'HS256 keyed with the public key',
    `${hh}.${rp}.${createHmac('sha256', pem).update(`${hh}.${rp}`).digest('base64url')}`,
  ]);
  // ECDSA signature in DER rather than P1363.
  const es = signers.ES256!;
  const eh = b64({ alg: 'ES256', kid: es.kid });
  const der = sign('sha256', Buffer.from(`${eh}.${rp}`), es.key).toString('base64url');
  out.push(['ES256 signature in DER form', `${eh}.${rp}.${der}`]);
  return out;
}

/**
 * Refused by both, under another code: jose throws a plain TypeError for a 1024-bit RSA key (which the resource server
 * used to answer with 503 "issuer unavailable" rather than 401), and names crit problems differently.
 */
const OTHER_CODE: Readonly<Record<string, string>> = {
  'RSA 1024-bit key': 'TypeError',
  'crit names an unknown parameter': 'ERR_JOSE_NOT_SUPPORTED',
  'b64 false under crit': 'ERR_JWT_INVALID',
};

describe('JWT verification with Node crypto (src/identity/oauth/jwt.ts)', () => {
  it('#20.6.1 agrees with jose.jwtVerify on every crafted token: same acceptance, same error code', async () => {
    const table = cases();
    expect(table.length).toBeGreaterThan(60);
    const disagreements: string[] = [];
    for (const [name, t] of table) {
      const [a, b] = [await viaJose(t, get), await viaNode(t, get)];
      const other = OTHER_CODE[name];
      if (other !== undefined) {
        expect(a, name).toEqual({ ok: false, code: other });
        expect(b, name).toEqual({ ok: false, code: 'ERR_JWS_INVALID' });
      } else if (JSON.stringify(a) !== JSON.stringify(b))
        disagreements.push(`${name}: jose ${JSON.stringify(a)}, node ${JSON.stringify(b)}`);
    }
    expect(disagreements).toEqual([]);
    // The table is not all refusals: every algorithm's valid token passes.
    for (const alg of Object.keys(signers))
      expect(await viaNode(token(signers[alg]!, good()), get)).toEqual({ ok: true, sub: 'agent-1' });
  });

  it('#20.6.2 is stricter than jose in two places only: any crit header, and a segment outside base64url', async () => {
    const rs = signers.RS256!;
    const crit = token(rs, good(), { crit: ['b64'], b64: true });
    expect((await viaJose(crit, get)).ok).toBe(true);
    expect(await viaNode(crit, get)).toEqual({ ok: false, code: 'ERR_JWS_INVALID' });
    const t = token(rs, good());
    // Padding a signature (base64, not base64url): refused, never decoded leniently.
    const padded = `${t}==`.replace(/\.([^.]*)==$/, '.$1==');
    expect(await viaNode(padded, get)).toEqual({ ok: false, code: 'ERR_JWS_INVALID' });
    const stray = `${t.slice(0, -2)}+${t.slice(-1)}`;
    expect((await viaNode(stray, get)).ok).toBe(false);
  });
});

describe('the resource server on the Node verifier', () => {
  it('#20.6.3 answers a token signed with a 1024-bit key of the issuer as invalid (401), no longer as unavailable (503)', async () => {
    const rs = createResourceServer(
      {
        issuer: ISS,
        audience: AUD,
        subjectClaim: 'sub',
        groupsClaim: 'groups',
        policies: {},
        scopes: [],
        clockSkewMs: SKEW * 1000,
        introspection: undefined,
      },
      'http://127.0.0.1:8080',
      // The issuer's key set, without its HTTP: the key resolver is jose's over a local JWKS.
      { issuer: { key: get } as unknown as Issuer, now: () => NOW * 1000 },
    );
    expect(await rs.verify(token(weak, good()), '/mcp')).toMatchObject({ ok: false, error: 'invalid' });
    expect(await rs.verify(token(signers.ES256!, good()), '/mcp')).toMatchObject({ ok: true });
    const t = token(signers.RS256!, good());
    expect(await rs.verify(`${t.slice(0, -3)}AAA`, '/mcp')).toEqual({
      ok: false,
      error: 'invalid',
      description: 'the token signature is invalid',
    });
  });
});
