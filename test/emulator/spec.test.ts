import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { extractSubset, loadSpecFile, renderSubset } from "../../scripts/extract-spec";
import { schemaNames, spec, uuidParseError, validateResponse, validateSchema } from "../../packages/emulator/src/spec";
import { expectResponseValid, expectSchemaValid, FULL_SPEC_PATH, operationIds } from "../support/openapi";

const REPO_ROOT = path.resolve(__dirname, "../..");
const SUBSET_FILE = path.join(REPO_ROOT, "packages/emulator/src/spec/files-batch.openapi.json");
const haveSharedSpec = fs.existsSync(FULL_SPEC_PATH);

const ENDPOINTS =
  "'/v1/chat/completions', '/v1/embeddings', '/v1/fim/completions', '/v1/moderations', '/v1/chat/moderations', " +
  "'/v1/ocr', '/v1/classifications', '/v1/chat/classifications', '/v1/conversations' or '/v1/audio/transcriptions'";

const UUID_A = "6e2b2a6e-3a7a-4f0e-9d1e-5d8d2b1f0c11";
const UUID_B = "0b7c1b8e-52a4-4c63-8f55-1d0e4e0f9a27";

function batchJob(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: UUID_A,
    object: "batch",
    input_files: [UUID_B],
    metadata: { team: "evals" },
    endpoint: "/v1/chat/completions",
    model: "mistral-small-latest",
    agent_id: null,
    output_file: null,
    error_file: null,
    errors: [],
    outputs: null,
    status: "QUEUED",
    created_at: 1_763_000_000,
    total_requests: 0,
    completed_requests: 0,
    succeeded_requests: 0,
    failed_requests: 0,
    started_at: null,
    completed_at: null,
    ...overrides,
  };
}

describe("committed spec subset", () => {
  it.skipIf(!haveSharedSpec)(
    haveSharedSpec
      ? "equals extractSubset() of the shared spec, byte for byte (run `npm run spec:extract` if not)"
      : `equals extractSubset() of the shared spec: SKIPPED, ${FULL_SPEC_PATH} is absent`,
    () => {
      const committedText = fs.readFileSync(SUBSET_FILE, "utf8");
      const committed = JSON.parse(committedText) as { info: Record<string, string> };
      const { spec: full, provenance } = loadSpecFile(committed.info["x-source-file"]!, REPO_ROOT);
      expect(provenance.sha256).toBe(committed.info["x-source-sha256"]);
      expect(renderSubset(extractSubset(full, provenance))).toBe(committedText);
    },
  );

  it("holds the models, Files and Batch paths, the result-line response schemas and HTTPValidationError", () => {
    expect(Object.keys(spec.paths)).toEqual([
      "/v1/models",
      "/v1/models/{model_id}",
      "/v1/files",
      "/v1/files/{file_id}",
      "/v1/files/{file_id}/content",
      "/v1/files/{file_id}/url",
      "/v1/batch/jobs",
      "/v1/batch/jobs/{job_id}",
      "/v1/batch/jobs/{job_id}/cancel",
    ]);
    const ops = Object.values(spec.paths).flatMap((item) => Object.values(item).map((op) => op.operationId));
    expect([...ops].sort()).toEqual(Object.values(operationIds).sort());
    for (const name of [
      "CreateBatchJobRequest",
      "BatchJob",
      "ModelList",
      "BaseModelCard",
      "ChatCompletionResponse",
      "EmbeddingResponse",
      "FIMCompletionResponse",
      "ModerationResponse",
      "ClassificationResponse",
      "OCRResponse",
      "HTTPValidationError",
      "ValidationError",
    ]) {
      expect(schemaNames).toContain(name);
    }
    expect(spec.info["x-generated-by"]).toBe("npm run spec:extract");
  });

  it("compiles every component schema of the subset", () => {
    for (const name of schemaNames) expect(() => validateResponse(name, {})).not.toThrow();
  });
});

