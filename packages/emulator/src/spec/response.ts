/** Response validation: what the emulator sends, checked with strict formats; complaints as text. */
import type { ErrorObject } from "ajv/dist/2020";
import { responseValidator } from "./compile";

/** Validates a value the emulator sends; returns Ajv's error texts (empty when valid). Strict uuid format. */
export function validateResponse(schemaName: string, value: unknown): string[] {
  const validate = responseValidator(schemaName);
  if (validate(value)) return [];
  return (validate.errors ?? []).map(describeAjvError);
}

/** One Ajv error as a line of text: `<instancePath> <message> (<details>)`. */
export function describeAjvError(e: ErrorObject): string {
  const where = e.instancePath === "" ? "(root)" : e.instancePath;
  const p = e.params as Record<string, unknown>;
  let extra = "";
  if (e.keyword === "enum" && Array.isArray(p.allowedValues))
    extra = `: ${p.allowedValues.map((v) => JSON.stringify(v)).join(", ")}`;
  else if (e.keyword === "const") extra = `: ${JSON.stringify(p.allowedValue)}`;
  else if (e.keyword === "additionalProperties") extra = `: ${JSON.stringify(p.additionalProperty)}`;
  else if (e.keyword === "unevaluatedProperties") extra = `: ${JSON.stringify(p.unevaluatedProperty)}`;
  const prop = e.propertyName !== undefined ? ` (property name ${JSON.stringify(e.propertyName)})` : "";
  return `${where} ${e.message ?? e.keyword}${extra}${prop} [${e.schemaPath}]`;
}
