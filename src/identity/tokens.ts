// Tokens: `wdn_<16 hex id>_<43 base64url secret>` for agent grants, `wda_...` for admin tokens; the prefixes let
// secret scanners find leaked ones, and tell at a glance which kind a token is.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const TOKEN_PREFIX = 'wdn_';
export const ADMIN_TOKEN_PREFIX = 'wda_';
const ID_LENGTH = 16;
const TOKEN_PATTERN = /^wd([na])_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

export function newGrantId(): string {
  return randomBytes(ID_LENGTH / 2).toString('hex');
}

/** A fresh token: its grant's id and 256 random bits. */
export function newToken(id: string, kind: 'agent' | 'admin' = 'agent'): string {
  return `${kind === 'agent' ? TOKEN_PREFIX : ADMIN_TOKEN_PREFIX}${id}_${randomBytes(32).toString('base64url')}`;
}

/** The kind, grant id and secret of a well-formed token; undefined for anything else. */
export function parseToken(
  token: string,
): { kind: 'agent' | 'admin'; id: string; secret: string } | undefined {
  const m = TOKEN_PATTERN.exec(token);
  return m === null ? undefined : { kind: m[1] === 'n' ? 'agent' : 'admin', id: m[2]!, secret: m[3]! };
}

/**
 * What is stored: SHA-256 of the secret. The secret is 256 bits from the CSPRNG, so a slow hash would add nothing
 * against guessing (there is no dictionary to try) and would cost every request; see docs/identity.md.
 */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** Constant-time comparison of a presented secret with a stored hash. */
export function secretMatches(secret: string, storedHash: string): boolean {
  const a = Buffer.from(hashSecret(secret), 'hex');
  const b = Buffer.from(storedHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}
