/** One Ajv error (from the request Ajv, verbose) as a FastAPI/pydantic v2 validation detail. */
import type { ErrorObject } from "ajv/dist/2020";
import type { ValidationDetail } from "pulumi-mistral-batch/api";
import type { JsonSchema } from "./document";
import { isObject, pointerSegments, type Loc } from "./json";
import { expectedList, plural, pyRepr } from "./pyRepr";
import { uuidParseError } from "./uuid";

export function mapError(e: ErrorObject, root: unknown, loc: Loc): { detail: ValidationDetail; rel: Loc } {
  const segs = pointerSegments(e.instancePath, root);
  const p = e.params as Record<string, unknown>;
  const parent = (isObject(e.parentSchema) ? e.parentSchema : {}) as JsonSchema;
  const data: unknown = e.data;
  let rel = segs;
  let input: unknown = data;
  let type: string;
  let msg: string;
  let ctx: Record<string, unknown> | undefined;

  switch (e.keyword) {
    case "required": {
      const field = String(p.missingProperty);
      rel = [...segs, field];
      type = "missing";
      msg = "Field required";
      break;
    }
    case "additionalProperties":
    case "unevaluatedProperties": {
      const field = String(p.additionalProperty ?? p.unevaluatedProperty);
      rel = [...segs, field];
      input = isObject(data) ? data[field] : undefined;
      type = "extra_forbidden";
      msg = "Extra inputs are not permitted";
      break;
    }
    case "type":
      ({ type, msg } = typeError(String(p.type), parent, data));
      break;
    case "enum": {
      const values = (p.allowedValues as unknown[]) ?? [];
      const expected = expectedList(values);
      // A component enum (title = class name) is a Python Enum; an inline enum is a Literal.
      type = typeof parent.title === "string" && /^[A-Z][A-Za-z0-9_]*$/.test(parent.title) ? "enum" : "literal_error";
      msg = `Input should be ${expected}`;
      ctx = { expected };
      break;
    }
    case "const": {
      const expected = pyRepr(p.allowedValue);
      type = "literal_error";
      msg = `Input should be ${expected}`;
      ctx = { expected };
      break;
    }
    case "maximum":
      type = "less_than_equal";
      msg = `Input should be less than or equal to ${String(p.limit)}`;
      ctx = { le: p.limit };
      break;
    case "minimum":
      type = "greater_than_equal";
      msg = `Input should be greater than or equal to ${String(p.limit)}`;
      ctx = { ge: p.limit };
      break;
    case "exclusiveMaximum":
      type = "less_than";
      msg = `Input should be less than ${String(p.limit)}`;
      ctx = { lt: p.limit };
      break;
    case "exclusiveMinimum":
      type = "greater_than";
      msg = `Input should be greater than ${String(p.limit)}`;
      ctx = { gt: p.limit };
      break;
    case "multipleOf":
      type = "multiple_of";
      msg = `Input should be a multiple of ${String(p.multipleOf)}`;
      ctx = { multiple_of: p.multipleOf };
      break;
    case "maxLength": {
      const n = Number(p.limit);
      type = "string_too_long";
      msg = `String should have at most ${n} character${plural(n)}`;
      ctx = { max_length: n };
      break;
    }
    case "minLength": {
      const n = Number(p.limit);
      type = "string_too_short";
      msg = `String should have at least ${n} character${plural(n)}`;
      ctx = { min_length: n };
      break;
    }
    case "pattern":
      type = "string_pattern_mismatch";
      msg = `String should match pattern '${String(p.pattern)}'`;
      ctx = { pattern: p.pattern };
      break;
    case "maxItems":
    case "maxProperties":
    case "minItems":
    case "minProperties": {
      const n = Number(p.limit);
      const fieldType = e.keyword.endsWith("Items") ? "List" : "Dictionary";
      const actual = Array.isArray(data) ? data.length : isObject(data) ? Object.keys(data).length : 0;
      const tooLong = e.keyword.startsWith("max");
      type = tooLong ? "too_long" : "too_short";
      msg = `${fieldType} should have ${tooLong ? "at most" : "at least"} ${n} item${plural(n)} after validation, not ${actual}`;
      ctx = tooLong
        ? { field_type: fieldType, max_length: n, actual_length: actual }
        : { field_type: fieldType, min_length: n, actual_length: actual };
      break;
    }
    case "format": {
      const format = String(p.format);
      const reason = format === "uuid" && typeof data === "string" ? uuidParseError(data) : null;
      if (reason !== null) {
        type = "uuid_parsing";
        msg = `Input should be a valid UUID, ${reason}`;
        ctx = { error: reason };
      } else {
        type = "value_error";
        msg = `Value error, input is not a valid ${format}`;
        ctx = { error: `input is not a valid ${format}` };
      }
      break;
    }
    default: {
      const reason = e.message ?? e.keyword;
      type = "value_error";
      msg = `Value error, ${reason}`;
      ctx = { error: reason };
    }
  }

  // Errors about a dict key (propertyNames): pydantic locates them at [..., key, "[key]"].
  if (e.propertyName !== undefined) {
    rel = [...segs, e.propertyName, "[key]"];
    input = e.propertyName;
  }
  const detail: ValidationDetail = { type, loc: [...loc, ...rel], msg, input };
  if (ctx) detail.ctx = ctx;
  return { detail, rel };
}

function typeError(expectedTypes: string, parent: JsonSchema, data: unknown): { type: string; msg: string } {
  const expected = expectedTypes.split(",").find((t) => t !== "null") ?? "null";
  switch (expected) {
    case "integer":
      if (typeof data === "number")
        return { type: "int_from_float", msg: "Input should be a valid integer, got a number with a fractional part" };
      if (typeof data === "string")
        return { type: "int_parsing", msg: "Input should be a valid integer, unable to parse string as an integer" };
      return { type: "int_type", msg: "Input should be a valid integer" };
    case "number":
      if (typeof data === "string")
        return { type: "float_parsing", msg: "Input should be a valid number, unable to parse string as a number" };
      return { type: "float_type", msg: "Input should be a valid number" };
    case "string":
      if (parent.format === "uuid")
        return { type: "uuid_type", msg: "UUID input should be a string, bytes or UUID object" };
      return { type: "string_type", msg: "Input should be a valid string" };
    case "boolean":
      if (typeof data === "string" || typeof data === "number") {
        return { type: "bool_parsing", msg: "Input should be a valid boolean, unable to interpret input" };
      }
      return { type: "bool_type", msg: "Input should be a valid boolean" };
    case "array":
      return { type: "list_type", msg: "Input should be a valid list" };
    case "object":
      // FastAPI validates with from_attributes=True, so a model (a schema with properties) reports
      // model_attributes_type; a plain dict field reports dict_type.
      if (isObject(parent.properties)) {
        return {
          type: "model_attributes_type",
          msg: "Input should be a valid dictionary or object to extract fields from",
        };
      }
      return { type: "dict_type", msg: "Input should be a valid dictionary" };
    case "null":
      return { type: "none_required", msg: "Input should be None" };
    default:
      return { type: "value_error", msg: `Value error, must be ${expected}` };
  }
}
