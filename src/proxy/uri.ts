// Resource URIs as servers resolve them: parsed and serialised the way a WHATWG URL parser does (the SDK's
// `new URL(uri).toString()`), so that policy rules see the URI the server will read, not the agent's spelling.

/**
 * The normal form of a resource URI (scheme in lower case, leading and trailing spaces and control characters gone,
 * tabs and newlines inside removed, `.`/`..` and `%2e` segments resolved, `file://localhost/` as `file:///`), or
 * undefined when it does not parse as an absolute URI. This is the form that is checked and forwarded.
 */
export function normalizeUri(raw: string): string | undefined {
  try {
    return new URL(raw).href;
  } catch {
    return undefined;
  }
}

/** Decodes the %XX escapes that form valid UTF-8 (others stay as they are). */
function percentDecode(s: string): string {
  if (!s.includes('%')) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    return s.replace(/%([0-9A-Fa-f]{2})/g, (m, hex: string) => {
      const code = Number.parseInt(hex, 16);
      return code < 0x80 ? String.fromCharCode(code) : m;
    });
  }
}

/** At most this many rounds of decoding: `%25252F` is three. */
const MAX_DECODE_ROUNDS = 4;

/**
 * Every spelling of a normalised URI a server might resolve to the same resource: the normal form; its percent-decoded
 * forms (`%2F` as `/`, `%61` as `a`, double encoding, each round again normalised); backslashes as slashes; the host in
 * lower case and without a trailing dot. A rule that hides or denies any of them hides or denies the URI.
 */
export function uriForms(normal: string): string[] {
  const forms = new Set<string>([normal]);
  let current = normal;
  for (let i = 0; i < MAX_DECODE_ROUNDS; i++) {
    const decoded = percentDecode(current);
    if (decoded === current) break;
    forms.add(decoded);
    const again = normalizeUri(decoded);
    if (again !== undefined) forms.add(again);
    current = decoded;
  }
  for (const f of [...forms]) {
    if (f.includes('\\')) {
      const slashed = f.replaceAll('\\', '/');
      forms.add(slashed);
      const again = normalizeUri(slashed);
      if (again !== undefined) forms.add(again);
    }
    const m = /^([A-Za-z][A-Za-z0-9+.-]*:\/\/)([^/?#]*)(.*)$/s.exec(f);
    if (m !== null) {
      const host = m[2]!.toLowerCase().replace(/\.+(?=(:\d*)?$)/, '');
      if (host !== m[2]) forms.add(`${m[1]}${host}${m[3]}`);
    }
  }
  return [...forms];
}
