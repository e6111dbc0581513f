// UpstreamPool: which leases share a link, when links close, and a link that never started (real stdio fixture).
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { Isolation, UpstreamSpec } from '../../src/config/resolve.js';
import type { Identity } from '../../src/identity/authenticate.js';
import { grantKey, UpstreamPool } from '../../src/proxy/pool.js';
import { ROOT } from '../helpers/gateway.js';

const FIXTURE = join(ROOT, 'test/fixtures/isolation-server.ts');
const log = pino({ level: 'silent' });

function spec(id: string, isolation: Isolation, idleMs = 50, command = process.execPath): UpstreamSpec {
  return {
    id,
    prefix: id,
    kind: 'stdio',
    command,
    args: ['--import', 'tsx', FIXTURE],
    env: {},
    cwd: ROOT,
    headers: {},
    timeoutMs: 10_000,
    startTimeoutMs: 20_000,
    isolation,
    idleMs,
  };
}

const anonymous: Identity = { grant: undefined };
const grantOf = (label: string) => ({ grant: { id: `id-${label}`, label } }) as unknown as Identity;

async function until(fn: () => boolean, timeoutMs = 5000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

describe('UpstreamPool', () => {
  let pool: UpstreamPool | undefined;
  afterEach(async () => {
    await pool?.close();
  });

  it('gives the leases of one grant one link, and another grant a link of its own', async () => {
    const s = spec('g', 'grant');
    pool = new UpstreamPool({ upstreams: [s], log });
    const a = pool.acquire('g', grantOf('alice'));
    const b = pool.acquire('g', grantOf('alice'));
    const c = pool.acquire('g', grantOf('bob'));
    await Promise.all([a.ready, b.ready, c.ready]);
    expect(a.link).toBe(b.link);
    expect(c.link).not.toBe(a.link);
    expect(pool.linkCount('g')).toBe(2);
  });

  it('counts anonymous agents as one grant, distinct from every named grant', () => {
    expect(grantKey(anonymous)).toBe(grantKey({ grant: undefined }));
    expect(grantKey(anonymous)).not.toBe(grantKey(grantOf('anonymous')));
  });

  it('gives every lease a link of its own under isolation session, closed as soon as it is released', async () => {
    pool = new UpstreamPool({ upstreams: [spec('s', 'session', 60_000)], log });
    const a = pool.acquire('s', anonymous);
    const b = pool.acquire('s', anonymous);
    await Promise.all([a.ready, b.ready]);
    expect(a.link).not.toBe(b.link);
    await a.release();
    expect(a.link.ready).toBe(false);
    expect(pool.linkCount('s')).toBe(1);
  });

  it('shares one link among all identities under isolation shared', async () => {
    pool = new UpstreamPool({ upstreams: [spec('all', 'shared')], log });
    const a = pool.acquire('all', grantOf('alice'));
    const b = pool.acquire('all', anonymous);
    await Promise.all([a.ready, b.ready]);
    expect(a.link).toBe(b.link);
  });

  it('keeps a released link for idleMs and hands it to a lease that comes meanwhile', async () => {
    pool = new UpstreamPool({ upstreams: [spec('k', 'grant', 2000)], log });
    const a = pool.acquire('k', anonymous);
    await a.ready;
    await a.release();
    const b = pool.acquire('k', anonymous);
    expect(b.link).toBe(a.link);
    expect(b.link.ready).toBe(true);
  });

  it('closes a link no lease holds once idleMs has passed', async () => {
    pool = new UpstreamPool({ upstreams: [spec('i', 'grant', 50)], log });
    const a = pool.acquire('i', anonymous);
    await a.ready;
    await a.release();
    expect(await until(() => pool!.linkCount('i') === 0)).toBe(true);
    expect(a.link.ready).toBe(false);
  });

  it('releases a lease once only: a second release does not drop another holder', async () => {
    pool = new UpstreamPool({ upstreams: [spec('r', 'grant', 50)], log });
    const a = pool.acquire('r', anonymous);
    const b = pool.acquire('r', anonymous);
    await a.ready;
    await a.release();
    await a.release();
    await new Promise((r) => setTimeout(r, 200));
    expect(b.link.ready).toBe(true);
    expect(pool.linkCount('r')).toBe(1);
  });

  it('drops a link that failed to start, so the next lease starts afresh', async () => {
    pool = new UpstreamPool({
      upstreams: [spec('bad', 'shared', 60_000, '/nonexistent/warden-test-binary')],
      log,
    });
    const a = pool.acquire('bad', anonymous);
    await expect(a.ready).rejects.toThrow();
    const b = pool.acquire('bad', anonymous);
    expect(b.link).not.toBe(a.link);
    await expect(b.ready).rejects.toThrow();
  });

  it('gives agents that declared different capabilities or protocol versions links of their own', async () => {
    pool = new UpstreamPool({ upstreams: [spec('caps', 'shared')], log });
    const init = (capabilities: Record<string, unknown>, protocolVersion = '2025-11-25') => ({
      protocolVersion,
      capabilities,
      clientInfo: { name: 't', version: '1' },
    });
    const a = pool.acquire('caps', anonymous, { initParams: init({ elicitation: {}, sampling: {} }) });
    const b = pool.acquire('caps', anonymous, {
      initParams: init({ sampling: {}, elicitation: {}, roots: {} }),
    });
    const c = pool.acquire('caps', anonymous, { initParams: init({ sampling: {} }) });
    const d = pool.acquire('caps', anonymous, {
      initParams: init({ elicitation: {}, sampling: {} }, '2025-06-18'),
    });
    await Promise.all([a.ready, b.ready, c.ready, d.ready]);
    expect(b.link).toBe(a.link);
    expect(c.link).not.toBe(a.link);
    expect(d.link).not.toBe(a.link);
    expect(pool.linkCount('caps')).toBe(3);
  });

  it('refuses an unknown server', () => {
    pool = new UpstreamPool({ upstreams: [], log });
    expect(() => pool!.acquire('nope', anonymous)).toThrow(/unknown upstream server nope/);
  });
});

describe('UpstreamPool.acquire without an agent session (2026 stateless requests)', () => {
  it('refuses what the upstream asks a lease that has no agent to ask, and the call still gets its answer', async () => {
    const pool = new UpstreamPool({ upstreams: [spec('stateless', 'grant')], log });
    try {
      const lease = pool.acquire('stateless', anonymous);
      await lease.ready;
      const call = lease.link.call('tools/call', { name: 'ask', arguments: { question: 'anyone?' } });
      const response = await call.response;
      const text = JSON.stringify(response);
      expect(text).not.toContain('"action":"accept"');
      expect(text).toMatch(/cannot tell which agent|error/i);
      await lease.release();
    } finally {
      await pool.close();
    }
  });
});
