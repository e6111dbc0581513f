// Redis pub/sub for the bridge relay (src/era/bridge-relay.ts): one channel per replica, on which that replica hears
// retries to resume the calls it holds, and the answers to retries it relayed elsewhere.
import type { Redis } from 'ioredis';
import { busConnection } from './redis-pubsub.js';

/** What the relay needs from a message bus: publish to a replica's channel, and hear one's own. */
export interface BridgeBus {
  /** Resolves with how many subscribers heard it: 0 means the replica of that channel is gone. */
  publish(channel: string, message: string): Promise<number>;
  /** Resolves once the subscription is in place. */
  subscribe(channel: string, onMessage: (message: string) => void): Promise<void>;
  close(): Promise<void>;
}

export class RedisBridgeBus implements BridgeBus {
  private constructor(
    private readonly pub: Redis,
    private readonly sub: Redis,
  ) {}

  static open(url: string, opts: { onError?: (err: Error) => void } = {}): RedisBridgeBus {
    return new RedisBridgeBus(busConnection(url, opts.onError), busConnection(url, opts.onError));
  }

  publish(channel: string, message: string): Promise<number> {
    return this.pub.publish(channel, message);
  }

  subscribe(channel: string, onMessage: (message: string) => void): Promise<void> {
    // A subscriber connection re-subscribes by itself after a reconnect (ioredis autoResubscribe).
    this.sub.on('message', (c: string, message: string) => {
      if (c === channel) onMessage(message);
    });
    return new Promise((resolve, reject) => {
      const go = () =>
        void this.sub.subscribe(channel).then(
          () => resolve(),
          (err: Error) => reject(err),
        );
      if (this.sub.status === 'ready') go();
      else this.sub.once('ready', go);
    });
  }

  async close(): Promise<void> {
    this.pub.disconnect();
    this.sub.disconnect();
  }
}
