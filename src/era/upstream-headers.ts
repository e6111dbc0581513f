// The HTTP headers of a 2026-07-28 request, derived from the body warden actually sends upstream (never copied from
// what the agent sent): MCP-Protocol-Version, Mcp-Method, Mcp-Name and the Mcp-Param-* headers of a tool's
// `x-mcp-header` properties. Values that are not plain visible ASCII travel in the Base64 sentinel form. And the
// other way: an agent's own Mcp-Param-* headers checked against its arguments (checkParamHeaders).

import { ERA_2026 } from './versions.js';
import {
  decodeHeaderValue,
  HEADER_MISMATCH,
  type HeaderProblem,
  mismatch,
  missing,
  NAME_SOURCE,
} from './wire.js';

/** The `_meta` keys of the 2026 request envelope. */
export const META_PROTOCOL_VERSION = 'io.modelcontextprotocol/protocolVersion';
export const META_CLIENT_CAPABILITIES = 'io.modelcontextprotocol/clientCapabilities';
export const META_CLIENT_INFO = 'io.modelcontextprotocol/clientInfo';
export const META_SERVER_INFO = 'io.modelcontextprotocol/serverInfo';
export const META_SUBSCRIPTION_ID = 'io.modelcontextprotocol/subscriptionId';

const SENTINEL_START = '=?base64?';
const SENTINEL_END = '?=';
/** RFC 9110 token: what a header name (and an `x-mcp-header` value) may be. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Most Mcp-Param headers one request carries; a tool that declares more is refused the rest. */
const MAX_PARAM_HEADERS = 32;

/**
 * A header value as it may travel: visible ASCII (and tab) without surrounding whitespace passes as is; anything else
 * (CR, LF, NUL, non-ASCII, empty, leading or trailing space, or text that already looks like the sentinel) is sent as
 * `=?base64?<UTF-8 in Base64>?=`. A value so encoded can never split a header or smuggle a second one.
 */
export function headerValue(text: string): string {
  if (plainValue(text)) return text;
  return `${SENTINEL_START}${Buffer.from(text, 'utf8').toString('base64')}${SENTINEL_END}`;
}

function plainValue(text: string): boolean {
  if (text === '' || text !== text.trim()) return false;
  if (text.startsWith(SENTINEL_START) && text.endsWith(SENTINEL_END)) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c !== 9 && (c < 0x20 || c > 0x7e)) return false;
  }
  return true;
}

/** One `x-mcp-header` declaration of a tool: the header's name and where its value sits in the arguments. */
export interface ParamHeader {
  name: string;
  path: readonly string[];
  /** The property's JSON Schema type: `integer` values compare as numbers, the rest as text. */
  type: string;
}

const PERMITTED_TYPES = new Set(['string', 'integer', 'boolean']);

/**
 * The `x-mcp-header` declarations of a tool's input schema, following `properties` chains only (the only place the
 * spec allows them). A declaration with a name that is no RFC 9110 token, or on a property that is not a string,
 * integer or boolean, or a name declared twice (case-insensitively), is skipped: warden never builds a header name
 * from text it has not checked.
 */
export function paramHeaders(inputSchema: unknown): ParamHeader[] {
  const out: ParamHeader[] = [];
  const seen = new Set<string>();
  const visit = (schema: unknown, path: string[], depth: number): void => {
    if (depth > 16 || out.length >= MAX_PARAM_HEADERS || !isObject(schema)) return;
    const props = schema.properties;
    if (!isObject(props)) return;
    for (const [key, sub] of Object.entries(props)) {
      if (!isObject(sub)) continue;
      const declared = sub['x-mcp-header'];
      if (typeof declared === 'string') {
        const type = sub.type;
        const lower = declared.toLowerCase();
        if (
          TOKEN.test(declared) &&
          typeof type === 'string' &&
          PERMITTED_TYPES.has(type) &&
          !seen.has(lower)
        ) {
          seen.add(lower);
          out.push({ name: declared, path: [...path, key], type });
        }
      }
      visit(sub, [...path, key], depth + 1);
    }
  };
  visit(inputSchema, [], 0);
  return out;
}

/**
 * The headers a 2026 request carries, computed from the message warden sends: MCP-Protocol-Version from its envelope
 * (the 2026 revision when it has none), Mcp-Method from its method, Mcp-Name from the field the method names, and for
 * a tools/call the Mcp-Param headers of the tool's declarations whose values are present in the arguments.
 */
