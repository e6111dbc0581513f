// Opens the audit store a storage URL names: `sqlite:<path>`, `sqlite::memory:`, or `postgres(ql)://...`.
import { isAbsolute, resolve } from 'node:path';
import { WardenError } from '../errors.js';
import { PostgresAuditStore, type PostgresAuditStoreOptions } from './postgres.js';
import { SqliteAuditStore, type SqliteAuditStoreOptions } from './sqlite.js';
import type { AuditStore } from './types.js';

export interface OpenAuditStoreOptions {
  /** What a relative SQLite path is relative to: the config file's directory. Default: the working directory. */
  baseDir?: string;
  sqlite?: SqliteAuditStoreOptions;
  postgres?: PostgresAuditStoreOptions;
}

/** Rejects with a WardenError (never throws synchronously) when the URL is not understood or the database fails. */
export async function openAuditStore(url: string, opts: OpenAuditStoreOptions = {}): Promise<AuditStore> {
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length);
    if (path === '') throw new WardenError('CONFIG_INVALID', 'storage URL sqlite: names no file');
    if (path === ':memory:') return new SqliteAuditStore(':memory:', opts.sqlite);
    return new SqliteAuditStore(
      isAbsolute(path) ? path : resolve(opts.baseDir ?? process.cwd(), path),
      opts.sqlite,
    );
  }
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    return PostgresAuditStore.open(url, opts.postgres);
  }
  throw new WardenError(
    'CONFIG_INVALID',
    `unsupported storage URL: ${url.replace(/\/\/[^@/]*@/, '//***@')}`,
    {
      hint: 'expected sqlite:<file> or postgres://...',
    },
  );
}
