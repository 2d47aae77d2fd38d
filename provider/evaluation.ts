/**
 * Evaluation (`mistral:batch:Evaluation`): one dataset run across several models, declared like infrastructure.
 *
 * Children: one BatchFile per distinct request body (one shared by every model without overrides), one BatchJob
 * per model, one BatchResults per model. Once the results are on disk the program (never the provider) joins them
 * by custom_id, scores them and writes an HTML report and a Markdown summary.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { forEachLineSync } from "../emulator/jsonl";
import { BatchFile } from "./batchFile";
import { BatchJob } from "./batchJob";
import { BatchResults } from "./batchResults";
import type { BatchJobStatus, WaitPolicy } from "./jobLogic";
import { isApiEndpoint, API_ENDPOINTS, type ApiEndpoint } from "./requests";
import { canonicalJson } from "./unknown";
import { joinResults } from "./eval/join";
import { DEFAULT_PRICES, checkPrices, cost, mergePrices, priceFor, type PriceOverride } from "./eval/pricing";
import { formatUsd, writeReport } from "./eval/report";
import { checkScorer } from "./eval/scoring";
import { estimateRequestTokens } from "./eval/tokens";
import type { ModelSummary, ScoreFn, Scorer } from "./eval/types";

export interface EvaluationModel {
  /** The model, e.g. `"mistral-small-latest"`. Changing it replaces only this model's job. */
  name: string;
  /** Name of this run in resource names and the report. @default the model name */
  label?: string;
  /** Fields merged into every request body for this model, e.g. `{ temperature: 0 }` or `{ max_tokens: 64 }`. */
  overrides?: Record<string, unknown>;
}

/**
 * Plain values, not Inputs: they decide which resources exist. Each field notes what a change does.
 */
export interface EvaluationArgs {
  /**
   * The dataset: the path of a JSONL of `{custom_id, body}` lines, or inline items `{ customId, body, expected? }`
   * (written to `<outputDir>/inputs/dataset.jsonl`; their `expected` values are the expected answers unless
   * `expected` says otherwise). Editing it replaces the files and every job.
   */
  dataset: string | { customId: string; body: Record<string, unknown>; expected?: unknown }[];
  /** The models to compare. Adding one adds one job; removing one removes its job. */
  models: (string | EvaluationModel)[];
  /** @default "/v1/chat/completions" */
  endpoint?: ApiEndpoint;
  /** Metadata added to every job (the evaluation's name and the model are added too). */
  metadata?: Record<string, string>;
  /**
   * Wait for the jobs in `up` (an evaluation's point is its results).
   * @default { timeoutMinutes: 120 }
   */
  waitForCompletion?: boolean | WaitPolicy;
  /** Statuses on which the next `up` resubmits a job. @default [] */
  resubmitOn?: BatchJobStatus[];
  /**
   * Expected answers: a JSONL of `{custom_id, expected}` (`file`), or a top-level field of the dataset lines
   * (`field`), which is stripped before upload.
   */
  expected?: { file: string } | { field: string };
  /** How answers are scored against the expected ones: a declarative scorer, or a function run in the program. @default { type: "exact" } */
  scorer?: Scorer | ScoreFn;
  /** Overrides of the price table (USD per million tokens, list price; batch costs `batchDiscount` of it). */
  prices?: PriceOverride;
  /** Where inputs, results and the report are written, relative to the program. @default ".mistral-eval/<name>" */
  outputDir?: string;
}

export interface EvaluationEstimate {
  model: string;
  requests: number;
  inputTokens: number;
  /** Upper bound of output tokens when the bodies set max_tokens, else null. */
  maxOutputTokens: number | null;
  /** Estimated cost in USD at the batch price (input, plus output up to max_tokens when set), or null without a price. */
  estimatedCost: number | null;
}

interface Variant {
  key: string;
  label: string;
  path: string;
  models: EvaluationModel[];
  requests: number;
  inputTokens: number;
  maxOutputTokens: number | null;
}

function fail(name: string, message: string): never {
  throw new Error(`Evaluation "${name}": ${message}`);
}

