// The grant store contract, run unchanged against SQLite (a temp file) and PostgreSQL (a fresh schema per test),
// and a revoke on one gateway seen by another that shares the PostgreSQL database.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { WardenError } from '../../src/errors.js';
import type { Grant, GrantStore } from '../../src/store/grants.js';
import { openGrantStore } from '../../src/store/open.js';
import { connect, PROBE, ROOT, type RunningGateway, startGateway } from '../helpers/gateway.js';
import { dropSchemas, freshSchemaName, pgUrl, shouldRunPg } from '../helpers/services.js';

const dirs: string[] = [];
const schemas: string[] = [];
afterAll(async () => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  if (schemas.length > 0) await dropSchemas(schemas);
});

const runPg = await shouldRunPg('grant store (postgres)');

const backends: Array<{ name: string; run: boolean; open: () => Promise<GrantStore> }> = [
  {
    name: 'sqlite',
    run: true,
    open: () => {
      const dir = mkdtempSync(join(tmpdir(), 'warden-grants-'));
      dirs.push(dir);
      return openGrantStore(`sqlite:${join(dir, 'warden.db')}`);
    },
  },
  {
    name: 'postgres',
    run: runPg,
    open: () => {
      const schema = freshSchemaName('warden_grants');
      schemas.push(schema);
      return openGrantStore(pgUrl(), { postgres: { schema } });
    },
  },
];

function grant(id: string, label: string, more: Partial<Grant> = {}): Grant {
  return {
    id,
    label,
    tokenHash: `${id}`.padEnd(64, '0'),
    servers: undefined,
    groups: [],
    role: undefined,
    policy: undefined,
    createdAt: '2026-11-29T00:00:00.000Z',
    lastUsedAt: undefined,
    rotatedAt: undefined,
    revokedAt: undefined,
    ...more,
  };
}

for (const backend of backends) {
  describe.runIf(backend.run)(`grant store (${backend.name})`, () => {
    it('gives back what it was given, by id and by label, oldest first', async () => {
      const store = await backend.open();
      const full = grant('00000000000000a1', 'ci-runner', {
        servers: ['github', 'fs'],
        groups: ['ci', 'bots'],
        policy: { source: 'grant ci-runner', text: '{"version":"1","default":"allow"}' },
      });
      const admin = grant('00000000000000a2', 'ops', {
        role: 'approver',
        createdAt: '2026-11-29T00:00:01.000Z',
      });
      await store.create(full);
      await store.create(admin);
      expect(await store.get(full.id)).toEqual(full);
      expect(await store.find('ci-runner')).toEqual(full);
      expect(await store.find(admin.id)).toEqual(admin);
      expect(await store.find('nobody')).toBeUndefined();
      expect((await store.list()).map((g) => g.label)).toEqual(['ci-runner', 'ops']);
      await store.close();
    });

    it('refuses a second live grant with a label, and frees the label when the first is revoked', async () => {
      const store = await backend.open();
      await store.create(grant('00000000000000b1', 'laptop'));
      const err = await store.create(grant('00000000000000b2', 'laptop')).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WardenError);
      expect((err as WardenError).code).toBe('CONFLICT');
      const revoked = await store.revoke('00000000000000b1', '2026-11-29T01:00:00.000Z');
      expect(revoked?.revokedAt).toBe('2026-11-29T01:00:00.000Z');
      // Revoking twice keeps the first time.
      expect((await store.revoke('00000000000000b1', '2026-11-29T02:00:00.000Z'))?.revokedAt).toBe(
        '2026-11-29T01:00:00.000Z',
      );
      expect(await store.find('laptop')).toBeUndefined();
      await store.create(grant('00000000000000b3', 'laptop'));
      expect((await store.find('laptop'))?.id).toBe('00000000000000b3');
      expect(await store.revoke('ffffffffffffffff', '2026-11-29T01:00:00.000Z')).toBeUndefined();
      await store.close();
    });

    it('rotates the token of a live grant only, and records use', async () => {
      const store = await backend.open();
      await store.create(grant('00000000000000c1', 'bot'));
      expect(await store.rotate('00000000000000c1', 'f'.repeat(64), '2026-11-29T03:00:00.000Z')).toBe(true);
      await store.touch('00000000000000c1', '2026-11-29T04:00:00.000Z');
      const g = await store.get('00000000000000c1');
      expect(g).toMatchObject({
        tokenHash: 'f'.repeat(64),
        rotatedAt: '2026-11-29T03:00:00.000Z',
        lastUsedAt: '2026-11-29T04:00:00.000Z',
      });
      await store.revoke('00000000000000c1', '2026-11-29T05:00:00.000Z');
      expect(await store.rotate('00000000000000c1', 'e'.repeat(64), '2026-11-29T06:00:00.000Z')).toBe(false);
      await store.close();
    });
  });
}

describe.runIf(runPg)('grants shared by two gateways on one PostgreSQL database', () => {
  const running: RunningGateway[] = [];
  afterAll(async () => {
    await Promise.all(running.map((g) => g.close()));
  });

  it('lets a token made on one gateway in on the other, and a revoke on one stop it on both', async () => {
    // The default schema of the database: both gateways (and this test) must see the same tables.
    const admin = 'grant-store-test-admin';
    process.env.WARDEN_ADMIN_TOKEN = admin;
    const yaml = `
mcpServers:
  probe:
    command: node
    args: ["--import", "tsx", "${PROBE}"]
    cwd: ${ROOT}
storage: ${pgUrl()}
auth: { anonymous: false }
`;
    const a = await startGateway(yaml);
    running.push(a);
    const b = await startGateway(yaml);
    running.push(b);
    const label = `shared-${process.pid}-${Date.now()}`;
    const created = await fetch(`${a.adminUrl}/api/grants`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ label }),
    });
    expect(created.status).toBe(201);
    const { id, token } = (await created.json()) as { id: string; token: string };
    const headers = { Authorization: `Bearer ${token}` };
    const onB = await connect(`${b.mcpUrl}/probe`, {}, headers);
    await onB.callTool({ name: 'echo', arguments: { text: 'in' } });
    const revoked = await fetch(`${a.adminUrl}/api/grants/${id}/revoke`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}` },
    });
    expect(revoked.status).toBe(200);
    await expect(onB.callTool({ name: 'echo', arguments: { text: 'out' } })).rejects.toThrow(/Unauthorized/);
  });
});
