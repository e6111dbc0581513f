// The thread that owns a SQLite audit store for ThreadedSqliteAuditStore: it runs each call it is sent, in order,
// and answers with the value or the error.
import { parentPort, workerData } from 'node:worker_threads';
import { WardenError } from '../errors.js';
import { SqliteAuditStore, type SqliteAuditStoreOptions } from './sqlite.js';

interface Call {
  id: number;
  op: 'append' | 'read' | 'query' | 'head' | 'checkpoint' | 'prune' | 'close';
  args: unknown[];
}

const { path, options } = workerData as { path: string; options: SqliteAuditStoreOptions };
let store: SqliteAuditStore | undefined;
let openError: unknown;
try {
  store = new SqliteAuditStore(path, options);
} catch (err) {
  openError = err;
}

function errorOf(err: unknown): { code: string; message: string; hint?: string } {
  if (err instanceof WardenError)
    return { code: err.code, message: err.message, ...(err.hint ? { hint: err.hint } : {}) };
  return { code: 'INTERNAL', message: (err as Error)?.message ?? String(err) };
}

parentPort!.postMessage({ ready: true, error: openError === undefined ? undefined : errorOf(openError) });

parentPort!.on('message', async (call: Call) => {
  try {
    if (store === undefined) throw openError;
    const s = store as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
    const value = await s[call.op]!.apply(store, call.args);
    parentPort!.postMessage({ id: call.id, value });
  } catch (err) {
    parentPort!.postMessage({ id: call.id, error: errorOf(err) });
  }
});
