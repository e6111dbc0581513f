// Issue #19, one rule set of secret formats: the result guard and the audit mask must catch the same formats. Every
// rule's examples go through both; a rule added to one side only, or loosened on one side, fails here.
import { describe, expect, it } from 'vitest';
import { auditArgs, MASK, maskString } from '../../src/audit/redact.js';
import { scanResult } from '../../src/guards/scan.js';
import { findSecrets, ruleExamples } from '../../src/guards/secrets.js';

const MASK_ACTION = {
  actions: { secrets: 'mask' as const, pii: 'off' as const, injection: 'off' as const },
  shadow: false,
};

/** The secrets `rule` finds in `text`, as written. */
function secretsOf(rule: string, text: string): string[] {
  return findSecrets(text)
    .filter((f) => f.rule === rule)
    .map((f) => text.slice(f.start, f.end));
}

/** What the agent reads of `text` as a tool result with the secrets guard on mask. */
function guarded(text: string): string {
  const result = { content: [{ type: 'text', text }] };
  scanResult(result, MASK_ACTION);
  return result.content[0]!.text;
}

/** What the audit record keeps of `text` as an argument (args: full). */
function audited(text: string): string {
  return JSON.stringify(auditArgs({ note: text }, 'full'));
}

const rules = ruleExamples();
const seen = new Map<string, number>();
const named = rules.map((r) => {
  const n = (seen.get(r.rule) ?? 0) + 1;
  seen.set(r.rule, n);
  return { ...r, name: n === 1 ? r.rule : `${r.rule} (${n})` };
});

describe('#19.7 one rule set for the result guard and the audit mask', () => {
  it('#19.7.1 every rule has an example, and the rule finds a secret in each', () => {
    for (const r of rules) {
      expect(r.examples.length, r.rule).toBeGreaterThan(0);
      for (const ex of r.examples) expect(secretsOf(r.rule, ex), `${r.rule}: ${ex}`).not.toEqual([]);
    }
  });

  for (const r of named) {
    it(`#19.7.2 ${r.name}: the result guard masks every example`, () => {
      for (const ex of r.examples) {
        const shown = guarded(ex);
        expect(shown, ex).toContain('[REDACTED:secret]');
        for (const s of secretsOf(r.rule, ex)) expect(shown, ex).not.toContain(s);
      }
    });
    it(`#19.7.3 ${r.name}: the audit record and the log mask every example`, () => {
      for (const ex of r.examples) {
        for (const s of secretsOf(r.rule, ex)) {
          expect(audited(ex), ex).not.toContain(s);
          expect(maskString(ex), ex).not.toContain(s);
        }
      }
    });
  }
});

describe('#19.7 formats one side missed before #19', () => {
  const token = (n: number) =>
    'Zr8Qm2Lx9Tp4Vn7Wb3KsYh6JdF1gE5uXoA0cPqR8aQ2mZx7LpT4vNc9WbK3sYh6JdF1g'.slice(0, n);
  // [format, text, secret]: the guard missed the first eleven (they reached the agent), the audit mask the rest (kept
  // in the audit record and logs).
  const basic = btoa('ci:Xq7vLp2mZr9t');
  const awsSecret = token(40).replace(/8/g, '/');
  const cases: Array<[string, string, string]> = [
    ['a Basic credential', `curl -H "Authorization: Basic ${basic}"`, basic],
    ['a short bearer token', 'Authorization: Bearer a1b2c3d4e5f6', 'a1b2c3d4e5f6'],
    ['an unsigned JWT', 'id_token eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiJ9. ok', 'eyJzdWIiOiJhZG1pbiJ9'],
    ['a GitHub token cut short', `pushed with ghp_${token(31)} yesterday`, token(31)],
    ['a Slack app token', `SLACK_APP=xapp-1-A0123-${token(20)}`, token(20)],
    ['a short Stripe test key', `use sk_test_${token(12)} in CI`, token(12)],
    ['an sk- key of another issuer', `key: sk-${token(32)}`, token(32)],
    ['a warden grant token', `run with wdn_0123456789abcdef_${token(43)}`, token(43)],
    ['the warden session cookie', `Set-Cookie: warden_session=${token(32)}; HttpOnly`, token(32)],
    ['a URL password holding @', 'DATABASE_URL=postgres://app:Xq7v@Lp2mZr9t@db:5432/app', 'Lp2mZr9t'],
    ['a URL password of another scheme', 'nats://svc:Xq7vLp2mZr9t@nats:4222', 'Xq7vLp2mZr9t'],
    ['an AWS role key id', 'principal AROAQ3EGRT5YJ7XK2PLM assumed', 'AROAQ3EGRT5YJ7XK2PLM'],
    ['an AWS secret key by context', `AWS secret key: ${awsSecret}`, awsSecret],
    ['a GitLab token', `glpat-${token(20)}`, token(20)],
    ['an npm token', `publish with npm_${token(36)}`, token(36)],
    ['a SendGrid key', `SG.${token(22)}.${token(43)}`, token(43)],
    ['a Hugging Face token', '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', 'XqvLpmZrtKsYhJdFgEuXoAcPqRaQmZxLpT'],
    ['an Azure storage key', `AccountKey=${token(64)}${token(22)}==;`, token(64)],
    ['a JSON-escaped named secret', `{\\"client_secret\\": \\"${token(32)}\\"}`, token(32)],
    ['a password after =>', `'password' => '${token(10)}!'`, token(10)],
    ['a password after :=', `password := "${token(10)}!"`, token(10)],
    ['a password under a longer name', `DB_PASSWORD_PROD="${token(10)}!"`, token(10)],
    ['a passphrase', `passphrase = "${token(10)}!"`, token(10)],
  ];
  for (const [format, text, secret] of cases) {
    it(`#19.7.4 both mask ${format}`, () => {
      expect(guarded(text)).not.toContain(secret);
      expect(audited(text)).not.toContain(secret);
    });
  }
});

describe('#19.7 what stays on one side', () => {
  it('#19.7.5 the guard leaves words after Bearer, Basic, sk- and xox alone', () => {
    for (const t of [
      'The API uses Bearer authentication and Basic authentication over TLS.',
      'see sk-learn-compatible-estimators-guide',
      'xoxo-hugs-and-kisses-from-grandma',
      'postgres://user:password@localhost:5432/dev',
      'token = request.headers.get("Authorization")',
      // a validation message under a password field, and a field that only names passwords
      '{"errors":{"password":"required"}}',
      '{"password_policy":"strongest"}',
    ])
      expect(findSecrets(t), t).toEqual([]);
  });

  it('#19.7.6 the audit mask still masks by name and place alone, and keeps max_tokens=4096', () => {
    expect(maskString('password: hunter2')).toBe(`password: ${MASK}`);
    expect(maskString('https://api.example/cb?code=abc123')).toBe(`https://api.example/cb?code=${MASK}`);
    expect(maskString('postgres://user:password@localhost/dev')).toBe(
      `postgres://user:${MASK}@localhost/dev`,
    );
    expect(maskString('Authorization: Bearer authentication')).toBe(`Authorization: ${MASK}`);
    expect(maskString('max_tokens=4096')).toBe('max_tokens=4096');
  });
});
