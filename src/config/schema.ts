// The config file's shape: zod is the single source of its types and of the generated JSON Schema (schema/).
import { fileURLToPath } from 'node:url';
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

/** A configured root: a path, or a file:// URI that names a path on this host. */
function isRootEntry(v: string): boolean {
  if (!/^[A-Za-z][A-Za-z0-9+.-]+:/.test(v)) return true;
  if (!/^file:/i.test(v)) return false;
  try {
    fileURLToPath(v);
    return true;
  } catch {
    return false;
  }
}

/**
 * What agents get of a tool whose definition is flagged (changed since it was pinned, or poisoned) until a person
 * accepts it: `hide` (not listed, called like a tool that does not exist), `hold` (the last accepted definition is
 * listed, calls are held for approval or denied), `pass` (listed as it is now, flagged and audited only).
 */
const pinAction = z.enum(['hide', 'hold', 'pass']);

/** The pinning keys, every one optional: a server's own block overrides the global one key by key. */
const pinningKeys = {
  onChange: z
    .enum(['hide', 'hold', 'pass', 'require_approval', 'deny', 'allow'])
    .optional()
    .describe(
      'A definition that changed since it was pinned: hide, hold (default: agents keep seeing the accepted definition, calls are held) or pass. The earlier values still load: require_approval = hold, deny = hold with heldCalls: deny, allow = pass',
    ),
  onPoisoning: pinAction
    .optional()
    .describe(
      'A definition flagged as tool poisoning that no person accepted: hide (default), hold (the last accepted definition if there is one, else hidden) or pass',
    ),
  heldCalls: z
    .enum(['require_approval', 'deny'])
    .optional()
    .describe(
      'Calls of a held tool: need approval (default) or are denied, until a person accepts the definition',
    ),
};

const pinningSchema = z.strictObject(pinningKeys);

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
    envFile: z
      .string()
      .min(1)
      .optional()
      .describe(
        'A .env file (KEY=VALUE lines) for the child, as VS Code and Cursor read it; "env" wins; relative to the config file',
      ),
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
    roots: z
      .union([
        z.enum(['none', 'agent']),
        z
          .array(
            z.string().min(1).refine(isRootEntry, 'a root is a directory path or a file:// URI of this host'),
          )
          .max(64),
      ])
      .optional()
      .describe(
        'The roots this server is told (roots/list): directories answered by warden; "agent" passes the agent\'s own; "none" (default) declares no roots capability upstream',
      ),
    protocol: z
      .enum(['auto', '2025-11-25', '2026-07-28'])
      .optional()
      .describe(
        'The protocol era warden speaks to this server: "auto" (default) asks it with a server/discover probe (once per server) and falls back to initialize; a version pins it. 2026-07-28 needs an HTTP upstream',
      ),
    disabled: z.boolean().optional().describe('Skip this server'),
    autoApprove: z
      .array(z.string())
      .optional()
      .describe('Client-side setting of Cline; accepted and ignored'),
    alwaysAllow: z
      .array(z.string())
      .optional()
      .describe('Client-side setting of Cline; accepted and ignored'),
    pinning: pinningSchema
      .optional()
      .describe("This server's pinning rules; each key overrides the global pinning block's"),
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
          'keys: argument names (and an HMAC of the arguments with audit.key); redacted: values, long strings cut; full: values. Secrets are always masked',
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
      key: z
        .string()
        .optional()
        .describe(
          'Secret (32+ characters, usually ${WARDEN_AUDIT_KEY}) that keys the audit chain, the argument hash and exported heads with HMAC; kept outside the database, so a database writer cannot recompute the chain. Empty: no key',
        ),
      keyFile: z
        .string()
        .min(1)
        .optional()
        .describe(
          'File holding the audit key (mode 600 or stricter, not a symbolic link): the current key on the first line, earlier keys (still accepted by verify) on the following lines',
        ),
      previousKeys: z
        .array(z.string())
        .optional()
        .describe('Earlier audit keys, newest first: records keyed with them still verify (key rotation)'),
      heads: z
        .strictObject({
          file: z
            .string()
            .min(1)
            .optional()
            .describe(
              'File each gateway appends the chain head to (one JSON line: seq, hash, time, key id, MAC); keep it where the database writer cannot rewrite it. warden audit verify reads it',
            ),
          log: z
            .boolean()
            .default(false)
            .describe(
              'Also write each exported head to the log (an info line with auditHead), for a log pipeline',
            ),
          interval: duration
            .default('1m')
            .describe('How often the head is exported when records were added (and when the gateway stops)'),
        })
        .optional()
        .describe(
          'Export the chain head (record count and last hash, MACed with audit.key) outside the database',
        ),
    })
    .refine((a) => a.key === undefined || a.key === '' || a.keyFile === undefined, {
      message: 'set audit.key or audit.keyFile, not both',
    })
    .default({ args: 'keys', durability: 'crash' }),
  pinning: pinningSchema
    .default({})
    .describe(
      'Trust on first use of tool definitions: what agents see of a changed or poisoned definition until a person accepts it (docs/risk.md)',
    ),
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
