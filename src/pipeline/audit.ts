// Audit steps: `audit` (outermost) leaves exactly one record per request on every path, written in `finally`;
// `commitDecision` (just before forward) makes an allowed call's decision durable before the upstream sees it.
import { randomUUID } from 'node:crypto';
import type { Tracer } from '@opentelemetry/api';
import type { NewAuditEntry } from '../audit/chain.js';
import type { Metrics } from '../audit/metrics.js';
import { type AuditBody, decisionName, type UpstreamOutcome } from '../audit/record.js';
import { type ArgsMode, auditArgs } from '../audit/redact.js';
import { endRequestSpan, startRequestSpan } from '../audit/tracing.js';
import type { Logger } from '../log.js';
import { type Reply, wire } from '../proxy/downstream.js';
import { REQUEST_TIMEOUT } from '../transport/jsonrpc.js';
import type { Step } from './compose.js';
import { type CallContext, sentUpstream } from './context.js';

/** Where entries go: the group-commit writer, resolving once the entry is durable. */
export interface AuditSink {
  write(entry: NewAuditEntry): Promise<unknown>;
}

export interface AuditStepOptions {
  sink: AuditSink;
  argsMode: ArgsMode;
  log: Logger;
  metrics?: Metrics;
  /** When set, each audited request gets a span (tracing configured). */
  tracer?: Tracer;
  now?: () => number;
}

/** Requests that reach a decision. Others (ping, completion, logging) are forwarded without a record. */
const AUDITED = new Set([
  'tools/call',
  'tools/list',
  'prompts/list',
  'prompts/get',
  'resources/list',
  'resources/templates/list',
  'resources/read',
  'resources/subscribe',
  'resources/unsubscribe',
]);

type Params = Record<string, unknown>;

function outcomeOf(
  ctx: CallContext,
  forwarded: boolean,
): { outcome: UpstreamOutcome; errorCode: number | null } {
  if (ctx.cancelled) return { outcome: 'cancelled', errorCode: null };
  if (!forwarded) return { outcome: 'not_called', errorCode: null };
  const reply: Reply | undefined = ctx.reply;
  if (reply === undefined) return { outcome: 'unknown', errorCode: null };
  if ('error' in reply) {
    return {
      outcome: reply.error.code === REQUEST_TIMEOUT ? 'timeout' : 'error',
      errorCode: reply.error.code,
    };
  }
  return { outcome: reply.result.isError === true ? 'tool_error' : 'ok', errorCode: null };
}

function bodyOf(
  ctx: CallContext,
  argsMode: ArgsMode,
  final: { latencyMs: number; failed: boolean } | undefined,
): AuditBody {
  const target = ctx.targets[0];
  const asked = (ctx.request.params ?? {}) as Params;
  const d = ctx.decision;
  const forwarded = ctx.results.length > 0;
  let decision = decisionName(d);
  let rule = d?.rule ?? null;
  let reason = d?.reason ?? null;
  const reply = ctx.reply;
  // A tools/call that never reached the upstream without a policy decision: unknown name, or a malformed request
  // (arguments that are no object, a wire error).
  if (final && !forwarded && d === undefined && ctx.method === 'tools/call' && reply && 'error' in reply) {
    decision = 'denied';
    rule = reply.error.message.startsWith('Unknown tool: ') ? '(unknown tool)' : '(invalid request)';
    reason = reply.error.message;
  }
  if (final?.failed) decision = 'error';
  else if (final && ctx.limited !== undefined) {
    decision = 'rate_limited';
    rule = ctx.limited.rule;
    reason = ctx.limited.reason;
  }
  // A decision the gateway could not carry out yet (approval, limit) ends as a denial: record what was returned.
  if (
    final &&
    decision === 'allowed' &&
    !forwarded &&
    reply &&
    'result' in reply &&
    reply.result.isError === true
  ) {
    decision = 'denied';
    const meta = (reply.result._meta as Params | undefined)?.['mcp-warden/decision'] as Params | undefined;
    rule = typeof meta?.rule === 'string' ? meta.rule : rule;
    reason = typeof meta?.reason === 'string' ? meta.reason : reason;
  }
  if (ctx.approval !== undefined && decision === 'approval_pending') {
    // The record ends with what became of the approval: approved (then forwarded), pending (async: the agent was
    // told to come back), rejected, expired; a cancelled one is a denial whose reason says so.
    const s = ctx.approval.status;
    if (s === 'approved' || s === 'consumed') decision = 'approved';
    else if (s === 'rejected' || s === 'expired') decision = s;
    else if (s === 'cancelled') decision = 'denied';
    if (final && !forwarded && reply && 'result' in reply) {
      const meta = (reply.result._meta as Params | undefined)?.['mcp-warden/decision'] as Params | undefined;
      reason = typeof meta?.reason === 'string' ? meta.reason : reason;
    }
  } else if (final && decision === 'approval_pending' && !forwarded) decision = 'denied';
  const { outcome, errorCode } = final ? outcomeOf(ctx, forwarded) : { outcome: null, errorCode: null };
  const tool =
    ctx.method === 'tools/call' || ctx.method === 'prompts/get'
      ? String(target?.params?.name ?? asked.name ?? '')
      : ctx.method.startsWith('resources/') && typeof asked.uri === 'string'
        ? asked.uri
        : null;
  return {
    v: 1,
    requestId: ctx.request.id,
    session: ctx.session.id,
    grant: ctx.session.identity.grant?.label ?? null,
    server: target?.server ?? ctx.session.server ?? null,
    method: ctx.method,
    tool,
    decision,
    rule,
    policy: d?.policy ?? null,
    reason,
    shadow: d?.shadow ?? false,
    outcome,
    forwarded: final ? sentUpstream(ctx) : null,
    errorCode,
    latencyMs: final ? Math.round(final.latencyMs * 1000) / 1000 : null,
    args:
      ctx.method === 'tools/call' ? auditArgs(target?.params?.arguments ?? asked.arguments, argsMode) : null,
    ...(ctx.approval === undefined ? {} : { approval: ctx.approval.id }),
  };
}

