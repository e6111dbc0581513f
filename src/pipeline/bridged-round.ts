// A 2026 agent's retry that answers an upstream's question during a call it made before (the bridge of a 2026 client
// in front of a 2025 upstream, src/era/bridge.ts). The retry is a request of its own: one audit record, linked to the
// call's by `round`. It makes no new decision: the call was decided, limited and approved once, on its first request,
// and is still running upstream; the retry carries the answer there and gets the call's result (or the next question).
import type { Step } from './compose.js';
import type { CallContext } from './context.js';

export const bridgedRound: Step<CallContext> = async (ctx, next) => {
  const c = ctx.continues;
  if (c === undefined) return next();
  const { first } = c;
  // The first request opens the link (its approval's, when it had one in-band; else its own request id).
  first.round ??= { of: String(first.request.id), n: 1 };
  ctx.round = { of: first.round.of, n: first.round.n + c.n };
  ctx.targets = first.targets;
  ctx.decision = {
    outcome: 'allow',
    rule: first.decision?.rule ?? '(no policy)',
    policy: first.decision?.policy ?? '(none)',
    reason: `answers the upstream's ${c.asked} in round ${ctx.round.n} of the call`,
    limits: [],
    approval: undefined,
    shadow: false,
  };
  // The answer goes upstream now (the call is running there): the record says forwarded.
  c.forward();
  ctx.upstreamCalls.push({ sent: true });
  const answer = await c.answer;
  if (answer === undefined) {
    ctx.cancelled = true;
    return;
  }
  ctx.reply = answer;
  const server = first.targets[0]?.server ?? ctx.session.server ?? '';
  ctx.results.push({
    server,
    response:
      'error' in answer
        ? { jsonrpc: '2.0', id: ctx.request.id, error: answer.error }
        : { jsonrpc: '2.0', id: ctx.request.id, result: answer.result },
  });
};
