// Issue #17, routing and methods: requests dressed as notifications (3), resource URIs spelled another way (4),
// completions and other methods under the policy and the audit log (8), roots (9), reads in a fresh session (23).
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { ListRootsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import {
  adminRequest,
  connect,
  EVERYTHING,
  FILESYSTEM,
  ROOT,
  type RunningGateway,
  spawnListening,
  startGateway,
  tempDir,
  textOf,
} from '../helpers/gateway.js';

const ADMIN = 'hardening-routing-admin-token';
process.env.WARDEN_ADMIN_TOKEN = ADMIN;

const RECORDER = join(ROOT, 'test/fixtures/recorder-server.ts');
const CONFORMANCE = join(ROOT, 'test/fixtures/conformance-server.ts');
const ACCEPT = 'application/json, text/event-stream';
type Json = Record<string, unknown>;

/** Opens a session with raw HTTP (initialize + initialized); resolves with its id. */
async function openRaw(url: string): Promise<string> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: ACCEPT },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
    }),
  });
  const sid = res.headers.get('mcp-session-id');
  await res.text();
  if (sid === null) throw new Error(`no session (${res.status})`);
  await post(url, sid, { jsonrpc: '2.0', method: 'notifications/initialized' });
  return sid;
}

/** POSTs a body in a session; the JSON-RPC messages of the answer (JSON or event stream). */
async function post(url: string, sid: string, body: unknown): Promise<{ status: number; messages: Json[] }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: ACCEPT, 'mcp-session-id': sid },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (text === '') return { status: res.status, messages: [] };
  if ((res.headers.get('content-type') ?? '').includes('text/event-stream')) {
    const messages = text
      .split('\n')
      .filter((l) => l.startsWith('data: '))
      .map((l) => JSON.parse(l.slice(6)) as Json);
    return { status: res.status, messages };
  }
  const value = JSON.parse(text) as Json | Json[];
  return { status: res.status, messages: Array.isArray(value) ? value : [value] };
}

let nextId = 100;
/** One request in a raw session; its response. */
async function request(url: string, sid: string, method: string, params: Json = {}): Promise<Json> {
  const id = nextId++;
  const { messages } = await post(url, sid, { jsonrpc: '2.0', id, method, params });
  const answer = messages.find((m) => m.id === id);
  if (answer === undefined) throw new Error(`no answer to ${method}: ${JSON.stringify(messages)}`);
  return answer;
}

/** What the recorder fixture received that it should not have. */
async function strays(
  url: string,
  sid: string,
  tool = 'received',
): Promise<{ stray: string[]; secretRuns: number }> {
  const answer = await request(url, sid, 'tools/call', { name: tool, arguments: {} });
  return JSON.parse(textOf(answer.result)) as { stray: string[]; secretRuns: number };
}

const CALL_AS_NOTIFICATION = {
  jsonrpc: '2.0',
  method: 'tools/call',
  params: { name: 'secret', arguments: {} },
};

