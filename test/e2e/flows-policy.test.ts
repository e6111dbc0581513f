// #19 (SPEC §13): policy files carry `flows:` as the config does. A server's policy adds labels and rules for calls on
// that server, a grant's policy for that agent's calls (only narrowing); `warden policy validate`, `policy test` and
// `policy explain` read them; a bad block is reported by file, path and line.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parsePolicyText } from '../../src/config/policy-file.js';
import { runCli } from '../helpers/cli.js';
import {
  adminRequest,
  connect,
  FILESYSTEM,
  ROOT,
  type RunningGateway,
  startGateway,
  tempDir,
  textOf,
} from '../helpers/gateway.js';

const ADMIN = 'flows-policy-admin-token';
process.env.WARDEN_ADMIN_TOKEN = ADMIN;
const MAIL = join(ROOT, 'test/fixtures/mail-server.ts');

let dir: string;
const open: Array<RunningGateway | Client> = [];

const FS_POLICY = `version: "1"
default: allow
flows:
  labels:
    private: ["fs/read_*"]
`;
const MAIL_POLICY = `version: "1"
default: allow
flows:
  labels:
    external: ["send_*"]
  rules:
    - after: private
      deny: external
      reason: "Mail policy: private data stays inside"
`;

beforeAll(() => {
  dir = tempDir('warden-flows-policy-');
  writeFileSync(join(dir, 'customer.txt'), 'Jane Roe, jane@example.com');
  writeFileSync(join(dir, 'fs-policy.yaml'), FS_POLICY);
  writeFileSync(join(dir, 'mail-policy.yaml'), MAIL_POLICY);
});

afterEach(async () => {
  for (const x of open.splice(0).reverse()) await x.close().catch(() => undefined);
});

function servers(outbox: string, policies: boolean): string {
  return `
mcpServers:
  fs:
    command: node
    args: ["${FILESYSTEM}", "${dir}"]
${policies ? `    policy: ${join(dir, 'fs-policy.yaml')}\n` : ''}  mail:
    command: node
    args: ["--import", "tsx", "${MAIL}"]
    env: { MAIL_OUTBOX: "${outbox}" }
    cwd: "${ROOT}"
${policies ? `    policy: ${join(dir, 'mail-policy.yaml')}\n` : ''}flows:
  derive: false
`;
}

function sent(outbox: string): number {
  return existsSync(outbox)
    ? readFileSync(outbox, 'utf8')
        .split('\n')
        .filter((l) => l !== '').length
    : 0;
}

const mail = (c: Client, body: string) =>
  c.callTool({ name: 'mail__send_email', arguments: { to: 'someone@outside.test', body } });
const read = (c: Client) =>
  c.callTool({ name: 'fs__read_text_file', arguments: { path: join(dir, 'customer.txt') } });

describe('#19.6 flows in policy files, through the gateway', () => {
  it("#19.6.1 server policies label their own tools and the mail policy's rule refuses a send after a private read", async () => {
    const outbox = join(tempDir(), 'outbox.jsonl');
    const g = await startGateway(servers(outbox, true));
    open.push(g);
    const c = await connect(g.mcpUrl);
    open.push(c);
    expect((await mail(c, 'hello')).isError).not.toBe(true);
    expect(sent(outbox)).toBe(1);
    expect(textOf(await read(c))).toContain('Jane Roe');
    const refused = await mail(c, 'Jane Roe');
    expect(refused.isError).toBe(true);
    expect(textOf(refused)).toBe('[POLICY DENIED] Mail policy: private data stays inside');
    const meta = (refused._meta as Record<string, Record<string, unknown>>)['mcp-warden/decision'];
    expect(meta?.rule).toBe(`${join(dir, 'mail-policy.yaml')}#/flows/rules/0`);
    expect(sent(outbox)).toBe(1);
    // The audit record names the policy's rule (written as the request ends: polled).
    let named = false;
    for (let i = 0; i < 50 && !named; i++) {
      const audit = (await adminRequest(g, ADMIN, '/api/audit?limit=20')).body as Array<
        Record<string, unknown>
      >;
      named = audit.some(
        (r) => r.decision === 'denied' && String(r.rule).endsWith('mail-policy.yaml#/flows/rules/0'),
      );
      if (!named) await new Promise((r) => setTimeout(r, 100));
    }
    expect(named).toBe(true);
  });

  it("#19.6.2 a grant's policy narrows only its own calls: its agent is refused, another grant's is not", async () => {
    const outbox = join(tempDir(), 'outbox.jsonl');
    const g = await startGateway(`${servers(outbox, false)}auth: {}\n`);
    open.push(g);
    const create = async (label: string, policy?: unknown) => {
      const res = await adminRequest(g, ADMIN, '/api/grants', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ label, ...(policy === undefined ? {} : { policy }) }),
      });
      expect(res.status).toBe(201);
      return (res.body as unknown as { token: string }).token;
    };
    const strict = await create('strict-agent', {
      version: '1',
      default: 'allow',
      flows: {
        labels: { private: ['fs/read_*'], external: ['mail/send_*'] },
        rules: [
          { after: 'private', hold: 'external', reason: 'Grant policy: a person checks sends after reads' },
        ],
      },
    });
    const loose = await create('loose-agent');
    const agent = async (token: string) => {
      const c = await connect(g.mcpUrl, {}, { authorization: `Bearer ${token}` });
      open.push(c);
      return c;
    };
    const l = await agent(loose);
    await read(l);
    expect((await mail(l, 'loose')).isError).not.toBe(true);
    expect(sent(outbox)).toBe(1);
    const s = await agent(strict);
    await read(s);
    // A hold becomes an approval: the call waits; it shows in the queue with the grant policy's rule.
    const held = mail(s, 'strict');
    let pending: Array<Record<string, unknown>> = [];
    for (let i = 0; i < 50 && pending.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      pending = (await adminRequest(g, ADMIN, '/api/approvals?status=pending'))
        .body as unknown as typeof pending;
    }
    expect(pending).toHaveLength(1);
    expect(String(pending[0]!.rule)).toContain('#/flows/rules/0');
    await adminRequest(g, ADMIN, `/api/approvals/${pending[0]!.id}/deny`, { method: 'POST' });
    const answer = await held;
    expect(answer.isError).toBe(true);
    expect(sent(outbox)).toBe(1);
  });
});

