// The labelled corpus of real tool definitions as a regression test of classify(), with the thresholds of issue 8.
//
// RISK_REPORT=1 prints the per-category table that docs/risk.md records.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CATEGORIES } from '../../src/policy/types.js';
import { classify } from '../../src/risk/classify.js';
import type { ToolDefinition } from '../../src/risk/types.js';

interface Entry {
  server: string;
  package: string;
  version: string;
  tool: ToolDefinition;
  label: { category: string; risk: string };
  note?: string;
}

const here = dirname(fileURLToPath(import.meta.url));
const corpus = JSON.parse(readFileSync(join(here, '../fixtures/risk-corpus/corpus.json'), 'utf8')) as Entry[];

/**
 * Servers set aside before the classifier was tuned: their figures are reported apart and were never used to choose
 * a word of the vocabulary. Keep this list when adding servers; add new servers to it until they are looked at.
 */
const HELD_OUT = new Set([
  'slack',
  'gitlab',
  'everything',
  'notion',
  'sequential-thinking',
  // Added with the second collection, labelled blind; their first measurement is frozen in docs/risk.md.
  '1password',
  'brave-search',
  'circleci',
  'code-runner',
  'commands',
  'desktop-commander',
  'discord',
  'jira',
  'kubernetes',
  'mail-imap-smtp',
  'mongodb',
  'neon',
  'paddle',
  'puppeteer',
  'ssh-manager',
  'xero',
  // Collected with the second set but labelled after the tuning it motivated, and never tuned on.
  'airtable',
  'browsermcp',
  'datadog',
  'hubspot',
  'launchdarkly',
  'sentry',
  // A second e-mail server, labelled after all tuning and never tuned on.
  'email-codefuturist',
]);

/**
 * The 5th, 6th and 7th rounds (#21): servers of the dangerous domains chosen before they were listed or labelled,
 * labelled before classify() ran on them, and never tuned on (test/fixtures/risk-corpus/rounds.json). The honest
 * figures for servers warden has not seen (docs/risk.md).
 */
const rounds = JSON.parse(readFileSync(join(here, '../fixtures/risk-corpus/rounds.json'), 'utf8')) as Record<
  string,
  string[]
>;
const FIFTH_ROUND = new Set(rounds['5']);
const SIXTH_ROUND = new Set(rounds['6']);
const SEVENTH_ROUND = new Set(rounds['7']);
/** Frozen before any rule of the third attempt at #21 was written: the only round unseen by those rules. */
const EIGHTH_ROUND = new Set(rounds['8']);
/** Chosen and committed before listing, labelling and any model of the fourth attempt at #21: unseen by both. */
const NINTH_ROUND = new Set(rounds['9']);
/** Chosen, listed and committed before any rule of the fifth attempt at #21 (written from rounds 8 and 9). */
const TENTH_ROUND = new Set(rounds['10']);
/** Chosen, listed and committed before any rule of the sixth attempt at #21 (written from round 10). */
const ELEVENTH_ROUND = new Set(rounds['11']);
/** Chosen, listed and committed before any rule of the seventh attempt at #21 (written from round 11). */
const TWELFTH_ROUND = new Set(rounds['12']);
/** Chosen, listed and committed before any rule of the eighth attempt at #21 (written from round 12). */
const THIRTEENTH_ROUND = new Set(rounds['13']);
/** Chosen, listed and committed before any rule of the ninth attempt at #21 (written from round 13). */
const FOURTEENTH_ROUND = new Set(rounds['14']);
/** Chosen, listed and committed before any rule of the tenth attempt at #21 (written from round 14). */
const FIFTEENTH_ROUND = new Set(rounds['15']);
/** Chosen, listed and committed before any rule of the eleventh attempt at #21 (written from round 15). */
const SIXTEENTH_ROUND = new Set(rounds['16']);
/** Chosen, listed and committed before any rule of the twelfth attempt at #21 (written from round 16). */
const SEVENTEENTH_ROUND = new Set(rounds['17']);
/** Chosen, listed and committed before any rule of the thirteenth attempt at #21 (written from round 17). */
const EIGHTEENTH_ROUND = new Set(rounds['18']);
/** Chosen, listed and committed before any rule of the fourteenth attempt at #21 (written from round 18). */
const NINETEENTH_ROUND = new Set(rounds['19']);
/** Chosen, listed and committed before any rule of the fifteenth attempt at #21 (written from round 19). */
const TWENTIETH_ROUND = new Set(rounds['20']);
/** Every server of the rounds after the 7th: each frozen before the attempt it measured. */
const LATER_ROUNDS = new Set(
  Object.entries(rounds)
    .filter(([n]) => Number(n) >= 8)
    .flatMap(([, servers]) => servers),
);
const DANGEROUS = ['destructive', 'execute', 'financial', 'credential'];

