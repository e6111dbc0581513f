// What the dashboard and the admin API show, read off the running gateway's parts: tools under the policy in force,
// the policies themselves, the overview's live figures, and the simulator.
import type { ApprovalService } from '../approvals/service.js';
import type { Metrics } from '../audit/metrics.js';
import type { PolicyNameWarning } from '../config/policy-lint.js';
import type { PolicySet } from '../config/policy-set.js';
import type { GatewayConfig } from '../config/resolve.js';
import { WardenError } from '../errors.js';
import { explainFlow, withFlow } from '../flows/explain.js';
import type { LabelResolver } from '../flows/labels.js';
import { flowSet } from '../flows/layers.js';
import type { FlowRule } from '../flows/rules.js';
import type { Authenticator } from '../identity/authenticate.js';
import { pinTreatment } from '../pipeline/policy.js';
import { decideLayers, decisionJson, explainLayers, explanationJson, isHidden } from '../policy/decide.js';
import type { CompiledPolicy } from '../policy/types.js';
import { linkCounts, type ProxySession } from '../proxy/session.js';
import type { ToolCatalog } from '../risk/catalog.js';
import { escapeHidden, pinReview } from '../risk/pin-diff.js';
import type { ConversationStore } from '../state/conversations.js';
import type { SimulationRequest } from './admin.js';

export interface DashboardParts {
  config: GatewayConfig;
  policies: PolicySet;
  catalog: ToolCatalog;
  sessions: ReadonlySet<ProxySession>;
  metrics: Metrics;
  approvals: ApprovalService;
  authenticator: Authenticator;
  /** Tool names the policies name that no upstream lists (once the upstreams have listed). */
  policyNameWarnings?: () => PolicyNameWarning[];
  /** Flow labels and rules (docs/flows.md); without them tools have no labels and the simulator no flow. */
  flows?: { labels: LabelResolver; rules: readonly FlowRule[]; conversations: ConversationStore };
}

/** A policy larger than this is shown by name only. */
const MAX_POLICY_TEXT = 256 * 1024;

/**
 * The tools seen so far with classification, pin state and what the policy in force does with a call that has no
 * arguments (`decision`: hidden, allow, deny or require_approval; argument conditions may change it per call).
 */
export function toolViews({
  catalog,
  policies,
  config,
  flows,
}: DashboardParts): Array<Record<string, unknown>> {
  return catalog.list().map((t) => {
    const layers = policies.layersFor(t.server);
    const rules = config.pinning.servers.get(t.server) ?? config.pinning.global;
    // Pinning hides a flagged tool (or holds it with nothing accepted to show): agents do not see it either.
    const pinHidden = pinTreatment(t, rules).show === 'none';
    const hidden = pinHidden || layers.some((p) => !p.shadow && isHidden(p, t.name));
    const decision = hidden
      ? 'hidden'
      : decideLayers(layers, {
          server: t.server,
          tool: t.name,
          args: {},
          category: t.classification.category,
          risk: t.classification.risk,
        }).outcome;
    return {
      server: t.server,
      name: t.name,
      category: t.classification.category,
      risk: t.classification.risk,
      // Evidence quotes the upstream's text: characters that render as nothing are shown escaped.
      signals: t.classification.signals.map((s) => ({ ...s, evidence: escapeHidden(s.evidence) })),
      pinned: !t.changed,
      hidden,
      changed: t.changed,
      poisoned: t.poisoned,
      decision,
      confidence: t.classification.confidence,
      rationale: t.classification.rationale,
      labels: flows?.labels.resolve(t.server, t.name, t.classification) ?? [],
    };
  });
}

/** Each upstream's links across open sessions: `idle` without sessions, `up` when every link is ready. */
function upstreamHealth({ config, sessions }: DashboardParts): Array<Record<string, unknown>> {
  const counts = linkCounts(config.upstreams, sessions);
  return config.upstreams.map((u) => {
    const { links, ready } = counts.get(u.id)!;
    const status = links === 0 ? 'idle' : ready === links ? 'up' : ready === 0 ? 'down' : 'degraded';
    return { server: u.id, transport: u.kind, links, ready, status };
  });
}

export function overview(parts: DashboardParts): Record<string, unknown> {
  return {
    time: new Date().toISOString(),
    sessions: parts.sessions.size,
    pendingApprovals: parts.approvals.pendingCount,
    upstreams: upstreamHealth(parts),
    minutes: parts.metrics.activity.series(30),
  };
}

