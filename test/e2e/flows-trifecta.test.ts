// #19: the lethal trifecta through real reference servers (server-filesystem, server-memory) and a fixture that sends
// mail to a local outbox: a private read followed by an external send is refused and the mail never leaves.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  adminRequest,
  connect,
  FILESYSTEM,
  MEMORY,
  ROOT,
  type RunningGateway,
  startGateway,
  tempDir,
  textOf,
} from '../helpers/gateway.js';
import { redisAvailable, redisUrl } from '../helpers/services.js';

const ADMIN = 'flows-trifecta-admin-token';
process.env.WARDEN_ADMIN_TOKEN = ADMIN;

const MAIL = join(ROOT, 'test/fixtures/mail-server.ts');

let dir: string;
const open: Array<RunningGateway | Client> = [];

beforeAll(() => {
  dir = tempDir('warden-flows-');
  writeFileSync(join(dir, 'customer.txt'), 'Jane Roe, jane@example.com, +1 555 0100');
});

afterEach(async () => {
  for (const x of open.splice(0).reverse()) await x.close().catch(() => undefined);
});

afterAll(() => undefined);

function config(outbox: string, extra = ''): string {
  return `
mcpServers:
  fs:
    command: node
    args: ["${FILESYSTEM}", "${dir}"]
  memory:
    command: node
    args: ["${MEMORY}"]
    env: { MEMORY_FILE_PATH: "${outbox}.memory.jsonl" }
  mail:
    command: node
    args: ["--import", "tsx", "${MAIL}"]
    env: { MAIL_OUTBOX: "${outbox}" }
    cwd: "${ROOT}"
flows:
  labels:
    private: ["fs/read_*", "memory/read_graph", "memory/open_nodes", "memory/search_nodes"]
    external: ["mail/send_*"]
  rules:
    - after: private
      deny: external
      reason: "Private data stays inside"
${extra}
`;
}

async function gateway(yaml: string): Promise<RunningGateway> {
  const g = await startGateway(yaml);
  open.push(g);
  return g;
}

async function client(g: RunningGateway): Promise<Client> {
  const c = await connect(g.mcpUrl);
  open.push(c);
  return c;
}

function sent(outbox: string): unknown[] {
  if (!existsSync(outbox)) return [];
  return readFileSync(outbox, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l));
}

const mail = (c: Client, body: string) =>
  c.callTool({ name: 'mail__send_email', arguments: { to: 'someone@outside.test', body } });

function refusedByFlow(result: Record<string, unknown>): void {
  expect(result.isError).toBe(true);
  expect(textOf(result)).toBe('[POLICY DENIED] Private data stays inside');
  const meta = (result._meta as Record<string, Record<string, unknown>>)['mcp-warden/decision'];
  expect(meta?.rule).toBe('/flows/rules/0');
}