interface Scores {
  tools: number;
  categoryAccuracy: number;
  riskExact: number;
  recall: Record<string, number>;
  precision: Record<string, number>;
  support: Record<string, number>;
  criticalRatedLow: string[];
  dangerousRatedRead: string[];
  /** Category accuracy per confidence value: [confidence, tools, accuracy]. */
  calibration: [number, number, number][];
  misses: string[];
}

function score(entries: Entry[]): Scores {
  let catOk = 0;
  let riskOk = 0;
  const tp: Record<string, number> = {};
  const labelled: Record<string, number> = {};
  const predicted: Record<string, number> = {};
  const criticalRatedLow: string[] = [];
  const dangerousRatedRead: string[] = [];
  const buckets = new Map<number, [number, number]>();
  const misses: string[] = [];
  for (const e of entries) {
    const r = classify(e.tool);
    const want = e.label;
    labelled[want.category] = (labelled[want.category] ?? 0) + 1;
    predicted[r.category] = (predicted[r.category] ?? 0) + 1;
    if (r.category === want.category) {
      catOk++;
      tp[want.category] = (tp[want.category] ?? 0) + 1;
    }
    if (r.risk === want.risk) riskOk++;
    if (want.risk === 'critical' && r.risk === 'low') criticalRatedLow.push(`${e.server}/${e.tool.name}`);
    if (DANGEROUS.includes(want.category) && r.category === 'read')
      dangerousRatedRead.push(`${e.server}/${e.tool.name}`);
    const b = buckets.get(r.confidence) ?? [0, 0];
    buckets.set(r.confidence, [b[0] + 1, b[1] + (r.category === want.category ? 1 : 0)]);
    if (r.category !== want.category || r.risk !== want.risk) {
      misses.push(
        `${e.server}/${e.tool.name}: labelled ${want.category}/${want.risk}, rated ${r.category}/${r.risk} (${r.rationale})`,
      );
    }
  }
  const recall: Record<string, number> = {};
  const precision: Record<string, number> = {};
  for (const c of CATEGORIES) {
    if (labelled[c]) recall[c] = (tp[c] ?? 0) / labelled[c]!;
    if (predicted[c]) precision[c] = (tp[c] ?? 0) / predicted[c]!;
  }
  return {
    tools: entries.length,
    categoryAccuracy: catOk / entries.length,
    riskExact: riskOk / entries.length,
    recall,
    precision,
    support: labelled,
    criticalRatedLow,
    dangerousRatedRead,
    calibration: [...buckets.entries()]
      .sort((a, b) => b[0] - a[0])
      .map(([c, [n, ok]]) => [c, n, ok / n] as [number, number, number]),
    misses,
  };
}

function report(title: string, s: Scores): string {
  const pct = (x: number | undefined) => (x === undefined ? '-' : `${(x * 100).toFixed(1)}%`);
  const lines = [
    `## ${title}: ${s.tools} tools`,
    `category accuracy ${pct(s.categoryAccuracy)}, exact risk ${pct(s.riskExact)}, critical rated low: ${s.criticalRatedLow.length} ${s.criticalRatedLow.join(' ')}, dangerous rated read: ${s.dangerousRatedRead.length} ${s.dangerousRatedRead.join(' ')}`,
    `confidence (tools, accuracy): ${s.calibration.map(([c, n, a]) => `${c}: ${n}, ${a.toFixed(2)}`).join('; ')}`,
    '| category | labelled | precision | recall |',
    '| --- | --- | --- | --- |',
    ...CATEGORIES.map(
      (c) => `| ${c} | ${s.support[c] ?? 0} | ${pct(s.precision[c])} | ${pct(s.recall[c])} |`,
    ),
    ...s.misses.map((m) => `- ${m}`),
  ];
  return lines.join('\n');
}

