// What a tool does to a page, a document or its own session rather than to people or stored data: typing and clicking
// in a browser, formatting a document, a `code` that only names something (SPEC §7, written from round 17's misses,
// #21).
import type { Parameter } from '../text.js';
import { MESSAGE_OBJECTS, SETTINGS_OBJECTS } from '../vocabulary/objects.js';
import { type Context, has, type Reading } from './context.js';
import { headNoun } from './shape.js';

/** Keystrokes: what `send_keys` sends goes into a page, not to a person. */
const KEYSTROKES = new Set(['key', 'keys', 'keystroke', 'keystrokes']);
/** Where typed text lands when the tool speaks of a page: an element, a field, a browser's dialog. */
const PAGE_TARGET = /\b(alert|dialog|prompt|element|field|text ?box|input box|form)\b/i;
/** What a message is sent over: text there is a message after all (`send_text` on an SMS server). */
const MESSAGING = /\b(sms|text message|message|phone|recipient|chat|channel)\b/i;

/**
 * `send_keys` ("sends keys to an element, aka typing") and a dialog's `send_text`: typing into a page, a write
 * (rule 6 is about messages to people).
 */
export function typesIntoPage(objects: string[], ctx: Context): boolean {
  if (objects.some((w) => KEYSTROKES.has(w))) return true;
  if (!objects.includes('text') || has(MESSAGE_OBJECTS, objects)) return false;
  const about = `${ctx.tool.name} ${ctx.lead}`;
  return PAGE_TARGET.test(about) && !MESSAGING.test(about);
}

/** A pointer's actions on a page (`interact`: "performs a mouse action on an element"). */
const POINTER = /\b(mouse|click\w*|hover\w*|element|button|drag\w*)\b/i;

/** An `interact` or a `perform` whose description is about a page's elements clicks, it runs nothing. */
export function pointerAction(ctx: Context): boolean {
  return (
    POINTER.test(ctx.lead) &&
    !/\b(process|terminal|repl|shell|script|computer|desktop|system)\b/i.test(ctx.lead)
  );
}

/** The parts of a document, a sheet or a slide whose look a `format_` tool changes. */
const DOCUMENT_PARTS = new Set([
  'cell',
  'cells',
  'range',
  'ranges',
  'text',
  'paragraph',
  'paragraphs',
  'shape',
  'shapes',
  'background',
  'slide',
  'slides',
  'doc',
  'document',
  'sheet',
  'table',
  'row',
  'rows',
  'column',
  'columns',
]);

/** `format_cells`, `format_google_doc_range`: formatting a stored document changes it (write/low), unlike
 * formatting a value for display (a read). */
export function formatsDocument(verb: string, objects: string[]): boolean {
  return verb === 'format' && objects.some((w) => DOCUMENT_PARTS.has(w));
}

/** What a `code` parameter names when it is an identifier: a project's, a country's, a coupon's code. */
const IDENTIFYING_CODE =
  /\b(project|country|currency|language|locale|postal|zip|area|region|promo|discount|coupon|product|item|status|error|airport|iata|icao|station|ticker|short|verification|invite|referral|authori[sz]ation|access|otp)\s+code\b/i;

/** A `code` parameter that identifies something ("Project code (2-10 uppercase letters)") is no code to run. */
export function identifierCode(p: Parameter): boolean {
  return IDENTIFYING_CODE.test(p.description);
}

/** What a `send` or a `post` turns out to be when it sends nothing to anyone; undefined when it is a message. */
export function sendsNothing(verb: string, objects: string[], ctx: Context, at: string): Reading | undefined {
  if (has(SETTINGS_OBJECTS, objects)) {
    return { category: 'write', risk: 'medium', why: `${at} configures where messages go; sends nothing` };
  }
  if (typesIntoPage(objects, ctx))
    return { category: 'write', risk: 'medium', why: `${at} types into a page` };
  const message = has(MESSAGE_OBJECTS, objects);
  const head = headNoun(ctx);
  if (verb === 'post' && !message && head !== undefined) {
    return { category: 'write', risk: 'medium', why: `${at} stores a ${head} (not a message)` };
  }
  if (verb === 'post' && !message && /\b(page|item|record|entry|block|issue)\b/.test(objects.join(' '))) {
    return { category: 'write', risk: 'medium', why: `${at} creates a record (not a message)` };
  }
  if (objects.some((w) => ['comment', 'comments', 'review', 'note', 'notes'].includes(w))) {
    return { category: 'write', risk: 'medium', why: `${at} comments (a write, rule 6)` };
  }
  return undefined;
}
