// The policy and call mix of the decide() benchmarks (bench/decide.ts, the policy-size curve of bench/scaling.ts):
// half plain allows, conditions with a limit, globs with a regex, approvals; calls hit names, globs, passing and
// failing conditions, a hidden and an unknown tool.
import type { ToolCall } from '../../src/policy/types.js';

/** `n` tool entries of the mix, keyed by name or glob. */
export function mixTools(n: number): Record<string, unknown> {
  const tools: Record<string, unknown> = {};
  for (let i = 0; i < n; i++) {
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
  return tools;
}

/** A PolicyLayer policy around `tools`: default deny, hide globs, categories. */
export function mixPolicy(tools: Record<string, unknown>): Record<string, unknown> {
  return {
    version: '1',
    default: 'deny',
    hide: ['internal_*', 'debug_dump'],
    tools,
    categories: { read: 'allow' },
  };
}

/** 202 calls aimed at a mix of `n` entries. */
export function mixCalls(n: number): ToolCall[] {
  const calls: ToolCall[] = [];
  const m = Math.max(1, n);
  for (let i = 0; i < 200; i++) {
    const k = (i * 37) % m;
    const kind = k % 10;
    const tool = kind < 5 ? `tool_${k}` : kind < 7 ? `pay_${k}` : kind < 9 ? `ns${k}_read` : `del_${k}`;
    const args =
      kind < 7
        ? { amount: (i * 13) % 900, reason: i % 3 === 0 ? undefined : 'r' }
        : { path: i % 2 ? '/etc/passwd' : '/home/x' };
    calls.push({ server: 's', tool, args });
  }
  calls.push({ server: 's', tool: 'internal_x', args: {} }, { server: 's', tool: 'unknown_tool', args: {} });
  return calls;
}
