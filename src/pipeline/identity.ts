// The identity steps: a grant revoked (or a token rotated) while its agent is connected stops that agent's next call.
import type { GrantState, Identity } from '../identity/authenticate.js';
import type { Reply } from '../proxy/downstream.js';
import type { Step } from './compose.js';
import type { CallContext } from './context.js';

/** JSON-RPC's implementation-defined server error: the HTTP side answers 401/503 with the same code and wording. */
const SERVER_ERROR = -32000;

/** What the agent reads, and the audit rule and reason, for a grant that no longer holds. */
export function grantRefusal(
  state: Exclude<GrantState, 'live'>,
  identity: Identity,
): { rule: string; reason: string; reply: Reply } {
  const label = identity.grant?.label ?? '';
  const reason =
    // oauth: an identity provider's token that expired while its call waited for an approval.
    state === 'expired'
      ? `Unauthorized: the access token of "${label}" expired while the call waited; obtain a new token and call again`
      : state === 'revoked'
        ? `Unauthorized: grant "${label}" was revoked; no further requests are accepted (warden grants create makes a new grant)`
        : state === 'rotated'
          ? `Unauthorized: the token of grant "${label}" was rotated; restart with the new token`
          : 'Service Unavailable: identities cannot be checked right now';
  const rule =
    state === 'unavailable'
      ? '(grant store unavailable)'
      : state === 'expired'
        ? '(token expired)'
        : `(grant ${state})`;
  return { rule, reason, reply: { error: { code: SERVER_ERROR, message: reason } } };
}

/** Refuses the call, as a denial the audit record shows with its rule. */
function refuse(ctx: CallContext, state: Exclude<GrantState, 'live'>): void {
  const { rule, reason, reply } = grantRefusal(state, ctx.session.identity);
  ctx.decision = {
    outcome: 'deny',
    rule,
    policy: '(none)',
    reason,
    limits: [],
    approval: undefined,
    shadow: false,
  };
  ctx.reply = reply;
}

/**
 * stdio mode (first after audit): nothing authenticated the request on its way in, so the grant is read again here,
 * for every request. HTTP identities skip this (the transport authenticated this very request).
 */
export const grantStillLive: Step<CallContext> = async (ctx, next) => {
  const { identity } = ctx.session;
  if (identity.recheckEachRequest === true && identity.recheck !== undefined) {
    const state = await identity.recheck();
    if (state !== 'live') return refuse(ctx, state);
  }
  return next();
};

/**
 * After an approval (hold mode can take minutes): a grant revoked while its call waited does not have the call made,
 * on any transport.
 */
export const grantStillLiveAfterApproval: Step<CallContext> = async (ctx, next) => {
  const { identity } = ctx.session;
  if (ctx.approval !== undefined && identity.recheck !== undefined && !ctx.cancelled) {
    const state = await identity.recheck();
    if (state !== 'live') return refuse(ctx, state);
  }
  return next();
};
