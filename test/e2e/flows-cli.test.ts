// #19: flow rules in `warden policy test` (a case gives the conversation's earlier calls) and `warden policy explain
// --earlier`, as a user runs them.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { ROOT, tempDir } from '../helpers/gateway.js';

const dir = tempDir('warden-flows-cli-');
writeFileSync(join(dir, 'open.json'), JSON.stringify({ version: '1', default: 'allow', tools: {} }));

describe('#19 flows in warden policy test', () => {
  it('#19.12 cases with earlier calls decide by the flow rules; a failing expectation fails', () => {
    const file = join(dir, 'cases.yaml');
    writeFileSync(
      file,
      `policy: ./open.json
flows:
  labels:
    private: ["fs/read_*"]
    external: ["mail/send_*"]
  rules:
    - after: private
      deny: external
      reason: Private data stays inside
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
    rule: /flows/rules/0
    reason: Private data
  - name: seen label given directly
    server: mail
    tool: send_email
    seen: [PRIVATE]
    expect: deny
`,
    );
    const r = runCli(['policy', 'test', file, '--json']);
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout);
    expect(out.failed).toBe(0);
    expect(out.passed).toBe(3);
    expect(r.status).toBe(0);
    writeFileSync(file, `${readBack(file).replace('expect: deny\n    rule', 'expect: allow\n    rule')}`);
    const bad = runCli(['policy', 'test', file]);
    expect(bad.status).toBe(1);
    expect(bad.stdout).toContain('expected allow, got deny');
  });
});

describe('#19 flows in warden policy explain', () => {
  it('#19.13 --earlier gives the conversation; the flow rule shows in text and JSON', () => {
    const config = join(dir, 'warden.yaml');
    writeFileSync(
      config,
      `mcpServers:
  fs: { command: node }
  mail: { command: node }
flows:
  labels:
    private: ["fs/read_*"]
    external: ["mail/send_*"]
  rules:
    - after: private
      hold: external
`,
    );
    const args = [
      'policy',
      'explain',
      '-c',
      config,
      '--server',
      'mail',
      '--tool',
      'send_email',
      '--category',
      'communication',
    ];
    const before = runCli([...args, '--json']);
    expect(JSON.parse(before.stdout).decision.outcome).toBe('allow');
    const after = runCli([...args, '--earlier', 'fs/read_text_file', '--json']);
    const json = JSON.parse(after.stdout);
    expect(json.decision.outcome).toBe('require_approval');
    expect(json.decision.rule).toBe('/flows/rules/0');
    expect(json.flow.seen).toEqual(['private']);
    const text = runCli([...args, '--earlier', 'fs/read_text_file']);
    expect(text.stdout).toContain('flow rule /flows/rules/0 -> hold');
    expect(text.stdout).toContain('external (config: mail/send_*)');
  });
});

function readBack(file: string): string {
  return readFileSync(file, 'utf8');
}

describe('#19 labels in warden scan', () => {
  it("#19.14 scan --config lists each tool's labels with their source (config pattern or risk signal)", () => {
    const config = join(dir, 'scan.yaml');
    const mail = join(ROOT, 'test/fixtures/mail-server.ts');
    writeFileSync(
      config,
      `mcpServers:
  mail:
    command: node
    args: ["--import", "tsx", "${mail}"]
    env: { MAIL_OUTBOX: "${join(dir, 'outbox.jsonl')}" }
    cwd: "${ROOT}"
  post:
    command: node
    args: ["--import", "tsx", "${mail}"]
    env: { MAIL_OUTBOX: "${join(dir, 'outbox.jsonl')}" }
    cwd: "${ROOT}"
storage: sqlite:${join(dir, 'scan.db')}
flows:
  labels:
    outbound: ["mail/send_*"]
  exclude:
    external: ["mail/*"]
`,
    );
    const r = runCli(['scan', '--config', config, '--json']);
    expect(r.status, r.stderr).toBe(0);
    const entries = JSON.parse(r.stdout) as Array<Record<string, unknown>>;
    const labelsOf = (server: string) => entries.find((e) => e.server === server)?.labels;
    // mail: the config's label, and the derived `external` excluded by the config.
    expect(labelsOf('mail')).toEqual([{ label: 'outbound', source: 'config', why: 'mail/send_*' }]);
    // post: the same tool elsewhere: derived from its risk signals (open-world sender).
    expect(labelsOf('post')).toEqual([expect.objectContaining({ label: 'external', source: 'signal' })]);
    const text = runCli(['scan', '--config', config]);
    expect(text.stdout).toContain('send_email: outbound (config: mail/send_*)');
  }, 60_000);
});
