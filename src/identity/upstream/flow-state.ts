// Where warden keeps the upstream OAuth flows under way (start links not yet opened, authorizations not yet called
// back): in memory for one process, or in Redis (`state: redis://...`) so that the start page and the callback may
// reach any replica. Each key is a hash of a secret (the ticket or the state), each value sealed by the flow with the
// credential key, and `take` reads and removes in one step, so a link or a callback is good once across replicas.
// The Redis store is in flow-state-redis.ts (loaded only when configured).
export interface FlowStateStore {
  put(key: string, value: string, ttlMs: number): Promise<void>;
  get(key: string): Promise<string | undefined>;
  /** Reads and removes at once: of two takers (on any replicas), one gets the value. */
  take(key: string): Promise<string | undefined>;
  close(): Promise<void>;
}

/** Flows under way at most in one process (the oldest go first): start links are made on every refused call. */
const MAX_ENTRIES = 10_000;

export class MemoryFlowState implements FlowStateStore {
  private readonly entries = new Map<string, { value: string; until: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  async put(key: string, value: string, ttlMs: number): Promise<void> {
    const now = this.now();
    for (const [k, e] of this.entries) if (e.until <= now) this.entries.delete(k);
    while (this.entries.size >= MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(key, { value, until: now + ttlMs });
  }

  async get(key: string): Promise<string | undefined> {
    const e = this.entries.get(key);
    if (e === undefined) return undefined;
    if (e.until > this.now()) return e.value;
    this.entries.delete(key);
    return undefined;
  }

  async take(key: string): Promise<string | undefined> {
    const value = await this.get(key);
    this.entries.delete(key);
    return value;
  }

  async close(): Promise<void> {}
}
