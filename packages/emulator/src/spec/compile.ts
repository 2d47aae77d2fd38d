/**
 * Ajv setup. Schemas are served from one document whose local refs (`#/components/schemas/X`) are
 * rewritten to absolute URIs, so that any sub-schema (a union branch, an inline parameter schema)
 * can be compiled on its own and still resolve its references.
 *
 * Two Ajv instances, each built on first use: one for requests (pydantic's lenient uuid format, verbose
 * errors for the pydantic mapping) and one for responses (strict formats).
 */
import Ajv2020 from "ajv/dist/2020";
import type { AnySchema, ValidateFunction } from "ajv/dist/2020";
import addFormats from "ajv-formats";
import { spec, type JsonSchema } from "./document";
import { isObject } from "./json";
import { uuidParseError } from "./uuid";

export const BASE_URI = "https://mistral-batch-emulator.invalid/files-batch.openapi.json";

export function absolutizeRefs<T>(node: T): T {
  if (Array.isArray(node)) return node.map(absolutizeRefs) as T;
  if (!isObject(node)) return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    out[key] =
      key === "$ref" && typeof value === "string" && value.startsWith("#") ? BASE_URI + value : absolutizeRefs(value);
  }
  return out as T;
}

const absoluteSchemas: Record<string, JsonSchema> = absolutizeRefs(spec.components.schemas);

export function schemaForRef(ref: string): JsonSchema | undefined {
  const prefix = `${BASE_URI}#/components/schemas/`;
  if (!ref.startsWith(prefix)) return undefined;
  return absoluteSchemas[decodeURIComponent(ref.slice(prefix.length)).replace(/~1/g, "/").replace(/~0/g, "~")];
}

function newAjv(pydanticFormats: boolean): Ajv2020 {
  const ajv = new Ajv2020({ strict: false, allErrors: true, verbose: pydanticFormats });
  addFormats(ajv);
  // pydantic parses UUIDs with the `uuid` crate: hyphenated, simple (32 hex), braced and urn forms.
  if (pydanticFormats) ajv.addFormat("uuid", (s: string) => uuidParseError(s) === null);
  ajv.addSchema({ $id: BASE_URI, components: { schemas: absoluteSchemas } });
  return ajv;
}

let requestAjv: Ajv2020 | undefined;
let responseAjv: Ajv2020 | undefined;
const requestValidators = new WeakMap<object, ValidateFunction>();
const responseValidators = new Map<string, ValidateFunction>();

export function requestValidator(schema: JsonSchema): ValidateFunction {
  let validate = requestValidators.get(schema);
  if (!validate) {
    requestAjv ??= newAjv(true);
    validate = requestAjv.compile(schema as AnySchema);
    requestValidators.set(schema, validate);
  }
  return validate;
}

/** The response validator for a component schema, compiled once per name. */
export function responseValidator(schemaName: string): ValidateFunction {
  let validate = responseValidators.get(schemaName);
  if (!validate) {
    const schema = componentSchema(schemaName);
    responseAjv ??= newAjv(false);
    validate = responseAjv.compile(schema as AnySchema);
    responseValidators.set(schemaName, validate);
  }
  return validate;
}

export function componentSchema(schemaName: string): JsonSchema {
  const schema = Object.hasOwn(absoluteSchemas, schemaName) ? absoluteSchemas[schemaName] : undefined;
  if (!schema)
    throw new Error(`spec: no component schema named ${JSON.stringify(schemaName)} in the Files/Batch subset`);
  return schema;
}
