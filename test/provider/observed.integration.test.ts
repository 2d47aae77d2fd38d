/**
 * The provider against the real service as observed (issue 10), over real HTTP with the SDK, on the emulator's
 * "observed" profile: the job list ignores metadata filters and caps page_size at 50, the file search matches whole
 * names only, 401 bodies come in two shapes, 429s carry x-ratelimit-* headers and no Retry-After, the workspace has
 * a pending-request limit, and a plain GET of a finished inline job carries `outputs`. Each test asserts what the
 * emulator holds afterwards: never a duplicate job.
 */
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { IDEMPOTENCY_METADATA_KEY } from "../../provider/jobLogic";
import {
  MODEL,
  TEST_KEY,
  addFaults,
  admin,
  captureReports,
  chatRequests,
  checkAndCreate,
  cleanup,
  configure,
  emulator,
  fileProvider,
  jobArgs,
  jobProvider,
  jsonlOf,
  sdk,
  stats,
  tempDir,
  thrown,
} from "./integration-harness";

afterEach(cleanup);
afterEach(() => {
  delete process.env.MISTRAL_JOB_LOOKUP_MAX_JOBS;
});

/** `n` jobs of someone else (other metadata), created straight through the SDK. */
async function noiseJobs(url: string, n: number, fileId?: string): Promise<void> {
  const client = sdk(url);
  for (let i = 0; i < n; i++) {
    await client.batch.jobs.create({
      ...(fileId
        ? { inputFiles: [fileId] }
        : { requests: [{ customId: "x", body: { messages: [{ role: "user", content: `noise ${i}` }] } }] }),
      model: MODEL,
      endpoint: "/v1/chat/completions",
      metadata: { [IDEMPOTENCY_METADATA_KEY]: `someone-else-${i}`, owner: "other" },
    });
  }
}

describe("idempotent job lookup when the list ignores metadata and caps page_size", () => {
  it("the profile does what these tests assume: metadata ignored, at most 50 jobs a page", async () => {
    const e = await emulator({ profile: "observed" });
    await noiseJobs(e.url, 60);
    const page = await sdk(e.url).batch.jobs.list({ pageSize: 100, metadata: { owner: "nobody" } });
    expect(page.data).toHaveLength(50);
  });

  it("an inline job submitted before 120 others is found on page 3 and adopted, not submitted again", async () => {
    const e = await emulator({ profile: "observed", clock: "manual" });
    await configure(e.url);
    const first = await checkAndCreate(jobProvider(), jobArgs());
    expect(first.outs.adopted).toBe(false);
    await noiseJobs(e.url, 120);
    // The same resource submitting again (an interrupted `up` whose state never recorded the job).
    const again = await checkAndCreate(jobProvider(), jobArgs());
    expect(again.id).toBe(first.id);
    expect(again.outs.adopted).toBe(true);
    expect((await stats(e.url)).jobs).toBe(121);
  });

  it("a job on input files: found past capped pages too (created_after from the files' age bounds the scan)", async () => {
    const e = await emulator({ profile: "observed", clock: "manual" });
    await configure(e.url);
    const dir = tempDir();
    const source = path.join(dir, "q.jsonl");
    fs.writeFileSync(source, jsonlOf(chatRequests(2)));
    const file = await checkAndCreate(fileProvider(), { source });
    const args = jobArgs({ requests: undefined, inputFiles: [file.id] });
    const first = await checkAndCreate(jobProvider(), args);
    await noiseJobs(e.url, 110, file.id);
    const again = await checkAndCreate(jobProvider(), args);
    expect(again).toMatchObject({ id: first.id, outs: { adopted: true } });
    expect((await stats(e.url)).jobs).toBe(111);
  });

  it("past the lookup bound without an answer: fails saying what to do, and submits nothing", async () => {
    const e = await emulator({ profile: "observed", clock: "manual" });
    process.env.MISTRAL_JOB_LOOKUP_MAX_JOBS = "60";
    await configure(e.url);
    await noiseJobs(e.url, 120);
    const error = await thrown(() => checkAndCreate(jobProvider(), jobArgs()));
    expect(error.name).toBe("JobLookupIncompleteError");
    expect(error.message).toMatch(/could not tell whether this job was submitted already: looked through \d+ jobs/);
    expect(error.message).toContain("Nothing was submitted, to avoid a duplicate");
    expect(error.message).toContain("pulumi config set mistral:jobLookupMaxJobs");
    expect((await stats(e.url)).jobs).toBe(120);
  });

  it("spec profile, more than 100 jobs: still exactly one job of ours", async () => {
    const e = await emulator({ clock: "manual" });
    await configure(e.url);
    const first = await checkAndCreate(jobProvider(), jobArgs());
    await noiseJobs(e.url, 105);
    const again = await checkAndCreate(jobProvider(), jobArgs());
    expect(again).toMatchObject({ id: first.id, outs: { adopted: true } });
    expect((await stats(e.url)).jobs).toBe(106);
  });
});

