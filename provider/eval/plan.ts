/**
 * The plan of an Evaluation: everything its constructor decides, before any resource exists. "Decide, then build":
 * `planEvaluation` validates the arguments and returns the plan (the files to upload, one per distinct request
 * body; one run per model, with its label, model, file, metadata, price and estimate; the dataset's shards within
 * the job and file limits (shards.ts), one BatchFile per file and shard and one job per run and shard, in waves
 * within the workspace's pending requests; the price table; what the join and the report read and write); the
 * component only turns it into resources (Evaluation in ../evaluation.ts).
 *
 * No engine and no writes: a function of the arguments and the dataset's content (a dataset given as a path is read,
 * streaming, to validate its lines and estimate the tokens). `writeEvaluationInputs` (./inputs.ts) writes the files
 * the plan names.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { API_ENDPOINTS, isApiEndpoint, type ApiEndpoint } from "../api";
import type { EvaluationArgs, EvaluationEstimate, EvaluationModel } from "../evaluation";
import type { BatchJobStatus, WaitPolicy } from "../jobLogic";
import { show } from "../requests";
import { canonicalJson } from "../unknown";
import { DEFAULT_PRICES, checkPrices, cost, mergePrices, priceFor, type ModelPrice } from "./pricing";
import { planJudge, type PlannedJudge } from "./judge";
import { formatUsd, reportPaths } from "./report";
import { checkScorer } from "./scoring";
import { minimumDetectableDifference } from "./stats";
import { ShardCutter, type Shard } from "./shards";
import { estimateRequestTokens } from "./tokens";
import type { PriceTable, ScoreFn, Scorer } from "./types";
import {
  bodyWith,
  checkDataset,
  type DatasetPlan,
  forEachDatasetLine,
  planDataset,
  readDatasetLine,
  uploadedLine,
} from "./dataset";
import { fail } from "./errors";
import { type PlannedLimits, planLimits, planWaves } from "./limits";

/** Expected answers, as the join reads them. */
export interface ExpectedPlan {
  /** The JSONL of `{custom_id, expected}` lines (absolute). */
  file: string;
  /** Whether `file` is written from the dataset's expected field (`DatasetPlan.expectedField`), with the files (inputs.ts). */
  fromDataset: boolean;
}

/** One shard of one planned file: a BatchFile of the shard's lines with the file's overrides. */
export interface PlannedFileShard {
  /** The shard's id (`Shard.id`). */
  shard: string;
  /** The BatchFile's resource name and filename prefix: the file's name, `-<shard id>` when there are several shards. */
  name: string;
  /** The JSONL written and uploaded: `<inputs>/<label>.jsonl`, or `<inputs>/<label>-<shard id>.jsonl` with several. */
  path: string;
  /** Index of its first request among the dataset's (0-based). */
  start: number;
  requests: number;
}

/** One uploaded file: the dataset with one set of overrides merged into every body, one BatchFile per shard. */
export interface PlannedFile {
  /** The BatchFile's resource name and filename prefix for a single shard: `<evaluation>-<label>`. */
  name: string;
  /** `input` for the bodies as given; `input-<first 8 hex digits of sha256(key)>` for overrides. */
  label: string;
  /** The overrides as canonical JSON: what makes the file distinct. */
  key: string;
  /** Fields merged into every request body of the file. */
  overrides: Record<string, unknown>;
  /** The JSONL of a single shard (absolute, in the inputs directory): `<inputs>/<label>.jsonl`. */
  path: string;
  /** Its shards, in dataset order (the plan's shards; one for a dataset within the limits). */
  shards: PlannedFileShard[];
  /** Requests (non-blank dataset lines). */
  requests: number;
  /** Estimated input tokens of all requests as written (tokens.ts). */
  inputTokens: number;
  /** Sum of max_tokens when every body sets it, else null. */
  maxOutputTokens: number | null;
  /** The runs on this file, in the order declared. */
  runs: PlannedRun[];
}

/** One job of a run: a BatchJob on one shard's file, and the BatchResults of that job. */
export interface PlannedJob {
  /** The run's label. */
  run: string;
  /** The shard's id. */
  shard: string;
  /** The name of the BatchFile it runs on (`PlannedFileShard.name`). */
  file: string;
  /** Resource names: the run's, with `-<shard id>` when there are several shards. */
  jobName: string;
  resultsName: string;
  /** The shard's requests. */
  requests: number;
  /** The job's metadata: the run's, plus `shard` (its id) when there are several shards. */
  metadata: Record<string, string>;
  /** The wave it is submitted in (0-based): a job of wave k + 1 waits for every job of wave k. */
  wave: number;
}

