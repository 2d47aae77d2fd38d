/**
 * Judge scoring through batch: a chosen model grades each answer of a run against the expected one, as batch jobs
 * of its own (one RequestSet per run and shard, `<evaluation>-judge-<label>[-<shard>]`, at the batch price).
 *
 * Decide, then build: `planJudge` (pure) names the judge's sets, files and estimates, one per shard of the run's
 * answers (so a grading job never holds more requests than the answering job, and grading a shard starts as soon as
 * its answers are in); `writeJudgeRequests` writes a shard's grading requests once its answers are on disk (one line
 * per answered item with an expected answer, in dataset order, so the same answers give the same file and the set
 * submits nothing new); `readVerdicts` reads the grades back: CORRECT is 1, INCORRECT 0.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { forEachLine } from "../api/jsonl";
import { MAX_FILE_BYTES } from "../api";
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

/** The judge of one shard of a run's answers: its own RequestSet. */
export interface PlannedJudgeShard {
  /** The answers' shard id. */
  shard: string;
  /** The RequestSet's name: `<evaluation>-judge-<label>`, with `-<shard>` when the run has several shards. */
  setName: string;
  /** The grading requests, written once the shard's answers are on disk (absolute). */
  source: string;
  /** The set's directory (absolute). */
  directory: string;
  /** At most this many grades: the shard's requests. */
  requests: number;
}

/** The judge of one run. */
export interface PlannedJudgeRun {
  /** The run's label. */
  label: string;
  /** One set per shard of the run's answers, in dataset order. */
  shards: PlannedJudgeShard[];
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
    /** The run's shards (at least one), in dataset order. */
    jobs: readonly { shard: string; requests: number }[];
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
      const several = run.jobs.length > 1;
      return {
        label: run.label,
        shards: run.jobs.map((job) => ({
          shard: job.shard,
          setName: `${evaluation}-judge-${run.label}${several ? `-${job.shard}` : ""}`,
          source: path.join(dirs.inputsDir, `judge-${run.label}${several ? `-${job.shard}` : ""}.jsonl`),
          directory: path.join(dirs.outputDir, "judge", run.label, ...(several ? [job.shard] : [])),
          requests: job.requests,
        })),
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

/** A shard's grading requests cannot be written as planned: the message says why and what to change. */
export class JudgeInputError extends Error {
  override name = "JudgeInputError";
}

/**
 * Writes a shard's grading requests to `shard.source` (atomically; left as it is when the same): one per item of
 * `inputs.dataset` with an expected answer and an answer in the shard's output files, in dataset order. Returns
 * how many (none: an empty file). Holds one shard's items at a time (the expected answers of other shards are
 * skipped as they are read). Throws a JudgeInputError when the file would be over `inputs.maxBytes`.
 */
export async function writeJudgeRequests(
  judge: Pick<PlannedJudge, "rubric" | "maxTokens">,
  shard: Pick<PlannedJudgeShard, "source"> & { label: string },
  inputs: {
    dataset: readonly string[];
    expectedFile: string;
    outputFiles: readonly string[];
    endpoint: ApiEndpoint;
    /** The largest file to upload (limits.bytesPerFile). @default Mistral's */
    maxBytes?: number;
  },
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
  const items: { id: string; prompt: string; answer: string }[] = [];
  for (const file of inputs.dataset) {
    await forEachLine(file, (text) => {
      if (text.trim() === "") return;
      const { custom_id: id, body } = JSON.parse(text) as { custom_id: string; body: unknown };
      const answer = answers.get(id);
      if (answer !== undefined) items.push({ id, prompt: promptText(inputs.endpoint, body), answer });
    });
  }
  answers.clear();
  const wanted = new Set(items.map((item) => item.id));
  const expected = new Map<string, unknown>();
  await forEachLine(inputs.expectedFile, (text) => {
    if (text.trim() === "") return;
    const e = JSON.parse(text) as { custom_id: string; expected?: unknown };
    if ("expected" in e && wanted.has(e.custom_id)) expected.set(e.custom_id, e.expected);
  });
  const lines: string[] = [];
  let bytes = 0;
  for (const { id, prompt, answer } of items) {
    if (!expected.has(id)) continue;
    const line = JSON.stringify({ custom_id: id, body: judgeBody(judge, prompt, expected.get(id), answer) });
    bytes += Buffer.byteLength(line) + 1;
    lines.push(line);
  }
  const maxBytes = inputs.maxBytes ?? MAX_FILE_BYTES;
  if (bytes > maxBytes)
    throw new JudgeInputError(
      `${shard.label}: the grading requests take ${bytes} bytes, more than the ${maxBytes} bytes of a file (limits.bytesPerFile): each holds the question, the expected answer and the answer, so lower limits.requestsPerJob to cut the dataset in smaller shards`,
    );
  // Nothing to grade (every request of these items failed, or none answered has an expected answer): an empty
  // file, which the grading set (allowEmpty) takes as no requests.
  const text = lines.length === 0 ? "" : `${lines.join("\n")}\n`;
  const same = fs.existsSync(shard.source) && fs.readFileSync(shard.source, "utf8") === text;
  if (!same) {
    fs.mkdirSync(path.dirname(shard.source), { recursive: true });
    const tmp = `${shard.source}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, text, "utf8");
    fs.renameSync(tmp, shard.source);
  }
  return lines.length;
}

/**
 * A grade's score: CORRECT 1, INCORRECT 0, anything else undefined (not a grade, counted as unreadable). The reply's
 * first word decides (markup and punctuation around it aside: `**Correct.**`); else the one of the two words it
 * holds, when it holds only one and does not negate it ("not correct" is no grade).
 */
export function verdictScore(reply: string): number | undefined {
  const first = reply
    .trim()
    .match(/^[^A-Za-z]*([A-Za-z]+)/)?.[1]
    ?.toUpperCase();
  if (first === "CORRECT") return 1;
  if (first === "INCORRECT") return 0;
  const wrong = /\bINCORRECT\b/i.test(reply);
  const right = /\bCORRECT\b/i.test(reply.replace(/\bINCORRECT\b/gi, ""));
  if (/\bNOT\s+(?:\w+\s+)?CORRECT\b/i.test(reply) || wrong === right) return undefined;
  return wrong ? 0 : 1;
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
