// #21: does a model trained on the labelled corpus generalise better than the rules? A learning curve on the frozen
// 7th round (docs/risk.md, "A trained model, measured").
//
// A softmax regression over words of a tool's name, its description's opening, its parameters' names, types and enum
// values, the server's annotations and the rules' own reading, trained on rounds 1 to 4, then 1 to 5, then 1 to 6, and
// measured each time on the 7th round, which none of them saw. If the model's errors fell as the corpus grew, it would
// be the design to ship. Not run in CI; adds no dependency:
//
//   node --import tsx scripts/risk-model-experiment.ts
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { classify } from '../src/risk/classify.js';
import { baseForms, leadSentence, parameters, words } from '../src/risk/text.js';
import type { Classification, ToolDefinition } from '../src/risk/types.js';

const FIXTURES = join(resolve(dirname(fileURLToPath(import.meta.url)), '..'), 'test/fixtures/risk-corpus');
const DANGEROUS = ['destructive', 'execute', 'financial', 'credential'];

interface Row {
  round: number;
  features: string[];
  category: string;
  risk: string;
  rules: Classification;
}

const stem = (w: string) => baseForms(w)[0] ?? w;

/** Words, not whole names: `delete` and `secret` generalise, `delete_secret` is memorised. */
function featuresOf(tool: ToolDefinition, rules: Classification): string[] {
  const out = new Set<string>();
  for (const [i, w] of words(tool.name).map(stem).entries()) {
    out.add(`n:${w}`);
    if (i === 0) out.add(`n0:${w}`);
  }
  const description = typeof tool.description === 'string' ? tool.description : '';
  for (const w of words(leadSentence(description)).slice(0, 30)) out.add(`d:${stem(w)}`);
  for (const p of parameters(tool)) {
    for (const w of words(p.name)) out.add(`p:${stem(w)}`);
    if (p.type) out.add(`t:${p.type}`);
    for (const value of p.enumValues.slice(0, 20)) for (const w of words(value)) out.add(`e:${stem(w)}`);
  }
  for (const [key, value] of Object.entries(tool.annotations ?? {})) {
    if (typeof value === 'boolean') out.add(`a:${key}=${value}`);
  }
  out.add(`r:${rules.category}`);
  out.add(`rr:${rules.category}/${rules.risk}`);
  out.add(`rc:${rules.confidence >= 0.9 ? 'name' : rules.confidence >= 0.7 ? 'description' : 'none'}`);
  return [...out];
}

/** Softmax regression on the joint label `category/risk`, L2-regularised, full-batch Adam; fixed settings, not tuned. */
function train(rows: Row[]): (features: string[]) => string {
  const count = new Map<string, number>();
  for (const r of rows) for (const f of r.features) count.set(f, (count.get(f) ?? 0) + 1);
  const index = new Map([...count].filter(([, n]) => n >= 2).map(([f], i) => [f, i]));
  const classes = [...new Set(rows.map((r) => `${r.category}/${r.risk}`))];
  const K = classes.length;
  const W = new Float64Array(index.size * K);
  const b = new Float64Array(K);
  const m = new Float64Array(W.length + K);
  const v = new Float64Array(W.length + K);
  const X = rows.map((r) => r.features.flatMap((f) => (index.has(f) ? [index.get(f)!] : [])));
  const Y = rows.map((r) => classes.indexOf(`${r.category}/${r.risk}`));
  const probabilities = (x: number[]) => {
    const z = Float64Array.from(b);
    for (const j of x) for (let k = 0; k < K; k++) z[k]! += W[j * K + k]!;
    const top = Math.max(...z);
    let sum = 0;
    for (let k = 0; k < K; k++) sum += z[k] = Math.exp(z[k]! - top);
    return z.map((p) => p / sum);
  };
  for (let epoch = 1; epoch <= 300; epoch++) {
    const g = new Float64Array(W.length + K);
    for (const [n, x] of X.entries()) {
      const p = probabilities(x);
      for (let k = 0; k < K; k++) {
        const d = p[k]! - (k === Y[n] ? 1 : 0);
        g[W.length + k]! += d;
        for (const j of x) g[j * K + k]! += d;
      }
    }
    for (let i = 0; i < g.length; i++) {
      const weight = i < W.length ? W[i]! : b[i - W.length]!;
      const grad = g[i]! / X.length + (i < W.length ? 1e-3 * weight : 0);
      m[i] = 0.9 * m[i]! + 0.1 * grad;
      v[i] = 0.999 * v[i]! + 0.001 * grad * grad;
      const step = (0.05 * (m[i]! / (1 - 0.9 ** epoch))) / (Math.sqrt(v[i]! / (1 - 0.999 ** epoch)) + 1e-8);
      if (i < W.length) W[i] = weight - step;
      else b[i - W.length] = weight - step;
    }
  }
  return (features) => {
    const p = probabilities(features.flatMap((f) => (index.has(f) ? [index.get(f)!] : [])));
    return classes[p.indexOf(Math.max(...p))]!;
  };
}

function measure(rows: Row[], predict: (r: Row) => [string, string]) {
  let category = 0;
  let exact = 0;
  const recall: Record<string, [number, number]> = {};
  for (const r of rows) {
    const [c, risk] = predict(r);
    if (c === r.category) category++;
    if (c === r.category && risk === r.risk) exact++;
    if (DANGEROUS.includes(r.category)) {
      const [hit, n] = recall[r.category] ?? [0, 0];
      recall[r.category] = [hit + (c === r.category ? 1 : 0), n + 1];
    }
  }
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  const rec = Object.entries(recall).map(([c, [hit, n]]) => `${c} ${pct(hit / n)}`);
  return `category ${pct(category / rows.length)}, category and risk ${pct(exact / rows.length)}; recall ${rec.join(', ')}`;
}

const corpus = JSON.parse(readFileSync(join(FIXTURES, 'corpus.json'), 'utf8')) as Array<{
  server: string;
  tool: ToolDefinition;
  label: { category: string; risk: string };
}>;
const rounds = JSON.parse(readFileSync(join(FIXTURES, 'rounds.json'), 'utf8')) as Record<string, string[]>;
const roundOf = (server: string) => Number(Object.keys(rounds).find((k) => rounds[k]!.includes(server)) ?? 4);
const rows: Row[] = corpus.map((e) => {
  const rules = classify(e.tool);
  return { round: roundOf(e.server), features: featuresOf(e.tool, rules), ...e.label, rules };
});
const test = rows.filter((r) => r.round === 7);
process.stdout.write(
  `round 7 (${test.length} tools), rules: ${measure(test, (r) => [r.rules.category, r.rules.risk])}\n`,
);
for (const upto of [4, 5, 6]) {
  const training = rows.filter((r) => r.round <= upto);
  const predict = train(training);
  const result = measure(test, (r) => predict(r.features).split('/') as [string, string]);
  process.stdout.write(
    `round 7, model trained on rounds 1 to ${upto} (${training.length} tools): ${result}\n`,
  );
}
