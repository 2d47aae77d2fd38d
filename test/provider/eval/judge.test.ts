/**
 * Judge scoring (provider/eval/judge.ts) without the engine: the plan of the judge's sets and estimates, the grading
 * requests written from a run's answers (dataset order, unchanged file for unchanged answers), the verdicts read
 * back; the plan's refusals; and the emulator's deterministic judge whose verdicts the engine tests compute.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { answerRequest, DEFAULT_MODELS } from "../../../packages/emulator/src/models";
import { judgeVerdict } from "../../../packages/emulator/src/models/answers/chat";
import {
  JUDGE_MAX_TOKENS,
  JUDGE_RUBRIC,
  judgeBody,
  planJudge,
  readVerdicts,
  verdictScore,
  writeJudgeRequests,
} from "../../../provider/eval/judge";
import { describeShards, planEvaluation } from "../../../provider/eval/plan";
import { DEFAULT_PRICES } from "../../../provider/eval/pricing";
import { checkScorer } from "../../../provider/eval/scoring";
import { chatResult } from "../../support/resultLines";

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "judge-test-"));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const write = (name: string, lines: unknown[]) => {
  const file = path.join(dir, name);
  fs.writeFileSync(file, `${lines.map((l) => JSON.stringify(l)).join("\n")}\n`);
  return file;
};

describe("the judge scorer's checks", () => {
  it("takes a model, and optionally a rubric and maxTokens; names the field and value it refuses", () => {
    expect(checkScorer({ type: "judge", model: "mistral-large-latest" })).toEqual([]);
    expect(checkScorer({ type: "judge", model: "m", rubric: "Be strict.", maxTokens: 4 })).toEqual([]);
    expect(checkScorer({ type: "judge" })).toEqual([
      'scorer.model is missing; expected the grading model\'s name, e.g. "mistral-large-latest"',
    ]);
    expect(checkScorer({ type: "judge", model: "m", rubric: " ", maxTokens: 0 })).toEqual([
      'scorer.rubric is " "; expected the judge\'s instructions as a non-empty string',
      "scorer.maxTokens is 0; expected a whole number >= 1 (default 8)",
    ]);
  });

  it("plans one set per run, named for it, and refuses a dataset without expected answers or an up that does not wait", () => {
    const data = write("d.jsonl", [
      { custom_id: "a", expected: 1, body: { max_tokens: 10, messages: [{ role: "user", content: "1?" }] } },
    ]);
    const base = {
      dataset: data,
      models: ["mistral-small-latest", { name: "ministral-3b-latest", label: "tiny" }],
      outputDir: path.join(dir, "out"),
      expected: { field: "expected" },
    };
    const p = planEvaluation("ev", { ...base, scorer: { type: "judge", model: "mistral-large-latest" } });
    expect(p.scorer).toBeUndefined();
    expect(p.judge?.runs.map((r) => r.shards.map((s) => s.setName))).toEqual([
      ["ev-judge-mistral-small-latest"],
      ["ev-judge-tiny"],
    ]);
    expect(p.judge?.runs[0]?.shards[0]).toMatchObject({
      source: path.join(dir, "out", "inputs", "judge-mistral-small-latest.jsonl"),
      directory: path.join(dir, "out", "judge", "mistral-small-latest"),
      requests: 1,
    });
    expect(p.judge).toMatchObject({ model: "mistral-large-latest", rubric: JUDGE_RUBRIC, maxTokens: JUDGE_MAX_TOKENS });
    expect(describeShards(p)).toBe("1 requests x 2 models, each answer graded by mistral-large-latest");
    const noExpected = write("n.jsonl", [{ custom_id: "a", body: { messages: [{ role: "user", content: "1?" }] } }]);
    const { expected: _, ...withoutExpected } = base;
    expect(() =>
      planEvaluation("ev", { ...withoutExpected, dataset: noExpected, scorer: { type: "judge", model: "m" } }),
    ).toThrow("scorer: a judge grades answers against the expected ones, and this dataset has none");
    expect(() =>
      planEvaluation("ev", { ...base, waitForCompletion: false, scorer: { type: "judge", model: "m" } }),
    ).toThrow("scorer: a judge grades the answers of the same `up`, and waitForCompletion is false");
  });

  it("plans one set per shard of a run when the dataset is cut in shards, each named, filed and sized for it", () => {
    const data = write(
      "d.jsonl",
      Array.from({ length: 40 }, (_, i) => ({
        custom_id: `item-${i}`,
        expected: i,
        body: { max_tokens: 4, messages: [{ role: "user", content: `${i}?` }] },
      })),
    );
    const p = planEvaluation("ev", {
      dataset: data,
      models: ["mistral-small-latest"],
      outputDir: path.join(dir, "out"),
      expected: { field: "expected" },
      limits: { requestsPerJob: 10 },
      scorer: { type: "judge", model: "mistral-large-latest" },
    });
    const [run] = p.runs;
    const [judged] = p.judge?.runs ?? [];
    expect(p.shards.length).toBeGreaterThan(1);
    expect(judged?.shards.map((s) => [s.shard, s.requests])).toEqual(run?.jobs.map((j) => [j.shard, j.requests]));
    for (const s of judged?.shards ?? []) {
      expect(s.setName).toBe(`ev-judge-mistral-small-latest-${s.shard}`);
      expect(s.source).toBe(path.join(dir, "out", "inputs", `judge-mistral-small-latest-${s.shard}.jsonl`));
      expect(s.directory).toBe(path.join(dir, "out", "judge", "mistral-small-latest", s.shard));
      expect(s.requests).toBeLessThanOrEqual(10);
    }
    expect(judged?.estimate.requests).toBe(40);
    // The estimate's heading counts the grading jobs beside the answering ones.
    const n = p.shards.length;
    expect(describeShards(p)).toBe(
      `40 requests in ${n} shards x 1 models = ${n} jobs, and ${n} grading jobs of mistral-large-latest`,
    );
  });

  it("estimates each grade from the item, the answer's bound and the rubric, at the judge's batch price", () => {
    const [j] = planJudge(
      "ev",
      { type: "judge", model: "mistral-large-latest" },
      [
        {
          label: "m",
          estimate: { requests: 10, inputTokens: 200, maxOutputTokens: 320 },
          jobs: [{ shard: "s", requests: 10 }],
        },
      ],
      { inputsDir: dir, outputDir: dir },
      DEFAULT_PRICES,
    ).runs;
    expect(j?.estimate.requests).toBe(10);
    expect(j?.estimate.maxOutputTokens).toBe(10 * JUDGE_MAX_TOKENS);
    expect(j?.estimate.inputTokens).toBeGreaterThan(200 + 320 + 10 * 24);
    const p = DEFAULT_PRICES.models["mistral-large-latest"]!;
    expect(j?.estimate.estimatedCost).toBeCloseTo(
      ((j!.estimate.inputTokens * p.inputPerMTok + j!.estimate.maxOutputTokens * p.outputPerMTok) / 1e6) * 0.5,
      12,
    );
  });
});

describe("grading requests and verdicts", () => {
  it("writes one request per answered item with an expected answer, in dataset order; the same answers leave the file as it is", async () => {
    const dataset = write(
      "d.jsonl",
      ["c", "a", "b", "d"].map((id) => ({ custom_id: id, body: { messages: [{ role: "user", content: `Q ${id}` }] } })),
    );
    const expectedFile = write("e.jsonl", [
      { custom_id: "a", expected: "A" },
      { custom_id: "b", expected: { x: 1 } },
      { custom_id: "c", expected: 3 },
    ]);
    const out = write("o.jsonl", [
      chatResult("a", "ans a"),
      chatResult("b", "ans b"),
      chatResult("c", "ans c"),
      chatResult("d", "no expected"),
    ]);
    const judge = { rubric: "R", maxTokens: 4 };
    const run = { source: path.join(dir, "in", "judge-m.jsonl"), label: "judge of m" };
    const inputs = { dataset: [dataset], expectedFile, outputFiles: [out], endpoint: "/v1/chat/completions" as const };
    expect(await writeJudgeRequests(judge, run, inputs)).toBe(3);
    const lines = fs
      .readFileSync(run.source, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.custom_id)).toEqual(["c", "a", "b"]);
    expect(lines[0].body).toEqual(judgeBody(judge, "Q c", 3, "ans c"));
    expect(lines[2].body.messages[1].content).toBe(
      '<question>Q b</question>\n<expected>{"x":1}</expected>\n<answer>ans b</answer>\nReply CORRECT or INCORRECT.',
    );
    expect(lines[0].body).toMatchObject({
      max_tokens: 4,
      temperature: 0,
      messages: [{ role: "system", content: "R" }, {}],
    });
    const mtime = fs.statSync(run.source).mtimeMs;
    await new Promise((r) => setTimeout(r, 20));
    await writeJudgeRequests(judge, run, inputs);
    expect(fs.statSync(run.source).mtimeMs).toBe(mtime);
    const none = write("none.jsonl", [chatResult("d", "x")]);
    const size = fs.statSync(run.source).size;
    await expect(writeJudgeRequests(judge, run, { ...inputs, maxBytes: size - 1 })).rejects.toThrow(
      `judge of m: the grading requests take ${size} bytes, more than the ${size - 1} bytes of a file (limits.bytesPerFile)`,
    );
    expect(await writeJudgeRequests(judge, run, { ...inputs, maxBytes: size })).toBe(3);
    // Nothing to grade (only an item without an expected answer answered, or no answer at all): an empty file.
    for (const outputFiles of [[none], []]) {
      expect(await writeJudgeRequests(judge, run, { ...inputs, outputFiles })).toBe(0);
      expect(fs.statSync(run.source).size).toBe(0);
    }
  });

  it("reads CORRECT as 1 and INCORRECT as 0, counts other replies, sums the judge's tokens", async () => {
    expect(verdictScore("CORRECT")).toBe(1);
    expect(verdictScore("incorrect.")).toBe(0);
    expect(verdictScore("The answer is INCORRECT")).toBe(0);
    expect(verdictScore("maybe")).toBeUndefined();
    // The first word decides, markup and punctuation aside; else the one word the reply holds, not negated.
    expect(verdictScore("**Correct.**")).toBe(1);
    expect(verdictScore("Incorrect: the expected answer is 42, not 41. A CORRECT answer would say 42.")).toBe(0);
    expect(verdictScore("Verdict: CORRECT")).toBe(1);
    expect(verdictScore("The answer is not correct.")).toBeUndefined();
    expect(verdictScore("It is not quite correct")).toBeUndefined();
    expect(verdictScore("Either CORRECT or INCORRECT, hard to say")).toBeUndefined();
    expect(verdictScore("")).toBeUndefined();
    const out = write("j.jsonl", [
      chatResult("a", "CORRECT", 10, 1),
      chatResult("b", "INCORRECT", 12, 2),
      chatResult("c", "hmm", 5, 1),
    ]);
    const v = await readVerdicts([out]);
    expect([...v.scores]).toEqual([
      ["a", 1],
      ["b", 0],
    ]);
    expect(v.unreadable).toEqual(["c"]);
    expect([v.promptTokens, v.completionTokens]).toEqual([27, 4]);
  });
});

describe("the emulator's deterministic judge", () => {
  it("is in the catalogue and replies CORRECT when the answer holds the expected text as a whole word or number", () => {
    const judge = DEFAULT_MODELS.find((m) => m.id === "emulator-judge-latest");
    expect(judge?.judge).toBe(true);
    expect(judgeVerdict("<expected>21</expected>\n<answer>The answer is 21.</answer>")).toBe("CORRECT");
    expect(judgeVerdict("<expected>21</expected>\n<answer>The answer is 210.</answer>")).toBe("INCORRECT");
    expect(judgeVerdict("<expected>21</expected>\n<answer>About 1.21</answer>")).toBe("INCORRECT");
    expect(judgeVerdict("<expected>Paris</expected>\n<answer>It is  PARIS, France</answer>")).toBe("CORRECT");
    expect(judgeVerdict("no tags")).toMatch(/^INCORRECT/);
    // Through the emulator's request handling: the grading request's reply is the verdict.
    const body = judgeBody({ rubric: JUDGE_RUBRIC, maxTokens: 8 }, "What is 3 * 7?", 21, "The answer is 21.");
    const reply = answerRequest(judge!, "/v1/chat/completions", body, {
      customId: "x",
      nowSeconds: 0,
      requestIndex: 0,
    });
    expect(JSON.stringify(reply)).toContain('"content":"CORRECT"');
  });
});
