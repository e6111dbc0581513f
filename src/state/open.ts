// Opens the counter store a state URL names: `memory` (the default, one process) or `redis(s)://...` (shared). The
// Redis client is loaded only for a Redis URL.
import { WardenError } from '../errors.js';
import { MemoryCounterStore, type MemoryCounterStoreOptions } from './memory.js';
import type { RedisCounterStoreOptions } from './redis.js';
import type { CounterStore } from './types.js';

export interface OpenCounterStoreOptions {
  memory?: MemoryCounterStoreOptions;
  redis?: RedisCounterStoreOptions;
}

/** Rejects with a WardenError (never throws synchronously) when the URL is not understood. */
export async function openCounterStore(
  url: string,
  opts: OpenCounterStoreOptions = {},
): Promise<CounterStore> {
  if (url === 'memory') return new MemoryCounterStore(opts.memory);
  if (url.startsWith('redis://') || url.startsWith('rediss://'))
    return (await import('./redis.js')).RedisCounterStore.open(url, opts.redis);
  throw new WardenError('CONFIG_INVALID', `unsupported state URL: ${maskPassword(url)}`, {
    hint: 'expected memory, or redis://[user:password@]host:port[/db] (rediss:// for TLS)',
  });
}

/** A URL fit for messages and logs: whatever sits before `@` in the authority may be a password. */
export function maskPassword(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}
