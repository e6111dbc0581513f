// Fuzzing the agent HTTP endpoint of a real gateway (in this process) in front of the probe fixture over Streamable
// HTTP: 100,000 generated malformed JSON-RPC messages and HTTP requests, sent concurrently over keep-alive. Every one
// is answered in time, none with a 500; the admin port answers generated /api/* requests without a valid token, never
// with a 500; afterwards the gateway still serves a tools/call, and its heap has not grown past a generous bound.
import { writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { connect as netConnect } from 'node:net';
import { join } from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  connect,
  type RunningGateway,
  startGateway,
  startHttpProbe,
  tempDir,
  textOf,
} from '../helpers/gateway.js';
import { SEEDS } from './arbitraries.js';

/** Requests per property run (sent concurrently), and runs: BATCH * RUNS generated agent-endpoint requests. */
const BATCH = 1000;
const RUNS = Number(process.env.FUZZ_HTTP_RUNS ?? 100);
/** Requests in flight at once, each on its own keep-alive connection. */
const CONCURRENCY = 64;
const ADMIN_RUNS = 10;
const REQUEST_TIMEOUT_MS = 10_000;
/** Generous: the heap after 100,000 requests (and a GC) may exceed the heap before by at most this. */
const HEAP_GROWTH_BOUND = 64 * 1024 * 1024;
const MAX_BODY = 64 * 1024;
const MAX_SESSIONS = 48;

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

let gw: RunningGateway;
let probe: Awaited<ReturnType<typeof startHttpProbe>>;
let base: URL;
let admin: URL;
const agent = new Agent({ keepAlive: true, maxSockets: 64 });
/** Live sessions the generated requests may name: per-server and aggregated, opened before the fuzzing. */
const sessions: Record<'probe' | 'aggregate', string[]> = { probe: [], aggregate: [] };
const stats = {
  sent: 0,
  statuses: {} as Record<string, number>,
  rpcErrors: {} as Record<string, number>,
  adminSent: 0,
  adminStatuses: {} as Record<string, number>,
  rawSockets: 0,
  staleSocketRetries: 0,
  slowestMs: 0,
  slowest: '',
  fuzzMs: 0,
  heapBefore: 0,
  heapAfter: 0,
};

const INIT = {
  protocolVersion: '2025-06-18',
  capabilities: {},
  clientInfo: { name: 'fuzz', version: '1' },
};

async function openSession(path: string): Promise<string> {
  const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
  const res = await fetch(new URL(path, base), {
    method: 'POST',
    headers,
    body: JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: INIT }),
  });
  expect(res.status).toBe(200);
  await res.text();
  const sid = res.headers.get('mcp-session-id')!;
  await fetch(new URL(path, base), {
    method: 'POST',
    headers: { ...headers, 'mcp-session-id': sid },
    body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
  }).then((r) => r.text());
  return sid;
}

beforeAll(async () => {
  probe = await startHttpProbe();
  const dir = tempDir('warden-fuzz-http-');
  const policy = join(dir, 'policy.json');
  writeFileSync(
    policy,
    JSON.stringify({
      version: '1',
      default: 'allow',
      // The tools that sleep, exit or stream on request are out of the fuzz: they would test the probe, not warden.
      hide: ['slow', 'crash', 'progress', 'grow'],
      tools: {
        echo: {
          deny_if: [
            { path: 'args.text', op: 'regex', value: '^(a+)+$' },
            { path: 'args.opts', op: 'eq', value: { force: true } },
          ],
        },
        pid: { require: [{ path: 'args.why', op: 'exists', value: true }] },
        'tool_*': { action: 'require_approval', approval: { mode: 'async' } },
      },
    }),
  );
  gw = await startGateway(`
mcpServers:
  probe:
    url: ${probe.url}
    timeout: 5
    policy: ${policy}
http:
  maxBodyBytes: ${MAX_BODY}
  maxSessions: ${MAX_SESSIONS}
  maxSessionsPerGrant: ${MAX_SESSIONS}
  sessionIdleTimeout: 3s
`);
  base = new URL(`${gw.mcpUrl}/`);
  admin = new URL(`${gw.adminUrl}/`);
  for (let i = 0; i < 3; i++) {
    sessions.probe.push(await openSession('/mcp/probe'));
    sessions.aggregate.push(await openSession('/mcp'));
  }
});

