// The flow step (SPEC §13, docs/flows.md): before a tools/call goes on, the flow rules are checked against the labels
// its conversation has seen; after it, the labels of a result that reached the agent are recorded. It sits right after
// the policy step (a policy denial is never overridden) and before approval (a `hold:` becomes an approval); result
// guards run inside it, so the labels they put in ctx.resultLabels are there when it records.
import { ERA_2026 } from '../era/versions.js';
import type { FlowAudit } from '../flows/audit.js';
import type { LabelResolver } from '../flows/labels.js';
import { flowSet, layersHaveFlows } from '../flows/layers.js';
import { decideFlow, type FlowRule } from '../flows/rules.js';
import type { Logger } from '../log.js';
import { toolName } from '../policy/glob.js';
import type { CompiledPolicy, Decision } from '../policy/types.js';
import { wire } from '../proxy/downstream.js';
import type { ToolCatalog } from '../risk/catalog.js';
import type { ConversationStore, LabelSeen } from '../state/conversations.js';
import type { Step } from './compose.js';
import type { CallContext } from './context.js';

export type ConversationScope = 'identity' | 'session';

export interface FlowStepOptions {
  labels: LabelResolver;
  rules: readonly FlowRule[];
  store: ConversationStore;
  log: Logger;
  /** identity (default): the OAuth subject, else the grant, else all anonymous traffic; session: a 2025 session. */
  conversation?: ConversationScope;
  /** Recorded, not enforced. */
  shadow?: boolean;
  /** How long a `hold:` waits for a person (ms). Default 5 minutes. */
  holdTimeoutMs?: number;
  failMode?: 'closed' | 'open';
  catalog?: ToolCatalog;
  now?: () => number;
  /** The policies governing a call on `server` (global, the server's, the grant's, its groups'): their `flows:` add. */
  layersOf?: (ctx: CallContext, server: string) => readonly CompiledPolicy[];
  /** Whether some policy in force anywhere carries flow rules (then every call's labels are recorded). */
  policiesHaveFlows?: () => boolean;
}

/** What the flow step reads of a request to find its conversation. */
export type ConversationSource = Pick<CallContext, 'era'> & {
  session: { id: string; identity: Pick<CallContext['session']['identity'], 'grant' | 'oauth'> };
};

/**
 * The conversation a request belongs to. By default who the agent is: the OAuth subject, else the grant, else the one
 * anonymous conversation, so that a new session, a reconnect or a missing handle never starts a clean history. With
 * `session`, a 2025 session is its own conversation; 2026 requests (no session) stay with their identity.
 */
export function conversationOf(ctx: ConversationSource, scope: ConversationScope = 'identity'): string {
  if (scope === 'session' && ctx.era !== ERA_2026 && ctx.session.id !== '')
    return `session:${ctx.session.id}`;
  const id = ctx.session.identity;
  if (id.oauth !== undefined) return `sub:${id.oauth.issuer} ${id.oauth.subject}`;
  if (id.grant !== undefined) return `grant:${id.grant.id}`;
  return 'anonymous';
}

const STATE_REASON =
  'The conversation state that flow rules read cannot be reached right now, so the call was not made.';

/**
 * Whether what the upstream answered reached the agent as a result. An `isError` result counts: its content reaches
 * the model like any other (a hostile or careless upstream could put the data there). A JSON-RPC error, a cancelled
 * call, or a call warden answered itself does not. A result a guard blocked still counts (the strict side).
 */
function reachedAgent(ctx: CallContext): boolean {
  if (ctx.results.length === 0) return false;
  for (const r of ctx.results) {
    const res = r.response;
    if (res === undefined || 'error' in res) return false;
  }
  return !ctx.cancelled;
}

