// The gateway's structured logger: pino, always on stderr (stdout belongs to the protocol in stdio mode).
import pino, { type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string): Logger {
  return pino(
    {
      level,
      base: { name: 'warden' },
      // Upstream headers and agent credentials must never reach a log line.
      redact: {
        paths: ['headers', '*.headers', 'authorization', '*.authorization', 'env', '*.env'],
        censor: '[redacted]',
      },
    },
    pino.destination({ fd: 2, sync: true }),
  );
}
