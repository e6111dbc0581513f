// Replicas behind nginx: calls/s through one warden and through three sharing Redis (limits, sessions) and
// PostgreSQL (audit, grants), with a rate limit on every call. Needs nginx, Redis and PostgreSQL; run with
// `npm run bench:replicas`. Prints a Markdown table.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleFixture } from './lib/fixtures.js';
import { closeSession, openSession, runThroughput, type Session } from './lib/measure.js';
import { freePort, killAllSync, type Managed, start, stop, waitForLine, waitForPort } from './lib/proc.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const PG = process.env.WARDEN_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS = process.env.WARDEN_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const NGINX = process.env.NGINX ?? '/usr/sbin/nginx';
const SESSIONS = 8;
const PER_SESSION = 8;
const DURATION_MS = Number(process.env.REPLICAS_DURATION_MS ?? 5000);
const ROUNDS = Number(process.env.REPLICAS_ROUNDS ?? 3);

const tmp = mkdtempSync(join(tmpdir(), 'warden-replicas-'));
const started: Managed[] = [];
process.on('exit', () => {
  killAllSync();
  rmSync(tmp, { recursive: true, force: true });
});

/** Starts `n` wardens from one config (as docs/operations.md shows) and nginx in front; returns nginx's URL. */
async function fleet(n: number, echo: string): Promise<string> {
  const dir = join(tmp, `fleet-${n}`);
  mkdirSync(dir, { recursive: true });
  // Every call passes a policy with a per-grant rate limit (far from full), so each one reserves in Redis.
  writeFileSync(
    join(dir, 'policy.json'),
    JSON.stringify({
      version: '1',
      default: 'deny',
      tools: { echo: { action: 'allow', rate_limit: { max: 1_000_000_000, window: 60, per: 'global' } } },
    }),
  );
  writeFileSync(
    join(dir, 'warden.yaml'),
    `${JSON.stringify({
      mcpServers: { echo: { command: process.execPath, args: [echo], policy: './policy.json' } },
      storage: PG,
      state: REDIS,
      auth: { anonymous: true },
      http: { maxSessions: 1024, maxSessionsPerGrant: 1024 },
    })}\n`,
  );
  const ports: number[] = [];
  for (let i = 0; i < n; i++) {
    const port = await freePort();
    const proc = start({
      name: `warden-${i}`,
      command: process.execPath,
      args: [
        join(ROOT, 'dist', 'cli', 'main.js'),
        'serve',
        '--config',
        join(dir, 'warden.yaml'),
        '--listen',
        `127.0.0.1:${port}`,
        '--admin',
        '127.0.0.1:0',
      ],
      cwd: dir,
    });
    started.push(proc);
    await waitForLine(proc, /listening mcp=/, 30_000);
    ports.push(port);
  }
  const port = await freePort();
  writeFileSync(
    join(dir, 'nginx.conf'),
    `worker_processes 1;
daemon off;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'nginx-error.log')} warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  upstream warden {
${ports.map((p) => `    server 127.0.0.1:${p};`).join('\n')}
    keepalive 64;
  }
  server {
    listen 127.0.0.1:${port};
    location /mcp {
      proxy_pass http://warden;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host 127.0.0.1;
      proxy_buffering off;
      proxy_read_timeout 1h;
    }
  }
}
`,
  );
  const nginx = start({
    name: 'nginx',
    command: NGINX,
    args: ['-c', join(dir, 'nginx.conf'), '-p', dir],
    cwd: dir,
  });
  started.push(nginx);
  await waitForPort(nginx, port, 10_000);
  return `http://127.0.0.1:${port}/mcp/echo`;
}

async function measure(url: string): Promise<{ perSecond: number; errors: number }> {
  const sessions: Session[] = [];
  for (let i = 0; i < SESSIONS; i++) sessions.push(await openSession(url));
  // Warm-up: every replica sees every session (takeover), JIT settles.
  await Promise.all(sessions.map((s) => runThroughput(s, PER_SESSION, 1500, 1e9)));
  const perRound: number[] = [];
  let errors = 0;
  for (let r = 0; r < ROUNDS; r++) {
    const results = await Promise.all(sessions.map((s) => runThroughput(s, PER_SESSION, DURATION_MS, 1e9)));
    const calls = results.reduce((a, x) => a + x.calls, 0);
    errors += results.reduce((a, x) => a + x.errors, 0);
    perRound.push(calls / Math.max(...results.map((x) => x.seconds)));
  }
  for (const s of sessions) await closeSession(s);
  perRound.sort((a, b) => a - b);
  return { perSecond: Math.round(perRound[Math.floor(perRound.length / 2)]!), errors };
}

execFileSync(NGINX, ['-v'], { stdio: 'ignore' });
const echo = await bundleFixture('echo-server', tmp);
const rows: string[] = [];
for (const n of [1, 3]) {
  const url = await fleet(n, echo);
  const r = await measure(url);
  rows.push(`| ${n} | ${r.perSecond} | ${r.errors} |`);
  for (const p of started.splice(0)) await stop(p);
}
process.stdout.write(
  `Replicas behind nginx (${SESSIONS} sessions x ${PER_SESSION} calls in flight, median of ${ROUNDS} rounds of ${DURATION_MS / 1000} s; state Redis, storage PostgreSQL, a rate limit per call)\n\n| replicas | calls/s | errors |\n| ---: | ---: | ---: |\n${rows.join('\n')}\n`,
);
process.exit(0);
