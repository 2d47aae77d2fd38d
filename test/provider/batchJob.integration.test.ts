/**
 * BatchJob against the emulator: submission with its idempotency key, adoption, waiting (on a fast emulator and on
 * a manual clock driven from the test), init errors that keep the job in state, diff/resubmit, refresh, get, and
 * destroy (cancel and wait). Outcomes are checked in the emulator itself.
 */
import { afterEach, describe, expect, it } from "vitest";
import { IDEMPOTENCY_METADATA_KEY } from "../../provider/jobLogic";
import {
  CHAT,
  MODEL,
  addFaults,
  admin,
  captureReports,
  chatRequests,
  checkAndCreate,
  cleanup,
  configure,
  emulator,
  jobArgs,
  jobProvider,
  sdk,
  stats,
  thrown,
  type Json,
} from "./integration-harness";

afterEach(cleanup);

/** Fast polling for tests: the first poll pollIntervalSeconds into the wait, later ones at least 5 times that apart (provider/poll.ts). */
const FAST_WAIT = { pollIntervalSeconds: 0.02, timeoutMinutes: 0.5 };
/** A manual clock where a job stays QUEUED 1 s, then answers 1 request per second; cancel takes 500 ms. */
const SLOW_MANUAL = {
  clock: "manual" as const,
  speed: { queueDelayMs: 1000, requestsPerSecond: 1, cancelDelayMs: 500 },
};

async function waitUntil<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("BatchJob create", () => {
  it("submits with the idempotency key in its metadata, next to the user's", async () => {
    const e = await emulator(SLOW_MANUAL);
    await configure(e.url);
    const reports = captureReports();
    try {
      const { id, outs } = await checkAndCreate(jobProvider(), jobArgs({ metadata: { team: "eval" } }));
      const remote = await sdk(e.url).batch.jobs.get({ jobId: id });
      expect(remote.metadata).toEqual({ team: "eval", [IDEMPOTENCY_METADATA_KEY]: outs.idempotencyKey });
      expect(outs.idempotencyKey).toMatch(/^[0-9a-f]{32}$/);
      expect(outs).toMatchObject({
        jobId: id,
        status: "QUEUED",
        adopted: false,
        model: MODEL,
        endpoint: CHAT,
        timeoutHours: 24,
        metadata: { team: "eval" },
      });
      expect(remote).toMatchObject({ model: MODEL, endpoint: CHAT, status: "QUEUED" });
      expect(reports.lines.some((l) => l.includes(id) && l.includes("submitted"))).toBe(true);
    } finally {
      reports.restore();
    }
  });

  it("a second create with the same inputs adopts the job: exactly one in the emulator", async () => {
    const e = await emulator({ clock: "manual" });
    await configure(e.url);
    const first = await checkAndCreate(jobProvider(), jobArgs());
    const second = await checkAndCreate(jobProvider(), jobArgs());
    expect(second.id).toBe(first.id);
    expect(second.outs).toMatchObject({ adopted: true, idempotencyKey: first.outs.idempotencyKey });
    expect((await stats(e.url)).jobs).toBe(1);
  });

  it("another scope (another resource or stack) submits its own job", async () => {
    const e = await emulator({ clock: "manual" });
    await configure(e.url);
    const a = await checkAndCreate(jobProvider(), jobArgs());
    const b = await checkAndCreate(jobProvider(), jobArgs({ scope: "proj/prod/answers" }));
    expect(b.id).not.toBe(a.id);
    expect(b.outs.idempotencyKey).not.toBe(a.outs.idempotencyKey);
    expect(b.outs.adopted).toBe(false);
    expect((await stats(e.url)).jobs).toBe(2);
  });

  it("from a BatchFile's id (inputFiles)", async () => {
    const e = await emulator();
    await configure(e.url);
    const file = await sdk(e.url).files.upload({
      file: {
        fileName: "in.jsonl",
        content: Buffer.from(
          `${JSON.stringify({ custom_id: "a", body: { messages: [{ role: "user", content: "2+2?" }] } })}\n`,
        ),
      },
      purpose: "batch",
    });
    const { id, outs } = await checkAndCreate(jobProvider(), {
      model: MODEL,
      inputFiles: [file.id],
      scope: "p/s/from-file",
      waitForCompletion: FAST_WAIT,
    });
    expect(outs).toMatchObject({ status: "SUCCESS", totalRequests: 1, inputFiles: [file.id] });
    expect((await sdk(e.url).batch.jobs.get({ jobId: id })).inputFiles).toEqual([file.id]);
  });
});

