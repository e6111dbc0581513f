// Arguments as the audit log keeps them: names and a hash by default; values only with secrets masked, always.
// Also the one mask for every text that leaves the gateway for people (logs, wire errors, webhooks, the admin API):
// the secret formats the result guards know (one rule set, src/guards/secrets.ts, #19), warden's own tokens among
// them; values a secret's name or place gives away; and the secrets of the loaded config.
import { maskSpans } from '../guards/scan.js';
import { findSecrets } from '../guards/secrets.js';
import { canonicalJson } from './chain.js';
import { type AuditKey, argsMac } from './keys.js';

export type ArgsMode = 'keys' | 'redacted' | 'full';
export const MASK = '[REDACTED]';

// Secret formats (issuer prefixes, private keys, JWTs, warden's tokens...) come from the one rule set the result
// guards use (src/guards/secrets.ts). What follows is the mask's own part: values whose name or place alone says they
// are secrets, whatever they look like. The result guards leave these out: there they would mask text about secrets
// (`Bearer authentication`, `token = request.headers.get(...)`, `postgres://user:password@localhost`).

/** Argument names whose values are secrets, whatever they look like. */
const SECRET_KEY =
  /pass(word|wd|phrase)?$|secret|token|api[_-]?key|apikey|authori[sz]ation|^auth$|credential|private[_-]?key|cookie|session[_-]?id|signature/i;

