// Upstream Streamable HTTP and legacy SSE transports: the SDK's clients, with the configured headers and no others.
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { MessageTransport } from './types.js';

/**
 * Only the headers from the config reach the upstream: the agent's own headers (its Authorization, cookies) are
 * never copied, because these transports are created by the gateway, not from the agent's request.
 */
export function createHttpClientTransport(url: string, headers: Record<string, string>): MessageTransport {
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers },
  });
  // The spec's DELETE: without it the upstream holds the session (and whatever it keeps for it) until it expires it.
  return Object.assign(transport, {
    terminate: () => transport.terminateSession(),
  }) as unknown as MessageTransport;
}

export function createSseClientTransport(url: string, headers: Record<string, string>): MessageTransport {
  return new SSEClientTransport(new URL(url), {
    requestInit: { headers },
    eventSourceInit: {
      fetch: (input, init) => {
        const merged = new Headers(init?.headers);
        for (const [k, v] of Object.entries(headers)) merged.set(k, v);
        return fetch(input, { ...init, headers: merged });
      },
    },
  }) as unknown as MessageTransport;
}