/** One model's run: one BatchJob per shard on its file, and the BatchResults of each. */
export interface PlannedRun {
  /** The run's name in resource names, metadata and the report: the model's label, or its name. */
  label: string;
  /** The model the job runs. */
  model: string;
  /** The overrides merged into this run's bodies (`{}` for none). */
  overrides: Record<string, unknown>;
  /** The name of the BatchFile it runs on (`PlannedFile.name`). */
  file: string;
  /** Resource names of a single shard's job and results: `<evaluation>-<label>` and `<evaluation>-<label>-results`. */
  jobName: string;
  resultsName: string;
  /** Its jobs, one per shard in dataset order. */
  jobs: PlannedJob[];
  /** Where its results are downloaded (absolute; every shard's, each file named by its job's id). */
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
  /** The dataset the join reads: the first planned file's shard files as written, in order (only custom_id and body). */
  dataset: string[];
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
  /** The judge (a `judge` scorer): its sets, files and estimates; the answers are scored by its grades. */
  judge?: PlannedJudge;
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
  /** The dataset's shards, shared by every file (their bytes: each line's largest variant across the files). */
  shards: Shard[];
  limits: PlannedLimits;
  /** Every job, shard by shard and within a shard run by run, grouped in waves of at most `limits.pendingRequests`. */
  waves: PlannedJob[][];
  waitForCompletion: boolean | WaitPolicy;
  resubmitOn?: BatchJobStatus[];
  /** What a moved alias does to the runs' sets (EvaluationArgs.onModelChange). */
  onModelChange: "keep" | "replace";
  report: ReportPlan;
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
  const limits = planLimits(name, args.limits);

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
        shards: [],
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
      jobs: [],
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

