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

/** Flows under way of one kind at most in one process (the oldest go first): start links are made on every refused call. */
const MAX_ENTRIES = 10_000;

export class MemoryFlowState implements FlowStateStore {
  /**
   * One map per kind of key (`ticket:`, `state:`), each bounded on its own: start links made on every refused call
   * never push out an authorization a person is finishing at the provider.
   */
  private readonly kinds = new Map<string, Map<string, { value: string; until: number }>>();

  constructor(private readonly now: () => number = Date.now) {}

  private mapOf(key: string): Map<string, { value: string; until: number }> {
    const kind = key.slice(0, key.indexOf(':') + 1);
    let m = this.kinds.get(kind);
    if (m === undefined) {
      m = new Map();
      this.kinds.set(kind, m);
    }
    return m;
  }

  async put(key: string, value: string, ttlMs: number): Promise<void> {
    const entries = this.mapOf(key);
    const now = this.now();
    // Oldest first (insertion order): expired ones, then the oldest when full.
    for (const [k, e] of entries) {
      if (e.until > now) break;
      entries.delete(k);
    }
    while (entries.size >= MAX_ENTRIES) entries.delete(entries.keys().next().value!);
    entries.set(key, { value, until: now + ttlMs });
  }

  async get(key: string): Promise<string | undefined> {
    const entries = this.mapOf(key);
    const e = entries.get(key);
    if (e === undefined) return undefined;
    if (e.until > this.now()) return e.value;
    entries.delete(key);
    return undefined;
  }

  async take(key: string): Promise<string | undefined> {
    const value = await this.get(key);
    this.mapOf(key).delete(key);
    return value;
  }

  async close(): Promise<void> {}
}
