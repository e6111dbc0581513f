// `node --import tsx bench/profile.ts call|prod|list|policy10k`: runs `warden serve` under `node --cpu-prof` with a
// fixed load and prints the top self-time functions of the gateway process (the .cpuprofile is kept for a viewer).
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { bundleFixture } from './lib/fixtures.js';
import { closeSession, openSession, runThroughput } from './lib/measure.js';
import { killAllSync, processCpuTicks, start, stop, waitForLine } from './lib/proc.js';
import { RawSession } from './lib/raw.js';
import { PROD_POLICY } from './lib/targets.js';

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
const ROOT = dirname(BENCH_DIR);
const MODE = process.argv[2] ?? 'call';
const SECONDS = Number(process.env.PROFILE_SECONDS ?? 15);
const OUT = process.env.PROFILE_DIR ?? join(BENCH_DIR, 'results', 'profiles');
const node = process.execPath;
const tmp = mkdtempSync(join(tmpdir(), 'mcp-warden-profile-'));
process.on('exit', () => {
  killAllSync();
  rmSync(tmp, { recursive: true, force: true });
});

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

/** Self time per function (name + file:line), as a share of all samples, top `n`. */
function topSelf(profileFile: string, n: number): string[] {
  const profile = JSON.parse(readFileSync(profileFile, 'utf8')) as { nodes: ProfileNode[] };
  const byFn = new Map<string, number>();
  let total = 0;
  for (const p of profile.nodes) {
    const hits = p.hitCount ?? 0;
    total += hits;
    const f = p.callFrame;
    const file = f.url.replace(/^file:\/\//, '').replace(`${ROOT}/`, '');
    const key = `${f.functionName || '(anonymous)'} ${file ? `${file}:${f.lineNumber + 1}` : ''}`.trim();
    byFn.set(key, (byFn.get(key) ?? 0) + hits);
  }
  return [...byFn]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([k, v]) => `${((v / total) * 100).toFixed(1).padStart(5)} %  ${k}`);
}

async function main(): Promise<void> {
  const echo = await bundleFixture('echo-server', tmp);
  const dir = join(tmp, 'gw');
  mkdirSync(dir, { recursive: true });
  const config: Record<string, unknown> = {
    mcpServers: { echo: { command: node, args: [echo] } },
    auth: { anonymous: true },
  };
  if (MODE === 'prod') {
    writeFileSync(join(dir, 'policy.json'), JSON.stringify(PROD_POLICY));
    config.policy = './policy.json';
  }
  if (MODE === 'list') {
    const tools = await bundleFixture('tools-server', tmp);
    config.mcpServers = Object.fromEntries(
      Array.from({ length: 10 }, (_, i) => [`s${i}`, { command: node, args: [tools, '--tools', '100'] }]),
    );
  }
  writeFileSync(join(dir, 'warden.yaml'), JSON.stringify(config));
  const profDir = join(tmp, 'prof');
  const proc = start({
    name: 'warden',
    command: node,
    args: [
      '--cpu-prof',
      `--cpu-prof-dir=${profDir}`,
      join(ROOT, 'dist', 'cli', 'main.js'),
      'serve',
      '--config',
      join(dir, 'warden.yaml'),
      '--listen',
      '127.0.0.1:0',
      '--admin',
      '127.0.0.1:0',
    ],
    cwd: dir,
  });
  const m = await waitForLine(proc, /listening mcp=(http:\/\/[^\s]+?)\/?\s+admin=/, 30_000);
  let done = 0;
  let ticks0 = processCpuTicks(proc.root.pid);
  if (MODE === 'list') {
    const session = await RawSession.open(m[1]!);
    for (let i = 0; i < 20; i++) await session.listTools();
    ticks0 = processCpuTicks(proc.root.pid);
    const deadline = performance.now() + SECONDS * 1000;
    while (performance.now() < deadline) {
      await session.listTools();
      done++;
    }
    await session.close();
  } else {
    const session = await openSession(`${m[1]!}/echo`);
    await runThroughput(session, 16, 1000, 10_000_000);
    ticks0 = processCpuTicks(proc.root.pid);
    const r = await runThroughput(session, 16, SECONDS * 1000, 10_000_000);
    done = r.calls;
    await closeSession(session);
  }
  const gatewayMs = ((processCpuTicks(proc.root.pid) - ticks0) * 10) / Math.max(1, done);
  // SIGTERM: warden drains and exits 0, and node writes the profile on exit.
  await stop(proc, 10_000);
  const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
  if (file === undefined) throw new Error('no profile written');
  mkdirSync(OUT, { recursive: true });
  const kept = join(OUT, `warden-${MODE}.cpuprofile`);
  writeFileSync(kept, readFileSync(join(profDir, file)));
  process.stdout.write(
    `${MODE}: ${done} requests in ${SECONDS} s; gateway process CPU ${gatewayMs.toFixed(3)} ms per request (after warm-up); profile ${kept}\n`,
  );
  process.stdout.write(`${topSelf(kept, Number(process.env.PROFILE_TOP ?? 25)).join('\n')}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
