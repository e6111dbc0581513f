// decide() throughput on a 1,000-entry policy (exact names, globs, conditions), one core, with GC counts.
import { PerformanceObserver } from 'node:perf_hooks';
import { compilePolicyLayer } from '../src/policy/compile.js';
import { decide } from '../src/policy/decide.js';
import { policyLayerSchema } from '../src/policy/schema.js';
import type { ToolCall } from '../src/policy/types.js';
import { mixCalls, mixPolicy, mixTools } from './lib/policy-mix.js';

const ENTRIES = 1000;
const CALLS = Number(process.env.DECIDE_CALLS ?? 5_000_000);

const parsed = policyLayerSchema.parse(mixPolicy(mixTools(ENTRIES)));
const { policy, problems } = compilePolicyLayer(parsed, 'bench');
if (problems.length > 0) throw new Error(JSON.stringify(problems));

// A realistic mix: exact names, glob hits, conditions that pass and fail, hidden and unknown tools.
const calls: ToolCall[] = mixCalls(ENTRIES);

let gcs = 0;
const obs = new PerformanceObserver((list) => {
  gcs += list.getEntries().length;
});
obs.observe({ entryTypes: ['gc'] });

// Warm up: JIT, and the per-name lookup memo.
let sink = 0;
for (let i = 0; i < 500_000; i++) sink += decide(policy, calls[i % calls.length]!).outcome.length;
await new Promise((r) => setTimeout(r, 50));
gcs = 0;
const heapBefore = process.memoryUsage().heapUsed;
const start = process.hrtime.bigint();
for (let i = 0; i < CALLS; i++) sink += decide(policy, calls[i % calls.length]!).outcome.length;
const ns = Number(process.hrtime.bigint() - start);
await new Promise((r) => setTimeout(r, 50));
obs.disconnect();
const perSecond = Math.round(CALLS / (ns / 1e9));
const result = {
  entries: ENTRIES,
  calls: CALLS,
  decisionsPerSecond: perSecond,
  nsPerDecision: Math.round((ns / CALLS) * 10) / 10,
  gcDuringRun: gcs,
  heapGrowthBytes: process.memoryUsage().heapUsed - heapBefore,
  node: process.version,
  sink,
};
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