describe("adopting an earlier upload when search matches whole names only", () => {
  it("the same content uploaded again is found by its full name and adopted", async () => {
    const e = await emulator({ profile: "observed" });
    await configure(e.url);
    const dir = tempDir();
    const source = path.join(dir, "questions.jsonl");
    fs.writeFileSync(source, jsonlOf(chatRequests(3)));
    const first = await checkAndCreate(fileProvider(), { source });
    const second = await checkAndCreate(fileProvider(), { source });
    expect(second.id).toBe(first.id);
    expect(second.outs.adopted).toBe(true);
    expect((await stats(e.url)).files).toBe(1);
  });
});

describe("the workspace's pending-request limit", () => {
  it("a job that would exceed it fails at once with the numbers and what to do; nothing is submitted", async () => {
    const e = await emulator({ profile: "observed", clock: "manual", speed: "demo", maxPendingRequests: 4 });
    await configure(e.url);
    await checkAndCreate(jobProvider(), jobArgs({ scope: "proj/dev/first" })); // 3 pending
    const start = Date.now();
    const error = await thrown(() => checkAndCreate(jobProvider(), jobArgs({ scope: "proj/dev/second" })));
    expect(Date.now() - start).toBeLessThan(3_000); // not retried: waiting takes hours, not seconds
    expect(error.statusCode).toBe(429);
    expect(error.message).toContain("3 requests pending, 3 in this job, limit 4");
    expect(error.message).toMatch(/Wait for running jobs to finish, cancel some .*split the input into smaller jobs/);
    expect((await stats(e.url)).jobs).toBe(1);
  });

  it("a job that waits for completion waits for room instead, and is submitted once earlier jobs finish", async () => {
    const e = await emulator({ profile: "observed", clock: "manual", speed: "demo", maxPendingRequests: 4 });
    await configure(e.url);
    await checkAndCreate(jobProvider(), jobArgs({ scope: "proj/dev/first" })); // 3 pending
    const reports = captureReports();
    try {
      let settled = false;
      const second = checkAndCreate(
        jobProvider(),
        jobArgs({ scope: "proj/dev/second", waitForCompletion: { pollIntervalSeconds: 0.05, timeoutMinutes: 1 } }),
      ).finally(() => {
        settled = true;
      });
      await new Promise((resolve) => setTimeout(resolve, 400)); // several refusals
      expect((await stats(e.url)).jobs).toBe(1);
      expect(reports.lines).toContain(
        'BatchJob "second": waiting to submit: the workspace has too many pending batch requests (3 requests pending, 3 in this job, limit 4)',
      );
      // The first job finishes (room for the second), then the second does.
      while (!settled) {
        await admin(e.url, "POST", "/__emulator/clock/advance", { ms: 3_600_000 });
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const { outs } = await second;
      expect(outs).toMatchObject({ status: "SUCCESS", adopted: false, succeededRequests: 3 });
      expect((await stats(e.url)).jobs).toBe(2);
    } finally {
      reports.restore();
    }
  });

  it("a wait for room ends with the job's wait policy: the refusal, how long it waited, nothing submitted", async () => {
    const e = await emulator({ profile: "observed", clock: "manual", speed: "demo", maxPendingRequests: 4 });
    await configure(e.url);
    await checkAndCreate(jobProvider(), jobArgs({ scope: "proj/dev/first" }));
    const error = await thrown(() =>
      checkAndCreate(
        jobProvider(),
        jobArgs({ scope: "proj/dev/second", waitForCompletion: { pollIntervalSeconds: 0.05, timeoutMinutes: 0.01 } }),
      ),
    );
    expect(error.statusCode).toBe(429);
    expect(error.message).toContain("3 requests pending, 3 in this job, limit 4");
    expect(error.message).toMatch(/\(after waiting .* \(waitForCompletion\.timeoutMinutes 0\.01\) for room\)$/);
    expect((await stats(e.url)).jobs).toBe(1);
  });
});

describe("error bodies and rate limits as observed", () => {
  it("401 in both observed shapes: the message and the hint about the key", async () => {
    const e = await emulator({ profile: "observed", apiKey: TEST_KEY });
    await configure(e.url, "sk-wrong-key-9999");
    for (let i = 0; i < 2; i++) {
      const error = await thrown(() => checkAndCreate(jobProvider(), jobArgs()));
      expect(error.message).toMatch(/failed with HTTP 401: Unauthorized/);
      expect(error.message).toContain("The API key was rejected");
      expect(error.message).not.toContain("sk-wrong-key-9999");
    }
  });

  it("429s without Retry-After on job creation: bounded retries with backoff, then exactly one job", async () => {
    const e = await emulator({ profile: "observed", clock: "manual" });
    await configure(e.url);
    await addFaults(e.url, "429*2@POST /v1/batch/jobs");
    const start = Date.now();
    const { outs } = await checkAndCreate(jobProvider(), jobArgs());
    expect(Date.now() - start).toBeGreaterThanOrEqual(5_000); // 2 s then 4 s: not hammered
    expect(outs.adopted).toBe(false);
    expect((await stats(e.url)).jobs).toBe(1);
    expect(await admin(e.url, "GET", "/__emulator/faults")).toEqual([]);
  }, 30_000);

  it("a plain GET of a finished inline job carries outputs: read and refresh cope, and state keeps no outputs", async () => {
    const e = await emulator({ profile: "observed" });
    await configure(e.url);
    const { id, outs } = await checkAndCreate(
      jobProvider(),
      jobArgs({ waitForCompletion: { pollIntervalSeconds: 0.05 } }),
    );
    expect(outs.status).toBe("SUCCESS");
    const plain = await sdk(e.url).batch.jobs.get({ jobId: id });
    expect(Array.isArray(plain.outputs)).toBe(true);
    const read = await jobProvider().read(id, outs);
    expect(read.props).toMatchObject({ jobId: id, status: "SUCCESS", succeededRequests: 3 });
    expect(read.props).not.toHaveProperty("outputs");
    expect(outs).not.toHaveProperty("outputs");
  });
});

describe("connection problems", () => {
  it("a refused connection to mistral:serverUrl fails within seconds and names the URL", async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    await configure(`http://127.0.0.1:${port}`);
    const start = Date.now();
    const error = await thrown(() => checkAndCreate(jobProvider(), jobArgs()));
    expect(Date.now() - start).toBeLessThan(8_000);
    expect(error.message).toContain(
      `the Mistral server http://127.0.0.1:${port} (stack config mistral:serverUrl) refused the connection`,
    );
    expect(error.message).not.toMatch(/timed out|\.js\b/);

    const dir = tempDir();
    const source = path.join(dir, "q.jsonl");
    fs.writeFileSync(source, jsonlOf(chatRequests(1)));
    const upload = await thrown(() => checkAndCreate(fileProvider(), { source }));
    expect(upload.message).toContain(`http://127.0.0.1:${port}`);
    expect(upload.message).toContain("refused the connection");
  });

  it("a serverUrl ending in /v1 is used without it, with a warning", async () => {
    const e = await emulator({ clock: "manual" });
    const { captureReports } = await import("./integration-harness");
    const capture = captureReports();
    try {
      await configure(`${e.url}/v1/`);
      const { outs } = await checkAndCreate(jobProvider(), jobArgs());
      expect(outs.status).toBe("QUEUED");
      expect(capture.lines.join("\n")).toContain("ends with /v1; the SDK adds /v1 itself");
    } finally {
      capture.restore();
    }
  });

  it("a connection dropped mid-run is still retried (reads are safe to repeat)", async () => {
    const e = await emulator({ clock: "manual" });
    await configure(e.url);
    const { id, outs } = await checkAndCreate(jobProvider(), jobArgs());
    await addFaults(e.url, "drop*2@GET /v1/batch/jobs/.*");
    const read = await jobProvider().read(id, outs);
    expect(read.props).toMatchObject({ jobId: id });
  });
});