/** Rounds 1 to 4: the data the rules were written from (tuned on, or looked at after their frozen measurement). */
const UNSEEN = new Set([...FIFTH_ROUND, ...SIXTH_ROUND, ...SEVENTH_ROUND]);
const seenCorpus = corpus.filter((e) => !UNSEEN.has(e.server) && !LATER_ROUNDS.has(e.server));
const all = score(seenCorpus);
const tuned = score(seenCorpus.filter((e) => !HELD_OUT.has(e.server)));
const heldOut = score(seenCorpus.filter((e) => HELD_OUT.has(e.server)));
const fifth = score(corpus.filter((e) => FIFTH_ROUND.has(e.server)));
const sixth = score(corpus.filter((e) => SIXTH_ROUND.has(e.server)));
const seventh = score(corpus.filter((e) => SEVENTH_ROUND.has(e.server)));
const unseen = score(corpus.filter((e) => UNSEEN.has(e.server)));
const eighth = score(corpus.filter((e) => EIGHTH_ROUND.has(e.server)));
const ninth = score(corpus.filter((e) => NINTH_ROUND.has(e.server)));
const tenth = score(corpus.filter((e) => TENTH_ROUND.has(e.server)));
const eleventh = score(corpus.filter((e) => ELEVENTH_ROUND.has(e.server)));
const twelfth = score(corpus.filter((e) => TWELFTH_ROUND.has(e.server)));
const thirteenth = score(corpus.filter((e) => THIRTEENTH_ROUND.has(e.server)));
const fourteenth = score(corpus.filter((e) => FOURTEENTH_ROUND.has(e.server)));
const fifteenth = score(corpus.filter((e) => FIFTEENTH_ROUND.has(e.server)));
const sixteenth = score(corpus.filter((e) => SIXTEENTH_ROUND.has(e.server)));
const seventeenth = score(corpus.filter((e) => SEVENTEENTH_ROUND.has(e.server)));
const eighteenth = score(corpus.filter((e) => EIGHTEENTH_ROUND.has(e.server)));
const nineteenth = score(corpus.filter((e) => NINETEENTH_ROUND.has(e.server)));
const twentieth = score(corpus.filter((e) => TWENTIETH_ROUND.has(e.server)));

if (process.env.RISK_REPORT) {
  process.stderr.write(
    `${report('rounds 1 to 4', all)}\n\n${report('tuning part', tuned)}\n\n${report('held out', heldOut)}\n\n${report('5th round, held out', fifth)}\n\n${report('6th round, held out', sixth)}\n\n${report('7th round, held out', seventh)}\n\n${report('5th to 7th rounds', unseen)}\n\n${report('8th round, held out', eighth)}\n\n${report('9th round, held out', ninth)}\n\n${report('10th round, held out', tenth)}\n\n${report('11th round, held out', eleventh)}\n\n${report('12th round, held out', twelfth)}\n\n${report('13th round, held out', thirteenth)}\n\n${report('14th round, held out', fourteenth)}\n\n${report('15th round, held out', fifteenth)}\n\n${report('16th round, held out', sixteenth)}\n\n${report('17th round, held out', seventeenth)}\n\n${report('18th round, held out', eighteenth)}\n\n${report('19th round, held out', nineteenth)}\n\n${report('20th round, held out', twentieth)}\n`,
  );
}

