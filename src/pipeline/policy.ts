// The policy step: decides every tools/call before it leaves, and removes hidden tools, prompts and resources from
// lists. Approvals and limits a decision names are carried out by the approval and limit steps next.

import type { Metrics } from '../audit/metrics.js';
import type { PolicySet } from '../config/policy-set.js';
import { DEFAULT_PIN_RULES, type PinRules } from '../config/resolve.js';
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
  /** What agents get of a changed or poisoned tool definition until a person accepts it, per server. */
  pinRules?: (server: string) => PinRules;
}

/** The strictest of two pin actions: hide, then hold, then pass. */
function stricter(a: PinRules['onChange'], b: PinRules['onChange']): PinRules['onChange'] {
  return a === 'hide' || b === 'hide' ? 'hide' : a === 'hold' || b === 'hold' ? 'hold' : 'pass';
}

/**
 * What pinning does with a tool as the agent would see it: `current` (nothing flagged, or `pass`), `accepted` (hold:
 * the last accepted definition stands in), `none` (hide; or hold with no accepted definition fit to show). `rule`
 * names why for the audit record.
 */
export function pinTreatment(
  info: ToolInfo,
  rules: PinRules,
): { show: 'current' | 'accepted' | 'none'; rule: string } {
  const action = stricter(info.changed ? rules.onChange : 'pass', info.poisoned ? rules.onPoisoning : 'pass');
  const rule = info.poisoned ? '(tool poisoning)' : '(definition changed)';
  if (action === 'pass') return { show: 'current', rule };
  if (action === 'hold' && info.accepted !== undefined) return { show: 'accepted', rule };
  return { show: 'none', rule };
}

/**
 * The decision pinning imposes on a call the policy lets through (allow, or approval) of a tool that is held: its
 * calls need an approval (or are denied) until an admin accepts the definition; a pin store that cannot be read
 * denies (fail closed). Undefined: the policy's decision stands.
 */
function pinVerdict(
  info: ToolInfo | undefined,
  pinError: string | undefined,
  decision: Decision | undefined,
  rules: PinRules,
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
      '(definition changed)',
    );
  }
  if (info === undefined) return;
  const { show, rule } = pinTreatment(info, rules);
  if (show !== 'accepted') return;
  const reason = info.poisoned
    ? `The definition of ${tool} is flagged as tool poisoning; an admin must review and accept it (warden pins accept ${server} ${tool})`
    : `The definition of ${tool} changed since it was pinned; an admin must accept it (warden pins accept ${server} ${tool})`;
  if (rules.heldCalls === 'deny') return pinDecision('deny', reason, decision, rule);
  // A policy approval stays (its own rule and timeout); an allowed call now needs one too.
  if (decision?.outcome === 'require_approval') return;
  return pinDecision('require_approval', reason, decision, rule);
}