// ---------------------------------------------------------------------------------------------------------------
describe('#17.3 requests without an id, and methods MCP does not define for their direction', () => {
  let gw: RunningGateway;
  let http: { url: string; child: ChildProcess };

  beforeAll(async () => {
    // The recorder over Streamable HTTP, started as startHttpProbe starts the probe.
    http = await spawnListening(RECORDER, ['--port', '0']);
    gw = await startGateway(`
mcpServers:
  rec:
    command: node
    args: ["--import", "tsx", "${RECORDER}"]
    cwd: ${ROOT}
    policy: { version: "1", default: "allow", hide: ["secret"] }
  rech:
    url: ${http.url}
    roots: agent
    policy: { version: "1", default: "allow", tools: { secret: { action: deny } } }
`);
  });

  afterAll(async () => {
    await gw?.close();
    http?.child.kill();
  });

  it('#17.3 drops a tools/call sent without an id on /mcp/<id> (stdio upstream): the hidden tool never runs', async () => {
    const url = `${gw.mcpUrl}/rec`;
    const sid = await openRaw(url);
    const sent = await post(url, sid, CALL_AS_NOTIFICATION);
    expect(sent.status).toBe(202);
    expect(sent.messages).toEqual([]);
    expect(await strays(url, sid)).toEqual({ stray: [], secretRuns: 0 });
    // Called properly, the hidden tool is unknown.
    const called = await request(url, sid, 'tools/call', { name: 'secret', arguments: {} });
    expect(called.error).toEqual({ code: -32602, message: 'Unknown tool: secret' });
  });

  it('#17.3 drops a tools/call sent without an id on /mcp/<id> (HTTP upstream): the denied tool never runs', async () => {
    const url = `${gw.mcpUrl}/rech`;
    const sid = await openRaw(url);
    const before = await strays(url, sid);
    await post(url, sid, CALL_AS_NOTIFICATION);
    // A notification the spec defines (and this upstream takes roots from the agent) marks the end of what was sent.
    await post(url, sid, { jsonrpc: '2.0', method: 'notifications/roots/list_changed' });
    const marks = (s: { stray: string[] }) =>
      s.stray.filter((m) => m === 'notifications/roots/list_changed').length;
    let after = before;
    await expect
      .poll(
        async () => {
          after = await strays(url, sid);
          return marks(after);
        },
        { timeout: 10_000 },
      )
      .toBe(marks(before) + 1);
    expect(after.stray.filter((m) => m === 'tools/call').length).toBe(
      before.stray.filter((m) => m === 'tools/call').length,
    );
    expect(after.secretRuns).toBe(before.secretRuns);
  });

  it('#17.3 drops a tools/call sent without an id on the aggregated endpoint /mcp', async () => {
    const sid = await openRaw(gw.mcpUrl);
    await post(gw.mcpUrl, sid, { ...CALL_AS_NOTIFICATION, params: { name: 'rec__secret', arguments: {} } });
    await post(gw.mcpUrl, sid, CALL_AS_NOTIFICATION);
    expect(await strays(gw.mcpUrl, sid, 'rec__received')).toEqual({ stray: [], secretRuns: 0 });
  });

  it('#17.3 drops a tools/call without an id inside a batch, and answers the batch request', async () => {
    const url = `${gw.mcpUrl}/rec`;
    const sid = await openRaw(url);
    const { messages } = await post(url, sid, [
      CALL_AS_NOTIFICATION,
      { jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'received', arguments: {} } },
    ]);
    expect(messages).toHaveLength(1);
    expect(JSON.parse(textOf(messages[0]!.result))).toEqual({ stray: [], secretRuns: 0 });
  });

  it('#17.3 refuses a tools/call with "id": null as an invalid request, and nothing reaches the upstream', async () => {
    const url = `${gw.mcpUrl}/rec`;
    const sid = await openRaw(url);
    const sent = await post(url, sid, { ...CALL_AS_NOTIFICATION, id: null });
    expect(sent.status).toBe(400);
    expect((sent.messages[0]!.error as Json).code).toBe(-32600);
    expect(await strays(url, sid)).toEqual({ stray: [], secretRuns: 0 });
  });

  it('#17.3 drops other made-up notifications (notifications/tools/call, custom methods, a server request name)', async () => {
    const url = `${gw.mcpUrl}/rec`;
    const sid = await openRaw(url);
    for (const method of [
      'notifications/tools/call',
      'custom/run',
      'sampling/createMessage',
      'resources/read',
      'notifications/message',
    ]) {
      await post(url, sid, { jsonrpc: '2.0', method, params: { name: 'secret', uri: 'x://y' } });
    }
    expect(await strays(url, sid)).toEqual({ stray: [], secretRuns: 0 });
  });

  it('#17.3 drops a tools/call without an id on the legacy SSE endpoint /sse/<id>', async () => {
    const base = gw.mcpUrl.replace(/\/mcp$/, '');
    const client = new Client({ name: 'sse', version: '1' });
    await client.connect(new SSEClientTransport(new URL(`${base}/sse/rec`)));
    await client.notification({ method: 'tools/call', params: { name: 'secret', arguments: {} } } as never);
    const result = await client.callTool({ name: 'received', arguments: {} });
    expect(JSON.parse(textOf(result))).toEqual({ stray: [], secretRuns: 0 });
    await client.close();
  });

  it('#17.3 drops a tools/call without an id under warden stdio', async () => {
    const input = new PassThrough();
    const output = new PassThrough();
    const identity = await gw.gateway.stdioIdentity(undefined, undefined);
    const served = gw.gateway.serveStdio(input, output, 'rec', identity);
    const lines: Json[] = [];
    let buffer = '';
    output.setEncoding('utf8');
    output.on('data', (chunk: string) => {
      buffer += chunk;
      for (let nl = buffer.indexOf('\n'); nl !== -1; nl = buffer.indexOf('\n')) {
        lines.push(JSON.parse(buffer.slice(0, nl)) as Json);
        buffer = buffer.slice(nl + 1);
      }
    });
    const send = (m: unknown) => input.write(`${JSON.stringify(m)}\n`);
    send({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: {
        protocolVersion: '2025-11-25',
        capabilities: {},
        clientInfo: { name: 'stdio', version: '1' },
      },
    });
    await expect.poll(() => lines.some((l) => l.id === 1), { timeout: 20_000 }).toBe(true);
    send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    send(CALL_AS_NOTIFICATION);
    send({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'received', arguments: {} } });
    await expect.poll(() => lines.some((l) => l.id === 2), { timeout: 20_000 }).toBe(true);
    expect(JSON.parse(textOf(lines.find((l) => l.id === 2)!.result))).toEqual({ stray: [], secretRuns: 0 });
    input.end();
    await served;
  });

  it('#17.3 does not relay to the agent a notification an upstream sends that MCP does not define for servers', async () => {
    const client = await connect(`${gw.mcpUrl}/rec`);
    const seen: string[] = [];
    client.fallbackNotificationHandler = async (n) => {
      seen.push(n.method);
    };
    for (const method of ['tools/call', 'notifications/custom', 'sampling/createMessage'])
      await client.callTool({ name: 'send', arguments: { method, params: { name: 'x' } } });
    await client.callTool({ name: 'send', arguments: { method: 'notifications/tools/list_changed' } });
    await expect.poll(() => seen, { timeout: 10_000 }).toContain('notifications/tools/list_changed');
    expect(seen).toEqual(['notifications/tools/list_changed']);
    await client.close();
  });

  it('#17.3 refuses a request an upstream makes of a method MCP does not define for servers, without asking the agent', async () => {
    const client = await connect(`${gw.mcpUrl}/rec`);
    const asked: string[] = [];
    client.fallbackRequestHandler = async (r) => {
      asked.push(r.method);
      return {};
    };
    const result = await client.callTool({
      name: 'send',
      arguments: { method: 'tools/call', params: { name: 'x' }, request: true },
    });
    expect(textOf(result)).toMatch(/^refused .*-32601/);
    expect(asked).toEqual([]);
    await client.close();
  });

  it('#17.9 does not pass the agent notifications/roots/list_changed to an upstream that does not take its roots', async () => {
    const url = `${gw.mcpUrl}/rec`;
    const sid = await openRaw(url);
    await post(url, sid, { jsonrpc: '2.0', method: 'notifications/roots/list_changed' });
    expect(await strays(url, sid)).toEqual({ stray: [], secretRuns: 0 });
  });
});

