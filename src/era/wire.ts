// The 2026-07-28 wire facing agents (SPEC §12): which era a request belongs to, its header cross-checks, and the
// result metadata (resultType, ttlMs, cacheScope) every answer to a 2026 client carries.
import {
  INVALID_PARAMS,
  type JsonRpcMessage,
  type JsonRpcRequest,
  METHOD_NOT_FOUND,
} from '../transport/jsonrpc.js';
import { ERA_2025, ERA_2026, type Era } from './versions.js';

export const PROTOCOL_VERSION_META = 'io.modelcontextprotocol/protocolVersion';
export const CLIENT_CAPABILITIES_META = 'io.modelcontextprotocol/clientCapabilities';
export const CLIENT_INFO_META = 'io.modelcontextprotocol/clientInfo';
export const SERVER_INFO_META = 'io.modelcontextprotocol/serverInfo';
export const SUBSCRIPTION_ID_META = 'io.modelcontextprotocol/subscriptionId';

/** Stateless revisions warden answers (the -32022 answer lists them). */
export const SUPPORTED_2026_VERSIONS: readonly string[] = [ERA_2026];

export const HEADER_MISMATCH = -32020;
export const MISSING_CLIENT_CAPABILITY = -32021;
export const UNSUPPORTED_PROTOCOL_VERSION = -32022;

/** Methods of the 2025 era that 2026-07-28 removed: a 2026 request for one is not found (HTTP 404, -32601). */
export const REMOVED_IN_2026: ReadonlySet<string> = new Set([
  'initialize',
  'ping',
  'logging/setLevel',
  'resources/subscribe',
  'resources/unsubscribe',
]);

/** The HTTP status of a 2026 answer that is an error the transport spec gives a status of its own, else 200. */
export function modernErrorStatus(message: JsonRpcMessage): number {
  if (!('error' in message) || message.error === undefined) return 200;
  const code = message.error.code;
  if (code === METHOD_NOT_FOUND) return 404;
  if (code === HEADER_MISMATCH || code === MISSING_CLIENT_CAPABILITY || code === UNSUPPORTED_PROTOCOL_VERSION)
    return 400;
  return 200;
}

/** Methods whose `Mcp-Name` header mirrors a body field, and the field (both directions: agent and upstream). */
export const NAME_SOURCE: Readonly<Record<string, string>> = {
  'tools/call': 'name',
  'prompts/get': 'name',
  'resources/read': 'uri',
  'tasks/get': 'taskId',
  'tasks/update': 'taskId',
  'tasks/cancel': 'taskId',
};

/** Results that are cacheable in 2026 (ttlMs and cacheScope required on the wire). */
export const CACHEABLE_METHODS: ReadonlySet<string> = new Set([
  'tools/list',
  'prompts/list',
  'resources/list',
  'resources/templates/list',
  'resources/read',
]);

function metaOf(message: JsonRpcMessage): Record<string, unknown> | undefined {
  const params = (message as { params?: unknown }).params;
  if (typeof params !== 'object' || params === null || Array.isArray(params)) return undefined;
  const meta = (params as { _meta?: unknown })._meta;
  return typeof meta === 'object' && meta !== null && !Array.isArray(meta)
    ? (meta as Record<string, unknown>)
    : undefined;
}

/** The protocol version a request names in its own `_meta` (the 2026 envelope), if any. */
export function envelopeVersion(message: JsonRpcMessage): string | undefined {
  const v = metaOf(message)?.[PROTOCOL_VERSION_META];
  return typeof v === 'string' ? v : undefined;
}

/** The era of one message: 2026 when it carries the per-request envelope, else 2025. */
export function eraOfMessage(message: JsonRpcMessage): Era {
  return envelopeVersion(message) === undefined ? ERA_2025 : ERA_2026;
}

/** The client capabilities a 2026 request declares in its envelope. */
export function envelopeCapabilities(message: JsonRpcMessage): Record<string, unknown> | undefined {
  const c = metaOf(message)?.[CLIENT_CAPABILITIES_META];
  return typeof c === 'object' && c !== null && !Array.isArray(c)
    ? (c as Record<string, unknown>)
    : undefined;
}

/**
 * Params without the agent's 2026 envelope (protocol version, client capabilities, client info). The envelope speaks
 * for the agent to warden only: a 2025 upstream must not take the request for a 2026 one (nor learn the agent's
 * self-description), and a 2026 upstream gets warden's own envelope from its link.
 */
