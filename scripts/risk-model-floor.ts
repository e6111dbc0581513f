// #21, fourth attempt: a per-category model that may only raise the rules' rating, measured on frozen rounds 8 and 9.
//
// The candidate docs/risk.md named after the softmax of scripts/risk-model-experiment.ts lost dangerous recall as the
// corpus grew: one logistic model per category (one-vs-rest), positives of the dangerous categories weighted up, over
// the words of a tool's name, its description's opening, its parameters' names, types and enum values and the server's
// annotations. The rules (classify()) are a floor: the model may raise a tool to a more dangerous category, or its risk
// to a higher level, never lower either. Thresholds favour recall of destructive, execute, financial and credential.
//
// Protocol (docs/risk.md, "Fourth attempt"): `cv` sees rounds 1 to 7 only and picks every setting by cross-validation
// over servers; its output was copied into FROZEN below and committed before `measure` ran once on rounds 8 and 9,
// which were frozen before this file was written. Not run in CI; adds no dependency:
//
//   node --import tsx scripts/risk-model-floor.ts cv
//   node --import tsx scripts/risk-model-floor.ts measure
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Category } from '../src/policy/types.js';
import { CATEGORIES_BY_DANGER, classify } from '../src/risk/classify.js';
import { baseForms, leadSentence, parameters, words } from '../src/risk/text.js';
import { type Classification, RISKS, type Risk, type ToolDefinition } from '../src/risk/types.js';

const FIXTURES = join(resolve(dirname(fileURLToPath(import.meta.url)), '..'), 'test/fixtures/risk-corpus');
/** Least to most dangerous: the order classify() breaks ties in, and the order the floor may only climb. */
const BY_DANGER: Category[] = CATEGORIES_BY_DANGER;
const DANGEROUS: Category[] = ['destructive', 'execute', 'financial', 'credential'];
const danger = (c: Category) => BY_DANGER.indexOf(c);
const riskRank = (r: Risk) => RISKS.indexOf(r);

/**
 * Settings chosen by `cv` on rounds 1 to 7 (its output, copied here and committed before `measure` first ran).
 * `raise[c]`: the probability at which the model raises a tool to category c; `riskAtLeast[i]`: the probability
 * P(risk >= RISKS[i]) at which it raises the risk to that level; `confidence`: the share right on the held-out folds
 * of rounds 1 to 7 for each way the answer was reached. A threshold of 1.01 means never: cross-validation found no
 * threshold at which raising destructive, credential or financial helped, in either variant, so both are the same.
 */
const FROZEN_F2: Settings = {
  l2: 0.01,
  dangerWeight: 3,
  raise: {
    other: 1.01,
    read: 1.01,
    write: 0.4,
    communication: 1.01,
    destructive: 1.01,
    execute: 0.25,
    credential: 1.01,
    financial: 1.01,
  },
  riskAtLeast: [1.01, 1.01, 1.01, 1.01],
  confidence: {
    'rules 0.93': 0.93,
    'rules 0.81': 0.82,
    'rules 0.76': 0.76,
    'raised p<0.5': 0.38,
    'raised p>=0.5': 0.33,
    'rules 0.33': 0.33,
    'rules 0.64': 0.64,
    'rules 0.59': 0.64,
  },
};

// The recall-first variant came out with the same settings (see above): both names point at one object.
const FROZEN: Record<'f2' | 'recall95', Settings> | undefined = { f2: FROZEN_F2, recall95: FROZEN_F2 };

interface Settings {
  l2: number;
  dangerWeight: number;
  raise: Record<Category, number>;
  riskAtLeast: number[];
  confidence: Record<string, number>;
}

interface Row {
  server: string;
  tool: string;
  round: number;
  features: string[];
  category: Category;
  risk: Risk;
  rules: Classification;
}

const stem = (w: string) => baseForms(w)[0] ?? w;

