// kill -9 under load: every call the agent saw answered as allowed has its audit record, and the chain verifies.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/audit/chain.js';
import { argsMac, auditKey } from '../../src/audit/keys.js';
import { runCli, serveCli, writeConfig } from '../helpers/cli.js';
import { connect, PROBE, ROOT, tempDir, textOf } from '../helpers/gateway.js';

/** Keys the arguments' hash, by which records are matched to calls (#17.13: unkeyed, there is none). */
const AUDIT_KEY = 'test-audit-key-0123456789abcdefghijklmnop';

describe('audit durability', () => {
  it('keeps the record of every acknowledged call when the gateway is killed with SIGKILL', async () => {
    const db = join(tempDir('warden-crash-'), 'audit.db');
    const configFile = writeConfig(
      `mcpServers:\n  probe:\n    command: node\n    args: ["--import", "tsx", "${PROBE}"]\n    cwd: ${ROOT}\nstorage: sqlite:${db}\naudit:\n  key: ${AUDIT_KEY}\n`,
    );
    const gw = await serveCli(configFile);
    const client = await connect(`${gw.mcpUrl}/probe`);
    const acknowledged: string[] = [];
    let stop = false;
    let n = 0;
    const worker = async () => {
      while (!stop && n < 100_000) {
        const args = { text: `call-${n++}` };
        try {
          const result = await client.callTool({ name: 'echo', arguments: args });
          if (textOf(result) === args.text) {
            acknowledged.push(argsMac(auditKey(AUDIT_KEY), canonicalJson(args))!);
          }
        } catch {
          // the gateway is gone: this call was never acknowledged
        }
      }
    };
    const workers = Array.from({ length: 8 }, worker);
    await new Promise((r) => setTimeout(r, 1500));
    const exited = new Promise((r) => gw.child.once('exit', r));
    gw.child.kill('SIGKILL');
    stop = true;
    await Promise.all(workers);
    await exited;
    expect(acknowledged.length).toBeGreaterThan(50);

    const verify = runCli(['audit', 'verify', '--config', configFile]);
    expect(verify.status, verify.stdout + verify.stderr).toBe(0);
    const out = runCli(['audit', 'export', '--config', configFile]).stdout;
    const recorded = new Set(
      out
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { method: string; args: { hash: string } | null })
        .filter((r) => r.method === 'tools/call')
        .map((r) => r.args?.hash),
    );
    const missing = acknowledged.filter((h) => !recorded.has(h));
    expect(missing).toEqual([]);
  }, 60_000);
});
