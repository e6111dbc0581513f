// The bytes of JSON-RPC messages: always JSON.stringify's text, with a big tool list reused when it is handed out
// again as the same array, and no more than a few kept.
import { describe, expect, it } from 'vitest';
import { keptLists, encodeMessage as pieces } from '../../src/transport/encode.js';

const encodeMessage = (m: unknown) => Buffer.concat(pieces(m));

const tools = (n: number, tag = '') =>
  Array.from({ length: n }, (_, i) => ({
    name: `tool_${i}${tag}`,
    description: `Tool ${i} — does “things”, with ünïcode and "quotes"\n`,
    inputSchema: { type: 'object', properties: { a: { type: 'string' } } },
  }));

const answer = (id: string | number, list: unknown[]) => ({ jsonrpc: '2.0', id, result: { tools: list } });

describe('encodeMessage', () => {
  it('gives the UTF-8 of JSON.stringify for every kind of message', () => {
    const list = tools(100);
    for (const m of [
      answer(1, list),
      answer('a"b', list),
      answer(2, tools(3)),
      { jsonrpc: '2.0', id: 3, result: { tools: list, nextCursor: 'x' } },
      { jsonrpc: '2.0', id: 4, error: { code: -32601, message: 'Method not found' } },
      { jsonrpc: '2.0', method: 'notifications/tools/list_changed' },
      [answer(5, list), answer(6, list)],
    ]) {
      expect(encodeMessage(m).toString('utf8')).toBe(JSON.stringify(m));
    }
  });

  it('keeps the bytes of a list seen twice, answers with them under any id, and never keeps a one-off list', () => {
    const before = keptLists().lists;
    const once = tools(200, 'once');
    encodeMessage(answer(1, once));
    expect(keptLists().lists).toBe(before);
    const list = tools(200, 'again');
    encodeMessage(answer(1, list));
    encodeMessage(answer(2, list));
    expect(keptLists().lists).toBe(before + 1);
    for (const id of [3, 'x', 4])
      expect(encodeMessage(answer(id, list)).toString()).toBe(JSON.stringify(answer(id, list)));
    expect(keptLists().lists).toBe(before + 1);
  });

  it('keeps at most 16 lists', () => {
    for (let i = 0; i < 40; i++) {
      const list = tools(80, `n${i}`);
      encodeMessage(answer(1, list));
      encodeMessage(answer(2, list));
    }
    expect(keptLists().lists).toBe(16);
    expect(keptLists().bytes).toBeLessThan(16 * 20_000);
  });
});