afterAll(async () => {
  agent.destroy();
  await gw?.close();
  probe?.child.kill();
  console.log(`http fuzz: ${JSON.stringify(stats)}`);
});

// ---------------------------------------------------------------------------------------------------------------
// Generators. A request is plain data (printable as a counterexample); session ids are placeholders filled at send.

interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string | number[] | undefined;
}

const SESSION_PROBE = '<session:probe>';
const SESSION_AGGREGATE = '<session:aggregate>';

/** Header values Node's client can send: visible latin-1 (the wire allows no more). */
const headerText = fc
  .string({ unit: fc.integer({ min: 0x20, max: 0xff }).map((c) => String.fromCharCode(c)), maxLength: 40 })
  .map((s) => s.replace(/\x7f/g, ''));
const oddText = fc.oneof(
  fc.string({ maxLength: 10 }),
  fc.string({ unit: 'grapheme', maxLength: 10 }),
  fc.string({ unit: 'binary', maxLength: 10 }),
  fc.constantFrom('', '\u0000', '\ud800', '\u202e', '\ufeff', '𝒳', 'a'.repeat(2000), 'echo', 'probe__echo'),
);
const id = fc.oneof(
  fc.integer({ min: 0, max: 5 }),
  fc.integer(),
  fc.constantFrom(1e308, -0, 2 ** 53 + 1, 1.5, -1, 'x', '', '1', '\u0000'),
  oddText,
  fc.constantFrom(null, true, {}, [], [1], { id: 1 }),
);
const METHODS = [
  'tools/call',
  'tools/list',
  'initialize',
  'ping',
  'resources/list',
  'resources/read',
  'resources/templates/list',
  'resources/subscribe',
  'prompts/list',
  'prompts/get',
  'completion/complete',
  'logging/setLevel',
  'notifications/initialized',
  'notifications/cancelled',
  'notifications/roots/list_changed',
  'sampling/createMessage',
  'tools/CALL',
  'rpc.discover',
  '__proto__',
];
const method = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...METHODS) },
  { weight: 1, arbitrary: oddText },
  { weight: 1, arbitrary: fc.constantFrom(1, null, [], {}) },
);
/** Nesting described by its depth, built when the body is written. */
const deepJson = fc
  .tuple(
    fc.oneof(
      { weight: 6, arbitrary: fc.integer({ min: 2, max: 200 }) },
      { weight: 2, arbitrary: fc.integer({ min: 200, max: 5_000 }) },
      { weight: 1, arbitrary: fc.integer({ min: 5_000, max: 30_000 }) },
    ),
    fc.constantFrom('[', '{"a":'),
  )
  .map(([depth, open]) => open.repeat(depth) + (open === '[' ? ']'.repeat(depth) : `1${'}'.repeat(depth)}`));
