// Audit steps: `audit` (outermost) leaves exactly one record per request on every path, written in `finally`;
// `commitDecision` (just before forward) makes an allowed call's decision durable before the upstream sees it.
import { randomUUID } from 'node:crypto';
import type { Tracer } from '@opentelemetry/api';
import type { NewAuditEntry } from '../audit/chain.js';
import type { AuditKey } from '../audit/keys.js';
import type { Metrics } from '../audit/metrics.js';
import { type AuditBody, decisionName, type UpstreamOutcome } from '../audit/record.js';
import { type ArgsMode, auditArgs, maskString } from '../audit/redact.js';
import { endRequestSpan, startRequestSpan } from '../audit/tracing.js';
import type { Logger } from '../log.js';
import { RESOURCE_NOT_FOUND, type Reply, wire } from '../proxy/downstream.js';
import { METHOD_NOT_FOUND, REQUEST_TIMEOUT } from '../transport/jsonrpc.js';
import type { Step } from './compose.js';
import { type CallContext, sentUpstream } from './context.js';

/** Where entries go: the group-commit writer, resolving once the entry is durable. */
export interface AuditSink {
  write(entry: NewAuditEntry): Promise<unknown>;
}

export interface AuditStepOptions {
  sink: AuditSink;
  argsMode: ArgsMode;
  /** audit.key's current key: the arguments' hash is keyed with it; without a key there is no hash. */
  argsKey?: AuditKey;
  log: Logger;
  metrics?: Metrics;
  /** When set, each audited request gets a span (tracing configured). */
  tracer?: Tracer;
  now?: () => number;
}

/**
 * Requests that leave no record: `ping` carries nothing and is sent every few seconds by some clients. Every other
 * request, the methods MCP does not define included, is audited.
 */
const UNAUDITED = new Set(['ping']);

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
  argsKey?: AuditKey,
): AuditBody {
  const target = ctx.targets[0];
  const asked = (ctx.request.params ?? {}) as Params;
  const d = ctx.decision;
  const forwarded = ctx.results.length > 0;
  let decision = decisionName(d);
  let rule = d?.rule ?? null;
  let reason = d?.reason ?? null;
  const reply = ctx.reply;
  // A request that never reached an upstream without a policy decision: an unknown name, or a malformed request
  // (arguments that are no object, a URI that does not parse, a method no upstream has).
  if (final && !forwarded && d === undefined && reply && 'error' in reply && !unforwardedOk(ctx.method)) {
    decision = 'denied';
    rule = unknownRule(reply.error.code, reply.error.message);
    reason = maskString(reply.error.message);
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
  const ref = asked.ref as Params | undefined;
  const tool =
    ctx.method === 'tools/call' || ctx.method === 'prompts/get'
      ? String(target?.params?.name ?? asked.name ?? '')
      : ctx.method.startsWith('resources/') && typeof asked.uri === 'string'
        ? asked.uri
        : ctx.method === 'completion/complete' && typeof (ref?.name ?? ref?.uri) === 'string'
          ? String(ref?.name ?? ref?.uri)
          : null;
  return {
    v: 1,
    requestId: ctx.request.id,
    session: ctx.session.id,
    // An OAuth identity is no grant: its subject is named in `subject` (added below), never as a grant label.
    grant: ctx.session.identity.oauth === undefined ? (ctx.session.identity.grant?.label ?? null) : null,
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
      ctx.method === 'tools/call'
        ? auditArgs(target?.params?.arguments ?? asked.arguments, argsMode, argsKey)
        : null,
    ...(ctx.approval === undefined ? {} : { approval: ctx.approval.id }),
    ...(ctx.round === undefined ? {} : { round: { of: ctx.round.of, n: ctx.round.n } }),
    ...(final && ctx.guards !== undefined ? { guards: ctx.guards } : {}),
    ...(ctx.session.identity.oauth === undefined ? {} : { subject: ctx.session.identity.oauth.subject }),
    ...(ctx.flow === undefined ? {} : { flow: ctx.flow }),
    era: ctx.era,
  };
}

/** Lists answer errors of their own upstreams; nothing there was refused by warden. */
function unforwardedOk(method: string): boolean {
  return method.endsWith('/list');
}

/** The rule an audit record names for a request warden answered itself without a policy decision. */
function unknownRule(code: number, message: string): string {
  if (message.startsWith('Unknown tool: ')) return '(unknown tool)';
  if (message.startsWith('Unknown prompt: ')) return '(unknown prompt)';
  if (code === RESOURCE_NOT_FOUND) return '(unknown resource)';
  if (code === METHOD_NOT_FOUND) return '(unknown method)';
  return '(invalid request)';
}

export function auditStep({
  sink,
  argsMode,
  argsKey,
  log,
  metrics,
  tracer,
  now = () => performance.now(),
}: AuditStepOptions): Step<CallContext> {
  return async (ctx, next) => {
    if (UNAUDITED.has(ctx.method)) return next();
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
      const body = bodyOf(ctx, argsMode, { latencyMs, failed }, argsKey);
      if (metrics) {
        // Names the agent made up would make labels without bound: Metrics keeps to its catalogs.
        const tool =
          body.tool !== null &&
          !body.rule?.startsWith('(unknown ') &&
          body.rule !== '(invalid request)' &&
          ctx.method !== 'completion/complete'
            ? body.tool
            : undefined;
        metrics.request(body.server ?? '(all)', body.method, tool, body.decision, latencyMs / 1000);
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
export function commitDecision({ sink, argsMode, argsKey, log }: AuditStepOptions): Step<CallContext> {
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
        body: bodyOf(ctx, argsMode, undefined, argsKey) as unknown as Record<string, unknown>,
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
