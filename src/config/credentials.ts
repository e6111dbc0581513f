// The values of a config that reach upstreams or sign warden's own messages, for the mask on everything upstreams
// send agents (src/guards/credentials.ts): header values (and the credential after an auth scheme), env values whose
// names say secret (from `env` and `envFile`), OAuth client secrets, webhook secrets and the approvals' state key.
import { isSecretEnvName } from '../guards/credentials.js';
import type { LoadedConfig } from './load.js';

/** Each header value, and the credential after its auth scheme (`Bearer <token>`): both are secrets. */
export function headerSecrets(headers: Record<string, string> | undefined): string[] {
  const out: string[] = [];
  for (const v of Object.values(headers ?? {})) {
    out.push(v);
    const scheme = /^\s*[A-Za-z][A-Za-z0-9-]*\s+(\S.*)$/.exec(v);
    if (scheme !== null) out.push(scheme[1]!);
  }
  return out;
}

export function credentialValues(loaded: LoadedConfig, envFiles: Record<string, string>[] = []): string[] {
  const { config } = loaded;
  const out: string[] = [];
  const headerValues = (headers: Record<string, string> | undefined) => out.push(...headerSecrets(headers));
  const envValues = (env: Record<string, string> | undefined) => {
    for (const [name, v] of Object.entries(env ?? {})) if (isSecretEnvName(name)) out.push(v);
  };
  for (const s of Object.values(config.mcpServers)) {
    headerValues(s.headers);
    envValues(s.env);
    if (s.credentials?.clientSecret !== undefined) out.push(s.credentials.clientSecret);
  }
  for (const env of envFiles) envValues(env);
  for (const w of config.approvals.webhooks) out.push(w.secret);
  if (config.approvals.stateKey !== undefined && config.approvals.stateKey !== '')
    out.push(config.approvals.stateKey);
  if (config.auth.oauth?.introspection !== undefined) out.push(config.auth.oauth.introspection.clientSecret);
  if (config.auth.dashboard?.clientSecret !== undefined) out.push(config.auth.dashboard.clientSecret);
  return out;
}
