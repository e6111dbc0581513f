// Upstream credentials per user at rest: sealed with AES-256-GCM under a key outside the database, on SQLite and on
// PostgreSQL. The tests read the raw rows back: no token appears in them, a row moved to another user does not open,
// an altered one does not open, a rotated key still opens old rows, and revocation deletes.
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import {
  loadCredentialKey,
  openSecret,
  parseCredentialKey,
  sealSecret,
} from '../../src/identity/upstream/crypto.js';
import { UpstreamTokenStore } from '../../src/identity/upstream/token-store.js';
import { tempDir } from '../helpers/gateway.js';
import { dropSchemas, freshSchemaName, pgUrl, shouldRunPg } from '../helpers/services.js';

const dirs: string[] = [];
const schemas: string[] = [];
afterAll(async () => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  if (schemas.length > 0) await dropSchemas(schemas);
});

const runPg = await shouldRunPg('upstream token store (postgres)');
const KEY = parseCredentialKey(randomBytes(32).toString('hex'), 'test');
const ACCESS = 'upstream-access-token-PLAINTEXT-abc123';
const REFRESH = 'upstream-refresh-token-PLAINTEXT-def456';
const ALICE = 'http://127.0.0.1:1/idp|alice';
const BOB = 'http://127.0.0.1:1/idp|bob';

describe('credential sealing (crypto.ts)', () => {
  it('#20.b1 seals with a fresh nonce each time and opens only with the same key and context', () => {
    const a = sealSecret(KEY, ACCESS, 'ctx');
    const b = sealSecret(KEY, ACCESS, 'ctx');
    expect(a).not.toBe(b);
    expect(a).not.toContain(ACCESS);
    expect(openSecret([KEY], a, 'ctx')).toBe(ACCESS);
    expect(() => openSecret([KEY], a, 'other-ctx')).toThrow();
    const other = parseCredentialKey(randomBytes(32).toString('base64'), 'test');
    expect(() => openSecret([other], a, 'ctx')).toThrow(/no credential key/);
    // One flipped bit in the ciphertext: the GCM tag refuses it.
    const parts = a.split('.');
    const body = Buffer.from(parts[3]!, 'base64url');
    body[0]! ^= 1;
    expect(() =>
      openSecret([KEY], [...parts.slice(0, 3), body.toString('base64url')].join('.'), 'ctx'),
    ).toThrow();
  });

  it('#20.b2 refuses weak keys and reads a key from a file or the environment', () => {
    expect(() => parseCredentialKey('correct horse battery staple', 'x')).toThrow(/32 random bytes/);
    expect(() => parseCredentialKey('ab'.repeat(31), 'x')).toThrow(/32 random bytes/);
    const dir = tempDir('warden-credkey-');
    dirs.push(dir);
    const file = join(dir, 'key');
    const hex = randomBytes(32).toString('hex');
    writeFileSync(file, `${hex}\n`);
    expect(loadCredentialKey({ file }).key.toString('hex')).toBe(hex);
    process.env.WARDEN_TEST_CREDKEY = hex;
    expect(loadCredentialKey({ env: 'WARDEN_TEST_CREDKEY' }).id).toBe(loadCredentialKey({ file }).id);
    delete process.env.WARDEN_TEST_CREDKEY;
    expect(() => loadCredentialKey({ env: 'WARDEN_TEST_CREDKEY' })).toThrow(/is empty/);
  });
});

/** The store on one backend, and a way to read its raw rows. */
interface Backend {
  open(keys?: (typeof KEY)[]): Promise<UpstreamTokenStore>;
  rawRows(): Promise<Array<Record<string, unknown>>>;
  /** Moves alice's sealed refresh token into bob's row, as someone with write access to the database could. */
  swapIntoBob(): Promise<void>;
}

function sqliteBackend(): Backend {
  const dir = tempDir('warden-upcred-');
  dirs.push(dir);
  const path = join(dir, 'warden.db');
  return {
    open: (keys = [KEY]) => UpstreamTokenStore.open(`sqlite:${path}`, keys),
    rawRows: async () => {
      const db = new Database(path, { readonly: true });
      try {
        return db.prepare('SELECT * FROM upstream_credentials').all() as Array<Record<string, unknown>>;
      } finally {
        db.close();
      }
    },
    swapIntoBob: async () => {
      const db = new Database(path);
      db.prepare(
        `UPDATE upstream_credentials SET refresh_token = (SELECT refresh_token FROM upstream_credentials WHERE subject = ?) WHERE subject = ?`,
      ).run(ALICE, BOB);
      db.close();
    },
  };
}

