/**
 * The plan of an Evaluation: everything its constructor decides, before any resource exists. "Decide, then build":
 * `planEvaluation` validates the arguments and returns the plan (the files to upload, one per distinct request
 * body; one run per model, with its label, model, file, metadata, price and estimate; the price table; what the
 * join and the report read and write); the component only turns it into resources (Evaluation in ../evaluation.ts).
 *
 * No engine and no writes: a function of the arguments and the dataset's content (a dataset given as a path is read,
 * streaming, to validate its lines and estimate the tokens). `writeEvaluationInputs` (./inputs.ts) writes the files
 * the plan names.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { API_ENDPOINTS, forEachLineSync, isApiEndpoint, type ApiEndpoint } from "../api";
import type { EvaluationArgs, EvaluationEstimate, EvaluationModel } from "../evaluation";
import type { BatchJobStatus, WaitPolicy } from "../jobLogic";
import { describeProblems, isClean, MAX_LINE_BYTES, scanJsonlFileSync, scanJsonlText } from "../jsonl";
import { show } from "../requests";
import { canonicalJson } from "../unknown";
import { DEFAULT_PRICES, checkPrices, cost, mergePrices, priceFor, type ModelPrice } from "./pricing";
import { formatUsd, reportPaths } from "./report";
import { checkScorer } from "./scoring";
import { estimateRequestTokens } from "./tokens";
import type { PriceTable, ScoreFn, Scorer } from "./types";

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

/** Expected answers, as the join reads them. */
export interface ExpectedPlan {
  /** The JSONL of `{custom_id, expected}` lines (absolute). */
  file: string;
  /** Whether `file` is written from the dataset's expected field (`DatasetPlan.expectedField`), with the files (inputs.ts). */
  fromDataset: boolean;
}

/** One uploaded file (a BatchFile): the dataset with one set of overrides merged into every body. */
export interface PlannedFile {
  /** The BatchFile's resource name and filename prefix: `<evaluation>-<label>`. */
  name: string;
  /** `input` for the bodies as given; `input-<first 8 hex digits of sha256(key)>` for overrides. */
  label: string;
  /** The overrides as canonical JSON: what makes the file distinct. */
  key: string;
  /** Fields merged into every request body of the file. */
  overrides: Record<string, unknown>;
  /** The JSONL written and uploaded (absolute, in the inputs directory). */
  path: string;
  /** Requests (non-blank dataset lines). */
  requests: number;
  /** Estimated input tokens of all requests as written (tokens.ts). */
  inputTokens: number;
  /** Sum of max_tokens when every body sets it, else null. */
  maxOutputTokens: number | null;
  /** The runs on this file, in the order declared. */
  runs: PlannedRun[];
}

/** One model's run: a BatchJob on its file, and the BatchResults of that job. */
export interface PlannedRun {
  /** The run's name in resource names, metadata and the report: the model's label, or its name. */
  label: string;
  /** The model the job runs. */
  model: string;
  /** The overrides merged into this run's bodies (`{}` for none). */
  overrides: Record<string, unknown>;
  /** The name of the BatchFile it runs on (`PlannedFile.name`). */
  file: string;
  /** Resource names: `<evaluation>-<label>` and `<evaluation>-<label>-results`. */
  jobName: string;
  resultsName: string;
  /** Where its results are downloaded (absolute). */
  resultsDir: string;
  /** The job's metadata: the evaluation's, plus `evaluation` and `run`. */
  metadata: Record<string, string>;
  /** The list price the estimate uses (the table entry found for the model), or null when the table has none. */
  price: (ModelPrice & { model: string }) | null;
  /** Tokens and cost estimated before submission (`Evaluation.estimates`). */
  estimate: EvaluationEstimate;
}

/** What the program does with the results: the join's inputs and outputs, and the report's. */
export interface ReportPlan {
  title: string;
  /** The dataset the join reads: the first file as written (the expected field taken out). */
  dataset: string;
  /** The rows file the join writes, and its work directory. */
  rowsFile: string;
  workDir: string;
  /** Where writeReport puts the page and the summary (both in the output directory). */
  htmlPath: string;
  markdownPath: string;
}

export interface EvaluationPlan {
  name: string;
  endpoint: ApiEndpoint;
  /** Inputs, results, rows and the report go here (absolute). */
  outputDir: string;
  /** `<outputDir>/inputs`: the files written for upload (and the inline dataset, the expected answers). */
  inputsDir: string;
  dataset: DatasetPlan;
  /** None: the dataset has no expected answers. */
  expected?: ExpectedPlan;
  /** The declarative scorer (`exact` when there are expected answers and no scorer was given), or none. */
  scorer?: Scorer;
  /** A scorer given as a function, run in the program. */
  scoreFn?: ScoreFn;
  /**
   * The price table of the estimates and the join: the defaults, the overrides given, and for each run labelled
   * otherwise than its model an entry under its label with the model's price.
   */
  prices: PriceTable;
  /** One per distinct request body, in order of first use; models without overrides share the first one. */
  files: PlannedFile[];
  /**
   * Every run once, file by file (within a file in the order declared): the order of the jobs, the estimates and
   * the summaries. The same objects as in `files[].runs`.
   */
  runs: PlannedRun[];
  waitForCompletion: boolean | WaitPolicy;
  resubmitOn?: BatchJobStatus[];
  report: ReportPlan;
}

