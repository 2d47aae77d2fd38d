/**
 * Validation of job creation (POST /v1/batch/jobs) and upload (POST /v1/files): one test per rule, each asserting
 * the status code and the Mistral/FastAPI-shaped body, and that nothing was created by a refused call.
 *
 * The SDK is used wherever it lets the value through (it validates little client-side: `endpoint` is an open enum,
 * `input_files` plain strings); raw `fetch` where it would refuse the request itself.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { SDKError } from "@mistralai/mistralai/models/errors";
import { startEmulator, type Emulator } from "mistral-batch-emulator";
import { checkedClient, type CheckedClient } from "../support/client";
import { expectSchemaValid } from "../support/openapi";
import { readJson, type ErrorBody, type FileBody, type ListBody, type ValidationErrorBody } from "../support/wire";
import type { ValidationDetail } from "../../provider/api";

type Json = Record<string, unknown>;

const CHAT = "/v1/chat/completions" as const;
const MODEL = "mistral-small-latest";
const ENDPOINTS = [
  "/v1/chat/completions",
  "/v1/embeddings",
  "/v1/fim/completions",
  "/v1/moderations",
  "/v1/chat/moderations",
  "/v1/ocr",
  "/v1/classifications",
  "/v1/chat/classifications",
  "/v1/conversations",
  "/v1/audio/transcriptions",
];

function jsonl(lines: (object | string)[]): Buffer {
  return Buffer.from(`${lines.map((l) => (typeof l === "string" ? l : JSON.stringify(l))).join("\n")}\n`);
}

function chatLine(i: number): object {
  return { custom_id: `r${i}`, body: { messages: [{ role: "user", content: `Say ${i}` }] } };
}

function inline(n: number) {
  // the smallest valid request body: keeps 10,000 items cheap to send and validate
  return Array.from({ length: n }, (_, i) => ({ customId: String(i), body: {} }));
}

let emulator: Emulator;
let c: CheckedClient;

beforeAll(async () => {
  // Accepted jobs stay QUEUED: the clock never moves, so no test pays for processing them.
  emulator = await startEmulator({
    clock: "manual",
    speed: { queueDelayMs: 3_600_000, requestsPerSecond: 10, cancelDelayMs: 0 },
  });
  c = checkedClient(emulator.url);
});
afterAll(async () => {
  await emulator.close();
});
afterEach(() => {
  expect(c.violations).toEqual([]);
});

async function totalOf(url: string, what: "files" | "batch/jobs"): Promise<number | null> {
  const res = await fetch(`${url}/v1/${what}`);
  expect(res.status).toBe(200);
  return (await readJson<ListBody<unknown>>(res)).total;
}

/** Runs a call that must be refused; returns its status and parsed body, and checks no job appeared. */
async function refused(
  call: () => Promise<unknown>,
  url = emulator.url,
  what: "files" | "batch/jobs" = "batch/jobs",
): Promise<{ status: number; body: Json }> {
  const before = await totalOf(url, what);
  const outcome = await call().then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  let result: { status: number; body: Json };
  if (outcome.ok && outcome.value instanceof Response) {
    result = { status: outcome.value.status, body: await readJson<Json>(outcome.value) };
  } else if (!outcome.ok && outcome.error instanceof SDKError) {
    result = { status: outcome.error.statusCode, body: JSON.parse(outcome.error.body) };
  } else {
    throw new Error(
      `expected a refusal, got ${outcome.ok ? `a success: ${JSON.stringify(outcome.value)}` : String(outcome.error)}`,
    );
  }
  expect(result.status).toBeGreaterThanOrEqual(400);
  expect(await totalOf(url, what)).toBe(before);
  if (result.status === 422) expectSchemaValid("HTTPValidationError", result.body);
  return result;
}

/** The single detail item of a 422 body. */
function detail422(r: { status: number; body: Json }): ValidationDetail {
  expect(r.status).toBe(422);
  expect(Object.keys(r.body)).toEqual(["detail"]);
  const { detail } = r.body as unknown as ValidationErrorBody;
  expect(detail).toHaveLength(1);
  return detail[0];
}

