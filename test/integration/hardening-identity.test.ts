// Issue #17, identity and resources: per-grant session caps and idle sessions (#17.18), bounded metric labels (#17.19).
import type { Span, Tracer } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_SERIES, Metrics, methodLabel, OTHER } from '../../src/audit/metrics.js';
import { startRequestSpan } from '../../src/audit/tracing.js';
import { connect, EVERYTHING, PROBE, ROOT, type RunningGateway, startGateway } from '../helpers/gateway.js';

async function metricsText(gw: RunningGateway): Promise<string> {
  return (await fetch(`${gw.adminUrl}/metrics`)).text();
}

describe('metric labels (#17.19)', () => {
  let gw: RunningGateway;
  beforeAll(async () => {
    gw = await startGateway(`
mcpServers:
  probe:
    command: node
    args: ["--import", "tsx", "${PROBE}"]
    cwd: ${ROOT}
    policy: { version: "1", default: "allow", hide: ["secret_*"], tools: { slow: { action: deny } } }
  everything:
    command: node
    args: ["${EVERYTHING}", "stdio"]
`);
  });
  afterAll(async () => {
    await gw?.close();
  });

  /** 4 x n requests whose names the agent made up, on the aggregated and the per-server endpoint. */
  async function madeUp(batch: string, n: number): Promise<void> {
    const agg = await connect(gw.mcpUrl);
    const per = await connect(`${gw.mcpUrl}/probe`);
    try {
      for (let i = 0; i < n; i++) {
        const name = `${batch}-${i}-${'x'.repeat(200)}`;
        await agg.callTool({ name: `probe__${name}` }).catch(() => undefined);
        await per.callTool({ name: `secret_${name}` }).catch(() => undefined);
        await agg.getPrompt({ name: `prompt-${name}` }).catch(() => undefined);
        await agg.readResource({ uri: `demo://${name}` }).catch(() => undefined);
      }
      // A known tool keeps its own label value.
      await per.callTool({ name: 'slow', arguments: {} });
    } finally {
      await agg.close();
      await per.close();
    }
  }

  it('#17.19 counts tool names, prompt names and URIs the agent made up under one label value', async () => {
    await madeUp('first', 12);
    const text = await metricsText(gw);
    expect(text).not.toContain('first-');
    expect(text).toContain(`tool="${OTHER}"`);
    expect(text).toMatch(
      /warden_requests_total\{server="probe",method="tools\/call",tool="slow",decision="denied"\} 1/,
    );
  });

  it('#17.19 keeps /metrics the same size however many made-up names arrive', async () => {
    const before = (await metricsText(gw)).split('\n').length;
    await madeUp('second', 12);
    const after = await metricsText(gw);
    expect(after).not.toContain('second-');
    expect(after.split('\n').length).toBe(before);
    expect(after.length).toBeLessThan(64 * 1024);
  });

  it('#17.19 gives a method outside the MCP specification the label value (other)', () => {
    const m = new Metrics({ servers: new Set(['probe']), knownTool: () => true });
    m.request('probe', 'made/up-1', undefined, 'denied', 0.001);
    m.request('probe', 'made/up-2', undefined, 'denied', 0.001);
    const text = m.render();
    expect(text).not.toContain('made/up');
    expect(text).toContain('method="(other)"');
    expect(methodLabel('tools/call')).toBe('tools/call');
  });

  it('#17.19 gives a server that is not configured and a decision that is not one the label value (other)', () => {
    const m = new Metrics({ servers: new Set(['probe']), knownTool: () => false });
    m.request('not-configured', 'tools/call', 'echo', 'made-up-decision', 0.001);
    const text = m.render();
    expect(text).toContain(
      'warden_requests_total{server="(other)",method="tools/call",tool="(other)",decision="(other)"} 1',
    );
  });

  it('#17.19 caps the series of each metric as a backstop behind the catalogs', () => {
    const m = new Metrics({ servers: new Set(['probe']), knownTool: () => true });
    for (let i = 0; i < MAX_SERIES + 500; i++) m.request('probe', 'tools/call', `t${i}`, 'allowed', 0.001);
    m.stateFailures.inc({ mode: 'x' });
    const lines = m.render().split('\n');
    const series = lines.filter((l) => l.startsWith('warden_requests_total{'));
    expect(series.length).toBe(MAX_SERIES + 1);
    expect(series.at(-1)).toBe(
      'warden_requests_total{server="(other)",method="(other)",tool="(other)",decision="(other)"} 500',
    );
  });

  it('#17.19 names an OpenTelemetry span after a spec method only', () => {
    const names: string[] = [];
    // A tracer that only records the names it is asked for (the OTel SDK's exporters are tested in tracing.test.ts).
    const tracer = {
      startSpan: (name: string) => {
        names.push(name);
        return {} as Span;
      },
    } as unknown as Tracer;
    startRequestSpan(tracer, 'tools/call');
    startRequestSpan(tracer, 'made/up-name-42');
    expect(names).toEqual(['mcp tools/call', 'mcp (other)']);
  });
});
