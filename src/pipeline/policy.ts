// The policy step: decides every tools/call before it leaves, and removes hidden tools, prompts and resources from
// lists. Approvals and limits a decision names are carried out by the approval and limit steps next.

import type { Metrics } from '../audit/metrics.js';
import type { PolicySet } from '../config/policy-set.js';
import type { Logger } from '../log.js';
import { decideLayers, decideName, isHidden } from '../policy/decide.js';
import type { CompiledPolicy, Decision, StateRead } from '../policy/types.js';
import { wire } from '../proxy/downstream.js';
import type { CounterStore } from '../state/types.js';
import type { Step } from './compose.js';
import type { CallContext, TargetResult } from './context.js';
import { readStateCounters, STATE_UNAVAILABLE_REASON } from './limit.js';

export interface PolicyStepOptions {
  policies: PolicySet;
  log: Logger;
  /** Where `state.*` conditions (Intercept) read counters; without it they read 0. */
  counters?: CounterStore;
  failMode?: 'closed' | 'open';
  metrics?: Metrics;
  now?: () => number;
}

type Params = Record<string, unknown>;

function hiddenTool(layers: readonly CompiledPolicy[], name: string): boolean {
  for (const p of layers) if (!p.shadow && isHidden(p, name)) return true;
  return false;
}

/** The strictest prompt/resource rule over all policies: hide beats deny beats allow. */
function nameDecision(
  layers: readonly CompiledPolicy[],
  section: 'prompts' | 'resources',
  name: string,
): Decision | undefined {
  let found: Decision | undefined;
  for (const p of layers) {
    if (p.shadow) continue;
    const rule = decideName(p[section], name);
    if (!rule) continue;
    if (rule.action === 'hide') return rule.decision;
    if (rule.action === 'deny') found ??= rule.decision;
  }
  return found;
}

/** The policies a call of this session to `server` must pass: global, the server's, then the grant's own. */
function layersOf(policies: PolicySet, ctx: CallContext, server: string): readonly CompiledPolicy[] {
  const base = policies.layersFor(server);
  const own = ctx.session.identity.grant?.policy;
  return own === undefined ? base : [...base, own];
}

/** Keeps the items of each upstream's list that `keep` accepts. */
function filterResults(
  results: TargetResult[],
  key: string,
  keep: (server: string, item: Params) => boolean,
): void {
  for (const r of results) {
    const response = r.response;
    if (response === undefined || 'error' in response) continue;
    const items = response.result[key];
    if (Array.isArray(items))
      response.result[key] = (items as Params[]).filter((item) => keep(r.server, item));
  }
}

/** The counter values the layers' `state.*` conditions need, read once per call; undefined when none is needed. */
function stateReadsOf(layers: readonly CompiledPolicy[]): StateRead[] | undefined {
  let reads: StateRead[] | undefined;
  for (const p of layers) if (p.stateReads.length > 0) (reads ??= []).push(...p.stateReads);
  return reads;
}

export function policyStep({
  policies,
  log,
  counters,
  failMode = 'closed',
  metrics,
  now = Date.now,
}: PolicyStepOptions): Step<CallContext> {
  return async (ctx, next) => {
    const target = ctx.targets[0];
    switch (ctx.method) {
      case 'tools/call': {
        if (target === undefined) return next();
        const layers = layersOf(policies, ctx, target.server);
        if (layers.length === 0) return next();
        const params = target.params ?? {};
        const name = typeof params.name === 'string' ? params.name : '';
        const args = params.arguments;
        // Ask whether the tool exists on every call, hidden or not, so both answers cost the same.
        const known = await target.link.hasTool(name);
        let state: Map<string, number> | undefined;
        const reads = counters === undefined ? undefined : stateReadsOf(layers);
        if (reads !== undefined) {
          try {
            state = await readStateCounters(reads, counters!, ctx, target.server, now());
          } catch (err) {
            metrics?.stateFailures.inc({ mode: failMode });
            const message = (err as Error)?.message ?? String(err);
            if (failMode === 'closed') {
              log.error({ err: message }, 'limit state unavailable: call refused (state_fail_mode: closed)');
              ctx.limited = { rule: '(state)', reason: STATE_UNAVAILABLE_REASON };
              ctx.reply = wire.denied(ctx.limited);
              return;
            }
            log.warn({ err: message }, 'limit state unavailable: counters read as 0 (state_fail_mode: open)');
          }
        }
        const decision = decideLayers(
          layers,
          {
            server: target.server,
            tool: name,
            grant: ctx.session.identity.grant,
            counter: state === undefined ? undefined : (scope, counter) => state.get(`${scope}.${counter}`),
            args:
              typeof args === 'object' && args !== null && !Array.isArray(args)
                ? (args as Params)
                : undefined,
          },
          (shadow) =>
            log.info(
              {
                server: target.server,
                tool: name,
                rule: shadow.rule,
                outcome: shadow.outcome,
                policy: shadow.policy,
              },
              'shadow policy would not allow this call',
            ),
        );
        ctx.decision = decision;
        const asked = String((ctx.request.params as Params | undefined)?.name ?? name);
        if (decision.outcome === 'hidden' || known === false) {
          // The agent cannot tell the two apart; the audit log can (no decision: an unknown tool).
          if (known === false && decision.outcome !== 'hidden') ctx.decision = undefined;
          ctx.reply = wire.unknownTool(asked);
          return;
        }
        if (known === undefined) {
          ctx.reply = wire.unavailable(
            `Upstream ${target.server} did not list its tools; the call was not made`,
          );
          return;
        }
        if (decision.outcome === 'deny') {
          ctx.reply = wire.denied(decision);
          return;
        }
        // require_approval goes on to the approval step, which holds the call (or answers with an approval id).
        return next();
      }
      case 'tools/list': {
        await next();
        filterResults(
          ctx.results,
          'tools',
          (server, tool) => !hiddenTool(layersOf(policies, ctx, server), String(tool.name)),
        );
        return;
      }
      case 'prompts/list': {
        await next();
        filterResults(
          ctx.results,
          'prompts',
          (server, p) =>
            nameDecision(layersOf(policies, ctx, server), 'prompts', String(p.name))?.outcome !== 'hidden',
        );
        return;
      }
      case 'resources/list':
      case 'resources/templates/list': {
        await next();
        const key = ctx.method === 'resources/list' ? 'resources' : 'resourceTemplates';
        filterResults(
          ctx.results,
          key,
          (server, r) =>
            nameDecision(layersOf(policies, ctx, server), 'resources', String(r.uri ?? r.uriTemplate))
              ?.outcome !== 'hidden',
        );
        return;
      }
      case 'prompts/get': {
        if (target === undefined) return next();
        const name = String(target.params?.name ?? '');
        const d = nameDecision(layersOf(policies, ctx, target.server), 'prompts', name);
        ctx.decision = d;
        if (d?.outcome === 'hidden')
          ctx.reply = wire.unknownPrompt(String((ctx.request.params as Params)?.name ?? name));
        else if (d?.outcome === 'deny') ctx.reply = wire.deniedRequest(d);
        else return next();
        return;
      }
      case 'resources/read':
      case 'resources/subscribe':
      case 'resources/unsubscribe': {
        if (target === undefined) return next();
        const uri = String(target.params?.uri ?? '');
        const d = nameDecision(layersOf(policies, ctx, target.server), 'resources', uri);
        ctx.decision = d;
        if (d?.outcome === 'hidden') ctx.reply = wire.resourceNotFound(uri);
        else if (d?.outcome === 'deny') ctx.reply = wire.deniedRequest(d);
        else return next();
        return;
      }
      default:
        return next();
    }
  };
}
