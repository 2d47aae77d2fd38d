/**
 * Judge scoring through batch, through the engine: an Evaluation whose scorer is a judge model grades each answer
 * with a batch job of its own (one RequestSet per run), at the batch price, shown in the estimate and the report.
 * The emulator's deterministic judge (`emulator-judge-latest`) replies CORRECT when the answer holds the expected
 * number as a whole number: the test computes every verdict itself from the emulator's files. A second `up`
 * submits nothing; a new rubric grades again without asking the models again. A dataset cut in shards is graded
 * shard by shard (each grading job after its answers, the next wave after the grades); a run whose every request
 * failed has nothing to grade, which is said, and the report is still written.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import { E2EProject, assertDistFresh, emulatorLib, failure, previewSteps } from "./harness";
import type { Emulator } from "mistral-batch-emulator";
import type { ModelSummary } from "../../provider";
import { formatUsd } from "../../provider/eval/report/format";
import { testProfile } from "../support/profile";

type Stack = Awaited<ReturnType<E2EProject["stack"]>>;
/** A line of a job's input or output file, as far as these tests read it. */
interface Line {
  custom_id: string;
  body: { messages: { content: string }[] };
  response: { body: { choices: { message: { content: string } }[] } };
}

const JUDGE = "emulator-judge-latest";
const BROKEN = "broken-chat";
const STRICT = "Grade strictly. Reply CORRECT or INCORRECT.";
const items = Array.from({ length: 16 }, (_, i) => ({
  customId: `item-${i}`,
  body: { max_tokens: 16, messages: [{ role: "user", content: `What is ${i} * 7?` }] },
  expected: i * 7,
}));

