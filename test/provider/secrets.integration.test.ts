/**
 * The API key never leaks: a run of create, read, update and delete of both resources (adoptions, waits, init
 * errors, refused deletes, server-side refusals and a rejected key included) with the key `sk-test-SECRET-123`,
 * and everything that leaves the provider is searched for it: every returned value, every thrown error (message,
 * stack, properties, causes) and every line `report()` wrote.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterEach, expect, it } from "vitest";
import {
  CHAT,
  MODEL,
  admin,
  captureReports,
  chatRequests,
  cleanup,
  configure,
  emulator,
  fileProvider,
  jobProvider,
  jsonlOf,
  tempDir,
  type Json,
} from "./integration-harness";

afterEach(cleanup);

const SECRET = "sk-test-SECRET-123";

/** Every text an error carries: message, stack, enumerable properties, and the same for its causes. */
function errorTexts(error: unknown, depth = 0): string[] {
  if (!(error instanceof Error) || depth > 5) return [String(error)];
  let json = "";
  try {
    json = JSON.stringify(error);
  } catch {
    json = "(circular)";
  }
  return [
    error.message,
    error.stack ?? "",
    json,
    ...(error.cause !== undefined ? errorTexts(error.cause, depth + 1) : []),
  ];
}

it("no output, error or progress line of a full run contains the API key", async () => {
  const e = await emulator({
    apiKey: SECRET,
    clock: "manual",
    speed: { queueDelayMs: 1000, requestsPerSecond: 1, cancelDelayMs: 500 },
  });
  await configure(e.url, SECRET);
  const reports = captureReports();
  const seen: unknown[] = [];
  const errors: unknown[] = [];
  const keep = <T>(v: T): T => {
    seen.push(v);
    return v;
  };
  const fails = async (fn: () => Promise<unknown>) => {
    try {
      seen.push(await fn());
    } catch (error) {
      errors.push(error);
      return error as Error & Json;
    }
    throw new Error("expected a failure");
  };
  const file = fileProvider();
  const job = jobProvider();
  const P = { __provider: "SERIALIZED-PROVIDER" };
  try {
    // BatchFile: check, create, adopt, read, get, update.
    const source = path.join(tempDir(), "questions.jsonl");
    fs.writeFileSync(source, jsonlOf(chatRequests(2)));
    const checked = keep(await file.check({}, { source, ...P })).inputs as Json;
    const f = keep(await file.create({ ...checked, ...P }));
    keep(await file.create({ ...checked, ...P }));
    keep(await file.read(f.id, f.outs));
    keep(await file.read(f.id, P));
    keep(await file.update(f.id, f.outs as Json, { ...checked, endpoint: CHAT, ...P }));

    // BatchJob: a wait that times out, then an update that resumes it while the clock moves.
    const jobInputs = { inputFiles: [f.id], model: MODEL, scope: "p/s/secret", deleteResultFilesOnDestroy: true, ...P };
    const ji = keep(
      await job.check({}, { ...jobInputs, waitForCompletion: { pollIntervalSeconds: 0.02, timeoutMinutes: 0.002 } }),
    ).inputs as Json;
    const timedOut = await fails(() => job.create({ ...ji, ...P }));
    const resuming = job.update(timedOut.id, timedOut.properties, {
      ...ji,
      waitForCompletion: { pollIntervalSeconds: 0.02, timeoutMinutes: 0.5 },
      ...P,
    });
    await e.advance(1000 + 2000 + 10);
    const j1 = keep(await resuming);
    expect((j1.outs as Json).status).toBe("SUCCESS");
    keep(await job.create({ ...ji, waitForCompletion: false, ...P })); // adopts
    keep(await job.read(timedOut.id, j1.outs as Json));
    keep(await job.read(timedOut.id, P));

    // A job that still runs: the file cannot be deleted, then destroy cancels the job.
    const j2 = keep(await job.create({ ...ji, scope: "p/s/second", waitForCompletion: false, ...P }));
    await fails(() => file.delete(f.id, f.outs as Json));
    const cancelling = job.delete(j2.id, j2.outs as Json);
    for (
      let i = 0;
      (await admin(e.url, "GET", `/v1/batch/jobs/${j2.id}`, undefined, SECRET)).status !== "CANCELLATION_REQUESTED";
      i++
    ) {
      if (i > 500) throw new Error("the cancellation never arrived");
      await new Promise((r) => setTimeout(r, 10));
    }
    await e.advance(600);
    await cancelling;

    // A job that fails, an update after it, a refused submission, a rejected key.
    const ji3 = {
      ...ji,
      scope: "p/s/third",
      waitForCompletion: { pollIntervalSeconds: 0.02, timeoutMinutes: 0.5 },
      ...P,
    };
    const failing = fails(() => job.create(ji3));
    const deadline = Date.now() + 5000;
    let third: Json | undefined;
    while (!third && Date.now() < deadline) {
      const list = await admin(e.url, "GET", "/v1/batch/jobs?page_size=100", undefined, SECRET);
      third = list.data.find((j: Json) => j.status === "QUEUED");
      if (!third) await new Promise((r) => setTimeout(r, 10));
    }
    await admin(e.url, "POST", `/__emulator/jobs/${third!.id}/fail`, { message: "boom" }, SECRET);
    await e.advance(1500);
    const failed = await failing;
    expect(failed.message).toMatch(/ended FAILED/);
    keep(await job.update(failed.id, failed.properties, ji3));
    await fails(() => job.create({ ...ji, model: "no-such-model", scope: "p/s/bad", ...P }));
    const other = await emulator({ apiKey: "sk-another-key-456" });
    await configure(other.url, SECRET);
    await fails(() => file.read(f.id, f.outs as Json));
    await fails(() => job.create({ ...ji, ...P }));
    await configure(e.url, SECRET);

    // Destroy: result files of the first job, the file, twice.
    await job.delete(timedOut.id, j1.outs as Json);
    await file.delete(f.id, f.outs as Json);
    await file.delete(f.id, f.outs as Json);
    const stats = await admin(e.url, "GET", "/__emulator/stats", undefined, SECRET);
    expect(stats.files).toBe(0);
  } finally {
    reports.restore();
  }

  expect(errors.length).toBeGreaterThanOrEqual(5);
  expect(reports.lines.length).toBeGreaterThan(5);
  const texts = [...seen.map((v) => JSON.stringify(v)), ...errors.flatMap(errorTexts), ...reports.lines];
  const leaks = texts.filter((t) => t.includes(SECRET));
  expect(leaks).toEqual([]);
  // The run did reach the server with the key: the rejected-key errors say so without naming it.
  expect(errors.some((x) => /HTTP 401/.test((x as Error).message))).toBe(true);
});
