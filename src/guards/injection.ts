// The injection guard: text in a result aimed at the model rather than the reader: overriding its rules, steering it
// to call tools or hide things from the user, sending data out. Run on the normalized text (normalize.ts).
import type { Finding } from './secrets.js';

interface Pattern {
  id: string;
  /** Lower-case substrings one of which the text must contain for the pattern to run (a cheap filter). */
  hints: string[];
  re: RegExp;
}

const PATTERNS: Pattern[] = [
  {
    id: 'override-instructions',
    hints: ['ignore', 'disregard', 'forget', 'override', 'bypass', 'skip'],
    re: /\b(?:ignore|disregard|forget|override|bypass|skip)\b[^.\n]{0,30}?\b(?:all|any|the|your|previous|prior|above|earlier|preceding|system|safety|existing|original)\b[^.\n]{0,30}?\b(?:instructions?|rules|guidelines|directives|prompts?|guardrails|policies|constraints)\b/gi,
  },
  {
    id: 'new-instructions',
    hints: ['instruction'],
    re: /\b(?:new|updated|real|actual|hidden|secret|additional)\s+(?:system\s+)?instructions?\s*(?:for\s+(?:the\s+)?(?:ai|assistant|model|agent|llm)\b|:)/gi,
  },
  {
    id: 'role-override',
    hints: ['you', 'act'],
    re: /\byou\s+are\s+(?:now|no\s+longer)\b|\bfrom\s+now\s+on,?\s+you\s+(?:are|will|must)\b|\bact\s+as\s+(?:an?\s+)?(?:unrestricted|jailbroken|dan)\b/gi,
  },
  {
    id: 'fake-role-marker',
    hints: ['<', 'system', 'assistant', '[', 'im_start'],
    re: /<\/?(?:system|important|instructions?|admin|assistant_instructions)>|^\s*(?:system|assistant)\s*:|\[\s*(?:system|inst)\s*\]|<\|im_start\|>|\bBEGIN SYSTEM PROMPT\b/gim,
  },
  {
    id: 'hide-from-user',
    hints: ['user', 'human', 'operator'],
    re: /\b(?:do\s+not|don't|never|without)\s+(?:tell(?:ing)?|inform(?:ing)?|mention(?:ing)?|show(?:ing)?|reveal(?:ing)?|notify(?:ing)?|alert(?:ing)?)\s+(?:this\s+to\s+)?(?:the\s+)?(?:user|human|operator)\b/gi,
  },
  {
    id: 'tool-call-directive',
    hints: ['tool', 'function', 'command'],
    re: /\b(?:you\s+must|you\s+should|immediately|now|first|assistant,?|ai,?|agent,?)\s+(?:call|invoke|run|execute|use)\s+(?:the\s+)?[`'"]?[A-Za-z0-9_./-]+[`'"]?\s+(?:tool|function|command)\b/gi,
  },
  {
    id: 'exfiltrate',
    hints: ['to'],
    re: /\b(?:send|post|upload|forward|email|e-mail|transmit|leak|exfiltrate|copy)\b[^.\n]{0,60}?\b(?:contents?|data|secrets?|keys?|tokens?|credentials?|passwords?|files?|history|conversation|env(?:ironment)?|\.env|ssh)\b[^.\n]{0,60}?\b(?:to|into)\s+(?:https?:\/\/|[\w.+-]+@[\w-]+\.|the\s+(?:following\s+)?(?:url|address|endpoint|webhook|server))/gi,
  },
  {
    id: 'exfiltrate-url',
    hints: ['](', 'url', 'link', 'query'],
    re: /!\[[^\]]*\]\(\s*https?:\/\/[^)\s]+[?&][\w-]+=(?:\{|\$|<|%7B)[^)]*\)|\b(?:append|add|include|put|encode)\b[^.\n]{0,50}?\b(?:to|in|into)\s+(?:the\s+)?(?:url|query\s+string|link|image\s+(?:url|link))\b/gi,
  },
  {
    id: 'read-sensitive',
    hints: ['ssh', '.env', '/etc/', '.aws', 'id_rsa'],
    re: /\b(?:read|cat|open|print|output|dump|list)\s+(?:the\s+)?(?:contents?\s+of\s+)?(?:~\/\.ssh\/id_\w+|~?\/?\.ssh\b|\.env\b|\/etc\/(?:passwd|shadow)|~\/\.aws\/credentials|id_rsa)/gi,
  },
];

export function findInjection(text: string): Finding[] {
  const out: Finding[] = [];
  const lower = text.toLowerCase();
  for (const p of PATTERNS) {
    if (!p.hints.some((h) => lower.includes(h))) continue;
    p.re.lastIndex = 0;
    for (let m = p.re.exec(text); m !== null; m = p.re.exec(text)) {
      out.push({ rule: p.id, start: m.index, end: m.index + m[0].length });
      if (m[0].length === 0) p.re.lastIndex++;
    }
  }
  return out;
}
