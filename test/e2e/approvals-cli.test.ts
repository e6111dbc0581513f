// `warden approvals list|show|approve|deny` against a served gateway: a held call decided from a shell.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type ServeProcess, serveCli, writeConfig } from '../helpers/cli.js';
import { connect, PROBE, ROOT, textOf } from '../helpers/gateway.js';

let file: string;
let gw: ServeProcess;

beforeAll(async () => {
  file = writeConfig(`
mcpServers:
  probe:
    command: node
    args: ["--import", "tsx", "${PROBE}"]
    cwd: ${ROOT}
    policy: { version: "1", default: "allow", tools: { echo: { action: require_approval } } }
`);
  gw = await serveCli(file);
});

afterAll(async () => {
  await gw.stop();
});

/** The pending approvals, as `warden approvals list --json` prints them (one object per line). */
function listPending(): Array<Record<string, unknown>> {
  const r = runCli(['approvals', 'list', '--config', file, '--json']);
  expect(r.status, r.stderr).toBe(0);
  return r.stdout
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

async function waitPending(text: string): Promise<string> {
  for (let i = 0; i < 100; i++) {
    const found = listPending().find((a) => (a.arguments as { text?: string }).text === text);
    if (found) return String(found.id);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('no pending approval');
}

describe('warden approvals', () => {
  it('approves a held call from the shell; the gateway forwards it', async () => {
    const client = await connect(`${gw.mcpUrl}/probe`);
    const call = client.callTool({ name: 'echo', arguments: { text: 'from the shell' } });
    const id = await waitPending('from the shell');
    const shown = runCli(['approvals', 'show', id, '--config', file]);
    expect(shown.status).toBe(0);
    expect(shown.stdout).toContain('probe/echo');
    expect(shown.stdout).toContain('"text": "from the shell"');
    const approved = runCli(['approvals', 'approve', id, '--note', 'looks fine', '--config', file]);
    expect(approved.status, approved.stderr).toBe(0);
    expect(approved.stdout).toBe(`${id} approved\n`);
    const result = await call;
    expect(textOf(result)).toBe('from the shell');
    // Deciding again is a usage error naming the state.
    const again = runCli(['approvals', 'deny', id, '--config', file]);
    expect(again.status).toBe(2);
    expect(again.stderr).toContain(
      `approval ${id} was already approved by (cli) (looks fine); it cannot be decided any more`,
    );
    await client.close();
  }, 30_000);

  it('denies with a note the agent reads', async () => {
    const client = await connect(`${gw.mcpUrl}/probe`);
    const call = client.callTool({ name: 'echo', arguments: { text: 'risky' } });
    const id = await waitPending('risky');
    expect(runCli(['approvals', 'deny', id, '--note', 'too risky', '--config', file]).status).toBe(0);
    const result = await call;
    expect(textOf(result)).toBe(
      '[POLICY DENIED] The call was rejected by (cli): too risky. It was not run; do not make it again unless a person asks for it',
    );
    await client.close();
  }, 30_000);

  it('exits 2 for an approval that does not exist', () => {
    const r = runCli(['approvals', 'approve', 'apr_nope', '--config', file]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('no approval apr_nope');
  });
});
