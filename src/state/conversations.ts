// Conversation state for flow rules (SPEC §13): which labels a conversation has seen, when and from which tool. In
// memory (one process) or in Redis (conversations-redis.ts: shared by replicas, survives a restart).

/** The first time a conversation saw a label. No data values: only the label, the time and the tool. */
export interface LabelSeen {
  label: string;
  /** ISO time. */
  at: string;
  server: string;
  tool: string;
}

export interface ConversationStore {
  /**
   * The labels a conversation has seen (first sighting of each). Rejects when the backend cannot be reached. With
   * `needed`, a store may answer from what it already knows when every needed label is among it (labels are never
   * taken back, so a label once seen stays seen): the answer then holds at least those, not necessarily all.
   */
  seen(conversation: string, needed?: readonly string[]): Promise<LabelSeen[]>;
  /** Adds labels; a label already seen keeps its first sighting. */
  record(conversation: string, events: readonly LabelSeen[]): Promise<void>;
  /** Known conversations with their labels (the dashboard), at most `limit`. */
  list(limit: number): Promise<Array<{ conversation: string; labels: LabelSeen[] }>>;
  close(): Promise<void>;
}

export class MemoryConversationStore implements ConversationStore {
  private readonly map = new Map<string, Map<string, LabelSeen>>();

  async seen(conversation: string): Promise<LabelSeen[]> {
    return [...(this.map.get(conversation)?.values() ?? [])];
  }

  async record(conversation: string, events: readonly LabelSeen[]): Promise<void> {
    let labels = this.map.get(conversation);
    if (labels === undefined) {
      labels = new Map();
      this.map.set(conversation, labels);
    }
    for (const e of events) if (!labels.has(e.label)) labels.set(e.label, { ...e });
  }

  async list(limit: number): Promise<Array<{ conversation: string; labels: LabelSeen[] }>> {
    const out: Array<{ conversation: string; labels: LabelSeen[] }> = [];
    for (const [conversation, labels] of this.map) {
      if (out.length >= limit) break;
      out.push({ conversation, labels: [...labels.values()] });
    }
    return out;
  }

  async close(): Promise<void> {}
}

export interface OpenConversationStoreOptions {
  /** Redis key prefix (default `warden:`); conversations live under `<prefix>conv:`. */
  prefix?: string;
  commandTimeoutMs?: number;
  onError?: (err: Error) => void;
}

/** `memory` or `redis(s)://...`, as the `state` setting names it. */
export async function openConversationStore(
  url: string,
  opts: OpenConversationStoreOptions = {},
): Promise<ConversationStore> {
  if (url.startsWith('redis://') || url.startsWith('rediss://'))
    return (await import('./conversations-redis.js')).RedisConversationStore.open(url, opts);
  return new MemoryConversationStore();
}
