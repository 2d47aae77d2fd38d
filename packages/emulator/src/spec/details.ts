/**
 * Ajv errors -> pydantic v2 details: validates a request value with the request Ajv and reports what
 * Mistral's FastAPI/pydantic server would, re-checking unions branch by branch as pydantic does and
 * keeping pydantic's order. Each remaining Ajv error is translated by `mapError`.
 */
import type { ValidationDetail } from "pulumi-mistral-batch/api";
import { BASE_URI, requestValidator, schemaForRef } from "./compile";
import type { JsonSchema } from "./document";
import { isNullSchema, isObject, isUnder, pointerSegments, type Loc } from "./json";
import { mapError } from "./mapError";
import { compareKeys, sortKey, type SortKey } from "./ordering";
import { pyRepr } from "./pyRepr";

interface Ranked {
  key: SortKey;
  detail: ValidationDetail;
}

const UNION_KEYWORDS = new Set(["anyOf", "oneOf"]);
/** Keywords that do not validate; a union whose schema has only these besides the union needs no re-check. */
const ANNOTATIONS = new Set([
  "anyOf",
  "oneOf",
  "discriminator",
  "title",
  "description",
  "default",
  "examples",
  "example",
  "deprecated",
  "readOnly",
  "writeOnly",
  "$comment",
]);

export function pydanticDetails(schema: JsonSchema, value: unknown, loc: Loc): ValidationDetail[] {
  const seen = new Set<string>();
  const out: ValidationDetail[] = [];
  for (const d of detailsFor(schema, value, loc)) {
    const id = JSON.stringify([d.type, d.loc, d.msg]);
    if (seen.has(id)) continue;
    seen.add(id);
    out.push(d);
  }
  return out;
}

function detailsFor(schema: JsonSchema, value: unknown, loc: Loc): ValidationDetail[] {
  const validate = requestValidator(schema);
  if (validate(value)) return [];
  const errors = [...(validate.errors ?? [])];
  const ranked: Ranked[] = [];

  // Unions (pydantic Optional[...] and Union[...]): Ajv reports every branch plus an "anyOf" error.
  // Re-validate the value at the union against its non-null branches instead, outermost first.
  const unions = errors
    .filter((e) => UNION_KEYWORDS.has(e.keyword))
    .sort((a, b) => a.instancePath.split("/").length - b.instancePath.split("/").length);
  const handled: string[] = [];
  for (const u of unions) {
    if (handled.some((h) => isUnder(u.instancePath, h))) continue;
    handled.push(u.instancePath);
    const segs = pointerSegments(u.instancePath, value);
    const at = [...loc, ...segs];
    const parent = (u.parentSchema ?? {}) as JsonSchema;
    const rest: JsonSchema = {};
    for (const [k, v] of Object.entries(parent)) if (!ANNOTATIONS.has(k) && !k.startsWith("x-")) rest[k] = v;
    const sub = [
      ...(Object.keys(rest).length > 0 ? detailsFor(restSchema(parent, rest), u.data, at) : []),
      ...unionDetails(parent, u.data, at),
    ];
    const key = sortKey(schema, value, segs);
    for (const detail of sub) ranked.push({ key, detail });
  }

  // pydantic stops a list at its max_length with a single too_long error (no item errors), and only
  // checks min_length once the items are valid.
  const tooLong = errors
    .filter((e) => e.keyword === "maxItems" || e.keyword === "maxProperties")
    .map((e) => e.instancePath);
  for (const e of errors) {
    if (UNION_KEYWORDS.has(e.keyword) || e.keyword === "propertyNames") continue;
    if (handled.some((h) => isUnder(e.instancePath, h))) continue;
    if (
      tooLong.some(
        (p) =>
          isUnder(e.instancePath, p) &&
          !(e.instancePath === p && (e.keyword === "maxItems" || e.keyword === "maxProperties")),
      )
    )
      continue;
    if (
      (e.keyword === "minItems" || e.keyword === "minProperties") &&
      errors.some((o) => o !== e && o.instancePath !== e.instancePath && isUnder(o.instancePath, e.instancePath))
    ) {
      continue;
    }
    const { detail, rel } = mapError(e, value, loc);
    ranked.push({ key: sortKey(schema, value, rel), detail });
  }

  // pydantic reports in field order (declared fields, then extra keys in input order); keep that.
  return ranked
    .map((r, i) => ({ ...r, i }))
    .sort((a, b) => compareKeys(a.key, b.key) || a.i - b.i)
    .map((r) => r.detail);
}

