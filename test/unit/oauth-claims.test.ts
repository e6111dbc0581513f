// Identity from an access token's claims: a claim or a dotted path, groups as a list or a space-separated string.
import { describe, expect, it } from 'vitest';
import { claimAt, groupsOf, isSubjectKey, subjectKey } from '../../src/identity/oauth/resource-server.js';

describe('claimAt', () => {
  it('#20.2 reads a top-level claim, and a dotted path into nested objects', () => {
    const claims = { sub: 'a', realm_access: { roles: ['finance'] } };
    expect(claimAt(claims, 'sub')).toBe('a');
    expect(claimAt(claims, 'realm_access.roles')).toEqual(['finance']);
    expect(claimAt(claims, 'realm_access.missing')).toBeUndefined();
  });

  it('#20.2 prefers a claim whose own name has dots (namespaced claims) over a path', () => {
    const claims = { 'https://example.com/groups': ['x'], https: { '//example': 1 } };
    expect(claimAt(claims, 'https://example.com/groups')).toEqual(['x']);
  });

  it('#20.2 never reads inherited properties or walks into lists', () => {
    expect(claimAt({}, 'constructor')).toBeUndefined();
    expect(claimAt({ a: {} }, 'a.__proto__')).toBeUndefined();
    expect(claimAt({ a: ['x'] }, 'a.0')).toBeUndefined();
  });
});

describe('groupsOf', () => {
  it('#20.2 takes a list (strings only) or a space-separated string', () => {
    expect(groupsOf(['a', 1, '', 'b'])).toEqual(['a', 'b']);
    expect(groupsOf(' a  b\tc ')).toEqual(['a', 'b', 'c']);
    expect(groupsOf(undefined)).toEqual([]);
    expect(groupsOf({ a: 1 })).toEqual([]);
  });
});

describe('subjectKey', () => {
  it('#20.2 keys a subject by issuer and subject, apart from stored grant ids', () => {
    const k = subjectKey('https://idp.example.com', 'alice');
    expect(k).toMatch(/^oauth:[0-9a-f]{16}$/);
    expect(isSubjectKey(k)).toBe(true);
    expect(subjectKey('https://other.example.com', 'alice')).not.toBe(k);
    expect(isSubjectKey('0123456789abcdef')).toBe(false);
  });
});
