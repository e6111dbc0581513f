// Fault injection: agents that read their event stream slowly, not at all, or go away in the middle of it. The
// gateway (a real `warden serve` process) keeps serving the others, and leaks no session, upstream call, upstream
// process or file descriptor once the misbehaving session is gone.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ServeProcess, serveCli, writeConfig } from '../helpers/cli.js';
import { connect, textOf } from '../helpers/gateway.js';
import {
  alive,
  faultyServer,
  fdCount,
  metric,
  peerPorts,
  rawCall,
  rawSession,
  sleep,
  until,
} from './helpers.js';

/** One tools/call on a raw session, read to the end; the text of the answer. */
async function call(url: string, sid: string, id: number, name: string, args: Record<string, unknown> = {}) {
  const res = await (await rawCall(url, sid, id, { name, arguments: args })).read();
  const m = /"text":("(?:[^"\\]|\\.)*")/.exec(res.slice(res.lastIndexOf('"result"')));
  return m === null ? res : (JSON.parse(m[1]!) as string);
}

describe('slow and vanishing clients', () => {
  let gw: ServeProcess;
  let pid: number;
  let url: string;

  beforeAll(async () => {
    gw = await serveCli(
      writeConfig(
        // isolation: session: a test below expects the reaped session's own upstream process to end with it.
        `mcpServers:\n  faulty:\n    ${faultyServer()}\n    isolation: session\nstorage: "sqlite::memory:"\nhttp: { sessionIdleTimeout: 2s }\n`,
      ),
    );
    pid = gw.child.pid!;
    url = `${gw.mcpUrl}/faulty`;
  });

  afterAll(async () => {
    await gw?.stop();
  });

  /** Sessions open and file descriptors of the gateway, once things have settled. */
  async function settled(sessions: number): Promise<{ sessions: number; fds: number }> {
    await until(async () => (await metric(gw.adminUrl, 'warden_sessions')) <= sessions, 15_000);
    return { sessions: await metric(gw.adminUrl, 'warden_sessions'), fds: fdCount(pid) };
  }

  it('finishes the upstream call of a client that disconnected mid-stream, then reaps its session and upstream', async () => {
    const before = await settled(0);
    const sid = await rawSession(url);
    const upstreamPid = Number(await call(url, sid, 1, 'pid'));
    expect(alive(upstreamPid)).toBe(true);
    // A call that streams log messages for a while; the client reads the start of it, then vanishes.
    const flood = await rawCall(url, sid, 2, { name: 'flood', arguments: { count: 20_000, kind: 'log' } });
    flood.socket.resume();
    await sleep(50);
    const gone = flood.socket.localPort!;
    expect(peerPorts(pid).has(gone)).toBe(true);
    flood.socket.destroy();
    // Another agent is served meanwhile.
    const other = await connect(url);
    expect(textOf(await other.callTool({ name: 'echo', arguments: { text: 'unaffected' } }))).toBe(
      'unaffected',
    );
    await other.close();
    // Disconnecting is not cancelling (Streamable HTTP): the upstream call runs to its end, then nothing is in flight.
    expect(await until(async () => JSON.parse(await call(url, sid, 3, 'stats')).active === 1, 20_000)).toBe(
      true,
    );
    // The abandoned session is closed when idle, with its upstream process; no descriptor is left behind.
    const after = await settled(0);
    expect(after.sessions).toBe(0);
    expect(await until(() => !alive(upstreamPid), 5000)).toBe(true);
    expect(peerPorts(pid).has(gone)).toBe(false);
    console.log(`[disconnect] gateway fds before ${before.fds}, after ${after.fds}`);
  }, 60_000);

  it('serves a client that reads its stream slowly to the end, and others meanwhile', async () => {
    const sid = await rawSession(url);
    const slow = await rawCall(url, sid, 1, {
      name: 'flood',
      arguments: { count: 5000, kind: 'log', bytes: 100 },
    });
    let received = 0;
    slow.socket.on('data', (d: Buffer) => {
      received += d.length;
    });
    // 16 KiB at a time, every 20 ms: about 800 KB/s. The pending pause is kept, so that stopping the reader cannot
    // leave the socket paused behind read() (a race that once hung this test on a loaded machine).
    let pausing: NodeJS.Timeout | undefined;
    const reader = setInterval(() => {
      slow.socket.resume();
      pausing = setTimeout(() => slow.socket.pause(), 1);
    }, 20);
    const other = await connect(url);
    for (let i = 0; i < 10; i++) {
      const t0 = performance.now();
      expect(textOf(await other.callTool({ name: 'echo', arguments: { text: `o${i}` } }))).toBe(`o${i}`);
      expect(performance.now() - t0).toBeLessThan(2000);
    }
    await other.close();
    clearInterval(reader);
    clearTimeout(pausing);
    slow.socket.resume();
    const text = await slow.read();
    expect(text).toContain('flooded 5000');
    expect(received + text.length).toBeGreaterThan(5000 * 100);
    await fetch(url, { method: 'DELETE', headers: { 'mcp-session-id': sid } });
  }, 60_000);

  // Finding (issue 11): the connection of a client that never read stayed open, with up to 4 MiB of unsent events,
  // after its session was closed (idle or deleted).
  it('releases the connection and memory of a client that never reads, once its session is gone', async () => {
    const before = await settled(0);
    const sid = await rawSession(url);
    // 20,000 messages of 1 KB: far more than the socket buffers hold; the client reads nothing, ever.
    const stuck = await rawCall(url, sid, 1, {
      name: 'flood',
      arguments: { count: 20_000, kind: 'log', bytes: 1000 },
    });
    const other = await connect(url);
    expect(textOf(await other.callTool({ name: 'echo', arguments: { text: 'fine' } }))).toBe('fine');
    await other.close();
    const port = stuck.socket.localPort!;
    const after = await settled(0);
    expect(after.sessions).toBe(0);
    console.log(
      `[never reads] gateway fds before ${before.fds}, after ${after.fds}; holds the connection: ${peerPorts(pid).has(port)}`,
    );
    expect(await until(() => !peerPorts(pid).has(port), 10_000)).toBe(true);
    stuck.socket.destroy();
  }, 60_000);
});
