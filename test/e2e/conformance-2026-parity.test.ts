// #18.8.5: gateway parity in the 2026 era. The official suite's 2026-07-28 server scenarios (conformance-next) run
// against a 2026-only upstream built with the SDK v2 (test/fixtures/modern-server.ts) directly, and against warden's
// /mcp/modern in front of it (an HTTP upstream pinned to protocol 2026-07-28). Every check that passes directly must
// pass through warden, and every check that fails through warden must fail directly too, except the known gaps below,
// each with its reason (docs/eras.md, test/conformance/README.md).
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CheckStatus,
  CONFORMANCE_NEXT_BIN,
  collectResults,
  runSuiteCli,
} from '../conformance/run-suite.js';
import { type ServeProcess, serveCli, writeConfig } from '../helpers/cli.js';
import { startModernFixture } from '../helpers/gateway.js';

/**
 * Checks that pass directly and fail through warden, with the reason. A gap that closes only warns (refresh the
 * list); a new one fails the test.
 */
const KNOWN_GAPS: Record<string, string> = {
  // Empty since warden checks the Mcp-Param-* headers of agents itself (#18.8.6-11, src/pipeline/param-headers.ts).
};

function startModern(): Promise<{ url: string; child: ChildProcess }> {
  return startModernFixture('modern');
}

/** Runs what the 2026-07-28 revision requires against `url`; every check keyed `<scenario>/<check id>`. */
async function run2026(url: string, out: string): Promise<Map<string, CheckStatus>> {
  const { output } = await runSuiteCli(
    ['server', '--url', url, '--requirements', '2026-07-28', '-o', out],
    120_000,
    CONFORMANCE_NEXT_BIN,
  );
  const scenarios = [...new Set([...output.matchAll(/=== Running scenario: (\S+) ===/g)].map((m) => m[1]!))];
  expect(scenarios.length, output.slice(-2000)).toBeGreaterThan(40);
  return (await collectResults(out, scenarios)).results;
}

let fixture: { url: string; child: ChildProcess };
let gw: ServeProcess;
let tmp: string;

describe('#18.8.5 conformance suite, 2026-07-28 scenarios, warden against a 2026 upstream directly', () => {
  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'warden-conformance-2026-parity-'));
    fixture = await startModern();
    gw = await serveCli(
      writeConfig(`
mcpServers:
  modern:
    url: ${fixture.url}
    protocol: 2026-07-28
auth: { anonymous: true }
`),
    );
  }, 60_000);

  afterAll(async () => {
    await gw?.stop();
    fixture?.child.kill();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('#18.8.5 every check that passes directly passes through warden, and warden fails nothing the upstream passes but the known gaps', async () => {
    const direct = await run2026(fixture.url, path.join(tmp, 'direct'));
    const through = await run2026(`${gw.mcpUrl}/modern`, path.join(tmp, 'warden'));
    const passDirect = [...direct].filter(([, s]) => s === 'pass').map(([k]) => k);
    // The comparison is not empty: the stateless and header scenarios pass against the SDK v2 server.
    expect(passDirect.length).toBeGreaterThan(60);
    expect(direct.get('server-stateless/sep-2575-server-implements-discover')).toBe('pass');

    // A check that is INFO through warden ("not applicable") is not a loss; anything else short of a pass is.
    const lost = passDirect.filter((k) => !['pass', 'info'].includes(through.get(k) ?? 'missing'));
    const unexplained = lost
      .filter((k) => !(k in KNOWN_GAPS))
      .map((k) => `${k}: ${through.get(k) ?? 'missing'}`);
    expect(unexplained, 'checks that pass directly and not through warden').toEqual([]);
    const closed = Object.keys(KNOWN_GAPS).filter((k) => !lost.includes(k));
    if (closed.length > 0)
      console.warn(`#18.8.5 known gaps that now pass through warden: ${closed.join(', ')}`);

    // Warden adds no failure of its own beyond the known gaps: what fails through it fails directly too.
    const extra = [...through]
      .filter(([k, s]) => s === 'fail' && direct.get(k) !== 'fail' && !(k in KNOWN_GAPS))
      .map(([k]) => `${k}: directly ${direct.get(k) ?? 'missing'}`);
    expect(extra, 'checks that fail only through warden').toEqual([]);
  }, 200_000);
});
