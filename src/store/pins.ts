// The pin store interface (SQLite and PostgreSQL implement it): the accepted definition of every tool warden has
// seen, and a definition that changed since, waiting for an admin.

export interface Pin {
  server: string;
  tool: string;
  /** sha256 (hex) of the accepted definition's canonical JSON. */
  hash: string;
  /** The accepted definition (the Tool object as the upstream listed it), as JSON text. */
  definition: string;
  firstSeenAt: string;
  /** When the current hash was accepted: firstSeenAt for a first sighting, else when an admin accepted a change. */
  acceptedAt: string;
  acceptedBy: string;
  /** A different definition seen since (not accepted yet): its hash, JSON text and when it was first seen. */
  changedHash: string | undefined;
  changedDefinition: string | undefined;
  changedAt: string | undefined;
}

export type PinCheck =
  /** First sighting: pinned now (trust on first use). */
  | { status: 'new'; pin: Pin }
  /** The pinned definition. */
  | { status: 'same'; pin: Pin }
  /** Differs from the pin; `first` is true when this is the first time this changed definition was recorded. */
  | { status: 'changed'; pin: Pin; first: boolean };

export interface AcceptOptions {
  firstUse?: boolean;
  hash?: string;
}

/**
 * The accept statement of both dialects (`?` placeholders, in this order: at, by, server, tool, firstUse (1 or 0),
 * hash, hash). One statement: SET reads the old values, so the pending change moves in as it is cleared; of two
 * acceptors the second finds nothing left to accept and changes nothing.
 */
export function acceptSql(table: string, columns: string): string {
  return `UPDATE ${table} SET hash = COALESCE(changed_hash, hash),
       definition = COALESCE(changed_definition, definition), accepted_at = ?, accepted_by = ?,
       changed_hash = NULL, changed_definition = NULL, changed_at = NULL
     WHERE server = ? AND tool = ?
       AND (changed_hash IS NOT NULL OR (? = 1 AND accepted_by = '${FIRST_USE}'))
       AND (? IS NULL OR COALESCE(changed_hash, hash) = ?)
     RETURNING ${columns}`;
}

export function acceptParams(
  server: string,
  tool: string,
  by: string,
  at: string,
  opts: AcceptOptions = {},
): [string, string, string, string, number, string | null, string | null] {
  const hash = opts.hash ?? null;
  return [at, by, server, tool, opts.firstUse === true ? 1 : 0, hash, hash];
}

export interface PinStore {
  /**
   * Compares a listed definition with the pin, atomically: pins it when the tool is new, records it as the pending
   * change when it differs (replacing an earlier pending change), leaves everything as it is when it matches the pin.
   */
  check(server: string, tool: string, hash: string, definition: string, at: string): Promise<PinCheck>;
  get(server: string, tool: string): Promise<Pin | undefined>;
  /** All pins, by server then tool; `changedOnly`: those with a pending change. */
  list(opts?: { server?: string; changedOnly?: boolean }): Promise<Pin[]>;
  /**
   * Makes the pending change the pinned definition (acceptedAt = at, acceptedBy = by, pending cleared). Returns the
   * pin as it now is, or undefined when there was nothing to accept. `firstUse`: a pin trusted on first use with no
   * pending change is accepted as it is (a person vouches for a definition flagged as poisoning). `hash`: only that
   * definition is accepted (the one the person looked at), not one that arrived since.
   */
  accept(
    server: string,
    tool: string,
    by: string,
    at: string,
    opts?: AcceptOptions,
  ): Promise<Pin | undefined>;
  close(): Promise<void>;
}

/** A row of the pins table (both dialects): TEXT everywhere, NULL for an absent optional field. */
export interface PinRow {
  server: string;
  tool: string;
  hash: string;
  definition: string;
  first_seen_at: string;
  accepted_at: string;
  accepted_by: string;
  changed_hash: string | null;
  changed_definition: string | null;
  changed_at: string | null;
}

export const PIN_COLUMN_NAMES = [
  'server',
  'tool',
  'hash',
  'definition',
  'first_seen_at',
  'accepted_at',
  'accepted_by',
  'changed_hash',
  'changed_definition',
  'changed_at',
] as const satisfies readonly (keyof PinRow)[];

export const PIN_COLUMNS = PIN_COLUMN_NAMES.join(', ');

/** Column definitions shared by both dialects (TEXT everywhere; times are ISO 8601 strings, which sort as text). */
export const PIN_TABLE_COLUMNS = `
  server TEXT NOT NULL,
  tool TEXT NOT NULL,
  hash TEXT NOT NULL,
  definition TEXT NOT NULL,
  first_seen_at TEXT NOT NULL,
  accepted_at TEXT NOT NULL,
  accepted_by TEXT NOT NULL,
  changed_hash TEXT,
  changed_definition TEXT,
  changed_at TEXT,
  PRIMARY KEY (server, tool)`;

/** Who accepted a pin that was trusted on first use. */
export const FIRST_USE = '(first use)';

export function pinFromRow(r: PinRow): Pin {
  return {
    server: r.server,
    tool: r.tool,
    hash: r.hash,
    definition: r.definition,
    firstSeenAt: r.first_seen_at,
    acceptedAt: r.accepted_at,
    acceptedBy: r.accepted_by,
    changedHash: r.changed_hash ?? undefined,
    changedDefinition: r.changed_definition ?? undefined,
    changedAt: r.changed_at ?? undefined,
  };
}

export function pinToRow(p: Pin): PinRow {
  return {
    server: p.server,
    tool: p.tool,
    hash: p.hash,
    definition: p.definition,
    first_seen_at: p.firstSeenAt,
    accepted_at: p.acceptedAt,
    accepted_by: p.acceptedBy,
    changed_hash: p.changedHash ?? null,
    changed_definition: p.changedDefinition ?? null,
    changed_at: p.changedAt ?? null,
  };
}

/** The row check() inserts for a tool seen for the first time: pinned now, accepted by trust on first use. */
export function firstUseRow(
  server: string,
  tool: string,
  hash: string,
  definition: string,
  at: string,
): PinRow {
  return {
    server,
    tool,
    hash,
    definition,
    first_seen_at: at,
    accepted_at: at,
    accepted_by: FIRST_USE,
    changed_hash: null,
    changed_definition: null,
    changed_at: null,
  };
}

/**
 * check()'s answer when the tool's pin `row` needs no write for `hash`: it is the pinned definition with no pending
 * change, or the pending change seen again. Undefined when check() must write: a new tool, a change to record, or a
 * pending change to clear (the caller then decides again on the row read under its write lock).
 */
export function checkWithoutWrite(row: PinRow | undefined, hash: string): PinCheck | undefined {
  if (row === undefined) return undefined;
  if (row.hash === hash)
    return row.changed_hash === null ? { status: 'same', pin: pinFromRow(row) } : undefined;
  if (row.changed_hash === hash) return { status: 'changed', pin: pinFromRow(row), first: false };
  return undefined;
}
