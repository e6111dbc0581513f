// The policy step: decides every tools/call before it leaves, and removes hidden tools, prompts and resources from
// lists. Approvals and limits a decision names are carried out by the approval and limit steps next.

import type { Metrics } from '../audit/metrics.js';
import type { PolicySet } from '../config/policy-set.js';
import type { Logger } from '../log.js';
import { decideLayers, decideName, isHidden } from '../policy/decide.js';
import type { CompiledPolicy, Decision, StateRead } from '../policy/types.js';
import { type Reply, wire } from '../proxy/downstream.js';
import { CLIENT_REQUESTS } from '../proxy/methods.js';
import { catalogHas, type UpstreamLink } from '../proxy/upstream.js';
import { normalizeUri, uriForms } from '../proxy/uri.js';
import type { ToolCatalog, ToolInfo } from '../risk/catalog.js';
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
  /** Classification and pins of tools; without it `categories` rules never match and nothing is pinned. */
  catalog?: ToolCatalog;
  /** What a call of a tool whose definition changed since it was pinned gets, unless the policy already refuses it. */
  onDefinitionChange?: 'require_approval' | 'deny' | 'allow';
}

/**
 * The decision pinning imposes on a call the policy lets through (allow, or approval): a changed definition needs an
 * approval (or is denied) until an admin accepts it; a pin store that cannot be read denies (fail closed).
 * Undefined: the policy's decision stands.
 */
function pinVerdict(
  info: ToolInfo | undefined,
  pinError: string | undefined,
  decision: Decision | undefined,
  onChange: 'require_approval' | 'deny' | 'allow',
  server: string,
  tool: string,
  log: Logger,
): Decision | undefined {
  if (decision !== undefined && decision.outcome !== 'allow' && decision.outcome !== 'require_approval')
    return;
  if (pinError !== undefined) {
    log.error({ err: pinError, server, tool }, 'tool pins unavailable: call refused');
    return pinDecision(
      'deny',
      'Tool definitions cannot be checked right now, so the call was not made.',
      decision,
    );
  }
  if (info === undefined || !info.changed || onChange === 'allow') return;
  const reason = `The definition of ${tool} changed since it was pinned; an admin must accept it (warden pins accept ${server} ${tool})`;
  if (onChange === 'deny') return pinDecision('deny', reason, decision);
  // A policy approval stays (its own rule and timeout); an allowed call now needs one too.
  if (decision?.outcome === 'require_approval') return;
  return pinDecision('require_approval', reason, decision);
}