describe("validateSchema (pydantic v2 style details)", () => {
  const check = (body: unknown) => validateSchema("CreateBatchJobRequest", body, ["body"]);

  it("accepts a valid CreateBatchJobRequest", () => {
    expect(
      check({
        input_files: [UUID_A],
        endpoint: "/v1/chat/completions",
        model: "mistral-small-latest",
        metadata: { job: "nightly" },
        timeout_hours: 168,
      }),
    ).toEqual([]);
    expect(
      check({
        requests: [{ custom_id: "0", body: { messages: [] } }, { body: {} }],
        endpoint: "/v1/embeddings",
        timeout_hours: 1,
      }),
    ).toEqual([]);
    // Optional fields accept null, as pydantic's Optional[...] does.
    expect(
      check({ endpoint: "/v1/ocr", input_files: null, requests: null, model: null, agent_id: null, metadata: null }),
    ).toEqual([]);
  });

  it("missing endpoint -> missing, input is the parent object", () => {
    expect(check({ model: "m" })).toEqual([
      { type: "missing", loc: ["body", "endpoint"], msg: "Field required", input: { model: "m" } },
    ]);
  });

  it("bad endpoint -> enum listing every ApiEndpoint value", () => {
    expect(check({ endpoint: "/v1/chat" })).toEqual([
      {
        type: "enum",
        loc: ["body", "endpoint"],
        msg: `Input should be ${ENDPOINTS}`,
        input: "/v1/chat",
        ctx: { expected: ENDPOINTS },
      },
    ]);
  });

  it("timeout_hours outside 1..168", () => {
    expect(check({ endpoint: "/v1/embeddings", timeout_hours: 0 })).toEqual([
      {
        type: "greater_than_equal",
        loc: ["body", "timeout_hours"],
        msg: "Input should be greater than or equal to 1",
        input: 0,
        ctx: { ge: 1 },
      },
    ]);
    expect(check({ endpoint: "/v1/embeddings", timeout_hours: 169 })).toEqual([
      {
        type: "less_than_equal",
        loc: ["body", "timeout_hours"],
        msg: "Input should be less than or equal to 168",
        input: 169,
        ctx: { le: 168 },
      },
    ]);
    expect(check({ endpoint: "/v1/embeddings", timeout_hours: "x" })).toEqual([
      {
        type: "int_parsing",
        loc: ["body", "timeout_hours"],
        msg: "Input should be a valid integer, unable to parse string as an integer",
        input: "x",
      },
    ]);
    expect(check({ endpoint: "/v1/embeddings", timeout_hours: 2.5 })).toEqual([
      {
        type: "int_from_float",
        loc: ["body", "timeout_hours"],
        msg: "Input should be a valid integer, got a number with a fractional part",
        input: 2.5,
      },
    ]);
  });

  it("metadata key of 33 characters -> string_too_long at [key, '[key]'], no anyOf blob", () => {
    const key = "k".repeat(33);
    expect(check({ endpoint: "/v1/embeddings", metadata: { [key]: "v" } })).toEqual([
      {
        type: "string_too_long",
        loc: ["body", "metadata", key, "[key]"],
        msg: "String should have at most 32 characters",
        input: key,
        ctx: { max_length: 32 },
      },
    ]);
    expect(check({ endpoint: "/v1/embeddings", metadata: { "": "v" } })).toEqual([
      {
        type: "string_too_short",
        loc: ["body", "metadata", "", "[key]"],
        msg: "String should have at least 1 character",
        input: "",
        ctx: { min_length: 1 },
      },
    ]);
  });

  it("metadata value of 513 characters -> string_too_long (values: strings of 1..512)", () => {
    const value = "v".repeat(513);
    expect(check({ endpoint: "/v1/embeddings", metadata: { team: value } })).toEqual([
      {
        type: "string_too_long",
        loc: ["body", "metadata", "team"],
        msg: "String should have at most 512 characters",
        input: value,
        ctx: { max_length: 512 },
      },
    ]);
    expect(check({ endpoint: "/v1/embeddings", metadata: { n: 5 } })).toEqual([
      { type: "string_type", loc: ["body", "metadata", "n"], msg: "Input should be a valid string", input: 5 },
    ]);
    expect(check({ endpoint: "/v1/embeddings", metadata: "x" })).toEqual([
      { type: "dict_type", loc: ["body", "metadata"], msg: "Input should be a valid dictionary", input: "x" },
    ]);
  });

  it("10001 requests -> a single too_long", () => {
    const requests = Array.from({ length: 10_001 }, (_, i) => ({ custom_id: String(i), body: {} }));
    expect(check({ endpoint: "/v1/embeddings", requests })).toEqual([
      {
        type: "too_long",
        loc: ["body", "requests"],
        msg: "List should have at most 10000 items after validation, not 10001",
        input: requests,
        ctx: { field_type: "List", max_length: 10_000, actual_length: 10_001 },
      },
    ]);
    expect(check({ endpoint: "/v1/embeddings", requests: requests.slice(0, 10_000) })).toEqual([]);
  });

  it("bad inline request items, in pydantic field order", () => {
    expect(check({ endpoint: "/v1/embeddings", requests: [{ body: 1 }, { custom_id: 3 }, "x"] })).toEqual([
      { type: "dict_type", loc: ["body", "requests", 0, "body"], msg: "Input should be a valid dictionary", input: 1 },
      {
        type: "string_type",
        loc: ["body", "requests", 1, "custom_id"],
        msg: "Input should be a valid string",
        input: 3,
      },
      { type: "missing", loc: ["body", "requests", 1, "body"], msg: "Field required", input: { custom_id: 3 } },
      {
        type: "model_attributes_type",
        loc: ["body", "requests", 2],
        msg: "Input should be a valid dictionary or object to extract fields from",
        input: "x",
      },
    ]);
  });

  it("input_files with a non-uuid -> uuid_parsing with the uuid crate's reason", () => {
    const reason =
      "invalid character: expected an optional prefix of `urn:uuid:` followed by [0-9a-fA-F-], found `n` at 1";
    expect(check({ endpoint: "/v1/embeddings", input_files: [UUID_A, "not-a-uuid"] })).toEqual([
      {
        type: "uuid_parsing",
        loc: ["body", "input_files", 1],
        msg: `Input should be a valid UUID, ${reason}`,
        input: "not-a-uuid",
        ctx: { error: reason },
      },
    ]);
    expect(check({ endpoint: "/v1/embeddings", input_files: [42] })).toEqual([
      {
        type: "uuid_type",
        loc: ["body", "input_files", 0],
        msg: "UUID input should be a string, bytes or UUID object",
        input: 42,
      },
    ]);
    expect(check({ endpoint: "/v1/embeddings", input_files: "x" })).toEqual([
      { type: "list_type", loc: ["body", "input_files"], msg: "Input should be a valid list", input: "x" },
    ]);
  });

  it("parses UUIDs as pydantic does (uuid crate forms and messages)", () => {
    expect(uuidParseError(UUID_A)).toBeNull();
    expect(uuidParseError(UUID_A.toUpperCase())).toBeNull();
    expect(uuidParseError(UUID_A.replace(/-/g, ""))).toBeNull();
    expect(uuidParseError(`{${UUID_A}}`)).toBeNull();
    expect(uuidParseError(`urn:uuid:${UUID_A}`)).toBeNull();
    expect(uuidParseError("abc")).toBe("invalid length: expected length 32 for simple format, found 3");
    expect(uuidParseError("6e2b2a6e-3a7a-4f0e-9d1e")).toBe("invalid group count: expected 5, found 4");
    expect(uuidParseError(UUID_A.slice(0, -1))).toBe("invalid group length in group 4: expected 12, found 11");
    expect(uuidParseError("6e2b2a6e3-a7a-4f0e-9d1e-5d8d2b1f0c11")).toBe(
      "invalid group length in group 0: expected 8, found 9",
    );
  });

  it("reports several problems together, in field order", () => {
    expect(check({ timeout_hours: 0, input_files: ["x"] }).map((d) => [d.type, d.loc.join(".")])).toEqual([
      ["uuid_parsing", "body.input_files.0"],
      ["missing", "body.endpoint"],
      ["greater_than_equal", "body.timeout_hours"],
    ]);
  });

  it("a non-object body -> model_attributes_type at the loc prefix", () => {
    expect(check([])).toEqual([
      {
        type: "model_attributes_type",
        loc: ["body"],
        msg: "Input should be a valid dictionary or object to extract fields from",
        input: [],
      },
    ]);
  });

  it("throws on an unknown schema name", () => {
    expect(() => validateSchema("NoSuchSchema", {}, ["body"])).toThrow(/NoSuchSchema/);
  });
});

