// JSON-RPC messages as the bytes an HTTP body carries. A big tools/list answer handed out again unchanged (the same
// array: see the kept lists in src/proxy/upstream.ts, src/pipeline/policy.ts and src/pipeline/route.ts) reuses the
// bytes made of it the time before. For 1,000 tools that is 740 KB of JSON, whose serialising and encoding were two
// thirds of the gateway's CPU per tools/list.

/** Lists shorter than this are cheaper to serialise again than to keep. */
const MIN_ITEMS = 64;
/** At most this many lists are kept, and this many bytes of them; the least recently used go first. */
const MAX_KEPT = 16;
const MAX_KEPT_BYTES = 32 * 1024 * 1024;

/** Arrays serialised once: the second time one is seen, its bytes are kept. A one-off list is never kept. */
const seen = new WeakSet<object>();
const kept = new Map<object, Buffer>();
let keptBytes = 0;

const TOOLS_CLOSE = Buffer.from('}}');

/**
 * The UTF-8 JSON of a message (or a batch of them), in pieces to be written one after the other: a kept tool list is
 * written from its own bytes rather than copied into a new buffer.
 */
export function encodeMessage(message: unknown): Buffer[] {
  const tools = plainToolsAnswer(message);
  if (tools === undefined) return [Buffer.from(JSON.stringify(message), 'utf8')];
  const id = (message as { id: unknown }).id;
  const head = Buffer.from(`{"jsonrpc":"2.0","id":${JSON.stringify(id)},"result":{"tools":`, 'utf8');
  return [head, toolsJson(tools), TOOLS_CLOSE];
}

/** The tools array of a response `{jsonrpc, id, result: {tools}}` with nothing else in it, when it is a long one. */
function plainToolsAnswer(message: unknown): unknown[] | undefined {
  if (typeof message !== 'object' || message === null || Array.isArray(message)) return undefined;
  const m = message as { jsonrpc?: unknown; id?: unknown; result?: unknown };
  if (m.jsonrpc !== '2.0' || (typeof m.id !== 'string' && typeof m.id !== 'number')) return undefined;
  if (Object.keys(m).length !== 3 || typeof m.result !== 'object' || m.result === null) return undefined;
  const result = m.result as Record<string, unknown>;
  const tools = result.tools;
  if (!Array.isArray(tools) || tools.length < MIN_ITEMS || Object.keys(result).length !== 1) return undefined;
  return tools;
}

function toolsJson(tools: unknown[]): Buffer {
  const hit = kept.get(tools);
  if (hit !== undefined) {
    // Most recently used last.
    kept.delete(tools);
    kept.set(tools, hit);
    return hit;
  }
  const json = Buffer.from(JSON.stringify(tools), 'utf8');
  if (!seen.has(tools)) {
    seen.add(tools);
    return json;
  }
  if (json.length > MAX_KEPT_BYTES) return json;
  kept.set(tools, json);
  keptBytes += json.length;
  for (const [old, bytes] of kept) {
    if (kept.size <= MAX_KEPT && keptBytes <= MAX_KEPT_BYTES) break;
    kept.delete(old);
    keptBytes -= bytes.length;
  }
  return json;
}

/** How many lists and bytes are kept (for tests). */
export function keptLists(): { lists: number; bytes: number } {
  return { lists: kept.size, bytes: keptBytes };
}
