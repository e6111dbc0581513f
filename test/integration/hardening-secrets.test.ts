// Issue #17, secrets that leak (12, 14, 15, 16), through a real gateway: upstream stderr and error bodies never reach
// the agent, configured secrets are masked in what the agent, the log, the audit log, the admin API, the webhook and
// the CLI show, warden's own tokens are masked, and approvers see hidden characters escaped and flagged.
import { writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { resolveConfig } from '../../src/config/resolve.js';
import { createGateway, type Gateway } from '../../src/gateway.js';
import { newGrantId, newToken } from '../../src/identity/tokens.js';
import { createLogger } from '../../src/log.js';
import { listEveryUpstream } from '../../src/proxy/list-tools.js';
import { runCli } from '../helpers/cli.js';
import { adminRequest, connect, PROBE, ROOT, tempDir } from '../helpers/gateway.js';

const ADMIN = 'hardening-secrets-admin-token';
process.env.WARDEN_ADMIN_TOKEN = ADMIN;
const LEAKY = join(ROOT, 'test/fixtures/leaky-server.ts');
/** The stdio upstream's credential (its env) and the HTTP upstream's (its Authorization header). */
const ENV_KEY = 'leaky-env-key-Q7w3Zp9Lk2Vb';
const HEADER_KEY = 'leaky-header-key-M4n8Xc2Rt6';
const halves = (k: string) => [k.slice(0, Math.floor(k.length / 2)), k.slice(Math.floor(k.length / 2))];
/** Any of these in a text means the key leaked (whole or half). */
const leaks = (text: string) =>
  [ENV_KEY, HEADER_KEY, ...halves(ENV_KEY), ...halves(HEADER_KEY)].filter((s) => text.includes(s));

interface Started {
  gw: Gateway;
  mcpUrl: string;
  adminUrl: string;
  log: () => string;
  file: string;
}
const running: Started[] = [];
const servers: Server[] = [];
afterAll(async () => {
  await Promise.all(running.map((r) => r.gw.close(1000)));
  for (const s of servers) s.close();
});

/** A gateway in this process whose log (debug level) the test reads. */
async function start(yaml: string): Promise<Started> {
  const dir = tempDir('warden-h4-');
  const file = join(dir, 'warden.yaml');
  const text = `${yaml}\nstorage: sqlite:${join(dir, 'warden.db')}\nauth: { anonymous: true }\n`;
  writeFileSync(file, text);
  let log = '';
  const sink = new Writable({
    write(chunk, _enc, done) {
      log += String(chunk);
      done();
    },
  });
  const config = resolveConfig(parseConfig(text, file));
  config.listen = { host: '127.0.0.1', port: 0 };
  config.admin = { host: '127.0.0.1', port: 0 };
  const gw = await createGateway(config, { log: createLogger('debug', sink) });
  const { mcpUrl, adminUrl } = await gw.listen();
  const s = { gw, mcpUrl, adminUrl, log: () => log, file };
  running.push(s);
  return s;
}

function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
    ),
  );
}

const leakyServer = (id: string, env = '') => `
  ${id}:
    command: node
    args: ["--import", "tsx", "${LEAKY}"]
    cwd: ${ROOT}
    env: { LEAKY_KEY: "${ENV_KEY}"${env} }`;

