// Names on the aggregated endpoint: `<prefix><sep><name>`, valid per the MCP spec, unambiguous by construction.
import { createHash } from 'node:crypto';

/** MCP tool names: 1 to 128 characters of A-Z a-z 0-9 _ - . */
export const MAX_NAME_LENGTH = 128;
const VALID_NAME = /^[A-Za-z0-9_.-]+$/;
const INVALID_CHARS = /[^A-Za-z0-9_.-]/g;

/**
 * The exposed name of an upstream's tool or prompt. Prefixes never contain the separator, so splitting at the first
 * separator gives the prefix back. A name that would be invalid or too long is cleaned and given a short hash, and is
 * then found again only through the session's name table (see NameTable).
 */
export function exposedName(prefix: string, separator: string, name: string): string {
  const plain = `${prefix}${separator}${name}`;
  if (plain.length <= MAX_NAME_LENGTH && VALID_NAME.test(name)) return plain;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 8);
  const head = `${prefix}${separator}`;
  const room = MAX_NAME_LENGTH - head.length - hash.length - 1;
  return `${head}${name.replace(INVALID_CHARS, '_').slice(0, Math.max(room, 0))}_${hash}`;
}

export interface NameTarget {
  server: string;
  name: string;
}

/** Maps exposed names back to (server, upstream name). Filled from lists; falls back to splitting the prefix. */
export class NameTable {
  /** Only names that had to be cleaned are here (rare): made on the first. */
  private byExposed: Map<string, NameTarget> | undefined;

  constructor(
    private readonly separator: string,
    private readonly serverByPrefix: ReadonlyMap<string, string>,
  ) {}

  expose(server: string, prefix: string, name: string): string {
    const exposed = exposedName(prefix, this.separator, name);
    if (exposed !== `${prefix}${this.separator}${name}`) {
      this.byExposed ??= new Map();
      this.byExposed.set(exposed, { server, name });
    }
    return exposed;
  }

  resolve(exposed: string): NameTarget | undefined {
    const known = this.byExposed?.get(exposed);
    if (known) return known;
    const at = exposed.indexOf(this.separator);
    if (at <= 0) return undefined;
    const server = this.serverByPrefix.get(exposed.slice(0, at));
    if (server === undefined) return undefined;
    const name = exposed.slice(at + this.separator.length);
    return name === '' ? undefined : { server, name };
  }
}
