// What one operation on one object means: the category and risk of SPEC §7, with its hard-case rules.
import { quote, words } from '../text.js';

import {
  DEPLOY_OBJECTS,
  DEPLOYMENTS,
  HANDED_OVER,
  HARMLESS_ITEMS,
  MESSAGE_OBJECTS,
  MIGRATION_OBJECTS,
  PAID_RESOURCES,
  SELF_SCOPED,
  SETTINGS_OBJECTS,
} from '../vocabulary/objects.js';
import { CODE_PARAMETERS, PATH_PARAMETERS } from '../vocabulary/parameters.js';
import {
  ACCESS_SETTINGS,
  APPLYING_VERBS,
  BULK_WORDS,
  CODE_WORDS,
  DESTINATION_PARAMETERS,
  HTTP_POST,
  LOCAL_WRITING_READS,
  PAID_CLAIM,
  PHONE_CALL,
  READ_ONLY_QUERY,
  REVEAL_FLAGS,
  SENDS_NOTIFICATIONS,
  TRANSIENT_ITEMS,
} from '../vocabulary/phrases.js';
import type { Operation } from '../vocabulary/verbs.js';
import {
  type Context,
  callContext,
  credentialChange,
  describedKey,
  describedMigration,
  environmentVariables,
  has,
  identityObject,
  loadsDump,
  localOverwrite,
  permissionObject,
  type Reading,
  returnsSecret,
  scheduledSend,
  secretObject,
  secretStoreItem,
  sharedAccess,
} from './context.js';
import { formatsDocument, identifierCode, pointerAction, sendsNothing } from './interaction.js';
import { moneyObject, moneyWrite } from './money.js';
import { readRisk } from './reads.js';
import { interpretRemoval } from './removal.js';
import {
  headNoun,
  hookSecret,
  launchesProgram,
  modelCall,
  modifierOnly,
  scalesCompute,
  selfSubscription,
  stepping,
  unstages,
  visibilityChange,
} from './shape.js';

