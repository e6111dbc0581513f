// auth.oauth in the config: resolved with policy paths relative to the config file; publicUrl required beside it.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { resolveConfig } from '../../src/config/resolve.js';

const base = `mcpServers:\n  a: { command: node }\n`;

describe('auth.oauth config', () => {
  it('#20.1 names the file and path when auth.publicUrl is missing', () => {
    const yaml = `${base}auth:\n  oauth: { issuer: https://idp.example.com }\n`;
    expect(() => resolveConfig(parseConfig(yaml, '/etc/warden/warden.yaml'))).toThrow(
      /\/etc\/warden\/warden\.yaml at auth\.oauth: auth\.oauth needs auth\.publicUrl/,
    );
  });

  it('#20.1 resolves defaults and group policy paths against the config file', () => {
    const yaml = `${base}auth:\n  publicUrl: https://mcp.example.com/\n  oauth:\n    issuer: https://idp.example.com\n    policies: { finance: ./p/finance.json }\n`;
    const config = resolveConfig(parseConfig(yaml, '/etc/warden/warden.yaml'));
    expect(config.publicUrl).toBe('https://mcp.example.com');
    expect(config.oauth).toMatchObject({
      subjectClaim: 'sub',
      groupsClaim: 'groups',
      clockSkewMs: 60_000,
      scopes: [],
      policies: { finance: '/etc/warden/p/finance.json' },
    });
  });
});
