// Parsing shared by config and policy files: YAML/JSON with line numbers, ${ENV} interpolation, zod problems.
import { isNode, LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import type { Problem } from '../errors.js';

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

/**
 * `${VAR}`, `${VAR:-default}`, and the forms clients write: `${env:VAR}` (VS Code, Cursor, Windsurf), `${input:id}`
 * (VS Code prompts; warden reads WARDEN_INPUT_<ID>), and predefined names such as `${configDir}` and
 * `${workspaceFolder}`. A default may itself name one variable: `${DATA:-${configDir}/data}`.
 */
const ENV_REF =
  /\$\{(?:(env|input):([^}:]+)|([A-Za-z_][A-Za-z0-9_]*|\/))(?::-((?:[^}$]|\$\{[A-Za-z_][A-Za-z0-9_]*\}|\$(?!\{))*))?\}/g;

/** The environment variable a VS Code `${input:<id>}` is read from. */
export function inputVariable(id: string): string {
  return `WARDEN_INPUT_${id.toUpperCase().replace(/[^A-Z0-9]+/g, '_')}`;
}

/** What went unresolved: an environment variable, or the variable a `${input:...}` is read from. */
export interface MissingRef {
  name: string;
  input?: string;
}

/**
 * Replaces the references in every string; unset variables without a default are problems. `vars` are predefined
 * names (`${workspaceFolder}`), consulted when the environment has no variable of that name.
 */
export function interpolateEnv(
  value: unknown,
  env: NodeJS.ProcessEnv,
  onMissing: (path: Path, name: string, ref: MissingRef) => void,
  path: Path = [],
  vars: Readonly<Record<string, string>> = {},
  onValue?: (value: string) => void,
): unknown {
  if (typeof value === 'string') {
    if (!value.includes('${')) return value;
    return value.replace(
      ENV_REF,
      (
        _m,
        kind: string | undefined,
        ref: string | undefined,
        plain: string | undefined,
        fallback?: string,
      ) => {
        if (kind === 'input') {
          const name = inputVariable(ref!);
          const v = env[name];
          if (v !== undefined && v !== '') {
            onValue?.(v);
            return v;
          }
          if (fallback !== undefined)
            return interpolateEnv(fallback, env, onMissing, path, vars, onValue) as string;
          onMissing(path, name, { name, input: ref! });
          return '';
        }
        const name = kind === 'env' ? ref!.trim() : plain!;
        const v = env[name];
        if (v !== undefined && v !== '') {
          onValue?.(v);
          return v;
        }
        if (kind === undefined && vars[name] !== undefined) return vars[name];
        if (fallback !== undefined)
          return interpolateEnv(fallback, env, onMissing, path, vars, onValue) as string;
        onMissing(path, name, { name });
        return '';
      },
    );
  }
  if (Array.isArray(value))
    return value.map((v, i) => interpolateEnv(v, env, onMissing, [...path, i], vars, onValue));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value))
      out[k] = interpolateEnv(v, env, onMissing, [...path, k], vars, onValue);
    return out;
  }
  return value;
}

/**
 * VS Code's mcp.json is JSON with comments: in a `.json` config, `//` and `/* *\/` comments outside strings become
 * spaces (lines and columns stay where they were) before the parser reads it.
 */
export function stripJsonComments(text: string, file: string): string {
  if (!/\.json$/i.test(file) || !text.includes('/')) return text;
  let out = '';
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (ch === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"' && text[j] !== '\n') j += text[j] === '\\' ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
    } else if (ch === '/' && text[i + 1] === '/') {
      let j = i;
      while (j < text.length && text[j] !== '\n') j++;
      out += ' '.repeat(j - i);
      i = j;
    } else if (ch === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      const j = end === -1 ? text.length : end + 2;
      out += text.slice(i, j).replace(/[^\n]/g, ' ');
      i = j;
    } else {
      out += ch;
      i++;
    }
  }
  return out;
}

/** Parses YAML or JSON text (JSON is read by the YAML parser too, so both get line numbers). */
export function parseConfigText(
  text: string,
  file: string,
  env: NodeJS.ProcessEnv | null = process.env,
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
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 100 }) as unknown;
  } catch (err) {
    // The yaml library refuses alias bombs (aliases that expand too far) by throwing: a problem of the file.
    problems.push({ file, path: '', line: lineOf([]), message: (err as Error).message });
    return { value: undefined, problems, lineOf };
  }
  // Policies are not interpolated (env null): a `${` in a regex means what it says.
  if (env === null) return { value: raw, problems, lineOf };
  const interpolated = interpolateConfig(raw, file, env, lineOf);
  return { value: interpolated.value, problems: interpolated.problems, lineOf };
}

/** Interpolates a parsed config; every reference that cannot be resolved is a problem naming where it is used. */
export function interpolateConfig(
  raw: unknown,
  file: string,
  env: NodeJS.ProcessEnv,
  lineOf: (path: readonly PropertyKey[]) => number | undefined,
  vars: Readonly<Record<string, string>> = {},
): {
  value: unknown;
  problems: Problem[];
  /** The values environment references were replaced with: secrets, as far as warden knows (they are masked). */
  interpolated: string[];
} {
  const problems: Problem[] = [];
  const interpolated: string[] = [];
  const value = interpolateEnv(
    raw,
    env,
    (path, name, ref) =>
      problems.push({
        file,
        path: formatPath(path),
        line: lineOf(path),
        message:
          ref.input === undefined
            ? `environment variable ${name} is not set`
            : `input "${ref.input}" has no value: environment variable ${name} is not set`,
        hint:
          ref.input === undefined
            ? `export ${name}=... or write \${${name}:-default}`
            : `export ${name}=... (a client would ask for it; warden reads it from the environment)`,
      }),
    [],
    vars,
    (v) => interpolated.push(v),
  );
  return { value, problems, interpolated };
}

export function zodProblems(
  error: z.ZodError,
  file: string,
  lineOf: (path: readonly PropertyKey[]) => number | undefined,
  prefix: readonly PropertyKey[] = [],
): Problem[] {
  return flatten(error.issues, prefix).map(({ issue, path: at }) => {
    let path: PropertyKey[] = at;
    let message = issue.message;
    if (issue.code === 'unrecognized_keys') {
      // Point at the first unknown key itself, and name them all.
      path = [...path, issue.keys[0] ?? ''];
      message = `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
    } else if (issue.code === 'invalid_key') {
      message = `invalid key: ${issue.issues.map((i) => i.message).join('; ')}`;
    }
    return { file, path: formatPath(path), line: lineOf(path), message };
  });
}

type Issue = z.core.$ZodIssue;

/**
 * "Invalid input" says nothing: for a value that matches no branch of a union, report the problems of the branch it
 * came closest to.
 */
function flatten(
  issues: readonly Issue[],
  prefix: readonly PropertyKey[],
): Array<{ issue: Issue; path: PropertyKey[] }> {
  const out: Array<{ issue: Issue; path: PropertyKey[] }> = [];
  for (const issue of issues) {
    const path = [...prefix, ...issue.path];
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      // The branch whose keys the value uses (no unknown keys), then the deepest problems, then the fewest.
      const unknown = (branch: readonly Issue[]) =>
        branch.filter((i) => i.code === 'unrecognized_keys').length;
      const depth = (branch: readonly Issue[]) => Math.max(...branch.map((i) => i.path.length));
      const best = [...issue.errors].sort(
        (a, b) => unknown(a) - unknown(b) || depth(b) - depth(a) || a.length - b.length,
      )[0]!;
      out.push(...flatten(best, path));
    } else out.push({ issue, path });
  }
  return out;
}
