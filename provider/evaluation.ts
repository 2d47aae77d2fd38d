/**
 * Evaluation (`mistral:batch:Evaluation`): one dataset run across several models, declared like infrastructure.
 *
 * Children: one BatchFile per distinct request body (one shared by every model without overrides), one BatchJob
 * per model, one BatchResults per model; a dataset over Mistral's job or file limits is cut into shards (eval/shards.ts),
 * with one BatchFile per body and shard and one BatchJob and BatchResults per model and shard, submitted in waves
 * within the workspace's pending requests. Once the results are on disk the program (never the provider) joins them
 * (every shard of a model as one job) by custom_id, scores them and writes an HTML report and a Markdown summary;
 * `pulumi preview` writes no report.
 *
 * Decide, then build: what the component creates is decided by `planEvaluation` (eval/plan.ts, pure and tested
 * without the engine); the constructor turns the plan into resources.
 */
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import type { RequestSet } from "./requestSet";
import type { BatchJobStatus, WaitPolicy } from "./jobLogic";
import { aggregateStatus } from "./eval/join";
import type { ApiEndpoint } from "./requests";
import { buildShardedRuns, type JobOutcome } from "./eval/build";
import { readVerdicts } from "./eval/judge";
import { cost } from "./eval/pricing";
import { resolveStatePath } from "./paths";
import { writeEvaluationInputs } from "./eval/inputs";
import { joinResults } from "./eval/join";
import { EvaluationArgumentError } from "./eval/errors";
import {
  describeDetectable,
  describeEstimates,
  planEvaluation,
  type EvaluationPlan,
  type PlannedRun,
} from "./eval/plan";
import type { PriceOverride } from "./eval/pricing";
import { declarationText } from "./eval/history";
import { writeReport } from "./eval/report";
import { accuracyByModel } from "./eval/report/format";
import { toStatePath } from "./paths";
import type { ModelSummary, ScoreFn, Scorer } from "./eval/types";

export interface EvaluationModel {
  /** The model, e.g. `"mistral-small-latest"`. Changing it replaces only this model's job. */
  name: string;
  /** Name of this run in resource names and the report. @default the model name */
  label?: string;
  /**
   * Fields merged into every request body for this model, e.g. `{ temperature: 0 }` or `{ max_tokens: 64 }`.
   * Changing them replaces this model's input file and job.
   * @default none: the dataset's bodies as they are (shared with the other models without overrides)
   */
  overrides?: Record<string, unknown>;
}

/**
 * Plain values, not Inputs: they decide which resources exist. Each field notes what a change does.
 */
