// #21, twelfth look at a model: one that learns from the rules' real first-sight errors, measured round by round.
//
// docs/risk.md ("Fourth attempt") named what the earlier models could not see: trained on the rounds the rules were
// written from, they learned nothing of the errors the rules make on a new server. Every round from the 9th on was
// classified once by the rules as they were before any rule was written from it (the commit that labelled it), so the
// errors the rules make at first sight are on record in git. This script replays them and asks whether a model trained
// on the first-sight errors of the other rounds corrects the first-sight errors of the round left out.
//
// Settings fixed before the first `measure` (not tuned on its output): softmax regression over the rules' own reading
// (category, risk, confidence and their pairs) and the words of the name, the description's opening, the parameters'
// names and enum values and the annotations; L2 0.001, 300 full-batch steps. Two ways to use it: `override` takes the
// model's category when its probability is at least 0.7; `raise` takes it when at least 0.5 and more dangerous than the
// rules' (the safe direction only). Not run in CI; adds no dependency:
//
//   node --import tsx scripts/risk-model-first-sight.ts dump <scratch dir>     (git worktrees of the commits below)
//   node --import tsx scripts/risk-model-first-sight.ts measure <scratch dir>
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Category } from '../src/policy/types.js';
import { CATEGORIES_BY_DANGER } from '../src/risk/classify.js';
import { leadSentence, parameters, words } from '../src/risk/text.js';
import type { ToolDefinition } from '../src/risk/types.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const FIXTURES = join(ROOT, 'test/fixtures/risk-corpus');

/** Round -> the commit that labelled it: the rules there had never seen it (git log, docs/risk.md). */
const FIRST_SIGHT: Record<string, string> = {
  '9': 'db060ba',
  '10': '95f3af5',
  '11': '5982e3a',
  '12': '9d612c4',
  '13': 'f4232e0',
  '14': 'df6229f',
  '15': 'e058ee3',
  '16': 'cd41ce8',
  '17': '075dc57',
  '18': '1d4df99',
  '19': '3040df9',
  '20': 'ee2b9c2',
  '21': '0b8a2a1',
  '22': '3d0437a',
};
const BY_DANGER: Category[] = CATEGORIES_BY_DANGER;
const DANGEROUS = new Set<Category>(['destructive', 'execute', 'financial', 'credential']);

interface Entry {
  server: string;
  tool: ToolDefinition;
  label: { category: Category; risk: string };
}
interface Seen {
  round: string;
  server: string;
  name: string;
  category: Category;
  risk: string;
  confidence: number;
  label: Category;
  features: string[];
}

function corpusByRound(): Map<string, Entry[]> {
  const corpus = JSON.parse(readFileSync(join(FIXTURES, 'corpus.json'), 'utf8')) as Entry[];
  const rounds = JSON.parse(readFileSync(join(FIXTURES, 'rounds.json'), 'utf8')) as Record<string, string[]>;
  const out = new Map<string, Entry[]>();
  for (const round of Object.keys(FIRST_SIGHT)) {
    const servers = new Set(rounds[round]);
    out.set(
      round,
      corpus.filter((e) => servers.has(e.server)),
    );
  }
  return out;
}

/** The words a definition shows, by where they stand; the rules' reading is added by the caller. */
function definitionFeatures(tool: ToolDefinition): string[] {
  const f = new Set<string>();
  for (const w of words(tool.name)) f.add(`n:${w}`);
  const description = typeof tool.description === 'string' ? tool.description : '';
  for (const w of words(leadSentence(description)).slice(0, 25)) f.add(`d:${w}`);
  for (const p of parameters(tool)) {
    for (const w of words(p.name)) f.add(`p:${w}`);
    for (const v of p.enumValues.slice(0, 30)) for (const w of words(v)) f.add(`e:${w}`);
  }
  for (const [k, v] of Object.entries(tool.annotations ?? {})) if (v === true) f.add(`a:${k}`);
  return [...f];
}

async function dump(scratch: string): Promise<void> {
  const byRound = corpusByRound();
  const seen: Seen[] = [];
  for (const [round, commit] of Object.entries(FIRST_SIGHT)) {
    const dir = join(scratch, `first-sight-${round}`);
    if (!existsSync(dir)) {
      execFileSync('git', ['-C', ROOT, 'worktree', 'add', '--detach', dir, commit], { stdio: 'ignore' });
      symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
    }
    const { classify } = (await import(join(dir, 'src/risk/classify.ts'))) as {
      classify: (t: ToolDefinition) => { category: Category; risk: string; confidence: number };
    };
    for (const e of byRound.get(round) ?? []) {
      const c = classify(e.tool);
      seen.push({
        round,
        server: e.server,
        name: e.tool.name,
        category: c.category,
        risk: c.risk,
        confidence: c.confidence,
        label: e.label.category,
        features: [
          `rc:${c.category}`,
          `rr:${c.risk}`,
          `rk:${c.confidence}`,
          `rcr:${c.category}/${c.risk}`,
          `rck:${c.category}/${c.confidence}`,
          ...definitionFeatures(e.tool),
        ],
      });
    }
    process.stderr.write(`round ${round} (${commit}): ${byRound.get(round)?.length ?? 0} tools\n`);
  }
  writeFileSync(join(scratch, 'first-sight.json'), `${JSON.stringify(seen)}\n`);
}

