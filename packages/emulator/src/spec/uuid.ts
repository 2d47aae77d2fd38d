/** UUIDs as pydantic parses them (Rust `uuid` crate `Uuid::parse_str`), with the crate's error texts. */

const HEX = /^[0-9a-fA-F]$/;

function isHyphenated(s: string): boolean {
  if (s.length !== 36) return false;
  for (let i = 0; i < 36; i++) {
    const ch = s[i];
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (ch !== "-") return false;
    } else if (!HEX.test(ch)) return false;
  }
  return true;
}

/** `null` when pydantic accepts `s` as a UUID, else the `uuid` crate's error text. */
export function uuidParseError(s: string): string | null {
  if (s.length === 32 && /^[0-9a-fA-F]{32}$/.test(s)) return null;
  if (isHyphenated(s)) return null;
  if (s.length === 38 && s.startsWith("{") && s.endsWith("}") && isHyphenated(s.slice(1, -1))) return null;
  if (s.length === 45 && s.startsWith("urn:uuid:") && isHyphenated(s.slice(9))) return null;

  const byteLen = (t: string) => Buffer.byteLength(t, "utf8");
  let body: string;
  let offset: number;
  let simple: boolean;
  if (s.length >= 2 && s.startsWith("{") && s.endsWith("}")) [body, offset, simple] = [s.slice(1, -1), 1, false];
  else if (s.startsWith("urn:uuid:")) [body, offset, simple] = [s.slice(9), 9, false];
  else [body, offset, simple] = [s, 0, true];

  let hyphens = 0;
  const bounds = [0, 0, 0, 0];
  let index = 0; // byte index, as Rust's char_indices
  for (const ch of body) {
    if (ch === "-") {
      if (hyphens < 4) bounds[hyphens] = index;
      hyphens++;
    } else if (!HEX.test(ch)) {
      return `invalid character: expected an optional prefix of \`urn:uuid:\` followed by [0-9a-fA-F-], found \`${ch}\` at ${index + offset + 1}`;
    }
    index += byteLen(ch);
  }
  if (hyphens === 0 && simple) return `invalid length: expected length 32 for simple format, found ${byteLen(s)}`;
  if (hyphens !== 4) return `invalid group count: expected 5, found ${hyphens + 1}`;
  const starts = [0, 9, 14, 19, 24];
  const lengths = [8, 4, 4, 4, 12];
  for (let i = 0; i < 4; i++) {
    if (bounds[i] !== starts[i + 1] - 1)
      return `invalid group length in group ${i}: expected ${lengths[i]}, found ${bounds[i] - starts[i]}`;
  }
  return `invalid group length in group 4: expected 12, found ${byteLen(s) - starts[4]}`;
}
