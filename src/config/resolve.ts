// Compiles a validated config into the plain runtime data the gateway runs on: defaults applied, paths resolved.

import { readFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, resolve as resolvePath } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { WebhookConfig } from '../approvals/webhook.js';
import type { AuditKeySource } from '../audit/keys.js';
import { addConfiguredSecrets } from '../audit/redact.js';
import type { OidcLoginConfig } from '../dashboard/oidc-login.js';
import { durationMs } from '../duration.js';
import { ConfigError, type Problem } from '../errors.js';
import { type CompiledGuards, compileGuards } from '../guards/config.js';
import { addCredentials } from '../guards/credentials.js';
import type { UpstreamOAuthConfig } from '../identity/upstream/oauth-flow.js';
import { credentialValues, headerSecrets } from './credentials.js';
import type { LoadedConfig } from './load.js';
import type { LoadedPolicy } from './policy-file.js';
import type { ConfigFile } from './schema.js';

export { durationMs };

export type UpstreamKind = 'stdio' | 'http' | 'sse';

/** auth.oauth as the resource server reads it (SPEC 14). */
export interface OAuthConfig {
  issuer: string;
  audience: string | undefined;
  subjectClaim: string;
  groupsClaim: string;
  /** Group -> absolute policy file path. */
  policies: Record<string, string>;
  scopes: string[];
  clockSkewMs: number;
  /** Opaque tokens by RFC 7662 introspection; undefined: JWTs only. */
  introspection: { clientId: string; clientSecret: string } | undefined;
}

export interface UpstreamSpec {
  id: string;
  /** Tool/prompt name prefix on the aggregated endpoint. */
  prefix: string;
  kind: UpstreamKind;
  command?: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  url?: string;
  headers: Record<string, string>;
  timeoutMs: number;
  /** For starting and `initialize` (npx may download first). */
  startTimeoutMs: number;
  /**
   * What the upstream is told its roots are: `none` (no roots capability declared upstream; the default), `agent`
   * (the agent's own capability and answers), or a fixed list answered by warden (docs/configuration.md, roots).
   */
  roots?: 'none' | 'agent' | ReadonlyArray<{ uri: string; name: string }>;
  /** Which agent sessions share one upstream link (docs/isolation.md); set by the config loader, absent = session. */
  isolation?: Isolation;
  /** How long a pooled grant or shared link without leases stays open; absent = DEFAULT_LINK_IDLE_MS. */
  idleMs?: number;
  /** `mcpServers.<id>.credentials`: per-user credentials (src/identity/upstream/credentials.ts); undefined: headers only. */
  auth?: UpstreamAuth;
  /** The era warden speaks to it (SPEC §12): `auto` (absent) probes with server/discover; a version pins it. */
  protocol?: 'auto' | '2025-11-25' | '2026-07-28';
}

export type Isolation = 'session' | 'grant' | 'shared';

/** A pooled link nobody uses stays this long: a stateless client's next request finds the process still running. */
export const DEFAULT_LINK_IDLE_MS = 60_000;

/**
 * stdio: one child per grant. A child process is the costly part (a 2026 client sends one request at a time, without
 * a session), and the agents of one grant act for the same principal. HTTP and SSE: one upstream session per agent
 * session, as the upstream itself keeps sessions apart cheaply. Roots from the agent always mean one per session.
 */
export function defaultIsolation(kind: UpstreamKind, roots: unknown): Isolation {
  if (roots === 'agent') return 'session';
  return kind === 'stdio' ? 'grant' : 'session';
}

/**
 * Per-user credentials for an HTTP upstream: RFC 8693 token exchange at the agent's issuer, or the upstream's own
 * OAuth flow run by warden for each user (src/identity/upstream/oauth-flow.ts).
 */
export type UpstreamAuth =
  | {
      type: 'token-exchange';
      audience: string;
      clientId: string;
      clientSecret?: string | undefined;
      scope?: string | undefined;
    }
  | UpstreamOAuthConfig;

/** A configured root (a path relative to the config file, or a file:// URI) as the root object warden answers. */
export function rootOf(entry: string, base: string): { uri: string; name: string } {
  const path = /^file:/i.test(entry) ? fileURLToPath(entry) : resolvePath(base, entry);
  return { uri: pathToFileURL(path).href, name: basename(path) || path };
}

export interface HostPort {
  host: string;
  port: number;
}

