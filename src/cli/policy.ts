// `warden policy validate|explain|test`: check a policy file, show how a call is decided, run a policy's own tests.
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve as resolvePath } from 'node:path';
import { z } from 'zod';
import { parseConfigText, zodProblems } from '../config/parse.js';
import { loadPolicyFile, parsePolicyText } from '../config/policy-file.js';
import type { GatewayConfig } from '../config/resolve.js';
import { ConfigError, WardenError } from '../errors.js';
import { explainFlow, withFlow } from '../flows/explain.js';
import { LabelResolver } from '../flows/labels.js';
import { flowSet, layersHaveFlows } from '../flows/layers.js';
import { compileRules } from '../flows/rules.js';
import { compileGuards, stricterSettings } from '../guards/config.js';
import { decideLayers, decisionJson, explainLayers, explanationJson } from '../policy/decide.js';
import { CATEGORIES, type CompiledPolicy, type GrantFacts } from '../policy/types.js';
import { classify } from '../risk/classify.js';
import type { Classification, ToolDefinition } from '../risk/types.js';
import { openGrantStore } from '../store/open.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, fail, loadGatewayConfig } from './common.js';

function print(line = ''): void {
  process.stdout.write(`${line}\n`);
}

const useColour = process.stdout.isTTY === true && process.env.NO_COLOR === undefined;
const paint = (code: number) => (s: string) => (useColour ? `\u001b[${code}m${s}\u001b[0m` : s);
const green = paint(32);
const red = paint(31);
const dim = paint(2);

/**
 * `warden policy validate --config <file>`: every policy of a config compiles (else exit 2, as for one file), and,
 * once every upstream has listed its tools, the tool names the policies name that no upstream lists are warnings.
 * Warnings leave the exit code 0: what an upstream lists can differ between machines and versions, and a server that
 * is down must not fail a check of the policy text; `--json` gives them to scripts that want to fail on them.
 */
export async function validateConfig(configFile: string, opts: { json?: boolean }): Promise<void> {
  try {
    const config = loadGatewayConfig({ config: configFile });
    const { listEveryUpstream } = await import('../proxy/list-tools.js');
    const listings = await listEveryUpstream(config.upstreams);
    const listed = new Map<string, ReadonlySet<string>>();
    const unlisted: Array<{ server: string; error: string }> = [];
    for (const l of listings) {
      if ('error' in l) unlisted.push({ server: l.server, error: l.error });
      else listed.set(l.server, new Set(l.tools.map((t) => String(t.name))));
    }
    const { unknownToolNames } = await import('../config/policy-lint.js');
    const warnings = unknownToolNames(
      config.policies,
      config.upstreams.map((u) => u.id),
      listed,
    );
    if (opts.json) {
      print(
        JSON.stringify({
          valid: true,
          file: configFile,
          problems: [],
          warnings: [
            ...config.warnings.map((w) => ({ file: w.file, path: w.path, line: w.line, message: w.message })),
            ...warnings.map((w) => ({
              file: w.source,
              server: w.server ?? null,
              path: w.pointer,
              tool: w.name,
              message: w.message,
            })),
          ],
          unlisted,
        }),
      );
    } else {
      const count = config.policies.servers.size + (config.policies.global ? 1 : 0);
      print(`${green('ok')} ${configFile} (${count} polic${count === 1 ? 'y' : 'ies'})`);
      for (const w of config.warnings) print(`warning: ${w.file}${w.line ? `:${w.line}` : ''} ${w.message}`);
      for (const w of warnings) print(`warning: ${w.source} at ${w.pointer}: ${w.message}`);
      for (const u of unlisted)
        print(`note: ${u.server} could not be listed (${u.error}); names of its tools were not checked`);
    }
    process.exit(EXIT_OK);
  } catch (err) {
    if (err instanceof ConfigError && opts.json) {
      print(JSON.stringify({ valid: false, file: configFile, problems: err.problems }));
      process.exit(EXIT_USAGE);
    }
    fail(err);
  }
}

export function validate(file: string, opts: { json?: boolean }): void {
  try {
    const { policy } = loadPolicyFile(isAbsolute(file) ? file : resolvePath(file));
    if (opts.json) print(JSON.stringify({ valid: true, file, format: policy.format, problems: [] }));
    else
      print(
        `${green('ok')} ${file} (${policy.format} format, ${policy.toolsExact.size + policy.toolGlobs.length} tool entries)`,
      );
    process.exit(EXIT_OK);
  } catch (err) {
    if (err instanceof ConfigError && opts.json) {
      print(JSON.stringify({ valid: false, file, problems: err.problems }));
      process.exit(EXIT_USAGE);
    }
    fail(err);
  }
}

