// Compiles a validated config into the plain runtime data the gateway runs on: defaults applied, paths resolved.

import { dirname, isAbsolute, resolve as resolvePath } from 'node:path';
import type { WebhookConfig } from '../approvals/webhook.js';
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

export function resolveConfig(loaded: LoadedConfig): GatewayConfig {
  const { config, file } = loaded;
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
