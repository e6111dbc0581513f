// maskCredentials (src/guards/credentials.ts): exact credential values, in any string of a message, keys included;
// the very same object back when none is there; which env names hold credentials.
import { describe, expect, it } from 'vitest';
import { addCredentials, isSecretEnvName, maskCredentials } from '../../src/guards/credentials.js';

const KEY = 'unit-cred-Zk8Pq3Wn6Rt1';
addCredentials([KEY, 'short']);

describe('maskCredentials', () => {
  it('#19.7.9 masks the value and its encoded forms in every string, keys included, leaving the input unchanged', () => {
    const message = {
      jsonrpc: '2.0',
      id: 1,
      result: {
        content: [
          {
            type: 'text',
            text: `a ${KEY} b ${encodeURIComponent(KEY)} c ${Buffer.from(`u:${KEY}`).toString('base64')}`,
          },
        ],
        structuredContent: { [KEY]: 1, list: ['x', `${JSON.stringify({ k: KEY })}`], n: 3, ok: true },
      },
    };
    const before = JSON.stringify(message);
    const out = maskCredentials(message);
    const text = JSON.stringify(out);
    expect(text).not.toContain(KEY);
    expect(text).not.toContain(Buffer.from(`u:${KEY}`).toString('base64').slice(4, -4));
    expect(out.result.structuredContent).toEqual({
      '[REDACTED]': 1,
      list: ['x', '{"k":"[REDACTED]"}'],
      n: 3,
      ok: true,
    });
    expect(JSON.stringify(message)).toBe(before);
    // Untouched parts are shared, not copied.
    expect(out.result.structuredContent.list[0]).toBe('x');
  });

  it('#19.7.9 gives back the very same object when no credential is in it, and ignores values under 8 characters', () => {
    const message = {
      jsonrpc: '2.0',
      id: 2,
      result: { content: [{ type: 'text', text: 'short and sweet' }] },
    };
    expect(maskCredentials(message)).toBe(message);
  });

  it('#19.7.9 a "__proto__" key stays a plain field', () => {
    const parsed = JSON.parse(`{"__proto__":{"v":"${KEY}"},"a":"${KEY}"}`) as Record<string, unknown>;
    const out = maskCredentials(parsed) as Record<string, any>;
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(JSON.stringify(out)).toBe('{"__proto__":{"v":"[REDACTED]"},"a":"[REDACTED]"}');
  });

  it('#19.7.9 env names that hold credentials, and names that do not', () => {
    for (const name of [
      'GITHUB_TOKEN',
      'API_KEY',
      'STRIPE_SECRET_KEY',
      'DB_PASSWORD',
      'AWS_ACCESS_KEY_ID',
      'KEY',
      'PGPASSWORD',
      'SLACK_BOT_TOKEN',
      'AUTH_HEADER',
    ])
      expect(isSecretEnvName(name), name).toBe(true);
    for (const name of ['ALLOWED_DIR', 'DB_HOST', 'LOG_LEVEL', 'HOME', 'REGION', 'BASE_URL'])
      expect(isSecretEnvName(name), name).toBe(false);
  });
});
