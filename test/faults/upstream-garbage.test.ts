// Fault injection: a stdio upstream that writes garbage to stdout (log lines, torn JSON, binary, JSON that is not
// JSON-RPC, answers to requests nobody made). The gateway stays up, each call gets its result or a JSON-RPC error,
// and other sessions are not disturbed.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, ROOT, type RunningGateway, startGateway, textOf } from '../helpers/gateway.js';

const FAULTY = join(ROOT, 'test/fixtures/faulty-server.ts');
const faulty = (extra = '') => `command: node
    args: ["--import", "tsx", "${FAULTY}"${extra}]
    cwd: ${ROOT}`;

describe('an upstream that writes garbage to stdout', () => {
  let gw: RunningGateway;

  beforeAll(async () => {
    gw = await startGateway(`
mcpServers:
  faulty:
    ${faulty()}
    timeout: 1
  noisy:
    ${faulty(', "--noise", "2"')}
`);
  });

  afterAll(async () => {
    await gw?.close();
  });

  it.each(['text', 'partial', 'binary', 'not-jsonrpc', 'unknown-response', 'big-binary'])(
    'answers a call correctly when the upstream writes %s garbage before its answer',
    async (kind) => {
      const client = await connect(`${gw.mcpUrl}/faulty`);
      const result = await client.callTool({ name: 'garbage', arguments: { kind } });
      expect(textOf(result)).toBe(`ok ${kind}`);
      // The same upstream session goes on working.
      expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'after' } }))).toBe('after');
      await client.close();
    },
  );

  it('answers with a JSON-RPC timeout error when garbage corrupts the answer itself, and the next call works', async () => {
    const client = await connect(`${gw.mcpUrl}/faulty`);
    const pidBefore = textOf(await client.callTool({ name: 'pid', arguments: {} }));
    await expect(client.callTool({ name: 'swallow', arguments: {} })).rejects.toThrow(
      /did not answer tools\/call within 1000 ms/,
    );
    expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'next' } }))).toBe('next');
    // Not restarted: garbage is ignored line by line, not treated as a dead upstream.
    expect(textOf(await client.callTool({ name: 'pid', arguments: {} }))).toBe(pidBefore);
    await client.close();
  });

  it('serves 300 calls correctly while the upstream writes a garbage line every 2 ms', async () => {
    const client = await connect(`${gw.mcpUrl}/noisy`);
    const texts = Array.from({ length: 300 }, (_, i) => `call-${i}`);
    const results = await Promise.all(
      texts.map((t) => client.callTool({ name: 'echo', arguments: { text: t } }).then(textOf)),
    );
    expect(results).toEqual(texts);
    await client.close();
  });

  it('keeps other sessions working while one session’s upstream corrupts its answers', async () => {
    const victim = await connect(`${gw.mcpUrl}/faulty`);
    const bystander = await connect(`${gw.mcpUrl}/faulty`);
    const aggregated = await connect(gw.mcpUrl);
    // Five at once: the first torn prefix corrupts whichever answer follows it; the others may come through.
    const corrupted = Promise.all(
      Array.from({ length: 5 }, () =>
        victim.callTool({ name: 'swallow', arguments: {} }).then(textOf, (e: Error) => e.message),
      ),
    );
    const others = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        (i % 2 === 0
          ? bystander.callTool({ name: 'echo', arguments: { text: `b${i}` } })
          : aggregated.callTool({ name: 'noisy__echo', arguments: { text: `b${i}` } })
        ).then(textOf),
      ),
    );
    expect(others).toEqual(Array.from({ length: 20 }, (_, i) => `b${i}`));
    const outcomes = await corrupted;
    for (const o of outcomes) expect(o).toMatch(/^swallowed$|did not answer tools\/call within 1000 ms/);
    expect(outcomes.filter((o) => o !== 'swallowed').length).toBeGreaterThan(0);
    await Promise.all([victim.close(), bystander.close(), aggregated.close()]);
  });
});
