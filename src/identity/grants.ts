// Grant lifecycle (create, list, revoke, rotate) for the CLI and the admin API; every change goes to the audit log.
import { randomUUID } from 'node:crypto';
import type { NewAuditEntry } from '../audit/chain.js';
import { eventBody } from '../audit/record.js';
import { parsePolicyText } from '../config/policy-file.js';
import { ConfigError, WardenError } from '../errors.js';
import type { AdminRole, Grant, GrantStore } from '../store/grants.js';
import { hashSecret, newGrantId, newToken, parseToken } from './tokens.js';

export interface NewGrant {
  label: string;
  servers?: string[] | undefined;
  groups?: string[] | undefined;
  /** A policy file's text and where it came from. */
  policy?: { source: string; text: string } | undefined;
  /** Makes an admin token instead of an agent grant. */
  role?: AdminRole | undefined;
}

/** A grant as shown to people and scripts: never the token hash. */
export interface GrantView {
  id: string;
  label: string;
  kind: 'agent' | 'admin';
  role?: AdminRole;
  servers: string[] | 'all';
  groups: string[];
  policy: string | null;
  createdAt: string;
  lastUsedAt: string | null;
  rotatedAt: string | null;
  revokedAt: string | null;
}

const LABEL = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
const GRANT_ID = /^[0-9a-f]{16}$/;

export function viewOf(g: Grant): GrantView {
  return {
    id: g.id,
    label: g.label,
    kind: g.role === undefined ? 'agent' : 'admin',
    ...(g.role === undefined ? {} : { role: g.role }),
    servers: g.servers ?? 'all',
    groups: g.groups,
    policy: g.policy?.source ?? null,
    createdAt: g.createdAt,
    lastUsedAt: g.lastUsedAt ?? null,
    rotatedAt: g.rotatedAt ?? null,
    revokedAt: g.revokedAt ?? null,
  };
}

export class GrantService {
  constructor(
    private readonly store: GrantStore,
    /** Appends one audit entry and resolves once it is durable. */
    private readonly audit: (entry: NewAuditEntry) => Promise<unknown>,
    /** Servers of the config, to refuse a grant on a server that does not exist. */
    private readonly knownServers: ReadonlySet<string>,
    private readonly now: () => Date = () => new Date(),
  ) {}

  private async record(event: string, grant: Grant, actor: string, reason: string): Promise<void> {
    await this.audit({
      time: this.now().toISOString(),
      kind: 'event',
      requestKey: randomUUID(),
      body: eventBody(event, { grant: grant.label, actor, reason }) as unknown as Record<string, unknown>,
    });
  }

  /** Creates a grant and returns its token: the only time the token exists outside the caller's hands. */
  async create(spec: NewGrant, actor: string): Promise<{ grant: GrantView; token: string }> {
    if (!LABEL.test(spec.label))
      throw new WardenError('CONFIG_INVALID', `invalid grant label ${JSON.stringify(spec.label)}`, {
        hint: 'letters, digits and . _ @ -, starting with a letter or digit, at most 64 characters',
      });
    // Revoke and rotate take a label or an id: a label spelled like an id could make one name the other grant.
    if (GRANT_ID.test(spec.label))
      throw new WardenError('CONFIG_INVALID', `invalid grant label ${JSON.stringify(spec.label)}`, {
        hint: 'sixteen hex digits is how grant ids look; choose a label that is not one',
      });
    const unknown = (spec.servers ?? []).filter((s) => !this.knownServers.has(s));
    if (unknown.length > 0)
      throw new WardenError(
        'CONFIG_INVALID',
        `no server ${unknown.map((s) => `"${s}"`).join(', ')} in the config`,
      );
    if (spec.policy !== undefined) {
      // Checked now, so a broken policy is refused at creation rather than denying every call later.
      const { problems } = parsePolicyText(spec.policy.text, spec.policy.source);
      if (problems.length > 0) throw new ConfigError(problems);
    }
    const id = newGrantId();
    const token = newToken(id, spec.role === undefined ? 'agent' : 'admin');
    const grant: Grant = {
      id,
      label: spec.label,
      tokenHash: hashSecret(parseToken(token)!.secret),
      servers: spec.servers,
      groups: spec.groups ?? [],
      role: spec.role,
      policy: spec.policy,
      createdAt: this.now().toISOString(),
      lastUsedAt: undefined,
      rotatedAt: undefined,
      revokedAt: undefined,
    };
    await this.store.create(grant);
    const what = spec.role === undefined ? 'grant' : `admin token (role ${spec.role})`;
    await this.record(
      spec.role === undefined ? 'grant/create' : 'admin-token/create',
      grant,
      actor,
      `${what} created; servers: ${spec.servers?.join(', ') ?? 'all'}${spec.policy ? `; policy: ${spec.policy.source}` : ''}`,
    );
    return { grant: viewOf(grant), token };
  }

  async list(): Promise<GrantView[]> {
    return (await this.store.list()).map(viewOf);
  }

  private async existing(labelOrId: string): Promise<Grant> {
    const grant = await this.store.find(labelOrId);
    if (grant === undefined)
      throw new WardenError('NOT_FOUND', `no grant labelled or with id "${labelOrId}"`, {
        hint: 'warden grants list shows them',
      });
    return grant;
  }

  /** Revokes a grant: its token stops working on the next request, open sessions included. */
  async revoke(labelOrId: string, actor: string): Promise<GrantView> {
    const grant = await this.existing(labelOrId);
    if (grant.revokedAt !== undefined) return viewOf(grant);
    const revoked = (await this.store.revoke(grant.id, this.now().toISOString()))!;
    await this.record(
      grant.role === undefined ? 'grant/revoke' : 'admin-token/revoke',
      grant,
      actor,
      'revoked',
    );
    return viewOf(revoked);
  }

  /** A new token for the same grant; the old one stops working at once. */
  async rotate(labelOrId: string, actor: string): Promise<{ grant: GrantView; token: string }> {
    const grant = await this.existing(labelOrId);
    const token = newToken(grant.id, grant.role === undefined ? 'agent' : 'admin');
    const at = this.now().toISOString();
    if (!(await this.store.rotate(grant.id, hashSecret(parseToken(token)!.secret), at)))
      throw new WardenError('CONFIG_INVALID', `grant "${grant.label}" is revoked; create a new one`);
    await this.record(
      grant.role === undefined ? 'grant/rotate' : 'admin-token/rotate',
      grant,
      actor,
      'token rotated',
    );
    return { grant: viewOf({ ...grant, rotatedAt: at }), token };
  }
}
