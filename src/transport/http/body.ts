// Agent-facing HTTP: reading a POST body (size limit, JSON, JSON-RPC shape), for both eras.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { checkMessage, INVALID_REQUEST, idOf, type JsonRpcMessage, PARSE_ERROR } from '../jsonrpc.js';
import { MAX_BATCH, SERVER_ERROR, writeJsonError } from './wire.js';

/** Reads and parses a JSON body within the size limit; answers the error itself and returns undefined on failure. */
export async function readJson(
  req: IncomingMessage,
  res: ServerResponse,
  max: number,
): Promise<{ value: unknown } | undefined> {
  const type = req.headers['content-type'];
  if (type === undefined || !type.toLowerCase().includes('application/json')) {
    writeJsonError(res, 415, SERVER_ERROR, 'Unsupported Media Type: Content-Type must be application/json');
    return undefined;
  }
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > max) {
    // A modestly oversized body is read and discarded so the client sees the 413; a huge one costs a connection.
    if (declared > 16 * max) res.setHeader('connection', 'close');
    writeJsonError(res, 413, SERVER_ERROR, `Payload Too Large: body exceeds ${max} bytes`);
    if (declared > 16 * max) req.destroy();
    else req.resume();
    return undefined;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > max) {
        res.setHeader('connection', 'close');
        writeJsonError(res, 413, SERVER_ERROR, `Payload Too Large: body exceeds ${max} bytes`);
        req.destroy();
        return undefined;
      }
      chunks.push(chunk as Buffer);
    }
  } catch {
    return undefined; // the client went away mid-body
  }
  const text = chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8');
  try {
    return { value: JSON.parse(text) };
  } catch {
    writeJsonError(res, 400, PARSE_ERROR, 'Parse error: Invalid JSON');
    return undefined;
  }
}

/** Checks every message of a body; answers the error itself and returns undefined when one is invalid. */
export function messagesOf(
  value: unknown,
  res: ServerResponse,
): { messages: JsonRpcMessage[]; batch: boolean } | undefined {
  const batch = Array.isArray(value);
  const list: unknown[] = batch ? (value as unknown[]) : [value];
  if (list.length === 0 || list.length > MAX_BATCH) {
    writeJsonError(res, 400, INVALID_REQUEST, `Invalid Request: a batch holds 1 to ${MAX_BATCH} messages`);
    return undefined;
  }
  for (const m of list) {
    const problem = checkMessage(m);
    if (problem !== undefined) {
      writeJsonError(res, 400, INVALID_REQUEST, `Invalid Request: ${problem}`, idOf(m));
      return undefined;
    }
  }
  return { messages: list as JsonRpcMessage[], batch };
}
