// How much a read reveals (SPEC §7 rule 4): low for plain records, medium for one person's data, logs and financial
// records, high for private communications, bulk customer or payroll data and balances.

import { COMPUTING_VERBS, LOG_VERBS, METADATA_WORDS, ONE_PERSON } from '../vocabulary/phrases.js';
import { BULK_SENSITIVE, LOG_QUALIFIERS, PERSONAL_RECORDS, WALLETS } from '../vocabulary/records.js';
import { type Context, has, privateCommunication, type Reading } from './context.js';

/** The reading of a read that shows no secret: its risk by what it returns. */
export function readRisk(
  verb: string,
  objects: string[],
  money: string | undefined,
  ctx: Context,
  at: string,
): Reading {
  if (COMPUTING_VERBS.has(verb))
    return { category: 'read', risk: 'low', why: `${at} computes, reads no records` };
  // A count or a size says how many, not what.
  if (objects.some((w) => METADATA_WORDS.has(w)))
    return { category: 'read', risk: 'low', why: `${at} reads metadata` };
  const bulk =
    has(BULK_SENSITIVE, objects) ?? (WALLETS.has(objects.at(-1) ?? '') ? objects.at(-1) : undefined);
  // `list_payroll_employee_leave`: one employee's payroll records are personal records, not bulk payroll.
  const one = objects.find((w) => ONE_PERSON.has(w));
  if (bulk && !one) return { category: 'read', risk: 'high', why: `${at} reads ${bulk} data` };
  if (bulk) return { category: 'read', risk: 'medium', why: `${at} reads ${bulk} data of one ${one}` };
  // `get_all_manual_crypto`: "Get all manually-managed crypto balances" names the bulk data the name does not.
  const leadBalance = ctx.leadWords.slice(0, 6).find((w) => w === 'balance' || w === 'balances');
  if (leadBalance && !one) {
    return { category: 'read', risk: 'high', why: `${at} reads ${leadBalance} data (description)` };
  }
  if (readsLogs(verb, objects)) {
    return { category: 'read', risk: 'medium', why: `${at} reads logs` };
  }
  const priv = privateCommunication(objects);
  if (priv) return { category: 'read', risk: 'high', why: `${at} reads private communications (${priv})` };
  const personal = has(PERSONAL_RECORDS, objects);
  if (personal)
    return {
      category: 'read',
      risk: 'medium',
      why: `${at} reads personal or financial records (${personal})`,
    };
  const people = recordsOfPeople(objects, ctx);
  if (people) {
    const many = ctx.listing || objects.some((w) => w === 'records' || w === 'entries');
    const what = many ? 'bulk personal data' : 'a personal record';
    return {
      category: 'read',
      risk: many ? 'high' : 'medium',
      why: `${at} reads ${what} (${people}, description)`,
    };
  }
  // `search_by_sender`: the description names what is searched ("Search messages from a sender").
  const leadPriv = privateCommunication(ctx.leadWords.slice(0, 12));
  if (leadPriv) {
    return {
      category: 'read',
      risk: 'high',
      why: `${at} reads private communications (${leadPriv}, description)`,
    };
  }
  // A money object is a financial record (rule 4): never read/low.
  if (money) return { category: 'read', risk: 'medium', why: `${at} reads financial records (${money})` };
  return { category: 'read', risk: 'low', why: `${at} only reads` };
}

/** Logs, traces of requests and errors (rule 4: medium); a debugger's stack trace is its program's state. */
function readsLogs(verb: string, objects: string[]): boolean {
  return LOG_VERBS.has(verb) || objects.some((w, i) => LOG_QUALIFIERS.has(w) && objects[i - 1] !== 'stack');
}

/** Records named by no kind (`search_records`, `get-list-entries`): what they are is in the description. */
const GENERIC_RECORDS = new Set(['record', 'records', 'entry', 'entries']);
/** What a CRM's generic records hold when the description says so: people (rule 4, personal data). */
const PEOPLE = new Set([
  'people',
  'person',
  'persons',
  'contact',
  'contacts',
  'customer',
  'customers',
  'lead',
  'leads',
  'candidates',
  'patients',
  'employees',
]);

/** `search_records`: "Search across companies, people, deals": generic records that are people. */
function recordsOfPeople(objects: string[], ctx: Context): string | undefined {
  if (!objects.some((w) => GENERIC_RECORDS.has(w))) return undefined;
  return has(PEOPLE, ctx.leadWords.slice(0, 12));
}
