// The OAuth resource server's cost per request once the JWKS is cached: a valid RS256 JWT, a refused one, a 401
// challenge. Tokens come from a real OpenID provider (oidc-provider) on loopback; one core. Target: < 0.1 ms per call.
import { createResourceServer } from '../src/identity/oauth/gate.js';
import { Issuer } from '../src/identity/oauth/issuer.js';
import { startIdp } from '../test/fixtures/idp.js';

const CALLS = Number(process.env.OAUTH_CALLS ?? 20_000);
const PUBLIC = 'http://127.0.0.1:9';
const idp = await startIdp({ resourcePrefix: `${PUBLIC}/mcp`, groups: { 'ops-bot': ['ops', 'staff'] } });
let jwksFetches = 0;
const counting: typeof fetch = (input, init) => {
  if (String(input).endsWith('/jwks')) jwksFetches++;
  return fetch(input, init);
};
const rs = createResourceServer(
  {
    issuer: idp.issuer,
    audience: undefined,
    subjectClaim: 'sub',
    groupsClaim: 'groups',
    policies: {},
    scopes: ['mcp:tools'],
    clockSkewMs: 60_000,
    introspection: undefined,
  },
  PUBLIC,
  { issuer: new Issuer(idp.issuer, { fetch: counting }) },
);
const token = await idp.clientCredentials('ops-bot', `${PUBLIC}/mcp`);
const [h, p, s] = token.split('.');
const tampered = `${h}.${p}.${s!.slice(0, -4)}AAAA`;

async function measure(name: string, fn: () => Promise<unknown> | unknown): Promise<Record<string, unknown>> {
  for (let i = 0; i < 2000; i++) await fn();
  const start = process.hrtime.bigint();
  for (let i = 0; i < CALLS; i++) await fn();
  const ns = Number(process.hrtime.bigint() - start);
  return { case: name, calls: CALLS, usPerCall: Math.round(ns / CALLS / 10) / 100 };
}

const first = await rs.verify(token, '/mcp/probe');
if (!first.ok) throw new Error(`the IdP's token is refused: ${JSON.stringify(first)}`);
const results = [
  await measure('valid JWT (RS256), /mcp/probe', () => rs.verify(token, '/mcp/probe')),
  await measure('tampered JWT (refused)', () => rs.verify(tampered, '/mcp/probe')),
  await measure('401 challenge (no token)', () => rs.challenge('/mcp/probe')),
];
console.log(JSON.stringify({ node: process.version, jwksFetches, targetUsPerCall: 100, results }, null, 2));
await idp.close();
