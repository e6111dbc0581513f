// decide(): the one place precedence is written. Pure: no I/O, no clock; explain() runs the same code with a trace.
//
// Precedence (SPEC §5): hidden, then deny (action, deny_if), then unmet require, then limits (returned as
// obligations), then approval (action, approve_if), then allow (the tool is listed), then categories, then default.
// Exact names beat globs; among globs the most specific (most literal characters) wins, then file order.
// Approval rules for every tool (all_tools, Intercept's "*") apply only to calls that would otherwise be allowed.
import { toolName } from './glob.js';
import { evaluateConditionTruth, type Truth } from './operators.js';
import type { CompiledPolicy, ConditionRule, Decision, NameRule, ToolCall, ToolEntry } from './types.js';

/** One step of an explanation: which rule was looked at, and what came of it. */
export interface TraceStep {
  rule: string;
  check: string;
  result: 'matched' | 'not matched' | 'decided' | 'skipped';
  detail?: string;
}
type Trace = (step: TraceStep) => void;

const LOOKUP_CACHE_MAX = 10_000;

/** The tool's own entry: exact name first, then the most specific glob. Memoized per name. */
export function lookupTool(p: CompiledPolicy, tool: string): ToolEntry | undefined {
  const cached = p.lookupCache.get(tool);
  if (cached !== undefined) return cached ?? undefined;
  const name = toolName(tool);
  let entry = p.toolsExact.get(name);
  if (entry === undefined) {
    for (const g of p.toolGlobs) {
      if (g.pattern.test(name)) {
        entry = g.entry;
        break;
      }
    }
  }
  if (p.lookupCache.size >= LOOKUP_CACHE_MAX) p.lookupCache.clear();
  p.lookupCache.set(tool, entry ?? null);
  return entry;
}

export function isHidden(p: CompiledPolicy, tool: string): boolean {
  if (p.hideAll) return true;
  const name = toolName(tool);
  if (p.hideExact.has(name)) return true;
  for (const g of p.hideGlobs) if (g.test(name)) return true;
  return false;
}

/**
 * Whether every condition of a rule holds. A condition that cannot be compared counts as `unknownAs`: true for
 * deny_if and approve_if (matched), false for require (unmet), so it always falls on the stricter side.
 */
function allHold(rule: ConditionRule, call: ToolCall, trace: Trace | undefined, unknownAs: boolean): boolean {
  for (const c of rule.conditions) {
    let t: Truth;
    if (trace === undefined) t = evaluateConditionTruth(c, call.args, call.counter, call.grant, call);
    else {
      const leaves: Array<{ at: string; value: unknown; truth: Truth }> = [];
      t = evaluateConditionTruth(c, call.args, call.counter, call.grant, call, (at, value, truth) =>
        leaves.push({ at, value, truth }),
      );
      const ok = t === 'unknown' ? unknownAs : t;
      const details: string[] = [];
      // Which element of a quantified path decided it.
      const leaf = c.steps === undefined ? undefined : leaves.find((l) => l.truth === t);
      if (leaf !== undefined) details.push(`${leaf.at} = ${shortJson(leaf.value)}`);
      if (t === 'unknown') {
        details.push(`not comparable: counts as ${unknownAs ? 'matched' : 'unmet'} (fails closed)`);
      }
      trace({
        rule: c.pointer,
        check: `${c.path} ${c.op} ${JSON.stringify(c.value)}`,
        result: ok ? 'matched' : 'not matched',
        ...(details.length > 0 ? { detail: details.join('; ') } : {}),
      });
    }
    if (!(t === 'unknown' ? unknownAs : t)) return false;
  }
  return true;
}

/** A value as explain() quotes it: JSON, cut at 80 characters. */
function shortJson(v: unknown): string {
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = '(too deep to show)';
  }
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

function firstMatching(
  rules: readonly ConditionRule[],
  call: ToolCall,
  trace: Trace | undefined,
): Decision | undefined {
  for (const rule of rules) {
    if (allHold(rule, call, trace, true)) return rule.decision;
  }
  return undefined;
}

function firstFailing(
  rules: readonly ConditionRule[],
  call: ToolCall,
  trace: Trace | undefined,
): Decision | undefined {
  for (const rule of rules) {
    if (!allHold(rule, call, trace, false)) return rule.decision;
  }
  return undefined;
}

function decided(d: Decision, trace: Trace | undefined, check: string): Decision {
  trace?.({ rule: d.rule, check, result: 'decided', detail: d.outcome });
  return d;
}

