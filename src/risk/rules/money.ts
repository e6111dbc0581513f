// What a tool does to money (SPEC §7 financial): which object is money, and whether a write moves it, drafts it or
// only changes what surrounds it.
import { MONEY_OBJECTS } from '../vocabulary/objects.js';
import { BOOKKEEPING, DRAFTS, NON_MONEY_VERBS, SETTINGS_OF } from '../vocabulary/phrases.js';
import type { Context, Reading } from './context.js';

/** Transactions of a budget or a tracker (the description or the parameters speak of payees, budgets, categories). */
function bookkeeping(objects: string[], ctx: Context): boolean {
  const moneyWords = objects.filter((w) => MONEY_OBJECTS.has(w));
  if (moneyWords.length === 0 || moneyWords.some((w) => w !== 'transaction' && w !== 'transactions'))
    return false;
  return BOOKKEEPING.test(`${ctx.description} ${ctx.params.map((p) => p.name).join(' ')}`);
}

/** The money object a tool acts on, if any; not the settings of one (`transfer-config`). */
export function moneyObject(objects: string[], ctx: Context): string | undefined {
  // A payment method is where money comes from; changing it moves none.
  if (objects.some((w) => w === 'method' || w === 'methods') || bookkeeping(objects, ctx)) return undefined;
  return objects.find((w, i) => MONEY_OBJECTS.has(w) && !SETTINGS_OF.has(objects[i + 1] ?? ''));
}

/** A write that moves money, or drafts a bill that will (rule 9); undefined when the write moves none. */
export function moneyWrite(
  verb: string,
  objects: string[],
  money: string | undefined,
  at: string,
): Reading | undefined {
  if (verb === 'place' && objects.some((w) => w === 'order' || w === 'orders'))
    return { category: 'financial', risk: 'critical', why: `${at} places an order (a purchase or a trade)` };
  // Accepting a dispute (a chargeback) concedes it: the disputed funds go back to the cardholder.
  if (verb === 'accept' && objects.some((w) => DISPUTES.has(w)))
    return { category: 'financial', risk: 'critical', why: `${at} concedes a dispute and its funds` };
  if (!money || NON_MONEY_VERBS.has(verb)) return undefined;
  const creditNote = objects.includes('credit') && objects.some((w) => w === 'note' || w === 'notes');
  // The thing made is the last money word: `create_invoice_payment` records a payment, not a draft invoice.
  const made = objects.filter((w) => MONEY_OBJECTS.has(w) || DRAFTS.has(w)).at(-1) ?? '';
  // Submitting, issuing or finalising a bill makes it due (rule 9: finalising may charge).
  if ((creditNote || DRAFTS.has(made)) && !BILLS_DUE.has(verb))
    return { category: 'financial', risk: 'medium', why: `${at} drafts a ${money} (charges nothing yet)` };
  return { category: 'financial', risk: 'critical', why: `${at} moves money (${money})` };
}

const BILLS_DUE = new Set(['pay', 'submit', 'issue', 'finalize', 'finalise']);
const DISPUTES = new Set(['dispute', 'disputes', 'chargeback', 'chargebacks']);
