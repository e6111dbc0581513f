// The one rule set of secret formats (#19): the secrets guard finds them in upstream results, and the audit mask
// (src/audit/redact.ts) masks them in what warden keeps and logs. Issuer formats of cloud keys and tokens (prefixes and
// lengths as the issuers document them and public secret-scanner rule sets list them), warden's own tokens, private
// keys, JWTs, credentials after Bearer and Basic, connection strings with passwords, and named values (`api_key = ...`)
// that only count when the value looks random (entropy) and is no code or placeholder.

export interface Finding {
  rule: string;
  start: number;
  end: number;
}

interface Rule {
  id: string;
  /** Lower-case substrings one of which the text must contain for the rule to run (a cheap filter). */
  hints: string[];
  re: RegExp;
  /** The capture group holding the secret itself (0: the whole match). */
  group?: number;
  /** Minimum Shannon entropy (bits per character) of the secret. */
  entropy?: number;
  /** A last check on the secret (placeholders, code). */
  accept?: (value: string, match: RegExpExecArray) => boolean;
  /** Texts with a secret this rule finds: both the guard and the audit mask are tested on each. */
  examples: string[];
}

/** Shannon entropy in bits per character. */
export function entropy(s: string): number {
  if (s.length === 0) return 0;
  const counts = new Map<string, number>();
  for (const c of s) counts.set(c, (counts.get(c) ?? 0) + 1);
  let h = 0;
  for (const n of counts.values()) {
    const p = n / s.length;
    h -= p * Math.log2(p);
  }
  return h;
}

const PLACEHOLDER =
  /^(?:\*+|x+|\.+|-+|<[^>]*>|\$\{[^}]*\}|\{\{[^}]*\}\}|%s|%\(\w+\)s|\$\w+|your[_-]?\w*|changeme|password|passwd|pass|secret|example\w*|redacted|\[redacted\]|null|none|undefined|true|false|test|dummy|placeholder|todo|tbd|\*{3,}.*)$/i;

