// The era matrix of issue #18: the real SDK v1 client (2025) and v2 client (pinned to 2026, and auto) through one
// warden to five upstreams (2025 stdio, 2025 HTTP, 2026-only HTTP, dual-era HTTP, and a 2026-only stdio server pinned
// with `protocol: 2026-07-28`), on /mcp/<id> and on /mcp. Every
// cell: connect, list, an allowed call, a denied call, elicitation, progress, list_changed, the headers warden sends
// upstream, and the metadata of results as they arrive on the wire.
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { Client as ClientV2, StreamableHTTPClientTransport as HttpV2 } from '@modelcontextprotocol/client';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ElicitRequestSchema, ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERA_2025, ERA_2026 } from '../../src/era/versions.js';
import {
  adminRequest,
  ROOT,
  type RunningGateway,
  spawnListening,
  startGateway,
  textOf,
} from '../helpers/gateway.js';

type Json = Record<string, any>;

const ADMIN = 'eras-matrix-admin-token';
process.env.WARDEN_ADMIN_TOKEN = ADMIN;
type ClientKind = '2025' | '2026' | 'auto';

const SUBSCRIPTION_ID = 'io.modelcontextprotocol/subscriptionId';
const LEGACY = join(ROOT, 'test/fixtures/legacy-server.ts');
const MODERN = join(ROOT, 'test/fixtures/modern-server.ts');

const UPSTREAMS = [
  { id: 'stdio25', label: '2025 stdio', era: ERA_2025, serverName: 'legacy-fixture' },
  { id: 'http25', label: '2025 HTTP', era: ERA_2025, serverName: 'legacy-fixture' },
  { id: 'only26', label: '2026-only HTTP', era: ERA_2026, serverName: 'modern-fixture-modern' },
  { id: 'dual', label: 'dual-era HTTP', era: ERA_2026, serverName: 'modern-fixture-dual' },
  { id: 'stdio26', label: '2026-only stdio', era: ERA_2026, serverName: 'modern-fixture-modern' },
] as const;

const POLICY = `    policy:
      version: "1"
      default: allow
      tools:
        delete_all: { action: deny, reason: "no mass deletes" }
`;

/** The 2026-only stdio fixture's own ttlMs/cacheScope on tools/list, asked directly over a pipe. */
async function stdioListHints(): Promise<Json> {
  const child = spawn(process.execPath, ['--import', 'tsx', MODERN, 'modern', '--stdio'], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'ignore'],
  });
  try {
    const meta = {
      'io.modelcontextprotocol/protocolVersion': ERA_2026,
      'io.modelcontextprotocol/clientCapabilities': {},
      'io.modelcontextprotocol/clientInfo': { name: 'matrix-direct', version: '1.0.0' },
    };
    child.stdin!.write(
      `${JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: meta } })}\n`,
    );
    let buffer = '';
    for await (const chunk of child.stdout!) {
      buffer += String(chunk);
      const nl = buffer.indexOf('\n');
      if (nl === -1) continue;
      const { result } = JSON.parse(buffer.slice(0, nl)) as { result: Json };
      return { ttlMs: result.ttlMs, cacheScope: result.cacheScope };
    }
    throw new Error('the 2026 stdio fixture said nothing');
  } finally {
    child.kill();
  }
}

function startFixture(file: string, args: string[]): Promise<{ url: string; child: ChildProcess }> {
  return spawnListening(file, args);
}

let gw: RunningGateway;
const fixtures: Array<{ url: string; child: ChildProcess }> = [];
/** What each 2026 upstream itself says about its tool list (ttlMs, cacheScope), asked directly. */
const ownListHints = new Map<string, Json>();

