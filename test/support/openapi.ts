/**
 * Contract-test helpers: check emulator responses against Mistral's FULL public OpenAPI spec
 * (`shared/mistral/openapi.yaml`, beside the repo), not only the committed subset the emulator uses.
 * If the shared spec is missing, falls back to the committed subset and says so.
 *
 *   expectResponseValid(operationIds.getBatchJob, 200, body);
 *   expectSchemaValid("BatchJob", job);
 */
import * as fs from "node:fs";
import * as path from "node:path";
import Ajv2020 from "ajv/dist/2020";
import type { AnySchema, ErrorObject, ValidateFunction } from "ajv/dist/2020";
import addFormats from "ajv-formats";
import { parse as parseYaml } from "yaml";

/** The full spec's location: the `shared/` folder that sits beside the repo. */
export const FULL_SPEC_PATH = path.resolve(__dirname, "../../../shared/mistral/openapi.yaml");
const SUBSET_PATH = path.resolve(__dirname, "../../packages/emulator/src/spec/files-batch.openapi.json");

/** The operations the emulator serves (models API, Files, Batch), by SDK-style name. */
export const operationIds = {
  listModels: "list_models_v1_models_get",
  retrieveModel: "retrieve_model_v1_models__model_id__get",
  uploadFile: "files_api_routes_upload_file",
  listFiles: "files_api_routes_list_files",
  retrieveFile: "files_api_routes_retrieve_file",
  deleteFile: "files_api_routes_delete_file",
  downloadFile: "files_api_routes_download_file",
  getSignedUrl: "files_api_routes_get_signed_url",
  listBatchJobs: "jobs_api_routes_batch_get_batch_jobs",
  createBatchJob: "jobs_api_routes_batch_create_batch_job",
  getBatchJob: "jobs_api_routes_batch_get_batch_job",
  deleteBatchJob: "jobs_api_routes_batch_delete_batch_job",
  cancelBatchJob: "jobs_api_routes_batch_cancel_batch_job",
} as const;
export type OperationId = (typeof operationIds)[keyof typeof operationIds];
export const allOperationIds: readonly OperationId[] = Object.values(operationIds);

type Json = { [key: string]: unknown };
interface Loaded {
  doc: Json;
  source: "shared" | "subset";
  file: string;
}

let loaded: Loaded | undefined;

/** The spec the helpers validate against (parsed once). */
export function loadSpec(): Loaded {
  if (loaded) return loaded;
  if (fs.existsSync(FULL_SPEC_PATH)) {
    const doc = parseYaml(fs.readFileSync(FULL_SPEC_PATH, "utf8"), { maxAliasCount: -1 }) as Json;
    loaded = { doc, source: "shared", file: FULL_SPEC_PATH };
  } else {
    console.warn(
      `test/support/openapi: full spec ${FULL_SPEC_PATH} not found; validating against the committed subset ` +
        `${SUBSET_PATH} instead (contract tests are weaker: the subset is what the emulator itself uses).`,
    );
    loaded = { doc: JSON.parse(fs.readFileSync(SUBSET_PATH, "utf8")) as Json, source: "subset", file: SUBSET_PATH };
  }
  return loaded;
}

const BASE_URI = "https://mistral-openapi.invalid/openapi.json";

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function absolutizeRefs<T>(node: T): T {
  if (Array.isArray(node)) return node.map(absolutizeRefs) as T;
  if (!isObject(node)) return node;
  const out: Json = {};
  for (const [key, value] of Object.entries(node)) {
    out[key] =
      key === "$ref" && typeof value === "string" && value.startsWith("#") ? BASE_URI + value : absolutizeRefs(value);
  }
  return out as T;
}

let ajv: Ajv2020 | undefined;
const validators = new Map<string, ValidateFunction>();

function getAjv(): Ajv2020 {
  if (ajv) return ajv;
  const { doc } = loadSpec();
  ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv); // uuid, date-time, binary, int32, ... are checked
  ajv.addSchema({ $id: BASE_URI, components: absolutizeRefs(doc.components ?? {}) });
  return ajv;
}

function compileCached(key: string, schema: unknown): ValidateFunction {
  let validate = validators.get(key);
  if (!validate) {
    validate = getAjv().compile(absolutizeRefs(schema) as AnySchema);
    validators.set(key, validate);
  }
  return validate;
}

interface FoundOperation {
  path: string;
  method: string;
  operation: Json;
}

