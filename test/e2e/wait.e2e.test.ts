/**
 * `waitForCompletion` through the real engine: `up` returns with a final status; a wait that times out, or a job
 * that ends FAILED while `up` waits, fails the update but keeps the job in state, and the next `up` resumes
 * waiting (or, with `resubmitOn`, submits it again) without ever leaving a duplicate job. Each program is a project
 * folder of its own, run by the `pulumi` CLI in that folder through the Node.js language host.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { E2EProject, assertDistFresh, chatJsonl, emulatorLib, previewSteps, resources, failure } from "./harness";
import type { Emulator } from "mistral-batch-emulator";
import type { BatchJobStatus } from "../../provider/jobLogic";
import { testProfile } from "../support/profile";

type Stack = Awaited<ReturnType<E2EProject["stack"]>>;
type UpResult = Awaited<ReturnType<Stack["up"]>>;

describe("BatchJob waitForCompletion through the engine", { timeout: 240_000 }, () => {
  /** Wall clock, fast: a job of 50 requests is queued 200 ms, then runs 2 s. */
  let fast: Emulator;
  /** Manual clock: jobs move only when the test says so. */
  let manual: Emulator;
  /** Every project folder made, removed at the end. */
  const projects: E2EProject[] = [];

  /** What each stack's program declares; tests change it between operations, as a user edits their program. */
  interface Declared {
    wait: { timeoutMinutes: number; pollIntervalSeconds: number };
    resubmitOn?: BatchJobStatus[];
  }
  /** The program (`index.js`) declaring `declared`. */
  const programFor = (declared: Declared) => `
const { BatchFile, BatchJob } = require("pulumi-mistral-batch");
const file = new BatchFile("questions", { source: "data/questions.jsonl", endpoint: "/v1/chat/completions" });
const job = new BatchJob("answers", {
  inputFiles: [file.id],
  model: "mistral-small-latest",
  waitForCompletion: ${JSON.stringify(declared.wait)},${declared.resubmitOn ? `\n  resubmitOn: ${JSON.stringify(declared.resubmitOn)},` : ""}
});
module.exports = {
  jobId: job.id,
  status: job.status,
  total: job.totalRequests,
  completed: job.completedRequests,
  succeeded: job.succeededRequests,
  failed: job.failedRequests,
  outputFileId: job.outputFileId,
};`;

  /** Changes what a scenario's program declares and rewrites its `index.js`, before the next operation. */
  type Declare = (change: Partial<Declared>) => void;
  /** A project folder of its own for one scenario: each declares its own wait, against its own emulator. */
  const projectFor = (name: string, declared: Declared): { project: E2EProject; declare: Declare } => {
    const project = new E2EProject(`wait-${name}`, {
      files: { "data/questions.jsonl": chatJsonl(50) },
      program: programFor(declared),
    });
    projects.push(project);
    const declare: Declare = (change) => {
      Object.assign(declared, change);
      project.program(programFor(declared));
    };
    return { project, declare };
  };

  beforeAll(async () => {
    assertDistFresh();
    fast = await emulatorLib().startEmulator({
      profile: testProfile(),
      speed: { queueDelayMs: 200, requestsPerSecond: 25, cancelDelayMs: 100 },
    });
    manual = await emulatorLib().startEmulator({
      profile: testProfile(),
      clock: "manual",
      speed: { queueDelayMs: 1000, requestsPerSecond: 10, cancelDelayMs: 500 },
    });
  });

  afterAll(async () => {
    await fast?.close();
    await manual?.close();
    for (const p of projects) p.cleanup();
  });

  const jobsIn = (e: Emulator) => [...e.store.jobs.values()];

  describe("with a job that finishes in time", () => {
    let project: E2EProject;
    let stack: Stack;
    beforeAll(async () => {
      ({ project } = projectFor("fast", { wait: { timeoutMinutes: 1, pollIntervalSeconds: 0.2 } }));
      stack = await project.stack(fast.url, "fast");
    });

    it("up returns with SUCCESS and the counts, and the engine output shows the provider's progress", async () => {
      const output: string[] = [];
      const result = await stack.up({
        onOutput: (t) => {
          output.push(t);
          project.onOutput(t);
        },
      });
      expect(result.summary.result).toBe("succeeded");
      const o = result.outputs;
      expect(o.status.value).toBe("SUCCESS");
      expect([o.total.value, o.completed.value, o.succeeded.value, o.failed.value]).toEqual([50, 50, 50, 0]);
      const jobs = jobsIn(fast);
      expect(jobs.map((j) => j.id)).toEqual([o.jobId.value]);
      expect(jobs[0]).toMatchObject({
        status: "SUCCESS",
        total_requests: 50,
        succeeded_requests: 50,
        output_file: o.outputFileId.value,
      });
      const text = output.join("");
      expect(text).toMatch(/answers.*submitted, QUEUED/);
      expect(text).toMatch(/RUNNING \d+\/50/);
      expect(text).toContain("SUCCESS 50/50 (100%)");
      expect((await resources(stack)).get("answers")?.outputs).toMatchObject({
        status: "SUCCESS",
        succeededRequests: 50,
      });
    });
  });

  describe("with a wait that times out", () => {
    let stack: Stack;
    let jobId: string;
    // 0.05 minutes = 3 s, on an emulator whose clock does not move: the job stays QUEUED.
    let project: E2EProject;
    let declare: Declare;
    beforeAll(async () => {
      ({ project, declare } = projectFor("timeout", { wait: { timeoutMinutes: 0.05, pollIntervalSeconds: 0.2 } }));
      stack = await project.stack(manual.url, "timeout");
    });

    it("up fails saying the job is still QUEUED and the next up resumes, and keeps the job in state", async () => {
      const message = await failure(stack.up({ onOutput: project.onOutput }));
      const expected =
        /BatchJob "answers" \(([0-9a-f-]{36})\) is still QUEUED \(QUEUED 0\/0\) after waiting 3 s \(waitForCompletion\.timeoutMinutes 0\.05\); it stays in state and the next `pulumi up` resumes waiting/;
      expect(message).toMatch(expected);
      const jobs = jobsIn(manual);
      expect(jobs).toHaveLength(1);
      jobId = jobs[0].id;
      expect(message.match(expected)![1]).toBe(jobId);
      expect(jobs[0].status).toBe("QUEUED");
      // The job is in state with its id, its outputs as of the timeout, and the message as an init error.
      const state = (await resources(stack)).get("answers")!;
      expect(state.id).toBe(jobId);
      expect(state.outputs).toMatchObject({ jobId, status: "QUEUED", totalRequests: 0 });
      expect(state.outputs.__provider).toEqual(expect.any(String));
      expect(state.initErrors).toHaveLength(1);
      expect(state.initErrors![0]).toMatch(expected);
    });

    it("an up while the job still has not moved resumes waiting on it and times out again: still one job", async () => {
      // Nothing changed in the program: the engine updates the job only because of its init error.
      const message = await failure(stack.up({ onOutput: project.onOutput }));
      expect(message).toContain(
        `BatchJob "answers" (${jobId}) is still QUEUED (QUEUED 0/0) after waiting 3 s (waitForCompletion.timeoutMinutes 0.05)`,
      );
      expect(jobsIn(manual).map((j) => j.id)).toEqual([jobId]);
      const state = (await resources(stack)).get("answers")!;
      expect(state.id).toBe(jobId);
      expect(state.initErrors).toHaveLength(1);
    });

    it("the next up resumes waiting on the same job until SUCCESS: no resubmission", async () => {
      await manual.advance(1200); // out of the queue, 2 of 50 answered
      expect(manual.store.jobs.get(jobId)?.status).toBe("RUNNING");
      // As the message advises, wait longer this time (a policy: updates in place, submits nothing).
      declare({ wait: { timeoutMinutes: 1, pollIntervalSeconds: 0.2 } });
      const output: string[] = [];
      // The job needs 4.8 s of emulated time more. The clock stands still until this up reports the job RUNNING (it
      // is waiting, then), and only then moves, 2.5 s per second; after 60 s (a loaded machine can take that long to
      // reach the first poll) it moves anyway, so a missing progress line fails the assertions below, not the timeout.
      let ticking: ReturnType<typeof setInterval> | undefined;
      const tick = () => (ticking ??= setInterval(() => void manual.advance(250), 100));
      const fallback = setTimeout(tick, 60_000);
      let result: UpResult;
      try {
        result = await stack.up({
          onOutput: (t) => {
            output.push(t);
            project.onOutput(t);
            if (/answers" \(.+\): RUNNING/.test(output.join(""))) tick();
          },
        });
      } finally {
        clearTimeout(fallback);
        clearInterval(ticking);
      }
      expect(result.summary.result).toBe("succeeded");
      expect(result.summary.resourceChanges).toEqual({ same: 2, update: 1 }); // in place: the same job
      expect(result.outputs.jobId.value).toBe(jobId);
      expect(result.outputs.status.value).toBe("SUCCESS");
      expect(result.outputs.succeeded.value).toBe(50);
      expect(output.join("")).toContain(`BatchJob "answers" (${jobId}): RUNNING 2/50 (4%)`);
      expect(output.join("")).toContain(`BatchJob "answers" (${jobId}): SUCCESS 50/50 (100%)`);
      expect(output.join("")).not.toContain("submitted");
      expect(jobsIn(manual).map((j) => j.id)).toEqual([jobId]);
      const state = (await resources(stack)).get("answers")!;
      expect(state.id).toBe(jobId);
      expect(state.initErrors ?? []).toEqual([]);
      expect(state.outputs).toMatchObject({
        status: "SUCCESS",
        outputFileId: manual.store.jobs.get(jobId)!.output_file,
      });
    });
  });

  describe("with a job that ends FAILED while up waits", () => {
    let failing: Emulator;
    let stack: Stack;
    let failedId: string;
    let project: E2EProject;
    let declare: Declare;
    beforeAll(async () => {
      ({ project, declare } = projectFor("failed", { wait: { timeoutMinutes: 1, pollIntervalSeconds: 0.2 } }));
      failing = await emulatorLib().startEmulator({
        profile: testProfile(),
        clock: "manual",
        speed: { queueDelayMs: 1000, requestsPerSecond: 10, cancelDelayMs: 500 },
      });
      stack = await project.stack(failing.url, "failed");
    });
    afterAll(async () => {
      await failing?.close();
    });

    it("up fails naming FAILED and the job's error; the job stays in state", async () => {
      const up = failure(stack.up({ onOutput: project.onOutput }));
      // Once the job is submitted (the clock stands still: it is QUEUED), make it fail, then let it start.
      const deadline = Date.now() + 60_000;
      while (failing.store.jobs.size === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      failedId = jobsIn(failing)[0].id;
      const res = await fetch(`${failing.url}/__emulator/jobs/${failedId}/fail`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ message: "model overloaded" }),
      });
      expect(res.status).toBe(200);
      await failing.advance(1000);
      const message = await up;
      expect(message).toContain(`BatchJob "answers" (${failedId}) ended FAILED: model overloaded (x1)`);
      expect(message).toContain(`set resubmitOn: ["FAILED"] to submit it again on the next \`pulumi up\``);
      expect(jobsIn(failing).map((j) => [j.id, j.status])).toEqual([[failedId, "FAILED"]]);
      const state = (await resources(stack)).get("answers")!;
      expect(state.id).toBe(failedId);
      expect(state.outputs).toMatchObject({ status: "FAILED", errors: [{ message: "model overloaded", count: 1 }] });
      expect(state.initErrors?.[0]).toContain("ended FAILED: model overloaded");
    });

    it("without resubmitOn, the next up keeps the FAILED job and submits nothing", async () => {
      const result = await stack.up({ onOutput: project.onOutput });
      expect(result.outputs.jobId.value).toBe(failedId);
      expect(result.outputs.status.value).toBe("FAILED");
      expect(jobsIn(failing)).toHaveLength(1);
    });

    it('with resubmitOn: ["FAILED"], preview shows the job replaced and up submits a second job', async () => {
      declare({ resubmitOn: ["FAILED"] });
      expect(await previewSteps(stack)).toEqual({ questions: "same", answers: "replace" });
      expect(jobsIn(failing)).toHaveLength(1);
      const ticking = setInterval(() => void failing.advance(1000), 100);
      let result: UpResult;
      try {
        result = await stack.up({ onOutput: project.onOutput });
      } finally {
        clearInterval(ticking);
      }
      expect(result.summary.result).toBe("succeeded");
      expect(result.summary.resourceChanges).toMatchObject({ same: 2, replace: 1 });
      const jobs = jobsIn(failing);
      expect(jobs).toHaveLength(2);
      const replacement = jobs.find((j) => j.id !== failedId)!;
      expect(failing.store.jobs.get(failedId)?.status).toBe("FAILED");
      expect(replacement.status).toBe("SUCCESS");
      // Same inputs, same idempotency key: the FAILED job is not adoptable, so a new one was submitted.
      expect(replacement.metadata?.pulumi_idempotency_key).toBe(
        failing.store.jobs.get(failedId)?.metadata?.pulumi_idempotency_key,
      );
      expect(result.outputs.jobId.value).toBe(replacement.id);
      expect(result.outputs.status.value).toBe("SUCCESS");
      const state = (await resources(stack)).get("answers")!;
      expect(state.id).toBe(replacement.id);
      expect(state.initErrors ?? []).toEqual([]);
    });
  });
});