export function withoutEnvelope(
  params: Record<string, unknown> | undefined,
): Record<string, unknown> | undefined {
  const meta = params?._meta;
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) return params;
  const m = meta as Record<string, unknown>;
  if (
    m[PROTOCOL_VERSION_META] === undefined &&
    m[CLIENT_CAPABILITIES_META] === undefined &&
    m[CLIENT_INFO_META] === undefined
  )
    return params;
  // Plain loops: rest destructuring with computed keys takes V8's slow path, and this runs on every 2026 request.
  let rest: Record<string, unknown> | undefined;
  for (const key of Object.keys(m)) {
    if (key === PROTOCOL_VERSION_META || key === CLIENT_CAPABILITIES_META || key === CLIENT_INFO_META)
      continue;
    rest ??= {};
    put(rest, key, m[key]);
  }
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(params as Record<string, unknown>))
    if (key !== '_meta') put(out, key, (params as Record<string, unknown>)[key]);
  if (rest !== undefined) out._meta = rest;
  return out;
}

/** An own property, as a spread makes it: a JSON `__proto__` key stays data and never sets the prototype. */
function put(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__')
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

/**
 * Does an HTTP POST belong to the 2026 path? Any message with the envelope, or the 2026 version header on a request
 * that names no session (a 2025 client always names its session after initialize). The body decides first: a header
 * alone is not enough to leave a session-holding client's path.
 */
export function isModernPost(
  messages: readonly JsonRpcMessage[],
  headers: Record<string, string | string[] | undefined>,
): boolean {
  if (messages.some((m) => envelopeVersion(m) !== undefined)) return true;
  const version = headers['mcp-protocol-version'];
  return (
    headers['mcp-session-id'] === undefined &&
    typeof version === 'string' &&
    version !== ERA_2025 &&
    version >= ERA_2026 &&
    !messages.some((m) => 'method' in m && m.method === 'initialize')
  );
}

/** Decodes an `Mcp-*` header value: plain ASCII as is, `=?base64?...?=` as UTF-8; undefined when malformed. */
export function decodeHeaderValue(raw: string): string | undefined {
  if (raw.startsWith('=?base64?') && raw.endsWith('?=') && raw.length >= 11) {
    const b64 = raw.slice(9, -2);
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 !== 0) return undefined;
    const bytes = Buffer.from(b64, 'base64');
    // Canonical only: unused low bits set would let two spellings decode to one value.
    if (bytes.toString('base64') !== b64) return undefined;
    const text = new TextDecoder('utf-8', { fatal: true });
    try {
      return text.decode(bytes);
    } catch {
      return undefined;
    }
  }
  return raw;
}

export interface HeaderProblem {
  code: number;
  message: string;
  data?: Record<string, unknown>;
}

function single(value: string | string[] | undefined): string | undefined | null {
  if (Array.isArray(value)) return value.length === 1 ? value[0] : null;
  return value;
}

/**
 * Cross-checks a 2026 request's headers against its body (the body is what runs, so a header that says something
 * else would let a proxy or a filter in front of warden see another call than the one warden decides on).
 * Checks MCP-Protocol-Version (supported, and equal to the envelope), Mcp-Method and Mcp-Name.
 */