describe('classify on the labelled corpus, rounds 1 to 4 (the data the rules were written from)', () => {
  it('has a corpus of real definitions with a label each', () => {
    expect(corpus.length).toBeGreaterThanOrEqual(400);
    expect(new Set(corpus.map((e) => e.server)).size).toBeGreaterThanOrEqual(25);
    for (const e of corpus) expect(CATEGORIES).toContain(e.label.category);
  });

  it('gets the category right for at least 90% of the tools', () => {
    expect(all.categoryAccuracy).toBeGreaterThanOrEqual(0.9);
  });

  for (const c of ['destructive', 'execute', 'financial', 'credential']) {
    it(`recalls at least 97% of the ${c} tools`, () => {
      // A category the corpus does not contain cannot be measured here; the table tests cover it.
      expect(all.recall[c] ?? 1).toBeGreaterThanOrEqual(0.97);
    });
  }

  it('gets the exact risk right for at least 85% of the tools', () => {
    expect(all.riskExact).toBeGreaterThanOrEqual(0.85);
  });

  it('rates no tool labelled critical low', () => {
    expect(all.criticalRatedLow).toEqual([]);
  });

  it('finds no tool poisoning in the real servers (every round)', () => {
    const flagged = corpus.filter((e) => classify(e.tool).signals.some((s) => s.kind === 'tool_poisoning'));
    expect(flagged.map((e) => `${e.server}/${e.tool.name}`)).toEqual([]);
  });
});

// The #21 targets (category 0.92, exact risk 0.85, dangerous recall 0.95, no critical low, no dangerous read) are NOT
// met on servers the rules have not seen. These floors are the figures measured once on the 5th round (docs/risk.md):
// a change that makes the classifier worse on unseen servers fails here; one that meets the targets raises them.
describe('#21 classify on the 5th round, held out (never tuned on)', () => {
  it('#21 has 14 servers and 362 tools of the dangerous domains', () => {
    expect(fifth.tools).toBe(362);
    expect(new Set(corpus.filter((e) => FIFTH_ROUND.has(e.server)).map((e) => e.server)).size).toBe(14);
  });

  // First measured 0.80, 0.67 and 7 critical low; the floors are now the figures after the third attempt's rules,
  // which were written from these rounds' errors, so they guard against regressions, not unseen servers.
  it('#21 does not fall below category accuracy 0.87 and exact risk 0.74 (after rules written from it)', () => {
    expect(fifth.categoryAccuracy).toBeGreaterThanOrEqual(0.87);
    expect(fifth.riskExact).toBeGreaterThanOrEqual(0.74);
  });

  it('#21 rates no critical tool low (7 at the first measurement)', () => {
    expect(fifth.criticalRatedLow).toEqual([]);
  });
});

describe('#21 classify on the 6th round, held out (never tuned on)', () => {
  it('#21 has 21 servers and 392 tools', () => {
    expect(sixth.tools).toBe(392);
  });

  it('#21 does not fall below category accuracy 0.89 and exact risk 0.72 (first measured 0.87, 0.71)', () => {
    expect(sixth.categoryAccuracy).toBeGreaterThanOrEqual(0.89);
    expect(sixth.riskExact).toBeGreaterThanOrEqual(0.72);
  });

  it('#21 rates no critical tool low (2 at the first measurement)', () => {
    expect(sixth.criticalRatedLow).toEqual([]);
  });
});

describe('#21 classify on the 7th round, held out (never tuned on)', () => {
  it('#21 has 12 servers and 361 tools, and the corpus 80 servers', () => {
    expect(seventh.tools).toBe(361);
    expect(new Set(corpus.filter((e) => !LATER_ROUNDS.has(e.server)).map((e) => e.server)).size).toBe(80);
  });

  it('#21 does not fall below category accuracy 0.84 and exact risk 0.69 (first measured 0.83, 0.69), no critical rated low', () => {
    expect(seventh.categoryAccuracy).toBeGreaterThanOrEqual(0.84);
    expect(seventh.riskExact).toBeGreaterThanOrEqual(0.69);
    expect(seventh.criticalRatedLow).toEqual([]);
  });

  it('#21 the 5th to 7th rounds together: 1115 tools from 47 servers, category 0.87, exact risk 0.72 (first 0.84, 0.69)', () => {
    expect(unseen.tools).toBe(1115);
    expect(unseen.categoryAccuracy).toBeGreaterThanOrEqual(0.87);
    expect(unseen.riskExact).toBeGreaterThanOrEqual(0.72);
    expect(unseen.criticalRatedLow).toEqual([]);
    expect(unseen.dangerousRatedRead.length).toBeLessThanOrEqual(6);
  });
});