/** Each server's policies in the order they apply, with the text of those that come from a file. */
export function policyViews({
  config,
  policies,
  policyNameWarnings,
}: DashboardParts): Array<Record<string, unknown>> {
  const warnings = policyNameWarnings?.() ?? [];
  return config.upstreams.map((u) => ({
    server: u.id,
    // Names in this server's policies (the global one's included) that no upstream lists: typos, most likely.
    warnings: warnings
      .filter((w) => w.server === undefined || w.server === u.id)
      .map((w) => ({ policy: w.source, at: w.pointer, tool: w.name, message: w.message })),
    layers: policies.loadedFor(u.id).map((l) => ({
      source: l.source,
      file: l.file ?? null,
      format: l.policy.format,
      default: l.policy.default,
      shadow: l.policy.shadow,
      // The text that was loaded: an edit that did not compile leaves the policy (and this) as it was.
      text: l.text.length > MAX_POLICY_TEXT ? null : l.text,
    })),
  }));
}

/**
 * The decision a call would get and the path of rules behind it, without making it: the server's policies, then
 * the grant's own. Counters read as they are absent (0), so limits and `state.*` conditions show their first call.
 */
export async function simulate(
  parts: DashboardParts,
  req: SimulationRequest,
): Promise<Record<string, unknown>> {
  if (!parts.config.upstreams.some((u) => u.id === req.server))
    throw new WardenError('CONFIG_INVALID', `no server "${req.server}" in the config`);
  const grant =
    req.grant === undefined
      ? undefined
      : (await parts.authenticator.stdioIdentity(req.grant, undefined)).grant;
  if (grant?.servers !== undefined && !grant.servers.has(req.server))
    throw new WardenError('CONFIG_INVALID', `grant "${req.grant}" may not use server "${req.server}"`, {
      hint: 'its calls there answer as if the server did not exist',
    });
  const layers: CompiledPolicy[] = [...parts.policies.layersFor(req.server)];
  if (grant?.policy !== undefined) layers.push(grant.policy);
  const known = parts.catalog.list().find((t) => t.server === req.server && t.name === req.tool);
  const explained = explainLayers(layers, {
    server: req.server,
    tool: req.tool,
    args: req.args ?? {},
    category: known?.classification.category,
    risk: known?.classification.risk,
    grant,
  });
  const flow =
    parts.flows === undefined
      ? undefined
      : explainFlow(
          // The config's flows, each server's policies' and the grant's own, as the gateway's flow step adds them.
          (server) =>
            flowSet(parts.flows!, [
              ...parts.policies.layersFor(server),
              ...(grant?.policy === undefined ? [] : [grant.policy]),
            ]),
          { server: req.server, tool: req.tool, classification: known?.classification },
          req.earlier ?? [],
          (server, tool) => parts.catalog.info(server, tool)?.classification,
          { seen: req.seen, shadow: parts.config.flows.shadow },
        );
  const json = explanationJson(explained);
  if (flow !== undefined)
    json.decision = decisionJson(withFlow(explained.decision, flow, parts.config.flows.holdTimeoutMs));
  return {
    ...json,
    ...(flow === undefined ? {} : { flow }),
    tool:
      known === undefined
        ? null
        : {
            category: known.classification.category,
            risk: known.classification.risk,
            changed: known.changed,
          },
  };
}

/**
 * Lists every upstream's tools now, outside any agent session, and classifies and pins them as a session's listing
 * would (first sight pins; a changed definition is flagged). For a dashboard opened before any agent connected.
 */
export async function scanUpstreams(parts: DashboardParts): Promise<Array<Record<string, unknown>>> {
  // The SDK client a scan uses is loaded with the first scan, not with every gateway.
  const { listEveryUpstream } = await import('../proxy/list-tools.js');
  const listings = await listEveryUpstream(parts.config.upstreams);
  return Promise.all(
    listings.map(async (l) => {
      if ('error' in l) return { server: l.server, error: l.error };
      await Promise.all(l.tools.map((t) => parts.catalog.inspect(l.server, t)));
      return { server: l.server, tools: l.tools.length };
    }),
  );
}

/** At most one run at a time: a call while one is under way gets that run's answer (a scan starts every server). */
export function singleFlight<T>(run: () => Promise<T>): () => Promise<T> {
  let running: Promise<T> | undefined;
  return () => {
    running ??= run().finally(() => {
      running = undefined;
    });
    return running;
  };
}

/** A tool's pin for a reviewer (see pinReview); undefined: never pinned. */
export async function pinView(
  catalog: ToolCatalog,
  server: string,
  tool: string,
): Promise<Record<string, unknown> | undefined> {
  const pin = await catalog.pin(server, tool);
  return pin === undefined ? undefined : { ...pinReview(pin) };
}

/** Conversations as the admin API shows them: labels in the order first seen (no data values: labels, times, tools). */
export function conversationViews(
  list: ReadonlyArray<{
    conversation: string;
    labels: ReadonlyArray<{ label: string; at: string; server: string; tool: string }>;
  }>,
): Array<Record<string, unknown>> {
  return list.map((c) => ({
    conversation: c.conversation,
    labels: [...c.labels].sort((a, b) => a.at.localeCompare(b.at)),
  }));
}
