// Finding (issue 11): `warden audit export` (and query) through a pipe stopped after the first few hundred records:
// the command exited before Node had flushed stdout to the pipe. Found by the disk-full fault test.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openAuditStore } from '../../src/store/open.js';
import { runCli, writeConfig } from '../helpers/cli.js';
import { tempDir } from '../helpers/gateway.js';

describe('warden audit export through a pipe', () => {
  it('writes every record before it exits (the output was cut short by process.exit)', async () => {
    const db = join(tempDir('warden-export-'), 'audit.db');
    const store = await openAuditStore(`sqlite:${db}`);
    const entries = Array.from({ length: 1000 }, (_, i) => ({
      time: new Date(Date.UTC(2026, 0, 1, 0, 0, 0, i)).toISOString(),
      kind: 'decision' as const,
      requestKey: `req-${i}`,
      body: {
        v: 1,
        method: 'tools/call',
        server: 'probe',
        tool: 'echo',
        decision: 'allowed',
        pad: 'x'.repeat(100),
      },
    }));
    for (let i = 0; i < entries.length; i += 500) await store.append(entries.slice(i, i + 500));
    await store.close();
    const config = writeConfig(`mcpServers:\n  probe:\n    command: node\nstorage: sqlite:${db}\n`);
    // spawnSync reads through a pipe: the case that lost records (about 400 KB here; the pipe holds 64 KB).
    const exported = runCli(['audit', 'export', '--config', config]);
    expect(exported.status, exported.stderr).toBe(0);
    expect(exported.stdout.trim().split('\n')).toHaveLength(1000);
    const queried = runCli(['audit', 'query', '--config', config, '--json', '--limit', '1000']);
    expect(queried.stdout.trim().split('\n')).toHaveLength(1000);
  });
});
