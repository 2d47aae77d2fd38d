/** Small helpers over JSON values, JSON Pointers and schemas, shared by the validation modules. */

/** A pydantic `loc`: field names and list indexes. */
export type Loc = (string | number)[];

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function isUnder(path: string, root: string): boolean {
  return path === root || path.startsWith(`${root}/`);
}

export function pointerSegments(instancePath: string, root: unknown): Loc {
  if (instancePath === "") return [];
  const segs: Loc = [];
  let cur: unknown = root;
  for (const raw of instancePath.slice(1).split("/")) {
    const seg = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    if (Array.isArray(cur)) {
      const i = Number(seg);
      segs.push(i);
      cur = cur[i];
    } else {
      segs.push(seg);
      cur = isObject(cur) ? cur[seg] : undefined;
    }
  }
  return segs;
}

export function isNullSchema(s: unknown): boolean {
  if (!isObject(s)) return false;
  if (s.type === "null") return true;
  if ("const" in s && s.const === null) return true;
  return Array.isArray(s.enum) && s.enum.length === 1 && s.enum[0] === null;
}