/** What an agent's failed request says: the SDK's error message (code and text). */
async function failure(p: Promise<unknown>): Promise<string> {
  try {
    return `resolved: ${JSON.stringify(await p)}`;
  } catch (err) {
    return String((err as Error).message);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('#17.15 upstream stderr and error bodies stay out of the agent error', () => {
  it('#17.15 a stdio upstream that dies mid-call: the agent error has no stderr, the log has it masked', async () => {
    const s = await start(`mcpServers:${leakyServer('leaky')}`);
    const client = await connect(`${s.mcpUrl}/leaky`);
    const said = await failure(client.callTool({ name: 'die', arguments: {} }));
    expect(said).toMatch(/closed|exited/);
    expect(said).not.toContain('stderr');
    expect(leaks(said)).toEqual([]);
    await sleep(300);
    // The log did record the death and what the upstream wrote, with the key masked (also where it was wrapped).
    expect(s.log()).toContain('upstream went away');
    expect(s.log()).toContain('upstream API refused');
    expect(leaks(s.log())).toEqual([]);
    const audit = JSON.stringify((await adminRequest(s, ADMIN, '/api/audit?limit=100')).body);
    expect(audit).toContain('"tool":"die"');
    expect(leaks(audit)).toEqual([]);
    await client.close().catch(() => {});
  }, 60_000);

  it('#17.15 a stdio upstream that dies before initialize (/mcp/<id>): the agent error has no stderr', async () => {
    const s = await start(`mcpServers:${leakyServer('dead', ', LEAKY_DIE_AT_START: "1"')}`);
    const said = await failure(connect(`${s.mcpUrl}/dead`));
    expect(said).toMatch(/could not be started|closed|exited/);
    expect(leaks(said)).toEqual([]);
    await sleep(200);
    expect(s.log()).toContain('upstream API refused');
    expect(leaks(s.log())).toEqual([]);
  }, 60_000);

  it('#17.15 on /mcp, calls to the tools of an upstream that died say why without its stderr', async () => {
    const s = await start(
      `mcpServers:${leakyServer('dead', ', LEAKY_DIE_AT_START: "1"')}
  probe:
    command: node
    args: ["--import", "tsx", "${PROBE}"]
    cwd: ${ROOT}`,
    );
    const client = await connect(s.mcpUrl);
    const said = await failure(client.callTool({ name: 'dead__echo', arguments: {} }));
    expect(leaks(said)).toEqual([]);
    const list = JSON.stringify(await client.listTools());
    expect(leaks(list)).toEqual([]);
    await client.close();
  }, 60_000);

  it('#17.15 an upstream JSON-RPC error quoting its configured key is masked for the agent and the audit log', async () => {
    const s = await start(`mcpServers:${leakyServer('leaky')}`);
    const client = await connect(`${s.mcpUrl}/leaky`);
    const said = await failure(client.callTool({ name: 'rpc_error', arguments: {} }));
    expect(said).toContain('backend refused');
    expect(said).toContain('[REDACTED]');
    expect(leaks(said)).toEqual([]);
    await sleep(200);
    const audit = JSON.stringify((await adminRequest(s, ADMIN, '/api/audit?limit=100')).body);
    expect(audit).toContain('"tool":"rpc_error"');
    expect(leaks(audit)).toEqual([]);
    await client.close();
  }, 60_000);

  for (const transport of ['http', 'sse'] as const) {
    it(`#17.15 an ${transport} upstream whose error body quotes the configured Authorization header: not passed on`, async () => {
      const url = await listen((req, res) => {
        req.resume();
        res.writeHead(401, { 'content-type': 'text/plain' });
        res.end(`unauthorized: you sent Authorization: ${req.headers.authorization} which is revoked`);
      });
      const s = await start(`mcpServers:
  remote:
    url: ${url}/mcp
    transport: ${transport}
    headers: { Authorization: "Bearer ${HEADER_KEY}" }`);
      const said = await failure(connect(`${s.mcpUrl}/remote`));
      expect(said).toMatch(/401|could not be started/);
      expect(said).not.toContain('revoked');
      expect(leaks(said)).toEqual([]);
      await sleep(200);
      expect(leaks(s.log())).toEqual([]);
    }, 60_000);
  }

  it('#17.15 a legacy SSE upstream refusing the POST with a body that quotes the header: not passed on', async () => {
    const url = await listen((req, res) => {
      if (req.method === 'GET') {
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
        res.write('event: endpoint\ndata: /messages\n\n');
        return;
      }
      req.resume();
      res.writeHead(401, { 'content-type': 'text/plain' });
      res.end(`unauthorized: you sent Authorization: ${req.headers.authorization} which is revoked`);
    });
    const s = await start(`mcpServers:
  remote:
    url: ${url}/sse
    transport: sse
    headers: { Authorization: "Bearer ${HEADER_KEY}" }`);
    const said = await failure(connect(`${s.mcpUrl}/remote`));
    expect(said).toContain('HTTP 401');
    expect(said).not.toContain('revoked');
    expect(leaks(said)).toEqual([]);
    await sleep(200);
    expect(s.log()).toContain('revoked');
    expect(leaks(s.log())).toEqual([]);
  }, 60_000);

  it('#17.15 an HTTP upstream refusing a call later: the agent hears the status, the log gets the masked body', async () => {
    let refuse = false;
    const probe = await listen((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c.toString();
      });
      req.on('end', () => {
        const msg = JSON.parse(body || '{}') as { id?: number; method?: string };
        if (refuse) {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(`internal: token ${req.headers.authorization} failed`);
          return;
        }
        if (msg.id === undefined) {
          res.writeHead(202).end();
          return;
        }
        const result =
          msg.method === 'initialize'
            ? {
                protocolVersion: '2025-06-18',
                capabilities: { tools: {} },
                serverInfo: { name: 'x', version: '1' },
              }
            : msg.method === 'tools/list'
              ? { tools: [{ name: 'echo', inputSchema: { type: 'object' } }] }
              : {};
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ jsonrpc: '2.0', id: msg.id, result }));
      });
    });
    const s = await start(`mcpServers:
  remote:
    url: ${probe}/mcp
    headers: { Authorization: "Bearer ${HEADER_KEY}" }`);
    const client = await connect(`${s.mcpUrl}/remote`);
    await client.listTools();
    refuse = true;
    const said = await failure(client.callTool({ name: 'echo', arguments: {} }));
    expect(said).toContain('HTTP 500');
    expect(said).not.toContain('internal: token');
    expect(leaks(said)).toEqual([]);
    await sleep(200);
    expect(s.log()).toContain('internal: token');
    expect(leaks(s.log())).toEqual([]);
    await client.close().catch(() => {});
  }, 60_000);
});

