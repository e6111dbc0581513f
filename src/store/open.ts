// Opens the audit store a storage URL names: `sqlite:<path>`, `sqlite::memory:`, or `postgres(ql)://...`. The
// PostgreSQL stores (and the pg driver) are loaded only when a URL names PostgreSQL: a gateway on SQLite never pays
// for them in memory or start-up time.

import { existsSync, readdirSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import type { AuditKey } from '../audit/keys.js';
import { WardenError } from '../errors.js';
import type { CredentialKey } from '../identity/upstream/crypto.js';
import { UpstreamTokenStore } from '../identity/upstream/token-store.js';
import type { ApprovalStore } from './approvals.js';
import { SqliteApprovalStore } from './approvals-sqlite.js';
import type { GrantStore } from './grants.js';
import { SqliteGrantStore } from './grants-sqlite.js';
import type { PinStore } from './pins.js';
import { SqlitePinStore } from './pins-sqlite.js';
import type { PostgresAuditStoreOptions } from './postgres.js';
import { SqliteAuditStore, type SqliteAuditStoreOptions } from './sqlite.js';
import type { AuditStore } from './types.js';

export interface OpenAuditStoreOptions {
  /** What a relative SQLite path is relative to: the config file's directory. Default: the working directory. */
  baseDir?: string;
  sqlite?: SqliteAuditStoreOptions;
  postgres?: PostgresAuditStoreOptions;
  /** The current audit key (audit.key): the audit store keys the chain with it. */
  key?: AuditKey;
}

type Backend = { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string };

/** What a storage URL names; throws a WardenError when it is not understood. */
function backendOf(url: string, baseDir: string | undefined): Backend {
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length);
    if (path === '') throw new WardenError('CONFIG_INVALID', 'storage URL sqlite: names no file');
    if (path === ':memory:') return { kind: 'sqlite', path };
    return { kind: 'sqlite', path: isAbsolute(path) ? path : resolve(baseDir ?? process.cwd(), path) };
  }
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) return { kind: 'postgres', url };
  throw new WardenError(
    'CONFIG_INVALID',
    `unsupported storage URL: ${url.replace(/\/\/[^@/]*@/, '//***@')}`,
    {
      hint: 'expected sqlite:<file> or postgres://...',
    },
  );
}

/** The approval store in the same database as the audit log (an in-memory SQLite log: an in-memory store). */
export async function openApprovalStore(
  url: string,
  opts: OpenAuditStoreOptions = {},
): Promise<ApprovalStore> {
  const backend = backendOf(url, opts.baseDir);
  return backend.kind === 'sqlite'
    ? new SqliteApprovalStore(backend.path)
    : (await import('./approvals-postgres.js')).PostgresApprovalStore.open(backend.url, {
        schema: opts.postgres?.schema,
        onIdleError: opts.postgres?.onIdleError,
      });
}

/** The pin store (tool definitions) in the same database as the audit log. */
export async function openPinStore(url: string, opts: OpenAuditStoreOptions = {}): Promise<PinStore> {
  const backend = backendOf(url, opts.baseDir);
  return backend.kind === 'sqlite'
    ? new SqlitePinStore(backend.path)
    : (await import('./pins-postgres.js')).PostgresPinStore.open(backend.url, {
        schema: opts.postgres?.schema,
        onIdleError: opts.postgres?.onIdleError,
      });
}

/**
 * Where a config's audit spools live (src/audit/spool.ts): `spool` (the audit.spool setting) when given, else next to
 * a SQLite file (`<file>.spool`), else `warden-audit.spool` in `baseDir` for PostgreSQL. Undefined for an in-memory
 * SQLite log, which has nothing to be durable for. Each process writes its own file beside it (spoolOfProcess).
 */
export function auditSpoolBase(
  url: string,
  spool: string | undefined,
  baseDir: string | undefined,
): string | undefined {
  const dir = baseDir ?? process.cwd();
  if (spool !== undefined) return isAbsolute(spool) ? spool : resolve(dir, spool);
  const backend = backendOf(url, baseDir);
  if (backend.kind === 'postgres') return resolve(dir, 'warden-audit.spool');
  return backend.path === ':memory:' ? undefined : `${backend.path}.spool`;
}

function spoolStem(base: string): string {
  return base.endsWith('.spool') ? base.slice(0, -'.spool'.length) : base;
}

/**
 * The spool of one process: `<stem>.<pid>.spool`. Every gateway process (`serve` replicas, the `warden stdio`
 * processes a desktop client starts, one per server) has its own, so none waits for or refuses another.
 */
export function spoolOfProcess(base: string, pid = process.pid): string {
  return `${spoolStem(base)}.${pid}.spool`;
}

/** Every spool of this base on disk (any process's, and the base itself), for recovery after a crash. */
export function spoolFamily(base: string): string[] {
  const dir = dirname(base);
  const stem = basename(spoolStem(base));
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .filter(
      (n) =>
        n === basename(base) || (n.startsWith(`${stem}.`) && /^\.\d+\.spool$/.test(n.slice(stem.length))),
    )
    .map((n) => join(dir, n));
}

/** Whether the storage exists already: a PostgreSQL URL always may; a SQLite file when it is on disk. */
export function storageExists(url: string, baseDir: string | undefined): boolean {
  const backend = backendOf(url, baseDir);
  return backend.kind === 'postgres' || (backend.path !== ':memory:' && existsSync(backend.path));
}

/** Rejects with a WardenError (never throws synchronously) when the URL is not understood or the database fails. */
export async function openAuditStore(url: string, opts: OpenAuditStoreOptions = {}): Promise<AuditStore> {
  const backend = backendOf(url, opts.baseDir);
  return backend.kind === 'sqlite'
    ? new SqliteAuditStore(backend.path, { ...opts.sqlite, key: opts.key ?? opts.sqlite?.key })
    : (await import('./postgres.js')).PostgresAuditStore.open(backend.url, {
        ...opts.postgres,
        key: opts.key ?? opts.postgres?.key,
      });
}

/**
 * The grant store in the same database as the audit log. An in-memory SQLite audit log gets an in-memory grant
 * store of its own (a second connection to ':memory:' is a different database).
 */
export async function openGrantStore(url: string, opts: OpenAuditStoreOptions = {}): Promise<GrantStore> {
  const backend = backendOf(url, opts.baseDir);
  return backend.kind === 'sqlite'
    ? new SqliteGrantStore(backend.path)
    : (await import('./grants-postgres.js')).PostgresGrantStore.open(backend.url, {
        schema: opts.postgres?.schema,
        onIdleError: opts.postgres?.onIdleError,
      });
}

/** The upstream credential store (sealed per-user upstream tokens, src/identity/upstream/token-store.ts). */
export async function openUpstreamTokenStore(
  url: string,
  keys: readonly CredentialKey[],
  opts: { baseDir?: string } = {},
): Promise<UpstreamTokenStore> {
  const backend = backendOf(url, opts.baseDir);
  return UpstreamTokenStore.open(backend.kind === 'sqlite' ? `sqlite:${backend.path}` : backend.url, keys);
}