beforeAll(async () => {
  const [http25, only26, dual] = await Promise.all([
    startFixture(LEGACY, ['--port', '0']),
    startFixture(MODERN, ['modern', '0']),
    startFixture(MODERN, ['dual', '0']),
  ]);
  fixtures.push(http25, only26, dual);
  gw = await startGateway(`mcpServers:
  stdio25:
    command: node
    args: ["--import", "tsx", "${LEGACY}"]
    cwd: ${ROOT}
${POLICY}  http25:
    url: ${http25.url}
${POLICY}  only26:
    url: ${only26.url}
${POLICY}  dual:
    url: ${dual.url}
${POLICY}  stdio26:
    command: node
    args: ["--import", "tsx", "${MODERN}", "modern", "--stdio"]
    cwd: ${ROOT}
    protocol: "2026-07-28"
${POLICY}`);
  // What the 2026 stdio server says about its list, asked over its own pipe.
  ownListHints.set('stdio26', await stdioListHints());
  for (const [id, url] of [
    ['only26', only26.url],
    ['dual', dual.url],
  ] as const) {
    const res = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': ERA_2026,
        'mcp-method': 'tools/list',
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'tools/list',
        params: {
          _meta: {
            'io.modelcontextprotocol/protocolVersion': ERA_2026,
            'io.modelcontextprotocol/clientCapabilities': {},
            'io.modelcontextprotocol/clientInfo': { name: 'matrix-direct', version: '1.0.0' },
          },
        },
      }),
    });
    const { result } = (await res.json()) as { result: Json };
    if (typeof result.ttlMs !== 'number' || typeof result.cacheScope !== 'string')
      throw new Error(`${id} says nothing about caching its list: ${JSON.stringify(result).slice(0, 200)}`);
    ownListHints.set(id, { ttlMs: result.ttlMs, cacheScope: result.cacheScope });
  }
}, 60_000);

afterAll(async () => {
  await gw?.close();
  for (const f of fixtures) f.child.kill();
});

/** One HTTP exchange a client made with warden: what it sent, and the JSON-RPC messages that came back. */
interface Exchange {
  verb: string;
  headers: Headers;
  body?: Json;
  /** The messages of the answer so far (a JSON body, or each event of a stream as it arrives). */
  messages: Json[];
  /** Settles when the answer has ended (or broke off). */
  ended: Promise<void>;
}

/** Reads a copy of the answer as it arrives, so that a stream that stays open (subscriptions/listen) is seen live. */
async function readAnswer(res: Response, into: Json[]): Promise<void> {
  if (res.body === null) return;
  const json = (res.headers.get('content-type') ?? '').includes('application/json');
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for await (const chunk of res.body) {
      buffer += decoder.decode(chunk as Uint8Array, { stream: true });
      if (json) continue;
      for (let nl = buffer.indexOf('\n'); nl !== -1; nl = buffer.indexOf('\n')) {
        const line = buffer.slice(0, nl).trimEnd();
        buffer = buffer.slice(nl + 1);
        if (line.startsWith('data:') && line.length > 5) into.push(JSON.parse(line.slice(5)) as Json);
      }
    }
  } catch {
    // The client closed the stream (a listen subscription ending): what arrived is kept.
  }
  if (json && buffer.trim() !== '') into.push(JSON.parse(buffer) as Json);
}

/** A fetch that keeps a copy of every exchange (the wire, as the client's transport sees it). */
function recordingFetch(log: Exchange[]) {
  return async (input: string | URL, init?: RequestInit): Promise<Response> => {
    const res = await fetch(input, init);
    const body = typeof init?.body === 'string' ? (JSON.parse(init.body) as Json) : undefined;
    const messages: Json[] = [];
    const ended = readAnswer(res.clone(), messages);
    log.push({ verb: init?.method ?? 'GET', headers: new Headers(init?.headers), body, messages, ended });
    return res;
  };
}

