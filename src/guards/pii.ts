// The personal-data guard: e-mail addresses, phone numbers, payment card numbers (Luhn), IBANs (mod 97), and national
// ids whose format has a checksum or fixed structure (US SSN, UK NINO, NL BSN with its 11-test and a keyword nearby).
import type { Finding } from './secrets.js';

export function luhn(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

export function ibanValid(iban: string): boolean {
  const s = iban.replace(/\s+/g, '').toUpperCase();
  if (!/^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$/.test(s)) return false;
  const moved = s.slice(4) + s.slice(0, 4);
  let rem = 0;
  for (const ch of moved) {
    const v = ch >= 'A' ? (ch.charCodeAt(0) - 55).toString() : ch;
    for (const d of v) rem = (rem * 10 + (d.charCodeAt(0) - 48)) % 97;
  }
  return rem === 1;
}

function bsnValid(d: string): boolean {
  if (!/^\d{9}$/.test(d)) return false;
  let sum = 0;
  for (let i = 0; i < 8; i++) sum += (9 - i) * (d.charCodeAt(i) - 48);
  sum -= d.charCodeAt(8) - 48;
  return sum % 11 === 0 && sum !== 0;
}

const EMAIL =
  /\b[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}\b/g;
/** Card numbers: 13-19 digits in groups of up to 4-6, with spaces or dashes, starting like a card brand does. */
const CARD = /\b(?:4|5[1-5]|2[2-7]|3[47]|6(?:011|5|4[4-9])|3(?:0[0-5]|[68]))(?:[ -]?\d){11,17}\b/g;
const IBAN = /\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b/g;
/** International numbers (+CC ...) and North American ones with separators; bare digit runs are not phones. */
const PHONE =
  /(?<![\w+])(?:\+\d{1,3}[ .-]?(?:\(\d{1,4}\)[ .-]?)?\d{1,4}(?:[ .-]?\d{2,4}){2,4}|\(\d{3}\)[ .-]?\d{3}[ .-]\d{4}|\b\d{3}[.-]\d{3}[.-]\d{4})\b/g;
const SSN = /\b(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}\b/g;
const NINO = /\b(?![DFIQUV])[A-CEGHJ-PR-TW-Z](?![DFIQUVO])[A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b/g;
const BSN = /\b(?:bsn|burgerservicenummer|sofinummer)\D{0,20}(\d{9})\b/gi;

function each(
  re: RegExp,
  text: string,
  rule: string,
  out: Finding[],
  ok?: (m: RegExpExecArray) => boolean,
  group = 0,
): void {
  re.lastIndex = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    if (ok !== undefined && !ok(m)) continue;
    const v = m[group] ?? m[0];
    const start = m.index + m[0].lastIndexOf(v);
    out.push({ rule, start, end: start + v.length });
  }
}

export function findPii(text: string): Finding[] {
  const out: Finding[] = [];
  if (text.includes('@')) each(EMAIL, text, 'email', out);
  each(CARD, text, 'card-number', out, (m) => {
    const digits = m[0].replace(/\D/g, '');
    return digits.length >= 13 && digits.length <= 19 && luhn(digits) && !/^(\d)\1+$/.test(digits);
  });
  each(IBAN, text, 'iban', out, (m) => ibanValid(m[0]));
  each(PHONE, text, 'phone', out, (m) => {
    const digits = m[0].replace(/\D/g, '');
    return digits.length >= 10 && digits.length <= 15;
  });
  each(SSN, text, 'us-ssn', out);
  each(NINO, text, 'uk-nino', out);
  each(BSN, text, 'nl-bsn', out, (m) => bsnValid(m[1] ?? ''), 1);
  return out;
}
