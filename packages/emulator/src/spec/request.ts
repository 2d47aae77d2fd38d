/** Request validation: values checked against the subset, reported as FastAPI/pydantic v2 422 details. */
import type { ValidationDetail } from "pulumi-mistral-batch/api";
import { absolutizeRefs, componentSchema } from "./compile";
import { pydanticDetails } from "./details";
import type { JsonSchema } from "./document";

/**
 * Validates `value` against `#/components/schemas/<schemaName>` and returns FastAPI/pydantic v2 style
 * details (empty when valid). `loc` is the location prefix, e.g. `["body"]` for a JSON body.
 */
export function validateSchema(schemaName: string, value: unknown, loc: (string | number)[]): ValidationDetail[] {
  return pydanticDetails(componentSchema(schemaName), value, loc);
}

/**
 * Like `validateSchema`, for an inline schema taken from the subset (a query parameter's schema, a
 * multipart body's property). Its `#/components/...` references resolve against the subset.
 */
export function validateValue(schema: JsonSchema, value: unknown, loc: (string | number)[]): ValidationDetail[] {
  let absolute = inlineSchemas.get(schema);
  if (!absolute) {
    absolute = absolutizeRefs(schema);
    inlineSchemas.set(schema, absolute);
  }
  return pydanticDetails(absolute, value, loc);
}
const inlineSchemas = new WeakMap<object, JsonSchema>();
