/**
 * An Evaluation over an inline dataset (items with their expected answers), through the engine: the items become
 * the uploaded file, their `expected` values are scored, and each summary names its downloaded result files.
 * Each program is the project folder's `index.js` (the items written into it as a literal), run by the `pulumi` CLI
 * through the Node.js language host.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import { E2EProject, assertDistFresh, emulatorLib } from "./harness";
import type { Emulator } from "mistral-batch-emulator";
import type { ModelSummary } from "../../provider";
import { testProfile } from "../support/profile";

describe("Evaluation with an inline dataset", { timeout: 180_000 }, () => {
  let emulator: Emulator;
  let project: E2EProject;
  const items = Array.from({ length: 12 }, (_, i) => ({
    customId: `item-${i}`,
    body: { max_tokens: 16, messages: [{ role: "user", content: `What is ${i} * 3?` }] },
    expected: i * 3,
  }));

  beforeAll(async () => {
    assertDistFresh();
    emulator = await emulatorLib().startEmulator({
      profile: testProfile(),
      speed: { queueDelayMs: 50, requestsPerSecond: 500, cancelDelayMs: 50 },
    });
    project = new E2EProject("evaluation-inline");
  });

  afterAll(async () => {
    await emulator?.close();
    project?.cleanup();
  });

  it("uploads the items, scores their expected answers and reports where each model's results are", async () => {
    project.program(`
const { Evaluation } = require("pulumi-mistral-batch");
const evaluation = new Evaluation("inline", {
  dataset: ${JSON.stringify(items, null, 2)},
  scorer: { type: "numeric" },
  models: ["mistral-large-latest", "ministral-3b-latest"],
  outputDir: "out",
  waitForCompletion: { timeoutMinutes: 2, pollIntervalSeconds: 0.2 },
});
module.exports = { summaries: evaluation.summaries };`);
    const stack = await project.stack(emulator.url);
    const up = await stack.up({ onOutput: project.onOutput });
    const summaries = up.outputs.summaries.value as ModelSummary[];

    // The uploaded file holds the items as {custom_id, body}, the expected answers stripped.
    // One per model: each model's RequestSet uploads the requests it submits.
    const uploads = [...emulator.store.files.values()].filter((f) => f.source === "upload");
    expect(uploads).toHaveLength(2);
    const uploaded = fs
      .readFileSync(emulator.store.blobPath(uploads[0].id), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    // Each custom_id carries the key of its body (`<custom_id>#<key>`): the results say which content they answer.
    expect(uploaded.map((l) => String(l.custom_id).replace(/#[0-9a-f]{16}$/, ""))).toEqual(
      items.map((i) => i.customId),
    );
    expect(uploaded.every((l) => !("expected" in l))).toBe(true);

    expect(summaries.map((s) => s.model)).toEqual(["mistral-large-latest", "ministral-3b-latest"]);
    for (const s of summaries) {
      expect(s).toMatchObject({ total: 12, succeeded: 12, scored: 12 });
      // The program's relative outputDir resolves in the project folder, where it runs.
      // Relative to the project folder (state does not depend on where it is).
      expect(s.outputPath!.startsWith(`out/results/${s.model}/`), s.outputPath!).toBe(true);
      // Independent check: the answers in the downloaded output file against the items' expected values.
      const lines = fs
        .readFileSync(path.join(project.workDir, s.outputPath!), "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l));
      expect(lines).toHaveLength(12);
      const right = lines.filter((l) => {
        const numbers = String(l.response.body.choices[0].message.content).match(/-?\d+/g) ?? [];
        return Number(numbers[numbers.length - 1]) === items.find((i) => i.customId === l.custom_id)!.expected;
      }).length;
      expect(s.accuracy).toBeCloseTo(right / 12, 10);
      expect(s.errorPath ?? null).toBeNull();
    }
    await stack.destroy({ onOutput: project.onOutput });
    expect([...emulator.store.files.values()].filter((f) => f.source === "upload")).toEqual([]);
  });

  it("refuses an empty inline dataset with a clear message", async () => {
    // Another stack of the same project folder, its program edited to declare an empty dataset.
    project.program(`
const { Evaluation } = require("pulumi-mistral-batch");
new Evaluation("empty", { dataset: [], models: ["mistral-small-latest"], outputDir: "empty" });`);
    const stack = await project.stack(emulator.url, "empty");
    await expect(stack.preview({ onOutput: project.onOutput })).rejects.toThrow(
      /Evaluation "empty": dataset is \[\]; expected a JSONL path or a non-empty list/,
    );
  });
});