export interface EvaluationArgs {
  /**
   * The dataset: the path of a JSONL of `{custom_id, body}` lines, or inline items `{ customId, body, expected? }`
   * (written to `<outputDir>/inputs/dataset.jsonl`; their `expected` values are the expected answers unless
   * `expected` says otherwise). Only `custom_id` and `body` are uploaded. Editing a body replaces the files and every
   * job (of the shard holding it, when the dataset is cut into several); other fields of a line change no file.
   */
  dataset: string | { customId: string; body: Record<string, unknown>; expected?: unknown }[];
  /** The models to compare. Adding one adds one job; removing one removes its job. */
  models: (string | EvaluationModel)[];
  /**
   * The endpoint every request is sent to (and the dataset's bodies are checked for). A change replaces every job
   * (the files are only checked again).
   * @default "/v1/chat/completions"
   */
  endpoint?: ApiEndpoint;
  /**
   * Metadata added to every job (the evaluation's name and the model are added too). A change replaces every job.
   * @default none: only `evaluation` (the evaluation's name) and `run` (the model's label)
   */
  metadata?: Record<string, string>;
  /**
   * Wait for the jobs in `up` (an evaluation's point is its results), as BatchJob's `waitForCompletion` does.
   * Updates the jobs in place.
   * @default true: up to the jobs' `timeoutHours` (24) plus 10 minutes, the first poll after 1 s, then ever fewer
   */
  waitForCompletion?: boolean | WaitPolicy;
  /**
   * Statuses on which the next `up` resubmits a job: any sends the requests of a job that ended so (and every
   * failed request) again, as `retryFailed: true` does. Kept for programs written before `retryFailed`.
   * @default [] (never resubmit)
   */
  resubmitOn?: BatchJobStatus[];
  /**
   * Send failed requests (per-request errors, or requests of a job that ended without answering them) again on the
   * next `up`, as a small job of only those per shard and model; the report counts them (`retried`). Updates in place.
   * @default false (true when `resubmitOn` is set): a failed request stays failed until its body changes
   */
  retryFailed?: boolean;
  /**
   * Also delete the runs' output and error files in Mistral on destroy (each RequestSet's option of the same name,
   * as BatchJob's); the downloaded results and the report stay on disk. Updates in place.
   * @default false: the result files stay in Mistral until it drops them
   */
  deleteResultFilesOnDestroy?: boolean;
  /**
   * When a model's name (an alias such as `mistral-large-latest`) comes to resolve to another version in the models
   * API than the one its run's results came from: `"keep"` keeps them (preview and refresh say so), `"replace"`
   * replaces that run's sets at the next `up`, which runs its requests on the new version (and the judge's, with a
   * judge scorer). Each RequestSet's option of the same name. Updates in place.
   * @default "keep"
   */
  onModelChange?: "keep" | "replace";
  /**
   * Expected answers: a JSONL of `{custom_id, expected}` (`file`), or a top-level field of the dataset lines
   * (`field`). Never uploaded (only `custom_id` and `body` are), so changing it replaces no file and no job.
   * @default inline dataset items' `expected` values when any item has one (`{ field: "expected" }`), else none: nothing is scored
   */
  expected?: { file: string } | { field: string };
  /**
   * How answers are scored against the expected ones: a declarative scorer, or a function run in the program.
   * Changes only the report.
   * @default `{ type: "exact" }` when there are expected answers; without expected answers nothing is scored
   * (every `scored` is 0 and `accuracy` null), whatever the scorer
   */
  scorer?: Scorer | ScoreFn;
  /**
   * Overrides of the price table (USD per million tokens, list price; batch costs `batchDiscount` of it). Changes
   * only the estimates and the report.
   * @default none: the built-in `DEFAULT_PRICES`
   */
  prices?: PriceOverride;
  /**
   * Where inputs, results and the report are written, relative to the program. A change moves the results:
   * they are downloaded again there.
   * @default ".mistral-eval/<name>"
   */
  outputDir?: string;
  /**
   * Limits to keep to, at most Mistral's. A dataset over `requestsPerJob` requests or `bytesPerFile` bytes (its lines
   * with the largest overrides) is cut into shards, one file and one job per model each; the jobs are submitted in
   * waves of at most `pendingRequests` requests, a wave once the one before has finished: within one `up` when it
   * waits (`waitForCompletion`), else on a later `up` (each `up` submits the next wave once the one before is done).
   * A change may move shard boundaries, which replaces those shards' files and jobs.
   * @default Mistral's: `{ requestsPerJob: 100000, bytesPerFile: 536870912 (512 MB), pendingRequests: 1000000 }`
   */
  limits?: EvaluationLimits;
}

/** Limits of an Evaluation's shards and waves (EvaluationArgs.limits). */
export interface EvaluationLimits {
  /** Requests per job (a shard's lines): at most MAX_REQUESTS_PER_JOB. @default 100000 (MAX_REQUESTS_PER_JOB) */
  requestsPerJob?: number;
  /** Bytes per uploaded file: at most MAX_FILE_BYTES. @default 536870912, 512 MB (MAX_FILE_BYTES) */
  bytesPerFile?: number;
  /**
   * Requests pending (queued or running) at once in the workspace, across the evaluation's jobs.
   * @default 1000000 (MAX_PENDING_REQUESTS_PER_WORKSPACE)
   */
  pendingRequests?: number;
}

/** One shard of one run: its requests for the run's model, kept answered incrementally. */
export interface EvaluationShard {
  /** The shard's id: the first 8 hex digits of the SHA-256 of its first line's custom_id. */
  id: string;
  /** Its requests. */
  requests: number;
  /** The RequestSet: each `up` submits only the shard's requests without a result. */
  set: RequestSet;
  /** With a judge scorer: the RequestSet grading the shard's answers. */
  judge?: RequestSet;
}

/** The estimate of one run, made before anything is submitted. */
export interface EvaluationEstimate {
  /** The run's label (the model's name unless `label` is set). */
  model: string;
  /** Requests the run submits: the dataset's lines. */
  requests: number;
  /** Estimated input tokens of all its requests. */
  inputTokens: number;
  /** Upper bound of output tokens when the bodies set max_tokens, else null. */
  maxOutputTokens: number | null;
  /** Estimated cost in USD at the batch price (input, plus output up to max_tokens when set), or null without a price. */
  estimatedCost: number | null;
}

