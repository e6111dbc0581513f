// The innermost step: sends each target request upstream and collects the responses; cancellation reaches upstream.
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { methodLabel } from '../audit/metrics.js';
import { ERA_2026 } from '../era/versions.js';
import { withoutEnvelope } from '../era/wire.js';
import type { Step } from './compose.js';
import type { CallContext, Target, TargetResult } from './context.js';

/**
 * What a 2026 agent's request declared that a 2026 upstream may ask of it in-band: elicitation and sampling (roots
 * stay warden's to answer, as for 2025 upstreams).
 */
function askable(declared: Record<string, unknown> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of ['elicitation', 'sampling'] as const) {
    const v = declared?.[k];
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) out[k] = v;
  }
  return out;
}

function callTarget(ctx: CallContext, target: Target): Promise<TargetResult> {
  if (ctx.method === 'tools/list' && target.params?.cursor === undefined) {
    const kept = target.link.toolListAnswer();
    if (kept !== undefined) return Promise.resolve({ server: target.server, response: kept });
  }
  const meta = target.params?._meta as Record<string, unknown> | undefined;
  // The agent's 2026 envelope is for warden; each link speaks its upstream's era (a 2026 link adds warden's own).
  const call = target.link.call(ctx.method, withoutEnvelope(target.params), {
    onProgress:
      meta?.progressToken === undefined ? undefined : (params) => ctx.session.progress(ctx.request, params),
    modernCaller: ctx.era === ERA_2026 ? { capabilities: askable(ctx.clientCapabilities) } : undefined,
  });
  ctx.upstreamCalls.push(call);
  ctx.cancelHooks.push((reason) => target.link.cancel(call.upstreamId, reason));
  if (ctx.trace === undefined) return call.response.then((response) => ({ server: target.server, response }));
  const span = ctx.trace.tracer.startSpan(
    `upstream ${methodLabel(ctx.method)}`,
    { kind: SpanKind.CLIENT, attributes: { 'warden.server': target.server, 'mcp.method.name': ctx.method } },
    trace.setSpan(context.active(), ctx.trace.span),
  );
  return call.response.then(
    (response) => {
      if (response !== undefined && 'error' in response)
        span.setStatus({ code: SpanStatusCode.ERROR, message: response.error.message });
      span.end();
      return { server: target.server, response };
    },
    (err: Error) => {
      span.setStatus({ code: SpanStatusCode.ERROR, message: err.message });
      span.end();
      throw err;
    },
  );
}

export const forward: Step<CallContext> = async (ctx) => {
  if (ctx.cancelled) return;
  const targets = ctx.targets;
  if (targets.length === 1) {
    ctx.results = [await callTarget(ctx, targets[0]!)];
    return;
  }
  ctx.results = await Promise.all(targets.map((t) => callTarget(ctx, t)));
};
