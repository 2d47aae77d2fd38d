/**
 * The flagship: 50 arithmetic questions with known answers, run across three models as one evaluation. `up`
 * submits one job per model, waits, downloads the results, scores them (numeric match) and writes an HTML report
 * and a Markdown summary. Rerunning `up` with no change submits nothing and reproduces the same report.
 */
import * as path from "node:path";
import { Evaluation } from "pulumi-mistral-batch";

const evaluation = new Evaluation("arithmetic", {
  dataset: path.join(__dirname, "questions.jsonl"),
  expected: { field: "expected" },
  scorer: { type: "numeric" },
  models: ["mistral-large-latest", "mistral-small-latest", "ministral-3b-latest"],
  waitForCompletion: { timeoutMinutes: 60, pollIntervalSeconds: 2 },
});

export const summaries = evaluation.summaries;
export const accuracy = evaluation.accuracy; // per model, at a glance
export const estimates = evaluation.estimates;
export const reportPath = evaluation.reportPath;
export const markdownPath = evaluation.markdownPath;
