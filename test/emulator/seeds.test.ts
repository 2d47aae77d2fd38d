/**
 * The calls of the documents the project started from (/work/shared/mistral/seeds/), run against the emulator.
 *
 * 001 (Batch API reference): the TypeScript calls exactly as shown, apart from `serverURL` and the API key. They
 * name ids that do not exist in a fresh emulator, and the create call has no `model`: what happens is asserted as
 * is, then `POST /__emulator/seed` builds the world the document assumes and the same calls run again.
 * 000 (batch guide): the Python flow translated literally to the TypeScript SDK.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { SDKError } from "@mistralai/mistralai/models/errors";
import { startEmulator, type Emulator } from "mistral-batch-emulator";
import { checkedClient, type CheckedClient } from "../support/client";
import { readJson, type ErrorBody, type FileBody, type JobBody } from "../support/wire";

const FILE_ID = "fe3343a2-3b8d-404b-ba32-a78dede2614a";
const GET_JOB_ID = "4017dc9f-b629-42f4-9700-8c681b9e7f0f";
const CANCEL_JOB_ID = "4fb29d1c-535b-4f0a-a1cb-2167f86da569";

/** The seed's create call, unchanged. */
const SEED_CREATE = {
  inputFiles: ["fe3343a2-3b8d-404b-ba32-a78dede2614a"],
  endpoint: "/v1/classifications" as const,
};

/** Classification requests (`/v1/classifications` takes `input`), with the questions of the docs' example file. */
const CLASSIFICATION_LINES =
  '{"custom_id": "0", "body": {"input": "What is the best French cheese?"}}\n' +
  '{"custom_id": "1", "body": {"input": "What is the best French wine?"}}\n';

