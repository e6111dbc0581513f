// The one place wire errors are built: what the agent sees when something is wrong, as JSON-RPC errors.
import { WardenError } from '../errors.js';
import type { Decision } from '../policy/types.js';
import {
  CONNECTION_CLOSED,
  INTERNAL_ERROR,
  INVALID_PARAMS,
  INVALID_REQUEST,
  type JsonRpcErrorObject,
  METHOD_NOT_FOUND,
  REQUEST_TIMEOUT,
} from '../transport/jsonrpc.js';

/** MCP's "resource not found" code. */
export const RESOURCE_NOT_FOUND = -32002;

export type Reply = { result: Record<string, unknown> } | { error: JsonRpcErrorObject };

export const wire = {
  /** Hidden and nonexistent tools get exactly this, byte for byte (SPEC §5). */
  unknownTool: (name: string): Reply => ({
    error: { code: INVALID_PARAMS, message: `Unknown tool: ${name}` },
  }),
  unknownPrompt: (name: string): Reply => ({
    error: { code: INVALID_PARAMS, message: `Unknown prompt: ${name}` },
  }),
  resourceNotFound: (uri: string): Reply => ({
    error: { code: RESOURCE_NOT_FOUND, message: `Resource not found: ${uri}`, data: { uri } },
  }),
  methodNotFound: (method: string): Reply => ({
    error: { code: METHOD_NOT_FOUND, message: `Method not found: ${method}` },
  }),
  invalidParams: (message: string): Reply => ({ error: { code: INVALID_PARAMS, message } }),
  invalidRequest: (message: string): Reply => ({ error: { code: INVALID_REQUEST, message } }),
  /** No upstream could be reached for this request. */
  unavailable: (message: string): Reply => ({ error: { code: CONNECTION_CLOSED, message } }),
  /**
   * A policy outcome the model should read and adapt to: an isError tool result, `[POLICY DENIED] <reason>`, and
   * the machine-readable detail under `_meta["mcp-warden/decision"]` (SPEC §5).
   */
  denied: (
    decision: Pick<Decision, 'rule' | 'reason'>,
    retryAfterSeconds?: number,
    more?: Record<string, unknown>,
  ): Reply => {
    const reason = decision.reason ?? 'Denied by policy';
    const detail: Record<string, unknown> = { rule: decision.rule, reason, ...more };
    if (retryAfterSeconds !== undefined) detail.retryAfterSeconds = retryAfterSeconds;
    return {
      result: {
        content: [{ type: 'text', text: `[POLICY DENIED] ${reason}` }],
        isError: true,
        _meta: { 'mcp-warden/decision': detail },
      },
    };
  },
  /** Prompts and resources have no tool result to carry a denial: a JSON-RPC error with the same text. */
  deniedRequest: (decision: Pick<Decision, 'rule' | 'reason'>): Reply => ({
    error: {
      code: INVALID_PARAMS,
      message: `[POLICY DENIED] ${decision.reason ?? 'Denied by policy'}`,
      data: { 'mcp-warden/decision': { rule: decision.rule, reason: decision.reason } },
    },
  }),
  /** Internal faults are -32603 and never blamed on the client; the details stay in the log. */
  internal: (): Reply => ({ error: { code: INTERNAL_ERROR, message: 'Internal error in mcp-warden' } }),
};

/** Maps a local fault to what the agent may see. */
export function replyForError(err: unknown): Reply {
  if (err instanceof WardenError) {
    switch (err.code) {
      case 'UPSTREAM_START_FAILED':
      case 'UPSTREAM_CLOSED':
        return wire.unavailable(err.message);
      case 'UPSTREAM_TIMEOUT':
        return { error: { code: REQUEST_TIMEOUT, message: err.message } };
      default:
        return wire.internal();
    }
  }
  return wire.internal();
}
