// What the shape of a name says beyond its verb and objects: an item taken out of another, a change of who can see
// something, and the noun a name is about (SPEC §7, written from round 14's misses, #21).
import { quote } from '../text.js';
import { MESSAGE_OBJECTS } from '../vocabulary/objects.js';
import { VERBS } from '../vocabulary/verbs.js';
import type { Context } from './context.js';

/** Verbs that take one thing out of another when the name says from what (`remove_tag_from_task`). */
const DETACHING_VERBS = new Set(['remove', 'delete', 'unassign', 'detach', 'unlink', 'untag', 'take']);

/**
 * A removal that deletes nothing: the name takes an item out of a container (`remove_project_from_task`,
 * `remove_from_cart`), or the description says the item still exists afterwards.
 */
export function detaches(verb: string, ctx: Context): boolean {
  if (!DETACHING_VERBS.has(verb)) return false;
  const at = ctx.nameWords.indexOf(verb);
  if (at >= 0 && ctx.nameWords.indexOf('from', at + 1) > at) return true;
  return /\bwill still exist\b|\bstill exists?\b/i.test(ctx.description);
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
  if (last === undefined || VERBS[last] !== undefined || MESSAGE_OBJECTS.has(last)) return undefined;
  if (['post', 'posts', 'thread', 'threads', 'to', 'from', 'in', 'on'].includes(last)) return undefined;
  return last;
}

/** `create_mail_rule`, `create_email_template`: the message word qualifies another noun, which is what is made. */
export function modifierOnly(msg: string, ctx: Context): boolean {
  const at = ctx.nameWords.lastIndexOf(msg);
  return at >= 0 && at < ctx.nameWords.length - 1 && headNoun(ctx) !== undefined;
}
