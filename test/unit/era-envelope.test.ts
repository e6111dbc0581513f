// withoutEnvelope (src/era/wire.ts): what of a 2026 agent's _meta goes upstream.
import { describe, expect, it } from 'vitest';
import { withoutEnvelope } from '../../src/era/wire.js';

const ENVELOPE = {
  'io.modelcontextprotocol/protocolVersion': '2026-07-28',
  'io.modelcontextprotocol/clientCapabilities': { elicitation: {} },
  'io.modelcontextprotocol/clientInfo': { name: 'agent', version: '1' },
};

describe('withoutEnvelope', () => {
  it('#18.6.12 removes the three envelope keys and keeps the rest of _meta', () => {
    const params = {
      name: 'echo',
      arguments: { a: 1 },
      _meta: { ...ENVELOPE, progressToken: 7, other: 'x' },
    };
    expect(withoutEnvelope(params)).toEqual({
      name: 'echo',
      arguments: { a: 1 },
      _meta: { progressToken: 7, other: 'x' },
    });
    // The caller's object is not changed (the pipeline still reads the envelope from the request).
    expect(params._meta['io.modelcontextprotocol/clientInfo']).toEqual({ name: 'agent', version: '1' });
  });

  it('#18.6.12 drops a _meta that held only the envelope', () => {
    expect(withoutEnvelope({ name: 'echo', _meta: ENVELOPE })).toEqual({ name: 'echo' });
  });

  it('#18.6.12 returns params without an envelope as they are', () => {
    const params = { name: 'echo', _meta: { progressToken: 1 } };
    expect(withoutEnvelope(params)).toBe(params);
    expect(withoutEnvelope(undefined)).toBeUndefined();
  });

  it('#18.6.15 a "__proto__" key in params or _meta stays a plain field and never becomes the prototype', () => {
    const params = JSON.parse(
      `{"name":"echo","__proto__":{"polluted":1},"_meta":{"__proto__":{"polluted":2},"progressToken":3,"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}`,
    ) as Record<string, unknown>;
    const out = withoutEnvelope(params) as Record<string, any>;
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.getPrototypeOf(out._meta)).toBe(Object.prototype);
    expect(out.polluted).toBeUndefined();
    expect(out._meta.polluted).toBeUndefined();
    // Forwarded as the agent sent it (JSON.stringify writes own fields, "__proto__" included).
    expect(JSON.parse(JSON.stringify(out))).toEqual(
      JSON.parse(
        `{"name":"echo","__proto__":{"polluted":1},"_meta":{"__proto__":{"polluted":2},"progressToken":3}}`,
      ),
    );
  });
});
