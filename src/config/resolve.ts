// Compiles a validated config into the plain runtime data the gateway runs on: defaults applied, paths resolved.

import { dirname, isAbsolute, resolve as resolvePath } from 'node:path';
import type { WebhookConfig } from '../approvals/webhook.js';
import { addConfiguredSecrets } from '../audit/redact.js';
import { durationMs } from '../duration.js';
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
  approvalWebhooks: WebhookConfig[];
  onDefinitionChange: 'require_approval' | 'deny' | 'allow';
  /** audit.spool as written (relative to the config file's directory); undefined: the default for the storage. */
  auditSpool: string | undefined;
  /** As configured; the environment's OTEL_* variables are consulted when the gateway starts. */
  tracing: { endpoint: string | undefined; serviceName: string; headers: Record<string, string> };
  policies: { global: LoadedPolicy | undefined; servers: Map<string, LoadedPolicy> };
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
  for (const [id, s] of Object.entries(config.mcpServers)) {
    if (s.disabled) continue;
    const url = s.url ?? s.serverUrl;
    const declared = s.transport ?? s.type;
    const kind: UpstreamKind = s.command !== undefined ? 'stdio' : declared === 'sse' ? 'sse' : 'http';
    const spec: UpstreamSpec = {
      id,
      prefix: s.prefix ?? id,
      kind,
      args: s.args ?? [],
      env: s.env ?? {},
      cwd: s.cwd === undefined ? base : isAbsolute(s.cwd) ? s.cwd : resolvePath(base, s.cwd),
      headers: s.headers ?? {},
      timeoutMs: s.timeout === undefined ? DEFAULT_TIMEOUT_MS : durationMs(s.timeout),
      startTimeoutMs: s.startTimeout === undefined ? DEFAULT_START_TIMEOUT_MS : durationMs(s.startTimeout),
    };
    if (s.command !== undefined) spec.command = s.command;
    if (url !== undefined) spec.url = url;
    upstreams.push(spec);
  }
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
    logLevel: config.log.level,
    storage: config.storage,
    anonymous: config.auth.anonymous,
    state: config.state,
    stateFailMode: config.state_fail_mode,
    auditArgs: config.audit.args,
    auditRetentionMs: config.audit.retention === undefined ? undefined : durationMs(config.audit.retention),
    auditDurability: config.audit.durability,
    auditSpool: config.audit.spool,
    onDefinitionChange: config.pinning.onChange,
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
  };
}
