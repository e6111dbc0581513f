// The benchmarked targets: direct SDK baseline, mcp-warden, supergateway and mcp-proxy, all fronting one echo server.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { freePort, type Managed, start, stop, waitForLine, waitForPort } from './proc.js';

const READY_TIMEOUT_MS = 30_000;
const PORT_ATTEMPTS = 3;

export interface TargetContext {
  /** Repository root (where node_modules and dist/ live). */
  root: string;
  /** Scratch directory for configs; also the working directory of every target. */
  tmp: string;
  /** Absolute path of the pre-compiled echo server (.mjs). */
  echoScript: string;
  /** The same echo tool served by the SDK v2 createMcpHandler (2026-07-28, with the stateless 2025 fallback). */
  echo2026Script: string;
}

export interface Running {
  url: string;
  proc: Managed;
  /** Headers every request of the client carries (warden-prod: the grant's bearer token). */
  headers?: Record<string, string>;
  /** The client speaks MCP 2026-07-28 (SDK v2 client pinned to it) instead of 2025 (SDK v1). */
  era?: '2026';
}

export interface TargetDef {
  name: string;
  description: string;
  /** Non-empty string: the target cannot run here (reported, not fatal). */
  unavailable: (ctx: TargetContext) => string | undefined;
  launch: (ctx: TargetContext) => Promise<Running>;
}

/** Path of an npm package's CLI entry, from its package.json `bin`. */
function packageBin(root: string, pkg: string, binName: string): string | undefined {
  const manifest = join(root, 'node_modules', pkg, 'package.json');
  if (!existsSync(manifest)) return undefined;
  const json = JSON.parse(readFileSync(manifest, 'utf8')) as { bin?: string | Record<string, string> };
  const rel = typeof json.bin === 'string' ? json.bin : json.bin?.[binName];
  return rel === undefined ? undefined : join(root, 'node_modules', pkg, rel);
}

/** Starts a process that needs a fixed port, retrying with a new port if the first one was taken meanwhile. */
async function launchOnPort(
  name: string,
  ctx: TargetContext,
  build: (port: number) => { command: string; args: string[] },
  path: string,
): Promise<Running> {
  let lastError: unknown;
  for (let attempt = 0; attempt < PORT_ATTEMPTS; attempt++) {
    const port = await freePort();
    const { command, args } = build(port);
    const proc = start({ name, command, args, cwd: ctx.tmp });
    try {
      await waitForPort(proc, port, READY_TIMEOUT_MS);
      return { url: `http://127.0.0.1:${port}${path}`, proc };
    } catch (err) {
      lastError = err;
      await stop(proc);
    }
  }
  throw lastError instanceof Error ? lastError : new Error(String(lastError));
}

const node = process.execPath;
const REDIS_URL = process.env.WARDEN_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const PG_URL = process.env.WARDEN_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
/** A rate limit far from full on every call: each one is checked and counted. */
const LIMIT_POLICY = JSON.stringify({
  version: '1',
  default: 'deny',
  tools: { echo: { action: 'allow', rate_limit: { max: 1_000_000_000, window: 60, per: 'global' } } },
});

/**
 * A production-like policy: the echo call passes a glob entry with `require` and `deny_if` conditions (regex,
 * exists, contains, in, gt, lt) and a per-session rate limit, plus a per-grant quota on every tool; around it exact
 * entries, more globs, hide globs, approvals and categories, as a real policy has. Every condition is evaluated on
 * every call (none matches the bench's `{ text }` arguments, so nothing short-circuits the deny_if list).
 */
