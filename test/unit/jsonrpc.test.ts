// The structural JSON-RPC check every message passes, and compose()'s onion order.
import { describe, expect, it } from 'vitest';
import { compose } from '../../src/pipeline/compose.js';
import { checkMessage } from '../../src/transport/jsonrpc.js';

describe('checkMessage', () => {
  it('accepts requests, notifications and responses', () => {
    expect(checkMessage({ jsonrpc: '2.0', id: 1, method: 'ping' })).toBeUndefined();
    expect(checkMessage({ jsonrpc: '2.0', method: 'notifications/initialized' })).toBeUndefined();
    expect(checkMessage({ jsonrpc: '2.0', id: 'a', result: {} })).toBeUndefined();
    expect(checkMessage({ jsonrpc: '2.0', id: null, error: { code: -32700, message: 'x' } })).toBeUndefined();
  });

  it.each([
    [null, 'message must be a JSON object'],
    [[], 'message must be a JSON object'],
    [{ id: 1, method: 'x' }, 'jsonrpc must be "2.0"'],
    [{ jsonrpc: '2.0', id: {}, method: 'x' }, 'id must be a string or a number'],
    [{ jsonrpc: '2.0', id: 1, method: 'x', params: [1] }, 'params must be an object'],
    [{ jsonrpc: '2.0', id: 1 }, 'response has neither result nor error'],
    [
      { jsonrpc: '2.0', id: 1, error: { code: 'x' } },
      'error must be an object with a numeric code and a string message',
    ],
    [{ jsonrpc: '2.0', method: '' }, 'method must be a non-empty string'],
  ])('rejects %j', (value, reason) => {
    expect(checkMessage(value)).toBe(reason);
  });
});

describe('compose', () => {
  it('runs steps as an onion', async () => {
    const order: string[] = [];
    const run = compose<string[]>([
      async (ctx, next) => {
        ctx.push('a>');
        await next();
        ctx.push('<a');
      },
      async (ctx, next) => {
        ctx.push('b>');
        await next();
        ctx.push('<b');
      },
    ]);
    await run(order);
    expect(order).toEqual(['a>', 'b>', '<b', '<a']);
  });

  it('refuses a second next() from the same step', async () => {
    const run = compose<null>([
      async (_ctx, next) => {
        await next();
        await next();
      },
    ]);
    await expect(run(null)).rejects.toThrow(/next\(\) twice/);
  });
});
