// The approval step: a call the policy says needs a person waits for one (hold mode), or returns at once with an
// approval id and goes through when the same call is made again after approval (async mode, as Intercept does).
import { type ApprovalService, approvalFingerprint } from '../approvals/service.js';
import type { Logger } from '../log.js';
import { wire } from '../proxy/downstream.js';
import { classify } from '../risk/classify.js';
import type { ToolDefinition } from '../risk/types.js';
import type { Approval } from '../store/approvals.js';
import type { Step } from './compose.js';
import type { CallContext } from './context.js';

export interface ApprovalStepOptions {
  approvals: ApprovalService;
  log: Logger;
  /** How often a held call tells the agent it is still waiting (when the agent sent a progress token). */
  progressEveryMs?: number;
}

type Params = Record<string, unknown>;

/** Deciders that are not people. */
const SYSTEM_ACTORS: ReadonlySet<string> = new Set(['(timeout)', '(agent)', '(gateway)']);

/** What the agent reads when a person said no, or nobody said anything in time. */
function refusal(a: Approval): string {
  const who = a.decidedBy !== undefined && !SYSTEM_ACTORS.has(a.decidedBy) ? ` by ${a.decidedBy}` : '';
  const note = a.note === undefined ? '' : `: ${a.note}`;
  switch (a.status) {
    case 'rejected':
      return `The call was rejected${who}${note}`;
    case 'expired':
      return `Nobody approved the call in time (approval ${a.id} expired)`;
    default:
      return `The approval was cancelled${note === '' ? '' : note}`;
  }
}

export function approvalStep({
  approvals,
  log,
  progressEveryMs = 10_000,
}: ApprovalStepOptions): Step<CallContext> {
  return async (ctx, next) => {
    const d = ctx.decision;
    const target = ctx.targets[0];
    if (ctx.method !== 'tools/call' || d?.outcome !== 'require_approval' || d.shadow || !target)
      return next();
    const obligation = d.approval!;
    const params = (target.params ?? {}) as Params;
    const tool = String(params.name ?? '');
    const args =
      typeof params.arguments === 'object' && params.arguments !== null && !Array.isArray(params.arguments)
        ? (params.arguments as Params)
        : {};
    const grant = ctx.session.identity.grant;
    const rule = d.rule;

    const fingerprint = approvalFingerprint(target.server, tool, args, rule, grant?.id);
    if (obligation.mode === 'async') {
      const spent = await approvals.consume(fingerprint);
      if (spent !== undefined) {
        ctx.approval = { id: spent.id, status: 'approved' };
        return next();
      }
    }
    const definition = await target.link.toolDefinition(tool);
    const risk =
      definition === undefined ? undefined : classify(definition as unknown as ToolDefinition).risk;
    const request = {
      mode: obligation.mode,
      server: target.server,
      tool,
      arguments: args,
      rule,
      reason: d.reason,
      risk,
      grantId: grant?.id,
      grantLabel: grant?.label,
      session: ctx.session.id,
      timeoutMs: obligation.timeoutMs,
    };

    if (obligation.mode === 'async') {
      const pending = (await approvals.findPending(fingerprint)) ?? (await approvals.request(request));
      ctx.approval = { id: pending.id, status: 'pending' };
      ctx.reply = wire.denied(
        {
          rule,
          reason: `${d.reason ?? 'This call needs approval'}. Approval ${pending.id} is waiting for a person (warden approvals approve ${pending.id}); once approved, make the same call again with the same arguments before ${pending.expiresAt}.`,
        },
        undefined,
        { approvalId: pending.id, approvalStatus: 'pending', expiresAt: pending.expiresAt },
      );
      return;
    }

    const pending = await approvals.request(request);
    ctx.approval = { id: pending.id, status: 'pending' };
    const abort = new AbortController();
    ctx.cancelHooks.push(() => abort.abort());
    if (ctx.cancelled) abort.abort(); // cancelled while the approval was being recorded
    const token = (ctx.request.params as Params | undefined)?._meta as Params | undefined;
    const progressToken = token?.progressToken;
    let ticks = 0;
    const tick = () =>
      ctx.session.progress(ctx.request, {
        progressToken,
        progress: ++ticks,
        message: `Waiting for a person to approve ${tool} (approval ${pending.id})`,
      });
    // At once (the agent learns why nothing happens yet), then regularly, so that clients that reset their request
    // timeout on progress keep waiting.
    if (progressToken !== undefined) tick();
    const timer = progressToken === undefined ? undefined : setInterval(tick, progressEveryMs);
    let outcome: Approval;
    try {
      outcome = await approvals.wait(pending.id, abort.signal);
    } finally {
      if (timer !== undefined) clearInterval(timer);
    }
    ctx.approval = { id: outcome.id, status: outcome.status };
    if (ctx.cancelled) return; // the agent asked for no answer
    if (outcome.status === 'approved') {
      // Forwarded with the arguments as they were approved.
      target.params = { ...params, arguments: outcome.arguments };
      return next();
    }
    log.info(
      { approval: outcome.id, status: outcome.status, tool, server: target.server },
      'approval not given',
    );
    ctx.reply = wire.denied({ rule, reason: refusal(outcome) }, undefined, {
      approvalId: outcome.id,
      approvalStatus: outcome.status,
    });
  };
}
