/**
 * An Evaluation run incrementally through the real engine, on an emulator whose model fails some requests the first
 * time only (transient 5xx): the first `up` keeps those failed; an `up` with `retryFailed` sends only them again, as
 * one small job, and the report counts them; a fresh checkout (no output directory on this machine) recovers every
 * result from Mistral's files recorded in state and submits nothing; expected answers added after a run re-score the
 * stored results and submit nothing (what is uploaded is only custom_id and body).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { Emulator } from "mistral-batch-emulator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ModelSummary } from "../../provider";
import { testProfile } from "../support/profile";
import { assertDistFresh, E2EProject, emulatorLib } from "./harness";

type Stack = Awaited<ReturnType<E2EProject["stack"]>>;

const ITEMS = 40;
const FLAKY = {
  id: "flaky-chat",
  endpoints: ["/v1/chat/completions" as const],
  accuracy: 1,
  failureRate: 0.25,
  failureAttempts: 1,
};

function program(retryFailed: boolean, expected = true): string {
  return `
const { Evaluation } = require("pulumi-mistral-batch");
const items = Array.from({ length: ${ITEMS} }, (_, i) => ({
  customId: "q" + i,
  body: { max_tokens: 16, messages: [{ role: "user", content: "What is " + i + " + 2?" }] },
  ${expected ? "expected: i + 2," : ""}
}));
const evaluation = new Evaluation("inc", {
  dataset: items,
  scorer: { type: "numeric" },
  models: ["flaky-chat"],
  outputDir: "out",
  retryFailed: ${retryFailed},
  waitForCompletion: { timeoutMinutes: 2, pollIntervalSeconds: 0.2 },
});
module.exports = { summaries: evaluation.summaries };`;
}

describe("an Evaluation run incrementally through the engine", { timeout: 240_000 }, () => {
  let emulator: Emulator;
  let project: E2EProject;
  let stack: Stack;

  beforeAll(async () => {
    assertDistFresh();
    const lib = emulatorLib();
    emulator = await lib.startEmulator({
      profile: testProfile(),
      speed: { queueDelayMs: 50, requestsPerSecond: 1000, cancelDelayMs: 50 },
      models: [...lib.DEFAULT_MODELS, FLAKY],
    });
    project = new E2EProject("incremental");
    project.program(program(false, false));
    stack = await project.stack(emulator.url);
  });

  afterAll(async () => {
    await emulator?.close();
    project?.cleanup();
  });

  const jobs = () => [...emulator.store.jobs.values()];
  const summaryOf = (up: Awaited<ReturnType<Stack["up"]>>) => (up.outputs.summaries.value as ModelSummary[])[0]!;
  let failed = 0;

  it("up keeps the failed requests failed; expected answers added later score them, submitting nothing", async () => {
    const first = summaryOf(await stack.up({ onOutput: project.onOutput }));
    failed = first.failed;
    expect(failed).toBeGreaterThan(0);
    expect(first).toMatchObject({ total: ITEMS, succeeded: ITEMS - failed, submitted: ITEMS, retried: 0, scored: 0 });
    expect(first.accuracy).toBeNull();

    project.program(program(false));
    const again = summaryOf(await stack.up({ onOutput: project.onOutput }));
    expect(again).toMatchObject({ failed, submitted: 0, expectedItems: ITEMS, scored: ITEMS - failed });
    // The model answers every item right: the answered ones score 1, the failed ones count 0 in the strict figure.
    expect(again.accuracy).toBe(1);
    expect(again.strictAccuracy).toBeCloseTo((ITEMS - failed) / ITEMS, 6);
    expect(jobs()).toHaveLength(1);
  });

  it("an up with retryFailed sends only the failed requests again, as one small job", async () => {
    project.program(program(true));
    const retried = summaryOf(await stack.up({ onOutput: project.onOutput }));
    expect(retried).toMatchObject({ total: ITEMS, succeeded: ITEMS, failed: 0, submitted: failed, retried: failed });
    expect(jobs().map((j) => j.total_requests)).toEqual([ITEMS, failed]);
    expect(retried.jobIds).toEqual(jobs().map((j) => j.id));
  });

  it("a fresh checkout without the output directory recovers every result from Mistral's files, submitting nothing", async () => {
    fs.rmSync(path.join(project.workDir, "out"), { recursive: true, force: true });
    const output: string[] = [];
    const up = await stack.up({ onOutput: (t) => output.push(t) });
    const summary = summaryOf(up);
    expect(summary).toMatchObject({ total: ITEMS, succeeded: ITEMS, failed: 0, submitted: 0, scored: ITEMS });
    expect(jobs()).toHaveLength(2);
    expect(output.join("")).toMatch(/\+0 new, 40 reused, 0 removed/);
    expect(fs.existsSync(path.join(project.workDir, "out", "report.html"))).toBe(true);
  });
});