describe('#19 flows: trifecta with reference servers', () => {
  it('#19.1 a send before any private read goes out; after a private file read it is refused and never arrives', async () => {
    const outbox = join(tempDir(), 'outbox.jsonl');
    const g = await gateway(config(outbox));
    const c = await client(g);
    const first = await mail(c, 'hello');
    expect(first.isError).not.toBe(true);
    expect(sent(outbox)).toHaveLength(1);
    const read = await c.callTool({
      name: 'fs__read_text_file',
      arguments: { path: join(dir, 'customer.txt') },
    });
    expect(textOf(read)).toContain('Jane Roe');
    const second = await mail(c, 'Jane Roe, jane@example.com');
    refusedByFlow(second);
    expect(sent(outbox)).toHaveLength(1);
    // The same tool spelled otherwise (fullwidth letters, NFKC-equal) does not get past: refused or unknown.
    const spelled = await c.callTool({
      name: 'mail__ｓｅｎｄ_email',
      arguments: { to: 'someone@outside.test', body: 'Jane Roe' },
    });
    expect(spelled.isError).toBe(true);
    expect(sent(outbox)).toHaveLength(1);
  });

  it('#19.2 a read warden refused adds nothing; an isError read result reached the model and counts', async () => {
    const outbox = join(tempDir(), 'outbox.jsonl');
    const g = await gateway(
      `${config(outbox)}\npolicy: { version: "1", default: allow, tools: { read_multiple_files: { action: deny } } }\n`,
    );
    const c = await client(g);
    const refused = await c.callTool({
      name: 'fs__read_multiple_files',
      arguments: { paths: [join(dir, 'customer.txt')] },
    });
    expect(textOf(refused)).toContain('[POLICY DENIED]');
    expect((await mail(c, 'still fine')).isError).not.toBe(true);
    // The upstream answers with isError: its text still reaches the model, so the label is recorded (a hostile
    // upstream cannot hide data from flow rules in an error result).
    const failed = await c.callTool({
      name: 'fs__read_text_file',
      arguments: { path: join(dir, 'missing.txt') },
    });
    expect(failed.isError).toBe(true);
    refusedByFlow(await mail(c, 'after an error result'));
    expect(sent(outbox)).toHaveLength(1);
  });

  it('#19.3 server-memory read_graph labels the conversation private', async () => {
    const outbox = join(tempDir(), 'outbox.jsonl');
    const g = await gateway(config(outbox));
    const c = await client(g);
    await c.callTool({
      name: 'memory__create_entities',
      arguments: { entities: [{ name: 'Jane', entityType: 'customer', observations: ['card ends 4242'] }] },
    });
    // Writing is not reading: the send still goes.
    expect((await mail(c, 'first')).isError).not.toBe(true);
    const graph = await c.callTool({ name: 'memory__read_graph', arguments: {} });
    expect(textOf(graph)).toContain('Jane');
    refusedByFlow(await mail(c, 'Jane card ends 4242'));
    expect(sent(outbox)).toHaveLength(1);
  });

  it('#19.4 a new session or a reconnect does not clear the history (conversation: identity, the default)', async () => {
    const outbox = join(tempDir(), 'outbox.jsonl');
    const g = await gateway(config(outbox));
    const a = await client(g);
    await a.callTool({ name: 'fs__read_text_file', arguments: { path: join(dir, 'customer.txt') } });
    await a.close();
    const b = await client(g);
    refusedByFlow(await mail(b, 'from a fresh session'));
    expect(sent(outbox)).toHaveLength(0);
  });

  it('#19.5 with conversation: session, a 2025 session is its own conversation (the operator narrowed it)', async () => {
    const outbox = join(tempDir(), 'outbox.jsonl');
    const g = await gateway(config(outbox).replace('flows:\n', 'flows:\n  conversation: session\n'));
    const a = await client(g);
    await a.callTool({ name: 'fs__read_text_file', arguments: { path: join(dir, 'customer.txt') } });
    refusedByFlow(await mail(a, 'same session'));
    const b = await client(g);
    expect((await mail(b, 'other session')).isError).not.toBe(true);
    expect(sent(outbox)).toHaveLength(1);
  });

  it('#19.6 shadow mode records the flow rule and lets the call through', async () => {
    const outbox = join(tempDir(), 'outbox.jsonl');
    const g = await gateway(config(outbox).replace('flows:\n', 'flows:\n  shadow: true\n'));
    const c = await client(g);
    await c.callTool({ name: 'fs__read_text_file', arguments: { path: join(dir, 'customer.txt') } });
    expect((await mail(c, 'shadowed')).isError).not.toBe(true);
    expect(sent(outbox)).toHaveLength(1);
  });
});

