// Agent-facing stdio: newline-delimited JSON-RPC on stdin/stdout; stdout carries protocol messages and nothing else.
import type { Readable, Writable } from 'node:stream';
import {
  checkMessage,
  errorResponse,
  INTERNAL_ERROR,
  INVALID_REQUEST,
  idOf,
  isResponse,
  type JsonRpcMessage,
  PARSE_ERROR,
} from './jsonrpc.js';
import type { DownstreamPort, SessionSink } from './types.js';

export class StdioDownstream implements DownstreamPort {
  sink: SessionSink | undefined;
  private buffer = '';
  /** Set while the rest of an over-long line is skipped, up to its newline. */
  private skipping = false;
  private closed = false;

  constructor(
    private readonly input: Readable,
    private readonly output: Writable,
    private readonly onEnd: () => void,
    /**
     * The longest line taken as a message (the HTTP endpoint's body limit). A longer one is answered with an error and
     * skipped: a line that never ends would otherwise grow the buffer until the string length limit ends the process.
     */
    private readonly maxLineChars = 4 * 1024 * 1024,
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
      if (this.skipping) this.skipping = false;
      else this.onLine(text.slice(0, nl));
      text = text.slice(nl + 1);
      nl = text.indexOf('\n');
    }
    if (this.skipping) text = '';
    else if (text.length > this.maxLineChars) {
      this.skipping = true;
      text = '';
      this.send(
        errorResponse(
          null,
          INVALID_REQUEST,
          `Invalid Request: message exceeds ${this.maxLineChars} characters`,
        ),
      );
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
    let line: string;
    try {
      line = JSON.stringify(message);
    } catch {
      // Every input is bounded, so this is a fault of the gateway's own: it ends the request, not the process (#17.1).
      if (!isResponse(message)) return;
      line = JSON.stringify(
        errorResponse(
          message.id,
          INTERNAL_ERROR,
          'Internal error in mcp-warden: the answer could not be serialised',
        ),
      );
    }
    this.output.write(`${line}\n`);
  }

  close(): void {
    this.closed = true;
  }
}