const toolName = fc.oneof(
  fc.constantFrom('echo', 'pid', 'headers', 'cancellations', 'tool_0001', 'slow', 'crash', 'nope'),
  fc.constantFrom(
    'probe__echo',
    'probe__pid',
    'probe__slow',
    'PROBE__echo',
    'probe__echo\u200b',
    'probe___echo',
  ),
  oddText,
  fc.constantFrom(1, null, {}, []),
);
const argumentsValue = fc.oneof(
  fc.record(
    {
      text: fc.oneof(oddText, fc.constantFrom('aaaa', `${'a'.repeat(5000)}!`), fc.jsonValue({ maxDepth: 2 })),
      opts: fc.oneof(fc.constant({ force: true }), fc.jsonValue({ maxDepth: 2 })),
      why: fc.jsonValue({ maxDepth: 1 }),
      ms: fc.constantFrom(1e9, -1, 'x'),
    },
    { requiredKeys: [] },
  ),
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(null, 'string', 42, [], [1, 2]),
);
const params = fc.oneof(
  { weight: 4, arbitrary: fc.record({ name: toolName, arguments: argumentsValue }, { requiredKeys: [] }) },
  {
    weight: 1,
    arbitrary: fc.record(
      {
        uri: fc.oneof(oddText, fc.constantFrom('file:///etc/passwd', 'demo://x')),
        cursor: fc.oneof(oddText, fc.constantFrom('eyJwcm9iZSI6IjEifQ', 'e30')),
        ref: fc.jsonValue({ maxDepth: 2 }),
        level: oddText,
        requestId: id,
        _meta: fc.record({ progressToken: id }),
        protocolVersion: oddText,
        capabilities: fc.jsonValue({ maxDepth: 2 }),
      },
      { requiredKeys: [] },
    ),
  },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
);
const message: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record(
      {
        jsonrpc: fc.oneof(
          { weight: 8, arbitrary: fc.constant('2.0') },
          { weight: 1, arbitrary: fc.constantFrom('1.0', 2, null, '2.0 ') },
        ),
        id,
        method,
        params,
      },
      { requiredKeys: ['method'] },
    ),
  },
  {
    weight: 1,
    arbitrary: fc.record(
      {
        jsonrpc: fc.constant('2.0'),
        id,
        result: fc.jsonValue({ maxDepth: 2 }),
        error: fc.record({ code: fc.oneof(fc.integer(), oddText), message: oddText }, { requiredKeys: [] }),
      },
      { requiredKeys: ['jsonrpc'] },
    ),
  },
);
const body: fc.Arbitrary<string | number[]> = fc.oneof(
  { weight: 10, arbitrary: message.map((m) => JSON.stringify(m)) },
  {
    weight: 2,
    arbitrary: fc.array(message, { maxLength: 8 }).map((ms) => JSON.stringify(ms)),
  },
  {
    weight: 1,
    arbitrary: fc
      .integer({ min: 99, max: 120 })
      .map((n) => JSON.stringify(Array(n).fill({ jsonrpc: '2.0', method: 'ping', id: 1 }))),
  },
  {
    weight: 2,
    arbitrary: fc.tuple(message, fc.nat()).map(([m, cut]) => {
      const text = JSON.stringify(m);
      return text.slice(0, cut % Math.max(1, text.length));
    }),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '',
      '{',
      '[',
      'null',
      '"x"',
      '1',
      'true',
      '[]',
      '[[]]',
      '{}',
      '\ufeff{"jsonrpc":"2.0","method":"ping","id":1}',
      '{"jsonrpc":"2.0","method":"ping","id":1}garbage',
      '{"jsonrpc":"2.0","method":"ping","id":1,"id":2}',
      '{"jsonrpc":"2.0","method":"ping","id":1,"__proto__":{"x":1}}',
      `{"jsonrpc":"2.0","method":"ping","id":1,"pad":"${'x'.repeat(MAX_BODY)}"}`,
    ),
  },
  { weight: 1, arbitrary: deepJson },
  {
    weight: 1,
    arbitrary: deepJson.map(
      (deep) =>
        `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"echo","arguments":{"opts":${deep}}}}`,
    ),
  },
  { weight: 1, arbitrary: fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 200 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
);
const sessionHeader = fc.oneof(
  { weight: 8, arbitrary: fc.constant('<own>') },
  { weight: 1, arbitrary: fc.constantFrom(SESSION_PROBE, SESSION_AGGREGATE) },
  { weight: 1, arbitrary: fc.constantFrom('', '00000000-0000-0000-0000-000000000000', 'x'.repeat(500)) },
  { weight: 1, arbitrary: headerText },
  { weight: 1, arbitrary: fc.constant(undefined) },
);
const path = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom('/mcp/probe', '/mcp') },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '/mcp/nope',
      '/mcp/probe/extra',
      '/mcp/probe?x=1',
      '/mcp/%E0%A4%A',
      '/mcp/%',
      '/mcp/..%2fprobe',
      '/mcp//probe',
      '/sse',
      '/sse/probe',
      '/messages?sessionId=x',
      '/messages',
      '/',
      '//',
      '/MCP',
      '/mcp/pr%6Fbe',
      `/mcp/${'a'.repeat(3000)}`,
    ),
  },
  { weight: 1, arbitrary: headerText.map((s) => `/mcp/${encodeURIComponent(s)}`) },
);
const contentType = fc.oneof(
  { weight: 8, arbitrary: fc.constant('application/json') },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      'text/plain',
      'APPLICATION/JSON',
      'application/json; charset=utf-16',
      'multipart/form-data; boundary=x',
      'application/jsonx',
      '',
    ),
  },
  { weight: 1, arbitrary: fc.constant(undefined) },
);
const accept = fc.oneof(
  { weight: 8, arbitrary: fc.constant('application/json, text/event-stream') },
  {
    weight: 1,
    arbitrary: fc.constantFrom('application/json', 'text/event-stream', '*/*', '', 'text/html'),
  },
  { weight: 1, arbitrary: fc.constant(undefined) },
);
const extraHeaders = fc.record(
  {
    authorization: fc.oneof(
      fc.constantFrom('Bearer ', 'Bearer wdn_0000_x', 'Basic YWRtaW46YWRtaW4=', 'bearer x'),
      headerText,
    ),
    'mcp-protocol-version': fc.oneof(fc.constantFrom('2025-06-18', '2099-01-01', ''), headerText),
    host: fc.constantFrom('evil.example', 'localhost', '127.0.0.1:1', '[::1]'),
    origin: fc.constantFrom('http://evil.example', 'null', 'http://localhost'),
    'x-forwarded-for': headerText,
    cookie: headerText,
  },
  { requiredKeys: [] },
);
const agentRequest: fc.Arbitrary<FuzzRequest> = fc
  .record({
    method: fc.oneof(
      { weight: 12, arbitrary: fc.constant('POST') },
      { weight: 1, arbitrary: fc.constantFrom('GET', 'DELETE', 'PUT', 'PATCH', 'OPTIONS', 'HEAD', 'TRACE') },
    ),
    path,
    session: sessionHeader,
    contentType,
    accept,
    extra: fc.oneof({ weight: 6, arbitrary: fc.constant({}) }, { weight: 1, arbitrary: extraHeaders }),
    body: fc.option(body, { freq: 20, nil: undefined }),
  })
  .map((r) => {
    const headers: Record<string, string> = { ...r.extra };
    if (r.contentType !== undefined) headers['content-type'] = r.contentType;
    if (r.accept !== undefined) headers.accept = r.accept;
    if (r.session !== undefined) headers['mcp-session-id'] = r.session;
    return { method: r.method, path: r.path, headers, body: r.body };
  });

