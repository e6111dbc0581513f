// Matches a URI against an RFC 6570 URI template (the forms MCP servers use), to route resource reads.

const cache = new Map<string, RegExp>();

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export function templatePattern(template: string): RegExp {
  let re = cache.get(template);
  if (re) return re;
  let out = '^';
  let last = 0;
  for (const m of template.matchAll(/\{([+#./;?&]?)([^}]*)\}/g)) {
    out += escapeRegex(template.slice(last, m.index));
    const op = m[1];
    if (op === '+') out += '(.*)';
    else if (op === '#') out += '(?:#.*)?';
    else if (op === '?' || op === '&') out += '(?:[?&].*)?';
    else if (op === '/') out += '(?:/[^?#]*)?';
    else if (op === '.') out += '(?:\\.[^/?#]*)?';
    else if (op === ';') out += '(?:;[^/?#]*)?';
    else out += '([^/?#]*)';
    last = m.index + m[0].length;
  }
  out += `${escapeRegex(template.slice(last))}$`;
  re = new RegExp(out);
  if (cache.size > 10_000) cache.clear();
  cache.set(template, re);
  return re;
}

export function matchesTemplate(template: string, uri: string): boolean {
  return templatePattern(template).test(uri);
}
