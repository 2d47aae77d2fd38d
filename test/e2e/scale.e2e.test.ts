/**
 * An Evaluation at scale through the real engine: 250,000 requests across 2 models, against an emulator whose
 * per-job cap (25,000) is a quarter of Mistral's so that each model runs in several shards while the test stays
 * quick. The first up submits every request once; editing 1% of the bodies (2,500 lines) then previews as
 * "+2500 new, 247500 reused, 2500 removed" per model and the next up submits exactly those 2,500 per model, while
 * every other result is kept.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { Emulator } from "mistral-batch-emulator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ModelSummary } from "../../provider";
import { testProfile } from "../support/profile";
import { assertDistFresh, E2EProject, emulatorLib } from "./harness";

type Stack = Awaited<ReturnType<E2EProject["stack"]>>;

const LINES = 250_000;
const REQUESTS_PER_JOB = 25_000;
const EDIT_EVERY = 100;
const MODELS = ["mistral-small-latest", "ministral-3b-latest"];

/** "What is a + b?" with the sum as the expected answer; with `edited`, every EDIT_EVERY-th line asks another sum. */
function arithmetic(edited: boolean): string {
  const lines: string[] = [];
  for (let i = 0; i < LINES; i++) {
    const a = i % 997;
    const b = edited && i % EDIT_EVERY === 0 ? 1000 + (i % 13) : i % 101;
    lines.push(
      JSON.stringify({
        custom_id: `q${i}`,
        expected: a + b,
        body: { max_tokens: 8, messages: [{ role: "user", content: `What is ${a} + ${b}?` }] },
      }),
    );
  }
  return `${lines.join("\n")}\n`;
}

describe("Evaluation of 250,000 requests x 2 models through the engine", { timeout: 600_000 }, () => {
  let emulator: Emulator;
  let project: E2EProject;
  let stack: Stack;
  const jobs = () => [...emulator.store.jobs.values()];

  beforeAll(async () => {
    assertDistFresh();
    emulator = await emulatorLib().startEmulator({
      profile: testProfile(),
      speed: { queueDelayMs: 20, requestsPerSecond: 1_000_000, cancelDelayMs: 20 },
      maxRequestsPerJob: REQUESTS_PER_JOB,
    });
    project = new E2EProject("scale", { files: { "data/arith.jsonl": arithmetic(false) } });
    project.program(`
const { Evaluation } = require("pulumi-mistral-batch");
const evaluation = new Evaluation("arith", {
  dataset: "data/arith.jsonl",
  expected: { field: "expected" },
  scorer: { type: "numeric" },
  models: ${JSON.stringify(MODELS)},
  outputDir: "eval-out",
  limits: { requestsPerJob: ${REQUESTS_PER_JOB} },
  waitForCompletion: { timeoutMinutes: 8, pollIntervalSeconds: 0.2 },
});
const shards = {};
for (const [label, list] of Object.entries(evaluation.shards)) shards[label] = list.map((s) => s.requests);
module.exports = { summaries: evaluation.summaries, shards };`);
    stack = await project.stack(emulator.url);
  });

  afterAll(async () => {
    await emulator?.close();
    project?.cleanup();
  });

  it("up runs every model in several shards within the per-job cap, each request submitted once", async () => {
    const result = await stack.up();
    expect(result.summary.result).toBe("succeeded");
    const shards = result.outputs.shards.value as Record<string, number[]>;
    for (const model of MODELS) {
      expect(shards[model]!.length).toBeGreaterThanOrEqual(LINES / REQUESTS_PER_JOB);
      expect(shards[model]!.every((n) => n <= REQUESTS_PER_JOB)).toBe(true);
      expect(shards[model]!.reduce((a, b) => a + b, 0)).toBe(LINES);
    }
    for (const model of MODELS) {
      const mine = jobs().filter((j) => j.model === model);
      expect(mine.every((j) => j.status === "SUCCESS" && j.total_requests <= REQUESTS_PER_JOB)).toBe(true);
      expect(mine.reduce((n, j) => n + j.total_requests, 0)).toBe(LINES);
    }
    const summaries = result.outputs.summaries.value as ModelSummary[];
    for (const s of summaries)
      expect(s).toMatchObject({ status: "SUCCESS", total: LINES, succeeded: LINES, failed: 0, scored: LINES });
    const rows = fs.readFileSync(path.join(project.workDir, "eval-out", "rows.jsonl"), "utf8");
    expect(rows.trim().split("\n")).toHaveLength(LINES);
  });

  it("editing 1% of the bodies previews the delta per model and up submits only those requests", async () => {
    const edited = LINES / EDIT_EVERY;
    project.write("data/arith.jsonl", arithmetic(true));
    const before = jobs().length;

    const preview: string[] = [];
    await stack.preview({ onOutput: (t) => preview.push(t) });
    expect(jobs()).toHaveLength(before);
    // One line per set (shown in the progress and again under Diagnostics: keyed by set); a model's sets add up.
    const perSet = new Map<string, [string, number, number, number]>();
    const text = preview.join("");
    for (const m of text.matchAll(
      /RequestSet "arith-(.+)-([0-9a-f]{8}(?:-\d+)?)": \+(\d+) new, (\d+) reused, (\d+) removed/g,
    ))
      perSet.set(`${m[1]}/${m[2]}`, [m[1]!, Number(m[3]), Number(m[4]), Number(m[5])]);
    const deltas = new Map<string, number[]>();
    for (const [model, ...counts] of perSet.values())
      deltas.set(
        model,
        (deltas.get(model) ?? [0, 0, 0]).map((n, i) => n + counts[i]!),
      );
    for (const model of MODELS) expect(deltas.get(model)).toEqual([edited, LINES - edited, edited]);

    const result = await stack.up();
    expect(result.summary.result).toBe("succeeded");
    const added = jobs().slice(before);
    for (const model of MODELS)
      expect(added.filter((j) => j.model === model).reduce((n, j) => n + j.total_requests, 0)).toBe(edited);
    const summaries = result.outputs.summaries.value as ModelSummary[];
    for (const s of summaries)
      expect(s).toMatchObject({ total: LINES, succeeded: LINES, submitted: edited, scored: LINES });
  });
});
