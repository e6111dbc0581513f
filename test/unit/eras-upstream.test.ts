// #18 part 2: the 2026 request headers warden computes, the discover probe's reading, and the bridge's limits.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { resolveConfig } from '../../src/config/resolve.js';
import { MAX_ROUNDS, runRoundTrips } from '../../src/era/input-bridge.js';
import {
  checkParamHeaders,
  headerValue,
  paramHeaders,
  requestHeaders,
} from '../../src/era/upstream-headers.js';
import { ModernLink } from '../../src/era/upstream-link.js';
import { readDiscover } from '../../src/era/upstream-modern.js';
import type { JsonRpcResponse } from '../../src/transport/jsonrpc.js';

const b64 = (s: string) => `=?base64?${Buffer.from(s, 'utf8').toString('base64')}?=`;

describe('#18.2 2026 request headers from the body', () => {
  it('#18.2.11 Mcp-Method, Mcp-Name and MCP-Protocol-Version mirror the body', () => {
    expect(requestHeaders('tools/call', { name: 'echo', arguments: {} })).toEqual({
      'mcp-protocol-version': '2026-07-28',
      'mcp-method': 'tools/call',
      'mcp-name': 'echo',
    });
    expect(requestHeaders('resources/read', { uri: 'file:///a b' })['mcp-name']).toBe('file:///a b');
    expect(requestHeaders('tools/list', {})['mcp-name']).toBeUndefined();
  });

  it('#18.2.12 CR/LF, NUL, non-ASCII, surrounding space and sentinel look-alikes travel Base64-encoded', () => {
    for (const hostile of [
      'a\r\nx-evil: 1',
      'a\nb',
      'nul\u0000',
      'zürich',
      ' lead',
      'trail ',
      '',
      '=?base64?YQ==?=',
    ]) {
      expect(headerValue(hostile)).toBe(b64(hostile));
    }
    expect(headerValue('plain-ASCII value')).toBe('plain-ASCII value');
    const h = requestHeaders('tools/call', { name: 'get\r\nmcp-method: tools/list' });
    expect(h['mcp-name']).toBe(b64('get\r\nmcp-method: tools/list'));
    expect(h['mcp-method']).toBe('tools/call');
  });

  it('#18.2.13 Mcp-Param headers only for declared primitive properties reached through properties', () => {
    const schema = {
      type: 'object',
      properties: {
        region: { type: 'string', 'x-mcp-header': 'Region' },
        count: { type: 'integer', 'x-mcp-header': 'Count' },
        flag: { type: 'boolean', 'x-mcp-header': 'Flag' },
        ratio: { type: 'number', 'x-mcp-header': 'Ratio' },
        bad: { type: 'string', 'x-mcp-header': 'Bad\r\nName' },
        dup: { type: 'string', 'x-mcp-header': 'region' },
        nested: { type: 'object', properties: { zone: { type: 'string', 'x-mcp-header': 'Zone' } } },
        list: {
          type: 'array',
          items: { type: 'object', properties: { x: { type: 'string', 'x-mcp-header': 'X' } } },
        },
      },
    };
    const decls = paramHeaders(schema);
    expect(decls.map((d) => d.name)).toEqual(['Region', 'Count', 'Flag', 'Zone']);
    const h = requestHeaders(
      'tools/call',
      { name: 't', arguments: { region: 'eu\r\n', count: 3, flag: false, nested: { zone: 'b' }, dup: 'x' } },
      decls,
    );
    expect(h['mcp-param-region']).toBe(b64('eu\r\n'));
    expect(h['mcp-param-count']).toBe('3');
    expect(h['mcp-param-flag']).toBe('false');
    expect(h['mcp-param-zone']).toBe('b');
    // A number given as a string is sent as the string; a missing or object value sends no header.
    const h2 = requestHeaders(
      'tools/call',
      { name: 't', arguments: { count: '3', region: { a: 1 } } },
      decls,
    );
    expect(h2['mcp-param-count']).toBe('3');
    expect(h2['mcp-param-region']).toBeUndefined();
    expect(h2['mcp-param-zone']).toBeUndefined();
  });

  it('#18.2.14 a hostile envelope version never becomes a header as is', () => {
    const h = requestHeaders('tools/list', {
      _meta: { 'io.modelcontextprotocol/protocolVersion': '2026-07-28\r\nx: y' },
    });
    expect(h['mcp-protocol-version']).toBe('2026-07-28');
  });
});

