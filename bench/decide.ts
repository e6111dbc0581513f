// decide() throughput on a 1,000-entry policy (exact names, globs, conditions), one core, with GC counts.
import { PerformanceObserver } from 'node:perf_hooks';
import { compilePolicyLayer } from '../src/policy/compile.js';
import { decide } from '../src/policy/decide.js';
import { policyLayerSchema } from '../src/policy/schema.js';
import type { ToolCall } from '../src/policy/types.js';

const ENTRIES = 1000;
const CALLS = Number(process.env.DECIDE_CALLS ?? 5_000_000);

function buildPolicy(): unknown {
  const tools: Record<string, unknown> = {};
  for (let i = 0; i < ENTRIES; i++) {
    const kind = i % 10;
    if (kind < 5)
      tools[`tool_${i}`] = {}; // plain allow
    else if (kind < 7) {
      tools[`pay_${i}`] = {
        deny_if: [{ conditions: [{ path: 'args.amount', op: 'gt', value: 500 }], on_deny: 'too much' }],
        require: [{ path: 'args.reason', op: 'exists', value: true }],
        limits: [{ counter: `c${i}`, window: 'hour', max: 10 }],
      };
    } else if (kind < 9)
      tools[`ns${i}_*`] = { deny_if: [{ path: 'args.path', op: 'regex', value: '^/etc/' }] };
    else tools[`del_${i}`] = { action: 'require_approval' };
  }
  return {
    version: '1',
    default: 'deny',
    hide: ['internal_*', 'debug_dump'],
    tools,
    categories: { read: 'allow' },
  };
}

const parsed = policyLayerSchema.parse(buildPolicy());
const { policy, problems } = compilePolicyLayer(parsed, 'bench');
if (problems.length > 0) throw new Error(JSON.stringify(problems));

// A realistic mix: exact names, glob hits, conditions that pass and fail, hidden and unknown tools.
const calls: ToolCall[] = [];
for (let i = 0; i < 200; i++) {
  const n = (i * 37) % ENTRIES;
  const kind = n % 10;
  const tool = kind < 5 ? `tool_${n}` : kind < 7 ? `pay_${n}` : kind < 9 ? `ns${n}_read` : `del_${n}`;
  const args =
    kind < 7
      ? { amount: (i * 13) % 900, reason: i % 3 === 0 ? undefined : 'r' }
      : { path: i % 2 ? '/etc/passwd' : '/home/x' };
  calls.push({ server: 's', tool, args });
}
calls.push({ server: 's', tool: 'internal_x', args: {} }, { server: 's', tool: 'unknown_tool', args: {} });

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
