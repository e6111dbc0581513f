// The grant store interface (SQLite and PostgreSQL implement it): labelled agent identities with a token hash each.

export interface Grant {
  /** 16 hex characters; part of the token, so a token names its grant without a search. */
  id: string;
  /** Unique among grants that are not revoked. */
  label: string;
  /** SHA-256 of the token's secret part, hex. */
  tokenHash: string;
  /** Servers the grant may use; undefined = every configured server. */
  servers: string[] | undefined;
  groups: string[];
  /** Set for admin tokens (admin API and dashboard); undefined for agent grants. The two never stand in for each other. */
  role: AdminRole | undefined;
  /** A policy of the grant's own (its text, as given at creation), applied after the global and server policies. */
  policy: { source: string; text: string } | undefined;
  createdAt: string;
  lastUsedAt: string | undefined;
  rotatedAt: string | undefined;
  revokedAt: string | undefined;
}

export const ADMIN_ROLES = ['admin', 'approver', 'viewer'] as const;
export type AdminRole = (typeof ADMIN_ROLES)[number];

export interface GrantStore {
  /** Rejects with WardenError('CONFLICT') when an unrevoked grant already has the label. */
  create(grant: Grant): Promise<void>;
  /** By id, revoked or not. */
  get(id: string): Promise<Grant | undefined>;
  /** By id, or by the label of an unrevoked grant. */
  find(labelOrId: string): Promise<Grant | undefined>;
  /** All grants, oldest first. */
  list(): Promise<Grant[]>;
  /** Sets revokedAt (once); returns the grant as it is now, undefined when there is no such grant. */
  revoke(id: string, at: string): Promise<Grant | undefined>;
  /** Replaces the token hash of an unrevoked grant; false when there is none. */
  rotate(id: string, tokenHash: string, at: string): Promise<boolean>;
  touch(id: string, at: string): Promise<void>;
  close(): Promise<void>;
}

export interface GrantRow {
  id: string;
  label: string;
  token_hash: string;
  servers: string | null;
  group_names: string;
  role: string | null;
  policy_source: string | null;
  policy_text: string | null;
  created_at: string;
  last_used_at: string | null;
  rotated_at: string | null;
  revoked_at: string | null;
}

export const GRANT_COLUMNS =
  'id, label, token_hash, servers, group_names, role, policy_source, policy_text, created_at, last_used_at, rotated_at, revoked_at';

export function grantFromRow(r: GrantRow): Grant {
  return {
    id: r.id,
    label: r.label,
    tokenHash: r.token_hash,
    servers: r.servers === null ? undefined : (JSON.parse(r.servers) as string[]),
    groups: JSON.parse(r.group_names) as string[],
    role: (r.role ?? undefined) as AdminRole | undefined,
    policy:
      r.policy_source === null || r.policy_text === null
        ? undefined
        : { source: r.policy_source, text: r.policy_text },
    createdAt: r.created_at,
    lastUsedAt: r.last_used_at ?? undefined,
    rotatedAt: r.rotated_at ?? undefined,
    revokedAt: r.revoked_at ?? undefined,
  };
}

export function grantToRow(g: Grant): GrantRow {
  return {
    id: g.id,
    label: g.label,
    token_hash: g.tokenHash,
    servers: g.servers === undefined ? null : JSON.stringify(g.servers),
    group_names: JSON.stringify(g.groups),
    role: g.role ?? null,
    policy_source: g.policy?.source ?? null,
    policy_text: g.policy?.text ?? null,
    created_at: g.createdAt,
    last_used_at: g.lastUsedAt ?? null,
    rotated_at: g.rotatedAt ?? null,
    revoked_at: g.revokedAt ?? null,
  };
}

/** Column definitions shared by both dialects (TEXT everywhere; times are ISO 8601 strings). */
export const GRANT_TABLE_COLUMNS = `
  id TEXT PRIMARY KEY,
  label TEXT NOT NULL,
  token_hash TEXT NOT NULL,
  servers TEXT,
  group_names TEXT NOT NULL,
  role TEXT,
  policy_source TEXT,
  policy_text TEXT,
  created_at TEXT NOT NULL,
  last_used_at TEXT,
  rotated_at TEXT,
  revoked_at TEXT`;
