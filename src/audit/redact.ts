// Arguments as the audit log keeps them: names and a hash by default; values only with secrets masked, always.
import { createHash } from 'node:crypto';
import { canonicalJson } from './chain.js';

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

/**
 * Sets an own property, "__proto__" included: JSON.parse makes that key an own property, and a plain assignment of
 * it would set the copy's prototype instead, so the argument would vanish from the audit record (found for #17.1).
 */
function setOwn(out: Record<string, unknown>, k: string, v: unknown): void {
  if (k === '__proto__')
    Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  else out[k] = v;
}

/** A deep copy with secret keys and credential-looking values masked. */
export function maskSecrets(value: unknown, depth = 0): unknown {
  if (depth > 64) return MASK;
  if (typeof value === 'string') return maskString(value);
  if (Array.isArray(value)) return value.map((v) => maskSecrets(v, depth + 1));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value))
      setOwn(out, k, SECRET_KEY.test(k) ? MASK : maskSecrets(v, depth + 1));
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
    for (const [k, v] of Object.entries(value)) setOwn(out, k, truncateStrings(v, depth + 1));
    return out;
  }
  return value;
}

export interface AuditArgs {
  mode: ArgsMode;
  /** Top-level argument names (keys mode). */
  keys?: string[];
  /** sha256 of the canonical JSON of the arguments, to tell calls apart without keeping values. */
  hash: string;
  value?: unknown;
}

export function auditArgs(args: unknown, mode: ArgsMode): AuditArgs | null {
  if (args === undefined) return null;
  const hash = createHash('sha256').update(canonicalJson(args)).digest('hex');
  if (mode === 'keys') {
    const keys =
      args !== null && typeof args === 'object' && !Array.isArray(args) ? Object.keys(args).sort() : [];
    return { mode, keys, hash };
  }
  if (mode === 'redacted') return { mode, hash, value: truncateStrings(maskSecrets(args)) };
  return { mode, hash, value: maskSecrets(args) };
}