export interface GatewayConfig {
  file: string;
  upstreams: UpstreamSpec[];
  listen: HostPort;
  admin: HostPort;
  separator: string;
  allowedHosts: string[] | undefined;
  allowedOrigins: string[] | undefined;
  maxBodyBytes: number;
  maxSessions: number;
  sessionIdleMs: number;
  /** Open sessions per grant (anonymous: one owner), across replicas when the session directory is shared. */
  maxSessionsPerGrant: number;
  /** An idle session's upstreams are stopped after this long, and started again on its next request. */
  upstreamIdleMs: number;
  logLevel: string;
  /** `sqlite:<path>` (relative to the config file) or `postgres://...` */
  storage: string;
  /** `memory` or `redis://...`: where limit counters live. */
  state: string;
  stateFailMode: 'closed' | 'open';
  /** Prefix of every Redis key warden writes. */
  statePrefix: string;
  /** Agent requests without a token are let in (as no grant). */
  anonymous: boolean;
  /** `auth.dashboard`: dashboard log-in through an OpenID provider; undefined: admin tokens only. */
  dashboardLogin: OidcLoginConfig | undefined;
  /** auth.credentialKeyFile, absolute; undefined: the key is in WARDEN_CREDENTIAL_KEY. */
  credentialKeyFile?: string | undefined;
  /** auth.publicUrl without a trailing slash; undefined when not set. */
  publicUrl: string | undefined;
  /** auth.oauth, with the group policy paths resolved against the config file; undefined: grants only. */
  oauth: OAuthConfig | undefined;
  auditArgs: 'keys' | 'redacted' | 'full';
  auditRetentionMs: number | undefined;
  auditDurability: 'crash' | 'power-loss';
  /** audit.key / keyFile / previousKeys (paths resolved); read by loadAuditKeys. Undefined: no key. */
  auditKey: AuditKeySource | undefined;
  /** approvals.stateKey / stateKeyFile (path resolved): the key that seals 2026 approval round trips. */
  approvalStateKey: { stateKey: string | undefined; stateKeyFile: string | undefined };
  /** audit.heads (the file path resolved); undefined: heads are not exported. */
  auditHeads: { file: string | undefined; log: boolean; intervalMs: number } | undefined;
  approvalWebhooks: WebhookConfig[];
  /** Pinning rules: the global block's, and each server's with its own keys over them. */
  pinning: { global: PinRules; servers: Map<string, PinRules> };
  /** Result guards (SPEC §13), compiled; all off when the config has no `guards:` block. */
  guards?: CompiledGuards;
  /** Data-flow labels and rules (docs/flows.md). */
  flows: {
    labels: Record<string, string[]>;
    exclude: Record<string, string[]>;
    derive: boolean;
    rules: Array<{
      after: string;
      deny?: string | undefined;
      hold?: string | undefined;
      reason?: string | undefined;
    }>;
    conversation: 'identity' | 'session';
    shadow: boolean;
    holdTimeoutMs: number;
    keyPrefix: string;
  };
  /** audit.spool as written (relative to the config file's directory); undefined: the default for the storage. */
  auditSpool: string | undefined;
  /** As configured; the environment's OTEL_* variables are consulted when the gateway starts. */
  tracing: { endpoint: string | undefined; serviceName: string; headers: Record<string, string> };
  policies: { global: LoadedPolicy | undefined; servers: Map<string, LoadedPolicy> };
  /** What was read differently from how it is written (client keys left out, server names given an id). */
  warnings: Problem[];
}

/** Reads a .env file: `KEY=VALUE` lines, `export ` allowed, `#` comments, values optionally quoted. */
export function parseEnvFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*)$/.exec(line);
    if (m === null) continue;
    let value = m[2]!;
    const quote = value[0];
    if ((quote === '"' || quote === "'") && value.length >= 2 && value.endsWith(quote)) {
      value = value.slice(1, -1);
      if (quote === '"') value = value.replace(/\\n/g, '\n');
    } else value = value.replace(/\s+#.*$/, '');
    env[m[1]!] = value;
  }
  return env;
}

/** What agents get of a flagged tool definition until a person accepts it (docs/risk.md, "Pinning"). */
export interface PinRules {
  onChange: 'hide' | 'hold' | 'pass';
  onPoisoning: 'hide' | 'hold' | 'pass';
  heldCalls: 'require_approval' | 'deny';
}

/** Safe by default: a changed definition is held (the accepted one stays listed), a poisoned one hidden. */
export const DEFAULT_PIN_RULES: PinRules = {
  onChange: 'hold',
  onPoisoning: 'hide',
  heldCalls: 'require_approval',
};

