// What upstream isolation costs: child processes, their memory and the time to serve N agent sessions of one grant
// under `isolation: session` and `grant`, for long sessions and for one-request sessions (a stateless client's shape).
// Run: node --import tsx bench/isolation.ts [sessions=10]
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { parseConfig } from '../src/config/load.js';
import { resolveConfig } from '../src/config/resolve.js';
import { createGateway } from '../src/gateway.js';
import { createLogger } from '../src/log.js';

const ROOT = resolve(import.meta.dirname, '..');
const FIXTURE = join(ROOT, 'test/fixtures/isolation-server.ts');
const N = Number(process.argv[2] ?? 10);

function rssKb(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

async function run(isolation: string, oneRequest: boolean) {
  const yaml = `mcpServers:
  s:
    command: ${process.execPath}
    args: ["--import", "tsx", "${FIXTURE}"]
    cwd: ${ROOT}
    isolation: ${isolation}
auth: { anonymous: true }
`;
  const config = resolveConfig(parseConfig(yaml, join(ROOT, 'bench-isolation.yaml')));
  config.listen = { host: '127.0.0.1', port: 0 };
  config.admin = { host: '127.0.0.1', port: 0 };
  const gateway = await createGateway(config, { log: createLogger('silent') });
  const { mcpUrl } = await gateway.listen();
  const pids = new Set<number>();
  const open: Client[] = [];
  const started = performance.now();
  let rss = 0;
  try {
    for (let i = 0; i < N; i++) {
      const client = new Client({ name: 'bench', version: '1' });
      const transport = new StreamableHTTPClientTransport(new URL(`${mcpUrl}/s`));
      await client.connect(transport);
      const r = (await client.callTool({ name: 'pid', arguments: {} })) as {
        content: Array<{ text: string }>;
      };
      pids.add(Number(r.content[0]!.text));
      if (oneRequest) {
        await transport.terminateSession();
        await client.close();
      } else open.push(client);
    }
    const ms = performance.now() - started;
    for (const pid of pids) {
      try {
        rss += rssKb(pid);
      } catch {
        // ended already (a session link closes with its session)
      }
    }
    return {
      isolation,
      shape: oneRequest ? 'one request per session' : 'sessions kept open',
      ms,
      pids: pids.size,
      rss,
    };
  } finally {
    for (const c of open) await c.close().catch(() => {});
    await gateway.close(1000);
  }
}

console.log(
  `| isolation | shape (${N} sessions, one grant) | wall time | child processes started | RSS of live children |`,
);
console.log('| --- | --- | ---: | ---: | ---: |');
for (const oneRequest of [false, true]) {
  for (const isolation of ['session', 'grant']) {
    const r = await run(isolation, oneRequest);
    console.log(
      `| ${r.isolation} | ${r.shape} | ${(r.ms / 1000).toFixed(1)} s | ${r.pids} | ${(r.rss / 1024).toFixed(0)} MiB |`,
    );
  }
}
