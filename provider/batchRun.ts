/**
 * BatchRun (`mistral:batch:BatchRun`): a dataset of any size run on one model, for users who want the outputs and no
 * scoring. Planned as a one-model Evaluation is (eval/plan.ts: checked lines, stable shards within Mistral's job and
 * file limits, waves within the workspace's pending requests) and built alike (eval/build.ts: one BatchFile, BatchJob
 * and BatchResults per shard); once every shard's results are on disk the program merges them into one output file
 * and one error file, as if one job had run (merge.ts). Only `custom_id` and `body` of each line are uploaded.
 */
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import type { EvaluationEstimate, EvaluationLimits, EvaluationShard } from "./evaluation";
import { buildShardedRuns } from "./eval/build";
import { retryFailedOf } from "./evaluation";
import { EvaluationArgumentError } from "./eval/errors";
import { writeEvaluationInputs } from "./eval/inputs";
import { aggregateStatus } from "./eval/join";
import { mergeResultFiles } from "./eval/merge";
import { describeShards, planEvaluation, type EvaluationPlan } from "./eval/plan";
import { formatUsd } from "./eval/report";
import type { BatchJobStatus, WaitPolicy } from "./jobLogic";
import { toStatePath } from "./paths";
import type { ApiEndpoint } from "./requests";

/** Plain values, not Inputs: they decide which resources exist. */
export interface BatchRunArgs {
  /**
   * The JSONL of `{custom_id, body}` lines to run. Only `custom_id` and `body` are uploaded (other fields of a line
   * change nothing). Editing lines submits only those (and added ones) on the next `up`; removed ones drop out.
   */
  dataset: string;
  /** The model every request runs on. A change runs every request again. */
  model: string;
  /**
   * The endpoint every request is sent to. A change replaces every job.
   * @default "/v1/chat/completions"
   */
  endpoint?: ApiEndpoint;
  /**
   * Metadata added to every job. A change replaces every job.
   * @default none: only `evaluation` (this run's name), `run` ("run") and, with several shards, `shard`
   */
  metadata?: Record<string, string>;
  /**
   * Wait for the jobs in `up`, as BatchJob's `waitForCompletion` does (needed to merge the results in the same `up`,
   * and for more than one wave). Updates the jobs in place.
   * @default true: up to the jobs' `timeoutHours` (24) plus 10 minutes
   */
  waitForCompletion?: boolean | WaitPolicy;
  /**
   * Statuses on which the next `up` resubmits a job (its requests are sent again, as with `retryFailed: true`).
   * @default [] (never resubmit)
   */
  resubmitOn?: BatchJobStatus[];
  /**
   * Send failed requests again on the next `up`, as a small job of only those per shard. Updates in place.
   * @default false (true when `resubmitOn` is set)
   */
  retryFailed?: boolean;
  /**
   * Limits of the shards and waves, at most Mistral's (as an Evaluation's `limits`).
   * @default Mistral's: `{ requestsPerJob: 100000, bytesPerFile: 536870912 (512 MB), pendingRequests: 1000000 }`
   */
  limits?: EvaluationLimits;
  /**
   * Where the files to upload, each shard's results and the merged results are written, relative to the program.
   * @default ".mistral-batch/<name>"
   */
  outputDir?: string;
}

/**
 * The plan of BatchRun `name` (pure, as `planEvaluation` is: a one-model Evaluation without scoring, run "run").
 * Throws an EvaluationArgumentError whose message names the BatchRun, the argument, the value and what is allowed.
 */
