// Fault injection: an upstream that floods notifications (100,000 progress or log messages in one call). The gateway
// (a real `warden serve` process, so that its memory can be read) stays responsive to other sessions, and its
// memory stays bounded, also when the flooded client does not read its stream at all.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ServeProcess, serveCli, writeConfig } from '../helpers/cli.js';
import { connect, textOf } from '../helpers/gateway.js';
import { faultyServer, rawCall, rawSession, rssKb, sleep } from './helpers.js';

const FLOOD = 100_000;

/** Latencies of echo calls made one after another on another session while `busy` runs. */
async function latenciesDuring(url: string, busy: Promise<unknown>): Promise<number[]> {
  const client = await connect(url);
  const out: number[] = [];
  let done = false;
  void busy.finally(() => {
    done = true;
  });
  while (!done) {
    const t0 = performance.now();
    const r = await client.callTool({ name: 'echo', arguments: { text: 'still here' } });
    out.push(performance.now() - t0);
    expect(textOf(r)).toBe('still here');
    await sleep(50);
  }
  await client.close();
  return out;
}

describe('an upstream that floods notifications', () => {
  let gw: ServeProcess;
  let pid: number;
  let baselineKb: number;

  beforeAll(async () => {
    gw = await serveCli(
      writeConfig(`mcpServers:\n  faulty:\n    ${faultyServer()}\nstorage: "sqlite::memory:"\n`),
    );
    pid = gw.child.pid!;
    // Warm up: one session, a few calls and a small flood, so that the baseline includes the code paths used.
    const warm = await connect(`${gw.mcpUrl}/faulty`);
    await warm.callTool({ name: 'flood', arguments: { count: 2000, kind: 'log' } });
    await warm.callTool({ name: 'flood', arguments: { count: 2000 } }, undefined, { onprogress: () => {} });
    await warm.close();
    await sleep(500);
    baselineKb = rssKb(pid);
  });

  afterAll(async () => {
    await gw?.stop();
  });

  it('relays a flood of 100,000 progress notifications in order and answers other sessions meanwhile', async () => {
    const client = await connect(`${gw.mcpUrl}/faulty`);
    let seen = 0;
    let last = 0;
    let ordered = true;
    let peakKb = 0;
    const sampler = setInterval(() => {
      peakKb = Math.max(peakKb, rssKb(pid));
    }, 100);
    const flood = client.callTool({ name: 'flood', arguments: { count: FLOOD } }, undefined, {
      onprogress: (p) => {
        seen++;
        if (p.progress <= last) ordered = false;
        last = p.progress;
      },
      timeout: 120_000,
    });
    const latencies = await latenciesDuring(`${gw.mcpUrl}/faulty`, flood);
    clearInterval(sampler);
    expect(textOf(await flood)).toBe(`flooded ${FLOOD}`);
    // All of them when the client keeps up; past MAX_UNREAD_BYTES unread, the gateway drops notifications rather
    // than buffer them (the answer is never dropped). What arrives is in order.
    expect(seen).toBeGreaterThan(1000);
    expect(seen).toBeLessThanOrEqual(FLOOD);
    expect(ordered).toBe(true);
    console.log(
      `[flood progress] baseline ${baselineKb} kB, peak ${peakKb} kB, relayed ${seen}, other-session calls ${latencies.length}, max ${Math.max(...latencies).toFixed(0)} ms`,
    );
    // Not starved: a session starved by the flood would wait for all of it. The bound is wide because the machine may
    // be busy (2011 ms was seen under a loaded CI run); speed itself is measured in the benchmarks.
    expect(Math.max(...latencies)).toBeLessThan(5000);
    expect(peakKb - baselineKb).toBeLessThan(100 * 1024);
    await client.close();
  }, 120_000);

  // Finding (issue 11): every notification for a client that did not read its stream was buffered in the gateway
  // (100,000 log messages of 330 bytes: +78 MB RSS, all of it handed over when the client finally read).
  it('does not buffer without bound for a client that does not read while it is flooded with 100,000 log messages', async () => {
    const url = `${gw.mcpUrl}/faulty`;
    const sid = await rawSession(url);
    let peakKb = 0;
    const sampler = setInterval(() => {
      peakKb = Math.max(peakKb, rssKb(pid));
    }, 100);
    const call = await rawCall(url, sid, 1, {
      name: 'flood',
      arguments: { count: FLOOD, kind: 'log', bytes: 200 },
    });
    // The upstream is done when its answer has been written: watch it from another session.
    const latencies = await latenciesDuring(url, sleep(15_000));
    clearInterval(sampler);
    console.log(
      `[flood unread] baseline ${baselineKb} kB, peak ${peakKb} kB, other-session max ${Math.max(...latencies).toFixed(0)} ms`,
    );
    expect(Math.max(...latencies)).toBeLessThan(2000);
    const text = await call.read();
    console.log(`[flood unread] client finally read ${text.length} bytes`);
    // The answer is there, after the notifications the stream could hold.
    expect(text).toContain('flooded 100000');
    expect(text.length).toBeLessThan(16 * 1024 * 1024);
    // Peak RSS over the warmed-up gateway, measured on 2026-11-29: 48-49.5 MB with the bound, 117 MB with it taken
    // out (all 33 MB of notifications held). Most of the 48 MB is transient heap from handling 100,000 messages; it
    // is relative to a baseline that fell by 40 MB when unused drivers stopped loading (the peak itself fell from
    // 143 to 128 MB), which is why this limit went from 48 to 80 MB. The read length above is the exact check.
    expect(peakKb - baselineKb).toBeLessThan(80 * 1024);
  }, 120_000);
});
