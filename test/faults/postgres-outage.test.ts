// Fault injection: the audit database (PostgreSQL) goes away and comes back under a running `warden serve`. The shared
// server is never stopped: a TCP proxy between the gateway and it is cut and restored. Calls are served meanwhile
// (records wait in the audit spool); afterwards every acknowledged call has its record and `warden audit verify` passes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/audit/chain.js';
import { argsMac, auditKey } from '../../src/audit/keys.js';
import { runCli, type ServeProcess, serveCli, writeConfig } from '../helpers/cli.js';
import { connect, PROBE, ROOT, textOf } from '../helpers/gateway.js';
import { shouldRunPg } from '../helpers/services.js';
import { metric, pgDatabaseUrl, pgSql, proxyToPg, type TcpProxy, until } from './helpers.js';

/** Keys the arguments' hash, by which records are matched to calls (#17.13: unkeyed, there is none). */
const AUDIT_KEY = 'test-audit-key-0123456789abcdefghijklmnop';

const run = await shouldRunPg('PostgreSQL down and back (fault injection)');
const database = `warden_faults_${process.pid}`;

const urlVia = (port: number | undefined) => pgDatabaseUrl(database, port);

// Keyed: records are told apart by their arguments' keyed hash (#17.13: without a key there is none).
const server = `mcpServers:\n  probe:\n    command: node\n    args: ["--import", "tsx", "${PROBE}"]\n    cwd: ${ROOT}\naudit:\n  key: ${AUDIT_KEY}\n`;

describe.runIf(run)('PostgreSQL down and back', () => {
  let proxy: TcpProxy;
  let gw: ServeProcess;

  beforeAll(async () => {
    await pgSql(`CREATE DATABASE ${database}`);
    proxy = await proxyToPg();
    gw = await serveCli(writeConfig(`${server}storage: ${urlVia(proxy.port)}\n`));
  });

  afterAll(async () => {
    await gw?.stop();
    await proxy?.close();
    if (run) await pgSql(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  });

  // Finding (issue 11): a connection reset while a client was checked out of the pool was an unheard 'error' event
  // on the pg client, and the gateway exited (src/store/postgres.ts checkOut).
  it('serves calls during the outage from the spool and loses no acknowledged record', async () => {
    const client = await connect(`${gw.mcpUrl}/probe`);
    const acknowledged: string[] = [];
    const call = async (text: string) => {
      const args = { text };
      const result = await client.callTool({ name: 'echo', arguments: args });
      expect(textOf(result)).toBe(text);
      acknowledged.push(argsMac(auditKey(AUDIT_KEY), canonicalJson(args))!);
    };
    for (let i = 0; i < 20; i++) await call(`before-${i}`);

    // Cut while the spool is moving records (a connection reset under way once killed the gateway).
    await proxy.cut();
    for (let i = 0; i < 100; i++) await call(`during-${i}`);
    // The records are waiting in the spool, not in the database.
    expect(await metric(gw.adminUrl, 'warden_audit_spooled_records')).toBeGreaterThan(0);

    await proxy.restore();
    for (let i = 0; i < 20; i++) await call(`after-${i}`);
    expect(
      await until(async () => (await metric(gw.adminUrl, 'warden_audit_spooled_records')) === 0, 30_000),
    ).toBe(true);
    await client.close();
    expect(gw.stderr()).toMatch(/audit store unavailable: records stay in the spool/);
    expect(gw.stderr()).toMatch(/audit store is back; spooled records moved/);

    // Read straight from PostgreSQL (not through the proxy), by the CLI.
    const direct = writeConfig(`${server}storage: ${urlVia(undefined)}\n`);
    const verify = runCli(['audit', 'verify', '--config', direct]);
    expect(verify.status, verify.stdout + verify.stderr).toBe(0);
    expect(verify.stdout).toMatch(/^ok \d+ records/);
    const exported = runCli(['audit', 'export', '--config', direct]).stdout;
    const records = exported
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { method: string; args: { hash: string } | null; decision: string })
      .filter((r) => r.method === 'tools/call');
    const recorded = new Set(records.map((r) => r.args?.hash));
    expect(acknowledged).toHaveLength(140);
    expect(acknowledged.filter((h) => !recorded.has(h))).toEqual([]);
    // Exactly one record per call: the spool's retries added no duplicates.
    expect(records).toHaveLength(140);
  }, 90_000);
});
