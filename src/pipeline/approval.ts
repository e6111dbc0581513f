// The approval step: a call the policy says needs a person waits for one (hold mode), or returns at once with an
// approval id and goes through when the same call is made again after approval (async mode, as Intercept does).
import { type ApprovalService, approvalFingerprint } from '../approvals/service.js';
import { ERA_2026 } from '../era/versions.js';
import type { Logger } from '../log.js';
import { wire } from '../proxy/downstream.js';
import { classify } from '../risk/classify.js';
import type { ToolDefinition } from '../risk/types.js';
import type { Approval } from '../store/approvals.js';
import type { Step } from './compose.js';
import type { CallContext } from './context.js';
import { type InbandApprovalOptions, inbandApproval, sealUpstreamRound } from './round-trip.js';

export interface ApprovalStepOptions {
  approvals: ApprovalService;
  log: Logger;
  /** How often a held call tells the agent it is still waiting (when the agent sent a progress token). */
  progressEveryMs?: number;
  /** Approvals in-band for 2026 requests (InputRequiredResult round trips); without it they are held as in 2025. */
  inband?: Omit<InbandApprovalOptions, 'approvals' | 'log'>;
}

type Params = Record<string, unknown>;

/** Deciders that are not people. */
const SYSTEM_ACTORS: ReadonlySet<string> = new Set(['(timeout)', '(agent)', '(gateway)']);

/** What the agent reads when a person said no, nobody said anything in time, or the approval was cancelled. */
export function refusal(a: Approval): string {
  const who = a.decidedBy !== undefined && !SYSTEM_ACTORS.has(a.decidedBy) ? ` by ${a.decidedBy}` : '';
  const note = a.note === undefined ? '' : `: ${a.note}`;
  switch (a.status) {
    case 'rejected':
      return `The call was rejected${who}${note}. It was not run; do not make it again unless a person asks for it`;
    case 'expired':
      return `Nobody approved the call in time (approval ${a.id} expired). It was not run; make the call again to ask for a new approval`;
    default:
      return `The approval was cancelled${note.replace(/[.\s]+$/, '')}. The call was not run; make it again to ask for a new approval`;
  }
}

/** What an agent told to come back reads: what happened, where a person approves, and what to do then. */
function comeBack(
  reason: string | undefined,
  a: Approval,
  approvals: ApprovalService,
  heldMs: number,
): string {
  const waited =
    heldMs > 0
      ? `Nobody decided within ${Math.round(heldMs / 1000)} s, so the call was not run yet.`
      : 'The call was not run yet.';
  return `${reason ?? 'This call needs approval'}. ${waited} Approval ${a.id} is waiting for a person, who can approve it ${approvals.howToDecide(a.id)}. Once it is approved, make the same call again with the same arguments before ${a.expiresAt}; it then runs exactly once.`;
}

export function approvalStep({
  approvals,
  log,
  progressEveryMs = 10_000,
  inband,
}: ApprovalStepOptions): Step<CallContext> {
  const roundTrips = inband === undefined ? undefined : { ...inband, approvals, log };
  return async (ctx, next) => {
    const d = ctx.decision;
    const target = ctx.targets[0];
    if (ctx.method !== 'tools/call' || d?.outcome !== 'require_approval' || d.shadow || !target)
      return next();
    if (ctx.era === ERA_2026 && roundTrips !== undefined) {
      // Same decision, asked in-band: the 2026 client retries instead of holding its request open.
      if ((await inbandApproval(ctx, roundTrips)) === 'answered') return;
      await next();
      sealUpstreamRound(ctx, roundTrips);
      return;
    }
    const obligation = d.approval!;
    const params = (target.params ?? {}) as Params;
    const tool = String(params.name ?? '');
    const args =
      typeof params.arguments === 'object' && params.arguments !== null && !Array.isArray(params.arguments)
        ? (params.arguments as Params)
        : {};
    const grant = ctx.session.identity.grant;
    const rule = d.rule;
    // How long the agent's call stays open. Held for the whole timeout (hold mode), the approval belongs to this one
    // call; held for less (`approval.hold`, or async mode), it outlives the call, and the same call made again after
    // approval goes through exactly once (#17.24).
    const holdMs =
      obligation.mode === 'async'
        ? (obligation.holdMs ?? 0)
        : Math.min(obligation.holdMs ?? obligation.timeoutMs, obligation.timeoutMs);
    const whole = obligation.mode === 'hold' && holdMs >= obligation.timeoutMs;

    const fingerprint = approvalFingerprint(target.server, tool, args, rule, grant?.id);
    if (!whole) {
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
      mode: whole ? ('hold' as const) : ('async' as const),
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
    // Asking again before anyone decided waits on the same approval, not a new one.
    const pending = whole
      ? await approvals.request(request)
      : ((await approvals.findPending(fingerprint)) ?? (await approvals.request(request)));
    ctx.approval = { id: pending.id, status: 'pending' };
    const later = (a: Approval, heldMs: number) =>
      wire.denied({ rule, reason: comeBack(d.reason, a, approvals, heldMs) }, undefined, {
        approvalId: a.id,
        approvalStatus: 'pending',
        expiresAt: a.expiresAt,
      });
    if (holdMs <= 0) {
      ctx.reply = later(pending, 0);
      return;
    }

    // Held. An agent that cancels or goes away withdraws the call: its approval is cancelled (approvers and webhooks
    // are told why) and it never runs, even if someone approves it in the same moment (#17.24).
    const abort = new AbortController();
    const withdraw = (why: string) => {
      if (!abort.signal.aborted) abort.abort(why);
    };
    ctx.cancelHooks.push((reason) =>
      withdraw(
        reason === 'session closed'
          ? "The agent's session closed before anyone decided."
          : `The agent cancelled the call${reason === undefined ? '' : ` (${reason})`} before anyone decided.`,
      ),
    );
    ctx.agentGoneHooks.push(withdraw);
    // Cancelled or gone while the approval was being recorded.
    if (ctx.cancelled) withdraw('The agent cancelled the call before anyone decided.');
    if (ctx.agentGone !== undefined) withdraw(ctx.agentGone);
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
      outcome = await approvals.wait(pending.id, abort.signal, whole ? undefined : holdMs);
    } finally {
      if (timer !== undefined) clearInterval(timer);
    }
    ctx.approval = { id: outcome.id, status: outcome.status };
    if (ctx.cancelled) return; // the agent asked for no answer
    if (outcome.status === 'pending') {
      ctx.reply = later(outcome, holdMs);
      return;
    }
    if (outcome.status === 'approved' && abort.signal.aborted) {
      // Approved as the agent went away: nobody would read the result, so the call is not made.
      log.info(
        { approval: outcome.id, tool, server: target.server },
        'approved after its agent went away: not run',
      );
      ctx.reply = wire.denied(
        { rule, reason: `Approval ${outcome.id} came after the agent went away; the call was not run` },
        undefined,
        { approvalId: outcome.id, approvalStatus: outcome.status },
      );
      return;
    }
    if (outcome.status === 'approved') {
      if (!whole) {
        // The approval outlives this call: spend it now, so that a repeat of the call cannot run it a second time.
        const spent = await approvals.consume(fingerprint);
        if (spent === undefined) {
          ctx.reply = wire.denied(
            {
              rule,
              reason: `Approval ${outcome.id} was already used by an identical call. This call was not run; make it again to ask for a new approval`,
            },
            undefined,
            { approvalId: outcome.id, approvalStatus: 'consumed' },
          );
          return;
        }
        ctx.approval = { id: spent.id, status: 'approved' };
      }
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
