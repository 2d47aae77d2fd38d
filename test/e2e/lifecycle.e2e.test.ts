/**
 * The lifecycle as users see it, through the real engine: up, preview (diffs and replacements), refresh, destroy,
 * each run by the `pulumi` CLI in the project's folder through the Node.js language host.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { API_KEY, E2EProject, assertDistFresh, chatJsonl, emulatorLib, previewSteps, resources } from "./harness";
import type { Emulator } from "mistral-batch-emulator";
import { testProfile } from "../support/profile";

describe("BatchFile + BatchJob through the engine", { timeout: 240_000 }, () => {
  let emulator: Emulator;
  let project: E2EProject;
  let stack: Awaited<ReturnType<E2EProject["stack"]>>;
  // What the program declares; tests change it between operations, as a user edits their program.
  const declared = { source: "data/questions.jsonl", model: "mistral-small-latest" };

  /** Writes the program for what is declared now. */
  const declare = (change: Partial<typeof declared> = {}) => {
    Object.assign(declared, change);
    project.program(`
const { BatchFile, BatchJob } = require("pulumi-mistral-batch");
const file = new BatchFile("questions", { source: ${JSON.stringify(declared.source)}, endpoint: "/v1/chat/completions" });
const job = new BatchJob("answers", { inputFiles: [file.id], model: ${JSON.stringify(declared.model)}, metadata: { suite: "e2e" } });
module.exports = {
  fileId: file.id,
  sha256: file.sha256,
  lineCount: file.lineCount,
  jobId: job.id,
  status: job.status,
  succeeded: job.succeededRequests,
  outputFileId: job.outputFileId,
};`);
  };

  beforeAll(async () => {
    assertDistFresh();
    emulator = await emulatorLib().startEmulator({
      profile: testProfile(),
      clock: "manual",
      speed: { queueDelayMs: 1000, requestsPerSecond: 10, cancelDelayMs: 500 },
    });
    project = new E2EProject("lifecycle", { files: { "data/questions.jsonl": chatJsonl(5) } });
    declare();
    stack = await project.stack(emulator.url);
  });

  afterAll(async () => {
    await emulator?.close();
    project?.cleanup();
  });

  const jobsInEmulator = () => [...emulator.store.jobs.values()];
  const filesUploaded = () => [...emulator.store.files.values()].filter((f) => f.source === "upload");

  it("up uploads the file, submits the job and records the outputs", async () => {
    const result = await stack.up({ onOutput: project.onOutput });
    expect(result.summary.result).toBe("succeeded");
    const outputs = result.outputs;
    expect(filesUploaded().map((f) => f.id)).toEqual([outputs.fileId.value]);
    expect(jobsInEmulator().map((j) => j.id)).toEqual([outputs.jobId.value]);
    expect(outputs.status.value).toBe("QUEUED");
    expect(outputs.lineCount.value).toBe(5);
    const job = emulator.store.jobs.get(outputs.jobId.value)!;
    expect(job.input_files).toEqual([outputs.fileId.value]);
    expect(job.metadata).toMatchObject({ suite: "e2e" });
    expect(job.metadata?.pulumi_idempotency_key).toMatch(/^[0-9a-f]{32}$/);
    const state = await resources(stack);
    expect(state.get("questions")?.type).toBe("pulumi-nodejs:dynamic/mistral/batch:BatchFile");
    expect(state.get("answers")?.outputs).toMatchObject({ status: "QUEUED", model: "mistral-small-latest" });
  });

  it("preview with no change shows no changes", async () => {
    expect(await previewSteps(stack)).toEqual({ questions: "same", answers: "same" });
  });

  it("preview after moving the dataset with the same content shows no changes", async () => {
    fs.mkdirSync(path.join(project.workDir, "moved"));
    fs.renameSync(
      path.join(project.workDir, "data/questions.jsonl"),
      path.join(project.workDir, "moved/renamed.jsonl"),
    );
    declare({ source: "moved/renamed.jsonl" });
    expect(await previewSteps(stack)).toEqual({ questions: "same", answers: "same" });
  });

  it("preview after changing the model replaces only the job", async () => {
    declare({ model: "mistral-large-latest" });
    expect(await previewSteps(stack)).toEqual({ questions: "same", answers: "replace" });
    declare({ model: "mistral-small-latest" });
  });

  it("preview after editing the dataset replaces the file and the job, and submits nothing", async () => {
    const original = fs.readFileSync(path.join(project.workDir, declared.source), "utf8");
    project.write(declared.source, chatJsonl(6));
    expect(await previewSteps(stack)).toEqual({ questions: "replace", answers: "replace" });
    project.write(declared.source, original);
    expect(jobsInEmulator()).toHaveLength(1);
    expect(filesUploaded()).toHaveLength(1);
  });

  it("refresh after the emulator finishes the job records SUCCESS, the counts and the output file", async () => {
    await emulator.advance(60_000);
    const refreshed = await stack.refresh({ onOutput: project.onOutput });
    expect(refreshed.summary.result).toBe("succeeded");
    const job = (await resources(stack)).get("answers")!.outputs;
    const remote = jobsInEmulator()[0];
    expect(remote.status).toBe("SUCCESS");
    expect(job).toMatchObject({
      status: "SUCCESS",
      totalRequests: 5,
      completedRequests: 5,
      succeededRequests: 5,
      failedRequests: 0,
      outputFileId: remote.output_file,
    });
    expect(emulator.store.files.get(remote.output_file!)?.sample_type).toBe("batch_result");
  });

  it("destroy while a job runs cancels it in the emulator and deletes the file", async () => {
    // A new job (another model), caught RUNNING.
    declare({ model: "mistral-medium-latest" });
    await stack.up({ onOutput: project.onOutput });
    await emulator.advance(1200); // queued 1 s, then 2 of 5 requests answered
    const running = jobsInEmulator().find((j) => j.model === "mistral-medium-latest")!;
    expect(running.status).toBe("RUNNING");
    // Time moves only once the cancellation is requested, so the job is still running when destroy starts.
    const advancing = setInterval(() => {
      if (emulator.store.jobs.get(running.id)?.status === "CANCELLATION_REQUESTED") void emulator.advance(250);
    }, 50);
    try {
      const destroyed = await stack.destroy({ onOutput: project.onOutput });
      expect(destroyed.summary.result).toBe("succeeded");
    } finally {
      clearInterval(advancing);
    }
    expect(emulator.store.jobs.get(running.id)?.status).toBe("CANCELLED");
    expect(filesUploaded()).toEqual([]);
    expect((await resources(stack)).size).toBe(0);
  });

  it("up after destroy uploads the file again under a new id and submits the job again (nothing to adopt)", async () => {
    const before = jobsInEmulator().map((j) => j.id);
    const deletedFiles = new Set([...emulator.store.files.values()].map((f) => f.id));
    const up = await stack.up({ onOutput: project.onOutput });
    expect(up.summary.resourceChanges).toMatchObject({ create: 3 });
    expect(filesUploaded()).toHaveLength(1);
    expect(deletedFiles.has(up.outputs.fileId.value)).toBe(false);
    const submitted = jobsInEmulator().filter((j) => !before.includes(j.id));
    expect(submitted.map((j) => j.id)).toEqual([up.outputs.jobId.value]);
    expect(submitted[0].input_files).toEqual([up.outputs.fileId.value]);
    await emulator.advance(60_000); // the job ends, so destroy has nothing to cancel (the clock is manual)
    expect((await stack.destroy({ onOutput: project.onOutput })).summary.result).toBe("succeeded");
    expect(filesUploaded()).toEqual([]);
  });

  it("never shows the API key in the state files or the engine's output", () => {
    expect(project.logs.join("").length).toBeGreaterThan(0);
    expect(project.logs.join("")).not.toContain(API_KEY);
    expect(project.stateText()).not.toContain(API_KEY);
  });
});

