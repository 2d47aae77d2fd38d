/**
 * The contract (provider/api): its facts against Mistral's OpenAPI spec (the full shared spec, or the committed
 * subset when it is missing), the sets derived from the statuses, and the dated price list. The provider and the
 * emulator both import these, so a test that two copies agree has nothing left to compare: this is what replaces it.
 */
import { describe, expect, it } from "vitest";
import * as api from "../../../provider/api";
import { findOperation, loadSpec, operationIds } from "../../support/openapi";

/** The parts of an OpenAPI schema object these tests read. */
interface Schema {
  type?: string;
  enum?: unknown[];
  anyOf?: Schema[];
  properties?: Record<string, Schema>;
  required?: string[];
  propertyNames?: Schema;
  additionalProperties?: Schema;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  maxItems?: number;
  default?: unknown;
  description?: string;
}
interface Parameter {
  name: string;
  in: string;
  schema: Schema;
}
const schemas = (): Record<string, Schema> =>
  (loadSpec().doc.components as { schemas: Record<string, Schema> }).schemas;
const enumOf = (name: string): unknown[] | undefined => schemas()[name].enum;
/** The non-null branch of an `anyOf: [X, {type: null}]` property. */
const nonNull = (s: Schema): Schema => (Array.isArray(s.anyOf) ? s.anyOf.find((b) => b.type !== "null")! : s);
const queryParam = (operationId: string, name: string): Schema =>
  (findOperation(operationId).operation.parameters as Parameter[]).find((p) => p.name === name && p.in === "query")!
    .schema;

describe("enums are the spec's, in its order", () => {
  it.each([
    ["ApiEndpoint", api.API_ENDPOINTS],
    ["BatchJobStatus", api.BATCH_JOB_STATUSES],
    ["FilePurpose", api.FILE_PURPOSES],
    ["SampleType", api.SAMPLE_TYPES],
    ["Source", api.SOURCES],
    ["FileVisibility", api.FILE_VISIBILITIES],
  ] as const)("%s", (name, values) => {
    expect([...values]).toEqual(enumOf(name));
    expect(Object.isFrozen(values)).toBe(true);
  });

  it("isApiEndpoint accepts exactly the endpoints", () => {
    for (const e of api.API_ENDPOINTS) expect(api.isApiEndpoint(e)).toBe(true);
    for (const v of ["/v1/chat", "v1/embeddings", "", null, undefined, 7, ["/v1/ocr"]])
      expect(api.isApiEndpoint(v)).toBe(false);
  });
});

describe("statuses", () => {
  it("final: SUCCESS, FAILED, TIMEOUT_EXCEEDED, CANCELLED (not CANCELLATION_REQUESTED); the set holds the same", () => {
    expect([...api.FINAL_STATUSES]).toEqual(["SUCCESS", "FAILED", "TIMEOUT_EXCEEDED", "CANCELLED"]);
    expect([...api.TERMINAL_STATUSES]).toEqual([...api.FINAL_STATUSES]);
    for (const s of api.BATCH_JOB_STATUSES) expect(api.isFinalStatus(s)).toBe(api.FINAL_STATUSES.includes(s));
    for (const v of ["success", "DONE", "", undefined, null, 1]) expect(api.isFinalStatus(v)).toBe(false);
  });

  it("unsuccessful final and adoptable statuses split the statuses a job can be found in", () => {
    expect([...api.UNSUCCESSFUL_FINAL_STATUSES]).toEqual(["FAILED", "TIMEOUT_EXCEEDED", "CANCELLED"]);
    expect([...api.ADOPTABLE_STATUSES]).toEqual(["QUEUED", "RUNNING", "SUCCESS"]);
    const rest = api.BATCH_JOB_STATUSES.filter(
      (s) => !api.UNSUCCESSFUL_FINAL_STATUSES.includes(s) && !api.ADOPTABLE_STATUSES.includes(s),
    );
    expect(rest).toEqual(["CANCELLATION_REQUESTED"]); // neither: it will end CANCELLED
    for (const s of [...api.FINAL_STATUSES, ...api.UNSUCCESSFUL_FINAL_STATUSES, ...api.ADOPTABLE_STATUSES])
      expect(api.BATCH_JOB_STATUSES).toContain(s);
  });
});