/**
 * Words, not whole names: `delete` and `secret` generalise, `delete_secret` is memorised. The rules' own reading is
 * left out: the rules were written from rounds 1 to 7, so on them it is right far more often than on a new server,
 * and a model trained to trust it would never raise anything.
 */
function featuresOf(tool: ToolDefinition): string[] {
  const out = new Set<string>();
  for (const [i, w] of words(tool.name).map(stem).entries()) {
    out.add(`n:${w}`);
    if (i === 0) out.add(`n0:${w}`);
  }
  const description = typeof tool.description === 'string' ? tool.description : '';
  for (const w of words(leadSentence(description)).slice(0, 30)) out.add(`d:${stem(w)}`);
  for (const w of words(description).slice(30, 120)) out.add(`D:${stem(w)}`);
  for (const p of parameters(tool)) {
    for (const w of words(p.name)) out.add(`p:${stem(w)}`);
    if (p.type) out.add(`t:${p.type}`);
    for (const value of p.enumValues.slice(0, 20)) for (const w of words(value)) out.add(`e:${stem(w)}`);
  }
  for (const [key, value] of Object.entries(tool.annotations ?? {})) {
    if (typeof value === 'boolean') out.add(`a:${key}=${value}`);
  }
  return [...out];
}

/** Independent logistic outputs (one per class) over sparse binary features, L2, full-batch Adam, fixed schedule. */
function fitLogistic(
  X: number[][],
  Y: number[][],
  dims: number,
  outputs: number,
  l2: number,
  positiveWeight: number[],
): (x: number[]) => number[] {
  const W = new Float64Array(dims * outputs);
  const b = new Float64Array(outputs);
  const n = W.length + outputs;
  const m = new Float64Array(n);
  const v = new Float64Array(n);
  const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
  const forward = (x: number[]) => {
    const z = Array.from(b);
    for (const j of x) for (let k = 0; k < outputs; k++) z[k]! += W[j * outputs + k]!;
    return z.map(sigmoid);
  };
  for (let epoch = 1; epoch <= 250; epoch++) {
    const g = new Float64Array(n);
    let total = 0;
    for (const [i, x] of X.entries()) {
      const p = forward(x);
      for (let k = 0; k < outputs; k++) {
        const y = Y[i]![k]!;
        const weight = y === 1 ? positiveWeight[k]! : 1;
        const d = weight * (p[k]! - y);
        g[W.length + k]! += d;
        for (const j of x) g[j * outputs + k]! += d;
      }
      total++;
    }
    for (let i = 0; i < n; i++) {
      const weight = i < W.length ? W[i]! : b[i - W.length]!;
      const grad = g[i]! / total + (i < W.length ? l2 * weight : 0);
      m[i] = 0.9 * m[i]! + 0.1 * grad;
      v[i] = 0.999 * v[i]! + 0.001 * grad * grad;
      const step = (0.05 * (m[i]! / (1 - 0.9 ** epoch))) / (Math.sqrt(v[i]! / (1 - 0.999 ** epoch)) + 1e-8);
      if (i < W.length) W[i] = weight - step;
      else b[i - W.length] = weight - step;
    }
  }
  return forward;
}

interface Model {
  /** P(category = c) for each c of BY_DANGER, one-vs-rest (they need not sum to 1). */
  category(row: Row): number[];
  /** P(risk >= RISKS[i]) for i = 0..3, from one logistic output per level. */
  riskAtLeast(row: Row): number[];
}

