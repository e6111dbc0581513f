// `warden pins list|accept` on a config's storage: the changed definitions, and accepting one (audited).
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SqlitePinStore } from '../../src/store/pins-sqlite.js';
import { runCli, writeConfig } from '../helpers/cli.js';
import { PROBE, ROOT, tempDir } from '../helpers/gateway.js';

describe('warden pins', () => {
  it('lists pins, shows a changed one, accepts it, and refuses to accept twice', async () => {
    const db = join(tempDir('warden-pins-cli-'), 'warden.db');
    const file = writeConfig(`
mcpServers:
  probe:
    command: node
    args: ["--import", "tsx", "${PROBE}"]
    cwd: ${ROOT}
storage: sqlite:${db}
`);
    const pins = new SqlitePinStore(db);
    const at = new Date().toISOString();
    await pins.check('probe', 'echo', 'a'.repeat(64), '{"name":"echo"}', at);
    await pins.check('probe', 'echo', 'b'.repeat(64), '{"name":"echo","description":"new"}', at);
    await pins.check('probe', 'pid', 'c'.repeat(64), '{"name":"pid"}', at);
    await pins.close();

    const all = runCli(['pins', 'list', '--config', file]);
    expect(all.status, all.stderr).toBe(0);
    expect(all.stdout).toContain(`CHANGED  probe/echo  ${'a'.repeat(12)} -> ${'b'.repeat(12)}`);
    expect(all.stdout).toContain('pinned   probe/pid');
    const changed = runCli(['pins', 'list', '--changed', '--json', '--config', file]);
    const rows = changed.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(rows).toEqual([expect.objectContaining({ server: 'probe', tool: 'echo', changed: true })]);

    const accepted = runCli(['pins', 'accept', 'probe', 'echo', '--config', file]);
    expect(accepted.status, accepted.stderr).toBe(0);
    expect(accepted.stdout).toBe(`probe/echo accepted (${'b'.repeat(12)})\n`);
    const again = runCli(['pins', 'accept', 'probe', 'echo', '--config', file]);
    expect(again.status).toBe(2);
    expect(again.stderr).toContain('probe/echo has no changed definition to accept');
    const events = runCli(['audit', 'query', '--json', '--config', file]).stdout;
    expect(events).toContain('"method":"tool.definition_accepted"');
  }, 60_000);
});
