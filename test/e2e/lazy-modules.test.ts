// A gateway on the embedded default (SQLite, counters in memory, no tracing) never loads the drivers and SDK parts of
// what it does not use: pg, ioredis, the OpenTelemetry SDK and the SDK's clients cost a process ~27 MB of RSS
// (bench/README.md). A module resolve hook in the gateway's process records every module it loads.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveCli, writeConfig } from '../helpers/cli.js';
import { connect, PROBE, ROOT, startHttpProbe, tempDir, textOf } from '../helpers/gateway.js';

const HOOKS = `
import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  appendFileSync(process.env.WARDEN_TEST_MODULE_LOG, resolved.url + '\\n');
  return resolved;
}
`;

describe('modules a default gateway loads', () => {
  const dir = tempDir('warden-modules-');
  const log = join(dir, 'modules.log');
  let probe: Awaited<ReturnType<typeof startHttpProbe>>;

  beforeAll(async () => {
    probe = await startHttpProbe();
  });
  afterAll(() => {
    probe?.child.kill();
  });

  it('has none of PostgreSQL, Redis, OpenTelemetry or the SDK client after serving stdio and HTTP upstreams', async () => {
    const register = join(dir, 'register.mjs');
    writeFileSync(
      register,
      `import { register } from 'node:module';\nregister(${JSON.stringify(`data:text/javascript,${encodeURIComponent(HOOKS)}`)});\n`,
    );
    writeFileSync(log, '');
    const config = writeConfig(`
storage: sqlite:${join(dir, 'audit.db')}
mcpServers:
  local:
    command: node
    args: ["--import", "tsx", "${PROBE}"]
    cwd: ${ROOT}
  remote:
    url: ${probe.url}
`);
    const gw = await serveCli(config, [], {
      args: ['--import', register],
      env: { WARDEN_TEST_MODULE_LOG: log },
    });
    try {
      for (const server of ['local', 'remote']) {
        const client = await connect(`${gw.mcpUrl}/${server}`);
        expect(textOf(await client.callTool({ name: 'echo', arguments: { text: server } }))).toBe(server);
        await client.close();
      }
    } finally {
      await gw.stop();
    }
    const loaded = readFileSync(log, 'utf8').split('\n');
    // The hook saw the gateway's own modules and the drivers it does use.
    expect(loaded.some((u) => u.endsWith('/dist/gateway.js'))).toBe(true);
    expect(loaded.some((u) => u.includes('/node_modules/better-sqlite3/'))).toBe(true);
    const unwanted = loaded.filter((u) =>
      /\/node_modules\/(pg|ioredis|@opentelemetry\/(sdk-trace-base|exporter-trace-otlp-http|resources))\/|\/sdk\/dist\/esm\/client\/|\/dist\/store\/(postgres|\w+-postgres)\.js$|\/dist\/state\/(redis|sessions|approval-bus)\.js$/.test(
        u,
      ),
    );
    expect(unwanted).toEqual([]);
  });
});