// ---------------------------------------------------------------------------------------------------------------
const HIDDEN_DOC = 'demo://resource/static/document/architecture.md';
const DENIED_DOC = 'demo://resource/static/document/features.md';
const OPEN_DOC = 'demo://resource/static/document/instructions.md';

const EVERYTHING_POLICY = {
  version: '1',
  default: 'allow',
  prompts: {
    'completable-prompt': { action: 'hide' },
    'args-prompt': { action: 'deny', reason: 'No arguments today.' },
  },
  resources: {
    [HIDDEN_DOC]: { action: 'hide' },
    [DENIED_DOC]: { action: 'deny', reason: 'No features.' },
    'demo://resource/dynamic/text/*': { action: 'hide' },
  },
};

/** Spellings of the hidden document (or of a hidden template's URI) that servers resolve to it. */
const SPELLINGS = [
  ['an upper-case scheme', 'DEMO://resource/static/document/architecture.md'],
  ['a leading space', ` ${HIDDEN_DOC}`],
  ['a tab inside', 'demo://resource/static/doc\tument/architecture.md'],
  ['a newline inside', 'demo://resource/static/document/archi\ntecture.md'],
  ['a .. segment', 'demo://resource/static/document/x/../architecture.md'],
  ['a %2e%2e segment', 'demo://resource/static/document/%2e%2e/document/architecture.md'],
  ['a percent-encoded letter', 'demo://resource/static/document/%61rchitecture.md'],
  ['a percent-encoded slash', 'demo://resource/static%2Fdocument/architecture.md'],
  ['a double-encoded slash', 'demo://resource/static%252Fdocument/architecture.md'],
  ['a template URI through ..', 'demo://resource/dynamic/blob/../text/1'],
  ['a template URI in upper case', 'DEMO://resource/dynamic/text/1'],
] as const;

