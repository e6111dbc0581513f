// The operations a tool's name, its description's opening words and its mode parameters say it performs (rule 1).
import { baseForms, words } from '../text.js';
import { MONEY_OBJECTS } from '../vocabulary/objects.js';
import { MODE_PARAMETERS } from '../vocabulary/parameters.js';
import { DESCRIBED_MODES, HTTP_METHODS, SETTINGS_OF, STRONG_SECONDARY } from '../vocabulary/phrases.js';
import { type Operation, VERBS } from '../vocabulary/verbs.js';
import type { Context, Op } from './context.js';
import { commandRouter } from './parameters.js';

/** The operations of a verb that follows its object in a name (`run_upsert`); not a run of anything. */
const OBJECT_FIRST = new Set<Operation>(['read', 'write']);
/** Verbs that set a state: the words after them name the state. */
const STATE_SETTERS = new Set(['set', 'enable', 'disable', 'toggle']);

/** The verbs of a name in the resource-first order of generated API clients (`im_v1_message_list`). */
const RESOURCE_LAST = new Set([
  'list',
  'get',
  'create',
  'update',
  'delete',
  'search',
  'upsert',
  'patch',
  'retrieve',
]);
/** Verbs that, inside such a name, are its operation after all (`didit_create_list` creates a list). */
const IMPERATIVES = new Set([
  ...RESOURCE_LAST,
  ...'add remove set send start stop enable disable assign move copy upload'.split(' '),
  ...'download export import cancel refund pay execute run read write fetch find'.split(' '),
]);

