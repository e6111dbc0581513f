// Issue #17 through the admin API: `?status=all` as the CLI has it.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  adminRequest,
  connect,
  PROBE,
  ROOT,
  type RunningGateway,
  startGateway,
  tempDir,
} from '../helpers/gateway.js';

const ADMIN = 'hardening-admin-test-token';
process.env.WARDEN_ADMIN_TOKEN = ADMIN;

let gw: RunningGateway;

beforeAll(async () => {
  const policy = join(tempDir('warden-h8-'), 'policy.json');
  writeFileSync(
    policy,
    JSON.stringify({
      version: '1',
      default: 'allow',
      tools: { echo: { action: 'require_approval', approval: { mode: 'async' } } },
    }),
  );
  gw = await startGateway(`
mcpServers:
  probe:
    command: node
    args: ["--import", "tsx", "${PROBE}"]
    cwd: ${ROOT}
    policy: ${policy}
storage: sqlite:${join(tempDir('warden-h8-'), 'warden.db')}
`);
}, 60_000);

afterAll(async () => {
  await gw?.close();
});

describe('#17.27 GET /api/approvals?status=all', () => {
  it('#17.27 lists approvals of every status with ?status=all, as `warden approvals list --status all` does', async () => {
    const client = await connect(`${gw.mcpUrl}/probe`);
    const first = (await client.callTool({ name: 'echo', arguments: { text: 'a' } })) as {
      _meta?: Record<string, { approvalId?: string }>;
    };
    await client.callTool({ name: 'echo', arguments: { text: 'b' } });
    await client.close();
    const denied = String(first._meta?.['mcp-warden/decision']?.approvalId);
    expect((await adminRequest(gw, ADMIN, `/api/approvals/${denied}/deny`, { method: 'POST' })).status).toBe(
      200,
    );
    const all = await adminRequest(gw, ADMIN, '/api/approvals?status=all');
    expect(all.status).toBe(200);
    expect(all.body.map((a) => a.status).sort()).toEqual(['pending', 'rejected']);
    const pending = await adminRequest(gw, ADMIN, '/api/approvals?status=pending');
    expect(pending.body.map((a) => a.status)).toEqual(['pending']);
  }, 60_000);

  it('#17.27 still refuses a status that does not exist, naming "all" among the choices', async () => {
    const r = await adminRequest(gw, ADMIN, '/api/approvals?status=everything');
    expect(r.status).toBe(400);
    expect(String(r.body.error)).toContain('or all');
  });
});
