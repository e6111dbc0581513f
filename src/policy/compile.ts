// Compiles a validated policy file (PolicyLayer JSON or Intercept YAML) into the lookup structures decide() reads.

import { durationMs } from '../duration.js';
import type { Problem } from '../errors.js';
import { globToRegExp, isGlob, specificity, toolName } from './glob.js';
import { compileLinearRegex, nfc } from './operators.js';
import type { ConditionInput, InterceptFile, PolicyLayerFile, ToolEntryInput } from './schema.js';
import type {
  Action,
  ApprovalObligation,
  Category,
  CompiledCondition,
  CompiledPolicy,
  ConditionRule,
  Decision,
  LimitObligation,
  NameRule,
  PathStep,
  StateRead,
  ToolEntry,
} from './types.js';

const WINDOWS: Record<string, number> = { second: 1000, minute: 60_000, hour: 3_600_000, day: 86_400_000 };
export const DEFAULT_APPROVAL_TIMEOUT_MS = 5 * 60_000;

/** RFC 6901: `~` -> `~0`, `/` -> `~1`. */
export function pointer(...parts: Array<string | number>): string {
  return parts.map((p) => `/${String(p).replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');
}

/** Collects semantic problems while compiling; paths are dot paths, as for config problems. */
class Compiler {
  readonly problems: Array<Omit<Problem, 'file' | 'line'> & { at: Array<string | number> }> = [];
  /** Some condition reads the server's tool annotations. */
  readsAnnotations = false;

  constructor(readonly source: string) {}

  problem(at: Array<string | number>, message: string, hint?: string): void {
    this.problems.push({ at, path: at.join('.'), message, ...(hint ? { hint } : {}) });
  }

  decision(
    outcome: Decision['outcome'],
    rule: string,
    reason: string | undefined,
    limits: readonly LimitObligation[] = [],
    approval?: ApprovalObligation,
    shadow = false,
  ): Decision {
    return Object.freeze({ outcome, rule, policy: this.source, reason, limits, approval, shadow });
  }

  condition(c: ConditionInput, at: Array<string | number>, kind: RuleKind = 'deny_if'): CompiledCondition {
    const [root, ...segments] = c.path.split('.');
    let regex: RegExp | undefined;
    if (c.op === 'regex') {
      if (typeof c.value !== 'string') this.problem([...at, 'value'], 'regex needs a string pattern');
      else {
        // Values are compared in NFC, so the pattern is too.
        const compiled = compileLinearRegex(nfc(c.value));
        if ('error' in compiled) this.problem([...at, 'value'], compiled.error, 'simplify the pattern');
        else regex = compiled.regex;
      }
    }
    if ((c.op === 'in' || c.op === 'not_in') && !Array.isArray(c.value)) {
      this.problem([...at, 'value'], `${c.op} needs a list value`);
    }
    if (
      ['lt', 'lte', 'gt', 'gte'].includes(c.op) &&
      (typeof c.value !== 'number' || !Number.isFinite(c.value))
    ) {
      this.problem([...at, 'value'], `${c.op} needs a number value`);
    }
    if (c.op === 'exists' && typeof c.value !== 'boolean')
      this.problem([...at, 'value'], 'exists needs true or false');
    if (root === 'state') {
      // state.<scope>.<counter>: the counter name may itself contain dots.
      const scope = segments[0] ?? '';
      const name = segments.slice(1).join('.');
      return {
        pointer: pointer(...at),
        path: c.path,
        root: 'state',
        segments: [scope, name],
        op: c.op,
        value: c.value,
        regex,
      };
    }
    if (root === 'tool' && segments[0] === 'annotations') this.annotation(c, at, kind);
    const steps = root === 'args' ? quantifiedSteps(segments) : undefined;
    if (steps !== undefined && typeof steps[0] !== 'string') {
      this.problem(
        [...at, 'path'],
        'a quantifier follows the name of a list: "args.<name>[*]" or "args.<name>[all]"',
      );
    }
    return {
      pointer: pointer(...at),
      path: c.path,
      root: root === 'grant' || root === 'tool' ? root : 'args',
      // For a quantified path, the keys before its first quantifier (which argument it reads).
      segments: steps === undefined ? segments : leadingKeys(steps),
      steps,
      op: c.op,
      value: c.value,
      regex,
    };
  }

  /**
   * Annotations come from the untrusted server, so a condition on one may only make a policy stricter: it may match
   * a hint the server declares (`eq true`/`eq false`, `exists: true`) in a deny_if or approve_if, never satisfy a
   * require or match a hint's absence.
   */
  private annotation(c: ConditionInput, at: Array<string | number>, kind: RuleKind): void {
    this.readsAnnotations = true;
    if (kind === 'require') {
      this.problem(
        [...at, 'path'],
        'a tool annotation comes from the server and may only make a policy stricter: use it in deny_if or approve_if, not require',
      );
    } else if (
      !((c.op === 'eq' && typeof c.value === 'boolean') || (c.op === 'exists' && c.value === true))
    ) {
      this.problem(
        [...at, 'op'],
        'a tool annotation condition is "eq" true or false, or "exists" true (a server may only make a policy stricter)',
      );
    }
  }
}

/** `paths[*]` / `paths[any]`: some element; `paths[all]`: every element. Undefined when the path has none. */
const QUANTIFIED = /^(.*?)((?:\[(?:\*|any|all)\])+)$/;

function quantifiedSteps(segments: readonly string[]): PathStep[] | undefined {
  if (!segments.some((s) => QUANTIFIED.test(s))) return undefined;
  const steps: PathStep[] = [];
  for (const seg of segments) {
    const m = QUANTIFIED.exec(seg);
    if (m === null) {
      steps.push(seg);
      continue;
    }
    if (m[1] !== '') steps.push(m[1]!);
    for (const q of m[2]!.match(/\[(\*|any|all)\]/g)!) steps.push({ each: q === '[all]' ? 'all' : 'any' });
  }
  return steps;
}

function leadingKeys(steps: readonly PathStep[]): string[] {
  const keys: string[] = [];
  for (const s of steps) {
    if (typeof s !== 'string') break;
    keys.push(s);
  }
  return keys;
}

type RuleKind = 'deny_if' | 'require' | 'approve_if';

function describeCondition(c: CompiledCondition): string {
  return `${c.path} ${c.op} ${JSON.stringify(c.value)}`;
}

type Path = Array<string | number>;

/** One condition rule before compiling: where it is, its conditions and where each of them is. */
interface RuleParts {
  at: Path;
  conditions: ConditionInput[];
  conditionAt: (i: number) => Path;
  message: string | undefined;
  /** An approval rule's own settings (Intercept's approval_timeout), else the entry's. */
  approval?: ApprovalObligation;
}

interface EntryParts {
  key: string;
  at: Array<string | number>;
  lists: boolean;
  action: Action | undefined;
  reason: string | undefined;
  denyIf: RuleParts[];
  require: RuleParts[];
  approveIf: RuleParts[];
  limits: LimitObligation[];
  approval: ApprovalObligation;
}

function buildEntry(
  c: Compiler,
  parts: EntryParts,
  extraLimits: readonly LimitObligation[],
  shadow: boolean,
): ToolEntry {
  const ptr = pointer(...parts.at);
  const limits = extraLimits.length === 0 ? parts.limits : [...parts.limits, ...extraLimits];
  const fallback = parts.reason;
  const rules = (
    list: RuleParts[],
    kind: RuleKind,
    defaultMessage: (r: { conditions: CompiledCondition[]; ptr: string }) => string,
  ): ConditionRule[] =>
    list.map((r) => {
      const outcome: Decision['outcome'] = kind === 'approve_if' ? 'require_approval' : 'deny';
      const conditions = r.conditions.map((cond, i) => c.condition(cond, r.conditionAt(i), kind));
      const rptr = pointer(...r.at);
      // The entry's on_deny is a denial's message, never an approval's.
      const message =
        r.message ?? (outcome === 'deny' ? fallback : undefined) ?? defaultMessage({ conditions, ptr: rptr });
      return {
        pointer: rptr,
        conditions,
        message,
        decision: c.decision(
          outcome,
          rptr,
          message,
          limits,
          outcome === 'require_approval' ? { ...(r.approval ?? parts.approval), rule: rptr } : undefined,
          shadow,
        ),
      };
    });
  const denyMessage = parts.reason ?? `Denied by rule ${ptr}`;
  return {
    key: parts.key,
    pointer: ptr,
    lists: parts.lists,
    action: parts.action,
    reason: parts.reason,
    denyIf: rules(parts.denyIf, 'deny_if', (r) => `Denied by rule ${r.ptr}`),
    require: rules(parts.require, 'require', (r) =>
      r.conditions.length === 1
        ? `Required: ${describeCondition(r.conditions[0]!)}`
        : `Requirements of rule ${r.ptr} are not met`,
    ),
    approveIf: rules(parts.approveIf, 'approve_if', (r) => `Approval required by rule ${r.ptr}`),
    limits,
    approval: parts.approval,
    allowDecision: c.decision('allow', ptr, undefined, limits, undefined, shadow),
    denyDecision: c.decision('deny', `${ptr}/action`, denyMessage, [], undefined, shadow),
    approvalDecision: c.decision(
      'require_approval',
      `${ptr}/action`,
      parts.reason ?? `Approval required by rule ${ptr}`,
      limits,
      { ...parts.approval, rule: `${ptr}/action` },
      shadow,
    ),
  };
}

/** PolicyLayer's `{conditions, on_deny}` entries, or warden's bare conditions (the rule is its one condition). */
function conditionRules(list: ToolEntryInput['deny_if'], at: Path): RuleParts[] {
  return (list ?? []).map((item, i) =>
    'conditions' in item
      ? {
          at: [...at, i],
          conditions: item.conditions,
          conditionAt: (j: number) => [...at, i, 'conditions', j],
          message: item.on_deny,
        }
      : { at: [...at, i], conditions: [item], conditionAt: () => [...at, i], message: undefined },
  );
}

/** An Intercept rule at `rat`, with its conditions under `conditions`. */
function interceptRule(rat: Path, conditions: ConditionInput[], message: string | undefined): RuleParts {
  return { at: rat, conditions, conditionAt: (j) => [...rat, 'conditions', j], message };
}

function limitsOf(
  entry: Pick<ToolEntryInput, 'limits' | 'rate_limit'>,
  at: Array<string | number>,
): LimitObligation[] {
  const out: LimitObligation[] = [];
  (entry.limits ?? []).forEach((l, i) => {
    out.push({
      rule: pointer(...at, 'limits', i),
      counter: l.counter,
      scope: l.scope,
      max: l.max,
      windowMs: typeof l.window === 'number' ? l.window * 1000 : WINDOWS[l.window]!,
      window: 'calendar',
      increment: 1,
      incrementFrom: l.increment_from?.split('.').slice(1),
      message: l.on_deny,
    });
  });
  if (entry.rate_limit) {
    const r = entry.rate_limit;
    out.push({
      rule: pointer(...at, 'rate_limit'),
      counter: `rate:${pointer(...at)}`,
      scope: r.per,
      max: r.max,
      windowMs: durationMs(r.window),
      window: 'sliding',
      increment: 1,
      incrementFrom: undefined,
      message: undefined,
    });
  }
  return out;
}

function approvalOf(a: ToolEntryInput['approval'], at: Array<string | number>): ApprovalObligation {
  return {
    rule: pointer(...at),
    timeoutMs: a?.timeout === undefined ? DEFAULT_APPROVAL_TIMEOUT_MS : durationMs(a.timeout),
    mode: a?.mode ?? 'hold',
    ...(a?.hold === undefined ? {} : { holdMs: durationMs(a.hold) }),
  };
}

function finish(
  c: Compiler,
  p: {
    format: CompiledPolicy['format'];
    default: 'allow' | 'deny';
    shadow: boolean;
    hide: string[];
    globs: boolean;
    entries: EntryParts[];
    allTools: EntryParts | undefined;
    categories: Partial<Record<Category, Action>>;
    /** `all_tools.approval` as written: the settings of approvals a category asks for (#17.24). */
    categoryApproval?: ApprovalObligation | undefined;
    prompts: Record<string, { action: NameRule['action']; reason?: string | undefined }>;
    resources: Record<string, { action: NameRule['action']; reason?: string | undefined }>;
    stateReads?: StateRead[];
  },
): CompiledPolicy {
  const allTools = p.allTools && buildEntry(c, p.allTools, [], p.shadow);
  const shared = allTools?.limits ?? [];
  const toolsExact = new Map<string, ToolEntry>();
  const toolGlobs: Array<{ pattern: RegExp; entry: ToolEntry; specificity: number }> = [];
  // Names compare in NFKC (see toolName): two keys that are one name after it would make one of them dead.
  const seen = new Map<string, string>();
  for (const parts of p.entries) {
    const entry = buildEntry(c, parts, shared, p.shadow);
    const key = toolName(parts.key);
    const twin = seen.get(key);
    if (twin !== undefined) {
      c.problem(
        parts.at,
        `tools "${twin}" and "${parts.key}" are the same name after Unicode (NFKC) normalisation`,
      );
    }
    seen.set(key, parts.key);
    if (p.globs && isGlob(key)) {
      toolGlobs.push({ pattern: globToRegExp(key), entry, specificity: specificity(key) });
    } else toolsExact.set(key, entry);
  }
  toolGlobs.sort((a, b) => b.specificity - a.specificity);
  const hideExact = new Set<string>();
  const hideGlobs: RegExp[] = [];
  let hideAll = false;
  for (const raw of p.hide) {
    const h = toolName(raw);
    if (h === '*') hideAll = true;
    else if (p.globs && isGlob(h)) hideGlobs.push(globToRegExp(h));
    else hideExact.add(h);
  }
  const categories = new Map<Category, { action: Action; decision: Decision }>();
  for (const [cat, action] of Object.entries(p.categories) as Array<[Category, Action]>) {
    const ptr = pointer('categories', cat);
    const outcome = action === 'allow' ? 'allow' : action === 'deny' ? 'deny' : 'require_approval';
    categories.set(cat, {
      action,
      decision: c.decision(
        outcome,
        ptr,
        action === 'deny' ? `Tools of category ${cat} are not allowed by policy` : undefined,
        shared,
        action === 'require_approval'
          ? p.categoryApproval === undefined
            ? { rule: ptr, timeoutMs: DEFAULT_APPROVAL_TIMEOUT_MS, mode: 'hold' }
            : { ...p.categoryApproval, rule: ptr }
          : undefined,
        p.shadow,
      ),
    });
  }
  const nameRules = (rules: typeof p.prompts, section: string) =>
    Object.entries(rules).map(([key, r]) => {
      const ptr = pointer(section, key);
      const outcome = r.action === 'hide' ? 'hidden' : r.action === 'deny' ? 'deny' : 'allow';
      const reason = r.reason ?? (r.action === 'deny' ? `Denied by rule ${ptr}` : undefined);
      return {
        pattern: globToRegExp(key),
        rule: {
          key,
          pointer: ptr,
          action: r.action,
          decision: c.decision(outcome, ptr, reason, [], undefined, p.shadow),
        },
      };
    });
  const defaultDecision =
    p.default === 'allow'
      ? c.decision('allow', '(default allow)', undefined, shared, undefined, p.shadow)
      : c.decision('deny', '(default deny)', 'This tool is not permitted by policy', [], undefined, p.shadow);
  return {
    source: c.source,
    format: p.format,
    default: p.default,
    shadow: p.shadow,
    hideExact,
    hideGlobs,
    hideAll,
    toolsExact,
    toolGlobs: toolGlobs.map(({ pattern, entry }) => ({ pattern, entry })),
    allTools,
    categories,
    prompts: nameRules(p.prompts, 'prompts'),
    resources: nameRules(p.resources, 'resources'),
    defaultDecision,
    hiddenDecision: c.decision(
      'hidden',
      '(hidden)',
      'This tool is hidden by policy',
      [],
      undefined,
      p.shadow,
    ),
    lookupCache: new Map(),
    visibilityKey: JSON.stringify([p.shadow, [...p.hide].sort(), p.prompts, p.resources]),
    stateReads: p.stateReads ?? [],
    readsAnnotations: c.readsAnnotations,
  };
}

export interface CompileResult {
  policy: CompiledPolicy;
  problems: Compiler['problems'];
}

export function compilePolicyLayer(file: PolicyLayerFile, source: string): CompileResult {
  const c = new Compiler(source);
  const entries: EntryParts[] = [];
  for (const [key, raw] of Object.entries(file.tools ?? {})) {
    const e = raw ?? {};
    const at = ['tools', key];
    entries.push({
      key,
      at,
      lists: true,
      action: e.action,
      reason: e.reason ?? e.on_deny,
      denyIf: conditionRules(e.deny_if, [...at, 'deny_if']),
      require: conditionRules(e.require, [...at, 'require']),
      approveIf: conditionRules(e.approve_if, [...at, 'approve_if']),
      limits: limitsOf(e, at),
      approval: approvalOf(e.approval, [...at, 'approval']),
    });
  }
  const all = file.all_tools;
  const allTools: EntryParts | undefined = all && {
    key: '*',
    at: ['all_tools'],
    lists: false,
    action: undefined,
    reason: all.on_deny,
    denyIf: conditionRules(all.deny_if, ['all_tools', 'deny_if']),
    require: conditionRules(all.require, ['all_tools', 'require']),
    approveIf: conditionRules(all.approve_if, ['all_tools', 'approve_if']),
    limits: limitsOf(all, ['all_tools']),
    approval: approvalOf(all.approval, ['all_tools', 'approval']),
  };
  const policy = finish(c, {
    format: 'policylayer',
    default: file.default,
    shadow: file.shadow ?? false,
    hide: file.hide ?? [],
    globs: true,
    entries,
    allTools,
    categories: file.categories ?? {},
    categoryApproval: all?.approval === undefined ? undefined : allTools?.approval,
    prompts: file.prompts ?? {},
    resources: file.resources ?? {},
  });
  return { policy, problems: c.problems };
}

/** The counters conditions read, each declared by some rule (a counter nobody declares would always read 0). */
function resolveStateReads(
  c: Compiler,
  declared: ReadonlyMap<string, StateRead>,
  reads: ReadonlyArray<{ path: string; at: Array<string | number> }>,
): StateRead[] {
  const out = new Map<string, StateRead>();
  for (const r of reads) {
    const name = r.path.slice('state.'.length);
    const found = declared.get(name);
    if (found === undefined) {
      c.problem(
        [...r.at, 'path'],
        `no rule declares the counter ${name} (state: {counter, window} on tool ${name.split('.')[0]})`,
      );
    } else out.set(name, found);
  }
  return [...out.values()];
}

/**
 * Intercept: each tool's `rules` run in order, then the `"*"` rules; `deny` rules deny outright, `evaluate` rules
 * deny unless all their conditions hold, `rate_limit: N/window` and `state` counters become limits (fixed UTC windows,
 * counters per tool or `_global`, shared by everyone as in Intercept), `require_approval` holds the call.
 */
export function compileIntercept(file: InterceptFile, source: string): CompileResult {
  const c = new Compiler(source);
  const entries: EntryParts[] = [];
  let allTools: EntryParts | undefined;
  /** Every counter a rule declares, by `<scope>.<counter>`, and every condition that reads one. */
  const declared = new Map<string, StateRead>();
  const reads: Array<{ path: string; at: Array<string | number> }> = [];
  for (const [key, def] of Object.entries(file.tools ?? {})) {
    const star = key === '*';
    const scopeName = star ? '_global' : key;
    const declare = (counter: string, windowMs: number) =>
      declared.set(`${scopeName}.${counter}`, {
        scope: scopeName,
        name: counter,
        counter: `${scopeName}.${counter}`,
        limitScope: star ? 'global' : 'tool',
        tool: scopeName,
        windowMs,
      });
    const at = ['tools', key];
    const parts: EntryParts = {
      key,
      at,
      lists: !star,
      action: undefined,
      reason: undefined,
      denyIf: [],
      require: [],
      approveIf: [],
      limits: [],
      approval: { rule: pointer(...at), timeoutMs: DEFAULT_APPROVAL_TIMEOUT_MS, mode: 'hold' },
    };
    const counters = new Set<string>();
    (def?.rules ?? []).forEach((rule, i) => {
      const rat = [...at, 'rules', i];
      const action = rule.action ?? 'evaluate';
      let conditions = rule.conditions ?? [];
      if (rule.rate_limit !== undefined) {
        if (conditions.length > 0 || rule.state || action === 'deny') {
          c.problem(
            [...rat, 'rate_limit'],
            'rate_limit cannot be combined with conditions, state or action: deny',
          );
          return;
        }
        const [n, window] = rule.rate_limit.split('/') as [string, string];
        const counter = `_rate_${window}`;
        if (counters.has(counter))
          c.problem([...rat, 'rate_limit'], `a second ${window} rate limit on the same tool`);
        counters.add(counter);
        declare(counter, WINDOWS[window]!);
        parts.limits.push({
          rule: pointer(...rat),
          counter: `${scopeName}.${counter}`,
          scope: star ? 'global' : 'tool',
          max: Number(n),
          windowMs: WINDOWS[window]!,
          window: 'calendar',
          increment: 1,
          incrementFrom: undefined,
          message: rule.on_deny ?? `Rate limit of ${n} per ${window} reached. Try again later.`,
        });
        return;
      }
      if (action === 'deny') {
        if (conditions.length > 0) c.problem([...rat, 'conditions'], 'a deny rule has no conditions');
        parts.denyIf.push(interceptRule(rat, [], rule.on_deny ?? `Denied by rule "${rule.name}"`));
        return;
      }
      if (rule.state) {
        const s = rule.state;
        if (counters.has(s.counter))
          c.problem([...rat, 'state', 'counter'], `counter "${s.counter}" is declared twice`);
        counters.add(s.counter);
        declare(s.counter, WINDOWS[s.window]!);
        // The rule's lt/lte on its own counter is the limit; it is enforced by reserving, as Intercept does.
        const own = `state.${scopeName}.${s.counter}`;
        const bound = conditions.find((cond) => cond.path === own && (cond.op === 'lte' || cond.op === 'lt'));

        if (bound && typeof bound.value === 'number') {
          parts.limits.push({
            rule: pointer(...rat),
            counter: `${scopeName}.${s.counter}`,
            scope: star ? 'global' : 'tool',
            max: bound.op === 'lt' ? Math.trunc(bound.value) - 1 : Math.trunc(bound.value),
            windowMs: WINDOWS[s.window]!,
            window: 'calendar',
            increment: s.increment === undefined || s.increment === 0 ? 1 : s.increment,
            incrementFrom: s.increment_from?.split('.').slice(1),
            message: rule.on_deny ?? `Rate limit exceeded for ${rule.name}`,
          });
          conditions = conditions.filter((cond) => cond !== bound);
          if (conditions.length === 0) return;
        }
      }
      // Every other condition on a counter reads its value before the decision.
      for (const cond of conditions) {
        if (cond.path.startsWith('state.')) {
          reads.push({ path: cond.path, at: [...rat, 'conditions', (rule.conditions ?? []).indexOf(cond)] });
        }
      }
      if (action === 'require_approval') {
        const approval: ApprovalObligation = {
          rule: pointer(...rat),
          timeoutMs:
            rule.approval_timeout === undefined
              ? DEFAULT_APPROVAL_TIMEOUT_MS
              : durationMs(rule.approval_timeout),
          // Intercept answers at once with an approval id and lets the same call through once approved.
          mode: 'async',
        };
        parts.approveIf.push({ ...interceptRule(rat, conditions, rule.on_deny), approval });
        return;
      }
      if (conditions.length === 0 && !rule.state) {
        c.problem([...rat, 'conditions'], 'an evaluate rule needs at least one condition');
        return;
      }
      parts.require.push(interceptRule(rat, conditions, rule.on_deny ?? `Denied by rule "${rule.name}"`));
    });
    if (star) allTools = parts;
    else entries.push(parts);
  }
  const policy = finish(c, {
    format: 'intercept',
    stateReads: resolveStateReads(c, declared, reads),
    default: file.default,
    shadow: file.shadow ?? false,
    hide: file.hide ?? [],
    globs: false,
    entries,
    allTools,
    categories: {},
    prompts: {},
    resources: {},
  });
  return { policy, problems: c.problems };
}
