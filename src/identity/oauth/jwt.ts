// A JWT access token checked with Node's own crypto: the signature by `crypto.verify` on a KeyObject (about a third of
// the cost of WebCrypto's `subtle.verify`, which jose uses), then the registered claims. Keys still come from jose's
// JWKS resolver (key selection by kid, kty, use, alg and crv stays jose's); only the verification and the claims checks
// are here. The accepted set is never wider than `jose.jwtVerify`'s: test/unit/oauth-jwt.test.ts holds both to the same
// answers on crafted tokens, and lists the two places where this one is stricter.
import { createPublicKey, KeyObject, constants as rsa, verify as verifySignature } from 'node:crypto';
import type { JWTPayload, JWTVerifyGetKey } from 'jose';

/** The failure codes, spelled as jose spells them, so one description table serves both. */
export type JwtErrorCode =
  | 'ERR_JWS_INVALID'
  | 'ERR_JWT_INVALID'
  | 'ERR_JOSE_ALG_NOT_ALLOWED'
  | 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED'
  | 'ERR_JWT_EXPIRED'
  | 'ERR_JWT_CLAIM_VALIDATION_FAILED';

export class JwtError extends Error {
  constructor(
    readonly code: JwtErrorCode,
    message: string,
    /** The claim that failed, for ERR_JWT_CLAIM_VALIDATION_FAILED and ERR_JWT_EXPIRED. */
    readonly claim?: string,
  ) {
    super(message);
  }
}

export interface JwtCheck {
  /** The one accepted `iss`. */
  issuer: string;
  /** `aud` must name at least one of these. */
  audience: readonly string[];
  algorithms: ReadonlySet<string>;
  clockToleranceSec: number;
  /** Claims that must be present (iss and aud always are). */
  requiredClaims: readonly string[];
  nowMs: number;
}

interface Scheme {
  hash: string | null;
  /** asymmetricKeyType values a key for this algorithm may have. */
  types: readonly string[];
  curve?: string;
  pss?: boolean;
  /** IEEE P1363 (r || s) signatures, as JWS writes ECDSA ones. */
  ecdsa?: boolean;
}

const SCHEMES: Readonly<Record<string, Scheme>> = {
  RS256: { hash: 'sha256', types: ['rsa'] },
  RS384: { hash: 'sha384', types: ['rsa'] },
  RS512: { hash: 'sha512', types: ['rsa'] },
  PS256: { hash: 'sha256', types: ['rsa', 'rsa-pss'], pss: true },
  PS384: { hash: 'sha384', types: ['rsa', 'rsa-pss'], pss: true },
  PS512: { hash: 'sha512', types: ['rsa', 'rsa-pss'], pss: true },
  ES256: { hash: 'sha256', types: ['ec'], curve: 'prime256v1', ecdsa: true },
  ES384: { hash: 'sha384', types: ['ec'], curve: 'secp384r1', ecdsa: true },
  ES512: { hash: 'sha512', types: ['ec'], curve: 'secp521r1', ecdsa: true },
  EdDSA: { hash: null, types: ['ed25519', 'ed448'] },
  Ed25519: { hash: null, types: ['ed25519'] },
};

const SEGMENT = /^[A-Za-z0-9_-]*$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });
/** A resolved key converted once: jose's JWKS resolver hands back the same CryptoKey for a key and algorithm. */
const keyObjects = new WeakMap<object, KeyObject>();

/**
 * Verifies a compact JWS JWT and returns its claims, or throws a JwtError (or whatever the key resolver throws: jose's
 * JWKSNoMatchingKey, or an error when the issuer's keys cannot be fetched).
 */
export async function verifyJwt(
  token: string,
  getKey: JWTVerifyGetKey,
  check: JwtCheck,
): Promise<JWTPayload> {
  const parts = token.split('.');
  if (parts.length !== 3) throw new JwtError('ERR_JWS_INVALID', 'Invalid Compact JWS');
  const [h, p, s] = parts as [string, string, string];
  const header = jsonObject(h, 'ERR_JWS_INVALID', 'JWS Protected Header is invalid');
  // No critical extension is understood (b64: false, the only one jose knows, is not allowed in a JWT either).
  if (header.crit !== undefined)
    throw new JwtError('ERR_JWS_INVALID', 'critical header parameters are not accepted');
  const alg = header.alg;
  if (typeof alg !== 'string' || alg === '')
    throw new JwtError('ERR_JWS_INVALID', 'JWS "alg" (Algorithm) Header Parameter missing or invalid');
  const scheme = SCHEMES[alg];
  if (scheme === undefined || !check.algorithms.has(alg))
    throw new JwtError('ERR_JOSE_ALG_NOT_ALLOWED', '"alg" (Algorithm) Header Parameter value not allowed');
  if (!SEGMENT.test(p)) throw new JwtError('ERR_JWS_INVALID', 'JWS Payload is not base64url');
  const signature = base64url(s, 'ERR_JWS_INVALID', 'signature');

  const resolved = await getKey(header as Parameters<JWTVerifyGetKey>[0], {
    payload: p,
    protected: h,
    signature: s,
  });
  const key = keyObjectOf(resolved);
  keyFits(key, scheme, alg);
  let ok = false;
  try {
    ok = verifySignature(
      scheme.hash,
      Buffer.from(`${h}.${p}`, 'latin1'),
      scheme.pss
        ? { key, padding: rsa.RSA_PKCS1_PSS_PADDING, saltLength: rsa.RSA_PSS_SALTLEN_DIGEST }
        : scheme.ecdsa
          ? { key, dsaEncoding: 'ieee-p1363' }
          : key,
      signature,
    );
  } catch {
    ok = false;
  }
  if (!ok) throw new JwtError('ERR_JWS_SIGNATURE_VERIFICATION_FAILED', 'signature verification failed');

  const claims = jsonObject(p, 'ERR_JWT_INVALID', 'JWT Claims Set must be a top-level JSON object');
  checkClaims(claims, check);
  return claims as JWTPayload;
}