const adminRequest: fc.Arbitrary<FuzzRequest> = fc
  .record({
    method: fc.constantFrom('GET', 'POST', 'DELETE', 'PUT', 'OPTIONS'),
    path: fc.oneof(
      fc.constantFrom(
        '/api/approvals?status=pending',
        '/api/approvals?status=%E0',
        '/api/approvals/x/approve',
        '/api/approvals/%E0%A4%A/deny',
        '/api/audit?limit=1e308',
        '/api/audit?limit=-1',
        '/api/tools',
        '/api/tools/probe/echo/accept',
        '/api/tools/%/%/accept',
        '/api/grants',
        '/api/grants/x/revoke',
        '/api/grants/%ZZ/rotate',
        '/api/',
        '/api',
        '/api/../healthz',
        '/healthz',
        '/metrics',
      ),
      headerText.map((s) => `/api/${encodeURIComponent(s)}`),
      fc
        .array(fc.oneof(headerText, fc.constantFrom('approvals', 'grants', 'tools', 'approve', '%', '..')), {
          maxLength: 4,
        })
        .map(
          (segs) =>
            `/api/${segs.map((x) => (x === '%' || x === '..' ? x : encodeURIComponent(x))).join('/')}`,
        ),
    ),
    authorization: fc.oneof(
      fc.constant(undefined),
      fc.constantFrom('Bearer ', 'Bearer wrong', 'Basic YWRtaW46YWRtaW4=', 'Bearer wdn_0000_x', 'bearer'),
      headerText,
    ),
    contentType: fc.option(fc.constantFrom('application/json', 'text/plain'), { nil: undefined }),
    body: fc.option(
      fc.oneof(
        fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v)),
        oddText,
      ),
      {
        nil: undefined,
      },
    ),
  })
  .map((r) => {
    const headers: Record<string, string> = {};
    if (r.authorization !== undefined) headers.authorization = r.authorization;
    if (r.contentType !== undefined) headers['content-type'] = r.contentType;
    return { method: r.method, path: r.path, headers, body: r.body };
  });

