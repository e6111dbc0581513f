// Upstream credentials never reach agents (src/guards/credentials.ts): a stdio upstream that echoes the key of its
// env, and an HTTP upstream that echoes the Authorization header warden sends it, in a tool description, a result
// (text in several encodings, structured content) and a log message. No guard is configured: this holds by default.
// A value of the config whose name does not say secret is left alone.
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { LoggingMessageNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, describe, expect, it } from 'vitest';
import { connect, ROOT, type RunningGateway, spawnListening, startGateway } from '../helpers/gateway.js';

const LEAKY = join(ROOT, 'test/fixtures/leaky-server.ts');
const ENV_KEY = 'cred-env-key-Hq4Wm8Zt2Lp6';
const HEADER_KEY = 'cred-header-key-Rv3Nx7Kc1Bj5';
const DIR = '/srv/projects/not-a-secret-dir';
const b64 = (s: string) => Buffer.from(s).toString('base64');

const gateways: RunningGateway[] = [];
const children: ChildProcess[] = [];
afterAll(async () => {
  await Promise.all(gateways.map((g) => g.close()));
  for (const c of children) c.kill();
});

/** Every way the key could show in what the agent got: plain, JSON-escaped, URL-encoded, inside base64. */
function leaked(text: string, key: string): string[] {
  return [key, encodeURIComponent(key), b64(`ada:${key}`).slice(8, -4)].filter((f) => text.includes(f));
}

async function whoami(url: string, key: string): Promise<void> {
  const client = await connect(url);
  const logs: string[] = [];
  client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
    logs.push(JSON.stringify(n.params));
  });
  try {
    const listed = JSON.stringify((await client.listTools()).tools);
    expect(listed).toContain('Says who it is (signed in with [REDACTED])');
    expect(leaked(listed, key)).toEqual([]);
    const result = await client.callTool({ name: 'whoami', arguments: {} });
    const text = JSON.stringify(result);
    expect(leaked(text, key)).toEqual([]);
    expect(text).toContain('signed in with [REDACTED]');
    expect((result.structuredContent as Record<string, unknown>).key).toBe('[REDACTED]');
    // Not a secret by its name: the agent gets it as the upstream sent it.
    expect((result.structuredContent as Record<string, unknown>).dir).toBe(DIR);
    for (let i = 0; i < 50 && logs.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(logs.join('\n')).toContain('whoami asked; key [REDACTED]');
    expect(leaked(logs.join('\n'), key)).toEqual([]);
  } finally {
    await client.close();
  }
}

describe('upstream credentials never reach the agent', () => {
  it('#19.7.7 a stdio upstream echoing the key of its env: description, result and log message are masked', async () => {
    const gw = await startGateway(`mcpServers:
  leaky:
    command: node
    args: ["--import", "tsx", "${LEAKY}"]
    cwd: ${ROOT}
    env: { LEAKY_API_KEY: "${ENV_KEY}", LEAKY_KEY: "${ENV_KEY}", LEAKY_DIR: "${DIR}" }
`);
    gateways.push(gw);
    await whoami(`${gw.mcpUrl}/leaky`, ENV_KEY);
    // The aggregated endpoint too.
    const client = await connect(gw.mcpUrl);
    const text = JSON.stringify(await client.callTool({ name: 'leaky__whoami', arguments: {} }));
    expect(leaked(text, ENV_KEY)).toEqual([]);
    await client.close();
  }, 60_000);

  it('#19.7.8 an HTTP upstream echoing the Authorization header warden sends it: masked', async () => {
    const upstream = await spawnListening(LEAKY, ['--port', '0'], { LEAKY_DIR: DIR, LEAKY_KEY: HEADER_KEY });
    children.push(upstream.child);
    const gw = await startGateway(`mcpServers:
  remote:
    url: ${upstream.url}
    headers: { Authorization: "Bearer ${HEADER_KEY}" }
`);
    gateways.push(gw);
    await whoami(`${gw.mcpUrl}/remote`, HEADER_KEY);
  }, 60_000);
});