export const PROD_POLICY = {
  version: '1',
  default: 'deny',
  hide: ['debug_*', 'internal_*', 'admin_reset'],
  all_tools: { limits: [{ counter: 'calls', window: 'minute', max: 1_000_000_000, scope: 'grant' }] },
  tools: {
    'ech*': {
      require: [
        { path: 'args.text', op: 'exists', value: true },
        { path: 'args.text', op: 'regex', value: '^x+-\\d+$' },
      ],
      deny_if: [
        { conditions: [{ path: 'args.text', op: 'contains', value: 'DROP TABLE' }], on_deny: 'No SQL.' },
        { path: 'args.mode', op: 'in', value: ['force', 'recursive'] },
        { path: 'args.size', op: 'gt', value: 1_048_576 },
        { path: 'args.path', op: 'regex', value: '^/(etc|root)/' },
        { path: 'args.retries', op: 'lt', value: 0 },
      ],
      rate_limit: { max: 1_000_000_000, window: 60, per: 'session' },
    },
    get_issue: {},
    list_issues: {},
    'search_*': { rate_limit: { max: 600, window: '1m', per: 'grant' } },
    'read_*': {},
    create_refund: {
      require: [{ path: 'args.reason', op: 'exists', value: true }],
      deny_if: [{ path: 'args.amount', op: 'gt', value: 500 }],
      limits: [{ counter: 'refunds', window: 'hour', max: 10, scope: 'grant' }],
      on_deny: 'Refunds over 500 need a human.',
    },
    merge_pull_request: { action: 'require_approval', approval: { timeout: '10m' } },
    'delete_*': { action: 'deny', reason: 'Deleting is not allowed for agents.' },
    'write_*': { approve_if: [{ path: 'args.path', op: 'regex', value: '^/srv/' }] },
  },
  categories: { destructive: 'require_approval', financial: 'deny', credential: 'deny' },
};