  // The files' requests and tokens, as they will be written, and the shards: one pass over the dataset, which checks
  // every line. A line's bytes for the shards: its largest uploaded variant, so one set of shards serves every file.
  const sums = files.map(() => ({ inputTokens: 0, maxOutput: 0, allBounded: true }));
  const cutter = new ShardCutter({ maxRequests: limits.requestsPerJob, maxBytes: limits.bytesPerFile });
  let requests = 0;
  forEachDatasetLine(dataset, (text, lineNo) => {
    const { line } = readDatasetLine(name, dataset, text, lineNo);
    let bytes = 0;
    files.forEach((file, i) => {
      const body = bodyWith(line, file.overrides);
      const sum = sums[i];
      sum.inputTokens += estimateRequestTokens(endpoint, body);
      if (typeof body.max_tokens === "number") sum.maxOutput += body.max_tokens;
      else sum.allBounded = false;
      bytes = Math.max(bytes, Buffer.byteLength(uploadedLine(line, file.overrides)) + 1);
    });
    try {
      cutter.push(String(line.custom_id), bytes);
    } catch (error) {
      if (error instanceof RangeError)
        fail(name, `${dataset.path} line ${lineNo}: ${error.message} (limits.bytesPerFile)`);
      throw error;
    }
    requests++;
  });
  const shards = cutter.end();
  const several = shards.length > 1;
  for (const file of files) {
    file.shards = shards.map((shard) => ({
      shard: shard.id,
      name: several ? `${file.name}-${shard.id}` : file.name,
      path: several ? path.join(inputsDir, `${file.label}-${shard.id}.jsonl`) : file.path,
      start: shard.start,
      requests: shard.requests,
    }));
    for (const run of file.runs) {
      run.jobs = file.shards.map((fileShard) => ({
        run: run.label,
        shard: fileShard.shard,
        file: fileShard.name,
        jobName: several ? `${name}-${run.label}-${fileShard.shard}` : run.jobName,
        resultsName: several ? `${name}-${run.label}-${fileShard.shard}-results` : run.resultsName,
        requests: fileShard.requests,
        metadata: several ? { ...run.metadata, shard: fileShard.shard } : run.metadata,
        wave: 0,
      }));
    }
  }
  const runs = files.flatMap((f) => f.runs);
  // Shard by shard, and within a shard run by run: a wave holds every model's run of its first shards.
  const ordered = shards.flatMap((_, k) => runs.map((run) => run.jobs[k]).filter((j) => j !== undefined));
  let waves: PlannedJob[][];
  try {
    waves = planWaves(ordered, limits.pendingRequests);
  } catch (error) {
    if (error instanceof RangeError) fail(name, error.message);
    throw error;
  }
  waves.forEach((wave, k) => {
    for (const job of wave) job.wave = k;
  });
  const waitForCompletion = args.waitForCompletion ?? true;
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
  const onModelChange = args.onModelChange ?? "keep";
  if (onModelChange !== "keep" && onModelChange !== "replace")
    fail(name, `onModelChange is ${JSON.stringify(onModelChange)}; allowed: "keep" (the default) or "replace"`);
  const judgeScorer = typeof args.scorer === "object" && args.scorer?.type === "judge" ? args.scorer : undefined;
  if (judgeScorer && !expected)
    fail(
      name,
      "scorer: a judge grades answers against the expected ones, and this dataset has none; set `expected` (a file, or the field of the dataset lines that holds them)",
    );
  if (judgeScorer && waitForCompletion === false)
    fail(
      name,
      "scorer: a judge grades the answers of the same `up`, and waitForCompletion is false; leave it true (the default) or set a wait policy",
    );
  const judge = judgeScorer
    ? planJudge(
        name,
        judgeScorer,
        files.flatMap((f) => f.runs),
        { inputsDir, outputDir },
        prices,
      )
    : undefined;
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
    scorer:
      typeof args.scorer === "function" || judge
        ? undefined
        : (args.scorer ?? (expected ? { type: "exact" } : undefined)),
    scoreFn,
    ...(judge ? { judge } : {}),
    prices,
    files,
    runs,
    shards,
    limits,
    waves,
    // Like BatchJob's `true`: each job's timeoutHours (the default 24) plus a margin, then the poll schedule of poll.ts.
    waitForCompletion,
    resubmitOn: args.resubmitOn,
    onModelChange,
    report: {
      title: `Evaluation ${name}`,
      dataset: firstFile.shards.map((s) => s.path),
      rowsFile: path.join(outputDir, "rows.jsonl"),
      workDir: path.join(outputDir, "tmp"),
      htmlPath: paths.htmlPath,
      markdownPath: paths.markdownPath,
    },
  };
}

/**
 * How the requests are split, for the preview line: `N requests x M models` for one shard; with several,
 * `N requests in S shards x M models = J jobs`; with several waves, how many and why.
 */
export function describeShards(plan: EvaluationPlan): string {
  const { runs, shards, waves, limits } = plan;
  const requests = runs[0]?.estimate.requests ?? 0;
  const jobs = runs.length * shards.length;
  const graded = plan.judge
    ? shards.length > 1
      ? `, and ${jobs} grading jobs of ${plan.judge.model}`
      : `, each answer graded by ${plan.judge.model}`
    : "";
  const split =
    shards.length > 1
      ? `${requests} requests in ${shards.length} shards x ${runs.length} models = ${jobs} jobs${graded}`
      : `${requests} requests x ${runs.length} models${graded}`;
  if (waves.length <= 1) return split;
  const when =
    plan.waitForCompletion === false
      ? "each wave is submitted by a later `pulumi up` once the jobs of the one before have finished: waitForCompletion is false"
      : "each wave is submitted once the jobs of the one before have finished";
  return `${split}, ${waves.length} waves: at most ${limits.pendingRequests.toLocaleString("en-US")} pending requests per workspace (${when})`;
}

/**
 * The line logged beside the estimate when several models are compared: the smallest difference in accuracy
 * between two of them that the dataset's items detect at the usual power (80%, two-sided 5%: McNemar on paired
 * items, assuming they disagree on half of them, the conservative case), so a user sees before anything is spent
 * whether the dataset can settle the comparison. Null for one model.
 */