describe("BatchJob waitForCompletion", () => {
  it("waits until SUCCESS and returns counts and the output file (fast emulator)", async () => {
    const e = await emulator({ speed: "fast" });
    await configure(e.url);
    const reports = captureReports();
    try {
      const { id, outs } = await checkAndCreate(
        jobProvider(),
        jobArgs({ requests: chatRequests(5), waitForCompletion: FAST_WAIT }),
      );
      expect(outs).toMatchObject({
        status: "SUCCESS",
        totalRequests: 5,
        completedRequests: 5,
        succeededRequests: 5,
        failedRequests: 0,
        errorFileId: null,
      });
      expect(outs.outputFileId).toMatch(/^[0-9a-f-]{36}$/);
      expect(outs.completedAt).toBeGreaterThan(0);
      const output = await new Response(await sdk(e.url).files.download({ fileId: outs.outputFileId })).text();
      expect(output.trim().split("\n")).toHaveLength(5);
      expect((await sdk(e.url).batch.jobs.get({ jobId: id })).status).toBe("SUCCESS");
      expect(reports.lines.some((l) => l.includes("SUCCESS 5/5"))).toBe(true);
    } finally {
      reports.restore();
    }
  });

  it("a wait that times out keeps the job in state (id, properties with __provider, reasons); update resumes and finishes", async () => {
    const e = await emulator(SLOW_MANUAL);
    await configure(e.url);
    const args = jobArgs({
      requests: chatRequests(2),
      waitForCompletion: { pollIntervalSeconds: 0.02, timeoutMinutes: 0.005 },
    });
    const checked = (await jobProvider().check({}, args)).inputs;
    const news = { ...checked, __provider: args.__provider };
    const error = await thrown(() => jobProvider().create(news));
    expect(error.message).toMatch(/BatchJob "answers" \(.+\) is still QUEUED/);
    expect(error.message).toMatch(/next `pulumi up` resumes waiting/);
    expect(error.message).toMatch(/timeoutMinutes/);
    expect(error.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(error.reasons).toEqual([error.message]); // the engine shows reasons, not the message
    expect(error.properties).toMatchObject({
      jobId: error.id,
      status: "QUEUED",
      __provider: "SERIALIZED-PROVIDER",
      idempotencyKey: expect.any(String),
    });

    // The next `up`: update from the init error's properties, while the emulator's clock moves on.
    const resumed = { ...news, waitForCompletion: { pollIntervalSeconds: 0.02, timeoutMinutes: 0.5 } };
    const update = jobProvider().update(error.id, error.properties, resumed);
    await e.advance(1000 + 2000 + 10);
    const { outs } = await update;
    expect(outs).toMatchObject({
      jobId: error.id,
      status: "SUCCESS",
      completedRequests: 2,
      idempotencyKey: error.properties.idempotencyKey,
    });
    expect((await stats(e.url)).jobs).toBe(1);
  });

  it("a job that ends FAILED throws an init error naming the status; the next update (same status) does not throw again", async () => {
    const e = await emulator(SLOW_MANUAL);
    await configure(e.url);
    const args = jobArgs({ waitForCompletion: FAST_WAIT });
    const checked = (await jobProvider().check({}, args)).inputs;
    const news = { ...checked, __provider: args.__provider };
    const creating = thrown(() => jobProvider().create(news));
    const job = await waitUntil("the job", async () => (await sdk(e.url).batch.jobs.list({})).data?.[0]);
    await admin(e.url, "POST", `/__emulator/jobs/${job.id}/fail`, { message: "model overloaded" });
    await e.advance(1500);
    const error = await creating;
    expect(error.message).toMatch(new RegExp(`BatchJob "answers" \\(${job.id}\\) ended FAILED: model overloaded`));
    expect(error.message).toMatch(/resubmitOn: \["FAILED"\]/);
    expect(error).toMatchObject({ id: job.id, reasons: [error.message] });
    expect(error.properties).toMatchObject({
      status: "FAILED",
      __provider: "SERIALIZED-PROVIDER",
      errors: [{ message: "model overloaded", count: 1 }],
    });

    const { outs } = await jobProvider().update(job.id, error.properties, news);
    expect(outs).toMatchObject({ jobId: job.id, status: "FAILED" });
    expect((await stats(e.url)).jobs).toBe(1);

    // resubmitOn FAILED: the diff replaces, and the replacement submits a new job rather than adopting the failed one.
    const resubmit = { ...news, resubmitOn: ["FAILED"] };
    const diff = await jobProvider().diff(job.id, outs, resubmit);
    expect(diff.changes).toBe(true);
    expect(diff.replaces).toEqual(["status"]);
    const creatingAgain = jobProvider().create(resubmit);
    await waitUntil("a second job", async () => ((await stats(e.url)).jobs === 2 ? true : undefined));
    await e.advance(1000 + 3000 + 10);
    const replacement = await creatingAgain;
    expect(replacement.id).not.toBe(job.id);
    expect(replacement.outs).toMatchObject({ status: "SUCCESS", adopted: false });
    expect((await stats(e.url)).jobsByStatus).toEqual({ FAILED: 1, SUCCESS: 1 });
  });

  it("a failure while waiting after the submission keeps the job in state; the next update resumes", async () => {
    const e = await emulator(SLOW_MANUAL);
    await configure(e.url);
    const args = jobArgs({ waitForCompletion: FAST_WAIT });
    const news = { ...(await jobProvider().check({}, args)).inputs, __provider: args.__provider };
    // A 400 is not retried: the wait's first poll fails for good.
    await addFaults(e.url, "400@GET /v1/batch/jobs/.*");
    const error = await thrown(() => jobProvider().create(news));
    expect(error.message).toMatch(
      /BatchJob "answers" \(.+\) was submitted, but waiting for it failed: .*batch\.jobs\.get failed with HTTP 400/,
    );
    expect(error.message).toMatch(/stays in state/);
    expect(error).toMatchObject({ id: expect.any(String), reasons: [error.message] });
    expect(error.properties).toMatchObject({
      jobId: error.id,
      status: "QUEUED",
      __provider: "SERIALIZED-PROVIDER",
      idempotencyKey: expect.any(String),
    });
    const update = jobProvider().update(error.id, error.properties, news);
    await e.advance(1000 + 3000 + 10);
    expect((await update).outs).toMatchObject({ jobId: error.id, status: "SUCCESS" });
    expect((await stats(e.url)).jobs).toBe(1);
  });

  it("update of a job that no longer exists says to refresh", async () => {
    const e = await emulator();
    await configure(e.url);
    const { id, outs, inputs } = await checkAndCreate(jobProvider(), jobArgs({ waitForCompletion: FAST_WAIT }));
    await sdk(e.url).batch.jobs.delete({ jobId: id });
    const error = await thrown(() => jobProvider().update(id, outs, { ...inputs, deleteResultFilesOnDestroy: true }));
    expect(error.message).toBe(
      `BatchJob "answers" (${id}): the job no longer exists in Mistral; run \`pulumi refresh\` to drop it from state, then \`pulumi up\` to submit it again`,
    );
  });

  it("diff: policies update in place, what is submitted replaces", async () => {
    const e = await emulator({ clock: "manual" });
    await configure(e.url);
    const { id, outs, inputs } = await checkAndCreate(jobProvider(), jobArgs());
    expect(await jobProvider().diff(id, outs, inputs)).toMatchObject({ changes: false, replaces: [] });
    expect(await jobProvider().diff(id, outs, { ...inputs, waitForCompletion: true })).toMatchObject({
      changes: true,
      replaces: [],
    });
    expect(await jobProvider().diff(id, outs, { ...inputs, model: "mistral-large-latest" })).toMatchObject({
      changes: true,
      replaces: ["model"],
    });
    expect(
      await jobProvider().diff(id, { ...outs, status: "SUCCESS" }, { ...inputs, resubmitOn: ["FAILED"] }),
    ).toMatchObject({ replaces: [] });
  });
});

describe("BatchJob read", () => {
  it("refresh updates status and counters, and returns {} once the job is deleted", async () => {
    const e = await emulator(SLOW_MANUAL);
    await configure(e.url);
    const { id, outs } = await checkAndCreate(jobProvider(), jobArgs({ requests: chatRequests(4) }));
    expect(outs.status).toBe("QUEUED");
    await e.advance(1000 + 2000);
    const running = await jobProvider().read(id, outs);
    expect(running.props).toMatchObject({
      jobId: id,
      status: "RUNNING",
      totalRequests: 4,
      completedRequests: 2,
      idempotencyKey: outs.idempotencyKey,
      model: MODEL,
    });
    expect(running.props!.startedAt).toBeGreaterThan(0);
    await e.advance(2000);
    const done = await jobProvider().read(id, running.props as Json);
    expect(done.props).toMatchObject({
      status: "SUCCESS",
      completedRequests: 4,
      succeededRequests: 4,
      outputFileId: expect.any(String),
    });
    await sdk(e.url).batch.jobs.delete({ jobId: id });
    expect(await jobProvider().read(id, done.props as Json)).toEqual({});
  });

  it("read with only __provider (BatchJob.get) returns outputs and inputs from the remote job, without the idempotency key", async () => {
    const e = await emulator();
    await configure(e.url);
    const remote = await sdk(e.url).batch.jobs.create({
      requests: [{ customId: "1", body: { messages: [{ role: "user", content: "hi" }] } }],
      model: "mistral-large-latest",
      endpoint: CHAT,
      metadata: { team: "eval", [IDEMPOTENCY_METADATA_KEY]: "k".repeat(32) },
    });
    const read = await jobProvider().read(remote.id, { __provider: "SERIALIZED" });
    expect(read.id).toBe(remote.id);
    expect(read.props).toMatchObject({
      jobId: remote.id,
      status: "SUCCESS",
      model: "mistral-large-latest",
      endpoint: CHAT,
      metadata: { team: "eval" },
      idempotencyKey: "k".repeat(32),
      totalRequests: 1,
      adopted: true,
    });
    expect(read.inputs).toMatchObject({ model: "mistral-large-latest", endpoint: CHAT, metadata: { team: "eval" } });
    expect(JSON.stringify(read.inputs)).not.toContain(IDEMPOTENCY_METADATA_KEY);
    expect((read.props as Json).metadata[IDEMPOTENCY_METADATA_KEY]).toBeUndefined();
  });
});

describe("BatchJob delete", () => {
  it("cancels a RUNNING job and returns once it is CANCELLED", async () => {
    const e = await emulator(SLOW_MANUAL);
    await configure(e.url);
    const { id, outs } = await checkAndCreate(jobProvider(), jobArgs({ requests: chatRequests(10) }));
    await e.advance(1500);
    expect((await sdk(e.url).batch.jobs.get({ jobId: id })).status).toBe("RUNNING");
    let done = false;
    const deleting = jobProvider()
      .delete(id, outs)
      .then(() => (done = true));
    await waitUntil("the cancellation", async () =>
      (await sdk(e.url).batch.jobs.get({ jobId: id })).status === "CANCELLATION_REQUESTED" ? true : undefined,
    );
    await new Promise((r) => setTimeout(r, 50));
    expect(done).toBe(false);
    await e.advance(600);
    await deleting;
    expect((await sdk(e.url).batch.jobs.get({ jobId: id })).status).toBe("CANCELLED");
    expect((await stats(e.url)).jobsByStatus).toEqual({ CANCELLED: 1 });
  });

  it("is fine for a finished job (left as it is) and for a job that no longer exists", async () => {
    const e = await emulator();
    await configure(e.url);
    const { id, outs } = await checkAndCreate(jobProvider(), jobArgs({ waitForCompletion: FAST_WAIT }));
    expect(outs.status).toBe("SUCCESS");
    await jobProvider().delete(id, outs);
    expect((await sdk(e.url).batch.jobs.get({ jobId: id })).status).toBe("SUCCESS");
    expect(await sdk(e.url).files.retrieve({ fileId: outs.outputFileId })).toMatchObject({ id: outs.outputFileId });
    await sdk(e.url).batch.jobs.delete({ jobId: id });
    await jobProvider().delete(id, outs);
    await jobProvider().delete("00000000-0000-4000-8000-000000000000", {
      ...outs,
      jobId: "00000000-0000-4000-8000-000000000000",
    });
  });

  it("destroy then up: a finished job whose results still exist is adopted; once they were deleted, the job runs again", async () => {
    const e = await emulator();
    await configure(e.url);
    const keepResults = await checkAndCreate(jobProvider(), jobArgs({ waitForCompletion: FAST_WAIT }));
    await jobProvider().delete(keepResults.id, keepResults.outs);
    const again = await checkAndCreate(jobProvider(), jobArgs({ waitForCompletion: FAST_WAIT }));
    expect(again.outs).toMatchObject({
      jobId: keepResults.id,
      adopted: true,
      outputFileId: keepResults.outs.outputFileId,
    });

    const args = jobArgs({ scope: "p/s/cleaned", waitForCompletion: FAST_WAIT, deleteResultFilesOnDestroy: true });
    const first = await checkAndCreate(jobProvider(), args);
    await jobProvider().delete(first.id, first.outs);
    await expect(sdk(e.url).files.retrieve({ fileId: first.outs.outputFileId })).rejects.toMatchObject({
      statusCode: 404,
    });
    const second = await checkAndCreate(jobProvider(), args);
    expect(second.id).not.toBe(first.id);
    expect(second.outs).toMatchObject({ adopted: false, status: "SUCCESS" });
    expect((await sdk(e.url).files.retrieve({ fileId: second.outs.outputFileId })).id).toBe(second.outs.outputFileId);
    expect((await stats(e.url)).jobs).toBe(3);
  });

  it("with deleteResultFilesOnDestroy deletes the output and error files", async () => {
    const e = await emulator();
    await configure(e.url);
    const requests = [
      ...chatRequests(2),
      { customId: "bad", body: { messages: [{ role: "assistant", content: "no question" }] } },
    ];
    const { id, outs } = await checkAndCreate(
      jobProvider(),
      jobArgs({ requests, waitForCompletion: FAST_WAIT, deleteResultFilesOnDestroy: true }),
    );
    expect(outs).toMatchObject({ status: "SUCCESS", succeededRequests: 2, failedRequests: 1 });
    expect(outs.outputFileId).toBeTruthy();
    expect(outs.errorFileId).toBeTruthy();
    expect((await stats(e.url)).files).toBe(2);
    await jobProvider().delete(id, outs);
    expect((await stats(e.url)).files).toBe(0);
    await expect(sdk(e.url).files.retrieve({ fileId: outs.outputFileId })).rejects.toMatchObject({ statusCode: 404 });
    await expect(sdk(e.url).files.retrieve({ fileId: outs.errorFileId })).rejects.toMatchObject({ statusCode: 404 });
  });
});