describe("limits are the spec's where it states them", () => {
  it("inline requests, metadata lengths, timeout_hours", () => {
    const create = schemas().CreateBatchJobRequest.properties!;
    expect(nonNull(create.requests).maxItems).toBe(api.MAX_INLINE_REQUESTS);
    const metadata = nonNull(create.metadata);
    expect({ min: metadata.propertyNames!.minLength, max: metadata.propertyNames!.maxLength }).toEqual(
      api.METADATA_KEY_LENGTH,
    );
    expect({ min: metadata.additionalProperties!.minLength, max: metadata.additionalProperties!.maxLength }).toEqual(
      api.METADATA_VALUE_LENGTH,
    );
    expect(metadata.additionalProperties!.type).toBe("string");
    expect({
      min: create.timeout_hours.minimum,
      max: create.timeout_hours.maximum,
      default: create.timeout_hours.default,
    }).toEqual(api.TIMEOUT_HOURS);
  });

  it("signed URL expiry (1h to 168h, default 24h: in the description) and the default page size", () => {
    const expiry = queryParam(operationIds.getSignedUrl, "expiry");
    expect(expiry.default).toBe(api.SIGNED_URL_EXPIRY_HOURS.default);
    expect(expiry.description).toContain(
      `between ${api.SIGNED_URL_EXPIRY_HOURS.min}h and ${api.SIGNED_URL_EXPIRY_HOURS.max}h`,
    );
    for (const op of [operationIds.listFiles, operationIds.listBatchJobs])
      expect(queryParam(op, "page_size").default).toBe(api.DEFAULT_PAGE_SIZE);
  });

  it("the documented figures the spec does not state: 512 MB per file, 100,000 requests per job", () => {
    expect(api.MAX_FILE_BYTES).toBe(512 * 1024 * 1024);
    expect(api.MAX_REQUESTS_PER_JOB).toBe(100_000);
  });

  it("are frozen", () => {
    for (const range of [
      api.METADATA_KEY_LENGTH,
      api.METADATA_VALUE_LENGTH,
      api.TIMEOUT_HOURS,
      api.SIGNED_URL_EXPIRY_HOURS,
    ])
      expect(Object.isFrozen(range)).toBe(true);
  });
});

describe("error bodies", () => {
  it("errorBody has Mistral's fields in Mistral's order; the 429 body is the one seen from Mistral", () => {
    expect(JSON.stringify(api.errorBody("m"))).toBe(
      '{"object":"error","message":"m","type":"invalid_request_error","param":null,"code":null}',
    );
    expect(api.errorBody("m", "t", { param: "file", code: "1" })).toEqual({
      object: "error",
      message: "m",
      type: "t",
      param: "file",
      code: "1",
    });
    expect(JSON.stringify(api.RATE_LIMIT_ERROR)).toBe(
      '{"object":"error","message":"Rate limit exceeded","type":"rate_limited","param":null,"code":"1300"}',
    );
    expect(Object.isFrozen(api.RATE_LIMIT_ERROR)).toBe(true);
  });

  it("a validation detail item has the spec's required fields", () => {
    const required = schemas().ValidationError.required!.filter((k) => k !== "url");
    const detail: api.ValidationDetail = { type: "missing", loc: ["body", "file"], msg: "Field required", input: null };
    for (const k of required) expect(detail).toHaveProperty(k);
  });
});

describe("the dated price list", () => {
  it("is dated, at the 50% batch discount, frozen, with a valid price per model", () => {
    expect(api.LIST_PRICES.date).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(api.LIST_PRICES.batchDiscount).toBe(api.BATCH_DISCOUNT);
    expect(api.BATCH_DISCOUNT).toBe(0.5);
    expect(Object.isFrozen(api.LIST_PRICES)).toBe(true);
    expect(Object.isFrozen(api.LIST_PRICES.models)).toBe(true);
    expect(Object.keys(api.LIST_PRICES.models).length).toBeGreaterThan(0);
    for (const [model, p] of Object.entries(api.LIST_PRICES.models)) {
      expect(Object.isFrozen(p), model).toBe(true);
      for (const v of [p.inputPerMTok, p.outputPerMTok]) expect(Number.isFinite(v) && v >= 0, model).toBe(true);
    }
  });

  it("listPrice finds exact names only", () => {
    expect(api.listPrice("mistral-small-latest")).toBe(api.LIST_PRICES.models["mistral-small-latest"]);
    for (const name of ["mistral-small-2506", "toString", "__proto__", ""]) expect(api.listPrice(name)).toBeUndefined();
  });
});