async function sdkError(p: Promise<unknown>): Promise<{ statusCode: number; body: Record<string, unknown> }> {
  const error = await p.then(
    () => {
      throw new Error("expected the call to fail");
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SDKError);
  return { statusCode: (error as SDKError).statusCode, body: JSON.parse((error as SDKError).body) };
}

/** What the seed route answers: what it created, or (refused) an error body; the tests assert which. */
type SeedAnswer = Partial<{ file: FileBody | null; job: JobBody | null } & ErrorBody>;

async function seed(url: string, body: unknown): Promise<{ status: number; body: SeedAnswer }> {
  const res = await fetch(`${url}/__emulator/seed`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await readJson<SeedAnswer>(res) };
}

const MISSING_MODEL = {
  detail: [
    {
      type: "value_error",
      loc: ["body"],
      msg: "Value error, either model or agent_id must be provided",
      input: { input_files: [FILE_ID], endpoint: "/v1/classifications", timeout_hours: 24 },
      ctx: { error: "either model or agent_id must be provided" },
    },
  ],
};

describe("seed 001: the Batch API reference's TypeScript calls", () => {
  let emulator: Emulator;
  let c: CheckedClient;
  // `const mistral = new Mistral({ apiKey: "MISTRAL_API_KEY" })`, pointed at the emulator
  let mistral: CheckedClient["client"];

  beforeAll(async () => {
    // A manual clock and slow timings: jobs stay QUEUED until the test moves time, so cancel has work to do.
    emulator = await startEmulator({ clock: "manual", speed: "slow" });
    c = checkedClient(emulator.url, "MISTRAL_API_KEY");
    mistral = c.client;
  });
  afterAll(async () => {
    await emulator.close();
  });
  afterEach(() => {
    expect(c.violations).toEqual([]);
  });

  it("in a fresh emulator: list is empty, create is refused for its missing model, get and cancel are 404", async () => {
    const result = await mistral.batch.jobs.list({});
    expect(result).toEqual({ data: [], object: "list", total: 0 });

    // No model and no agent_id: refused before the input file is even looked up. A FastAPI-style 422 that
    // names what is missing, as Mistral answers body validation errors.
    const create = await sdkError(mistral.batch.jobs.create(SEED_CREATE));
    expect(create).toEqual({ statusCode: 422, body: MISSING_MODEL });

    const get = await sdkError(mistral.batch.jobs.get({ jobId: "4017dc9f-b629-42f4-9700-8c681b9e7f0f" }));
    expect(get).toEqual({
      statusCode: 404,
      body: {
        object: "error",
        message: `Batch job ${GET_JOB_ID} not found`,
        type: "invalid_request_error",
        param: null,
        code: "not_found",
      },
    });
    const cancel = await sdkError(mistral.batch.jobs.cancel({ jobId: "4fb29d1c-535b-4f0a-a1cb-2167f86da569" }));
    expect(cancel).toEqual({
      statusCode: 404,
      body: {
        object: "error",
        message: `Batch job ${CANCEL_JOB_ID} not found`,
        type: "invalid_request_error",
        param: null,
        code: "not_found",
      },
    });

    // with a model but without the file, the missing file is what is named
    const noFile = await sdkError(mistral.batch.jobs.create({ ...SEED_CREATE, model: "mistral-moderation-latest" }));
    expect(noFile.statusCode).toBe(404);
    expect(noFile.body).toMatchObject({
      object: "error",
      message: `Input file ${FILE_ID} (input_files[0]) not found`,
      param: "input_files",
    });
  });

  it("once the world it assumes exists (seeded), the same calls succeed; the create still needs a model", async () => {
    const seeded = await seed(emulator.url, {
      file: { id: FILE_ID, filename: "classifications.jsonl", purpose: "batch", content: CLASSIFICATION_LINES },
      job: {
        id: GET_JOB_ID,
        model: "mistral-moderation-latest",
        endpoint: "/v1/classifications",
        metadata: { seed: "001" },
      },
    });
    expect(seeded.status).toBe(200);
    expect(seeded.body.file).toMatchObject({
      id: FILE_ID,
      filename: "classifications.jsonl",
      purpose: "batch",
      bytes: Buffer.byteLength(CLASSIFICATION_LINES),
      num_lines: 2,
      sample_type: "batch_request",
      mimetype: "application/jsonl",
    });
    expect(seeded.body.job).toMatchObject({
      id: GET_JOB_ID,
      status: "QUEUED",
      input_files: [FILE_ID],
      model: "mistral-moderation-latest",
    });
    const second = await seed(emulator.url, {
      job: {
        id: CANCEL_JOB_ID,
        input_files: [FILE_ID],
        model: "mistral-moderation-latest",
        endpoint: "/v1/classifications",
      },
    });
    expect(second.status).toBe(200);
    expect(second.body).toMatchObject({ file: null, job: { id: CANCEL_JOB_ID, status: "QUEUED" } });

    // mistral.batch.jobs.list({})
    const list = await mistral.batch.jobs.list({});
    expect(list.total).toBe(2);
    expect(list.data?.map((j) => j.id).sort()).toEqual([GET_JOB_ID, CANCEL_JOB_ID].sort());

    // mistral.batch.jobs.create({...}) unchanged: the file resolves now, the model is still missing
    const create = await sdkError(
      mistral.batch.jobs.create({
        inputFiles: ["fe3343a2-3b8d-404b-ba32-a78dede2614a"],
        endpoint: "/v1/classifications",
      }),
    );
    expect(create).toEqual({ statusCode: 422, body: MISSING_MODEL });
    // ... and with a model that serves /v1/classifications it is created
    const created = await mistral.batch.jobs.create({
      inputFiles: ["fe3343a2-3b8d-404b-ba32-a78dede2614a"],
      endpoint: "/v1/classifications",
      model: "mistral-moderation-latest",
    });
    expect(created).toMatchObject({
      object: "batch",
      status: "QUEUED",
      inputFiles: [FILE_ID],
      endpoint: "/v1/classifications",
      model: "mistral-moderation-latest",
    });

    // mistral.batch.jobs.get({ jobId: "4017dc9f-..." })
    const got = await mistral.batch.jobs.get({ jobId: "4017dc9f-b629-42f4-9700-8c681b9e7f0f" });
    expect(got).toMatchObject({ id: GET_JOB_ID, status: "QUEUED", inputFiles: [FILE_ID], metadata: { seed: "001" } });

    // mistral.batch.jobs.cancel({ jobId: "4fb29d1c-..." })
    const cancelled = await mistral.batch.jobs.cancel({ jobId: "4fb29d1c-535b-4f0a-a1cb-2167f86da569" });
    expect(cancelled).toMatchObject({ id: CANCEL_JOB_ID, status: "CANCELLATION_REQUESTED" });

    // time passes: the seeded job runs to completion, the cancelled one ends CANCELLED
    await emulator.advance(60_000);
    const done = await mistral.batch.jobs.get({ jobId: GET_JOB_ID, inline: true });
    expect(done).toMatchObject({ status: "SUCCESS", totalRequests: 2, succeededRequests: 2 });
    expect(done.outputs!.map((o) => o.custom_id).sort()).toEqual(["0", "1"]);
    expect(done.outputs![0].response.body.results[0]).toHaveProperty("moderation");
    expect((await mistral.batch.jobs.get({ jobId: CANCEL_JOB_ID })).status).toBe("CANCELLED");
    expect((await mistral.batch.jobs.get({ jobId: created.id })).status).toBe("SUCCESS");
  });
});

describe("POST /__emulator/seed", () => {
  let emulator: Emulator;
  beforeAll(async () => {
    emulator = await startEmulator({ clock: "manual", speed: "slow" });
  });
  afterAll(async () => {
    await emulator.close();
  });

  it("stores content byte for byte, base64 too", async () => {
    const id = "00000000-0000-4000-8000-000000000001";
    const bytes = Buffer.from([0, 1, 2, 254, 255, 10, 13]);
    const r = await seed(emulator.url, {
      file: { id, filename: "raw.bin", purpose: "ocr", content: bytes.toString("base64"), encoding: "base64" },
    });
    expect(r.status).toBe(200);
    expect(r.body.file).toMatchObject({
      id,
      bytes: 7,
      purpose: "ocr",
      sample_type: "pretrain",
      num_lines: null,
      mimetype: "application/octet-stream",
    });
    const c = checkedClient(emulator.url);
    expect(Buffer.from(await new Response(await c.client.files.download({ fileId: id })).arrayBuffer())).toEqual(bytes);
    expect(await c.client.files.retrieve({ fileId: id })).toMatchObject({ id, filename: "raw.bin", sizeBytes: 7 });
    expect(c.violations).toEqual([]);
  });

  it.each([
    [{}, 400, /expected a JSON object with "file" and\/or "job"/],
    [{ files: [] }, 400, /expected a JSON object with "file" and\/or "job"/],
    [
      { file: { id: "nope", filename: "a.jsonl", content: "" } },
      400,
      /file\.id must be a lower-case hyphenated UUID, received "nope"/,
    ],
    [
      { file: { id: "00000000-0000-4000-8000-0000000000AA", filename: "a.jsonl", content: "" } },
      400,
      /file\.id must be a lower-case/,
    ],
    [
      { file: { id: "00000000-0000-4000-8000-000000000002", filename: "", content: "" } },
      400,
      /file\.filename must be a non-empty string/,
    ],
    [
      { file: { id: "00000000-0000-4000-8000-000000000002", filename: "a.jsonl", purpose: "training", content: "" } },
      400,
      /file\.purpose must be one of fine-tune, batch, ocr, received "training"/,
    ],
    [
      { file: { id: "00000000-0000-4000-8000-000000000002", filename: "a.jsonl", content: 5 } },
      400,
      /file\.content must be a string, received 5/,
    ],
    [
      { file: { id: "00000000-0000-4000-8000-000000000002", filename: "a.jsonl", content: "", encoding: "hex" } },
      400,
      /file\.encoding must be utf8 or base64, received "hex"/,
    ],
    [
      { file: { id: "00000000-0000-4000-8000-000000000002", filename: "a.jsonl", content: "", size: 1 } },
      400,
      /unknown field file\.size/,
    ],
    [
      { job: { endpoint: "/v1/chat/completions" } },
      400,
      /job\.id must be a lower-case hyphenated UUID, received undefined/,
    ],
    [
      { file: { id: "00000000-0000-4000-8000-000000000001", filename: "again.jsonl", content: "" } },
      409,
      /file 00000000-0000-4000-8000-000000000001 already exists/,
    ],
  ])("refuses %j with %i", async (body, status, message) => {
    const r = await seed(emulator.url, body);
    expect(r.status).toBe(status);
    expect(r.body).toMatchObject({ object: "error", type: "invalid_request_error" });
    expect(r.body.message).toMatch(message);
  });

  it("a job the API would refuse is refused with the API's answer, and its file is not kept", async () => {
    const fileId = "00000000-0000-4000-8000-000000000003";
    const jobId = "00000000-0000-4000-8000-0000000000b3";
    const r = await seed(emulator.url, {
      file: { id: fileId, filename: "chat.jsonl", content: '{"body":{"messages":[{"role":"user","content":"hi"}]}}\n' },
      job: { id: jobId, model: "mistral-embed", endpoint: "/v1/chat/completions" },
    });
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ object: "error", type: "invalid_model", param: "model" });
    expect(r.body.message).toMatch(/mistral-embed.*does not support endpoint \/v1\/chat\/completions/);
    expect((await fetch(`${emulator.url}/v1/files/${fileId}`)).status).toBe(404);
    expect((await fetch(`${emulator.url}/v1/batch/jobs/${jobId}`)).status).toBe(404);
    // and an existing job id is a conflict
    const ok = await seed(emulator.url, {
      job: {
        id: jobId,
        requests: [{ body: { messages: [{ role: "user", content: "hi" }] } }],
        model: "mistral-small-latest",
        endpoint: "/v1/chat/completions",
      },
    });
    expect(ok.status).toBe(200);
    expect(ok.body.job).toMatchObject({ id: jobId, input_files: [], status: "QUEUED" });
    const again = await seed(emulator.url, {
      job: { id: jobId, requests: [{ body: {} }], model: "mistral-small-latest", endpoint: "/v1/chat/completions" },
    });
    expect(again.status).toBe(409);
    expect(again.body.message).toMatch(/batch job 00000000-0000-4000-8000-0000000000b3 already exists/);
  });

  it("is not hit by faults, while the API still is; and needs the API key when one is set", async () => {
    const locked = await startEmulator({ apiKey: "k-123", faults: "503*inf@POST /v1/batch/jobs" });
    try {
      const body = JSON.stringify({
        file: { id: FILE_ID, filename: "c.jsonl", content: CLASSIFICATION_LINES },
        job: { id: GET_JOB_ID, model: "mistral-moderation-latest", endpoint: "/v1/classifications" },
      });
      let res = await fetch(`${locked.url}/__emulator/seed`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      });
      expect(res.status).toBe(401);
      const headers = { "content-type": "application/json", authorization: "Bearer k-123" };
      res = await fetch(`${locked.url}/__emulator/seed`, { method: "POST", headers, body });
      expect(res.status).toBe(200);
      expect((await readJson<SeedAnswer>(res)).job?.id).toBe(GET_JOB_ID);
      // a client cannot borrow the seed route's way around faults or pick ids
      res = await fetch(`${locked.url}/v1/batch/jobs`, {
        method: "POST",
        headers: { ...headers, "x-emulator-seed-job-id": CANCEL_JOB_ID, "x-emulator-seed-signature": "0".repeat(64) },
        body: JSON.stringify({
          input_files: [FILE_ID],
          model: "mistral-moderation-latest",
          endpoint: "/v1/classifications",
        }),
      });
      expect(res.status).toBe(503);
      expect(locked.faults.list()).toMatchObject([{ times: null }]);
    } finally {
      await locked.close();
    }
  });
});

