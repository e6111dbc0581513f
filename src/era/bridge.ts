// The bridge of a 2026 client in front of a 2025 upstream (#18 part 3b): a request the upstream sends the agent during
// a call (elicitation, sampling, roots) becomes an InputRequiredResult that answers the agent's request at once; the
// agent's retry carries the answer back, warden hands it to the waiting upstream, and the call's own result answers the
// retry. The upstream call stays open in this process meanwhile: the state names it and means nothing elsewhere.
import { randomBytes } from 'node:crypto';
import { canonicalJson } from '../audit/chain.js';
import type { JsonRpcRequest, RequestId } from '../transport/jsonrpc.js';

/** Marks a bridge state apart from warden's sealed approval states and an upstream's own. */
export const BRIDGE_STATE_PREFIX = 'mcpwb1.';
/** The key of the upstream's request in `inputRequests` / `inputResponses`. */
export const BRIDGE_INPUT_KEY = 'mcp-warden/upstream';

/** Server-to-client methods a 2026 client answers in-band, and the capability each needs. */
const BRIDGED: Readonly<Record<string, string>> = {
  'elicitation/create': 'elicitation',
  'sampling/createMessage': 'sampling',
  'roots/list': 'roots',
};

interface Parked {
  /** The id the proxy session gave the upstream's request (its answer goes back under it). */
  serverRequestId: RequestId;
  /** Warden's id of the agent request whose call is still running upstream. */
  original: RequestId;
  /** The call as first made (method, name, arguments): the retry must be the same call. */
  call: string;
  /** What the upstream asked (`elicitation/create`, ...), for the retry's audit record. */
  asked: string;
}

function callOf(request: JsonRpcRequest): string {
  const p = (request.params ?? {}) as Record<string, unknown>;
  return canonicalJson([request.method, p.name ?? p.uri ?? null, p.arguments ?? null]);
}

export type Resumed =
  | {
      ok: true;
      serverRequestId: RequestId;
      original: RequestId;
      /** The method of the upstream's request the retry answers. */
      asked: string;
      answer: Record<string, unknown> | undefined;
    }
  | { ok: false; reason: string };

export class EraBridge {
  private readonly parked = new Map<string, Parked>();
  /** Agent request (warden id) whose call runs on -> the retry that now waits for its answer (undefined: none yet). */
  private readonly redirect = new Map<RequestId, RequestId | undefined>();

  /** Whether the agent can answer `method` in-band, by what its request declared. */
  static canBridge(method: string, capabilities: Record<string, unknown> | undefined): boolean {
    const cap = BRIDGED[method];
    return cap !== undefined && typeof capabilities?.[cap] === 'object' && capabilities[cap] !== null;
  }

  /** The agent request that answers for call `id` now: the latest retry, or the request itself. */
  current(id: RequestId): RequestId | undefined {
    return this.redirect.has(id) ? this.redirect.get(id) : id;
  }

  /** Whether call `id` runs on upstream although the agent has had an answer for it (its id is free to the agent). */
  running(id: RequestId): boolean {
    return this.redirect.has(id);
  }

  /** The call `id` is the retry of, when it is one. */
  originalOf(retry: RequestId): RequestId | undefined {
    for (const [original, r] of this.redirect) if (r === retry) return original;
    return undefined;
  }

  /**
   * Parks the upstream's `request` made during call `original` (first made as `first`): returns the result that
   * answers the agent now.
   */
  park(original: RequestId, first: JsonRpcRequest, request: JsonRpcRequest): Record<string, unknown> {
    const token = randomBytes(18).toString('base64url');
    this.parked.set(token, {
      serverRequestId: request.id,
      original,
      call: callOf(first),
      asked: request.method,
    });
    this.redirect.set(original, undefined);
    return {
      resultType: 'input_required',
      inputRequests: { [BRIDGE_INPUT_KEY]: { method: request.method, params: request.params ?? {} } },
      requestState: `${BRIDGE_STATE_PREFIX}${token}`,
    };
  }

  /** A retry carrying a bridge state: what to answer the upstream, and which call the retry now waits on. */
  resume(retry: JsonRpcRequest, state: string): Resumed {
    const token = state.slice(BRIDGE_STATE_PREFIX.length);
    const p = this.parked.get(token);
    if (p === undefined)
      return {
        ok: false,
        reason:
          'This requestState names no upstream request waiting here (answered already, or the call ended). Make the call again without requestState',
      };
    if (p.call !== callOf(retry))
      return {
        ok: false,
        reason: 'The retry is not the call the upstream asked about (tool or arguments changed)',
      };
    this.parked.delete(token);
    this.redirect.set(p.original, retry.id);
    const responses = (retry.params as Record<string, unknown> | undefined)?.inputResponses as
      | Record<string, unknown>
      | undefined;
    const answer = responses?.[BRIDGE_INPUT_KEY];
    return {
      ok: true,
      serverRequestId: p.serverRequestId,
      original: p.original,
      asked: p.asked,
      answer: typeof answer === 'object' && answer !== null ? (answer as Record<string, unknown>) : undefined,
    };
  }

  /** The call ended: forget where its answer was to go. */
  done(original: RequestId): void {
    this.redirect.delete(original);
    // A question the agent never answered goes with its call.
    for (const [token, p] of this.parked) if (p.original === original) this.parked.delete(token);
  }
}