/** One run once its jobs and results are known: the plan's run, and its jobs' outcomes in shard order. */
interface RunOutcome {
  run: PlannedRun;
  jobs: JobOutcome[];
  /** The judge's sets of the run, one per shard (a `judge` scorer). */
  judge?: JobOutcome[];
}

/** A run's figures from its jobs: the first job's id and paths, every job's ids, the aggregated status. */
function runFigures({ jobs }: RunOutcome) {
  const first = jobs[0];
  const ids = jobs.flatMap((j) => j.jobIds);
  const several = jobs.length > 1 || ids.length > 1;
  return {
    jobId: first?.jobId || undefined,
    ...(several ? { jobIds: ids } : {}),
    status:
      jobs.length > 1
        ? aggregateStatus(
            jobs.map((j) => j.jobId),
            jobs.map((j) => j.status),
          ).status
        : first?.status,
    reused: jobs.every((j) => j.reused),
    downloaded: jobs.every((j) => j.downloaded),
  };
}

interface ReportOutputs {
  summaries: ModelSummary[];
  reportPath: string | undefined;
  markdownPath: string | undefined;
}

/**
 * The report step, once every run's job and results are known: joins the results, scores them and writes the rows,
 * the HTML report and the Markdown summary. Until every run's results are on disk, summaries with counts of zero
 * and no report. At preview nothing is written: the summaries (which the join computes) are unknown until the up,
 * and the report's paths are the ones the up writes.
 */
async function runReport(plan: EvaluationPlan, runs: RunOutcome[], parent: pulumi.Resource): Promise<ReportOutputs> {
  if (!runs.every((r) => runFigures(r).downloaded && (r.judge ?? []).every((g) => g.downloaded))) {
    return {
      summaries: runs.map((r): ModelSummary => {
        const { jobId, jobIds, status } = runFigures(r);
        return {
          model: r.run.label,
          jobId,
          ...(jobIds ? { jobIds } : {}),
          status,
          total: 0,
          succeeded: 0,
          failed: 0,
          scored: 0,
          accuracy: null,
          promptTokens: 0,
          completionTokens: 0,
          cost: null,
        };
      }),
      reportPath: undefined,
      markdownPath: undefined,
    };
  }
  if (pulumi.runtime.isDryRun()) {
    return {
      summaries: pulumi.unknown as unknown as ModelSummary[],
      reportPath: toStatePath(plan.report.htmlPath),
      markdownPath: toStatePath(plan.report.markdownPath),
    };
  }
  const present = (paths: (string | null)[]) => paths.filter((p): p is string => p !== null);
  // A judge's grades: read from its sets' results, given to the join as each run's scores.
  const grades = new Map<string, Awaited<ReturnType<typeof readVerdicts>>>();
  for (const r of runs) {
    if (r.judge)
      grades.set(
        r.run.label,
        await readVerdicts(present(r.judge.map((g) => g.outputPath)).map((p) => resolveStatePath(p))),
      );
  }
  const joined = await joinResults({
    dataset: plan.report.dataset,
    expected: plan.expected?.file,
    // A run of several jobs (shards) is joined as one job: every job's output and error files, every job's status.
    models: runs.map((r) => {
      const { jobId, status, reused } = runFigures(r);
      return {
        model: r.run.label,
        outputFiles: present(r.jobs.map((j) => j.outputPath)),
        errorFiles: present(r.jobs.map((j) => j.errorPath)),
        jobId,
        ...(r.jobs.length > 1
          ? { jobIds: r.jobs.map((j) => j.jobId), statuses: r.jobs.map((j) => j.status) }
          : { status }),
        reused,
        estimatedInputTokens: r.run.estimate.inputTokens,
        estimatedCost: r.run.estimate.estimatedCost,
      };
    }),
    scorer: plan.scorer,
    scoreFn: plan.scoreFn,
    ...(plan.judge ? { scores: new Map([...grades].map(([label, g]) => [label, g.scores])) } : {}),
    prices: plan.prices,
    endpoint: plan.endpoint,
    outFile: plan.report.rowsFile,
    workDir: plan.report.workDir,
  });
  // The join returns the summaries in the order of its models: per run, where its downloaded results are (the first
  // job's, and with several jobs every job's in shard order).
  const summaries = joined.summaries.map((summary, i): ModelSummary => {
    const run = runs[i];
    if (run === undefined)
      throw new Error(`Evaluation ${plan.name}: the join returned a summary for no run (${summary.model})`);
    const first = run.jobs[0];
    const figures = runFigures(run);
    return {
      ...summary,
      ...(figures.jobIds ? { jobIds: figures.jobIds } : {}),
      ...(first?.resolvedModel ? { resolvedModel: first.resolvedModel } : {}),
      ...judgeFigures(plan, run, grades.get(run.run.label)),
      submitted: run.jobs.reduce((n, j) => n + j.submitted, 0),
      retried: run.jobs.reduce((n, j) => n + j.retried, 0),
      outputPath: first?.outputPath ?? null,
      errorPath: first?.errorPath ?? null,
      ...(run.jobs.length > 1
        ? { outputPaths: run.jobs.map((j) => j.outputPath), errorPaths: run.jobs.map((j) => j.errorPath) }
        : {}),
    };
  });
  for (const w of joined.warnings) pulumi.log.warn(`Evaluation ${plan.name}: ${w}`, parent);
  const written = await writeReport({
    title: plan.report.title,
    summaries,
    rowsFile: joined.rowsFile,
    outDir: plan.outputDir,
    prices: { date: plan.prices.date, batchDiscount: plan.prices.batchDiscount ?? 0.5 },
    modelPrices: Object.fromEntries(
      plan.runs.map((r) => [
        r.label,
        r.price ? { inputPerMTok: r.price.inputPerMTok, outputPerMTok: r.price.outputPerMTok } : null,
      ]),
    ),
    history: {
      dir: path.join(plan.outputDir, "history"),
      scorer:
        declarationText(
          plan.scoreFn ??
            plan.scorer ??
            (plan.judge
              ? { type: "judge", model: plan.judge.model, rubric: plan.judge.rubric, maxTokens: plan.judge.maxTokens }
              : undefined),
        ) || "none",
      runs: plan.runs.map((r) => ({ label: r.label, model: r.model, overrides: declarationText(r.overrides) })),
    },
    baseDir: process.cwd(),
    meta: {
      dataset: plan.dataset.path,
      endpoint: plan.endpoint,
      generatedAt: new Date().toISOString(),
      reused: runs.filter((r) => runFigures(r).reused).map((r) => r.run.label),
      notes: joined.warnings,
    },
  });
  // In state relative to the program's directory when inside it (paths.ts): a moved checkout shows no change.
  return { summaries, reportPath: toStatePath(written.htmlPath), markdownPath: toStatePath(written.markdownPath) };
}

