// The audit log as users see it: one record per request on every path, durable, verifiable, queryable.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type ServeProcess, serveCli, writeConfig } from '../helpers/cli.js';
import { connect, PROBE, ROOT, tempDir } from '../helpers/gateway.js';

const ADMIN_TOKEN = 'test-admin-token-0123456789';
let gw: ServeProcess;
let configFile: string;
let dbFile: string;

interface Rec {
  seq: number;
  method: string;
  tool: string | null;
  decision: string;
  rule: string | null;
  outcome: string | null;
  args: { mode: string; keys?: string[]; hash?: string; value?: unknown } | null;
  latencyMs: number | null;
}

function records(): Rec[] {
  const r = runCli(['audit', 'query', '--config', configFile, '--json', '--limit', '1000']);
  expect(r.status, r.stderr).toBe(0);
  return r.stdout
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Rec);
}

beforeAll(async () => {
  const dir = tempDir('warden-audit-');
  dbFile = join(dir, 'audit.db');
  writeFileSync(
    join(dir, 'policy.json'),
    JSON.stringify({
      version: '1',
      default: 'allow',
      hide: ['crash_hidden'],
      tools: { slow: { action: 'deny', reason: 'no' } },
    }),
  );
  configFile = writeConfig(`
mcpServers:
  probe:
    command: node
    args: ["--import", "tsx", "${PROBE}"]
    cwd: ${ROOT}
    timeout: 1
    policy: ${join(dir, 'policy.json')}
  open:
    command: node
    args: ["--import", "tsx", "${PROBE}"]
    cwd: ${ROOT}
    timeout: 1
storage: sqlite:${dbFile}
`);
  process.env.WARDEN_ADMIN_TOKEN = ADMIN_TOKEN;
  gw = await serveCli(configFile);
  delete process.env.WARDEN_ADMIN_TOKEN;
});

afterAll(async () => {
  await gw?.stop();
});

describe('audit records', () => {
  it('are written once per request, on every path', async () => {
    const probe = await connect(`${gw.mcpUrl}/probe`);
    const open = await connect(`${gw.mcpUrl}/open`);
    await probe.listTools();
    await probe.callTool({ name: 'echo', arguments: { text: 'hello', password: 'hunter2' } }); // allowed
    await probe.callTool({ name: 'slow', arguments: {} }); // denied by policy
    await expect(probe.callTool({ name: 'crash_hidden', arguments: {} })).rejects.toThrow(); // hidden
    await expect(probe.callTool({ name: 'no_such_tool', arguments: {} })).rejects.toThrow(); // unknown
    await expect(open.callTool({ name: 'slow', arguments: { ms: 3000 } })).rejects.toThrow(/did not answer/); // timeout
    const abort = new AbortController();
    const cancelled = open.callTool({ name: 'slow', arguments: { ms: 800 } }, undefined, {
      signal: abort.signal,
    });
    setTimeout(() => abort.abort(), 100);
    await expect(cancelled).rejects.toThrow();
    await new Promise((r) => setTimeout(r, 300));
    const recs = records();
    const calls = recs.filter((r) => r.method === 'tools/call');
    const summary = calls.map((r) => `${r.tool} ${r.decision} ${r.outcome}`);
    expect(summary).toEqual([
      'echo allowed ok',
      'slow denied not_called',
      'crash_hidden hidden not_called',
      'no_such_tool denied not_called',
      'slow allowed timeout',
      'slow allowed cancelled',
    ]);
    expect(recs.filter((r) => r.method === 'tools/list')).toHaveLength(1);
    const echo = calls[0]!;
    // No hash without audit.key (#17.13): an unkeyed hash of a short argument is a lookup away.
    expect(echo.args).toEqual({ mode: 'keys', keys: ['password', 'text'] });
    expect(echo.latencyMs).toBeGreaterThan(0);
    await probe.close();
    await open.close();
  });

  it('never contain argument values or secrets in the default mode', () => {
    const raw = runCli(['audit', 'export', '--config', configFile]).stdout;
    expect(raw).not.toContain('hunter2');
    expect(raw).not.toContain('hello');
  });

  it('are served by GET /api/audit with an admin token, newest last', async () => {
    const denied = await fetch(`${gw.adminUrl}/api/audit?limit=2`);
    expect(denied.status).toBe(401);
    const res = await fetch(`${gw.adminUrl}/api/audit?limit=2`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Rec[];
    expect(body).toHaveLength(2);
    expect(body[0]!.seq).toBeLessThan(body[1]!.seq);
  });

  it('are counted in /metrics', async () => {
    const text = await (await fetch(`${gw.adminUrl}/metrics`)).text();
    expect(text).toMatch(
      /warden_requests_total\{server="probe",method="tools\/call",tool="slow",decision="denied"\} 1/,
    );
    expect(text).toContain('warden_request_duration_seconds_bucket');
  });

  it('export as CSV with a header', () => {
    const csv = runCli(['audit', 'export', '--config', configFile, '--format', 'csv'])
      .stdout.trim()
      .split('\n');
    expect(csv[0]).toMatch(/^seq,time,requestKey/);
    expect(csv.length).toBeGreaterThan(5);
  });
});

describe('warden audit verify', () => {
  it('proves the chain intact, and names the first edited, deleted or reordered record', () => {
    const ok = runCli(['audit', 'verify', '--config', configFile]);
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/^ok \d+ records/);
    const db = new Database(dbFile);
    // A record of an allowed call, not the first one (other entries, such as tool.pinned events, come in between).
    const row = db
      .prepare(`SELECT seq, body FROM audit WHERE body LIKE '%"allowed"%' ORDER BY seq LIMIT 1 OFFSET 1`)
      .get() as {
      seq: number;
      body: string;
    };
    db.prepare('UPDATE audit SET body = ? WHERE seq = ?').run(
      row.body.replace('"allowed"', '"denied"'),
      row.seq,
    );
    const edited = runCli(['audit', 'verify', '--config', configFile]);
    expect(edited.status).toBe(1);
    expect(edited.stdout).toContain(`broken at record ${row.seq}: content was edited`);
    db.prepare('UPDATE audit SET body = ? WHERE seq = ?').run(row.body, row.seq);
    db.prepare('DELETE FROM audit WHERE seq = ?').run(row.seq + 1);
    const deleted = runCli(['audit', 'verify', '--config', configFile]);
    expect(deleted.status).toBe(1);
    expect(deleted.stdout).toContain(`broken at record ${row.seq + 2}`);
    db.close();
  });
});
