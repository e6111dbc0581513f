// Issue #17.4: resource URIs in the form servers resolve them (WHATWG URL), and the spellings rules are checked in.
import { describe, expect, it } from 'vitest';
import { withRoots } from '../../src/proxy/upstream.js';
import { normalizeUri, uriForms } from '../../src/proxy/uri.js';

describe('normalizeUri', () => {
  it.each([
    ['the scheme in upper case', 'DEMO://resource/a.md', 'demo://resource/a.md'],
    ['leading and trailing spaces', '  demo://resource/a.md \n', 'demo://resource/a.md'],
    ['a leading control character', '\u0001demo://resource/a.md', 'demo://resource/a.md'],
    ['a tab inside', 'demo://reso\turce/a.md', 'demo://resource/a.md'],
    ['a newline inside', 'demo://resource/a\n.md', 'demo://resource/a.md'],
    ['a .. segment', 'demo://resource/x/../a.md', 'demo://resource/a.md'],
    ['a . segment', 'demo://resource/./a.md', 'demo://resource/a.md'],
    ['%2e%2e as ..', 'demo://resource/x/%2e%2e/a.md', 'demo://resource/a.md'],
    ['.%2E as ..', 'demo://resource/x/.%2E/a.md', 'demo://resource/a.md'],
    ['file://localhost/', 'file://localhost/etc/passwd', 'file:///etc/passwd'],
    ['FILE: in upper case', 'FILE:///etc/passwd', 'file:///etc/passwd'],
    ['file: with one slash', 'file:/etc/passwd', 'file:///etc/passwd'],
    ['file: with .. past the root', 'file:///../../etc/passwd', 'file:///etc/passwd'],
    ['backslashes in a file: URI', 'file:///etc\\passwd', 'file:///etc/passwd'],
    ['an http host in upper case with a port', 'HTTP://EXAMPLE.com:80/a', 'http://example.com/a'],
    ['an IDN host', 'https://bücher.example/a', 'https://xn--bcher-kva.example/a'],
  ])('#17.4 normalises %s', (_what, raw, normal) => {
    expect(normalizeUri(raw)).toBe(normal);
  });

  it.each([
    ['a relative path', 'a.md'],
    ['plain text', 'not a uri'],
    ['nothing', ''],
    ['no scheme', '://x'],
    ['a bad port', 'http://example.com:99999/'],
  ])('#17.4 refuses %s (undefined)', (_what, raw) => {
    expect(normalizeUri(raw)).toBeUndefined();
  });
});

describe('uriForms', () => {
  it('#17.4 includes the percent-decoded form (%2F as /, %61 as a)', () => {
    expect(uriForms('demo://r/secret%2Fkey')).toContain('demo://r/secret/key');
    expect(uriForms('demo://r/%61rchitecture.md')).toContain('demo://r/architecture.md');
  });

  it('#17.4 decodes double and triple encoding', () => {
    expect(uriForms('demo://r/secret%252Fkey')).toContain('demo://r/secret/key');
    expect(uriForms('demo://r/secret%25252Fkey')).toContain('demo://r/secret/key');
  });

  it('#17.4 resolves .. that only appears once decoded', () => {
    expect(uriForms('demo://r/x%2F..%2Fsecret')).toContain('demo://r/secret');
  });

  it('#17.4 adds backslashes as slashes in non-special schemes, resolved', () => {
    expect(uriForms('demo://r/x\\..\\secret')).toContain('demo://r/secret');
  });

  it('#17.4 adds an opaque host in lower case and a host without its trailing dot', () => {
    expect(uriForms('demo://RESOURCE/a')).toContain('demo://resource/a');
    expect(uriForms('http://example.com./a')).toContain('http://example.com/a');
  });

  it('#17.4 keeps escapes that are no UTF-8 and never throws', () => {
    expect(() => uriForms('demo://r/%E0%A4%A')).not.toThrow();
    expect(uriForms('demo://r/%ff%2Fx')).toContain('demo://r/%ff/x');
  });

  it('#17.4 starts with the normal form itself', () => {
    expect(uriForms('demo://r/a')).toEqual(['demo://r/a']);
  });
});

describe('withRoots', () => {
  const params = {
    protocolVersion: '2025-11-25',
    capabilities: { roots: { listChanged: true }, sampling: {} },
  };

  it('#17.9 removes the agent roots capability by default (none)', () => {
    expect(withRoots(params, 'none').capabilities).toEqual({ sampling: {} });
  });

  it('#17.9 declares the roots capability for configured roots even when the agent has none', () => {
    expect(withRoots({ capabilities: {} }, [{ uri: 'file:///srv', name: 'srv' }]).capabilities).toEqual({
      roots: {},
    });
  });

  it('#17.9 passes the agent capability unchanged under roots: agent', () => {
    expect(withRoots(params, 'agent')).toBe(params);
  });
});