describe('#17.15 warden scan', () => {
  it('#17.15 warden scan (and the dashboard scan) report an HTTP upstream refusing with 401 without its body', async () => {
    const url = await listen((req, res) => {
      req.resume();
      res.writeHead(401, { 'content-type': 'text/plain' });
      res.end(`unauthorized: you sent Authorization: ${req.headers.authorization} which is revoked`);
    });
    const config = resolveConfig(
      parseConfig(
        `mcpServers:\n  remote:\n    url: ${url}/mcp\n    headers: { Authorization: "Bearer ${HEADER_KEY}" }\n`,
        join(tempDir('warden-h4-scan-'), 'warden.yaml'),
      ),
    );
    const [listing] = await listEveryUpstream(config.upstreams);
    const error = String((listing as { error?: string }).error);
    expect(error).toContain('401');
    expect(error).not.toContain('revoked');
    expect(leaks(error)).toEqual([]);
  }, 60_000);
});

describe('#17.12 warden tokens in audit records and logs', () => {
  it('#17.12 masks a wdn_ grant token and a wda_ admin token sent as arguments (audit.args: full)', async () => {
    const s = await start(`mcpServers:
  probe:
    command: node
    args: ["--import", "tsx", "${PROBE}"]
    cwd: ${ROOT}
audit: { args: full }`);
    const grant = newToken(newGrantId(), 'agent');
    const adminToken = newToken(newGrantId(), 'admin');
    const client = await connect(`${s.mcpUrl}/probe`);
    await client.callTool({ name: 'echo', arguments: { text: `try ${grant}`, other: adminToken } });
    await sleep(200);
    const audit = JSON.stringify((await adminRequest(s, ADMIN, '/api/audit?limit=100')).body);
    expect(audit).toContain('"tool":"echo"');
    expect(audit).not.toContain(grant.slice(4));
    expect(audit).not.toContain(adminToken.slice(4));
    expect(s.log()).not.toContain(grant.slice(4));
    await client.close();
  }, 60_000);
});

/** A webhook receiver: the raw bodies it got. */
async function receiver(): Promise<{ url: string; bodies: string[] }> {
  const bodies: string[] = [];
  const url = await listen((req, res) => {
    let text = '';
    req.on('data', (c: Buffer) => {
      text += c.toString();
    });
    req.on('end', () => {
      bodies.push(text);
      res.writeHead(200).end();
    });
  });
  return { url, bodies };
}

