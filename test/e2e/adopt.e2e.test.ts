/**
 * Adopting what exists, through the real engine: a file and a job created with the official SDK outside Pulumi,
 * read into a program with `BatchFile.get` / `BatchJob.get`; `up` reads them, `refresh` follows the job, and
 * `destroy` leaves them alone (Pulumi never deletes what a program only read). The program is a project folder, run
 * by the `pulumi` CLI in that folder through the Node.js language host.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Mistral } from "@mistralai/mistralai";
import { API_KEY, E2EProject, assertDistFresh, chatJsonl, emulatorLib, resources } from "./harness";
import type { Emulator } from "mistral-batch-emulator";
import { testProfile } from "../support/profile";

describe("BatchJob.get / BatchFile.get through the engine", { timeout: 240_000 }, () => {
  let emulator: Emulator;
  let project: E2EProject;
  let stack: Awaited<ReturnType<E2EProject["stack"]>>;
  let sdk: Mistral;
  // What the program reads; tests change it between operations, as a user edits their program.
  const declared: { fileId: string; jobId: string; secondJobId?: string } = { fileId: "", jobId: "" };

  /** Writes the program for what is read now. */
  const declare = (change: Partial<typeof declared> = {}) => {
    Object.assign(declared, change);
    const second = declared.secondJobId;
    project.program(`
const { BatchFile, BatchJob } = require("pulumi-mistral-batch");
const file = BatchFile.get("uploaded", ${JSON.stringify(declared.fileId)});
const legacy = BatchJob.get("legacy", ${JSON.stringify(declared.jobId)});${second ? `\nconst second = BatchJob.get("second", ${JSON.stringify(second)});` : ""}
module.exports = {
  fileName: file.filename,
  fileLines: file.lineCount,
  jobId: legacy.jobId,
  status: legacy.status,
  total: legacy.totalRequests,
  completed: legacy.completedRequests,
  succeeded: legacy.succeededRequests,
  failed: legacy.failedRequests,
  outputFileId: legacy.outputFileId,${second ? "\n  secondStatus: second.status," : ""}
};`);
  };

  beforeAll(async () => {
    assertDistFresh();
    // The emulator checks the key: the engine's provider must send the stack's secret one.
    emulator = await emulatorLib().startEmulator({
      profile: testProfile(),
      apiKey: API_KEY,
      clock: "manual",
      speed: { queueDelayMs: 1000, requestsPerSecond: 10, cancelDelayMs: 500 },
    });
    sdk = new Mistral({ apiKey: API_KEY, serverURL: emulator.url });
    // Outside Pulumi: a file uploaded and a job submitted with the official SDK.
    const file = await sdk.files.upload({
      file: { fileName: "legacy.jsonl", content: Buffer.from(chatJsonl(20)) },
      purpose: "batch",
    });
    const job = await sdk.batch.jobs.create({
      inputFiles: [file.id],
      model: "mistral-large-latest",
      endpoint: "/v1/chat/completions",
      metadata: { team: "legacy" },
    });
    await emulator.advance(1500); // out of the queue 0.5 s ago: 5 of 20 answered
    project = new E2EProject("adopt");
    declare({ fileId: file.id, jobId: job.id });
    stack = await project.stack(emulator.url);
  });

  afterAll(async () => {
    await emulator?.close();
    project?.cleanup();
  });

  const remoteJob = (id: string) => emulator.store.jobs.get(id)!;

  it("up reads the job and the file into state and outputs, changing nothing remote", async () => {
    const before = { ...remoteJob(declared.jobId), internal: undefined };
    expect(before).toMatchObject({ status: "RUNNING", completed_requests: 5, total_requests: 20 });
    const result = await stack.up({ onOutput: project.onOutput });
    expect(result.summary.result).toBe("succeeded");
    const o = result.outputs;
    const job = remoteJob(declared.jobId);
    expect(o.jobId.value).toBe(declared.jobId);
    expect(o.status.value).toBe(job.status);
    expect([o.total.value, o.completed.value, o.succeeded.value, o.failed.value]).toEqual([
      job.total_requests,
      job.completed_requests,
      job.succeeded_requests,
      job.failed_requests,
    ]);
    expect(o.outputFileId.value).toBeNull();
    expect(o.fileName.value).toBe("legacy.jsonl");
    expect(o.fileLines.value).toBe(20);

    // Recorded as read (external) resources, with the ids given.
    const exported = (await stack.exportStack()).deployment as {
      resources: { urn: string; id?: string; external?: boolean; outputs?: Record<string, unknown> }[];
    };
    const byName = Object.fromEntries(exported.resources.map((r) => [r.urn.split("::").pop(), r]));

    expect(byName.legacy).toMatchObject({ id: declared.jobId, external: true });
    expect(byName.uploaded).toMatchObject({ id: declared.fileId, external: true });
    expect(byName.legacy.outputs).toMatchObject({
      model: "mistral-large-latest",
      metadata: { team: "legacy" },
      inputFiles: [declared.fileId],
      adopted: true,
    });

    // Nothing submitted, uploaded or cancelled.
    expect(emulator.store.jobs.size).toBe(1);
    expect([...emulator.store.files.values()].filter((f) => f.source === "upload")).toHaveLength(1);
    expect(remoteJob(declared.jobId).status).toBe("RUNNING");
  });

  it("refresh after the job finishes records SUCCESS, the counts and the output file", async () => {
    await emulator.advance(60_000);
    const job = remoteJob(declared.jobId);
    expect(job.status).toBe("SUCCESS");
    const refreshed = await stack.refresh({ onOutput: project.onOutput });
    expect(refreshed.summary.result).toBe("succeeded");
    const state = (await resources(stack)).get("legacy")!;
    expect(state.outputs).toMatchObject({
      status: "SUCCESS",
      totalRequests: 20,
      completedRequests: 20,
      succeededRequests: 20,
      failedRequests: 0,
      outputFileId: job.output_file,
    });
    expect(emulator.store.files.get(job.output_file!)?.sample_type).toBe("batch_result");
    // The stack's outputs follow at the next up, which reads again.
    const result = await stack.up({ onOutput: project.onOutput });
    expect(result.outputs.status.value).toBe("SUCCESS");
    expect(result.outputs.outputFileId.value).toBe(job.output_file);
  });

  it("destroy drops the read resources from state and leaves the file and the jobs alone, even a running one", async () => {
    const second = await sdk.batch.jobs.create({
      inputFiles: [declared.fileId],
      model: "mistral-small-latest",
      endpoint: "/v1/chat/completions",
    });
    declare({ secondJobId: second.id });
    await emulator.advance(1200); // the second job is RUNNING
    const result = await stack.up({ onOutput: project.onOutput });
    expect(result.outputs.secondStatus.value).toBe("RUNNING");

    const destroyed = await stack.destroy({ onOutput: project.onOutput });
    expect(destroyed.summary.result).toBe("succeeded");
    // The three read resources are discarded from state, not deleted; only the stack itself is deleted.
    expect(destroyed.summary.resourceChanges).toEqual({ delete: 1, discard: 3 });
    expect((await resources(stack)).size).toBe(0);
    // Pulumi does not call delete for resources read with `get`: no cancel, no file deletion.
    expect(remoteJob(second.id).status).toBe("RUNNING");
    expect(remoteJob(declared.jobId).status).toBe("SUCCESS");
    expect(emulator.store.files.has(declared.fileId)).toBe(true);
    expect(emulator.store.files.has(remoteJob(declared.jobId).output_file!)).toBe(true);
    expect(emulator.store.jobs.size).toBe(2);
  });

  it("never shows the API key in the state files or the engine's output", () => {
    expect(project.logs.join("")).not.toContain(API_KEY);
    expect(project.stateText()).not.toContain(API_KEY);
  });
});
