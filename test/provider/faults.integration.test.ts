/**
 * The crux: idempotency and retries under the faults real networks and servers produce. Every test asserts what
 * the emulator holds afterwards (exactly one job, exactly one file) and that the injected faults were consumed,
 * i.e. the provider really went through them.
 */
import { afterEach, describe, expect, it } from "vitest";
import { settingsFrom } from "../../provider/settings";
import {
  MODEL,
  addFaults,
  admin,
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
  setEnv,
  stats,
  thrown,
} from "./integration-harness";
import { thrownMessage } from "../support/thrown";

afterEach(cleanup);

async function faultsLeft(url: string, apiKey?: string): Promise<unknown[]> {
  return (await admin(url, "GET", "/__emulator/faults", undefined, apiKey)) as unknown as unknown[];
}

async function waitForJobs(url: string, n: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while ((await stats(url)).jobs < n) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${n} jobs`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const start = Date.now();
  const value = await fn();
  return { value, ms: Date.now() - start };
}

describe("job submission under faults", () => {
  it("commit-then-drop on POST /v1/batch/jobs: the job created behind the lost answer is adopted, not submitted twice", async () => {
    const e = await emulator({ clock: "manual" });
    await configure(e.url);
    await addFaults(e.url, "commit-then-drop@POST /v1/batch/jobs");
    const { id, outs } = await checkAndCreate(jobProvider(), jobArgs());
    expect(outs).toMatchObject({ jobId: id, adopted: true });
    const s = await stats(e.url);
    expect(s.jobs).toBe(1);
    expect((await sdk(e.url).batch.jobs.list({})).data![0].id).toBe(id);
    expect(await faultsLeft(e.url)).toEqual([]);
  });

  it("commit-then-drop, then 429s on the listing that looks for it: still exactly one job", async () => {
    const e = await emulator({ clock: "manual" });
    await configure(e.url);
    // The first listing (before submitting) and the one after the lost answer both meet 429s.
    await addFaults(e.url, "commit-then-drop@POST /v1/batch/jobs;429:0*2@GET /v1/batch/jobs");
    const { id } = await checkAndCreate(jobProvider(), jobArgs());
    expect((await stats(e.url)).jobs).toBe(1);
    expect((await sdk(e.url).batch.jobs.list({})).data![0].id).toBe(id);
    expect(await faultsLeft(e.url)).toEqual([]);
  });

  it("a dropped connection and a 503 before handling: submitted again, exactly one job", async () => {
    const e = await emulator({ clock: "manual" });
    await configure(e.url);
    await addFaults(e.url, "drop@POST /v1/batch/jobs;503:0*1@POST /v1/batch/jobs");
    const { outs } = await checkAndCreate(jobProvider(), jobArgs());
    expect(outs.adopted).toBe(false);
    expect((await stats(e.url)).jobs).toBe(1);
    expect(await faultsLeft(e.url)).toEqual([]);
  });

  it("429 bursts on create are retried, honouring Retry-After: 0 s is retried at once", async () => {
    const e = await emulator({ clock: "manual" });
    await configure(e.url);
    await addFaults(e.url, "429:0*3@POST /v1/batch/jobs");
    const { value, ms } = await timed(() => checkAndCreate(jobProvider(), jobArgs()));
    expect(value.outs.adopted).toBe(false);
    expect(ms).toBeLessThan(1000); // without Retry-After the provider backs off 0.5 + 1 + 2 s
    expect((await stats(e.url)).jobs).toBe(1);
    expect(await faultsLeft(e.url)).toEqual([]);
  });

  it("429 with Retry-After: 1 on create waits that second", async () => {
    const e = await emulator({ clock: "manual" });
    await configure(e.url);
    await addFaults(e.url, "429:1*1@POST /v1/batch/jobs");
    const { ms } = await timed(() => checkAndCreate(jobProvider(), jobArgs()));
    expect(ms).toBeGreaterThanOrEqual(950);
    expect((await stats(e.url)).jobs).toBe(1);
  });

  it("429 bursts on GETs are retried, honouring Retry-After (429*3: three waits of 1 s)", async () => {
    const e = await emulator({
      clock: "manual",
      speed: { queueDelayMs: 100, requestsPerSecond: 100, cancelDelayMs: 0 },
    });
    await configure(e.url);
    const { id, outs } = await checkAndCreate(jobProvider(), jobArgs());
    await e.advance(1000);
    await addFaults(e.url, "429*3@GET /v1/batch/jobs/.*");
    const { value: read, ms } = await timed(() => jobProvider().read(id, outs));
    expect(read.props).toMatchObject({ status: "SUCCESS", completedRequests: 3 });
    expect(ms).toBeGreaterThanOrEqual(2900);
    expect(await faultsLeft(e.url)).toEqual([]);
  });

  it("dropped connections on GETs (read, the listing before a submission, a wait) are retried", async () => {
    const e = await emulator({
      clock: "manual",
      speed: { queueDelayMs: 100, requestsPerSecond: 100, cancelDelayMs: 0 },
    });
    await configure(e.url);
    const { id, outs } = await checkAndCreate(jobProvider(), jobArgs());
    await e.advance(1000);
    await addFaults(e.url, "drop*2@GET /v1/batch/jobs/.*");
    expect((await jobProvider().read(id, outs)).props).toMatchObject({ status: "SUCCESS", completedRequests: 3 });
    expect(await faultsLeft(e.url)).toEqual([]);

    await addFaults(e.url, "drop*2@GET /v1/batch/jobs;drop*1@GET /v1/batch/jobs/.*");
    const creating = checkAndCreate(
      jobProvider(),
      jobArgs({ scope: "p/s/other", waitForCompletion: { pollIntervalSeconds: 0.02, timeoutMinutes: 0.5 } }),
    );
    await waitForJobs(e.url, 2);
    await e.advance(1000);
    const other = await creating;
    expect(other.outs.status).toBe("SUCCESS");
    expect(await faultsLeft(e.url)).toEqual([]);
    expect((await stats(e.url)).jobs).toBe(2);
  });
});

describe("upload under faults", () => {
  it("503*2 on POST /v1/files: retried, exactly one file", async () => {
    const e = await emulator();
    await configure(e.url);
    await addFaults(e.url, "503*2@POST /v1/files");
    const { id, outs } = await checkAndCreate(fileProvider(), { content: jsonlOf(chatRequests(3)) });
    expect(outs.adopted).toBe(false);
    expect((await stats(e.url)).files).toBe(1);
    expect((await sdk(e.url).files.retrieve({ fileId: id })).numLines).toBe(3);
    expect(await faultsLeft(e.url)).toEqual([]);
  });

  it("dropped connections on POST /v1/files before it is handled: uploaded again, exactly one file", async () => {
    const e = await emulator();
    await configure(e.url);
    await addFaults(e.url, "drop*2@POST /v1/files");
    const { outs } = await checkAndCreate(fileProvider(), { content: jsonlOf(chatRequests(2)) });
    expect(outs.adopted).toBe(false);
    expect((await stats(e.url)).files).toBe(1);
    expect(await faultsLeft(e.url)).toEqual([]);
  });

  it("commit-then-drop on POST /v1/files: the stored file is found and adopted, exactly one file", async () => {
    const e = await emulator();
    await configure(e.url);
    await addFaults(e.url, "commit-then-drop@POST /v1/files");
    const { id, outs } = await checkAndCreate(fileProvider(), { content: jsonlOf(chatRequests(3)) });
    expect(outs).toMatchObject({ fileId: id, adopted: true });
    expect((await stats(e.url)).files).toBe(1);
    expect(await faultsLeft(e.url)).toEqual([]);
  });

  it("429 bursts and drops on the file listing and 429 on the upload are retried", async () => {
    const e = await emulator();
    await configure(e.url);
    await addFaults(e.url, "429:0*1@GET /v1/files;drop*1@GET /v1/files;429:0*2@POST /v1/files");
    const { value, ms } = await timed(() => checkAndCreate(fileProvider(), { content: jsonlOf(chatRequests(3)) }));
    expect(value.outs.adopted).toBe(false);
    expect(ms).toBeLessThan(5000);
    expect((await stats(e.url)).files).toBe(1);
    expect(await faultsLeft(e.url)).toEqual([]);
  });
});

describe("destroy under faults", () => {
  it("commit-then-drop on DELETE /v1/files/{id}: the repeated delete finds it gone, which is fine", async () => {
    const e = await emulator();
    await configure(e.url);
    const { id, outs } = await checkAndCreate(fileProvider(), { content: jsonlOf(chatRequests(2)) });
    await addFaults(e.url, "commit-then-drop@DELETE /v1/files/.*");
    await fileProvider().delete(id, outs);
    expect((await stats(e.url)).files).toBe(0);
    expect(await faultsLeft(e.url)).toEqual([]);
  });

  it("commit-then-drop on the cancel and 503s on the polls: the job still ends CANCELLED", async () => {
    const e = await emulator({
      clock: "manual",
      speed: { queueDelayMs: 1000, requestsPerSecond: 1, cancelDelayMs: 0 },
    });
    await configure(e.url);
    const { id, outs } = await checkAndCreate(jobProvider(), jobArgs({ requests: chatRequests(10) }));
    await e.advance(1500);
    await addFaults(e.url, "commit-then-drop@POST /v1/batch/jobs/.*/cancel;503:0*1@GET /v1/batch/jobs/.*");
    await jobProvider().delete(id, outs);
    expect((await stats(e.url)).jobsByStatus).toEqual({ CANCELLED: 1 });
    expect(await faultsLeft(e.url)).toEqual([]);
  });
});

describe("authentication", () => {
  const RIGHT = "sk-right-KEY-777";
  const WRONG = "sk-wrong-KEY-999";

  it("a rejected key gives one clear message: which call, HTTP 401, how to set the key; never the key", async () => {
    const e = await emulator({ apiKey: RIGHT });
    await configure(e.url, WRONG);
    const fileError = await thrown(() => checkAndCreate(fileProvider(), { content: jsonlOf(chatRequests(1)) }));
    const jobError = await thrown(() => checkAndCreate(jobProvider(), jobArgs()));
    const readError = await thrown(() => jobProvider().read("00000000-0000-4000-8000-000000000000", {}));
    for (const error of [fileError, jobError, readError]) {
      expect(error.message).toMatch(/HTTP 401/);
      expect(error.message).toMatch(/API key was rejected/);
      expect(error.message).toContain("pulumi config set --secret mistral:apiKey");
      expect(error.message).toContain("MISTRAL_API_KEY");
      expect(error.message.match(/API key was rejected/g)).toHaveLength(1);
      expect(`${error.message}\n${error.stack}\n${JSON.stringify(error)}`).not.toContain(WRONG);
    }
    expect(fileError.message).toMatch(/^BatchFile/);
    expect(jobError.message).toMatch(/^BatchJob "answers"/);
    expect(await stats(e.url, RIGHT)).toMatchObject({ files: 0, jobs: 0 });
  });

  it("no key at all (no config, no environment): the message from settings.ts, before any request", async () => {
    const e = await emulator();
    setEnv({ MISTRAL_API_KEY: undefined, MISTRAL_SERVER_URL: e.url });
    const p = fileProvider();
    const checked = await p.check({}, { content: jsonlOf(chatRequests(1)) });
    expect(checked.failures).toEqual([]);
    // The message settings.ts gives, word for word.
    const expected = thrownMessage(() => settingsFrom(undefined, {}), "settingsFrom(undefined, {}) without a key");
    expect(expected).toContain("pulumi config set --secret mistral:apiKey");
    expect(expected).toContain("MISTRAL_API_KEY");
    await expect(p.create(checked.inputs)).rejects.toThrow(expected);
    await expect(checkAndCreate(jobProvider(), jobArgs())).rejects.toThrow(expected);
    await expect(jobProvider().read("00000000-0000-4000-8000-000000000000", {})).rejects.toThrow(expected);
    expect(await stats(e.url)).toMatchObject({ files: 0, jobs: 0 });
  });

  it("the environment works without configure, and the stack config wins over it", async () => {
    const e = await emulator({ apiKey: RIGHT });
    setEnv({ MISTRAL_API_KEY: RIGHT, MISTRAL_SERVER_URL: e.url });
    const { id } = await checkAndCreate(fileProvider(), { content: jsonlOf(chatRequests(1)) });
    expect((await sdk(e.url, RIGHT).files.retrieve({ fileId: id })).id).toBe(id);
    await configure(e.url, WRONG);
    const error = await thrown(() => fileProvider().read(id, {}));
    expect(error.message).toMatch(/HTTP 401/);
    expect(MODEL).toBeTruthy();
  });
});
