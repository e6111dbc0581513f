// Agent-facing HTTP, the wire: constants, error answers, event-stream writing, and small request helpers shared by
// both eras' paths.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Identity } from '../../identity/authenticate.js';
import {
  errorResponse,
  INTERNAL_ERROR,
  isNotification,
  isResponse,
  type JsonRpcMessage,
  type RequestId,
} from '../jsonrpc.js';

/** Protocol versions an agent may name in MCP-Protocol-Version. */
export const SUPPORTED_PROTOCOL_VERSIONS = [
  '2025-11-25',
  '2025-06-18',
  '2025-03-26',
  '2024-11-05',
  '2024-10-07',
];
export const MAX_QUEUED = 1000;
/**
 * Bytes written to an agent's event stream and not yet taken by the agent, past which notifications to that stream
 * are dropped (answers and requests never are): a client that reads slowly or not at all must not make the gateway
 * buffer an upstream's notification flood without bound (found by test/faults/notification-flood.test.ts).
 */
export const MAX_UNREAD_BYTES = 4 * 1024 * 1024;
export const MAX_BATCH = 100;
/** SDK error code for "session not found". */
export const SESSION_NOT_FOUND = -32001;
export const SERVER_ERROR = -32000;

/** A grant's id, or '' for anonymous: what a session is bound to. */
export function ownerOf(identity: Identity): string {
  return identity.grant?.id ?? '';
}

/** May this identity use this endpoint? A server the grant does not hold is as absent as one never configured. */
export function holds(identity: Identity, endpoint: string | undefined): boolean {
  const servers = identity.grant?.servers;
  return endpoint === undefined || servers === undefined || servers.has(endpoint);
}

export function writeJsonError(
  res: ServerResponse,
  status: number,
  code: number,
  message: string,
  id: RequestId | null = null,
) {
  if (res.headersSent) {
    res.end();
    return;
  }
  const body = JSON.stringify(errorResponse(id, code, message));
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/**
 * A message as it can go to the agent. Every input is bounded (depth, size), so a message that cannot be serialised is
 * a fault of the gateway's own: it must end its request, never the process (#17.1). An answer becomes an internal
 * error for its request; anything else is dropped. Only called once serialising has failed.
 */
export function serialisable(message: JsonRpcMessage, log: Logger): JsonRpcMessage | undefined {
  try {
    JSON.stringify(message);
    return message;
  } catch (err) {
    log.error(
      { err: (err as Error).message, id: 'id' in message ? message.id : undefined },
      'a message to the agent could not be serialised',
    );
    return isResponse(message)
      ? errorResponse(
          message.id,
          INTERNAL_ERROR,
          'Internal error in mcp-warden: the answer could not be serialised',
        )
      : undefined;
  }
}

/** One event of an agent's event stream; '' for a message that could not be serialised and is dropped. */
export function sseEvent(message: JsonRpcMessage, log: Logger): string {
  let data: string;
  try {
    data = JSON.stringify(message);
  } catch {
    const safe = serialisable(message, log);
    if (safe === undefined) return '';
    data = JSON.stringify(safe);
  }
  return `event: message\ndata: ${data}\n\n`;
}

/**
 * How long a response may stay unread by its agent once the agent's session has closed. Past it the connection is
 * destroyed: an agent that never reads would otherwise hold the connection and its unsent bytes for good (found by
 * test/faults/slow-client.test.ts).
 */
export const UNREAD_AFTER_CLOSE_MS = 5000;

/** Streams whose slow reader was already reported (one warning per stream). */
const slowReaders = new WeakSet<ServerResponse>();

/** Writes an event to an agent's stream, unless it is a notification and the agent has too much unread already. */
export function writeEvent(res: ServerResponse, message: JsonRpcMessage, log: Logger): void {
  if (res.writableLength > MAX_UNREAD_BYTES && isNotification(message)) {
    if (!slowReaders.has(res)) {
      slowReaders.add(res);
      log.warn(
        { unreadBytes: res.writableLength, method: message.method },
        'agent is not reading its event stream: notifications to it are dropped until it catches up',
      );
    }
    return;
  }
  res.write(sseEvent(message, log));
}

export function accepts(req: IncomingMessage, type: string): boolean {
  const accept = req.headers.accept;
  if (accept === undefined) return false;
  return accept.includes(type) || accept.includes('*/*');
}

/** Destroys an ended response whose agent has not taken it within UNREAD_AFTER_CLOSE_MS. */
export function destroyUnlessRead(res: ServerResponse): void {
  if (res.writableFinished || res.destroyed) return;
  const timer = setTimeout(() => res.destroy(), UNREAD_AFTER_CLOSE_MS);
  timer.unref();
  res.once('finish', () => clearTimeout(timer));
  res.once('close', () => clearTimeout(timer));
}

/** A %-encoded path segment, or undefined when its escapes are malformed. */
export function decodeSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/** `example.com:7420` -> `example.com`, `[::1]:7420` -> `[::1]`. */
export function hostName(host: string): string {
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    return end === -1 ? host.toLowerCase() : host.slice(0, end + 1).toLowerCase();
  }
  const colon = host.indexOf(':');
  return (colon === -1 ? host : host.slice(0, colon)).toLowerCase();
}
