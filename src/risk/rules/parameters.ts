// Readings from what the parameters and the description say outright: switches that overwrite or delete, code
// parameters that make a tool execute, descriptions that claim destruction.
import { type Parameter, quote, words } from '../text.js';
import { CODE_PARAMETERS } from '../vocabulary/parameters.js';
import {
  AMOUNT_PARAMETER,
  API_OPERATION,
  API_REQUEST,
  API_SERVICE,
  CARD_PARAMETER,
  CODE_TEXT,
  DATA_STORE,
  DESTRUCTIVE_CLAIM,
  DROPS,
  IDENTITY_SERVICES,
  MONEY_COMMITTED,
  MONEY_SERVICES,
  PAYMENT_PROOF,
  PAYS_CLAIM,
  QUERY_LANGUAGE,
  READ_ONLY_QUERY,
  SHELL_TEXT,
  STRONG_SECONDARY,
  TERMINAL_CLAIM,
} from '../vocabulary/phrases.js';
import type { Context, Op, Reading } from './context.js';
import { identifierCode } from './interaction.js';
import { interpret } from './interpret.js';

/** A boolean that turns an ordinary write into an overwrite (`force` on a push, `overwrite` on an upload). */
export function flagReadings(ctx: Context): Reading[] {
  const out: Reading[] = [];
  const wrapper = requestWrapper(ctx);
  for (const p of ctx.params) {
    const n = p.name.toLowerCase();
    // Only the tool's own flags: a nested `archived` is usually a filter on what to read. Generated API clients wrap
    // all arguments in one `request` object: its fields are the tool's own.
    const own = !p.path.includes('.') || (wrapper !== undefined && p.path === `${wrapper}.${p.name}`);
    if (p.type !== 'boolean' || !own) continue;
    if (
      /^(distribute|send)[_-]?(document|envelope|email|emails|notification|notifications)?$/i.test(p.name) &&
      !ctx.reads
    ) {
      out.push({ category: 'communication', risk: 'high', why: `\`${p.path}\` sends it to people` });
      continue;
    }
    if (n === 'force' && ctx.nameWords.some((w) => w === 'push' || w === 'merge')) {
      out.push({ category: 'destructive', risk: 'critical', why: `\`${p.path}\` force-pushes over history` });
    } else if (
      (['in_trash', 'trashed', 'deleted'].includes(n) ||
        (n === 'archived' && /\b(delete|trash)/i.test(p.description))) &&
      !ctx.reads
    ) {
      // Rule 1: a flag that moves the item to the trash is a recoverable delete (on a tool that lists or queries,
      // it only says which items to read). `archived` is not among them: archiving is a write (verbs.ts), and on a
      // create or an update it is a property of the item, unless its description says it deletes (Notion's).
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
export function codeReadings(ctx: Context, ops: Op[]): Reading[] {
  const executes = ops.some((o) => o.op === 'execute' || o.op === 'query');
  const router = commandRouter(ctx);
  const out: Reading[] = [];
  for (const p of ctx.params) {
    if (p === router) {
      // A router that queries a data store (or says its queries are in a query language) runs queries (rule 7).
      if (
        /\bquer(y|ies|ying)\b/i.test(ctx.description) &&
        (QUERY_LANGUAGE.test(ctx.description) || DATA_STORE.test(ctx.description))
      )
        out.push({
          ...queryReading(p, ctx, /\bexecut/i.test(ctx.description)),
          why: `\`${p.path}\` routes queries to a data store`,
        });
      continue;
    }
    const query = queryFragment(p, ctx);
    if (query) {
      out.push(
        queryReading(
          p,
          ctx,
          ops.some((o) => o.op === 'execute'),
        ),
      );
      continue;
    }
    // `yamlOverride` on a pipeline run: the agent writes the steps that run.
    if (executesSomething(ops) && words(p.name).includes('yaml') && p.type !== 'boolean') {
      out.push({ category: 'execute', risk: 'critical', why: `\`${p.path}\` supplies the steps of the run` });
      continue;
    }
    // `collection.event[].script` on a create or an update: code stored inside a document, run by someone later.
    if (p.path.includes('.') && !executes && storesOnly(ops)) continue;
    // `migrationSql`, `shell_command`: the last word of the parameter's name says what it carries.
    const n = CODE_PARAMETERS.has(p.name.toLowerCase()) ? p.name.toLowerCase() : (words(p.name).at(-1) ?? '');
    if (!CODE_PARAMETERS.has(n) || p.type === 'boolean' || p.enumValues.length > 0 || identifierCode(p))
      continue;
    const text = `${p.description} ${ctx.lead}`;
    if (n === 'query' || n === 'pipeline') {
      if (QUERY_LANGUAGE.test(`${text} ${ctx.tool.name}`))
        out.push(
          queryReading(
            p,
            ctx,
            ops.some((o) => o.op === 'execute'),
          ),
        );
      continue;
    }
    if (n === 'source' || n === 'function') {
      if (!executes) continue;
    }
    // `db_view_create(select_sql)`: a view is a query the database runs on every read (a materialized one at once).
    if (n === 'sql' && ctx.nameWords.some((w) => w === 'view' || w === 'matview' || w === 'materialized')) {
      out.push({
        category: 'execute',
        risk: 'high',
        why: `\`${p.path}\` is a query the database runs as a view`,
      });
      continue;
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

/**
 * A query carried by a parameter not named `query`: a clause of one (`whereClause`, `having_clause`), or a query
 * object or body in a query language (`queryBody` as "query DSL"). The agent writes the predicate: rule 7.
 */
function queryFragment(p: Parameter, ctx: Context): boolean {
  if (p.type === 'boolean' || p.enumValues.length > 0) return false;
  const ws = words(p.name);
  if (ws.length > 1 && ws.at(-1) === 'clause') return true;
  if (ws.length < 2 || !ws.includes('query') || ws.at(-1) === 'query') return false;
  if (!['body', 'dsl', 'object', 'json'].includes(ws.at(-1) ?? '')) return false;
  return QUERY_LANGUAGE.test(`${p.description} ${ctx.lead}`);
}

function executesSomething(ops: Op[]): boolean {
  return ops.some((o) => o.op === 'execute' || o.op === 'trigger');
}

/** The one object parameter a generated API client wraps every argument in (`request`, `body`), if that is all. */
function requestWrapper(ctx: Context): string | undefined {
  const top = ctx.params.filter((p) => !p.path.includes('.'));
  return top.length === 1 &&
    top[0]!.type === 'object' &&
    /^(request|body|params|input|data)$/i.test(top[0]!.name)
    ? top[0]!.name
    : undefined;
}

/** A create, an update or a replace only stores what it is given. */
function storesOnly(ops: Op[]): boolean {
  return ops.length > 0 && ops.every((o) => o.op === 'write' || o.op === 'overwrite');
}

/** A query in a query language: read-only is execute/high; SQL that may write (or a tool that executes it) critical. */
function queryReading(p: Parameter, ctx: Context, executes: boolean): Reading {
  const text = `${p.description} ${ctx.lead} ${ctx.tool.name}`;
  if (/\bsql\b/i.test(text) && !READ_ONLY_QUERY.test(ctx.description)) {
    const unrestricted = /\b(any|arbitrary|insert|update|delete|ddl|dml|write)\b/i.test(ctx.description);
    if (unrestricted || executes)
      return { category: 'execute', risk: 'critical', why: `\`${p.path}\` takes unrestricted SQL` };
  }
  return { category: 'execute', risk: 'high', why: `\`${p.path}\` takes a query in a query language` };
}

/** What the description says outright about destroying existing data, whatever the verb of the name. */
export function claimReadings(ctx: Context): Reading[] {
  const readings: Reading[] = [];
  // A tool that says it pays (from a wallet, a card, automatically) moves money whatever its verb (rule 9).
  const pays = PAYS_CLAIM.exec(ctx.description);
  if (pays) {
    readings.push({
      category: 'financial',
      risk: 'critical',
      why: `the description says ${quote(pays[0], 40)}`,
    });
  }
  // A card (or a payment method) and an amount: the call charges the card or holds funds on it (rule 9).
  const top = ctx.params.filter((p) => !p.path.includes('.') && p.enumValues.length === 0);
  const card = top.find((p) => CARD_PARAMETER.test(p.name) && (p.type === 'string' || p.type === 'object'));
  if (card && !ctx.reads && top.some((p) => AMOUNT_PARAMETER.test(p.name))) {
    readings.push({ category: 'financial', risk: 'critical', why: `\`${card.path}\` is charged an amount` });
  }
  // A payment's transaction hash as an argument: the call redeems what was paid (rule 9).
  const proof = ctx.params.find((p) => !p.path.includes('.') && PAYMENT_PROOF.test(p.name));
  if (proof) {
    readings.push({ category: 'financial', risk: 'critical', why: `\`${proof.path}\` redeems a payment` });
  }
  readings.push(...genericApiReadings(ctx));
  // "Execute custom SQL queries against your analytics": the agent writes the query, whatever the name says (rule 7).
  const sql = /\b(execute|run)s? (custom |arbitrary |raw |your own )?sql (queries|query|statements)\b/i.exec(
    ctx.description.slice(0, 300),
  );
  if (sql) {
    const risk = READ_ONLY_QUERY.test(ctx.description) ? 'high' : 'critical';
    readings.push({ category: 'execute', risk, why: `the description says ${quote(sql[0], 40)}` });
  }
  // `mb_card_data`: "Execute a card/question and get the results", `codacy_cli_analyze`: "Run quality analysis
  // locally": a read by name that runs what it names.
  const runs =
    /^(execute|run)s? (an? |the )?(saved |stored |quality |security )?(card|question|query|report|job|workflow|action|analysis|scan|tests?)s?\b/i.exec(
      ctx.lead,
    );
  if (runs)
    readings.push({ category: 'execute', risk: 'high', why: `the description says ${quote(runs[0], 40)}` });
  const claim = DESTRUCTIVE_CLAIM.exec(ctx.description);
  if (!claim) return readings;
  const drops = DROPS.test(ctx.description);
  return [
    ...readings,
    {
      category: 'destructive',
      risk: drops ? 'critical' : 'high',
      why: `the description says it ${quote(claim[0], 40)}${drops ? ' and drops existing data' : ''}`,
    },
  ];
}

/**
 * A generic API tool (a service, an operation on it, the request to send) can do whatever the worst service it
 * reaches can (rule 1): move money when it names payments or billing, change identities and keys when it names
 * OAuth, IAM or a key store. A tool whose own name reads or queries is a lookup, not a caller.
 */
function genericApiReadings(ctx: Context): Reading[] {
  if (ctx.reads) return [];
  const top = ctx.params.filter((p) => !p.path.includes('.'));
  const service = top.find((p) => API_SERVICE.test(p.name));
  const caller =
    service !== undefined &&
    top.some((p) => API_OPERATION.test(p.name)) &&
    top.some((p) => API_REQUEST.test(p.name));
  if (!caller && commandRouter(ctx) === undefined) return [];
  const reach = `${ctx.description} ${service?.description ?? ''} ${service?.enumValues.join(' ') ?? ''}`;
  const out: Reading[] = [];
  for (const [words, category] of [
    [MONEY_SERVICES, 'financial'],
    [IDENTITY_SERVICES, 'credential'],
  ] as const) {
    const m = words.exec(reach);
    if (m)
      out.push({
        category,
        risk: 'critical',
        why: `calls any operation of any service, ${quote(m[0], 20)} among them`,
      });
  }
  return out;
}

/**
 * A command router: the tool takes the name of one of its own sub-commands in a free `command` and that
 * sub-command's arguments in an object beside it (`parameters`, `args`). The `command` names an operation of the
 * tool, not a line for a shell, so it is no code; the tool reaches whatever its description says its sub-commands
 * manage (generic API caller above). A shell tool's `command` comes with an `argv` list or an `env`, or its text
 * speaks of a shell or a process.
 */
export function commandRouter(ctx: Context): Parameter | undefined {
  const top = ctx.params.filter((p) => !p.path.includes('.'));
  const command = top.find((p) => /^(command|cmd|subcommand)$/i.test(p.name) && p.type === 'string');
  if (command === undefined || command.enumValues.length > 0) return undefined;
  if (!top.some((p) => p.type === 'object' && /^(parameters|params|arguments|args)$/i.test(p.name)))
    return undefined;
  if (SHELL_TEXT.test(`${ctx.description} ${command.description}`)) return undefined;
  return command;
}

/** Parameters that set environment variables (where a service keeps its keys). */
const ENV_PARAMETER = /^(env|envs|env_?vars|environment_?variables)$/i;
/** Who a message goes to: a person, a chat or a number. */
const RECIPIENT_PARAMETER =
  /^(user_?id|human_?id|person_?id|recipients?|to|phone(_?number)?|chat_?id|contact_?id)$/i;

/**
 * What a write's parameters say it changes, whatever its name's object: an `env` parameter that its description says
 * holds environment variables, on a create, an update or a save, stores them (credential/critical, as a service's
 * environment variables are secrets; on a deploy, a run or an install they are the run's own); a `message` beside a
 * recipient sends it to that person (rule 6).
 */
export function parameterWriteReadings(ctx: Context, ops: Op[]): Reading[] {
  if (ctx.reads || !ops.some((o) => ['write', 'overwrite', 'send', 'trivial'].includes(o.op))) return [];
  const top = ctx.params.filter((p) => !p.path.includes('.') && p.type !== 'boolean');
  const out: Reading[] = [];
  const env = top.find(
    (p) => ENV_PARAMETER.test(p.name) && /\benvironment variables?\b/i.test(p.description),
  );
  // An installer's `env` is the installed program's own environment, set for the code it runs.
  const installs = ops.some((o) => o.verb === 'install');
  if (env && !installs)
    out.push({
      category: 'credential',
      risk: 'critical',
      why: `\`${env.path}\` stores environment variables`,
    });
  // A budget, a prize or a reward given to a task, a contest or a bounty is money committed to pay people (rule 9).
  const committed = top.find(
    (p) => MONEY_COMMITTED.test(p.name) && (p.type === 'number' || p.type === 'integer'),
  );
  if (committed)
    out.push({
      category: 'financial',
      risk: 'critical',
      why: `\`${committed.path}\` commits money to pay people`,
    });
  // Creating something in a tmux pane or a pseudo-terminal starts a process that runs commands (rule 7).
  const terminal = TERMINAL_CLAIM.exec(ctx.lead);
  if (terminal && ops.some((o) => ['create', 'new', 'spawn', 'start', 'open', 'launch'].includes(o.verb)))
    out.push({ category: 'execute', risk: 'critical', why: `it starts a process in a ${terminal[0]}` });
  // `createIntegration({credentials: {apiKey, secretKey}})`: what the call stores is a provider's credentials.
  const credentials = ctx.params.find((p) => /^credentials$/i.test(p.name) && p.type === 'object');
  if (credentials)
    out.push({ category: 'credential', risk: 'critical', why: `\`${credentials.path}\` stores credentials` });
  const message = top.find((p) => p.name.toLowerCase() === 'message');
  const recipient = top.find((p) => RECIPIENT_PARAMETER.test(p.name));
  if (message && recipient)
    out.push({
      category: 'communication',
      risk: 'high',
      why: `\`${message.path}\` goes to \`${recipient.path}\``,
    });
  return out;
}
