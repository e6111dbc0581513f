// Reads a config file (YAML or JSON), interpolates ${ENV}, validates it, and reports every problem with path and line.
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, isAbsolute, resolve as resolvePath, sep } from 'node:path';
import { ConfigError, type Problem, WardenError } from '../errors.js';
import { normaliseClientConfig } from './client-config.js';
import { formatPath, interpolateConfig, parseConfigText, stripJsonComments, zodProblems } from './parse.js';
import { compilePolicyValue, type LoadedPolicy, loadPolicyFile } from './policy-file.js';
import { type ConfigFile, configSchema } from './schema.js';

export interface LoadedConfig {
  file: string;
  config: ConfigFile;
  /** Compiled policies: the global one and each server's own. */
  policies: { global: LoadedPolicy | undefined; servers: Map<string, LoadedPolicy> };
  /** What was read differently from how it is written (client keys left out, server names given an id). */
  warnings: Problem[];
  /** Values that `${ENV}` references in the file were replaced with (masked as secrets). */
  interpolated?: string[];
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
  const {
    value: raw,
    problems,
    lineOf: rawLineOf,
  } = parseConfigText(stripJsonComments(text, file), file, null);
  if (problems.length > 0) throw new ConfigError(problems);
  // A client's config (Claude Desktop, Cursor, VS Code, Windsurf) is read as it is: see client-config.ts.
  const client = normaliseClientConfig(raw, file, rawLineOf);
  const lineOf = (path: readonly PropertyKey[]) => rawLineOf(client.sourcePath(path));
  if (client.problems.length > 0) throw new ConfigError(client.problems);
  const interpolated = interpolateConfig(client.value, file, env, lineOf, predefinedVariables(file));
  if (interpolated.problems.length > 0) throw new ConfigError(interpolated.problems);
  const parsed = configSchema.safeParse(interpolated.value ?? {});
  if (!parsed.success) throw new ConfigError(zodProblems(parsed.error, file, lineOf));
  const config = parsed.data;
  const more = semanticProblems(config, file, lineOf);
  const policies = loadPolicies(config, file, lineOf, more);
  if (more.length > 0) throw new ConfigError(more);
  return { file, config, policies, warnings: client.warnings, interpolated: interpolated.interpolated };
}

/**
 * Predefined names: warden's `${configDir}` (the config file's folder), and those VS Code and Cursor fill in (the
 * workspace is the folder that holds `.vscode/` or `.cursor/`, else the config file's folder).
 */
function predefinedVariables(file: string): Record<string, string> {
  const dir = dirname(file);
  const workspace = ['.vscode', '.cursor'].includes(basename(dir)) ? dirname(dir) : dir;
  return {
    configDir: dir,
    workspaceFolder: workspace,
    workspaceFolderBasename: basename(workspace),
    userHome: homedir(),
    pathSeparator: sep,
    '/': sep,
  };
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
  }
  if (Object.values(config.mcpServers).every((s) => s.disabled)) {
    at(['mcpServers'], 'no enabled server', 'add at least one entry under mcpServers');
  }
  return problems;
}

/** Compiles the global and per-server policies (files relative to the config), adding their problems to `problems`. */
function loadPolicies(
  config: ConfigFile,
  file: string,
  lineOf: (path: readonly PropertyKey[]) => number | undefined,
  problems: Problem[],
): LoadedConfig['policies'] {
  const base = dirname(file);
  const one = (ref: string | Record<string, unknown> | undefined, at: string[]): LoadedPolicy | undefined => {
    if (ref === undefined) return undefined;
    if (typeof ref === 'string') {
      const path = isAbsolute(ref) ? ref : resolvePath(base, ref);
      try {
        return loadPolicyFile(path);
      } catch (err) {
        if (err instanceof ConfigError) problems.push(...err.problems);
        else problems.push({ file, path: formatPath(at), line: lineOf(at), message: (err as Error).message });
        return undefined;
      }
    }
    const source = `${file}#${formatPath(at)}`;
    const compiled = compilePolicyValue(ref, file, source, lineOf, at);
    problems.push(...compiled.problems);
    return (
      compiled.policy && {
        source,
        file: undefined,
        policy: compiled.policy,
        text: JSON.stringify(ref, null, 2),
      }
    );
  };
  const servers = new Map<string, LoadedPolicy>();
  for (const [id, s] of Object.entries(config.mcpServers)) {
    if (s.disabled) continue;
    const loaded = one(s.policy, ['mcpServers', id, 'policy']);
    if (loaded) servers.set(id, loaded);
  }
  return { global: one(config.policy, ['policy']), servers };
}