/** The answers warden sent to the client's requests of `method` (and tool `name`), in order. */
async function answersTo(log: Exchange[], method: string, name?: string): Promise<Json[]> {
  const out: Json[] = [];
  for (const e of log) {
    if (e.body?.method !== method || (name !== undefined && e.body.params?.name !== name)) continue;
    await e.ended;
    const answer = e.messages.find((m) => m.id === e.body?.id && ('result' in m || 'error' in m));
    if (answer) out.push(answer);
  }
  return out;
}

/** An agent of any era, seen through one interface so that the cells can be generated. */
interface Agent {
  log: Exchange[];
  asked: string[];
  connected(): { era: string | undefined; version: string | undefined; server: string | undefined };
  listTools(): Promise<Json>;
  callTool(name: string, args: Json, onprogress?: (p: { progress: number }) => void): Promise<Json>;
  /** Starts hearing tools/list_changed (2025: the GET stream; 2026: subscriptions/listen). */
  watchTools(): Promise<{ changed: Promise<void>; close(): Promise<void> }>;
  close(): Promise<void>;
}

const ACCEPT = { action: 'accept' as const, content: { ok: true } };

async function agent2025(url: string): Promise<Agent> {
  const log: Exchange[] = [];
  const asked: string[] = [];
  let changed = () => {};
  const client = new Client({ name: 'matrix-2025', version: '1.0.0' }, { capabilities: { elicitation: {} } });
  client.setRequestHandler(ElicitRequestSchema, async (req) => {
    asked.push(String(req.params.message));
    return ACCEPT;
  });
  client.setNotificationHandler(ToolListChangedNotificationSchema, async () => changed());
  const transport = new StreamableHTTPClientTransport(new URL(url), { fetch: recordingFetch(log) });
  await client.connect(transport);
  return {
    log,
    asked,
    connected: () => ({
      era: 'legacy',
      version: transport.protocolVersion,
      server: client.getServerVersion()?.name,
    }),
    listTools: () => client.listTools() as Promise<Json>,
    callTool: (name, args, onprogress) =>
      client.callTool(
        { name, arguments: args },
        undefined,
        onprogress ? { onprogress } : undefined,
      ) as Promise<Json>,
    watchTools: async () => ({
      changed: new Promise<void>((resolve) => {
        changed = resolve;
      }),
      close: async () => {},
    }),
    close: () => client.close(),
  };
}

async function agent2026(url: string, mode: 'auto' | { pin: string }): Promise<Agent> {
  const log: Exchange[] = [];
  const asked: string[] = [];
  let changed = () => {};
  const client = new ClientV2(
    { name: 'matrix-2026', version: '1.0.0' },
    { capabilities: { elicitation: { form: {} } }, versionNegotiation: { mode } },
  );
  client.setRequestHandler('elicitation/create', async (req) => {
    asked.push(String((req.params as { message?: unknown }).message));
    return ACCEPT;
  });
  client.setNotificationHandler('notifications/tools/list_changed', async () => changed());
  await client.connect(new HttpV2(new URL(url), { fetch: recordingFetch(log) }));
  return {
    log,
    asked,
    connected: () => ({
      era: client.getProtocolEra(),
      version: client.getNegotiatedProtocolVersion(),
      server: client.getServerVersion()?.name,
    }),
    listTools: () => client.listTools(undefined, { cacheMode: 'refresh' }) as Promise<Json>,
    callTool: (name, args, onprogress) =>
      client.callTool({ name, arguments: args }, onprogress ? { onprogress } : undefined) as Promise<Json>,
    watchTools: async () => {
      const heard = new Promise<void>((resolve) => {
        changed = resolve;
      });
      const sub = await client.listen({ toolsListChanged: true });
      return { changed: heard, close: () => sub.close() };
    },
    close: () => client.close(),
  };
}

function makeAgent(kind: ClientKind, url: string): Promise<Agent> {
  if (kind === '2025') return agent2025(url);
  return agent2026(url, kind === 'auto' ? 'auto' : { pin: ERA_2026 });
}

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<T>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

