// The legacy HTTP+SSE upstream transport (spec 2024-11-05), the SDK's, behind warden's MessageTransport.
import { HttpStatusError } from './http-client.js';
import type { JsonRpcMessage } from './jsonrpc.js';
import type { MessageTransport } from './types.js';

/**
 * The legacy HTTP+SSE transport (spec 2024-11-05) is the SDK's. It is loaded when a server that uses it starts: with
 * zod and the SDK's client it costs a gateway that has no such server several MB.
 */
class LegacySseClient implements MessageTransport {
  onmessage?: (message: JsonRpcMessage) => void;
  onclose?: (error?: Error) => void;
  onerror?: (error: Error) => void;
  private inner: MessageTransport | undefined;
  private closed = false;

  constructor(
    private readonly url: string,
    private readonly headers: Record<string, string>,
  ) {}

  async start(): Promise<void> {
    const { SSEClientTransport } = await import('@modelcontextprotocol/sdk/client/sse.js');
    if (this.closed) throw new Error('the upstream transport is closed');
    const headers = this.headers;
    const inner = new SSEClientTransport(new URL(this.url), {
      requestInit: { headers },
      eventSourceInit: {
        fetch: (input, init) => {
          const merged = new Headers(init?.headers);
          for (const [k, v] of Object.entries(headers)) merged.set(k, v);
          return fetch(input, { ...init, headers: merged });
        },
      },
    }) as unknown as MessageTransport;
    inner.onmessage = (m) => this.onmessage?.(m);
    inner.onerror = (e) => this.onerror?.(e);
    inner.onclose = (e) => this.onclose?.(e);
    this.inner = inner;
    await inner.start();
  }

  send(message: JsonRpcMessage): Promise<void> {
    if (this.inner === undefined) return Promise.reject(new Error('the upstream transport is not started'));
    return this.inner.send(message).catch((err: Error) => {
      // The SDK quotes the server's error body in its message ("Error POSTing to endpoint (HTTP 401): ...").
      const status = /\(HTTP (\d{3})\)/.exec(err.message);
      if (status === null) throw err;
      throw new HttpStatusError(Number(status[1]), `HTTP ${status[1]} from the upstream`, err.message);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.inner === undefined) this.onclose?.();
    else await this.inner.close();
  }

  setProtocolVersion(version: string): void {
    this.inner?.setProtocolVersion?.(version);
  }

  /**
   * No channel a kept tool list can rely on: the SDK's EventSource reconnects on its own, and what the server sent
   * while it was away is lost without a trace. Tool lists of legacy SSE upstreams are asked for every time.
   */
  channel(): number | undefined {
    return undefined;
  }
}

export function createSseClientTransport(url: string, headers: Record<string, string>): MessageTransport {
  return new LegacySseClient(url, headers);
}