function parseArgs(text: string | undefined): Record<string, unknown> | undefined {
  if (text === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ConfigError([
      { file: '(command line)', path: '--args', message: `not JSON: ${(err as Error).message}` },
    ]);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ConfigError([
      { file: '(command line)', path: '--args', message: 'the arguments must be a JSON object' },
    ]);
  }
  return value as Record<string, unknown>;
}

/** The grant `--grant` names, as policies see it, and its own policy (a last layer). */
async function grantFor(
  configFile: string,
  label: string,
): Promise<{ facts: GrantFacts; policy: CompiledPolicy | undefined }> {
  const config = loadGatewayConfig({ config: configFile });
  const store = await openGrantStore(config.storage, { baseDir: dirname(config.file) });
  try {
    const g = await store.find(label);
    if (g === undefined || g.role !== undefined || g.revokedAt !== undefined)
      throw new WardenError('CONFIG_INVALID', `no live grant labelled "${label}"`, {
        hint: 'warden grants list shows them',
      });
    let policy: CompiledPolicy | undefined;
    if (g.policy !== undefined) {
      const compiled = parsePolicyText(g.policy.text, g.policy.source);
      if (!compiled.policy) throw new ConfigError(compiled.problems);
      policy = compiled.policy;
    }
    return { facts: { id: g.id, label: g.label, groups: g.groups }, policy };
  } finally {
    await store.close();
  }
}

const EXPLAIN_LIST_MS = 10_000;

/**
 * The tool as the gateway sees it: listed by its server now and classified from its definition (the classification
 * of risk/classify.ts that the tool catalog applies). `classification` undefined: the server does not list it.
 */
async function listedTool(
  config: GatewayConfig,
  server: string,
  name: string,
): Promise<{ classification?: Classification; error?: string }> {
  const found = config.upstreams.find((u) => u.id === server)!;
  // A question asked at a terminal: a server that has not answered in 10 s is reported as not listed.
  const spec = { ...found, startTimeoutMs: Math.min(found.startTimeoutMs, EXPLAIN_LIST_MS) };
  const { listUpstreamTools } = await import('../proxy/list-tools.js');
  let tools: Array<Record<string, unknown>>;
  try {
    tools = await listUpstreamTools(spec);
  } catch (err) {
    return { error: (err as Error)?.message ?? String(err) };
  }
  const def = tools.find((t) => t.name === name);
  return def === undefined ? {} : { classification: classify(def as unknown as ToolDefinition) };
}

