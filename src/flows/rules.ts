// Flow rules (SPEC §13): once a conversation has seen a label, calls of tools carrying another label are denied or
// held for approval. Pure functions: the flow step, `warden policy explain/test` and the simulator share them.
import { labelName } from './labels.js';

export interface FlowRule {
  after: string;
  action: 'deny' | 'hold';
  /** The label a call's tool must carry for the rule to apply. */
  target: string;
  reason: string | undefined;
  /** `flows.rules[<i>]`: what the audit record and the agent's denial name. */
  pointer: string;
}

export interface FlowRuleInput {
  after: string;
  deny?: string | undefined;
  hold?: string | undefined;
  reason?: string | undefined;
}

export function compileRules(rules: readonly FlowRuleInput[]): FlowRule[] {
  return rules.map((r, i) => ({
    after: labelName(r.after),
    action: r.deny !== undefined ? 'deny' : 'hold',
    target: labelName((r.deny ?? r.hold)!),
    reason: r.reason,
    pointer: `/flows/rules/${i}`,
  }));
}

export interface FlowVerdict {
  rule: FlowRule;
  /** The default reason when the rule gives none. */
  reason: string;
}

/**
 * The strictest rule a call with `toolLabels` meets in a conversation that has seen `seen`: any deny beats any hold;
 * among equals the first in file order. Undefined: no rule applies.
 */
export function decideFlow(
  rules: readonly FlowRule[],
  seen: ReadonlySet<string>,
  toolLabels: readonly string[],
): FlowVerdict | undefined {
  let hold: FlowRule | undefined;
  for (const r of rules) {
    if (!seen.has(r.after) || !toolLabels.includes(r.target)) continue;
    if (r.action === 'deny') return { rule: r, reason: reasonOf(r) };
    hold ??= r;
  }
  return hold === undefined ? undefined : { rule: hold, reason: reasonOf(hold) };
}

function reasonOf(r: FlowRule): string {
  return (
    r.reason ??
    `This conversation has seen ${r.after} data, so tools labelled ${r.target} are ${r.action === 'deny' ? 'refused' : 'held for approval'}`
  );
}