export function describeDetectable(plan: EvaluationPlan): string | null {
  if (plan.runs.length < 2) return null;
  const n = plan.runs[0]?.estimate.requests ?? 0;
  const items = `${n.toLocaleString("en-US")} item${n === 1 ? "" : "s"}`;
  const mde = n > 0 ? minimumDetectableDifference(n) : null;
  const power = "80% power, two-sided 5%, McNemar on paired items assuming they disagree on half of them";
  return mde === null
    ? `Evaluation ${plan.name}: ${items} are too few to detect any difference in accuracy between two models (${power})`
    : `Evaluation ${plan.name}: ${items} detect a difference in accuracy between two models of about ${(mde * 100).toFixed(1)} points or more (${power}); a smaller one may be real and still read as not significant`;
}

/**
 * The estimate block logged at preview and up: a heading (requests, models, the discount and the prices' date), a row
 * per run (its estimated input tokens, the output bound when its bodies set max_tokens, its cost and whether that is
 * an upper bound or input only), and the total. With `submitting` (at preview: the runs whose sets change), the
 * others read "reused: nothing to submit" and count nothing; with none submitting, one line says there is nothing to
 * pay. Each set's own line gives the exact requests it sends and what they cost.
 */
export function describeEstimates(plan: EvaluationPlan, submitting?: ReadonlySet<string>): string {
  const { prices, runs } = plan;
  const discount = `${(prices.batchDiscount ?? 0.5) * 100}% of list prices of ${prices.date}`;
  const sends = (label: string) => submitting === undefined || submitting.has(label);
  // The judge's grading of each run (a `judge` scorer) is a run of its own here: `judge:<label>`.
  const all = [
    ...runs.map((r) => ({ key: r.label, label: r.label, estimate: r.estimate })),
    ...(plan.judge?.runs ?? []).map((j) => ({
      key: `judge:${j.label}`,
      label: `judge of ${j.label} (${plan.judge?.model})`,
      estimate: j.estimate,
    })),
  ];
  if (all.length > 0 && !all.some((r) => sends(r.key))) {
    return (
      `Evaluation ${plan.name}: nothing to pay: every run is reused (${describeShards(plan)}, each request with its ` +
      "result), so this update submits nothing"
    );
  }
  // Two significant digits for small amounts: a cheap model's estimate must not read "$0.0000".
  const money = (x: number | null) => (x === null ? "no price" : formatUsd(x));
  const bound = (max: number | null) => (max !== null ? "upper bound (max_tokens)" : "input only (no max_tokens)");
  const rows = all.map(({ key, label, estimate: e }) => {
    const tokens = `~${e.inputTokens.toLocaleString("en-US")} input tokens${e.maxOutputTokens !== null ? ` + <=${e.maxOutputTokens.toLocaleString("en-US")} output` : ""}`;
    if (!sends(key)) return [label, tokens, "$0", "reused: nothing to submit"];
    return [label, tokens, money(e.estimatedCost), e.estimatedCost === null ? "" : bound(e.maxOutputTokens)];
  });
  const counted = all.filter((r) => sends(r.key));
  const priced = counted.filter((r) => r.estimate.estimatedCost !== null);
  const total = priced.reduce((sum, r) => sum + (r.estimate.estimatedCost ?? 0), 0);
  const bounded = priced.every((r) => r.estimate.maxOutputTokens !== null);
  const unbounded = priced.every((r) => r.estimate.maxOutputTokens === null);
  const unpriced = counted.filter((r) => r.estimate.estimatedCost === null).map((r) => r.label);
  const totalNote = [
    bounded
      ? "upper bound (max_tokens)"
      : unbounded
        ? "input only (no max_tokens)"
        : "input, and output up to max_tokens where set",
    ...(submitting !== undefined && counted.length < all.length ? [`the ${counted.length} run(s) that submit`] : []),
    ...(unpriced.length ? [`without ${unpriced.join(", ")}: no price`] : []),
  ].join("; ");
  rows.push(["total", "", priced.length ? money(total) : "no price", totalNote]);
  const width = (k: number) => Math.max(...rows.map((r) => (r[k] ?? "").length));
  const [w0, w1, w2] = [width(0), width(1), width(2)];
  const lines = rows.map((r) =>
    `  ${(r[0] ?? "").padEnd(w0)}  ${(r[1] ?? "").padEnd(w1)}  ${(r[2] ?? "").padStart(w2)}  ${r[3] ?? ""}`.trimEnd(),
  );
  return [
    `Evaluation ${plan.name}: ${describeShards(plan)}, estimated at the batch price (${discount}):`,
    ...lines,
  ].join("\n");
}