const CLIENTS: Array<{ kind: ClientKind; label: string }> = [
  { kind: '2025', label: '2025 client (SDK v1)' },
  { kind: '2026', label: '2026 client (SDK v2 pinned)' },
  { kind: 'auto', label: 'auto client (SDK v2)' },
];

let cellNumber = 0;
for (const { kind, label } of CLIENTS) {
  for (const up of UPSTREAMS) {
    for (const aggregated of [false, true]) {
      const n = ++cellNumber;
      const key = `cell-${n}`;
      const endpoint = aggregated ? '/mcp' : `/mcp/${up.id}`;
      const modernClient = kind !== '2025';
      const modernUpstream = up.era === ERA_2026;
      const tool = (name: string) => (aggregated ? `${up.id}__${name}` : name);

      describe(`#18.6 ${label} x ${up.label} upstream x ${endpoint}`, () => {
        let a: Agent;
        const seen = async (): Promise<Json[]> =>
          JSON.parse(textOf(await a.callTool(tool('seen'), {}))) as Json[];

        beforeAll(async () => {
          a = await makeAgent(kind, aggregated ? gw.mcpUrl : `${gw.mcpUrl}/${up.id}`);
        }, 30_000);
        afterAll(async () => {
          await a?.close();
        });

        it(`#18.6.1 connects in its own era (${modernClient ? '2026, not downgraded' : '2025'})`, () => {
          const c = a.connected();
          expect(c.server).toBe(aggregated ? 'mcp-warden' : up.serverName);
          const methods = a.log.map((e) => e.body?.method);
          if (modernClient) {
            expect(c).toMatchObject({ era: 'modern', version: ERA_2026 });
            expect(methods).toContain('server/discover');
            expect(methods).not.toContain('initialize');
          } else {
            expect(c.version).toBe(ERA_2025);
            expect(methods[0]).toBe('initialize');
          }
        });

        it('#18.6.2 lists the upstream tools', async () => {
          const names = ((await a.listTools()).tools as Json[]).map((t) => t.name);
          for (const t of ['echo', 'confirm', 'slow', 'add_tool', 'delete_all'])
            expect(names).toContain(tool(t));
        });

        it('#18.6.3 an allowed call runs upstream', async () => {
          expect(textOf(await a.callTool(tool('echo'), { text: key }))).toBe(`echo: ${key}`);
        });

        it('#18.6.4 a denied call is a policy denial and never reaches the upstream', async () => {
          const denied = await a.callTool(tool('delete_all'), {});
          expect(denied.isError).toBe(true);
          expect(textOf(denied)).toBe('[POLICY DENIED] no mass deletes');
          expect(denied._meta?.['mcp-warden/decision']).toEqual({
            rule: '/tools/delete_all/action',
            reason: 'no mass deletes',
          });
          expect((await seen()).some((e) => e.tool === 'delete_all' || e.name === 'delete_all')).toBe(false);
        });

        it(`#18.6.5 elicitation round trip (${modernClient ? 'InputRequiredResult' : 'elicitation/create'})`, async () => {
          const before = a.asked.length;
          expect(textOf(await a.callTool(tool('confirm'), { what: key }))).toBe(`confirmed ${key}`);
          expect(a.asked.slice(before)).toEqual([`Do ${key}?`]);
          const answers = (await answersTo(a.log, 'tools/call', tool('confirm'))).map((m) => m.result);
          if (modernClient) {
            // The question came as an InputRequiredResult, and the v2 client's retry got the complete result.
            expect(answers[0]).toMatchObject({ resultType: 'input_required' });
            const requests = Object.values(answers[0]?.inputRequests ?? {}) as Json[];
            expect(requests.map((r) => r.method)).toEqual(['elicitation/create']);
            if (modernUpstream) {
              // The upstream's own round trip, passed through (its key, its state).
              expect(Object.keys(answers[0]?.inputRequests ?? {})).toEqual(['ask']);
              expect(String(answers[0]?.requestState)).not.toMatch(/^mcpwb1\./);
            } else {
              // The bridge: the 2025 upstream's elicitation/create became warden's own input request.
              expect(Object.keys(answers[0]?.inputRequests ?? {})).toEqual(['mcp-warden/upstream']);
              expect(answers[0]?.requestState).toMatch(/^mcpwb1\./);
            }
            expect(answers.at(-1)).toMatchObject({ resultType: 'complete' });
            const retry = a.log.filter((e) => e.body?.params?.name === tool('confirm')).at(-1);
            // The retry answers each input request by its key and brings the state back byte for byte.
            expect(Object.keys(retry?.body?.params?.inputResponses ?? {})).toEqual(
              Object.keys(answers[0]?.inputRequests ?? {}),
            );
            expect(retry?.body?.params?.requestState).toBe(answers[0]?.requestState);
          } else {
            // A 2025 client never sees an InputRequiredResult: it is asked by elicitation/create and gets one answer.
            expect(answers).toHaveLength(1);
            expect(answers[0]?.resultType).not.toBe('input_required');
          }
        });

        it('#18.6.6 progress notifications reach the client', async () => {
          const steps: number[] = [];
          const done = await a.callTool(tool('slow'), { steps: 3 }, (p) => steps.push(p.progress));
          expect(textOf(done)).toBe('done 3');
          expect(steps).toEqual([1, 2, 3]);
        });

        it(`#18.6.7 list_changed (${modernClient ? 'subscriptions/listen' : 'notification'}) after the tool list changes`, async () => {
          const added = `added_${n}`;
          const watch = await a.watchTools();
          try {
            await a.callTool(tool('add_tool'), { name: added });
            await within(watch.changed, 10_000, 'tools/list_changed');
            const names = ((await a.listTools()).tools as Json[]).map((t) => t.name);
            expect(names).toContain(tool(added));
          } finally {
            await watch.close();
          }
          const isChange = (m: Json) => m.method === 'notifications/tools/list_changed';
          if (modernClient) {
            // It came on the listen stream, stamped with the listen request's own id.
            const listen = a.log.filter((e) => e.body?.method === 'subscriptions/listen').at(-1);
            const heard = listen?.messages.filter(isChange) ?? [];
            expect(heard.length).toBeGreaterThan(0);
            for (const m of heard) expect(m.params?._meta?.[SUBSCRIPTION_ID]).toBe(listen?.body?.id);
          } else {
            // It came unasked, on the session's GET stream.
            const streams = a.log.filter((e) => e.verb === 'GET');
            expect(streams.some((e) => e.messages.some(isChange))).toBe(true);
          }
        }, 20_000);

        it(`#18.6.8 headers: the upstream is spoken to in ${up.era}${modernClient ? '; the client sends Mcp-Method/Mcp-Name' : ''}`, async () => {
          await a.callTool(tool('route'), { region: key });
          const log = await seen();
          const entry = log.find((e) => e.region === key);
          expect(entry).toBeDefined();
          if (up.id === 'stdio26') {
            // Over a pipe there are no headers: the envelope in the body is all, and it is warden's own.
            expect(log.find((e) => e.method === 'route/envelope' && e.region === key)?.client).toBe(
              'mcp-warden',
            );
          } else if (modernUpstream) {
            // The envelope upstream is warden's own, never the agent's self-description.
            expect(log.find((e) => e.method === 'route/envelope' && e.region === key)?.client).toBe(
              'mcp-warden',
            );
            // Warden computed these from the body it forwarded, whatever era the client spoke.
            expect(entry).toMatchObject({
              era: 'modern',
              method: 'tools/call',
              name: 'route',
              version: ERA_2026,
            });
            expect(entry?.session).toBeUndefined();
            // Nothing warden sent this upstream was 2025 traffic (a dual-era server would have taken it).
            expect(log.filter((e) => e.era === 'legacy')).toEqual([]);
          } else {
            // No 2026 envelope (version, capabilities, the agent's client info) reaches a 2025 upstream.
            const keys = (entry?.meta ?? []) as string[];
            expect(keys.filter((k) => !k.startsWith('io.modelcontextprotocol/'))).toEqual(keys);
          }
          if (up.id === 'http25') {
            expect(entry).toMatchObject({ transport: 'http', version: ERA_2025 });
            expect(typeof entry?.session).toBe('string');
            expect(entry?.method).toBeUndefined();
            expect(entry?.envelope).toBeUndefined();
          } else if (up.id === 'stdio25') {
            expect(entry).toMatchObject({ transport: 'stdio' });
            expect(entry?.envelope).toBeUndefined();
          }
          const sent = a.log.filter((e) => e.body?.params?.name === tool('route'));
          expect(sent).toHaveLength(1);
          const h = sent[0]!.headers;
          if (modernClient) {
            expect(h.get('mcp-method')).toBe('tools/call');
            expect(h.get('mcp-name')).toBe(tool('route'));
            expect(h.get('mcp-protocol-version')).toBe(ERA_2026);
            // Never downgraded: no request of this client carried a session or lacked the 2026 envelope.
            for (const e of a.log) {
              expect(e.headers.get('mcp-session-id')).toBeNull();
              if (e.body?.method !== undefined && e.body.id !== undefined)
                expect(e.body.params?._meta?.['io.modelcontextprotocol/protocolVersion']).toBe(ERA_2026);
            }
          } else {
            expect(typeof h.get('mcp-session-id')).toBe('string');
            expect(h.get('mcp-method')).toBeNull();
          }
        });

        it('#18.6.9 result metadata on the wire', async () => {
          const list = (await answersTo(a.log, 'tools/list')).at(-1)?.result as Json;
          const echo = (await answersTo(a.log, 'tools/call', tool('echo'))).at(-1)?.result as Json;
          const denied = (await answersTo(a.log, 'tools/call', tool('delete_all'))).at(-1)?.result as Json;
          if (modernClient) {
            expect(echo.resultType).toBe('complete');
            expect(denied.resultType).toBe('complete');
            expect(list.resultType).toBe('complete');
            expect(typeof list.ttlMs).toBe('number');
            if (aggregated) expect(list).toMatchObject({ ttlMs: 0, cacheScope: 'private' });
            else if (modernUpstream) expect(list).toMatchObject(ownListHints.get(up.id)!);
            else expect(list).toMatchObject({ ttlMs: 0, cacheScope: 'private' });
          } else {
            // Warden invents no 2026 metadata for a 2025 client: its own denial has none, and neither has anything
            // from a 2025 upstream. A 2026 upstream's own ttlMs/cacheScope on a per-server list pass through.
            expect(denied.resultType).toBeUndefined();
            if (!modernUpstream) {
              expect(echo.resultType).toBeUndefined();
              expect(list.ttlMs).toBeUndefined();
            } else if (!aggregated) expect(list).toMatchObject(ownListHints.get(up.id)!);
            expect(echo.resultType).not.toBe('input_required');
          }
        });
      });
    }
  }
}

