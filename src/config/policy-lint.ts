// Tool names a policy names that no upstream lists (a typo such as `hide: ["get-evn"]` hides nothing, silently):
// found once the upstreams have listed their tools, reported as warnings by serve, policy validate and the dashboard.
import { globToRegExp } from '../policy/glob.js';
import { parseConfigText } from './parse.js';
import type { LoadedPolicy } from './policy-file.js';

export interface PolicyNameWarning {
  /** The server whose policy it is; undefined for the global policy. */
  server: string | undefined;
  /** The policy's file (or `<config>#policy` for an inline one). */
  source: string;
  /** JSON Pointer of the entry in its policy. */
  pointer: string;
  name: string;
  message: string;
}

interface NamedEntry {
  name: string;
  pointer: string;
  /** How the policy matches it: exactly, or as a glob. */
  match: 'exact' | 'glob';
}

/** The tool names a policy names: its `hide` entries and its `tools` keys (the catch-all `*` aside). */
function namedTools(loaded: LoadedPolicy): NamedEntry[] {
  const p = loaded.policy;
  const out: NamedEntry[] = [];
  // `hide` keeps no pointers once compiled: its entries are read from the text that was compiled.
  const { value } = parseConfigText(loaded.text, loaded.source, null);
  const hide = (value as { hide?: unknown } | undefined)?.hide;
  if (Array.isArray(hide)) {
    hide.forEach((h, i) => {
      if (typeof h !== 'string' || h === '*') return;
      out.push({ name: h, pointer: `/hide/${i}`, match: p.hideExact.has(h) ? 'exact' : 'glob' });
    });
  }
  for (const e of p.toolsExact.values()) out.push({ name: e.key, pointer: e.pointer, match: 'exact' });
  for (const { entry } of p.toolGlobs) {
    if (entry.key !== '*') out.push({ name: entry.key, pointer: entry.pointer, match: 'glob' });
  }
  return out;
}

/** Edit distance, for "did you mean" (names are short). */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const here = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = here;
    }
  }
  return row[b.length]!;
}

function closest(name: string, listed: ReadonlySet<string>): string | undefined {
  let best: string | undefined;
  let bestD = Math.max(2, Math.floor(name.length / 4)) + 1;
  for (const l of listed) {
    const d = distance(name.toLowerCase(), l.toLowerCase());
    if (d < bestD) {
      best = l;
      bestD = d;
    }
  }
  return best;
}

function check(
  loaded: LoadedPolicy,
  server: string | undefined,
  listed: ReadonlySet<string>,
  where: string,
): PolicyNameWarning[] {
  const out: PolicyNameWarning[] = [];
  for (const e of namedTools(loaded)) {
    if (e.match === 'exact') {
      if (listed.has(e.name)) continue;
      const near = closest(e.name, listed);
      out.push({
        server,
        source: loaded.source,
        pointer: e.pointer,
        name: e.name,
        message: `tool "${e.name}" is not listed by ${where}${near === undefined ? '' : ` (did you mean "${near}"?)`}${
          loaded.policy.format === 'intercept' && /[*?]/.test(e.name)
            ? '; this file is read as Intercept, where names are exact and "*" is no wildcard: add "$schema" (or another PolicyLayer key) to read it as a glob (docs/policy.md)'
            : ''
        }`,
      });
    } else {
      const re = globToRegExp(e.name);
      if ([...listed].some((n) => re.test(n))) continue;
      out.push({
        server,
        source: loaded.source,
        pointer: e.pointer,
        name: e.name,
        message: `"${e.name}" matches no tool listed by ${where}`,
      });
    }
  }
  return out;
}

/**
 * Warnings for the tool names the policies name that no upstream lists. `listed` holds the tools of each server that
 * has listed; a server's own policy is checked once it has, the global one once every server has (a name it misses
 * may belong to a server that has not listed yet).
 */
export function unknownToolNames(
  policies: { global: LoadedPolicy | undefined; servers: ReadonlyMap<string, LoadedPolicy> },
  serverIds: readonly string[],
  listed: ReadonlyMap<string, ReadonlySet<string>>,
): PolicyNameWarning[] {
  const out: PolicyNameWarning[] = [];
  if (policies.global !== undefined && serverIds.every((s) => listed.has(s))) {
    const all = new Set<string>();
    for (const s of serverIds) for (const n of listed.get(s)!) all.add(n);
    out.push(...check(policies.global, undefined, all, 'any upstream'));
  }
  for (const s of serverIds) {
    const own = policies.servers.get(s);
    const names = listed.get(s);
    if (own !== undefined && names !== undefined) out.push(...check(own, s, names, `server "${s}"`));
  }
  return out;
}
