/**
 * The observed profile (`startEmulator({ profile: "observed" })`): the real service as observed where the spec is
 * silent or says otherwise (`provider/api/observed.ts`), driven over HTTP with the official SDK, every response
 * the SDK receives validated against Mistral's OpenAPI spec. One test per behaviour, and proof that the spec
 * profile (the default) keeps its behaviour where the two differ.
 */
import { afterEach, describe, expect, it } from "vitest";
import { SDKError } from "@mistralai/mistralai/models/errors";
import {
  DEFAULT_MODELS,
  parseFaults,
  startEmulator,
  type Emulator,
  type EmulatorOptions,
} from "mistral-batch-emulator";
import {
  errorBody,
  invalidModelError,
  PENDING_LIMIT_MESSAGE,
  RATE_LIMIT_HEADERS,
  RESULT_RETENTION_HOURS,
  UNAUTHORIZED_BODIES,
} from "pulumi-mistral-batch/api";
import { assertBuilt, runCli, startCli, stopAllClis } from "../support/cli";
import { checkedClient, type CheckedClient } from "../support/client";
import { expectResponseValid, operationIds } from "../support/openapi";
import { readJson, type ErrorBody, type JobBody, type ListBody } from "../support/wire";

type Json = Record<string, unknown>;
const CHAT = "/v1/chat/completions" as const;
const MODEL = "mistral-small-latest";
const HOUR = 3_600_000;

const started: Emulator[] = [];
const clients: CheckedClient[] = [];

async function start(options: EmulatorOptions = {}): Promise<{ emulator: Emulator; c: CheckedClient }> {
  const emulator = await startEmulator({ profile: "observed", clock: "manual", ...options });
  const c = checkedClient(emulator.url);
  started.push(emulator);
  clients.push(c);
  return { emulator, c };
}

afterEach(async () => {
  for (const client of clients.splice(0)) expect(client.violations).toEqual([]);
  await Promise.all(started.splice(0).map((e) => e.close()));
});

function chatRequests(n: number, prefix = "r") {
  return Array.from({ length: n }, (_, i) => ({
    customId: `${prefix}${i}`,
    body: { messages: [{ role: "user", content: `What is ${i} + 1?` }] },
  }));
}

function jsonlText(lines: (object | string)[]): Buffer {
  return Buffer.from(`${lines.map((l) => (typeof l === "string" ? l : JSON.stringify(l))).join("\n")}\n`);
}

async function lines(c: CheckedClient, fileId: string): Promise<Json[]> {
  const text = await new Response(await c.client.files.download({ fileId })).text();
  return text
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as Json);
}

async function sdkError(promise: Promise<unknown>): Promise<SDKError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SDKError);
  return error as SDKError;
}

