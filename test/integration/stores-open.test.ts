// openStores() (src/store/stores.ts): a start that fails on a later store closes the stores it had already opened, so
// a gateway that cannot start leaves no SQLite connection (its -wal file) or spool behind.
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { resolveConfig } from '../../src/config/resolve.js';
import { createGateway } from '../../src/gateway.js';
import { openStores } from '../../src/store/stores.js';

const log = pino({ level: 'silent' });
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A config on a fresh SQLite file whose state URL cannot open (what config validation would refuse, set after it). */
function failingConfig() {
  const dir = mkdtempSync(join(tmpdir(), 'warden-stores-'));
  dirs.push(dir);
  const config = configIn(dir);
  config.state = 'bogus:';
  return { dir, config };
}

function configIn(dir: string) {
  const file = join(dir, 'warden.yaml');
  const yaml = 'storage: sqlite:warden.db\nservers:\n  fs:\n    command: node\n    args: [-e, ""]\n';
  writeFileSync(file, yaml);
  return resolveConfig(parseConfig(yaml, file));
}

describe('#22.1 stores open in order and close on a failed start', () => {
  it('#22.1a opens every store and closes them all: no -wal file is left', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'warden-stores-'));
    dirs.push(dir);
    const stores = await openStores(configIn(dir), log);
    expect(existsSync(join(dir, 'warden.db-wal'))).toBe(true);
    await stores.close();
    expect(readdirSync(dir).filter((f) => f.endsWith('-wal'))).toEqual([]);
  });

  it('#22.1b a state URL that cannot open closes the SQLite stores opened before it', async () => {
    // The counter store is the first to fail.
    const { dir, config } = failingConfig();
    await expect(openStores(config, log)).rejects.toThrow(/unsupported state URL/);
    expect(readdirSync(dir).filter((f) => f.endsWith('-wal'))).toEqual([]);
  });

  it('#22.1c createGateway passes the error on and leaves nothing open', async () => {
    const { dir, config } = failingConfig();
    await expect(createGateway(config, { log })).rejects.toThrow(/unsupported state URL/);
    expect(readdirSync(dir).filter((f) => f.endsWith('-wal'))).toEqual([]);
  });
});
