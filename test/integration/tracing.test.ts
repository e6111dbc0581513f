// OpenTelemetry traces reach a real OTLP/HTTP receiver: one span per request, the upstream call as its child.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tracingEndpoint } from '../../src/audit/tracing.js';
import { connect, PROBE, ROOT, startGateway } from '../helpers/gateway.js';

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes: Array<{ key: string; value: { stringValue?: string } }>;
  status?: { code?: number };
}

const spans: OtlpSpan[] = [];
const exportHeaders: string[] = [];
let receiver: Server;
let endpoint: string;

beforeAll(async () => {
  // An OTLP/HTTP collector in miniature: takes JSON exports and keeps their spans.
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      exportHeaders.push(String(req.headers['x-collector-key'] ?? ''));
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      for (const rs of body.resourceSpans ?? [])
        for (const ss of rs.scopeSpans ?? []) for (const s of ss.spans ?? []) spans.push(s);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  endpoint = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/v1/traces`;
});

afterAll(async () => {
  await new Promise((r) => receiver.close(r));
});

function attr(span: OtlpSpan, key: string): string | undefined {
  return span.attributes.find((a) => a.key === key)?.value.stringValue;
}

describe('tracing', () => {
  it('exports a span per tools/call with the decision, and the upstream call as its child', async () => {
    const gw = await startGateway(`
mcpServers:
  probe:
    command: node
    args: ["--import", "tsx", "${PROBE}"]
    cwd: ${ROOT}
    policy: { version: "1", default: "allow", tools: { crash: { action: deny } } }
tracing:
  endpoint: ${endpoint}
  headers: { x-collector-key: sekret }
`);
    const client = await connect(`${gw.mcpUrl}/probe`);
    await client.callTool({ name: 'echo', arguments: { text: 'hi' } });
    await client.callTool({ name: 'crash', arguments: {} });
    await client.close();
    await gw.close(); // flushes the batch

    const calls = spans.filter((s) => s.name === 'mcp tools/call');
    expect(calls).toHaveLength(2);
    const allowed = calls.find((s) => attr(s, 'gen_ai.tool.name') === 'echo')!;
    const denied = calls.find((s) => attr(s, 'gen_ai.tool.name') === 'crash')!;
    expect(attr(allowed, 'warden.decision')).toBe('allowed');
    expect(attr(allowed, 'warden.server')).toBe('probe');
    expect(attr(allowed, 'warden.upstream.outcome')).toBe('ok');
    expect(attr(denied, 'warden.decision')).toBe('denied');
    expect(attr(denied, 'warden.rule')).toBe('/tools/crash/action');

    const upstream = spans.filter((s) => s.name === 'upstream tools/call');
    expect(upstream).toHaveLength(1); // the denied call never left
    expect(upstream[0]!.traceId).toBe(allowed.traceId);
    expect(upstream[0]!.parentSpanId).toBe(allowed.spanId);
    expect(exportHeaders.every((h) => h === 'sekret')).toBe(true);
  });
});

describe('tracingEndpoint', () => {
  it('prefers the config, then the traces variable, then the base variable with /v1/traces', () => {
    expect(tracingEndpoint('http://c/v1/traces', { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://e' })).toBe(
      'http://c/v1/traces',
    );
    expect(
      tracingEndpoint(undefined, {
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://t/x',
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://e',
      }),
    ).toBe('http://t/x');
    expect(tracingEndpoint(undefined, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://e:4318/' })).toBe(
      'http://e:4318/v1/traces',
    );
  });

  it('is off when nothing is configured', () => {
    expect(tracingEndpoint(undefined, {})).toBeUndefined();
  });
});