/** A generic `{object:"error", message, type, param, code}` body. */
function apiErrorBody(r: { status: number; body: Json }, status: number): ErrorBody {
  expect(r.status).toBe(status);
  expect(Object.keys(r.body).sort()).toEqual(["code", "message", "object", "param", "type"]);
  expect(r.body.object).toBe("error");
  expect(typeof r.body.message).toBe("string");
  return r.body as unknown as ErrorBody;
}

/** A pydantic "Value error, ..." item; returns its message without the prefix. */
function valueError(d: ValidationDetail, loc: (string | number)[], input: unknown): string {
  expect(d).toMatchObject({ type: "value_error", loc, input });
  expect(d.msg).toMatch(/^Value error, /);
  const message = d.msg.slice("Value error, ".length);
  expect(d.ctx).toEqual({ error: message });
  return message;
}

function postJob(body: unknown, url = emulator.url): Promise<Response> {
  return fetch(`${url}/v1/batch/jobs`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

function create(extra: Json, client = c) {
  return client.client.batch.jobs.create({ endpoint: CHAT, model: MODEL, requests: inline(1), ...extra });
}

async function upload(name: string, content: Buffer, purpose: "batch" | "fine-tune" | "ocr" = "batch", client = c) {
  return client.client.files.upload({ file: { fileName: name, content }, purpose });
}

describe("job creation: timeout_hours", () => {
  it("refuses 0 (below 1)", async () => {
    const d = detail422(await refused(() => create({ timeoutHours: 0 })));
    expect(d).toEqual({
      type: "greater_than_equal",
      loc: ["body", "timeout_hours"],
      msg: "Input should be greater than or equal to 1",
      input: 0,
      ctx: { ge: 1 },
    });
  });

  it("refuses 169 (above 168)", async () => {
    const d = detail422(await refused(() => create({ timeoutHours: 169 })));
    expect(d).toEqual({
      type: "less_than_equal",
      loc: ["body", "timeout_hours"],
      msg: "Input should be less than or equal to 168",
      input: 169,
      ctx: { le: 168 },
    });
  });

  it("refuses a fractional number", async () => {
    const d = detail422(
      await refused(() => postJob({ endpoint: CHAT, model: MODEL, requests: [{ body: {} }], timeout_hours: 1.5 })),
    );
    expect(d).toMatchObject({ type: "int_from_float", loc: ["body", "timeout_hours"], input: 1.5 });
  });

  it("accepts 1 and 168", async () => {
    for (const timeoutHours of [1, 168]) {
      const job = await create({ timeoutHours });
      expect(job.status).toBe("QUEUED");
    }
  });
});

describe("job creation: metadata", () => {
  it("refuses an empty key", async () => {
    const d = detail422(await refused(() => create({ metadata: { "": "v" } })));
    expect(d).toEqual({
      type: "string_too_short",
      loc: ["body", "metadata", "", "[key]"],
      msg: "String should have at least 1 character",
      input: "",
      ctx: { min_length: 1 },
    });
  });

  it("refuses a key of 33 characters", async () => {
    const key = "k".repeat(33);
    const d = detail422(await refused(() => create({ metadata: { [key]: "v" } })));
    expect(d).toEqual({
      type: "string_too_long",
      loc: ["body", "metadata", key, "[key]"],
      msg: "String should have at most 32 characters",
      input: key,
      ctx: { max_length: 32 },
    });
  });

  it("refuses an empty value", async () => {
    const d = detail422(await refused(() => create({ metadata: { team: "" } })));
    expect(d).toEqual({
      type: "string_too_short",
      loc: ["body", "metadata", "team"],
      msg: "String should have at least 1 character",
      input: "",
      ctx: { min_length: 1 },
    });
  });

  it("refuses a value of 513 characters", async () => {
    const value = "v".repeat(513);
    const d = detail422(await refused(() => create({ metadata: { team: value } })));
    expect(d).toEqual({
      type: "string_too_long",
      loc: ["body", "metadata", "team"],
      msg: "String should have at most 512 characters",
      input: value,
      ctx: { max_length: 512 },
    });
  });

  it("refuses a value that is not a string", async () => {
    const d = detail422(
      await refused(() => postJob({ endpoint: CHAT, model: MODEL, requests: [{ body: {} }], metadata: { n: 7 } })),
    );
    expect(d).toEqual({
      type: "string_type",
      loc: ["body", "metadata", "n"],
      msg: "Input should be a valid string",
      input: 7,
    });
  });

  it("accepts a key of 32 and a value of 512 characters", async () => {
    const metadata = { ["k".repeat(32)]: "v".repeat(512), a: "b" };
    const job = await create({ metadata });
    expect(job.metadata).toEqual(metadata);
  });
});

describe("job creation: endpoint", () => {
  it("refuses an endpoint outside the enum", async () => {
    const d = detail422(await refused(() => create({ endpoint: "/v1/completions" })));
    const expected = ENDPOINTS.map((e) => `'${e}'`)
      .join(", ")
      .replace(/, ([^,]*)$/, " or $1");
    expect(d).toEqual({
      type: "enum",
      loc: ["body", "endpoint"],
      msg: `Input should be ${expected}`,
      input: "/v1/completions",
      ctx: { expected },
    });
  });

  it("refuses a body without endpoint", async () => {
    const d = detail422(await refused(() => postJob({ model: MODEL, requests: [{ body: {} }] })));
    expect(d).toEqual({
      type: "missing",
      loc: ["body", "endpoint"],
      msg: "Field required",
      input: { model: MODEL, requests: [{ body: {} }] },
    });
  });
});

describe("job creation: input_files", () => {
  it("refuses an id that is not a UUID", async () => {
    const d = detail422(await refused(() => create({ requests: undefined, inputFiles: ["not-a-uuid"] })));
    expect(d).toMatchObject({ type: "uuid_parsing", loc: ["body", "input_files", 0], input: "not-a-uuid" });
    expect(d.msg).toMatch(/^Input should be a valid UUID, invalid character: .* found `n` at 1$/);
  });

  it("answers 404 naming an input file that does not exist", async () => {
    const good = await upload("good.jsonl", jsonl([chatLine(0)]));
    const missing = "00000000-0000-4000-8000-000000000000";
    const body = apiErrorBody(
      await refused(() => create({ requests: undefined, inputFiles: [good.id, missing] })),
      404,
    );
    expect(body).toMatchObject({ type: "invalid_request_error", param: "input_files", code: "not_found" });
    expect(body.message).toContain(missing);
    expect(body.message).toContain("input_files[1]");
  });

  it("refuses an input file uploaded with purpose fine-tune, naming it", async () => {
    const ft = await upload("tune.jsonl", jsonl([chatLine(0)]), "fine-tune");
    const d = detail422(await refused(() => create({ requests: undefined, inputFiles: [ft.id] })));
    const message = valueError(d, ["body", "input_files", 0], ft.id);
    expect(message).toContain(ft.id);
    expect(message).toContain("'fine-tune'");
    expect(message).toContain("'batch'");
  });
});

describe("job creation: inline requests", () => {
  it("refuses 10,001 requests with too_long", async () => {
    const d = detail422(await refused(() => create({ requests: inline(10_001) })));
    expect(d).toMatchObject({
      type: "too_long",
      loc: ["body", "requests"],
      msg: "List should have at most 10000 items after validation, not 10001",
      ctx: { field_type: "List", max_length: 10_000, actual_length: 10_001 },
    });
    expect(d.input).toHaveLength(10_001);
  });

  it("accepts 10,000 requests", async () => {
    const job = await create({ requests: inline(10_000) });
    expect(job.status).toBe("QUEUED");
    expect(emulator.store.jobs.get(job.id)!.internal.plannedTotal).toBe(10_000);
  });

  it("refuses a request without body, or with a custom_id that is not a string", async () => {
    let d = detail422(
      await refused(() => postJob({ endpoint: CHAT, model: MODEL, requests: [{ body: {} }, { custom_id: "x" }] })),
    );
    expect(d).toEqual({
      type: "missing",
      loc: ["body", "requests", 1, "body"],
      msg: "Field required",
      input: { custom_id: "x" },
    });
    d = detail422(
      await refused(() => postJob({ endpoint: CHAT, model: MODEL, requests: [{ custom_id: 7, body: {} }] })),
    );
    expect(d).toEqual({
      type: "string_type",
      loc: ["body", "requests", 0, "custom_id"],
      msg: "Input should be a valid string",
      input: 7,
    });
  });
});

describe("job creation: per-job request cap", () => {
  let capped: Emulator;
  let cc: CheckedClient;
  beforeAll(async () => {
    capped = await startEmulator({
      clock: "manual",
      speed: { queueDelayMs: 3_600_000, requestsPerSecond: 10, cancelDelayMs: 0 },
      maxRequestsPerJob: 5,
    });
    cc = checkedClient(capped.url);
  });
  afterAll(async () => {
    expect(cc.violations).toEqual([]);
    await capped.close();
  });

  it("accepts 5 inline requests and refuses 6, naming the cap", async () => {
    expect((await create({ requests: inline(5) }, cc)).status).toBe("QUEUED");
    const d = detail422(await refused(() => create({ requests: inline(6) }, cc), capped.url));
    const message = valueError(d, ["body", "requests"], 6);
    expect(message).toContain("at most 5 requests");
    expect(message).toContain("received 6");
  });

  it("accepts an input file of 5 requests and refuses one of 6, naming the cap and the file", async () => {
    const five = await upload("five.jsonl", jsonl([0, 1, 2, 3, 4].map(chatLine)), "batch", cc);
    expect((await create({ requests: undefined, inputFiles: [five.id] }, cc)).status).toBe("QUEUED");

    const six = await upload("six.jsonl", jsonl([0, 1, 2, 3, 4, 5].map(chatLine)), "batch", cc);
    const d = detail422(await refused(() => create({ requests: undefined, inputFiles: [six.id] }, cc), capped.url));
    const message = valueError(d, ["body", "input_files", 0], six.id);
    expect(message).toContain("at most 5 requests");
    expect(message).toContain(six.id);
    expect(message).toContain("line 6");
  });

  it("counts the requests of every input file against the cap", async () => {
    const three = await upload("three.jsonl", jsonl([0, 1, 2].map(chatLine)), "batch", cc);
    const three2 = await upload("three-more.jsonl", jsonl([3, 4, 5].map(chatLine)), "batch", cc);
    const d = detail422(
      await refused(() => create({ requests: undefined, inputFiles: [three.id, three2.id] }, cc), capped.url),
    );
    const message = valueError(d, ["body", "input_files", 1], three2.id);
    expect(message).toContain("at most 5 requests");
    expect(message).toContain(three2.id);
    expect(message).toContain("line 3");
  });
});

describe("job creation: input file contents", () => {
  const cases: [string, (object | string)[], number, RegExp][] = [
    ["a line that is not JSON", [chatLine(0), chatLine(1), "{not json", chatLine(3)], 3, /line 3 is not valid JSON/],
    ["a line that is not an object", [chatLine(0), "[1, 2]"], 2, /line 2 must be a JSON object .*received \[1,2\]/],
    ["a line without body", [chatLine(0), { custom_id: "no-body" }], 2, /line 2 has no "body"/],
    [
      "a body that is not an object",
      [{ custom_id: "a", body: "hello" }],
      1,
      /line 1: "body" must be a JSON object, received "hello"/,
    ],
    [
      "a custom_id that is a number",
      [chatLine(0), chatLine(1), chatLine(2), { custom_id: 7, body: { messages: [] } }],
      4,
      /line 4: "custom_id" must be a string, received 7/,
    ],
  ];
  for (const [what, lines, lineNo, pattern] of cases) {
    it(`refuses ${what}, naming the file and line ${lineNo}`, async () => {
      const good = await upload("good.jsonl", jsonl([chatLine(0)]));
      const bad = await upload("bad.jsonl", jsonl(lines));
      const d = detail422(await refused(() => create({ requests: undefined, inputFiles: [good.id, bad.id] })));
      const message = valueError(d, ["body", "input_files", 1], bad.id);
      expect(message).toContain(bad.id);
      expect(message).toContain("bad.jsonl");
      expect(message).toMatch(pattern);
    });
  }

  it("counts blank lines in line numbers", async () => {
    const bad = await upload("blanks.jsonl", jsonl([chatLine(0), "", chatLine(1), "oops"]));
    const d = detail422(await refused(() => create({ requests: undefined, inputFiles: [bad.id] })));
    expect(valueError(d, ["body", "input_files", 0], bad.id)).toMatch(/line 4 is not valid JSON/);
  });

  it("refuses an empty input file, naming it", async () => {
    for (const content of [Buffer.alloc(0), Buffer.from("\n\n  \n")]) {
      const empty = await upload("empty.jsonl", content);
      const d = detail422(await refused(() => create({ requests: undefined, inputFiles: [empty.id] })));
      const message = valueError(d, ["body", "input_files", 0], empty.id);
      expect(message).toContain(empty.id);
      expect(message).toMatch(/holds no requests/);
    }
  });
});

describe("job creation: cross-field rules", () => {
  it("refuses neither input_files nor requests", async () => {
    for (const body of [
      { endpoint: CHAT, model: MODEL },
      { endpoint: CHAT, model: MODEL, input_files: [], requests: null },
      { endpoint: CHAT, model: MODEL, requests: [] },
    ]) {
      const d = detail422(await refused(() => postJob(body)));
      const message = valueError(d, ["body"], body);
      expect(message).toContain("input_files");
      expect(message).toContain("requests");
    }
  });

  it("refuses both input_files and requests", async () => {
    const f = await upload("both.jsonl", jsonl([chatLine(0)]));
    const d = detail422(await refused(() => create({ inputFiles: [f.id] })));
    expect(
      valueError(d, ["body"], {
        input_files: [f.id],
        requests: [{ custom_id: "0", body: {} }],
        endpoint: CHAT,
        model: MODEL,
        timeout_hours: 24,
      }),
    ).toMatch(/input_files and requests are mutually exclusive/);
  });

  it("refuses neither model nor agent_id", async () => {
    const d = detail422(await refused(() => create({ model: undefined })));
    expect(
      valueError(d, ["body"], { requests: [{ custom_id: "0", body: {} }], endpoint: CHAT, timeout_hours: 24 }),
    ).toMatch(/either model or agent_id/);
  });

  it("refuses both model and agent_id", async () => {
    const d = detail422(await refused(() => create({ agentId: "ag_123" })));
    expect(d.loc).toEqual(["body"]);
    expect(d.input).toMatchObject({ model: MODEL, agent_id: "ag_123" });
    expect(valueError(d, ["body"], d.input)).toMatch(/model and agent_id are mutually exclusive/);
  });
});

describe("job creation: model", () => {
  it("answers 400 naming an unknown model and the models that serve the endpoint", async () => {
    const body = apiErrorBody(await refused(() => create({ model: "mistral-gigantic-latest" })), 400);
    expect(body).toMatchObject({ type: "invalid_model", param: "model", code: "1500" });
    expect(body.message).toContain("'mistral-gigantic-latest'");
    expect(body.message).toContain(MODEL);
  });

  it("refuses an embedding model on /v1/chat/completions", async () => {
    const body = apiErrorBody(await refused(() => create({ model: "mistral-embed" })), 400);
    expect(body).toMatchObject({ type: "invalid_model", param: "model" });
    expect(body.message).toContain("'mistral-embed'");
    expect(body.message).toContain("/v1/chat/completions");
    expect(body.message).toContain("/v1/embeddings");
  });
});

describe("job creation: body", () => {
  it("answers 422 json_invalid to malformed JSON", async () => {
    const d = detail422(await refused(() => postJob('{"endpoint": "/v1/chat/completions",')));
    expect(d).toMatchObject({ type: "json_invalid", msg: "JSON decode error", input: {} });
    expect(d.loc[0]).toBe("body");
    expect(typeof d.ctx!.error).toBe("string");
  });

  it("refuses a JSON body that is not an object", async () => {
    const d = detail422(await refused(() => postJob([{ endpoint: CHAT }])));
    expect(d).toMatchObject({ type: "model_attributes_type", loc: ["body"], input: [{ endpoint: CHAT }] });
  });
});

describe("upload", () => {
  function form(parts: {
    file?: Buffer;
    filename?: string;
    purpose?: string;
    visibility?: string;
    expiry?: string;
  }): FormData {
    const f = new FormData();
    if (parts.file) f.append("file", new Blob([parts.file]), parts.filename ?? "a.jsonl");
    for (const key of ["purpose", "visibility", "expiry"] as const)
      if (parts[key] !== undefined) f.append(key, parts[key]!);
    return f;
  }
  const postFile =
    (body: FormData, url = emulator.url) =>
    () =>
      fetch(`${url}/v1/files`, { method: "POST", body });
  const refusedUpload = (body: FormData, url = emulator.url) => refused(postFile(body, url), url, "files");

  it("refuses a form without a file", async () => {
    const d = detail422(await refusedUpload(form({ purpose: "batch" })));
    expect(d).toEqual({ type: "missing", loc: ["body", "file"], msg: "Field required", input: null });
  });

  it("refuses a purpose outside the enum", async () => {
    const d = detail422(await refusedUpload(form({ file: jsonl([chatLine(0)]), purpose: "training" })));
    const expected = "'fine-tune', 'batch' or 'ocr'";
    expect(d).toEqual({
      type: "enum",
      loc: ["body", "purpose"],
      msg: `Input should be ${expected}`,
      input: "training",
      ctx: { expected },
    });
  });

  it("refuses a visibility outside the enum", async () => {
    const d = detail422(
      await refusedUpload(form({ file: jsonl([chatLine(0)]), purpose: "batch", visibility: "public" })),
    );
    const expected = "'workspace' or 'user'";
    expect(d).toEqual({
      type: "enum",
      loc: ["body", "visibility"],
      msg: `Input should be ${expected}`,
      input: "public",
      ctx: { expected },
    });
  });

  it("refuses an expiry that is not an integer", async () => {
    for (const expiry of ["soon", "1.5", "0x10", "1e3"]) {
      const d = detail422(await refusedUpload(form({ file: jsonl([chatLine(0)]), purpose: "batch", expiry })));
      expect(d, expiry).toEqual({
        type: "int_parsing",
        loc: ["body", "expiry"],
        msg: "Input should be a valid integer, unable to parse string as an integer",
        input: expiry,
      });
    }
    const ok = await fetch(`${emulator.url}/v1/files`, {
      method: "POST",
      body: form({ file: jsonl([chatLine(0)]), purpose: "batch", expiry: "48" }),
    });
    expect(ok.status).toBe(200);
    const f = await readJson<FileBody>(ok);
    expect(f.expires_at! - f.created_at).toBe(48 * 3600);
  });

  it("answers 413 naming the limit to a file over the size limit, keeping nothing", async () => {
    const small = await startEmulator({ maxFileBytes: 1024 });
    try {
      const body = apiErrorBody(
        await refusedUpload(form({ file: Buffer.alloc(4096, 97), purpose: "batch" }), small.url),
        413,
      );
      expect(body).toMatchObject({ type: "invalid_request_error", param: "file" });
      expect(body.message).toContain("1024 bytes");
      const ok = await fetch(`${small.url}/v1/files`, {
        method: "POST",
        body: form({ file: Buffer.alloc(1024, 97), purpose: "batch" }),
      });
      expect(ok.status).toBe(200);
      expect((await readJson<FileBody>(ok)).bytes).toBe(1024);
    } finally {
      await small.close();
    }
  });
});
