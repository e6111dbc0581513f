// The limit step: reserves every counter an allowed call's decision names (all or none) before it is forwarded, and
// gives the reservation back only when the call never reached its upstream.
import type { Metrics } from '../audit/metrics.js';
import { WardenError } from '../errors.js';
import type { Logger } from '../log.js';
import { resolvePath } from '../policy/operators.js';
import type { LimitObligation, StateRead } from '../policy/types.js';
import { wire } from '../proxy/downstream.js';
import type { CounterStore, LimitRequest, Reservation } from '../state/types.js';
import type { Step } from './compose.js';
import { type CallContext, sentUpstream } from './context.js';

export interface LimitStepOptions {
  counters: CounterStore;
  /** What to do when the counter store cannot be reached: refuse the call (default) or let it through uncounted. */
  failMode: 'closed' | 'open';
  log: Logger;
  metrics?: Metrics;
  now?: () => number;
}

/**
 * The counter's key: its scope's identity, then its name. Counter names are shared within a scope across tools and
 * policies (PolicyLayer's `calls` under `all_tools` counts every tool of the grant); `tool` and `server` scopes name
 * the upstream, so two servers' tools of the same name never share.
 */
export function counterKey(
  o: Pick<LimitObligation, 'scope' | 'counter'>,
  ctx: CallContext,
  server: string,
  tool: string,
): string {
  switch (o.scope) {
    case 'session':
      return `session:${ctx.session.id}:${o.counter}`;
    case 'grant':
      return `grant:${ctx.session.identity.grant?.id ?? '(anonymous)'}:${o.counter}`;
    case 'tool':
      return `tool:${server}/${tool}:${o.counter}`;
    case 'server':
      return `server:${server}:${o.counter}`;
    default:
      return `global:${o.counter}`;
  }
}

/** What one call adds to a counter: `increment`, or the argument named by `increment_from` (budgets). */
function amountOf(o: LimitObligation, args: Record<string, unknown> | undefined): number | undefined {
  if (o.incrementFrom === undefined) return o.increment;
  const v = resolvePath(args, o.incrementFrom);
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined;
}

function limitMessage(o: LimitObligation, retryAfterSeconds: number): string {
  const base = o.message ?? `Limit of ${o.max} per ${o.windowMs / 1000} s reached`;
  return `${base.replace(/[.\s]+$/, '')}. Retry after ${retryAfterSeconds} s.`;
}

/** What the policy step and the limit step say when the counter store cannot be reached and fails closed. */
export const STATE_UNAVAILABLE_REASON = 'Limits cannot be checked right now, so the call was not made.';

/**
 * The values of the counters `state.*` conditions read (Intercept), keyed `<scope>.<counter>` for decide()'s
 * `counter` callback. Rejects when the store cannot be reached.
 */
export async function readStateCounters(
  reads: readonly StateRead[],
  counters: CounterStore,
  ctx: CallContext,
  server: string,
  nowMs: number,
): Promise<Map<string, number>> {
  const values = await Promise.all(
    reads.map((r) =>
      counters.read(
        counterKey({ scope: r.limitScope, counter: r.counter }, ctx, server, r.tool),
        r.windowMs,
        'calendar',
        nowMs,
      ),
    ),
  );
  return new Map(reads.map((r, i) => [`${r.scope}.${r.name}`, values[i]!]));
}

export function limitStep({
  counters,
  failMode,
  log,
  metrics,
  now = Date.now,
}: LimitStepOptions): Step<CallContext> {
  return async (ctx, next) => {
    const d = ctx.decision;
    const target = ctx.targets[0];
    if (ctx.method !== 'tools/call' || d === undefined || d.limits.length === 0 || d.shadow || !target)
      return next();
    const tool = String(target.params?.name ?? '');
    const args = target.params?.arguments as Record<string, unknown> | undefined;
    const requests: LimitRequest[] = [];
    /** The obligation of each request, by index. */
    const owners: LimitObligation[] = [];
    for (const o of d.limits) {
      const amount = amountOf(o, args);
      if (amount === undefined) {
        // A budget that cannot be measured is not spent blindly: fail closed.
        ctx.reply = wire.denied({
          rule: o.rule,
          reason: `This call is counted by args.${o.incrementFrom!.join('.')}, which must be a number of at least 0.`,
        });
        return;
      }
      if (amount === 0) continue;
      owners.push(o);
      requests.push({
        key: counterKey(o, ctx, target.server, tool),
        max: o.max,
        windowMs: o.windowMs,
        window: o.window,
        amount,
      });
    }
    let reservation: Reservation | undefined;
    if (requests.length > 0) {
      try {
        const r = await counters.reserve(requests, now());
        if (!r.ok) {
          const o = owners[r.index]!;
          const retryAfterSeconds = Math.max(1, Math.ceil(r.retryAfterMs / 1000));
          const reason = limitMessage(o, retryAfterSeconds);
          ctx.limited = { rule: o.rule, reason };
          ctx.reply = wire.denied({ rule: o.rule, reason }, retryAfterSeconds);
          return;
        }
        reservation = r.reservation;
      } catch (err) {
        metrics?.stateFailures.inc({ mode: failMode });
        const message = err instanceof WardenError ? err.message : String(err);
        if (failMode === 'closed') {
          log.error({ err: message }, 'limit state unavailable: call refused (state_fail_mode: closed)');
          ctx.limited = {
            rule: d.limits[0]!.rule,
            reason: STATE_UNAVAILABLE_REASON,
          };
          ctx.reply = wire.denied(ctx.limited);
          return;
        }
        log.warn(
          { err: message },
          'limit state unavailable: call let through uncounted (state_fail_mode: open)',
        );
      }
    }
    try {
      await next();
    } finally {
      // Given back only when the call never reached the upstream (not forwarded, or its upstream could not be
      // reached: see UpstreamCall.sent). Once sent it may have run, whatever came back: a cancel, a timeout, a
      // JSON-RPC error, a closed connection or a restart all leave it counted (#17.2, docs/limits.md).
      if (!sentUpstream(ctx) && reservation !== undefined) {
        const r = reservation;
        counters
          .release(r)
          .catch((err: Error) => log.warn({ err: err.message }, 'limit reservation could not be given back'));
      }
    }
  };
}
