// The gateway in front of the official reference servers from npm, driven by the real SDK client over HTTP.

import { spawn } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
  LoggingMessageNotificationSchema,
  ResourceUpdatedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  connect,
  EVERYTHING,
  FILESYSTEM,
  MEMORY,
  type RunningGateway,
  startGateway,
  tempDir,
  textOf,
} from '../helpers/gateway.js';

let gw: RunningGateway;
let dir: string;

beforeAll(async () => {
  dir = tempDir('warden-fs-');
  gw = await startGateway(`
mcpServers:
  everything:
    command: node
    args: ["${EVERYTHING}", "stdio"]
    roots: agent
  memory:
    command: node
    args: ["${MEMORY}"]
    env: { MEMORY_FILE_PATH: "${dir}/memory.jsonl" }
  filesystem:
    command: node
    args: ["${FILESYSTEM}", "${dir}"]
`);
});

afterAll(async () => {
  await gw?.close();
});

describe('per-server endpoint', () => {
  it('lists and calls tools with their names unchanged', async () => {
    const client = await connect(`${gw.mcpUrl}/everything`);
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toContain('echo');
    expect(client.getServerVersion()?.name).toBe('mcp-servers/everything');
    const result = await client.callTool({ name: 'echo', arguments: { message: 'through warden' } });
    expect(textOf(result)).toBe('Echo: through warden');
    await client.close();
  });

  it('reads resources and templates', async () => {
    const client = await connect(`${gw.mcpUrl}/everything`);
    const { resources } = await client.listResources();
    expect(resources.length).toBeGreaterThan(0);
    const read = await client.readResource({ uri: resources[0]!.uri });
    expect(read.contents[0]?.uri).toBe(resources[0]!.uri);
    const { resourceTemplates } = await client.listResourceTemplates();
    expect(resourceTemplates.length).toBeGreaterThan(0);
    await client.close();
  });

  it('gets prompts and completions', async () => {
    const client = await connect(`${gw.mcpUrl}/everything`);
    const { prompts } = await client.listPrompts();
    expect(prompts.map((p) => p.name)).toContain('simple-prompt');
    const prompt = await client.getPrompt({ name: 'args-prompt', arguments: { city: 'Paris', state: 'TX' } });
    expect(JSON.stringify(prompt.messages)).toContain('Paris');
    const completion = await client.complete({
      ref: { type: 'ref/prompt', name: 'completable-prompt' },
      argument: { name: 'department', value: 'E' },
    });
    expect(completion.completion.values).toContain('Engineering');
    await client.close();
  });

  it('relays progress notifications under the client token', async () => {
    const client = await connect(`${gw.mcpUrl}/everything`);
    const seen: number[] = [];
    const result = await client.callTool(
      { name: 'trigger-long-running-operation', arguments: { duration: 0.3, steps: 3 } },
      undefined,
      { onprogress: (p) => seen.push(p.progress) },
    );
    expect(textOf(result)).toContain('completed');
    expect(seen).toEqual([1, 2, 3]);
    await client.close();
  });

  it('relays sampling requests to the client and the answer back', async () => {
    const client = await connect(`${gw.mcpUrl}/everything`, { sampling: {} });
    client.setRequestHandler(CreateMessageRequestSchema, async () => ({
      role: 'assistant',
      content: { type: 'text', text: 'sampled-by-test-client' },
      model: 'test-model',
    }));
    const result = await client.callTool({
      name: 'trigger-sampling-request',
      arguments: { prompt: 'hello' },
    });
    expect(textOf(result)).toContain('sampled-by-test-client');
    await client.close();
  });

  it('relays elicitation requests to the client and the answer back', async () => {
    const client = await connect(`${gw.mcpUrl}/everything`, { elicitation: {} });
    client.setRequestHandler(ElicitRequestSchema, async () => ({
      action: 'accept',
      content: { name: 'Ada Lovelace', check: true, email: 'ada@example.com' },
    }));
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toContain('trigger-elicitation-request');
    const result = await client.callTool({ name: 'trigger-elicitation-request', arguments: {} });
    expect(JSON.stringify(result)).toContain('Ada Lovelace');
    await client.close();
  });

  it('relays roots requests from the server to the client', async () => {
    const client = await connect(`${gw.mcpUrl}/everything`, { roots: { listChanged: true } });
    client.setRequestHandler(ListRootsRequestSchema, async () => ({
      roots: [{ uri: 'file:///tmp/root-from-client', name: 'client root' }],
    }));
    const result = await client.callTool({ name: 'get-roots-list', arguments: {} });
    expect(JSON.stringify(result)).toContain('root-from-client');
    await client.close();
  });

  it('passes the agent capabilities upstream (tools that need them appear only with them)', async () => {
    const bare = await connect(`${gw.mcpUrl}/everything`);
    const names = (await bare.listTools()).tools.map((t) => t.name);
    expect(names).not.toContain('trigger-elicitation-request');
    await bare.close();
  });

  it('cancels an upstream call when the client aborts', async () => {
    const client = await connect(`${gw.mcpUrl}/everything`);
    const abort = new AbortController();
    const call = client.callTool(
      { name: 'trigger-long-running-operation', arguments: { duration: 30, steps: 30 } },
      undefined,
      { signal: abort.signal },
    );
    setTimeout(() => abort.abort('test cancels'), 200);
    await expect(call).rejects.toThrow();
    const after = await client.callTool({ name: 'echo', arguments: { message: 'still here' } });
    expect(textOf(after)).toBe('Echo: still here');
    await client.close();
  });

  it('relays resource subscriptions and their update notifications', async () => {
    const client = await connect(`${gw.mcpUrl}/everything`);
    const updated: string[] = [];
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, async (n) => {
      updated.push(n.params.uri);
    });
    const { resources } = await client.listResources();
    const uri = resources[0]!.uri;
    await client.subscribeResource({ uri });
    await client.callTool({ name: 'toggle-subscriber-updates', arguments: {} });
    await expect.poll(() => updated, { timeout: 8000, interval: 100 }).toContain(uri);
    await client.unsubscribeResource({ uri });
    await client.close();
  }, 15_000);

  it('relays logging/setLevel and log notifications', async () => {
    const client = await connect(`${gw.mcpUrl}/everything`);
    const levels: string[] = [];
    client.setNotificationHandler(LoggingMessageNotificationSchema, async (n) => {
      levels.push(n.params.level);
    });
    await client.setLoggingLevel('debug');
    await client.callTool({ name: 'toggle-simulated-logging', arguments: {} });
    await expect.poll(() => levels.length, { timeout: 3000 }).toBeGreaterThan(0);
    await client.close();
  });

  it('answers ping', async () => {
    const client = await connect(`${gw.mcpUrl}/everything`);
    await expect(client.ping()).resolves.toEqual({});
    await client.close();
  });

  it('serves the filesystem and memory servers', async () => {
    const fs = await connect(`${gw.mcpUrl}/filesystem`);
    await fs.callTool({ name: 'write_file', arguments: { path: `${dir}/hello.txt`, content: 'hi' } });
    const read = await fs.callTool({ name: 'read_text_file', arguments: { path: `${dir}/hello.txt` } });
    expect(textOf(read)).toBe('hi');
    await fs.close();
    const memory = await connect(`${gw.mcpUrl}/memory`);
    await memory.callTool({
      name: 'create_entities',
      arguments: { entities: [{ name: 'warden', entityType: 'gateway', observations: ['guards tools'] }] },
    });
    const graph = await memory.callTool({ name: 'read_graph', arguments: {} });
    expect(textOf(graph)).toContain('guards tools');
    await memory.close();
  });
});