describe('#17.4 #17.8 #17.23 resources, prompts and completions under a policy', () => {
  let gw: RunningGateway;

  beforeAll(async () => {
    const dir = tempDir('warden-routing-');
    const policy = join(dir, 'everything.json');
    writeFileSync(policy, JSON.stringify(EVERYTHING_POLICY));
    const strict = join(dir, 'strict.json');
    writeFileSync(strict, JSON.stringify({ version: '1', default: 'deny', tools: { echo: {} } }));
    gw = await startGateway(`
mcpServers:
  everything:
    command: node
    args: ["${EVERYTHING}", "stdio"]
    policy: ${policy}
  conformance:
    command: node
    args: ["--import", "tsx", "${CONFORMANCE}", "--stdio"]
    cwd: ${ROOT}
  strict:
    command: node
    args: ["${EVERYTHING}", "stdio"]
    policy: ${strict}
`);
  });

  afterAll(async () => {
    await gw?.close();
  });

  const read = (url: string, sid: string, uri: string) => request(url, sid, 'resources/read', { uri });
  const notFound = (uri: string) => ({ code: -32002, message: `Resource not found: ${uri}`, data: { uri } });

  for (const [what, spelling] of SPELLINGS) {
    it(`#17.4 answers a hidden resource spelled with ${what} exactly like a missing one (/mcp/<id>)`, async () => {
      const url = `${gw.mcpUrl}/everything`;
      const sid = await openRaw(url);
      const hidden = await read(url, sid, spelling);
      expect(hidden.error).toEqual(notFound(spelling));
      const missing = await read(url, sid, 'demo://resource/static/document/no-such-file.md');
      expect(missing.error).toEqual(notFound('demo://resource/static/document/no-such-file.md'));
    });
  }

  it('#17.4 answers a hidden resource in every spelling exactly like a missing one on /mcp too', async () => {
    const sid = await openRaw(gw.mcpUrl);
    for (const spelling of SPELLINGS.map(([, s]) => s)) {
      expect((await read(gw.mcpUrl, sid, spelling)).error).toEqual(notFound(spelling));
    }
  });

  it('#17.4 applies resource rules to a completion ref spelled another way', async () => {
    const url = `${gw.mcpUrl}/everything`;
    const sid = await openRaw(url);
    const uri = 'DEMO://resource/dynamic/text/{resourceId}';
    const answer = await request(url, sid, 'completion/complete', {
      ref: { type: 'ref/resource', uri },
      argument: { name: 'resourceId', value: '1' },
    });
    expect(answer.error).toEqual(notFound(uri));
  });

  it('#17.4 denies a denied resource spelled another way (scheme case, .., space) on /mcp/<id> and /mcp', async () => {
    for (const url of [`${gw.mcpUrl}/everything`, gw.mcpUrl]) {
      const sid = await openRaw(url);
      for (const spelling of [
        'DEMO://resource/static/document/features.md',
        'demo://resource/static/document/a/../features.md',
        `  ${DENIED_DOC}\t`,
      ]) {
        const answer = await read(url, sid, spelling);
        expect((answer.error as Json).message).toBe('[POLICY DENIED] No features.');
      }
    }
  });

  it('#17.4 applies the rules to resources/subscribe and unsubscribe spelled another way', async () => {
    const url = `${gw.mcpUrl}/everything`;
    const sid = await openRaw(url);
    for (const method of ['resources/subscribe', 'resources/unsubscribe']) {
      const answer = await request(url, sid, method, {
        uri: 'DEMO://resource/static/document/architecture.md',
      });
      expect(answer.error).toEqual(notFound('DEMO://resource/static/document/architecture.md'));
    }
  });

  it('#17.4 refuses a resource URI that does not parse, on both endpoints', async () => {
    for (const url of [`${gw.mcpUrl}/everything`, gw.mcpUrl]) {
      const sid = await openRaw(url);
      for (const uri of ['architecture.md', 'not a uri', '://x', '']) {
        const answer = await read(url, sid, uri);
        expect(answer.error).toEqual({ code: -32602, message: 'Invalid params: uri is not an absolute URI' });
      }
    }
  });

  it('#17.4 forwards the normal form it checked: the server reads the URI the policy allowed', async () => {
    const url = `${gw.mcpUrl}/everything`;
    const sid = await openRaw(url);
    const answer = await read(url, sid, ` DEMO://resource/static/document/x/../instructions.md`);
    const contents = (answer.result as { contents: Json[] }).contents;
    expect(contents[0]!.uri).toBe(OPEN_DOC);
  });

  it('#17.4 keeps a hidden resource out of lists and a hidden template out of template lists', async () => {
    const client = await connect(`${gw.mcpUrl}/everything`);
    const uris = (await client.listResources()).resources.map((r) => r.uri);
    expect(uris).not.toContain(HIDDEN_DOC);
    expect(uris).toContain(OPEN_DOC);
    const templates = (await client.listResourceTemplates()).resourceTemplates.map((t) => t.uriTemplate);
    expect(templates).not.toContain('demo://resource/dynamic/text/{resourceId}');
    expect(templates).toContain('demo://resource/dynamic/blob/{resourceId}');
    await client.close();
  });

  it('#17.8 answers a completion of a hidden prompt exactly like one of a prompt that does not exist (/mcp/<id>)', async () => {
    const url = `${gw.mcpUrl}/everything`;
    const sid = await openRaw(url);
    const complete = (name: string) =>
      request(url, sid, 'completion/complete', {
        ref: { type: 'ref/prompt', name },
        argument: { name: 'department', value: 'E' },
      });
    const hidden = await complete('completable-prompt');
    const missing = await complete('no-such-prompt');
    expect(hidden.result).toBeUndefined();
    expect(hidden.error).toEqual({ code: -32602, message: 'Unknown prompt: completable-prompt' });
    expect(missing.error).toEqual({ code: -32602, message: 'Unknown prompt: no-such-prompt' });
  });

  it('#17.8 answers a completion of a hidden prompt exactly like one of a prompt that does not exist (/mcp)', async () => {
    const sid = await openRaw(gw.mcpUrl);
    const complete = (name: string) =>
      request(gw.mcpUrl, sid, 'completion/complete', {
        ref: { type: 'ref/prompt', name },
        argument: { name: 'department', value: 'E' },
      });
    expect((await complete('everything__completable-prompt')).error).toEqual({
      code: -32602,
      message: 'Unknown prompt: everything__completable-prompt',
    });
    expect((await complete('everything__no-such-prompt')).error).toEqual({
      code: -32602,
      message: 'Unknown prompt: everything__no-such-prompt',
    });
    expect((await complete('nowhere__completable-prompt')).error).toEqual({
      code: -32602,
      message: 'Unknown prompt: nowhere__completable-prompt',
    });
  });

  it('#17.8 answers prompts/get of a hidden prompt exactly like one of a prompt that does not exist', async () => {
    const url = `${gw.mcpUrl}/everything`;
    const sid = await openRaw(url);
    const hidden = await request(url, sid, 'prompts/get', { name: 'completable-prompt' });
    const missing = await request(url, sid, 'prompts/get', { name: 'no-such-prompt' });
    expect(hidden.error).toEqual({ code: -32602, message: 'Unknown prompt: completable-prompt' });
    expect(missing.error).toEqual({ code: -32602, message: 'Unknown prompt: no-such-prompt' });
  });

  it('#17.8 denies a completion of a denied prompt with the prompt rule', async () => {
    const client = await connect(`${gw.mcpUrl}/everything`);
    await expect(
      client.complete({
        ref: { type: 'ref/prompt', name: 'args-prompt' },
        argument: { name: 'city', value: 'O' },
      }),
    ).rejects.toThrow('[POLICY DENIED] No arguments today.');
    await client.close();
  });

  it('#17.8 answers a completion of a hidden resource template exactly like one of a template that does not exist', async () => {
    const url = `${gw.mcpUrl}/everything`;
    const sid = await openRaw(url);
    const complete = (uri: string) =>
      request(url, sid, 'completion/complete', {
        ref: { type: 'ref/resource', uri },
        argument: { name: 'resourceId', value: '1' },
      });
    const hidden = await complete('demo://resource/dynamic/text/{resourceId}');
    expect(hidden.error).toEqual(notFound('demo://resource/dynamic/text/{resourceId}'));
    const missing = await complete('demo://resource/dynamic/none/{resourceId}');
    expect(missing.error).toEqual(notFound('demo://resource/dynamic/none/{resourceId}'));
    // A template that is not hidden still completes.
    const open = await complete('demo://resource/dynamic/blob/{resourceId}');
    expect((open.result as { completion: { values: string[] } }).completion.values).toEqual(['1']);
  });

  it('#17.8 leaves an audit record for logging/setLevel, completions and methods MCP does not define', async () => {
    const url = `${gw.mcpUrl}/everything`;
    const sid = await openRaw(url);
    await request(url, sid, 'logging/setLevel', { level: 'debug' });
    await request(url, sid, 'completion/complete', {
      ref: { type: 'ref/prompt', name: 'completable-prompt' },
      argument: { name: 'department', value: 'E' },
    });
    const custom = await request(url, sid, 'custom/anything', { x: 1 });
    expect((custom.error as Json).code).toBe(-32601); // the upstream's own answer: the policy's default is allow
    await request(url, sid, 'ping');
    const records = async () =>
      ((await adminRequest(gw, ADMIN, '/api/audit?limit=500')).body as Json[]).filter(
        (r) => r.session === sid,
      );
    await expect.poll(async () => (await records()).length, { timeout: 10_000 }).toBe(3);
    const byMethod = Object.fromEntries((await records()).map((r) => [r.method, r]));
    expect(byMethod['logging/setLevel']).toMatchObject({
      decision: 'allowed',
      server: 'everything',
      outcome: 'ok',
    });
    expect(byMethod['completion/complete']).toMatchObject({
      decision: 'hidden',
      tool: 'completable-prompt',
      outcome: 'not_called',
    });
    expect(byMethod['custom/anything']).toMatchObject({
      decision: 'allowed',
      outcome: 'error',
      errorCode: -32601,
    });
    expect(byMethod.ping).toBeUndefined();
  });

  it('#17.8 refuses a method MCP does not define under a policy whose default is deny, and audits it', async () => {
    const url = `${gw.mcpUrl}/strict`;
    const sid = await openRaw(url);
    const answer = await request(url, sid, 'custom/anything', {});
    expect((answer.error as Json).message).toBe(
      '[POLICY DENIED] Method custom/anything is not permitted by policy',
    );
    // Methods MCP defines keep their own rules.
    expect((await request(url, sid, 'logging/setLevel', { level: 'info' })).result).toEqual({});
    await expect
      .poll(
        async () =>
          ((await adminRequest(gw, ADMIN, '/api/audit?limit=500')).body as Json[]).find(
            (r) => r.session === sid && r.method === 'custom/anything',
          ),
        { timeout: 10_000 },
      )
      .toMatchObject({ decision: 'denied', rule: '(default deny)', outcome: 'not_called' });
  });

  it('#17.23 reads a resource on /mcp in a fresh session that never listed resources (two resource servers)', async () => {
    const sid = await openRaw(gw.mcpUrl);
    const doc = await read(gw.mcpUrl, sid, OPEN_DOC);
    expect(((doc.result as { contents: Json[] }).contents[0] as Json).uri).toBe(OPEN_DOC);
    const sid2 = await openRaw(gw.mcpUrl);
    const own = await read(gw.mcpUrl, sid2, 'test://static-text');
    expect(((own.result as { contents: Json[] }).contents[0] as Json).uri).toBe('test://static-text');
    // A template URI of the second server, in yet another fresh session.
    const sid3 = await openRaw(gw.mcpUrl);
    const templated = await read(gw.mcpUrl, sid3, 'test://template/42/data');
    expect(templated.result).toBeDefined();
  });

  it('#17.23 reads a resource link a tool returned, in a fresh session on /mcp', async () => {
    const client = await connect(gw.mcpUrl);
    const links = await client.callTool({ name: 'everything__get-resource-links', arguments: { count: 2 } });
    const link = (links.content as Json[]).find(
      (c) => c.type === 'resource_link' && String(c.uri).includes('/blob/'),
    );
    expect(link).toBeDefined();
    await client.close();
    const sid = await openRaw(gw.mcpUrl);
    const answer = await read(gw.mcpUrl, sid, String(link!.uri));
    expect(((answer.result as { contents: Json[] }).contents[0] as Json).uri).toBe(link!.uri);
  });

  it('#17.23 keeps a hidden resource as missing in a fresh /mcp session, in every spelling', async () => {
    const sid = await openRaw(gw.mcpUrl);
    for (const uri of [
      HIDDEN_DOC,
      'DEMO://resource/static/document/architecture.md',
      'demo://resource/dynamic/text/1',
    ]) {
      expect((await read(gw.mcpUrl, sid, uri)).error).toEqual(notFound(uri));
    }
    expect((await read(gw.mcpUrl, sid, 'test://nowhere')).error).toEqual(notFound('test://nowhere'));
  });

  it('#17.23 routes a completion of a resource template on /mcp in a fresh session', async () => {
    const sid = await openRaw(gw.mcpUrl);
    const answer = await request(gw.mcpUrl, sid, 'completion/complete', {
      ref: { type: 'ref/resource', uri: 'demo://resource/dynamic/blob/{resourceId}' },
      argument: { name: 'resourceId', value: '3' },
    });
    expect((answer.result as { completion: { values: string[] } }).completion.values).toEqual(['3']);
  });
});

