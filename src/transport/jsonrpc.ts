// JSON-RPC 2.0 message shapes and a cheap structural check used on every message that crosses the gateway.

export type RequestId = string | number;

export interface JsonRpcRequest {
  jsonrpc: '2.0';
  id: RequestId;
  method: string;
  params?: Record<string, unknown>;
}

export interface JsonRpcNotification {
  jsonrpc: '2.0';
  method: string;
  params?: Record<string, unknown>;
}

export interface JsonRpcErrorObject {
  code: number;
  message: string;
  data?: unknown;
}

export interface JsonRpcResult {
  jsonrpc: '2.0';
  id: RequestId;
  result: Record<string, unknown>;
}

export interface JsonRpcError {
  jsonrpc: '2.0';
  id: RequestId | null;
  error: JsonRpcErrorObject;
}

export type JsonRpcResponse = JsonRpcResult | JsonRpcError;
export type JsonRpcMessage = JsonRpcRequest | JsonRpcNotification | JsonRpcResponse;

export const PARSE_ERROR = -32700;
export const INVALID_REQUEST = -32600;
export const METHOD_NOT_FOUND = -32601;
export const INVALID_PARAMS = -32602;
export const INTERNAL_ERROR = -32603;
/** MCP: request timed out / connection closed (SDK ErrorCode values). */
export const CONNECTION_CLOSED = -32000;
export const REQUEST_TIMEOUT = -32001;

export function isRequest(m: JsonRpcMessage): m is JsonRpcRequest {
  return 'method' in m && 'id' in m;
}

export function isNotification(m: JsonRpcMessage): m is JsonRpcNotification {
  return 'method' in m && !('id' in m);
}

export function isResponse(m: JsonRpcMessage): m is JsonRpcResponse {
  return !('method' in m) && ('result' in m || 'error' in m);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isId(v: unknown): v is RequestId {
  return typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v));
}

/**
 * Deeper than any real MCP request. Params nested deeper (JSON.parse takes any depth) would exhaust the stack of the
 * steps that walk them, the audit hash and the upstream's serializer among them, and fail the call as an internal error.
 */
export const MAX_PARAMS_DEPTH = 128;

/**
 * Deeper than any real MCP answer (a tool list's JSON Schemas, a structured result). An answer nested deeper (an
 * upstream's or an agent's: JSON.parse takes any depth) would overflow the stack of JSON.stringify when the gateway
 * passes it on, about 5,000 levels, and of every step that walks it before that (#17.1).
 */
export const MAX_RESULT_DEPTH = 256;

/** Whether a parsed JSON value nests more than `levels` objects or arrays; recursion stops at `levels`. */
export function deeperThan(v: unknown, levels: number): boolean {
  if (typeof v !== 'object' || v === null) return false;
  if (levels === 0) return true;
  if (Array.isArray(v)) {
    for (const e of v) if (deeperThan(e, levels - 1)) return true;
    return false;
  }
  for (const k in v) if (deeperThan((v as Record<string, unknown>)[k], levels - 1)) return true;
  return false;
}

/**
 * Checks that a parsed value is one JSON-RPC 2.0 message. Returns a reason when it is not.
 * Deliberately structural and allocation-free: it runs on every message.
 */
export function checkMessage(v: unknown): string | undefined {
  if (!isPlainObject(v)) return 'message must be a JSON object';
  if (v.jsonrpc !== '2.0') return 'jsonrpc must be "2.0"';
  if ('method' in v) {
    if (typeof v.method !== 'string' || v.method === '') return 'method must be a non-empty string';
    if ('id' in v && !isId(v.id)) return 'id must be a string or a number';
    if ('params' in v && v.params !== undefined && !isPlainObject(v.params))
      return 'params must be an object';
    if (deeperThan(v.params, MAX_PARAMS_DEPTH))
      return `params are nested deeper than ${MAX_PARAMS_DEPTH} levels`;
    return undefined;
  }
  if (!('id' in v)) return 'message has neither method nor id';
  if ('result' in v) {
    if (!isId(v.id)) return 'id must be a string or a number';
    if (!isPlainObject(v.result)) return 'result must be an object';
    if (deeperThan(v.result, MAX_RESULT_DEPTH))
      return `result is nested deeper than ${MAX_RESULT_DEPTH} levels`;
    return undefined;
  }
  if ('error' in v) {
    if (v.id !== null && !isId(v.id)) return 'id must be a string, a number or null';
    const e = v.error;
    if (!isPlainObject(e) || typeof e.code !== 'number' || typeof e.message !== 'string') {
      return 'error must be an object with a numeric code and a string message';
    }
    if (deeperThan(e.data, MAX_RESULT_DEPTH))
      return `error data is nested deeper than ${MAX_RESULT_DEPTH} levels`;
    return undefined;
  }
  return 'response has neither result nor error';
}

/**
 * What a client transport hands on in place of an answer that failed checkMessage only by being nested too deep:
 * an error answer for its request that says why, so that the call ends now with a reason instead of at its timeout.
 * Anything else gets undefined (logged and dropped).
 */
export function refusedAnswer(v: unknown, problem: string): JsonRpcError | undefined {
  if (!isPlainObject(v) || 'method' in v || !isId(v.id)) return undefined;
  // Only an answer whose one fault is its depth: other malformed lines stay garbage (logged and dropped), so that a
  // stray line carrying a pending id never ends that call.
  const e = v.error;
  const wellFormed =
    'result' in v
      ? isPlainObject(v.result)
      : isPlainObject(e) && typeof e.code === 'number' && typeof e.message === 'string';
  if (!wellFormed) return undefined;
  return errorResponse(
    v.id,
    INTERNAL_ERROR,
    `The upstream's answer cannot be passed on (${problem}); the upstream may have run the request`,
  );
}

/** The id of a parsed value when it has a usable one, for error replies to invalid messages. */
export function idOf(v: unknown): RequestId | null {
  return isPlainObject(v) && isId(v.id) ? v.id : null;
}

export function errorResponse(
  id: RequestId | null,
  code: number,
  message: string,
  data?: unknown,
): JsonRpcError {
  const error: JsonRpcErrorObject = data === undefined ? { code, message } : { code, message, data };
  return { jsonrpc: '2.0', id, error };
}
