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

/**
 * The rounds from the 8th on (#21): each chosen, listed and committed before the attempt named, labelled before
 * classify() ran on it, measured once at first sight (`first`), and from then on tuning data for the next attempt. The
 * floors are its figures after the rules written from its misses (`floors` says which), the last round's its first
 * measurement (docs/risk.md, a section per attempt).
 */
interface FrozenRound {
  round: string;
  frozenBefore: string;
  servers: number;
  tools: number;
  first: string;
  floors: string;
  category: number;
  risk: number;
  /** The dangerous tools still rated read: these exactly, or at most so many. */
  dangerousRatedRead: string[] | { atMost: number };
  /** The critical tools rated low: these exactly (none in any round before the 21st). */
  criticalRatedLow?: string[];
}
const FROZEN_ROUNDS: FrozenRound[] = [
  {
    round: '8',
    frozenBefore: 'third',
    servers: 5,
    tools: 80,
    first: '0.763 and 0.813 before the third attempt, 0.775 and 0.813 after',
    floors: 'after the fifth attempt, written from rounds 8 and 9',
    category: 0.82,
    risk: 0.87,
    dangerousRatedRead: { atMost: 1 },
  },
  {
    round: '9',
    frozenBefore: 'fourth',
    servers: 10,
    tools: 303,
    first: '0.875 and 0.653, 7 dangerous rated read',
    floors: 'after the fifth attempt',
    category: 0.91,
    risk: 0.67,
    dangerousRatedRead: [],
  },
  {
    round: '10',
    frozenBefore: 'fifth',
    servers: 10,
    tools: 230,
    first: '0.904 and 0.752, the same before and after the fifth attempt',
    floors: 'after the sixth attempt',
    category: 0.96,
    risk: 0.85,
    dangerousRatedRead: [],
  },
  {
    round: '11',
    frozenBefore: 'sixth',
    servers: 12,
    tools: 301,
    first:
      "0.714 and 0.608: Azure's command routers read as code runners, environment variables and invitation links as settings",
    floors: 'after the seventh attempt; the invitation link (a Japanese description) is still read as a read',
    category: 0.84,
    risk: 0.7,
    dangerousRatedRead: ['chatwork/get_room_link'],
  },
  {
    round: '12',
    frozenBefore: 'seventh',
    servers: 11,
    tools: 246,
    first: '0.813 and 0.715: token transfers with no known verb, credentials passed as parameters',
    floors: 'after the eighth attempt; the agent identity that returns an API key says so in Chinese',
    category: 0.93,
    risk: 0.8,
    dangerousRatedRead: ['humanagent/get_agent_identity'],
  },
  {
    round: '13',
    frozenBefore: 'eighth',
    servers: 9,
    tools: 170,
    first: '0.918 and 0.776: paying people for tasks, financial 0 of 5; coding agents',
    floors: 'after the ninth attempt',
    category: 0.95,
    risk: 0.82,
    dangerousRatedRead: [],
  },
  {
    round: '14',
    frozenBefore: 'ninth',
    servers: 10,
    tools: 292,
    first: '0.890 and 0.777',
    floors:
      'after the tenth attempt; two security-alert reads that may show a secret are still read as reads',
    category: 0.94,
    risk: 0.82,
    dangerousRatedRead: { atMost: 2 },
  },
  {
    round: '15',
    frozenBefore: 'tenth',
    servers: 8,
    tools: 228,
    first: "0.846 and 0.732; six dangerous tools rated read, all of one debugger's union-typed modes",
    floors: 'after the eleventh attempt',
    category: 0.91,
    risk: 0.79,
    dangerousRatedRead: { atMost: 1 },
  },
  {
    round: '16',
    frozenBefore: 'eleventh',
    servers: 7,
    tools: 145,
    first: "0.897 and 0.793: execute 1 of 6, a debugger's step and continue",
    floors: 'after the twelfth attempt',
    category: 0.95,
    risk: 0.86,
    dangerousRatedRead: [],
  },
  {
    round: '17',
    frozenBefore: 'twelfth',
    servers: 8,
    tools: 188,
    first:
      "0.878 and 0.761 (0.872 and 0.755 before the twelfth attempt: one tool moved, a debugger's continue)",
    // 0.83 until the sixteenth attempt: a screenshot saved to a path it is given now reads as a possible overwrite
    // (rule 3), labelled read/low.
    floors: 'after the sixteenth attempt',
    category: 0.95,
    risk: 0.82,
    dangerousRatedRead: [],
  },
  {
    round: '18',
    frozenBefore: 'thirteenth',
    servers: 8,
    tools: 123,
    first: '0.951 and 0.797, no tool moved by the thirteenth attempt',
    floors: 'after the fourteenth attempt',
    category: 0.98,
    risk: 0.81,
    dangerousRatedRead: [],
  },
  {
    round: '19',
    frozenBefore: 'fourteenth',
    servers: 6,
    tools: 222,
    first: '0.851 and 0.703, no tool moved by the fourteenth attempt; dangerous 32 of 53, three rated read',
    floors: 'after the fifteenth attempt',
    category: 0.89,
    risk: 0.73,
    dangerousRatedRead: { atMost: 3 },
  },
  {
    round: '20',
    frozenBefore: 'fifteenth',
    servers: 4,
    tools: 73,
    first: '0.959 and 0.658, no tool moved by the fifteenth attempt',
    // 0.95 and 0.65 until the sixteenth attempt, written from this round.
    floors: 'after the sixteenth attempt',
    category: 0.98,
    risk: 0.75,
    dangerousRatedRead: [],
  },
  {
    round: '21',
    frozenBefore: 'sixteenth',
    servers: 6,
    tools: 308,
    first:
      '0.825 and 0.630, no tool moved by the sixteenth attempt; dangerous 47 of 77, two critical rated low',
    // 0.82 and 0.63 until the seventeenth attempt, written from this round; two dangerous tools rated read and two
    // critical rated low at first sight (`card-issuing-get-full`, `analytics-get-verifications`; `accounts-connect`,
    // `accounts-disconnect`).
    floors: 'after the seventeenth attempt',
    category: 0.9,
    risk: 0.76,
    dangerousRatedRead: [],
  },
  {
    round: '22',
    frozenBefore: 'seventeenth',
    servers: 3,
    tools: 345,
    first:
      '0.843 and 0.699, no tool moved by the seventeenth attempt; dangerous 74 of 98, six rated read (db_connection_info, activity_cleanup, mb_embed_url_generate, mb_card_data, environments-list, rerequestCheck)',
    // 0.84 and 0.69 until the eighteenth attempt, written from this round.
    floors: 'after the eighteenth attempt',
    category: 0.88,
    risk: 0.75,
    dangerousRatedRead: [
      'metabase-ai/db_connection_info',
      'metabase-ai/activity_cleanup',
      'metabase-ai/mb_embed_url_generate',
    ],
  },
  {
    round: '23',
    frozenBefore: 'eighteenth',
    servers: 6,
    tools: 243,
    first:
      '0.901 and 0.716, no tool moved by the eighteenth attempt; dangerous 33 of 41, two rated read (codacy_cli_analyze, emit_test_event)',
    // 0.90 and 0.71 until the nineteenth attempt, written from this round.
    floors: 'after the nineteenth attempt',
    category: 0.93,
    risk: 0.78,
    dangerousRatedRead: ['popdb/emit_test_event'],
  },
  {
    round: '24',
    frozenBefore: 'nineteenth',
    servers: 2,
    tools: 279,
    first:
      '0.814 and 0.505, no tool moved by the nineteenth attempt; dangerous 24 of 44 (financial 2 of 18), one critical rated low (payrolls_generate-printable-checks)',
    // 0.81 and 0.50 until the twentieth attempt, written from this round.
    floors: 'after the twentieth attempt',
    category: 0.91,
    risk: 0.62,
    dangerousRatedRead: [
      'gusto/company-attachment_get-download-url',
      'gusto/payrolls_generate-printable-checks',
    ],
  },
  {
    round: '25',
    frozenBefore: 'twentieth',
    servers: 1,
    tools: 182,
    first:
      '0.654 and 0.445, no tool moved by the twentieth attempt; descriptions in French: 53 tools with no verb read (other/low); dangerous 23 of 26',
    // 0.65 and 0.44 until the twenty-first attempt, written from this round.
    floors: 'after the twenty-first attempt',
    category: 0.93,
    risk: 0.62,
    dangerousRatedRead: [],
  },
  {
    round: '26',
    frozenBefore: 'twenty-first',
    servers: 4,
    tools: 127,
    first: '0.953 and 0.835, no tool moved by the twenty-first attempt; dangerous 17 of 20, one rated read',
    floors: 'the first measurement',
    category: 0.95,
    risk: 0.83,
    dangerousRatedRead: ['fabric/onelake_download-file'],
  },
];
const roundScores = (round: string) => score(corpus.filter((e) => rounds[round]!.includes(e.server)));

