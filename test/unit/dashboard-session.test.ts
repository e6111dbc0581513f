// Dashboard log-ins: expiry when idle and in all, what counts as use, the per-token cap, cookie attributes.
import { describe, expect, it } from 'vitest';
import { DashboardSessions, SESSION_COOKIE } from '../../src/dashboard/session.js';

function clock() {
  const c = { t: 1_000_000, now: () => c.t };
  return c;
}
const cookieOf = (id: string) => `other=1; ${SESSION_COOKIE}=${id}`;

describe('DashboardSessions', () => {
  it('ends a session unused for the idle time; looking at it (peek) is not use, touch is', () => {
    const c = clock();
    const sessions = new DashboardSessions({ idleMs: 1000, now: c.now });
    const s = sessions.create('token');
    c.t += 900;
    expect(sessions.peek(cookieOf(s.id))).toBe(s);
    c.t += 200; // 1,100 ms since the last use: peeking did not count
    expect(sessions.peek(cookieOf(s.id))).toBeUndefined();
    const t = sessions.create('token');
    c.t += 900;
    sessions.touch(t);
    c.t += 900;
    expect(sessions.peek(cookieOf(t.id))).toBe(t);
  });

  it('ends a session at its maximum age however much it is used', () => {
    const c = clock();
    const sessions = new DashboardSessions({ idleMs: 1000, maxAgeMs: 2500, now: c.now });
    const s = sessions.create('token');
    for (let i = 0; i < 3; i++) {
      c.t += 800;
      expect(sessions.peek(cookieOf(s.id))).toBe(s);
      sessions.touch(s);
    }
    c.t += 800; // 3,200 ms since log-in, 800 since the last use
    expect(sessions.peek(cookieOf(s.id))).toBeUndefined();
  });

  it('keeps at most perToken sessions per admin token, dropping that token’s oldest only', () => {
    const sessions = new DashboardSessions({ perToken: 3 });
    const other = sessions.create('admin');
    const mine = Array.from({ length: 5 }, () => sessions.create('viewer'));
    expect(mine.map((s) => sessions.peek(cookieOf(s.id)) !== undefined)).toEqual([
      false,
      false,
      true,
      true,
      true,
    ]);
    expect(sessions.peek(cookieOf(other.id))).toBe(other);
  });

  it('compares the CSRF token exactly, and never matches a missing or repeated header', () => {
    const sessions = new DashboardSessions();
    const s = sessions.create('token');
    expect(sessions.csrfMatches(s, s.csrf)).toBe(true);
    expect(sessions.csrfMatches(s, `${s.csrf}x`)).toBe(false);
    expect(sessions.csrfMatches(s, undefined)).toBe(false);
    expect(sessions.csrfMatches(s, [s.csrf, s.csrf])).toBe(false);
  });

  it('writes the cookie HttpOnly and SameSite=Strict, Secure over HTTPS, and clears it with Max-Age=0', () => {
    const sessions = new DashboardSessions({ maxAgeMs: 3_600_000 });
    const s = sessions.create('token');
    expect(sessions.cookie(s)).toBe(
      `${SESSION_COOKIE}=${s.id}; Path=/; HttpOnly; SameSite=Strict; Max-Age=3600`,
    );
    expect(sessions.cookie(s, true)).toContain('; SameSite=Strict; Secure; Max-Age=3600');
    expect(sessions.cookie(undefined)).toBe(
      `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`,
    );
  });
});