function train(rows: Row[], l2: number, dangerWeight: number): Model {
  const count = new Map<string, number>();
  for (const r of rows) for (const f of r.features) count.set(f, (count.get(f) ?? 0) + 1);
  const index = new Map([...count].filter(([, c]) => c >= 2).map(([f], i) => [f, i]));
  const encode = (r: Row) => r.features.flatMap((f) => (index.has(f) ? [index.get(f)!] : []));
  const X = rows.map(encode);
  const categoryY = rows.map((r) => BY_DANGER.map((c) => (r.category === c ? 1 : 0)));
  const categoryWeight = BY_DANGER.map((c) => (DANGEROUS.includes(c) ? dangerWeight : 1));
  const category = fitLogistic(X, categoryY, index.size, BY_DANGER.length, l2, categoryWeight);
  // Cumulative targets (risk >= level) keep the levels ordered; the top levels get the danger weight too.
  const riskY = rows.map((r) => RISKS.map((_, i) => (riskRank(r.risk) >= i ? 1 : 0)));
  const risk = fitLogistic(X, riskY, index.size, RISKS.length, l2, [1, 1, dangerWeight, dangerWeight]);
  return { category: (r) => category(encode(r)), riskAtLeast: (r) => risk(encode(r)) };
}

interface Decision {
  category: Category;
  risk: Risk;
  /** How the answer was reached, the key of the calibration table. */
  basis: string;
}

/** The floor: the rules' answer stands unless the model is sure enough of something more dangerous. */
function decide(
  row: Row,
  p: number[],
  pRisk: number[],
  s: Pick<Settings, 'raise' | 'riskAtLeast'>,
): Decision {
  let category = row.rules.category;
  let basis = `rules ${row.rules.confidence}`;
  // The most dangerous category over its threshold wins (#21: when unsure, the more dangerous one).
  for (let k = BY_DANGER.length - 1; k > danger(category); k--) {
    const c = BY_DANGER[k]!;
    if (p[k]! >= s.raise[c]) {
      category = c;
      basis = `raised ${p[k]! >= 0.8 ? 'p>=0.8' : p[k]! >= 0.5 ? 'p>=0.5' : 'p<0.5'}`;
      break;
    }
  }
  let risk = row.rules.risk;
  for (let i = RISKS.length - 1; i > riskRank(risk); i--) {
    if (pRisk[i]! >= s.riskAtLeast[i]!) {
      risk = RISKS[i]!;
      break;
    }
  }
  return { category, risk, basis };
}

interface Scores {
  tools: number;
  category: number;
  exactRisk: number;
  recall: Record<string, [number, number]>;
  precision: Record<string, [number, number]>;
  criticalLow: string[];
  dangerousRead: string[];
}

function score(rows: Row[], decisions: Decision[]): Scores {
  const s: Scores = {
    tools: rows.length,
    category: 0,
    exactRisk: 0,
    recall: {},
    precision: {},
    criticalLow: [],
    dangerousRead: [],
  };
  for (const [i, r] of rows.entries()) {
    const d = decisions[i]!;
    if (d.category === r.category) s.category++;
    if (d.risk === r.risk) s.exactRisk++;
    const [hit, n] = s.recall[r.category] ?? [0, 0];
    s.recall[r.category] = [hit + (d.category === r.category ? 1 : 0), n + 1];
    const [ok, m] = s.precision[d.category] ?? [0, 0];
    s.precision[d.category] = [ok + (d.category === r.category ? 1 : 0), m + 1];
    if (r.risk === 'critical' && d.risk === 'low') s.criticalLow.push(`${r.server}/${r.tool}`);
    if (DANGEROUS.includes(r.category) && d.category === 'read')
      s.dangerousRead.push(`${r.server}/${r.tool}`);
  }
  s.category /= rows.length;
  s.exactRisk /= rows.length;
  return s;
}

const ratio = ([a, b]: [number, number] = [0, 0]) => (b === 0 ? Number.NaN : a / b);
const fBeta = (s: Scores, c: string, beta: number) => {
  const p = ratio(s.precision[c]);
  const r = ratio(s.recall[c]);
  if (!(p > 0) || !(r > 0)) return 0;
  return ((1 + beta * beta) * p * r) / (beta * beta * p + r);
};

