/**
 * The dataset of an Evaluation as the plan reads it (plan.ts): a JSONL path or inline items, checked line by line,
 * each line read with its expected answer taken out, and the line uploaded for it (exactly `{custom_id, body}`).
 */
import * as path from "node:path";
import { forEachLineSync } from "../api";
import type { EvaluationArgs } from "../evaluation";
import { describeProblems, isClean, MAX_LINE_BYTES, scanJsonlFileSync, scanJsonlText } from "../jsonl";
import { EvaluationArgumentError, fail } from "./errors";

/** The dataset the files are derived from. */
export interface DatasetPlan {
  /** As error messages and the report name it: the path as given, or the file written for inline items. */
  path: string;
  /** The file read (`path` resolved against the working directory). */
  file: string;
  /** Inline items: the JSONL text of `file`, written unless the file already holds exactly this. */
  inlineText?: string;
  /** A top-level field of each line holding its expected answer, taken out of the uploaded lines. */
  expectedField?: string;
}

/** The dataset: inline items become the JSONL text of `<inputs>/dataset.jsonl`; a path is taken as it is. */
export function planDataset(
  name: string,
  args: EvaluationArgs,
  inputsDir: string,
): { dataset: DatasetPlan; expected: EvaluationArgs["expected"] } {
  if (typeof args.dataset === "string")
    return { dataset: { path: args.dataset, file: path.resolve(args.dataset) }, expected: args.expected };
  if (!Array.isArray(args.dataset) || args.dataset.length === 0) {
    fail(
      name,
      `dataset is ${JSON.stringify(args.dataset)?.slice(0, 80)}; expected a JSONL path or a non-empty list of { customId, body, expected? }`,
    );
  }
  const withExpected = args.dataset.some((item) => item && "expected" in item);
  const target = path.join(inputsDir, "dataset.jsonl");
  const text = args.dataset
    .map((item, i) => {
      if (!item || typeof item.customId !== "string" || typeof item.body !== "object" || item.body === null) {
        fail(
          name,
          `dataset[${i}] is ${JSON.stringify(item)?.slice(0, 80)}; expected { customId: string, body: object, expected? }`,
        );
      }
      return `${JSON.stringify({
        custom_id: item.customId,
        body: item.body,
        ...("expected" in item ? { expected: item.expected } : {}),
      })}\n`;
    })
    .join("");
  // Their `expected` values are the expected answers, unless `expected` says otherwise.
  return {
    dataset: { path: target, file: path.resolve(target), inlineText: text },
    expected: args.expected ?? (withExpected ? { field: "expected" } : undefined),
  };
}

/** Fails with the dataset's problems (at most a few, each with its line), as one message. */
export function checkDataset(name: string, dataset: DatasetPlan): void {
  // Any size: the dataset is cut into shards within the job and file limits (shards.ts); its lines are checked.
  const options = { maxProblems: 5, maxBytes: Number.POSITIVE_INFINITY, maxRequests: Number.POSITIVE_INFINITY };
  const scan =
    dataset.inlineText === undefined
      ? scanJsonlFileSync(dataset.file, options)
      : scanJsonlText(dataset.inlineText, options);
  if (!isClean(scan)) fail(name, describeProblems(`dataset ${dataset.path}`, scan));
}

/** Calls `fn` for every non-blank line of the dataset, in order, with its 1-based line number. */
export function forEachDatasetLine(dataset: DatasetPlan, fn: (text: string, lineNo: number) => void): void {
  if (dataset.inlineText === undefined) {
    // Capped as the check is (checkDataset): a line too long to read fails with its number, not deep in V8.
    forEachLineSync(dataset.file, ({ lineNo, text }) => void fn(text, lineNo), {
      maxLineBytes: MAX_LINE_BYTES,
      onLongLine: (lineNo, bytes) => {
        throw new EvaluationArgumentError(
          `dataset ${dataset.path} line ${lineNo} is ${bytes} bytes long; expected lines of at most ${MAX_LINE_BYTES} bytes`,
        );
      },
    });
    return;
  }
  dataset.inlineText.split("\n").forEach((text, i) => {
    if (text.trim() !== "") fn(text, i + 1);
  });
}

/** One dataset line, checked: the line with the expected field taken out, and that field's value. */
export interface DatasetLine {
  line: Record<string, unknown>;
  /** Present when the dataset has an expected field: the line's custom_id and that field's value. */
  expected?: { customId: unknown; value: unknown };
}

/** Parses and checks one dataset line (the messages name the dataset and the line); takes the expected field out. */
export function readDatasetLine(name: string, dataset: DatasetPlan, text: string, lineNo: number): DatasetLine {
  let line: Record<string, unknown>;
  try {
    line = JSON.parse(text) as Record<string, unknown>;
  } catch (cause) {
    fail(name, `${dataset.path} line ${lineNo} is not valid JSON (${(cause as Error).message})`);
  }
  if (typeof line !== "object" || line === null || typeof line.body !== "object" || line.body === null) {
    fail(name, `${dataset.path} line ${lineNo}: expected {"custom_id": string, "body": object}`);
  }
  const field = dataset.expectedField;
  if (field === undefined) return { line };
  if (!(field in line))
    fail(
      name,
      `${dataset.path} line ${lineNo} has no "${field}" field (expected.field); every line needs its expected answer there`,
    );
  const expected = { customId: line.custom_id, value: line[field] };
  delete line[field];
  return { line, expected };
}

/** The line uploaded for a dataset line: exactly `{custom_id, body}`, the body with a file's overrides merged in. */
export function uploadedLine(line: Record<string, unknown>, overrides: Record<string, unknown>): string {
  return JSON.stringify({ custom_id: line.custom_id, body: bodyWith(line, overrides) });
}

/** A line's request body with a file's overrides merged in. */
export function bodyWith(line: Record<string, unknown>, overrides: Record<string, unknown>): Record<string, unknown> {
  return { ...(line.body as Record<string, unknown>), ...overrides };
}
