// #18.8: the official conformance suite's 2026-07-28 server scenarios (@modelcontextprotocol/conformance 0.2.0-alpha.12,
// installed as `conformance-next` beside the pinned 0.1.16) against warden serving a 2025 upstream (the conformance
// fixture over stdio) to the suite's 2026 client: warden's own 2026 wire and the bridge. The fixture speaks 2025 only,
// so the suite cannot be run against it directly in 2026 for comparison: every 2026 check that passes is warden's.
// test/conformance/baseline-2026.json records what passed and, per failure, why; a check that passed then must pass
// now, and a failure that is not in the baseline fails the test. WARDEN_WRITE_CONFORMANCE_BASELINE=1 rewrites it.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CheckDetail,
  CONFORMANCE_NEXT_BIN,
  CONFORMANCE_NEXT_VERSION,
  collectResults,
  runSuiteCli,
} from '../conformance/run-suite.js';
import { type ServeProcess, serveCli, writeConfig } from '../helpers/cli.js';
import { ROOT } from '../helpers/gateway.js';

const BASELINE = path.join(ROOT, 'test/conformance/baseline-2026.json');
const FIXTURE = path.join(ROOT, 'test/fixtures/conformance-server.ts');

interface Baseline {
  suite: string;
  target: string;
  pass: string[];
  fail: Record<string, string>;
}

/** Why a check failed, in one line: the fixture lacks what the scenario calls, or what the suite said. */
function reason(d: CheckDetail): string {
  const m = d.errorMessage ?? '';
  // The 2020-12 schema checks of this suite look for keywords the fixture's json_schema_2020_12_tool does not have
  // (no $anchor, allOf or if/then/else in test/fixtures/conformance-server.ts), not for keywords warden removed.
  if (d.id.startsWith('sep-2106-') && /likely stripped/.test(m))
    return `fixture lacks the keyword (its json_schema_2020_12_tool has none): ${m.slice(0, 120)}`;
  if (d.scenario.startsWith('tasks-'))
    return `warden does not serve the 2026 tasks extension (docs/eras.md): ${m.slice(0, 140)}`;
  if (
    /Unknown tool|Not testable|not testable|Prerequisite failed|Declared check .* is not testable|has no tools with/.test(
      m,
    )
  )
    return `fixture lacks the scenario's tool or feature: ${m.slice(0, 160)}`;
  return m.slice(0, 200) || 'failed';
}

let gw: ServeProcess;
let out: string;

describe('#18.8 conformance suite, 2026-07-28 server scenarios, through warden', () => {
  beforeAll(async () => {
    out = await mkdtemp(path.join(os.tmpdir(), 'warden-conformance-2026-'));
    gw = await serveCli(
      writeConfig(`
mcpServers:
  fixture:
    command: node
    args: ["--import", "tsx", ${JSON.stringify(FIXTURE)}, "--stdio"]
    cwd: ${JSON.stringify(ROOT)}
auth: { anonymous: true }
`),
    );
  }, 60_000);

  afterAll(async () => {
    await gw?.stop();
    if (out) await rm(out, { recursive: true, force: true });
  });

  it('#18.8.4 what passed when the baseline was recorded still passes; every failure is a known one', async () => {
    const url = `${gw.mcpUrl}/fixture`;
    // What the 2026-07-28 revision requires, and the stateless-server scenario (not in the requirement list).
    const runs = [
      ['server', '--url', url, '--requirements', '2026-07-28', '-o', out],
      ['server', '--url', url, '--spec-version', '2026-07-28', '--scenario', 'server-stateless', '-o', out],
    ];
    let output = '';
    for (const args of runs) output += (await runSuiteCli(args, 120_000, CONFORMANCE_NEXT_BIN)).output;
    const scenarios = [
      ...new Set([...output.matchAll(/=== Running scenario: (\S+) ===/g)].map((m) => m[1]!)),
    ];
    if (!scenarios.includes('server-stateless')) scenarios.push('server-stateless');
    expect(scenarios.length, output.slice(-2000)).toBeGreaterThan(40);
    const { results, details } = await collectResults(out, scenarios);
    const pass = [...results]
      .filter(([, s]) => s === 'pass')
      .map(([k]) => k)
      .sort();
    const fail = Object.fromEntries(
      [...results]
        .filter(([, s]) => s === 'fail')
        .map(([k]) => [k, reason(details.get(k)!)] as const)
        .sort(([a], [b]) => a.localeCompare(b)),
    );
    if (process.env.WARDEN_WRITE_CONFORMANCE_BASELINE === '1') {
      const baseline: Baseline = {
        suite: `@modelcontextprotocol/conformance ${CONFORMANCE_NEXT_VERSION}`,
        target: 'warden /mcp/fixture in front of test/fixtures/conformance-server.ts (2025, stdio)',
        pass,
        fail,
      };
      await writeFile(BASELINE, `${JSON.stringify(baseline, null, 2)}\n`);
    }
    const baseline = JSON.parse(await readFile(BASELINE, 'utf8')) as Baseline;
    expect(baseline.suite).toBe(`@modelcontextprotocol/conformance ${CONFORMANCE_NEXT_VERSION}`);
    const lost = baseline.pass.filter((k) => results.get(k) !== 'pass');
    expect(
      lost,
      `checks that passed in the baseline and do not now:\n${lost.map((k) => `${k}: ${details.get(k)?.errorMessage ?? results.get(k)}`).join('\n')}`,
    ).toEqual([]);
    const unknown = Object.keys(fail).filter((k) => !(k in baseline.fail));
    expect(unknown, `new failures:\n${unknown.map((k) => `${k}: ${fail[k]}`).join('\n')}`).toEqual([]);
    // The suite really exercised warden's 2026 path: the stateless checks and the header checks are among the passes.
    expect(pass).toContain('server-stateless/sep-2575-server-implements-discover');
    expect(pass.filter((k) => k.startsWith('http-header-validation/')).length).toBeGreaterThanOrEqual(5);
  }, 180_000);
});
