// The `guards:` config block (SPEC §13): its zod schema, and its compiled form (per server and per tool overrides).
import { z } from 'zod';
import { globToRegExp } from '../policy/glob.js';

export const GUARD_NAMES = ['secrets', 'pii', 'injection'] as const;
export type GuardName = (typeof GUARD_NAMES)[number];
export type GuardAction = 'mask' | 'block' | 'flag' | 'off';

const action = z.enum(['mask', 'block', 'flag', 'off']);

/** Keys that may be set globally, per server and per tool; the narrower level wins key by key. */
const levelKeys = {
  secrets: action.optional().describe('Credentials, keys, tokens, connection strings with passwords'),
  pii: action
    .optional()
    .describe('E-mail addresses, phone numbers, card numbers (Luhn), IBANs, national ids'),
  injection: action
    .optional()
    .describe('Text aimed at the model: instructions to ignore rules, call tools, exfiltrate'),
  shadow: z
    .boolean()
    .optional()
    .describe('Only record what the guards would do; the result goes through unchanged'),
};

const toolLevel = z.strictObject(levelKeys);
const serverLevel = z.strictObject({
  ...levelKeys,
  tools: z
    .record(z.string(), toolLevel)
    .optional()
    .describe('Per tool (or prompt name, or resource URI) overrides, by glob'),
});

export const guardsSchema = z
  .strictObject({
    results: z
      .strictObject({
        ...levelKeys,
        maxScanBytes: z
          .number()
          .int()
          .positive()
          .default(8 * 1024 * 1024)
          .describe(
            'Results larger than this (their text, in UTF-8 bytes) (their strings, in characters) are not scanned but handled as `oversize` says',
          ),
        oversize: z
          .enum(['block', 'pass'])
          .default('block')
          .describe(
            'What happens to a result too big to scan: block (fail closed, the default) or pass unscanned',
          ),
        labels: z
          .strictObject({
            secrets: z.string().default('secret'),
            pii: z.string().default('pii'),
            injection: z.string().default('untrusted'),
          })
          .default({ secrets: 'secret', pii: 'pii', injection: 'untrusted' })
          .describe('The label a flagged (or masked or blocked) result adds to the conversation, per guard'),
        servers: z.record(z.string(), serverLevel).optional().describe('Per server overrides, by server id'),
      })
      .default({
        maxScanBytes: 8 * 1024 * 1024,
        oversize: 'block',
        labels: { secrets: 'secret', pii: 'pii', injection: 'untrusted' },
      })
      .describe('Guards applied to tools/call results, resources/read and prompts/get (docs/guards.md)'),
  })
  .describe('Result guards (SPEC §13)');

export type GuardsConfigFile = z.infer<typeof guardsSchema>;

/** What applies to one result: an action per guard, and whether it only records. */
export interface GuardSettings {
  actions: Record<GuardName, GuardAction>;
  shadow: boolean;
}

export interface CompiledGuards {
  /** The settings for a result of `name` (tool, prompt or resource URI) from `server`. */
  settingsFor(server: string, name: string): GuardSettings;
  maxScanBytes: number;
  oversize: 'block' | 'pass';
  labels: Record<GuardName, string>;
  /** Whether any guard is on anywhere (the step does nothing otherwise). */
  active: boolean;
}

type Level = z.infer<typeof toolLevel>;

/** Built-in defaults when the block is absent: off, so 2025 behaviour stays as it was. */
const DEFAULTS: GuardSettings = { actions: { secrets: 'off', pii: 'off', injection: 'off' }, shadow: false };

function over(base: GuardSettings, level: Level | undefined): GuardSettings {
  if (level === undefined) return base;
  const actions = { ...base.actions };
  for (const g of GUARD_NAMES) {
    const a = level[g];
    if (a !== undefined) actions[g] = a;
  }
  return { actions, shadow: level.shadow ?? base.shadow };
}

