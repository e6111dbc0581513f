// The guard step on a request context: labels for the flow step, the audit hits, blocked replies, per-method scope.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';
import { compileGuards, guardsSchema } from '../../src/guards/config.js';
import { createLogger } from '../../src/log.js';
import { type CallContext, createContext, type SessionView } from '../../src/pipeline/context.js';
import { guardStep } from '../../src/pipeline/guard.js';

const KEY = 'AKIAQ3EGRT5YJ7XK2PLM';
const log = createLogger('silent');

async function run(method: string, result: Record<string, unknown>, results: unknown): Promise<CallContext> {
  const ctx = createContext({ id: 's' } as unknown as SessionView, {
    jsonrpc: '2.0',
    id: 1,
    method,
    params: {},
  });
  ctx.targets = [{ server: 'acct', link: undefined as never, params: { name: 'get' } }];
  const step = guardStep({ guards: compileGuards(guardsSchema.parse({ results })), log });
  await step(ctx, async () => {
    ctx.results = [{ server: 'acct', response: { jsonrpc: '2.0', id: 1, result } }];
  });
  return ctx;
}

describe('guardStep', () => {
  it('adds the configured label of a flagged result to resultLabels', async () => {
    const ctx = await run(
      'tools/call',
      { content: [{ type: 'text', text: KEY }] },
      {
        secrets: 'flag',
        labels: { secrets: 'has-secret' },
      },
    );
    expect(ctx.resultLabels).toEqual(['has-secret']);
    expect(ctx.guards).toEqual([{ guard: 'secrets', action: 'flag', rules: { 'aws-access-key-id': 1 } }]);
  });
  it('adds no label in shadow mode', async () => {
    const ctx = await run(
      'tools/call',
      { content: [{ type: 'text', text: KEY }] },
      { secrets: 'block', shadow: true },
    );
    expect(ctx.resultLabels).toEqual([]);
    expect(ctx.guards?.[0]?.shadow).toBe(true);
  });
  it('leaves methods other than tools/call, resources/read and prompts/get alone', async () => {
    const ctx = await run('tools/list', { tools: [{ name: 'x', description: KEY }] }, { secrets: 'block' });
    expect(ctx.guards).toBeUndefined();
  });
  it('replaces a blocked resources/read by a JSON-RPC error naming the guard', async () => {
    const ctx = await run(
      'resources/read',
      { contents: [{ uri: 'file:///x', text: KEY }] },
      { secrets: 'block' },
    );
    const response = ctx.results[0]?.response as { error?: { message: string } };
    expect(response.error?.message).toContain('secrets guard');
    expect(JSON.stringify(response)).not.toContain(KEY);
  });
});

describe('guards config errors', () => {
  it('names the path of an unknown action', () => {
    let problems: Array<{ path: string }> = [];
    try {
      parseConfig('guards:\n  results:\n    secrets: hide\n', '/etc/warden/warden.yaml', {});
    } catch (err) {
      if (err instanceof ConfigError) problems = err.problems;
    }
    expect(problems.map((p) => p.path)).toContain('guards.results.secrets');
  });
});