// Round 8 (#21, third attempt): frozen before any rule of that attempt was written, the only round unseen by them.
// Floors: the figures measured on it once after the third attempt (before: category 0.763, exact risk 0.813; after:
// 0.775 and 0.813; docs/risk.md). The #21 targets are not met on it.
describe('#21 classify on the 8th round, held out (frozen before the third attempt)', () => {
  it('#21 has 5 servers and 80 tools', () => {
    expect(eighth.tools).toBe(80);
    expect(new Set(corpus.filter((e) => EIGHTH_ROUND.has(e.server)).map((e) => e.server)).size).toBe(5);
  });

  // First measured 0.763/0.813 (before the third attempt) and 0.775/0.813 (after); rounds 8 and 9 became tuning data
  // for the fifth attempt, which raised them: the floors now guard against regressions, not unseen servers.
  it('#21 does not fall below category accuracy 0.82 and exact risk 0.87 (after rules written from it)', () => {
    expect(eighth.categoryAccuracy).toBeGreaterThanOrEqual(0.82);
    expect(eighth.riskExact).toBeGreaterThanOrEqual(0.87);
    expect(eighth.criticalRatedLow).toEqual([]);
    expect(eighth.dangerousRatedRead.length).toBeLessThanOrEqual(1);
  });
});

// Round 9 (#21, fourth attempt): chosen and committed before it was listed or labelled, and before any model of that
// attempt was written; labelled before classify() or the model ran on it (docs/risk.md).
describe('#21 classify on the 9th round, held out (frozen before the fourth attempt)', () => {
  it('#21 has 10 servers and 303 tools', () => {
    expect(ninth.tools).toBe(303);
    expect(new Set(corpus.filter((e) => NINTH_ROUND.has(e.server)).map((e) => e.server)).size).toBe(10);
  });

  // First and only held-out measurement: 0.875, 0.653, 7 dangerous rated read ("Fourth attempt"). The floors are the
  // figures after the fifth attempt's rules, written from its misses (docs/risk.md, "Fifth attempt").
  it('#21 does not fall below category accuracy 0.91 and exact risk 0.67 (after rules written from it)', () => {
    expect(ninth.categoryAccuracy).toBeGreaterThanOrEqual(0.91);
    expect(ninth.riskExact).toBeGreaterThanOrEqual(0.67);
    expect(ninth.criticalRatedLow).toEqual([]);
    expect(ninth.dangerousRatedRead).toEqual([]);
  });
});

// Round 10 (#21, fifth attempt): chosen, listed and committed before any rule written from rounds 8 and 9, labelled
// before classify() ran on it (docs/risk.md, "Fifth attempt").
describe('#21 classify on the 10th round, held out (frozen before the fifth attempt)', () => {
  it('#21 has 10 servers and 230 tools, and the corpus 105 servers', () => {
    expect(tenth.tools).toBe(230);
    expect(new Set(corpus.filter((e) => TENTH_ROUND.has(e.server)).map((e) => e.server)).size).toBe(10);
  });

  // First and only held-out measurement: 0.904 and 0.752, the same before and after the fifth attempt's rules. Round 10
  // then became tuning data: the floors are its figures after the sixth attempt's rules, written from its misses.
  it('#21 does not fall below its figures after the sixth attempt (category 0.96, exact risk 0.85)', () => {
    expect(tenth.categoryAccuracy).toBeGreaterThanOrEqual(0.96);
    expect(tenth.riskExact).toBeGreaterThanOrEqual(0.85);
    expect(tenth.criticalRatedLow).toEqual([]);
    expect(tenth.dangerousRatedRead).toEqual([]);
  });
});

// Round 11 (#21, sixth attempt): chosen, listed and committed before any rule written from round 10, labelled before
// classify() ran on it (docs/risk.md, "Sixth attempt").
describe('#21 classify on the 11th round, held out (frozen before the sixth attempt)', () => {
  it('#21 has 12 servers and 301 tools', () => {
    expect(eleventh.tools).toBe(301);
    expect(new Set(corpus.filter((e) => ELEVENTH_ROUND.has(e.server)).map((e) => e.server)).size).toBe(12);
  });

  // First and only held-out measurement: 0.714 and 0.608, the same before and after the sixth attempt's rules (Azure's
  // 61 command routers read as code runners, environment variables and invitation links as ordinary settings). Round
  // 11 then became tuning data: the floors are its figures after the seventh attempt's rules, written from its misses
  // (docs/risk.md, "Seventh attempt"). The invitation link (a Japanese description) is still read as a read.
  it('#21 does not fall below its figures after the seventh attempt (category 0.84, exact risk 0.70)', () => {
    expect(eleventh.categoryAccuracy).toBeGreaterThanOrEqual(0.84);
    expect(eleventh.riskExact).toBeGreaterThanOrEqual(0.7);
    expect(eleventh.criticalRatedLow).toEqual([]);
    expect(eleventh.dangerousRatedRead).toEqual(['chatwork/get_room_link']);
  });
});

