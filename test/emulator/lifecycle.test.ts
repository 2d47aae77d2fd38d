/**
 * Batch job lifecycle on a manual clock: status transitions, counters, result files, cancel, timeout, failure,
 * and what may be deleted when. One emulator per test, so time moved by one test never touches another's jobs.
 *
 * Timings of the main emulator: a job stays QUEUED 1000 ms, then answers 10 requests per second; a cancel
 * takes 500 ms to land.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SDKError } from "@mistralai/mistralai/models/errors";
import { startEmulator, type Emulator, type EmulatorOptions } from "mistral-batch-emulator";
import { checkedClient, type CheckedClient } from "../support/client";
import { readJson, type ErrorBody, type JobBody } from "../support/wire";

type Json = Record<string, unknown>;
/** One line of a job's output or error file. */
interface ResultLine {
  id: string;
  custom_id: string | null;
  response: { status_code: number; body: Json } | null;
  error: { message: string; code?: unknown } | null;
}

const SPEED = { queueDelayMs: 1000, requestsPerSecond: 10, cancelDelayMs: 500 };
const CHAT = "/v1/chat/completions" as const;
const MODEL = "mistral-small-latest";

function chatRequests(n: number, prefix = "r") {
  return Array.from({ length: n }, (_, i) => ({
    customId: `${prefix}${i}`,
    body: { messages: [{ role: "user", content: `What is ${i} + 1?` }] },
  }));
}

function jsonl(lines: object[]): Buffer {
  return Buffer.from(`${lines.map((l) => JSON.stringify(l)).join("\n")}\n`);
}

const started: Emulator[] = [];
const clients: CheckedClient[] = [];
let emulator: Emulator;
let c: CheckedClient;

async function start(options: EmulatorOptions): Promise<{ emulator: Emulator; c: CheckedClient }> {
  const e = await startEmulator(options);
  const client = checkedClient(e.url);
  started.push(e);
  clients.push(client);
  return { emulator: e, c: client };
}

beforeEach(async () => {
  ({ emulator, c } = await start({ clock: "manual", speed: SPEED }));
});
afterEach(async () => {
  for (const client of clients.splice(0)) expect(client.violations).toEqual([]);
  await Promise.all(started.splice(0).map((e) => e.close()));
});

const seconds = (ms: number) => Math.floor(ms / 1000);

function createInline(n: number, extra: Json = {}, client = c) {
  return client.client.batch.jobs.create({ endpoint: CHAT, model: MODEL, requests: chatRequests(n), ...extra });
}

function get(id: string, client = c) {
  return client.client.batch.jobs.get({ jobId: id });
}

async function resultLines(fileId: string, client = c): Promise<ResultLine[]> {
  const text = await new Response(await client.client.files.download({ fileId })).text();
  return text
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l): ResultLine => JSON.parse(l));
}

async function advanceViaAdmin(ms: number, url = emulator.url): Promise<Response> {
  return fetch(`${url}/__emulator/clock/advance`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ ms }),
  });
}

async function rawJob(id: string, query = ""): Promise<JobBody> {
  const res = await fetch(`${emulator.url}/v1/batch/jobs/${id}${query}`);
  expect(res.status).toBe(200);
  return readJson<JobBody>(res);
}

