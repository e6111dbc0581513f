// Upstream credentials never reach agents (SPEC: security by default). What the config gives warden to reach its
// upstreams (header values, secret-named env values, OAuth client secrets) and warden's own secrets (webhook secrets,
// the approvals' state key, client secrets) are masked in everything an upstream sends (results, errors, lists,
// notifications, its requests to the agent) as it arrives, whatever the guards say: an upstream that echoes its API
// key, or a tool description that quotes it, hands it to no agent. Only these exact values (and their URL-encoded,
// JSON-escaped and base64 forms) are masked, so nothing else in a result changes. Env values whose names do not say
// secret (`ALLOWED_DIR`, `DB_HOST`) are left alone here, unlike in logs and the audit, where a false mask costs nothing.
import { literalsPattern, MASK, secretForms } from '../audit/redact.js';

/** Env names whose values are credentials. */
const SECRET_ENV =
  /pass(word|wd|phrase)?|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|credential|auth|cookie|session|signature|_key$|^key$/i;

const credentials = new Set<string>();
let pattern: RegExp | undefined;

/** Whether an env variable of this name holds a credential. */
export function isSecretEnvName(name: string): boolean {
  return SECRET_ENV.test(name);
}

/** Adds credentials (a config load or reload adds; none is taken back while the process runs). */
export function addCredentials(values: Iterable<string>): void {
  let added = false;
  for (const raw of values) {
    const v = raw.trim();
    if (v === '' || credentials.has(v)) continue;
    credentials.add(v);
    added = true;
  }
  if (!added) return;
  const forms = secretForms(credentials);
  pattern = forms.length === 0 ? undefined : literalsPattern(forms);
}

/** The same value with every credential in its strings masked; the very same object when none is there. */
export function maskCredentials<T>(value: T): T {
  if (pattern === undefined) return value;
  return walk(value, pattern, 0) as T;
}

function walk(value: unknown, p: RegExp, depth: number): unknown {
  if (typeof value === 'string') {
    p.lastIndex = 0;
    if (!p.test(value)) return value;
    p.lastIndex = 0;
    return value.replace(p, MASK);
  }
  if (depth > 64 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const v = value[i];
      const m = walk(v, p, depth + 1);
      if (m !== v) {
        out ??= value.slice();
        out[i] = m;
      }
    }
    return out ?? value;
  }
  let out: Record<string, unknown> | undefined;
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    const v = record[key];
    const m = walk(v, p, depth + 1);
    const k = walk(key, p, depth + 1) as string;
    if (m !== v || k !== key) {
      out ??= copy(record);
      if (k !== key) delete out[key];
      own(out, k, m);
    }
  }
  return out ?? value;
}

function copy(record: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(record)) own(out, key, record[key]);
  return out;
}

/** An own data property, `__proto__` included (JSON makes it one; an assignment would set the prototype). */
function own(out: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__')
    Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  else out[key] = value;
}
