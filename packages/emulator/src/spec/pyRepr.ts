/** Python renderings of JSON values, as pydantic writes them into its messages. */

/** Python `repr` of a JSON value (strings in single quotes, True/False/None). */
export function pyRepr(v: unknown): string {
  if (typeof v === "string") {
    const quote = v.includes("'") && !v.includes('"') ? '"' : "'";
    let out = quote;
    for (const ch of v) {
      const code = ch.codePointAt(0);
      if (code === undefined) throw new Error("pyRepr: empty character while iterating a string");
      if (ch === "\\") out += "\\\\";
      else if (ch === quote) out += `\\${ch}`;
      else if (ch === "\n") out += "\\n";
      else if (ch === "\r") out += "\\r";
      else if (ch === "\t") out += "\\t";
      else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, "0")}`;
      else out += ch;
    }
    return out + quote;
  }
  if (v === null || v === undefined) return "None";
  if (v === true) return "True";
  if (v === false) return "False";
  if (typeof v === "number") return String(v);
  return JSON.stringify(v);
}

/** `'a', 'b' or 'c'`, pydantic's rendering of expected values. */
export function expectedList(values: unknown[]): string {
  const reprs = values.map(pyRepr);
  if (reprs.length <= 1) return reprs.join("");
  return `${reprs.slice(0, -1).join(", ")} or ${reprs[reprs.length - 1]}`;
}

export const plural = (n: number) => (n === 1 ? "" : "s");
