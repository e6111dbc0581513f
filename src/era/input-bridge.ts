// The bridge for a 2025 agent in front of a 2026 upstream: when the upstream answers a call with an
// InputRequiredResult, warden asks the agent each embedded request as an ordinary server-to-client request
// (elicitation/create, sampling/createMessage, roots/list), then retries the call upstream with the answers and the
// upstream's requestState, until a complete result. The agent sees one call; the pipeline decided once.

import { errorResponse, INTERNAL_ERROR, type JsonRpcResponse } from '../transport/jsonrpc.js';
import { isObject } from './upstream-modern.js';

/** Methods whose results may be `input_required` (the 2026 revision's multi round-trip requests). */
export const ROUND_TRIP_METHODS: ReadonlySet<string> = new Set([
  'tools/call',
  'prompts/get',
  'resources/read',
]);

/** Round trips one call may take before warden gives up on the upstream (an endless loop is the upstream's bug). */
export const MAX_ROUNDS = 8;
/** The whole round trip (the agent's answers included) ends after this long. */
export const MAX_BRIDGE_MS = 10 * 60_000;
/** Longest requestState warden echoes back (characters): the upstream's state is not warden's memory to fill. */
export const MAX_REQUEST_STATE_CHARS = 64 * 1024;
/** Most input requests in one round. */
export const MAX_INPUT_REQUESTS = 16;

const AGENT_METHODS = new Set(['elicitation/create', 'sampling/createMessage', 'roots/list']);

export interface BridgeHooks {
  /** Asks the agent (a server-to-client request on the call's stream); resolves with its response. */
  ask(method: string, params: Record<string, unknown> | undefined): Promise<JsonRpcResponse>;
  /** Sends the retry upstream; undefined when the call was cancelled meanwhile. */
  retry(params: Record<string, unknown>): Promise<JsonRpcResponse | undefined>;
  /** Whether the call was cancelled (nothing more is asked or sent). */
  cancelled(): boolean;
  now?: () => number;
}

/** Why a 2026 answer is refused: an error the agent gets in place of the call's result. */
function refused(id: JsonRpcResponse['id'], why: string): JsonRpcResponse {
  return errorResponse(id, INTERNAL_ERROR, `Upstream round trip refused: ${why}`) as JsonRpcResponse;
}

/**
 * Runs the round trips of one call from its first answer. A complete result (resultType `complete`, or none) is
 * returned as is; an unknown resultType, a malformed InputRequiredResult, too many rounds, too much time, a
 * requestState over the limit or an input request the agent cannot be asked become an error for the agent.
 */
export async function runRoundTrips(
  first: JsonRpcResponse | undefined,
  params: Record<string, unknown> | undefined,
  hooks: BridgeHooks,
): Promise<JsonRpcResponse | undefined> {
  const now = hooks.now ?? Date.now;
  const started = now();
  let response = first;
  for (let round = 0; ; round++) {
    if (response === undefined || !('result' in response)) return response;
    const kind = response.result.resultType;
    if (kind === undefined || kind === 'complete') return response;
    if (kind !== 'input_required') return refused(response.id, `unknown resultType ${describe(kind)}`);
    if (round >= MAX_ROUNDS) return refused(response.id, `more than ${MAX_ROUNDS} rounds of input_required`);
    if (now() - started > MAX_BRIDGE_MS) return refused(response.id, 'the round trips took too long');
    const { inputRequests, requestState } = response.result;
    if (requestState !== undefined && typeof requestState !== 'string')
      return refused(response.id, 'requestState is not a string');
    if (typeof requestState === 'string' && requestState.length > MAX_REQUEST_STATE_CHARS)
      return refused(response.id, `requestState longer than ${MAX_REQUEST_STATE_CHARS} characters`);
    if (inputRequests !== undefined && !isObject(inputRequests))
      return refused(response.id, 'inputRequests is not an object');
    const entries = Object.entries(inputRequests ?? {});
    if (entries.length === 0 && requestState === undefined)
      return refused(response.id, 'input_required with neither inputRequests nor requestState');
    if (entries.length > MAX_INPUT_REQUESTS)
      return refused(response.id, `more than ${MAX_INPUT_REQUESTS} input requests`);
    const answers: Record<string, unknown> = {};
    for (const [key, request] of entries) {
      if (!isObject(request) || typeof request.method !== 'string' || !AGENT_METHODS.has(request.method))
        return refused(response.id, `input request ${describe(key)} is not one a client answers`);
      const reqParams = isObject(request.params) ? request.params : undefined;
      const answer = await hooks.ask(request.method, agentParams(request.method, reqParams));
      if (hooks.cancelled()) return undefined;
      if ('error' in answer)
        return errorResponse(
          response.id,
          answer.error.code,
          `The agent did not answer ${request.method}: ${answer.error.message}`,
        ) as JsonRpcResponse;
      answers[key] = answer.result;
    }
    const retry: Record<string, unknown> = { ...(params ?? {}) };
    delete retry.inputResponses;
    delete retry.requestState;
    if (entries.length > 0) retry.inputResponses = answers;
    if (requestState !== undefined) retry.requestState = requestState;
    if (hooks.cancelled()) return undefined;
    response = await hooks.retry(retry);
  }
}

/**
 * An embedded request's params as a 2025 agent expects them: a URL-mode elicitation gets the elicitationId the 2025
 * revision requires (the 2026 one dropped it).
 */
function agentParams(
  method: string,
  params: Record<string, unknown> | undefined,
): Record<string, unknown> | undefined {
  if (method === 'elicitation/create' && params?.mode === 'url' && typeof params.elicitationId !== 'string')
    return { ...params, elicitationId: crypto.randomUUID() };
  return params;
}

function describe(v: unknown): string {
  const text = typeof v === 'string' ? v : (JSON.stringify(v) ?? String(v));
  return JSON.stringify(text.slice(0, 40));
}
