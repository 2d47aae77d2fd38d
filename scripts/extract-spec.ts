/**
 * Extracts the Files + Batch (+ models API) subset of Mistral's public OpenAPI spec into
 * `packages/emulator/src/spec/files-batch.openapi.json`, the contract the emulator is checked against at run time.
 *
 *   npm run spec:extract [-- <spec.yaml> [<out.json>]]
 *
 * The input defaults to `../shared/mistral/openapi.yaml` and the output to
 * `packages/emulator/src/spec/files-batch.openapi.json`, both resolved from the current directory (the repo root
 * under `npm run`). The output keeps the key order of the source so that re-running it on an
 * unchanged spec gives a byte-identical file (a test checks this).
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";

/**
 * The paths of the operations the emulator serves (Files, Batch, and the models API), in the order of the source
 * spec. A path listed in {@link KEPT_METHODS} keeps only the methods named there; any other keeps all of them.
 */
export const KEPT_PATHS: readonly string[] = [
  "/v1/models",
  "/v1/models/{model_id}",
  "/v1/files",
  "/v1/files/{file_id}",
  "/v1/files/{file_id}/content",
  "/v1/files/{file_id}/url",
  "/v1/batch/jobs",
  "/v1/batch/jobs/{job_id}",
  "/v1/batch/jobs/{job_id}/cancel",
];

/** Paths of which only some operations are kept: the models API is read-only in the emulator (no delete). */
export const KEPT_METHODS: Readonly<Record<string, readonly string[]>> = Object.freeze({
  "/v1/models/{model_id}": ["get"],
});

/**
 * Component schemas kept although no kept path references them: the `response.body` of a batch
 * result line for every `ApiEndpoint` (chat/FIM completions, embeddings, moderations,
 * classifications, OCR, conversations, audio transcriptions), and FastAPI's 422 body, which the
 * spec declares for most operations but not for the Files/Batch ones.
 */
export const EXTRA_SCHEMAS: readonly string[] = [
  "ChatCompletionResponse",
  "FIMCompletionResponse",
  "EmbeddingResponse",
  "ModerationResponse",
  "ClassificationResponse",
  "OCRResponse",
  "ConversationResponse",
  "TranscriptionResponse",
  "HTTPValidationError",
  "ValidationError",
];

export const DEFAULT_SPEC_PATH = "../shared/mistral/openapi.yaml";
export const DEFAULT_OUT_PATH = "packages/emulator/src/spec/files-batch.openapi.json";

