// A glob-looking name in an Intercept file is an exact name there (#17.28): the name warnings say so (#17.26).
import { describe, expect, it } from 'vitest';
import { parsePolicyText } from '../../src/config/policy-file.js';
import { unknownToolNames } from '../../src/config/policy-lint.js';

function loaded(text: string, source: string) {
  const { policy, problems } = parsePolicyText(text, source);
  expect(problems).toEqual([]);
  return { source, file: source, policy: policy!, text };
}

describe('policy name warnings', () => {
  it('#17.28 warns that "*" in an Intercept file hide entry is no wildcard and says how to make it a glob', () => {
    const p = loaded('version: "1"\ndefault: allow\nhide: ["delete_*"]\n', '/p/intercept.yaml');
    expect(p.policy.format).toBe('intercept');
    const w = unknownToolNames(
      { global: undefined, servers: new Map([['fs', p]]) },
      ['fs'],
      new Map([['fs', new Set(['delete_file', 'read_file'])]]),
    );
    expect(w).toHaveLength(1);
    expect(w[0]!.message).toContain('"*" is no wildcard');
    expect(w[0]!.message).toContain('$schema');
  });

  it('#17.28 reads the same hide entry as a glob in a PolicyLayer file, with no warning', () => {
    const p = loaded(
      '{"$schema": "x", "version": "1", "default": "allow", "hide": ["delete_*"]}',
      '/p/policylayer.json',
    );
    expect(p.policy.format).toBe('policylayer');
    const w = unknownToolNames(
      { global: undefined, servers: new Map([['fs', p]]) },
      ['fs'],
      new Map([['fs', new Set(['delete_file', 'read_file'])]]),
    );
    expect(w).toEqual([]);
  });
});
