// The bridge of a 2026 client in front of a 2025 upstream (#18 part 3b): the upstream's elicitation during a call
// reaches the SDK v2 client pinned to 2026 as an InputRequiredResult; its retry answers the upstream, and the call's
// result answers the retry.
import { join } from 'node:path';
import { Client as ClientV2, StreamableHTTPClientTransport as HttpV2 } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, type RunningGateway, startGateway, textOf } from '../helpers/gateway.js';

const CONFORMANCE = join(ROOT, 'test/fixtures/conformance-server.ts');
let gw: RunningGateway;

beforeAll(async () => {
  gw = await startGateway(`
mcpServers:
  legacy:
    command: node
    args: ["--import", "tsx", "${CONFORMANCE}", "--stdio"]
    cwd: ${ROOT}
`);
}, 60_000);
afterAll(async () => {
  await gw?.close();
});

async function modern(elicitation: boolean, answers: unknown[]): Promise<ClientV2> {
  const client = new ClientV2(
    { name: 'bridge-test', version: '1.0.0' },
    {
      capabilities: elicitation ? { elicitation: { form: {} } } : {},
      versionNegotiation: { mode: { pin: '2026-07-28' } },
    },
  );
  if (elicitation)
    client.setRequestHandler('elicitation/create', async (request) => {
      answers.push(request.params);
      return { action: 'accept', content: { username: 'ada', email: 'ada@example.com' } };
    });
  await client.connect(new HttpV2(new URL(`${gw.mcpUrl}/legacy`)));
  return client;
}

describe('#18.3b bridge: 2026 client, 2025 upstream', () => {
  it("#18.3b.1 the upstream's elicitation becomes an input round trip and the call completes", async () => {
    const asked: unknown[] = [];
    const client = await modern(true, asked);
    const result = await client.callTool({
      name: 'test_elicitation',
      arguments: { message: 'Who are you?' },
    });
    expect(asked).toHaveLength(1);
    expect((asked[0] as { message: string }).message).toBe('Who are you?');
    expect(textOf(result)).toBe(
      'User response: action=accept, content={"username":"ada","email":"ada@example.com"}',
    );
    await client.close();
  });

  it('#18.3b.2 a request that did not declare elicitation is not asked; the upstream hears it cannot be served', async () => {
    const client = await modern(false, []);
    // The upstream's elicitation fails at once; this upstream passes that failure on as the call's error.
    await expect(
      client.callTool({ name: 'test_elicitation', arguments: { message: 'Who?' } }),
    ).rejects.toThrow(/takes no requests from servers/);
    await client.close();
  });

  it('#18.3b.3 a bridge state that names nothing waiting is refused', async () => {
    const res = await fetch(`${gw.mcpUrl}/legacy`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': '2026-07-28',
        'mcp-method': 'tools/call',
        'mcp-name': 'test_elicitation',
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'tools/call',
        params: {
          name: 'test_elicitation',
          arguments: { message: 'x' },
          requestState: 'mcpwb1.bm90aGluZy13YWl0aW5n',
          inputResponses: { 'mcp-warden/upstream': { action: 'accept', content: {} } },
          _meta: {
            'io.modelcontextprotocol/protocolVersion': '2026-07-28',
            'io.modelcontextprotocol/clientCapabilities': { elicitation: {} },
            'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' },
          },
        },
      }),
    });
    const text = await res.text();
    expect(text).toContain('names no upstream request waiting here');
  });
});
