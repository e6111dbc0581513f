// The config file's shape: zod is the single source of its types and of the generated JSON Schema (schema/).
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { DURATION_PATTERN, durationMs } from '../duration.js';
import { guardsSchema } from '../guards/config.js';

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

/** Dashboard log-in through an OpenID provider (src/dashboard/oidc-login.ts), beside admin tokens. */
const dashboardLogin = z
  .strictObject({
    issuer: z
      .string()
      .url()
      .refine(
        (v) =>
          URL.canParse(v) &&
          (new URL(v).protocol === 'https:' ||
            /^http:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?(\/|$)/.test(v)),
        'the issuer must use https (http only on loopback)',
      )
      .describe(
        'The OpenID provider (https; http only on loopback); metadata from <issuer>/.well-known/openid-configuration',
      ),
    clientId: z.string().min(1).describe('The client registered at the provider for the dashboard'),
    clientSecret: z
      .string()
      .min(1)
      .optional()
      .describe(
        'For a confidential client (client_secret_basic), e.g. ${WARDEN_DASHBOARD_SECRET}; without it: public client, PKCE only',
      ),
    redirectUri: z
      .string()
      .url()
      .refine(
        (v) => URL.canParse(v) && new URL(v).pathname === '/api/oidc/callback',
        'the redirect URI ends in /api/oidc/callback',
      )
      .describe('Exactly as registered at the provider: <admin origin>/api/oidc/callback'),
    scopes: z
      .array(z.string())
      .default(['openid', 'profile', 'email'])
      .describe('Scopes asked for; openid is added'),
    claims: z
      .strictObject({
        groups: z
          .string()
          .default('groups')
          .describe('Claim or dotted path with the groups (a list or a space-separated string)'),
        label: z.string().default('email').describe('Claim shown as who is logged in; sub when missing'),
      })
      .default({ groups: 'groups', label: 'email' }),
    roles: z
      .strictObject({
        admin: z.array(z.string()).optional(),
        approver: z.array(z.string()).optional(),
        viewer: z.array(z.string()).optional(),
      })
      .refine((r) => Object.values(r).some((g) => g.length > 0), 'map at least one group to a role')
      .describe(
        'Groups per dashboard role; the highest role any group maps to wins; a person with none is refused',
      ),
  })
  .describe('Dashboard log-in with OpenID Connect (authorization code + PKCE), beside admin tokens');

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
    isolation: z
      .enum(['session', 'grant', 'shared'])
      .optional()
      .describe(
        'Which agents share one upstream session (and, for stdio, one child process): "session" one per agent session, "grant" one per grant (anonymous agents count as one grant), "shared" one for all; default: "grant" for stdio servers (unless roots is "agent"), "session" for HTTP and SSE (docs/isolation.md)',
      ),
    idleTimeout: timerDuration
      .optional()
      .describe(
        'How long a grant or shared upstream link that no agent uses stays open before it is closed (number = seconds); default 60 s',
      ),
    credentials: z
      .discriminatedUnion('type', [
        z.strictObject({
          type: z
            .literal('token-exchange')
            .describe(
              'RFC 8693 token exchange at auth.oauth.issuer: the upstream gets a token for itself, same subject',
            ),
          audience: z
            .string()
            .min(1)
            .optional()
            .describe('What the upstream token is for (audience, and resource when a URL); default: the url'),
          clientId: z
            .string()
            .min(1)
            .describe("Warden's client at the issuer, allowed the token-exchange grant"),
          clientSecret: z
            .string()
            .min(1)
            .optional()
            .describe('e.g. ${WARDEN_EXCHANGE_SECRET}; without it: public client'),
          scope: z.string().min(1).optional().describe('Scopes asked for the upstream token'),
        }),
        z.strictObject({
          type: z
            .literal('oauth')
            .describe(
              "Warden runs the upstream's own OAuth flow for each user (authorization code + PKCE) and stores the tokens encrypted",
            ),
          resource: z.string().url().optional().describe('RFC 8707 resource asked for (default: the url)'),
          scope: z.string().min(1).optional().describe('Scopes asked for at the upstream'),
          clientId: z
            .string()
            .min(1)
            .optional()
            .describe(
              "A client registered by hand at the upstream's authorization server; without it: a Client ID Metadata Document, else dynamic registration",
            ),
          clientSecret: z
            .string()
            .min(1)
            .optional()
            .describe('e.g. ${WARDEN_TRACKER_SECRET}; only with clientId'),
        }),
      ])
      .optional()
      .describe(
        "Per-user credentials for an HTTP upstream: each agent's calls carry a token for this upstream obtained for that agent's identity; the agent's own token is never forwarded (not `auth`: clients use that key for their own OAuth)",
      ),
    protocol: z
      .enum(['auto', '2025-11-25', '2026-07-28'])
      .optional()
      .describe(
        'The protocol era warden speaks to this server: "auto" (default) asks it with a server/discover probe (once per server) and falls back to initialize; a version pins it. A stdio server is spoken to in 2025 unless pinned to 2026-07-28 (no probe before initialize); legacy SSE is 2025 only',
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
    // One upstream session heard by several agents cannot be told one agent's roots: it would show them to the others.
    if (s.roots === 'agent' && (s.isolation === 'grant' || s.isolation === 'shared'))
      ctx.addIssue({
        code: 'custom',
        path: ['isolation'],
        message: `isolation "${s.isolation}" cannot be combined with roots "agent": an upstream shared by several agent sessions would see one agent's roots as another's; use isolation "session", or configured roots`,
      });
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

/** `flows.rules[]` (SPEC §13), in the config and in policy files. */
export const flowRuleSchema = z
  .strictObject({
    after: z.string().min(1).describe('Once a result of a tool with this label reached the conversation'),
    deny: z.string().min(1).optional().describe('... calls of tools with this label are refused'),
    hold: z.string().min(1).optional().describe('... calls of tools with this label wait for an approval'),
    reason: z.string().optional().describe('What the agent reads'),
  })
  .refine((r) => (r.deny === undefined) !== (r.hold === undefined), {
    message: 'a flow rule has exactly one of "deny" or "hold"',
  });

/** Label -> tools carrying it, as <server>/<tool glob>. */
const flowLabelsSchema = z
  .record(z.string().min(1), z.array(z.string().min(1)))
  .describe('Label -> tools carrying it, as <server>/<tool glob> (docs/flows.md)');

/**
 * The `flows:` block a policy file may carry (SPEC §13): labels and rules that add to the config's for the calls the
 * policy governs. Only what narrows: no exclusions, no switching derivation off (docs/policy.md).
 */
export const policyFlowsSchema = z
  .strictObject({
    labels: flowLabelsSchema.default({}),
    rules: z.array(flowRuleSchema).default([]).describe('Flow rules of this policy (docs/flows.md)'),
  })
  .describe("Data-flow labels and rules of this policy, adding to the config's (docs/policy.md)");

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
  state_prefix: z
    .string()
    .regex(/^[A-Za-z0-9:_.-]{1,64}$/, 'expected 1 to 64 letters, digits or : _ . -')
    .default('warden:')
    .describe(
      'Prefix of every Redis key warden writes (counters, the session directory, conversation state): deployments or test runs that share one Redis use different prefixes; replicas of one deployment the same',
    ),
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
      dashboard: dashboardLogin.optional(),
      credentialKeyFile: z
        .string()
        .min(1)
        .optional()
        .describe(
          'A file holding the 32-byte key that seals upstream tokens at rest (64 hex digits or base64; relative to the config file); default: environment variable WARDEN_CREDENTIAL_KEY',
        ),
      publicUrl: z
        .string()
        .url()
        .optional()
        .describe(
          'How agents reach warden (scheme, host, optional path; no trailing slash): the OAuth protected resource is <publicUrl>/mcp',
        ),
      oauth: z
        .strictObject({
          issuer: z
            .string()
            .url()
            .describe(
              'The OAuth issuer whose access tokens agents present; metadata by RFC 8414 / OpenID discovery. https, or http on loopback only',
            ),
          audience: z
            .string()
            .url()
            .optional()
            .describe(
              'RFC 8707 resource a token must be issued for (default: <publicUrl>/mcp); a token for the exact per-server resource is accepted too',
            ),
          identity: z
            .strictObject({
              subject: z
                .string()
                .default('sub')
                .describe(
                  'Claim (or dotted path) naming the agent: the subject in audit, limits and approvals',
                ),
              groups: z
                .string()
                .default('groups')
                .describe(
                  'Claim (or dotted path, e.g. realm_access.roles) with the groups: a list or a space-separated string',
                ),
            })
            .default({ subject: 'sub', groups: 'groups' }),
          policies: z
            .record(z.string(), z.string())
            .default({})
            .describe(
              "Group -> policy file (relative to the config): a member gets each mapped group's policy, each only narrowing, as a grant's policy",
            ),
          scopes: z
            .array(z.string())
            .default([])
            .describe(
              'Scopes every token must carry; a token without them is answered 403 insufficient_scope',
            ),
          introspection: z
            .strictObject({
              clientId: z
                .string()
                .min(1)
                .describe('Client id warden authenticates with at the introspection endpoint'),
              clientSecret: z.string().min(1).describe('Its secret (usually ${WARDEN_INTROSPECTION_SECRET})'),
            })
            .optional()
            .describe(
              "Accept opaque (non-JWT) access tokens by RFC 7662 introspection at the issuer's introspection_endpoint; answers cached per token hash until exp",
            ),
          clockSkew: duration.default('60s').describe("Tolerance for exp/nbf/iat against warden's clock"),
        })
        .optional()
        .describe('Accept access tokens of an OAuth 2.1 / OpenID issuer beside grants (SPEC 14)'),
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
  guards: guardsSchema.optional(),
  flows: z
    .strictObject({
      labels: flowLabelsSchema.default({}),
      exclude: z
        .record(z.string().min(1), z.array(z.string().min(1)))
        .default({})
        .describe('Label -> tools that never get this label from risk signals, as <server>/<tool glob>'),
      derive: z
        .boolean()
        .default(true)
        .describe(
          'Let risk signals add labels: private (reads personal data, messages, credentials), external (sends out)',
        ),
      rules: z
        .array(flowRuleSchema)
        .default([])
        .describe('Flow rules, decided before forward (docs/flows.md)'),
      conversation: z
        .enum(['identity', 'session'])
        .default('identity')
        .describe(
          'What a conversation is: identity (OAuth subject, else grant, else all anonymous traffic; a new session keeps the history) or session (a 2025 session; 2026 traffic stays with its identity)',
        ),
      shadow: z.boolean().default(false).describe('Record flow decisions without enforcing them'),
      hold_timeout: z.string().default('5m').describe('How long a held call waits for a person'),
      key_prefix: z
        .string()
        .optional()
        .describe(
          'Redis key prefix of conversation state (keys are <prefix>conv:<conversation>; default: state_prefix); replicas share it',
        ),
    })
    .prefault({})
    .describe('Data-flow labels and rules (SPEC §13, docs/flows.md)'),
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
      stateKey: z
        .string()
        .optional()
        .describe(
          'Secret (32+ characters, usually ${WARDEN_APPROVAL_STATE_KEY}) that seals the requestState of 2026 approval round trips (docs/approvals-inband.md); the same on every replica that may serve a retry. Unset: a random key per process (one replica only)',
        ),
      stateKeyFile: z.string().min(1).optional().describe('File holding approvals.stateKey (its first line)'),
    })
    .refine((a) => a.stateKey === undefined || a.stateKey === '' || a.stateKey.length >= 32, {
      message: 'approvals.stateKey must be at least 32 characters',
      path: ['stateKey'],
    })
    .refine((a) => a.stateKey === undefined || a.stateKey === '' || a.stateKeyFile === undefined, {
      message: 'set approvals.stateKey or approvals.stateKeyFile, not both',
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
