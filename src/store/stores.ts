// openStores(): every store a gateway keeps, opened in order from the config, and closed in the reverse order. When
// one fails to open, those already open are closed before the error goes on: a start that fails leaves no database
// connection, Redis client or spool file open behind it.

import { dirname } from 'node:path';
import { HeadExporter } from '../audit/heads.js';
import { type AuditKey, type AuditKeys, loadAuditKeys, recordKeyChange } from '../audit/keys.js';
import { AuditSpool, recoverSpool } from '../audit/spool.js';
import { AuditWriter } from '../audit/writer.js';
import type { GatewayConfig } from '../config/resolve.js';
import type { Logger } from '../log.js';
import type { AuditSink } from '../pipeline/audit.js';
import { type ConversationStore, openConversationStore } from '../state/conversations.js';
import { openCounterStore } from '../state/open.js';
import type { SessionDirectory } from '../state/sessions.js';
import type { CounterStore } from '../state/types.js';
import type { ApprovalStore } from './approvals.js';
import type { GrantStore } from './grants.js';
import {
  auditSpoolBase,
  openApprovalStore,
  openAuditStore,
  openGrantStore,
  openPinStore,
  spoolFamily,
  spoolOfProcess,
} from './open.js';
import type { PinStore } from './pins.js';
import type { AuditStore } from './types.js';

export interface Stores {
  /** The audit keys (audit.key / keyFile), read before anything opens; the first is the current one. */
  auditKeys: AuditKeys | undefined;
  auditKey: AuditKey | undefined;
  /** The audit store (with the head exporter tracking its appends, when configured). */
  audit: AuditStore;
  /** Where records go: the spool when there is one, else group commit to the store. */
  sink: AuditSink;
  /** Records durable in the spool and not yet in the store (0 without a spool). */
  spooled(): number;
  grants: GrantStore;
  approvals: ApprovalStore;
  pins: PinStore;
  counters: CounterStore;
  conversations: ConversationStore;
  /** With Redis, the sessions every replica can take over; undefined in memory. */
  directory: SessionDirectory | undefined;
  /** Closes every store, the last opened first. */
  close(): Promise<void>;
}

/** Closers of what is open so far, run last first; a closer that fails is logged and the rest still run. */
class Closers {
  private readonly stack: Array<() => unknown> = [];

  constructor(private readonly log: Logger) {}

  /** Opens one store with `open`; on failure closes everything opened before and rethrows. */
  async open<T>(open: () => Promise<T> | T, close: (value: T) => unknown): Promise<T> {
    let value: T;
    try {
      value = await open();
    } catch (err) {
      await this.closeAll();
      throw err;
    }
    this.stack.push(() => close(value));
    return value;
  }

  async closeAll(): Promise<void> {
    for (let close = this.stack.pop(); close !== undefined; close = this.stack.pop()) {
      try {
        await close();
      } catch (err) {
        this.log.warn({ err: (err as Error).message }, 'closing a store failed');
      }
    }
  }
}

export async function openStores(config: GatewayConfig, log: Logger): Promise<Stores> {
  const baseDir = dirname(config.file);
  const onIdleError = (what: string) => (err: Error) =>
    log.warn({ err: err.message }, `${what} database connection error`);
  // The audit key is read once, before anything opens: a bad key file stops the start.
  const auditKeys = loadAuditKeys(config.auditKey);
  const auditKey = auditKeys?.keys[0];
  const closers = new Closers(log);
  const heads = await closers.open(
    () =>
      config.auditHeads === undefined
        ? undefined
        : new HeadExporter({ ...config.auditHeads, key: auditKey, logger: log }),
    (h) => h?.close(),
  );
  const opened = await closers.open(
    () =>
      openAuditStore(config.storage, {
        baseDir,
        sqlite: { durability: config.auditDurability },
        postgres: { onIdleError: onIdleError('audit') },
        key: auditKey,
      }),
    (s) => s.close(),
  );
  // Appends through the exporter move the head it exports (no extra query per record).
  const audit = heads === undefined ? opened : heads.track(opened);
  // Records are durable in the spool (one write) before they reach the store; see src/audit/spool.ts. What
  // processes that stopped without moving their records left behind is moved first.
  const spoolBase = auditSpoolBase(config.storage, config.auditSpool, baseDir);
  const spool = await closers.open(
    async () => {
      if (spoolBase === undefined) return undefined;
      for (const orphan of spoolFamily(spoolBase)) {
        const moved = await recoverSpool(orphan, audit);
        if (moved !== undefined && moved > 0)
          log.warn({ records: moved, spool: orphan }, 'audit records recovered');
      }
      return AuditSpool.open(spoolOfProcess(spoolBase), audit, { durability: config.auditDurability, log });
    },
    (s) => s?.close(),
  );
  // Without a spool (an in-memory log), records go to the store through group commit. No waiting window: what
  // arrives in the same turn of the event loop still commits together, and a lone call does not pay a delay.
  const writer = await closers.open(
    () => (spool === undefined ? new AuditWriter(audit, { maxDelayMs: 0 }) : undefined),
    (w) => w?.close(),
  );
  const sink: AuditSink = spool ?? writer!;
  const grants = await closers.open(
    () => openGrantStore(config.storage, { baseDir, postgres: { onIdleError: onIdleError('grant') } }),
    (s) => s.close(),
  );
  const approvals = await closers.open(
    () => openApprovalStore(config.storage, { baseDir, postgres: { onIdleError: onIdleError('approval') } }),
    (s) => s.close(),
  );
  const pins = await closers.open(
    () => openPinStore(config.storage, { baseDir, postgres: { onIdleError: onIdleError('pin') } }),
    (s) => s.close(),
  );
  const counters = await closers.open(
    () =>
      openCounterStore(config.state, {
        redis: {
          prefix: config.statePrefix,
          onError: (err: Error) => log.warn({ err: err.message }, 'state (Redis) connection error'),
        },
      }),
    (c) => c.close(),
  );
  // Conversation state for flow rules lives where the counters do (docs/flows.md).
  const conversations = await closers.open(
    () =>
      openConversationStore(config.state, {
        prefix: config.flows.keyPrefix,
        onError: (err: Error) =>
          log.warn({ err: err.message }, 'conversation state (Redis) connection error'),
      }),
    (c) => c.close(),
  );
  // With Redis, sessions are shared too: a replica behind a load balancer takes over a session another one opened.
  const directory = await closers.open(
    async (): Promise<SessionDirectory | undefined> =>
      config.state.startsWith('redis')
        ? (await import('../state/sessions.js')).RedisSessionDirectory.open(config.state, {
            prefix: `${config.statePrefix}session:`,
            onError: (err: Error) =>
              log.warn({ err: err.message }, 'session directory (Redis) connection error'),
          })
        : undefined,
    (d) => d?.close(),
  );
  if (auditKey !== undefined) {
    await closers.open(
      () => recordKeyChange(audit, auditKey, sink, log),
      () => undefined,
    );
  }
  return {
    auditKeys,
    auditKey,
    audit,
    sink,
    spooled: () => spool?.pending ?? 0,
    grants,
    approvals,
    pins,
    counters,
    conversations,
    directory,
    close: () => closers.closeAll(),
  };
}
