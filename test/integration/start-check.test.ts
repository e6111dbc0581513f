// The start-up check of `warden serve` lists every upstream in its own era (#18 part 2): a 2026-only HTTP upstream is
// asked server/discover and tools/list with the 2026 envelope (it used to be sent initialize and reported as "cannot be
// started or listed ... HTTP 400" although its calls worked); an `auto` upstream that is no 2026 server is listed in
// 2025; an upstream pinned to 2026 that is not one is reported.
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { resolveConfig } from '../../src/config/resolve.js';
import { forgetProbes } from '../../src/era/upstream-modern.js';
import { checkUpstreams } from '../../src/proxy/start-check.js';
import { ROOT, startHttpProbe, startModernFixture } from '../helpers/gateway.js';

const children: ChildProcess[] = [];
let modern: string;
let dual: string;
let legacy: string;

async function startModern(mode: 'modern' | 'dual'): Promise<string> {
  const { url, child } = await startModernFixture(mode);
  children.push(child);
  return url;
}

beforeAll(async () => {
  forgetProbes();
  [modern, dual] = await Promise.all([startModern('modern'), startModern('dual')]);
  const probe = await startHttpProbe();
  children.push(probe.child);
  legacy = probe.url;
}, 60_000);
afterAll(() => {
  for (const c of children) c.kill();
});

function specs(yaml: string) {
  return resolveConfig(parseConfig(`mcpServers:\n${yaml}`, 'warden.yaml')).upstreams;
}

describe('#18.2 start-up check in the upstream era', () => {
  it('#18.2.12 lists a 2026-only upstream, pinned or auto, without initialize; a 2025 one under auto in 2025', async () => {
    const listed = await checkUpstreams(
      specs(`  pinned:
    url: ${modern}
    protocol: "2026-07-28"
  auto2026:
    url: ${modern}
  dual:
    url: ${dual}
  old:
    url: ${legacy}
`),
    );
    const byId = Object.fromEntries(listed.map((l) => [l.server, l]));
    for (const id of ['pinned', 'auto2026', 'dual']) {
      expect(byId[id], id).not.toHaveProperty('error');
      expect(
        (byId[id] as unknown as { tools: Array<{ name: string }> }).tools.map((t) => t.name),
        id,
      ).toContain('route');
    }
    expect(byId.old).not.toHaveProperty('error');
    expect((byId.old as unknown as { tools: unknown[] }).tools.length).toBeGreaterThan(0);
  });

  it('#18.2.13 reports an upstream pinned to 2026 that is no 2026 server, saying why', async () => {
    const [l] = await checkUpstreams(specs(`  pinned:\n    url: ${legacy}\n    protocol: "2026-07-28"\n`));
    expect(l).toHaveProperty('error');
    expect((l as { error: string }).error).toMatch(/server\/discover/);
  });
});

describe('#18.2 a 2026-only stdio upstream', () => {
  const MODERN = join(ROOT, 'test/fixtures/modern-server.ts');
  const stdio = (mode: string, protocol?: string) => `    command: node
    args: ["--import", "tsx", "${MODERN}", "${mode}", "--stdio"]
    cwd: ${ROOT}
${protocol === undefined ? '' : `    protocol: "${protocol}"\n`}`;

  it('#18.2.20 pinned to 2026 it is listed in 2026; a dual-era stdio server under auto in 2025; a 2026-only one under auto is reported', async () => {
    const listed = await checkUpstreams(
      specs(
        `  pinned:\n${stdio('modern', '2026-07-28')}  dual:\n${stdio('dual')}  unpinned:\n${stdio('modern')}`,
      ),
    );
    const byId = Object.fromEntries(listed.map((l) => [l.server, l])) as Record<string, any>;
    expect(byId.pinned).not.toHaveProperty('error');
    expect(byId.pinned.tools.map((t: { name: string }) => t.name)).toContain('route');
    expect(byId.dual).not.toHaveProperty('error');
    expect(byId.dual.tools.map((t: { name: string }) => t.name)).toContain('route');
    // A stdio server is opened with initialize unless pinned (no probe before it): a 2026-only one says why it fails.
    expect(byId.unpinned.error).toMatch(/Unsupported protocol version|initialize failed/);
  }, 60_000);

  it('#18.2.21 protocol 2026-07-28 is accepted on stdio and refused on legacy SSE', () => {
    expect(specs(`  s:\n${stdio('modern', '2026-07-28')}`)[0]?.protocol).toBe('2026-07-28');
    expect(() =>
      specs(`  legacy:\n    url: http://127.0.0.1:9/sse\n    type: sse\n    protocol: "2026-07-28"\n`),
    ).toThrow(/not legacy SSE/);
  });
});
