// `warden grants create|list|revoke|rotate`: agent identities (and admin tokens) in the config's storage.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { AuditWriter } from '../audit/writer.js';
import { WardenError } from '../errors.js';
import { GrantService, type GrantView } from '../identity/grants.js';
import { ADMIN_ROLES, type AdminRole } from '../store/grants.js';
import { openAuditStore, openGrantStore } from '../store/open.js';
import { EXIT_OK, fail, loadGatewayConfig } from './common.js';

interface GrantFlags {
  config: string;
  json?: boolean;
}

/** The grant service of a config's storage, and how to close it. */
export async function openGrantService(
  configFile: string,
): Promise<{ service: GrantService; close: () => Promise<void> }> {
  const config = loadGatewayConfig({ config: configFile });
  const baseDir = dirname(config.file);
  const audit = await openAuditStore(config.storage, {
    baseDir,
    sqlite: { durability: config.auditDurability },
  });
  const grants = await openGrantStore(config.storage, { baseDir }).catch(async (err) => {
    await audit.close();
    throw err;
  });
  const writer = new AuditWriter(audit, { maxDelayMs: 0 });
  return {
    service: new GrantService(grants, (e) => writer.write(e), new Set(config.upstreams.map((u) => u.id))),
    close: async () => {
      await writer.close();
      await audit.close();
      await grants.close();
    },
  };
}

const ACTOR = '(cli)';

function list(v: string | undefined): string[] | undefined {
  if (v === undefined) return undefined;
  return v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

async function run(configFile: string, fn: (service: GrantService) => Promise<void>): Promise<void> {
  try {
    const { service, close } = await openGrantService(configFile);
    try {
      await fn(service);
    } finally {
      await close();
    }
    process.exit(EXIT_OK);
  } catch (err) {
    fail(err);
  }
}

function printToken(label: string, token: string): void {
  process.stdout.write(`${token}\n`);
  process.stderr.write(
    `Token of "${label}" above: it is shown this once and cannot be recovered. Agents send it as "Authorization: Bearer <token>" (stdio: WARDEN_TOKEN).\n`,
  );
}

export function createGrant(
  label: string,
  flags: GrantFlags & { servers?: string; groups?: string; policy?: string; role?: string },
): Promise<void> {
  return run(flags.config, async (service) => {
    if (flags.role !== undefined && !ADMIN_ROLES.includes(flags.role as AdminRole))
      throw new WardenError('CONFIG_INVALID', `--role must be one of ${ADMIN_ROLES.join(', ')}`);
    let policy: { source: string; text: string } | undefined;
    if (flags.policy !== undefined) {
      const file = resolve(flags.policy);
      try {
        policy = { source: file, text: readFileSync(file, 'utf8') };
      } catch (err) {
        throw new WardenError(
          'CONFIG_NOT_FOUND',
          `cannot read policy file ${file}: ${(err as Error).message}`,
        );
      }
    }
    const { grant, token } = await service.create(
      {
        label,
        servers: list(flags.servers),
        groups: list(flags.groups),
        policy,
        role: flags.role as AdminRole | undefined,
      },
      ACTOR,
    );
    if (flags.json) process.stdout.write(`${JSON.stringify({ id: grant.id, label: grant.label, token })}\n`);
    else printToken(grant.label, token);
  });
}

function table(grants: GrantView[]): string {
  const rows = grants.map((g) => [
    g.label,
    g.id,
    g.kind === 'admin' ? `admin:${g.role}` : 'agent',
    Array.isArray(g.servers) ? g.servers.join(',') : 'all',
    g.revokedAt === null ? 'live' : `revoked ${g.revokedAt}`,
    g.lastUsedAt ?? 'never',
  ]);
  const head = ['LABEL', 'ID', 'KIND', 'SERVERS', 'STATE', 'LAST USED'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [head, ...rows]
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function listGrants(flags: GrantFlags): Promise<void> {
  return run(flags.config, async (service) => {
    const grants = await service.list();
    if (flags.json) process.stdout.write(`${JSON.stringify(grants)}\n`);
    else process.stdout.write(`${grants.length === 0 ? 'no grants' : table(grants)}\n`);
  });
}

export function revokeGrant(labelOrId: string, flags: GrantFlags): Promise<void> {
  return run(flags.config, async (service) => {
    const grant = await service.revoke(labelOrId, ACTOR);
    if (flags.json) process.stdout.write(`${JSON.stringify(grant)}\n`);
    else process.stdout.write(`revoked ${grant.label} (${grant.id})\n`);
  });
}

export function rotateGrant(labelOrId: string, flags: GrantFlags): Promise<void> {
  return run(flags.config, async (service) => {
    const { grant, token } = await service.rotate(labelOrId, ACTOR);
    if (flags.json) process.stdout.write(`${JSON.stringify({ id: grant.id, label: grant.label, token })}\n`);
    else printToken(grant.label, token);
  });
}