describe('#18.6 the bridged cells cannot work directly', () => {
  it('#18.6.10 a 2025 client cannot talk to the 2026-only upstream without warden', async () => {
    await expect(agent2025(fixtures[1]!.url)).rejects.toThrow();
  });

  it('#18.6.11 a 2026 client pinned to 2026 cannot talk to the 2025 upstream without warden', async () => {
    await expect(agent2026(fixtures[0]!.url, { pin: ERA_2026 })).rejects.toThrow();
  });
});

describe('#18.6 a 2026 client in front of a 2026 upstream is asked only what it declared', () => {
  for (const id of ['only26', 'dual'] as const) {
    it(`#18.6.13 a request that declared no elicitation: the ${id} upstream is told so, and its refusal reaches the client`, async () => {
      const log: Exchange[] = [];
      const client = new ClientV2(
        { name: 'matrix-no-elicitation', version: '1.0.0' },
        { capabilities: {}, versionNegotiation: { mode: { pin: ERA_2026 } } },
      );
      await client.connect(new HttpV2(new URL(`${gw.mcpUrl}/${id}`), { fetch: recordingFetch(log) }));
      try {
        await expect(client.callTool({ name: 'confirm', arguments: { what: 'x' } })).rejects.toThrow(
          /elicitation/i,
        );
        // The upstream refused (it was not told warden's session capabilities), rather than asking a question the
        // client could not answer.
        const [answer] = await answersTo(log, 'tools/call', 'confirm');
        expect(answer?.result).toBeUndefined();
        expect(answer?.error?.message).toMatch(/elicitation/i);
      } finally {
        await client.close();
      }
    });
  }
});