describe('aggregated endpoint', () => {
  it('lists every server with prefixed names and calls through them', async () => {
    const client = await connect(gw.mcpUrl);
    expect(client.getServerVersion()?.name).toBe('mcp-warden');
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toContain('everything__echo');
    expect(names).toContain('memory__read_graph');
    expect(names).toContain('filesystem__list_directory');
    const echo = await client.callTool({ name: 'everything__echo', arguments: { message: 'agg' } });
    expect(textOf(echo)).toBe('Echo: agg');
    const listing = await client.callTool({ name: 'filesystem__list_directory', arguments: { path: dir } });
    expect(listing.isError).toBeFalsy();
    await client.close();
  });

  it('answers an unknown prefixed tool with -32602 Unknown tool', async () => {
    const client = await connect(gw.mcpUrl);
    await expect(client.callTool({ name: 'nowhere__echo', arguments: {} })).rejects.toThrow(
      /Unknown tool: nowhere__echo/,
    );
    await expect(client.callTool({ name: 'echo', arguments: {} })).rejects.toThrow(/Unknown tool: echo/);
    await client.close();
  });

  it('routes resources, prompts and completions to their server', async () => {
    const client = await connect(gw.mcpUrl);
    const { resources } = await client.listResources();
    const read = await client.readResource({ uri: resources[0]!.uri });
    expect(read.contents[0]?.uri).toBe(resources[0]!.uri);
    const prompts = (await client.listPrompts()).prompts.map((p) => p.name);
    expect(prompts).toContain('everything__simple-prompt');
    const prompt = await client.getPrompt({ name: 'everything__args-prompt', arguments: { city: 'Oslo' } });
    expect(JSON.stringify(prompt.messages)).toContain('Oslo');
    const completion = await client.complete({
      ref: { type: 'ref/prompt', name: 'everything__completable-prompt' },
      argument: { name: 'department', value: 'M' },
    });
    expect(completion.completion.values).toContain('Marketing');
    await client.close();
  });

  it('relays progress and sampling through the aggregated endpoint', async () => {
    const client = await connect(gw.mcpUrl, { sampling: {} });
    client.setRequestHandler(CreateMessageRequestSchema, async () => ({
      role: 'assistant',
      content: { type: 'text', text: 'aggregated-sample' },
      model: 'test-model',
    }));
    const seen: number[] = [];
    await client.callTool(
      { name: 'everything__trigger-long-running-operation', arguments: { duration: 0.2, steps: 2 } },
      undefined,
      { onprogress: (p) => seen.push(p.progress) },
    );
    expect(seen).toEqual([1, 2]);
    const sampled = await client.callTool({
      name: 'everything__trigger-sampling-request',
      arguments: { prompt: 'x' },
    });
    expect(textOf(sampled)).toContain('aggregated-sample');
    await client.close();
  });

  it('serves legacy SSE clients', async () => {
    const client = new Client({ name: 'legacy', version: '1.0.0' });
    await client.connect(new SSEClientTransport(new URL(gw.mcpUrl.replace(/\/mcp$/, '/sse'))));
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toContain('everything__echo');
    const echo = await client.callTool({ name: 'everything__echo', arguments: { message: 'sse' } });
    expect(textOf(echo)).toBe('Echo: sse');
    await client.close();
  });
});

describe('legacy SSE upstream', () => {
  it('reaches server-everything over HTTP+SSE (type: sse)', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, [EVERYTHING, 'sse'], {
      env: { ...process.env, PORT: String(port) },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    try {
      await new Promise<void>((resolve, reject) => {
        let err = '';
        child.stderr!.on('data', (c: Buffer) => {
          err += c.toString();
          if (err.includes('running on port')) resolve();
        });
        child.once('exit', () => reject(new Error(err)));
      });
      const own = await startGateway(
        `mcpServers:\n  legacy:\n    type: sse\n    url: http://127.0.0.1:${port}/sse\n`,
      );
      try {
        const client = await connect(`${own.mcpUrl}/legacy`);
        expect((await client.listTools()).tools.map((t) => t.name)).toContain('echo');
        expect(textOf(await client.callTool({ name: 'echo', arguments: { message: 'old' } }))).toBe(
          'Echo: old',
        );
        await client.close();
      } finally {
        await own.close();
      }
    } finally {
      child.kill();
    }
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
