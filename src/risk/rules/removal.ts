// What removing or cancelling one object means (SPEC §7 rule 2: how much a delete destroys; rule 5: the agent's own
// marks), once the credential check has run.

import { HARMLESS_ITEMS, SELF_SCOPED, SMALL_ITEMS } from '../vocabulary/objects.js';
import type { Operation } from '../vocabulary/verbs.js';
import { type Context, credentialChange, has, type Reading, secretStoreItem } from './context.js';
import { detaches } from './shape.js';

/** What the object of a removal already turned out to be: a secret, a permission, money. */
export interface RemovedFacts {
  secret: string | undefined;
  permission: string | undefined;
  money: string | undefined;
}

/** A `delete` or a `cancel` of `objects`: credential when it removes access, else how much it destroys. */
export function interpretRemoval(
  op: Operation,
  verb: string,
  objects: string[],
  ctx: Context,
  where: string,
  { secret, permission, money }: RemovedFacts,
): Reading {
  const at = `\`${verb}\` (${where})`;
  const stored = secretStoreItem(ctx) ?? credentialChange(ctx);
  // SPEC §7 rule 2 names firewall rules among the deletes that destroy data of real value.
  // Taking a firewall off servers opens them: an access change.
  if ((permission === 'firewall' || permission === 'firewalls') && !detaches(verb, ctx, objects, where)) {
    return { category: 'destructive', risk: 'critical', why: `${at} destroys firewall rules` };
  }
  if (secret || permission || stored) {
    return {
      category: 'credential',
      risk: 'critical',
      why: `${at} removes ${secret ?? permission ?? stored}`,
    };
  }
  // `remove_tag_from_task`, `remove_from_cart`: the item is taken out of a container and still exists (a write);
  // removing the agent's own mark (a reaction, a vote) is a trivial self-scoped change (rule 5).
  if (op === 'delete' && detaches(verb, ctx, objects, where)) {
    return {
      category: 'write',
      risk: 'medium',
      why: `${at} takes an item out of another; deletes nothing`,
    };
  }
  if (op === 'delete' && has(SELF_SCOPED, objects) && !has(HARMLESS_ITEMS, objects)) {
    return { category: 'write', risk: 'low', why: `${at} removes the agent's own mark` };
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
