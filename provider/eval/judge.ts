/**
 * Judge scoring through batch: a chosen model grades each answer of a run against the expected one, as batch jobs
 * of its own (one RequestSet per run, `<evaluation>-judge-<label>`, at the batch price).
 *
 * Decide, then build: `planJudge` (pure) names the judge's sets, files and estimates; `writeJudgeRequests` writes a
 * run's grading requests once its answers are on disk (one line per answered item with an expected answer, in
 * dataset order, so the same answers give the same file and the set submits nothing new); `readVerdicts` reads the
 * grades back: CORRECT is 1, INCORRECT 0.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { forEachLine } from "../api/jsonl";
import type { ApiEndpoint } from "../requests";
import { cost, priceFor } from "./pricing";
import { readResultLine } from "./results";
import { estimateTokens, promptText } from "./tokens";
import type { PriceTable, Scorer } from "./types";

/** What the judge is told unless the scorer gives a rubric. */
export const JUDGE_RUBRIC =
  "You grade answers. Compare the answer with the expected answer. Reply CORRECT when the answer gives the same " +
  "result or meaning as the expected answer, INCORRECT otherwise. Reply with that one word.";
/** Output tokens per grade unless the scorer says. */
export const JUDGE_MAX_TOKENS = 8;

export type JudgeScorer = Extract<Scorer, { type: "judge" }>;

/** The judge of one run. */
export interface PlannedJudgeRun {
  /** The run's label. */
  label: string;
  /** The RequestSet's name: `<evaluation>-judge-<label>`. */
  setName: string;
  /** The grading requests, written once the run's answers are on disk (absolute). */
  source: string;
  /** The set's directory (absolute). */
  directory: string;
  /** Before the answers exist: at most one grade per item, each its prompt, expected answer, answer and rubric. */
  estimate: { requests: number; inputTokens: number; maxOutputTokens: number; estimatedCost: number | null };
}

export interface PlannedJudge {
  model: string;
  rubric: string;
  maxTokens: number;
  runs: PlannedJudgeRun[];
}

/** The judge of every run, with its estimates. Pure. */
export function planJudge(
  evaluation: string,
  scorer: JudgeScorer,
  runs: readonly {
    label: string;
    estimate: { requests: number; inputTokens: number; maxOutputTokens: number | null };
  }[],
  dirs: { inputsDir: string; outputDir: string },
  prices: PriceTable,
): PlannedJudge {
  const rubric = scorer.rubric ?? JUDGE_RUBRIC;
  const maxTokens = scorer.maxTokens ?? JUDGE_MAX_TOKENS;
  const perGrade = estimateTokens(rubric) + 24; // the tags and the instruction around the texts
  return {
    model: scorer.model,
    rubric,
    maxTokens,
    runs: runs.map((run) => {
      const requests = run.estimate.requests;
      // Each grade holds the item's prompt and the answer (up to the run's max_tokens; unbounded: not counted).
      const inputTokens = run.estimate.inputTokens + (run.estimate.maxOutputTokens ?? 0) + requests * perGrade;
      const maxOutputTokens = requests * maxTokens;
      return {
        label: run.label,
        setName: `${evaluation}-judge-${run.label}`,
        source: path.join(dirs.inputsDir, `judge-${run.label}.jsonl`),
        directory: path.join(dirs.outputDir, "judge", run.label),
        estimate: {
          requests,
          inputTokens,
          maxOutputTokens,
          estimatedCost: priceFor(prices, scorer.model)
            ? cost(prices, scorer.model, inputTokens, maxOutputTokens)
            : null,
        },
      };
    }),
  };
}