/** Finds an operation of the loaded spec by operationId; throws if absent. */
export function findOperation(operationId: string): FoundOperation {
  const paths = loadSpec().doc.paths;
  if (isObject(paths)) {
    for (const [p, item] of Object.entries(paths)) {
      if (!isObject(item)) continue;
      for (const [method, op] of Object.entries(item)) {
        if (isObject(op) && op.operationId === operationId) return { path: p, method, operation: op };
      }
    }
  }
  throw new Error(`openapi: no operation with operationId ${JSON.stringify(operationId)} in ${loadSpec().file}`);
}

function formatErrors(errors: readonly ErrorObject[]): string {
  return errors
    .map((e) => {
      const p = e.params as Json;
      const extra =
        e.keyword === "enum" && Array.isArray(p.allowedValues)
          ? ` (${p.allowedValues.map((v) => JSON.stringify(v)).join(", ")})`
          : e.keyword === "const"
            ? ` (${JSON.stringify(p.allowedValue)})`
            : e.keyword === "additionalProperties"
              ? ` (${JSON.stringify(p.additionalProperty)})`
              : "";
      return `  - ${e.instancePath === "" ? "(root)" : e.instancePath} ${e.message ?? e.keyword}${extra} [${e.schemaPath}]`;
    })
    .join("\n");
}

function excerpt(body: unknown, max = 2000): string {
  let text: string;
  try {
    text = JSON.stringify(body, null, 2) ?? String(body);
  } catch {
    text = String(body);
  }
  return text.length > max ? `${text.slice(0, max)}\n… (${text.length - max} more characters)` : text;
}

function normalizeBody(body: unknown): unknown {
  if (body instanceof ArrayBuffer) return Buffer.from(body).toString("latin1");
  if (body instanceof Uint8Array) return Buffer.from(body).toString("latin1");
  return body;
}

/**
 * Throws unless `body` matches the response schema the spec declares for `operationId`, HTTP
 * `status` and `contentType` (parameters such as `; charset=utf-8` are ignored). A binary body
 * (Buffer/Uint8Array) is checked as a string.
 */
export function expectResponseValid(
  operationId: string,
  status: number,
  body: unknown,
  contentType = "application/json",
): void {
  const { path: p, method, operation } = findOperation(operationId);
  const responses = isObject(operation.responses) ? operation.responses : {};
  const code = String(status);
  const key = [code, `${code[0]}XX`, `${code[0]}xx`, "default"].find((k) => k in responses);
  if (!key) {
    throw new Error(
      `openapi: ${operationId} (${method.toUpperCase()} ${p}) declares no response ${status}; declared: ${Object.keys(responses).join(", ")}`,
    );
  }
  const response = responses[key];
  const content = isObject(response) && isObject(response.content) ? response.content : {};
  const mediaType = contentType.split(";")[0]!.trim().toLowerCase();
  const media = Object.entries(content).find(([k]) => k.toLowerCase() === mediaType)?.[1];
  if (!isObject(media)) {
    throw new Error(
      `openapi: ${operationId} ${key} declares no content type ${JSON.stringify(mediaType)}; declared: ${Object.keys(content).join(", ") || "(none)"}`,
    );
  }
  if (media.schema === undefined) return;
  const validate = compileCached(`op:${operationId}:${key}:${mediaType}`, media.schema);
  const value = normalizeBody(body);
  if (validate(value)) return;
  throw new Error(
    `openapi: response of ${operationId} (${method.toUpperCase()} ${p}) ${status} ${mediaType} does not match the spec ` +
      `(${loadSpec().source === "shared" ? "full spec" : "committed subset"}):\n${formatErrors(validate.errors ?? [])}\nbody:\n${excerpt(value)}`,
  );
}

/** Throws unless `value` matches `#/components/schemas/<schemaName>` of the loaded spec. */
export function expectSchemaValid(schemaName: string, value: unknown): void {
  const schemas = isObject(loadSpec().doc.components) ? (loadSpec().doc.components as Json).schemas : undefined;
  if (!isObject(schemas) || !(schemaName in schemas)) {
    throw new Error(`openapi: no component schema ${JSON.stringify(schemaName)} in ${loadSpec().file}`);
  }
  const validate = compileCached(`schema:${schemaName}`, {
    $ref: `#/components/schemas/${schemaName.replace(/~/g, "~0").replace(/\//g, "~1")}`,
  });
  if (validate(value)) return;
  throw new Error(
    `openapi: value does not match schema ${schemaName}:\n${formatErrors(validate.errors ?? [])}\nvalue:\n${excerpt(value)}`,
  );
}
