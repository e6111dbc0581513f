// Aggregated names: prefixed, valid per the MCP spec, and mapped back to the right server.
import { describe, expect, it } from 'vitest';
import { exposedName, MAX_NAME_LENGTH, NameTable } from '../../src/proxy/naming.js';
import { matchesTemplate } from '../../src/proxy/templates.js';

describe('exposedName', () => {
  it('joins prefix, separator and name', () => {
    expect(exposedName('github', '__', 'create_issue')).toBe('github__create_issue');
  });

  it('keeps names within 128 valid characters', () => {
    const long = exposedName('srv', '__', 'x'.repeat(200));
    expect(long.length).toBeLessThanOrEqual(MAX_NAME_LENGTH);
    const odd = exposedName('srv', '__', 'send message/now');
    expect(odd).toMatch(/^srv__send_message_now_[0-9a-f]{8}$/);
  });
});

describe('NameTable', () => {
  const table = new NameTable(
    '__',
    new Map([
      ['github', 'github'],
      ['gh2', 'second'],
    ]),
  );

  it('resolves a prefixed name to its server and upstream name', () => {
    expect(table.resolve('github__create_issue')).toEqual({ server: 'github', name: 'create_issue' });
    expect(table.resolve('gh2__a__b')).toEqual({ server: 'second', name: 'a__b' });
  });

  it('does not resolve unknown prefixes or bare names', () => {
    expect(table.resolve('gitlab__x')).toBeUndefined();
    expect(table.resolve('create_issue')).toBeUndefined();
    expect(table.resolve('github__')).toBeUndefined();
  });

  it('maps cleaned names back through the table', () => {
    const exposed = table.expose('github', 'github', 'weird name!');
    expect(table.resolve(exposed)).toEqual({ server: 'github', name: 'weird name!' });
  });
});

describe('matchesTemplate', () => {
  it('matches simple and reserved expansions', () => {
    expect(matchesTemplate('demo://resource/{id}', 'demo://resource/42')).toBe(true);
    expect(matchesTemplate('demo://resource/{id}', 'demo://resource/4/2')).toBe(false);
    expect(matchesTemplate('file:///{+path}', 'file:///a/b/c.txt')).toBe(true);
    expect(matchesTemplate('api://items{?page,size}', 'api://items?page=2')).toBe(true);
  });
});