/**
 * An argument of an Evaluation that cannot be planned: the message names the evaluation, the argument, the value
 * and what is allowed. The component turns it into an error the engine prints without a stack (evaluation.ts).
 */
export class EvaluationArgumentError extends Error {
  override name = "EvaluationArgumentError";
}

function fail(name: string, message: string): never {
  throw new EvaluationArgumentError(`Evaluation "${name}": ${message}`);
}

/** The dataset: inline items become the JSONL text of `<inputs>/dataset.jsonl`; a path is taken as it is. */
function planDataset(
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
function checkDataset(name: string, dataset: DatasetPlan): void {
  const options = { maxProblems: 5 };
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

/** A line's request body with a file's overrides merged in. */
export function bodyWith(line: Record<string, unknown>, overrides: Record<string, unknown>): Record<string, unknown> {
  return { ...(line.body as Record<string, unknown>), ...overrides };
}

/** Validates the arguments of Evaluation `name` and decides what it creates and writes. Throws the component's messages. */
export function planEvaluation(name: string, args: EvaluationArgs): EvaluationPlan {
  const outputDir = path.resolve(args.outputDir ?? path.join(".mistral-eval", name));
  const inputsDir = path.join(outputDir, "inputs");
  const { dataset, expected: expectedArg } = planDataset(name, args, inputsDir);
  const endpoint = args.endpoint ?? "/v1/chat/completions";
  if (!isApiEndpoint(endpoint))
    fail(name, `endpoint is ${JSON.stringify(endpoint)}; allowed: ${API_ENDPOINTS.join(", ")}`);
  if (dataset.inlineText === undefined) {
    const stat = fs.statSync(dataset.file, { throwIfNoEntry: false });
    if (!stat?.isFile())
      fail(
        name,
        `dataset is ${JSON.stringify(dataset.path)}, which ${stat ? "is not a file" : "does not exist"} (resolved to ${dataset.file}); expected the path of a JSONL file of {"custom_id", "body"} lines, or inline items [{ customId, body, expected? }]`,
      );
  }
  if (!Array.isArray(args.models) || args.models.length === 0)
    fail(
      name,
      `models is ${show(args.models)}; expected a non-empty list of models, e.g. ["mistral-small-latest"] or [{ name: "mistral-small-latest", label: "small" }]`,
    );
  const models: EvaluationModel[] = args.models.map((m) => (typeof m === "string" ? { name: m } : m));
  const labels = new Map<string, number>();
  models.forEach((m, i) => {
    if (!m || typeof m.name !== "string" || m.name === "")
      fail(
        name,
        `models[${i}] is ${show(args.models[i])}; expected a model name, or { name, label?, overrides? } with a non-empty name`,
      );
    const label = m.label ?? m.name;
    if (!/^[A-Za-z0-9._-]+$/.test(label))
      fail(
        name,
        `models[${i}] has the label ${JSON.stringify(label)}; a label may hold only letters, digits, ".", "_" and "-" (set label to name the run otherwise)`,
      );
    const first = labels.get(label);
    if (first !== undefined)
      fail(
        name,
        `models[${i}] is ${show(args.models[i])}, the run ${JSON.stringify(label)} again (models[${first}]); each run needs its own label: remove it, or give one of them another, e.g. { name: ${JSON.stringify(m.name)}, label: ${JSON.stringify(`${label}-2`)}, overrides: { ... } }`,
      );
    labels.set(label, i);
  });
  if (args.scorer && typeof args.scorer !== "function") {
    const problems = checkScorer(args.scorer);
    if (problems.length) fail(name, `scorer: ${problems.join("; ")}`);
  }
  if (args.prices !== undefined) {
    const problems = checkPrices(args.prices, true);
    if (problems.length) fail(name, problems.join("; "));
  }

  // Runs are named by label; a label other than the model's name is priced as that model.
  const base = mergePrices(DEFAULT_PRICES, args.prices);
  const labelled: Record<string, ModelPrice> = {};
  for (const m of models) {
    if (!m.label || m.label === m.name) continue;
    const p = priceFor(base, m.name);
    if (p) labelled[m.label] = { inputPerMTok: p.inputPerMTok, outputPerMTok: p.outputPerMTok };
  }
  const prices = mergePrices(base, { models: labelled });

  // Expected answers: a file as given, or written from a field of the dataset's lines.
  const fromDataset = !!expectedArg && "field" in expectedArg;
  let expected: ExpectedPlan | undefined;
  if (expectedArg && "file" in expectedArg) expected = { file: path.resolve(expectedArg.file), fromDataset };
  else if (expectedArg && "field" in expectedArg)
    expected = { file: path.join(inputsDir, "expected.jsonl"), fromDataset };
  if (expectedArg && "field" in expectedArg) dataset.expectedField = expectedArg.field;

  // One uploaded file per distinct body: models without overrides share one.
  const byKey = new Map<string, PlannedFile>();
  for (const m of models) {
    const overrides = m.overrides ?? {};
    const key = canonicalJson(overrides);
    let file = byKey.get(key);
    if (!file) {
      const hash = createHash("sha256").update(key).digest("hex").slice(0, 8);
      const label = key === "{}" ? "input" : `input-${hash}`;
      file = {
        name: `${name}-${label}`,
        label,
        key,
        overrides,
        path: path.join(inputsDir, `${label}.jsonl`),
        requests: 0,
        inputTokens: 0,
        maxOutputTokens: null,
        runs: [],
      };
      byKey.set(key, file);
    }
    const label = m.label ?? m.name;
    file.runs.push({
      label,
      model: m.name,
      overrides,
      file: file.name,
      jobName: `${name}-${label}`,
      resultsName: `${name}-${label}-results`,
      resultsDir: path.join(outputDir, "results", label),
      metadata: { ...(args.metadata ?? {}), evaluation: name.slice(0, 512), run: label.slice(0, 512) },
      price: priceFor(prices, m.name),
      estimate: { model: label, requests: 0, inputTokens: 0, maxOutputTokens: null, estimatedCost: null },
    });
  }
  const files = [...byKey.values()];

  // The dataset's bytes and lines, before they are read: UTF-8 (a bad byte would be laundered into U+FFFD in the files
  // written from it), the line cap, JSON, the {custom_id, body} envelope and unique custom_ids, each with its line.
  checkDataset(name, dataset);

  // The files' requests and tokens, as they will be written: one pass over the dataset, which checks every line.
  const sums = files.map(() => ({ inputTokens: 0, maxOutput: 0, allBounded: true }));
  let requests = 0;
  forEachDatasetLine(dataset, (text, lineNo) => {
    const { line } = readDatasetLine(name, dataset, text, lineNo);
    files.forEach((file, i) => {
      const body = bodyWith(line, file.overrides);
      const sum = sums[i];
      sum.inputTokens += estimateRequestTokens(endpoint, body);
      if (typeof body.max_tokens === "number") sum.maxOutput += body.max_tokens;
      else sum.allBounded = false;
    });
    requests++;
  });
  files.forEach((file, i) => {
    const sum = sums[i];
    file.requests = requests;
    file.inputTokens = sum.inputTokens;
    file.maxOutputTokens = sum.allBounded ? sum.maxOutput : null;
    for (const run of file.runs) {
      run.estimate = {
        model: run.label,
        requests: file.requests,
        inputTokens: file.inputTokens,
        maxOutputTokens: file.maxOutputTokens,
        estimatedCost: cost(prices, run.model, file.inputTokens, file.maxOutputTokens ?? 0),
      };
    }
  });

  const scoreFn = typeof args.scorer === "function" ? args.scorer : undefined;
  const paths = reportPaths(outputDir);
  // models is checked non-empty above, so there is at least one file.
  const firstFile = files[0];
  if (firstFile === undefined) fail(name, "no input file is planned");
  return {
    name,
    endpoint,
    outputDir,
    inputsDir,
    dataset,
    expected,
    scorer: typeof args.scorer === "function" ? undefined : (args.scorer ?? (expected ? { type: "exact" } : undefined)),
    scoreFn,
    prices,
    files,
    runs: files.flatMap((f) => f.runs),
    // Like BatchJob's `true`: each job's timeoutHours (the default 24) plus a margin, then the poll schedule of poll.ts.
    waitForCompletion: args.waitForCompletion ?? true,
    resubmitOn: args.resubmitOn,
    report: {
      title: `Evaluation ${name}`,
      dataset: firstFile.path,
      rowsFile: path.join(outputDir, "rows.jsonl"),
      workDir: path.join(outputDir, "tmp"),
      htmlPath: paths.htmlPath,
      markdownPath: paths.markdownPath,
    },
  };
}

/** The line logged at preview and up: requests, models, and per run the estimated tokens and cost at the batch price. */
export function describeEstimates(plan: EvaluationPlan): string {
  const { prices, runs } = plan;
  // Two significant digits for small amounts: a cheap model's estimate must not read "$0.0000".
  const money = (x: number | null) => (x === null ? "no price" : formatUsd(x));
  return (
    `Evaluation ${plan.name}: ${runs[0]?.estimate.requests ?? 0} requests x ${runs.length} models, estimated at the batch price ` +
    `(${(prices.batchDiscount ?? 0.5) * 100}% of list prices of ${prices.date}): ` +
    runs
      .map(
        ({ estimate: e }) =>
          `${e.model} ~${e.inputTokens} input tokens${e.maxOutputTokens !== null ? ` + <=${e.maxOutputTokens} output` : ""}, ${money(e.estimatedCost)}`,
      )
      .join("; ")
  );
}
