// #19.6.8: `guards:` in policy files (SPEC §13): parsed with path and line, applied only ever stricter than the config.
import { describe, expect, it } from 'vitest';
import { parsePolicyText } from '../../src/config/policy-file.js';
import { compileGuards, guardsSchema } from '../../src/guards/config.js';
import { createLogger } from '../../src/log.js';
import { type CallContext, createContext, type SessionView } from '../../src/pipeline/context.js';
import { guardStep } from '../../src/pipeline/guard.js';
import type { CompiledPolicy } from '../../src/policy/types.js';

const KEY = 'AKIAQ3EGRT5YJ7XK2PLM';

function policy(text: string): CompiledPolicy {
  const { policy, problems } = parsePolicyText(text, 'p.yaml');
  expect(problems).toEqual([]);
  return policy!;
}

async function call(tool: string, config: unknown, layers: CompiledPolicy[]): Promise<CallContext> {
  const ctx = createContext({ id: 's' } as unknown as SessionView, {
    jsonrpc: '2.0',
    id: 1,
    method: 'tools/call',
    params: { name: tool },
  });
  ctx.targets = [{ server: 'acct', link: undefined as never, params: { name: tool } }];
  const step = guardStep({
    guards: compileGuards(guardsSchema.parse({ results: config })),
    log: createLogger('silent'),
    layersOf: () => layers,
  });
  await step(ctx, async () => {
    ctx.results = [
      {
        server: 'acct',
        response: { jsonrpc: '2.0', id: 1, result: { content: [{ type: 'text', text: `key ${KEY}` }] } },
      },
    ];
  });
  return ctx;
}

describe('#19.6.8 guards in policy files', () => {
  it('#19.6.8a a policy turns on a guard the config leaves off (the step runs though the config has no guard)', async () => {
    const p = policy('version: "1"\ndefault: allow\nguards:\n  results:\n    secrets: block\n');
    const ctx = await call('get', {}, [p]);
    expect(ctx.guards?.[0]).toMatchObject({ guard: 'secrets', action: 'block' });
    const result = (ctx.results[0]!.response as { result: { isError?: boolean } }).result;
    expect(result.isError).toBe(true);
  });

  it('#19.6.8b a policy asking for a looser action than the config changes nothing', async () => {
    const p = policy('version: "1"\ndefault: allow\nguards:\n  results:\n    secrets: "off"\n');
    const ctx = await call('get', { secrets: 'mask' }, [p]);
    expect(ctx.guards?.[0]).toMatchObject({ guard: 'secrets', action: 'mask' });
  });

  it('#19.6.8c the strictest of all layers wins, and a tool glob of the policy narrows further', async () => {
    const server = policy(
      'version: "1"\ndefault: allow\nguards:\n  results:\n    secrets: flag\n    tools:\n      "export_*": { secrets: block }\n',
    );
    const grant = policy('version: "1"\ndefault: allow\nguards:\n  results:\n    secrets: mask\n');
    expect((await call('get', {}, [server, grant])).guards?.[0]?.action).toBe('mask');
    expect((await call('export_all', {}, [server, grant])).guards?.[0]?.action).toBe('block');
  });

  it('#19.6.8d switches stay the config’s: a policy naming one is refused with its path and line', () => {
    const { policy: p, problems } = parsePolicyText(
      'version: "1"\ndefault: allow\nguards:\n  results:\n    secrets: flag\n    shadow: true\n',
      'p.yaml',
    );
    expect(p).toBeUndefined();
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ file: 'p.yaml', line: expect.any(Number) });
    expect(JSON.stringify(problems[0])).toContain('guards');
    expect(problems[0]?.line).toBeGreaterThanOrEqual(4);
  });

  it('#19.6.8e an unknown action is refused with its path', () => {
    const { problems } = parsePolicyText(
      '{"version": "1", "default": "allow", "guards": {"results": {"pii": "hide"}}}',
      'p.json',
    );
    expect(problems).toHaveLength(1);
    expect(JSON.stringify(problems[0])).toMatch(/guards.*results.*pii/);
  });
});