/** Where the subset came from; recorded in `info`. */
export interface SpecProvenance {
  /** Path of the source spec as given (relative to the repo root), with `/` separators. */
  file: string;
  /** sha256 (hex) of the source file's bytes. */
  sha256: string;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const HTTP_METHODS = new Set(["get", "put", "post", "delete", "options", "head", "patch", "trace"]);

function isObject(v: unknown): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function unescapePointer(s: string): string {
  return s.replace(/~1/g, "/").replace(/~0/g, "~");
}

/** Every local reference in `node`: `$ref` values and OpenAPI discriminator mapping targets. */
function collectRefs(node: unknown, out: string[]): string[] {
  if (Array.isArray(node)) {
    for (const item of node) collectRefs(item, out);
  } else if (isObject(node)) {
    for (const [key, value] of Object.entries(node)) {
      if (key === "$ref" && typeof value === "string") out.push(value);
      else if (key === "discriminator" && isObject(value) && isObject(value.mapping)) {
        for (const target of Object.values(value.mapping)) if (typeof target === "string") out.push(target);
        collectRefs(value, out);
      } else collectRefs(value, out);
    }
  }
  return out;
}

/** `#/components/<section>/<name>` -> [section, name]; throws on anything else. */
function componentOf(ref: string, where: string): [string, string] {
  const m = /^#\/components\/([^/]+)\/([^/]+)$/.exec(ref);
  if (!m) throw new Error(`extract-spec: unsupported reference ${JSON.stringify(ref)} in ${where}`);
  const [, section, name] = m;
  return [unescapePointer(section), unescapePointer(name)];
}

/**
 * The Files + Batch subset of a parsed OpenAPI document: the kept paths, the extra schemas and
 * every component they reference transitively, the security schemes and tags they use. Keys keep
 * the source order. Pure: `spec` is not modified.
 */
export function extractSubset(spec: object, provenance?: SpecProvenance): object {
  const src = JSON.parse(JSON.stringify(spec)) as JsonObject;
  const srcPaths = isObject(src.paths) ? src.paths : {};
  const srcComponents = isObject(src.components) ? src.components : {};

  for (const p of KEPT_PATHS) {
    if (!isObject(srcPaths[p])) throw new Error(`extract-spec: path ${p} not found in the source spec`);
  }
  const paths: JsonObject = {};
  for (const [p, item] of Object.entries(srcPaths)) {
    if (!KEPT_PATHS.includes(p)) continue;
    const methods = KEPT_METHODS[p];
    if (!methods || !isObject(item)) {
      paths[p] = item;
      continue;
    }
    const kept: JsonObject = {};
    for (const [key, value] of Object.entries(item))
      if (!HTTP_METHODS.has(key) || methods.includes(key)) kept[key] = value;
    for (const m of methods)
      if (!(m in kept)) throw new Error(`extract-spec: ${m.toUpperCase()} ${p} not found in the source spec`);
    paths[p] = kept;
  }

  // Transitive closure over components, starting from the kept paths and the extra schemas.
  const wanted = new Map<string, Set<string>>();
  const queue: Array<[string, string, string]> = [];
  const want = (section: string, name: string, where: string) => {
    let names = wanted.get(section);
    if (!names) {
      names = new Set();
      wanted.set(section, names);
    }
    if (names.has(name)) return;
    const table = srcComponents[section];
    if (!isObject(table) || !(name in table)) {
      throw new Error(`extract-spec: ${where} references #/components/${section}/${name}, which does not exist`);
    }
    names.add(name);
    queue.push([section, name, `#/components/${section}/${name}`]);
  };
  for (const ref of collectRefs(paths, [])) want(...componentOf(ref, "paths"), "paths");
  for (const name of EXTRA_SCHEMAS) want("schemas", name, "EXTRA_SCHEMAS");
  for (;;) {
    const next = queue.shift();
    if (next === undefined) break;
    const [section, name, where] = next;
    const node = (srcComponents[section] as JsonObject)[name];
    for (const ref of collectRefs(node, [])) want(...componentOf(ref, where), where);
  }

  // Security requirements (top level and per kept operation) name security schemes.
  const operations: JsonObject[] = [];
  for (const item of Object.values(paths)) {
    if (!isObject(item)) continue;
    for (const [method, op] of Object.entries(item)) if (HTTP_METHODS.has(method) && isObject(op)) operations.push(op);
  }
  const requirementSets = [src.security, ...operations.map((op) => op.security)].filter(Array.isArray) as Json[][];
  for (const reqs of requirementSets) {
    for (const req of reqs)
      if (isObject(req)) for (const name of Object.keys(req)) want("securitySchemes", name, "security");
  }

  const components: JsonObject = {};
  for (const [section, table] of Object.entries(srcComponents)) {
    const names = wanted.get(section);
    if (!names || !isObject(table)) continue;
    const kept: JsonObject = {};
    for (const [name, value] of Object.entries(table)) if (names.has(name)) kept[name] = value;
    components[section] = kept;
  }

  const usedTags = new Set<string>();
  for (const op of operations)
    if (Array.isArray(op.tags)) for (const t of op.tags) if (typeof t === "string") usedTags.add(t);

  const srcInfo = isObject(src.info) ? src.info : {};
  const info: JsonObject = {
    title: `${String(srcInfo.title ?? "Mistral AI API")} (Files and Batch subset)`,
    version: srcInfo.version ?? "unknown",
    description:
      "GENERATED FILE, do not edit: produced by `npm run spec:extract` (scripts/extract-spec.ts) from " +
      `${provenance ? `${provenance.file} (sha256 ${provenance.sha256})` : "Mistral's public OpenAPI spec"}. ` +
      "Holds the Files and Batch operations, the models API's list and retrieve, the response schemas a batch result line embeds, " +
      "HTTPValidationError, and every component schema these reference.",
    "x-generated-by": "npm run spec:extract",
    ...(provenance ? { "x-source-file": provenance.file, "x-source-sha256": provenance.sha256 } : {}),
    "x-source-info": srcInfo,
  };

  const out: JsonObject = {};
  for (const [key, value] of Object.entries(src)) {
    switch (key) {
      case "info":
        out.info = info;
        break;
      case "paths":
        out.paths = paths;
        break;
      case "components":
        out.components = components;
        break;
      case "tags":
        out.tags = Array.isArray(value) ? value.filter((t) => isObject(t) && usedTags.has(String(t.name))) : value;
        break;
      case "webhooks":
        break;
      default:
        out[key] = value;
    }
  }

  // Every reference in the result must resolve inside the result.
  for (const ref of collectRefs(out, [])) {
    const [section, name] = componentOf(ref, "subset");
    const table = components[section];
    if (!isObject(table) || !(name in table)) throw new Error(`extract-spec: dangling reference ${ref} in subset`);
  }
  return out;
}

/** The file text written for a subset: 2-space JSON and a final newline. */
export function renderSubset(subset: object): string {
  return `${JSON.stringify(subset, null, 2)}\n`;
}

/** Reads and parses a spec file, returning the document and its provenance. */
export function loadSpecFile(specPath: string, cwd = process.cwd()): { spec: object; provenance: SpecProvenance } {
  const abs = path.resolve(cwd, specPath);
  const bytes = fs.readFileSync(abs);
  const text = bytes.toString("utf8");
  const spec = (abs.endsWith(".json") ? JSON.parse(text) : parseYaml(text, { maxAliasCount: -1 })) as object;
  const file = path.isAbsolute(specPath) ? specPath : path.relative(cwd, abs).split(path.sep).join("/");
  return { spec, provenance: { file, sha256: crypto.createHash("sha256").update(bytes).digest("hex") } };
}

export function main(argv: readonly string[] = process.argv): void {
  const specPath = argv[2] ?? DEFAULT_SPEC_PATH;
  const outPath = path.resolve(process.cwd(), argv[3] ?? DEFAULT_OUT_PATH);
  const { spec, provenance } = loadSpecFile(specPath);
  const subset = extractSubset(spec, provenance) as { paths: object; components: { schemas: object } };
  fs.mkdirSync(path.dirname(outPath), { recursive: true });
  fs.writeFileSync(outPath, renderSubset(subset));
  console.log(
    `wrote ${path.relative(process.cwd(), outPath)}: ${Object.keys(subset.paths).length} paths, ` +
      `${Object.keys(subset.components.schemas).length} schemas (source ${provenance.file}, sha256 ${provenance.sha256})`,
  );
}

// Run only as a script (not when a test imports extractSubset).
if (typeof require !== "undefined" && typeof module !== "undefined" && require.main === module) {
  try {
    main();
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  }
}