/** The credential after an HTTP auth scheme, even a short or word-like one. */
const AUTH_SCHEME = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/gi;
/** `user:password@` in URLs and connection strings: the password goes (it may hold `@`; the last one ends it). */
const URL_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/[^\s:/@]+):[^\s/?#]*@/gi;
/** Credentials in URL query strings (`?access_token=`, `&sig=`, the dashboard's `?csrf=`). */
const QUERY_SECRET =
  /([?&](?:access_token|refresh_token|id_token|token|api_?key|apikey|key|secret|client_secret|password|sig|signature|csrf|code|auth)=)[^&\s#"'<>]+/gi;
/**
 * `name=value` and `name: value` where the name says secret (`API_KEY=...`, `"password": "..."`, `aws_secret_access_key
 * = ...`), as in log lines and error texts. A bare number is left alone (`max_tokens=4096`).
 */
const NAMED_SECRET =
  /\b([A-Za-z0-9_.-]*(?:password|passwd|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|credentials?|authorization|cookie)s?)(["']?\s*[:=]\s*["']?)(?!\d+\b)(?!\[REDACTED\])((?:(?:Bearer|Basic|Token|Digest|Bot)\s+)?[^\s"',;&]{4,})/gi;

/** Configured secrets shorter than this are not masked: they would mask ordinary words everywhere. */
export const CONFIGURED_SECRET_MIN = 8;
/** The secrets of the loaded config (headers, env, interpolated values), each with its encoded forms. */
const configured = new Set<string>();
let configuredPattern: RegExp | undefined;
/** The same, allowing a line break between any two characters: used only on text that has one. */
let configuredAcrossLines: RegExp | undefined;

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/**
 * The base64 (and base64url) forms of `secret` as it appears inside a longer encoded text (`Basic <user:secret>`):
 * for each of the three byte alignments, the characters that depend on the secret's bytes alone.
 */
function base64Cores(secret: string): string[] {
  const bytes = Buffer.from(secret, 'utf8');
  const out: string[] = [];
  for (let k = 0; k < 3; k++) {
    const b64 = Buffer.concat([Buffer.alloc(k), bytes]).toString('base64');
    const first = Math.ceil(k / 3) * 4;
    const last = Math.floor((k + bytes.length) / 3) * 4;
    const core = b64.slice(first, last);
    if (core.length >= CONFIGURED_SECRET_MIN) {
      out.push(core, core.replace(/\+/g, '-').replace(/\//g, '_'));
    }
  }
  return out;
}

/** A literal that may be broken across lines (a wrapped log line): a line break and indentation between any two characters. */
function acrossLines(literal: string): string {
  return [...literal].map(escapeRegExp).join('(?:\\r?\\n[ \\t]*)?');
}

/**
 * Adds secrets of the loaded config (upstream headers and env, `${ENV}` values, webhook secrets). From then on every
 * mask in this process also masks each of them, and their URL-encoded, JSON-escaped and base64 forms, also when a
 * line break splits one. Values shorter than CONFIGURED_SECRET_MIN characters are skipped (docs/configuration.md).
 */
export function addConfiguredSecrets(values: Iterable<string>): void {
  let added = false;
  for (const raw of values) {
    const v = raw.trim();
    if (v.length < CONFIGURED_SECRET_MIN || configured.has(v)) continue;
    configured.add(v);
    added = true;
  }
  if (!added) return;
  const sorted = secretForms(configured);
  configuredPattern = new RegExp(sorted.map(escapeRegExp).join('|'), 'g');
  configuredAcrossLines = new RegExp(sorted.map(acrossLines).join('|'), 'g');
}

/**
 * Each secret with its URL-encoded, JSON-escaped and base64 forms (those of CONFIGURED_SECRET_MIN characters or
 * more), longest first, so that a secret that contains another is masked whole.
 */
export function secretForms(secrets: Iterable<string>): string[] {
  const forms = new Set<string>();
  for (const v of secrets) {
    forms.add(v);
    forms.add(encodeURIComponent(v));
    forms.add(JSON.stringify(v).slice(1, -1));
    for (const core of base64Cores(v)) forms.add(core);
  }
  return [...forms].filter((f) => f.length >= CONFIGURED_SECRET_MIN).sort((a, b) => b.length - a.length);
}

/** A pattern that finds any of `forms` (escaped literals). */
export function literalsPattern(forms: readonly string[]): RegExp {
  return new RegExp(forms.map(escapeRegExp).join('|'), 'g');
}

/** The configured secrets this process masks (for tests and the stderr fragment check). */
export function configuredSecrets(): readonly string[] {
  return [...configured];
}

/** Shortest piece of a configured secret masked at a line's edge by maskLineEdges. */
const FRAGMENT_MIN = 4;

/**
 * For text that arrives line by line (an upstream's stderr): a line that ends with the start of a configured secret,
 * or starts with its end, has that piece masked, so a secret wrapped over two lines never shows in either.
 */
export function maskLineEdges(line: string): string {
  let out = maskString(line);
  for (const s of configured) {
    for (let n = Math.min(s.length - 1, out.length); n >= FRAGMENT_MIN; n--) {
      if (out.endsWith(s.slice(0, n))) {
        out = `${out.slice(0, out.length - n)}${MASK}`;
        break;
      }
    }
    const lead = /^\s*/.exec(out)?.[0].length ?? 0;
    for (let n = Math.min(s.length - 1, out.length - lead); n >= FRAGMENT_MIN; n--) {
      if (out.startsWith(s.slice(s.length - n), lead)) {
        out = `${out.slice(0, lead)}${MASK}${out.slice(lead + n)}`;
        break;
      }
    }
  }
  return out;
}

/** Cheap tests that let the costlier patterns be skipped on text that cannot match them (the audit's hot path). */
const NAMED_HINT = /pass|pwd|secret|token|key|credential|authori|cookie/i;

export function maskString(s: string): string {
  let out = s;
  if (configuredPattern !== undefined)
    out = out.replace(out.includes('\n') ? configuredAcrossLines! : configuredPattern, MASK);
  if (out.includes('://')) out = out.replace(URL_PASSWORD, `$1:${MASK}@`);
  if (out.includes('=')) out = out.replace(QUERY_SECRET, `$1${MASK}`);
  const found = findSecrets(out);
  if (found.length > 0)
    out = maskSpans(
      out,
      found.map((f) => ({ start: f.start, end: f.end, mask: MASK })),
    );
  out = out.replace(AUTH_SCHEME, MASK);
  return NAMED_HINT.test(out) ? out.replace(NAMED_SECRET, `$1$2${MASK}`) : out;
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
      setOwn(out, maskString(k), SECRET_KEY.test(k) ? MASK : maskSecrets(v, depth + 1));
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