describe("observed profile", () => {
  it("1. writes inline 429 failures to the output file and odd failure lines to the error file", async () => {
    const flaky = { id: "flaky-chat", endpoints: [CHAT], accuracy: 0.5, failureRate: 0.75 };
    const { c, emulator } = await start({ speed: "instant", models: [...DEFAULT_MODELS, flaky] });
    const n = 120;
    const job = await c.client.batch.jobs.create({ endpoint: CHAT, model: flaky.id, requests: chatRequests(n) });
    await emulator.settle();
    const done = await c.client.batch.jobs.get({ jobId: job.id });
    expect(done.status).toBe("SUCCESS");
    expect(done.succeededRequests + done.failedRequests).toBe(n);
    expect(done.failedRequests).toBeGreaterThan(0);

    const output = await lines(c, done.outputFile ?? "");
    const inline = output.filter((l) => (l.response as Json | null)?.status_code === 429);
    expect(inline.length).toBeGreaterThan(0);
    for (const l of inline) {
      expect(l).toEqual({
        id: expect.any(String),
        custom_id: expect.any(String),
        response: { status_code: 429, body: null },
        error: "rate limited",
      });
    }
    expect(output.length).toBe(done.succeededRequests + inline.length);
    expect(output.length).not.toBe(done.succeededRequests);

    const errors = await lines(c, done.errorFile ?? "");
    expect(inline.length + errors.length).toBe(done.failedRequests);
    expect(errors.some((l) => typeof l.error === "string")).toBe(true);
    expect(errors.some((l) => typeof l.error === "object" && l.error !== null)).toBe(true);
    const anonymous = errors.filter((l) => !("custom_id" in l));
    expect(anonymous.length).toBeGreaterThan(0);
    expect(anonymous.length).toBeLessThan(errors.length / 2);
    // Every request is answered exactly once: the custom_ids seen plus the anonymous lines cover the input.
    const seen = [...output, ...errors].map((l) => l.custom_id).filter((id) => typeof id === "string");
    expect(new Set(seen).size + anonymous.length).toBe(n);

    // Deterministic: the same input gives the same split.
    const again = await c.client.batch.jobs.create({ endpoint: CHAT, model: flaky.id, requests: chatRequests(n) });
    await emulator.settle();
    const second = await c.client.batch.jobs.get({ jobId: again.id });
    const secondErrors = await lines(c, second.errorFile ?? "");
    expect(secondErrors.filter((l) => !("custom_id" in l)).length).toBe(anonymous.length);
    expect(second.succeededRequests).toBe(done.succeededRequests);
  });

  it("2. accepts a job with bad input lines and ends it FAILED with errors naming them; unknown model is a 400", async () => {
    const { c, emulator } = await start({ speed: { queueDelayMs: 1000, requestsPerSecond: 10, cancelDelayMs: 0 } });
    const file = await c.client.files.upload({
      purpose: "batch",
      file: {
        fileName: "bad.jsonl",
        content: jsonlText([
          { custom_id: "ok", body: { messages: [{ role: "user", content: "hi" }] } },
          "{not json",
          { body: { messages: [{ role: "user", content: "no id" }] } },
          { custom_id: "no-body" },
          // A body the endpoint rejects is a per-request failure, not a failure of the file (below).
          { custom_id: "bad-body", body: { messages: "nope" } },
        ]),
      },
    });
    const job = await c.client.batch.jobs.create({ endpoint: CHAT, model: MODEL, inputFiles: [file.id] });
    expect(job.status).toBe("QUEUED");
    expect(job.totalRequests).toBe(0);
    await emulator.advance(1000);
    const failed = await c.client.batch.jobs.get({ jobId: job.id });
    expect(failed.status).toBe("FAILED");
    expect(failed.totalRequests).toBe(0);
    expect(failed.outputFile ?? null).toBeNull();
    const messages = failed.errors.map((e) => e.message);
    expect(messages).toEqual([
      `Malformed JSON: line 2 of input file ${file.id}`,
      `Missing custom_id: line 3 of input file ${file.id}`,
      `Missing body: line 4 of input file ${file.id}`,
    ]);
    expect(failed.errors.map((e) => e.count)).toEqual([1, 1, 1]);

    // Inline requests without custom_id: accepted, then FAILED.
    const inline = await c.client.batch.jobs.create({
      endpoint: CHAT,
      model: MODEL,
      requests: [{ body: { messages: [{ role: "user", content: "a" }] } }, ...chatRequests(1)],
    });
    expect(inline.status).toBe("QUEUED");
    await emulator.advance(1000);
    const inlineFailed = await c.client.batch.jobs.get({ jobId: inline.id });
    expect(inlineFailed.status).toBe("FAILED");
    expect(inlineFailed.errors).toEqual([{ message: "Missing custom_id: line 1 of requests", count: 1 }]);

    // Well-formed lines, one body the endpoint rejects: the job is answered, that request failing on its own.
    const mixed = await c.client.files.upload({
      purpose: "batch",
      file: {
        fileName: "mixed.jsonl",
        content: jsonlText([
          { custom_id: "ok", body: { messages: [{ role: "user", content: "hi" }] } },
          { custom_id: "bad-body", body: { messages: "nope" } },
        ]),
      },
    });
    const answered = await c.client.batch.jobs.create({ endpoint: CHAT, model: MODEL, inputFiles: [mixed.id] });
    await emulator.advance(3000);
    const done = await c.client.batch.jobs.get({ jobId: answered.id });
    expect(done.status).toBe("SUCCESS");
    expect([done.succeededRequests, done.failedRequests]).toEqual([1, 1]);

    // An unknown model is still refused at creation, with the observed body.
    const res = await fetch(`${emulator.url}/v1/batch/jobs`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ endpoint: CHAT, model: "no-such-model", input_files: [file.id] }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual(invalidModelError("no-such-model"));
  });

  it("2'. the spec profile still refuses bad input lines at creation with a 422", async () => {
    const { c } = await start({ profile: "spec", speed: "instant" });
    const file = await c.client.files.upload({
      purpose: "batch",
      file: { fileName: "bad.jsonl", content: jsonlText(["{not json"]) },
    });
    const error = await sdkError(c.client.batch.jobs.create({ endpoint: CHAT, model: MODEL, inputFiles: [file.id] }));
    expect(error.statusCode).toBe(422);
    const unknown = await sdkError(
      c.client.batch.jobs.create({ endpoint: CHAT, model: "no-such-model", requests: chatRequests(1) }),
    );
    expect(unknown.statusCode).toBe(400);
    expect(JSON.parse(unknown.body)).not.toHaveProperty("raw_status_code");
  });

  it("3. a cancel stays CANCELLATION_REQUESTED for cancelDurationMs (default 3000, or explicit timings') of the clock", async () => {
    const speed = { queueDelayMs: 1000, requestsPerSecond: 1, cancelDelayMs: 5000 };
    for (const [options, duration] of [
      [{ speed: "demo" }, 3000], // a preset: the observed duration (demo's own cancelDelayMs is 1000)
      [{ speed }, 5000], // explicit timings: their cancelDelayMs
      [{ speed, cancelDurationMs: 10_000 }, 10_000],
    ] as const) {
      const { c, emulator } = await start(options);
      const job = await c.client.batch.jobs.create({ endpoint: CHAT, model: MODEL, requests: chatRequests(20) });
      await emulator.advance(2000);
      const cancelling = await c.client.batch.jobs.cancel({ jobId: job.id });
      expect(cancelling.status).toBe("CANCELLATION_REQUESTED");
      await emulator.advance(duration - 1);
      expect((await c.client.batch.jobs.get({ jobId: job.id })).status).toBe("CANCELLATION_REQUESTED");
      await emulator.advance(1);
      expect((await c.client.batch.jobs.get({ jobId: job.id })).status).toBe("CANCELLED");
    }
  });

  it("4. result files expire after resultRetentionHours (default RESULT_RETENTION_HOURS) of the clock", async () => {
    for (const [options, hours] of [
      [{}, RESULT_RETENTION_HOURS],
      [{ resultRetentionHours: 1 }, 1],
    ] as const) {
      const { c, emulator } = await start({ speed: "instant", ...options });
      const job = await c.client.batch.jobs.create({ endpoint: CHAT, model: MODEL, requests: chatRequests(3) });
      await emulator.settle();
      const done = await c.client.batch.jobs.get({ jobId: job.id });
      const fileId = done.outputFile ?? "";
      const before = await c.client.files.retrieve({ fileId });
      expect(before.expiresAt).toBe(before.createdAt + hours * 3600);
      expect((await lines(c, fileId)).length).toBe(3);
      await emulator.advance(hours * HOUR - 1000);
      await c.client.files.retrieve({ fileId });
      await emulator.advance(1000);
      expect((await sdkError(c.client.files.retrieve({ fileId }))).statusCode).toBe(404);
      expect((await sdkError(c.client.files.download({ fileId }))).statusCode).toBe(404);
      const res = await fetch(`${emulator.url}/v1/files/${fileId}/content`);
      expect(res.status).toBe(404);
    }
  });

  it("5. 429 faults carry the rate-limit headers and no Retry-After; 401 bodies alternate", async () => {
    const { emulator } = await start({ apiKey: "secret" });
    emulator.faults.add(parseFaults("429*1@GET /v1/files"));
    const limited = await fetch(`${emulator.url}/v1/files`, { headers: { authorization: "Bearer secret" } });
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBeNull();
    for (const name of Object.values(RATE_LIMIT_HEADERS)) expect(limited.headers.get(name)).toMatch(/^\d+$/);
    expect(limited.headers.get(RATE_LIMIT_HEADERS.remainingRequests)).toBe("0");

    const bodies: unknown[] = [];
    for (const path of ["/v1/files", "/v1/files", "/v1/batch/jobs", "/v1/models"]) {
      const res = await fetch(`${emulator.url}${path}`);
      expect(res.status).toBe(401);
      bodies.push(await res.json());
    }
    expect(bodies[0]).toEqual(UNAUTHORIZED_BODIES.detail);
    expect(bodies[1]).toEqual(UNAUTHORIZED_BODIES.gateway((bodies[1] as { request_id: string }).request_id));
    expect(bodies[1]).toEqual({ message: "Unauthorized", request_id: expect.stringMatching(/^[0-9a-f]{32}$/) });
    expect(bodies[2]).toEqual(UNAUTHORIZED_BODIES.detail);
    expect(bodies[3]).toHaveProperty("request_id");

    // The spec profile keeps Retry-After and the gateway's body.
    const spec = await start({ profile: "spec", apiKey: "secret" });
    spec.emulator.faults.add(parseFaults("429*1@GET /v1/files"));
    const specLimited = await fetch(`${spec.emulator.url}/v1/files`, { headers: { authorization: "Bearer secret" } });
    expect(specLimited.headers.get("retry-after")).toBe("1");
    expect(specLimited.headers.get(RATE_LIMIT_HEADERS.limitRequests)).toBeNull();
    const specBodies = await Promise.all([1, 2].map(async () => (await fetch(`${spec.emulator.url}/v1/files`)).json()));
    for (const body of specBodies) expect(body).toHaveProperty("request_id");
  });

  it("6. the job list ignores metadata filters and caps page_size (maxJobsPageSize, default 50)", async () => {
    const { c, emulator } = await start({ speed: "instant" });
    for (let i = 0; i < 55; i++) {
      await c.client.batch.jobs.create({
        endpoint: CHAT,
        model: MODEL,
        requests: chatRequests(1),
        metadata: { team: i % 2 ? "odd" : "even" },
      });
    }
    const filtered = await c.client.batch.jobs.list({ metadata: { team: "odd" }, pageSize: 10 });
    expect(filtered.data?.length).toBe(10);
    expect(filtered.total).toBe(55);
    expect(new Set(filtered.data?.map((j) => j.metadata?.team))).toEqual(new Set(["odd", "even"]));
    const big = await c.client.batch.jobs.list({ pageSize: 100 });
    expect(big.data?.length).toBe(50);
    expect(big.total).toBe(55);
    const rest = await c.client.batch.jobs.list({ pageSize: 100, page: 1 });
    expect(rest.data?.length).toBe(5);

    const small = await start({ speed: "instant", maxJobsPageSize: 2 });
    for (let i = 0; i < 3; i++)
      await small.c.client.batch.jobs.create({ endpoint: CHAT, model: MODEL, requests: chatRequests(1) });
    const res = await fetch(`${small.emulator.url}/v1/batch/jobs?page_size=10`);
    const body = await readJson<ListBody<JobBody>>(res);
    expectResponseValid(operationIds.listBatchJobs, 200, body);
    expect(body.data.length).toBe(2);
    expect(body.total).toBe(3);
    void emulator;
  });

  it("7. file search matches whole filenames only (the spec profile: substrings)", async () => {
    const content = jsonlText(chatRequests(1).map((r) => ({ custom_id: r.customId, body: r.body })));
    const counts: Record<string, number[]> = {};
    for (const profile of ["observed", "spec"] as const) {
      const { c } = await start({ profile, speed: "instant" });
      for (const name of ["evals.jsonl", "evals.jsonl.bak", "EVALS.jsonl"])
        await c.client.files.upload({ purpose: "batch", file: { fileName: name, content } });
      counts[profile] = [];
      for (const search of ["evals.jsonl", "evals", "EVALS.jsonl"]) {
        const found = await c.client.files.list({ search });
        counts[profile].push(found.data.length);
        if (profile === "observed") for (const f of found.data) expect(f.filename).toBe(search);
      }
    }
    expect(counts.observed).toEqual([1, 0, 1]);
    expect(counts.spec).toEqual([3, 3, 3]);
  });

  it("8. refuses a job that would exceed the workspace's pending requests (both profiles)", async () => {
    for (const profile of ["observed", "spec"] as const) {
      const speed = { queueDelayMs: 1000, requestsPerSecond: 1, cancelDelayMs: 0 };
      const { c, emulator } = await start({ profile, speed, maxPendingRequests: 5 });
      await c.client.batch.jobs.create({ endpoint: CHAT, model: MODEL, requests: chatRequests(3) });
      const error = await sdkError(
        c.client.batch.jobs.create({ endpoint: CHAT, model: MODEL, requests: chatRequests(3) }),
      );
      expect(error.statusCode).toBe(429);
      expect(JSON.parse(error.body) as ErrorBody).toEqual(errorBody(PENDING_LIMIT_MESSAGE(3, 3, 5), "rate_limited"));
      expect(JSON.parse(error.body).message).toMatch(/pending/);
      // Exactly at the limit is allowed; one more is not.
      await c.client.batch.jobs.create({ endpoint: CHAT, model: MODEL, requests: chatRequests(2) });
      const full = await sdkError(
        c.client.batch.jobs.create({ endpoint: CHAT, model: MODEL, requests: chatRequests(1) }),
      );
      expect(JSON.parse(full.body).message).toBe(PENDING_LIMIT_MESSAGE(5, 1, 5));
      // Both jobs run at 1 request per second from 1000 ms: at 3000 ms the first has one request left, the second none.
      await emulator.advance(3000);
      const later = await c.client.batch.jobs.create({ endpoint: CHAT, model: MODEL, requests: chatRequests(4) });
      expect(later.status).toBe("QUEUED");
    }
  });

  it("9. a finished inline job carries outputs on a plain GET", async () => {
    const { c, emulator } = await start({ speed: "instant" });
    const job = await c.client.batch.jobs.create({ endpoint: CHAT, model: MODEL, requests: chatRequests(4) });
    await emulator.settle();
    const res = await fetch(`${emulator.url}/v1/batch/jobs/${job.id}`);
    const body = await readJson<JobBody>(res);
    expectResponseValid(operationIds.getBatchJob, 200, body);
    expect(body.status).toBe("SUCCESS");
    expect(body.outputs?.length).toBe(4);
    const viaSdk = await c.client.batch.jobs.get({ jobId: job.id });
    expect(viaSdk.outputs?.length).toBe(4);

    const spec = await start({ profile: "spec", speed: "instant" });
    const specJob = await spec.c.client.batch.jobs.create({ endpoint: CHAT, model: MODEL, requests: chatRequests(1) });
    await spec.emulator.settle();
    const specBody = await readJson<JobBody>(await fetch(`${spec.emulator.url}/v1/batch/jobs/${specJob.id}`));
    expect(specBody).not.toHaveProperty("outputs");
  });

  it("reports its profile; the default is spec", async () => {
    const observed = await start();
    expect(observed.emulator.profile).toBe("observed");
    const plain = await startEmulator({});
    started.push(plain);
    expect(plain.profile).toBe("spec");
    await expect(startEmulator({ profile: "real" as never })).rejects.toThrow(/profile must be one of spec, observed/);
  });
});

