// Approvals in-band for 2026 clients (#18.4): a call that needs approval is answered with an InputRequiredResult whose
// requestState warden sealed; the client's retry carries it back and goes through once a person approved, exactly once.
// The decisions are the 2025 ones (approvalStep); only how the agent waits differs: no held request, no second call.
import { type ApprovalService, approvalFingerprint } from '../approvals/service.js';
import {
  isWardenState,
  type RequestStateSealer,
  sameFingerprint,
  stateFingerprint,
} from '../era/request-state.js';
import type { Logger } from '../log.js';
import { wire } from '../proxy/downstream.js';
import { classify } from '../risk/classify.js';
import type { ToolDefinition } from '../risk/types.js';
import type { Approval } from '../store/approvals.js';
import { refusal } from './approval.js';
import type { CallContext } from './context.js';

type Params = Record<string, unknown>;

/** The key of warden's own input request in `inputRequests` (and of its answer in the retry's `inputResponses`). */
export const APPROVAL_INPUT_KEY = 'mcp-warden/approval';

export interface InbandApprovalOptions {
  approvals: ApprovalService;
  sealer: RequestStateSealer;
  log: Logger;
  /** How long a state that continues an upstream's own round trip (after approval) may be used. */
  upstreamRoundMs?: number;
  now?: () => number;
}

/** What the elicitation a client can show looks like: URL mode when declared, else form mode, else none. */
function elicitationMode(caps: Record<string, unknown> | undefined): 'url' | 'form' | undefined {
  const e = caps?.elicitation;
  if (typeof e !== 'object' || e === null) return undefined;
  const modes = e as Params;
  if (typeof modes.url === 'object' && modes.url !== null) return 'url';
  // `elicitation: {}` declares form mode (the 2025-06-18 shape); `form: {}` says it outright.
  if (Object.keys(modes).length === 0 || (typeof modes.form === 'object' && modes.form !== null))
    return 'form';
  return undefined;
}

/** The parameters to forward: the retry's round-trip fields are warden's, not the upstream's. */
function forwardParams(params: Params, args: Params, upstreamState: string | undefined): Params {
  const { requestState: _state, inputResponses, ...rest } = params;
  const out: Params = { ...rest, arguments: args };
  if (upstreamState !== undefined) out.requestState = upstreamState;
  if (typeof inputResponses === 'object' && inputResponses !== null) {
    const { [APPROVAL_INPUT_KEY]: _ours, ...theirs } = inputResponses as Params;
    if (Object.keys(theirs).length > 0) out.inputResponses = theirs;
  }
  return out;
}

/**
 * Handles a 2026 tools/call the policy sent for approval. Returns 'forward' when the call may go on (approved and
 * spent, or continuing an approved call's upstream round trip); otherwise ctx.reply is set.
 */
export async function inbandApproval(
  ctx: CallContext,
  opts: InbandApprovalOptions,
): Promise<'forward' | 'answered'> {
  const { approvals, sealer, log } = opts;
  const d = ctx.decision!;
  const target = ctx.targets[0]!;
  const rule = d.rule;
  const params = (target.params ?? {}) as Params;
  const tool = String(params.name ?? '');
  const args =
    typeof params.arguments === 'object' && params.arguments !== null && !Array.isArray(params.arguments)
      ? (params.arguments as Params)
      : {};
  const grant = ctx.session.identity.grant;
  const fingerprint = approvalFingerprint(target.server, tool, args, rule, grant?.id);
  const bound = stateFingerprint(fingerprint, ctx.session.identity.oauth?.subject);
  const refuse = (reason: string, more?: Params) => {
    ctx.reply = wire.denied({ rule, reason }, undefined, more);
    return 'answered' as const;
  };

  const raw = params.requestState;
  if (raw === undefined) {
    // A first request. Asking again before anyone decided is the same approval, never a second one.
    const pending =
      (await approvals.findPending(fingerprint)) ??
      (await approvals.request({
        mode: 'async',
        server: target.server,
        tool,
        arguments: args,
        rule,
        reason: d.reason,
        risk: await riskOf(ctx, tool),
        grantId: grant?.id,
        grantLabel: grant?.label,
        session: ctx.session.id,
        timeoutMs: d.approval!.timeoutMs,
      }));
    ctx.approval = { id: pending.id, status: 'pending' };
    ctx.round = { of: pending.id, n: 1 };
    ctx.reply = inputRequired(ctx, opts, pending, bound, rule, d.reason, 2);
    return 'answered';
  }

  // A retry. Only a state warden sealed, for this very call, resumes it; anything else is refused, not re-asked, so
  // that a tampered or replayed state never turns into a fresh approval a person might click through by habit.
  if (!isWardenState(raw))
    return refuse(
      'This call needs approval, and its requestState was not issued by mcp-warden. The call was not run',
    );
  const opened = sealer.open(raw);
  if (!opened.ok && opened.why === 'expired') {
    // Genuine but late: what became of its approval (expired, rejected) is the answer, as for a 2025 client.
    const late = opened.state;
    const a =
      late.approval === undefined || !sameFingerprint(late.fingerprint, bound)
        ? undefined
        : await approvals.get(late.approval);
    if (a !== undefined && a.status !== 'pending' && a.status !== 'approved' && a.status !== 'consumed')
      return refuse(refusal(a), { approvalId: a.id, approvalStatus: a.status });
    return refuse(
      'The approval round trip of this call expired. The call was not run; make it again without requestState to ask for a new approval',
    );
  }
  if (!opened.ok)
    return refuse(
      'The requestState of this call is not one mcp-warden issued, or it was changed. The call was not run',
    );
  const state = opened.state;
  if (!sameFingerprint(state.fingerprint, bound))
    return refuse(
      'The retry does not match the call that was approved (server, tool, arguments, rule, grant or identity changed). The call was not run',
    );
  ctx.round = state.round;

  if (state.kind === 'upstream') {
    // The upstream's own round trip of a call whose approval was already spent: the upstream's state goes back to it.
    ctx.approval = state.approval === undefined ? undefined : { id: state.approval, status: 'approved' };
    target.params = forwardParams(params, args, state.upstream);
    return 'forward';
  }

  const a = state.approval === undefined ? undefined : await approvals.get(state.approval);
  if (a === undefined) return refuse('The approval this retry names does not exist. The call was not run');
  ctx.approval = { id: a.id, status: a.status };
  switch (a.status) {
    case 'pending':
      // Still waiting: the same approval again, with a fresh state (the next round).
      ctx.reply = inputRequired(ctx, opts, a, bound, rule, d.reason, state.round.n + 1);
      return 'answered';
    case 'approved': {
      const spent = await approvals.consumeById(a.id, fingerprint);
      if (spent === undefined) return usedAlready(a.id, refuse);
      ctx.approval = { id: spent.id, status: 'approved' };
      // Forwarded with the arguments as they were approved (equal to these: the fingerprint says so).
      target.params = forwardParams(params, spent.arguments, state.upstream);
      return 'forward';
    }
    case 'consumed':
      log.info({ approval: a.id, tool, server: target.server }, 'approval state replayed after use: refused');
      return usedAlready(a.id, refuse);
    default:
      return refuse(refusal(a), { approvalId: a.id, approvalStatus: a.status });
  }
}

