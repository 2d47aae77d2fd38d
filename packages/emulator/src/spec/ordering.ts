/**
 * Ordering: pydantic validates a model's fields in declaration order, extra keys afterwards, dict
 * items in input order, a dict key before its value.
 */
import { schemaForRef } from "./compile";
import type { JsonSchema } from "./document";
import { isNullSchema, isObject, type Loc } from "./json";

export type SortKey = number[];

export function compareKeys(a: SortKey, b: SortKey): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

function deref(s: unknown, depth = 0): JsonSchema | undefined {
  if (!isObject(s)) return undefined;
  if (typeof s.$ref === "string" && depth < 32) return deref(schemaForRef(s.$ref), depth + 1) ?? s;
  return s;
}

function matchesType(s: JsonSchema, value: unknown): boolean {
  const t = deref(s);
  if (!t) return false;
  const types = Array.isArray(t.type) ? t.type : t.type === undefined ? [] : [t.type];
  if (types.length === 0) return !isNullSchema(t);
  return types.some((ty) =>
    ty === "object"
      ? isObject(value)
      : ty === "array"
        ? Array.isArray(value)
        : ty === "null"
          ? value === null
          : typeof value === (ty === "integer" ? "number" : ty),
  );
}

/** The sub-schemas that apply to `value` at this level (through $ref, allOf and the matching union branch). */
function applicable(s: unknown, value: unknown, depth = 0): JsonSchema[] {
  const t = deref(s);
  if (!t || depth > 16) return [];
  const out = [t];
  if (Array.isArray(t.allOf)) for (const m of t.allOf) out.push(...applicable(m, value, depth + 1));
  const branches = (t.anyOf ?? t.oneOf) as unknown[] | undefined;
  if (Array.isArray(branches)) {
    const pick = branches.find((b) => isObject(b) && !isNullSchema(b) && matchesType(b, value));
    if (pick) out.push(...applicable(pick, value, depth + 1));
  }
  return out;
}

export function sortKey(schema: JsonSchema, root: unknown, rel: Loc): SortKey {
  const key: number[] = [];
  let schemas: JsonSchema[] = applicable(schema, root);
  let value: unknown = root;
  for (const seg of rel) {
    if (seg === "[key]") {
      key.push(-1);
      break;
    }
    if (typeof seg === "number") {
      key.push(seg);
      const items = schemas.map((s) => s.items).find(isObject);
      value = Array.isArray(value) ? value[seg] : undefined;
      schemas = applicable(items, value);
      continue;
    }
    const fields: string[] = [];
    for (const s of schemas)
      if (isObject(s.properties)) for (const f of Object.keys(s.properties)) if (!fields.includes(f)) fields.push(f);
    const idx = fields.indexOf(seg);
    key.push(idx >= 0 ? idx : 1_000_000 + (isObject(value) ? Math.max(0, Object.keys(value).indexOf(seg)) : 0));
    const next =
      schemas.map((s) => (isObject(s.properties) ? s.properties[seg] : undefined)).find(isObject) ??
      schemas.map((s) => s.additionalProperties).find(isObject);
    value = isObject(value) ? value[seg] : undefined;
    schemas = applicable(next, value);
  }
  key.push(0);
  return key;
}