/** Writes the dataset as uploaded for one body variant (overrides merged, the expected field stripped). */
function deriveVariant(name: string, args: EvaluationArgs & { dataset: string }, endpoint: ApiEndpoint, overrides: Record<string, unknown>, target: string, expectedOut: string | null) {
  const field = args.expected && "field" in args.expected ? args.expected.field : undefined;
  const lines: string[] = [];
  const expected: string[] = [];
  let inputTokens = 0;
  let maxOutput = 0;
  let allBounded = true;
  let requests = 0;
  const fd = fs.openSync(`${target}.tmp`, "w");
  const flush = () => {
    if (lines.length) fs.writeSync(fd, lines.join(""));
    lines.length = 0;
  };
  try {
    forEachLineSync(path.resolve(args.dataset), ({ lineNo, text }) => {
      let line: Record<string, unknown>;
      try {
        line = JSON.parse(text) as Record<string, unknown>;
      } catch (cause) {
        fail(name, `${args.dataset} line ${lineNo} is not valid JSON (${(cause as Error).message})`);
      }
      if (typeof line !== "object" || line === null || typeof line.body !== "object" || line.body === null) {
        fail(name, `${args.dataset} line ${lineNo}: expected {"custom_id": string, "body": object}`);
      }
      if (field !== undefined) {
        if (!(field in line)) fail(name, `${args.dataset} line ${lineNo} has no "${field}" field (expected.field); every line needs its expected answer there`);
        expected.push(JSON.stringify({ custom_id: line.custom_id, expected: line[field] }) + "\n");
        delete line[field];
      }
      const body = { ...(line.body as Record<string, unknown>), ...overrides };
      inputTokens += estimateRequestTokens(endpoint, body);
      if (typeof body.max_tokens === "number") maxOutput += body.max_tokens;
      else allBounded = false;
      requests++;
      lines.push(JSON.stringify({ ...line, body }) + "\n");
      if (lines.length >= 1000) flush();
    });
    flush();
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(`${target}.tmp`, target);
  if (expectedOut) fs.writeFileSync(expectedOut, expected.join(""));
  return { requests, inputTokens, maxOutputTokens: allBounded ? maxOutput : null };
}

/** Inline dataset items become a JSONL file; a path is returned as it is. */
function inlineDataset(name: string, args: EvaluationArgs, inputsDir: string): EvaluationArgs & { dataset: string } {
  if (typeof args.dataset === "string") return args as EvaluationArgs & { dataset: string };
  if (!Array.isArray(args.dataset) || args.dataset.length === 0) {
    fail(name, `dataset is ${JSON.stringify(args.dataset)?.slice(0, 80)}; expected a JSONL path or a non-empty list of { customId, body, expected? }`);
  }
  const withExpected = args.dataset.some((item) => item && "expected" in item);
  const target = path.join(inputsDir, "dataset.jsonl");
  const text = args.dataset
    .map((item, i) => {
      if (!item || typeof item.customId !== "string" || typeof item.body !== "object" || item.body === null) {
        fail(name, `dataset[${i}] is ${JSON.stringify(item)?.slice(0, 80)}; expected { customId: string, body: object, expected? }`);
      }
      return JSON.stringify({ custom_id: item.customId, body: item.body, ...("expected" in item ? { expected: item.expected } : {}) }) + "\n";
    })
    .join("");
  if (!fs.existsSync(target) || fs.readFileSync(target, "utf8") !== text) fs.writeFileSync(target, text);
  return { ...args, dataset: target, expected: args.expected ?? (withExpected ? { field: "expected" } : undefined) };
}

export class Evaluation extends pulumi.ComponentResource {
  /** Per model: job id, status, counts, accuracy, tokens and cost (once the results are in). */
  declare readonly summaries: pulumi.Output<ModelSummary[]>;
  /** The HTML report, once the results are in. */
  declare readonly reportPath: pulumi.Output<string | undefined>;
  /** The Markdown summary, once the results are in. */
  declare readonly markdownPath: pulumi.Output<string | undefined>;
  /** Estimated tokens and cost per model, known at preview. */
  declare readonly estimates: pulumi.Output<EvaluationEstimate[]>;
  readonly files: BatchFile[] = [];
  readonly jobs: Record<string, BatchJob> = {};
  readonly results: Record<string, BatchResults> = {};

  constructor(name: string, given: EvaluationArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mistral:batch:Evaluation", name, {}, opts);
    const startedAt = Date.now();
    const outputDir = path.resolve(given.outputDir ?? path.join(".mistral-eval", name));
    const inputsDir = path.join(outputDir, "inputs");
    fs.mkdirSync(inputsDir, { recursive: true });
    const args = inlineDataset(name, given, inputsDir);
    const endpoint = args.endpoint ?? "/v1/chat/completions";
    if (!isApiEndpoint(endpoint)) fail(name, `endpoint is ${JSON.stringify(endpoint)}; allowed: ${API_ENDPOINTS.join(", ")}`);
    if (!fs.existsSync(path.resolve(args.dataset))) fail(name, `dataset ${JSON.stringify(args.dataset)} is not a file (resolved to ${path.resolve(args.dataset)})`);
    if (!Array.isArray(args.models) || args.models.length === 0) fail(name, "models is empty; list at least one model, e.g. [\"mistral-small-latest\"]");
    const models: EvaluationModel[] = args.models.map((m) => (typeof m === "string" ? { name: m } : m));
    const labels = new Set<string>();
    for (const m of models) {
      if (!m || typeof m.name !== "string" || m.name === "") fail(name, `each model needs a name, received ${JSON.stringify(m)}`);
      const label = m.label ?? m.name;
      if (!/^[A-Za-z0-9._-]+$/.test(label)) fail(name, `model label ${JSON.stringify(label)} may hold only letters, digits, ".", "_" and "-"`);
      if (labels.has(label)) fail(name, `model ${JSON.stringify(label)} is listed twice; give one of them another label`);
      labels.add(label);
    }
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
    const labelled: Record<string, { inputPerMTok: number; outputPerMTok: number }> = {};
    for (const m of models) {
      const p = m.label && m.label !== m.name ? priceFor(base, m.name) : null;
      if (p) labelled[m.label!] = { inputPerMTok: p.inputPerMTok, outputPerMTok: p.outputPerMTok };
    }
    const prices = mergePrices(base, { models: labelled });

    // One uploaded file per distinct body: models without overrides share one.
    const variants = new Map<string, Variant>();
    for (const m of models) {
      const key = canonicalJson(m.overrides ?? {});
      const v = variants.get(key);
      if (v) v.models.push(m);
      else {
        const hash = createHash("sha256").update(key).digest("hex").slice(0, 8);
        const label = key === "{}" ? "input" : `input-${hash}`;
        variants.set(key, { key, label, path: path.join(inputsDir, `${label}.jsonl`), models: [m], requests: 0, inputTokens: 0, maxOutputTokens: null });
      }
    }
    let expectedFile: string | undefined;
    if (args.expected && "file" in args.expected) expectedFile = path.resolve(args.expected.file);
    else if (args.expected && "field" in args.expected) expectedFile = path.join(inputsDir, "expected.jsonl");
    let first = true;
    for (const v of variants.values()) {
      Object.assign(v, deriveVariant(name, args, endpoint, v.models[0].overrides ?? {}, v.path, first && args.expected && "field" in args.expected ? expectedFile! : null));
      first = false;
    }

    const estimates: EvaluationEstimate[] = [];
    for (const v of variants.values()) {
      for (const m of v.models) {
        const input = cost(prices, m.name, v.inputTokens, v.maxOutputTokens ?? 0);
        estimates.push({ model: m.label ?? m.name, requests: v.requests, inputTokens: v.inputTokens, maxOutputTokens: v.maxOutputTokens, estimatedCost: input });
      }
    }
    // Two significant digits for small amounts: a cheap model's estimate must not read "$0.0000".
    const money = (x: number | null) => (x === null ? "no price" : formatUsd(x));
    pulumi.log.info(
      `Evaluation ${name}: ${estimates[0]?.requests ?? 0} requests x ${models.length} models, estimated at the batch price ` +
        `(${(prices.batchDiscount ?? 0.5) * 100}% of list prices of ${prices.date}): ` +
        estimates.map((e) => `${e.model} ~${e.inputTokens} input tokens${e.maxOutputTokens !== null ? ` + <=${e.maxOutputTokens} output` : ""}, ${money(e.estimatedCost)}`).join("; "),
      this,
    );

    const waitForCompletion = args.waitForCompletion ?? { timeoutMinutes: 120 };
    const childOpts = { parent: this };
    const perModel: pulumi.Output<{ model: string; jobId: string; status: string; adopted: boolean; createdAt: number; downloaded: boolean; outputPath: string | null; errorPath: string | null }>[] = [];
    for (const v of variants.values()) {
      const file = new BatchFile(`${name}-${v.label}`, { source: v.path, endpoint, filenamePrefix: `${name}-${v.label}` }, childOpts);
      this.files.push(file);
      for (const m of v.models) {
        const label = m.label ?? m.name;
        const job = new BatchJob(
          `${name}-${label}`,
          {
            inputFiles: [file.id],
            model: m.name,
            endpoint,
            metadata: { ...(args.metadata ?? {}), evaluation: name.slice(0, 512), run: label.slice(0, 512) },
            waitForCompletion,
            resubmitOn: args.resubmitOn,
          },
          childOpts,
        );
        const results = BatchResults.forJob(`${name}-${label}-results`, job, { directory: path.join(outputDir, "results", label) }, childOpts);
        this.jobs[label] = job;
        this.results[label] = results;
        perModel.push(
          pulumi
            .all([job.id, job.status, job.adopted, job.createdAt, results.downloaded, results.outputPath, results.errorPath])
            .apply(([jobId, status, adopted, createdAt, downloaded, outputPath, errorPath]) => ({ model: label, jobId, status, adopted, createdAt, downloaded, outputPath, errorPath })),
        );
      }
    }

    const report = pulumi.all(perModel).apply(async (runs) => {
      if (!runs.every((r) => r.downloaded)) {
        return { summaries: runs.map((r) => ({ model: r.model, jobId: r.jobId, status: r.status, total: 0, succeeded: 0, failed: 0, scored: 0, accuracy: null, promptTokens: 0, completionTokens: 0, cost: null }) as ModelSummary), reportPath: undefined, markdownPath: undefined };
      }
      // Reused: adopted, or submitted before this run started (an unchanged job from an earlier `up`).
      const reused = runs.filter((r) => r.adopted || r.createdAt * 1000 < startedAt - 1000).map((r) => r.model);
      const joined = await joinResults({
        dataset: [...variants.values()][0].path, // as uploaded: the expected field stripped
        expected: expectedFile,
        models: runs.map((r) => {
          const e = estimates.find((x) => x.model === r.model);
          return {
            model: r.model,
            outputFile: r.outputPath ?? undefined,
            errorFile: r.errorPath ?? undefined,
            jobId: r.jobId,
            status: r.status,
            reused: reused.includes(r.model),
            estimatedInputTokens: e?.inputTokens,
            estimatedCost: e?.estimatedCost ?? null,
          };
        }),
        scorer: typeof args.scorer === "function" ? undefined : (args.scorer ?? (expectedFile ? { type: "exact" } : undefined)),
        scoreFn: typeof args.scorer === "function" ? args.scorer : undefined,
        prices,
        endpoint,
        outFile: path.join(outputDir, "rows.jsonl"),
        workDir: path.join(outputDir, "tmp"),
      });
      // Per model, where its downloaded results are.
      const summaries = joined.summaries.map((summary) => {
        const run = runs.find((r) => r.model === summary.model);
        return { ...summary, outputPath: run?.outputPath ?? null, errorPath: run?.errorPath ?? null };
      });
      for (const w of joined.warnings) pulumi.log.warn(`Evaluation ${name}: ${w}`, this);
      const written = await writeReport({
        title: `Evaluation ${name}`,
        summaries,
        rowsFile: joined.rowsFile,
        outDir: outputDir,
        prices: { date: prices.date, batchDiscount: prices.batchDiscount ?? 0.5 },
        meta: { dataset: args.dataset, endpoint, generatedAt: new Date().toISOString(), reused, notes: joined.warnings },
      });
      return { summaries, reportPath: written.htmlPath, markdownPath: written.markdownPath };
    });

    this.summaries = report.summaries;
    this.reportPath = report.reportPath;
    this.markdownPath = report.markdownPath;
    this.estimates = pulumi.output(estimates);
    this.registerOutputs({ summaries: this.summaries, reportPath: this.reportPath, markdownPath: this.markdownPath, estimates: this.estimates });
  }
}