function usedAlready(id: string, refuse: (reason: string, more?: Params) => 'answered'): 'answered' {
  return refuse(
    `Approval ${id} was already used: an approved call runs exactly once. This call was not run; make it again without requestState to ask for a new approval`,
    { approvalId: id, approvalStatus: 'consumed' },
  );
}

async function riskOf(
  ctx: CallContext,
  tool: string,
): Promise<ReturnType<typeof classify>['risk'] | undefined> {
  const definition = await ctx.targets[0]!.link.toolDefinition(tool);
  return definition === undefined ? undefined : classify(definition as unknown as ToolDefinition).risk;
}

/** The InputRequiredResult for a pending approval: what to show a person, and the sealed state of the next round. */
function inputRequired(
  ctx: CallContext,
  { approvals, sealer }: InbandApprovalOptions,
  a: Approval,
  bound: string,
  rule: string,
  reason: string | undefined,
  nextRound: number,
): { result: Params } {
  const requestState = sealer.seal({
    kind: 'approval',
    approval: a.id,
    fingerprint: bound,
    expiresAt: Date.parse(a.expiresAt),
    round: { of: ctx.round?.of ?? a.id, n: nextRound },
    upstream: undefined,
  });
  const message = `${reason ?? 'This call needs approval'}: ${a.server}/${a.tool} is waiting for a person (approval ${a.id}, until ${a.expiresAt}), who can approve it ${approvals.howToDecide(a.id)}. It runs once it is approved.`;
  const mode = elicitationMode(ctx.clientCapabilities);
  const url = approvals.approvalUrl(a.id);
  const result: Params = {
    resultType: 'input_required',
    requestState,
    _meta: {
      'mcp-warden/decision': {
        rule,
        reason: reason ?? 'This call needs approval',
        approvalId: a.id,
        approvalStatus: 'pending',
        expiresAt: a.expiresAt,
      },
    },
  };
  if (mode === 'url' && url !== undefined)
    result.inputRequests = {
      [APPROVAL_INPUT_KEY]: {
        method: 'elicitation/create',
        params: { mode: 'url', message, url, elicitationId: a.id },
      },
    };
  else if (mode !== undefined)
    result.inputRequests = {
      [APPROVAL_INPUT_KEY]: {
        method: 'elicitation/create',
        params: { mode: 'form', message, requestedSchema: { type: 'object', properties: {} } },
      },
    };
  // A client that can show nothing gets the state alone: it retries after a pause, as for a busy server.
  return { result };
}

/**
 * After an approved call was forwarded: an upstream's own InputRequiredResult gets warden's seal around its
 * requestState, so that the client's retry continues this approved call instead of asking for a new approval.
 */
export function sealUpstreamRound(ctx: CallContext, opts: InbandApprovalOptions): void {
  // The reply is made from the upstream's answer by an outer step (route), after this one: seal the answer itself.
  const reply = ctx.reply ?? ctx.results[0]?.response;
  if (reply === undefined || !('result' in reply) || reply.result.resultType !== 'input_required') return;
  const d = ctx.decision!;
  const target = ctx.targets[0]!;
  const params = (target.params ?? {}) as Params;
  const args = (params.arguments ?? {}) as Params;
  const fingerprint = approvalFingerprint(
    target.server,
    String(params.name ?? ''),
    args,
    d.rule,
    ctx.session.identity.grant?.id,
  );
  const theirs = reply.result.requestState;
  reply.result.requestState = opts.sealer.seal({
    kind: 'upstream',
    approval: ctx.approval?.id,
    fingerprint: stateFingerprint(fingerprint, ctx.session.identity.oauth?.subject),
    expiresAt: (opts.now ?? Date.now)() + (opts.upstreamRoundMs ?? 600_000),
    round: { of: ctx.round?.of ?? ctx.approval?.id ?? String(ctx.request.id), n: (ctx.round?.n ?? 1) + 1 },
    upstream: typeof theirs === 'string' ? theirs : undefined,
  });
}