type PinningKeys = {
  onChange?: PinRules['onChange'] | 'require_approval' | 'deny' | 'allow' | undefined;
  onPoisoning?: PinRules['onPoisoning'] | undefined;
  heldCalls?: PinRules['heldCalls'] | undefined;
};

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The pinning block as written, with the values of the earlier `onChange` (call decisions) read as list rules. */
export function pinRules(keys: PinningKeys): PinRules {
  const legacy = keys.onChange;
  const onChange =
    legacy === 'require_approval' || legacy === 'deny'
      ? 'hold'
      : legacy === 'allow'
        ? 'pass'
        : (legacy ?? DEFAULT_PIN_RULES.onChange);
  return {
    onChange,
    onPoisoning: keys.onPoisoning ?? DEFAULT_PIN_RULES.onPoisoning,
    heldCalls: keys.heldCalls ?? (legacy === 'deny' ? 'deny' : DEFAULT_PIN_RULES.heldCalls),
  };
}

export const DEFAULT_TIMEOUT_MS = 60_000;
export const DEFAULT_START_TIMEOUT_MS = 60_000;

export function parseHostPort(v: string): HostPort {
  const i = v.lastIndexOf(':');
  let host = v.slice(0, i);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  return { host, port: Number(v.slice(i + 1)) };
}

/**
 * The secrets a config holds: every value of an upstream's `headers` and `env` (and the credential after an
 * `Authorization` scheme), every value a `${ENV}` reference was replaced with, webhook secrets and URLs, tracing
 * headers. They are masked wherever text leaves the gateway (src/audit/redact.ts, docs/configuration.md).
 */
export function configSecrets(loaded: LoadedConfig): string[] {
  const { config } = loaded;
  const out: string[] = [...(loaded.interpolated ?? [])];
  const headerValues = (headers: Record<string, string> | undefined) => out.push(...headerSecrets(headers));
  for (const s of Object.values(config.mcpServers)) {
    headerValues(s.headers);
    out.push(...Object.values(s.env ?? {}));
  }
  for (const w of config.approvals.webhooks) out.push(w.secret, w.url);
  if (config.approvals.stateKey !== undefined && config.approvals.stateKey !== '')
    out.push(config.approvals.stateKey);
  // oauth: the introspection client's secret is masked in logs and audit like any other.
  if (config.auth.oauth?.introspection !== undefined) out.push(config.auth.oauth.introspection.clientSecret);
  headerValues(config.tracing.headers);
  if (config.auth.dashboard?.clientSecret !== undefined) out.push(config.auth.dashboard.clientSecret);
  for (const s of Object.values(config.mcpServers))
    if (s.credentials?.clientSecret !== undefined) out.push(s.credentials.clientSecret);
  return out;
}

/** Whether each agent session gets its own links to this server: `isolation` unset (HTTP: per session) or "session". */
function perSessionLinks(entry: object): boolean {
  const isolation = (entry as { isolation?: unknown }).isolation;
  return isolation === undefined || isolation === 'session';
}

/** `auth.dashboard` as the log-in needs it; `openid` is always asked for. */
function dashboardLoginConfig(d: ConfigFile['auth']['dashboard']): OidcLoginConfig | undefined {
  if (d === undefined) return undefined;
  return {
    issuer: d.issuer,
    clientId: d.clientId,
    clientSecret: d.clientSecret,
    redirectUri: d.redirectUri,
    scopes: d.scopes.includes('openid') ? d.scopes : ['openid', ...d.scopes],
    groupsClaim: d.claims.groups,
    labelClaim: d.claims.label,
    roles: d.roles,
  };
}

