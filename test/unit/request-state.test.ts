// The sealed requestState of 2026 round trips (#18.4): it opens only under its key, unchanged, before its expiry.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import {
  isWardenState,
  type RequestState,
  RequestStateSealer,
  STATE_PREFIX,
  stateFingerprint,
  stateKeyFrom,
} from '../../src/era/request-state.js';

const KEY = Buffer.alloc(32, 7);
const T = 1_800_000_000_000;

function state(more: Partial<RequestState> = {}): RequestState {
  return {
    kind: 'approval',
    approval: 'apr_0001',
    fingerprint: stateFingerprint('f'.repeat(64), 'alice'),
    expiresAt: T + 60_000,
    round: { of: 'apr_0001', n: 2 },
    upstream: undefined,
    ...more,
  };
}

describe('RequestStateSealer', () => {
  it('opens what it sealed, field for field', () => {
    const s = new RequestStateSealer(KEY, () => T);
    const sealed = s.seal(state({ upstream: 'upstream-own-state' }));
    expect(sealed.startsWith(STATE_PREFIX)).toBe(true);
    expect(s.open(sealed)).toEqual({ ok: true, state: state({ upstream: 'upstream-own-state' }) });
  });

  it('#18.4.1 refuses a state whose payload was changed (another approval id)', () => {
    const s = new RequestStateSealer(KEY, () => T);
    const sealed = s.seal(state());
    const [payload, mac] = sealed.slice(STATE_PREFIX.length).split('.') as [string, string];
    const body = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    body.a = 'apr_0002';
    const forged = `${STATE_PREFIX}${Buffer.from(JSON.stringify(body)).toString('base64url')}.${mac}`;
    expect(s.open(forged)).toEqual({ ok: false, why: 'forged' });
  });

  it('#18.4.2 refuses a state whose MAC was changed or padded', () => {
    const s = new RequestStateSealer(KEY, () => T);
    const sealed = s.seal(state());
    const flipped = sealed.slice(0, -1) + (sealed.endsWith('A') ? 'B' : 'A');
    expect(s.open(flipped).ok).toBe(false);
    expect(s.open(`${sealed}=`).ok).toBe(false);
    expect(s.open(`${sealed}.x`)).toEqual({ ok: false, why: 'malformed' });
  });

  it('#18.4.3 refuses a state sealed under another key', () => {
    const other = new RequestStateSealer(Buffer.alloc(32, 8), () => T);
    const s = new RequestStateSealer(KEY, () => T);
    expect(s.open(other.seal(state()))).toEqual({ ok: false, why: 'forged' });
  });

  it('#18.4.4 refuses a state at and after its expiry', () => {
    let now = T;
    const s = new RequestStateSealer(KEY, () => now);
    const sealed = s.seal(state());
    now = T + 59_999;
    expect(s.open(sealed).ok).toBe(true);
    now = T + 60_000;
    expect(s.open(sealed)).toEqual({ ok: false, why: 'expired', state: state() });
  });

  it('refuses what is not a warden state', () => {
    const s = new RequestStateSealer(KEY, () => T);
    for (const v of ['upstream-state', '', 42, undefined, `${STATE_PREFIX}`, `${STATE_PREFIX}.`])
      expect(s.open(v).ok).toBe(false);
    expect(isWardenState('upstream-state')).toBe(false);
  });

  it('refuses a key shorter than 32 bytes', () => {
    expect(() => new RequestStateSealer(Buffer.alloc(16))).toThrow(/32 bytes/);
  });
});

describe('stateFingerprint', () => {
  it('differs per OAuth subject behind the same call', () => {
    const f = 'a'.repeat(64);
    expect(stateFingerprint(f, 'alice')).not.toBe(stateFingerprint(f, 'bob'));
    expect(stateFingerprint(f, undefined)).not.toBe(stateFingerprint(f, 'alice'));
  });
});

describe('stateKeyFrom', () => {
  it('uses the configured key, else a generated one', () => {
    expect(stateKeyFrom({ stateKey: 'k'.repeat(40) })).toEqual({
      key: Buffer.from('k'.repeat(40)),
      generated: false,
    });
    const g = stateKeyFrom({});
    expect(g.generated).toBe(true);
    expect(g.key.length).toBe(32);
  });
});

describe('approvals.stateKey in the config', () => {
  it('refuses a key shorter than 32 characters, naming the path', () => {
    expect(() =>
      parseConfig('mcpServers: {}\napprovals:\n  stateKey: too-short\n', '/tmp/warden.yaml'),
    ).toThrow(/approvals\.stateKey/);
  });

  it('refuses stateKey and stateKeyFile together', () => {
    expect(() =>
      parseConfig(
        `mcpServers: {}\napprovals:\n  stateKey: ${'k'.repeat(40)}\n  stateKeyFile: /etc/key\n`,
        '/tmp/warden.yaml',
      ),
    ).toThrow(/not both/);
  });
});
