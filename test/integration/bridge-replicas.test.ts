// The bridge of a 2026 client in front of a 2025 upstream, across replicas sharing Redis (#18 part 3): the upstream's
// elicitation parks the call on the replica that received the first request; the client's retry, arriving at another
// replica, is relayed to the holder over Redis and answered with the call's result. Replays, altered states, states
// of another endpoint and a holder that is gone are refused with a JSON-RPC error, never left hanging.
import { randomBytes } from 'node:crypto';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Client as ClientV2, StreamableHTTPClientTransport as HttpV2 } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BridgeRelay, NOT_SEALED } from '../../src/era/bridge-relay.js';
import { createLogger } from '../../src/log.js';
import { RedisBridgeBus } from '../../src/state/bridge-bus.js';
import { adminRequest, ROOT, type RunningGateway, startGateway, textOf } from '../helpers/gateway.js';
import { redisStateYaml, redisUrl, shouldRunRedis, TEST_STATE_PREFIX } from '../helpers/services.js';

const CONFORMANCE = join(ROOT, 'test/fixtures/conformance-server.ts');
const ISOLATION = join(ROOT, 'test/fixtures/isolation-server.ts');
const STATE_KEY = randomBytes(32).toString('base64url');
const ADMIN = 'bridge-replicas-admin-token';
process.env.WARDEN_ADMIN_TOKEN = ADMIN;
const YAML = `
mcpServers:
  legacy:
    command: node
    args: ["--import", "tsx", "${CONFORMANCE}", "--stdio"]
    cwd: ${ROOT}
  iso:
    command: node
    args: ["--import", "tsx", "${ISOLATION}"]
    cwd: ${ROOT}
approvals:
  stateKey: "${STATE_KEY}"
${redisStateYaml()}`;

type Json = Record<string, unknown>;

/**
 * A load balancer without affinity, as the bridge meets it: a request that carries a requestState goes to the second
 * backend, every other request to the first.
 */
function splitBalancer(
  first: string,
  second: string,
): Promise<{ url: string; server: Server; hits: number[] }> {
  const hits = [0, 0];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const i = body.includes('"requestState"') ? 1 : 0;
      hits[i]!++;
      const target = new URL(req.url ?? '/', i === 0 ? first : second);
      const upstream = request(
        target,
        { method: req.method, headers: { ...req.headers, host: target.host } },
        (r) => {
          res.writeHead(r.statusCode ?? 502, r.headers);
          r.pipe(res);
        },
      );
      upstream.on('error', () => res.destroy());
      upstream.end(body);
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, hits }),
    ),
  );
}

