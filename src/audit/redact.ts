// Arguments as the audit log keeps them: names and a hash by default; values only with secrets masked, always.
import { canonicalJson } from './chain.js';
import { type AuditKey, argsMac } from './keys.js';

export type ArgsMode = 'keys' | 'redacted' | 'full';
export const MASK = '[REDACTED]';

/** Argument names whose values are secrets, whatever they look like. */
const SECRET_KEY =
  /pass(word|wd|phrase)?$|secret|token|api[_-]?key|apikey|authori[sz]ation|^auth$|credential|private[_-]?key|cookie|session[_-]?id|signature/i;

/** Values that look like credentials, wherever they appear. */
const SECRET_VALUES: RegExp[] = [
  /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----|$)/g,
  /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/gi,
  /\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}/g, // JWT
  /\bAKIA[0-9A-Z]{16}\b/g, // AWS access key id
  /\bgh[pousr]_[A-Za-z0-9]{30,}\b/g, // GitHub
  /\bgithub_pat_[A-Za-z0-9_]{30,}\b/g,
  /\bxox[abprs]-[A-Za-z0-9-]{10,}/g, // Slack
  /\b[rs]k_(live|test)_[A-Za-z0-9]{10,}/g, // Stripe
  /\bsk-[A-Za-z0-9_-]{20,}/g, // OpenAI-style
  /\bAIza[0-9A-Za-z_-]{35}\b/g, // Google API key
  /\bwarden_[A-Za-z0-9_-]{20,}/g, // warden's own grant tokens
];
/** user:password@ in connection strings: the password goes. */
const URL_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/[^\s:/@]+):[^\s@/]+@/gi;

export function maskString(s: string): string {
  let out = s.replace(URL_PASSWORD, `$1:${MASK}@`);
  for (const re of SECRET_VALUES) out = out.replace(re, MASK);
  return out;
}

/** A deep copy with secret keys and credential-looking values masked. */
export function maskSecrets(value: unknown, depth = 0): unknown {
  if (depth > 64) return MASK;
  if (typeof value === 'string') return maskString(value);
  if (Array.isArray(value)) return value.map((v) => maskSecrets(v, depth + 1));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value))
      out[k] = SECRET_KEY.test(k) ? MASK : maskSecrets(v, depth + 1);
    return out;
  }
  return value;
}

/** Longest string kept in `redacted` mode; `full` keeps everything (secrets are masked in both). */
export const REDACTED_MAX_STRING = 256;

function truncateStrings(value: unknown, depth = 0): unknown {
  if (depth > 64) return '…';
  if (typeof value === 'string') {
    return value.length > REDACTED_MAX_STRING
      ? `${value.slice(0, REDACTED_MAX_STRING)}… (${value.length} chars)`
      : value;
  }
  if (Array.isArray(value)) return value.map((v) => truncateStrings(v, depth + 1));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = truncateStrings(v, depth + 1);
    return out;
  }
  return value;
}

export interface AuditArgs {
  mode: ArgsMode;
  /** Top-level argument names (keys mode). */
  keys?: string[];
  /**
   * HMAC (audit.key) of the canonical JSON of the arguments, to tell calls apart without keeping values. Absent
   * without a key: an unkeyed hash of a short value (a PIN, a password) is recovered by trying every candidate.
   */
  hash?: string;
  value?: unknown;
}

export function auditArgs(args: unknown, mode: ArgsMode, key?: AuditKey): AuditArgs | null {
  if (args === undefined) return null;
  const hash = argsMac(key, canonicalJson(args));
  const out: AuditArgs = { mode };
  if (mode === 'keys') {
    out.keys =
      args !== null && typeof args === 'object' && !Array.isArray(args) ? Object.keys(args).sort() : [];
  }
  if (hash !== undefined) out.hash = hash;
  if (mode === 'redacted') out.value = truncateStrings(maskSecrets(args));
  else if (mode === 'full') out.value = maskSecrets(args);
  return out;
}