describe('#18.2 malformed discover answers', () => {
  it('#18.2.15 a discover result is read only when it is one', () => {
    expect(readDiscover({ supportedVersions: ['2026-07-28'], capabilities: {} })?.supportedVersions).toEqual([
      '2026-07-28',
    ]);
    expect(readDiscover(null)).toBeUndefined();
    expect(readDiscover({ supportedVersions: '2026-07-28', capabilities: {} })).toBeUndefined();
    expect(readDiscover({ supportedVersions: [2026], capabilities: {} })).toBeUndefined();
    expect(readDiscover({ supportedVersions: ['2026-07-28'], capabilities: [] })).toBeUndefined();
    expect(readDiscover({ supportedVersions: Array(100).fill('x'), capabilities: {} })).toBeUndefined();
  });
});

describe('#18.3 the bridge refuses what a hostile upstream answers', () => {
  const ok = (result: Record<string, unknown>): JsonRpcResponse => ({ jsonrpc: '2.0', id: 1, result });
  const hooks = () => ({
    ask: async (): Promise<JsonRpcResponse> => ({ jsonrpc: '2.0', id: 'x', result: { action: 'accept' } }),
    retry: async (): Promise<JsonRpcResponse | undefined> => undefined,
    cancelled: () => false,
  });

  it('#18.3.3 a missing resultType is a complete result; an unknown one is refused', async () => {
    await expect(runRoundTrips(ok({ content: [] }), {}, hooks())).resolves.toMatchObject({
      result: { content: [] },
    });
    const r = await runRoundTrips(ok({ resultType: 'task_created' }), {}, hooks());
    expect(r && 'error' in r && r.error.message).toMatch(/unknown resultType/);
  });

  it('#18.3.4 input_required without requests or state, or with requests a client does not answer, is refused', async () => {
    const empty = await runRoundTrips(ok({ resultType: 'input_required' }), {}, hooks());
    expect(empty && 'error' in empty && empty.error.message).toMatch(/neither/);
    const odd = await runRoundTrips(
      ok({ resultType: 'input_required', inputRequests: { a: { method: 'tools/call', params: {} } } }),
      {},
      hooks(),
    );
    expect(odd && 'error' in odd && odd.error.message).toMatch(/not one a client answers/);
  });

  it('#18.3.5 the retry carries the answers and the state, never the agent-supplied ones', async () => {
    let sent: Record<string, unknown> | undefined;
    const h = {
      ask: async () => ({
        jsonrpc: '2.0' as const,
        id: 'x',
        result: { action: 'accept', content: { ok: true } },
      }),
      retry: async (p: Record<string, unknown>) => {
        sent = p;
        return ok({ resultType: 'complete', content: [] });
      },
      cancelled: () => false,
    };
    await runRoundTrips(
      ok({
        resultType: 'input_required',
        inputRequests: { q: { method: 'elicitation/create', params: { message: 'm', requestedSchema: {} } } },
        requestState: 's1',
      }),
      { name: 't', arguments: {}, inputResponses: { forged: {} }, requestState: 'forged' },
      h,
    );
    expect(sent).toEqual({
      name: 't',
      arguments: {},
      inputResponses: { q: { action: 'accept', content: { ok: true } } },
      requestState: 's1',
    });
  });

  it('#18.3.6 the rounds are capped', async () => {
    let retries = 0;
    const again = ok({ resultType: 'input_required', requestState: 'x' });
    const r = await runRoundTrips(
      again,
      {},
      {
        ask: async () => ({ jsonrpc: '2.0', id: 'x', result: {} }),
        retry: async () => {
          retries++;
          return again;
        },
        cancelled: () => false,
      },
    );
    expect(retries).toBe(MAX_ROUNDS);
    expect(r && 'error' in r && r.error.message).toMatch(/rounds/);
  });
});