/** One 2026 request by hand, so that it goes to the replica chosen; the JSON-RPC message that answers it. */
async function call2026(
  base: string,
  extra: Json = {},
  endpoint = '/legacy',
  name = 'test_elicitation',
  args: Json = { message: 'Who are you?' },
): Promise<Json> {
  const res = await fetch(`${base}${endpoint}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': '2026-07-28',
      'mcp-method': 'tools/call',
      'mcp-name': name,
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 7,
      method: 'tools/call',
      params: {
        name,
        arguments: args,
        ...extra,
        _meta: {
          'io.modelcontextprotocol/protocolVersion': '2026-07-28',
          'io.modelcontextprotocol/clientCapabilities': { elicitation: { form: {} } },
          'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' },
        },
      },
    }),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  if (!(res.headers.get('content-type') ?? '').includes('text/event-stream')) return JSON.parse(text) as Json;
  const events = text
    .split('\n')
    .filter((l) => l.startsWith('data:'))
    .map((l) => JSON.parse(l.slice(5)) as Json);
  return events.find((e) => 'result' in e || 'error' in e)!;
}

const answer = { action: 'accept' as const, content: { username: 'ada', email: 'ada@example.com' } };
const retryWith = (state: unknown): Json => ({
  requestState: state,
  inputResponses: { 'mcp-warden/upstream': answer },
});

/** The first request of a bridged call on `base`: its InputRequiredResult's requestState. */
async function parkOn(base: string): Promise<string> {
  const first = await call2026(base);
  const result = first.result as Json;
  expect(result.resultType).toBe('input_required');
  expect(Object.keys(result.inputRequests as Json)).toEqual(['mcp-warden/upstream']);
  return result.requestState as string;
}

describe('#18.7 bridge across replicas', async () => {
  const run = await shouldRunRedis('bridge across replicas');
  let a: RunningGateway;
  let b: RunningGateway;
  let lb: Awaited<ReturnType<typeof splitBalancer>>;

  beforeAll(async () => {
    if (!run) return;
    [a, b] = await Promise.all([startGateway(YAML), startGateway(YAML)]);
    lb = await splitBalancer(new URL(a.mcpUrl).origin, new URL(b.mcpUrl).origin);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    lb?.server.close();
  });

  it.runIf(run)(
    "#18.7.11 the SDK v2 client's retry reaches the other replica and gets the call's result from the holder",
    async () => {
      const client = new ClientV2(
        { name: 'bridge-replicas', version: '1.0.0' },
        { capabilities: { elicitation: { form: {} } }, versionNegotiation: { mode: { pin: '2026-07-28' } } },
      );
      const asked: Json[] = [];
      client.setRequestHandler('elicitation/create', async (req) => {
        asked.push(req.params as Json);
        return answer;
      });
      await client.connect(new HttpV2(new URL(`${lb.url}/mcp/legacy`)));
      const before = [...lb.hits];
      const result = await client.callTool({
        name: 'test_elicitation',
        arguments: { message: 'Who are you?' },
      });
      expect(asked.map((p) => p.message)).toEqual(['Who are you?']);
      expect(textOf(result)).toBe(
        'User response: action=accept, content={"username":"ada","email":"ada@example.com"}',
      );
      // The first request went to A, the retry (with the state) to B.
      expect(lb.hits[0]! - before[0]!).toBe(1);
      expect(lb.hits[1]! - before[1]!).toBe(1);
      await client.close();
    },
    60_000,
  );

  it.runIf(run)(
    '#18.7.12 a state names its holder sealed: the retry on B is relayed to A',
    async () => {
      const state = await parkOn(a.mcpUrl);
      expect(state).toMatch(/^mcpwb1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
      const done = await call2026(b.mcpUrl, retryWith(state));
      expect(done.id).toBe(7);
      expect(textOf(done.result)).toBe(
        'User response: action=accept, content={"username":"ada","email":"ada@example.com"}',
      );
    },
    60_000,
  );

  it.runIf(run)(
    '#18.7.13 a replayed state is refused on either replica, and the call does not run again',
    async () => {
      const state = await parkOn(a.mcpUrl);
      expect(textOf((await call2026(b.mcpUrl, retryWith(state))).result)).toContain('User response');
      for (const replica of [b, a]) {
        const again = await call2026(replica.mcpUrl, retryWith(state));
        expect(again.result).toBeUndefined();
        expect((again.error as Json).code).toBe(-32602);
        expect((again.error as Json).message).toContain('names no upstream request waiting here');
      }
    },
    60_000,
  );

  it.runIf(run)(
    '#18.7.14 an altered state is refused before anything is relayed; the true one still works',
    async () => {
      const state = await parkOn(a.mcpUrl);
      const [, payload, mac] = state.split('.') as [string, string, string];
      const body = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Json;
      const forgedPayload = Buffer.from(JSON.stringify({ ...body, r: 'another-replica' })).toString(
        'base64url',
      );
      const flipped = `${mac.slice(0, -2)}${mac.at(-2) === 'A' ? 'B' : 'A'}${mac.at(-1)}`;
      for (const bad of [
        `mcpwb1.${forgedPayload}.${mac}`,
        `mcpwb1.${payload}.${flipped}`,
        `mcpwb1.${payload}`,
        `mcpwb1.${body.t as string}`,
      ]) {
        const refused = await call2026(b.mcpUrl, retryWith(bad));
        expect((refused.error as Json).code, bad).toBe(-32602);
        expect((refused.error as Json).message).toContain('not issued by warden, or was altered');
      }
      // None of that spent the parked request: the genuine state still resumes it.
      expect(textOf((await call2026(b.mcpUrl, retryWith(state))).result)).toContain('User response');
    },
    60_000,
  );

  it.runIf(run)(
    '#18.7.15 a state used for another endpoint or another call is refused',
    async () => {
      const state = await parkOn(a.mcpUrl);
      const elsewhere = await call2026(b.mcpUrl, retryWith(state), '', 'legacy__test_elicitation');
      expect((elsewhere.error as Json).message).toContain('issued to another caller or for another endpoint');
      // Same endpoint, other arguments: the holder refuses it, as for a local retry.
      const res = await fetch(`${b.mcpUrl}/legacy`, {
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
          id: 8,
          method: 'tools/call',
          params: {
            name: 'test_elicitation',
            arguments: { message: 'Something else' },
            ...retryWith(state),
            _meta: {
              'io.modelcontextprotocol/protocolVersion': '2026-07-28',
              'io.modelcontextprotocol/clientCapabilities': { elicitation: {} },
              'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' },
            },
          },
        }),
      });
      const other = (await res.json()) as Json;
      expect((other.error as Json).message).toContain('not the call the upstream asked about');
      // Neither refusal spent it.
      expect(textOf((await call2026(b.mcpUrl, retryWith(state))).result)).toContain('User response');
    },
    60_000,
  );

  it.runIf(run)(
    '#18.7.19 a call of several rounds: each retry on B is relayed to A, whose next question names A again',
    async () => {
      const ask = (extra: Json) => call2026(b.mcpUrl, extra, '/iso', 'ask', { question: 'Q', times: 2 });
      const first = (await call2026(a.mcpUrl, {}, '/iso', 'ask', { question: 'Q', times: 2 })).result as Json;
      expect(first.resultType).toBe('input_required');
      const holderOf = (state: unknown) =>
        (JSON.parse(Buffer.from(String(state).split('.')[1]!, 'base64url').toString()) as Json).r;
      const reply = (n: number, state: unknown) => ({
        requestState: state,
        inputResponses: { 'mcp-warden/upstream': { action: 'accept', content: { answer: `a${n}` } } },
      });
      const second = (await ask(reply(1, first.requestState))).result as Json;
      expect(second.resultType).toBe('input_required');
      const question = (second.inputRequests as Record<string, { params: Json }>)['mcp-warden/upstream']!;
      expect(question.params.message).toBe('Q 2');
      expect(second.requestState).not.toBe(first.requestState);
      expect(holderOf(second.requestState)).toBe(holderOf(first.requestState));
      const done = (await ask(reply(2, second.requestState))).result as Json;
      expect(done.resultType).toBe('complete');
      expect(JSON.parse(textOf(done))).toEqual([
        { action: 'accept', content: { answer: 'a1' } },
        { action: 'accept', content: { answer: 'a2' } },
      ]);
      // The holder (A) leaves the records of all three requests, linked; B, which only relayed, none.
      await new Promise((r) => setTimeout(r, 200));
      const rounds = async (gw: RunningGateway) =>
        (await adminRequest(gw, ADMIN, '/api/audit?limit=1000')).body.filter(
          (r) => r.tool === 'ask' && r.round !== undefined,
        );
      const onA = await rounds(a);
      const of = (onA.find((r) => (r.round as Json).n === 3)!.round as Json).of;
      expect(
        onA
          .filter((r) => (r.round as Json).of === of)
          .map((r) => (r.round as Json).n)
          .sort(),
      ).toEqual([1, 2, 3]);
      expect((await rounds(b)).filter((r) => (r.round as Json).of === of)).toEqual([]);
    },
    60_000,
  );

  it.runIf(run)(
    '#18.7.20 closing the retry on B cancels the call on A',
    async () => {
      const count = async () =>
        Number(textOf((await call2026(a.mcpUrl, {}, '/iso', 'cancellations', {})).result));
      const before = await count();
      const first = (await call2026(a.mcpUrl, {}, '/iso', 'ask', { question: 'Q', sleep: 60_000 }))
        .result as Json;
      const aborted = new AbortController();
      const retry = fetch(`${b.mcpUrl}/iso`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'mcp-protocol-version': '2026-07-28',
          'mcp-method': 'tools/call',
          'mcp-name': 'ask',
        },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 9,
          method: 'tools/call',
          params: {
            name: 'ask',
            arguments: { question: 'Q', sleep: 60_000 },
            requestState: first.requestState,
            inputResponses: { 'mcp-warden/upstream': { action: 'accept', content: { answer: 'x' } } },
            _meta: {
              'io.modelcontextprotocol/protocolVersion': '2026-07-28',
              'io.modelcontextprotocol/clientCapabilities': { elicitation: {} },
              'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' },
            },
          },
        }),
        signal: aborted.signal,
      }).catch((err: Error) => err);
      await new Promise((r) => setTimeout(r, 500));
      aborted.abort();
      expect(await retry).toBeInstanceOf(Error);
      const until = Date.now() + 10_000;
      let after = await count();
      while (after === before && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 100));
        after = await count();
      }
      expect(after).toBe(before + 1);
    },
    60_000,
  );

  it.runIf(run)('#18.7.21 a Redis that cannot be reached ends the relayed retry with an error', async () => {
    const { relay } = BridgeRelay.start({
      bus: RedisBridgeBus.open('redis://127.0.0.1:1'),
      key: randomBytes(32),
      prefix: TEST_STATE_PREFIX,
      log: createLogger('silent'),
    });
    const got: Json[] = [];
    relay.relay(
      'elsewhere',
      'hub',
      { jsonrpc: '2.0', id: 5, method: 'tools/call', params: {} },
      {
        deliver: (m) => got.push(m as unknown as Json),
        end: () => {},
      },
    );
    const until = Date.now() + 5000;
    while (got.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    expect(got).toHaveLength(1);
    expect((got[0]!.error as Json).code).toBe(-32603);
    expect((got[0]!.error as Json).message).toContain('The bridge relay (Redis) is unavailable');
    await relay.close();
  });

  it.runIf(run)(
    '#18.7.16 a retry whose holder is gone gets an error at once',
    async () => {
      const c = await startGateway(YAML);
      const state = await parkOn(c.mcpUrl);
      await c.close();
      const started = Date.now();
      const gone = await call2026(b.mcpUrl, retryWith(state));
      expect((gone.error as Json).code).toBe(-32603);
      expect((gone.error as Json).message).toContain('The replica that held this call is gone');
      expect(Date.now() - started).toBeLessThan(2000);
    },
    60_000,
  );
});

describe('#18.7 bridge relay', async () => {
  const run = await shouldRunRedis('bridge relay');
  const log = createLogger('silent');
  const key = randomBytes(32);
  const open = (silenceMs: number) =>
    BridgeRelay.start({
      bus: RedisBridgeBus.open(redisUrl()),
      key,
      prefix: TEST_STATE_PREFIX,
      log,
      beatMs: 100,
      silenceMs,
    });

  it.runIf(run)(
    '#18.7.17 a holder that stops while the call runs ends the relayed retry with an error after its beats stop',
    async () => {
      const holder = open(500);
      const asker = open(500);
      await Promise.all([holder.ready, asker.ready]);
      let cancelled = false;
      holder.relay.serve(() => () => {
        cancelled = true;
      });
      const got: Json[] = [];
      asker.relay.relay(
        holder.relay.replica,
        'hub',
        { jsonrpc: '2.0', id: 3, method: 'tools/call', params: {} },
        { deliver: (m) => got.push(m as unknown as Json), end: () => got.push({ ended: true }) },
      );
      // The holder's beats keep the retry waiting well past the silence limit.
      await new Promise((r) => setTimeout(r, 1200));
      expect(got).toEqual([]);
      await holder.relay.close();
      const stopped = Date.now();
      while (got.length === 0 && Date.now() - stopped < 5000) await new Promise((r) => setTimeout(r, 20));
      expect(got).toHaveLength(1);
      expect(got[0]!.id).toBe(3);
      expect((got[0]!.error as Json).code).toBe(-32603);
      expect((got[0]!.error as Json).message).toContain('did not answer');
      expect(cancelled).toBe(false);
      await asker.relay.close();
    },
    20_000,
  );

  it.runIf(run)(
    '#18.7.22 a state opens only under the same key and for the same caller and endpoint',
    async () => {
      const one = open(5000);
      const other = BridgeRelay.start({
        bus: RedisBridgeBus.open(redisUrl()),
        key: randomBytes(32),
        prefix: TEST_STATE_PREFIX,
        log,
      });
      const state = one.relay.wrap('mcpwb1.token-of-a-parked-request', 'legacy\ngrant:g1');
      expect(one.relay.open(state, 'legacy\ngrant:g1')).toEqual({
        ok: true,
        replica: one.relay.replica,
        token: 'token-of-a-parked-request',
      });
      expect(other.relay.open(state, 'legacy\ngrant:g1')).toEqual({ ok: false, reason: NOT_SEALED });
      expect(one.relay.open(state, 'legacy\ngrant:g2')).toMatchObject({ ok: false });
      expect(one.relay.open(state, '\ngrant:g1')).toMatchObject({ ok: false });
      await Promise.all([one.relay.close(), other.relay.close()]);
    },
  );

  it.runIf(run)(
    '#18.7.18 closing the retry cancels the call on the holder',
    async () => {
      const holder = open(5000);
      const asker = open(5000);
      await Promise.all([holder.ready, asker.ready]);
      let cancelled = false;
      holder.relay.serve(() => () => {
        cancelled = true;
      });
      const cancel = asker.relay.relay(
        holder.relay.replica,
        'hub',
        { jsonrpc: '2.0', id: 4, method: 'tools/call', params: {} },
        { deliver: () => {}, end: () => {} },
      );
      await new Promise((r) => setTimeout(r, 200));
      cancel();
      const until = Date.now() + 3000;
      while (!cancelled && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      expect(cancelled).toBe(true);
      await Promise.all([holder.relay.close(), asker.relay.close()]);
    },
    20_000,
  );
});