/** What one operation on one object means (SPEC §7 and its hard-case rules). */
export function interpret(
  op: Operation,
  verb: string,
  objectWords: string[],
  ctx: Context,
  where: string,
): Reading {
  const objects = objectWords.filter((w) => w !== verb);
  const secret =
    secretObject(objects) ?? describedKey(op, objects, ctx) ?? environmentVariables(objects, ctx);
  const permission = permissionObject(objects) ?? identityObject(verb, op, objects);
  const money = moneyObject(objects, ctx);
  const at = `\`${verb}\` (${where})`;
  if ((op === 'send' || op === 'write') && modelCall(ctx))
    return { category: 'read', risk: 'low', why: `${at} asks a language model; sends nothing to people` };
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
      // Capturing a held payment takes the money (a screenshot's capture reads).
      if (verb === 'capture' && money)
        return { category: 'financial', risk: 'critical', why: `${at} captures funds` };
      if (formatsDocument(verb, objects))
        return { category: 'write', risk: 'low', why: `${at} changes how a document looks` };
      // A read that saves what it makes to a path it is given (`outputPath`) may overwrite the file there (rule 3); a
      // `targetPath` is where it writes only when the verb says it writes (`validatePath` checks one).
      const overwrite = localOverwrite(ctx, at, LOCAL_WRITING_READS.has(verb));
      if (overwrite) return overwrite;
      return readRisk(verb, objects, money, ctx, at);
    }
    case 'trivial': {
      // A login that hands back tokens gives the agent a credential, however trivial signing in is.
      const issued = returnsSecret(ctx);
      if (issued)
        return { category: 'credential', risk: 'high', why: `it returns a secret: ${quote(issued, 50)}` };
      const shared = sharedAccess(ctx);
      if (shared)
        return {
          category: 'credential',
          risk: 'critical',
          why: `${at} changes access (${quote(shared, 30)})`,
        };
      return { category: 'write', risk: 'low', why: `${at} is a trivial self-scoped change` };
    }
    case 'write':
    case 'overwrite':
    case 'provision':
    case 'deploy': {
      // Installing a package with npx, uvx or pip, or code cloned locally, runs that code (its `env` is its own).
      if (verb === 'install' && /\b(npx|uvx|npm|pip|pipx|code)\b/i.test(ctx.lead)) {
        return { category: 'execute', risk: 'critical', why: `${at} installs and runs a package's code` };
      }
      const stored = secretStoreItem(ctx) ?? credentialChange(ctx);
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
      const program = launchesProgram(verb, ctx);
      if (program)
        return { category: 'execute', risk: 'critical', why: `${at} runs the program \`${program}\` names` };
      const instances = scalesCompute(ctx);
      if (instances)
        return { category: 'write', risk: 'high', why: `${at} sets paid compute (\`${instances}\`)` };
      const signing = verb === 'create' ? undefined : hookSecret(objects, ctx);
      if (signing) {
        return {
          category: 'credential',
          risk: 'critical',
          why: `${at} sets a webhook's secret (\`${signing}\`)`,
        };
      }
      if (selfSubscription(verb, ctx)) {
        return { category: 'write', risk: 'low', why: `${at} subscribes the agent itself (rule 5)` };
      }
      const exposure = visibilityChange(verb, ctx, where);
      if (exposure) {
        return {
          category: 'credential',
          risk: 'critical',
          why: `${at} changes who can see it (${exposure})`,
        };
      }
      if (
        ['create', 'add', 'new'].includes(verb) &&
        objects.some((w) => w === 'webhook' || w === 'webhooks')
      ) {
        // A webhook's URL carries its token: whoever holds it can post as it.
        return { category: 'credential', risk: 'critical', why: `${at} creates a webhook and its token` };
      }
      const moneyReading = moneyWrite(verb, objects, money, at);
      if (moneyReading) return moneyReading;
      const later = scheduledSend(objects, ctx);
      if (later)
        return { category: 'communication', risk: 'high', why: `${at} sends ${later} to people later` };
      // `putCollection`: "Replaces the contents of a collection": what was there is gone (rule 3).
      if (op === 'overwrite' && unstages(ctx)) {
        return { category: 'write', risk: 'medium', why: `${at} unstages changes; the files keep them` };
      }
      if (
        op === 'overwrite' ||
        (where === 'name' &&
          /^(replaces?|overwrites?) (an? |the )?existing\b|^(replaces|overwrites)\b/i.test(ctx.lead))
      ) {
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
      const replaced = verb === 'save' ? localOverwrite(ctx, at) : loadsDump(verb, ctx, at);
      if (replaced) return replaced;
      const migration = has(MIGRATION_OBJECTS, objects) ?? describedMigration(ctx);
      if (migration && APPLYING_VERBS.has(verb)) {
        return { category: 'execute', risk: 'critical', why: `${at} applies a ${migration}: runs its DDL` };
      }
      if (op === 'deploy') return { category: 'write', risk: 'high', why: `${at} deploys` };
      const deployed =
        has(DEPLOY_OBJECTS, objects) ??
        has(DEPLOY_OBJECTS, ctx.leadWords) ??
        ctx.params.map((p) => has(DEPLOY_OBJECTS, words(p.name))).find(Boolean);
      if (deployed) return { category: 'write', risk: 'high', why: `${at} deploys a ${deployed}` };
      // `Submit a job to an endpoint`, `Add a new job to the queue`: the job runs on the server (a predefined job, like a
      // triggered run).
      if (
        (['submit', 'enqueue', 'queue'].includes(verb) || (verb === 'add' && /\bqueue\b/i.test(ctx.lead))) &&
        (objects.includes('job') || ctx.leadWords.slice(0, 8).includes('job'))
      ) {
        return { category: 'execute', risk: 'high', why: `${at} submits a job to run` };
      }
      const creates = ['create', 'add', 'new', 'rent'].includes(verb);
      if (
        creates &&
        objects.some((w) => w === 'call' || w === 'calls') &&
        PHONE_CALL.test(callContext(ctx))
      ) {
        return { category: 'communication', risk: 'high', why: `${at} places a phone call to someone` };
      }
      const paid =
        has(PAID_RESOURCES, objects) ?? (creates ? PAID_CLAIM.exec(ctx.description)?.[0] : undefined);
      if (op === 'provision' || (paid && creates)) {
        return {
          category: 'write',
          risk: 'high',
          why: `${at} provisions paid infrastructure (${paid ?? verb})`,
        };
      }
      if (['create', 'add', 'new', 'post', 'schedule', 'publish', 'submit', 'push'].includes(verb)) {
        // A post is a message when the description speaks of one (`Create a post`), not a page sent by HTTP POST.
        const post = objects.find((w) => w === 'post' || w === 'posts');
        const msg =
          has(MESSAGE_OBJECTS, objects) ??
          (post !== undefined && ctx.leadWords.includes(post) && !HTTP_POST.test(ctx.lead)
            ? post
            : undefined);
        const settings = objects.some((w) => SETTINGS_OBJECTS.has(w));
        if (
          msg &&
          !settings &&
          !modifierOnly(msg, ctx) &&
          !objects.includes('draft') &&
          !objects.includes('drafts')
        ) {
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
    case 'cancel':
      return interpretRemoval(op, verb, objects, ctx, where, { secret, permission, money });
    case 'execute': {
      const issued = returnsSecret(ctx);
      if (issued) {
        return {
          category: 'credential',
          risk: 'critical',
          why: `${at} issues a secret: ${quote(issued, 50)}`,
        };
      }
      if (objects.some((w) => ['query', 'sql', 'queries'].includes(w))) {
        const readOnly = READ_ONLY_QUERY.test(ctx.description);
        return {
          category: 'execute',
          risk: readOnly ? 'high' : 'critical',
          why: `${at} runs ${readOnly ? 'a read-only' : 'an unrestricted'} query`,
        };
      }
      if (verb === 'interact' && pointerAction(ctx))
        return { category: 'write', risk: 'medium', why: `${at} clicks on a page` };
      const code = ctx.params.find(
        (p) => CODE_PARAMETERS.has(p.name.toLowerCase()) && p.type !== 'boolean' && !identifierCode(p),
      );
      if (code || CODE_WORDS.test(ctx.lead)) {
        return { category: 'execute', risk: 'critical', why: `${at} runs code or commands` };
      }
      return { category: 'execute', risk: 'high', why: `${at} runs a predefined job` };
    }
    case 'trigger':
      // Triggering a deployment deploys (rule 7: write/high), it runs no pipeline of the agent's choosing.
      if (objects.some((w) => DEPLOYMENTS.has(w)))
        return { category: 'write', risk: 'high', why: `${at} deploys (a deployment)` };
      if (verb === 'step' || verb === 'continue') return stepping(ctx, where, at);
      // "Trigger event is the main way to send notifications to subscribers": what is triggered is a send.
      if (SENDS_NOTIFICATIONS.test(ctx.description.slice(0, 200)))
        return { category: 'communication', risk: 'high', why: `${at} triggers notifications to people` };
      return { category: 'execute', risk: 'high', why: `${at} triggers a predefined run` };
    case 'send': {
      // Publishing a template, a draft pull request or a CMS entry sends nothing to anyone: a write (which may still
      // change who can see it).
      if (verb === 'publish' && !has(MESSAGE_OBJECTS, objects) && headNoun(ctx) !== undefined)
        return interpret('write', verb, objectWords, ctx, where);
      // A vote or a reaction on a post is the agent's own mark, not a message (rule 5).
      if (has(SELF_SCOPED, objects))
        return { category: 'write', risk: 'low', why: `${at} is a trivial self-scoped change` };
      return (
        sendsNothing(verb, objects, ctx, at) ?? {
          category: 'communication',
          risk: 'high',
          why: `${at} sends to other people`,
        }
      );
    }
    case 'pay':
      // A call, a file or the ownership of a repository is handed over, no money: `transfer_call`, `transfer_issue`.
      if (verb === 'transfer' && objects.some((w) => HANDED_OVER.has(w)))
        return { category: 'write', risk: 'medium', why: `${at} hands something over (no money)` };
      if (['finalize', 'finalise'].includes(verb) && !money) {
        return { category: 'write', risk: 'medium', why: `${at} finalises` };
      }
      return { category: 'financial', risk: 'critical', why: `${at} moves money` };
    case 'grant':
      // `subscriptions-revoke` "cancel immediately": revoking a money object cancels it (SPEC §7 destructive).
      if (verb === 'revoke' && money && !secret && !permission)
        return interpretRemoval('cancel', verb, objects, ctx, where, { secret, permission, money });
      if (verb === 'invite' && !permission && objects.some((w) => ['channel', 'conversation'].includes(w))) {
        return { category: 'write', risk: 'medium', why: `${at} adds someone to a conversation` };
      }
      return { category: 'credential', risk: 'critical', why: `${at} changes access` };
  }
}
