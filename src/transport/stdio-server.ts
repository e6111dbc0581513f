// Agent-facing stdio: newline-delimited JSON-RPC on stdin/stdout; stdout carries protocol messages and nothing else.
import type { Readable, Writable } from 'node:stream';
import {
  checkMessage,
  errorResponse,
  INVALID_REQUEST,
  idOf,
  type JsonRpcMessage,
  PARSE_ERROR,
} from './jsonrpc.js';
import type { DownstreamPort, SessionSink } from './types.js';

export class StdioDownstream implements DownstreamPort {
  sink: SessionSink | undefined;
  private buffer = '';
  private closed = false;

  constructor(
    private readonly input: Readable,
    private readonly output: Writable,
    private readonly onEnd: () => void,
  ) {}

  start(): void {
    this.input.setEncoding('utf8');
    this.input.on('data', (chunk: string) => this.onData(chunk));
    this.input.on('end', () => this.onEnd());
    this.input.on('error', () => this.onEnd());
    this.output.on('error', () => this.onEnd());
  }

  private onData(chunk: string): void {
    let text = this.buffer + chunk;
    let nl = text.indexOf('\n');
    while (nl !== -1) {
      this.onLine(text.slice(0, nl));
      text = text.slice(nl + 1);
      nl = text.indexOf('\n');
    }
    this.buffer = text;
  }

  private onLine(raw: string): void {
    const line = raw.trim();
    if (line === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      this.send(errorResponse(null, PARSE_ERROR, 'Parse error: Invalid JSON'));
      return;
    }
    const problem = checkMessage(value);
    if (problem !== undefined) {
      this.send(errorResponse(idOf(value), INVALID_REQUEST, `Invalid Request: ${problem}`));
      return;
    }
    this.sink?.handle(value as JsonRpcMessage);
  }

  send(message: JsonRpcMessage): void {
    if (this.closed) return;
    this.output.write(`${JSON.stringify(message)}\n`);
  }

  close(): void {
    this.closed = true;
  }
}
