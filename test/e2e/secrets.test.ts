// Named attack: secrets must not leak. Argument values that are secrets, the agent's bearer token, and the upstream
// credentials of the config (HTTP headers, stdio env) never reach the gateway's logs (at debug level), the audit log
// or its export, and the upstream credentials never reach the agent, not even in error messages.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type ServeProcess, serveCli, writeConfig } from '../helpers/cli.js';
import { connect, PROBE, ROOT, startHttpProbe, tempDir, textOf } from '../helpers/gateway.js';

const UPSTREAM_HEADER_SECRET = 'upstream-header-secret-5d1f0c';
const UPSTREAM_ENV_SECRET = 'upstream-env-secret-93be71';
const ARG_PASSWORD = 'hunter2-arg-password-4471';
const ARG_KEY = 'sk-live-arg-key-0f9e8d7c6b5a';

let gw: ServeProcess;
let config: string;
let token: string;
let probe: Awaited<ReturnType<typeof startHttpProbe>>;
const seenByAgent: string[] = [];

beforeAll(async () => {
  probe = await startHttpProbe();
  const db = join(tempDir('warden-secrets-'), 'warden.db');
  config = writeConfig(`
mcpServers:
  remote:
    url: ${probe.url}
    headers: { Authorization: "Bearer ${UPSTREAM_HEADER_SECRET}" }
  local:
    command: node
    args: ["--import", "tsx", "${PROBE}"]
    cwd: ${ROOT}
    env: { PROBE_SECRET: "${UPSTREAM_ENV_SECRET}" }
  gone:
    url: http://127.0.0.1:9/mcp
    headers: { Authorization: "Bearer ${UPSTREAM_HEADER_SECRET}" }
storage: sqlite:${db}
auth: { anonymous: false }
`);
  const created = runCli(['grants', 'create', 'leaky-agent', '--config', config, '--json']);
  expect(created.status, created.stderr).toBe(0);
  token = (JSON.parse(created.stdout) as { token: string }).token;
  gw = await serveCli(config, ['--log-level', 'debug']);
  const headers = { Authorization: `Bearer ${token}` };
  for (const server of ['remote', 'local']) {
    const client = await connect(`${gw.mcpUrl}/${server}`, {}, headers);
    seenByAgent.push(JSON.stringify(await client.listTools()));
    seenByAgent.push(
      JSON.stringify(
        await client.callTool({
          name: 'echo',
          arguments: { text: 'hi', password: ARG_PASSWORD, api_key: ARG_KEY, nested: { token: ARG_KEY } },
        }),
      ),
    );
    await client.close();
  }
  // An upstream that cannot be reached: whatever the agent is told must not carry its configured credentials.
  const all = await connect(gw.mcpUrl, {}, headers);
  seenByAgent.push(JSON.stringify(await all.listTools()));
  await all
    .callTool({ name: 'gone__anything', arguments: { password: ARG_PASSWORD } })
    .then((r) => seenByAgent.push(JSON.stringify(r)))
    .catch((err: Error) => seenByAgent.push(err.message));
  await all.close();
  // A failed log-in attempt with the secret as the token.
  const bad = await fetch(`${gw.mcpUrl}/remote`, {
    method: 'POST',
    headers: { authorization: `Bearer ${UPSTREAM_HEADER_SECRET}`, 'content-type': 'application/json' },
    body: '{}',
  });
  seenByAgent.push(await bad.text());
}, 60_000);

afterAll(async () => {
  await gw?.stop();
  probe?.child.kill();
});

describe('attack: leaking secrets', () => {
  it('the calls went through, so there was something to leak', () => {
    expect(seenByAgent.join('\n')).toContain('"text":"hi"');
    expect(textOf(JSON.parse(seenByAgent[1]!))).toBe('hi');
  });

  it('no secret reaches the gateway log, even at debug level', () => {
    const log = gw.stderr();
    // The log did record the unreachable upstream (the one with credentials in its headers).
    expect(log).toContain('"upstream":"gone"');
    for (const secret of [UPSTREAM_HEADER_SECRET, UPSTREAM_ENV_SECRET, ARG_PASSWORD, ARG_KEY, token]) {
      expect(log).not.toContain(secret);
    }
  });

  it('no secret reaches the audit log or its export, in the default mode', async () => {
    await new Promise((r) => setTimeout(r, 200));
    const exported = runCli(['audit', 'export', '--config', config, '--format', 'jsonl']);
    expect(exported.status, exported.stderr).toBe(0);
    expect(exported.stdout).toContain('"tool":"echo"');
    for (const secret of [UPSTREAM_HEADER_SECRET, UPSTREAM_ENV_SECRET, ARG_PASSWORD, ARG_KEY, token]) {
      expect(exported.stdout).not.toContain(secret);
    }
  });

  it('no upstream credential reaches the agent, in answers or errors', () => {
    const everything = seenByAgent.join('\n');
    expect(everything).not.toContain(UPSTREAM_HEADER_SECRET);
    expect(everything).not.toContain(UPSTREAM_ENV_SECRET);
  });
});
