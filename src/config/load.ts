// Reads a config file (YAML or JSON), interpolates ${ENV}, validates it, and reports every problem with path and line.
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve as resolvePath } from 'node:path';
import { isNode, LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { ConfigError, type Problem, WardenError } from '../errors.js';
import { type ConfigFile, configSchema } from './schema.js';

export interface LoadedConfig {
  file: string;
  config: ConfigFile;
}

type Path = (string | number)[];

/** `mcpServers.fs.args[0]` */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? String(seg) : `.${String(seg)}`;
  }
  return out;
}

const ENV_REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/** Replaces ${VAR} and ${VAR:-default} in every string; unset variables without a default are problems. */
export function interpolateEnv(
  value: unknown,
  env: NodeJS.ProcessEnv,
  onMissing: (path: Path, name: string) => void,
  path: Path = [],
): unknown {
  if (typeof value === 'string') {
    if (!value.includes('${')) return value;
    return value.replace(ENV_REF, (_m, name: string, fallback: string | undefined) => {
      const v = env[name];
      if (v !== undefined && v !== '') return v;
      if (fallback !== undefined) return fallback;
      onMissing(path, name);
      return '';
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolateEnv(v, env, onMissing, [...path, i]));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = interpolateEnv(v, env, onMissing, [...path, k]);
    return out;
  }
  return value;
}

/** Parses YAML or JSON text (JSON is read by the YAML parser too, so both get line numbers). */
export function parseConfigText(
  text: string,
  file: string,
  env: NodeJS.ProcessEnv = process.env,
): { value: unknown; problems: Problem[]; lineOf: (path: readonly PropertyKey[]) => number | undefined } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const problems: Problem[] = [];
  for (const err of doc.errors) {
    const line = lineCounter.linePos(err.pos[0]).line;
    problems.push({ file, path: '', line, message: err.message.split('\n')[0] ?? err.message });
  }
  const lineOf = (path: readonly PropertyKey[]): number | undefined => {
    // Walk up until a node exists: a missing key is reported on its parent's line.
    for (let n = path.length; n >= 0; n--) {
      const node = doc.getIn(path.slice(0, n) as unknown[], true);
      if (isNode(node) && node.range) return lineCounter.linePos(node.range[0]).line;
      if (n === 0) {
        const r = doc.contents?.range;
        return r ? lineCounter.linePos(r[0]).line : undefined;
      }
    }
    return undefined;
  };
  if (problems.length > 0) return { value: undefined, problems, lineOf };
  const raw = doc.toJS({ maxAliasCount: 100 }) as unknown;
  const value = interpolateEnv(raw, env, (path, name) =>
    problems.push({
      file,
      path: formatPath(path),
      line: lineOf(path),
      message: `environment variable ${name} is not set`,
      hint: `export ${name}=... or write \${${name}:-default}`,
    }),
  );
  return { value, problems, lineOf };
}

export function zodProblems(
  error: z.ZodError,
  file: string,
  lineOf: (path: readonly PropertyKey[]) => number | undefined,
): Problem[] {
  return error.issues.map((issue) => {
    let path: PropertyKey[] = issue.path;
    let message = issue.message;
    if (issue.code === 'unrecognized_keys') {
      // Point at the first unknown key itself, and name them all.
      path = [...issue.path, issue.keys[0] ?? ''];
      message = `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
    } else if (issue.code === 'invalid_key') {
      message = `invalid key: ${issue.issues.map((i) => i.message).join('; ')}`;
    }
    return { file, path: formatPath(path), line: lineOf(path), message };
  });
}

/** Loads and validates a config file. Throws ConfigError listing every problem. */
export function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const abs = isAbsolute(file) ? file : resolvePath(file);
  let text: string;
  try {
    text = readFileSync(abs, 'utf8');
  } catch (cause) {
    throw new WardenError(
      'CONFIG_NOT_FOUND',
      `cannot read config file ${file}: ${(cause as Error).message}`,
      {
        hint: 'pass --config <file>, or run `warden init` to write one',
        cause,
      },
    );
  }
  return parseConfig(text, abs, env);
}

export function parseConfig(text: string, file: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const { value, problems, lineOf } = parseConfigText(text, file, env);
  if (problems.length > 0) throw new ConfigError(problems);
  const parsed = configSchema.safeParse(value ?? {});
  if (!parsed.success) throw new ConfigError(zodProblems(parsed.error, file, lineOf));
  const config = parsed.data;
  const more = semanticProblems(config, file, lineOf);
  if (more.length > 0) throw new ConfigError(more);
  return { file, config };
}

/** Checks that span several keys and so do not fit the schema. */
function semanticProblems(
  config: ConfigFile,
  file: string,
  lineOf: (path: readonly PropertyKey[]) => number | undefined,
): Problem[] {
  const problems: Problem[] = [];
  const at = (path: PropertyKey[], message: string, hint?: string) =>
    problems.push({ file, path: formatPath(path), line: lineOf(path), message, ...(hint ? { hint } : {}) });
  const prefixes = new Map<string, string>();
  const sep = config.aggregate.separator;
  for (const [id, s] of Object.entries(config.mcpServers)) {
    if (s.disabled) continue;
    const prefix = s.prefix ?? id;
    if (prefix.includes(sep)) {
      at(['mcpServers', id], `prefix "${prefix}" contains the separator "${sep}"`, 'choose another prefix');
    }
    const other = prefixes.get(prefix.toLowerCase());
    if (other !== undefined) {
      at(
        ['mcpServers', id],
        `prefix "${prefix}" is already used by server "${other}"`,
        'set "prefix" on one',
      );
    }
    prefixes.set(prefix.toLowerCase(), id);
    // Fail closed: a policy that is configured but not enforced would be worse than refusing to start.
    if (s.policy !== undefined) {
      at(
        ['mcpServers', id, 'policy'],
        'policies are not enforced by this version of warden yet',
        'remove "policy" or use a version with the policy engine',
      );
    }
  }
  if (config.policy !== undefined) {
    at(
      ['policy'],
      'policies are not enforced by this version of warden yet',
      'remove "policy" or use a version with the policy engine',
    );
  }
  if (Object.values(config.mcpServers).every((s) => s.disabled)) {
    at(['mcpServers'], 'no enabled server', 'add at least one entry under mcpServers');
  }
  return problems;
}
