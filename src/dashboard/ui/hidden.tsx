// Text shown with its hidden characters (bidi controls, zero-width and tag characters) made visible, never rendered.
// The same set as src/hidden-chars.ts (the server flags them in `hiddenCharacters`; this shows them).

const HIDDEN =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
  /[\p{Default_Ignorable_Code_Point}\p{Bidi_Control}\p{Cf}\p{Zl}\p{Zp}\p{Cs}\u0000-\u0008\u000B-\u001F\u007F-\u009F]/gu;

function escaped(ch: string): string {
  return `\\u{${(ch.codePointAt(0) ?? 0).toString(16).toUpperCase()}}`;
}

export function hasHidden(text: string): boolean {
  HIDDEN.lastIndex = 0;
  const found = HIDDEN.test(text);
  HIDDEN.lastIndex = 0;
  return found;
}

/** The text, each hidden character replaced by a marked `\u{202E}`; the browser never applies them. */
export function Visible({ text }: { text: string }) {
  const parts: (string | preact.JSX.Element)[] = [];
  let last = 0;
  let n = 0;
  for (const m of text.matchAll(HIDDEN)) {
    if (m.index > last) parts.push(text.slice(last, m.index));
    const code = escaped(m[0]);
    parts.push(
      <mark class="hidden-char" key={n++} title={`hidden character ${code}`}>
        {code}
      </mark>,
    );
    last = m.index + m[0].length;
  }
  if (last < text.length) parts.push(text.slice(last));
  // An isolate: whatever surrounds this text cannot reorder it, and it cannot reorder what follows.
  return <bdi dir="ltr">{parts}</bdi>;
}