// ---------------------------------------------------------------------------------------------------------------
// Sending: concurrently over keep-alive; each request must be answered (status line) within REQUEST_TIMEOUT_MS.

interface Answer {
  status: number;
  contentType: string;
  body: string;
}

function pick(list: readonly string[], n: number): string {
  return list[n % list.length]!;
}

let counter = 0;

/** Fills the session placeholders: `<own>` is a live session of the endpoint the request goes to. */
function materialize(r: FuzzRequest): FuzzRequest {
  const n = counter++;
  const own = r.path.startsWith('/mcp/probe') ? sessions.probe : sessions.aggregate;
  const sid = r.headers['mcp-session-id'];
  if (sid === undefined) return r;
  const value =
    sid === '<own>'
      ? pick(own, n)
      : sid === SESSION_PROBE
        ? pick(sessions.probe, n)
        : sid === SESSION_AGGREGATE
          ? pick(sessions.aggregate, n)
          : sid;
  // A DELETE of a live session would end the fuzzing of it: those get a made-up id instead.
  const safe =
    r.method === 'DELETE' && [...sessions.probe, ...sessions.aggregate].includes(value) ? 'gone' : value;
  return { ...r, headers: { ...r.headers, 'mcp-session-id': safe } };
}

/**
 * One request. A keep-alive socket the server closed as idle just when the client reused it fails before anything is
 * sent (Node's documented race, `reusedSocket`): that attempt is made again once, and counted.
 */
async function send(target: URL, r: FuzzRequest): Promise<Answer> {
  try {
    return await attempt(target, r);
  } catch (err) {
    if (!(err as { reused?: boolean }).reused) throw err;
    stats.staleSocketRetries++;
    return attempt(target, r);
  }
}

