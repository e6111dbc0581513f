// What the shape of a name says beyond its verb and objects: an item taken out of another, a change of who can see
// something, and the noun a name is about (SPEC §7, written from round 14's misses, #21).
import { quote } from '../text.js';
import { MESSAGE_OBJECTS } from '../vocabulary/objects.js';
import { VERBS } from '../vocabulary/verbs.js';
import type { Context, Reading } from './context.js';

/** Verbs that take one thing out of another when the name says from what (`remove_tag_from_task`). */
const DETACHING_VERBS = new Set(['remove', 'delete', 'unassign', 'detach', 'unlink', 'untag', 'take']);

/**
 * A removal that deletes nothing: the name takes an item out of a container (`remove_project_from_task`,
 * `remove_from_cart`), or the description says the item still exists afterwards.
 */
export function detaches(verb: string, ctx: Context, objects: string[], where: string): boolean {
  if (!DETACHING_VERBS.has(verb)) return false;
  const at = ctx.nameWords.indexOf(verb);
  if (at >= 0 && ctx.nameWords.indexOf('from', at + 1) > at) return true;
  // A mode `remove_issues` of `manage_sprints`: what a mode removes is not what the tool is named for, so it is taken
  // out of that (`delete_comment` of `manage_issues` still deletes: only removing verbs detach).
  if (where.startsWith('mode') && verb !== 'delete') {
    const own = new Set(ctx.nameWords.map(singular));
    const removed = objects.filter((w) => !ctx.nameWords.includes(w)).map(singular);
    if (removed.length > 0 && removed.every((w) => !own.has(w))) return true;
  }
  return (
    unstages(ctx) ||
    /\bwill still exist\b|\bstill exists?\b/i.test(ctx.description) ||
    takenOffItems(verb, ctx)
  );
}

/** Containers that hold everything: removing a tag "from the system" deletes it. */
const EVERYTHING =
  /^(system|server|account|workspace|organi[sz]ation|org|database|instance|vault|store|everywhere)$/i;

/**
 * `remove-tags` ("Remove tags from notes"), `remove_label` ("Remove a label from an email"): a tag or a label taken
 * off items, which keep existing and so does the tag.
 */
function takenOffItems(verb: string, ctx: Context): boolean {
  if (verb !== 'remove' && verb !== 'untag') return false;
  if (!ctx.nameWords.some((w) => /^(tag|tags|label|labels)$/.test(w))) return false;
  const from = /\bfrom (?:an? |the |each |all |one or more |selected |specified |multiple )?(\w+)/i.exec(
    ctx.lead,
  );
  return from !== null && !EVERYTHING.test(from[1]!);
}

/** `git reset` as "Unstages all staged changes", `git-remove` as "Removes a file from the staging area". */
export function unstages(ctx: Context): boolean {
  return /\bunstages?\b|\bfrom the (staging area|index)\b/i.test(ctx.lead);
}

function singular(w: string): string {
  return w.length > 3 && w.endsWith('s') && !w.endsWith('ss') ? w.slice(0, -1) : w;
}

/** Verbs of a subscription: the agent asks to hear of changes (rule 5 when the news comes back to it). */
export const SUBSCRIBING_VERBS = new Set([
  'watch',
  'unwatch',
  'subscribe',
  'unsubscribe',
  'follow',
  'unfollow',
]);
/** Where a subscription sends what it hears when not back to the agent: a topic, an endpoint, a URL. */
const SUBSCRIPTION_TARGET =
  /^(topic|topic_?name|endpoint|url|callback_?url|webhook|webhook_?url|target|destination)$/i;

/** A subscription whose news comes back to the agent itself (`watch_card`), not to a topic or an endpoint. */
export function selfSubscription(verb: string, ctx: Context): boolean {
  return SUBSCRIBING_VERBS.has(verb) && !ctx.params.some((p) => SUBSCRIPTION_TARGET.test(p.name));
}

/** The webhook objects of a name (`update_repository_webhook_config`). */
const HOOKS = new Set(['webhook', 'webhooks', 'hook', 'hooks']);
/** The names of a webhook's signing secret or its endpoint's password. */
const HOOK_SECRET = /^(secret|signing_?secret|webhook_?secret|password)$/i;

/** An update of a webhook that sets its signing secret (or its endpoint's password) anywhere in its parameters. */
export function hookSecret(objects: string[], ctx: Context): string | undefined {
  if (!objects.some((w) => HOOKS.has(w))) return undefined;
  return ctx.params.find((p) => HOOK_SECRET.test(p.name) && p.type !== 'boolean')?.path;
}

/** Verbs that change an existing thing (a create chooses who sees something new; it changes no one's access). */
const CHANGING_VERBS = new Set(['update', 'edit', 'modify', 'patch', 'set', 'change', 'put', 'configure']);
/** Parameter names of a thing's visibility: who can see it. */
const VISIBILITY_PARAMETERS = /^(visibility|privacy|privacy_?setting|access_?level)$/i;

