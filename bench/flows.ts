// Flow step cost per tools/call (1 KB result): label resolution, rule check against the conversation's state, and
// recording the result's labels; memory and Redis. Also the memory one conversation's state takes.
import { randomUUID } from 'node:crypto';
import { LabelResolver } from '../src/flows/labels.js';
import { compileRules } from '../src/flows/rules.js';
import { createLogger } from '../src/log.js';
import { createContext } from '../src/pipeline/context.js';
import { flowStep } from '../src/pipeline/flow.js';
import { type ConversationStore, MemoryConversationStore } from '../src/state/conversations.js';
import { RedisConversationStore } from '../src/state/conversations-redis.js';

const CALLS = Number(process.env.FLOW_CALLS ?? 20_000);
const REDIS = process.env.WARDEN_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const RESULT = { content: [{ type: 'text', text: 'x'.repeat(1024) }] };

const labels = new LabelResolver({
  labels: { private: ['fs/read_*', 'crm/get_*'], external: ['mail/send_*', '*/fetch'] },
  exclude: {},
  derive: true,
});
const rules = compileRules([{ after: 'private', deny: 'external', reason: 'Private data stays inside' }]);
const log = createLogger('silent');

function context(tool: string, conversation: number) {
  const session = {
    id: `s${conversation}`,
    identity: { grant: { id: `g${conversation}` } },
    server: undefined,
  } as never;
  const ctx = createContext(session, { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: tool } });
  ctx.targets.push({
    server: tool.startsWith('send') ? 'mail' : 'fs',
    link: undefined as never,
    params: { name: tool },
  });
  return ctx;
}

/**
 * `mix`: reads (label recorded) and sends (rule checked); `sends`: only sends, so every check finds no label; `fresh`:
 * only sends, each in a conversation never seen before (nothing known or kept: one round trip with Redis, always).
 */
async function run(store: ConversationStore, mode: 'mix' | 'sends' | 'fresh' = 'mix'): Promise<number> {
  const step = flowStep({ labels, rules, store, log });
  // Over 100 conversations.
  const started = performance.now();
  for (let i = 0; i < CALLS; i++) {
    const tool = mode !== 'mix' || i % 2 === 1 ? 'send_email' : 'read_file';
    const ctx = context(tool, mode === 'fresh' ? 1000 + i : i % 100);
    await step(ctx, async () => {
      ctx.results.push({
        server: ctx.targets[0]!.server,
        response: { jsonrpc: '2.0', id: 1, result: RESULT },
      });
    });
  }
  return (performance.now() - started) / CALLS;
}

const rows: string[] = [];
const memory = new MemoryConversationStore();
await run(memory); // warm up
rows.push(`| memory | ${(await run(memory)).toFixed(4)} ms |`);
const redis = RedisConversationStore.open(REDIS, {
  prefix: `warden-bench:${randomUUID()}:`,
  commandTimeoutMs: 10_000,
});
rows.push(`| redis (local), reads and sends | ${(await run(redis)).toFixed(4)} ms |`);
await redis.close();
// The worst case: a send in a conversation that has not seen the label is asked of Redis every time (another replica
// may have recorded it), one round trip per call.
const cold = RedisConversationStore.open(REDIS, {
  prefix: `warden-bench:${randomUUID()}:`,
  commandTimeoutMs: 10_000,
});
rows.push(`| redis (local), sends only (label never seen) | ${(await run(cold, 'sends')).toFixed(4)} ms |`);
// Worse still: every send in a conversation of its own, so nothing this replica knows or keeps can answer.
rows.push(
  `| redis (local), sends only, a new conversation each | ${(await run(cold, 'fresh')).toFixed(4)} ms |`,
);
await cold.close();

// State size: 10 000 conversations with three labels each.
globalThis.gc?.();
const before = process.memoryUsage().heapUsed;
const big = new MemoryConversationStore();
for (let i = 0; i < 10_000; i++)
  await big.record(`grant:${randomUUID()}`, [
    { label: 'private', at: new Date().toISOString(), server: 'fs', tool: 'read_file' },
    { label: 'external', at: new Date().toISOString(), server: 'mail', tool: 'send_email' },
    { label: 'secret', at: new Date().toISOString(), server: 'fs', tool: 'read_file' },
  ]);
globalThis.gc?.();
const perConversation = (process.memoryUsage().heapUsed - before) / 10_000;
if ((await big.list(1)).length !== 1) throw new Error('state lost');

console.log('| state | flow step per call (1 KB result) |');
console.log('| --- | --- |');
for (const r of rows) console.log(r);
console.log(`\nmemory state: ~${Math.round(perConversation)} bytes per conversation (3 labels)`);
