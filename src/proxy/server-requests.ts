// Requests upstreams send the agent during its session (sampling, elicitation, roots): the agent sees each under an
// id of warden's, its answer and its progress go back to the upstream that asked and to no other, and an upstream
// may withdraw what it asked.
import type {
  JsonRpcNotification,
  JsonRpcRequest,
  JsonRpcResponse,
  RequestId,
} from '../transport/jsonrpc.js';
import type { UpstreamLink } from './upstream.js';

/** What an agent must have declared for an upstream to ask it this (checked on links other agents share). */
const NEEDS_CAPABILITY: Readonly<Record<string, string>> = {
  'sampling/createMessage': 'sampling',
  'elicitation/create': 'elicitation',
  'roots/list': 'roots',
};

/**
 * Whether an upstream on a link other sessions share (initialized with another agent's capabilities) may ask this
 * agent `method`: only what it declared it can answer. A link of the session's own was initialized with this agent's
 * capabilities, so its upstream knows already.
 */
export function mayAsk(
  method: string,
  shared: boolean,
  capabilities: Record<string, unknown> | undefined,
): boolean {
  const needs = NEEDS_CAPABILITY[method];
  return !shared || needs === undefined || capabilities?.[needs] !== undefined;
}

interface Pending {
  link: UpstreamLink;
  upstreamId: RequestId;
  /** The progress token the upstream gave its request: the agent's progress for it goes back to that upstream only. */
  progressToken: unknown;
}

export class ServerRequests {
  /** By the id the agent sees. */
  private readonly pending = new Map<string, Pending>();
  private next = 1;

  get size(): number {
    return this.pending.size;
  }

  /** Keeps the upstream's request until answered; returns it as the agent gets it, under warden's id. */
  open(link: UpstreamLink, request: JsonRpcRequest): JsonRpcRequest {
    const id = `warden-${this.next++}`;
    const meta = request.params?._meta as Record<string, unknown> | undefined;
    this.pending.set(id, { link, upstreamId: request.id, progressToken: meta?.progressToken });
    return { ...request, id };
  }

  /** The agent's answer goes to the upstream that asked, under its own id; false when it answers nothing asked. */
  answer(response: JsonRpcResponse): boolean {
    const key = typeof response.id === 'string' ? response.id : String(response.id);
    const pending = this.pending.get(key);
    if (pending === undefined) return false;
    this.pending.delete(key);
    pending.link.respond({ ...response, id: pending.upstreamId } as JsonRpcResponse);
    return true;
  }

  /** The agent's progress on an upstream's request, to that upstream; false when no request has its token. */
  progress(n: JsonRpcNotification): boolean {
    const token = n.params?.progressToken;
    if (token === undefined) return false;
    for (const pending of this.pending.values()) {
      if (pending.progressToken === token) {
        pending.link.notify(n.method, n.params);
        return true;
      }
    }
    return false;
  }

  /** The upstream withdraws its request: the id the agent knows it by (undefined: nothing waiting). */
  withdraw(link: UpstreamLink, upstreamId: unknown): string | undefined {
    for (const [id, pending] of this.pending) {
      if (pending.link === link && pending.upstreamId === upstreamId) {
        this.pending.delete(id);
        return id;
      }
    }
    return undefined;
  }
}