/**
 * An update that can make a private thing public (or the reverse) changes access (SPEC §7: credential): a parameter
 * named for its visibility, or a kind whose values include both `public` and `private`. A description that says the
 * call sets something to public does the same whatever the verb (`publishMock`: "sets its Access Control ... to
 * public").
 */
export function visibilityChange(verb: string, ctx: Context, where: string): string | undefined {
  const said = /\bsets?\b[^.]{0,60}\b(access|visibility|privacy)\b[^.]{0,40}\bto public\b/i.exec(
    ctx.description,
  );
  if (said) return quote(said[0], 40);
  // The name's own verb: an `update` among a tool's modes shares its parameters with every other mode.
  if (!CHANGING_VERBS.has(verb) || where !== 'name') return undefined;
  for (const p of ctx.params) {
    if (p.type === 'object' || p.type === 'array') continue;
    if (VISIBILITY_PARAMETERS.test(p.name)) return `\`${p.path}\``;
    const values = p.enumValues.map((v) => v.toLowerCase());
    if (values.includes('public') && values.includes('private')) return `\`${p.path}\``;
  }
  return undefined;
}

/** The last word of the name when it is not the verb, a message or a preposition: what the name is about. */
export function headNoun(ctx: Context): string | undefined {
  const last = ctx.nameWords.at(-1);
  // `create_email_list`: a list named last, after another noun, is the thing made.
  const listed = (last === 'list' || last === 'lists') && ctx.nameWords.length > 2;
  if (last === undefined || (VERBS[last] !== undefined && !listed) || MESSAGE_OBJECTS.has(last))
    return undefined;
  if (['post', 'posts', 'thread', 'threads', 'to', 'from', 'in', 'on'].includes(last)) return undefined;
  return last;
}

/** `create_mail_rule`, `create_email_template`: the message word qualifies another noun, which is what is made. */
export function modifierOnly(msg: string, ctx: Context): boolean {
  const at = ctx.nameWords.lastIndexOf(msg);
  return at >= 0 && at < ctx.nameWords.length - 1 && headNoun(ctx) !== undefined;
}

/** What a call to a language model is named: a chat, a completion, a response, a prompt. */
const MODEL_CALL = new Set([
  'chat',
  'completion',
  'completions',
  'response',
  'responses',
  'prompt',
  'generate',
]);

/**
 * A call to a language model (`ollama_chat`, `chat_completion`, `create_response` with a `model` parameter): it
 * computes an answer and sends nothing to people (SPEC §7 read: generates text without side effects).
 */
export function modelCall(ctx: Context): boolean {
  if (!ctx.params.some((p) => p.name === 'model' && p.type === 'string' && !p.path.includes('.')))
    return false;
  return ctx.nameWords.some((w) => MODEL_CALL.has(w));
}

/** Parameters that set how many machines a deployment keeps running (paid compute, rule 9). */
const INSTANCE_COUNTS = /^(min|max)_?instances$|^(replicas|node_?count|instance_?count)$/i;

/** A create or an update that sets how many machines run: paid provisioning. */
export function scalesCompute(ctx: Context): string | undefined {
  return ctx.params.find((p) => INSTANCE_COUNTS.test(p.name) && (p.type === 'number' || p.type === 'integer'))
    ?.path;
}

/** The parameter that names a program or a script to launch (`scriptPath`, `executable`). */
const PROGRAM_PARAMETER = /^(script_?path|program(_?path)?|executable(_?path)?|entry_?point)$/i;
/** Verbs that launch what they are given. */
const LAUNCHING_VERBS = new Set(['start', 'launch', 'debug', 'spawn']);

/** A start of a program or a script the agent names (`start_debugging` with a `scriptPath`): it runs that code. */
export function launchesProgram(verb: string, ctx: Context): string | undefined {
  if (!LAUNCHING_VERBS.has(verb)) return undefined;
  return ctx.params.find((p) => PROGRAM_PARAMETER.test(p.name) && p.type === 'string')?.path;
}

/** A debugger's words: where stepping and continuing run a program. */
const DEBUGGING =
  /\b(debug\w*|breakpoints?|debuggee|stack frame|execution)\b|_execution\b|\bstep[_ -]?(over|into|out)\b/i;

/**
 * `step_over`, `continue_execution`: stepping or continuing runs a program on only in a debugger (its words, or a
 * session, thread or frame to step); elsewhere, and in the steps a description lists, it moves a conversation or a
 * wizard on.
 */
export function stepping(ctx: Context, where: string, at: string): Reading {
  if (where !== 'name') return { category: 'read', risk: 'low', why: `${at} names a step` };
  const debugging =
    DEBUGGING.test(`${ctx.tool.name} ${ctx.description}`) ||
    ctx.params.some((p) => /^(session|thread|frame|process)_?id$/i.test(p.name));
  return debugging
    ? { category: 'execute', risk: 'high', why: `${at} runs the debugged program on` }
    : { category: 'write', risk: 'medium', why: `${at} moves something on` };
}
