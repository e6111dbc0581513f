// Node 20 preload (`node --import`) that lets @modelcontextprotocol/conformance load: it imports `globSync` from 'fs' (Node 22+).
//
// A named ESM import from a builtin is bound when the importing module is linked, so
// assigning `fs.globSync` at runtime is not enough (the ESM facade of `fs` keeps its
// original export list). Instead this file registers a module resolve hook that, for
// imports of 'fs' / 'node:fs' made from inside the conformance package only, substitutes
// a tiny module re-exporting all of node:fs plus the `globSync` below. On Node >= 22
// (where fs.globSync exists) nothing is registered.
//
// The suite only uses globSync in its `tier-check` command (to find `**/checks.json`
// files); the implementation is a minimal glob (`**`, `*`, `?`) good enough for that.
import fs from 'node:fs';
import { register } from 'node:module';
import path from 'node:path';
import { isMainThread } from 'node:worker_threads';

// The pinned suite, and the newer one installed beside it under an alias (`conformance-next`, 2026-07-28 scenarios).
const CONFORMANCE_DIRS = ['/@modelcontextprotocol/conformance/', '/@modelcontextprotocol/conformance-next/'];

function globToRegExp(pattern) {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === '*') {
      if (pattern[i + 1] === '*') {
        // `**/` matches zero or more directories; a trailing `**` matches anything.
        if (pattern[i + 2] === '/') {
          re += '(?:.*/)?';
          i += 2;
        } else {
          re += '.*';
          i += 1;
        }
      } else {
        re += '[^/]*';
      }
    } else if (ch === '?') {
      re += '[^/]';
    } else {
      re += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }
  }
  return new RegExp(`^${re}$`);
}

/** Minimal stand-in for Node 22's fs.globSync(pattern, { cwd }). Returns paths relative to cwd. */
export function globSync(pattern, options = {}) {
  const cwd = options.cwd ? String(options.cwd) : process.cwd();
  const patterns = Array.isArray(pattern) ? pattern : [pattern];
  const matchers = patterns.map((p) => globToRegExp(String(p).split(path.sep).join('/')));
  let entries;
  try {
    entries = fs.readdirSync(cwd, { recursive: true });
  } catch {
    return [];
  }
  return entries
    .map((entry) => String(entry))
    .filter((rel) => matchers.some((m) => m.test(rel.split(path.sep).join('/'))));
}

const fsShimSource = [
  "import fs from 'node:fs';",
  "export * from 'node:fs';",
  'export default fs;',
  `export { globSync } from ${JSON.stringify(import.meta.url)};`,
].join('\n');
const fsShimUrl = `data:text/javascript,${encodeURIComponent(fsShimSource)}`;

/** Module resolve hook (runs in the loader thread). */
export async function resolve(specifier, context, nextResolve) {
  if (
    (specifier === 'fs' || specifier === 'node:fs') &&
    typeof context.parentURL === 'string' &&
    CONFORMANCE_DIRS.some((dir) => context.parentURL.includes(dir))
  ) {
    return { url: fsShimUrl, shortCircuit: true };
  }
  return nextResolve(specifier, context);
}

if (isMainThread && typeof fs.globSync !== 'function') {
  register(import.meta.url);
}