describe("CLI --profile (the built bin)", () => {
  afterEach(async () => {
    await stopAllClis();
  });

  it("plays the observed profile with --profile observed or MISTRAL_EMULATOR_PROFILE, and refuses others", async () => {
    assertBuilt();
    const flagged = await startCli(["--port", "0", "--profile", "observed", "--max-jobs-page-size", "1"]);
    expect(flagged.stderr()).toMatch(/auth: none; profile: observed\)/);
    const c = checkedClient(flagged.url);
    for (let i = 0; i < 2; i++)
      await c.client.batch.jobs.create({ endpoint: CHAT, model: MODEL, requests: chatRequests(1) });
    expect((await c.client.batch.jobs.list({ pageSize: 10 })).data?.length).toBe(1);
    expect(c.violations).toEqual([]);

    const fromEnv = await startCli(["--port", "0"], { MISTRAL_EMULATOR_PROFILE: "observed" });
    expect(fromEnv.stderr()).toContain("profile: observed");
    const overridden = await startCli(["--port", "0", "--profile", "spec"], { MISTRAL_EMULATOR_PROFILE: "observed" });
    expect(overridden.stderr()).not.toContain("profile:");

    const bad = await runCli(["--port", "0", "--profile", "real"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--profile \(or MISTRAL_EMULATOR_PROFILE\) must be one of spec, observed/);
    expect((await runCli(["--help"])).stdout).toMatch(/--profile NAME\s+spec \| observed/);
  });
});
