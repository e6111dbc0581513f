// `warden init --from <client config>`: warden.yaml and starter policies from a desktop client's servers, and a client
// config that runs each server through `warden stdio`, which then works end to end.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { PROBE, ROOT, tempDir, textOf } from '../helpers/gateway.js';

function clientConfig(dir: string): string {
  const file = join(dir, 'claude_desktop_config.json');
  writeFileSync(
    file,
    JSON.stringify({
      globalShortcut: 'Ctrl+Space',
      mcpServers: {
        'My Probe': { command: 'node', args: ['--import', 'tsx', PROBE], cwd: ROOT },
        other: { command: 'node', args: ['--import', 'tsx', PROBE], cwd: ROOT },
      },
    }),
  );
  return file;
}

describe('warden init', () => {
  it('writes warden.yaml and policies, and prints a client config that runs the servers through warden', async () => {
    const dir = tempDir('warden-init-');
    const from = clientConfig(dir);
    const out = join(dir, 'warden');
    const r = runCli(['init', '--from', from, '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    expect(existsSync(join(out, 'warden.yaml'))).toBe(true);
    expect(readdirSync(join(out, 'policies')).sort()).toEqual(['my-probe.json', 'other.json']);
    expect(readFileSync(join(out, 'warden.yaml'), 'utf8')).toContain('policy: ./policies/my-probe.json');
    const client = JSON.parse(r.stdout) as {
      globalShortcut: string;
      mcpServers: Record<string, { command: string; args: string[] }>;
    };
    expect(client.globalShortcut).toBe('Ctrl+Space'); // the rest of the client's settings are kept
    const entry = client.mcpServers['My Probe']!;
    expect(entry.args.slice(1)).toEqual([
      'stdio',
      '--config',
      join(out, 'warden.yaml'),
      '--server',
      'my-probe',
      '--grant',
      'local',
    ]);
    // What the desktop client would start: the probe, behind warden, with the starter policy.
    const mcp = new Client({ name: 'desktop', version: '1.0.0' });
    await mcp.connect(
      new StdioClientTransport({ command: entry.command, args: entry.args, stderr: 'ignore' }),
    );
    const { tools } = await mcp.listTools();
    expect(tools.map((t) => t.name)).toContain('echo');
    expect(textOf(await mcp.callTool({ name: 'echo', arguments: { text: 'through warden' } }))).toBe(
      'through warden',
    );
    await mcp.close();
    // Again without --force: refused, nothing replaced.
    const again = runCli(['init', '--from', from, '--out', out]);
    expect(again.status).toBe(2);
    expect(again.stderr).toContain('exists; not replaced');
  }, 60_000);

  it('writes the client config over the original with --write-client, keeping a backup', () => {
    const dir = tempDir('warden-init-');
    const from = clientConfig(dir);
    const original = readFileSync(from, 'utf8');
    const r = runCli(['init', '--from', from, '--out', join(dir, 'warden'), '--write-client']);
    expect(r.status, r.stderr).toBe(0);
    const backups = readdirSync(dir).filter((f) => f.startsWith('claude_desktop_config.json.bak-'));
    expect(backups).toHaveLength(1);
    expect(readFileSync(join(dir, backups[0]!), 'utf8')).toBe(original);
    expect(readFileSync(from, 'utf8')).toContain('"stdio"');
  }, 60_000);
});
