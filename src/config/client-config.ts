// Reads the MCP configs of desktop clients (Claude Desktop, Cursor, VS Code, Windsurf, Cline) as warden configs:
// server names become valid ids, and keys that only mean something to the client are left out with a warning.
import type { Problem } from '../errors.js';
import { formatPath } from './parse.js';
import { configSchema, SERVER_ID_PATTERN, serverSchema } from './schema.js';

/**
 * Warden's own top-level keys besides mcpServers (and `$schema`, which any JSON file may carry): a file with none of
 * them is read as a client's config. Taken from the schema, so a key added there is never left out as a client's.
 */
const WARDEN_KEYS: ReadonlySet<string> = new Set(
  Object.keys(configSchema.shape).filter((k) => k !== 'mcpServers' && k !== '$schema'),
);

/** Keys of a server entry warden reads: those of schema.ts's serverSchema. */
const SERVER_KEYS: ReadonlySet<string> = new Set(Object.keys(serverSchema.shape));

/**
 * Keys clients write that warden does not apply, with what a person should know. Left out with a warning in any
 * config, so that a client's file keeps loading when warden's own keys are added to it.
 */
const CLIENT_TOP_KEYS: Record<string, string> = {
  globalShortcut: 'a Claude Desktop setting',
  preferences: 'a Claude Desktop setting',
  inputs:
    'VS Code asks for these values; warden reads ${input:<id>} from the environment variable WARDEN_INPUT_<ID>',
};
const CLIENT_SERVER_KEYS: Record<string, string> = {
  disabledTools: 'the client hides these tools; warden does not: hide them in a policy',
  dev: 'a VS Code development setting',
  gallery: 'a VS Code setting',
  version: 'a VS Code setting',
  description: 'a description for the client',
  transportType: 'a Cline setting; warden reads "type" or the presence of "url"',
  oauth: 'client-side OAuth; warden sends only the configured headers',
  auth: 'client-side OAuth; warden sends only the configured headers',
};

export interface NormalisedClientConfig {
  /** The config with `mcpServers` keyed by valid ids and the client-only keys left out. */
  value: unknown;
  warnings: Problem[];
  problems: Problem[];
  /** The client's server names whose id differs, with that id. */
  renamed: Map<string, string>;
  /** Maps a path in `value` back to the path in the file (for line numbers). */
  sourcePath: (path: readonly PropertyKey[]) => PropertyKey[];
}

/**
 * A valid server id for a client's server name: the name if it is one, else the name folded to ASCII, lowercased,
 * with every run of other characters turned into one "-" (`GitHub (work)` -> `github-work`).
 */
export function serverIdFor(name: string): string {
  if (SERVER_ID_PATTERN.test(name) && name.length <= 64) return name;
  const id = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/_{2,}/g, '_')
    .replace(/^[-_]+|[-_]+$/g, '')
    .slice(0, 60)
    .replace(/[-_]+$/g, '');
  return id === '' ? 'server' : id;
}

/**
 * Gives every server name an id: valid names keep theirs (they are claimed first), the others get serverIdFor(),
 * with "-2", "-3"... when that id is taken (ids are compared without case, as prefixes are).
 */
export function assignServerIds(names: readonly string[]): Map<string, string> {
  const taken = new Set<string>();
  const ids = new Map<string, string>();
  for (const n of names) {
    if (SERVER_ID_PATTERN.test(n) && n.length <= 64) {
      ids.set(n, n);
      taken.add(n.toLowerCase());
    }
  }
  for (const n of names) {
    if (ids.has(n)) continue;
    const base = serverIdFor(n);
    let id = base;
    for (let i = 2; taken.has(id.toLowerCase()); i++) id = `${base}-${i}`;
    ids.set(n, id);
    taken.add(id.toLowerCase());
  }
  return ids;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Normalises a parsed config (before ${...} interpolation, so that nothing left out is interpolated). A file that
 * has none of warden's own top-level keys is a client's config: keys warden does not know are left out with a
 * warning. In a warden config they stay, and the schema reports them as errors (a typo must not pass).
 */
export function normaliseClientConfig(
  raw: unknown,
  file: string,
  lineOf: (path: readonly PropertyKey[]) => number | undefined = () => undefined,
): NormalisedClientConfig {
  const warnings: Problem[] = [];
  const problems: Problem[] = [];
  const renamed = new Map<string, string>();
  const identity = (p: readonly PropertyKey[]) => [...p];
  if (!isObject(raw)) return { value: raw, warnings, problems, renamed, sourcePath: identity };
  const clientFile = !Object.keys(raw).some((k) => WARDEN_KEYS.has(k));
  const warn = (path: PropertyKey[], message: string, hint?: string) =>
    warnings.push({ file, path: formatPath(path), line: lineOf(path), message, ...(hint ? { hint } : {}) });
  const out: Record<string, unknown> = {};
  // VS Code keeps its servers under "servers".
  let serversKey = 'mcpServers';
  if (raw.mcpServers === undefined && isObject(raw.servers)) serversKey = 'servers';
  else if (raw.mcpServers !== undefined && raw.servers !== undefined) {
    problems.push({
      file,
      path: 'servers',
      line: lineOf(['servers']),
      message: 'both "mcpServers" and "servers" are set',
      hint: 'keep one list of servers',
    });
  }
  for (const [key, v] of Object.entries(raw)) {
    if (key === serversKey || key === '$schema' || WARDEN_KEYS.has(key)) continue;
    if (key === 'mcpServers' || key === 'servers') continue;
    const known = CLIENT_TOP_KEYS[key];
    if (known !== undefined || clientFile) {
      warn([key], `"${key}" is left out: ${known ?? 'not a warden setting'}`);
      continue;
    }
    out[key] = v;
  }
  for (const [key, v] of Object.entries(raw)) {
    if (key === '$schema' || WARDEN_KEYS.has(key)) out[key] = v;
  }
  const servers = raw[serversKey];
  const names = new Map<string, string>();
  if (isObject(servers)) {
    const ids = assignServerIds(Object.keys(servers));
    const entries: Record<string, unknown> = {};
    for (const [name, entry] of Object.entries(servers)) {
      const id = ids.get(name)!;
      names.set(id, name);
      if (id !== name) {
        renamed.set(name, id);
        warn(
          [serversKey, name],
          `server "${name}" is not a valid id; it is served as "${id}"`,
          `use "${id}" in URLs (/mcp/${id}), policies and --server`,
        );
      }
      if (!isObject(entry)) {
        entries[id] = entry;
        continue;
      }
      const kept: Record<string, unknown> = {};
      for (const [k, value] of Object.entries(entry)) {
        const known = CLIENT_SERVER_KEYS[k];
        if (SERVER_KEYS.has(k) && known === undefined) kept[k] = value;
        else if (known !== undefined || clientFile)
          warn([serversKey, name, k], `"${k}" is left out: ${known ?? 'not a warden setting'}`);
        else kept[k] = value;
      }
      entries[id] = kept;
    }
    out.mcpServers = entries;
  } else if (servers !== undefined) out.mcpServers = servers;
  const sourcePath = (path: readonly PropertyKey[]): PropertyKey[] => {
    if (path[0] !== 'mcpServers') return [...path];
    const name = typeof path[1] === 'string' ? (names.get(path[1]) ?? path[1]) : path[1];
    return path.length < 2 ? [serversKey] : [serversKey, name as PropertyKey, ...path.slice(2)];
  };
  return { value: out, warnings, problems, renamed, sourcePath };
}
