// The config file's shape: zod is the single source of its types and of the generated JSON Schema (schema/).
import { z } from 'zod';
import { DURATION_PATTERN, durationMs } from '../duration.js';

/** `30` (seconds), `"500ms"`, `"30s"`, `"5m"`, `"1h"`, `"2d"`. */
const duration = z.union([
  z.number().positive(),
  z.string().regex(DURATION_PATTERN, 'expected a duration such as "500ms", "30s", "5m" or "1h"'),
]);

/** Node's timers hold at most 2^31-1 ms (24.8 days): a longer timeout would fire after 1 ms. */
const MAX_TIMER_MS = 2 ** 31 - 1;
const timerDuration = duration.refine(
  (v) => (typeof v === 'string' && !DURATION_PATTERN.test(v)) || durationMs(v) <= MAX_TIMER_MS,
  'a timeout is at most 24 days (2147483 seconds)',
);

const hostPort = z
  .string()
  .regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'expected HOST:PORT, e.g. 127.0.0.1:7420')
  .refine((v) => Number(v.slice(v.lastIndexOf(':') + 1)) <= 65_535, 'the port is at most 65535');

const stringMap = z.record(z.string(), z.string());

/**
 * One upstream MCP server. The shape is Claude Desktop's / Cursor's `mcpServers` entry, plus keys that other clients
 * write into the same file (Claude Code's `type`, Windsurf's `serverUrl`, Cline's `disabled`/`autoApprove`), so an
 * existing client config loads unchanged.
 */
export const serverSchema = z
  .strictObject({
    command: z.string().min(1).optional().describe('Executable of a stdio upstream'),
    args: z.array(z.string()).optional(),
    env: stringMap.optional().describe('Extra environment for the child process'),
    cwd: z.string().optional().describe('Working directory of the child; default: the config file directory'),
    url: z.string().url().optional().describe('URL of a Streamable HTTP or legacy SSE upstream'),
    serverUrl: z.string().url().optional().describe('Windsurf spelling of url'),
    headers: stringMap.optional().describe('Headers sent upstream (credentials); never shown to agents'),
    type: z.enum(['stdio', 'http', 'streamable-http', 'streamableHttp', 'sse']).optional(),
    transport: z.enum(['stdio', 'http', 'streamable-http', 'streamableHttp', 'sse']).optional(),
    timeout: timerDuration
      .optional()
      .describe('Upstream request timeout (number = seconds); progress resets it'),
    startTimeout: timerDuration
      .optional()
      .describe(
        'How long the server may take to start and answer initialize (number = seconds); default 60 s',
      ),
    prefix: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9-]*$/)
      .optional()
      .describe('Tool name prefix on the aggregated endpoint; default: the server id'),
    policy: z.union([z.string(), z.record(z.string(), z.unknown())]).optional(),
    disabled: z.boolean().optional().describe('Skip this server'),
    autoApprove: z
      .array(z.string())
      .optional()
      .describe('Client-side setting of Cline; accepted and ignored'),
    alwaysAllow: z
      .array(z.string())
      .optional()
      .describe('Client-side setting of Cline; accepted and ignored'),
  })
  .superRefine((s, ctx) => {
    const url = s.url ?? s.serverUrl;
    if (s.command === undefined && url === undefined) {
      ctx.addIssue({ code: 'custom', message: 'a server needs either "command" (stdio) or "url" (HTTP)' });
    }
    if (s.command !== undefined && url !== undefined) {
      ctx.addIssue({ code: 'custom', message: 'a server has either "command" or "url", not both' });
    }
    const kind = s.transport ?? s.type;
    if (kind === 'stdio' && url !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['type'], message: 'type "stdio" needs "command", not "url"' });
    }
    if (kind !== undefined && kind !== 'stdio' && s.command !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['type'], message: `type "${kind}" needs "url", not "command"` });
    }
  });

/** Server ids become URL path segments and tool name prefixes: keep them short and plain. */
export const SERVER_ID_PATTERN = /^[A-Za-z0-9](?:[A-Za-z0-9-]|_(?!_))*$/;