export function auditStep({
  sink,
  argsMode,
  log,
  metrics,
  tracer,
  now = () => performance.now(),
}: AuditStepOptions): Step<CallContext> {
  return async (ctx, next) => {
    if (!AUDITED.has(ctx.method)) return next();
    const started = now();
    ctx.audit = { key: randomUUID(), committed: false };
    if (tracer !== undefined) ctx.trace = { tracer, span: startRequestSpan(tracer, ctx.method) };
    let failed = false;
    try {
      await next();
    } catch (err) {
      failed = true;
      throw err;
    } finally {
      const latencyMs = now() - started;
      const body = bodyOf(ctx, argsMode, { latencyMs, failed });
      if (metrics) {
        const server = body.server ?? '(all)';
        // Names the agent made up would make labels without bound: only known tools get their own.
        const tool =
          body.tool !== null && body.rule !== '(unknown tool)' && body.rule !== '(invalid request)'
            ? body.tool
            : '';
        metrics.requests.inc({ server, method: body.method, tool, decision: body.decision });
        metrics.latency.observe({ server, method: body.method }, latencyMs / 1000);
        if (ctx.method === 'tools/call') metrics.activity.record(body.decision, latencyMs);
      }
      if (ctx.trace !== undefined) endRequestSpan(ctx.trace.span, body, ctx.audit.key, failed);
      const entry: NewAuditEntry = {
        time: new Date().toISOString(),
        kind: ctx.audit.committed ? 'outcome' : 'final',
        requestKey: ctx.audit.key,
        body: body as unknown as Record<string, unknown>,
      };
      // Not awaited: the answer need not wait for the outcome entry (the decision of anything forwarded is
      // already durable); a failure is logged, loudly.
      sink.write(entry).catch((err: Error) => {
        metrics?.auditFailures.inc();
        log.error({ err: err.message, requestKey: entry.requestKey }, 'audit record could not be written');
      });
    }
  };
}

/** Makes the decision of an allowed tools/call durable before it is forwarded; fails closed if it cannot. */
export function commitDecision({ sink, argsMode, log }: AuditStepOptions): Step<CallContext> {
  return async (ctx, next) => {
    if (ctx.method !== 'tools/call' || ctx.audit === undefined || ctx.cancelled) return next();
    const d = ctx.decision;
    const approved = ctx.approval?.status === 'approved' || ctx.approval?.status === 'consumed';
    if (d?.outcome === 'require_approval' && !d.shadow && !approved) {
      // Never forwarded without its approval, whatever the steps before did (fail closed).
      ctx.reply = wire.denied({ rule: d.rule, reason: 'This call needs an approval it does not have.' });
      return;
    }
    try {
      await sink.write({
        time: new Date().toISOString(),
        kind: 'decision',
        requestKey: ctx.audit.key,
        body: bodyOf(ctx, argsMode, undefined) as unknown as Record<string, unknown>,
      });
      ctx.audit.committed = true;
    } catch (err) {
      log.error({ err: (err as Error).message }, 'audit log unavailable: call refused');
      ctx.reply = wire.denied({
        rule: '(audit)',
        reason: 'The audit log is unavailable, so the call was not made.',
      });
      return;
    }
    return next();
  };
}