describe('#19 flows: audit, admin API, simulator', () => {
  it('#19.11 the denial is audited with its flow decision (no data values); conversations, tool labels and the simulator show it', async () => {
    const outbox = join(tempDir(), 'outbox.jsonl');
    const g = await gateway(config(outbox));
    const c = await client(g);
    await c.callTool({ name: 'fs__read_text_file', arguments: { path: join(dir, 'customer.txt') } });
    refusedByFlow(await mail(c, 'Jane Roe'));
    // The outcome entry is written after the answer went out: poll until both records are complete.
    let records: Array<Record<string, unknown>> = [];
    for (let i = 0; i < 50; i++) {
      records = (await adminRequest(g, ADMIN, '/api/audit?limit=100')).body as Array<Record<string, unknown>>;
      const calls = records.filter((r) => r.method === 'tools/call');
      if (calls.length === 2 && calls.every((r) => r.outcome !== null)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const denied = records.find((r) => r.method === 'tools/call' && r.tool === 'send_email');
    expect(denied?.decision).toBe('denied');
    expect(denied?.rule).toBe('/flows/rules/0');
    expect(denied?.flow).toEqual({
      conversation: 'anonymous',
      labels: ['external'],
      seen: ['private'],
      rule: '/flows/rules/0',
      action: 'deny',
    });
    const read = records.find((r) => r.method === 'tools/call' && r.tool === 'read_text_file');
    expect((read?.flow as Record<string, unknown>)?.added).toEqual(['private']);
    expect(JSON.stringify(records)).not.toContain('Jane');

    const conversations = (await adminRequest(g, ADMIN, '/api/conversations')).body as Array<
      Record<string, unknown>
    >;
    expect(conversations).toHaveLength(1);
    expect(conversations[0]?.conversation).toBe('anonymous');
    expect(
      (conversations[0]!.labels as Array<Record<string, unknown>>).map((l) => [l.label, l.tool]),
    ).toEqual([['private', 'read_text_file']]);
    // Without a token, no conversations.
    expect((await fetch(`${g.adminUrl}/api/conversations`)).status).toBe(401);

    const tools = (await adminRequest(g, ADMIN, '/api/tools')).body as Array<Record<string, unknown>>;
    const send = tools.find((t) => t.server === 'mail' && t.name === 'send_email');
    expect(send?.labels).toContainEqual({ label: 'external', source: 'config', why: 'mail/send_*' });

    const simulate = (body: Record<string, unknown>) =>
      adminRequest(g, ADMIN, '/api/simulate', { method: 'POST', body: JSON.stringify(body) });
    const before = (await simulate({ server: 'mail', tool: 'send_email', arguments: {} })).body;
    expect((before.decision as Record<string, unknown>).outcome).toBe('allow');
    const after = (
      await simulate({
        server: 'mail',
        tool: 'send_email',
        arguments: {},
        earlier: [{ server: 'fs', tool: 'read_text_file' }],
      })
    ).body;
    expect((after.decision as Record<string, unknown>).outcome).toBe('deny');
    expect((after.decision as Record<string, unknown>).rule).toBe('/flows/rules/0');
    expect((after.flow as Record<string, unknown>).seen).toEqual(['private']);
  });
});

const redis = await redisAvailable();
if (!redis && process.env.CI === 'true') throw new Error('CI=true but Redis is not reachable');

describe.skipIf(!redis)('#19 flows: conversation state in Redis', () => {
  it('#19.7 two replicas sharing Redis decide the same, and a restart keeps the state', async () => {
    const prefix = `warden-test-flows-${process.pid}-${Date.now()}:`;
    const outbox = join(tempDir(), 'outbox.jsonl');
    // Anonymous sessions of every test run sharing this Redis count against one owner: lift the per-grant cap.
    const yaml = config(outbox, `state: ${redisUrl()}\nhttp: { maxSessionsPerGrant: 100000 }`).replace(
      'flows:\n',
      `flows:\n  key_prefix: "${prefix}"\n`,
    );
    const one = await gateway(yaml);
    const two = await gateway(yaml);
    const a = await client(one);
    const b = await client(two);
    expect((await mail(b, 'before')).isError).not.toBe(true);
    await a.callTool({ name: 'fs__read_text_file', arguments: { path: join(dir, 'customer.txt') } });
    refusedByFlow(await mail(b, 'through the other replica'));
    refusedByFlow(await mail(a, 'through the first replica'));
    // Restart: both replicas go away; a new one reads the same state.
    for (const x of open.splice(0).reverse()) await x.close().catch(() => undefined);
    const three = await gateway(yaml);
    refusedByFlow(await mail(await client(three), 'after restart'));
    expect(sent(outbox)).toHaveLength(1);
  });
});