describe("paths in state: relative to the project folder, so a moved checkout shows no change", {
  timeout: 240_000,
}, () => {
  let emulator: Emulator;
  let project: E2EProject;
  let stack: Awaited<ReturnType<E2EProject["stack"]>>;

  beforeAll(async () => {
    assertDistFresh();
    emulator = await emulatorLib().startEmulator({
      profile: testProfile(),
      speed: { queueDelayMs: 100, requestsPerSecond: 500, cancelDelayMs: 50 },
    });
    // Absolute paths inside the project, as programs written with __dirname give them.
    project = new E2EProject("moved", {
      files: { "data/questions.jsonl": chatJsonl(3) },
      program: `
const path = require("node:path");
const { BatchFile, BatchJob, BatchResults } = require("pulumi-mistral-batch");
const file = new BatchFile("questions", { source: path.join(__dirname, "data/questions.jsonl"), endpoint: "/v1/chat/completions" });
const job = new BatchJob("answers", { inputFiles: [file.id], model: "mistral-small-latest", waitForCompletion: { timeoutMinutes: 5, pollIntervalSeconds: 1 } });
const results = BatchResults.forJob("results", job, { directory: path.join(__dirname, "results") });
module.exports = { jobId: job.id, downloaded: results.downloaded, outputPath: results.outputPath };`,
    });
    stack = await project.stack(emulator.url);
  });

  afterAll(async () => {
    await emulator?.close();
    project?.cleanup();
  });

  it("up records paths relative to the project folder: no absolute path of it anywhere in state", async () => {
    const up = await stack.up({ onOutput: project.onOutput });
    expect(up.summary.result).toBe("succeeded");
    expect(up.outputs.downloaded.value).toBe(true);
    expect(up.outputs.outputPath.value).toBe(`results/${up.outputs.jobId.value}.output.jsonl`);
    expect(
      fs.readFileSync(path.join(project.workDir, up.outputs.outputPath.value), "utf8").trim().split("\n"),
    ).toHaveLength(3);
    const state = await resources(stack);
    expect(state.get("questions")!.inputs.source).toBe("data/questions.jsonl");
    expect(state.get("results")!.inputs.directory).toBe("results");
    expect(state.get("results")!.outputs.stateVersion).toBe(1);
    expect(state.get("questions")!.outputs.stateVersion).toBe(1);
    expect(state.get("answers")!.outputs.stateVersion).toBe(1);
    const text = project.stateText();
    expect(text).not.toContain(project.workDir);
    expect(text).not.toContain(project.dir);
  });

  it("the project folder and its backend copied elsewhere: preview expects no changes", async () => {
    const moved = fs.mkdtempSync(path.join(os.tmpdir(), "pmb-e2e-moved-copy-"));
    try {
      fs.cpSync(project.dir, moved, { recursive: true, verbatimSymlinks: true });
      const env = { ...process.env, ...project.env({ PULUMI_BACKEND_URL: `file://${path.join(moved, "state")}` }) };
      const options = { cwd: path.join(moved, "program"), env, maxBuffer: 64 << 20 };
      // --expect-no-changes fails the preview on any update or replacement.
      const preview = await promisify(execFile)(
        "pulumi",
        ["preview", "--expect-no-changes", "--diff", "--non-interactive", "--stack", "dev"],
        options,
      );
      project.onOutput(preview.stdout);
      expect(preview.stdout).toMatch(/4 unchanged/);
    } finally {
      fs.rmSync(moved, { recursive: true, force: true });
    }
  });
});