function pinDecision(
  outcome: 'deny' | 'require_approval' | 'hidden',
  reason: string,
  base: Decision | undefined,
  rule: string,
): Decision {
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

/** A listed tool whose pin could not be read: treated as changed with nothing accepted, so it is not shown. */
function unchecked(server: string, name: string): ToolInfo {
  return {
    server,
    name,
    hash: '',
    classification: {
      category: 'other',
      risk: 'critical',
      signals: [],
      confidence: 0,
      rationale: 'pin unavailable',
    },
    changed: true,
    poisoned: false,
    accepted: undefined,
  };
}

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
export function layersOf(policies: PolicySet, ctx: CallContext, server: string): readonly CompiledPolicy[] {
  const base = policies.layersFor(server);
  const grant = ctx.session.identity.grant;
  const own = grant?.policy;
  // oauth: an identity provider's groups add their policies, each only narrowing (SPEC §14).
  const groups = grant?.groupPolicies;
  if (groups !== undefined) return own === undefined ? [...base, ...groups] : [...base, own, ...groups];
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

/** How long an unchanged tools/list answer of a server is not inspected again (see `review` below). */
const OBSERVE_AGAIN_MS = 5_000;

/** The flagged tools of a server's list (by name), as last reviewed; the same map while nothing changes. */
type Flagged = ReadonlyMap<string, ToolInfo>;
const NOTHING_FLAGGED: Flagged = new Map();

/** A signature of the flagged tools, to keep the same map (and so the same filtered arrays) while it is unchanged. */
function flaggedKey(flagged: Flagged): string {
  let key = '';
  for (const [name, i] of flagged)
    key += `${name}\u0000${i.hash}\u0000${i.changed}\u0000${i.poisoned}\u0000${i.accepted === undefined}\u0001`;
  return key;
}

/**
 * A server's tool list as pinning lets agents see it: a flagged tool is left out (hide) or replaced by its last
 * accepted definition (hold). The same input array under the same flagged map gives the same output array, so the
 * steps after this one can reuse what they made of it.
 */
const pinnedLists = new WeakMap<unknown[], { flagged: Flagged; rules: PinRules; out: Params[] }>();

function applyPins(items: Params[], flagged: Flagged, rules: PinRules): Params[] {
  if (flagged.size === 0) return items;
  const last = pinnedLists.get(items);
  if (last !== undefined && last.flagged === flagged && last.rules === rules) return last.out;
  const out: Params[] = [];
  for (const item of items) {
    const info = flagged.get(String(item.name));
    if (info === undefined) {
      out.push(item);
      continue;
    }
    const { show } = pinTreatment(info, rules);
    if (show === 'current') out.push(item);
    else if (show === 'accepted' && info.accepted !== undefined) out.push(info.accepted);
  }
  pinnedLists.set(items, { flagged, rules, out });
  return out;
}

export function policyStep({
  policies,
  log,
  counters,
  failMode = 'closed',
  metrics,
  now = Date.now,
  catalog,
  pinRules = () => DEFAULT_PIN_RULES,
}: PolicyStepOptions): Step<CallContext> {
  // Agents list tools on every turn, and inspecting a list hashes every definition canonically (about 12 µs a tool:
  // a third of the gateway's CPU on a 1,000-tool list). A server's list whose JSON text is the one reviewed less
  // than OBSERVE_AGAIN_MS ago was pinned and classified then, and is treated as it was; tools/call still checks the
  // pin of its own tool. A list answered from the upstream link's kept answer is the very array reviewed before.
  // Unlike a background look, the review is awaited: a flagged definition must not reach the agent even once.
  const reviewed = new Map<
    string,
    { tools: Params[]; text: string; at: number; generation: number; flagged: Flagged }
  >();
  const review = async (server: string, tools: Params[]): Promise<Flagged> => {
    const last = reviewed.get(server);
    const t = now();
    const generation = catalog!.generation;
    const fresh = last !== undefined && t - last.at < OBSERVE_AGAIN_MS && last.generation === generation;
    if (fresh && last.tools === tools) return last.flagged;
    const text = JSON.stringify(tools);
    if (fresh && last.text === text) return last.flagged;
    const flagged = new Map<string, ToolInfo>();
    let failed = false;
    await Promise.all(
      tools.map(async (def) => {
        if (typeof def.name !== 'string') return;
        try {
          const info = await catalog!.inspect(server, def);
          if (info.changed || info.poisoned) flagged.set(def.name, info);
        } catch (err) {
          failed = true;
          log.warn({ err: (err as Error)?.message, server, tool: def.name }, 'tool pin could not be checked');
          // Fail closed: a definition that cannot be checked is treated as changed, with nothing accepted to show.
          flagged.set(def.name, unchecked(server, def.name));
        }
      }),
    );
    // Keep the list order, so the signature (and the map kept for it) does not depend on which check ended first.
    const ordered = new Map<string, ToolInfo>();
    for (const def of tools) {
      const info = flagged.get(String(def.name));
      if (info !== undefined) ordered.set(String(def.name), info);
    }
    const same = last !== undefined && flaggedKey(last.flagged) === flaggedKey(ordered);
    const result = ordered.size === 0 ? NOTHING_FLAGGED : same ? last.flagged : ordered;
    // A failed check is not remembered: the next list asks the store again.
    reviewed.set(server, { tools, text, at: failed ? 0 : t, generation, flagged: result });
    return result;
  };
  /** Whether the server's last reviewed list had a tool that pinning keeps from agents. */
  const hidesAny = (server: string, rules: PinRules): boolean => {
    const flagged = reviewed.get(server)?.flagged;
    if (flagged === undefined) return false;
    for (const info of flagged.values()) if (pinTreatment(info, rules).show === 'none') return true;
    return false;
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
        const asked = String((ctx.request.params as Params | undefined)?.name ?? name);
        const rules = pinRules(target.server);
        // A tool pinning hides (or holds with nothing accepted to show) is not listed: it answers as one that
        // does not exist, whatever the policy says.
        const treatment = info === undefined ? undefined : pinTreatment(info, rules);
        if (treatment?.show === 'none') {
          ctx.decision = pinDecision(
            'hidden',
            info!.poisoned
              ? 'The definition is flagged as tool poisoning and no person has accepted it'
              : 'The definition changed since it was pinned and no person has accepted it',
            undefined,
            treatment.rule,
          );
          ctx.reply = wire.unknownTool(asked);
          return;
        }
        /** Pinning's word after the policy's (undefined: no policy); false when the call was refused here. */
        const pinnedOk = (decision: Decision | undefined): boolean => {
          const verdict = pinVerdict(info, pinError, decision, rules, target.server, name, log);
          if (verdict !== undefined) ctx.decision = verdict;
          if (ctx.decision?.outcome !== 'deny') return true;
          ctx.reply = wire.denied(ctx.decision);
          return false;
        };
        // No policy: only pinning can stop the call. While pinning hides a tool of this server, a tool the upstream
        // does not list answers as the hidden one does (warden's Unknown tool), so the two cannot be told apart by
        // their error; otherwise it goes upstream as before, which answers in its own words.
        if (layers.length === 0) {
          if (known === false && hidesAny(target.server, rules)) {
            ctx.reply = wire.unknownTool(asked);
            return;
          }
          return known !== true || pinnedOk(undefined) ? next() : undefined;
        }
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
            confidence: info?.classification.confidence,
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
        if (!pinnedOk(decision)) return;
        // require_approval goes on to the approval step, which holds the call (or answers with an approval id).
        return next();
      }
      case 'tools/list': {
        await next();
        if (catalog !== undefined) {
          for (const r of ctx.results) {
            const result = r.response !== undefined && 'result' in r.response ? r.response.result : undefined;
            const tools = result?.tools;
            if (result === undefined || !Array.isArray(tools)) continue;
            const flagged = await review(r.server, tools as Params[]);
            result.tools = applyPins(tools as Params[], flagged, pinRules(r.server));
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