export async function explainCommand(opts: {
  config: string;
  server: string;
  tool: string;
  args?: string;
  grant?: string;
  category?: string;
  /** The conversation's earlier calls, `server/tool` separated by commas (flow rules). */
  earlier?: string;
  json?: boolean;
}): Promise<void> {
  try {
    const grant = opts.grant === undefined ? undefined : await grantFor(opts.config, opts.grant);
    const config = loadGatewayConfig({ config: opts.config });
    if (!config.upstreams.some((u) => u.id === opts.server)) {
      throw new WardenError('CONFIG_INVALID', `no server "${opts.server}" in ${opts.config}`);
    }
    const layers: CompiledPolicy[] = [];
    if (config.policies.global) layers.push(config.policies.global.policy);
    const own = config.policies.servers.get(opts.server);
    if (own) layers.push(own.policy);
    if (grant?.policy) layers.push(grant.policy);
    const category = opts.category as (typeof CATEGORIES)[number] | undefined;
    if (category !== undefined && !CATEGORIES.includes(category)) {
      throw new ConfigError([
        { file: '(command line)', path: '--category', message: `one of ${CATEGORIES.join(', ')}` },
      ]);
    }
    // The gateway classifies the tool's definition as the server lists it: so does explain, unless --category asks
    // "what if". A tool the server does not list is an unknown tool to the gateway, whatever the policy says.
    const tool = category === undefined ? await listedTool(config, opts.server, opts.tool) : undefined;
    const call = {
      server: opts.server,
      tool: opts.tool,
      args: parseArgs(opts.args),
      category: category ?? tool?.classification?.category,
      risk: tool?.classification?.risk,
      confidence: tool?.classification?.confidence,
      grant: grant?.facts,
    };
    const explained = explainLayers(layers, call);
    const earlier = (opts.earlier ?? '')
      .split(',')
      .map((e) => e.trim())
      .filter((e) => e !== '')
      .map((e) => {
        const slash = e.indexOf('/');
        if (slash <= 0)
          throw new ConfigError([
            { file: '(command line)', path: '--earlier', message: 'server/tool, comma-separated' },
          ]);
        return { server: e.slice(0, slash), tool: e.slice(slash + 1) };
      });
    const base = { labels: new LabelResolver(config.flows), rules: compileRules(config.flows.rules) };
    const flow = explainFlow(
      // Each server's own policies add their flows, and the grant's (--grant) add to every server's.
      (server) => {
        const here = [...(config.policies.global ? [config.policies.global.policy] : [])];
        const mine = config.policies.servers.get(server);
        if (mine) here.push(mine.policy);
        if (grant?.policy) here.push(grant.policy);
        return flowSet(base, here);
      },
      { server: opts.server, tool: opts.tool, classification: tool?.classification },
      earlier,
      () => undefined,
      { shadow: config.flows.shadow },
    );
    const decision = withFlow(explained.decision, flow, config.flows.holdTimeoutMs);
    explained.decision = decision;
    const steps = explained.path;
    // The result guards a result of this tool gets: the config's, made stricter by the policies in force (layers).
    const guards = stricterSettings(
      (config.guards ?? compileGuards(undefined)).settingsFor(opts.server, opts.tool),
      layers,
      opts.tool,
    );
    const toolJson =
      tool === undefined
        ? { listed: null, category: category ?? null, risk: null, source: '--category' }
        : tool.error !== undefined
          ? { listed: null, category: null, risk: null, error: tool.error }
          : {
              listed: tool.classification !== undefined,
              category: tool.classification?.category ?? null,
              risk: tool.classification?.risk ?? null,
              confidence: tool.classification?.confidence ?? null,
              source: 'classified',
            };
    if (opts.json) {
      print(JSON.stringify({ ...explanationJson(explained), tool: toolJson, flow, guards }));
    } else {
      if (tool?.error !== undefined)
        print(
          dim(
            `  ${opts.server} could not be listed (${tool.error}): the tool's category is unknown; categories and tool.risk rules were not applied (pass --category)`,
          ),
        );
      else if (tool !== undefined && tool.classification === undefined)
        print(
          red(
            `${opts.server} does not list "${opts.tool}": the gateway answers a call to it as an unknown tool`,
          ),
        );
      else if (tool?.classification !== undefined)
        print(
          dim(`  ${opts.tool} is classified ${tool.classification.category}/${tool.classification.risk}`),
        );
      const colour = decision.outcome === 'allow' ? green : red;
      print(
        `${colour(decision.outcome)} ${opts.server}/${opts.tool} by ${decision.rule}${decision.reason ? `: ${decision.reason}` : ''}`,
      );
      if (layers.length === 0) print(dim('  no policy applies to this server'));
      if (flow.labels.length > 0)
        print(
          dim(
            `  labels: ${flow.labels.map((l) => `${l.label} (${l.source}: ${l.why})`).join(', ')}; seen before: ${flow.seen.join(', ') || 'none'}`,
          ),
        );
      print(
        dim(
          `  result guards: ${Object.entries(guards.actions)
            .map(([g, a]) => `${g} ${a}`)
            .join(', ')}${guards.shadow ? ' (shadow)' : ''}`,
        ),
      );
      if (flow.rule !== null)
        print(`  flow rule ${flow.rule}${flow.shadow ? ' (shadow)' : ''} -> ${flow.action}: ${flow.reason}`);
      for (const s of steps) {
        print(
          `  policy ${s.policy}${s.shadow ? ' (shadow)' : ''} -> ${s.decision.outcome} by ${s.decision.rule}`,
        );
        for (const step of s.steps) {
          print(
            `    ${step.result.padEnd(11)} ${step.rule}  ${dim(step.check)}${step.detail ? ` (${step.detail})` : ''}`,
          );
        }
      }
      for (const l of decision.limits)
        print(`  limit ${l.rule}: ${l.max} per ${l.windowMs / 1000}s (${l.window}, per ${l.scope})`);
      if (decision.approval)
        print(
          `  approval ${decision.approval.rule}: ${decision.approval.mode}, ${decision.approval.timeoutMs / 1000}s`,
        );
    }
    process.exit(EXIT_OK);
  } catch (err) {
    fail(err);
  }
}