/** The grading request of one answer: the rubric as the system message, the three texts in tags. */
export function judgeBody(
  judge: Pick<PlannedJudge, "rubric" | "maxTokens">,
  prompt: string,
  expected: unknown,
  answer: string,
): Record<string, unknown> {
  const expectedText = typeof expected === "string" ? expected : JSON.stringify(expected);
  return {
    max_tokens: judge.maxTokens,
    temperature: 0,
    messages: [
      { role: "system", content: judge.rubric },
      {
        role: "user",
        content: `<question>${prompt}</question>\n<expected>${expectedText}</expected>\n<answer>${answer}</answer>\nReply CORRECT or INCORRECT.`,
      },
    ],
  };
}

/**
 * Writes a run's grading requests to `run.source` (atomically; left as it is when the same): one per item with an
 * expected answer and an answer in the run's output files, in dataset order. Returns how many.
 */
export async function writeJudgeRequests(
  judge: Pick<PlannedJudge, "rubric" | "maxTokens">,
  run: Pick<PlannedJudgeRun, "source" | "label">,
  inputs: { dataset: readonly string[]; expectedFile: string; outputFiles: readonly string[]; endpoint: ApiEndpoint },
): Promise<number> {
  const answers = new Map<string, string>();
  for (const file of inputs.outputFiles) {
    await forEachLine(file, (text) => {
      if (text.trim() === "") return;
      const line = readResultLine(text, inputs.endpoint, { file });
      if (line.kind === "result" && line.result.answer !== undefined)
        answers.set(line.result.customId, line.result.answer);
    });
  }
  const expected = new Map<string, unknown>();
  await forEachLine(inputs.expectedFile, (text) => {
    if (text.trim() === "") return;
    const e = JSON.parse(text) as { custom_id: string; expected?: unknown };
    if ("expected" in e) expected.set(e.custom_id, e.expected);
  });
  const lines: string[] = [];
  for (const file of inputs.dataset) {
    await forEachLine(file, (text) => {
      if (text.trim() === "") return;
      const { custom_id: id, body } = JSON.parse(text) as { custom_id: string; body: unknown };
      const answer = answers.get(id);
      if (answer === undefined || !expected.has(id)) return;
      const prompt = promptText(inputs.endpoint, body);
      lines.push(JSON.stringify({ custom_id: id, body: judgeBody(judge, prompt, expected.get(id), answer) }));
    });
  }
  if (lines.length === 0)
    throw new Error(
      `judge of ${run.label}: no answer to grade (no item with an expected answer was answered); the judge needs at least one`,
    );
  const text = `${lines.join("\n")}\n`;
  const same = fs.existsSync(run.source) && fs.readFileSync(run.source, "utf8") === text;
  if (!same) {
    fs.mkdirSync(path.dirname(run.source), { recursive: true });
    const tmp = `${run.source}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, text, "utf8");
    fs.renameSync(tmp, run.source);
  }
  return lines.length;
}

/** A grade's score: CORRECT 1, INCORRECT 0, anything else undefined (not a grade). */
export function verdictScore(reply: string): number | undefined {
  if (/\bINCORRECT\b/i.test(reply)) return 0;
  if (/\bCORRECT\b/i.test(reply)) return 1;
  return undefined;
}

/** The grades in a judge's output files, by custom_id, and the replies that were no grade. */
export async function readVerdicts(
  outputFiles: readonly string[],
): Promise<{ scores: Map<string, number>; unreadable: string[]; promptTokens: number; completionTokens: number }> {
  const scores = new Map<string, number>();
  const unreadable: string[] = [];
  let promptTokens = 0;
  let completionTokens = 0;
  for (const file of outputFiles) {
    await forEachLine(file, (text) => {
      if (text.trim() === "") return;
      const line = readResultLine(text, "/v1/chat/completions", { file });
      if (line.kind !== "result") return;
      promptTokens += line.result.promptTokens;
      completionTokens += line.result.completionTokens;
      if (line.result.answer === undefined) return;
      const s = verdictScore(line.result.answer);
      if (s === undefined) unreadable.push(line.result.customId);
      else scores.set(line.result.customId, s);
    });
  }
  return { scores, unreadable, promptTokens, completionTokens };
}
