/**
 * Durable state: files and jobs survive a clean restart on the same data directory, a job in progress keeps
 * progressing, and the real CLI killed with SIGKILL mid-job resumes without duplicated or lost result lines.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { randomBytes } from "node:crypto";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ManualClock, startEmulator, type Emulator, type EmulatorOptions } from "mistral-batch-emulator";
import { checkedClient, type CheckedClient } from "../support/client";
import { assertBuilt, startCli, stopAllClis, type CliProcess } from "../support/cli";
import { readJson, type FileBody, type JobBody, type ListBody } from "../support/wire";

function jsonl(lines: object[]): Buffer {
  return Buffer.from(`${lines.map((l) => JSON.stringify(l)).join("\n")}\n`);
}

function chatLines(n: number, prefix = "r"): { custom_id: string; body: object }[] {
  return Array.from({ length: n }, (_, i) => ({
    custom_id: `${prefix}${i}`,
    body: { max_tokens: 16, messages: [{ role: "user", content: `Question ${i}: what is ${i} + ${i}?` }] },
  }));
}

async function download(c: CheckedClient, fileId: string): Promise<Buffer> {
  return Buffer.from(await new Response(await c.client.files.download({ fileId })).arrayBuffer());
}

function resultLines(text: Buffer | string): { id: string; custom_id: string; response: { status_code: number } }[] {
  return text
    .toString("utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l));
}

let dataDir: string;
const open: Emulator[] = [];

async function start(options: EmulatorOptions = {}): Promise<{ e: Emulator; c: CheckedClient }> {
  const e = await startEmulator({ dataDir, ...options });
  open.push(e);
  return { e, c: checkedClient(e.url) };
}

async function stop(e: Emulator): Promise<void> {
  await e.close();
  open.splice(open.indexOf(e), 1);
}

beforeEach(() => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "emulator-persistence-test-"));
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((e) => e.close()));
  await stopAllClis();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe("restart on the same data directory", () => {
  it("keeps files, metadata and content byte for byte", async () => {
    let { e, c } = await start();
    const batch = jsonl(chatLines(7));
    const binary = randomBytes(64 * 1024 + 17); // every byte value, no trailing newline
    const empty = Buffer.alloc(0);
    const files = [
      await c.client.files.upload({ file: { fileName: "batch.jsonl", content: batch }, purpose: "batch" }),
      await c.client.files.upload({ file: { fileName: "scan.pdf", content: binary }, purpose: "ocr" }),
      await c.client.files.upload({ file: { fileName: "empty.jsonl", content: empty }, purpose: "fine-tune" }),
    ];
    const before = await c.client.files.list({ pageSize: 100 });
    expect(before.total).toBe(3);
    await stop(e);
    expect(fs.existsSync(dataDir)).toBe(true); // a given data dir is never removed

    ({ e, c } = await start());
    const after = await c.client.files.list({ pageSize: 100 });
    expect(after).toEqual(before);
    for (const [f, content] of [
      [files[0], batch],
      [files[1], binary],
      [files[2], empty],
    ] as const) {
      expect(await c.client.files.retrieve({ fileId: f.id })).toEqual({ ...f, deleted: false });
      expect(await download(c, f.id)).toEqual(content);
    }
    // deletions persist too
    await c.client.files.delete({ fileId: files[2].id });
    await stop(e);
    ({ e, c } = await start());
    expect((await c.client.files.list()).data.map((f) => f.id).sort()).toEqual([files[0].id, files[1].id].sort());
    expect(c.violations).toEqual([]);
  });

  it("keeps finished jobs: status, counters, errors, result files and their content", async () => {
    let { e, c } = await start({ speed: "instant" });
    const input = await c.client.files.upload({
      file: { fileName: "in.jsonl", content: jsonl(chatLines(20)) },
      purpose: "batch",
    });
    const ok = await c.client.batch.jobs.create({
      inputFiles: [input.id],
      model: "mistral-small-latest",
      endpoint: "/v1/chat/completions",
      metadata: { run: "p1" },
    });
    const mixed = await c.client.batch.jobs.create({
      requests: [
        { customId: "good", body: { messages: [{ role: "user", content: "hi" }] } },
        { customId: "bad", body: { messages: [] } },
      ],
      model: "mistral-large-latest",
      endpoint: "/v1/chat/completions",
    });
    const jobsBefore = [
      await c.client.batch.jobs.get({ jobId: ok.id }),
      await c.client.batch.jobs.get({ jobId: mixed.id, inline: true }),
    ];
    expect(jobsBefore[0]).toMatchObject({ status: "SUCCESS", totalRequests: 20, succeededRequests: 20 });
    expect(jobsBefore[1]).toMatchObject({
      status: "SUCCESS",
      totalRequests: 2,
      succeededRequests: 1,
      failedRequests: 1,
    });
    const output = await download(c, jobsBefore[0].outputFile!);
    const errors = await download(c, jobsBefore[1].errorFile!);
    const listBefore = await c.client.batch.jobs.list({});
    await stop(e);

    ({ e, c } = await start({ speed: "instant" }));
    expect(await c.client.batch.jobs.get({ jobId: ok.id })).toEqual(jobsBefore[0]);
    expect(await c.client.batch.jobs.get({ jobId: mixed.id, inline: true })).toEqual(jobsBefore[1]);
    expect(await c.client.batch.jobs.list({})).toEqual(listBefore);
    expect(await download(c, jobsBefore[0].outputFile!)).toEqual(output);
    expect(await download(c, jobsBefore[1].errorFile!)).toEqual(errors);
    expect(
      resultLines(output)
        .map((r) => r.custom_id)
        .sort(),
    ).toEqual(
      chatLines(20)
        .map((l) => l.custom_id)
        .sort(),
    );
    expect(c.violations).toEqual([]);
  });

  it("keeps queued and cancelling jobs where they stood", async () => {
    const t0 = Date.now();
    const speed = { queueDelayMs: 10_000, requestsPerSecond: 10, cancelDelayMs: 5_000 };
    let { e, c } = await start({ speed, clock: new ManualClock(t0) });
    const queued = await c.client.batch.jobs.create({
      requests: [{ customId: "1", body: { messages: [{ role: "user", content: "hi" }] } }],
      model: "mistral-small-latest",
      endpoint: "/v1/chat/completions",
    });
    const cancelling = await c.client.batch.jobs.create({
      requests: [{ customId: "1", body: { messages: [{ role: "user", content: "hi" }] } }],
      model: "mistral-small-latest",
      endpoint: "/v1/chat/completions",
    });
    expect((await c.client.batch.jobs.cancel({ jobId: cancelling.id })).status).toBe("CANCELLATION_REQUESTED");
    await stop(e);

    const clock = new ManualClock(t0 + 1000);
    ({ e, c } = await start({ speed, clock }));
    expect((await c.client.batch.jobs.get({ jobId: queued.id })).status).toBe("QUEUED");
    expect((await c.client.batch.jobs.get({ jobId: cancelling.id })).status).toBe("CANCELLATION_REQUESTED");
    await e.advance(10_000);
    expect((await c.client.batch.jobs.get({ jobId: queued.id })).status).toBe("SUCCESS");
    expect((await c.client.batch.jobs.get({ jobId: cancelling.id })).status).toBe("CANCELLED");
  });

  it("a job in progress keeps progressing after restarts, with no duplicated or lost result lines", async () => {
    const speed = { queueDelayMs: 0, requestsPerSecond: 10, cancelDelayMs: 0 };
    const lines = chatLines(100, "q");
    let now = Date.now();
    let { e, c } = await start({ speed, clock: new ManualClock(now) });
    const input = await c.client.files.upload({
      file: { fileName: "hundred.jsonl", content: jsonl(lines) },
      purpose: "batch",
    });
    const job = await c.client.batch.jobs.create({
      inputFiles: [input.id],
      model: "mistral-small-latest",
      endpoint: "/v1/chat/completions",
    });

    // 3.5 s, then 2.2 s, then 1.9 s of progress, each followed by a restart (clock carried over)
    let expected = 0;
    const seen: number[] = [];
    for (const ms of [3500, 2200, 1900]) {
      await e.advance(ms);
      now += ms;
      const got = await c.client.batch.jobs.get({ jobId: job.id });
      expect(got.status).toBe("RUNNING");
      expect(got.outputFile ?? null).toBeNull();
      expected = got.completedRequests;
      seen.push(expected);
      expect(got.succeededRequests).toBe(expected);
      await stop(e);
      ({ e, c } = await start({ speed, clock: new ManualClock(now) }));
      const resumed = await c.client.batch.jobs.get({ jobId: job.id });
      expect(resumed).toMatchObject({ status: "RUNNING", completedRequests: expected, totalRequests: 100 });
    }
    expect(seen).toEqual([35, 57, 76]); // 10 requests per second of clock time, restarts included

    await e.advance(5000);
    const done = await c.client.batch.jobs.get({ jobId: job.id });
    expect(done).toMatchObject({
      status: "SUCCESS",
      totalRequests: 100,
      completedRequests: 100,
      succeededRequests: 100,
      failedRequests: 0,
    });
    const out = resultLines(await download(c, done.outputFile!));
    expect(out).toHaveLength(100);
    expect(new Set(out.map((r) => r.id)).size).toBe(100);
    expect(out.map((r) => r.custom_id).sort()).toEqual(lines.map((l) => l.custom_id).sort());
    expect((await c.client.files.retrieve({ fileId: done.outputFile! })).numLines).toBe(100);
    expect(fs.readdirSync(path.join(dataDir, "tmp"))).toEqual([]); // partial results were published, nothing left over
    expect(c.violations).toEqual([]);
  });

  it("recovers from a crash at every durable write of a job's life (torn states, simulated in process)", async () => {
    // Each store write (job record, file record, blob rename) is a point where kill -9 can strike. Run the same
    // job once to count them, then again crashing at each one in turn: from the crash on, every write fails, as
    // if the process were gone. A restart must then finish the job with every request answered exactly once.
    const speed = { queueDelayMs: 500, requestsPerSecond: 10, cancelDelayMs: 0 };
    const requests = Array.from({ length: 25 }, (_, i) => ({
      custom_id: `c${i}`,
      body: { messages: i % 5 === 4 ? [] : [{ role: "user", content: `question ${i}` }] }, // every 5th fails
    }));
    const T0 = Date.UTC(2026, 0, 1);

    const run = async (crashAt: number | null) => {
      const { e } = await start({ speed, clock: new ManualClock(T0) });
      let writes = 0;
      let dead = false;
      const store = e.store as unknown as Record<"saveJob" | "saveFile" | "commitFile", (...args: unknown[]) => void>;
      for (const name of ["saveJob", "saveFile", "commitFile"] as const) {
        const original = store[name].bind(e.store);
        store[name] = (...args: unknown[]) => {
          if (!dead && ++writes === crashAt) dead = true;
          if (dead) throw new Error(`simulated crash at write ${crashAt} (${name})`);
          return original(...args);
        };
      }
      const quiet = process.stderr.write;
      process.stderr.write = (() => true) as typeof process.stderr.write; // the crash's 500 logs an internal error
      let jobId: string | null = null;
      try {
        const res = await fetch(`${e.url}/v1/batch/jobs`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ requests, model: "mistral-small-latest", endpoint: "/v1/chat/completions" }),
        });
        if (res.status === 200) jobId = (await readJson<JobBody>(res)).id;
        else expect(dead).toBe(true);
        for (let i = 0; i < 5 && !dead; i++) await e.advance(1000).catch(() => undefined);
      } finally {
        process.stderr.write = quiet;
      }
      await stop(e);
      return { writes, jobId };
    };

    const clean = await run(null);
    expect(clean.writes).toBeGreaterThan(8);
    fs.rmSync(dataDir, { recursive: true, force: true });

    for (let crashAt = 1; crashAt <= clean.writes; crashAt++) {
      fs.mkdirSync(dataDir, { recursive: true });
      const { jobId } = await run(crashAt);
      const { e, c } = await start({ speed, clock: new ManualClock(T0 + 10_000) });
      const jobs = await c.client.batch.jobs.list({});
      if (jobId === null) {
        expect(jobs.total, `crash at ${crashAt}`).toBe(0); // died creating it: no job, no half job
        expect(fs.readdirSync(path.join(dataDir, "blobs")), `crash at ${crashAt}`).toEqual([]); // nor its request list
      } else {
        const job = await c.client.batch.jobs.get({ jobId, inline: true });
        expect(job, `crash at ${crashAt}`).toMatchObject({
          status: "SUCCESS",
          totalRequests: 25,
          completedRequests: 25,
          succeededRequests: 20,
          failedRequests: 5,
        });
        expect(job.errors, `crash at ${crashAt}`).toEqual([{ message: expect.any(String), count: 5 }]);
        const ids = job.outputs!.map((o) => o.custom_id as string);
        expect(ids.sort(), `crash at ${crashAt}`).toEqual(requests.map((r) => r.custom_id).sort());
        const out = resultLines(await download(c, job.outputFile!));
        const err = resultLines(await download(c, job.errorFile!));
        expect([out.length, err.length], `crash at ${crashAt}`).toEqual([20, 5]);
        const published = await c.client.files.list({ source: ["mistral"] });
        expect(published.data.map((f) => f.id).sort(), `crash at ${crashAt}`).toEqual(
          [job.outputFile, job.errorFile].sort(),
        );
        expect(published.data.map((f) => f.numLines).sort()).toEqual([20, 5].sort());
        const blobs = fs.readdirSync(path.join(dataDir, "blobs"));
        expect(blobs.filter((b) => !b.startsWith("inline-")).sort(), `crash at ${crashAt}`).toEqual(
          [job.outputFile, job.errorFile].sort(),
        );
        expect(
          blobs.filter((b) => b.startsWith("inline-")),
          `crash at ${crashAt}`,
        ).toHaveLength(1);
      }
      expect(fs.readdirSync(path.join(dataDir, "tmp")), `crash at ${crashAt}`).toEqual([]);
      expect(c.violations).toEqual([]);
      await stop(e);
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it("without a dataDir, uses a temporary directory and removes it on close", async () => {
    const e = await startEmulator();
    const c = checkedClient(e.url);
    await c.client.files.upload({ file: { fileName: "x.jsonl", content: jsonl(chatLines(1)) }, purpose: "batch" });
    expect(e.dataDir).not.toBe(dataDir);
    expect(fs.existsSync(path.join(e.dataDir, "blobs"))).toBe(true);
    await e.close();
    expect(fs.existsSync(e.dataDir)).toBe(false);
    await e.close(); // twice is harmless
  });
});

describe("kill -9 of the real CLI", () => {
  beforeAll(() => assertBuilt());
  afterAll(async () => {
    await stopAllClis();
  });

  const REQUESTS = 400;
  const RATE = 100; // requests per second: 4 s of processing in all

  async function launch(): Promise<CliProcess> {
    return startCli(["--data-dir", dataDir, "--port", "0", "--speed", "fast", "--requests-per-second", String(RATE)]);
  }

  async function getJob(url: string, id: string) {
    const res = await fetch(`${url}/v1/batch/jobs/${id}`);
    expect(res.status).toBe(200);
    return readJson<JobBody>(res);
  }

  async function poll<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await fn();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  async function kill(cli: CliProcess): Promise<void> {
    cli.proc.kill("SIGKILL");
    expect(await cli.exited).toEqual({ code: null, signal: "SIGKILL" });
  }

  it(`resumes a ${REQUESTS}-request job after three SIGKILLs: exactly ${REQUESTS} result lines, each input once`, async () => {
    const lines = chatLines(REQUESTS, "k");
    let cli = await launch();
    expect(cli.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const form = new FormData();
    form.append("purpose", "batch");
    form.append("file", new Blob([jsonl(lines)]), "four-hundred.jsonl");
    const file = await readJson<FileBody>(await fetch(`${cli.url}/v1/files`, { method: "POST", body: form }));
    expect(file.num_lines).toBe(REQUESTS);
    const created = await fetch(`${cli.url}/v1/batch/jobs`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ input_files: [file.id], model: "mistral-small-latest", endpoint: "/v1/chat/completions" }),
    });
    expect(created.status).toBe(200);
    const jobId = (await readJson<JobBody>(created)).id;

    const progress: number[] = [];
    for (const threshold of [60, 170, 280]) {
      const seen = await poll(
        `${threshold} requests done`,
        async () => {
          const j = await getJob(cli.url, jobId);
          return j.completed_requests >= threshold ? j : undefined;
        },
        10_000,
      );
      expect(seen.status).toBe("RUNNING");
      await new Promise((r) => setTimeout(r, Math.random() * 50)); // strike anywhere in the 50 ms processing cycle
      await kill(cli);
      cli = await launch();
      const resumed = await getJob(cli.url, jobId);
      // never behind what was already reported, never double-counted
      expect(resumed.completed_requests).toBeGreaterThanOrEqual(seen.completed_requests);
      expect(resumed.completed_requests).toBeLessThanOrEqual(REQUESTS);
      progress.push(resumed.completed_requests);
    }

    const done = await poll(
      "SUCCESS",
      async () => {
        const j = await getJob(cli.url, jobId);
        return j.status === "RUNNING" || j.status === "QUEUED" ? undefined : j;
      },
      15_000,
    );
    expect(done).toMatchObject({
      status: "SUCCESS",
      total_requests: REQUESTS,
      completed_requests: REQUESTS,
      succeeded_requests: REQUESTS,
      error_file: null,
    });
    const res = await fetch(`${cli.url}/v1/files/${done.output_file}/content`);
    expect(res.status).toBe(200);
    const text = Buffer.from(await res.arrayBuffer());
    const out = resultLines(text);
    expect(out).toHaveLength(REQUESTS);
    const ids = out.map((r) => r.custom_id);
    expect(new Set(ids).size).toBe(REQUESTS);
    expect([...ids].sort()).toEqual(lines.map((l) => l.custom_id).sort());
    expect(new Set(out.map((r) => r.id)).size).toBe(REQUESTS);
    expect(out.every((r) => r.response.status_code === 200)).toBe(true);
    const meta = await (await fetch(`${cli.url}/v1/files/${done.output_file}`)).json();
    expect(meta).toMatchObject({ num_lines: REQUESTS, bytes: text.length });
    // exactly one output file was published
    const results = await readJson<ListBody<FileBody>>(await fetch(`${cli.url}/v1/files?sample_type=batch_result`));
    expect(results.total).toBe(1);
    await kill(cli);
    expect(fs.readdirSync(path.join(dataDir, "tmp"))).toEqual([]);
  }, 40_000);
});