describe('#17.14 and #17.16 what approvers see', () => {
  const PASSWORD = 'approver-must-not-see-pw-5521';
  const STRIPE = 'sk_live_51HqLyjWDarjtT1zdp7dcXPOh';
  const RLO = '\u202E';
  const PAYEE = `billing@example.com${RLO}moc.evil@\u{E0041}`;
  let s: Started;
  let json: { url: string; bodies: string[] };
  let slack: { url: string; bodies: string[] };
  let id = '';

  it('#17.14 the webhook body (JSON and Slack) carries arguments masked: no password, no sk_live_ key', async () => {
    json = await receiver();
    slack = await receiver();
    const dir = tempDir('warden-h4-policy-');
    const policy = join(dir, 'policy.json');
    writeFileSync(
      policy,
      JSON.stringify({ version: '1', default: 'allow', tools: { echo: { action: 'require_approval' } } }),
    );
    s = await start(`mcpServers:
  probe:
    command: node
    args: ["--import", "tsx", "${PROBE}"]
    cwd: ${ROOT}
    policy: ${policy}
approvals:
  webhooks:
    - { url: "${json.url}/hook", secret: "h4-webhook-secret-0123456789" }
    - { url: "${slack.url}/hook", secret: "h4-webhook-secret-0123456789", format: slack }`);
    const client = await connect(`${s.mcpUrl}/probe`);
    void client
      .callTool({
        name: 'echo',
        arguments: { text: 'pay', password: PASSWORD, note: `key ${STRIPE}`, payee: PAYEE },
      })
      .catch(() => {});
    for (let i = 0; i < 100 && (json.bodies.length === 0 || slack.bodies.length === 0); i++) await sleep(50);
    for (const body of [json.bodies[0]!, slack.bodies[0]!]) {
      expect(body).not.toContain(PASSWORD);
      expect(body).not.toContain(STRIPE);
      expect(body).toContain('[REDACTED]');
    }
    const parsed = JSON.parse(json.bodies[0]!) as { arguments: Record<string, unknown>; id: string };
    expect(parsed.arguments).toMatchObject({ text: 'pay', password: '[REDACTED]', note: 'key [REDACTED]' });
    id = parsed.id;
  }, 60_000);

  it('#17.16 the JSON webhook flags hidden characters and escapes them; Slack shows them as \\u{202E}', () => {
    const body = json.bodies[0]!;
    expect(body).not.toContain(RLO);
    expect(body).toContain('\\u202e');
    const parsed = JSON.parse(body) as { arguments: { payee: string }; hiddenCharacters: unknown };
    expect(parsed.arguments.payee).toBe(PAYEE);
    expect(parsed.hiddenCharacters).toEqual([{ path: '/payee', characters: ['U+202E', 'U+E0041'] }]);
    const text = JSON.stringify(JSON.parse(slack.bodies[0]!));
    expect(text).toContain('\\\\u{202E}');
    expect(text).toContain('invisible or bidi characters');
    expect(
      JSON.parse(slack.bodies[0]!)
        .blocks.map((b: { text?: { text?: string } }) => b.text?.text ?? '')
        .join(''),
    ).not.toContain(RLO);
  });

  it('#17.14 /api/approvals shows an admin the arguments masked, a viewer only names and a hash', async () => {
    const res = await fetch(`${s.adminUrl}/api/approvals?status=pending`, {
      headers: { authorization: `Bearer ${ADMIN}` },
    });
    const raw = await res.text();
    expect(raw).not.toContain(PASSWORD);
    expect(raw).not.toContain(STRIPE);
    const [a] = JSON.parse(raw) as Record<string, unknown>[];
    // SPEC §11 fields are all still there.
    for (const k of ['id', 'server', 'tool', 'arguments', 'grant', 'session', 'risk', 'rule', 'createdAt'])
      expect(a).toHaveProperty(k);
    expect(a!.arguments).toMatchObject({ password: '[REDACTED]', note: 'key [REDACTED]', payee: PAYEE });
    const viewer = await adminRequest(s, ADMIN, '/api/grants', {
      method: 'POST',
      body: JSON.stringify({ label: 'h4-viewer', role: 'viewer' }),
    });
    const asViewer = await fetch(`${s.adminUrl}/api/approvals/${id}`, {
      headers: { authorization: `Bearer ${viewer.body.token}` },
    });
    const viewed = await asViewer.text();
    expect(viewed).not.toContain(PASSWORD);
    expect(JSON.parse(viewed).arguments).toMatchObject({ mode: 'keys' });
  });

  it('#17.16 /api/approvals adds hiddenCharacters and sends the characters as \\u escapes', async () => {
    const res = await fetch(`${s.adminUrl}/api/approvals/${id}`, {
      headers: { authorization: `Bearer ${ADMIN}` },
    });
    const raw = await res.text();
    expect(raw).not.toContain(RLO);
    expect(raw).not.toMatch(/[\uDB40]/);
    const a = JSON.parse(raw) as { hiddenCharacters: unknown; arguments: { payee: string } };
    expect(a.arguments.payee).toBe(PAYEE);
    expect(a.hiddenCharacters).toEqual([{ path: '/payee', characters: ['U+202E', 'U+E0041'] }]);
  });

  it('#17.14 #17.16 warden approvals list and show: masked, hidden characters escaped and flagged', () => {
    const list = runCli(['approvals', 'list', '--config', s.file]);
    expect(list.status, list.stderr).toBe(0);
    expect(list.stdout).toContain(id);
    expect(list.stdout).toContain('!hidden-characters');
    const show = runCli(['approvals', 'show', id, '--config', s.file]);
    expect(show.status, show.stderr).toBe(0);
    expect(show.stdout).not.toContain(PASSWORD);
    expect(show.stdout).not.toContain(STRIPE);
    expect(show.stdout).not.toContain(RLO);
    expect(show.stdout).toContain('billing@example.com\\u{202E}moc.evil@\\u{E0041}');
    expect(show.stdout).toContain('warning: /payee holds invisible or bidi characters: U+202E U+E0041');
    const asJson = runCli(['approvals', 'list', '--config', s.file, '--json']);
    expect(asJson.stdout).not.toContain(RLO);
    expect(asJson.stdout).not.toContain(PASSWORD);
    const parsed = JSON.parse(asJson.stdout.trim().split('\n')[0]!) as { hiddenCharacters: unknown };
    expect(parsed.hiddenCharacters).toEqual([{ path: '/payee', characters: ['U+202E', 'U+E0041'] }]);
  }, 60_000);
});