describe('#18.3 what the bridge asks the agent', () => {
  const spec = {
    id: 'up',
    prefix: 'up',
    kind: 'http' as const,
    args: [],
    env: {},
    cwd: '/',
    headers: {},
    timeoutMs: 1000,
    startTimeoutMs: 1000,
  };

  it('#18.3.8 an input request for a capability the agent did not declare never reaches the agent', async () => {
    const asked: string[] = [];
    const link = new ModernLink(spec, { ask: (r) => asked.push(r.method), withdraw: () => {} });
    link.client({ capabilities: { elicitation: {} } });
    const r = await link.ask('sampling/createMessage', { messages: [] }, 'none');
    expect(r && 'error' in r && r.error.message).toMatch(/did not declare the sampling capability/);
    expect(asked).toEqual([]);
  });

  it('#18.3.9 roots/list is answered by warden from the config unless roots: agent', async () => {
    const asked: string[] = [];
    const link = new ModernLink(spec, { ask: (r) => asked.push(r.method), withdraw: () => {} });
    link.client({ capabilities: { roots: {} } });
    const none = await link.ask('roots/list', undefined, 'none');
    expect(none).toMatchObject({ result: { roots: [] } });
    const fixed = await link.ask('roots/list', undefined, [{ uri: 'file:///srv', name: 'srv' }]);
    expect(fixed).toMatchObject({ result: { roots: [{ uri: 'file:///srv' }] } });
    expect(asked).toEqual([]);
  });
});

describe('#18.2 protocol in the config', () => {
  const resolve = (yaml: string) => resolveConfig(parseConfig(yaml, '/etc/warden/warden.yaml', {}));

  it('#18.2.17 protocol is auto by default, pinned values are kept (2026 on stdio too), 2026 on legacy SSE is an error at its path', () => {
    const ok = resolve(
      'mcpServers:\n  a: { url: "http://127.0.0.1:1/mcp" }\n  b: { url: "http://127.0.0.1:2/mcp", protocol: "2026-07-28" }\n  c: { command: node, protocol: "2025-11-25" }\n  d: { command: node, protocol: "2026-07-28" }\n',
    );
    expect(ok.upstreams.map((u) => u.protocol)).toEqual([
      undefined,
      '2026-07-28',
      '2025-11-25',
      '2026-07-28',
    ]);
    expect(() =>
      resolve('mcpServers:\n  s: { url: "http://x/sse", type: sse, protocol: "2026-07-28" }\n'),
    ).toThrow(/mcpServers\.s\.protocol/);
    expect(() => resolve('mcpServers:\n  s: { url: "http://x/mcp", protocol: "2027-01-01" }\n')).toThrow(
      /protocol/,
    );
  });
});

describe('checkParamHeaders (an agent’s Mcp-Param-* headers against its arguments)', () => {
  const schema = {
    type: 'object',
    properties: {
      region: { type: 'string', 'x-mcp-header': 'Region' },
      count: { type: 'integer', 'x-mcp-header': 'Count' },
      dry: { type: 'boolean', 'x-mcp-header': 'Dry' },
    },
  };
  const decl = paramHeaders(schema);

  it('#18.8.11 compares integers as numbers, booleans and strings as text; absent values need no header', () => {
    expect(checkParamHeaders(decl, { count: 42 }, { 'mcp-param-count': '42.0' })).toBeUndefined();
    expect(checkParamHeaders(decl, { count: 42 }, { 'mcp-param-count': '042' })?.code).toBe(-32020);
    expect(checkParamHeaders(decl, { dry: true }, { 'mcp-param-dry': 'true' })).toBeUndefined();
    expect(checkParamHeaders(decl, { dry: true }, { 'mcp-param-dry': 'True' })?.code).toBe(-32020);
    expect(checkParamHeaders(decl, { region: null }, {})).toBeUndefined();
    expect(checkParamHeaders(decl, { region: { nested: 1 } }, {})).toBeUndefined();
    expect(checkParamHeaders(decl, {}, { 'mcp-param-region': 'x' })).toBeUndefined();
  });

  it('#18.8.11 refuses a header sent twice and a sentinel that is not canonical Base64 of UTF-8', () => {
    expect(checkParamHeaders(decl, { region: 'a' }, { 'mcp-param-region': null })?.code).toBe(-32020);
    const latin1 = `=?base64?${Buffer.from([0xff, 0xfe]).toString('base64')}?=`;
    expect(checkParamHeaders(decl, { region: 'ÿþ' }, { 'mcp-param-region': latin1 })?.code).toBe(-32020);
    expect(
      checkParamHeaders(decl, { region: 'Hello' }, { 'mcp-param-region': '=?base64?SGVsbG8=?=' }),
    ).toBeUndefined();
    expect(
      checkParamHeaders(decl, { region: 'Hello' }, { 'mcp-param-region': '=?base64?SGVsbG9=?=' })?.code,
    ).toBe(-32020);
  });
});