export function flowStep(opts: FlowStepOptions): Step<CallContext> {
  const { store, log, catalog } = opts;
  const base = { labels: opts.labels, rules: opts.rules };
  const scope = opts.conversation ?? 'identity';
  const failMode = opts.failMode ?? 'closed';
  const now = opts.now ?? Date.now;
  const holdTimeoutMs = opts.holdTimeoutMs ?? 5 * 60_000;
  return async (ctx, next) => {
    const target = ctx.targets[0];
    const call = ctx.method === 'tools/call';
    if (target === undefined || (!call && ctx.method !== 'resources/read' && ctx.method !== 'prompts/get'))
      return next();
    const layers = opts.layersOf?.(ctx, target.server) ?? [];
    // Nothing anywhere reads a conversation: no state is kept (a gateway without flow rules pays nothing more).
    if (base.rules.length === 0 && !layersHaveFlows(layers) && !(opts.policiesHaveFlows?.() ?? false))
      return next();
    const { resolve, rules } = flowSet(base, layers);
    const tool = call ? toolName(String(target.params?.name ?? '')) : '';
    const own = call
      ? resolve(target.server, tool, catalog?.info(target.server, tool)?.classification).map((l) => l.label)
      : [];
    const conversation = conversationOf(ctx, scope);
    let flow: FlowAudit | undefined;
    // Only the rules that can apply to this tool need the conversation read: a read tool that no rule targets records
    // its labels after the call and reads nothing before it.
    const needed = call ? [...new Set(rules.filter((r) => own.includes(r.target)).map((r) => r.after))] : [];
    if (needed.length > 0) {
      let seen: LabelSeen[] | undefined;
      try {
        seen = await store.seen(conversation, needed);
      } catch (err) {
        const message = (err as Error)?.message ?? String(err);
        ctx.flow = { conversation, labels: own, seen: [], stateError: true };
        if (failMode === 'closed' && !opts.shadow) {
          log.error(
            { err: message },
            'conversation state unavailable: call refused (state_fail_mode: closed)',
          );
          ctx.decision = flowDecision('deny', '(flow state)', STATE_REASON, ctx.decision);
          ctx.reply = wire.denied(ctx.decision);
          return;
        }
        log.warn({ err: message }, 'conversation state unavailable: flow rules not applied');
      }
      if (seen !== undefined) {
        const set = new Set(seen.map((s) => s.label));
        flow = { conversation, labels: own, seen: [...set] };
        const verdict = decideFlow(rules, set, own);
        if (verdict !== undefined) {
          flow.rule = verdict.rule.pointer;
          flow.action = verdict.rule.action;
          if (opts.shadow) {
            flow.shadow = true;
            log.info(
              { server: target.server, tool, rule: verdict.rule.pointer, action: verdict.rule.action },
              'shadow flow rule would not allow this call',
            );
          } else if (verdict.rule.action === 'deny') {
            ctx.flow = flow;
            ctx.decision = flowDecision('deny', verdict.rule.pointer, verdict.reason, ctx.decision);
            ctx.reply = wire.denied(ctx.decision);
            return;
          } else if (ctx.decision?.outcome !== 'require_approval') {
            // A policy approval keeps its own rule and timeout; an allowed call now needs one too.
            ctx.decision = flowDecision(
              'require_approval',
              verdict.rule.pointer,
              verdict.reason,
              ctx.decision,
              holdTimeoutMs,
            );
          }
        }
        ctx.flow = flow;
      }
    }
    await next();
    if (!reachedAgent(ctx)) return;
    const added = [...new Set([...own, ...ctx.resultLabels.map((l) => l.normalize('NFKC').toLowerCase())])];
    if (added.length === 0) return;
    const at = new Date(now()).toISOString();
    flow ??= ctx.flow ?? { conversation, labels: own, seen: [] };
    flow.added = added;
    ctx.flow = flow;
    const events = (labels: readonly string[]): LabelSeen[] =>
      labels.map((label) => ({ label, at, server: target.server, tool: call ? tool : ctx.method }));
    const unrecorded = (err: unknown, labels: readonly string[]): void =>
      log.error(
        { err: (err as Error)?.message ?? String(err), conversation, labels },
        'conversation state unavailable: labels of this result were not recorded',
      );
    // A label some rule reads (`after:`) is recorded before the agent has the result, so the agent's next call, on any
    // replica, is decided with it. Labels no rule reads are kept for the record (dashboard, later rules) without
    // holding the answer for the round trip: a failure there is logged, and no decision depended on it.
    const read = new Set(rules.map((r) => r.after));
    const needNow = added.filter((l) => read.has(l));
    const later = added.filter((l) => !read.has(l));
    if (later.length > 0) store.record(conversation, events(later)).catch((err) => unrecorded(err, later));
    if (needNow.length === 0) return;
    try {
      await store.record(conversation, events(needNow));
    } catch (err) {
      // The result already went upstream and back; the agent gets it. What was missed is logged and audited.
      flow.stateError = true;
      unrecorded(err, needNow);
    }
  };
}

function flowDecision(
  outcome: 'deny' | 'require_approval',
  rule: string,
  reason: string,
  base: Decision | undefined,
  timeoutMs = 5 * 60_000,
): Decision {
  return {
    outcome,
    rule,
    policy: '(flows)',
    reason,
    limits: base?.limits ?? [],
    approval: outcome === 'require_approval' ? { rule, timeoutMs, mode: 'hold' } : undefined,
    shadow: false,
  };
}
