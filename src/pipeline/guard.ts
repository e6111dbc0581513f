// The result guard step (SPEC §13): after forward, scans what tools/call, resources/read and prompts/get return, then
// masks, blocks or flags it as the `guards:` config says, before any outer step (flows, audit) or the agent sees it.
import { type CompiledGuards, type GuardName, stricterSettings } from '../guards/config.js';
import { type GuardHit, scanResult, scanSize } from '../guards/scan.js';
import type { Logger } from '../log.js';
import type { CompiledPolicy } from '../policy/types.js';
import { wire } from '../proxy/downstream.js';
import type { JsonRpcResponse } from '../transport/jsonrpc.js';
import type { Step } from './compose.js';
import type { CallContext } from './context.js';

const GUARDED = new Set(['tools/call', 'resources/read', 'prompts/get']);

const WHAT: Record<GuardName | 'size', string> = {
  secrets: 'a credential (key, token or password)',
  pii: 'personal data',
  injection: 'text aimed at the model',
  size: 'more text than the guards scan',
};

/** The refusal the agent gets instead of the result: which guard and why, never the value. */
function blockedResponse(
  ctx: CallContext,
  response: JsonRpcResponse,
  guard: GuardName | 'size',
): JsonRpcResponse {
  const reason = `The result was withheld by mcp-warden: the ${guard} guard found ${WHAT[guard]} in it.`;
  const rule = `guard:${guard}`;
  if (ctx.method === 'tools/call') {
    return {
      jsonrpc: '2.0',
      id: response.id as string | number,
      result: {
        content: [{ type: 'text', text: reason }],
        isError: true,
        _meta: { 'mcp-warden/decision': { rule, reason } },
      },
    };
  }
  // resources/read and prompts/get have no isError form: a refusal is a JSON-RPC error, as a policy denial is.
  const reply = wire.deniedRequest({ rule, reason });
  return { jsonrpc: '2.0', id: response.id, ...(reply as { error: { code: number; message: string } }) };
}

function nameOf(ctx: CallContext, server: string): string {
  const params = ctx.targets.find((t) => t.server === server)?.params;
  const v = ctx.method === 'resources/read' ? params?.uri : params?.name;
  return typeof v === 'string' ? v : '';
}

export function guardStep(opts: {
  guards: CompiledGuards;
  log: Logger;
  /** The policies governing a call on `server` (global, the server's, the grant's, its groups'): their `guards:`
   * make the config's stricter, never looser. */
  layersOf?: (ctx: CallContext, server: string) => readonly CompiledPolicy[];
}): Step<CallContext> {
  const { guards, log, layersOf } = opts;
  if (!guards.active && layersOf === undefined) return (_ctx, next) => next();
  return async (ctx, next) => {
    await next();
    if (!GUARDED.has(ctx.method)) return;
    for (const r of ctx.results) {
      const response = r.response;
      if (response === undefined || !('result' in response)) continue;
      const name = nameOf(ctx, r.server);
      const configured = guards.settingsFor(r.server, name);
      const settings =
        layersOf === undefined ? configured : stricterSettings(configured, layersOf(ctx, r.server), name);
      if (
        settings.actions.secrets === 'off' &&
        settings.actions.pii === 'off' &&
        settings.actions.injection === 'off'
      )
        continue;
      const hits: GuardHit[] = [];
      let blocked: GuardName | 'size' | undefined;
      if (scanSize(response.result, guards.maxScanBytes) > guards.maxScanBytes) {
        const action = guards.oversize === 'block' ? 'block' : 'flag';
        hits.push({
          guard: 'size',
          action,
          rules: { 'max-scan-bytes': 1 },
          ...(settings.shadow ? { shadow: true as const } : {}),
        });
        if (action === 'block' && !settings.shadow) blocked = 'size';
      } else {
        try {
          const outcome = scanResult(response.result, settings);
          hits.push(...outcome.hits);
          blocked = outcome.blocked;
        } catch (err) {
          // Fail closed: a result the guards could not read does not reach the agent.
          log.error({ err: (err as Error).message, server: r.server }, 'result guard failed');
          blocked = 'size';
          hits.push({ guard: 'size', action: 'block', rules: { 'scan-failed': 1 } });
        }
      }
      if (hits.length === 0) continue;
      ctx.guards = [...(ctx.guards ?? []), ...hits];
      if (!settings.shadow)
        for (const h of hits)
          if (h.guard !== 'size' && h.action !== 'off') {
            const label = guards.labels[h.guard];
            if (!ctx.resultLabels.includes(label)) ctx.resultLabels.push(label);
          }
      if (blocked !== undefined) r.response = blockedResponse(ctx, response, blocked);
    }
  };
}