function pgBackend(): Backend {
  const schema = freshSchemaName('warden_upcred');
  schemas.push(schema);
  const query = async (sql: string, params: unknown[] = []) => {
    const client = new pg.Client({ connectionString: pgUrl() });
    await client.connect();
    try {
      return (await client.query(sql, params)).rows as Array<Record<string, unknown>>;
    } finally {
      await client.end();
    }
  };
  return {
    open: (keys = [KEY]) => UpstreamTokenStore.open(pgUrl(), keys, { schema }),
    rawRows: () => query(`SELECT * FROM "${schema}".upstream_credentials`),
    swapIntoBob: async () => {
      await query(
        `UPDATE "${schema}".upstream_credentials SET refresh_token = (SELECT refresh_token FROM "${schema}".upstream_credentials WHERE subject = $1) WHERE subject = $2`,
        [ALICE, BOB],
      );
    },
  };
}

const backends: Array<[string, () => Backend, boolean]> = [
  ['sqlite', sqliteBackend, true],
  ['postgres', pgBackend, runPg],
];

for (const [name, make, run] of backends) {
  describe.runIf(run)(`upstream token store (${name})`, () => {
    it(`#20.b3 keeps tokens encrypted at rest: the raw row holds no token (${name})`, async () => {
      const backend = make();
      const store = await backend.open();
      await store.put({
        upstream: 'tracker',
        subject: ALICE,
        accessToken: ACCESS,
        refreshToken: REFRESH,
        expiresAt: 1_900_000_000_000,
        scope: 'read write',
      });
      const rows = await backend.rawRows();
      expect(rows).toHaveLength(1);
      const text = JSON.stringify(rows);
      expect(text).not.toContain(ACCESS);
      expect(text).not.toContain(REFRESH);
      expect(text).not.toContain('PLAINTEXT');
      expect(String(rows[0]!.refresh_token)).toMatch(/^v1\.[0-9a-f]{8}\./);
      const back = await store.get('tracker', ALICE);
      expect(back).toMatchObject({
        accessToken: ACCESS,
        refreshToken: REFRESH,
        expiresAt: 1_900_000_000_000,
      });
      // Listings never carry a token.
      const list = await store.list(ALICE);
      expect(JSON.stringify(list)).not.toContain('PLAINTEXT');
      expect(list).toEqual([expect.objectContaining({ upstream: 'tracker', hasRefreshToken: true })]);
      await store.close();
    });

    it(`#20.b4 a sealed token copied into another user's row does not open there (${name})`, async () => {
      const backend = make();
      const store = await backend.open();
      await store.put({ upstream: 'tracker', subject: ALICE, refreshToken: REFRESH });
      await store.put({ upstream: 'tracker', subject: BOB, refreshToken: 'bob-refresh' });
      await backend.swapIntoBob();
      await expect(store.get('tracker', BOB)).rejects.toThrow();
      expect((await store.get('tracker', ALICE))?.refreshToken).toBe(REFRESH);
      await store.close();
    });

    it(`#20.b5 a rotated key still opens old rows; a refresh re-seals under the new key (${name})`, async () => {
      const backend = make();
      const old = await backend.open([KEY]);
      await old.put({ upstream: 'tracker', subject: ALICE, refreshToken: REFRESH });
      await old.close();
      const fresh = parseCredentialKey(randomBytes(32).toString('hex'), 'new');
      const store = await backend.open([fresh, KEY]);
      expect((await store.get('tracker', ALICE))?.refreshToken).toBe(REFRESH);
      await store.put({ upstream: 'tracker', subject: ALICE, refreshToken: 'rotated-refresh' });
      expect(String((await backend.rawRows())[0]!.refresh_token)).toContain(`.${fresh.id}.`);
      await store.close();
    });

    it(`#20.b6 revocation deletes one user's credential, or every user's at an upstream (${name})`, async () => {
      const backend = make();
      const store = await backend.open();
      await store.put({ upstream: 'tracker', subject: ALICE, refreshToken: REFRESH });
      await store.put({ upstream: 'tracker', subject: BOB, refreshToken: 'b' });
      await store.put({ upstream: 'wiki', subject: ALICE, refreshToken: 'w' });
      expect(await store.revoke('tracker', ALICE)).toBe(1);
      expect(await store.get('tracker', ALICE)).toBeUndefined();
      expect((await store.get('tracker', BOB))?.refreshToken).toBe('b');
      expect(await store.revoke('tracker')).toBe(1);
      expect((await store.list()).map((c) => `${c.upstream}:${c.subject}`)).toEqual([`wiki:${ALICE}`]);
      await store.close();
    });
  });
}
