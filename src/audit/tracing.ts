// OpenTelemetry traces: one span per audited request (and one per upstream call), exported over OTLP/HTTP when configured.
import { type Span, SpanKind, SpanStatusCode, type Tracer } from '@opentelemetry/api';
import { methodLabel } from './metrics.js';
import type { AuditBody } from './record.js';

export interface TracingConfig {
  /** OTLP/HTTP traces endpoint, e.g. http://127.0.0.1:4318/v1/traces. */
  endpoint: string;
  serviceName: string;
  /** Sent with every export (e.g. an API key of the collector); never logged. */
  headers: Record<string, string>;
}

export interface Tracing {
  readonly tracer: Tracer;
  /** Exports what is buffered and stops. */
  close(): Promise<void>;
}

/**
 * The configured endpoint, else the standard OpenTelemetry variables: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (used as
 * is) or OTEL_EXPORTER_OTLP_ENDPOINT (+ /v1/traces). Undefined when neither is set: tracing is off and costs nothing.
 */
export function tracingEndpoint(configured: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  if (configured !== undefined) return configured;
  const traces = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  if (traces) return traces;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (base) return `${base.replace(/\/+$/, '')}/v1/traces`;
  return undefined;
}

/**
 * A tracer provider of our own, not registered globally: warden is often embedded next to an application that has
 * its own OpenTelemetry setup, and must not replace it.
 */
export async function startTracing(config: TracingConfig, version: string): Promise<Tracing> {
  // The SDK and its exporter are loaded only when tracing is configured (they cost a gateway without it ~15 MB).
  const [{ OTLPTraceExporter }, { resourceFromAttributes }, { BasicTracerProvider, BatchSpanProcessor }] =
    await Promise.all([
      import('@opentelemetry/exporter-trace-otlp-http'),
      import('@opentelemetry/resources'),
      import('@opentelemetry/sdk-trace-base'),
    ]);
  const exporter = new OTLPTraceExporter({ url: config.endpoint, headers: config.headers });
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': config.serviceName, 'service.version': version }),
    // Batched off the call path: an export never delays a call, and a collector that is down loses spans, not calls.
    spanProcessors: [new BatchSpanProcessor(exporter, { scheduledDelayMillis: 1000 })],
  });
  const tracer = provider.getTracer('mcp-warden', version);
  return {
    tracer,
    close: async () => {
      await provider.forceFlush().catch(() => undefined);
      await provider.shutdown().catch(() => undefined);
    },
  };
}

/** Starts the span of one agent request. */
export function startRequestSpan(tracer: Tracer, method: string): Span {
  // Span names are grouped on by trace backends: a method the agent made up is named `(other)` (the attribute keeps it).
  return tracer.startSpan(`mcp ${methodLabel(method)}`, {
    kind: SpanKind.SERVER,
    attributes: { 'mcp.method.name': method },
  });
}

/** Ends a request span with the audit record's facts: what was decided and how the upstream answered. */
export function endRequestSpan(span: Span, body: AuditBody, auditKey: string, failed: boolean): void {
  span.setAttributes({ 'warden.decision': body.decision, 'warden.audit.key': auditKey });
  if (body.session !== null) span.setAttribute('mcp.session.id', body.session);
  if (body.server !== null) span.setAttribute('warden.server', body.server);
  if (body.tool !== null) span.setAttribute('gen_ai.tool.name', body.tool);
  if (body.rule !== null) span.setAttribute('warden.rule', body.rule);
  if (body.outcome !== null) span.setAttribute('warden.upstream.outcome', body.outcome);
  if (body.grant !== null) span.setAttribute('warden.grant', body.grant);
  if (failed || body.outcome === 'error' || body.outcome === 'timeout')
    span.setStatus({ code: SpanStatusCode.ERROR, message: body.outcome ?? 'internal error' });
  span.end();
}