export function resolveConfig(loaded: LoadedConfig): GatewayConfig {
  const { config, file } = loaded;
  // Masking needs the secrets before anything is started or logged; every command and the gateway come through here.
  addConfiguredSecrets(configSecrets(loaded));
  addCredentials(credentialValues(loaded));
  const base = dirname(file);
  const upstreams: UpstreamSpec[] = [];
  const problems: Problem[] = [];
  for (const [id, s] of Object.entries(config.mcpServers)) {
    if (s.disabled) continue;
    let fromFile: Record<string, string> = {};
    if (s.envFile !== undefined) {
      const path = isAbsolute(s.envFile) ? s.envFile : resolvePath(base, s.envFile);
      try {
        fromFile = parseEnvFile(readFileSync(path, 'utf8'));
        // An env file holds the same kind of values as `env`: masked as secrets (docs/configuration.md).
        addConfiguredSecrets(Object.values(fromFile));
        addCredentials(credentialValues(loaded, [fromFile]));
      } catch (err) {
        problems.push({
          file,
          path: `mcpServers.${id}.envFile`,
          message: `cannot read ${path}: ${(err as Error).message}`,
        });
      }
    }
    const url = s.url ?? s.serverUrl;
    const declared = s.transport ?? s.type;
    const kind: UpstreamKind = s.command !== undefined ? 'stdio' : declared === 'sse' ? 'sse' : 'http';
    const spec: UpstreamSpec = {
      id,
      prefix: s.prefix ?? id,
      kind,
      args: s.args ?? [],
      env: { ...fromFile, ...(s.env ?? {}) },
      cwd: s.cwd === undefined ? base : isAbsolute(s.cwd) ? s.cwd : resolvePath(base, s.cwd),
      headers: s.headers ?? {},
      timeoutMs: s.timeout === undefined ? DEFAULT_TIMEOUT_MS : durationMs(s.timeout),
      startTimeoutMs: s.startTimeout === undefined ? DEFAULT_START_TIMEOUT_MS : durationMs(s.startTimeout),
      isolation: s.isolation ?? defaultIsolation(kind, s.roots),
      idleMs: s.idleTimeout === undefined ? DEFAULT_LINK_IDLE_MS : durationMs(s.idleTimeout),
    };
    if (s.roots !== undefined)
      spec.roots = Array.isArray(s.roots) ? s.roots.map((r) => rootOf(r, base)) : s.roots;
    if (s.command !== undefined) spec.command = s.command;
    if (url !== undefined) spec.url = url;
    if (s.credentials !== undefined) {
      const at = `mcpServers.${id}.credentials`;
      // Per-user credentials need a per-user identity from the issuer, an HTTP link, and no fixed Authorization.
      if (url === undefined || kind !== 'http')
        problems.push({
          file,
          path: at,
          message: 'per-user credentials need a Streamable HTTP upstream (url)',
        });
      else if (s.credentials.type === 'token-exchange' && config.auth.oauth === undefined)
        problems.push({
          file,
          path: at,
          message: 'token exchange needs auth.oauth (the issuer agents come from)',
        });
      else if (s.credentials.type === 'oauth' && config.auth.publicUrl === undefined)
        problems.push({
          file,
          path: at,
          message:
            'the upstream oauth flow needs auth.publicUrl (the callback and the client metadata document live under it)',
        });
      else if (
        s.credentials.type === 'oauth' &&
        s.credentials.clientSecret !== undefined &&
        s.credentials.clientId === undefined
      )
        problems.push({ file, path: `${at}.clientSecret`, message: 'clientSecret needs clientId' });
      else if (Object.keys(spec.headers).some((h) => h.toLowerCase() === 'authorization'))
        problems.push({
          file,
          path: `mcpServers.${id}.headers`,
          message:
            'an upstream with credentials has no fixed Authorization header (each user gets their own)',
        });
      else if (!perSessionLinks(s))
        // A link shared by several sessions would carry the first user's token for everyone (branch isolation's key).
        problems.push({
          file,
          path: `mcpServers.${id}.isolation`,
          message:
            'an upstream with per-user credentials needs isolation "session" (one link per agent session)',
        });
      else
        spec.auth =
          s.credentials.type === 'token-exchange'
            ? { ...s.credentials, audience: s.credentials.audience ?? url }
            : { ...s.credentials, resource: s.credentials.resource ?? url };
    }
    if (s.protocol !== undefined && s.protocol !== 'auto') {
      if (s.protocol === '2026-07-28' && kind === 'sse')
        problems.push({
          file,
          path: `mcpServers.${id}.protocol`,
          message: 'protocol 2026-07-28 is spoken over Streamable HTTP or stdio, not legacy SSE',
        });
      else spec.protocol = s.protocol;
    }
    upstreams.push(spec);
  }
  // oauth: the protected resource's identifier cannot come from a request's Host header (the client controls it).
  if (config.auth.oauth !== undefined && config.auth.publicUrl === undefined)
    problems.push({
      file,
      path: 'auth.oauth',
      message: 'auth.oauth needs auth.publicUrl',
      hint: 'auth.publicUrl is how agents reach warden (e.g. https://mcp.example.com); the resource is <publicUrl>/mcp',
    });
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    file,
    upstreams,
    listen: parseHostPort(config.listen),
    admin: parseHostPort(config.admin),
    separator: config.aggregate.separator,
    allowedHosts: config.http.allowedHosts,
    allowedOrigins: config.http.allowedOrigins,
    maxBodyBytes: config.http.maxBodyBytes,
    maxSessions: config.http.maxSessions,
    sessionIdleMs: durationMs(config.http.sessionIdleTimeout),
    maxSessionsPerGrant: config.http.maxSessionsPerGrant,
    upstreamIdleMs: durationMs(config.http.upstreamIdleTimeout),
    logLevel: config.log.level,
    storage: config.storage,
    anonymous: config.auth.anonymous,
    dashboardLogin: dashboardLoginConfig(config.auth.dashboard),
    credentialKeyFile:
      config.auth.credentialKeyFile === undefined
        ? undefined
        : resolvePath(base, config.auth.credentialKeyFile),
    publicUrl: config.auth.publicUrl?.replace(/\/+$/, ''),
    oauth:
      config.auth.oauth === undefined
        ? undefined
        : {
            issuer: config.auth.oauth.issuer,
            audience: config.auth.oauth.audience,
            subjectClaim: config.auth.oauth.identity.subject,
            groupsClaim: config.auth.oauth.identity.groups,
            policies: Object.fromEntries(
              Object.entries(config.auth.oauth.policies).map(([g, f]) => [
                g,
                isAbsolute(f) ? f : resolvePath(base, f),
              ]),
            ),
            scopes: config.auth.oauth.scopes,
            clockSkewMs: durationMs(config.auth.oauth.clockSkew),
            introspection: config.auth.oauth.introspection,
          },
    state: config.state,
    stateFailMode: config.state_fail_mode,
    statePrefix: config.state_prefix,
    auditArgs: config.audit.args,
    auditRetentionMs: config.audit.retention === undefined ? undefined : durationMs(config.audit.retention),
    auditDurability: config.audit.durability,
    auditKey: auditKeySource(config.audit, base),
    auditHeads:
      config.audit.heads === undefined
        ? undefined
        : {
            file:
              config.audit.heads.file === undefined
                ? undefined
                : isAbsolute(config.audit.heads.file)
                  ? config.audit.heads.file
                  : resolvePath(base, config.audit.heads.file),
            log: config.audit.heads.log,
            intervalMs: durationMs(config.audit.heads.interval),
          },
    auditSpool: config.audit.spool,
    pinning: {
      global: pinRules(config.pinning),
      servers: new Map(
        Object.entries(config.mcpServers)
          .filter(([, s]) => s.pinning !== undefined)
          .map(([id, s]) => [id, pinRules({ ...config.pinning, ...stripUndefined(s.pinning!) })]),
      ),
    },
    approvalStateKey: {
      stateKey: config.approvals.stateKey,
      stateKeyFile:
        config.approvals.stateKeyFile === undefined
          ? undefined
          : isAbsolute(config.approvals.stateKeyFile)
            ? config.approvals.stateKeyFile
            : resolvePath(base, config.approvals.stateKeyFile),
    },
    guards: compileGuards(config.guards),
    flows: {
      labels: config.flows.labels,
      exclude: config.flows.exclude,
      derive: config.flows.derive,
      rules: config.flows.rules,
      conversation: config.flows.conversation,
      shadow: config.flows.shadow,
      holdTimeoutMs: durationMs(config.flows.hold_timeout),
      keyPrefix: config.flows.key_prefix ?? config.state_prefix,
    },
    approvalWebhooks: config.approvals.webhooks.map((w) => ({
      url: w.url,
      secret: w.secret,
      format: w.format,
      ...(w.servers === undefined ? {} : { servers: w.servers }),
    })),
    tracing: {
      endpoint: config.tracing.endpoint,
      serviceName: config.tracing.serviceName,
      headers: config.tracing.headers,
    },
    policies: loaded.policies,
    warnings: loaded.warnings,
  };
}

function auditKeySource(
  audit: { key?: string; keyFile?: string; previousKeys?: string[] },
  base: string,
): AuditKeySource | undefined {
  // An empty key (`${WARDEN_AUDIT_KEY:-}` with the variable unset) is no key.
  const secrets = [audit.key ?? '', ...(audit.previousKeys ?? [])].filter((s, i) => i > 0 || s !== '');
  if (audit.key === undefined || audit.key === '') secrets.length = 0;
  if (secrets.length === 0 && audit.keyFile === undefined) return undefined;
  const source: AuditKeySource = {};
  if (secrets.length > 0) source.secrets = secrets;
  if (audit.keyFile !== undefined) {
    source.file = isAbsolute(audit.keyFile) ? audit.keyFile : resolvePath(base, audit.keyFile);
  }
  return source;
}
