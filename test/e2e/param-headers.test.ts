// SEP-2243 server validation of an agent's Mcp-Param-* headers (#18.8.6-11): a 2026 tools/call whose headers disagree
// with its arguments, by the tool's x-mcp-header declarations, is refused (HTTP 400, -32020) before anything reaches
// the upstream, on /mcp/<id> and /mcp, and audited as denied; a hidden tool answers exactly as a nonexistent one
// whatever its headers. Upstream: the SDK v2 2026-only fixture (test/fixtures/modern-server.ts, tool `route` with
// `region` declared as `x-mcp-header: Region`).
import type { ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forgetProbes } from '../../src/era/upstream-modern.js';
import {
  adminRequest,
  post2026,
  type RunningGateway,
  startGateway,
  startModernFixture,
  textOf,
} from '../helpers/gateway.js';

const ADMIN = 'param-headers-admin-token';
process.env.WARDEN_ADMIN_TOKEN = ADMIN;
type Json = Record<string, unknown>;

let fixture: { url: string; child: ChildProcess };
let gw: RunningGateway;

beforeAll(async () => {
  forgetProbes();
  fixture = await startModernFixture('modern');
  gw = await startGateway(`mcpServers:
  up:
    url: ${fixture.url}
  hid:
    url: ${fixture.url}
    policy:
      version: "1"
      default: allow
      hide: ["route"]
`);
}, 60_000);
afterAll(async () => {
  await gw?.close();
  fixture?.child.kill();
});

/** A 2026 tools/call by hand: status and the JSON-RPC answer. */
function call(path: string, name: string, args: Json, headers: Record<string, string> = {}) {
  return post2026(`${gw.mcpUrl}${path}`, 'tools/call', { name, arguments: args }, { headers });
}

async function upstreamSaw(region: string): Promise<boolean> {
  const log = JSON.parse(textOf((await call('/up', 'seen', {})).message.result as never)) as Json[];
  return log.some((e) => e.method === 'route/envelope' && e.region === region);
}

const b64 = (s: string) => `=?base64?${Buffer.from(s).toString('base64')}?=`;

describe('#18.8 Mcp-Param-* headers of agents', () => {
  it('#18.8.6 a header that matches its argument (plain, or canonical Base64) passes; the call runs', async () => {
    const plain = await call('/up', 'route', { region: 'eu-west-1' }, { 'mcp-param-region': 'eu-west-1' });
    expect(plain.status).toBe(200);
    expect(plain.message.result).toBeDefined();
    const encoded = await call('/up', 'route', { region: 'zürich' }, { 'mcp-param-region': b64('zürich') });
    expect(encoded.status).toBe(200);
    expect(await upstreamSaw('zürich')).toBe(true);
    // On the aggregated endpoint the prefixed name finds the same declarations.
    const agg = await call('', 'up__route', { region: 'us-east-1' }, { 'mcp-param-region': 'us-east-1' });
    expect(agg.status).toBe(200);
    expect(agg.message.result).toBeDefined();
  });

  it('#18.8.7 a missing, mismatching or non-canonical header is refused with 400 / -32020 and never forwarded', async () => {
    const cases: Array<[string, Json, Record<string, string>]> = [
      ['missing', { region: 'missing-1' }, {}],
      ['mismatch', { region: 'mismatch-1' }, { 'mcp-param-region': 'elsewhere' }],
      ['bad padding', { region: 'Hello' }, { 'mcp-param-region': '=?base64?SGVsbG8?=' }],
      ['bad alphabet', { region: 'Hello' }, { 'mcp-param-region': '=?base64?SGVs!!!bG8=?=' }],
      ['non-canonical bits', { region: 'Hello' }, { 'mcp-param-region': '=?base64?SGVsbG9=?=' }],
      ['other case of the value', { region: 'EU' }, { 'mcp-param-region': 'eu' }],
    ];
    for (const [what, args, headers] of cases) {
      for (const path of ['/up', '']) {
        const { status, message } = await call(path, path === '' ? 'up__route' : 'route', args, headers);
        expect(status, `${what} on ${path || '/mcp'}`).toBe(400);
        expect((message.error as Json).code, what).toBe(-32020);
        expect((message.error as Json).message, what).toContain('Mcp-Param-Region');
      }
      expect(await upstreamSaw(String(args.region)), what).toBe(false);
    }
    // A value without the sentinel's both ends is literal text, as the spec says.
    const literal = 'SGVsbG8=';
    expect((await call('/up', 'route', { region: literal }, { 'mcp-param-region': literal })).status).toBe(
      200,
    );
  });

  it('#18.8.8 the refusal is audited as denied, rule (invalid request), not forwarded', async () => {
    await call('/up', 'route', { region: 'audited-1' }, { 'mcp-param-region': 'audited-2' });
    await new Promise((r) => setTimeout(r, 200));
    const { body } = await adminRequest(gw, ADMIN, '/api/audit?limit=1000');
    const record = body.find(
      (r) => r.tool === 'route' && r.decision === 'denied' && String(r.reason).includes('Mcp-Param-Region'),
    );
    expect(record).toMatchObject({ rule: '(invalid request)', forwarded: false, outcome: 'not_called' });
    // The reason names the header, never the values.
    expect(JSON.stringify(record)).not.toContain('audited-');
  });

  it('#18.8.9 a body value left out needs no header; a header for it is ignored', async () => {
    // route requires region: the upstream refuses the arguments itself, but not warden's header check.
    const r = await call('/up', 'route', {}, { 'mcp-param-region': 'anything' });
    expect(r.status).toBe(200);
  });

  it('#18.8.10 a hidden tool answers as a nonexistent one, whatever its headers', async () => {
    const hidden = await call('/hid', 'route', { region: 'x' }, { 'mcp-param-region': 'mismatch' });
    const none = await call('/hid', 'no_such_tool', { region: 'x' }, { 'mcp-param-region': 'mismatch' });
    expect(hidden.status).toBe(none.status);
    expect((hidden.message.error as Json).code).toBe((none.message.error as Json).code);
    expect((hidden.message.error as Json).message).toBe('Unknown tool: route');
  });

  it('#18.8.12 a header sent twice is refused, even when the body holds both values joined', async () => {
    const body = JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: {
        name: 'route',
        arguments: { region: 'eu, us' },
        _meta: {
          'io.modelcontextprotocol/protocolVersion': '2026-07-28',
          'io.modelcontextprotocol/clientCapabilities': {},
          'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' },
        },
      },
    });
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${gw.mcpUrl}/up`, { method: 'POST' }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.setHeader('content-type', 'application/json');
      req.setHeader('accept', 'application/json, text/event-stream');
      req.setHeader('mcp-protocol-version', '2026-07-28');
      req.setHeader('mcp-method', 'tools/call');
      req.setHeader('mcp-name', 'route');
      // Two header lines: Node would join them as "eu, us" in req.headers.
      req.setHeader('mcp-param-region', ['eu', 'us']);
      req.end(body);
    });
    expect(status).toBe(400);
    expect(await upstreamSaw('eu, us')).toBe(false);
  });
});