// ---------------------------------------------------------------------------------------------------------------
describe('#17.9 roots', () => {
  let gw: RunningGateway;
  let inside: string;
  let outside: string;

  beforeAll(async () => {
    const base = realpathSync(tempDir('warden-roots-'));
    inside = join(base, 'inside');
    outside = join(base, 'outside');
    mkdirSync(inside);
    mkdirSync(outside);
    writeFileSync(join(inside, 'in.txt'), 'in');
    writeFileSync(join(outside, 'out.txt'), 'out');
    gw = await startGateway(`
mcpServers:
  fs:
    command: node
    args: ["${FILESYSTEM}", "${inside}"]
  fsfixed:
    command: node
    args: ["${FILESYSTEM}", "${inside}"]
    roots: ["${outside}"]
  fsagent:
    command: node
    args: ["${FILESYSTEM}", "${inside}"]
    roots: agent
  everything:
    command: node
    args: ["${EVERYTHING}", "stdio"]
  everythingfixed:
    command: node
    args: ["${EVERYTHING}", "stdio"]
    roots: ["file://${outside}"]
`);
  });

  afterAll(async () => {
    await gw?.close();
  });

  /** A client whose roots are the whole disk, recording whether it was asked. */
  async function wholeDisk(url: string): Promise<{ client: Client; asked: () => number }> {
    const client = await connect(url, { roots: { listChanged: true } });
    let asked = 0;
    client.setRequestHandler(ListRootsRequestSchema, async () => {
      asked++;
      return { roots: [{ uri: 'file:///', name: 'everything' }] };
    });
    return { client, asked: () => asked };
  }

  const allowed = async (client: Client) =>
    textOf(await client.callTool({ name: 'list_allowed_directories', arguments: {} }));

  it('#17.9 does not let an agent answering roots/list with file:/// widen the filesystem server (default)', async () => {
    const { client, asked } = await wholeDisk(`${gw.mcpUrl}/fs`);
    await client.sendRootsListChanged();
    // The server would ask at once if it had been told the agent has roots; a few calls give it the time to.
    for (let i = 0; i < 5; i++) {
      await new Promise((r) => setTimeout(r, 100));
      expect(await allowed(client)).toContain(inside);
    }
    expect(await allowed(client)).not.toMatch(/^\/$/m);
    const out = await client.callTool({
      name: 'read_text_file',
      arguments: { path: join(outside, 'out.txt') },
    });
    expect(out.isError).toBe(true);
    expect(asked()).toBe(0);
    await client.close();
  });

  it('#17.9 answers roots/list with the configured roots; the agent is never asked', async () => {
    const { client, asked } = await wholeDisk(`${gw.mcpUrl}/fsfixed`);
    await expect.poll(() => allowed(client), { timeout: 10_000 }).toContain(outside);
    expect(await allowed(client)).not.toContain(inside);
    const out = await client.callTool({
      name: 'read_text_file',
      arguments: { path: join(outside, 'out.txt') },
    });
    expect(textOf(out)).toBe('out');
    const root = await client.callTool({ name: 'read_text_file', arguments: { path: '/etc/hostname' } });
    expect(root.isError).toBe(true);
    expect(asked()).toBe(0);
    await client.close();
  });

  it('#17.9 passes the agent roots only under roots: agent', async () => {
    const { client, asked } = await wholeDisk(`${gw.mcpUrl}/fsagent`);
    await expect.poll(() => allowed(client), { timeout: 10_000 }).toMatch(/^\/$/m);
    expect(asked()).toBeGreaterThan(0);
    await client.close();
  });

  it('#17.9 declares no roots capability upstream by default, and the configured roots otherwise (everything)', async () => {
    const { client, asked } = await wholeDisk(`${gw.mcpUrl}/everything`);
    expect((await client.listTools()).tools.map((t) => t.name)).not.toContain('get-roots-list');
    await client.close();
    const fixed = await wholeDisk(`${gw.mcpUrl}/everythingfixed`);
    const roots = await fixed.client.callTool({ name: 'get-roots-list', arguments: {} });
    expect(textOf(roots)).toContain(`file://${outside}`);
    expect(textOf(roots)).not.toContain('file:///\n');
    expect(asked() + fixed.asked()).toBe(0);
    await fixed.client.close();
  });

  it('#17.9 refuses a configured root that is not a directory path or a file URI of this host', () => {
    for (const root of ['http://example.com/x', 'file://otherhost/x', 'demo://x']) {
      expect(() =>
        parseConfig(`mcpServers:\n  fs:\n    command: node\n    roots: ["${root}"]\n`, '/tmp/warden.yaml'),
      ).toThrow(/roots/);
    }
    expect(() =>
      parseConfig(
        'mcpServers:\n  fs:\n    command: node\n    roots: ["./data", "file:///srv/x"]\n',
        '/tmp/w.yaml',
      ),
    ).not.toThrow();
  });
});