/** The decision for one tool call under one policy. Allocates nothing: every Decision is built at compile time. */
export function decide(p: CompiledPolicy, call: ToolCall, trace?: Trace): Decision {
  // 1. hidden
  if (isHidden(p, call.tool)) return decided(p.hiddenDecision, trace, 'hide');
  trace?.({ rule: '/hide', check: 'hide', result: 'not matched' });
  const entry = lookupTool(p, call.tool);
  const all = p.allTools;
  trace?.(
    entry
      ? { rule: entry.pointer, check: `entry for ${call.tool}`, result: 'matched', detail: entry.key }
      : { rule: '/tools', check: `entry for ${call.tool}`, result: 'not matched' },
  );
  // 2. deny: the entry's action, then deny_if (the tool's own, then all_tools)
  if (entry?.action === 'deny') return decided(entry.denyDecision, trace, 'action: deny');
  let d = entry && firstMatching(entry.denyIf, call, trace);
  if (d) return decided(d, trace, 'deny_if');
  d = all && firstMatching(all.denyIf, call, trace);
  if (d) return decided(d, trace, 'deny_if');
  // 3. unmet require
  d = entry && firstFailing(entry.require, call, trace);
  if (d) return decided(d, trace, 'require');
  d = all && firstFailing(all.require, call, trace);
  if (d) return decided(d, trace, 'require');
  // 4. limits: carried by the decision as obligations; the limit step counts them.
  // 5. approval
  if (entry?.action === 'require_approval')
    return decided(entry.approvalDecision, trace, 'action: require_approval');
  d = entry && firstMatching(entry.approveIf, call, trace);
  if (d) return decided(d, trace, 'approve_if');
  // 6. allow: listing a tool allows it; 7. categories, for tools with no entry; 8. default.
  let base: Decision;
  let why: string;
  const byCategory =
    entry?.lists || p.categories.size === 0 || call.category === undefined
      ? undefined
      : p.categories.get(call.category);
  if (entry?.lists) {
    base = entry.allowDecision;
    why = 'listed';
  } else if (byCategory) {
    base = byCategory.decision;
    why = `category ${call.category}`;
  } else {
    if (p.categories.size > 0) {
      trace?.({
        rule: '/categories',
        check: `category ${call.category ?? '(unknown)'}`,
        result: 'not matched',
      });
    }
    base = p.defaultDecision;
    why = 'default';
  }
  // Rules for every tool may ask for approval of a call that would be allowed, never open one that would not.
  if (base.outcome === 'allow') {
    d = all && firstMatching(all.approveIf, call, trace);
    if (d) return decided(d, trace, 'approve_if');
  }
  return decided(base, trace, why);
}

export interface Explanation {
  decision: Decision;
  steps: TraceStep[];
}

export function explain(p: CompiledPolicy, call: ToolCall): Explanation {
  const steps: TraceStep[] = [];
  const decision = decide(p, call, (s) => steps.push(s));
  return { decision, steps };
}

/** For prompts and resources: the rule of the most specific matching pattern, if any. */
export function decideName(rules: CompiledPolicy['prompts'], name: string): NameRule | undefined {
  let best: NameRule | undefined;
  let bestLen = -1;
  for (const r of rules) {
    if (!r.pattern.test(name)) continue;
    const len = r.rule.key.replace(/[*?]/g, '').length;
    if (len > bestLen) {
      best = r.rule;
      bestLen = len;
    }
  }
  return best;
}

export const NO_POLICY: Decision = Object.freeze({
  outcome: 'allow',
  rule: '(no policy)',
  policy: '(none)',
  reason: undefined,
  limits: [],
  approval: undefined,
  shadow: false,
});

/**
 * Several policies apply to one call (the global one, then the server's own): each may only narrow. Hidden in any
 * hides; otherwise the first that denies decides; otherwise approval if any requires it; limits add up. A policy
 * in shadow mode is evaluated and reported (in `shadowed`) but does not change the outcome.
 */
export function decideLayers(
  layers: readonly CompiledPolicy[],
  call: ToolCall,
  shadowed?: (d: Decision) => void,
): Decision {
  if (layers.length === 0) return NO_POLICY;
  if (layers.length === 1 && !layers[0]!.shadow) return decide(layers[0]!, call);
  for (const p of layers) {
    if (!p.shadow && isHidden(p, call.tool)) return p.hiddenDecision;
  }
  let approval: Decision | undefined;
  let allow: Decision | undefined;
  let limits: Decision['limits'] = [];
  let limitLayers = 0;
  for (const p of layers) {
    const d = decide(p, call);
    if (p.shadow) {
      if (d.outcome !== 'allow') shadowed?.(d);
      continue;
    }
    if (d.outcome === 'deny' || d.outcome === 'hidden') return d;
    if (d.limits.length > 0) {
      limits = limitLayers === 0 ? d.limits : [...limits, ...d.limits];
      limitLayers++;
    }
    if (d.outcome === 'require_approval') approval ??= d;
    else allow = d; // the last (most specific) policy names the rule
  }
  const result = approval ?? allow;
  if (result === undefined) return NO_POLICY;
  return result.limits === limits ? result : { ...result, limits };
}

/** A decision as scripts and the dashboard read it (`warden policy explain --json`, the simulator). */
export function decisionJson(d: Decision): Record<string, unknown> {
  return {
    outcome: d.outcome,
    rule: d.rule,
    policy: d.policy,
    reason: d.reason ?? null,
    limits: d.limits,
    approval: d.approval ?? null,
  };
}

export interface LayeredExplanation {
  decision: Decision;
  /** Each policy's own decision and the rules it looked at, outermost first. */
  path: Array<{ policy: string; shadow: boolean } & Explanation>;
}

/** The decision of several policies together, and how each of them got to its part of it. */
export function explainLayers(layers: readonly CompiledPolicy[], call: ToolCall): LayeredExplanation {
  return {
    decision: decideLayers(layers, call),
    path: layers.map((p) => ({ policy: p.source, shadow: p.shadow, ...explain(p, call) })),
  };
}

/** `explainLayers` as JSON: the shape of `warden policy explain --json` and of the dashboard's simulator. */
export function explanationJson(e: LayeredExplanation): Record<string, unknown> {
  return {
    decision: decisionJson(e.decision),
    path: e.path.map((s) => ({
      policy: s.policy,
      shadow: s.shadow,
      decision: decisionJson(s.decision),
      steps: s.steps,
    })),
  };
}