function pinDecision(
  outcome: 'deny' | 'require_approval',
  reason: string,
  base: Decision | undefined,
): Decision {
  const rule = '(definition changed)';
  return {
    outcome,
    rule,
    policy: '(pinning)',
    reason,
    limits: base?.limits ?? [],
    approval: outcome === 'require_approval' ? { rule, timeoutMs: 5 * 60_000, mode: 'hold' } : undefined,
    shadow: false,
  };
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

/**
 * The strictest resource rule over every spelling of a URI a server may resolve alike (src/proxy/uri.ts): the agent's
 * own, the normal form and its decoded forms. A template string (completion refs) is matched as written too.
 */
function resourceDecision(layers: readonly CompiledPolicy[], raw: string): Decision | undefined {
  const normal = normalizeUri(raw);
  const forms = normal === undefined ? [raw] : [raw, ...uriForms(normal)];
  let found: Decision | undefined;
  for (const form of forms) {
    const d = nameDecision(layers, 'resources', form);
    if (d?.outcome === 'hidden') return d;
    if (d?.outcome === 'deny') found ??= d;
  }
  return found;
}

/** Whether any enforcing layer has rules for this section: then warden answers for names the upstream lacks. */
function names(layers: readonly CompiledPolicy[], section: 'prompts' | 'resources'): boolean {
  for (const p of layers) if (!p.shadow && p[section].length > 0) return true;
  return false;
}

/**
 * Whether a resource (a URI in normal form, or a template string) exists upstream; undefined when the upstream's
 * resources cannot be had. Asked before the rules on every request, hidden or not, so both answers cost the same.
 */
async function resourceKnown(
  link: UpstreamLink,
  raw: string,
  template: boolean,
): Promise<boolean | undefined> {
  const catalog = await link.resources();
  if (catalog === undefined) return undefined;
  if (template && catalog.templates.includes(raw)) return true;
  const normal = normalizeUri(raw);
  return normal !== undefined && catalogHas(catalog, normal);
}

/** The answer to a prompt or resource that is hidden or missing, the same for both (undefined: go on). */
function unseen(
  d: Decision | undefined,
  known: boolean | undefined,
  missing: Reply,
  server: string,
): Reply | undefined {
  if (d?.outcome === 'hidden' || known === false) return missing;
  if (known === undefined)
    return wire.unavailable(`Upstream ${server} did not list what it has; the request was not made`);
  if (d?.outcome === 'deny') return wire.deniedRequest(d);
  return undefined;
}

/** The policies a call of this session to `server` must pass: global, the server's, then the grant's own. */
function layersOf(policies: PolicySet, ctx: CallContext, server: string): readonly CompiledPolicy[] {
  const base = policies.layersFor(server);
  const own = ctx.session.identity.grant?.policy;
  return own === undefined ? base : [...base, own];
}

/**
 * Keeps the items of each upstream's list that `keep` accepts, given that server's policy layers (worked out once per
 * upstream, not per item: a grant's own policy makes a new array of layers).
 */
function filterResults(
  results: TargetResult[],
  key: string,
  layers: (server: string) => readonly CompiledPolicy[],
  keep: (layers: readonly CompiledPolicy[], item: Params) => boolean,
): void {
  for (const r of results) {
    const response = r.response;
    if (response === undefined || 'error' in response) continue;
    const items = response.result[key];
    if (!Array.isArray(items)) continue;
    const own = layers(r.server);
    const last = filtered.get(items);
    if (last !== undefined && sameLayers(last.layers, own)) {
      response.result[key] = last.kept;
      continue;
    }
    const kept = (items as Params[]).filter((item) => keep(own, item));
    filtered.set(items, { layers: own, kept });
    response.result[key] = kept;
  }
}

/**
 * The last filtering of each list, by the upstream's array. A list answered from an upstream link's kept answer is
 * the same array every time, so under the same policy layers it filters to the same array too, and the steps after
 * this one (the aggregated merge, the transport's JSON) can reuse what they made of it. A list asked of the upstream
 * is a new array, and its entry goes when the array does.
 */
const filtered = new WeakMap<unknown[], { layers: readonly CompiledPolicy[]; kept: Params[] }>();

function sameLayers(a: readonly CompiledPolicy[], b: readonly CompiledPolicy[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function readsAnnotations(layers: readonly CompiledPolicy[]): boolean {
  for (const p of layers) if (p.readsAnnotations) return true;
  return false;
}

/** The counter values the layers' `state.*` conditions need, read once per call; undefined when none is needed. */
function stateReadsOf(layers: readonly CompiledPolicy[]): StateRead[] | undefined {
  let reads: StateRead[] | undefined;
  for (const p of layers) {
    if (p.stateReads.length === 0) continue;
    reads ??= [];
    reads.push(...p.stateReads);
  }
  return reads;
}

/** How long an unchanged tools/list answer of a server is not inspected again (see `observe` below). */
const OBSERVE_AGAIN_MS = 5_000;

export function policyStep({
  policies,
  log,
  counters,
  failMode = 'closed',
  metrics,
  now = Date.now,
  catalog,
  onDefinitionChange = 'require_approval',
}: PolicyStepOptions): Step<CallContext> {
  // Agents list tools on every turn, and inspecting a list hashes every definition canonically (about 12 µs a tool:
  // a third of the gateway's CPU on a 1,000-tool list). A server's list whose JSON text is the one inspected less
  // than OBSERVE_AGAIN_MS ago was pinned and classified then; tools/call still checks the pin of its own tool.
  // A list answered from the upstream link's kept answer is the very array inspected before: no text to compare.
  const observed = new Map<string, { tools: Params[]; text: string; at: number }>();
  const observe = (server: string, tools: Params[]): void => {
    const last = observed.get(server);
    const t = now();
    const fresh = last !== undefined && t - last.at < OBSERVE_AGAIN_MS;
    if (fresh && last.tools === tools) return;
    const text = JSON.stringify(tools);
    if (fresh && last.text === text) return;
    observed.set(server, { tools, text, at: t });
    catalog?.observe(server, tools);
  };
  return async (ctx, next) => {
    const target = ctx.targets[0];
    const layersHere = (server: string) => layersOf(policies, ctx, server);
    switch (ctx.method) {
      case 'tools/call': {
        if (target === undefined) return next();
        const layers = layersOf(policies, ctx, target.server);
        if (layers.length === 0 && catalog === undefined) return next();
        const params = target.params ?? {};
        const name = typeof params.name === 'string' ? params.name : '';
        const args = params.arguments;
        // Conditions read the arguments as an object: any other value would pass every deny_if unexamined.
        if (args !== undefined && (typeof args !== 'object' || args === null || Array.isArray(args))) {
          ctx.reply = wire.invalidParams('Invalid params: arguments must be an object');
          return;
        }
        // Ask whether the tool exists on every call, hidden or not, so both answers cost the same.
        const known = await target.link.hasTool(name);
        // Its classification (for `categories`) and whether its definition still matches its pin.
        let info: ToolInfo | undefined;
        let pinError: string | undefined;
        // The server's annotations, for `tool.annotations.*` conditions (they may only make a decision stricter).
        let annotations: Params | undefined;
        if (known === true && (catalog !== undefined || readsAnnotations(layers))) {
          const def = await target.link.toolDefinition(name);
          const a = def?.annotations;
          if (a !== null && typeof a === 'object' && !Array.isArray(a)) annotations = a as Params;
          if (def !== undefined && catalog !== undefined) {
            try {
              info = await catalog.inspect(target.server, def);
            } catch (err) {
              pinError = (err as Error)?.message ?? String(err);
            }
          }
        }
        /** Pinning's word after the policy's (undefined: no policy); false when the call was refused here. */
        const pinned = (decision: Decision | undefined): boolean => {
          const verdict = pinVerdict(info, pinError, decision, onDefinitionChange, target.server, name, log);
          if (verdict !== undefined) ctx.decision = verdict;
          if (ctx.decision?.outcome !== 'deny') return true;
          ctx.reply = wire.denied(ctx.decision);
          return false;
        };
        // No policy: only pinning can stop the call.
        if (layers.length === 0) return known !== true || pinned(undefined) ? next() : undefined;
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
            category: info?.classification.category,
            risk: info?.classification.risk,
            annotations,
            counter: state === undefined ? undefined : (scope, counter) => state.get(`${scope}.${counter}`),
            // An object or absent: anything else was refused above.
            args: args as Params | undefined,
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
        if (!pinned(decision)) return;
        // require_approval goes on to the approval step, which holds the call (or answers with an approval id).
        return next();
      }
      case 'tools/list': {
        await next();
        if (catalog !== undefined) {
          for (const r of ctx.results) {
            const tools =
              r.response !== undefined && 'result' in r.response ? r.response.result.tools : undefined;
            if (Array.isArray(tools)) observe(r.server, tools as Params[]);
          }
        }
        filterResults(
          ctx.results,
          'tools',
          layersHere,
          (layers, tool) => !hiddenTool(layers, String(tool.name)),
        );
        return;
      }
      case 'prompts/list': {
        await next();
        filterResults(
          ctx.results,
          'prompts',
          layersHere,
          (layers, p) => nameDecision(layers, 'prompts', String(p.name))?.outcome !== 'hidden',
        );
        return;
      }
      case 'resources/list':
      case 'resources/templates/list': {
        await next();
        const key = ctx.method === 'resources/list' ? 'resources' : 'resourceTemplates';
        filterResults(ctx.results, key, layersHere, (layers, r) =>
          typeof r.uri === 'string'
            ? resourceDecision(layers, r.uri)?.outcome !== 'hidden'
            : nameDecision(layers, 'resources', String(r.uriTemplate))?.outcome !== 'hidden',
        );
        return;
      }
      case 'prompts/get': {
        if (target === undefined) return next();
        const name = String(target.params?.name ?? '');
        const layers = layersOf(policies, ctx, target.server);
        // Where a policy names prompts, warden answers a missing prompt itself, exactly as a hidden one.
        const known = names(layers, 'prompts') ? await target.link.hasPrompt(name) : true;
        const d = nameDecision(layers, 'prompts', name);
        ctx.decision = d;
        const asked = String((ctx.request.params as Params)?.name ?? name);
        const reply = unseen(d, known, wire.unknownPrompt(asked), target.server);
        if (reply === undefined) return next();
        if (known === false && d?.outcome !== 'hidden') ctx.decision = undefined;
        ctx.reply = reply;
        return;
      }
      case 'resources/read':
      case 'resources/subscribe':
      case 'resources/unsubscribe': {
        if (target === undefined) return next();
        // The route step put the URI in normal form; the agent's spelling is what a not-found answer names.
        const uri = String(target.params?.uri ?? '');
        const asked = String((ctx.request.params as Params)?.uri ?? uri);
        const layers = layersOf(policies, ctx, target.server);
        const known = names(layers, 'resources') ? await resourceKnown(target.link, uri, false) : true;
        const d = resourceDecision(layers, uri);
        ctx.decision = d;
        const reply = unseen(d, known, wire.resourceNotFound(asked), target.server);
        if (reply === undefined) return next();
        if (known === false && d?.outcome !== 'hidden') ctx.decision = undefined;
        ctx.reply = reply;
        return;
      }
      case 'completion/complete': {
        // A completion obeys the rules of the prompt or resource it completes: hidden ones are as missing ones.
        if (target === undefined) return next();
        const ref = target.params?.ref as Params | undefined;
        const askedRef = (ctx.request.params as Params | undefined)?.ref as Params | undefined;
        const layers = layersOf(policies, ctx, target.server);
        let d: Decision | undefined;
        let known: boolean | undefined = true;
        let missing: Reply;
        if (ref?.type === 'ref/prompt') {
          const name = String(ref.name ?? '');
          if (names(layers, 'prompts')) known = await target.link.hasPrompt(name);
          d = nameDecision(layers, 'prompts', name);
          missing = wire.unknownPrompt(String(askedRef?.name ?? name));
        } else if (ref?.type === 'ref/resource') {
          const uri = String(ref?.uri ?? '');
          if (names(layers, 'resources')) known = await resourceKnown(target.link, uri, true);
          d = resourceDecision(layers, uri);
          missing = wire.resourceNotFound(uri);
        } else return next(); // not a ref MCP defines: the upstream answers it as invalid
        ctx.decision = d;
        const reply = unseen(d, known, missing, target.server);
        if (reply === undefined) return next();
        if (known === false && d?.outcome !== 'hidden') ctx.decision = undefined;
        ctx.reply = reply;
        return;
      }
      default: {
        // A method MCP does not define (a server's own extension) cannot be checked by any rule: under a policy
        // whose default is deny it is refused; otherwise it goes through, audited like everything else.
        if (target === undefined || CLIENT_REQUESTS.has(ctx.method)) return next();
        for (const p of layersOf(policies, ctx, target.server)) {
          if (p.shadow || p.default !== 'deny') continue;
          ctx.decision = {
            ...p.defaultDecision,
            reason: `Method ${ctx.method} is not permitted by policy`,
          };
          ctx.reply = wire.deniedRequest(ctx.decision);
          return;
        }
        return next();
      }
    }
  };
}
