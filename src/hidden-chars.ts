// Characters a person cannot see for what they are, wherever warden shows text an agent or upstream wrote to a person
// (approval arguments, tool definitions under review): one set, so every view flags the same characters.

/**
 * Bidi controls (U+202A-202E, U+2066-2069, U+200E/F, U+061C), every default-ignorable code point (zero-width
 * characters, tag characters U+E0000-E007F, variation selectors, Hangul fillers, soft hyphen), other format
 * characters, line and paragraph separators, lone surrogates, and the control characters but tab and line feed
 * (a carriage return rewrites a terminal line; C1 controls such as U+009B drive terminals). The dashboard's copy is
 * src/dashboard/ui/hidden.tsx (the UI bundle imports nothing from the server): keep the two in step.
 */
export const HIDDEN_CHARACTER =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
  /[\p{Default_Ignorable_Code_Point}\p{Bidi_Control}\p{Cf}\p{Zl}\p{Zp}\p{Cs}\u0000-\u0008\u000B-\u001F\u007F-\u009F]/gu;

/** Whether one character (a code point) is in HIDDEN_CHARACTER's set. */
export function isHiddenCharacter(ch: string): boolean {
  HIDDEN_CHARACTER.lastIndex = 0;
  const hidden = HIDDEN_CHARACTER.test(ch);
  HIDDEN_CHARACTER.lastIndex = 0;
  return hidden;
}
