// Issue #17, secrets that leak (12, 15, 16): the mask against the real formats of warden's own tokens and of
// common credentials, configured secrets in their encoded and wrapped forms, and hidden characters made visible.
import { describe, expect, it } from 'vitest';
import {
  argumentsForApprover,
  escapeHidden,
  escapeHiddenJson,
  hiddenCharacters,
} from '../../src/approvals/display.js';
import { addConfiguredSecrets, auditArgs, MASK, maskLineEdges, maskString } from '../../src/audit/redact.js';
import { parseConfig } from '../../src/config/load.js';
import { resolveConfig } from '../../src/config/resolve.js';
import { newGrantId, newToken } from '../../src/identity/tokens.js';

describe('#17.12 warden tokens in the mask', () => {
  it('#17.12 masks a real grant token (wdn_) and a real admin token (wda_) in audit values', () => {
    const grant = newToken(newGrantId(), 'agent');
    const admin = newToken(newGrantId(), 'admin');
    expect(grant.startsWith('wdn_')).toBe(true);
    expect(admin.startsWith('wda_')).toBe(true);
    const a = auditArgs({ note: `use ${grant}`, other: [admin] }, 'full');
    const text = JSON.stringify(a);
    expect(text).not.toContain(grant.slice(4));
    expect(text).not.toContain(admin.slice(4));
    expect(text).toContain(MASK);
  });

  it('#17.12 masks a warden token cut short or quoted in a header, a URL or an env line', () => {
    const t = newToken(newGrantId());
    for (const s of [
      `Authorization: Bearer ${t}`,
      `WARDEN_TOKEN=${t}`,
      `https://gw.example/mcp?token=${t}`,
      t.slice(0, 30),
      `"${t}"`,
    ]) {
      const out = maskString(s);
      expect(out, s).not.toContain(t.slice(4, 24));
    }
  });

  it('#17.12 masks the dashboard session cookie and CSRF token where a header or URL is quoted', () => {
    const id = 'Zm9vYmFyYmF6cXV4cXV1eHh5enp5eHh5enp5eHh5enp';
    expect(maskString(`cookie: warden_session=${id}`)).not.toContain(id);
    expect(maskString(`/api/events?csrf=${id}`)).not.toContain(id);
  });
});

