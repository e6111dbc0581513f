// A minimal Streamable HTTP client (fetch + JSON.parse, no SDK validation), for many sessions and big tools/list.
import { performance } from 'node:perf_hooks';

const PROTOCOL_VERSION = '2025-06-18';
const TIMEOUT_MS = 30_000;

/** The JSON-RPC answer of a POST, from an application/json body or the first `data:` line of an SSE stream. */
function parseAnswer(contentType: string, text: string): Record<string, unknown> {
  if (contentType.includes('text/event-stream')) {
    for (const line of text.split('\n')) {
      if (line.startsWith('data:')) return JSON.parse(line.slice(5)) as Record<string, unknown>;
    }
    throw new Error('SSE answer without data');
  }
  return JSON.parse(text) as Record<string, unknown>;
}

/** One MCP session over raw HTTP: `initialize` + `notifications/initialized` on open, requests, DELETE on close. */
export class RawSession {
  private nextId = 1;

  private constructor(
    readonly url: string,
    readonly sessionId: string,
    private readonly headers: Record<string, string>,
  ) {}

  /** Opens a session; resolves once `notifications/initialized` is accepted. */
  static async open(url: string, headers: Record<string, string> = {}): Promise<RawSession> {
    const base = {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...headers,
    };
    const res = await fetch(url, {
      method: 'POST',
      headers: base,
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 0,
        method: 'initialize',
        params: {
          protocolVersion: PROTOCOL_VERSION,
          capabilities: {},
          clientInfo: { name: 'mcp-warden-bench', version: '1.0.0' },
        },
      }),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    const text = await res.text();
    const sessionId = res.headers.get('mcp-session-id');
    if (!res.ok || sessionId === null)
      throw new Error(`initialize: HTTP ${res.status} ${text.slice(0, 200)}`);
    const answer = parseAnswer(res.headers.get('content-type') ?? '', text);
    if ('error' in answer) throw new Error(`initialize: ${JSON.stringify(answer.error)}`);
    const session = new RawSession(url, sessionId, {
      ...base,
      'mcp-session-id': sessionId,
      'mcp-protocol-version': PROTOCOL_VERSION,
    });
    const note = await fetch(url, {
      method: 'POST',
      headers: session.headers,
      body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    await note.text();
    if (note.status !== 202 && !note.ok) throw new Error(`notifications/initialized: HTTP ${note.status}`);
    return session;
  }

  /** One request; resolves with its `result`, throws on an error answer. */
  async request(method: string, params: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    const id = this.nextId++;
    const res = await fetch(this.url, {
      method: 'POST',
      headers: this.headers,
      body: JSON.stringify({ jsonrpc: '2.0', id, method, params }),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method}: HTTP ${res.status} ${text.slice(0, 200)}`);
    const answer = parseAnswer(res.headers.get('content-type') ?? '', text);
    if ('error' in answer) throw new Error(`${method}: ${JSON.stringify(answer.error).slice(0, 200)}`);
    return answer.result as Record<string, unknown>;
  }

  /** `tools/list`; returns the number of tools. */
  async listTools(): Promise<number> {
    const result = await this.request('tools/list');
    const tools = result.tools;
    if (!Array.isArray(tools)) throw new Error('tools/list: no tools array');
    return tools.length;
  }

  async close(): Promise<void> {
    try {
      const res = await fetch(this.url, {
        method: 'DELETE',
        headers: this.headers,
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
      await res.text();
    } catch {
      // The target may be gone already.
    }
  }
}

/** Session set-up as an agent does it: initialize, notifications/initialized, first tools/list (ms, tools). */
export async function rawSetup(
  url: string,
  headers?: Record<string, string>,
): Promise<{ ms: number; tools: number; session: RawSession }> {
  const t0 = performance.now();
  const session = await RawSession.open(url, headers);
  const tools = await session.listTools();
  return { ms: performance.now() - t0, tools, session };
}