export function planBatchRun(name: string, given: BatchRunArgs): EvaluationPlan {
  const fail = (message: string): never => {
    throw new EvaluationArgumentError(`BatchRun "${name}": ${message}`);
  };
  if (typeof given?.model !== "string" || given.model.trim() === "")
    fail(`model is ${JSON.stringify(given?.model)}; expected a model name, e.g. "mistral-small-latest"`);
  if (typeof given.dataset !== "string")
    fail(
      `dataset is ${JSON.stringify(given.dataset)?.slice(0, 80)}; expected the path of a JSONL file of {"custom_id", "body"} lines`,
    );
  try {
    return planEvaluation(name, {
      dataset: given.dataset,
      models: [{ name: given.model, label: "run" }],
      endpoint: given.endpoint,
      metadata: given.metadata,
      waitForCompletion: given.waitForCompletion,
      resubmitOn: given.resubmitOn,
      limits: given.limits,
      outputDir: given.outputDir ?? path.join(".mistral-batch", name),
    });
  } catch (error) {
    if (error instanceof EvaluationArgumentError)
      throw new EvaluationArgumentError(error.message.replace(/^Evaluation "/, 'BatchRun "'), { cause: error });
    throw error;
  }
}

export class BatchRun extends pulumi.ComponentResource {
  /** SUCCESS once every job succeeded; otherwise the status of the first job that did not. */
  declare readonly status: pulumi.Output<string>;
  /** Every job, in shard order. */
  declare readonly jobIds: pulumi.Output<string[]>;
  /** Requests in the dataset (every shard). */
  declare readonly totalRequests: pulumi.Output<number>;
  /** Requests that succeeded, summed over every shard's job (as Mistral counts them, as of the last up). */
  declare readonly succeededRequests: pulumi.Output<number>;
  /** Requests that failed, summed over every shard's job. */
  declare readonly failedRequests: pulumi.Output<number>;
  /** Every shard's successful results in one JSONL (`<outputDir>/output.jsonl`), once all are in. */
  declare readonly outputPath: pulumi.Output<string | undefined>;
  /** Every shard's failed requests in one JSONL (`<outputDir>/errors.jsonl`), once all are in and when any failed. */
  declare readonly errorPath: pulumi.Output<string | undefined>;
  /** Estimated tokens and cost, known at preview. */
  declare readonly estimate: pulumi.Output<EvaluationEstimate>;
  /** Every shard, in dataset order: its RequestSet. */
  readonly shards: EvaluationShard[] = [];

  constructor(name: string, args: BatchRunArgs, opts?: pulumi.ComponentResourceOptions) {
    // Bad arguments fail the program with their message alone (a RunError: no stack trace), as an Evaluation's do.
    let plan: EvaluationPlan;
    try {
      plan = planBatchRun(name, args);
    } catch (error) {
      if (error instanceof EvaluationArgumentError) throw new pulumi.RunError(error.message);
      throw error;
    }
    super("mistral:batch:BatchRun", name, {}, opts);
    // The same writer as an Evaluation's: every shard file in one streaming pass, each line `{custom_id, body}`.
    writeEvaluationInputs(plan);
    const run = plan.runs[0];
    if (run === undefined) throw new Error(`BatchRun ${name}: the plan has no run`);
    const e = run.estimate;
    pulumi.log.info(
      `BatchRun ${name}: ${describeShards(plan).replace(/ x 1 models/, "")} on ${run.model}, ~${e.inputTokens} input tokens` +
        `${e.maxOutputTokens !== null ? ` + <=${e.maxOutputTokens} output` : ""}, ${e.estimatedCost === null ? "no price" : formatUsd(e.estimatedCost)} at the batch price`,
      this,
    );

    const built = buildShardedRuns(plan, this, retryFailedOf(args), Date.now());
    const shards = built.shards.get(run.label) ?? [];
    this.shards.push(...shards.map(({ id, requests, set }) => ({ id, requests, set })));
    const jobs = pulumi.all(shards.map((s) => s.outcome));
    this.jobIds = jobs.apply((js) => js.map((j) => j.jobId));
    this.status = jobs.apply(
      (js) =>
        aggregateStatus(
          js.map((j) => j.jobId),
          js.map((j) => j.status),
        ).status ?? "UNKNOWN",
    );
    this.totalRequests = pulumi.output(e.requests);
    // Once every shard's results are on disk (at `up`; preview writes nothing), merged in shard order.
    const merged = jobs.apply(async (js) => {
      const none = { outputPath: undefined, errorPath: undefined };
      if (!js.every((j) => j.downloaded) || pulumi.runtime.isDryRun()) return none;
      const outputPath = path.join(plan.outputDir, "output.jsonl");
      const errorPath = path.join(plan.outputDir, "errors.jsonl");
      const out = await mergeResultFiles(
        js.map((j) => j.outputPath),
        outputPath,
      );
      const err = await mergeResultFiles(
        js.map((j) => j.errorPath),
        errorPath,
      );
      return {
        outputPath: out.files > 0 ? toStatePath(outputPath) : undefined,
        errorPath: err.files > 0 ? toStatePath(errorPath) : undefined,
      };
    });
    this.outputPath = merged.outputPath;
    this.errorPath = merged.errorPath;
    // Every shard's current counts, summed.
    this.succeededRequests = jobs.apply((js) => js.reduce((a, j) => a + j.succeeded, 0));
    this.failedRequests = jobs.apply((js) => js.reduce((a, j) => a + j.failed, 0));
    this.estimate = pulumi.output(e);
    this.registerOutputs({
      status: this.status,
      jobIds: this.jobIds,
      totalRequests: this.totalRequests,
      succeededRequests: this.succeededRequests,
      failedRequests: this.failedRequests,
      outputPath: this.outputPath,
      errorPath: this.errorPath,
      estimate: this.estimate,
    });
  }
}
