// Arguments as an approver sees them: secrets masked, and characters that render as nothing (or reorder the text
// around them) shown escaped and flagged, so `billing@example.com` is what the call really carries (#17.16).
import { maskSecrets } from '../audit/redact.js';
import { HIDDEN_CHARACTER } from '../hidden-chars.js';

const HIDDEN = HIDDEN_CHARACTER;

function codePoint(ch: string): number {
  return ch.codePointAt(0) ?? 0;
}

/** `U+202E` */
export function unicodeName(ch: string): string {
  return `U+${codePoint(ch).toString(16).toUpperCase().padStart(4, '0')}`;
}

/** The text with each hidden character written as `\u{202E}`, for people (terminals, chat messages). */
export function escapeHidden(text: string): string {
  return text.replace(HIDDEN, (ch) => `\\u{${codePoint(ch).toString(16).toUpperCase()}}`);
}

/** JSON text with each hidden character written as a `\uXXXX` escape: the same JSON value, nothing hidden in it. */
export function escapeHiddenJson(json: string): string {
  return json.replace(HIDDEN, (ch) => {
    let out = '';
    for (let i = 0; i < ch.length; i++) out += `\\u${ch.charCodeAt(i).toString(16).padStart(4, '0')}`;
    return out;
  });
}

export interface HiddenCharacters {
  /** JSON Pointer to the argument (its own hidden characters escaped), `` for the arguments themselves. */
  path: string;
  /** The hidden characters found there, as `U+XXXX`, each once. */
  characters: string[];
  /** True when they are in the name of the argument rather than its value. */
  inKey?: true;
}

/** At most this many places are listed; the flag holds as soon as there is one. */
const MAX_FINDINGS = 50;

function pointerSegment(key: string): string {
  return escapeHidden(key.replace(/~/g, '~0').replace(/\//g, '~1'));
}

function found(text: string): string[] {
  const seen = new Set<string>();
  for (const m of text.matchAll(HIDDEN)) seen.add(unicodeName(m[0]));
  return [...seen];
}

/** Where the value (argument names and string values, at any depth) holds hidden characters. */
export function hiddenCharacters(value: unknown): HiddenCharacters[] {
  const out: HiddenCharacters[] = [];
  const walk = (v: unknown, path: string, depth: number) => {
    if (out.length >= MAX_FINDINGS || depth > 64) return;
    if (typeof v === 'string') {
      const chars = found(v);
      if (chars.length > 0) out.push({ path, characters: chars });
    } else if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) walk(v[i], `${path}/${i}`, depth + 1);
    } else if (v !== null && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        const at = `${path}/${pointerSegment(k)}`;
        const chars = found(k);
        if (chars.length > 0 && out.length < MAX_FINDINGS)
          out.push({ path: at, characters: chars, inKey: true });
        walk(x, at, depth + 1);
      }
    }
  };
  walk(value, '', 0);
  return out;
}

/** The arguments an approver (dashboard, API, CLI, webhook) is shown: secrets masked, as in the audit log's values. */
export function argumentsForApprover(args: Record<string, unknown>): Record<string, unknown> {
  return maskSecrets(args) as Record<string, unknown>;
}
