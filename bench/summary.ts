/**
 * The figures each benchmark reports for the summary of `npm run bench` (bench/all.ts): one line of JSON per figure,
 * appended to the file named by BENCH_SUMMARY_FILE when it is set (a benchmark run on its own prints its own table
 * and writes nothing here).
 */
import * as fs from "node:fs";

/** One figure of the table: ours beside the reference, the ratio, the goal, the peak memory. */
export interface SummaryRow {
  /** The benchmark that measured it, e.g. "batchfile". */
  bench: string;
  /** What was measured, e.g. "extra `pulumi up` time of a 512 MiB BatchFile". */
  what: string;
  /** Our figure, with its unit, e.g. "2.4 s". */
  ours: string;
  /** The reference's figure with its name, e.g. "curl -F 1.7 s"; "" when there is none. */
  reference: string;
  /** ours / reference, when both are numbers; "" otherwise. */
  ratio: string;
  /** The goal, e.g. "<= 1.5x". */
  goal: string;
  /** "met" or "MISSED" against the goal ("" when there is no goal). */
  verdict: string;
  /** Peak RSS in MiB of the process that did the work, when measured. */
  peakMb?: number;
}

/** Environment variable naming the file the rows are appended to. */
export const SUMMARY_FILE_ENV = "BENCH_SUMMARY_FILE";

/** Appends rows for the `npm run bench` summary; does nothing when the benchmark runs on its own. */
export function recordSummary(rows: SummaryRow[]): void {
  const file = process.env[SUMMARY_FILE_ENV];
  if (!file || rows.length === 0) return;
  fs.appendFileSync(file, rows.map((r) => `${JSON.stringify(r)}\n`).join(""));
}

/** Reads the rows a run appended (bench/all.ts). */
export function readSummary(file: string): SummaryRow[] {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as SummaryRow);
}

/** `a / b` to two decimals with an "x", or "" when either is not a positive number. */
export function ratioOf(a: number, b: number): string {
  return Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(2)}x` : "";
}