describe('#17.12 the mask against real credential formats', () => {
  const cases: [string, string][] = [
    ['Stripe live secret key', 'sk_live_51HqLyjWDarjtT1zdp7dcXPOhXc6ypVn4xM9'],
    ['Stripe restricted key', 'rk_live_51HqLyjWDarjtT1zdp7dcXPOh'],
    ['Stripe webhook secret', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'],
    ['GitHub classic PAT', 'ghp_16C7e42F292c6912E7710c838347Ae178B4a'],
    ['GitHub fine-grained PAT', 'github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP'],
    ['Slack bot token', 'xoxb-2048-4096-AbCdEfGhIjKlMnOp'],
    ['Slack refresh token', 'xoxe.xoxp-1-Mi0yLTExMjM0NTY3ODkw'],
    ['Slack app token', 'xapp-1-A0123456789-0123456789012-abcdef0123'],
    ['Slack webhook URL', 'https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX'],
    ['AWS access key id', 'AKIAIOSFODNN7EXAMPLE'],
    ['AWS temporary key id', 'ASIAIOSFODNN7EXAMPLE'],
    ['OpenAI project key', 'sk-proj-abcdefghijklmnopqrstuvwxyz012345'],
    ['Anthropic key', 'sk-ant-api03-abcdefghijklmnopqrstuvwxyz'],
    ['unsigned JWT (alg none)', 'eyJhbGciOiJub25lIn0.eyJzdWIiOiIxMjM0NTY3ODkwIn0.'],
    ['Google API key', 'AIzaSyA1234567890abcdefghijklmnopqrstuv'],
  ];
  for (const [what, secret] of cases) {
    it(`#17.12 masks a ${what}`, () => {
      expect(maskString(`value ${secret} end`)).toBe(`value ${MASK} end`);
    });
  }

  it('#17.12 masks a PGP private key block, not only PEM "PRIVATE KEY"', () => {
    const key = '-----BEGIN PGP PRIVATE KEY BLOCK-----\nlQOYBF0\n-----END PGP PRIVATE KEY BLOCK-----';
    expect(maskString(key)).toBe(MASK);
  });

  it('#17.12 masks a URL password that holds an @ and a password in a query string', () => {
    expect(maskString('postgres://app:p@ss-w0rd@db:5432/x')).toBe(`postgres://app:${MASK}@db:5432/x`);
    expect(maskString('https://api.example/v1?access_token=abc123def&x=1')).toBe(
      `https://api.example/v1?access_token=${MASK}&x=1`,
    );
  });

  it('#17.12 masks name=value secrets in text (an env dump on stderr), and keeps plain numbers', () => {
    expect(maskString('OPENAI_API_KEY=abcd1234efgh')).toBe(`OPENAI_API_KEY=${MASK}`);
    expect(maskString('"password": "hunter2"')).toBe(`"password": "${MASK}"`);
    expect(maskString('Authorization: Token abcdef123456')).toBe(`Authorization: ${MASK}`);
    expect(maskString('max_tokens=4096')).toBe('max_tokens=4096');
  });
});

describe('#17.15 configured secrets', () => {
  const secret = 'cfg-secret-7Hq2pLx9Vb';
  const bearer = 'hdr-token-Zx81Qw55Rt';
  const interpolated = 'env-ref-9Kd3Jf7Lm2';
  resolveConfig(
    parseConfig(
      `
mcpServers:
  a: { command: node, env: { API_KEY: "${secret}", LEVEL: info } }
  b: { url: "http://127.0.0.1:9/mcp", headers: { Authorization: "Bearer ${bearer}" } }
  c: { url: "http://127.0.0.1:9/mcp?k=\${H4_TEST_REF}" }
`,
      '/tmp/h4-unit.yaml',
      { ...process.env, H4_TEST_REF: interpolated },
    ),
  );

  it('#17.15 masks every env value, header value (and its credential after the scheme) and ${ENV} value', () => {
    expect(maskString(`key ${secret}`)).toBe(`key ${MASK}`);
    expect(maskString(`sent ${bearer} to b`)).toBe(`sent ${MASK} to b`);
    expect(maskString(`ref ${interpolated}.`)).toBe(`ref ${MASK}.`);
  });

  it('#17.15 leaves values shorter than 8 characters alone (LEVEL: info)', () => {
    expect(maskString('log level info')).toBe('log level info');
  });

  it('#17.15 masks the URL-encoded and JSON-escaped forms of a configured secret', () => {
    addConfiguredSecrets(['p@ss/w"rd+Long']);
    expect(maskString(`u=${encodeURIComponent('p@ss/w"rd+Long')}`)).toBe(`u=${MASK}`);
    expect(maskString(JSON.stringify({ x: 'p@ss/w"rd+Long' }))).toBe(`{"x":"${MASK}"}`);
  });

  it('#17.15 masks the base64 form of a configured secret at any alignment (Basic user:secret)', () => {
    for (const user of ['u', 'us', 'usr']) {
      const basic = Buffer.from(`${user}:${secret}`).toString('base64');
      const out = maskString(`Authorization: X ${basic}`);
      // At most the first and last group (the user's bytes, padding) stay: never the secret's core.
      expect(out, user).toContain(MASK);
      expect(Buffer.from(out.replace(MASK, ''), 'base64').toString('latin1')).not.toContain(
        secret.slice(2, -2),
      );
    }
  });

  it('#17.15 masks a configured secret split across lines, in one text and line by line', () => {
    const wrapped = `${secret.slice(0, 9)}\n    ${secret.slice(9)}`;
    expect(maskString(`fatal: ${wrapped} rejected`)).toBe(`fatal: ${MASK} rejected`);
    const first = maskLineEdges(`fatal: key=${secret.slice(0, 9)}`);
    const second = maskLineEdges(`  ${secret.slice(9)} rejected`);
    expect(first).not.toContain(secret.slice(0, 9));
    expect(second).not.toContain(secret.slice(9));
  });
});

describe('#17.14 arguments for approvers', () => {
  it('#17.14 masks a password and an sk_live_ key, keeps the other values', () => {
    const shown = argumentsForApprover({
      payee: 'billing@example.com',
      password: 'hunter2',
      note: 'key sk_live_51HqLyjWDarjtT1zdp7dcXPOh',
      nested: { api_key: 'x' },
    });
    expect(shown).toEqual({
      payee: 'billing@example.com',
      password: MASK,
      note: `key ${MASK}`,
      nested: { api_key: MASK },
    });
  });
});

describe('#17.16 hidden characters', () => {
  const rlo = '\u202E';
  it('#17.16 finds bidi controls, zero-width, tag characters, U+061C and C1 controls, with JSON Pointer paths', () => {
    const found = hiddenCharacters({
      payee: `billing@example.com${rlo}moc.live`,
      list: ['ok', 'a\u200Bb'],
      tag: 'x\u{E0041}\u{E0042}',
      alm: 'a\u061Cb',
      csi: 'a\u009B31m',
      lrm: 'a\u200E\u200F\u2066\u2069',
      'we\u202Eird': 1,
      plain: 'no problem here, tab\tand newline\n',
    });
    expect(found).toEqual([
      { path: '/payee', characters: ['U+202E'] },
      { path: '/list/1', characters: ['U+200B'] },
      { path: '/tag', characters: ['U+E0041', 'U+E0042'] },
      { path: '/alm', characters: ['U+061C'] },
      { path: '/csi', characters: ['U+009B'] },
      { path: '/lrm', characters: ['U+200E', 'U+200F', 'U+2066', 'U+2069'] },
      { path: '/we\\u{202E}ird', characters: ['U+202E'], inKey: true },
    ]);
  });

  it('#17.16 escapes hidden characters for people as \\u{...}', () => {
    expect(escapeHidden(`pay${rlo}x\u{E0041}`)).toBe('pay\\u{202E}x\\u{E0041}');
  });

  it('#17.16 escapes a carriage return, which rewrites the line a terminal shows, but not tab or line feed', () => {
    expect(escapeHidden('billing@example.com\rattacker@evil.example')).toBe(
      'billing@example.com\\u{D}attacker@evil.example',
    );
    expect(escapeHidden('a\tb\nc')).toBe('a\tb\nc');
  });

  it('#17.16 escapes them in JSON as \\u escapes, keeping the same value', () => {
    const value = { payee: `a${rlo}b\u{E0041}c\u0085` };
    const json = escapeHiddenJson(JSON.stringify(value));
    expect(json).not.toMatch(/[\u202E\u0085]|[\uDB40]/);
    expect(JSON.parse(json)).toEqual(value);
  });

  it('#17.16 does not flag ordinary text, accents, CJK or emoji without joiners', () => {
    expect(hiddenCharacters({ a: 'Zoë Łódź 東京 😀 café', b: 'line\nbreak\ttab' })).toEqual([]);
  });
});
