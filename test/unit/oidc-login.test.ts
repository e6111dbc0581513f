// The dashboard OIDC log-in's pure parts: groups from hostile or odd claim shapes, role mapping, issuer URLs, and the
// config's refusals. The flow itself runs in Chromium against a real provider (test/e2e/dashboard-oidc.test.ts).
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { checkIssuerUrl, groupsOf, OidcLoginError, roleFor } from '../../src/dashboard/oidc-login.js';

const ROLES = { admin: ['warden-admins'], approver: ['warden-approvers'] };

describe('dashboard OIDC log-in: roles from claims', () => {
  it('#20.a5 groups: a list or a space-separated string; anything else is no group', () => {
    expect(groupsOf(['a', 'b'])).toEqual(['a', 'b']);
    expect(groupsOf('  a   b ')).toEqual(['a', 'b']);
    expect(groupsOf(['a', 1, null, { name: 'warden-admins' }, ['warden-admins']])).toEqual(['a']);
    expect(groupsOf({ 0: 'warden-admins', length: 1 })).toEqual([]);
    expect(groupsOf(undefined)).toEqual([]);
    expect(groupsOf(42)).toEqual([]);
  });

  it('#20.a6 roles: the highest mapped role wins; names match exactly (case, Unicode look-alikes, padding)', () => {
    expect(roleFor(['staff', 'warden-approvers', 'warden-admins'], ROLES)).toBe('admin');
    expect(roleFor(['warden-approvers'], ROLES)).toBe('approver');
    expect(roleFor(['staff'], ROLES)).toBeUndefined();
    expect(roleFor(['Warden-Admins'], ROLES)).toBeUndefined();
    // Cyrillic а in place of Latin a, a zero-width space, a trailing space inside a list entry.
    expect(roleFor(['w\u0430rden-admins', 'warden-admins\u200b', 'warden-admins '], ROLES)).toBeUndefined();
    // An inherited property name is no group of anyone's.
    expect(roleFor(['__proto__', 'constructor', 'toString'], ROLES)).toBeUndefined();
    expect(roleFor(['warden-admins'], {})).toBeUndefined();
  });

  it('#20.a7 the issuer is https, or http on loopback only', () => {
    expect(() => checkIssuerUrl('https://idp.example.com')).not.toThrow();
    expect(() => checkIssuerUrl('http://127.0.0.1:9000')).not.toThrow();
    expect(() => checkIssuerUrl('http://idp.example.com')).toThrow(OidcLoginError);
    expect(() => checkIssuerUrl('http://127.0.0.1.nip.io')).toThrow(OidcLoginError);
  });

  it('#20.a8 config: refuses an http issuer off loopback, a redirect URI elsewhere than /api/oidc/callback, and no role mapping', () => {
    const errors = (dashboard: string) => {
      try {
        parseConfig(
          `mcpServers:\n  p:\n    command: node\nauth:\n  dashboard: ${dashboard}\n`,
          '/tmp/warden-oidc.yaml',
        );
        return '';
      } catch (err) {
        return (err as Error).message;
      }
    };
    const ok = `{ issuer: 'https://idp.example.com', clientId: c, redirectUri: 'https://admin.example.com/api/oidc/callback', roles: { admin: [a] } }`;
    expect(errors(ok)).toBe('');
    expect(errors(ok.replace('https://idp', 'http://idp'))).toMatch(/auth\.dashboard\.issuer.*https/s);
    expect(errors(ok.replace('/api/oidc/callback', '/callback'))).toMatch(
      /redirectUri.*\/api\/oidc\/callback/s,
    );
    expect(errors(ok.replace('{ admin: [a] }', '{ admin: [] }'))).toMatch(/at least one group/);
  });
});