describe("Evaluation with a judge scorer", { timeout: 240_000 }, () => {
  let emulator: Emulator;
  let project: E2EProject;
  let stack: Stack;
  const declare = (
    options: {
      rubric?: string;
      limits?: { requestsPerJob: number; pendingRequests: number };
      models?: string[];
      judge?: string;
    } = {},
  ) => {
    const { rubric, limits, models = ["mistral-small-latest", "ministral-3b-latest"], judge = JUDGE } = options;
    project.program(`
const { Evaluation } = require("pulumi-mistral-batch");
const evaluation = new Evaluation("graded", {
  dataset: ${JSON.stringify(items)},
  scorer: { type: "judge", model: "${judge}"${rubric ? `, rubric: ${JSON.stringify(rubric)}` : ""} },
  models: ${JSON.stringify(models)},
  prices: { models: { "${JUDGE}": { inputPerMTok: 1, outputPerMTok: 3 } } },
  outputDir: "out",
  waitForCompletion: { timeoutMinutes: 2, pollIntervalSeconds: 0.2 },${limits ? `\n  limits: ${JSON.stringify(limits)},` : ""}
});
module.exports = { summaries: evaluation.summaries, markdownPath: evaluation.markdownPath };`);
  };

  beforeAll(async () => {
    assertDistFresh();
    const lib = emulatorLib();
    emulator = await lib.startEmulator({
      profile: testProfile(),
      speed: { queueDelayMs: 50, requestsPerSecond: 500, cancelDelayMs: 50 },
      // The emulator refuses a job that would take the workspace over this: 3 models x 16 items.
      maxPendingRequests: 3 * items.length,
      // A model whose every request fails (a per-request error): nothing of its runs to grade.
      models: [...lib.DEFAULT_MODELS, { id: BROKEN, endpoints: ["/v1/chat/completions"], accuracy: 1, failureRate: 1 }],
    });
    project = new E2EProject("judge");
    declare();
    stack = await project.stack(emulator.url);
  });

  afterAll(async () => {
    await emulator?.close();
    project?.cleanup();
  });

  const jobs = () => [...emulator.store.jobs.values()];
  /** A job's input lines and output lines, as the emulator holds them (custom_ids without the body key). */
  const linesOf = (fileId: string) =>
    fs
      .readFileSync(emulator.store.blobPath(fileId), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Line)
      .map((l): Line => ({ ...l, custom_id: String(l.custom_id).replace(/#[0-9a-f]{16}$/, "") }));
  const up = async () => {
    const result = await stack.up({ onOutput: project.onOutput });
    expect(result.summary.result).toBe("succeeded");
    return {
      changes: result.summary.resourceChanges ?? {},
      summaries: result.outputs.summaries.value as ModelSummary[],
      markdown: fs.readFileSync(path.join(project.workDir, result.outputs.markdownPath.value as string), "utf8"),
    };
  };

  it("preview estimates the judge's grading beside the answers, each its own row", async () => {
    const output: string[] = [];
    await previewSteps(stack, (t) => output.push(t));
    const text = output.join("");
    expect(text).toMatch(
      /judge of mistral-small-latest \(emulator-judge-latest\)\s+~[\d,]+ input tokens \+ <=128 output\s+\$[0-9.]+/,
    );
    expect(text).toMatch(
      /judge of ministral-3b-latest \(emulator-judge-latest\)\s+~[\d,]+ input tokens \+ <=128 output/,
    );
    expect(text).toMatch(/total\s+\$[0-9.]+ {2}upper bound \(max_tokens\)/);
  });

  it("up grades every answer with a batch job of the judge, and scores the runs by its verdicts", async () => {
    const result = await up();
    const byModel = (m: string) => jobs().filter((j) => j.model === m);
    expect(byModel("mistral-small-latest")).toHaveLength(1);
    expect(byModel("ministral-3b-latest")).toHaveLength(1);
    const judged = byModel(JUDGE);
    expect(judged).toHaveLength(2); // one grading job per run
    for (const s of result.summaries) {
      const answerJob = jobs().find((j) => j.id === s.jobId)!;
      const answers = new Map(
        linesOf(answerJob.output_file!).map((l) => [l.custom_id, l.response.body.choices[0].message.content as string]),
      );
      expect(answers.size).toBe(items.length);
      // The verdict the deterministic judge gives: the answer holds the expected number as a whole number.
      const right = items.filter((item) =>
        new RegExp(`(^|[^0-9.])${item.expected}($|[^0-9]|\\.(?![0-9]))`).test(
          answers.get(item.customId)!.toLowerCase(),
        ),
      ).length;
      expect(s.scored).toBe(items.length);
      expect(s.accuracy).toBeCloseTo(right / items.length, 10);
      // The grading job of this run: one request per answer, each with the expected answer and the answer.
      const grading = judged.find((j) => j.id === s.judge?.jobIds[0])!;
      expect(grading.metadata).toMatchObject({ evaluation: "graded", run: s.model, role: "judge" });
      const requests = linesOf(grading.input_files[0]!);
      expect(requests).toHaveLength(items.length);
      const first = requests.find((r) => r.custom_id === "item-3")!;
      expect(first.body.messages[1]!.content).toContain(
        `<expected>21</expected>\n<answer>${answers.get("item-3")}</answer>`,
      );
      expect(s.judge).toMatchObject({ model: JUDGE, graded: items.length, unreadable: 0 });
      expect(s.judge!.promptTokens).toBeGreaterThan(0);
      // $1 and $3 per million tokens, at half price.
      expect(s.judge!.cost).toBeCloseTo(((s.judge!.promptTokens * 1 + s.judge!.completionTokens * 3) / 1e6) * 0.5, 12);
    }
    expect(result.markdown).toContain(
      "Judge (batch jobs of its own, at the batch price): mistral-small-latest: 16 graded by `emulator-judge-latest`",
    );
    // What the evaluation cost in all: the answers' and the grading's.
    const spent = (f: (s: ModelSummary) => number | null | undefined) =>
      result.summaries.reduce((n, s) => n + (f(s) ?? 0), 0);
    const answers = spent((s) => s.cost);
    const grading = spent((s) => s.judge?.cost);
    expect(result.markdown).toContain(
      `Spent in all: ${formatUsd(answers + grading)} at the batch price (answers ${formatUsd(answers)}, grading ${formatUsd(grading)})`,
    );
  });

  it("a second up submits nothing: the answers and the grades are reused", async () => {
    const before = jobs().length;
    const again = await up();
    expect(jobs()).toHaveLength(before);
    expect(again.changes).toEqual({ same: 6 }); // the component, 2 answer sets, 2 judge sets and the stack
  });

  it("a new rubric grades again, without asking the models again", async () => {
    declare({ rubric: STRICT });
    const steps = await previewSteps(stack);
    expect(steps["graded-mistral-small-latest"]).toBe("same");
    expect(steps["graded-judge-mistral-small-latest"]).toBe("update");
    const before = jobs().map((j) => j.id);
    const result = await up();
    const added = jobs().filter((j) => !before.includes(j.id));
    expect(added.map((j) => j.model)).toEqual([JUDGE, JUDGE]);
    const rubric = linesOf(added[0]!.input_files[0]!)[0]!.body.messages[0]!.content;
    expect(rubric).toBe(STRICT);
    for (const s of result.summaries) expect(s.submitted).toBe(0);
  });

  it("a dataset cut in shards is graded shard by shard, each grade after its answers, the next wave after the grades", async () => {
    const limits = { requestsPerJob: 14, pendingRequests: 24 }; // shards of 12, 3 and 1 items: two waves
    declare({ rubric: STRICT, limits });
    const before = new Set(jobs().map((j) => j.id));
    const result = await up();
    const added = jobs().filter((j) => !before.has(j.id));
    const answering = added.filter((j) => j.model !== JUDGE);
    const grading = added.filter((j) => j.model === JUDGE);
    const shardIds = [...new Set(answering.map((j) => j.metadata?.shard))];
    expect(shardIds.length).toBeGreaterThan(1);
    expect(answering).toHaveLength(2 * shardIds.length);
    expect(grading).toHaveLength(2 * shardIds.length); // one grading job per run and shard
    for (const g of grading) {
      // It grades the answers of its own run and shard: the same custom_ids, no more than a job of answers holds.
      const answers = answering.find(
        (j) => j.metadata?.run === g.metadata?.run && j.metadata?.shard === g.metadata?.shard,
      )!;
      const ids = (f: string) =>
        linesOf(f)
          .map((l) => l.custom_id)
          .sort();
      expect(ids(g.input_files[0]!)).toEqual(ids(answers.input_files[0]!));
      expect(ids(g.input_files[0]!).length).toBeLessThanOrEqual(limits.requestsPerJob);
      expect(g.metadata).toMatchObject({ evaluation: "graded", role: "judge" });
    }
    // Every item is graded once, and the runs are scored by the grades of all their shards.
    for (const s of result.summaries) {
      expect(s.judge).toMatchObject({ graded: items.length, unreadable: 0 });
      expect(s.judge!.jobIds).toHaveLength(shardIds.length);
      expect(s.scored).toBe(items.length);
    }
    // In state: a grading set depends on its shard's answers; a set of a later wave on every set of the wave
    // before, answers and grades, so the grades of a wave are done before the next wave is submitted.
    const state = (await stack.exportStack()).deployment as { resources?: { urn: string; dependencies?: string[] }[] };
    const nameOf = (urn: string): string => urn.split("::").pop() ?? urn;
    const deps = new Map(
      (state.resources ?? []).map((r) => [nameOf(r.urn), (r.dependencies ?? []).map(nameOf)] as const),
    );
    for (const g of grading)
      expect(deps.get(`graded-judge-${g.metadata?.run}-${g.metadata?.shard}`)).toContain(
        `graded-${g.metadata?.run}-${g.metadata?.shard}`,
      );
    const later = [...deps].filter(([name, d]) => /^graded-(mistral|ministral)/.test(name) && d.length > 0);
    expect(later.length).toBeGreaterThan(0); // two waves at this pending limit
    for (const [, d] of later) expect(d.some((name) => name.startsWith("graded-judge-"))).toBe(true);
  });

  it("a run whose every request failed has nothing to grade: said, no grading job, and the report is written", async () => {
    const limits = { requestsPerJob: 14, pendingRequests: 24 };
    declare({ rubric: STRICT, limits, models: ["mistral-small-latest", "ministral-3b-latest", BROKEN] });
    const before = new Set(jobs().map((j) => j.id));
    const output: string[] = [];
    const result = await stack.up({ onOutput: (t) => output.push(t) });
    expect(result.summary.result).toBe("succeeded");
    const added = jobs().filter((j) => !before.has(j.id));
    expect(added.length).toBeGreaterThan(0);
    expect(added.every((j) => j.model === BROKEN)).toBe(true); // its answers only: nothing graded, nothing else asked
    expect(output.join("")).toMatch(
      new RegExp(
        `the judge of ${BROKEN} \\(shard [0-9a-f]{8}\\): nothing to grade \\(every one of its \\d+ request\\(s\\) failed\\)`,
      ),
    );
    const summaries = result.outputs.summaries.value as ModelSummary[];
    const broken = summaries.find((s) => s.model === BROKEN)!;
    // Scored on nothing (accuracy null); every item wrong when failures count (strictAccuracy).
    expect(broken).toMatchObject({ failed: items.length, succeeded: 0, scored: 0, accuracy: null, strictAccuracy: 0 });
    expect(broken.judge).toMatchObject({ graded: 0, jobIds: [] });
    for (const s of summaries.filter((x) => x.model !== BROKEN)) expect(s.judge?.graded).toBe(items.length);
    expect(result.outputs.markdownPath.value).toBeTruthy();
  });

  it("a judge model the models API does not list fails the preview, before any answer is bought", async () => {
    // With a new model too, whose answers an up would buy: the preview stops at the grading sets' model first.
    declare({
      rubric: STRICT,
      limits: { requestsPerJob: 14, pendingRequests: 24 },
      models: ["mistral-small-latest", "ministral-3b-latest", "mistral-large-latest"],
      judge: "emulator-judge-lastest",
    });
    const before = { files: emulator.store.files.size, jobs: emulator.store.jobs.size };
    const message = await failure(stack.preview({ onOutput: project.onOutput }));
    expect(message).toContain('model is "emulator-judge-lastest", which is not a model of this workspace');
    expect(message).toContain("emulator-judge-latest"); // the nearest, named
    expect({ files: emulator.store.files.size, jobs: emulator.store.jobs.size }).toEqual(before);
  });
});
