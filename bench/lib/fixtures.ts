// Bundles a bench fixture (bench/fixtures/<name>.ts) into one plain .mjs, so measured processes pay no TS loader.
import { join } from 'node:path';
import { build } from 'esbuild';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures');

export async function bundleFixture(name: string, dir: string): Promise<string> {
  const outfile = join(dir, `${name}.mjs`);
  await build({
    entryPoints: [join(FIXTURES, `${name}.ts`)],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'silent',
    // Bundled CommonJS dependencies (ajv) call require(); give the ESM bundle a real one.
    banner: {
      js: "import { createRequire as __benchCreateRequire } from 'node:module';\nconst require = __benchCreateRequire(import.meta.url);",
    },
  });
  return outfile;
}