const caseSchema = z.strictObject({
  name: z.string().min(1),
  server: z.string().optional(),
  tool: z.string().min(1),
  args: z.record(z.string(), z.unknown()).optional(),
  category: z.enum(CATEGORIES).optional(),
  expect: z.enum(['allow', 'deny', 'hidden', 'require_approval']),
  rule: z.string().optional(),
  reason: z.string().optional().describe('a part of the expected reason'),
  earlier: z
    .array(z.strictObject({ server: z.string(), tool: z.string().min(1) }))
    .optional()
    .describe('the earlier calls of the conversation whose results reached the agent (flow rules)'),
  seen: z.array(z.string().min(1)).optional().describe('labels the conversation has seen besides those'),
});

const testFlowsSchema = z.strictObject({
  labels: z.record(z.string().min(1), z.array(z.string().min(1))).default({}),
  rules: z
    .array(
      z.strictObject({
        after: z.string().min(1),
        deny: z.string().min(1).optional(),
        hold: z.string().min(1).optional(),
        reason: z.string().optional(),
      }),
    )
    .default([]),
});

const casesSchema = z.strictObject({
  policy: z.union([z.string(), z.array(z.string())]).describe('policy file(s), outermost first'),
  flows: testFlowsSchema.optional().describe('flow labels and rules, as in the config (docs/flows.md)'),
  cases: z.array(caseSchema).min(1),
});

/** Runs a policy's test cases; exit 0 when all pass, 1 when one fails, 2 when the files are invalid. */
export function testCommand(file: string, opts: { json?: boolean }): void {
  try {
    const abs = isAbsolute(file) ? file : resolvePath(file);
    let text: string;
    try {
      text = readFileSync(abs, 'utf8');
    } catch (cause) {
      throw new WardenError('CONFIG_NOT_FOUND', `cannot read ${file}: ${(cause as Error).message}`);
    }
    const { value, problems, lineOf } = parseConfigText(text, abs, null);
    if (problems.length > 0) throw new ConfigError(problems);
    const parsed = casesSchema.safeParse(value);
    if (!parsed.success) throw new ConfigError(zodProblems(parsed.error, abs, lineOf));
    const files = Array.isArray(parsed.data.policy) ? parsed.data.policy : [parsed.data.policy];
    const layers = files.map((f) => loadPolicyFile(isAbsolute(f) ? f : resolvePath(dirname(abs), f)).policy);
    const flows = parsed.data.flows;
    // Test cases have no risk signals (no upstream is listed): labels come from the test file's flows block and the
    // policies' own `flows:`.
    const labels = new LabelResolver({ labels: flows?.labels ?? {}, exclude: {}, derive: false });
    const inForce = flowSet({ labels, rules: compileRules(flows?.rules ?? []) }, layers);
    const withFlows = flows !== undefined || layersHaveFlows(layers);
    let passed = 0;
    const failures: Array<{ name: string; why: string }> = [];
    const results: Array<Record<string, unknown>> = [];
    for (const c of parsed.data.cases) {
      const policyDecision = decideLayers(layers, {
        server: c.server ?? '',
        tool: c.tool,
        args: c.args,
        category: c.category,
      });
      const flow = !withFlows
        ? undefined
        : explainFlow(
            () => inForce,
            { server: c.server ?? '', tool: c.tool },
            c.earlier ?? [],
            () => undefined,
            { seen: c.seen },
          );
      const d = flow === undefined ? policyDecision : withFlow(policyDecision, flow, 5 * 60_000);
      const why: string[] = [];
      if (d.outcome !== c.expect) why.push(`expected ${c.expect}, got ${d.outcome}`);
      if (c.rule !== undefined && d.rule !== c.rule) why.push(`expected rule ${c.rule}, got ${d.rule}`);
      if (c.reason !== undefined && !(d.reason ?? '').includes(c.reason)) {
        why.push(`expected a reason with "${c.reason}", got ${JSON.stringify(d.reason ?? null)}`);
      }
      results.push({
        name: c.name,
        passed: why.length === 0,
        decision: decisionJson(d),
        problems: why,
        ...(flow === undefined ? {} : { flow }),
      });
      if (why.length === 0) {
        passed++;
        if (!opts.json) print(`${green('✓')} ${c.name}`);
      } else {
        failures.push({ name: c.name, why: why.join('; ') });
        if (!opts.json) print(`${red('✗')} ${c.name}: ${why.join('; ')} ${dim(`(rule ${d.rule})`)}`);
      }
    }
    if (opts.json) print(JSON.stringify({ passed, failed: failures.length, results }));
    else print(`${passed} passed, ${failures.length} failed`);
    process.exit(failures.length === 0 ? EXIT_OK : EXIT_FAILURE);
  } catch (err) {
    fail(err);
  }
}
