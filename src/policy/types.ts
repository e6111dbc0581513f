// The compiled policy model and the Decision that decide() returns: plain data, no I/O.
import type { PolicyFlows } from '../flows/layers.js';
import type { PolicyGuards } from '../guards/config.js';

export type Action = 'allow' | 'deny' | 'require_approval';
export type Outcome = 'allow' | 'deny' | 'hidden' | 'require_approval';
export type Scope = 'session' | 'grant' | 'tool' | 'server' | 'global';
export const CATEGORIES = [
  'read',
  'write',
  'destructive',
  'execute',
  'financial',
  'communication',
  'credential',
  'other',
] as const;
export type Category = (typeof CATEGORIES)[number];
export const OPERATORS = [
  'eq',
  'neq',
  'lt',
  'lte',
  'gt',
  'gte',
  'in',
  'not_in',
  'exists',
  'regex',
  'contains',
] as const;
export type Operator = (typeof OPERATORS)[number];

/** One step of a quantified path: a key (or list index), or every element of a list with any/all semantics. */
export type PathStep = string | { each: 'any' | 'all' };

/** A condition compiled once: the path split into segments, the regex built and checked. */
export interface CompiledCondition {
  pointer: string;
  path: string;
  /** `args`, `state`, `grant` (the identity making the call), or `tool` (its classification and annotations) */
  root: 'args' | 'state' | 'grant' | 'tool';
  /** The keys of the path; for a quantified path, the keys before its first quantifier. */
  segments: readonly string[];
  /** The whole path of an `args` condition with a quantifier (`args.paths[*]`, `args.edits[all].path`). */
  steps?: readonly PathStep[] | undefined;
  op: Operator;
  value: unknown;
  regex: RegExp | undefined;
}

/** A group of conditions that all must hold (AND), with the rule's own message. */
export interface ConditionRule {
  pointer: string;
  conditions: readonly CompiledCondition[];
  message: string | undefined;
  /** Set when this rule turns into a decision: built once, returned as is. */
  decision: Decision;
}

export interface LimitObligation {
  /** JSON Pointer of the limit in its policy. */
  rule: string;
  counter: string;
  scope: Scope;
  max: number;
  windowMs: number;
  /** calendar: fixed UTC windows (PolicyLayer/Intercept quotas); sliding: rolling window (rate_limit). */
  window: 'calendar' | 'sliding';
  increment: number;
  /** Path into the arguments whose value is added instead of `increment` (budgets). */
  incrementFrom: readonly string[] | undefined;
  message: string | undefined;
}

export interface ApprovalObligation {
  rule: string;
  timeoutMs: number;
  mode: 'hold' | 'async';
  /**
   * How long the call is held open before the agent is answered with the approval id (async from then on); undefined
   * holds for the whole timeout in hold mode and not at all in async mode.
   */
  holdMs?: number;
}

export interface Decision {
  outcome: Outcome;
  /** JSON Pointer into the policy, or `(hidden)`, `(default deny)`, `(default allow)`, `(no policy)`. */
  rule: string;
  /** Which policy: a file path, `inline`, or `(none)`. */
  policy: string;
  reason: string | undefined;
  limits: readonly LimitObligation[];
  approval: ApprovalObligation | undefined;
  /** The policy is in shadow mode: this decision is recorded, not enforced. */
  shadow: boolean;
}

export interface ToolEntry {
  /** The key as written: a name or a glob. */
  key: string;
  pointer: string;
  /** Listing a tool allows it under `default: deny`; Intercept's `"*"` entry does not. */
  lists: boolean;
  action: Action | undefined;
  reason: string | undefined;
  denyIf: readonly ConditionRule[];
  require: readonly ConditionRule[];
  approveIf: readonly ConditionRule[];
  limits: readonly LimitObligation[];
  approval: ApprovalObligation;
  /** Prebuilt decisions, so the hot path allocates nothing. */
  allowDecision: Decision;
  denyDecision: Decision;
  approvalDecision: Decision;
}

export interface NameRule {
  key: string;
  pointer: string;
  action: Action | 'hide';
  decision: Decision;
}

export interface CompiledPolicy {
  /** Where it came from, for messages and decisions. */
  source: string;
  /** The `flows:` labels and rules this policy adds (SPEC §13, src/flows/layers.ts); undefined: none. */
  flows?: PolicyFlows | undefined;
  /** The `guards:` actions this policy adds, only stricter than the config's (src/guards/config.ts); undefined: none. */
  guards?: PolicyGuards | undefined;
  format: 'policylayer' | 'intercept';
  default: 'allow' | 'deny';
  shadow: boolean;
  hideExact: ReadonlySet<string>;
  hideGlobs: readonly RegExp[];
  hideAll: boolean;
  toolsExact: ReadonlyMap<string, ToolEntry>;
  /** Most specific first. */
  toolGlobs: ReadonlyArray<{ pattern: RegExp; entry: ToolEntry }>;
  /** Rules for every tool (`all_tools`, Intercept's `"*"`), evaluated after the tool's own. */
  allTools: ToolEntry | undefined;
  categories: ReadonlyMap<Category, { action: Action; decision: Decision }>;
  prompts: readonly { pattern: RegExp; rule: NameRule }[];
  resources: readonly { pattern: RegExp; rule: NameRule }[];
  defaultDecision: Decision;
  hiddenDecision: Decision;
  /** Memo of name -> entry lookups (tool names are a small, stable set). */
  lookupCache: Map<string, ToolEntry | null>;
  /** The text of the hide-relevant parts, to tell when visibility changed on reload. */
  visibilityKey: string;
  /** Counters that `state.<scope>.<counter>` conditions read (Intercept); read before decide(), by the policy step. */
  stateReads: readonly StateRead[];
  /** Some condition reads `tool.annotations.*`: the policy step must look up the tool's listed definition. */
  readsAnnotations: boolean;
}

/** A counter a condition reads: where the limit step keeps it, so that the value read is the one it enforces. */
export interface StateRead {
  /** As written after `state.`: the tool name (or `_global`), and the counter. */
  scope: string;
  name: string;
  /** The counter's limit fields: its key is built from these exactly as for the limit that declares it. */
  counter: string;
  limitScope: 'tool' | 'global';
  tool: string;
  windowMs: number;
}

/** What a policy may know of the grant making a call. */
export interface GrantFacts {
  id: string;
  label: string;
  groups: readonly string[];
}

/** What is being decided: a tool call (or a listing, with no arguments). */
export interface ToolCall {
  server: string;
  tool: string;
  args: Record<string, unknown> | undefined;
  category?: Category | undefined;
  /** The tool's risk level (`low|medium|high|critical`) when classified, for `tool.risk` conditions. */
  risk?: string | undefined;
  /** The classification's confidence (0 to 1, calibrated on first-sight data), for `tool.confidence` conditions. */
  confidence?: number | undefined;
  /** The annotations the server listed for the tool (untrusted), for `tool.annotations.<hint>` conditions. */
  annotations?: Readonly<Record<string, unknown>> | undefined;
  /** Who is calling, for `grant.*` conditions; undefined for anonymous calls (every grant.* path is missing). */
  grant?: GrantFacts | undefined;
  /** Reads a counter for `state.<scope>.<counter>` conditions (Intercept); missing counters read as 0. */
  counter?: (scope: string, name: string) => number | undefined;
}