// Round 12 (#21, seventh attempt): chosen, listed and committed before any rule written from round 11, labelled after
// those rules were committed and before classify() ran on it (docs/risk.md, "Seventh attempt").
describe('#21 classify on the 12th round, held out (frozen before the seventh attempt)', () => {
  it('#21 has 11 servers and 246 tools', () => {
    expect(twelfth.tools).toBe(246);
    expect(new Set(corpus.filter((e) => TWELFTH_ROUND.has(e.server)).map((e) => e.server)).size).toBe(11);
  });

  // First and only held-out measurement: 0.813 and 0.715, the same before and after the seventh attempt's rules (token
  // transfers with no verb the vocabulary knew, credentials passed as parameters). Round 12 then became tuning data:
  // the floors are its figures after the eighth attempt's rules, written from its misses (docs/risk.md, "Eighth
  // attempt"). The agent identity that returns an API key says so in Chinese.
  it('#21 does not fall below its figures after the eighth attempt (category 0.93, exact risk 0.80)', () => {
    expect(twelfth.categoryAccuracy).toBeGreaterThanOrEqual(0.93);
    expect(twelfth.riskExact).toBeGreaterThanOrEqual(0.8);
    expect(twelfth.criticalRatedLow).toEqual([]);
    expect(twelfth.dangerousRatedRead).toEqual(['humanagent/get_agent_identity']);
  });
});

// Round 13 (#21, eighth attempt): chosen, listed and committed before any rule written from round 12, labelled after
// those rules were committed and before classify() ran on it (docs/risk.md, "Eighth attempt").
describe('#21 classify on the 13th round, held out (frozen before the eighth attempt)', () => {
  it('#21 has 9 servers and 170 tools', () => {
    expect(thirteenth.tools).toBe(170);
    expect(new Set(corpus.filter((e) => THIRTEENTH_ROUND.has(e.server)).map((e) => e.server)).size).toBe(9);
  });

  // First and only held-out measurement: 0.918 and 0.776, the same before and after the eighth attempt's rules (paying
  // people for tasks: financial 0 of 5; coding agents). Round 13 then became tuning data: the floors are its figures
  // after the ninth attempt's rules, written from its misses (docs/risk.md, "Ninth attempt").
  it('#21 does not fall below its figures after the ninth attempt (category 0.95, exact risk 0.82)', () => {
    expect(thirteenth.categoryAccuracy).toBeGreaterThanOrEqual(0.95);
    expect(thirteenth.riskExact).toBeGreaterThanOrEqual(0.82);
    expect(thirteenth.criticalRatedLow).toEqual([]);
    expect(thirteenth.dangerousRatedRead).toEqual([]);
  });
});

// Round 14 (#21, ninth attempt): chosen, listed and committed before any rule written from round 13, labelled after
// those rules were committed and before classify() ran on it (docs/risk.md, "Ninth attempt").
describe('#21 classify on the 14th round, held out (frozen before the ninth attempt)', () => {
  it('#21 has 10 servers and 292 tools', () => {
    expect(fourteenth.tools).toBe(292);
    expect(new Set(corpus.filter((e) => FOURTEENTH_ROUND.has(e.server)).map((e) => e.server)).size).toBe(10);
  });

  // First and only held-out measurement: 0.890 and 0.777, the same before and after the ninth attempt's rules. Round
  // 14 then became tuning data: the floors are its figures after the tenth attempt's rules, written from its misses;
  // the two dangerous tools still rated read are security-alert reads that may show a secret (docs/risk.md, "Tenth
  // attempt").
  it('#21 does not fall below its figures after the tenth attempt (category 0.94, exact risk 0.82)', () => {
    expect(fourteenth.categoryAccuracy).toBeGreaterThanOrEqual(0.94);
    expect(fourteenth.riskExact).toBeGreaterThanOrEqual(0.82);
    expect(fourteenth.criticalRatedLow).toEqual([]);
    expect(fourteenth.dangerousRatedRead.length).toBeLessThanOrEqual(2);
  });
});

