// The audit key: a secret kept outside the database that keys the chain (HMAC), the argument hash and exported heads.
//
// Whoever can write the database can recompute an unkeyed sha256 chain after any edit, and a viewer can brute-force
// an unsalted hash of short arguments. With `audit.key` every hash the log keeps is an HMAC under a key derived from
// that secret, so neither can be done without the secret (docs/audit-format.md, "Keyed chain").
import { createHash, createHmac } from 'node:crypto';
import { lstatSync, readFileSync } from 'node:fs';
import { WardenError } from '../errors.js';
import type { Logger } from '../log.js';
import type { AuditStore } from '../store/types.js';
import { entryHash, type NewAuditEntry } from './chain.js';
import { eventBody } from './record.js';

/** Shortest secret accepted: 32 characters (a random 24 bytes in base64, or 16 in hex, at least). */
export const MIN_KEY_LENGTH = 32;

/** One configured secret, with the keys derived from it for each use (so that no use can stand in for another). */
export interface AuditKey {
  /** 16 hex digits naming the secret (not derived from anything secret-equivalent): printed by verify, kept in heads. */
  readonly id: string;
  /** Keys the chain: an entry's hash is HMAC(chain, prevHash + "\n" + content). */
  readonly chain: Buffer;
  /** Keys the `args.hash` field of a record. */
  readonly args: Buffer;
  /** Keys exported heads. */
  readonly head: Buffer;
}

/** The current key (writes) and the earlier ones still accepted by verify, newest first: current is keys[0]. */
export interface AuditKeys {
  readonly keys: readonly AuditKey[];
}

function derive(secret: string, use: string): Buffer {
  return createHmac('sha256', secret).update(`mcp-warden audit ${use} v1`).digest();
}

export function auditKey(secret: string): AuditKey {
  return {
    id: createHash('sha256').update(derive(secret, 'key id')).digest('hex').slice(0, 16),
    chain: derive(secret, 'chain'),
    args: derive(secret, 'args'),
    head: derive(secret, 'head'),
  };
}

/** Where the secrets come from, as resolved from the config (src/config/resolve.ts). */
export interface AuditKeySource {
  /** `audit.key` (usually `${WARDEN_AUDIT_KEY}`), then `audit.previousKeys`: newest first. */
  secrets?: string[];
  /** `audit.keyFile`: one secret per line, the current one first, earlier ones after it. */
  file?: string;
}

function checkSecret(secret: string, where: string): string {
  const s = secret.trim();
  if (s.length < MIN_KEY_LENGTH) {
    throw new WardenError(
      'CONFIG_INVALID',
      `${where}: the audit key is ${s.length} characters long; at least ${MIN_KEY_LENGTH} are needed`,
      { hint: 'generate one with: openssl rand -base64 32' },
    );
  }
  return s;
}

/**
 * Reads the key file (refusing one that group or others can read or write, or a symbolic link) or takes the
 * configured secrets; undefined when no key is configured. Throws a WardenError (CONFIG_INVALID) with the reason.
 */
export function loadAuditKeys(source: AuditKeySource | undefined): AuditKeys | undefined {
  if (source === undefined) return undefined;
  const secrets: string[] = [];
  if (source.file !== undefined) {
    const file = source.file;
    let text: string;
    try {
      const st = lstatSync(file);
      if (!st.isFile()) throw new Error('not a regular file');
      if (process.platform !== 'win32' && (st.mode & 0o077) !== 0) {
        throw new WardenError(
          'CONFIG_INVALID',
          `audit key file ${file} is accessible to group or others (mode ${(st.mode & 0o777).toString(8)})`,
          { hint: `chmod 600 ${file}` },
        );
      }
      text = readFileSync(file, 'utf8');
    } catch (err) {
      if (err instanceof WardenError) throw err;
      throw new WardenError(
        'CONFIG_INVALID',
        `cannot read the audit key file ${file}: ${(err as Error).message}`,
      );
    }
    const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '' && !l.trimStart().startsWith('#'));
    if (lines.length === 0) throw new WardenError('CONFIG_INVALID', `audit key file ${file} holds no key`);
    for (const [i, l] of lines.entries()) secrets.push(checkSecret(l, `${file} key ${i + 1}`));
  }
  for (const [i, s] of (source.secrets ?? []).entries()) {
    secrets.push(checkSecret(s, i === 0 ? 'audit.key' : `audit.previousKeys[${i - 1}]`));
  }
  if (secrets.length === 0) return undefined;
  return { keys: secrets.map(auditKey) };
}

/** The keyed hash of a record's arguments; none without a key (an unkeyed hash of a short value is a lookup away). */
export function argsMac(key: AuditKey | undefined, canonical: string): string | undefined {
  return key === undefined ? undefined : createHmac('sha256', key.args).update(canonical).digest('hex');
}

/** The MAC of an exported head: binds the record count, the hash of the last record and when it was exported. */
export function headMac(key: AuditKey, head: { seq: number; hash: string; time: string }): string {
  return createHmac('sha256', key.head)
    .update(`mcp-warden audit head\n${head.seq}\n${head.hash}\n${head.time}`)
    .digest('hex');
}

/**
 * When the newest stored record is not keyed with the current key (a key was just added, or rotated), records
 * `audit.key_changed`, keyed: from then on the log ends keyed with the current key, which verify requires.
 */
export async function recordKeyChange(
  store: AuditStore,
  key: AuditKey,
  sink: { write(entry: NewAuditEntry): Promise<unknown> },
  log: Logger,
): Promise<void> {
  const head = await store.head();
  if (head.seq === 0) return; // an empty log: its first record is keyed
  const [last] = await store.read(head.seq - 1, 1);
  if (last !== undefined && entryHash(last.prevHash, last, undefined, key) === last.hash) return;
  log.info({ key: key.id }, 'audit key changed: records from now on are keyed with it');
  await sink.write({
    time: new Date().toISOString(),
    kind: 'event',
    requestKey: `audit.key_changed:${key.id}:${head.seq}`,
    body: {
      ...eventBody('audit.key_changed', {
        grant: null,
        actor: '(config)',
        reason: `records after ${head.seq} are keyed with audit key ${key.id}`,
      }),
      key: key.id,
    },
  });
}