/** Softmax regression over sparse binary features, full-batch gradient descent with L2. */
function train(rows: Seen[], l2 = 0.001, steps = 300, rate = 0.5): (f: string[]) => number[] {
  const index = new Map<string, number>();
  for (const r of rows) for (const f of r.features) if (!index.has(f)) index.set(f, index.size);
  const K = BY_DANGER.length;
  const W = Array.from({ length: K }, () => new Float64Array(index.size));
  const b = new Float64Array(K);
  const xs = rows.map((r) => r.features.map((f) => index.get(f)!));
  const ys = rows.map((r) => BY_DANGER.indexOf(r.label));
  const scores = (x: number[]) => {
    const s = Array.from({ length: K }, (_, k) => b[k]! + x.reduce((a, j) => a + W[k]![j]!, 0));
    const m = Math.max(...s);
    const e = s.map((v) => Math.exp(v - m));
    const z = e.reduce((a, v) => a + v, 0);
    return e.map((v) => v / z);
  };
  for (let step = 0; step < steps; step++) {
    const gW = Array.from({ length: K }, () => new Float64Array(index.size));
    const gb = new Float64Array(K);
    for (let i = 0; i < xs.length; i++) {
      const p = scores(xs[i]!);
      for (let k = 0; k < K; k++) {
        const g = p[k]! - (ys[i] === k ? 1 : 0);
        gb[k]! += g;
        for (const j of xs[i]!) gW[k]![j]! += g;
      }
    }
    for (let k = 0; k < K; k++) {
      b[k]! -= (rate * gb[k]!) / xs.length;
      for (let j = 0; j < index.size; j++) W[k]![j]! -= rate * (gW[k]![j]! / xs.length + l2 * W[k]![j]!);
    }
  }
  return (f) => scores(f.filter((x) => index.has(x)).map((x) => index.get(x)!));
}

type Way = 'rules' | 'override' | 'raise' | 'alone';
const WAYS: Way[] = ['rules', 'override', 'raise', 'alone'];

function measure(scratch: string): void {
  const seen = JSON.parse(readFileSync(join(scratch, 'first-sight.json'), 'utf8')) as Seen[];
  const rounds = Object.keys(FIRST_SIGHT);
  const total = {
    rules: [0, 0, 0, 0],
    override: [0, 0, 0, 0],
    raise: [0, 0, 0, 0],
    alone: [0, 0, 0, 0],
    n: 0,
    dangerous: 0,
  };
  process.stdout.write(
    '| round | tools | rules: category, dangerous found, dangerous rated read | override (p >= 0.7) | raise (p >= 0.5, more dangerous only) | the model alone (added after the first run, a diagnostic) |\n| --- | --- | --- | --- | --- | --- |\n',
  );
  for (const held of rounds) {
    const predict = train(seen.filter((s) => s.round !== held));
    const test = seen.filter((s) => s.round === held);
    const tally = { rules: [0, 0, 0, 0], override: [0, 0, 0, 0], raise: [0, 0, 0, 0], alone: [0, 0, 0, 0] };
    let dangerous = 0;
    for (const s of test) {
      const p = predict(s.features);
      const best = p.indexOf(Math.max(...p));
      const model = BY_DANGER[best]!;
      const choices: Record<Way, Category> = {
        rules: s.category,
        alone: model,
        override: p[best]! >= 0.7 ? model : s.category,
        raise: p[best]! >= 0.5 && best > BY_DANGER.indexOf(s.category) ? model : s.category,
      };
      if (DANGEROUS.has(s.label)) dangerous++;
      for (const [way, c] of Object.entries(choices) as [Way, Category][]) {
        const t = tally[way];
        if (c === s.label) t[0]!++;
        if (DANGEROUS.has(s.label) && c === s.label) t[1]!++;
        if (DANGEROUS.has(s.label) && c === 'read') t[2]!++;
        if (c !== s.category) t[3]!++;
      }
    }
    const cell = (t: number[]) =>
      `${((100 * t[0]!) / test.length).toFixed(1)}%, ${t[1]}/${dangerous}, ${t[2]} (changed ${t[3]})`;
    process.stdout.write(
      `| ${held} | ${test.length} | ${cell(tally.rules)} | ${cell(tally.override)} | ${cell(tally.raise)} | ${cell(tally.alone)} |\n`,
    );
    for (const way of WAYS) for (let i = 0; i < 4; i++) total[way][i]! += tally[way][i]!;
    total.n += test.length;
    total.dangerous += dangerous;
  }
  const cell = (t: number[]) =>
    `${((100 * t[0]!) / total.n).toFixed(1)}%, ${t[1]}/${total.dangerous}, ${t[2]} (changed ${t[3]})`;
  process.stdout.write(
    `| all | ${total.n} | ${cell(total.rules)} | ${cell(total.override)} | ${cell(total.raise)} | ${cell(total.alone)} |\n`,
  );
}

const [command, scratchArg] = process.argv.slice(2);
if ((command !== 'dump' && command !== 'measure') || !scratchArg || !existsSync(scratchArg)) {
  process.stderr.write('usage: risk-model-first-sight.ts dump|measure <scratch dir>\n');
  process.exit(2);
}
if (command === 'dump') await dump(resolve(scratchArg));
else measure(resolve(scratchArg));
