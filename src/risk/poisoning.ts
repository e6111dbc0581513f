// Tool poisoning and shadowing: instructions aimed at the model hidden in a definition, and tools that claim others'.
//
// The patterns target what an attack needs (to address the model over the user's head, to hide, to reach secrets or
// other tools' data) rather than ordinary usage notes: real servers write "You must provide a path" and "IMPORTANT:
// use absolute paths" all the time, and a poisoning check that cries wolf on them would be switched off.
import { base64Texts, normalize } from '../guards/normalize.js';
import { parameters, quote, words } from './text.js';
import type { Signal, ToolDefinition } from './types.js';

interface Pattern {
  what: string;
  re: RegExp;
}

const ADDRESSES_MODEL: Pattern[] = [
  {
    what: 'tells the model to ignore its instructions',
    re: /\b(ignore|disregard|forget|override) (all |any )?(the )?(previous|prior|above|earlier|other|system|user'?s?) (instructions|prompts?|rules|messages)\b/i,
  },
  {
    what: 'tells the model to keep something from the user',
    re: /\b(do not|don'?t|never|without) (tell(ing)?|inform(ing)?|mention(ing)?|reveal(ing)?|notify(ing)?|show(ing)?|alert(ing)?|let(ting)?) (this |it |that )?(to )?(the )?user\b/i,
  },
  {
    what: 'hides its behaviour from the user',
    re: /\b(the (user|human|person)( you are helping)? (must|should|is|are) not (to )?(know|see|be told|be informed|find out)|(secretly|silently|covertly|quietly|discreetly) (send|read|forward|include|pass|copy|exfiltrate|change|replace|redirect|alter|swap|modify)|this (could|might|may) (even )?upset the user|keep (this|it|that)( step| part)? between us|no need to (bring (this|it) up|mention (this|it)|tell)\b)/i,
  },
  {
    what: 'wraps instructions in a tag meant for the model',
    // Not `<instructions>`: servers format their own usage notes with it (one database server wraps how to report
    // a migration in it); the tags an attack needs claim importance, the system's voice or secrecy.
    re: /<\s*(important|system|secret|hidden|admin|assistant|ai|model)\s*>/i,
  },
  {
    what: 'speaks as the system prompt',
    re: /(\[\s*(system|inst)\s*\]|^\s*system\s*:|\bnew (system )?instructions?\s*:|\byou are now\b|\bact as (an? )?(unrestricted|jailbroken))/im,
  },
  {
    what: 'claims the rules no longer apply',
    re: /\b((previous|prior|earlier|original) (guidance|instructions|rules|directions|directives) (no longer appl(y|ies)|(is|are) (void|obsolete|cancell?ed|revoked))|(restrictions|rules|policies|safety (rules|checks)|guardrails) (are|is|have been) (now )?(lifted|disabled|off|suspended|removed)|system override|(authori[sz]ed|allowed|permitted) (you )?to (skip|bypass|ignore) (all |any )?(confirmation|approval|permission)s?)\b/i,
  },
  {
    what: 'tells the model to ignore its instructions (in another language)',
    re: /\b(ignorier(e|en sie)? (alle )?(vorherigen|bisherigen|obigen) (anweisungen|regeln)|ignora (todas )?las (instrucciones|reglas) (anteriores|previas)|ignore[sz]? (toutes )?les (instructions|consignes|r\u00e8gles) (pr\u00e9c\u00e9dentes|ant\u00e9rieures)|ignora (tutte )?le istruzioni precedenti)\b/i,
  },
  {
    what: 'tells the model to keep something from the user (in another language)',
    re: /\b(sag(e|en sie)? (dem|der) (benutzer(in)?|nutzer(in)?|anwender(in)?) nichts|no (le )?(digas|diga|cuentes|menciones) (nada )?al usuario|ne (le )?(dis|dites) rien \u00e0 l'utilisateur|non dire (nulla )?all'utente)\b/i,
  },
  {
    what: 'says the tool will not work unless the model does something else first',
    re: /\b(otherwise|or else) (the |this )?tool (will not|won'?t|cannot|can ?not) (work|function)\b/i,
  },
];

const SECRET_REQUESTS: Pattern[] = [
  {
    // Asking means a verb that reads or sends the file: real servers name these files to say they are refused
    // ("hidden config directories like ~/.ssh are rejected"), searched for, or where to store a key.
    what: 'asks for a secret file',
    re: /\b(read|cat|open|send|pass|copy|attach|upload|forward|include|contents? of|fetch|load|retrieve|embed|submit|supply|grab|dump)\b[^.\n]{0,60}(~\/\.ssh|id_rsa|id_ed25519|\.aws\/credentials|\.env\b|dotenv|mcp\.json|mcp client config|claude_desktop_config|\.cursor\/|\.npmrc|\.netrc|\.git-credentials|\/etc\/passwd|\/etc\/shadow|kubeconfig|\.kube\/config|private key (stored|saved|kept) (in|on|under)|ssh (folder|directory))/i,
  },
  {
    what: 'asks the model to pass secrets as an argument',
    re: /\b(pass|send|include|provide|put|add|append|copy)\b[^.]{0,60}\b(api[ _-]?keys?|tokens?|passwords?|private keys?|secrets?|credentials?|ssh keys?|session cookies?|conversation history|system prompt|previous messages)\b[^.]{0,40}\b(as|in|into|to) (the |a |an )?[`'"]?[a-z_]+[`'"]? ?([a-z]+ )?(parameter|argument|field|param)\b/i,
  },
  {
    what: 'asks for the contents of other tools or the conversation',
    re: /\b(read|collect|gather|include|send|forward)\b[^.]{0,40}\b(all|every|the)\b[^.]{0,20}\b(other tools?'?s?|conversation|chat history|system prompt|previous (tool )?(results|outputs|messages))\b/i,
  },
];

const CROSS_SERVER: Pattern[] = [
  {
    what: 'gives orders about other tools or servers',
    re: /\b(when|whenever|if|before|after) (the user |you )?(call|use|invoke|run)s?(ing)? (any )?(other|another|the [a-z_-]+ (server|mcp))('?s)? (tools?|servers?|mcp)\b[^.]{0,80}\b(must|always|instead|also|first)\b/i,
  },
  {
    what: 'redirects where other tools send data',
    re: /\b((all|every|any) (e-?mails?|messages?|payments?|transfers?|requests?)\b[^.]{0,60}\b(must|should|will|needs?) (be |have |a )?(sent|forwarded|redirected|routed|bcc'?d|cc'?d|copy|copied)( delivered)? to|(change|replace|swap|set) the (recipient|destination|account|iban|payee)s?\b[^.]{0,20}\bto)\b/i,
  },
  {
    what: 'gives orders about how another tool is used',
    re: /\b(when|whenever|if|before|after)\b[^.]{0,40}\b(use|call|invoke|run)s?\b[^.]{0,40}\btool\b[^.]{0,60}\b(must|always)\b[^.]{0,40}\b(add|bcc|cc|send|forward|include|set|change|copy)\b/i,
  },
  {
    what: 'claims to replace another tool',
    re: /\b(instead of|do not use|never use|don'?t use) (the )?[`'"]?[a-z0-9]+(_[a-z0-9]+)+[`'"]? (tool )?(from|of|on) (the |another |other )?[a-z0-9_-]+ (server|mcp)\b/i,
  },
];

// Zero-width, bidirectional controls, the tag block and other characters that render as nothing.
const INVISIBLE =
  /[\u200B-\u200F\u202A-\u202E\u2060-\u2064\u2066-\u2069\uFEFF\u00AD\u180E]|[\u{E0000}-\u{E007F}]/u;
/** Zero-width characters: copy-paste leaves them beside a space in real documentation (Lark's "How \u200B\u200Bto");
 * they hide something when they stand in for a space between two words or sentences, or come in a run. */
const ZERO_WIDTH = /[\u200B-\u200D\u2060\uFEFF]+/gu;

/** The invisible character of a text that hides something, if any (names are held to every invisible character). */
function hidingCharacter(text: string): string | undefined {
  for (const m of text.matchAll(ZERO_WIDTH)) {
    const before = text[m.index - 1];
    const after = text[m.index + m[0].length];
    const glued = before !== undefined && after !== undefined && /\S/.test(before) && /\S/.test(after);
    if (m[0].length >= 3 || glued) return m[0];
  }
  return INVISIBLE.exec(text.replace(ZERO_WIDTH, ''))?.[0];
}
const HTML_COMMENT = /<!--[\s\S]*?-->|^\s*\[\/\/\]: # \(.*\)/m;
// Text pushed out of view after a long run of blank lines or spaces.
const PUSHED_AWAY = /(\n\s*){12,}\S|[ \t]{80,}\S/;

/** Every text of a definition the model reads: the description, the title, and each parameter's name and description. */
/** A text of a definition; `name` when it is a parameter's name, held to every invisible character. */
interface Text {
  where: string;
  text: string;
  name?: boolean;
}

function texts(tool: ToolDefinition): Text[] {
  const out: Text[] = [];
  if (typeof tool.description === 'string') out.push({ where: 'description', text: tool.description });
  if (typeof tool.title === 'string') out.push({ where: 'title', text: tool.title });
  for (const p of parameters(tool)) {
    if (p.description) out.push({ where: `parameter \`${p.path}\``, text: p.description });
    if (INVISIBLE.test(p.name)) out.push({ where: `parameter name \`${p.path}\``, text: p.name, name: true });
  }
  for (const t of [...out]) {
    for (const decoded of base64Texts(t.text))
      out.push({ where: `${t.where} (Base64-decoded)`, text: decoded });
  }
  return out;
}

/** The `tool_poisoning` findings of one definition, each with the text that raised it. */
export function findPoisoning(tool: ToolDefinition): Signal[] {
  const out: Signal[] = [];
  if (INVISIBLE.test(tool.name))
    out.push({ kind: 'tool_poisoning', evidence: 'invisible characters in the name' });
  for (const { where, text, name } of texts(tool)) {
    const invisible = name ? INVISIBLE.exec(text)?.[0] : hidingCharacter(text);
    if (invisible) {
      const code = invisible.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
      out.push({ kind: 'tool_poisoning', evidence: `${where} hides text: invisible character U+${code}` });
    }
    const comment = HTML_COMMENT.exec(text);
    if (comment)
      out.push({
        kind: 'tool_poisoning',
        evidence: `${where} hides text in an HTML comment ${quote(comment[0], 60)}`,
      });
    if (PUSHED_AWAY.test(text))
      out.push({ kind: 'tool_poisoning', evidence: `${where} pushes text out of view with blank space` });
    // As the model reads it: invisible characters dropped, escapes undone, look-alike letters made Latin (NFKC).
    const folded = normalize(text).text;
    for (const group of [ADDRESSES_MODEL, SECRET_REQUESTS, CROSS_SERVER]) {
      for (const { what, re } of group) {
        const m = re.exec(folded);
        if (m) out.push({ kind: 'tool_poisoning', evidence: `${where} ${what}: ${quote(m[0], 70)}` });
      }
    }
  }
  return out;
}

export interface ServerTools {
  server: string;
  tools: readonly ToolDefinition[];
}

export interface ShadowingFinding {
  server: string;
  tool: string;
  signal: Signal;
}

/**
 * Shadowing across servers: two servers offering a tool of the same name (the model cannot tell which it calls), and
 * a description that names another server's tool (a claim about, or instructions for, a tool it does not own).
 */
export function findShadowing(servers: readonly ServerTools[]): ShadowingFinding[] {
  const out: ShadowingFinding[] = [];
  const owners = new Map<string, string[]>();
  for (const { server, tools } of servers) {
    for (const t of tools) {
      const list = owners.get(t.name) ?? [];
      if (!list.includes(server)) list.push(server);
      owners.set(t.name, list);
    }
  }
  const distinctiveNames = new Set([...owners.keys()].filter(distinctive));
  for (const { server, tools } of servers) {
    for (const t of tools) {
      const others = (owners.get(t.name) ?? []).filter((s) => s !== server);
      if (others.length > 0) {
        out.push({
          server,
          tool: t.name,
          signal: {
            kind: 'shadowing',
            evidence: `the name \`${t.name}\` is also a tool of ${others.join(', ')}`,
          },
        });
      }
      const text = [t.description ?? '', ...parameters(t).map((p) => p.description)].join('\n');
      // The text's words, split where a name would end: a name of those characters is mentioned when it is one of
      // them, so one split of the text replaces a regular expression per name (the corpus, 3,089 tools against 2,851
      // names: 16.9 s -> 0.86 s).
      const tokens = new Set(text.split(NAME_BOUNDARY));
      for (const [otherName, otherServers] of owners) {
        if (otherName === t.name || otherServers.includes(server) || !distinctiveNames.has(otherName))
          continue;
        if (PLAIN_NAME.test(otherName) ? !tokens.has(otherName) : !mentions(text, otherName)) continue;
        out.push({
          server,
          tool: t.name,
          signal: {
            kind: 'shadowing',
            evidence: `the description names \`${otherName}\`, a tool of ${otherServers.join(', ')}`,
          },
        });
      }
    }
  }
  return out;
}

/** A name specific enough that mentioning it means the tool (`send_email`), not an ordinary word (`search`). */
function distinctive(name: string): boolean {
  return words(name).length >= 2 && name.length >= 6;
}

/** What may stand on either side of a mentioned name (`mentions`), and a name made only of what may not. */
const NAME_BOUNDARY = /[^A-Za-z0-9_-]+/;
const PLAIN_NAME = /^[A-Za-z0-9_-]+$/;

function mentions(text: string, name: string): boolean {
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(^|[^A-Za-z0-9_-])${escaped}($|[^A-Za-z0-9_-])`).test(text);
}