const restSchemas = new WeakMap<object, JsonSchema>();
function restSchema(parent: JsonSchema, rest: JsonSchema): JsonSchema {
  const known = restSchemas.get(parent);
  if (known) return known;
  restSchemas.set(parent, rest);
  return rest;
}

function unionDetails(parent: JsonSchema, value: unknown, at: Loc): ValidationDetail[] {
  const branches = ((parent.anyOf ?? parent.oneOf) as unknown[]).filter(isObject) as JsonSchema[];
  const hasNull = branches.some(isNullSchema);
  const real = branches.filter((b) => !isNullSchema(b));
  if (value === null && hasNull) return [];
  if (real.length === 0) return [{ type: "none_required", loc: at, msg: "Input should be None", input: value }];

  const disc = isObject(parent.discriminator) ? parent.discriminator : undefined;
  if (disc && typeof disc.propertyName === "string") return taggedUnionDetails(disc, real, value, at);

  if (real.length === 1) return detailsFor(real[0], value, at);

  // Smart-mode union: valid if any member accepts the value; otherwise every member's errors,
  // each under the member's tag.
  const perBranch = real.map((b) => detailsFor(b, value, [...at, unionTag(b)]));
  if (perBranch.some((d) => d.length === 0)) return [];
  return perBranch.flat();
}

function taggedUnionDetails(
  disc: Record<string, unknown>,
  branches: JsonSchema[],
  value: unknown,
  at: Loc,
): ValidationDetail[] {
  const prop = disc.propertyName as string;
  const discriminator = `'${prop}'`;
  if (!isObject(value)) {
    return [
      {
        type: "model_attributes_type",
        loc: at,
        msg: "Input should be a valid dictionary or object to extract fields from",
        input: value,
      },
    ];
  }
  const byTag = new Map<string, JsonSchema>();
  const mapping = isObject(disc.mapping) ? disc.mapping : {};
  for (const [tag, ref] of Object.entries(mapping)) {
    const target = typeof ref === "string" ? BASE_URI + ref : "";
    const branch = branches.find((b) => b.$ref === target);
    if (branch) byTag.set(tag, branch);
  }
  for (const b of branches) {
    const target = isObject(b) && typeof b.$ref === "string" ? schemaForRef(b.$ref) : b;
    const p = isObject(target?.properties) ? target.properties[prop] : undefined;
    if (isObject(p) && typeof p.const === "string" && !byTag.has(p.const)) byTag.set(p.const, b);
  }
  const tag = value[prop];
  if (tag === undefined) {
    return [
      {
        type: "union_tag_not_found",
        loc: at,
        msg: `Unable to extract tag using discriminator ${discriminator}`,
        input: value,
        ctx: { discriminator },
      },
    ];
  }
  const branch = typeof tag === "string" ? byTag.get(tag) : undefined;
  if (!branch) {
    const expectedTags = [...byTag.keys()].map((t) => `'${t}'`).join(", ");
    return [
      {
        type: "union_tag_invalid",
        loc: at,
        msg: `Input tag '${String(tag)}' found using ${discriminator} does not match any of the expected tags: ${expectedTags}`,
        input: value,
        ctx: { discriminator, tag: String(tag), expected_tags: expectedTags },
      },
    ];
  }
  return detailsFor(branch, value, [...at, tag as string]);
}

/** The loc segment pydantic adds for a member of a smart-mode union (approximation of its type repr). */
function unionTag(s: JsonSchema): string {
  if (typeof s.$ref === "string") return s.$ref.slice(s.$ref.lastIndexOf("/") + 1);
  if ("const" in s) return `literal[${pyRepr(s.const)}]`;
  if (Array.isArray(s.enum)) return `literal[${s.enum.map(pyRepr).join(",")}]`;
  const type = Array.isArray(s.type) ? s.type.find((t) => t !== "null") : s.type;
  switch (type) {
    case "string":
      return s.format === "uuid" ? "uuid" : s.format === "date-time" ? "datetime" : "str";
    case "integer":
      return "int";
    case "number":
      return "float";
    case "boolean":
      return "bool";
    case "array":
      return `list[${isObject(s.items) ? unionTag(s.items) : "any"}]`;
    case "object":
      if (isObject(s.properties)) return typeof s.title === "string" ? s.title : "model";
      return `dict[str,${isObject(s.additionalProperties) ? unionTag(s.additionalProperties) : "any"}]`;
    default:
      return "union";
  }
}