describe("seed 000: the batch guide's Python flow, translated literally to the TypeScript SDK", () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "emulator-seed-000-"));
    fs.writeFileSync(
      path.join(dir, "test.jsonl"),
      '{"custom_id": "0", "body": {"max_tokens": 100, "messages": [{"role": "user", "content": "What is the best French cheese?"}]}}\n' +
        '{"custom_id": "1", "body": {"max_tokens": 100, "messages": [{"role": "user", "content": "What is the best French wine?"}]}}\n',
    );
  });
  afterAll(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function flow(client: CheckedClient["client"], advance: () => Promise<void>) {
    // batch_data = client.files.upload(file={"file_name": "test.jsonl", "content": open("test.jsonl", "rb")}, purpose="batch")
    const batchData = await client.files.upload({
      file: { fileName: "test.jsonl", content: fs.readFileSync(path.join(dir, "test.jsonl")) },
      purpose: "batch",
    });
    // created_job = client.batch.jobs.create(input_files=[batch_data.id], model="mistral-small-latest",
    //     endpoint="/v1/chat/completions", metadata={"job_type": "testing"})
    const createdJob = await client.batch.jobs.create({
      inputFiles: [batchData.id],
      model: "mistral-small-latest",
      endpoint: "/v1/chat/completions",
      metadata: { job_type: "testing" },
    });
    await advance();
    // retrieved_job = client.batch.jobs.get(job_id=created_job.id)
    const retrievedJob = await client.batch.jobs.get({ jobId: createdJob.id });
    // list_job = client.batch.jobs.list(status="RUNNING", metadata={"job_type": "testing"})
    const listJob = await client.batch.jobs.list({ status: ["RUNNING"], metadata: { job_type: "testing" } });
    return { batchData, createdJob, retrievedJob, listJob };
  }

  it("with instant processing: the job is done when fetched, its results download, nothing is RUNNING, cancel is a no-op", async () => {
    const emulator = await startEmulator({ speed: "instant" });
    const c = checkedClient(emulator.url);
    try {
      const client = c.client;
      const { batchData, createdJob, retrievedJob, listJob } = await flow(client, async () => undefined);
      expect(batchData).toMatchObject({ filename: "test.jsonl", purpose: "batch", numLines: 2 });
      expect(createdJob).toMatchObject({ status: "QUEUED", metadata: { job_type: "testing" } });
      expect(retrievedJob).toMatchObject({ status: "SUCCESS", totalRequests: 2, succeededRequests: 2 });
      // output_file_stream = client.files.download(file_id=retrieved_job.output_file)
      const outputFileStream = await client.files.download({ fileId: retrievedJob.outputFile! });
      // with open('batch_results.jsonl', 'wb') as f: f.write(output_file_stream.read())
      fs.writeFileSync(
        path.join(dir, "batch_results.jsonl"),
        Buffer.from(await new Response(outputFileStream).arrayBuffer()),
      );
      const results = fs
        .readFileSync(path.join(dir, "batch_results.jsonl"), "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l));
      expect(results.map((r) => r.custom_id).sort()).toEqual(["0", "1"]);
      for (const r of results) expect(r.response.body.choices[0].message.content).toEqual(expect.any(String));
      expect(listJob).toEqual({ data: [], object: "list", total: 0 });
      // canceled_job = client.batch.jobs.cancel(job_id=created_job.id)
      const canceledJob = await client.batch.jobs.cancel({ jobId: createdJob.id });
      expect(canceledJob).toMatchObject({ id: createdJob.id, status: "SUCCESS" });
      expect(c.violations).toEqual([]);
    } finally {
      await emulator.close();
    }
  });

  it("with slower timings: the job is listed as RUNNING with its metadata, and cancel stops it", async () => {
    const emulator = await startEmulator({
      speed: { queueDelayMs: 1500, requestsPerSecond: 1, cancelDelayMs: 1000 },
      clock: "manual",
    });
    const c = checkedClient(emulator.url);
    try {
      const client = c.client;
      const { createdJob, retrievedJob, listJob } = await flow(client, () => emulator.advance(1600)); // past the 1.5 s queue
      expect(retrievedJob).toMatchObject({ status: "RUNNING", totalRequests: 2, outputFile: null });
      expect(listJob.total).toBe(1);
      expect(listJob.data?.[0]).toMatchObject({
        id: createdJob.id,
        status: "RUNNING",
        metadata: { job_type: "testing" },
      });
      const canceledJob = await client.batch.jobs.cancel({ jobId: createdJob.id });
      expect(canceledJob.status).toBe("CANCELLATION_REQUESTED");
      await emulator.advance(1000);
      const final = await client.batch.jobs.get({ jobId: createdJob.id });
      expect(final.status).toBe("CANCELLED");
      expect(c.violations).toEqual([]);
    } finally {
      await emulator.close();
    }
  });
});
