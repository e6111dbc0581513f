// The gateway's structured logger: pino, always on stderr (stdout belongs to the protocol in stdio mode).
import pino, { type Logger } from 'pino';
import { maskSecrets, maskString } from './audit/redact.js';

export type { Logger };

/** A log argument with secrets masked: strings, objects (keys and values) and errors (message and stack). */
function masked(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return maskString(value);
  if (value instanceof Error) {
    const out: Record<string, unknown> = { type: value.name, message: maskString(value.message) };
    if (value.stack !== undefined) out.stack = maskString(value.stack);
    const code = (value as { code?: unknown }).code;
    if (code !== undefined) out.code = code;
    return out;
  }
  if (depth > 8 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => masked(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] =
      v instanceof Error || (v !== null && typeof v === 'object') ? masked(v, depth + 1) : maskSecrets(v);
  }
  return out;
}

/** `destination` is for tests that read the log; by default stderr. */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { name: 'warden' },
      // Upstream headers and agent credentials must never reach a log line.
      redact: {
        paths: ['headers', '*.headers', 'authorization', '*.authorization', 'env', '*.env'],
        censor: '[redacted]',
      },
      hooks: {
        // Whatever a line quotes (an upstream's stderr or error body, a URL) is masked as the audit log masks
        // arguments, configured secrets included. Only lines of an enabled level get here.
        logMethod(args, method) {
          method.apply(this, args.map((a) => masked(a)) as Parameters<typeof method>);
        },
      },
    },
    destination ?? pino.destination({ fd: 2, sync: true }),
  );
}
