// Fault injection: the network to PostgreSQL drops packets (nothing passes, nothing is reset) under a running
// `warden serve` whose grants live there. A request must fail closed within seconds, not hang until TCP gives up, and
// the gateway must serve again once the network does. The shared server is never touched: a TCP proxy holds the bytes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type ServeProcess, serveCli, writeConfig } from '../helpers/cli.js';
import { connect, PROBE, ROOT, textOf } from '../helpers/gateway.js';
import { shouldRunPg } from '../helpers/services.js';
import { pgDatabaseUrl, pgSql, proxyToPg, type TcpProxy } from './helpers.js';

const run = await shouldRunPg('PostgreSQL that drops packets (fault injection)');
const database = `warden_blackhole_${process.pid}`;

const urlVia = (port: number | undefined) => pgDatabaseUrl(database, port);

describe.runIf(run)('PostgreSQL that drops packets', () => {
  let proxy: TcpProxy;
  let gw: ServeProcess;
  let token: string;

  beforeAll(async () => {
    await pgSql(`CREATE DATABASE ${database}`);
    proxy = await proxyToPg();
    const servers = `mcpServers:\n  probe:\n    command: node\n    args: ["--import", "tsx", "${PROBE}"]\n    cwd: ${ROOT}\n`;
    const config = writeConfig(`${servers}storage: ${urlVia(proxy.port)}\nauth: { anonymous: false }\n`);
    // The grant is made straight against PostgreSQL: runCli blocks this process, and with it the proxy.
    const direct = writeConfig(`${servers}storage: ${urlVia(undefined)}\nauth: { anonymous: false }\n`);
    const created = runCli(['grants', 'create', 'agent', '--config', direct, '--json']);
    expect(created.status, created.stderr).toBe(0);
    token = (JSON.parse(created.stdout) as { token: string }).token;
    gw = await serveCli(config);
  }, 60_000);

  afterAll(async () => {
    await gw?.stop();
    await proxy?.close();
    if (run) await pgSql(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  });

  it('refuses a request within seconds while nothing gets through, and serves again afterwards', async () => {
    const headers = { Authorization: `Bearer ${token}` };
    const before = await connect(`${gw.mcpUrl}/probe`, {}, headers);
    expect(textOf(await before.callTool({ name: 'echo', arguments: { text: 'up' } }))).toBe('up');
    await before.close();

    proxy.blackhole();
    const started = Date.now();
    // A new session needs the grant from PostgreSQL: it must be refused, not held.
    const res = await fetch(`${gw.mcpUrl}/probe`, {
      method: 'POST',
      headers: {
        ...headers,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } },
      }),
    });
    const waited = Date.now() - started;
    expect(res.status).toBeGreaterThanOrEqual(500);
    expect(res.status).toBeLessThan(600);
    // The grant query times out after 10 s (query_timeout); a new connection would after 10 s too.
    expect(waited).toBeLessThan(25_000);
    // The gateway itself never stopped answering.
    expect((await fetch(`${gw.adminUrl}/healthz`)).status).toBe(200);

    await proxy.restore();
    const after = await connect(`${gw.mcpUrl}/probe`, {}, headers);
    expect(textOf(await after.callTool({ name: 'echo', arguments: { text: 'back' } }))).toBe('back');
    await after.close();
  }, 90_000);
});
