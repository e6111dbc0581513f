// Tool labels (SPEC §13): what a tool's results contain and what its calls can do, from the config's `flows.labels`
// (`<server>/<tool glob>`), and from warden's risk signals unless the config turns that off or excludes the tool.
import { globToRegExp, toolName } from '../policy/glob.js';
import type { Classification } from '../risk/types.js';

/** Where a label of a tool came from: the config or a policy file (with the pattern that matched), or a risk signal. */
export interface LabelSource {
  label: string;
  source: 'config' | 'policy' | 'signal';
  /** The `<server>/<tool glob>` pattern (a policy's: `<policy>: <pattern>`); the signals' reasoning for derived ones. */
  why: string;
}

export interface FlowLabelsConfig {
  /** label -> `<server>/<tool glob>` patterns. */
  labels: Readonly<Record<string, readonly string[]>>;
  /** label -> patterns of tools that never get that label from risk signals. */
  exclude: Readonly<Record<string, readonly string[]>>;
  /** Whether risk signals add `private` and `external`. */
  derive: boolean;
}

interface Pattern {
  label: string;
  pattern: string;
  server: RegExp;
  tool: RegExp;
}

/**
 * Labels are compared in lower case and NFKC, so `Private` and `ｐrivate` are the same label. A pattern splits at its
 * first `/`: the server id (a glob too), then the tool name glob, NFKC like the policy engine's names.
 */
export function labelName(label: string): string {
  return label.normalize('NFKC').toLowerCase();
}

function compile(map: Readonly<Record<string, readonly string[]>>): Pattern[] {
  const out: Pattern[] = [];
  for (const [label, patterns] of Object.entries(map)) {
    for (const pattern of patterns) {
      const slash = pattern.indexOf('/');
      const server = slash < 0 ? '*' : pattern.slice(0, slash);
      const tool = slash < 0 ? pattern : pattern.slice(slash + 1);
      out.push({
        label: labelName(label),
        pattern,
        server: globToRegExp(server),
        tool: globToRegExp(toolName(tool)),
      });
    }
  }
  return out;
}

/** The labels risk signals give a classified tool (before exclusions). */
export function derivedLabels(c: Classification): LabelSource[] {
  const kinds = new Set(c.signals.map((s) => s.kind));
  const out: LabelSource[] = [];
  // Reads personal data or private communications (or credentials): what it returns is private.
  const reads = c.category === 'read' || c.category === 'credential' || c.category === 'other';
  if (reads && (kinds.has('pii') || kinds.has('handles_credentials')))
    out.push({
      label: 'private',
      source: 'signal',
      why: `${c.category} tool with ${kinds.has('pii') ? 'pii' : 'handles_credentials'} signal`,
    });
  if (c.category === 'communication' && kinds.has('pii') && !kinds.has('open_world'))
    out.push({ label: 'private', source: 'signal', why: 'communication tool with pii signal' });
  // Sends to the open world: its calls can carry data out.
  const sends = c.category === 'communication' || c.category === 'write' || c.category === 'execute';
  if (sends && kinds.has('open_world'))
    out.push({ label: 'external', source: 'signal', why: `${c.category} tool with open_world signal` });
  else if (c.category === 'communication' && !kinds.has('pii'))
    out.push({ label: 'external', source: 'signal', why: 'communication tool (sends messages)' });
  return out;
}

export class LabelResolver {
  private readonly patterns: Pattern[];
  private readonly excluded: Pattern[];
  private readonly cache = new Map<string, LabelSource[]>();

  constructor(private readonly config: FlowLabelsConfig) {
    this.patterns = compile(config.labels);
    this.excluded = compile(config.exclude);
  }

  /** Whether any label can ever be given (else the flow step has nothing to do). */
  get empty(): boolean {
    return this.patterns.length === 0 && !this.config.derive;
  }

  /**
   * Every label of a tool with its source, config first. `classification` is the tool's risk classification when
   * known; without it only config labels apply.
   */
  resolve(server: string, tool: string, classification?: Classification): LabelSource[] {
    const name = toolName(tool);
    const key = `${server}\u0000${name}\u0000${classification === undefined ? '' : classification.category + classification.signals.map((s) => s.kind).join(',')}`;
    const hit = this.cache.get(key);
    if (hit !== undefined) return hit;
    const out: LabelSource[] = [];
    const seen = new Set<string>();
    for (const p of this.patterns) {
      if (seen.has(p.label) || !p.server.test(server) || !p.tool.test(name)) continue;
      seen.add(p.label);
      out.push({ label: p.label, source: 'config', why: p.pattern });
    }
    if (this.config.derive && classification !== undefined) {
      for (const d of derivedLabels(classification)) {
        if (seen.has(d.label)) continue;
        if (this.excluded.some((p) => p.label === d.label && p.server.test(server) && p.tool.test(name)))
          continue;
        seen.add(d.label);
        out.push(d);
      }
    }
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(key, out);
    return out;
  }
}
