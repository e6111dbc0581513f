// The secrets guard's rule set: issuer formats of cloud keys and tokens (prefixes and lengths as the issuers document
// them and public secret-scanner rule sets list them), private keys, connection strings with passwords, and named
// values (`api_key = ...`) that only count when the value looks random (entropy) and is no code or placeholder.

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

const RULES: Rule[] = [
  {
    id: 'private-key',
    hints: ['private key'],
    re: /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----[\s\S]{16,}?(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|$)/g,
  },
  {
    id: 'aws-access-key-id',
    hints: ['akia', 'asia', 'abia', 'acca', 'agpa', 'aida', 'aroa', 'aipa', 'anpa', 'anva', 'apka'],
    re: /\b(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|APKA)[A-Z2-7]{16}\b/g,
  },
  {
    id: 'aws-secret-access-key',
    hints: ['aws'],
    re: /aws.{0,20}?(?:secret|key).{0,20}?["'\s:=]+([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+])/gi,
    group: 1,
    entropy: 4,
  },
  {
    id: 'github-token',
    hints: ['ghp_', 'gho_', 'ghu_', 'ghs_', 'ghr_'],
    re: /\bgh[pousr]_[A-Za-z0-9]{36,255}\b/g,
  },
  {
    id: 'github-fine-grained-pat',
    hints: ['github_pat_'],
    re: /\bgithub_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}\b/g,
  },
  {
    id: 'gitlab-token',
    hints: ['glpat-', 'gldt-', 'glrt-', 'glptt-', 'glcbt-'],
    re: /\bgl(?:pat|dt|rt|ptt|cbt)-[A-Za-z0-9_-]{20,}\b/g,
  },
  { id: 'slack-token', hints: ['xox'], re: /\bxox[abpors]-(?:\d+-)+[A-Za-z0-9-]{10,}\b/g },
  {
    id: 'slack-webhook',
    hints: ['hooks.slack.com'],
    re: /https:\/\/hooks\.slack\.com\/(?:services|workflows|triggers)\/[A-Za-z0-9/_-]{20,}/g,
  },
  { id: 'stripe-key', hints: ['_live_', '_test_'], re: /\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{20,}\b/g },
  { id: 'stripe-webhook-secret', hints: ['whsec_'], re: /\bwhsec_[A-Za-z0-9+/=]{24,}/g },
  { id: 'google-api-key', hints: ['aiza'], re: /\bAIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])/g },
  { id: 'google-oauth-secret', hints: ['gocspx-'], re: /\bGOCSPX-[A-Za-z0-9_-]{28}\b/g },
  { id: 'anthropic-key', hints: ['sk-ant-'], re: /\bsk-ant-(?:api|admin)\d{2}-[A-Za-z0-9_-]{80,}/g },
  {
    id: 'openai-key',
    hints: ['t3blbkfj'],
    re: /\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}T3BlbkFJ[A-Za-z0-9_-]{20,}/g,
  },
  { id: 'openai-key', hints: ['sk-proj-'], re: /\bsk-proj-[A-Za-z0-9_-]{40,}/g },
  { id: 'npm-token', hints: ['npm_'], re: /\bnpm_[A-Za-z0-9]{36}\b/g },
  { id: 'pypi-token', hints: ['pypi-'], re: /\bpypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,}/g },
  { id: 'sendgrid-key', hints: ['sg.'], re: /\bSG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}\b/g },
  { id: 'twilio-key', hints: ['sk'], re: /\bSK[0-9a-f]{32}\b/g, entropy: 3.2 },
  { id: 'azure-storage-key', hints: ['accountkey='], re: /AccountKey=([A-Za-z0-9+/]{86}==)/g, group: 1 },
  { id: 'azure-sas', hints: ['sig='], re: /[?&]sig=([A-Za-z0-9%+/]{40,}(?:%3D|=){0,2})/g, group: 1 },
  { id: 'digitalocean-token', hints: ['_v1_'], re: /\bdo[por]_v1_[a-f0-9]{64}\b/g },
  {
    id: 'shopify-token',
    hints: ['shpat_', 'shpca_', 'shppa_', 'shpss_'],
    re: /\bshp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}\b/g,
  },
  { id: 'huggingface-token', hints: ['hf_'], re: /\bhf_[A-Za-z]{34}\b/g },
  { id: 'mailgun-key', hints: ['key-'], re: /\bkey-[0-9a-f]{32}\b/g, entropy: 3.2 },
  {
    id: 'discord-webhook',
    hints: ['discord'],
    re: /https:\/\/(?:ptb\.|canary\.)?discord(?:app)?\.com\/api\/webhooks\/\d+\/[A-Za-z0-9_-]{60,}/g,
  },
  {
    id: 'jwt',
    hints: ['eyj'],
    re: /\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/g,
  },
  {
    id: 'connection-string-password',
    hints: ['://'],
    re: /\b(?:postgres(?:ql)?|mysql|mariadb|mongodb(?:\+srv)?|rediss?|amqps?|mssql|sqlserver|jdbc:[a-z]+|ldaps?|s?ftp|smtps?|https?):\/\/[^\s:/@"'<>]{1,64}:([^\s@/"'<>]{3,128})@[\w.-]+/gi,
    group: 1,
    accept: (v) => !PLACEHOLDER.test(v) && !/^\$|^%|^\{/.test(v),
  },
  {
    id: 'connection-string-password',
    hints: ['password', 'pwd'],
    re: /\b(?:Password|Pwd)\s*=\s*([^;"'\s]{4,128})\s*(?:;|$)/g,
    group: 1,
    accept: (v) => !PLACEHOLDER.test(v) && !looksLikeCode(v),
  },
  {
    id: 'bearer-token',
    hints: ['bearer'],
    re: /\b(?:Authorization\s*[:=]\s*["']?)?Bearer\s+([A-Za-z0-9._~+/-]{20,}=*)/g,
    group: 1,
    entropy: 3.5,
  },
  {
    // `password = "..."`: a quoted literal of some length that is no placeholder.
    id: 'password-assignment',
    hints: ['pass', 'pwd'],
    re: /\b[A-Za-z0-9_.-]{0,24}(?:passw(?:or)?d|passwd|pwd|passphrase)[A-Za-z0-9_]{0,12}\\?["']?\s*(?:[:=]|=>|:=)\s*\\?(["'`])([^"'`\s\\]{6,128})\\?\1/gi,
    group: 2,
    entropy: 2.5,
    accept: (v) => !PLACEHOLDER.test(v) && classes(v) >= 2,
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
  },
];

export function findSecrets(text: string): Finding[] {
  const out: Finding[] = [];
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
