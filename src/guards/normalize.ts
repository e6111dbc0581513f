// The forms a text is scanned in besides its own: hidden characters dropped or decoded, look-alikes folded, escapes
// (JSON, URL, HTML) undone, and printable base64 runs decoded: the spellings a hostile upstream uses to slip past.

/** Unicode tag characters (U+E0000-E007F): invisible, and each one spells an ASCII character ("ASCII smuggling"). */
const TAGS = /[\u{E0000}-\u{E007F}]/u;
const TAG_RUN = /[\u{E0000}-\u{E007F}]+/gu;
/** Zero-width and other invisible format characters that split a word without showing. */
const INVISIBLE = /[\p{Default_Ignorable_Code_Point}\p{Bidi_Control}\p{Cf}]/gu;

/** Cyrillic and Greek letters drawn like Latin ones (the common confusables), folded to Latin. */
const CONFUSABLES: Record<string, string> = {
  а: 'a',
  е: 'e',
  о: 'o',
  р: 'p',
  с: 'c',
  х: 'x',
  у: 'y',
  і: 'i',
  ј: 'j',
  ѕ: 's',
  ԁ: 'd',
  ɡ: 'g',
  һ: 'h',
  ӏ: 'l',
  А: 'A',
  В: 'B',
  Е: 'E',
  К: 'K',
  М: 'M',
  Н: 'H',
  О: 'O',
  Р: 'P',
  С: 'C',
  Т: 'T',
  Х: 'X',
  І: 'I',
  Ј: 'J',
  Ѕ: 'S',
  α: 'a',
  ο: 'o',
  ρ: 'p',
  ν: 'v',
  ι: 'i',
  κ: 'k',
  τ: 't',
  υ: 'u',
  Α: 'A',
  Β: 'B',
  Ε: 'E',
  Ζ: 'Z',
  Η: 'H',
  Ι: 'I',
  Κ: 'K',
  Μ: 'M',
  Ν: 'N',
  Ο: 'O',
  Ρ: 'P',
  Τ: 'T',
  Υ: 'Y',
  Χ: 'X',
};
const CONFUSABLE_RE = new RegExp(`[${Object.keys(CONFUSABLES).join('')}]`, 'g');

/** Anything worth a second look: non-ASCII, an escape, an entity. Plain ASCII text skips all the work below. */
const NEEDS_WORK = /[\u0080-\u{10FFFF}]|%[0-9A-Fa-f]{2}|\\u[0-9A-Fa-f]{4}|\\x[0-9A-Fa-f]{2}|&#/u;

export interface Normalized {
  /** The text as a model would read it; equal to the input when nothing needed undoing. */
  text: string;
  /** Whether the input carried Unicode tag characters (invisible text). */
  hiddenTags: boolean;
}

function unescapeOnce(s: string): string {
  let out = s;
  if (out.includes('\\')) {
    out = out
      .replace(/\\u([0-9A-Fa-f]{4})/g, (_, h: string) => String.fromCharCode(Number.parseInt(h, 16)))
      .replace(/\\x([0-9A-Fa-f]{2})/g, (_, h: string) => String.fromCharCode(Number.parseInt(h, 16)))
      .replace(/\\\//g, '/');
  }
  if (out.includes('&#')) {
    out = out.replace(/&#(x[0-9A-Fa-f]+|\d+);?/g, (_, n: string) => {
      const cp = n[0] === 'x' ? Number.parseInt(n.slice(1), 16) : Number.parseInt(n, 10);
      return cp > 0 && cp <= 0x10ffff ? String.fromCodePoint(cp) : '';
    });
  }
  if (/%[0-9A-Fa-f]{2}/.test(out)) {
    out = out.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => {
      try {
        return decodeURIComponent(run);
      } catch {
        return run;
      }
    });
  }
  return out;
}

export function normalize(input: string): Normalized {
  if (!NEEDS_WORK.test(input)) return { text: input, hiddenTags: false };
  let text = input;
  const hiddenTags = TAGS.test(text);
  if (hiddenTags) {
    // Tag characters spell ASCII: show what they say (that is what a model may read).
    text = text.replace(TAG_RUN, (run) =>
      String.fromCharCode(...[...run].map((c) => (c.codePointAt(0) ?? 0xe0000) - 0xe0000)),
    );
  }
  // Escapes may hide invisible characters and the other way round: two rounds cover double encoding too.
  for (let i = 0; i < 2; i++) {
    text = unescapeOnce(text);
    text = text
      .replace(INVISIBLE, '')
      .normalize('NFKC')
      .replace(CONFUSABLE_RE, (c) => CONFUSABLES[c] ?? c);
  }
  return { text, hiddenTags };
}

/** Runs longer than this are images or files, not wrapped instructions: left alone (and cheap to skip). */
const BASE64_MAX = 16 * 1024;
const BASE64_MIN = 24;

function isBase64Char(c: number): boolean {
  return (
    (c >= 65 && c <= 90) ||
    (c >= 97 && c <= 122) ||
    (c >= 48 && c <= 57) ||
    c === 43 ||
    c === 47 ||
    c === 45 ||
    c === 95
  );
}

/** The printable texts hidden in base64 runs of `text` (a random id or an image decodes to bytes, not text). */
export function base64Texts(text: string): string[] {
  const out: string[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    if (!isBase64Char(text.charCodeAt(i))) {
      i++;
      continue;
    }
    const start = i;
    while (i < n && isBase64Char(text.charCodeAt(i))) i++;
    const len = i - start;
    if (len < BASE64_MIN || len > BASE64_MAX) continue;
    const run = text.slice(start, i);
    const decoded = Buffer.from(
      run,
      run.includes('-') || run.includes('_') ? 'base64url' : 'base64',
    ).toString('utf8');
    if (decoded.length < 12) continue;
    let printable = 0;
    for (let k = 0; k < decoded.length; k++) {
      const c = decoded.charCodeAt(k);
      if ((c >= 32 && c < 127) || c === 10 || c === 13 || c === 9) printable++;
    }
    if (printable / decoded.length >= 0.95) out.push(decoded);
  }
  return out;
}