/**
 * Whether an Output's value is known. At preview, the outputs of a resource the engine creates, replaces or updates
 * are unknown; those of one it leaves unchanged are the stored ones. `isKnown` is the SDK's own promise of this (on
 * every Output it makes, though not in its typings); an Output without it counts as unknown, the safe side for an
 * estimate (it then counts that run's cost).
 */
function isKnown(output: pulumi.Output<unknown> | undefined): Promise<boolean> {
  const known = (output as unknown as { isKnown?: unknown } | undefined)?.isKnown;
  return known instanceof Promise ? (known as Promise<boolean>) : Promise.resolve(false);
}

/** A run's judge figures for its summary (none without a judge). */
function judgeFigures(
  plan: EvaluationPlan,
  run: RunOutcome,
  grades: Awaited<ReturnType<typeof readVerdicts>> | undefined,
): Pick<ModelSummary, "judge"> {
  if (!plan.judge || !run.judge || !grades) return {};
  return {
    judge: {
      model: plan.judge.model,
      jobIds: run.judge.flatMap((g) => g.jobIds),
      graded: grades.scores.size,
      unreadable: grades.unreadable.length,
      promptTokens: grades.promptTokens,
      completionTokens: grades.completionTokens,
      cost: cost(plan.prices, plan.judge.model, grades.promptTokens, grades.completionTokens),
    },
  };
}

/** Whether failed requests are sent again: `retryFailed`, else any `resubmitOn` (which asked for it job by job). */
export function retryFailedOf(given: { retryFailed?: boolean; resubmitOn?: unknown[] }): boolean {
  return given.retryFailed ?? (Array.isArray(given.resubmitOn) && given.resubmitOn.length > 0);
}

/** The plan, or a `pulumi.RunError` with the message of the argument that cannot be planned. */
function planOrFail(name: string, given: EvaluationArgs): EvaluationPlan {
  try {
    return planEvaluation(name, given);
  } catch (error) {
    if (error instanceof EvaluationArgumentError) throw new pulumi.RunError(error.message);
    throw error;
  }
}

