// The dashboard's built files (index.html, app.js, app.css), served from a fixed list: no path from a URL ever
// reaches the file system, so there is nothing to traverse.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Asset {
  body: Buffer;
  type: string;
}

const FILES: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/assets/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/assets/app.css': { file: 'app.css', type: 'text/css; charset=utf-8' },
};

/**
 * Content-Security-Policy of every dashboard answer: scripts, styles and connections from this origin only; no
 * inline script or style, no frames, no plugins, no form posts elsewhere.
 */
export const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "font-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

export const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': CSP,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

/** Where `npm run build` puts the UI: next to this file in dist/, or dist/dashboard/ui when running from src/. */
function uiDirectory(): string | undefined {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const dir of [join(here, 'ui'), join(here, '../../dist/dashboard/ui')]) {
    if (existsSync(join(dir, 'app.js'))) return dir;
  }
  return undefined;
}

/** The dashboard's files, read once; undefined when the UI was not built. */
export function loadAssets(dir = uiDirectory()): Map<string, Asset> | undefined {
  if (dir === undefined) return undefined;
  const assets = new Map<string, Asset>();
  for (const [path, { file, type }] of Object.entries(FILES)) {
    assets.set(path, { body: readFileSync(join(dir, file)), type });
  }
  return assets;
}
