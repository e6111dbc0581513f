// SEP-2243 server validation for agents (2026 HTTP only): a tools/call's Mcp-Param-* headers must agree with its
// arguments, by the tool's x-mcp-header declarations. Runs after the policy decision, so that a hidden tool answers
// exactly as a nonexistent one (its declarations never shape an answer); a mismatch is a refused request (400,
// -32020), audited as denied with rule `(invalid request)`, and nothing is forwarded.
import {
  checkParamHeaders,
  PARAM_HEADERS,
  type ParamHeader,
  type ParamHeaderValues,
  paramHeaders,
} from '../era/upstream-headers.js';
import type { Step } from './compose.js';
import type { CallContext } from './context.js';

/** Declarations per tool definition object (the catalog keeps one object per listed tool until the list changes). */
const declared = new WeakMap<object, ParamHeader[]>();

function declarationsOf(tool: Record<string, unknown> | undefined): ParamHeader[] {
  if (tool === undefined) return [];
  let d = declared.get(tool);
  if (d === undefined) {
    d = paramHeaders(tool.inputSchema);
    declared.set(tool, d);
  }
  return d;
}

export const paramHeaderCheck: Step<CallContext> = async (ctx, next) => {
  const sent = (ctx.request as { [PARAM_HEADERS]?: ParamHeaderValues })[PARAM_HEADERS];
  const target = ctx.targets[0];
  if (sent === undefined || ctx.method !== 'tools/call' || target === undefined) return next();
  const name = target.params?.name;
  const tool = typeof name === 'string' ? await target.link.toolDefinition(name) : undefined;
  const declarations = declarationsOf(tool);
  if (declarations.length > 0) {
    const args = (ctx.request.params as Record<string, unknown> | undefined)?.arguments;
    const problem = checkParamHeaders(declarations, args, sent);
    if (problem !== undefined) {
      ctx.decision = {
        outcome: 'deny',
        rule: '(invalid request)',
        policy: ctx.decision?.policy ?? '(none)',
        reason: problem.message,
        limits: [],
        approval: undefined,
        shadow: false,
      };
      ctx.reply = { error: { code: problem.code, message: problem.message, data: problem.data } };
      return;
    }
  }
  return next();
};
