// classify(): the offline, deterministic risk classification of one MCP tool definition (SPEC §7).
//
// It reads the definition the way a careful reviewer does: the verb of the tool's name first (what it does), the
// object it acts on (what it touches), the worst value of any mode parameter (rule 1), then the description for what
// the name leaves open, and last the server's annotations, which may only raise the result.
import type { Category } from '../policy/types.js';
import { findPoisoning } from './poisoning.js';
import {
  BULK_SENSITIVE,
  CATEGORY_PRIORITY,
  CODE_PARAMETERS,
  DEPLOY_OBJECTS,
  HARMLESS_ITEMS,
  KEY_QUALIFIERS,
  LOG_QUALIFIERS,
  MESSAGE_OBJECTS,
  MESSAGE_QUALIFIED,
  MIGRATION_OBJECTS,
  MODE_PARAMETERS,
  MONEY_OBJECTS,
  type Operation,
  PAID_RESOURCES,
  PATH_PARAMETERS,
  PERMISSION_OBJECTS,
  PERSONAL_RECORDS,
  PII_WORDS,
  PRIVATE_COMMUNICATION,
  QUALIFIED_SECRETS,
  SECRET_OBJECTS,
  SECRET_STORES,
  SELF_SCOPED,
  SETTINGS_OBJECTS,
  SMALL_ITEMS,
  VERBS,
} from './signals.js';
import { baseForms, leadSentence, type Parameter, parameters, quote, words } from './text.js';
import { type Classification, type Risk, riskRank, type Signal, type ToolDefinition } from './types.js';

/** One reading of what the tool can do; the classification is the most dangerous reading. */
interface Reading {
  category: Category;
  risk: Risk;
  /** Why, for the rationale. */
  why: string;
}