describe("validateResponse (subset, emulator self-checks)", () => {
  it("accepts a valid BatchJob and reports bad ones", () => {
    expect(validateResponse("BatchJob", batchJob())).toEqual([]);
    const { status: _status, ...noStatus } = batchJob();
    expect(validateResponse("BatchJob", noStatus).join("\n")).toMatch(/required property 'status'/);
    expect(validateResponse("BatchJob", batchJob({ status: "DONE" })).join("\n")).toMatch(
      /\/status must be equal to one of the allowed values/,
    );
  });
});

describe("test/support/openapi (full spec)", () => {
  it("accepts a valid BatchJob for every operation answering one", () => {
    for (const op of [operationIds.getBatchJob, operationIds.createBatchJob, operationIds.cancelBatchJob]) {
      expect(() => expectResponseValid(op, 200, batchJob())).not.toThrow();
    }
    expect(() =>
      expectResponseValid(operationIds.listBatchJobs, 200, {
        object: "list",
        data: [batchJob({ status: "SUCCESS", output_file: UUID_B })],
        total: 1,
      }),
    ).not.toThrow();
    expect(() => expectSchemaValid("BatchJob", batchJob())).not.toThrow();
  });

  it("rejects a BatchJob missing status, or with status DONE", () => {
    const { status: _status, ...noStatus } = batchJob();
    expect(() => expectResponseValid(operationIds.getBatchJob, 200, noStatus)).toThrow(/required property 'status'/);
    expect(() => expectResponseValid(operationIds.getBatchJob, 200, batchJob({ status: "DONE" }))).toThrow(
      /\/status must be equal to one of the allowed values[\s\S]*"DONE"/,
    );
    expect(() => expectSchemaValid("BatchJob", batchJob({ output_file: "not-a-uuid" }))).toThrow(
      /must match format "uuid"/,
    );
  });

  it("knows the declared statuses and content types", () => {
    expect(() => expectResponseValid(operationIds.getBatchJob, 404, {})).toThrow(/declares no response 404/);
    expect(() =>
      expectResponseValid(operationIds.downloadFile, 200, Buffer.from("{}\n"), "application/octet-stream"),
    ).not.toThrow();
    expect(() => expectResponseValid(operationIds.downloadFile, 200, {}, "application/json")).toThrow(
      /no content type/,
    );
    expect(() => expectResponseValid("no_such_operation", 200, {})).toThrow(/no operation/);
  });
});
