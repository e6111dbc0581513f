// The upstream OAuth flows under way in Redis (src/identity/upstream/flow-state.ts): shared by replicas, one-time by
// GETDEL, expired by Redis itself.
import { Redis } from 'ioredis';
import type { FlowStateStore } from './flow-state.js';

export class RedisFlowState implements FlowStateStore {
  private constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  static open(url: string, prefix = 'warden:'): RedisFlowState {
    const redis = new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 1, commandTimeout: 2000 });
    // Errors reach the caller of each command (the start page or callback answers 503); no unhandled event.
    redis.on('error', () => {});
    return new RedisFlowState(redis, `${prefix}oauthflow:`);
  }

  async put(key: string, value: string, ttlMs: number): Promise<void> {
    await this.redis.set(this.prefix + key, value, 'PX', Math.max(1, Math.round(ttlMs)));
  }

  async get(key: string): Promise<string | undefined> {
    return (await this.redis.get(this.prefix + key)) ?? undefined;
  }

  async take(key: string): Promise<string | undefined> {
    return (await this.redis.getdel(this.prefix + key)) ?? undefined;
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