export const configSchema = z.strictObject({
  $schema: z.string().optional(),
  mcpServers: z
    .record(
      z
        .string()
        .regex(
          SERVER_ID_PATTERN,
          'server ids use letters, digits, "-" and single "_" (no "__", used as separator)',
        )
        .max(64),
      serverSchema,
    )
    .describe('Upstream MCP servers, keyed by server id'),
  listen: hostPort.default('127.0.0.1:7420').describe('Agent-facing MCP endpoint'),
  admin: hostPort.default('127.0.0.1:7421').describe('Admin API and dashboard'),
  storage: z
    .string()
    .regex(/^(sqlite:.+|postgres(ql)?:\/\/.+)$/, 'expected sqlite:<file> or postgres://...')
    .default('sqlite:./warden.db'),
  state: z
    .string()
    .regex(/^(memory|rediss?:\/\/.+)$/, 'expected memory or redis://...')
    .default('memory')
    .describe('Where limit counters live: memory (one process) or redis://... (shared by replicas)'),
  state_fail_mode: z
    .enum(['closed', 'open'])
    .default('closed')
    .describe(
      'When the state backend cannot be reached: closed refuses calls that have a limit; open lets them through uncounted',
    ),
  policy: z.union([z.string(), z.record(z.string(), z.unknown())]).optional(),
  auth: z
    .strictObject({
      anonymous: z
        .boolean()
        .default(false)
        .describe(
          'Let agent requests without a token in, as no grant (loopback demos and tests only). A token that is sent is still checked',
        ),
    })
    .default({ anonymous: false }),
  aggregate: z
    .strictObject({
      separator: z
        .string()
        .regex(/^[_.-]{1,3}$/, 'the separator is one to three of "_", "-", "."')
        .default('__')
        .describe('Between the server prefix and the tool name on /mcp'),
    })
    .default({ separator: '__' }),
  http: z
    .strictObject({
      allowedHosts: z
        .array(z.string())
        .optional()
        .describe('Host header values accepted; default: loopback names'),
      allowedOrigins: z
        .array(z.string())
        .optional()
        .describe('Origin values accepted; default: loopback origins'),
      maxBodyBytes: z
        .number()
        .int()
        .positive()
        .default(4 * 1024 * 1024),
      maxSessions: z
        .number()
        .int()
        .positive()
        .default(256)
        .describe('Open agent sessions at most; each has its own upstream sessions (stdio: processes)'),
      sessionIdleTimeout: duration.default('30m').describe('Sessions idle this long are closed'),
      maxSessionsPerGrant: z
        .number()
        .int()
        .positive()
        .default(16)
        .describe(
          "Open sessions per grant (anonymous agents count as one) across replicas; a new one past it reclaims the grant's own oldest idle session, else 429",
        ),
      upstreamIdleTimeout: duration
        .default('1m')
        .describe(
          'A session idle this long (no request in flight, no GET stream) has its upstream sessions and processes stopped; its next request starts them again',
        ),
    })
    .default({
      maxBodyBytes: 4 * 1024 * 1024,
      maxSessions: 256,
      sessionIdleTimeout: '30m',
      maxSessionsPerGrant: 16,
      upstreamIdleTimeout: '1m',
    }),
  audit: z
    .strictObject({
      args: z
        .enum(['keys', 'redacted', 'full'])
        .default('keys')
        .describe(
          'keys: argument names and a hash; redacted: values, long strings cut; full: values. Secrets are always masked',
        ),
      retention: duration
        .optional()
        .describe('Records older than this are pruned (a checkpoint keeps the chain verifiable)'),
      spool: z
        .string()
        .min(1)
        .optional()
        .describe(
          'Base name of the files (one per gateway process: <base without .spool>.<pid>.spool) that make each record durable in one write before it reaches the storage, and hold records while the storage is down. Default: <sqlite file>.spool, or warden-audit.spool next to the config for PostgreSQL',
        ),
      durability: z
        .enum(['crash', 'power-loss'])
        .default('crash')
        .describe(
          'SQLite: crash = a committed record survives any crash of the gateway (kill -9); power-loss = also an OS crash or power cut (an fsync per commit, slower). PostgreSQL: set by the server (synchronous_commit)',
        ),
    })
    .default({ args: 'keys', durability: 'crash' }),
  pinning: z
    .strictObject({
      onChange: z
        .enum(['require_approval', 'deny', 'allow'])
        .default('require_approval')
        .describe(
          'A tool whose definition changed since warden first saw it: its calls need approval (default), are denied, or are allowed (flagged and audited only) until an admin runs warden pins accept',
        ),
    })
    .default({ onChange: 'require_approval' })
    .describe('Trust on first use of tool definitions (docs/risk.md)'),
  approvals: z
    .strictObject({
      webhooks: z
        .array(
          z.strictObject({
            url: z.string().url().describe('Where approval requests and decisions are POSTed'),
            secret: z
              .string()
              .min(16)
              .describe(
                'HMAC-SHA256 key for the x-warden-signature header (use ${VAR}); at least 16 characters',
              ),
            format: z
              .enum(['json', 'slack'])
              .default('json')
              .describe('json, or a Slack incoming-webhook message'),
            servers: z.array(z.string()).optional().describe('Only approvals of these servers; default all'),
          }),
        )
        .default([]),
    })
    .default({ webhooks: [] })
    .describe('Human approval of calls a policy marks require_approval (docs/approvals.md)'),
  tracing: z
    .strictObject({
      endpoint: z
        .string()
        .url()
        .optional()
        .describe(
          'OTLP/HTTP traces endpoint (e.g. http://127.0.0.1:4318/v1/traces); default: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT from the environment, else tracing is off',
        ),
      serviceName: z.string().min(1).default('mcp-warden').describe('service.name of the spans'),
      headers: z
        .record(z.string(), z.string())
        .default({})
        .describe('Sent with every export (e.g. the collector API key); never logged'),
    })
    .default({ serviceName: 'mcp-warden', headers: {} }),
  log: z
    .strictObject({
      level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
    })
    .default({ level: 'info' }),
});

export type ConfigFile = z.infer<typeof configSchema>;
export type ServerEntry = z.infer<typeof serverSchema>;
