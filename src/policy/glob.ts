// Name globs: `*` is any run of characters, `?` one character; everything else is literal. Compiled once.

const cache = new Map<string, RegExp>();

export function isGlob(pattern: string): boolean {
  return pattern.includes('*') || pattern.includes('?');
}

export function globToRegExp(pattern: string): RegExp {
  let re = cache.get(pattern);
  if (re) return re;
  let out = '^';
  for (const ch of pattern) {
    if (ch === '*') out += '.*';
    else if (ch === '?') out += '.';
    else out += ch.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  re = new RegExp(`${out}$`, 's');
  cache.set(pattern, re);
  return re;
}

/** More literal characters = more specific; ties keep file order (sort is stable). */
export function specificity(pattern: string): number {
  let n = 0;
  for (const ch of pattern) if (ch !== '*' && ch !== '?') n++;
  return n;
}

/**
 * The form tool names are compared in: Unicode NFKC, so that a name spelled with compatibility characters
 * (fullwidth letters, ligatures) is the name a policy wrote. Case is kept: MCP names are case-sensitive.
 */
export function toolName(name: string): string {
  return name.normalize('NFKC');
}
