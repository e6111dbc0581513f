// Encryption at rest for upstream credentials (refresh and access tokens warden holds for a user): AES-256-GCM with a
// 32-byte key that lives outside the database (an environment variable or a key file), so a copy of the database
// alone reveals no token. Each value gets a fresh 96-bit nonce; the row's identity (upstream, subject) is bound as
// additional authenticated data, so a ciphertext moved to another user's row fails to decrypt instead of being used.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { WardenError } from '../../errors.js';

/** Format tag and version: `v1.<keyId>.<nonce>.<ciphertext+tag>`, all base64url. */
const VERSION = 'v1';
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

export interface CredentialKey {
  /** The first 8 hex digits of the key's SHA-256: names the key in ciphertexts (key rotation), reveals nothing. */
  id: string;
  key: Buffer;
}

/**
 * A key from its text: 64 hex digits or base64/base64url of exactly 32 bytes. Anything else (a passphrase, a short
 * key) is refused: a weak key here would make the encryption decorative.
 */
export function parseCredentialKey(text: string, where: string): CredentialKey {
  const t = text.trim();
  let key: Buffer | undefined;
  if (/^[0-9a-fA-F]{64}$/.test(t)) key = Buffer.from(t, 'hex');
  else if (/^[A-Za-z0-9+/_-]{43}=?$/.test(t))
    key = Buffer.from(t.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  if (key === undefined || key.length !== 32)
    throw new WardenError(
      'CONFIG_INVALID',
      `${where}: the credential key must be 32 random bytes (64 hex digits or base64)`,
      { hint: 'make one with: openssl rand -hex 32' },
    );
  return { id: createHash('sha256').update(key).digest('hex').slice(0, 8), key };
}

/** The key from a file (its whole content) or an environment variable; the file wins when both are named. */
export function loadCredentialKey(source: { file?: string; env?: string }): CredentialKey {
  if (source.file !== undefined) {
    let text: string;
    try {
      text = readFileSync(source.file, 'utf8');
    } catch (err) {
      throw new WardenError(
        'CONFIG_INVALID',
        `cannot read the credential key file ${source.file}: ${(err as Error).message}`,
      );
    }
    return parseCredentialKey(text, source.file);
  }
  const name = source.env ?? 'WARDEN_CREDENTIAL_KEY';
  const value = process.env[name];
  if (value === undefined || value === '')
    throw new WardenError(
      'CONFIG_INVALID',
      `the credential key is not set: environment variable ${name} is empty`,
      {
        hint: 'make one with: openssl rand -hex 32',
      },
    );
  return parseCredentialKey(value, `environment variable ${name}`);
}

/**
 * Seals `plaintext` under the current key; `context` (e.g. `upstream|subject`) must be given again to open it.
 * Older keys are listed in `previous` of `openSecret`, so a rotated key still opens what it sealed.
 */
export function sealSecret(key: CredentialKey, plaintext: string, context: string): string {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key.key, nonce);
  cipher.setAAD(Buffer.from(`${VERSION}|${context}`, 'utf8'));
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return [VERSION, key.id, nonce.toString('base64url'), body.toString('base64url')].join('.');
}

/** Opens a sealed value; throws when no key matches, the context differs, or the value was altered. */
export function openSecret(keys: readonly CredentialKey[], sealed: string, context: string): string {
  const [version, keyId, nonceText, bodyText, extra] = sealed.split('.');
  if (version !== VERSION || extra !== undefined || nonceText === undefined || bodyText === undefined)
    throw new Error('not a sealed credential');
  const key = keys.find((k) => k.id === keyId);
  if (key === undefined) throw new Error(`no credential key ${keyId} is configured (rotated away?)`);
  const nonce = Buffer.from(nonceText, 'base64url');
  const body = Buffer.from(bodyText, 'base64url');
  if (nonce.length !== NONCE_BYTES || body.length < TAG_BYTES) throw new Error('not a sealed credential');
  const decipher = createDecipheriv('aes-256-gcm', key.key, nonce);
  decipher.setAAD(Buffer.from(`${VERSION}|${context}`, 'utf8'));
  decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
  return Buffer.concat([
    decipher.update(body.subarray(0, body.length - TAG_BYTES)),
    decipher.final(),
  ]).toString('utf8');
}