export function compileGuards(file: GuardsConfigFile | undefined): CompiledGuards {
  const results = file?.results ?? guardsSchema.parse({}).results;
  const global = over(DEFAULTS, results);
  const servers = new Map<
    string,
    { settings: GuardSettings; tools: Array<{ re: RegExp; level: Level; len: number }> }
  >();
  for (const [id, s] of Object.entries(results.servers ?? {})) {
    const tools = Object.entries(s.tools ?? {})
      .map(([glob, level]) => ({ re: globToRegExp(glob), level, len: glob.replace(/\*/g, '').length }))
      // The most specific glob (most literal characters) wins.
      .sort((a, b) => b.len - a.len);
    servers.set(id, { settings: over(global, s), tools });
  }
  const cache = new Map<string, GuardSettings>();
  const all = [
    global,
    ...[...servers.values()].flatMap((s) => [s.settings, ...s.tools.map((t) => over(s.settings, t.level))]),
  ];
  return {
    maxScanBytes: results.maxScanBytes,
    oversize: results.oversize,
    labels: results.labels,
    active: all.some((s) => GUARD_NAMES.some((g) => s.actions[g] !== 'off')),
    settingsFor(server, name) {
      const key = `${server}\u0000${name}`;
      const hit = cache.get(key);
      if (hit !== undefined) return hit;
      const s = servers.get(server);
      let out = s?.settings ?? global;
      if (s !== undefined) {
        const t = s.tools.find((x) => x.re.test(name));
        if (t !== undefined) out = over(s.settings, t.level);
      }
      if (cache.size < 10_000) cache.set(key, out);
      return out;
    },
  };
}

/**
 * `guards:` in a policy file (SPEC §13): actions only, globally and per tool glob. A policy can only make a guard
 * stricter (off < flag < mask < block) for the calls it governs; the switches (`shadow`, `maxScanBytes`, `oversize`,
 * `labels`, `servers`) stay the config's, and naming one is refused at load with its path and line.
 */
const policyLevel = z.strictObject({
  secrets: action.optional(),
  pii: action.optional(),
  injection: action.optional(),
});
export const policyGuardsSchema = z
  .strictObject({
    results: z
      .strictObject({
        ...policyLevel.shape,
        tools: z
          .record(z.string(), policyLevel)
          .optional()
          .describe('Per tool (or prompt name, or resource URI) of the governed server, by glob'),
      })
      .optional(),
  })
  .describe('Result guards a policy adds: only stricter than the config (docs/policy.md)');

/** A policy's guard actions, compiled: what it asks for a result of `name`. */
export interface PolicyGuards {
  actionsFor(name: string): Partial<Record<GuardName, GuardAction>>;
}

export function compilePolicyGuards(value: z.infer<typeof policyGuardsSchema>): PolicyGuards | undefined {
  const r = value.results;
  if (r === undefined) return undefined;
  const base: Partial<Record<GuardName, GuardAction>> = {};
  for (const g of GUARD_NAMES) if (r[g] !== undefined) base[g] = r[g];
  const tools = Object.entries(r.tools ?? {})
    .map(([glob, level]) => ({ re: globToRegExp(glob), level, len: glob.replace(/\*/g, '').length }))
    .sort((a, b) => b.len - a.len);
  if (Object.keys(base).length === 0 && tools.length === 0) return undefined;
  return {
    actionsFor(name) {
      const t = tools.find((x) => x.re.test(name));
      if (t === undefined) return base;
      const out = { ...base };
      for (const g of GUARD_NAMES) if (t.level[g] !== undefined) out[g] = t.level[g];
      return out;
    },
  };
}

const STRICTNESS: Record<GuardAction, number> = { off: 0, flag: 1, mask: 2, block: 3 };

/** The config's settings made stricter by each governing policy's guards; never looser (a policy only narrows). */
export function stricterSettings(
  base: GuardSettings,
  layers: readonly { guards?: PolicyGuards | undefined }[],
  name: string,
): GuardSettings {
  let actions: Record<GuardName, GuardAction> | undefined;
  for (const l of layers) {
    if (l.guards === undefined) continue;
    const want = l.guards.actionsFor(name);
    for (const g of GUARD_NAMES) {
      const a = want[g];
      const cur = (actions ?? base.actions)[g];
      if (a !== undefined && STRICTNESS[a] > STRICTNESS[cur]) {
        actions ??= { ...base.actions };
        actions[g] = a;
      }
    }
  }
  return actions === undefined ? base : { actions, shadow: base.shadow };
}
