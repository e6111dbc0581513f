// One Redis connection that never waits for Redis (the approval bus, the bridge relay, the session directory):
// connects lazily, never queues while Redis is away (a command that cannot go now is the caller's error to handle),
// and reports an outage once until the next reconnect.
import { Redis } from 'ioredis';

export function busConnection(url: string, onError?: (err: Error) => void): Redis {
  const r = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 3000,
    commandTimeout: 1000,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: (times) => Math.min(times * 100, 1000),
  });
  let reported = false;
  r.on('error', (err: Error) => {
    if (!reported) onError?.(err);
    reported = true;
  });
  r.on('ready', () => {
    reported = false;
  });
  r.connect().catch(() => {});
  return r;
}