interface Context {
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

const DESTINATION_PARAMETERS = /^(key|destination|dest|target_?path|remote_?path|upload_?path|object_?key)$/i;
/** Where a download, a save or a dump writes on the local disk: an existing file there is replaced (rule 3). */
const LOCAL_DESTINATION =
  /^(local_?path|save_?path|output_?path|output_?file|out_?file|dest_?path|destination_?path)$/i;
/** Booleans that make a read show what a secret store keeps hidden. */
const REVEAL_FLAGS = /^(reveal|show_?secrets?|include_?secrets?|decrypt|with_?decryption|unmask)$/i;

const HTTP_METHODS: Record<string, Operation> = {
  get: 'read',
  head: 'read',
  options: 'read',
  post: 'write',
  put: 'write',
  patch: 'write',
  delete: 'delete',
};

/** Verbs weak enough to also be nouns in a name (`get_workflow_run`, `list_logs`): only the first verb counts. */
const STRONG_SECONDARY = new Set([
  'delete',
  'remove',
  'destroy',
  'drop',
  'purge',
  'erase',
  'wipe',
  'truncate',
]);

/** Reads that write what they read to a local file. */
const LOCAL_WRITING_READS = new Set(['download', 'dump', 'export', 'save']);
/** Reads that compute an answer without reading stored records (a price preview, an estimate). */
const COMPUTING_VERBS = new Set(['preview', 'calculate', 'estimate']);
const LOG_VERBS = new Set(['log', 'logs', 'tail']);
const METADATA_WORDS = new Set(['count', 'counts', 'size', 'stats', 'statistics', 'types']);
const ONE_PERSON = new Set(['employee', 'customer', 'user', 'member', 'person', 'contact']);
/** Changes to a money object that move no money: pausing or archiving a subscription. */
const NON_MONEY_VERBS = new Set(['pause', 'archive', 'unarchive', 'rename', 'tag', 'label', 'pin', 'unpin']);
/** Verbs that apply a migration to a database rather than write its file. */
const APPLYING_VERBS = new Set(['apply', 'complete', 'run', 'commit', 'execute', 'perform', 'finish']);
/** The agent's own transient things: stopping or closing them is a trivial change (rule 5). */
const TRANSIENT_ITEMS = new Set([
  'search',
  'searches',
  'tunnel',
  'tunnels',
  'forward',
  'connection',
  'connections',
]);

/** Description phrases that make the reading certain whatever the name says. */
const IRREVERSIBLE =
  /\b(permanent(ly)?|irreversibl[ey]|cannot be (undone|recovered|reversed)|can ?not be undone)\b/i;
const READ_ONLY_QUERY =
  /\b(read-?only|select (statements?|queries) only|only (select|read)|no (writes|modifications)|does not (modify|write))\b/i;
const QUERY_LANGUAGE =
  /\b(sql|select\b|cypher|sparql|graphql|es\|ql|esql|promql|logql|kql|mql|query dsl|aggregat(e|ion)|jql|cql|soql|hogql|query language)\b/i;
const CODE_WORDS =
  /\b(javascript|js code|python|shell|bash|terminal|command(s)?|script|code|sql|expression|function body)\b/i;
/**
 * What makes a `code`/`command` parameter code to run when the name has no execute verb: a language, or the words
 * "to run". A bare "code" is a discount code and a bare "command" may be stored as an alias.
 */
const CODE_TEXT =
  /\b(javascript|js code|python|shell|bash|terminal|script|sql|expression|function body|(code|commands?) to (run|execute|evaluate)|(run|runs|execute|executes|evaluate|evaluates) (a |the |any |arbitrary )?(code|commands?))\b/i;
/** The description says the tool destroys what is there (`is destructive and overwrites the target`). */
const DESTRUCTIVE_CLAIM =
  /\b((is|are) destructive|destructive (to|and) (existing|the)|overwrit(es|ing) (any |the )?(existing|target))\b/i;
const DROPS = /(\bdrops?\b|--drop\b|--clean\b|\btruncat|\bwipes?\b|\berases?\b)/i;
/** A sentence that says the tool hands back a secret. */
const RETURNS_SECRET =
  /(\b(returns?|returned|reveals?|exposes?)\b[^.]{0,60}(secret|password|api ?key|private ?key|connection string))|((secret ?key|secret|password|api ?key|private ?key)s?\b[^.]{0,20}\b(is|are) (returned|included|shown))/i;
const NEGATION = /\b(never|not|no|without|hidden|redact(ed|s)?|mask(ed|s)?|conceal(ed|s)?|non)\b|n't\b/i;
/** A configuration that holds the tool's own access rules (allowed directories, blocked commands). */
const ACCESS_SETTINGS =
  /\b(allowed ?director(y|ies)|blocked ?commands?|allow ?list|deny ?list|block ?list|allowlist|denylist|blocklist|access control)\b/i;
const OPEN_WORLD_WORDS =
  /\b(web|internet|website|url|http|online|api|saas|cloud|github|gitlab|slack|stripe|notion|google|microsoft|azure|aws|jira|linear|hubspot|sentry|twilio|gmail|discord|twitter|x\.com|search engine)\b/i;
const BULK_WORDS = /\b(bulk|batch|mass|all recipients|every (user|member|subscriber))\b/i;

export function classify(tool: ToolDefinition): Classification {
  const description = typeof tool.description === 'string' ? tool.description : '';
  const lead = leadSentence(description);
  const params = parameters(tool);
  const ctx: Context = {
    tool,
    nameWords: words(tool.name),
    description,
    lead,
    leadWords: words(lead),
    params,
    paramNames: new Set(params.map((p) => p.name.toLowerCase())),
    listing: false,
    reads: false,
    setsState: false,
    signals: [],
  };

  const readings: Reading[] = [];
  let confidence = 0.9;
  const nameOps = httpMethodAsTransport(operationsOfName(ctx.nameWords), ctx);
  ctx.listing = ['list', 'search', 'find', 'count'].includes(nameOps[0]?.verb ?? '');
  ctx.reads = nameOps[0]?.op === 'read' || nameOps[0]?.op === 'query';
  ctx.setsState = ['mark', 'set', 'toggle', 'flag'].includes(nameOps[0]?.verb ?? '');
  const titleOps =
    nameOps.length === 0 ? operationsOfName(words(String(tool.title ?? tool.annotations?.title ?? ''))) : [];
  let ops = nameOps.length > 0 ? nameOps : titleOps;
  let objectWords = ctx.nameWords;
  if (ops.length === 0) {
    // The name is a noun (`sequentialthinking`, `pdf`): the description's opening verb says what it does.
    ops = operationsOfLead(ctx.leadWords);
    objectWords = [...ctx.nameWords, ...ctx.leadWords.slice(0, 12)];
    confidence = ops.length > 0 ? 0.7 : 0.4;
  }
  for (const op of ops) {
    // `drop` onto a page element is a drag-and-drop, not a DROP TABLE.
    const dragDrop = op.verb === 'drop' && /\b(onto|drag(ged)?)\b/i.test(ctx.lead);
    readings.push(
      interpret(dragDrop ? 'write' : op.op, dragDrop ? 'upload' : op.verb, objectWords, ctx, 'name'),
    );
  }
  for (const op of modeOperations(ctx)) {
    readings.push(interpret(op.op, op.verb, [...ctx.nameWords, ...words(op.value)], ctx, `mode ${op.path}`));
  }
  readings.push(...flagReadings(ctx));
  readings.push(...codeReadings(ctx, ops));
  readings.push(...claimReadings(ctx));
  if (readings.length === 0) {
    readings.push({ category: 'other', risk: 'low', why: 'no verb in the name or the description' });
    confidence = 0.3;
  }

  let worst = pickWorst(readings);
  worst = applyDescription(worst, ctx);
  // The server's hints decide only where the definition's own words did not: servers set them wholesale (one
  // browser server marks navigation destructive), and they may raise what the words left open, never lower it.
  if (confidence < 0.9) worst = applyAnnotations(worst, ctx);
  addSignals(worst, ctx);
  const poisoning = findPoisoning(tool);
  ctx.signals.push(...poisoning);

  return {
    category: worst.category,
    // A definition that addresses the model can steer the agent to any other tool it has (read a key, send it away),
    // whatever this tool itself does: its risk is that of the worst tool beside it, so critical. The category stays
    // what the tool does, so a policy still reads the tool's own nature.
    risk: poisoning.length > 0 ? 'critical' : worst.risk,
    signals: dedupe(ctx.signals),
    confidence: Math.round(confidence * 100) / 100,
    rationale: `${worst.category}/${worst.risk}: ${worst.why}${poisoning.length > 0 ? '; definition shows tool poisoning' : ''}`,
  };
}

interface Op {
  op: Operation;
  verb: string;
}

function operationsOfName(nameWords: string[]): Op[] {
  const ops: Op[] = [];
  let first = true;
  // `API-post-search`, `api_patch_page`: an HTTP method before the real verb is only the transport.
  const httpFirst = nameWords.findIndex((w) => VERBS[w] !== undefined);
  const skip =
    httpFirst >= 0 &&
    ['post', 'put', 'patch'].includes(nameWords[httpFirst]!) &&
    nameWords.slice(httpFirst + 1).some((w) => VERBS[w] !== undefined)
      ? httpFirst
      : -1;
  for (const [i, w] of nameWords.entries()) {
    if (i === skip) continue;
    // Port forwarding opens a tunnel; `forward` alone is the browser's.
    const op = w === 'forward' && nameWords[i - 1] === 'port' ? 'write' : VERBS[w];
    if (op === undefined) continue;
    // The first verb is what the tool does; later ones are usually nouns (`get_workflow_run`), except
    // deletes, and verbs joined by `or`/`and` (`create_or_update_file`).
    if (first && (w === 'start' || w === 'begin')) {
      // `start_search`: the verb after `start` says what is started.
      const next = nameWords[i + 1];
      const nextOp = next === undefined ? undefined : VERBS[next];
      if (next !== undefined && nextOp !== undefined) {
        ops.push({ op: nextOp, verb: next });
        first = false;
        continue;
      }
    }
    if (first || STRONG_SECONDARY.has(w)) ops.push({ op, verb: w });
    first = false;
  }
  for (let i = 1; i + 1 < nameWords.length; i++) {
    const joined = nameWords[i + 1]!;
    if ((nameWords[i] === 'or' || nameWords[i] === 'and') && VERBS[joined] !== undefined) {
      ops.push({ op: VERBS[joined]!, verb: joined });
    }
  }
  return ops;
}

/**
 * `jira_post(path, body)`: a name whose verb is an HTTP method, on a tool that takes the request path, is a raw API
 * call; its method says what it does (a POST creates), not a verb of the language (`post` a message).
 */
function httpMethodAsTransport(ops: Op[], ctx: Context): Op[] {
  const first = ops[0];
  if (first === undefined || first.verb !== 'post') return ops;
  if (!ctx.params.some((p) => /^(path|endpoint|url|uri|api_?path)$/i.test(p.name))) return ops;
  return [{ op: 'write', verb: 'create' }, ...ops.slice(1)];
}

/** Words that open a description without saying what the tool does ("Use this tool to ..."). */
const LEAD_FILLER = new Set([
  'use',
  'this',
  'tool',
  'to',
  'a',
  'an',
  'the',
  'allows',
  'allow',
  'you',
  'lets',
  'let',
  'can',
  'will',
  'and',
  'or',
  'quickly',
  'easily',
  'for',
  'when',
  'helps',
  'help',
  'used',
  'is',
]);
const LEAD_READ = new Set(['return', 'provide', 'display', 'give', 'obtain', 'access']);

function operationsOfLead(leadWords: string[]): Op[] {
  for (const w of leadWords.slice(0, 10)) {
    for (const form of baseForms(w)) {
      if (LEAD_READ.has(form)) return [{ op: 'read', verb: form }];
      const op = VERBS[form];
      if (op !== undefined && form !== 'help') return [{ op, verb: form }];
    }
    if (!LEAD_FILLER.has(w) && w.length > 2 && !w.endsWith('s')) {
      // A first content word that is no verb we know ("A tool for ...", "Sequential thinking ...").
    }
  }
  return [];
}

function modeOperations(ctx: Context): Array<Op & { value: string; path: string }> {
  const out: Array<Op & { value: string; path: string }> = [];
  for (const p of ctx.params) {
    if (!MODE_PARAMETERS.has(p.name.toLowerCase()) || p.enumValues.length === 0) continue;
    // On a `list_`/`search_` tool an `action` or `type` enum filters what is listed; on a `mark_`/`set_` tool it
    // names the state to set (`mark_email` as `read`).
    if (ctx.listing || ctx.setsState) continue;
    for (const value of p.enumValues) {
      // `payout.created`, `address.updated`: names of events, not operations the tool performs.
      if (value.includes('.')) continue;
      const vw = words(value);
      // A `type` names a kind of thing (`subscription_resume` is a scenario); it is a mode only when it is a verb.
      if (p.name.toLowerCase() === 'type' && VERBS[vw[0] ?? ''] === undefined) continue;
      const http = vw.length === 1 && p.name.toLowerCase() === 'method' ? HTTP_METHODS[vw[0]!] : undefined;
      if (http !== undefined) {
        out.push({ op: http, verb: value, value, path: p.path });
        continue;
      }
      const ops = operationsOfName(vw);
      for (const op of ops) out.push({ ...op, value, path: p.path });
    }
  }
  return out;
}

/** A boolean that turns an ordinary write into an overwrite (`force` on a push, `overwrite` on an upload). */
function flagReadings(ctx: Context): Reading[] {
  const out: Reading[] = [];
  for (const p of ctx.params) {
    const n = p.name.toLowerCase();
    // Only the tool's own flags: a nested `archived` is usually a filter on what to read.
    if (p.type !== 'boolean' || p.path.includes('.')) continue;
    if (n === 'force' && ctx.nameWords.some((w) => w === 'push' || w === 'merge')) {
      out.push({ category: 'destructive', risk: 'critical', why: `\`${p.path}\` force-pushes over history` });
    } else if (['archived', 'in_trash', 'trashed', 'deleted'].includes(n) && !ctx.reads) {
      // Rule 1: a flag that moves the item to the trash is a recoverable delete (on a tool that lists or queries,
      // `archived` only says which items to read).
      out.push({ category: 'destructive', risk: 'high', why: `\`${p.path}\` moves it to the trash` });
    } else if (n === 'overwrite' || n === 'force_overwrite') {
      out.push({ category: 'destructive', risk: 'high', why: `\`${p.path}\` overwrites existing data` });
    } else {
      // `dropTarget`, `delete` (rsync), `deleteLocalData`: a switch that makes the tool delete (rule 1).
      const fw = words(p.name);
      if (fw.length > 0 && STRONG_SECONDARY.has(fw[0]!)) {
        out.push(interpret('delete', fw[0]!, [...ctx.nameWords, ...fw.slice(1)], ctx, `flag ${p.path}`));
      }
    }
  }
  return out;
}

/** A parameter that carries code to run makes the tool execute, whatever its name says. */
function codeReadings(ctx: Context, ops: Op[]): Reading[] {
  const executes = ops.some((o) => o.op === 'execute' || o.op === 'query');
  const out: Reading[] = [];
  for (const p of ctx.params) {
    // `migrationSql`, `shell_command`: the last word of the parameter's name says what it carries.
    const n = CODE_PARAMETERS.has(p.name.toLowerCase()) ? p.name.toLowerCase() : (words(p.name).at(-1) ?? '');
    if (!CODE_PARAMETERS.has(n) || p.type === 'boolean' || p.enumValues.length > 0) continue;
    const text = `${p.description} ${ctx.lead}`;
    if (n === 'query' || n === 'pipeline') {
      if (!QUERY_LANGUAGE.test(`${text} ${ctx.tool.name}`)) continue;
      if (/\bsql\b/i.test(`${text} ${ctx.tool.name}`) && !READ_ONLY_QUERY.test(ctx.description)) {
        const unrestricted = /\b(any|arbitrary|insert|update|delete|ddl|dml|write)\b/i.test(ctx.description);
        if (unrestricted || ops.some((o) => o.op === 'execute')) {
          out.push({ category: 'execute', risk: 'critical', why: `\`${p.path}\` takes unrestricted SQL` });
          continue;
        }
      }
      out.push({ category: 'execute', risk: 'high', why: `\`${p.path}\` takes a query in a query language` });
      continue;
    }
    if (n === 'source' || n === 'function') {
      if (!executes) continue;
    }
    if (!executes && !CODE_TEXT.test(text)) continue;
    if (n === 'sql' || n === 'statement') {
      const readOnly = READ_ONLY_QUERY.test(ctx.description);
      out.push({
        category: 'execute',
        risk: readOnly ? 'high' : 'critical',
        why: `\`${p.path}\` takes ${readOnly ? 'a read-only' : 'unrestricted'} SQL statement`,
      });
      continue;
    }
    out.push({ category: 'execute', risk: 'critical', why: `\`${p.path}\` takes code or a command to run` });
  }
  return out;
}

/** What the description says outright about destroying existing data, whatever the verb of the name. */
function claimReadings(ctx: Context): Reading[] {
  const claim = DESTRUCTIVE_CLAIM.exec(ctx.description);
  if (!claim) return [];
  const drops = DROPS.test(ctx.description);
  return [
    {
      category: 'destructive',
      risk: drops ? 'critical' : 'high',
      why: `the description says it ${quote(claim[0], 40)}${drops ? ' and drops existing data' : ''}`,
    },
  ];
}

/** A word for private communications that names the mail itself, not its accounts or count (`email accounts`). */
function privateCommunication(ws: string[]): string | undefined {
  return ws.find((w, i) => PRIVATE_COMMUNICATION.has(w) && !MESSAGE_QUALIFIED.has(ws[i + 1] ?? ''));
}

function has(set: Set<string>, ws: string[]): string | undefined {
  return ws.find((w) => set.has(w));
}

function secretObject(ws: string[]): string | undefined {
  const direct = has(SECRET_OBJECTS, ws);
  if (direct) return direct;
  for (let i = 1; i < ws.length; i++) {
    if ((ws[i] === 'key' || ws[i] === 'keys') && KEY_QUALIFIERS.has(ws[i - 1]!))
      return `${ws[i - 1]} ${ws[i]}`;
    if (QUALIFIED_SECRETS[ws[i]!]?.includes(ws[i - 1]!)) return `${ws[i - 1]} ${ws[i]}`;
  }
  return undefined;
}

/**
 * An item of a secret store: the tool takes a vault (a parameter or the description names one) and its description
 * speaks of secrets (`Edit an existing 1Password item`). A notes app's vault has no secret word beside it.
 */
function secretStoreItem(ctx: Context): string | undefined {
  const store =
    has(SECRET_STORES, ctx.leadWords) ??
    ctx.params.map((p) => has(SECRET_STORES, words(p.name))).find(Boolean);
  if (!store) return undefined;
  const secret = secretObject(ctx.leadWords);
  return secret ? `an item of a ${store} (${secret})` : undefined;
}

/** A sentence of the description that says the tool returns a secret, and does not deny it. */
function returnsSecret(ctx: Context): string | undefined {
  for (const sentence of ctx.description.split(/(?<=[.!?])\s+/)) {
    const m = RETURNS_SECRET.exec(sentence);
    // "Never returns secret values", "so no passwords are returned": the denial comes before the secret or inside;
    // a warning after it ("should never be shared") denies nothing.
    if (m && !NEGATION.test(sentence.slice(0, m.index + m[0].length))) return m[0];
  }
  return undefined;
}

function permissionObject(ws: string[]): string | undefined {
  const direct = has(PERMISSION_OBJECTS, ws);
  if (direct) return direct;
  for (let i = 1; i < ws.length; i++) {
    if (
      (ws[i] === 'policy' || ws[i] === 'policies') &&
      ['iam', 'access', 'bucket', 'security'].includes(ws[i - 1]!)
    )
      return `${ws[i - 1]} ${ws[i]}`;
  }
  return undefined;
}

/** A tool that writes what it gets to a local path it is given: it may overwrite that file (destructive). */
function localOverwrite(ctx: Context, at: string): Reading | undefined {
  const dest = ctx.params.find((p) => LOCAL_DESTINATION.test(p.name));
  if (dest === undefined) return undefined;
  return {
    category: 'destructive',
    risk: 'high',
    why: `${at} writes to \`${dest.path}\`, which it may overwrite`,
  };
}

/** What one operation on one object means (SPEC §7 and its hard-case rules). */
function interpret(op: Operation, verb: string, objectWords: string[], ctx: Context, where: string): Reading {
  const objects = objectWords.filter((w) => w !== verb);
  const secret = secretObject(objects);
  const permission = permissionObject(objects);
  // A payment method is where money comes from; changing it moves none.
  const money = objects.some((w) => w === 'method' || w === 'methods')
    ? undefined
    : has(MONEY_OBJECTS, objects);
  const at = `\`${verb}\` (${where})`;
  switch (op) {
    case 'read':
    case 'navigate':
    case 'query': {
      if (secret) return { category: 'credential', risk: 'high', why: `${at} reads ${secret}` };
      const reveal = ctx.params.find((p) => p.type === 'boolean' && REVEAL_FLAGS.test(p.name));
      if (reveal) return { category: 'credential', risk: 'high', why: `\`${reveal.path}\` reveals secrets` };
      const returned = returnsSecret(ctx);
      if (returned)
        return { category: 'credential', risk: 'high', why: `it returns a secret: ${quote(returned, 50)}` };
      if (verb === 'forward' && has(MESSAGE_OBJECTS, objects)) {
        return { category: 'communication', risk: 'high', why: `${at} forwards a message to other people` };
      }
      if (op === 'navigate') return { category: 'read', risk: 'low', why: `${at} navigates` };
      if (LOCAL_WRITING_READS.has(verb)) {
        const overwrite = localOverwrite(ctx, at);
        if (overwrite) return overwrite;
      }
      if (COMPUTING_VERBS.has(verb))
        return { category: 'read', risk: 'low', why: `${at} computes, reads no records` };
      // A count or a size says how many, not what.
      if (objects.some((w) => METADATA_WORDS.has(w)))
        return { category: 'read', risk: 'low', why: `${at} reads metadata` };
      const bulk = has(BULK_SENSITIVE, objects);
      // `list_payroll_employee_leave`: one employee's payroll records are personal records, not bulk payroll.
      const one = objects.find((w) => ONE_PERSON.has(w));
      if (bulk && !one) return { category: 'read', risk: 'high', why: `${at} reads ${bulk} data` };
      if (bulk) return { category: 'read', risk: 'medium', why: `${at} reads ${bulk} data of one ${one}` };
      if (has(LOG_QUALIFIERS, objects) || LOG_VERBS.has(verb)) {
        return { category: 'read', risk: 'medium', why: `${at} reads logs` };
      }
      const priv = privateCommunication(objects);
      if (priv)
        return { category: 'read', risk: 'high', why: `${at} reads private communications (${priv})` };
      const personal = has(PERSONAL_RECORDS, objects);
      if (personal)
        return {
          category: 'read',
          risk: 'medium',
          why: `${at} reads personal or financial records (${personal})`,
        };
      // `search_by_sender`: the description names what is searched ("Search messages from a sender").
      const leadPriv = privateCommunication(ctx.leadWords.slice(0, 12));
      if (leadPriv) {
        return {
          category: 'read',
          risk: 'high',
          why: `${at} reads private communications (${leadPriv}, description)`,
        };
      }
      return { category: 'read', risk: 'low', why: `${at} only reads` };
    }
    case 'trivial':
      return { category: 'write', risk: 'low', why: `${at} is a trivial self-scoped change` };
    case 'write':
    case 'overwrite':
    case 'provision':
    case 'deploy': {
      const stored = secretStoreItem(ctx);
      if (secret || permission || stored) {
        return {
          category: 'credential',
          risk: 'critical',
          why: `${at} changes ${secret ?? permission ?? stored}`,
        };
      }
      if (objects.some((w) => SETTINGS_OBJECTS.has(w)) && ACCESS_SETTINGS.test(ctx.description)) {
        const m = ACCESS_SETTINGS.exec(ctx.description)!;
        return {
          category: 'credential',
          risk: 'critical',
          why: `${at} changes access settings (${quote(m[0], 30)})`,
        };
      }
      if (
        ['create', 'add', 'new'].includes(verb) &&
        objects.some((w) => w === 'webhook' || w === 'webhooks')
      ) {
        // A webhook's URL carries its token: whoever holds it can post as it.
        return { category: 'credential', risk: 'critical', why: `${at} creates a webhook and its token` };
      }
      if (money && !NON_MONEY_VERBS.has(verb)) {
        const creditNote = objects.includes('credit') && objects.some((w) => w === 'note' || w === 'notes');
        const draft =
          creditNote ||
          ['invoice', 'invoices', 'quote', 'quotes', 'link', 'price', 'prices'].some((w) =>
            objects.includes(w),
          );
        if (draft && verb !== 'pay') {
          return {
            category: 'financial',
            risk: 'medium',
            why: `${at} drafts a ${money} (charges nothing yet)`,
          };
        }
        return { category: 'financial', risk: 'critical', why: `${at} moves money (${money})` };
      }
      if (op === 'overwrite') {
        return { category: 'destructive', risk: 'high', why: `${at} can silently overwrite existing data` };
      }
      if (verb === 'upload') {
        // Upload to a path (a destination that may exist): rule 3. Upload of local files elsewhere: data leaves.
        if (ctx.params.some((p) => DESTINATION_PARAMETERS.test(p.name))) {
          return { category: 'destructive', risk: 'high', why: `${at} uploads to a path it may overwrite` };
        }
        if (ctx.params.some((p) => PATH_PARAMETERS.test(p.name) || /^paths?$/i.test(p.name))) {
          return { category: 'write', risk: 'high', why: `${at} sends local files away` };
        }
      }
      if (verb === 'save') {
        const overwrite = localOverwrite(ctx, at);
        if (overwrite) return overwrite;
      }
      const migration = has(MIGRATION_OBJECTS, objects);
      if (migration && APPLYING_VERBS.has(verb)) {
        return { category: 'execute', risk: 'critical', why: `${at} applies a ${migration}: runs its DDL` };
      }
      if (op === 'deploy') return { category: 'write', risk: 'high', why: `${at} deploys` };
      const deployed =
        has(DEPLOY_OBJECTS, objects) ??
        has(DEPLOY_OBJECTS, ctx.leadWords) ??
        ctx.params.map((p) => has(DEPLOY_OBJECTS, words(p.name))).find(Boolean);
      if (deployed) return { category: 'write', risk: 'high', why: `${at} deploys a ${deployed}` };
      const paid = has(PAID_RESOURCES, objects);
      if (op === 'provision' || (paid && ['create', 'add', 'new'].includes(verb))) {
        return {
          category: 'write',
          risk: 'high',
          why: `${at} provisions paid infrastructure (${paid ?? verb})`,
        };
      }
      if (['create', 'add', 'new', 'post', 'schedule'].includes(verb)) {
        const msg = has(MESSAGE_OBJECTS, objects);
        const settings = objects.some((w) => SETTINGS_OBJECTS.has(w));
        if (msg && !settings && !objects.includes('draft') && !objects.includes('drafts')) {
          return { category: 'communication', risk: 'high', why: `${at} sends a ${msg} to other people` };
        }
      }
      if (
        has(SELF_SCOPED, objects) ||
        (['close', 'resize', 'clear', 'stop', 'start', 'end'].includes(verb) &&
          (has(HARMLESS_ITEMS, objects) || has(TRANSIENT_ITEMS, objects)))
      ) {
        return { category: 'write', risk: 'low', why: `${at} is a trivial self-scoped change` };
      }
      if (BULK_WORDS.test(objects.join(' ')) || objects.includes('many')) {
        return { category: 'write', risk: 'high', why: `${at} writes in bulk` };
      }
      return { category: 'write', risk: 'medium', why: `${at} creates or modifies data` };
    }
    case 'delete':
    case 'cancel': {
      const stored = secretStoreItem(ctx);
      if (secret || permission || stored) {
        return {
          category: 'credential',
          risk: 'critical',
          why: `${at} removes ${secret ?? permission ?? stored}`,
        };
      }
      if (money && op === 'cancel') {
        // SPEC §7 puts cancels under destructive: cancelling a subscription or a payment moves no money.
        return { category: 'destructive', risk: 'critical', why: `${at} cancels a ${money}` };
      }
      const harmless = has(HARMLESS_ITEMS, objects);
      if (harmless || objects.includes('scheduled')) {
        return {
          category: 'destructive',
          risk: 'medium',
          why: `${at} removes a harmless ${harmless ?? 'item'}`,
        };
      }
      const small = has(SMALL_ITEMS, objects);
      if (small)
        return {
          category: 'destructive',
          risk: 'high',
          why: `${at} removes a small or recoverable ${small}`,
        };
      if (op === 'cancel' && !['terminate', 'destroy'].includes(verb)) {
        return { category: 'destructive', risk: 'high', why: `${at} cancels or stops work in progress` };
      }
      return { category: 'destructive', risk: 'critical', why: `${at} destroys data` };
    }
    case 'execute': {
      if (objects.some((w) => ['query', 'sql', 'queries'].includes(w))) {
        const readOnly = READ_ONLY_QUERY.test(ctx.description);
        return {
          category: 'execute',
          risk: readOnly ? 'high' : 'critical',
          why: `${at} runs ${readOnly ? 'a read-only' : 'an unrestricted'} query`,
        };
      }
      const code = ctx.params.find((p) => CODE_PARAMETERS.has(p.name.toLowerCase()) && p.type !== 'boolean');
      if (code || CODE_WORDS.test(ctx.lead)) {
        return { category: 'execute', risk: 'critical', why: `${at} runs code or commands` };
      }
      return { category: 'execute', risk: 'high', why: `${at} runs a predefined job` };
    }
    case 'trigger':
      return { category: 'execute', risk: 'high', why: `${at} triggers a predefined run` };
    case 'send': {
      if (objects.some((w) => SETTINGS_OBJECTS.has(w))) {
        return {
          category: 'write',
          risk: 'medium',
          why: `${at} configures where messages go; sends nothing`,
        };
      }
      if (
        verb === 'post' &&
        !has(MESSAGE_OBJECTS, objects) &&
        /\b(page|item|record|entry|block|issue)\b/.test(objects.join(' '))
      ) {
        return { category: 'write', risk: 'medium', why: `${at} creates a record (not a message)` };
      }
      if (objects.some((w) => ['comment', 'comments', 'review', 'note', 'notes'].includes(w))) {
        return { category: 'write', risk: 'medium', why: `${at} comments (a write, rule 6)` };
      }
      return { category: 'communication', risk: 'high', why: `${at} sends to other people` };
    }
    case 'pay':
      if (['finalize', 'finalise'].includes(verb) && !money) {
        return { category: 'write', risk: 'medium', why: `${at} finalises` };
      }
      return { category: 'financial', risk: 'critical', why: `${at} moves money` };
    case 'grant':
      if (verb === 'invite' && !permission && objects.some((w) => ['channel', 'conversation'].includes(w))) {
        return { category: 'write', risk: 'medium', why: `${at} adds someone to a conversation` };
      }
      return { category: 'credential', risk: 'critical', why: `${at} changes access` };
  }
}

function pickWorst(readings: Reading[]): Reading {
  let worst = readings[0]!;
  for (const r of readings.slice(1)) {
    const d = riskRank(r.risk) - riskRank(worst.risk);
    if (d > 0 || (d === 0 && CATEGORY_PRIORITY[r.category] > CATEGORY_PRIORITY[worst.category])) worst = r;
  }
  return worst;
}

/** What the description makes certain: an irreversible destruction is critical whatever the object. */
function applyDescription(r: Reading, ctx: Context): Reading {
  if (r.category === 'destructive' && r.risk !== 'critical' && IRREVERSIBLE.test(ctx.lead)) {
    return { ...r, risk: 'critical', why: `${r.why}; the description says it is irreversible` };
  }
  return r;
}

/** Annotations come from the untrusted server: they may raise the risk, never lower it (SPEC §7). */
function applyAnnotations(r: Reading, ctx: Context): Reading {
  const a = ctx.tool.annotations;
  if (!a) return r;
  if (
    a.destructiveHint === true &&
    a.readOnlyHint !== true &&
    (r.category === 'read' || r.category === 'other')
  ) {
    return {
      category: 'destructive',
      risk: 'high',
      why: `${r.why}; raised: the server marks it destructive`,
    };
  }
  if (a.readOnlyHint === false && r.category === 'read' && a.destructiveHint !== false) {
    // Explicitly not read-only and not said to be harmless: at least an ordinary write.
    return {
      category: 'write',
      risk: 'medium',
      why: `${r.why}; raised: the server says it is not read-only`,
    };
  }
  if (a.readOnlyHint === false && (r.category === 'read' || r.category === 'other')) {
    return {
      category: 'write',
      risk: riskRank(r.risk) > riskRank('medium') ? r.risk : 'medium',
      why: `${r.why}; raised: the server says it is not read-only`,
    };
  }
  return r;
}

function addSignals(r: Reading, ctx: Context): void {
  const s = ctx.signals;
  const name = ctx.tool.name;
  const a = ctx.tool.annotations;
  const allWords = [...ctx.nameWords, ...ctx.params.map((p) => p.name.toLowerCase())];
  const secretParam = ctx.params.find((p) =>
    /^(token|api_?key|apikey|password|secret|client_?secret|access_?token|private_?key|credentials?)$/i.test(
      p.name,
    ),
  );
  const secretName = secretObject(ctx.nameWords) ?? permissionObject(ctx.nameWords);
  if (secretName || r.category === 'credential') {
    s.push({
      kind: 'handles_credentials',
      evidence: `name \`${name}\` (${secretName ?? 'credential operation'})`,
    });
  } else if (secretParam) {
    s.push({ kind: 'handles_credentials', evidence: `parameter \`${secretParam.path}\`` });
  }
  if (a?.openWorldHint === true) s.push({ kind: 'open_world', evidence: 'annotation openWorldHint: true' });
  else {
    const url = ctx.params.find(
      (p) => /^(url|urls|uri|href|link|endpoint)$/i.test(p.name) || p.format === 'uri',
    );
    const m = OPEN_WORLD_WORDS.exec(ctx.lead);
    if (url) s.push({ kind: 'open_world', evidence: `parameter \`${url.path}\` takes a URL` });
    else if (m) s.push({ kind: 'open_world', evidence: `description mentions ${quote(m[0], 40)}` });
  }
  if (r.category === 'execute' && r.risk === 'critical') {
    const code = ctx.params.find((p) => CODE_PARAMETERS.has(p.name.toLowerCase()));
    s.push({ kind: 'arbitrary_code', evidence: code ? `parameter \`${code.path}\`` : quote(ctx.lead) });
  } else if (r.category === 'write' && r.risk === 'high' && /\b(deploy|release)\b/i.test(name)) {
    const code = ctx.params.find((p) => /^(files?|code|source|content|script)$/i.test(p.name));
    if (code) s.push({ kind: 'arbitrary_code', evidence: `deploys \`${code.path}\`` });
  }
  const pathParam = ctx.params.find((p) => PATH_PARAMETERS.test(p.name));
  const fileWord = ctx.nameWords.find((w) =>
    ['file', 'files', 'directory', 'directories', 'folder', 'dir'].includes(w),
  );
  if (pathParam && (fileWord || /\b(file|director(y|ies)|folder|path)\b/i.test(ctx.lead))) {
    s.push({ kind: 'file_system', evidence: `parameter \`${pathParam.path}\`` });
  } else if (fileWord && !OPEN_WORLD_WORDS.test(ctx.lead)) {
    s.push({ kind: 'file_system', evidence: `name \`${name}\`` });
  }
  const bulkName = ctx.nameWords.find((w) => ['bulk', 'batch', 'broadcast', 'mass'].includes(w));
  if (bulkName) s.push({ kind: 'bulk_operation', evidence: `name \`${name}\`` });
  else if (BULK_WORDS.test(ctx.lead))
    s.push({ kind: 'bulk_operation', evidence: quote(BULK_WORDS.exec(ctx.lead)![0]) });
  const piiObject = ctx.nameWords.find((w) =>
    [
      'user',
      'users',
      'contact',
      'contacts',
      'customer',
      'customers',
      'person',
      'people',
      'profile',
      'employee',
      'employees',
      'attendees',
      'member',
      'members',
      'payroll',
      'email',
      'emails',
      'phone',
    ].includes(w),
  );
  const piiText =
    PII_WORDS.exec(ctx.lead) ?? PII_WORDS.exec(ctx.params.map((p) => p.name.replace(/_/g, ' ')).join(' '));
  if (piiObject) s.push({ kind: 'pii', evidence: `name \`${name}\` (${piiObject})` });
  else if (piiText) s.push({ kind: 'pii', evidence: quote(piiText[0], 40) });
  const irreversible = IRREVERSIBLE.exec(ctx.description);
  if (irreversible) s.push({ kind: 'irreversible', evidence: quote(irreversible[0], 40) });
  else if ((r.category === 'destructive' || r.category === 'financial') && r.risk === 'critical') {
    s.push({ kind: 'irreversible', evidence: r.why });
  } else if (a?.destructiveHint === true && a.readOnlyHint !== true) {
    s.push({ kind: 'irreversible', evidence: 'annotation destructiveHint: true' });
  }
  void allWords;
}

function dedupe(signals: Signal[]): Signal[] {
  const seen = new Set<string>();
  return signals.filter((s) => {
    const key = `${s.kind}\u0000${s.evidence}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
