// Compiles a validated config into the plain runtime data the gateway runs on: defaults applied, paths resolved.

import { readFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, resolve as resolvePath } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { WebhookConfig } from '../approvals/webhook.js';
import type { AuditKeySource } from '../audit/keys.js';
import { addConfiguredSecrets } from '../audit/redact.js';
import { durationMs } from '../duration.js';
import { ConfigError, type Problem } from '../errors.js';
import type { LoadedConfig } from './load.js';
import type { LoadedPolicy } from './policy-file.js';

export { durationMs };

export type UpstreamKind = 'stdio' | 'http' | 'sse';

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
  /** The era warden speaks to it (SPEC §12): `auto` (absent) probes with server/discover; a version pins it. */
  protocol?: 'auto' | '2025-11-25' | '2026-07-28';
}

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
  /** Agent requests without a token are let in (as no grant). */
  anonymous: boolean;
  auditArgs: 'keys' | 'redacted' | 'full';
  auditRetentionMs: number | undefined;
  auditDurability: 'crash' | 'power-loss';
  /** audit.key / keyFile / previousKeys (paths resolved); read by loadAuditKeys. Undefined: no key. */
  auditKey: AuditKeySource | undefined;
  /** audit.heads (the file path resolved); undefined: heads are not exported. */
  auditHeads: { file: string | undefined; log: boolean; intervalMs: number } | undefined;
  approvalWebhooks: WebhookConfig[];
  /** Pinning rules: the global block's, and each server's with its own keys over them. */
  pinning: { global: PinRules; servers: Map<string, PinRules> };
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
  const headerValues = (headers: Record<string, string> | undefined) => {
    for (const v of Object.values(headers ?? {})) {
      out.push(v);
      const scheme = /^\s*[A-Za-z][A-Za-z0-9-]*\s+(\S.*)$/.exec(v);
      if (scheme !== null) out.push(scheme[1]!);
    }
  };
  for (const s of Object.values(config.mcpServers)) {
    headerValues(s.headers);
    out.push(...Object.values(s.env ?? {}));
  }
  for (const w of config.approvals.webhooks) out.push(w.secret, w.url);
  headerValues(config.tracing.headers);
  return out;
}

export function resolveConfig(loaded: LoadedConfig): GatewayConfig {
  const { config, file } = loaded;
  // Masking needs the secrets before anything is started or logged; every command and the gateway come through here.
  addConfiguredSecrets(configSecrets(loaded));
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
    };
    if (s.roots !== undefined)
      spec.roots = Array.isArray(s.roots) ? s.roots.map((r) => rootOf(r, base)) : s.roots;
    if (s.command !== undefined) spec.command = s.command;
    if (url !== undefined) spec.url = url;
    if (s.protocol !== undefined && s.protocol !== 'auto') {
      if (s.protocol === '2026-07-28' && kind !== 'http')
        problems.push({
          file,
          path: `mcpServers.${id}.protocol`,
          message: 'protocol 2026-07-28 is spoken over Streamable HTTP only (a url without type "sse")',
        });
      else spec.protocol = s.protocol;
    }
    upstreams.push(spec);
  }
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
    state: config.state,
    stateFailMode: config.state_fail_mode,
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