async function refusal(call: Promise<unknown>): Promise<{ status: number; body: Json }> {
  const error = await call.then(
    (v) => {
      throw new Error(`expected a refusal, got ${JSON.stringify(v)}`);
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SDKError);
  return { status: (error as SDKError).statusCode, body: JSON.parse((error as SDKError).body) };
}

describe("a job that succeeds", () => {
  it("goes QUEUED -> RUNNING -> SUCCESS with counters following the clock", async () => {
    const t0 = emulator.clock.now();
    const created = await createInline(20);
    expect(created).toMatchObject({ status: "QUEUED", totalRequests: 0, completedRequests: 0, createdAt: seconds(t0) });
    expect(created.startedAt ?? null).toBeNull();

    await emulator.advance(999);
    expect(await get(created.id)).toMatchObject({ status: "QUEUED", totalRequests: 0 });

    await emulator.advance(1); // the queue delay has passed
    let job = await get(created.id);
    expect(job).toMatchObject({
      status: "RUNNING",
      totalRequests: 20,
      completedRequests: 0,
      startedAt: seconds(t0 + 1000),
    });
    expect(job.completedAt ?? null).toBeNull();

    const res = await advanceViaAdmin(1000);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ now: t0 + 2000 });
    job = await get(created.id);
    expect(job).toMatchObject({
      status: "RUNNING",
      totalRequests: 20,
      completedRequests: 10,
      succeededRequests: 10,
      failedRequests: 0,
    });
    expect(job.outputFile ?? null).toBeNull(); // results are published when the job ends

    await emulator.advance(500);
    expect(await get(created.id)).toMatchObject({ status: "RUNNING", completedRequests: 15 });

    await emulator.advance(500);
    job = await get(created.id);
    expect(job).toMatchObject({
      status: "SUCCESS",
      totalRequests: 20,
      completedRequests: 20,
      succeededRequests: 20,
      failedRequests: 0,
      startedAt: seconds(t0 + 1000),
      completedAt: seconds(t0 + 3000),
      errors: [],
    });
    expect(job.errorFile ?? null).toBeNull();
    const lines = await resultLines(job.outputFile!);
    expect(lines).toHaveLength(20);
    const ids = lines.map((l) => l.custom_id);
    expect(new Set(ids).size).toBe(20);
    expect([...ids].sort()).toEqual(
      chatRequests(20)
        .map((r) => r.customId)
        .sort(),
    );
    expect(lines.every((l) => l.response!.status_code === 200 && l.error === null)).toBe(true);
    const file = await c.client.files.retrieve({ fileId: job.outputFile! });
    expect(file).toMatchObject({ numLines: 20, sampleType: "batch_result", source: "mistral" });

    await emulator.advance(60_000); // a final job does not move
    expect(await get(created.id)).toMatchObject({
      status: "SUCCESS",
      completedRequests: 20,
      completedAt: seconds(t0 + 3000),
      outputFile: job.outputFile,
    });
  });

  it("returns outputs inline only once the job is final", async () => {
    const created = await createInline(4);
    expect((await rawJob(created.id, "?inline=true")).outputs).toBeNull();
    await emulator.advance(1200); // RUNNING, 2 of 4 answered
    const running = await rawJob(created.id, "?inline=true");
    expect(running).toMatchObject({ status: "RUNNING", completed_requests: 2, outputs: null });
    expect("outputs" in (await rawJob(created.id))).toBe(false); // without inline, no outputs field at all

    await emulator.advance(200);
    const done = await c.client.batch.jobs.get({ jobId: created.id, inline: true });
    expect(done.status).toBe("SUCCESS");
    expect(done.outputs).toHaveLength(4);
    expect(done.outputs!.map((o) => o.custom_id).sort()).toEqual(["r0", "r1", "r2", "r3"]);
    expect(done.outputs).toEqual(await resultLines(done.outputFile!));
  });

  it("runs at once with speed instant: created QUEUED, SUCCESS on the first read", async () => {
    const { c: ic } = await start({ speed: "instant" });
    const created = await createInline(5, {}, ic);
    expect(created).toMatchObject({ status: "QUEUED", totalRequests: 0 });
    const job = await get(created.id, ic);
    expect(job).toMatchObject({ status: "SUCCESS", totalRequests: 5, completedRequests: 5, succeededRequests: 5 });
    expect((await resultLines(job.outputFile!, ic)).length).toBe(5);
  });

  it("progresses jobs in the background on the wall clock", async () => {
    const { emulator: wall, c: wc } = await start({
      speed: { queueDelayMs: 20, requestsPerSecond: 200, cancelDelayMs: 10 },
    });
    const created = await createInline(10, {}, wc);
    expect(created.status).toBe("QUEUED");
    // Watch the store directly: unlike a GET, that does not advance the job itself.
    for (let i = 0; i < 250 && wall.store.jobs.get(created.id)!.status !== "SUCCESS"; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(wall.store.jobs.get(created.id)!.status).toBe("SUCCESS");
    expect(await get(created.id, wc)).toMatchObject({
      status: "SUCCESS",
      completedRequests: 10,
      succeededRequests: 10,
    });
    // and the clock admin route refuses to move a wall clock
    const res = await advanceViaAdmin(1000, wall.url);
    expect(res.status).toBe(409);
    expect((await readJson<ErrorBody>(res)).message).toMatch(/wall clock/);
  });

  it("refuses a clock advance that is not a number >= 0", async () => {
    for (const ms of [-1, "10", null]) {
      const res = await fetch(`${emulator.url}/__emulator/clock/advance`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ ms }),
      });
      expect(res.status).toBe(400);
      const body = await readJson<ErrorBody>(res);
      expect(body).toMatchObject({ object: "error", type: "invalid_request_error" });
      expect(body.message).toContain(`received ${JSON.stringify(ms)}`);
    }
  });
});

