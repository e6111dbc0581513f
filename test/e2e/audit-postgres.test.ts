// The gateway with `storage: postgres://...`: records reach PostgreSQL and verify, from the built CLI.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type ServeProcess, serveCli, writeConfig } from '../helpers/cli.js';
import { connect, PROBE, ROOT, textOf } from '../helpers/gateway.js';
import { pgUrl, shouldRunPg } from '../helpers/services.js';

const run = await shouldRunPg('audit on PostgreSQL through the gateway');
const database = `warden_e2e_${process.pid}`;
const admin = pgUrl();
const url = admin.replace(/\/[^/]*$/, `/${database}`);

async function sql(text: string): Promise<void> {
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

describe.runIf(run)('audit on PostgreSQL', () => {
  let gw: ServeProcess;
  let configFile: string;

  beforeAll(async () => {
    await sql(`CREATE DATABASE ${database}`);
    configFile = writeConfig(
      `mcpServers:\n  probe:\n    command: node\n    args: ["--import", "tsx", "${PROBE}"]\n    cwd: ${ROOT}\nstorage: ${url}\n`,
    );
    gw = await serveCli(configFile);
  });

  afterAll(async () => {
    await gw?.stop();
    await sql(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  });

  it('records each call and verifies the chain', async () => {
    const client = await connect(`${gw.mcpUrl}/probe`);
    for (let i = 0; i < 5; i++) {
      expect(textOf(await client.callTool({ name: 'echo', arguments: { text: `pg-${i}` } }))).toBe(`pg-${i}`);
    }
    await client.close();
    await new Promise((r) => setTimeout(r, 200));
    const q = runCli(['audit', 'query', '--config', configFile, '--json']);
    const calls = q.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { method: string; decision: string; outcome: string })
      .filter((r) => r.method === 'tools/call');
    expect(calls.map((c) => `${c.decision} ${c.outcome}`)).toEqual(Array(5).fill('allowed ok'));
    const verify = runCli(['audit', 'verify', '--config', configFile]);
    expect(verify.status).toBe(0);
    expect(verify.stdout).toMatch(/^ok \d+ records/);
  });
});
