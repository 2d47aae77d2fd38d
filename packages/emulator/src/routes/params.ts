/**
 * Parsers of query and path parameters, failing the way the real API's pydantic validation does (422 with a
 * `detail` list naming the parameter).
 */
import { validationError } from "../errors";

export function single(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[v.length - 1] : v;
}

export function list(v: string | string[] | undefined): string[] {
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).flatMap((s) => s.split(",")).filter(Boolean);
}

/** The allowed values as pydantic lists them in an enum error: `'a', 'b' or 'c'`. */
export function choices(allowed: readonly string[]): string {
  return allowed
    .map((a) => `'${a}'`)
    .join(", ")
    .replace(/, ([^,]*)$/, " or $1");
}

export function enumList<T extends string>(v: string | string[] | undefined, name: string, allowed: readonly T[]): T[] {
  const items = list(v);
  items.forEach((item, i) => {
    if (!allowed.includes(item as T)) {
      const expected = choices(allowed);
      throw validationError([
        { type: "enum", loc: ["query", name, i], msg: `Input should be ${expected}`, input: item, ctx: { expected } },
      ]);
    }
  });
  return items as T[];
}

export function intParam(
  v: string | string[] | undefined,
  name: string,
  dflt: number,
  min: number,
  max?: number,
): number {
  const s = single(v);
  if (s === undefined || s === "") return dflt;
  if (!/^-?\d+$/.test(s)) {
    throw validationError([
      {
        type: "int_parsing",
        loc: ["query", name],
        msg: "Input should be a valid integer, unable to parse string as an integer",
        input: s,
      },
    ]);
  }
  const n = Number(s);
  if (n < min)
    throw validationError([
      {
        type: "greater_than_equal",
        loc: ["query", name],
        msg: `Input should be greater than or equal to ${min}`,
        input: s,
        ctx: { ge: min },
      },
    ]);
  if (max !== undefined && n > max)
    throw validationError([
      {
        type: "less_than_equal",
        loc: ["query", name],
        msg: `Input should be less than or equal to ${max}`,
        input: s,
        ctx: { le: max },
      },
    ]);
  return n;
}

export function boolParam(v: string | string[] | undefined, name: string, dflt: boolean): boolean {
  const s = single(v);
  if (s === undefined || s === "") return dflt;
  if (/^(true|1|yes|on)$/i.test(s)) return true;
  if (/^(false|0|no|off)$/i.test(s)) return false;
  throw validationError([
    {
      type: "bool_parsing",
      loc: ["query", name],
      msg: "Input should be a valid boolean, unable to interpret input",
      input: s,
    },
  ]);
}

export function uuidParam(v: string, name: string): void {
  if (!/^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i.test(v)) {
    throw validationError([
      {
        type: "uuid_parsing",
        loc: ["path", name],
        msg:
          "Input should be a valid UUID, invalid character: expected an optional prefix of `urn:uuid:` followed by [0-9a-fA-F-], found `" +
          (v.match(/[^0-9a-fA-F-]/)?.[0] ?? v[0] ?? "") +
          "` at 1",
        input: v,
      },
    ]);
  }
}
