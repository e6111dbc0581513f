// The approval bus on Redis pub/sub: the replica where an approval is decided tells the one holding the call.
// Losing a message costs only latency: the holder also polls the approval store.
import type { Redis } from 'ioredis';
import type { ApprovalBus } from '../approvals/service.js';
import { busConnection } from './redis-pubsub.js';

const CHANNEL = 'warden:approvals:decided';

export class RedisApprovalBus implements ApprovalBus {
  private constructor(
    private readonly pub: Redis,
    private readonly sub: Redis,
  ) {}

  static open(url: string, opts: { onError?: (err: Error) => void } = {}): RedisApprovalBus {
    return new RedisApprovalBus(busConnection(url, opts.onError), busConnection(url, opts.onError));
  }

  async publish(id: string): Promise<void> {
    await this.pub.publish(CHANNEL, id);
  }

  subscribe(onDecided: (id: string) => void): void {
    // A subscriber connection re-subscribes by itself after a reconnect (ioredis autoResubscribe).
    this.sub.on('message', (channel: string, id: string) => {
      if (channel === CHANNEL) onDecided(id);
    });
    const go = () => void this.sub.subscribe(CHANNEL).catch(() => {});
    if (this.sub.status === 'ready') go();
    else this.sub.once('ready', go);
  }

  async close(): Promise<void> {
    this.pub.disconnect();
    this.sub.disconnect();
  }
}