/** Creates a grant with the built CLI against the target's config (before the gateway starts); returns its token. */
function createGrant(ctx: TargetContext, configFile: string, label: string): string {
  const out = execFileSync(
    node,
    [join(ctx.root, 'dist', 'cli', 'main.js'), 'grants', 'create', label, '--config', configFile, '--json'],
    { cwd: dirname(configFile), encoding: 'utf8', timeout: 30_000, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const grant = JSON.parse(out) as { token?: unknown };
  if (typeof grant.token !== 'string')
    throw new Error(`grants create printed no token: ${out.slice(0, 200)}`);
  return grant.token;
}

/** The built CLI's `warden serve` on any free loopback ports, with the given config file. */
export function wardenServeArgs(root: string, file: string): string[] {
  return [
    join(root, 'dist', 'cli', 'main.js'),
    'serve',
    '--config',
    file,
    '--listen',
    '127.0.0.1:0',
    '--admin',
    '127.0.0.1:0',
  ];
}

/** `warden serve` in front of the echo server (stdio child), with `config` merged into its configuration. */
function wardenTarget(
  name: string,
  description: string,
  config: Record<string, unknown>,
  files: Record<string, string> = {},
  grantLabel?: string,
  era?: '2026',
): TargetDef {
  return {
    name,
    description,
    unavailable: (ctx) =>
      existsSync(join(ctx.root, 'dist', 'cli', 'main.js'))
        ? undefined
        : 'not built (dist/cli/main.js missing)',
    launch: async (ctx) => {
      // Each target has a directory of its own, so that the default audit file (./warden.db) is its own.
      const dir = join(ctx.tmp, name);
      mkdirSync(dir, { recursive: true });
      // JSON is valid YAML; it avoids quoting issues with paths.
      const file = join(dir, 'warden.yaml');
      for (const [fileName, text] of Object.entries(files)) writeFileSync(join(dir, fileName), text);
      const body = {
        mcpServers: { echo: { command: node, args: [ctx.echoScript] } },
        auth: { anonymous: true },
        ...config,
      };
      writeFileSync(file, `${JSON.stringify(body, null, 2)}\n`);
      const token = grantLabel === undefined ? undefined : createGrant(ctx, file, grantLabel);
      const proc = start({
        name,
        command: node,
        args: wardenServeArgs(ctx.root, file),
        cwd: dir,
      });
      const match = await waitForLine(
        proc,
        /listening mcp=(http:\/\/[^\s]+?)\/?\s+admin=(http:\/\/\S+)/,
        READY_TIMEOUT_MS,
      );
      const headers = token === undefined ? undefined : { authorization: `Bearer ${token}` };
      return { url: `${match[1]!}/echo`, proc, headers, era };
    },
  };
}

export const TARGETS: TargetDef[] = [
  {
    name: 'direct',
    description:
      'echo server itself over SDK StreamableHTTPServerTransport (no proxy), SDK default SSE answers',
    unavailable: () => undefined,
    launch: async (ctx) => {
      const proc = start({ name: 'direct', command: node, args: [ctx.echoScript, '--http'], cwd: ctx.tmp });
      const match = await waitForLine(proc, /listening (http:\/\/127\.0\.0\.1:\d+\/mcp)/, READY_TIMEOUT_MS);
      return { url: match[1]!, proc };
    },
  },
  {
    name: 'direct-json',
    description: 'as direct, with enableJsonResponse: POST answers are application/json instead of SSE',
    unavailable: () => undefined,
    launch: async (ctx) => {
      const proc = start({
        name: 'direct-json',
        command: node,
        args: [ctx.echoScript, '--http', '--json'],
        cwd: ctx.tmp,
      });
      const match = await waitForLine(proc, /listening (http:\/\/127\.0\.0\.1:\d+\/mcp)/, READY_TIMEOUT_MS);
      return { url: match[1]!, proc };
    },
  },
  wardenTarget(
    'warden',
    'mcp-warden `serve`, per-server endpoint /mcp/echo, echo as stdio child, audit log on SQLite (default)',
    {},
  ),
  {
    name: 'direct-2026',
    description:
      'the echo tool served by the SDK v2 createMcpHandler (stateless MCP 2026-07-28), an SDK v2 client pinned to 2026',
    unavailable: () => undefined,
    launch: async (ctx) => {
      const proc = start({ name: 'direct-2026', command: node, args: [ctx.echo2026Script], cwd: ctx.tmp });
      const match = await waitForLine(proc, /listening (http:\/\/127\.0\.0\.1:\d+\/mcp)/, READY_TIMEOUT_MS);
      return { url: match[1]!, proc, era: '2026' };
    },
  },
  wardenTarget(
    'warden-2026',
    'as warden (echo as stdio child, a 2025 upstream), with an SDK v2 client pinned to MCP 2026-07-28: the 2026 path',
    {},
    {},
    undefined,
    '2026',
  ),
  wardenTarget(
    'warden-prod',
    'as warden, production config: policy with conditions, globs and limits; SQLite audit; the client authenticates with a grant',
    { policy: './policy.json', auth: { anonymous: false } },
    { 'policy.json': JSON.stringify(PROD_POLICY, null, 2) },
    'bench-agent',
  ),
  wardenTarget(
    'warden-limit',
    'as warden, with a policy that rate-limits every call (memory counters)',
    { policy: './policy.json' },
    { 'policy.json': LIMIT_POLICY },
  ),
  wardenTarget(
    'warden-redis',
    'as warden-limit, with the counters in Redis',
    { policy: './policy.json', state: REDIS_URL },
    { 'policy.json': LIMIT_POLICY },
  ),
  wardenTarget(
    'warden-redis-pg',
    'as warden-limit, with counters in Redis and the audit log in PostgreSQL (the replica setup, one replica)',
    { policy: './policy.json', state: REDIS_URL, storage: PG_URL },
    { 'policy.json': LIMIT_POLICY },
  ),
  wardenTarget(
    'warden-memaudit',
    'as warden, with the audit log in an in-memory SQLite database: what the durable write to disk costs',
    { storage: 'sqlite::memory:' },
  ),
  {
    name: 'supergateway',
    description: 'supergateway --stdio … --outputTransport streamableHttp --stateful (child per session)',
    unavailable: (ctx) =>
      packageBin(ctx.root, 'supergateway', 'supergateway') ? undefined : 'supergateway not installed',
    launch: (ctx) => {
      const bin = packageBin(ctx.root, 'supergateway', 'supergateway')!;
      return launchOnPort(
        'supergateway',
        ctx,
        (port) => ({
          command: node,
          args: [
            bin,
            '--stdio',
            `${JSON.stringify(node)} ${JSON.stringify(ctx.echoScript)}`,
            '--outputTransport',
            'streamableHttp',
            '--stateful',
            '--port',
            String(port),
            '--logLevel',
            'none',
          ],
        }),
        '/mcp',
      );
    },
  },
  {
    name: 'mcp-proxy',
    description: 'mcp-proxy --server stream (one shared stdio child, per-session proxy servers)',
    unavailable: (ctx) =>
      packageBin(ctx.root, 'mcp-proxy', 'mcp-proxy') ? undefined : 'mcp-proxy not installed',
    launch: (ctx) => {
      const bin = packageBin(ctx.root, 'mcp-proxy', 'mcp-proxy')!;
      return launchOnPort(
        'mcp-proxy',
        ctx,
        (port) => ({
          command: node,
          args: [
            bin,
            '--host',
            '127.0.0.1',
            '--port',
            String(port),
            '--server',
            'stream',
            '--',
            node,
            ctx.echoScript,
          ],
        }),
        '/mcp',
      );
    },
  },
];
