// Flow labels and rules that policy files carry (SPEC §13: a policy file may carry the same `flows:` keys as the
// config). They add to the config's for the calls the policy governs: the global policy's for every call, a server's
// for calls on that server, a grant's or an identity group's for that agent's calls. Adding a label or a rule can only
// refuse or hold more, never less, so a grant's policy still only narrows (docs/policy.md).
import type { CompiledPolicy } from '../policy/types.js';
import type { Classification } from '../risk/types.js';
import { type LabelResolver, type LabelSource, labelName } from './labels.js';
import type { FlowRule, FlowRuleInput } from './rules.js';
import { compileRules } from './rules.js';

/** What one policy adds: its labels (a resolver of its own, no derivation) and its rules. */
export interface PolicyFlows {
  resolver: LabelResolver;
  rules: readonly FlowRule[];
}

/** The labels and rules in force for one call: the config's, then each governing policy's, in layer order. */
export interface FlowSet {
  resolve(server: string, tool: string, classification?: Classification): LabelSource[];
  rules: readonly FlowRule[];
}

/** A policy's rules, named by the policy (`<source>#/flows/rules/<i>`) so that a denial says which file decided. */
export function compilePolicyRules(rules: readonly FlowRuleInput[], source: string): FlowRule[] {
  return compileRules(rules).map((r) => ({ ...r, pointer: `${source}#${r.pointer}` }));
}

/** Whether any of these policies carries flows. */
export function layersHaveFlows(layers: readonly Pick<CompiledPolicy, 'flows'>[]): boolean {
  for (const l of layers) if (l.flows !== undefined) return true;
  return false;
}

/** The config's labels and rules, with those of the policies that govern the call added. */
export function flowSet(
  base: { labels: LabelResolver; rules: readonly FlowRule[] },
  layers: readonly Pick<CompiledPolicy, 'flows' | 'source'>[],
): FlowSet {
  const extra = layers.filter((l) => l.flows !== undefined);
  if (extra.length === 0) return { resolve: (s, t, c) => base.labels.resolve(s, t, c), rules: base.rules };
  const rules = [...base.rules];
  for (const l of extra) rules.push(...l.flows!.rules);
  return {
    rules,
    resolve(server, tool, classification) {
      const out = [...base.labels.resolve(server, tool, classification)];
      const have = new Set(out.map((l) => labelName(l.label)));
      for (const l of extra)
        for (const found of l.flows!.resolver.resolve(server, tool)) {
          if (have.has(found.label)) continue;
          have.add(found.label);
          out.push({ label: found.label, source: 'policy', why: `${l.source}: ${found.why}` });
        }
      return out;
    },
  };
}