function keyObjectOf(resolved: unknown): KeyObject {
  if (resolved instanceof KeyObject)
    return resolved.type === 'private' ? createPublicKey(resolved) : resolved;
  if (typeof resolved !== 'object' || resolved === null)
    throw new JwtError('ERR_JWS_INVALID', 'the key resolver gave no usable key');
  let key = keyObjects.get(resolved);
  if (key === undefined) {
    // A CryptoKey (jose's resolver in Node), converted once and remembered while the CryptoKey lives.
    const from = KeyObject.from(resolved as Parameters<typeof KeyObject.from>[0]);
    key = from.type === 'private' ? createPublicKey(from) : from;
    keyObjects.set(resolved, key);
  }
  return key;
}

/** The key must be of the algorithm's type (and curve), and RSA keys at least 2048 bits, as jose requires. */
function keyFits(key: KeyObject, scheme: Scheme, alg: string): void {
  const type = key.asymmetricKeyType;
  if (key.type !== 'public' || type === undefined || !scheme.types.includes(type))
    throw new JwtError('ERR_JWS_INVALID', `the key is not a ${alg} key`);
  const details = key.asymmetricKeyDetails;
  if (scheme.curve !== undefined && details?.namedCurve !== scheme.curve)
    throw new JwtError('ERR_JWS_INVALID', `the key is not on the curve ${alg} uses`);
  if (type.startsWith('rsa') && (details?.modulusLength ?? 0) < 2048)
    throw new JwtError('ERR_JWS_INVALID', `${alg} requires key modulusLength to be 2048 bits or larger`);
}

/** jose's registered-claims rules: presence, iss, aud, and nbf/exp (numbers when present) within the tolerance. */
function checkClaims(claims: Record<string, unknown>, check: JwtCheck): void {
  for (const claim of new Set([...check.requiredClaims, 'iss', 'aud']))
    if (!Object.hasOwn(claims, claim))
      throw new JwtError('ERR_JWT_CLAIM_VALIDATION_FAILED', `missing required "${claim}" claim`, claim);
  if (claims.iss !== check.issuer)
    throw new JwtError('ERR_JWT_CLAIM_VALIDATION_FAILED', 'unexpected "iss" claim value', 'iss');
  const aud = claims.aud;
  const forUs =
    typeof aud === 'string'
      ? check.audience.includes(aud)
      : Array.isArray(aud) && check.audience.some((a) => aud.includes(a));
  if (!forUs) throw new JwtError('ERR_JWT_CLAIM_VALIDATION_FAILED', 'unexpected "aud" claim value', 'aud');
  const now = Math.floor(check.nowMs / 1000);
  const tolerance = check.clockToleranceSec;
  numericDate(claims, 'iat');
  const nbf = numericDate(claims, 'nbf');
  if (nbf !== undefined && nbf > now + tolerance)
    throw new JwtError('ERR_JWT_CLAIM_VALIDATION_FAILED', '"nbf" claim timestamp check failed', 'nbf');
  const exp = numericDate(claims, 'exp');
  if (exp !== undefined && exp <= now - tolerance)
    throw new JwtError('ERR_JWT_EXPIRED', '"exp" claim timestamp check failed', 'exp');
}

function numericDate(claims: Record<string, unknown>, claim: string): number | undefined {
  const value = claims[claim];
  if (value === undefined) return undefined;
  if (typeof value !== 'number')
    throw new JwtError('ERR_JWT_CLAIM_VALIDATION_FAILED', `"${claim}" claim must be a number`, claim);
  return value;
}

function base64url(segment: string, code: JwtErrorCode, what: string): Buffer {
  // Buffer's decoder skips characters outside the alphabet; a segment with any is refused instead.
  if (!SEGMENT.test(segment) || segment.length % 4 === 1)
    throw new JwtError(code, `the ${what} is not base64url`);
  return Buffer.from(segment, 'base64url');
}

function jsonObject(segment: string, code: JwtErrorCode, message: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(base64url(segment, code, 'segment')));
  } catch (err) {
    if (err instanceof JwtError) throw err;
    throw new JwtError(code, message);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new JwtError(code, message);
  return value as Record<string, unknown>;
}
