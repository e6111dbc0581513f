// `npm run bench:eras`: warden's own CPU per call in each protocol era with one raw client held equal
// (bench/lib/eras.ts). BENCH_ROUNDS, BENCH_CALLS; BENCH_ONLY=2025|2026 runs one era; BENCH_CPU_PROF=<dir> has the
// gateway write a V8 CPU profile there (for comparing the two paths' profiles).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { closeErasClient, compareEras, type Era } from './lib/eras.js';
import { bundleFixture } from './lib/fixtures.js';
import { killAllSync } from './lib/proc.js';

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const tmp = mkdtempSync(join(tmpdir(), 'warden-bench-eras-'));
try {
  const result = await compareEras({
    root: ROOT,
    tmp,
    echoScript: await bundleFixture('echo-server', tmp),
    rounds: Number(process.env.BENCH_ROUNDS ?? 12),
    calls: Number(process.env.BENCH_CALLS ?? 2000),
    warmup: 1000,
    only: process.env.BENCH_ONLY as Era | undefined,
    cpuProfileDir: process.env.BENCH_CPU_PROF,
  });
  console.log(`bench:eras ${new Date().toISOString()}\n${result.markdown}`);
} finally {
  killAllSync();
  closeErasClient();
  rmSync(tmp, { recursive: true, force: true });
}
