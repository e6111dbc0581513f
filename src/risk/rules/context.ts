// What the rules read of one tool (its words, parameters and description), what a rule concludes (a reading), and
// the object look-ups every rule shares.
import type { Category } from '../../policy/types.js';
import { type Parameter, quote, words } from '../text.js';
import type { Risk, Signal, ToolDefinition } from '../types.js';
import {
  CRYPTO_TOKEN_QUALIFIERS,
  ENV_VARIABLE_WORDS,
  IDENTITY_OBJECTS,
  KEY_QUALIFIERS,
  MESSAGE_QUALIFIED,
  ORG_SCOPED,
  ORG_WORDS,
  PERMISSION_OBJECTS,
  QUALIFIED_SECRETS,
  SECRET_OBJECTS,
  SECRET_STORES,
} from '../vocabulary/objects.js';
import {
  CREDENTIAL_CHANGE,
  LOCAL_DESTINATION,
  NEGATION,
  RETURNS_SECRET,
  SHELL_TEXT,
  SQL_DUMP,
} from '../vocabulary/phrases.js';
import { PRIVATE_COMMUNICATION, RECORD_HISTORY } from '../vocabulary/records.js';
import type { Operation } from '../vocabulary/verbs.js';

/** One reading of what the tool can do; the classification is the most dangerous reading. */
export interface Reading {
  category: Category;
  risk: Risk;
  /** Why, for the rationale. */
  why: string;
}

export interface Context {
  tool: ToolDefinition;
  nameWords: string[];
  description: string;
  lead: string;
  leadWords: string[];
  params: Parameter[];
  paramNames: Set<string>;
  /** The name's verb lists or searches: its mode-like parameters are filters on what to read. */
  listing: boolean;
  /** The name's first verb reads or queries. */
  reads: boolean;
  /** The name's verb sets a state (`mark`, `set`, `toggle`): enum values are states, not operations. */
  setsState: boolean;
  signals: Signal[];
}

export interface Op {
  op: Operation;
  verb: string;
}

/** A word for private communications that names the mail itself, not its accounts or count (`email accounts`). */
export function privateCommunication(ws: string[]): string | undefined {
  return ws.find(
    (w, i) =>
      PRIVATE_COMMUNICATION.has(w) &&
      !MESSAGE_QUALIFIED.has(ws[i + 1] ?? '') &&
      // `billing history`, `order history`: a record of money or use, not a conversation
      !(w === 'history' && RECORD_HISTORY.has(ws[i - 1] ?? '')),
  );
}

export function has(set: Set<string>, ws: string[]): string | undefined {
  return ws.find((w) => set.has(w));
}

export function secretObject(ws: string[]): string | undefined {
  const direct = has(SECRET_OBJECTS, ws);
  // `get_erc20_token_info`, `transfer_nft_token`: a crypto token is an asset, not a secret.
  const asset =
    (direct === 'token' || direct === 'tokens') && ws.some((w) => CRYPTO_TOKEN_QUALIFIERS.test(w));
  if (direct && !asset) return direct;
  for (let i = 1; i < ws.length; i++) {
    if ((ws[i] === 'key' || ws[i] === 'keys') && KEY_QUALIFIERS.has(ws[i - 1]!))
      return `${ws[i - 1]} ${ws[i]}`;
    if (QUALIFIED_SECRETS[ws[i]!]?.includes(ws[i - 1]!)) return `${ws[i - 1]} ${ws[i]}`;
  }
  return undefined;
}

/**
 * A service's environment variables, named `variables` or `vars` (`list_service_variables`, `variable_set`) while the
 * first sentence says environment: where deployed services keep their API keys and connection strings. A workflow's
 * `variable` (no environment) and a shell session's environment (the text speaks of a shell) are not.
 */
export function environmentVariables(objects: string[], ctx: Context): string | undefined {
  if (!objects.some((w) => ENV_VARIABLE_WORDS.has(w))) return undefined;
  const first = ctx.description.split(/(?<=[.!?])\s+/)[0] ?? '';
  if (!/\b(env|environments?)\b/i.test(first) || SHELL_TEXT.test(ctx.description)) return undefined;
  return 'environment variables';
}

