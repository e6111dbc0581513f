// Policy file shapes: PolicyLayer's hosted JSON (with warden's additions) and PolicyLayer Intercept's YAML.
import { z } from 'zod';
import { DURATION_PATTERN, durationMs } from '../duration.js';
import { CATEGORIES, OPERATORS } from './types.js';

const version = z.union([z.literal('1'), z.literal(1)]).describe('Policy format version: "1"');
/** Longer than any sensible approval wait or limit window, and short enough to stay a date and a timer count. */
const MAX_DURATION_MS = 365 * 86_400_000;
const duration = z
  .union([
    z.number().positive(),
    z.string().regex(DURATION_PATTERN, 'expected a duration such as "30s", "10m", "1h"'),
  ])
  .refine(
    (v) => (typeof v === 'string' && !DURATION_PATTERN.test(v)) || durationMs(v) <= MAX_DURATION_MS,
    'a duration is at most 365 days',
  );

export const conditionSchema = z.strictObject({
  path: z
    .string()
    .regex(
      /^(args(\.[^.]+)+|state\.[^.]+\..+|grant\.(id|label|groups)|tool\.(category|risk|confidence|annotations\.(destructiveHint|readOnlyHint|idempotentHint|openWorldHint)))$/,
      'a path is "args.<name>[.<name>...]" (a list element: "args.<name>[*]" any, "[all]" every), "state.<scope>.<counter>", grant.label / grant.groups / grant.id, tool.category / tool.risk / tool.confidence, or tool.annotations.<destructiveHint|readOnlyHint|idempotentHint|openWorldHint>',
    ),
  op: z.enum(OPERATORS),
  value: z.unknown(),
});

/** PolicyLayer writes `{conditions, on_deny}`; a bare condition is accepted too (one condition, no message). */
const conditionRule = z.union([
  z.strictObject({ conditions: z.array(conditionSchema), on_deny: z.string().optional() }),
  conditionSchema,
]);

const limitSchema = z.strictObject({
  counter: z.string().min(1),
  window: z.union([z.enum(['second', 'minute', 'hour', 'day']), z.number().int().positive()]),
  max: z.number().nonnegative(),
  scope: z.enum(['session', 'grant', 'tool', 'server', 'global']).default('grant'),
  increment_from: z
    .string()
    .regex(/^args(\.[^.]+)+$/, 'increment_from is a path into the arguments, e.g. "args.amount"')
    .optional(),
  on_deny: z.string().optional(),
});

const rateLimitSchema = z.strictObject({
  max: z.number().int().positive(),
  window: duration,
  per: z.enum(['session', 'grant', 'tool', 'server', 'global']).default('grant'),
});

const actionSchema = z.enum(['allow', 'deny', 'require_approval']);

const approvalSchema = z.strictObject({
  timeout: duration.optional(),
  mode: z.enum(['hold', 'async']).optional(),
  /**
   * How long the agent's call is held open waiting for a person (default: the whole timeout in hold mode, 0 in async
   * mode). Past it the agent is answered with the approval id and comes back with the same call once approved. Set
   * it below the agent's request timeout (60 s in the MCP SDK) so that the answer reaches it (#17.24).
   */
  hold: duration.optional(),
});

export const toolEntrySchema = z.strictObject({
  action: actionSchema.optional(),
  reason: z.string().optional(),
  on_deny: z.string().optional(),
  deny_if: z.array(conditionRule).optional(),
  require: z.array(conditionRule).optional(),
  approve_if: z.array(conditionRule).optional(),
  limits: z.array(limitSchema).optional(),
  rate_limit: rateLimitSchema.optional(),
  approval: approvalSchema.optional(),
  description: z.string().optional(),
});

const nameRuleSchema = z.strictObject({
  action: z.enum(['allow', 'deny', 'hide']),
  reason: z.string().optional(),
});

export const policyLayerSchema = z.strictObject({
  $schema: z.string().optional(),
  version,
  description: z.string().optional(),
  default: z.enum(['allow', 'deny']),
  hide: z.array(z.string().min(1)).optional(),
  all_tools: toolEntrySchema.omit({ action: true, reason: true, description: true }).optional(),
  tools: z.record(z.string().min(1), toolEntrySchema.nullable()).optional(),
  categories: z.partialRecord(z.enum(CATEGORIES), actionSchema).optional(),
  shadow: z.boolean().optional(),
  prompts: z.record(z.string().min(1), nameRuleSchema).optional(),
  resources: z.record(z.string().min(1), nameRuleSchema).optional(),
});

const interceptRuleSchema = z.strictObject({
  name: z.string().min(1, 'every rule needs a name'),
  action: z.enum(['evaluate', 'deny', 'require_approval']).optional(),
  conditions: z.array(conditionSchema).optional(),
  on_deny: z.string().optional(),
  rate_limit: z
    .string()
    .regex(/^[1-9]\d*\/(minute|hour|day)$/, 'rate_limit is "N/minute", "N/hour" or "N/day"')
    .optional(),
  state: z
    .strictObject({
      counter: z.string().min(1),
      window: z.enum(['minute', 'hour', 'day']),
      increment: z.number().int().optional(),
      increment_from: z
        .string()
        .regex(/^args(\.[^.]+)+$/, 'increment_from starts with "args."')
        .optional(),
    })
    .optional(),
  approval_timeout: duration.optional(),
});

export const interceptSchema = z.strictObject({
  version,
  description: z.string().optional(),
  default: z.enum(['allow', 'deny']).default('allow'),
  hide: z.array(z.string().min(1)).optional(),
  tools: z
    .record(
      z.string().min(1),
      // `read_file:` (null) and `read_file: {}` list a tool with no rules, as `rules: []` does.
      z.strictObject({ rules: z.array(interceptRuleSchema).nullable().optional() }).nullable(),
    )
    .nullable()
    .optional(),
  shadow: z.boolean().optional(),
});

export type PolicyLayerFile = z.infer<typeof policyLayerSchema>;
export type InterceptFile = z.infer<typeof interceptSchema>;
export type ConditionInput = z.infer<typeof conditionSchema>;
export type ToolEntryInput = z.infer<typeof toolEntrySchema>;

/** The top-level keys of an Intercept file (warden reads `shadow` in both formats). */
const INTERCEPT_KEYS = new Set(['version', 'description', 'default', 'hide', 'tools', 'shadow']);

/**
 * Which format a policy is read in. Every file Intercept accepts is read as Intercept, with Intercept's meaning
 * (names exact, `default` optional): a file is PolicyLayer only when it uses something Intercept does not have, a
 * top-level key other than version, description, default, hide, tools and shadow (`$schema`, `all_tools`,
 * `categories`, `prompts`, `resources`), or a tool entry with keys other than `rules` (`action`, `deny_if`, ...).
 * A `rules` list anywhere makes it Intercept whatever else it has (its errors are then reported as Intercept's).
 */
export function looksLikeIntercept(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const tools = (value as { tools?: unknown }).tools;
  const entries =
    typeof tools === 'object' && tools !== null && !Array.isArray(tools) ? Object.values(tools) : undefined;
  if (entries?.some((t) => typeof t === 'object' && t !== null && 'rules' in t)) return true;
  for (const key of Object.keys(value)) if (!INTERCEPT_KEYS.has(key)) return false;
  if (tools === undefined || tools === null) return true;
  if (entries === undefined) return false;
  // `{}` and an empty entry (`read_file:`) list a tool in both formats; anything else is PolicyLayer's.
  return entries.every(
    (t) => t === null || (typeof t === 'object' && !Array.isArray(t) && Object.keys(t).length === 0),
  );
}