export function checkModernHeaders(
  request: JsonRpcRequest,
  headers: Record<string, string | string[] | undefined>,
): HeaderProblem | undefined {
  const bodyVersion = envelopeVersion(request);
  const headerVersion = single(headers['mcp-protocol-version']);
  // Two different versions are a mismatch before either is judged (the conformance suite's HeaderMismatch case).
  if (bodyVersion !== undefined && typeof headerVersion === 'string' && headerVersion !== bodyVersion)
    return mismatch('MCP-Protocol-Version', 'the protocol version in _meta');
  const requested = bodyVersion ?? (typeof headerVersion === 'string' ? headerVersion : undefined);
  if (requested === undefined || !SUPPORTED_2026_VERSIONS.includes(requested)) {
    return {
      code: UNSUPPORTED_PROTOCOL_VERSION,
      message: `Unsupported protocol version: ${String(requested)} (supported versions: ${SUPPORTED_2026_VERSIONS.join(', ')})`,
      data: { supported: [...SUPPORTED_2026_VERSIONS], requested: String(requested) },
    };
  }
  if (bodyVersion === undefined) {
    return {
      code: INVALID_PARAMS,
      message: `Invalid params: a ${requested} request carries its protocol version in params._meta["${PROTOCOL_VERSION_META}"]`,
    };
  }
  if (headerVersion === null || (headerVersion !== undefined && headerVersion !== requested)) {
    return mismatch('MCP-Protocol-Version', 'the protocol version in _meta');
  }
  if (headerVersion === undefined) return missing('MCP-Protocol-Version');
  const capabilities = metaOf(request)?.[CLIENT_CAPABILITIES_META];
  if (typeof capabilities !== 'object' || capabilities === null || Array.isArray(capabilities)) {
    return {
      code: INVALID_PARAMS,
      message: `Invalid params: a ${requested} request carries the client's capabilities in params._meta["${CLIENT_CAPABILITIES_META}"]`,
    };
  }
  const method = single(headers['mcp-method']);
  if (method === undefined) return missing('Mcp-Method');
  if (method === null || decodeHeaderValue(method) !== request.method)
    return mismatch('Mcp-Method', 'method');
  const field = Object.hasOwn(NAME_SOURCE, request.method) ? NAME_SOURCE[request.method] : undefined;
  const name = single(headers['mcp-name']);
  if (field !== undefined) {
    const value = (request.params as Record<string, unknown> | undefined)?.[field];
    if (typeof value === 'string') {
      if (name === undefined) return missing('Mcp-Name');
      if (name === null || decodeHeaderValue(name) !== value) return mismatch('Mcp-Name', `params.${field}`);
    } else if (name !== undefined) return mismatch('Mcp-Name', `params.${field}`);
  } else if (name !== undefined) {
    return mismatch('Mcp-Name', 'a method that names nothing');
  }
  return undefined;
}

export function missing(header: string): HeaderProblem {
  return {
    code: HEADER_MISMATCH,
    message: `Header mismatch: ${header} header is required`,
    data: { header },
  };
}

export function mismatch(header: string, field: string): HeaderProblem {
  return {
    code: HEADER_MISMATCH,
    message: `Header mismatch: ${header} does not match ${field} in the body`,
    data: { header },
  };
}

export interface CachePolicy {
  /** Per-server endpoints pass the upstream's values through; /mcp computes its own. */
  aggregated: boolean;
  /** The list was shaped for this caller (a grant's servers, hide rules): never `public`. */
  shaped: boolean;
}

/**
 * A result as a 2026 client receives it: `resultType` always; on cacheable results `ttlMs` and `cacheScope`.
 * Per-server: the upstream's own values pass through (a 2025 upstream has none: 0 and `private`, nothing promised).
 * Aggregated: warden's own: not cached (0), `private` when shaped for the caller or any upstream said private.
 */
export function modernResult(
  method: string,
  result: Record<string, unknown>,
  cache: CachePolicy,
): Record<string, unknown> {
  // A copy by a loop: a spread of a parsed object followed by a new key (resultType) takes V8's slow path, about
  // 1 us on every 2026 answer.
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(result)) put(out, key, result[key]);
  if (typeof out.resultType !== 'string') out.resultType = 'complete';
  if (CACHEABLE_METHODS.has(method) && out.resultType === 'complete') {
    const ttl = out.ttlMs;
    const validTtl = typeof ttl === 'number' && Number.isSafeInteger(ttl) && ttl >= 0;
    const scope = out.cacheScope === 'public' ? 'public' : 'private';
    if (cache.aggregated) {
      out.ttlMs = 0;
      out.cacheScope = cache.shaped ? 'private' : scope;
    } else {
      out.ttlMs = validTtl ? ttl : 0;
      out.cacheScope = cache.shaped ? 'private' : scope;
    }
  }
  return out;
}

/** The 2026 `server/discover` answer made from an initialize result (the upstream's own, or /mcp's union). */
export function discoverResult(init: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {
    resultType: 'complete',
    supportedVersions: [...SUPPORTED_2026_VERSIONS],
    capabilities: { ...((init.capabilities as Record<string, unknown> | undefined) ?? {}) },
    ttlMs: 0,
    cacheScope: 'private',
    _meta: { [SERVER_INFO_META]: init.serverInfo },
  };
  if (typeof init.instructions === 'string') out.instructions = init.instructions;
  return out;
}