/**
 * An item of a secret store: the tool takes a vault (a parameter or the description names one) and its description
 * speaks of secrets (`Edit an existing 1Password item`). A notes app's vault has no secret word beside it.
 */
export function secretStoreItem(ctx: Context): string | undefined {
  const store =
    has(SECRET_STORES, ctx.leadWords) ??
    ctx.params.map((p) => has(SECRET_STORES, words(p.name))).find(Boolean);
  if (!store) return undefined;
  const secret = secretObject(ctx.leadWords);
  return secret ? `an item of a ${store} (${secret})` : undefined;
}

/** A token named as what the call is made with (`represented by [access_token]`, `authenticated with an API key`). */
const CALLED_WITH =
  /\b(represented|authenticated|authorized|signed)\s+(by|with)\s+(an?\s+|the\s+|your\s+)?\[?[\w ]*$/i;

/** A sentence of the description that says the tool returns a secret, and does not deny it. */
export function returnsSecret(ctx: Context): string | undefined {
  for (const sentence of ctx.description.split(/(?<=[.!?])\s+/)) {
    const m = RETURNS_SECRET.exec(sentence);
    // "Never returns secret values", "so no passwords are returned": the denial comes before the secret or inside;
    // a warning after it ("should never be shared") denies nothing. "The groups of the user represented by
    // [access_token]": a token the call is made with, not one it returns.
    if (m && !NEGATION.test(sentence.slice(0, m.index + m[0].length)) && !CALLED_WITH.test(m[0])) return m[0];
  }
  return undefined;
}

/** The description's first sentence says the tool creates, stores or removes a credential (`Stores credentials for ...`). */
export function credentialChange(ctx: Context): string | undefined {
  const first = ctx.description.split(/(?<=[.!?])\s+/)[0] ?? '';
  return CREDENTIAL_CHANGE.exec(first)?.[0];
}

export function permissionObject(ws: string[]): string | undefined {
  const direct = has(PERMISSION_OBJECTS, ws);
  if (direct) return direct;
  for (let i = 1; i < ws.length; i++) {
    if (
      (ws[i] === 'policy' || ws[i] === 'policies') &&
      ['iam', 'access', 'bucket', 'security'].includes(ws[i - 1]!)
    )
      return `${ws[i - 1]} ${ws[i]}`;
    // `templates-direct-link-create`: a direct or public link lets anyone who has it in
    if (
      ['link', 'links'].includes(ws[i]!) &&
      ['direct', 'public', 'share', 'sharing', 'shareable'].includes(ws[i - 1]!)
    )
      return `${ws[i - 1]} ${ws[i]}`;
    // `addBypassIp`: an address let past the firewall's checks
    if (ws[i - 1] === 'bypass' && ['ip', 'ips', 'address', 'addresses', 'rule', 'rules'].includes(ws[i]!))
      return `${ws[i - 1]} ${ws[i]}`;
  }
  return undefined;
}

/** Verbs that administer accounts when their object is a user, member or organisation group. */
const ADMIN_VERBS = new Set([
  'create',
  'add',
  'new',
  'update',
  'edit',
  'set',
  'import',
  'invite',
  'restore',
  'approve',
  'deny',
  'modify',
  'patch',
  'change',
  'assign',
  'move',
  'manage',
  'insert',
  'upsert',
]);

/** Identity admin (SPEC §7 credential): accounts, members, delegates, organisation groups and policies, device approvals. */
/** Items of work whose members are the people assigned to them. */
const WORK_ITEMS = new Set(['card', 'cards', 'task', 'tasks', 'issue', 'issues', 'ticket', 'tickets']);

export function identityObject(verb: string, op: Operation, ws: string[]): string | undefined {
  if (op !== 'delete' && !ADMIN_VERBS.has(verb)) return undefined;
  if (ws.includes('device') && ws.some((w) => w === 'approval' || w === 'approvals'))
    return 'device approvals';
  // a mailing or social list's members are not accounts, nor are the members of a card, a task or an issue: they
  // are its assignees
  if (ws.some((w) => w === 'list' || w === 'lists' || WORK_ITEMS.has(w))) return undefined;
  // `updateUserPublicMetadata`: the metadata kept on an account is data about it, not its access
  if (ws.at(-1) === 'metadata') return undefined;
  const account = has(IDENTITY_OBJECTS, ws);
  if (account) return account;
  const grouping = has(ORG_SCOPED, ws);
  return grouping && ws.some((w) => ORG_WORDS.has(w)) ? `organisation ${grouping}` : undefined;
}

/** A tool that writes what it gets to a local path it is given: it may overwrite that file (destructive). */
export function localOverwrite(ctx: Context, at: string, writes = true): Reading | undefined {
  const dest = ctx.params.find((p) => LOCAL_DESTINATION.test(p.name) && (writes || !/^target/i.test(p.name)));
  if (dest === undefined) return undefined;
  return {
    category: 'destructive',
    risk: 'high',
    why: `${at} writes to \`${dest.path}\`, which it may overwrite`,
  };
}

/**
 * `db_import`: "Imports SQL file into a MySQL database": a dump's statements drop and recreate what they define, so the
 * database's tables may be replaced (rule 2, like a restore that says so).
 */
export function loadsDump(verb: string, ctx: Context, at: string): Reading | undefined {
  if (verb !== 'import' && verb !== 'load' && verb !== 'restore') return undefined;
  const dump = SQL_DUMP.exec(ctx.lead);
  if (!dump) return undefined;
  return {
    category: 'destructive',
    risk: 'critical',
    why: `${at} loads ${quote(dump[0], 30)}: its statements may replace tables`,
  };
}

/**
 * `keys-create-key`: "Create a new API key": a bare `key` the description says is an API or access key is one when
 * it is made, changed or removed (a read of one by its id shows no secret unless it says so).
 */
export function describedKey(op: Operation, objects: string[], ctx: Context): string | undefined {
  if (op === 'read' || op === 'query' || !objects.some((w) => w === 'key' || w === 'keys')) return undefined;
  const lead = secretObject(ctx.leadWords.slice(0, 12));
  return lead && /keys?$/.test(lead) ? `${lead} (description)` : undefined;
}

/**
 * `accounts-connect`: "Shares access scopes from the account specified to the caller": a connection between accounts
 * that carries access is an access change, not a session of the agent's own (rule 5).
 */
export function sharedAccess(ctx: Context): string | undefined {
  const opening = ctx.description.split(/\n\s*\n/)[0] ?? '';
  return /\b(access scopes?|scopes|permissions|read-only access)\b/i.exec(opening)?.[0];
}

/** What is sent when a condition or a schedule fires: an alert or a report made with the channels it goes to. */
const SENT_LATER = new Set(['alert', 'alerts', 'report', 'reports', 'pulse', 'pulses', 'digest', 'digests']);
const DESTINATIONS = /^(channels?|recipients?|emails?|to|subscribers?)$/i;

/** `mb_pulse_create(cards, channels)`: an alert or a scheduled report with its destinations sends to people. */
export function scheduledSend(objects: string[], ctx: Context): string | undefined {
  const what = has(SENT_LATER, objects);
  return what && ctx.params.some((p) => DESTINATIONS.test(p.name)) ? `a ${what}` : undefined;
}

/** `apply_changes`: "Apply all staged changes as a migration. This executes the DDL": a migration its name does not say. */
export function describedMigration(ctx: Context): string | undefined {
  return /\bas an? migration\b|\bexecutes? the ddl\b/i.exec(ctx.description)?.[0];
}

/** What says whether a `call` rings a telephone: the description and the parameter names (`phoneNumberId`). */
export function callContext(ctx: Context): string {
  return `${ctx.description} ${ctx.params.map((p) => words(p.name).join(' ')).join(' ')}`;
}
