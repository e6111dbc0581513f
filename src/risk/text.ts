// Reading a tool definition as words: names split into tokens, the lead sentence, the parameters of the input schema.
import type { ToolDefinition } from './types.js';

/** Splits `createPullRequest`, `create_pull_request`, `git-push`, `browser.navigate` into lower-case words. */
export function words(text: string): string[] {
  return (
    text
      // `Récupère`, `crée`: letters with accents are the same letters (French, Spanish, German descriptions).
      .normalize('NFD')
      .replace(/[\u0300-\u036f]/g, '')
      .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
      .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
      .toLowerCase()
      .split(/[^a-z0-9]+/)
      .filter((w) => w.length > 0)
  );
}

/**
 * The verb forms a description uses ("Creates", "deleting", "Retrieved") brought back to the table's base form.
 * Crude on purpose: the tables hold base forms, and a form that does not reduce is simply not found.
 */
export function baseForms(word: string): string[] {
  const out = [word];
  if (word.endsWith('ies')) out.push(`${word.slice(0, -3)}y`);
  if (word.endsWith('es')) out.push(word.slice(0, -2));
  if (word.endsWith('s') && !word.endsWith('ss')) out.push(word.slice(0, -1));
  if (word.endsWith('ing')) out.push(word.slice(0, -3), `${word.slice(0, -3)}e`);
  if (word.endsWith('ed')) out.push(word.slice(0, -2), word.slice(0, -1));
  return out;
}

/** The first sentence of a description: what the tool says it does, before usage notes that name other verbs. */
export function leadSentence(description: string): string {
  // Markup tags some servers wrap their text in (`<use_case>`) are not words of the lead.
  const text = description.replace(/<\/?[A-Za-z_][\w-]*>/g, ' ').trim();
  // Markdown headings and blank-line separated notes come after the lead.
  const firstBlock = text.split(/\n\s*\n/)[0] ?? '';
  const match = /^(.{8,}?[.!?])(\s|$)/s.exec(firstBlock);
  const lead = match?.[1] ?? firstBlock;
  return lead.slice(0, 300);
}

export interface Parameter {
  /** Dotted path inside the arguments. */
  path: string;
  /** The last segment of the path. */
  name: string;
  type: string | undefined;
  enumValues: string[];
  description: string;
  format: string | undefined;
  defaultValue: unknown;
}

/**
 * The parameters of the input schema, nested objects one level deep (enough for `options.mode`-style modes). The
 * alternatives of a union (`anyOf`, `oneOf`, `allOf`) are read as one object: a discriminated union of modes, one
 * object per mode with a constant `action`, yields one `action` parameter with every mode as a value, and the
 * parameters of each mode beside it.
 */
export function parameters(tool: ToolDefinition): Parameter[] {
  const out: Parameter[] = [];
  const byPath = new Map<string, Parameter>();
  const valuesOf = new Map<Parameter, Set<string>>();
  const addValues = (param: Parameter, values: string[]) => {
    const seen = valuesOf.get(param)!;
    for (const v of values) {
      if (seen.size >= MAX_VALUES) return;
      if (!seen.has(v)) {
        seen.add(v);
        param.enumValues.push(v);
      }
    }
  };
  // `unions`: how many more levels of nested unions to read from here. None inside the items of an array, whose
  // alternatives are kinds of element (a list of steps), not modes of the tool. The definition comes from an
  // untrusted server: nesting, alternatives and values are all bounded, so a crafted schema costs little.
  const visit = (schema: unknown, prefix: string, depth: number, unions = MAX_UNION_NESTING) => {
    if (typeof schema !== 'object' || schema === null) return;
    if (unions > 0)
      for (const alt of alternatives(schema as Record<string, unknown>))
        visit(alt, prefix, depth, unions - 1);
    const props = (schema as { properties?: unknown }).properties;
    if (typeof props !== 'object' || props === null) return;
    for (const [name, raw] of Object.entries(props as Record<string, unknown>)) {
      if (typeof raw !== 'object' || raw === null) continue;
      const p = raw as Record<string, unknown>;
      const path = prefix ? `${prefix}.${name}` : name;
      const enumValues = collectEnum(p);
      const seen = byPath.get(path);
      if (seen) {
        // The same parameter in another alternative: its values join the ones already read.
        addValues(seen, enumValues);
        if (!seen.description && typeof p.description === 'string') seen.description = p.description;
      } else {
        const param: Parameter = {
          path,
          name,
          type: typeof p.type === 'string' ? p.type : undefined,
          enumValues: [],
          description: typeof p.description === 'string' ? p.description : '',
          format: typeof p.format === 'string' ? p.format : undefined,
          defaultValue: p.default,
        };
        byPath.set(path, param);
        valuesOf.set(param, new Set());
        addValues(param, enumValues);
        out.push(param);
      }
      if (depth < 2) visit(p, path, depth + 1, unions);
      if (depth < 2 && typeof p.items === 'object') visit(p.items, `${path}[]`, depth + 1, 0);
    }
  };
  visit(tool.inputSchema, '', 0);
  // `action: {anyOf: [{properties: {action: {const: 'read'}, ...}}, ...]}`: the modes are the constants of the
  // parameter's own name inside its alternatives, which the visit above read as `action.action`.
  for (const p of out) {
    const inner = byPath.get(`${p.path}.${p.name}`);
    if (inner !== undefined) addValues(p, inner.enumValues);
  }
  return out;
}

/** How deep unions nest before the rest is left unread (a mode union inside a parameter inside a root union: 2). */
const MAX_UNION_NESTING = 3;
/** How many alternatives of one union are read. */
const MAX_ALTERNATIVES = 200;
/** How many distinct values one parameter keeps. */
const MAX_VALUES = 1000;

/** The object alternatives of a union schema, at most MAX_ALTERNATIVES of them. */
function alternatives(schema: Record<string, unknown>): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const key of ['anyOf', 'oneOf', 'allOf'] as const) {
    const alts = schema[key];
    if (!Array.isArray(alts)) continue;
    for (const alt of alts) {
      if (out.length >= MAX_ALTERNATIVES) return out;
      if (typeof alt === 'object' && alt !== null) out.push(alt as Record<string, unknown>);
    }
  }
  return out;
}

function collectEnum(p: Record<string, unknown>): string[] {
  const values: string[] = [];
  const add = (v: unknown) => {
    if (typeof v === 'string') values.push(v);
  };
  if (Array.isArray(p.enum)) p.enum.forEach(add);
  if (p.const !== undefined) add(p.const);
  for (const key of ['anyOf', 'oneOf'] as const) {
    const alts = p[key];
    if (!Array.isArray(alts)) continue;
    for (const alt of alts) {
      if (typeof alt !== 'object' || alt === null) continue;
      const a = alt as Record<string, unknown>;
      if (Array.isArray(a.enum)) a.enum.forEach(add);
      if (a.const !== undefined) add(a.const);
    }
  }
  const items = p.items as Record<string, unknown> | undefined;
  if (typeof items === 'object' && items !== null && Array.isArray(items.enum)) items.enum.forEach(add);
  return values;
}

/** Quotes a piece of the definition for evidence, short enough to read in a table. */
export function quote(text: string, max = 80): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `"${flat.slice(0, max - 1)}…"` : `"${flat}"`;
}
