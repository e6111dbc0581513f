// `warden scan --from-file` as a user runs it: the JSON shape of SPEC §11, input order, the table, bad files.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/gateway.js';

const dir = tempDir('warden-scan-cli-');
const tools = [
  { name: 'list_issues', description: 'List issues.', inputSchema: { type: 'object', properties: {} } },
  { name: 'delete_repository', description: 'Delete a repository.', inputSchema: { type: 'object' } },
  { name: 'send_email', description: 'Send an e-mail.', inputSchema: { type: 'object' } },
];

describe('warden scan --from-file', () => {
  it('prints one entry per tool in input order with the SPEC §11 keys', () => {
    const file = join(dir, 'array.json');
    writeFileSync(file, JSON.stringify(tools));
    const r = runCli(['scan', '--from-file', file, '--json']);
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as Array<Record<string, unknown>>;
    expect(out.map((e) => e.name)).toEqual(['list_issues', 'delete_repository', 'send_email']);
    expect(Object.keys(out[0]!)).toEqual(['name', 'category', 'risk', 'signals', 'confidence', 'rationale']);
    expect(out[1]).toMatchObject({ category: 'destructive', risk: 'critical' });
  });

  it('reads a tools/list result', () => {
    const file = join(dir, 'result.json');
    writeFileSync(file, JSON.stringify({ tools }));
    const r = runCli(['scan', '--from-file', file, '--json']);
    expect((JSON.parse(r.stdout) as unknown[]).length).toBe(3);
  });

  it('prints a table without colour when stdout is not a terminal', () => {
    const file = join(dir, 'table.json');
    writeFileSync(file, JSON.stringify(tools));
    const r = runCli(['scan', '--from-file', file]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/delete_repository\s+destructive\s+critical/);
    expect(r.stdout).not.toContain('\u001b[');
  });

  it('exits 2 naming the problem in a bad file', () => {
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ tools: [{ description: 'no name' }] }));
    const r = runCli(['scan', '--from-file', file, '--json']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('tools[0].name');
  });

  it('exits 2 on a file that is not JSON', () => {
    const file = join(dir, 'notjson.json');
    writeFileSync(file, '{');
    expect(runCli(['scan', '--from-file', file]).status).toBe(2);
  });
});

describe('warden scan --config', () => {
  it("lists every configured server's tools, and marks a tool whose definition differs from its pin", async () => {
    const { writeConfig } = await import('../helpers/cli.js');
    const { PROBE, ROOT } = await import('../helpers/gateway.js');
    const { SqlitePinStore } = await import('../../src/store/pins-sqlite.js');
    const db = join(tempDir('warden-scan-config-'), 'warden.db');
    const file = writeConfig(`
mcpServers:
  probe:
    command: node
    args: ["--import", "tsx", "${PROBE}"]
    cwd: ${ROOT}
storage: sqlite:${db}
`);
    const before = runCli(['scan', '--config', file, '--json']);
    expect(before.status, before.stderr).toBe(0);
    const entries = JSON.parse(before.stdout) as Array<Record<string, unknown>>;
    const echo = entries.find((e) => e.name === 'echo')!;
    expect(Object.keys(echo)).toEqual([
      'server',
      'name',
      'category',
      'risk',
      'signals',
      'confidence',
      'rationale',
      'pinned',
      'labels',
    ]);
    expect(echo).toMatchObject({ server: 'probe', pinned: null, labels: [] });
    // A pin with another definition's hash: the listed echo no longer matches it.
    const pins = new SqlitePinStore(db);
    await pins.check('probe', 'echo', 'f'.repeat(64), '{}', new Date().toISOString());
    await pins.close();
    const after = JSON.parse(runCli(['scan', '--config', file, '--json']).stdout) as Array<
      Record<string, unknown>
    >;
    const changed = after.find((e) => e.name === 'echo')!;
    expect(changed.pinned).toBe(false);
    expect((changed.signals as Array<{ kind: string }>).map((s) => s.kind)).toContain('definition_changed');
    const table = runCli(['scan', '--config', file]);
    expect(table.stdout).toContain('echo (CHANGED)');
  }, 60_000);
});

