// The signals of a classification, each with the evidence that raised it (SPEC §7).
import { quote } from '../text.js';
import type { Signal } from '../types.js';
import { CODE_PARAMETERS, PATH_PARAMETERS, PII_WORDS } from '../vocabulary/parameters.js';
import { BULK_WORDS, IRREVERSIBLE, OPEN_WORLD_WORDS } from '../vocabulary/phrases.js';
import { type Context, permissionObject, type Reading, secretObject } from './context.js';

export function addSignals(r: Reading, ctx: Context): void {
  const s = ctx.signals;
  const name = ctx.tool.name;
  const a = ctx.tool.annotations;
  const secretParam = ctx.params.find((p) =>
    /^(token|api_?key|apikey|password|secret|client_?secret|access_?token|private_?key|credentials?)$/i.test(
      p.name,
    ),
  );
  const secretName = secretObject(ctx.nameWords) ?? permissionObject(ctx.nameWords);
  if (secretName || r.category === 'credential') {
    s.push({
      kind: 'handles_credentials',
      evidence: `name \`${name}\` (${secretName ?? 'credential operation'})`,
    });
  } else if (secretParam) {
    s.push({ kind: 'handles_credentials', evidence: `parameter \`${secretParam.path}\`` });
  }
  if (a?.openWorldHint === true) s.push({ kind: 'open_world', evidence: 'annotation openWorldHint: true' });
  else {
    const url = ctx.params.find(
      (p) => /^(url|urls|uri|href|link|endpoint)$/i.test(p.name) || p.format === 'uri',
    );
    const m = OPEN_WORLD_WORDS.exec(ctx.lead);
    if (url) s.push({ kind: 'open_world', evidence: `parameter \`${url.path}\` takes a URL` });
    else if (m) s.push({ kind: 'open_world', evidence: `description mentions ${quote(m[0], 40)}` });
  }
  if (r.category === 'execute' && r.risk === 'critical') {
    const code = ctx.params.find((p) => CODE_PARAMETERS.has(p.name.toLowerCase()));
    s.push({ kind: 'arbitrary_code', evidence: code ? `parameter \`${code.path}\`` : quote(ctx.lead) });
  } else if (r.category === 'write' && r.risk === 'high' && /\b(deploy|release)\b/i.test(name)) {
    const code = ctx.params.find((p) => /^(files?|code|source|content|script)$/i.test(p.name));
    if (code) s.push({ kind: 'arbitrary_code', evidence: `deploys \`${code.path}\`` });
  }
  const pathParam = ctx.params.find((p) => PATH_PARAMETERS.test(p.name));
  const fileWord = ctx.nameWords.find((w) =>
    ['file', 'files', 'directory', 'directories', 'folder', 'dir'].includes(w),
  );
  if (pathParam && (fileWord || /\b(file|director(y|ies)|folder|path)\b/i.test(ctx.lead))) {
    s.push({ kind: 'file_system', evidence: `parameter \`${pathParam.path}\`` });
  } else if (fileWord && !OPEN_WORLD_WORDS.test(ctx.lead)) {
    s.push({ kind: 'file_system', evidence: `name \`${name}\`` });
  }
  const bulkName = ctx.nameWords.find((w) => ['bulk', 'batch', 'broadcast', 'mass'].includes(w));
  if (bulkName) s.push({ kind: 'bulk_operation', evidence: `name \`${name}\`` });
  else if (BULK_WORDS.test(ctx.lead))
    s.push({ kind: 'bulk_operation', evidence: quote(BULK_WORDS.exec(ctx.lead)![0]) });
  const piiObject = ctx.nameWords.find((w) =>
    [
      'user',
      'users',
      'contact',
      'contacts',
      'customer',
      'customers',
      'person',
      'people',
      'profile',
      'employee',
      'employees',
      'attendees',
      'member',
      'members',
      'payroll',
      'email',
      'emails',
      'phone',
    ].includes(w),
  );
  const piiText =
    PII_WORDS.exec(ctx.lead) ?? PII_WORDS.exec(ctx.params.map((p) => p.name.replace(/_/g, ' ')).join(' '));
  if (piiObject) s.push({ kind: 'pii', evidence: `name \`${name}\` (${piiObject})` });
  else if (piiText) s.push({ kind: 'pii', evidence: quote(piiText[0], 40) });
  const irreversible = IRREVERSIBLE.exec(ctx.description);
  if (irreversible) s.push({ kind: 'irreversible', evidence: quote(irreversible[0], 40) });
  else if ((r.category === 'destructive' || r.category === 'financial') && r.risk === 'critical') {
    s.push({ kind: 'irreversible', evidence: r.why });
  } else if (a?.destructiveHint === true && a.readOnlyHint !== true) {
    s.push({ kind: 'irreversible', evidence: 'annotation destructiveHint: true' });
  }
}

export function dedupe(signals: Signal[]): Signal[] {
  const seen = new Set<string>();
  return signals.filter((s) => {
    const key = `${s.kind}\u0000${s.evidence}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
