// Fault injection: the disk under the SQLite audit log (and its spool) fills up. A small tmpfs is mounted for the
// database and then filled, under a running `warden serve`: calls fail closed with a clear reason, the gateway stays
// up, and once space returns calls go through again and every acknowledged call has its record.
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/audit/chain.js';
import { argsMac, auditKey } from '../../src/audit/keys.js';
import { runCli, type ServeProcess, serveCli, writeConfig } from '../helpers/cli.js';
import { connect, PROBE, ROOT, tempDir, textOf } from '../helpers/gateway.js';
import { metric, until } from './helpers.js';

/** Keys the arguments' hash, by which records are matched to calls (#17.13: unkeyed, there is none). */
const AUDIT_KEY = 'test-audit-key-0123456789abcdefghijklmnop';

/** Mounts a tmpfs of `size` on a fresh directory; undefined (and why) when this machine does not allow it. */
function mountTmpfs(size: string): { dir: string } | { why: string } {
  const dir = mkdtempSync(join(tmpdir(), 'warden-diskfull-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'pipe' });
    return { dir };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    const e = err as { stderr?: Buffer; message: string };
    return { why: (e.stderr?.toString() || e.message).trim() };
  }
}

/** Fills the file system with one file until it refuses even a byte. */
function fill(path: string): void {
  const fd = openSync(path, 'w');
  try {
    for (const size of [1 << 20, 1 << 12, 1]) {
      const chunk = Buffer.alloc(size, 0x61);
      for (;;) {
        try {
          writeSync(fd, chunk);
        } catch {
          break;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
}

const mounted = mountTmpfs('16m');
if ('why' in mounted) {
  console.warn(
    `[skip] disk full for SQLite: cannot mount a tmpfs here (${mounted.why}); this test is SKIPPED (it needs root with CAP_SYS_ADMIN)`,
  );
}

describe('disk full under the SQLite audit log', () => {
  let gw: ServeProcess | undefined;

  afterAll(async () => {
    await gw?.stop();
    if ('dir' in mounted) {
      execFileSync('umount', ['-l', mounted.dir]);
      rmSync(mounted.dir, { recursive: true, force: true });
    }
  });

  it.runIf('dir' in mounted)(
    'refuses calls with a clear reason while the disk is full, stays up, and recovers when space returns',
    async () => {
      const dir = (mounted as { dir: string }).dir;
      const configFile = writeConfig(
        `mcpServers:\n  probe:\n    command: node\n    args: ["--import", "tsx", "${PROBE}"]\n    cwd: ${ROOT}\nstorage: sqlite:${join(dir, 'audit.db')}\naudit:\n  key: ${AUDIT_KEY}\n`,
      );
      gw = await serveCli(configFile);
      const client = await connect(`${gw.mcpUrl}/probe`);
      const acknowledged: string[] = [];
      const call = async (text: string) => {
        const args = { text };
        const result = await client.callTool({ name: 'echo', arguments: args });
        if (result.isError !== true && textOf(result) === text) {
          acknowledged.push(argsMac(auditKey(AUDIT_KEY), canonicalJson(args))!);
        }
        return result;
      };
      for (let i = 0; i < 20; i++) expect(textOf(await call(`before-${i}`))).toBe(`before-${i}`);

      const filler = join(dir, 'filler');
      fill(filler);
      // The spool's last page may still take a few records; soon every call is refused.
      let refused: Awaited<ReturnType<typeof call>> | undefined;
      for (let i = 0; i < 500 && refused === undefined; i++) {
        const r = await call(`full-${i}`);
        if (r.isError === true) refused = r;
      }
      expect(refused).toBeDefined();
      expect(textOf(refused)).toBe('[POLICY DENIED] The audit log is unavailable, so the call was not made.');
      expect(refused!._meta?.['mcp-warden/decision']).toMatchObject({ rule: '(audit)' });
      for (let i = 0; i < 5; i++) expect((await call(`still-full-${i}`)).isError).toBe(true);
      // The reason is in the gateway's log, and the gateway is still up and answering.
      expect(gw.stderr()).toMatch(
        /audit log unavailable: call refused[^\n]*ENOSPC|ENOSPC[^\n]*audit log unavailable/,
      );
      expect(gw.child.exitCode).toBeNull();
      expect((await fetch(`${gw.adminUrl}/healthz`)).status).toBe(200);

      unlinkSync(filler);
      const back = await until(async () => (await call('back')).isError !== true, 15_000, 200);
      expect(back).toBe(true);
      for (let i = 0; i < 20; i++) expect(textOf(await call(`after-${i}`))).toBe(`after-${i}`);
      expect(
        await until(async () => (await metric(gw!.adminUrl, 'warden_audit_spooled_records')) === 0, 30_000),
      ).toBe(true);
      await client.close();
      expect(await gw.stop()).toBe(0);
      gw = undefined;

      const verify = runCli(['audit', 'verify', '--config', configFile]);
      expect(verify.status, verify.stdout + verify.stderr).toBe(0);
      const recorded = new Set(
        runCli(['audit', 'export', '--config', configFile])
          .stdout.trim()
          .split('\n')
          .map((l) => JSON.parse(l) as { method: string; args: { hash: string } | null })
          .filter((r) => r.method === 'tools/call')
          .map((r) => r.args?.hash),
      );
      expect(acknowledged.filter((h) => !recorded.has(h))).toEqual([]);
    },
    90_000,
  );

  it.runIf('dir' in mounted)(
    'keeps serving from the spool while only the database disk is full, and moves the records when space returns',
    async () => {
      const dir = join((mounted as { dir: string }).dir, 'db-only');
      mkdirSync(dir);
      // The spool on another disk (audit.spool): records stay durable there while SQLite cannot grow.
      const spool = join(tempDir('warden-spool-'), 'audit.spool');
      const configFile = writeConfig(
        `mcpServers:
  probe:
    command: node
    args: ["--import", "tsx", "${PROBE}"]
    cwd: ${ROOT}
storage: sqlite:${join(dir, 'audit.db')}
audit: { spool: ${spool} }
`,
      );
      gw = await serveCli(configFile);
      const client = await connect(`${gw.mcpUrl}/probe`);
      for (let i = 0; i < 10; i++)
        expect(textOf(await client.callTool({ name: 'echo', arguments: { text: `a${i}` } }))).toBe(`a${i}`);
      const filler = join(dir, 'filler');
      fill(filler);
      // Rows of 1 KB: the database's free pages run out within a few hundred records.
      const big = 'x'.repeat(1000);
      for (let i = 0; i < 600; i++) {
        const r = await client.callTool({ name: 'echo', arguments: { text: `${i}${big}` } });
        expect(r.isError).not.toBe(true);
      }
      expect(await until(() => /SQLITE_FULL|database or disk is full/.test(gw!.stderr()), 10_000)).toBe(true);
      expect(await metric(gw.adminUrl, 'warden_audit_spooled_records')).toBeGreaterThan(0);
      unlinkSync(filler);
      expect(
        await until(async () => (await metric(gw!.adminUrl, 'warden_audit_spooled_records')) === 0, 30_000),
      ).toBe(true);
      await client.close();
      expect(await gw.stop()).toBe(0);
      gw = undefined;
      const verify = runCli(['audit', 'verify', '--config', configFile]);
      expect(verify.status, verify.stdout + verify.stderr).toBe(0);
      const calls = runCli(['audit', 'export', '--config', configFile])
        .stdout.trim()
        .split('\n')
        .filter((l) => (JSON.parse(l) as { method: string }).method === 'tools/call');
      expect(calls).toHaveLength(610);
    },
    90_000,
  );
});