export function requestHeaders(
  method: string,
  params: Record<string, unknown> | undefined,
  declarations: readonly ParamHeader[] = [],
): Record<string, string> {
  const meta = isObject(params?._meta) ? params._meta : undefined;
  const version = meta?.[META_PROTOCOL_VERSION];
  const headers: Record<string, string> = {
    'mcp-protocol-version': typeof version === 'string' && TOKEN.test(version) ? version : ERA_2026,
    'mcp-method': headerValue(method),
  };
  const field = Object.hasOwn(NAME_SOURCE, method) ? NAME_SOURCE[method] : undefined;
  const name = field === undefined ? undefined : params?.[field];
  if (typeof name === 'string') headers['mcp-name'] = headerValue(name);
  if (method === 'tools/call' && declarations.length > 0) {
    const args = params?.arguments;
    for (const d of declarations) {
      const value = primitiveText(valueAt(args, d.path));
      if (value !== undefined) headers[`mcp-param-${d.name.toLowerCase()}`] = headerValue(value);
    }
  }
  return headers;
}

/**
 * The `Mcp-Param-*` headers of an agent's 2026 HTTP request (names lower-case; null: sent more than once), put on the
 * request object by the HTTP layer for the pipeline, which knows the tool (src/pipeline/param-headers.ts). A symbol:
 * never serialised, so never forwarded. Absent on stdio, which has no headers.
 */
export const PARAM_HEADERS: unique symbol = Symbol('mcp-warden.paramHeaders');
export type ParamHeaderValues = Record<string, string | null>;

/** None sent: shared (the pipeline only reads it). */
const NO_PARAM_HEADERS: ParamHeaderValues = Object.freeze({});

export function paramHeaderValues(headers: Record<string, string | string[] | undefined>): ParamHeaderValues {
  let out: ParamHeaderValues | undefined;
  for (const name in headers) {
    if (!name.startsWith('mcp-param-')) continue;
    const value = headers[name];
    if (value === undefined) continue;
    out ??= {};
    out[name] = typeof value === 'string' ? value : null;
  }
  return out ?? NO_PARAM_HEADERS;
}

/**
 * SEP-2243 server validation of a tools/call's `Mcp-Param-*` headers against the tool's `x-mcp-header` declarations:
 * for every declared property the body carries (a primitive), the header must be there and decode (plain text, or
 * canonical Base64 of UTF-8 in the sentinel) to the same value; an integer property compares as a number. A value the
 * body leaves out needs no header (one sent is ignored).
 */
export function checkParamHeaders(
  declarations: readonly ParamHeader[],
  args: unknown,
  headers: ParamHeaderValues,
): HeaderProblem | undefined {
  for (const d of declarations) {
    const raw = valueAt(args, d.path);
    const body = primitiveText(raw);
    if (body === undefined) continue;
    const header = `Mcp-Param-${d.name}`;
    const key = header.toLowerCase();
    if (!Object.hasOwn(headers, key)) return missing(header);
    const sent = headers[key];
    const decoded = sent === null || sent === undefined ? undefined : decodeHeaderValue(sent);
    if (decoded === undefined)
      return {
        code: HEADER_MISMATCH,
        message: `Header mismatch: ${header} is not a valid header value (sent twice, or its Base64 is not canonical UTF-8)`,
        data: { header },
      };
    const same =
      d.type === 'integer' && typeof raw === 'number' && /^-?(0|[1-9][0-9]*)(\.0+)?$/.test(decoded)
        ? Number(decoded) === raw
        : decoded === body;
    if (!same) return mismatch(header, `arguments.${d.path.join('.')}`);
  }
  return undefined;
}

function valueAt(root: unknown, path: readonly string[]): unknown {
  let node = root;
  for (const key of path) {
    if (!isObject(node) || !Object.hasOwn(node, key)) return undefined;
    node = node[key];
  }
  return node;
}

/** A primitive argument as header text; undefined for anything else (no header is sent for it). */
function primitiveText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number' && Number.isFinite(value)) {
    if (Number.isInteger(value) && !Number.isSafeInteger(value)) return undefined;
    return String(value);
  }
  return undefined;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
