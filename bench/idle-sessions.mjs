// Issue #17.18: 60 short client runs (initialize, list tools, call echo, exit without DELETE) against `warden serve`
// with two stdio upstreams; prints the gateway's child processes and RSS right after the runs and WAIT seconds later.
// Usage: npm run build && node bench/idle-sessions.mjs [dist/cli/main.js] [label] [WAIT seconds, default 80]
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');
const SDK = join(ROOT, 'node_modules/@modelcontextprotocol');

if (process.argv[2] === '--client') {
  // One short run, as the Inspector CLI and LangChain's adapters do: no DELETE at the end.
  const { Client } = await import(join(SDK, 'sdk/dist/esm/client/index.js'));
  const { StreamableHTTPClientTransport } = await import(join(SDK, 'sdk/dist/esm/client/streamableHttp.js'));
  const client = new Client({ name: 'short-run', version: '1' });
  await client.connect(new StreamableHTTPClientTransport(new URL(process.argv[3])));
  const { tools } = await client.listTools();
  await client.callTool({
    name: tools.find((t) => t.name.endsWith('echo')).name,
    arguments: { message: 'hi' },
  });
  process.exit(0);
}

const cli = resolve(process.argv[2] ?? join(ROOT, 'dist/cli/main.js'));
const label = process.argv[3] ?? 'warden';
const waitS = Number(process.argv[4] ?? 80);
const dir = mkdtempSync(join(tmpdir(), 'warden-idle-sessions-'));
const config = join(dir, 'warden.yaml');
writeFileSync(
  config,
  `mcpServers:\n  everything:\n    command: node\n    args: ["${SDK}/server-everything/dist/index.js", "stdio"]\n` +
    `  memory:\n    command: node\n    args: ["${SDK}/server-memory/dist/index.js"]\nauth: { anonymous: true }\n`,
);
// The log goes to a file: this script blocks in execFileSync, and a pipe nobody reads would stall the gateway.
const logFile = join(dir, 'warden.log');
const gw = spawn(
  process.execPath,
  [cli, 'serve', '--config', config, '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0'],
  { stdio: ['ignore', 'ignore', openSync(logFile, 'w')] },
);
let url;
while (url === undefined) {
  await new Promise((r) => setTimeout(r, 200));
  url = /listening mcp=(\S+)/.exec(readFileSync(logFile, 'utf8'))?.[1];
}

/** Every descendant of a process (stdio upstreams run in process groups of their own, but stay its children). */
function descendants(pid) {
  const children = new Map();
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(Number(p));
    } catch {}
  }
  const out = [];
  const stack = [...(children.get(pid) ?? [])];
  while (stack.length > 0) {
    const p = stack.pop();
    out.push(p);
    stack.push(...(children.get(p) ?? []));
  }
  return out;
}

function rssMb(pid) {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
  } catch {
    return 0;
  }
}

function report(when) {
  const kids = descendants(gw.pid);
  const kidsMb = kids.reduce((sum, p) => sum + rssMb(p), 0);
  console.log(
    `${label} ${when}: ${kids.length} child processes, gateway RSS ${rssMb(gw.pid).toFixed(0)} MB, children RSS ${kidsMb.toFixed(0)} MB`,
  );
}

report('before the runs');
let failed = 0;
const started = Date.now();
for (let i = 0; i < 60; i++) {
  try {
    execFileSync(process.execPath, [import.meta.filename, '--client', url], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
  } catch (err) {
    failed++;
    console.log(`run ${i} failed: ${String(err.stderr).slice(0, 500)}`);
  }
}
console.log(`${label}: 60 runs in ${((Date.now() - started) / 1000).toFixed(0)} s, ${failed} failed`);
report('right after the runs');
await new Promise((r) => setTimeout(r, waitS * 1000));
report(`${waitS} s later`);
gw.kill('SIGTERM');
