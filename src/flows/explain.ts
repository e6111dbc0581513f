// What the flow rules do with a call given the calls before it in its conversation: shared by the dashboard simulator
// (/api/simulate) and anything else that explains a decision without making the call.
import type { Decision } from '../policy/types.js';
import type { Classification } from '../risk/types.js';
import { type LabelSource, labelName } from './labels.js';
import type { FlowSet } from './layers.js';
import { decideFlow } from './rules.js';

export interface EarlierCall {
  server: string;
  tool: string;
}

export interface FlowExplanation {
  /** The call's own labels, with where each came from. */
  labels: LabelSource[];
  /** What the conversation had seen: the earlier calls' labels and any labels given as such. */
  seen: string[];
  /** The flow rule that applies, if any. */
  rule: string | null;
  action: 'deny' | 'hold' | null;
  reason: string | null;
  shadow: boolean;
}

/**
 * `flowsFor(server)`: the labels and rules in force for a call on that server (the config's and its policies', as
 * flowSet in src/flows/layers.ts gives them); each earlier call is labelled as the gateway labelled it on its own server.
 */
export function explainFlow(
  flowsFor: (server: string) => FlowSet,
  call: EarlierCall & { classification?: Classification | undefined },
  earlier: readonly EarlierCall[],
  classificationOf: (server: string, tool: string) => Classification | undefined,
  opts: { seen?: readonly string[]; shadow?: boolean } = {},
): FlowExplanation {
  const seen = new Set((opts.seen ?? []).map(labelName));
  for (const e of earlier)
    for (const l of flowsFor(e.server).resolve(e.server, e.tool, classificationOf(e.server, e.tool)))
      seen.add(l.label);
  const here = flowsFor(call.server);
  const labels = here.resolve(call.server, call.tool, call.classification);
  const verdict = decideFlow(
    here.rules,
    seen,
    labels.map((l) => l.label),
  );
  return {
    labels,
    seen: [...seen],
    rule: verdict?.rule.pointer ?? null,
    action: verdict?.rule.action ?? null,
    reason: verdict?.reason ?? null,
    shadow: opts.shadow ?? false,
  };
}

/**
 * The decision after the flow rules, as the gateway makes it: a policy denial or hiding stands; a flow deny replaces an
 * allow or approval; a hold turns an allow into an approval. Shadow flow rules change nothing.
 */
export function withFlow(policy: Decision, flow: FlowExplanation, holdTimeoutMs: number): Decision {
  if (flow.rule === null || flow.shadow) return policy;
  if (policy.outcome !== 'allow' && policy.outcome !== 'require_approval') return policy;
  if (flow.action === 'hold' && policy.outcome === 'require_approval') return policy;
  const outcome = flow.action === 'deny' ? 'deny' : 'require_approval';
  return {
    outcome,
    rule: flow.rule,
    policy: '(flows)',
    reason: flow.reason ?? undefined,
    limits: policy.limits,
    approval:
      outcome === 'require_approval'
        ? { rule: flow.rule, timeoutMs: holdTimeoutMs, mode: 'hold' }
        : undefined,
    shadow: false,
  };
}