export function operationsOfName(nameWords: string[]): Op[] {
  // `im_v1_message_list`, `bitable_v1_app_table_record_search`: a name that starts with a resource and ends with the
  // operation on it says what it does last; a verb inside (`message`) is part of the resource's name.
  const last = nameWords.at(-1) ?? '';
  const inside = nameWords.slice(1, -1);
  if (
    nameWords.length > 2 &&
    RESOURCE_LAST.has(last) &&
    (VERBS[nameWords[0]!] === undefined || SETTINGS_OF.has(nameWords[1]!)) &&
    !inside.some((w, i) => IMPERATIVES.has(w) && !payAsNoun(nameWords, i + 1))
  ) {
    return [{ op: VERBS[last]!, verb: last }];
  }
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
    const op =
      w === 'forward' && nameWords[i - 1] === 'port'
        ? 'write'
        : payAsNoun(nameWords, i)
          ? undefined
          : VERBS[w];
    if (op === undefined) continue;
    // The first verb is what the tool does; later ones are usually nouns (`get_workflow_run`), except
    // deletes, and verbs joined by `or`/`and` (`create_or_update_file`).
    if (first && ['start', 'begin', 'retry', 'rerun'].includes(w)) {
      // `start_search`, `retry_connect`: the verb after `start` or `retry` says what is started or tried again.
      const next = nameWords[i + 1];
      const nextOp = next === undefined ? undefined : VERBS[next];
      if (next !== undefined && nextOp !== undefined) {
        ops.push({ op: nextOp, verb: next });
        first = false;
        continue;
      }
    }
    // `qase_run_upsert`, `run_complete`: a name in the object-first order (`<noun>_<verb>`), whose `run` is a noun.
    const then = nameWords[i + 1];
    const thenOp = then === undefined ? undefined : VERBS[then];
    if (first && w === 'run' && then !== undefined && thenOp !== undefined && OBJECT_FIRST.has(thenOp)) {
      ops.push({ op: thenOp, verb: then });
      first = false;
      continue;
    }
    // `set_popularity_drop_bypass`: what a setter is named after is the state it sets, even a delete word.
    if (first || (STRONG_SECONDARY.has(w) && !STATE_SETTERS.has(ops[0]?.verb ?? '')))
      ops.push({ op, verb: w });
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
export function httpMethodAsTransport(ops: Op[], ctx: Context): Op[] {
  const first = ops[0];
  if (first === undefined || first.verb !== 'post') return ops;
  if (!ctx.params.some((p) => /^(path|endpoint|url|uri|api_?path)$/i.test(p.name))) return ops;
  return [{ op: 'write', verb: 'create' }, ...ops.slice(1)];
}

/** `apple-pay-link-token`, "Connect an Apple Pay token": the `pay` of a wallet's brand is a name, not a payment. */
const PAY_BRANDS = new Set(['apple', 'google', 'samsung', 'amazon', 'shop']);
/** `pay-schedules_get`, `holiday-pay-policies_get`: `pay` before these says what kind of thing it is. */
const PAY_KINDS = new Set([
  'schedule',
  'schedules',
  'period',
  'periods',
  'stub',
  'stubs',
  'policy',
  'policies',
  'rate',
  'rates',
  'grade',
  'grades',
  'slip',
  'slips',
  'date',
  'dates',
]);
/** `pay` at `ws[i]` is part of a noun (a wallet's brand, a kind of schedule or policy), not the verb. */
function payAsNoun(ws: string[], i: number): boolean {
  return ws[i] === 'pay' && (PAY_BRANDS.has(ws[i - 1] ?? '') || PAY_KINDS.has(ws[i + 1] ?? ''));
}

const LEAD_READ = new Set(['return', 'provide', 'display', 'give', 'obtain', 'access']);

/** Words before a participle that make it an adjective of a money object (`an authorized payment`: a state of the
 * payment, no access granted), or before a compound's last part that make it a noun (`two-step payment`). */
const ARTICLES = new Set(['a', 'an', 'the']);
const COUNTS = new Set(['one', 'two', 'three', 'multi', 'single']);

export function operationsOfLead(leadWords: string[]): Op[] {
  for (const [i, w] of leadWords.slice(0, 10).entries()) {
    const before = leadWords[i - 1] ?? '';
    const adjective = w.endsWith('ed') && ARTICLES.has(before) && MONEY_OBJECTS.has(leadWords[i + 1] ?? '');
    if (adjective || COUNTS.has(before) || payAsNoun(leadWords, i)) continue;
    for (const form of baseForms(w)) {
      if (LEAD_READ.has(form)) return [{ op: 'read', verb: form }];
      const op = VERBS[form];
      if (op !== undefined && form !== 'help') return [{ op, verb: form }];
    }
  }
  return [];
}

export function modeOperations(ctx: Context): Array<Op & { value: string; path: string }> {
  const out: Array<Op & { value: string; path: string }> = [];
  for (const p of ctx.params) {
    if (!MODE_PARAMETERS.has(p.name.toLowerCase()) || p.enumValues.length === 0) continue;
    // On a `list_`/`search_` tool an `action` or `type` enum filters what is listed; on a `mark_`/`set_` tool it
    // names the state to set (`mark_email` as `read`).
    if (ctx.listing || ctx.setsState) continue;
    const values = p.enumValues.map((v) => v.toLowerCase());
    // A `type` names kinds of things (`Text`, `Email`, `Phone` for a field); it selects modes only when most of its
    // values are verbs.
    if (
      p.name.toLowerCase() === 'type' &&
      values.filter((v) => VERBS[words(v)[0] ?? ''] !== undefined).length * 2 <= values.length
    )
      continue;
    // JSON Patch (`add`, `remove`, `replace`): `remove` takes a field out of a document, not the document.
    const jsonPatch =
      values.filter((v) => JSON_PATCH_OPS.has(v)).length >= 3 && values.every((v) => JSON_PATCH_OPS.has(v));
    for (const value of p.enumValues) {
      if (jsonPatch) {
        out.push({ op: value.toLowerCase() === 'test' ? 'read' : 'write', verb: value, value, path: p.path });
        continue;
      }
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
  if (out.length === 0 && !ctx.listing && !ctx.setsState) out.push(...describedModes(ctx));
  if (out.length === 0 && commandRouter(ctx) !== undefined) out.push(...routedModes(ctx));
  return out;
}

/** The operations of a JSON Patch (RFC 6902). */
const JSON_PATCH_OPS = new Set(['add', 'remove', 'replace', 'move', 'copy', 'test']);

/**
 * A command router (a free `command` naming one of its sub-commands, their arguments in an object) does not list its
 * sub-commands: every verb its description says they perform (`listing databases, executing SQL queries, deleting
 * workbooks`) is read as a mode, the worst wins (rule 1). The sentences that explain how to call the router (`set
 * "command"`, `invoke`, `learn=true`) say nothing of what it reaches and are left out.
 */
function routedModes(ctx: Context): Array<Op & { value: string; path: string }> {
  const out: Array<Op & { value: string; path: string }> = [];
  for (const sentence of ctx.description.split(/(?<=[.!?])\s*|\n+/)) {
    if (/["'`](command|parameters)["'`]|\brouter\b|\bsub ?commands?\b|\blearn\b/i.test(sentence)) continue;
    for (const w of words(sentence)) {
      for (const form of baseForms(w)) {
        const op = VERBS[form];
        if (op === undefined || op === 'read' || op === 'navigate') continue;
        out.push({ op, verb: form, value: w, path: 'description' });
        break;
      }
    }
  }
  return out;
}

/**
 * Modes listed in the description when the schema has no enum ("Valid actions: `start` ... `terminate` ..."): each
 * quoted word after the phrase is read as a mode value (rule 1).
 */
function describedModes(ctx: Context): Array<Op & { value: string; path: string }> {
  const m = DESCRIBED_MODES.exec(ctx.description);
  if (!m) return [];
  const out: Array<Op & { value: string; path: string }> = [];
  const listed = ctx.description.slice(m.index, m.index + 800);
  for (const [, value] of listed.matchAll(/[`'"]([a-z][\w-]{1,30})[`'"]/g)) {
    for (const op of operationsOfName(words(value!))) out.push({ ...op, value: value!, path: 'description' });
  }
  return out;
}
