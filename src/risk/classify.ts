// classify(): the offline, deterministic risk classification of one MCP tool definition (SPEC §7).
//
// It reads the definition the way a careful reviewer does: the verb of the tool's name first (what it does), the
// object it acts on (what it touches), the worst value of any mode parameter (rule 1), then the description for what
// the name leaves open, and last the server's annotations, which may only raise the result.
import type { Category } from '../policy/types.js';
import { findPoisoning } from './poisoning.js';
import type { Context, Reading } from './rules/context.js';
import { addSignals, dedupe } from './rules/evidence.js';
import { interpret } from './rules/interpret.js';
import { httpMethodAsTransport, modeOperations, operationsOfLead, operationsOfName } from './rules/name.js';
import { claimReadings, codeReadings, flagReadings, parameterWriteReadings } from './rules/parameters.js';
import { modelCall } from './rules/shape.js';
import { leadSentence, parameters, words } from './text.js';
import { type Classification, riskRank, type ToolDefinition } from './types.js';
import { IRREVERSIBLE } from './vocabulary/phrases.js';

/** Which category wins when two operations are equally risky: the rarer, more specific danger. */
const CATEGORY_PRIORITY: Record<Category, number> = {
  financial: 7,
  credential: 6,
  execute: 5,
  destructive: 4,
  communication: 3,
  write: 2,
  read: 1,
  other: 0,
};

/** The categories from the least to the most dangerous: the order ties are broken in. */
export const CATEGORIES_BY_DANGER = (Object.keys(CATEGORY_PRIORITY) as Category[]).sort(
  (a, b) => CATEGORY_PRIORITY[a] - CATEGORY_PRIORITY[b],
);

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
  const basis: Basis = nameOps.length > 0 || titleOps.length > 0 ? 'name' : ops.length > 0 ? 'lead' : 'none';
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
  readings.push(...parameterWriteReadings(ctx, ops));
  const fromVerb = readings.length;
  if (readings.length === 0) {
    readings.push({ category: 'other', risk: 'low', why: 'no verb in the name or the description' });
    confidence = 0.3;
  }

  let worst = pickWorst(readings);
  // Split evidence: the name's own reading lost to a mode, a parameter or a claim of the description.
  const split =
    basis !== 'none' && readings.indexOf(worst) >= ops.length && readings.indexOf(worst) < fromVerb;
  worst = applyDescription(worst, ctx);
  // The server's hints decide only where the definition's own words did not: servers set them wholesale (one
  // browser server marks navigation destructive), and they may raise what the words left open, never lower it.
  const before = worst;
  if (confidence < 0.9) worst = applyAnnotations(worst, ctx);
  if (worst.category === 'other' && modelCall(ctx)) {
    worst = { category: 'read', risk: 'low', why: `${worst.why}; asks a language model` };
  } else if (worst.category === 'other' && tool.annotations?.readOnlyHint !== true) {
    // Nothing says what it does: assume it changes something (the safe direction), unless the server says read-only.
    worst = { category: 'write', risk: 'medium', why: `${worst.why}; assumed to write` };
  }
  confidence = calibrated(basis, split, worst !== before);
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

type Basis = 'name' | 'lead' | 'none';

/**
 * Confidence: the share of tools whose category was right for each way the reading was reached, measured on rounds 8
 * to 22 of the corpus each the first time the classifier met it (before any rule was written from it), pooled:
 * held-out accuracy, not the accuracy on the rounds the rules came from (docs/risk.md, "Confidence from first sight").
 * `split`: the name's verb lost to a mode, a parameter or the description; `raised`: the server's annotations raised
 * the result.
 */
function calibrated(basis: Basis, split: boolean, raised: boolean): number {
  // First sight, rounds 8 to 11, then 12 to 22 (tools, share right): name 737, 0.90 / 2079, 0.90; name split 30, 0.47 /
  // 49, 0.49; description 47, 0.72 / 108, 0.76; description split 45, 0.40 / 28, 0.61; no verb 55, 0.39 / 73, 0.56.
  // Raised by annotations: 3 tools of rounds 1 to 7 and 3 of rounds 15 to 22, 0.33.
  if (basis === 'none') return 0.49;
  if (basis === 'lead') return raised ? 0.33 : split ? 0.48 : 0.75;
  return split ? 0.48 : 0.9;
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