function attempt(target: URL, r: FuzzRequest): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const payload =
      r.body === undefined
        ? undefined
        : typeof r.body === 'string'
          ? Buffer.from(r.body)
          : Buffer.from(r.body);
    const headers: Record<string, string | number> = { ...r.headers };
    if (payload !== undefined) headers['content-length'] = payload.length;
    const req = request(
      { host: target.hostname, port: target.port, method: r.method, path: r.path, headers, agent },
      (res) => {
        const contentType = String(res.headers['content-type'] ?? '');
        // An event stream that stays open (a GET's standalone stream) is answered once its status line is.
        if (contentType.startsWith('text/event-stream') && r.method === 'GET') {
          clearTimeout(timer);
          res.destroy();
          resolve({ status: res.statusCode ?? 0, contentType, body: '' });
          return;
        }
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, contentType, body: Buffer.concat(chunks).toString('utf8') });
        });
        res.on('error', (err) => {
          clearTimeout(timer);
          reject(err);
        });
      },
    );
    const timer = setTimeout(() => {
      req.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`));
    }, REQUEST_TIMEOUT_MS);
    req.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const stale = req.reusedSocket && (err.code === 'ECONNRESET' || err.message === 'socket hang up');
      reject(Object.assign(err, { reused: stale }));
    });
    req.end(payload);
  });
}

function count(into: Record<string, number>, key: string | number): void {
  into[key] = (into[key] ?? 0) + 1;
}

/** What every answer must be: a status other than 500, and when it says JSON, JSON-RPC 2.0 that parses. */
function checkAgentAnswer(r: FuzzRequest, a: Answer): void {
  count(stats.statuses, a.status);
  expect(a.status, `${r.method} ${r.path}: ${a.body.slice(0, 300)}`).not.toBe(500);
  expect(a.status).toBeGreaterThanOrEqual(200);
  expect(a.status).toBeLessThan(600);
  const messages: unknown[] = [];
  const parse = (text: string): unknown => {
    try {
      return JSON.parse(text);
    } catch (err) {
      const shown = JSON.stringify(text.slice(0, 200));
      throw new Error(`${r.method} ${r.path} -> ${a.status} ${a.contentType}: unparsable ${shown}`, {
        cause: err,
      });
    }
  };
  if (r.method === 'HEAD') return; // no body, by definition
  if (a.contentType.startsWith('application/json')) {
    const value = parse(a.body);
    messages.push(...(Array.isArray(value) ? value : [value]));
  } else if (a.contentType.startsWith('text/event-stream')) {
    for (const line of a.body.split('\n')) if (line.startsWith('data: ')) messages.push(parse(line.slice(6)));
  }
  for (const m of messages) {
    expect(m).toMatchObject({ jsonrpc: '2.0' });
    const error = (m as { error?: { code: number } }).error;
    if (error !== undefined) {
      count(stats.rpcErrors, error.code);
      // The gateway's own fault (-32603 "Internal error in mcp-warden") is never the answer to a client's bad input.
      // (The probe, an SDK server, answers some bad params with -32603 of its own: relayed, and counted.)
      const message = (error as { message?: unknown }).message;
      expect(message, `${r.method} ${r.path}: ${JSON.stringify(m).slice(0, 300)}`).not.toBe(
        'Internal error in mcp-warden',
      );
    }
  }
}

/** Sends a batch with CONCURRENCY requests in flight at any time; checks every answer; the slowest are kept. */
async function sendAll(
  target: URL,
  batch: readonly FuzzRequest[],
  check: (r: FuzzRequest, a: Answer) => void,
) {
  const requests = batch.map(materialize);
  const answers: Array<PromiseSettledResult<Answer>> = new Array(requests.length);
  let next = 0;
  const worker = async () => {
    while (next < requests.length) {
      const i = next++;
      const started = performance.now();
      try {
        answers[i] = { status: 'fulfilled', value: await send(target, requests[i]!) };
      } catch (reason) {
        answers[i] = { status: 'rejected', reason };
      }
      const ms = performance.now() - started;
      if (ms > stats.slowestMs) {
        stats.slowestMs = Math.round(ms);
        stats.slowest = `${requests[i]!.method} ${requests[i]!.path} ${String(requests[i]!.body).slice(0, 120)}`;
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  answers.forEach((a, i) => {
    const r = requests[i]!;
    const shown = `${r.method} ${r.path} ${JSON.stringify(r.headers)} ${String(r.body).slice(0, 200)}`;
    expect(a.status === 'fulfilled', `${shown}: ${a.status === 'rejected' ? a.reason : ''}`).toBe(true);
    if (a.status === 'fulfilled') check(r, a.value);
  });
}

async function heapUsed(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 50));
  }
  return process.memoryUsage().heapUsed;
}

async function stillServes(): Promise<void> {
  const client = await connect(`${gw.mcpUrl}/probe`);
  expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'still here' } }))).toBe(
    'still here',
  );
  expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'aaaa' } }))).toMatch(
    /^\[POLICY DENIED\]/,
  );
  await client.close();
}

describe('agent HTTP endpoint fuzz', () => {
  it(`answers ${BATCH * RUNS} generated malformed requests, none with a 500 or an internal error, in bounded memory, and still serves`, async () => {
    // Warm-up: the code paths compiled and the pools filled before the heap is measured.
    await fc.assert(
      fc.asyncProperty(fc.array(agentRequest, { minLength: BATCH, maxLength: BATCH }), (batch) =>
        sendAll(base, batch, checkAgentAnswer),
      ),
      { seed: SEEDS.http - 1, numRuns: 4, endOnFailure: true },
    );
    stats.heapBefore = await heapUsed();
    const started = performance.now();
    await fc.assert(
      fc.asyncProperty(fc.array(agentRequest, { minLength: BATCH, maxLength: BATCH }), async (batch) => {
        stats.sent += batch.length;
        await sendAll(base, batch, checkAgentAnswer);
      }),
      { seed: SEEDS.http, numRuns: RUNS, endOnFailure: true },
    );
    stats.fuzzMs = Math.round(performance.now() - started);
    expect(stats.sent).toBe(BATCH * RUNS);
    const health = (await (await fetch(new URL('/healthz', admin))).json()) as { sessions: number };
    expect(health.sessions).toBeLessThanOrEqual(MAX_SESSIONS);
    await stillServes();
    stats.heapAfter = await heapUsed();
    expect(stats.heapAfter - stats.heapBefore).toBeLessThan(HEAP_GROWTH_BOUND);
  }, 240_000);

  it('answers raw malformed HTTP (bad request lines, broken headers, bodies cut short) without crashing', async () => {
    const port = Number(base.port);
    const raws = fc.sample(
      fc.oneof(
        fc.constantFrom(
          'GARBAGE\r\n\r\n',
          'POST /mcp/probe HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\nContent-Type: application/json\r\n\r\n{"jsonrpc":',
          'POST /mcp/probe HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\nZZ\r\n',
          'POST /mcp/probe HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: -1\r\n\r\n',
          'POST /mcp/probe HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab',
          `GET /mcp/probe HTTP/1.1\r\nHost: 127.0.0.1\r\nX: ${'x'.repeat(20_000)}\r\n\r\n`,
          'GET /mcp HTTP/1.1\r\nHo st: x\r\n\r\n',
          'GET \u0000 HTTP/1.1\r\n\r\n',
          'POST /mcp/probe HTTP/9.9\r\n\r\n',
        ),
        fc.string({ unit: 'binary', maxLength: 300 }),
        fc.string({ maxLength: 300 }).map((s) => `POST /mcp HTTP/1.1\r\n${s}\r\n\r\n`),
      ),
      { seed: SEEDS.http + 1, numRuns: 500 },
    );
    await Promise.all(
      raws.map(
        (raw) =>
          new Promise<void>((resolve) => {
            const socket = netConnect(port, '127.0.0.1', () => socket.end(raw));
            socket.on('data', () => {});
            socket.setTimeout(2_000, () => socket.destroy());
            socket.on('close', () => resolve());
            socket.on('error', () => {});
            stats.rawSockets++;
          }),
      ),
    );
    await stillServes();
  }, 60_000);
});

describe('admin port fuzz', () => {
  it('answers generated /api/* requests without a valid admin token with 401 (or 404 outside /api), never a 500', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(adminRequest, { minLength: BATCH, maxLength: BATCH }), (batch) =>
        sendAll(admin, batch, (r, a) => {
          stats.adminSent++;
          count(stats.adminStatuses, a.status);
          const shown = `${r.method} ${r.path} -> ${a.status} ${a.body.slice(0, 200)}`;
          expect(a.status, shown).not.toBe(500);
          const apiPath = new URL(r.path, 'http://x').pathname;
          if (apiPath.startsWith('/api/')) expect(a.status, shown).toBe(401);
          if (a.contentType.startsWith('application/json')) JSON.parse(a.body);
        }),
      ),
      { seed: SEEDS.http + 2, numRuns: ADMIN_RUNS, endOnFailure: true },
    );
  }, 60_000);
});

describe('agent HTTP endpoint fuzz findings', () => {
  const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
  const call = async (sid: string, body: unknown) => {
    const res = await fetch(new URL('/mcp/probe', base), {
      method: 'POST',
      headers: { ...headers, 'mcp-session-id': sid },
      body: typeof body === 'string' ? body : JSON.stringify(body),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    return { status: res.status, body: (await res.json()) as { error?: { code: number; message: string } } };
  };
  const echo = (id: unknown, args: unknown) => ({
    jsonrpc: '2.0',
    id,
    method: 'tools/call',
    params: { name: 'echo', arguments: args },
  });

  it('finding: a malformed %-escape in the server segment of the path is a 404, not a 500', async () => {
    for (const path of ['/mcp/%E0%A4%A', '/mcp/%', '/mcp/%ZZ']) {
      const res = await fetch(new URL(path, base), { method: 'POST', headers, body: '{}' });
      expect(res.status, path).toBe(404);
      expect(await res.json()).toMatchObject({ error: { message: 'Not found' } });
    }
  });

  it('finding: deeply nested tools/call arguments are an invalid request, not an internal error of the audit hash', async () => {
    const sid = await openSession('/mcp/probe');
    const deep = `${'['.repeat(10_000)}${']'.repeat(10_000)}`;
    const answer = await call(
      sid,
      `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"opts":${deep}}}}`,
    );
    expect(answer.status).toBe(400);
    expect(answer.body.error).toEqual({
      code: -32600,
      message: 'Invalid Request: params are nested deeper than 128 levels',
    });
    expect(
      await call(sid, echo(2, { text: 'fine', opts: JSON.parse(`${'['.repeat(100)}${']'.repeat(100)}`) })),
    ).toMatchObject({
      status: 200,
      body: { result: { content: [{ text: 'fine' }] } },
    });
  });

  it('finding: a request id reused by a concurrent POST in the same session no longer leaves the first POST unanswered', async () => {
    const sid = await openSession('/mcp/probe');
    const [first, second] = await Promise.all([
      call(sid, echo('1', { text: 'first' })),
      call(sid, echo('1', { text: 'second' })),
    ]);
    const answers = [first, second].sort((a, b) => a.status - b.status);
    expect(answers[0]).toMatchObject({
      status: 200,
      body: { result: { content: [{ text: expect.any(String) }] } },
    });
    expect(answers[1]).toMatchObject({
      status: 400,
      body: { error: { code: -32600, message: expect.stringMatching(/already in use/) } },
    });
    // Once answered, the id is free again.
    expect(await call(sid, echo('1', { text: 'again' }))).toMatchObject({ status: 200 });
  });

  it('finding: tools/call arguments that are not an object are refused, instead of passing every deny_if unexamined', async () => {
    const sid = await openSession('/mcp/probe');
    expect((await call(sid, echo(1, { text: 'aaaa' }))).body).toMatchObject({ result: { isError: true } });
    for (const args of [['aaaa'], 'aaaa', 42, null]) {
      expect((await call(sid, echo(2, args))).body.error, JSON.stringify(args)).toEqual({
        code: -32602,
        message: 'Invalid params: arguments must be an object',
      });
    }
  });
});