describe('#18.6 an approved call whose 2026 upstream asks a question of its own', () => {
  let gated: RunningGateway;
  beforeAll(async () => {
    const gate = `    policy:
      version: "1"
      default: allow
      tools:
        confirm: { action: require_approval, reason: "confirmations need a person" }
`;
    gated = await startGateway(
      `mcpServers:\n  only26:\n    url: ${fixtures[1]!.url}\n${gate}  dual:\n    url: ${fixtures[2]!.url}\n${gate}approvals:\n  stateKey: eras-matrix-state-key-0123456789abcdef\n`,
    );
  });
  afterAll(async () => {
    await gated?.close();
  });

  for (const id of ['only26', 'dual'] as const) {
    it(`#18.6.14 ${id}: the approval round, then the upstream's own round under warden's seal, then the result`, async () => {
      const log: Exchange[] = [];
      const asked: string[] = [];
      const client = new ClientV2(
        { name: 'matrix-approval', version: '1.0.0' },
        { capabilities: { elicitation: { form: {} } }, versionNegotiation: { mode: { pin: ERA_2026 } } },
      );
      client.setRequestHandler('elicitation/create', async (req) => {
        const message = String((req.params as { message?: unknown }).message);
        asked.push(message);
        const approval = /approval (apr_[A-Za-z0-9]+)/.exec(message)?.[1];
        if (approval !== undefined)
          expect(
            (await adminRequest(gated, ADMIN, `/api/approvals/${approval}/approve`, { method: 'POST' }))
              .status,
          ).toBe(200);
        return { action: 'accept', content: { ok: true } };
      });
      await client.connect(new HttpV2(new URL(`${gated.mcpUrl}/${id}`), { fetch: recordingFetch(log) }));
      try {
        const result = await client.callTool({ name: 'confirm', arguments: { what: `gated-${id}` } });
        expect(textOf(result)).toBe(`confirmed gated-${id}`);
        expect(asked).toHaveLength(2);
        expect(asked[0]).toContain('confirmations need a person');
        expect(asked[1]).toBe(`Do gated-${id}?`);
        const rounds = (await answersTo(log, 'tools/call', 'confirm')).map((m) => m.result as Json);
        expect(rounds.map((r) => r.resultType)).toEqual(['input_required', 'input_required', 'complete']);
        expect(Object.keys(rounds[0]!.inputRequests)).toEqual(['mcp-warden/approval']);
        expect(Object.keys(rounds[1]!.inputRequests)).toEqual(['ask']);
        // The upstream's round goes out under warden's sealed state, so that its retry needs no second approval.
        expect(String(rounds[1]!.requestState)).toMatch(/^mcpw1\./);
        const approvals = (await adminRequest(gated, ADMIN, '/api/approvals?status=all')).body.filter(
          (a) => a.tool === 'confirm' && a.server === id,
        );
        expect(approvals.map((a) => a.status)).toEqual(['consumed']);
      } finally {
        await client.close();
      }
    });
  }
});