if (process.env.RISK_REPORT) {
  process.stderr.write(
    `${report('rounds 1 to 4', all)}\n\n${report('tuning part', tuned)}\n\n${report('held out', heldOut)}\n\n${report('5th round, held out', fifth)}\n\n${report('6th round, held out', sixth)}\n\n${report('7th round, held out', seventh)}\n\n${report('5th to 7th rounds', unseen)}\n\n${FROZEN_ROUNDS.map((r) => report(`round ${r.round}, held out`, roundScores(r.round))).join('\n\n')}\n`,
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

for (const r of FROZEN_ROUNDS) {
  describe(`#21 classify on round ${r.round}, held out (frozen before the ${r.frozenBefore} attempt)`, () => {
    const s = roundScores(r.round);
    it(`#21 has ${r.servers} servers and ${r.tools} tools`, () => {
      expect(s.tools).toBe(r.tools);
      expect(
        new Set(corpus.filter((e) => rounds[r.round]!.includes(e.server)).map((e) => e.server)).size,
      ).toBe(r.servers);
    });

    it(`#21 does not fall below category accuracy ${r.category} and exact risk ${r.risk} (${r.floors})`, () => {
      expect(s.categoryAccuracy).toBeGreaterThanOrEqual(r.category);
      expect(s.riskExact).toBeGreaterThanOrEqual(r.risk);
      expect(s.criticalRatedLow).toEqual(r.criticalRatedLow ?? []);
      if (Array.isArray(r.dangerousRatedRead)) expect(s.dangerousRatedRead).toEqual(r.dangerousRatedRead);
      else expect(s.dangerousRatedRead.length).toBeLessThanOrEqual(r.dangerousRatedRead.atMost);
    });
  });
}

describe('#21 the corpus after round 26', () => {
  it('#21 has 210 servers', () => {
    expect(new Set(corpus.map((e) => e.server)).size).toBe(210);
  });
});
