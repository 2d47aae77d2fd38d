/**
 * Contract tests: every Files and Batch operation called through the official SDK against the emulator over HTTP,
 * with every raw response validated against Mistral's OpenAPI spec.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { SDKError } from "@mistralai/mistralai/models/errors";
import { startEmulator, type Emulator } from "mistral-batch-emulator";
import { checkedClient, type CheckedClient } from "../support/client";
import { readJson, type ErrorBody, type FileBody, type ListBody, type ValidationErrorBody } from "../support/wire";

function jsonl(lines: object[]): Buffer {
  return Buffer.from(`${lines.map((l) => JSON.stringify(l)).join("\n")}\n`);
}

function chatLines(n: number, prefix = "r"): object[] {
  return Array.from({ length: n }, (_, i) => ({
    custom_id: `${prefix}${i}`,
    body: { max_tokens: 32, messages: [{ role: "user", content: `What is ${i} + ${i + 1}?` }] },
  }));
}

let emulator: Emulator;
let c: CheckedClient;

beforeAll(async () => {
  emulator = await startEmulator({ speed: "instant" });
  c = checkedClient(emulator.url);
});
afterAll(async () => {
  await emulator.close();
});
afterEach(() => {
  expect(c.violations).toEqual([]);
});

async function upload(name: string, content: Buffer, purpose: "batch" | "fine-tune" | "ocr" = "batch") {
  return c.client.files.upload({ file: { fileName: name, content }, purpose });
}

describe("files", () => {
  it("uploads a JSONL file and reports its size, line count and kind", async () => {
    const content = jsonl(chatLines(3));
    const f = await upload("three.jsonl", content);
    expect(f.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(f).toMatchObject({
      object: "file",
      sizeBytes: content.length,
      filename: "three.jsonl",
      purpose: "batch",
      sampleType: "batch_request",
      source: "upload",
      numLines: 3,
      mimetype: "application/jsonl",
    });
    expect(c.validated).toContain("files_api_routes_upload_file");
  });

  it("retrieves, downloads byte for byte, signs a URL and deletes", async () => {
    const content = jsonl(chatLines(5));
    const f = await upload("five.jsonl", content);
    const got = await c.client.files.retrieve({ fileId: f.id });
    expect(got).toMatchObject({ id: f.id, deleted: false, sizeBytes: content.length, numLines: 5 });

    const stream = await c.client.files.download({ fileId: f.id });
    expect(Buffer.from(await new Response(stream).arrayBuffer())).toEqual(content);

    const signed = await c.client.files.getSignedUrl({ fileId: f.id, expiry: 2 });
    const viaUrl = await fetch(signed.url);
    expect(viaUrl.status).toBe(200);
    expect(Buffer.from(await viaUrl.arrayBuffer())).toEqual(content);
    const tampered = await fetch(signed.url.replace(/sig=[0-9a-f]/, "sig=z"));
    expect(tampered.status).toBe(403);

    const del = await c.client.files.delete({ fileId: f.id });
    expect(del).toEqual({ id: f.id, object: "file", deleted: true });
    const gone = await c.client.files.retrieve({ fileId: f.id }).catch((e) => e);
    expect(gone).toBeInstanceOf(SDKError);
    expect((gone as SDKError).statusCode).toBe(404);
    expect(JSON.parse((gone as SDKError).body).message).toContain(f.id);
  });

  it("rejects a signed URL expiry outside 1..168 hours", async () => {
    const f = await upload("x.jsonl", jsonl(chatLines(1)));
    const res = await fetch(`${emulator.url}/v1/files/${f.id}/url?expiry=169`);
    expect(res.status).toBe(422);
    expect((await readJson<ValidationErrorBody>(res)).detail[0]).toMatchObject({
      loc: ["query", "expiry"],
      type: "less_than_equal",
    });
  });

  it("lists with pagination, total and every filter", async () => {
    const mine = await Promise.all([
      upload("list-a.jsonl", jsonl(chatLines(1))),
      upload("list-b.jsonl", jsonl(chatLines(2))),
      upload("list-c.jsonl", jsonl(chatLines(1)), "fine-tune"),
    ]);
    const all = await c.client.files.list({ pageSize: 1000 });
    expect(all.total).toBe(all.data.length);
    for (const f of mine) expect(all.data.map((d) => d.id)).toContain(f.id);

    const page0 = await c.client.files.list({ page: 0, pageSize: 2 });
    const page1 = await c.client.files.list({ page: 1, pageSize: 2 });
    expect(page0.data).toHaveLength(2);
    expect(page0.total).toBe(all.total);
    expect(page1.data[0].id).not.toBe(page0.data[0].id);
    expect(page1.data[0].id).toBe(all.data[2].id);

    const search = await c.client.files.list({ search: "list-" });
    expect(search.data.map((d) => d.filename).sort()).toEqual(["list-a.jsonl", "list-b.jsonl", "list-c.jsonl"]);
    const ft = await c.client.files.list({ purpose: "fine-tune", search: "list-" });
    expect(ft.data.map((d) => d.filename)).toEqual(["list-c.jsonl"]);
    const st = await c.client.files.list({ sampleType: ["batch_request"], search: "list-" });
    expect(st.data.map((d) => d.filename).sort()).toEqual(["list-a.jsonl", "list-b.jsonl"]);
    const src = await c.client.files.list({ source: ["mistral"], search: "list-" });
    expect(src.data).toEqual([]);
    const mt = await c.client.files.list({ mimetypes: ["application/jsonl"], search: "list-a" });
    expect(mt.data.map((d) => d.filename)).toEqual(["list-a.jsonl"]);
    const noTotal = await c.client.files.list({ includeTotal: false, pageSize: 1 });
    expect(noTotal.total ?? null).toBeNull();
  });

  it("refuses an upload without a file, with a bad purpose, or over the size limit", async () => {
    const small = await startEmulator({ maxFileBytes: 1024 });
    try {
      const form = new FormData();
      form.append("purpose", "batch");
      let res = await fetch(`${small.url}/v1/files`, { method: "POST", body: form });
      expect(res.status).toBe(422);
      expect((await readJson<ValidationErrorBody>(res)).detail[0]).toMatchObject({
        type: "missing",
        loc: ["body", "file"],
      });

      const bad = new FormData();
      bad.append("file", new Blob(["{}\n"]), "a.jsonl");
      bad.append("purpose", "training");
      res = await fetch(`${small.url}/v1/files`, { method: "POST", body: bad });
      expect(res.status).toBe(422);
      expect((await readJson<ValidationErrorBody>(res)).detail[0]).toMatchObject({
        type: "enum",
        loc: ["body", "purpose"],
        input: "training",
      });

      const big = new FormData();
      big.append("file", new Blob([Buffer.alloc(4096, 97)]), "big.jsonl");
      big.append("purpose", "batch");
      res = await fetch(`${small.url}/v1/files`, { method: "POST", body: big });
      expect(res.status).toBe(413);
      expect((await readJson<ErrorBody>(res)).message).toMatch(/1024 bytes/);
      // nothing half-written is left behind
      const list = await fetch(`${small.url}/v1/files`).then((r) => readJson<ListBody<FileBody>>(r));
      expect(list.total).toBe(0);
    } finally {
      await small.close();
    }
  });
});

describe("batch jobs", () => {
  it("runs a job from an input file to SUCCESS with result files in the file list", async () => {
    const lines = chatLines(40, "q");
    const f = await upload("forty.jsonl", jsonl(lines));
    const created = await c.client.batch.jobs.create({
      inputFiles: [f.id],
      model: "mistral-small-latest",
      endpoint: "/v1/chat/completions",
      metadata: { job_type: "testing" },
    });
    expect(created).toMatchObject({
      status: "QUEUED",
      inputFiles: [f.id],
      model: "mistral-small-latest",
      metadata: { job_type: "testing" },
    });
    const job = await c.client.batch.jobs.get({ jobId: created.id });
    expect(job).toMatchObject({
      status: "SUCCESS",
      totalRequests: 40,
      completedRequests: 40,
      succeededRequests: 40,
      failedRequests: 0,
    });
    expect(job.startedAt).toBeGreaterThanOrEqual(job.createdAt);
    expect(job.completedAt).toBeGreaterThanOrEqual(job.startedAt!);
    expect(job.errorFile ?? null).toBeNull();

    const out = await c.client.files.retrieve({ fileId: job.outputFile! });
    expect(out).toMatchObject({ purpose: "batch", sampleType: "batch_result", source: "mistral", numLines: 40 });
    const text = await new Response(await c.client.files.download({ fileId: job.outputFile! })).text();
    const results = text
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(results).toHaveLength(40);
    const ids = results.map((r) => r.custom_id);
    expect([...ids].sort()).toEqual(lines.map((l) => (l as { custom_id: string }).custom_id).sort());
    expect(ids).not.toEqual(lines.map((l) => (l as { custom_id: string }).custom_id)); // not in input order
    for (const r of results) {
      expect(r.id).not.toBe(r.custom_id);
      expect(r.error).toBeNull();
      expect(r.response.status_code).toBe(200);
      expect(r.response.body.object).toBe("chat.completion");
      expect(r.response.body.usage.total_tokens).toBeGreaterThan(0);
    }
    const results2 = await c.client.files.list({ sampleType: ["batch_result"], source: ["mistral"] });
    expect(results2.data.map((d) => d.id)).toContain(job.outputFile);
  });

  it("runs inline requests and returns results inline; failed requests go to the error file", async () => {
    const requests = [
      { customId: "ok-1", body: { messages: [{ role: "user", content: "What is 2 + 2?" }] } },
      { customId: "bad-1", body: { messages: [] } },
      { customId: "ok-2", body: { messages: [{ role: "user", content: "Hello" }] } },
    ];
    const created = await c.client.batch.jobs.create({
      requests,
      model: "mistral-large-latest",
      endpoint: "/v1/chat/completions",
    });
    expect(created.inputFiles).toEqual([]);
    const job = await c.client.batch.jobs.get({ jobId: created.id, inline: true });
    expect(job).toMatchObject({ status: "SUCCESS", totalRequests: 3, succeededRequests: 2, failedRequests: 1 });
    expect(job.outputs).toHaveLength(3);
    const byId = new Map(job.outputs!.map((o) => [o.custom_id, o]));
    expect(byId.get("ok-1")!.response.status_code).toBe(200);
    expect(byId.get("bad-1")!.response.status_code).not.toBe(200);
    expect(byId.get("bad-1")!.error.message).toMatch(/messages/);
    expect(job.errors[0]).toMatchObject({ count: 1 });
    expect(job.errors[0].message).toMatch(/messages/);
    const err = await c.client.files.retrieve({ fileId: job.errorFile! });
    expect(err).toMatchObject({ sampleType: "batch_error", source: "mistral", numLines: 1 });
  });

  it("answers every supported endpoint", async () => {
    const cases: [string, string, Record<string, unknown>][] = [
      ["/v1/embeddings", "mistral-embed", { input: ["a cat", "a dog"] }],
      ["/v1/fim/completions", "codestral-latest", { prompt: "def add(a, b):", suffix: "return c" }],
      ["/v1/moderations", "mistral-moderation-latest", { input: "hello" }],
      ["/v1/chat/moderations", "mistral-moderation-latest", { input: [{ role: "user", content: "hello" }] }],
    ];
    for (const [endpoint, model, body] of cases) {
      const created = await c.client.batch.jobs.create({
        requests: [{ customId: "1", body }],
        model,
        endpoint: endpoint as "/v1/embeddings",
      });
      const job = await c.client.batch.jobs.get({ jobId: created.id, inline: true });
      expect(job.status, endpoint).toBe("SUCCESS");
      expect(job.outputs![0].response.status_code, endpoint).toBe(200);
    }
  });

  it("lists jobs with every filter and paging", async () => {
    const tag = `t${Date.now()}`;
    const ids: string[] = [];
    for (const model of ["mistral-small-latest", "mistral-large-latest", "mistral-small-latest"]) {
      const j = await c.client.batch.jobs.create({
        requests: [{ customId: "1", body: { messages: [{ role: "user", content: "hi" }] } }],
        model,
        endpoint: "/v1/chat/completions",
        metadata: { suite: tag, model },
      });
      ids.push(j.id);
    }
    const byMeta = await c.client.batch.jobs.list({ metadata: { suite: tag } });
    expect(byMeta.total).toBe(3);
    expect(byMeta.data?.map((j) => j.id)).toEqual([...ids].reverse()); // -created by default
    const asc = await c.client.batch.jobs.list({ metadata: { suite: tag }, orderBy: "created" });
    expect(asc.data?.map((j) => j.id)).toEqual(ids);
    const small = await c.client.batch.jobs.list({ metadata: { suite: tag }, model: "mistral-small-latest" });
    expect(small.data?.map((j) => j.id).sort()).toEqual([ids[0], ids[2]].sort());
    const two = await c.client.batch.jobs.list({ metadata: { suite: tag, model: "mistral-large-latest" } });
    expect(two.data?.map((j) => j.id)).toEqual([ids[1]]);
    const paged = await c.client.batch.jobs.list({ metadata: { suite: tag }, page: 1, pageSize: 2 });
    expect(paged.total).toBe(3);
    expect(paged.data?.map((j) => j.id)).toEqual([ids[0]]);
    const done = await c.client.batch.jobs.list({ metadata: { suite: tag }, status: ["SUCCESS"] });
    expect(done.total).toBe(3);
    const running = await c.client.batch.jobs.list({ metadata: { suite: tag }, status: ["RUNNING", "QUEUED"] });
    expect(running.total).toBe(0);
    const future = await c.client.batch.jobs.list({
      metadata: { suite: tag },
      createdAfter: new Date(Date.now() + 60_000),
    });
    expect(future.total).toBe(0);
    const past = await c.client.batch.jobs.list({
      metadata: { suite: tag },
      createdAfter: new Date(Date.now() - 60_000),
      createdByMe: true,
    });
    expect(past.total).toBe(3);
    const bad = await fetch(`${emulator.url}/v1/batch/jobs?status=DONE`);
    expect(bad.status).toBe(422);
    expect((await readJson<ValidationErrorBody>(bad)).detail[0]).toMatchObject({
      type: "enum",
      loc: ["query", "status", 0],
      input: "DONE",
    });
  });

  it("cancels a final job as a no-op and deletes jobs that ended", async () => {
    const j = await c.client.batch.jobs.create({
      requests: [{ customId: "1", body: { messages: [{ role: "user", content: "hi" }] } }],
      model: "mistral-small-latest",
      endpoint: "/v1/chat/completions",
    });
    await c.client.batch.jobs.get({ jobId: j.id });
    const cancelled = await c.client.batch.jobs.cancel({ jobId: j.id });
    expect(cancelled.status).toBe("SUCCESS");
    const del = await c.client.batch.jobs.delete({ jobId: j.id });
    expect(del).toMatchObject({ id: j.id, deleted: true });
    const gone = await c.client.batch.jobs.get({ jobId: j.id }).catch((e) => e);
    expect((gone as SDKError).statusCode).toBe(404);
    const badId = await fetch(`${emulator.url}/v1/batch/jobs/not-a-uuid`);
    expect(badId.status).toBe(422);
    expect((await readJson<ValidationErrorBody>(badId)).detail[0]).toMatchObject({
      type: "uuid_parsing",
      loc: ["path", "job_id"],
    });
  });

  it("validated every operation against the spec", () => {
    expect(new Set(c.validated)).toEqual(
      new Set([
        "files_api_routes_upload_file",
        "files_api_routes_list_files",
        "files_api_routes_retrieve_file",
        "files_api_routes_delete_file",
        "files_api_routes_download_file",
        "files_api_routes_get_signed_url",
        "jobs_api_routes_batch_get_batch_jobs",
        "jobs_api_routes_batch_create_batch_job",
        "jobs_api_routes_batch_get_batch_job",
        "jobs_api_routes_batch_delete_batch_job",
        "jobs_api_routes_batch_cancel_batch_job",
      ]),
    );
  });
});

describe("options", () => {
  it("refuses an unknown speed preset, naming the value and the presets", async () => {
    await expect(startEmulator({ speed: "toString" as never })).rejects.toThrow(
      /speed must be one of instant, fast, demo, slow.*received toString/,
    );
  });
});

describe("auth", () => {
  it("answers 401 without the right bearer token", async () => {
    const locked = await startEmulator({ apiKey: "s3cret-key" });
    try {
      const attempts: Record<string, string>[] = [
        {},
        { authorization: "Bearer wrong" },
        { authorization: "s3cret-key" },
      ];
      for (const headers of attempts) {
        const res = await fetch(`${locked.url}/v1/batch/jobs`, { headers });
        expect(res.status).toBe(401);
        const text = await res.text();
        expect(text).not.toContain("s3cret-key");
      }
      const wrong = await checkedClient(locked.url, "wrong")
        .client.files.list()
        .catch((e) => e);
      expect((wrong as SDKError).statusCode).toBe(401);
      const ok = await checkedClient(locked.url, "s3cret-key").client.files.list();
      expect(ok.total).toBe(0);
    } finally {
      await locked.close();
    }
  });
});
