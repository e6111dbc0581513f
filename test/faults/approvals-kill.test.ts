// Fault injection: `warden serve` killed with SIGKILL while approvals are pending (one held call, one async) and other
// calls are under way. After a restart on the same storage the approvals are still pending, with what they were
// about, and can be decided; the approved async call then goes through exactly once.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type ServeProcess, serveCli, writeConfig } from '../helpers/cli.js';
import { connect, PROBE, ROOT, tempDir, textOf } from '../helpers/gateway.js';
import { until } from './helpers.js';

const TOKEN = 'faults-admin-token-0123456789';

type Json = Record<string, unknown>;

async function api(
  gw: ServeProcess,
  path: string,
  method = 'GET',
): Promise<{ status: number; body: Json & Json[] }> {
  const res = await fetch(`${gw.adminUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
  });
  return { status: res.status, body: (await res.json()) as Json & Json[] };
}

function meta(result: unknown): Json {
  return ((result as { _meta?: Json })._meta?.['mcp-warden/decision'] ?? {}) as Json;
}

describe('gateway killed with approvals pending', () => {
  const running: ServeProcess[] = [];
  const previous = process.env.WARDEN_ADMIN_TOKEN;

  afterAll(async () => {
    // (ServeProcess.stop() waits for an exit that a process killed earlier has already had.)
    for (const gw of running) if (gw.child.exitCode === null && gw.child.signalCode === null) await gw.stop();
    if (previous === undefined) delete process.env.WARDEN_ADMIN_TOKEN;
    else process.env.WARDEN_ADMIN_TOKEN = previous;
  });

  it('keeps pending approvals across kill -9 and a restart, decidable there', async () => {
    process.env.WARDEN_ADMIN_TOKEN = TOKEN; // inherited by the gateway processes
    const dir = tempDir('warden-kill-approvals-');
    const policy = join(dir, 'policy.json');
    writeFileSync(
      policy,
      JSON.stringify({
        version: '1',
        default: 'allow',
        tools: {
          slow: {
            action: 'require_approval',
            reason: 'Slow calls need a person',
            approval: { timeout: '10m' },
          },
          echo: {
            action: 'require_approval',
            reason: 'Echoes need a person',
            approval: { mode: 'async', timeout: '10m' },
          },
        },
      }),
    );
    const configFile = writeConfig(
      `mcpServers:\n  probe:\n    command: node\n    args: ["--import", "tsx", "${PROBE}"]\n    cwd: ${ROOT}\n    policy: ${policy}\nstorage: sqlite:${join(dir, 'warden.db')}\n`,
    );
    const first = await serveCli(configFile);
    running.push(first);
    const client = await connect(`${first.mcpUrl}/probe`);
    // Held: the agent waits on this call when the gateway dies.
    const held = client.callTool({ name: 'slow', arguments: { ms: 1 } }).catch((e: Error) => e);
    // Async: answered at once with the approval id.
    const asked = await client.callTool({ name: 'echo', arguments: { text: 'approve me' } });
    expect(asked.isError).toBe(true);
    const asyncId = String(meta(asked).approvalId);
    expect(
      await until(async () => (await api(first, '/api/approvals?status=pending')).body.length === 2, 10_000),
    ).toBe(true);
    const before = (await api(first, '/api/approvals?status=pending')).body;
    // Other calls under way when the gateway is killed.
    const busy = Array.from({ length: 8 }, () =>
      client.callTool({ name: 'pid', arguments: {} }).catch((e: Error) => e),
    );
    const exited = new Promise((r) => first.child.once('exit', r));
    first.child.kill('SIGKILL');
    await exited;
    expect(await held).toBeInstanceOf(Error);
    await Promise.all(busy);

    const second = await serveCli(configFile);
    running.push(second);
    const after = (await api(second, '/api/approvals?status=pending')).body;
    const pick = (list: Json[]) =>
      list
        .map((a) => ({
          id: a.id,
          tool: a.tool,
          arguments: a.arguments,
          rule: a.rule,
          createdAt: a.createdAt,
        }))
        .sort((a, b) => String(a.id).localeCompare(String(b.id)));
    expect(pick(after)).toEqual(pick(before));
    expect(after.map((a) => a.tool).sort()).toEqual(['echo', 'slow']);

    // Decidable on the new process: the async one is approved and goes through once, the held one is denied.
    expect((await api(second, `/api/approvals/${asyncId}/approve`, 'POST')).status).toBe(200);
    const heldId = String(after.find((a) => a.tool === 'slow')!.id);
    expect((await api(second, `/api/approvals/${heldId}/deny`, 'POST')).status).toBe(200);
    expect((await api(second, '/api/approvals?status=pending')).body).toEqual([]);
    const again = await connect(`${second.mcpUrl}/probe`);
    const through = await again.callTool({ name: 'echo', arguments: { text: 'approve me' } });
    expect(through.isError).toBeFalsy();
    expect(textOf(through)).toBe('approve me');
    const replay = await again.callTool({ name: 'echo', arguments: { text: 'approve me' } });
    expect(replay.isError).toBe(true);
    expect(meta(replay).approvalId).not.toBe(asyncId);
    await again.close();
  }, 60_000);
});