export class Evaluation extends pulumi.ComponentResource {
  /** Per model: job id, status, counts, accuracy, tokens and cost (once the results are in). */
  declare readonly summaries: pulumi.Output<ModelSummary[]>;
  /** Accuracy per model at a glance (`{ "mistral-large-latest": 0.9, ... }`, 4 decimals; null where nothing was scored). */
  declare readonly accuracy: pulumi.Output<Record<string, number | null>>;
  /** The HTML report, once the results are in. */
  declare readonly reportPath: pulumi.Output<string | undefined>;
  /** The Markdown summary, once the results are in. */
  declare readonly markdownPath: pulumi.Output<string | undefined>;
  /** Estimated tokens and cost per model, known at preview. */
  declare readonly estimates: pulumi.Output<EvaluationEstimate[]>;
  /** The RequestSet of each run, by its label: with several shards, the first shard's (every one is in `shards`). */
  readonly sets: Record<string, RequestSet> = {};
  /** Every shard of each run, by its label, in dataset order: its RequestSet (one for a single shard). */
  readonly shards: Record<string, EvaluationShard[]> = {};

  constructor(name: string, given: EvaluationArgs, opts?: pulumi.ComponentResourceOptions) {
    // Decide (validate, plan the files and runs, estimate) before anything is registered, write the files to upload,
    // then build. Bad arguments fail the program with their message alone: a RunError, which the Node.js language host
    // prints without a stack trace (a plain Error gets "unhandled exception" and the stack).
    const plan = planOrFail(name, given);
    super("mistral:batch:Evaluation", name, {}, opts);
    writeEvaluationInputs(plan);
    const detectable = describeDetectable(plan);
    if (detectable !== null) pulumi.log.info(detectable, this);

    const startedAt = Date.now();
    const built = buildShardedRuns(plan, this, retryFailedOf(given), startedAt, given.deleteResultFilesOnDestroy);
    const answered: pulumi.Output<unknown>[] = [];
    const judges = new Map<string, pulumi.Output<JobOutcome[]>>();
    const outcomes: pulumi.Output<RunOutcome>[] = [];
    for (const run of plan.runs) {
      const shards = built.shards.get(run.label) ?? [];
      const first = shards[0];
      if (first === undefined) throw new Error(`Evaluation ${name}: the plan gives the run ${run.label} no job`);
      this.sets[run.label] = first.set;
      this.shards[run.label] = shards.map(({ outcome: _, judge, ...shard }) => ({
        ...shard,
        ...(judge ? { judge: judge.set } : {}),
      }));
      const jobs = pulumi.all(shards.map((shard) => shard.outcome));
      answered.push(jobs);
      const grading = shards.flatMap((shard) => (shard.judge ? [shard.judge.outcome] : []));
      const graded = grading.length > 0 ? pulumi.all(grading) : undefined;
      if (graded) judges.set(run.label, graded);
      outcomes.push(
        graded
          ? pulumi.all([jobs, graded]).apply(([j, g]): RunOutcome => ({ run, jobs: j, judge: g }))
          : jobs.apply((j): RunOutcome => ({ run, jobs: j })),
      );
    }

    // The estimate: at preview, runs whose sets the engine leaves unchanged submit nothing and count nothing (their
    // outcome is known: the stored outputs); at up (after its preview said so), every run as planned.
    if (pulumi.runtime.isDryRun()) {
      const done = pulumi.runtime.rpcKeepAlive();
      Promise.all([
        ...plan.runs.map((run, i) => isKnown(answered[i]).then((known) => (known ? [] : [run.label]))),
        ...[...judges].map(([label, judge]) => isKnown(judge).then((known) => (known ? [] : [`judge:${label}`]))),
      ])
        .then((changing) => pulumi.log.info(describeEstimates(plan, new Set(changing.flat())), this))
        .catch((error: unknown) => pulumi.log.warn(`Evaluation ${name}: no estimate: ${String(error)}`, this))
        .finally(done);
    } else pulumi.log.info(describeEstimates(plan), this);

    const report = pulumi.all(outcomes).apply((runs) => runReport(plan, runs, this));
    this.summaries = report.summaries;
    this.accuracy = report.summaries.apply(accuracyByModel);
    this.reportPath = report.reportPath;
    this.markdownPath = report.markdownPath;
    this.estimates = pulumi.output(plan.runs.map((r) => r.estimate));
    this.registerOutputs({
      summaries: this.summaries,
      accuracy: this.accuracy,
      reportPath: this.reportPath,
      markdownPath: this.markdownPath,
      estimates: this.estimates,
    });
  }
}