// Round 15 (#21, tenth attempt): chosen, listed and committed before any rule written from round 14, labelled after
// those rules were committed and before classify() ran on it (docs/risk.md, "Tenth attempt").
describe('#21 classify on the 15th round, held out (frozen before the tenth attempt)', () => {
  it('#21 has 8 servers and 228 tools', () => {
    expect(fifteenth.tools).toBe(228);
    expect(new Set(corpus.filter((e) => FIFTEENTH_ROUND.has(e.server)).map((e) => e.server)).size).toBe(8);
  });

  // First and only held-out measurement: 0.846 and 0.732 (0.842 and 0.728 before the tenth attempt's rules); six
  // dangerous tools rated read, all of one debugger whose modes are a union of objects with a constant `action` each.
  // Round 15 then became tuning data: the floors are its figures after the eleventh attempt's rules, written from its
  // misses (docs/risk.md, "Eleventh attempt").
  it('#21 does not fall below its figures after the eleventh attempt (category 0.91, exact risk 0.79)', () => {
    expect(fifteenth.categoryAccuracy).toBeGreaterThanOrEqual(0.91);
    expect(fifteenth.riskExact).toBeGreaterThanOrEqual(0.79);
    expect(fifteenth.criticalRatedLow).toEqual([]);
    expect(fifteenth.dangerousRatedRead.length).toBeLessThanOrEqual(1);
  });
});

// Round 16 (#21, eleventh attempt): chosen, listed and committed before any rule written from round 15, labelled after
// those rules were committed and before classify() ran on it (docs/risk.md, "Eleventh attempt").
describe('#21 classify on the 16th round, held out (frozen before the eleventh attempt)', () => {
  it('#21 has 7 servers and 145 tools', () => {
    expect(sixteenth.tools).toBe(145);
    expect(new Set(corpus.filter((e) => SIXTEENTH_ROUND.has(e.server)).map((e) => e.server)).size).toBe(7);
  });

  // First and only held-out measurement: 0.897 and 0.793, the same before and after the eleventh attempt's rules
  // (execute 1 of 6: a debugger's step and continue tools). Round 16 then became tuning data: the floors are its
  // figures after the twelfth attempt's rules, written from its misses (docs/risk.md, "Twelfth attempt").
  it('#21 does not fall below its figures after the twelfth attempt (category 0.95, exact risk 0.86)', () => {
    expect(sixteenth.categoryAccuracy).toBeGreaterThanOrEqual(0.95);
    expect(sixteenth.riskExact).toBeGreaterThanOrEqual(0.86);
    expect(sixteenth.criticalRatedLow).toEqual([]);
    expect(sixteenth.dangerousRatedRead).toEqual([]);
  });
});

// Round 17 (#21, twelfth attempt): chosen, listed and committed before any rule written from round 16, labelled after
// those rules were committed and before classify() ran on it (docs/risk.md, "Twelfth attempt").
describe('#21 classify on the 17th round, held out (frozen before the twelfth attempt)', () => {
  it('#21 has 8 servers and 188 tools', () => {
    expect(seventeenth.tools).toBe(188);
    expect(new Set(corpus.filter((e) => SEVENTEENTH_ROUND.has(e.server)).map((e) => e.server)).size).toBe(8);
  });

  // First and only held-out measurement: 0.878 and 0.761 (0.872 and 0.755 before the twelfth attempt's rules: one tool
  // moved, a debugger's `continue`). Round 17 then became tuning data: the floors are its figures after the thirteenth
  // attempt's rules, written from its misses (docs/risk.md, "Thirteenth attempt").
  it('#21 does not fall below its figures after the thirteenth attempt (category 0.95, exact risk 0.83)', () => {
    expect(seventeenth.categoryAccuracy).toBeGreaterThanOrEqual(0.95);
    expect(seventeenth.riskExact).toBeGreaterThanOrEqual(0.83);
    expect(seventeenth.criticalRatedLow).toEqual([]);
    expect(seventeenth.dangerousRatedRead).toEqual([]);
  });
});