describe("a job that fails", () => {
  it("ends FAILED when every request fails, with the errors in the error file", async () => {
    const t0 = emulator.clock.now();
    const requests = Array.from({ length: 4 }, (_, i) => ({ customId: `bad${i}`, body: { messages: [] } }));
    const created = await c.client.batch.jobs.create({ endpoint: CHAT, model: MODEL, requests });
    await emulator.advance(1200);
    expect(await get(created.id)).toMatchObject({
      status: "RUNNING",
      completedRequests: 2,
      failedRequests: 2,
      succeededRequests: 0,
    });
    await emulator.advance(200);
    const job = await get(created.id);
    expect(job).toMatchObject({
      status: "FAILED",
      totalRequests: 4,
      completedRequests: 4,
      failedRequests: 4,
      succeededRequests: 0,
      completedAt: seconds(t0 + 1400),
    });
    expect(job.outputFile ?? null).toBeNull();
    expect(job.errors).toHaveLength(1);
    expect(job.errors[0].count).toBe(4);
    expect(job.errors[0].message).toMatch(/messages/);
    const lines = await resultLines(job.errorFile!);
    expect(lines.map((l) => l.custom_id).sort()).toEqual(["bad0", "bad1", "bad2", "bad3"]);
    for (const l of lines) {
      expect(l.response!.status_code).not.toBe(200);
      expect(l.error!.message).toBe(job.errors[0].message);
    }
  });

  it("ends FAILED with the admin fail route, the errors carrying its message", async () => {
    const t0 = emulator.clock.now();
    const created = await createInline(3);
    const res = await fetch(`${emulator.url}/__emulator/jobs/${created.id}/fail`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ message: "Injected: the GPU caught fire" }),
    });
    expect(res.status).toBe(200);
    expect((await readJson<JobBody>(res)).status).toBe("QUEUED");

    await emulator.advance(1000);
    const job = await get(created.id);
    expect(job).toMatchObject({
      status: "FAILED",
      completedRequests: 0,
      succeededRequests: 0,
      completedAt: seconds(t0 + 1000),
      errors: [{ message: "Injected: the GPU caught fire", count: 1 }],
    });
    expect(job.outputFile ?? null).toBeNull();
    expect(job.errorFile ?? null).toBeNull();

    // only a QUEUED job can be made to fail
    const again = await fetch(`${emulator.url}/__emulator/jobs/${created.id}/fail`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    expect(again.status).toBe(409);
    expect((await readJson<ErrorBody>(again)).message).toContain("FAILED");
  });

  it("ends TIMEOUT_EXCEEDED at its deadline, publishing what it answered", async () => {
    // One request per second, 4,000 requests, one hour: 3,599 answered before the deadline.
    const { emulator: slow, c: sc } = await start({
      clock: "manual",
      speed: { queueDelayMs: 1000, requestsPerSecond: 1, cancelDelayMs: 500 },
    });
    const t0 = slow.clock.now();
    const requests = Array.from({ length: 4000 }, (_, i) => ({ customId: `t${i}`, body: { input: "x" } }));
    const created = await sc.client.batch.jobs.create({
      endpoint: "/v1/embeddings",
      model: "mistral-embed",
      requests,
      timeoutHours: 1,
    });

    await slow.advance(31 * 60_000);
    expect(await get(created.id, sc)).toMatchObject({
      status: "RUNNING",
      totalRequests: 4000,
      completedRequests: 31 * 60 - 1,
    });

    await slow.advance(89 * 60_000); // two hours after creation
    const job = await get(created.id, sc);
    expect(job).toMatchObject({
      status: "TIMEOUT_EXCEEDED",
      totalRequests: 4000,
      completedRequests: 3599,
      succeededRequests: 3599,
      failedRequests: 0,
      completedAt: seconds(t0 + 3_600_000),
    });
    expect(job.errors.map((e) => e.message).join("\n")).toMatch(/timed out after 1 hour\b/);
    const lines = await resultLines(job.outputFile!, sc);
    expect(lines).toHaveLength(3599);
    expect(new Set(lines.map((l) => l.custom_id)).size).toBe(3599);

    await slow.advance(3_600_000); // final: nothing more is answered
    expect(await get(created.id, sc)).toMatchObject({
      status: "TIMEOUT_EXCEEDED",
      completedRequests: 3599,
      outputFile: job.outputFile,
    });
  });
});

