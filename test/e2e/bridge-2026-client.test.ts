// The bridge of a 2026 client in front of a 2025 upstream (#18 part 3b): the upstream's elicitation during a call
// reaches the SDK v2 client pinned to 2026 as an InputRequiredResult; its retry answers the upstream, and the call's
// result answers the retry. Each retry is a request of its own: one audit record each, linked by `round`, no new
// decision.
import { join } from 'node:path';
import { Client as ClientV2, StreamableHTTPClientTransport as HttpV2 } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  adminRequest,
  post2026,
  ROOT,
  type RunningGateway,
  startGateway,
  textOf,
} from '../helpers/gateway.js';

const CONFORMANCE = join(ROOT, 'test/fixtures/conformance-server.ts');
const ISOLATION = join(ROOT, 'test/fixtures/isolation-server.ts');
const ADMIN = 'bridge-2026-admin-token';
process.env.WARDEN_ADMIN_TOKEN = ADMIN;
let gw: RunningGateway;
type Json = Record<string, unknown>;

beforeAll(async () => {
  gw = await startGateway(`
mcpServers:
  legacy:
    command: node
    args: ["--import", "tsx", "${CONFORMANCE}", "--stdio"]
    cwd: ${ROOT}
  iso:
    command: node
    args: ["--import", "tsx", "${ISOLATION}"]
    cwd: ${ROOT}
`);
}, 60_000);
afterAll(async () => {
  await gw?.close();
});

async function modern(elicitation: boolean, answers: unknown[], server = 'legacy'): Promise<ClientV2> {
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
      return {
        action: 'accept',
        content: { username: 'ada', email: 'ada@example.com', answer: `a${answers.length}` },
      };
    });
  await client.connect(new HttpV2(new URL(`${gw.mcpUrl}/${server}`)));
  return client;
}

/** The audit records of tools/call naming `tool` (records reach the store a few ms after the answer). */
async function callRecords(tool: string): Promise<Json[]> {
  await new Promise((r) => setTimeout(r, 200));
  const { body } = await adminRequest(gw, ADMIN, '/api/audit?limit=1000');
  return body.filter((r) => r.method === 'tools/call' && r.tool === tool);
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
      'User response: action=accept, content={"username":"ada","email":"ada@example.com","answer":"a1"}',
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

  it('#18.3b.4 a call of three rounds leaves one audit record per request, linked by round, and one decision', async () => {
    const asked: unknown[] = [];
    const client = await modern(true, asked, 'iso');
    const result = await client.callTool({ name: 'ask', arguments: { question: 'Q', times: 2 } });
    expect(asked).toHaveLength(2);
    expect(JSON.parse(textOf(result)).map((a: Json) => (a.content as Json).answer)).toEqual(['a1', 'a2']);
    await client.close();
    const records = await callRecords('ask');
    expect(records).toHaveLength(3);
    const n = (r: Json) => (r.round as Json).n as number;
    const byRound = records.sort((x, y) => n(x) - n(y));
    const of = (byRound[0]!.round as Json).of;
    expect(byRound.map((r) => r.round)).toEqual([
      { of, n: 1 },
      { of, n: 2 },
      { of, n: 3 },
    ]);
    // The link names the first request, whose record it is.
    expect(String(byRound[0]!.requestId)).toBe(of);
    for (const r of byRound)
      expect(r).toMatchObject({ decision: 'allowed', outcome: 'ok', era: '2026-07-28' });
    // The retries decide nothing of their own: the same rule as the first request, a reason that says what they answer.
    // (No policy here: the first request's record has no rule; its retries name `(no policy)`.)
    expect(byRound[0]!.rule).toBeNull();
    for (const r of byRound.slice(1)) expect(r.rule).toBe('(no policy)');
    expect(byRound[0]!.reason).toBeNull();
    expect(byRound[1]!.reason).toBe("answers the upstream's elicitation/create in round 2 of the call");
    expect(byRound[2]!.reason).toBe("answers the upstream's elicitation/create in round 3 of the call");
    expect(new Set(byRound.map((r) => r.requestId)).size).toBe(3);
  });

  it('#18.3b.5 a retry closed by the agent cancels the call; both records say cancelled, none is left open', async () => {
    const before = new Set((await callRecords('ask')).map((r) => r.requestId));
    const post = (params: Json, signal?: AbortSignal) =>
      post2026(
        `${gw.mcpUrl}/iso`,
        'tools/call',
        { name: 'ask', arguments: { question: 'slow', sleep: 60_000 }, ...params },
        { capabilities: { elicitation: {} }, id: 5, ...(signal === undefined ? {} : { signal }) },
      );
    const first = (await post({})).message;
    const state = (first.result as Json).requestState;
    expect(typeof state).toBe('string');
    const aborted = new AbortController();
    const retry = post(
      { requestState: state, inputResponses: { 'mcp-warden/upstream': { action: 'accept', content: {} } } },
      aborted.signal,
    );
    await new Promise((r) => setTimeout(r, 400));
    aborted.abort();
    await expect(retry).rejects.toThrow();
    const all = await callRecords('ask');
    const records = all.filter((r) => !before.has(r.requestId));
    expect(records).toHaveLength(2);
    for (const r of records) expect(r.outcome).toBe('cancelled');
    expect(records.map((r) => (r.round as Json).n).sort()).toEqual([1, 2]);
  });

  it('#18.3b.6 in a call of several questions, closing the latest retry cancels the call upstream; every record says so', async () => {
    const url = `${gw.mcpUrl}/iso`;
    const count = async () =>
      Number(
        textOf(
          (await post2026(url, 'tools/call', { name: 'cancellations', arguments: {} })).message
            .result as never,
        ),
      );
    const before = await count();
    const beforeIds = new Set((await callRecords('ask')).map((r) => r.requestId));
    const args = { question: 'Q', times: 2, sleep: 60_000 };
    const ask = (extra: Json, signal?: AbortSignal) =>
      post2026(
        url,
        'tools/call',
        { name: 'ask', arguments: args, ...extra },
        { capabilities: { elicitation: {} }, ...(signal === undefined ? {} : { signal }) },
      );
    const answer = (state: unknown) => ({
      requestState: state,
      inputResponses: { 'mcp-warden/upstream': { action: 'accept', content: { answer: 'a' } } },
    });
    const first = (await ask({})).message.result as Json;
    const second = (await ask(answer(first.requestState))).message.result as Json;
    expect(second.resultType).toBe('input_required');
    const aborted = new AbortController();
    const third = ask(answer(second.requestState), aborted.signal);
    await new Promise((r) => setTimeout(r, 400));
    aborted.abort();
    await expect(third).rejects.toThrow();
    await expect.poll(count, { timeout: 5000 }).toBe(before + 1);
    const records = (await callRecords('ask')).filter((r) => !beforeIds.has(r.requestId));
    expect(records.map((r) => (r.round as Json).n).sort()).toEqual([1, 2, 3]);
    // The second request was answered with the next question, the first and the third end with the call.
    const byRound = new Map(records.map((r) => [(r.round as Json).n, r]));
    expect(byRound.get(2)!.outcome).toBe('ok');
    expect(byRound.get(1)!.outcome).toBe('cancelled');
    expect(byRound.get(3)!.outcome).toBe('cancelled');
  });
});
