// What listing an upstream's tools outside a session gives, and how a failure is told: shared by the SDK-based lister
// (scan, init, validate, explain) and the gateway's start-up check (start-check.ts), which does not load the SDK.
import { MASK } from '../audit/redact.js';
import type { UpstreamSpec } from '../config/resolve.js';

export type UpstreamListing =
  | { server: string; tools: Array<Record<string, unknown>> }
  | { server: string; error: string; stderr?: string };

/**
 * The line of a failed server's stderr that says why: the first that reads as an error (`Error: Cannot find module`,
 * `npm error 404`, `ModuleNotFoundError`), else the last one that is not a stack frame or a version banner.
 */
export function causeLine(lines: readonly string[]): string | undefined {
  const text = lines.map((l) => l.trim()).filter((l) => l !== '');
  // A line that starts as an error does (Node's `Error [ERR_...]: ...`, `npm error`, Python's `FooError: ...`),
  // before one that only mentions an error (Node echoes the source line that threw: `throw new Error(...)`).
  const starts = text.find((l) =>
    /^(?:[A-Z]\w*(?:Error|Exception)|Error|error|npm error|npm ERR!|fatal|FATAL|panic)\b/.test(l),
  );
  if (starts !== undefined) return starts;
  const mentions = text.find(
    (l) => /\b(\w*Error|error|ERR!|fatal|panic|Traceback)\b/.test(l) && !/^at\s|^node:internal/.test(l),
  );
  if (mentions !== undefined) return mentions;
  return [...text].reverse().find((l) => !/^at\s|^Node\.js v|^\^+$|^[{}]$/.test(l));
}

/**
 * Configured values (env, headers) of 4 characters or more become `[REDACTED]` in what is logged, as the log's own
 * mask (src/audit/redact.ts) writes them; that mask leaves values under 8 characters alone, this one does not.
 */
export function maskConfigured(line: string, spec: UpstreamSpec): string {
  let out = line;
  const secrets = [...Object.values(spec.env), ...Object.values(spec.headers)]
    .flatMap((v) => [v, ...v.split(/\s+/)])
    .filter((v) => v.length >= 4)
    .sort((a, b) => b.length - a.length);
  for (const v of secrets) out = out.split(v).join(MASK);
  return out;
}