describe("cancel", () => {
  it("cancels a QUEUED job through CANCELLATION_REQUESTED to CANCELLED", async () => {
    const t0 = emulator.clock.now();
    const created = await createInline(20);
    await emulator.advance(200);
    const requested = await c.client.batch.jobs.cancel({ jobId: created.id });
    expect(requested).toMatchObject({ status: "CANCELLATION_REQUESTED", totalRequests: 0, completedRequests: 0 });

    await emulator.advance(499);
    expect(await get(created.id)).toMatchObject({ status: "CANCELLATION_REQUESTED" });
    await emulator.advance(1);
    const job = await get(created.id);
    expect(job).toMatchObject({
      status: "CANCELLED",
      totalRequests: 0,
      completedRequests: 0,
      completedAt: seconds(t0 + 700),
    });
    expect(job.startedAt ?? null).toBeNull();
    expect(job.outputFile ?? null).toBeNull();

    await emulator.advance(10_000); // past the queue delay: it never starts
    expect(await get(created.id)).toMatchObject({ status: "CANCELLED", totalRequests: 0, completedRequests: 0 });
  });

  it("cancels a RUNNING job: counters stop at the request, partial results are published", async () => {
    const t0 = emulator.clock.now();
    const created = await createInline(20);
    await emulator.advance(1500); // RUNNING for 500 ms: 5 answered
    expect(await get(created.id)).toMatchObject({ status: "RUNNING", completedRequests: 5 });

    const requested = await c.client.batch.jobs.cancel({ jobId: created.id });
    expect(requested).toMatchObject({ status: "CANCELLATION_REQUESTED", completedRequests: 5 });
    await emulator.advance(400);
    const pending = await rawJob(created.id, "?inline=true");
    expect(pending).toMatchObject({
      status: "CANCELLATION_REQUESTED",
      completed_requests: 5,
      output_file: null,
      outputs: null,
    });

    await emulator.advance(100);
    const job = await get(created.id);
    expect(job).toMatchObject({
      status: "CANCELLED",
      totalRequests: 20,
      completedRequests: 5,
      succeededRequests: 5,
      startedAt: seconds(t0 + 1000),
      completedAt: seconds(t0 + 2000),
    });
    const lines = await resultLines(job.outputFile!);
    expect(lines).toHaveLength(5);
    expect(new Set(lines.map((l) => l.custom_id)).size).toBe(5);

    await emulator.advance(10_000);
    expect(await get(created.id)).toMatchObject({
      status: "CANCELLED",
      completedRequests: 5,
      outputFile: job.outputFile,
    });
  });

  it("is a no-op 200 on a final job", async () => {
    const created = await createInline(2);
    await emulator.advance(2000);
    const done = await get(created.id);
    expect(done.status).toBe("SUCCESS");
    const after = await c.client.batch.jobs.cancel({ jobId: created.id });
    expect(after).toEqual(done);
    await emulator.advance(1000);
    expect(await get(created.id)).toEqual(done);

    const other = await createInline(2);
    await c.client.batch.jobs.cancel({ jobId: other.id });
    await emulator.advance(500);
    const cancelled = await get(other.id);
    expect(cancelled.status).toBe("CANCELLED");
    expect(await c.client.batch.jobs.cancel({ jobId: other.id })).toEqual(cancelled);
  });
});

describe("deleting", () => {
  it("refuses to delete a job or its input file until the job is final", async () => {
    const input = await c.client.files.upload({
      file: {
        fileName: "in.jsonl",
        content: jsonl(chatRequests(20).map((r) => ({ custom_id: r.customId, body: r.body }))),
      },
      purpose: "batch",
    });
    const created = await c.client.batch.jobs.create({ endpoint: CHAT, model: MODEL, inputFiles: [input.id] });

    const expectRefused = async (status: string) => {
      const job = await refusal(c.client.batch.jobs.delete({ jobId: created.id }));
      expect(job.status).toBe(409);
      expect(job.body).toMatchObject({ object: "error", type: "invalid_request_error", param: null });
      expect(job.body.message).toContain(created.id);
      expect(job.body.message).toContain(status);
      const file = await refusal(c.client.files.delete({ fileId: input.id }));
      expect(file.status).toBe(409);
      expect(file.body).toMatchObject({ object: "error", type: "invalid_request_error" });
      expect(file.body.message).toContain(input.id);
      expect(file.body.message).toContain(created.id);
    };
    await expectRefused("QUEUED");
    await emulator.advance(1500);
    expect((await get(created.id)).status).toBe("RUNNING");
    await expectRefused("RUNNING");
    await c.client.batch.jobs.cancel({ jobId: created.id });
    await expectRefused("CANCELLATION_REQUESTED");
    // nothing was deleted by the refusals
    expect((await c.client.files.retrieve({ fileId: input.id })).id).toBe(input.id);

    await emulator.advance(500);
    expect((await get(created.id)).status).toBe("CANCELLED");
    expect(await c.client.files.delete({ fileId: input.id })).toEqual({ id: input.id, object: "file", deleted: true });
    expect(await c.client.batch.jobs.delete({ jobId: created.id })).toMatchObject({ id: created.id, deleted: true });
    expect((await refusal(get(created.id))).status).toBe(404);
  });
});