// Round 18 (#21, thirteenth attempt): chosen, listed and committed before any rule written from round 17, labelled after
// those rules were committed and before classify() ran on it (docs/risk.md, "Thirteenth attempt").
describe('#21 classify on the 18th round, held out (frozen before the thirteenth attempt)', () => {
  it('#21 has 8 servers and 123 tools', () => {
    expect(eighteenth.tools).toBe(123);
    expect(new Set(corpus.filter((e) => EIGHTEENTH_ROUND.has(e.server)).map((e) => e.server)).size).toBe(8);
  });

  // First and only held-out measurement: 0.951 and 0.797 (the same before the thirteenth attempt's rules: no tool
  // moved). Round 18 then became tuning data: the floors are its figures after the fourteenth attempt's rules, written
  // from its misses (docs/risk.md, "Fourteenth attempt").
  it('#21 does not fall below its figures after the fourteenth attempt (category 0.98, exact risk 0.81)', () => {
    expect(eighteenth.categoryAccuracy).toBeGreaterThanOrEqual(0.98);
    expect(eighteenth.riskExact).toBeGreaterThanOrEqual(0.81);
    expect(eighteenth.criticalRatedLow).toEqual([]);
    expect(eighteenth.dangerousRatedRead).toEqual([]);
  });
});

// Round 19 (#21, fourteenth attempt): chosen, listed and committed before any rule written from round 18 was committed,
// labelled after those rules were committed and before classify() ran on it (docs/risk.md, "Fourteenth attempt").
describe('#21 classify on the 19th round, held out (frozen before the fourteenth attempt)', () => {
  it('#21 has 6 servers and 222 tools', () => {
    expect(nineteenth.tools).toBe(222);
    expect(new Set(corpus.filter((e) => NINETEENTH_ROUND.has(e.server)).map((e) => e.server)).size).toBe(6);
  });

  // First and only held-out measurement: 0.851 and 0.703 (the same before the fourteenth attempt's rules: no tool
  // moved), dangerous tools 32 of 53, three rated read. Round 19 then became tuning data: the floors are its figures
  // after the fifteenth attempt's rules, written from its misses (docs/risk.md, "Fifteenth attempt").
  it('#21 does not fall below its figures after the fifteenth attempt (category 0.89, exact risk 0.73)', () => {
    expect(nineteenth.categoryAccuracy).toBeGreaterThanOrEqual(0.89);
    expect(nineteenth.riskExact).toBeGreaterThanOrEqual(0.73);
    expect(nineteenth.criticalRatedLow).toEqual([]);
    expect(nineteenth.dangerousRatedRead.length).toBeLessThanOrEqual(3);
  });
});

// Round 20 (#21, fifteenth attempt): chosen, listed and committed before any rule written from round 19, labelled after
// those rules were committed and before classify() ran on it (docs/risk.md, "Fifteenth attempt").
describe('#21 classify on the 20th round, held out (frozen before the fifteenth attempt)', () => {
  it('#21 has 4 servers and 73 tools, and the corpus 188 servers', () => {
    expect(twentieth.tools).toBe(73);
    expect(new Set(corpus.filter((e) => TWENTIETH_ROUND.has(e.server)).map((e) => e.server)).size).toBe(4);
    expect(new Set(corpus.map((e) => e.server)).size).toBe(188);
  });

  // Floors: the first and only held-out measurement (0.959 and 0.658, the same before the fifteenth attempt's rules: no
  // tool moved). No critical tool rated low, no dangerous tool rated read.
  it('#21 does not fall below the measured category accuracy (0.95) and exact risk (0.65)', () => {
    expect(twentieth.categoryAccuracy).toBeGreaterThanOrEqual(0.95);
    expect(twentieth.riskExact).toBeGreaterThanOrEqual(0.65);
    expect(twentieth.criticalRatedLow).toEqual([]);
    expect(twentieth.dangerousRatedRead).toEqual([]);
  });
});