/** Out-of-fold probabilities on rounds 1 to 7: 5 folds of whole servers, so a server is never in its own training. */
function outOfFold(rows: Row[], l2: number, dangerWeight: number) {
  const servers = [...new Set(rows.map((r) => r.server))].sort();
  const fold = new Map(servers.map((s, i) => [s, i % 5]));
  const p: number[][] = [];
  const pRisk: number[][] = [];
  for (let f = 0; f < 5; f++) {
    const model = train(
      rows.filter((r) => fold.get(r.server) !== f),
      l2,
      dangerWeight,
    );
    for (const [i, r] of rows.entries()) {
      if (fold.get(r.server) !== f) continue;
      p[i] = model.category(r);
      pRisk[i] = model.riskAtLeast(r);
    }
  }
  return { p, pRisk };
}

const GRID = [0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.01];

/**
 * Thresholds by coordinate ascent on the out-of-fold predictions: for a dangerous category the one that maximises its
 * F2 (recall counts four times precision), for the others F1; for each risk level the one that maximises exact risk.
 */
function tune(rows: Row[], p: number[][], pRisk: number[][]) {
  const raise = Object.fromEntries(BY_DANGER.map((c) => [c, 1.01])) as Record<Category, number>;
  const riskAtLeast = [1.01, 1.01, 1.01, 1.01];
  const run = () =>
    score(
      rows,
      rows.map((r, i) => decide(r, p[i]!, pRisk[i]!, { raise, riskAtLeast })),
    );
  for (let pass = 0; pass < 2; pass++) {
    for (const c of [...BY_DANGER].reverse()) {
      if (c === 'other' || c === 'read') continue; // nothing is below them to raise from that matters
      const beta = DANGEROUS.includes(c) ? 2 : 1;
      let best = [raise[c], fBeta(run(), c, beta)] as [number, number];
      for (const t of GRID) {
        raise[c] = t;
        const f = fBeta(run(), c, beta);
        if (f > best[1] + 1e-9) best = [t, f];
      }
      raise[c] = best[0];
    }
    for (let i = RISKS.length - 1; i >= 1; i--) {
      let best = [riskAtLeast[i]!, run().exactRisk] as [number, number];
      for (const t of GRID) {
        riskAtLeast[i] = t;
        const e = run().exactRisk;
        if (e > best[1] + 1e-9) best = [t, e];
      }
      riskAtLeast[i] = best[0];
    }
  }
  return { raise, riskAtLeast, scores: run() };
}

/**
 * The second variant, fixed on rounds 1 to 7 before any measurement as well: for each dangerous category, most
 * dangerous first, the threshold that gives the highest out-of-fold recall of that category (the highest threshold
 * among equals) while category accuracy stays within one point of the rules' own; it buys recall with precision,
 * which F2 would not. (A first form, "the highest threshold reaching recall 0.95, else the lowest", reached 0.95 for
 * no category and fell to 59% category accuracy on rounds 1 to 7, so it was replaced before measuring.)
 */
function tuneForRecall(
  rows: Row[],
  p: number[][],
  pRisk: number[][],
  base: Pick<Settings, 'raise' | 'riskAtLeast'>,
) {
  const raise = { ...base.raise };
  const riskAtLeast = [...base.riskAtLeast];
  const run = () =>
    score(
      rows,
      rows.map((r, i) => decide(r, p[i]!, pRisk[i]!, { raise, riskAtLeast })),
    );
  const floor = score(
    rows,
    rows.map((r) => ({ category: r.rules.category, risk: r.rules.risk, basis: '' })),
  ).category;
  for (const c of ['financial', 'credential', 'execute', 'destructive'] as const) {
    let best = [raise[c], ratio(run().recall[c])] as [number, number];
    for (const t of [...GRID].reverse()) {
      raise[c] = t;
      const s = run();
      if (s.category >= floor - 0.01 && ratio(s.recall[c]) > best[1] + 1e-9) best = [t, ratio(s.recall[c])];
    }
    raise[c] = best[0];
  }
  return { raise, riskAtLeast, scores: run() };
}