describe('#19.6 flows in policy files, checked and explained', () => {
  it('#19.6.3 a bad flows block is reported with file, path and line; the policy does not load', () => {
    const text = `version: "1"
default: allow
flows:
  rules:
    - after: private
      deny: external
      hold: external
  labels:
    private: "fs/read_*"
`;
    const { policy, problems } = parsePolicyText(text, '/tmp/bad-flows.yaml');
    expect(policy).toBeUndefined();
    const paths = problems.map((p) => `${p.path}@${p.line}`);
    expect(paths).toContain('flows.rules[0]@5');
    expect(paths).toContain('flows.labels.private@9');
    for (const p of problems) expect(p.file).toBe('/tmp/bad-flows.yaml');
    const file = join(dir, 'bad-flows.yaml');
    writeFileSync(file, text);
    const r = runCli(['policy', 'validate', file]);
    expect(r.status).toBe(2);
    expect(r.stderr + r.stdout).toContain('flows.rules[0]');
    // Only what narrows: a policy cannot switch derivation off or exclude tools from a label.
    const widen = parsePolicyText('version: "1"\nflows:\n  derive: false\n', '/tmp/widen.yaml');
    expect(widen.policy).toBeUndefined();
    expect(widen.problems[0]?.path).toBe('flows.derive');
  });

  it('#19.6.4 policy test and policy explain read the flows of the policy files', () => {
    const cases = join(dir, 'cases.yaml');
    writeFileSync(
      cases,
      `policy: [./fs-policy.yaml, ./mail-policy.yaml]
cases:
  - name: send first
    server: mail
    tool: send_email
    expect: allow
  - name: send after a private read
    server: mail
    tool: send_email
    earlier: [{ server: fs, tool: read_text_file }]
    expect: deny
    reason: "Mail policy"
`,
    );
    const r = runCli(['policy', 'test', cases, '--json']);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toMatchObject({ passed: 2, failed: 0 });
    const outbox = join(dir, 'explain-outbox.jsonl');
    const config = join(dir, 'warden.yaml');
    writeFileSync(config, `${servers(outbox, true)}auth: { anonymous: true }\n`);
    const base = ['policy', 'explain', '--config', config, '--server', 'mail', '--tool', 'send_email'];
    const e = runCli([...base, '--category', 'communication', '--earlier', 'fs/read_text_file', '--json']);
    expect(e.stderr).toBe('');
    const out = JSON.parse(e.stdout);
    expect(out.decision.outcome).toBe('deny');
    expect(String(out.decision.rule)).toContain('mail-policy.yaml#/flows/rules/0');
    const before = JSON.parse(runCli([...base, '--category', 'communication', '--json']).stdout);
    expect(before.decision.outcome).toBe('allow');
  });
});

describe('#19.6.9 guards in policy files, checked and explained (built CLI)', () => {
  it('#19.6.9a policy validate reports a guards switch in a policy file with file, path and line', () => {
    const file = join(dir, 'bad-guards.yaml');
    writeFileSync(
      file,
      'version: "1"\ndefault: allow\nguards:\n  results:\n    secrets: flag\n    oversize: pass\n',
    );
    const r = runCli(['policy', 'validate', file]);
    expect(r.status).toBe(2);
    const out = r.stderr + r.stdout;
    expect(out).toContain('bad-guards.yaml:6 at guards.results.oversize: unknown key');
  });

  it('#19.6.9b policy explain shows the result guards a server policy makes stricter than the config', () => {
    const policy = join(dir, 'mail-guards-policy.yaml');
    writeFileSync(
      policy,
      'version: "1"\ndefault: allow\nguards:\n  results:\n    secrets: block\n    pii: "off"\n',
    );
    const config = join(dir, 'warden-guards.yaml');
    writeFileSync(
      config,
      `${servers(join(dir, 'guards-outbox.jsonl'), false).replace(
        `    cwd: "${ROOT}"\n`,
        `    cwd: "${ROOT}"\n    policy: ${policy}\n`,
      )}guards:\n  results:\n    pii: flag\nauth: { anonymous: true }\n`,
    );
    const base = ['policy', 'explain', '--config', config, '--server', 'mail', '--tool', 'send_email'];
    const e = runCli([...base, '--category', 'communication', '--json']);
    expect(e.stderr).toBe('');
    expect(JSON.parse(e.stdout).guards).toEqual({
      actions: { secrets: 'block', pii: 'flag', injection: 'off' },
      shadow: false,
    });
    const fs = JSON.parse(
      runCli([
        'policy',
        'explain',
        '--config',
        config,
        '--server',
        'fs',
        '--tool',
        'read_text_file',
        '--category',
        'read',
        '--json',
      ]).stdout,
    );
    expect(fs.guards.actions).toEqual({ secrets: 'off', pii: 'flag', injection: 'off' });
  });
});
