// Loads a policy (PolicyLayer JSON or Intercept YAML, detected) from a file or an inline value, with every problem
// reported by file, path and line; compiles it for decide().
import { readFileSync } from 'node:fs';
import { ConfigError, type Problem, WardenError } from '../errors.js';
import { LabelResolver } from '../flows/labels.js';
import { compilePolicyRules, type PolicyFlows } from '../flows/layers.js';
import { compilePolicyGuards, type PolicyGuards, policyGuardsSchema } from '../guards/config.js';
import { compileIntercept, compilePolicyLayer } from '../policy/compile.js';
import { interceptSchema, looksLikeIntercept, policyLayerSchema } from '../policy/schema.js';
import type { CompiledPolicy } from '../policy/types.js';
import { formatPath, parseConfigText, zodProblems } from './parse.js';
import { policyFlowsSchema } from './schema.js';

type LineOf = (path: readonly PropertyKey[]) => number | undefined;

export interface LoadedPolicy {
  /** The file path, or `<config file>#<path>` for an inline policy. */
  source: string;
  /** The file to watch for changes; undefined for inline policies. */
  file: string | undefined;
  policy: CompiledPolicy;
  /** The policy as written when it was loaded (an inline one as JSON): what is in force, whatever the file says now. */
  text: string;
}

/**
 * Validates and compiles a parsed policy value. `prefix` is where the value sits in its file (for inline policies
 * inside warden.yaml), so that paths and lines point at the right place.
 */
export function compilePolicyValue(
  value: unknown,
  file: string,
  source: string,
  lineOf: LineOf,
  prefix: readonly (string | number)[] = [],
): { policy: CompiledPolicy | undefined; problems: Problem[] } {
  // `flows:` is warden's own key beside either format (SPEC §13); the rest is the policy as its format defines it.
  const { rest, flows, guards } = splitFlows(value);
  const flowProblems: Problem[] = [];
  let policyFlows: PolicyFlows | undefined;
  if (flows !== undefined) {
    const parsed = policyFlowsSchema.safeParse(flows);
    if (!parsed.success) flowProblems.push(...zodProblems(parsed.error, file, lineOf, [...prefix, 'flows']));
    else if (Object.keys(parsed.data.labels).length > 0 || parsed.data.rules.length > 0)
      policyFlows = {
        resolver: new LabelResolver({ labels: parsed.data.labels, exclude: {}, derive: false }),
        rules: compilePolicyRules(parsed.data.rules, source),
      };
  }
  // `guards:` likewise (SPEC §13): actions only, and only stricter than the config's (src/guards/config.ts).
  let policyGuards: PolicyGuards | undefined;
  if (guards !== undefined) {
    const parsed = policyGuardsSchema.safeParse(guards);
    if (!parsed.success) flowProblems.push(...zodProblems(parsed.error, file, lineOf, [...prefix, 'guards']));
    else policyGuards = compilePolicyGuards(parsed.data);
  }
  const compiled = compileFormat(rest, file, source, lineOf, prefix);
  const problems = [...flowProblems, ...compiled.problems];
  if (compiled.policy === undefined || problems.length > 0) return { policy: undefined, problems };
  if (policyFlows !== undefined) compiled.policy.flows = policyFlows;
  if (policyGuards !== undefined) compiled.policy.guards = policyGuards;
  return compiled;
}

function splitFlows(value: unknown): { rest: unknown; flows: unknown; guards: unknown } {
  if (
    typeof value !== 'object' ||
    value === null ||
    Array.isArray(value) ||
    (!('flows' in value) && !('guards' in value))
  )
    return { rest: value, flows: undefined, guards: undefined };
  const { flows, guards, ...rest } = value as Record<string, unknown>;
  return { rest, flows, guards };
}

function compileFormat(
  value: unknown,
  file: string,
  source: string,
  lineOf: LineOf,
  prefix: readonly (string | number)[],
): { policy: CompiledPolicy | undefined; problems: Problem[] } {
  const intercept = looksLikeIntercept(value);
  const schema = intercept ? interceptSchema : policyLayerSchema;
  const parsed = schema.safeParse(value ?? {});
  if (!parsed.success) {
    const hint = intercept
      ? 'read as an Intercept policy (tools.<name>.rules)'
      : 'read as a PolicyLayer policy';
    const problems = zodProblems(parsed.error, file, lineOf, prefix).map((p) => ({
      ...p,
      hint: p.hint ?? hint,
    }));
    return { policy: undefined, problems };
  }
  const { policy, problems } = intercept
    ? compileIntercept(parsed.data as never, source)
    : compilePolicyLayer(parsed.data as never, source);
  if (problems.length > 0) {
    return {
      policy: undefined,
      problems: problems.map((p) => ({
        file,
        path: formatPath([...prefix, ...p.at]),
        line: lineOf([...prefix, ...p.at]),
        message: p.message,
        ...(p.hint ? { hint: p.hint } : {}),
      })),
    };
  }
  return { policy, problems: [] };
}

export function parsePolicyText(
  text: string,
  file: string,
): { policy: CompiledPolicy | undefined; problems: Problem[] } {
  const strict = strictJsonProblem(text, file);
  if (strict !== undefined) return { policy: undefined, problems: [strict] };
  const { value, problems, lineOf } = parseConfigText(text, file, null);
  if (problems.length > 0) return { policy: undefined, problems };
  return compilePolicyValue(value, file, file, lineOf);
}

/**
 * A `.json` policy is JSON, not the YAML superset the parser reads (which takes a trailing comma, comments or
 * unquoted keys): what another JSON tool would refuse must not load here with a meaning of warden's choosing.
 */
function strictJsonProblem(text: string, file: string): Problem | undefined {
  if (!/\.json$/i.test(file)) return undefined;
  try {
    JSON.parse(text);
    return undefined;
  } catch (err) {
    const message = (err as Error).message;
    const at = /position (\d+)/.exec(message);
    const pos = at === null ? undefined : Number(at[1]);
    const line = pos === undefined ? undefined : text.slice(0, pos).split('\n').length;
    const column = pos === undefined ? undefined : pos - text.lastIndexOf('\n', pos - 1);
    return {
      file,
      path: '',
      ...(line === undefined ? {} : { line }),
      message: `not valid JSON${column === undefined ? '' : ` (column ${column})`}: ${message.replace(/ in JSON at position \d+.*$/s, '')}`,
      hint: 'a .json policy is strict JSON (no trailing commas or comments); name it .yaml to write YAML',
    };
  }
}

/** Loads a policy file; throws ConfigError with every problem, or WardenError when it cannot be read. */
export function loadPolicyFile(file: string): LoadedPolicy {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new WardenError(
      'CONFIG_NOT_FOUND',
      `cannot read policy file ${file}: ${(cause as Error).message}`,
      { cause },
    );
  }
  const { policy, problems } = parsePolicyText(text, file);
  if (!policy) throw new ConfigError(problems);
  return { source: file, file, policy, text };
}