function loadRows(): Row[] {
  const corpus = JSON.parse(readFileSync(join(FIXTURES, 'corpus.json'), 'utf8')) as Array<{
    server: string;
    tool: ToolDefinition;
    label: { category: Category; risk: Risk };
  }>;
  const rounds = JSON.parse(readFileSync(join(FIXTURES, 'rounds.json'), 'utf8')) as Record<string, string[]>;
  const roundOf = (server: string) =>
    Number(Object.keys(rounds).find((k) => k !== '#' && rounds[k]!.includes(server)) ?? 4);
  return corpus.map((e) => ({
    server: e.server,
    tool: e.tool.name,
    round: roundOf(e.server),
    features: featuresOf(e.tool),
    category: e.label.category,
    risk: e.label.risk,
    rules: classify(e.tool),
  }));
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

function describe(title: string, s: Scores): string {
  const recall = DANGEROUS.map((c) => {
    const [hit, n] = s.recall[c] ?? [0, 0];
    const [ok, m] = s.precision[c] ?? [0, 0];
    return `${c} ${hit}/${n}${n ? ` ${pct(hit / n)}` : ''} (precision ${ok}/${m})`;
  });
  const other = ['write', 'communication', 'read'].map((c) => `${c} ${pct(ratio(s.recall[c]))}`);
  return [
    `${title}: ${s.tools} tools, category ${pct(s.category)}, exact risk ${pct(s.exactRisk)}, critical rated low ${s.criticalLow.length}, dangerous rated read ${s.dangerousRead.length} (${s.dangerousRead.join(' ')})`,
    `  recall ${recall.join('; ')}`,
    `  recall ${other.join(', ')}`,
  ].join('\n');
}

function calibrationOf(rows: Row[], decisions: Decision[]): Record<string, [number, number]> {
  const out: Record<string, [number, number]> = {};
  for (const [i, r] of rows.entries()) {
    const d = decisions[i]!;
    const [ok, n] = out[d.basis] ?? [0, 0];
    out[d.basis] = [ok + (d.category === r.category ? 1 : 0), n + 1];
  }
  return out;
}

function crossValidate(): void {
  // Rounds 8 and 9 are dropped before anything is computed: nothing below can see them.
  const rows = loadRows().filter((r) => r.round <= 7);
  const rules = score(
    rows,
    rows.map((r) => ({ category: r.rules.category, risk: r.rules.risk, basis: '' })),
  );
  process.stdout.write(`${describe('rounds 1 to 7, rules (written from them)', rules)}\n`);
  let best: { key: number; settings: Settings; scores: Scores } | undefined;
  for (const l2 of [1e-4, 1e-3, 1e-2]) {
    for (const dangerWeight of [1, 3, 10]) {
      const { p, pRisk } = outOfFold(rows, l2, dangerWeight);
      const { raise, riskAtLeast, scores } = tune(rows, p, pRisk);
      const macroF2 = DANGEROUS.reduce((sum, c) => sum + fBeta(scores, c, 2), 0) / DANGEROUS.length;
      const decisions = rows.map((r, i) => decide(r, p[i]!, pRisk[i]!, { raise, riskAtLeast }));
      const confidence = Object.fromEntries(
        Object.entries(calibrationOf(rows, decisions)).map(([k, [ok, n]]) => [
          k,
          Number((ok / n).toFixed(2)),
        ]),
      );
      process.stdout.write(
        `${describe(`l2 ${l2}, danger weight ${dangerWeight}: macro F2 ${macroF2.toFixed(3)}`, scores)}\n`,
      );
      // Macro F2 of the dangerous categories first, category accuracy to break ties.
      const key = macroF2 + scores.category * 1e-3;
      if (!best || key > best.key) {
        best = { key, settings: { l2, dangerWeight, raise, riskAtLeast, confidence }, scores };
      }
    }
  }
  const chosen = best!.settings;
  const { p, pRisk } = outOfFold(rows, chosen.l2, chosen.dangerWeight);
  const recall = tuneForRecall(rows, p, pRisk, chosen);
  const decisions = rows.map((r, i) => decide(r, p[i]!, pRisk[i]!, recall));
  const confidence = Object.fromEntries(
    Object.entries(calibrationOf(rows, decisions)).map(([k, [ok, n]]) => [k, Number((ok / n).toFixed(2))]),
  );
  process.stdout.write(`${describe('recall variant, same model', recall.scores)}\n`);
  const frozen = { f2: chosen, recall95: { ...chosen, raise: recall.raise, confidence } };
  process.stdout.write(`\nchosen (copy into FROZEN):\n${JSON.stringify(frozen, null, 2)}\n`);
}

function measure(variants: Record<'f2' | 'recall95', Settings>): void {
  const all = loadRows();
  // Both variants share the model's settings, so one model trained on rounds 1 to 7 serves both.
  const model = train(
    all.filter((r) => r.round <= 7),
    variants.f2.l2,
    variants.f2.dangerWeight,
  );
  const calibration = (rows: Row[], decisions: Decision[], confidenceOf: (d: Decision) => number) => {
    const buckets = new Map<number, [number, number]>();
    for (const [i, d] of decisions.entries()) {
      const c = confidenceOf(d);
      const [ok, n] = buckets.get(c) ?? [0, 0];
      buckets.set(c, [ok + (d.category === rows[i]!.category ? 1 : 0), n + 1]);
    }
    return [...buckets]
      .sort((a, b) => b[0] - a[0])
      .map(([c, [ok, n]]) => `${c} -> ${n} tools, ${(ok / n).toFixed(2)}`)
      .join('; ');
  };
  for (const [title, rounds] of [
    ['round 8', [8]],
    ['round 9', [9]],
    ['rounds 8 and 9', [8, 9]],
  ] as const) {
    const rows = all.filter((r) => (rounds as readonly number[]).includes(r.round));
    const rulesOnly = rows.map((r) => ({
      category: r.rules.category,
      risk: r.rules.risk,
      basis: `${r.rules.confidence}`,
    }));
    process.stdout.write(`\n${describe(`${title}, rules alone`, score(rows, rulesOnly))}\n`);
    process.stdout.write(`  calibration: ${calibration(rows, rulesOnly, (d) => Number(d.basis))}\n`);
    for (const [name, settings] of Object.entries(variants)) {
      const combined = rows.map((r) => decide(r, model.category(r), model.riskAtLeast(r), settings));
      process.stdout.write(
        `${describe(`${title}, rules with the model (${name}) as a raise`, score(rows, combined))}\n`,
      );
      process.stdout.write(
        `  calibration: ${calibration(rows, combined, (d) => settings.confidence[d.basis] ?? Number.NaN)}\n`,
      );
      if (rounds.length > 1) continue;
      const changed = rows.flatMap((r, i) => {
        const d = combined[i]!;
        if (d.category === r.rules.category && d.risk === r.rules.risk) return [];
        const mark = d.category === r.category ? 'right' : 'wrong';
        return [
          `    ${r.server}/${r.tool} ${r.rules.category}/${r.rules.risk} -> ${d.category}/${d.risk} (labelled ${r.category}/${r.risk}: ${mark})`,
        ];
      });
      process.stdout.write(`  raised by the model (${changed.length}):\n${changed.join('\n')}\n`);
    }
  }
}

const command = process.argv[2];
if (command === 'cv') crossValidate();
else if (command === 'measure' && FROZEN) measure(FROZEN);
else {
  process.stderr.write(
    'usage: risk-model-floor.ts cv | measure (measure needs FROZEN, set from the output of cv)\n',
  );
  process.exit(2);
}