/** A field named for a password, quoted as in JSON or YAML (`"password":`, `'db_password':`). */
const PASSWORD_FIELD = /^(?:[\w.-]*_)?(?:passw(?:or)?d|passwd|pwd|passphrase)\\?["']?\s*:/i;
/** What a form's validation says of a password field: not a password. */
const VALIDATION_WORD =
  /^(?:required|invalid|missing|incorrect|empty|mismatch|optional|hidden|masked|unset|expired)$/i;

/** A value that is code (`config.password`, `getToken()`, `os.environ["X"]`, `process.env.X`), not a literal. */
function looksLikeCode(v: string): boolean {
  if (
    /^(?:process\.env|os\.environ|env\.|getenv|System\.getenv|ENV\[|secrets\.|vault\.|config\.|settings\.)/i.test(
      v,
    )
  )
    return true;
  if (/[()[\]]/.test(v)) return true;
  // identifiers and dotted member access without digits: `request.body.password`, `userPassword`
  return /^[A-Za-z_$][A-Za-z_$]*(?:\.[A-Za-z_$][A-Za-z0-9_$]*)*$/.test(v);
}

function classes(v: string): number {
  return (
    (/[a-z]/.test(v) ? 1 : 0) +
    (/[A-Z]/.test(v) ? 1 : 0) +
    (/\d/.test(v) ? 1 : 0) +
    (/[^A-Za-z0-9]/.test(v) ? 1 : 0)
  );
}

/** Letters and digits both: a token, not a word (`Bearer authentication`). */
function lettersAndDigits(v: string): boolean {
  return /\d/.test(v) && /[A-Za-z]/.test(v);
}

/** `Basic <base64>` is a credential when it decodes to printable `user:password`. */
function basicCredential(v: string): boolean {
  const decoded = Buffer.from(v, 'base64').toString('latin1');
  return /^[\x20-\x7e]+:[\x20-\x7e]*$/.test(decoded);
}

// Fillers for the examples: random-looking, never real.
const R40 = 'Zr8Qm2Lx9Tp4Vn7Wb3KsYh6JdF1gE5uXoA0cPqR8';
const HEX32 = '3f2a9c1e8b7d4e6fa1b2c3d4e5f60718';

// Where the audit mask (src/audit/redact.ts) knew a format more loosely than the guard before #19 (shorter lengths,
// more characters), the rule takes the looser form, so neither side loses what it caught; where the loose form would
// match words in prose (after `sk-`, `xox?-`, a short `Bearer`), a check at the rule asks for digits.
const RULES: Rule[] = [
  {
    id: 'private-key',
    hints: ['private key'],
    re: /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|$)/g,
    examples: [
      `-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA${R40}\n-----END RSA PRIVATE KEY-----`,
      '-----BEGIN PGP PRIVATE KEY BLOCK-----\nlQOYBF0\n-----END PGP PRIVATE KEY BLOCK-----',
    ],
  },
  {
    id: 'aws-access-key-id',
    hints: ['akia', 'asia', 'abia', 'acca', 'agpa', 'aida', 'aroa', 'aipa', 'anpa', 'anva', 'apka'],
    re: /\b(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|APKA)[0-9A-Z]{16}\b/g,
    examples: ['AKIAIOSFODNN7EXAMPLE', 'ASIAIOSFODNN7EXAMPLE', 'AROAQ3EGRT5YJ7XK2PLM'],
  },
  {
    id: 'aws-secret-access-key',
    hints: ['aws'],
    re: /aws.{0,20}?(?:secret|key).{0,20}?["'\s:=]+([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+])/gi,
    group: 1,
    entropy: 4,
    examples: ['AWS secret key: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'],
  },
  {
    id: 'github-token',
    hints: ['ghp_', 'gho_', 'ghu_', 'ghs_', 'ghr_'],
    re: /\bgh[pousr]_[A-Za-z0-9]{30,255}\b/g,
    examples: ['ghp_16C7e42F292c6912E7710c838347Ae178B4a', `ghs_${R40.slice(0, 30)}`],
  },
  {
    id: 'github-fine-grained-pat',
    hints: ['github_pat_'],
    re: /\bgithub_pat_[A-Za-z0-9_]{30,}/g,
    examples: ['github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP'],
  },
  {
    id: 'gitlab-token',
    hints: ['glpat-', 'gldt-', 'glrt-', 'glptt-', 'glcbt-'],
    re: /\bgl(?:pat|dt|rt|ptt|cbt)-[A-Za-z0-9_-]{20,}\b/g,
    examples: ['glpat-Xq7vLp2mZr9tK3sYh6Jd'],
  },
  {
    id: 'slack-token',
    hints: ['xox'],
    re: /\b(?:xoxe\.)?xox[a-z]-[A-Za-z0-9-]{10,}/g,
    // Slack puts numbers in every token; without a digit it is a word (`xoxo-hugs-and-kisses`).
    accept: (v) => /\d/.test(v),
    examples: [
      'xoxb-2048-4096-AbCdEfGhIjKlMnOp',
      'xoxe.xoxp-1-Mi0yLTExMjM0NTY3ODkw',
      'xoxe-1-Mi0yLTExMjM0NTY3ODkwQWJj',
    ],
  },
  {
    id: 'slack-app-token',
    hints: ['xapp-'],
    re: /\bxapp-\d-[A-Za-z0-9-]{10,}/g,
    examples: ['xapp-1-A0123456789-0123456789012-abcdef0123'],
  },
  {
    id: 'slack-webhook',
    hints: ['hooks.slack.com'],
    re: /https:\/\/hooks\.slack\.com\/(?:services|workflows|triggers)\/[A-Za-z0-9/_-]+/g,
    examples: ['https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX'],
  },
  {
    id: 'stripe-key',
    hints: ['_live_', '_test_'],
    re: /\b(?:sk|rk|whsec)_(?:live|test)_[A-Za-z0-9]{10,}/g,
    examples: [
      'sk_live_51HqLyjWDarjtT1zdp7dcXPOhXc6ypVn4xM9',
      'rk_live_51HqLyjWDarjtT1zdp7dcXPOh',
      'sk_test_51HqLyjWDa',
    ],
  },
  {
    id: 'stripe-webhook-secret',
    hints: ['whsec_'],
    re: /\bwhsec_[A-Za-z0-9+/=]{20,}/g,
    examples: ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'whsec_MfKQ9r8GKYqrTwjUPD8I'],
  },
  {
    id: 'google-api-key',
    hints: ['aiza'],
    re: /\bAIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])/g,
    examples: ['AIzaSyA1234567890abcdefghijklmnopqrstuv'],
  },
  {
    id: 'google-oauth-secret',
    hints: ['gocspx-'],
    re: /\bGOCSPX-[A-Za-z0-9_-]{28}\b/g,
    examples: ['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'],
  },
  {
    id: 'anthropic-key',
    hints: ['sk-ant-'],
    re: /\bsk-ant-(?:api|admin)\d{2}-[A-Za-z0-9_-]{80,}/g,
    examples: [`sk-ant-api03-${R40}${R40}AA`],
  },
  {
    id: 'openai-key',
    hints: ['t3blbkfj'],
    re: /\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}T3BlbkFJ[A-Za-z0-9_-]{20,}/g,
    examples: [`sk-${R40.slice(0, 20)}T3BlbkFJ${R40.slice(20)}`],
  },
  {
    id: 'openai-key',
    hints: ['sk-proj-'],
    re: /\bsk-proj-[A-Za-z0-9_-]{40,}/g,
    examples: [`sk-proj-${R40}Xc6ypVn4`],
  },
  {
    // Keys in the OpenAI style from other issuers, and OpenAI and Anthropic keys cut short.
    id: 'sk-key',
    hints: ['sk-'],
    re: /\bsk-[A-Za-z0-9_-]{20,}/g,
    accept: lettersAndDigits, // not a slug (`sk-learn-compatible-estimators`)
    examples: [
      'sk-proj-abcdefghijklmnopqrstuvwxyz012345',
      'sk-ant-api03-abcdefghijklmnopqrstuvwxyz',
      `sk-${HEX32}`,
    ],
  },
  { id: 'npm-token', hints: ['npm_'], re: /\bnpm_[A-Za-z0-9]{36}\b/g, examples: [`npm_${R40.slice(0, 36)}`] },
  {
    id: 'pypi-token',
    hints: ['pypi-'],
    re: /\bpypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,}/g,
    examples: [`pypi-AgEIcHlwaS5vcmc${R40}${R40}`],
  },
  {
    id: 'sendgrid-key',
    hints: ['sg.'],
    re: /\bSG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}\b/g,
    examples: [`SG.${R40.slice(0, 22)}.${R40}abc`],
  },
  { id: 'twilio-key', hints: ['sk'], re: /\bSK[0-9a-f]{32}\b/g, entropy: 3.2, examples: [`SK${HEX32}`] },
  {
    id: 'azure-storage-key',
    hints: ['accountkey='],
    re: /AccountKey=([A-Za-z0-9+/]{86}==)/g,
    group: 1,
    examples: [`AccountName=acme;AccountKey=${R40}${R40}Xc6ypV==;EndpointSuffix=core.windows.net`],
  },
  {
    id: 'azure-sas',
    hints: ['sig='],
    re: /[?&]sig=([A-Za-z0-9%+/]{40,}(?:%3D|=){0,2})/g,
    group: 1,
    examples: [`https://acme.blob.core.windows.net/c/f.txt?sv=2022-11-02&sr=b&sig=${R40}%3D`],
  },
  {
    id: 'digitalocean-token',
    hints: ['_v1_'],
    re: /\bdo[por]_v1_[a-f0-9]{64}\b/g,
    examples: [`dop_v1_${HEX32}${HEX32}`],
  },
  {
    id: 'shopify-token',
    hints: ['shpat_', 'shpca_', 'shppa_', 'shpss_'],
    re: /\bshp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}\b/g,
    examples: [`shpat_${HEX32}`],
  },
  {
    id: 'huggingface-token',
    hints: ['hf_'],
    re: /\bhf_[A-Za-z]{34}\b/g,
    examples: ['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'],
  },
  {
    id: 'mailgun-key',
    hints: ['key-'],
    re: /\bkey-[0-9a-f]{32}\b/g,
    entropy: 3.2,
    examples: [`key-${HEX32}`],
  },
  {
    id: 'discord-webhook',
    hints: ['discord'],
    re: /https:\/\/(?:ptb\.|canary\.)?discord(?:app)?\.com\/api\/webhooks\/\d+\/[A-Za-z0-9_-]{60,}/g,
    examples: [`https://discord.com/api/webhooks/123456789012345678/${R40}${R40}`],
  },
  {
    // warden's own tokens (src/identity/tokens.ts): wdn_ grants, wda_ admin tokens; also cut short or mangled ones.
    id: 'warden-token',
    hints: ['wdn_', 'wda_'],
    re: /\bwd[na]_[A-Za-z0-9_-]{8,}/g,
    examples: [
      `wdn_0123456789abcdef_${R40}Xc6`,
      `wda_0123456789abcdef_${R40}Xc6`,
      'wdn_0123456789abcdef_Zr8Q',
    ],
  },
  {
    // The dashboard's session cookie, wherever a header or URL is quoted.
    id: 'warden-session',
    hints: ['warden_session='],
    re: /\bwarden_session=([A-Za-z0-9_-]{8,})/g,
    group: 1,
    examples: ['cookie: warden_session=Zm9vYmFyYmF6cXV4cXV1eHh5enp5'],
  },
  {
    // A JWT; an unsigned one (`alg: none`) has an empty third part.
    id: 'jwt',
    hints: ['eyj'],
    re: /\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g,
    examples: [
      `eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3OCJ9.${R40}Xc6`,
      'eyJhbGciOiJub25lIn0.eyJzdWIiOiIxMjM0NTY3ODkwIn0.',
    ],
  },
  {
    // Any scheme; the password may hold `@` (the last one before the host ends it).
    id: 'connection-string-password',
    hints: ['://'],
    re: /\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@"'<>]{1,64}:([^\s/"'<>]{3,128})@[\w.-]+/gi,
    group: 1,
    accept: (v) => !PLACEHOLDER.test(v) && !/^\$|^%|^\{/.test(v),
    examples: [
      'postgres://app:Xq7vLp2mZr9t@db:5432/x',
      'postgres://app:p@ss-w0rd@db:5432/x',
      'nats://svc:Xq7vLp2mZr9t@nats.internal:4222',
    ],
  },
  {
    id: 'connection-string-password',
    hints: ['password', 'pwd'],
    re: /\b(?:Password|Pwd)\s*=\s*([^;"'\s]{4,128})\s*(?:;|$)/g,
    group: 1,
    accept: (v) => !PLACEHOLDER.test(v) && !looksLikeCode(v),
    examples: ['Server=db;User Id=app;Password=Xq7vLp2m;'],
  },
  {
    // Long random tokens as before #19, and short ones that mix letters and digits (not `Bearer authentication`).
    id: 'bearer-token',
    hints: ['bearer'],
    re: /\b(?:Authorization\s*[:=]\s*["']?)?Bearer\s+([A-Za-z0-9._~+/-]{8,}=*)/gi,
    group: 1,
    accept: (v) =>
      (v.length >= 20 && entropy(v) >= 3.5) ||
      (lettersAndDigits(v) && entropy(v) >= 2.5 && !PLACEHOLDER.test(v)),
    examples: [`Authorization: Bearer ${R40}`, 'authorization: bearer abc123def4'],
  },
  {
    id: 'basic-credential',
    hints: ['basic'],
    re: /\bBasic\s+([A-Za-z0-9+/]{8,}={0,2})(?![A-Za-z0-9+/=])/gi,
    group: 1,
    accept: basicCredential,
    examples: [`Authorization: Basic ${Buffer.from('deploy:Xq7vLp2mZr9t').toString('base64')}`],
  },
  {
    // `password = "..."`: a quoted literal of some length that is no placeholder.
    id: 'password-assignment',
    hints: ['pass', 'pwd'],
    re: /\b[A-Za-z0-9_.-]{0,24}(?:passw(?:or)?d|passwd|pwd|passphrase)[A-Za-z0-9_]{0,12}\\?["']?\s*(?:[:=]|=>|:=)\s*\\?(["'`])([^"'`\s\\]{6,128})\\?\1/gi,
    group: 2,
    entropy: 2.5,
    // A value of one kind of character counts only under a field named exactly for a password (`"password":
    // "sunshine"` in a JSON result): the name is the evidence, and a word like `required` is a validation message.
    accept: (v, m) =>
      !PLACEHOLDER.test(v) && (classes(v) >= 2 || (PASSWORD_FIELD.test(m[0]) && !VALIDATION_WORD.test(v))),
    examples: [
      '"password": "hunter2"',
      '{"user":{"password":"sunshine"}}',
      "db_password: 'sunshine'",
      "'password' => 'Xy7!kq2Lmn'",
      'password := "Xy7!kq2Lmn"',
      'DB_PASSWORD_PROD="Xy7!kq2Lmn"',
      'passphrase = "Xy7!kq2Lmn"',
    ],
  },
  {
    // `API_KEY=...`, `"client_secret": "..."`, `auth_token: ...`: counts only when the value looks random.
    id: 'generic-credential',
    hints: ['key', 'secret', 'token', 'pass', 'pwd', 'credential'],
    re: /\b(?:[A-Za-z0-9]+[_.-])*(?:api[_-]?key|apikey|secret(?:[_-]?key)?|access[_-]?key|private[_-]?key|client[_-]?secret|auth[_-]?token|access[_-]?token|refresh[_-]?token|secret[_-]?token|token|passw(?:or)?d|pwd|credentials?)\\?["']?\s*(?:[:=]|=>|:=)\s*\\?["'`]?([A-Za-z0-9_+/=.~-]{16,256})/gi,
    group: 1,
    entropy: 3.4,
    accept: (v, m) =>
      !PLACEHOLDER.test(v) &&
      !looksLikeCode(v) &&
      /\d/.test(v) &&
      /[A-Za-z]/.test(v) &&
      !/(?:page|cursor|next|continuation|sync|csrf)[_-]?token/i.test(m[0]) &&
      // a hex digest or UUID under a `token` name is usually an id, not a credential: require more than hex
      !(/^[0-9a-f-]+$/i.test(v) && !/secret|key|passw|pwd/i.test(m[0])),
    examples: [
      'API_KEY=Zr8Qm2Lx9Tp4Vn7Wb3KsYh6J',
      '"client_secret": "uAW7QFfB5367sVsKRRA3luSx6qEotadq"',
      '"\\"client_secret\\": \\"uAW7QFfB5367sVsKRRA3luSx6qEotadq\\""',
    ],
  },
];

/** Each rule's id and the texts it must find a secret in: what test/unit/secret-formats.test.ts holds both sides to. */
export function ruleExamples(): Array<{ rule: string; examples: readonly string[] }> {
  return RULES.map((r) => ({ rule: r.id, examples: r.examples }));
}

/** Any rule's hint: most texts (arguments, log lines, ordinary results) have none, and cost one test. */
const ANY_HINT = new RegExp(
  [...new Set(RULES.flatMap((r) => r.hints))].map((h) => h.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')).join('|'),
  'i',
);

export function findSecrets(text: string): Finding[] {
  const out: Finding[] = [];
  if (!ANY_HINT.test(text)) return out;
  const lower = text.toLowerCase();
  for (const rule of RULES) {
    if (!rule.hints.some((h) => lower.includes(h))) continue;
    rule.re.lastIndex = 0;
    for (let m = rule.re.exec(text); m !== null; m = rule.re.exec(text)) {
      if (m[0].length === 0) {
        rule.re.lastIndex++;
        continue;
      }
      const g = rule.group ?? 0;
      const value = m[g];
      if (value === undefined) continue;
      if (rule.entropy !== undefined && entropy(value) < rule.entropy) continue;
      if (rule.accept !== undefined && !rule.accept(value, m)) continue;
      const start = m.index + (g === 0 ? 0 : m[0].lastIndexOf(value));
      const end = start + value.length;
      // Issuer rules come first: a generic rule matching the same value does not count it again.
      if (out.some((f) => f.start < end && f.end > start)) continue;
      out.push({ rule: rule.id, start, end });
    }
  }
  return out;
}