describe('warden scan of a live server (a command or a URL)', () => {
  it('starts a command and classifies its tools (SPEC §11 shape)', async () => {
    const { MEMORY } = await import('../helpers/gateway.js');
    const r = runCli(['scan', '--json', '--', 'node', MEMORY]);
    expect(r.status, r.stderr).toBe(0);
    const entries = JSON.parse(r.stdout) as Array<Record<string, unknown>>;
    expect(entries.map((e) => e.name)).toContain('delete_entities');
    expect(Object.keys(entries[0]!)).toEqual([
      'name',
      'category',
      'risk',
      'signals',
      'confidence',
      'rationale',
    ]);
    expect(entries.find((e) => e.name === 'delete_entities')).toMatchObject({ category: 'destructive' });
  }, 60_000);

  it('connects to a URL with headers and classifies its tools', async () => {
    const { startHttpProbe } = await import('../helpers/gateway.js');
    const probe = await startHttpProbe();
    try {
      const r = runCli(['scan', '--url', probe.url, '--header', 'X-From-Scan: yes', '--json']);
      expect(r.status, r.stderr).toBe(0);
      expect((JSON.parse(r.stdout) as Array<{ name: string }>).map((e) => e.name)).toContain('echo');
    } finally {
      probe.child.kill();
    }
  }, 60_000);

  it('exits 1 saying why when the server cannot be listed', () => {
    const r = runCli(['scan', '--url', 'http://127.0.0.1:9/mcp', '--json']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('warden scan: the server could not be listed:');
  }, 60_000);

  it('exits 2 on two things to scan at once, a bad header or a bad URL', () => {
    for (const args of [
      ['scan', '--url', 'http://127.0.0.1:9/mcp', '--', 'node', 'x.js'],
      ['scan', '--url', 'http://127.0.0.1:9/mcp', '--header', 'no-colon'],
      ['scan', '--url', 'not a url'],
    ]) {
      const r = runCli(args);
      expect([args.join(' '), r.status]).toEqual([args.join(' '), 2]);
    }
  });
});

describe('warden scan --config with several servers', () => {
  it('starts them several at a time, lists them in config order, failures apart, and flags shadowed names', async () => {
    const { writeConfig } = await import('../helpers/cli.js');
    const { MEMORY, PROBE, ROOT } = await import('../helpers/gateway.js');
    const probe = `{ command: node, args: ["--import", "tsx", "${PROBE}"], cwd: ${ROOT} }`;
    const file = writeConfig(`
mcpServers:
  zeta: ${probe}
  broken: { command: /nonexistent/server }
  alpha: { command: node, args: ["${MEMORY}"] }
  mid: ${probe}
  last: ${probe}
`);
    const r = runCli(['scan', '--config', file, '--json']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('warden scan: broken:');
    const entries = JSON.parse(r.stdout) as Array<{
      server: string;
      name: string;
      signals: Array<{ kind: string; evidence: string }>;
    }>;
    expect([...new Set(entries.map((e) => e.server))]).toEqual(['zeta', 'alpha', 'mid', 'last']);
    // Three servers offer the same tools: each is flagged as shadowed by the others.
    const echo = entries.find((e) => e.server === 'zeta' && e.name === 'echo')!;
    expect(echo.signals).toContainEqual({
      kind: 'shadowing',
      evidence: 'the name `echo` is also a tool of mid, last',
    });
    expect(
      entries
        .filter((e) => e.server === 'alpha')
        .every((e) => e.signals.every((s) => s.kind !== 'shadowing')),
    ).toBe(true);
    // Not a terminal: no progress bar in the output.
    expect(r.stderr).not.toContain('[#');
  }, 60_000);
});

describe('warden scan --config --write-policy', () => {
  it("writes each server's starter policy, valid, and refuses to replace it without --force", async () => {
    const { writeConfig } = await import('../helpers/cli.js');
    const { PROBE, ROOT } = await import('../helpers/gateway.js');
    const file = writeConfig(`
mcpServers:
  probe:
    command: node
    args: ["--import", "tsx", "${PROBE}"]
    cwd: ${ROOT}
`);
    const out = join(tempDir('warden-starter-'), 'policies');
    const r = runCli(['scan', '--config', file, '--json', '--write-policy', out]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain(`wrote ${join(out, 'probe.json')}`);
    const scanned = JSON.parse(r.stdout) as Array<{ name: string; category: string }>;
    const policy = JSON.parse(readFileSync(join(out, 'probe.json'), 'utf8')) as {
      default: string;
      tools: Record<string, { action: string; rate_limit?: unknown }>;
    };
    expect(policy.default).toBe('deny');
    for (const t of scanned) {
      const expected = { read: 'allow', write: 'allow', other: 'allow' }[t.category] ?? 'require_approval';
      expect(policy.tools[t.name]?.action, t.name).toBe(expected);
      if (t.category === 'write') expect(policy.tools[t.name]?.rate_limit).toBeDefined();
    }
    expect(runCli(['policy', 'validate', join(out, 'probe.json')]).status).toBe(0);
    const again = runCli(['scan', '--config', file, '--write-policy', out]);
    expect(again.status).toBe(2);
    expect(again.stderr).toContain('exists; not replaced');
    expect(runCli(['scan', '--config', file, '--write-policy', out, '--force']).status).toBe(0);
  }, 60_000);
});
