/**
 * Turns a plan's files, shards, jobs and waves (plan.ts) into resources, for the components that run a dataset in
 * shards (Evaluation, BatchRun): one RequestSet per run and shard (which uploads and submits only the requests
 * without a result: requestSet.ts), with a judge scorer a grading set beside each (depending on the answers it
 * grades), and a set of wave k + 1 depending on every set of wave k, answers and grades (whose updates wait for their
 * jobs to finish): so the grades of a wave and the answers of the next are never pending at once, and a wave keeps
 * the workspace's pending limit with its grades. Nothing is decided here: every name, input and order is the plan's.
 */
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { isFinalStatus } from "../api";
import { RequestSet } from "../requestSet";
import { resolveStatePath } from "../paths";
import { JudgeInputError, type PlannedJudge, type PlannedJudgeShard, writeJudgeRequests } from "./judge";
import type { EvaluationPlan } from "./plan";
import { priceFor } from "./pricing";

/** One shard of one run once its set is up to date. */
export interface JobOutcome {
  /** The set's first job (the earliest holding a current result), or "" before any. */
  jobId: string;
  /** Every job holding a current result or still running. */
  jobIds: string[];
  status: string;
  /** Nothing was submitted by this `up`: every result came from an earlier one. */
  reused: boolean;
  /** Every current request has a result (answer or failure) on disk. */
  downloaded: boolean;
  outputPath: string | null;
  errorPath: string | null;
  /** Requests of the shard, and how many were submitted, reused, retried and removed by this `up`. */
  requests: number;
  succeeded: number;
  failed: number;
  submitted: number;
  retried: number;
  /** What the run's model resolved to in the models API when the set's requests last ran (null: not known). */
  resolvedModel: string | null;
}

/** One shard of one run as built: its set, and the set's outcome once known. */
export interface BuiltShard {
  /** The shard's id (`Shard.id`). */
  id: string;
  /** Its requests. */
  requests: number;
  /** The shard's requests for the run's model, kept answered incrementally. */
  set: RequestSet;
  outcome: pulumi.Output<JobOutcome>;
  /** With a judge scorer: the set grading the shard's answers, and its outcome. */
  judge?: { set: RequestSet; outcome: pulumi.Output<JobOutcome> };
}

export interface BuiltRuns {
  /** Each run's shards, by the run's label, in dataset order. */
  shards: Map<string, BuiltShard[]>;
}

/** True while any of `sets` has a job not yet finished, or requests not yet submitted. */
function holdWhileRunning(sets: readonly RequestSet[]): pulumi.Output<boolean> {
  return pulumi.all(sets.map((s) => s.status)).apply((statuses) => statuses.some((status) => !isFinalStatus(status)));
}

/**
 * The resources of `plan`, children of `parent`: one RequestSet per run and shard, on the shard's file of the run's
 * overrides, a set of wave k + 1 depending on every set of wave k. `retryFailed` sends failed requests again;
 * `deleteResultFilesOnDestroy` has destroy delete the sets' result files in Mistral; `startedAt` (ms) tells a set
 * this program updated from one it left as it was.
 */
export function buildShardedRuns(
  plan: EvaluationPlan,
  parent: pulumi.Resource,
  retryFailed: boolean,
  startedAt: number,
  deleteResultFilesOnDestroy = false,
): BuiltRuns {
  const childOpts = { parent };
  const sources = new Map<string, { path: string; name: string }>();
  for (const planned of plan.files) for (const shard of planned.shards) sources.set(shard.name, shard);
  const built = new Map<string, Omit<BuiltShard, "id" | "requests">>();
  const judge = plan.judge;
  // The judge's set of each run and shard, and each shard's dataset file (the items it grades), looked up per job.
  const judgeShards = new Map(
    (judge?.runs ?? []).flatMap((r) => r.shards.map((j) => [`${r.label}\n${j.shard}`, j] as const)),
  );
  const datasets = new Map(judge ? plan.shards.map((shard, k) => [shard.id, plan.report.dataset[k]] as const) : []);
  let previous: RequestSet[] = [];
  for (const wave of plan.waves) {
    const current: RequestSet[] = [];
    for (const planned of wave) {
      const source = sources.get(planned.file);
      const run = plan.runs.find((r) => r.label === planned.run);
      if (source === undefined || run === undefined)
        throw new Error(`${plan.name}: the plan names a job ${planned.jobName} on no planned file or run`);
      const several = run.jobs.length > 1;
      const discount = plan.prices.batchDiscount ?? 0.5;
      const set = new RequestSet(
        planned.jobName,
        {
          source: source.path,
          model: run.model,
          endpoint: plan.endpoint,
          directory: several ? path.join(run.resultsDir, planned.shard) : run.resultsDir,
          metadata: planned.metadata,
          waitForCompletion: plan.waitForCompletion,
          retryFailed,
          deleteResultFilesOnDestroy,
          onModelChange: plan.onModelChange,
          price: run.price
            ? { input: run.price.inputPerMTok * discount, output: run.price.outputPerMTok * discount }
            : null,
          // Its own uploads (destroying a set deletes them): the set's name, not the shared shard file's.
          filenamePrefix: planned.jobName,
          // A later wave submits nothing while a set of the wave before has a job still running (an `up` that does
          // not wait leaves it for a later `up`; one that waits has them finished by now).
          ...(previous.length ? { hold: holdWhileRunning(previous) } : {}),
        },
        previous.length ? { ...childOpts, dependsOn: previous } : childOpts,
      );
      const outcome = outcomeOf(set, startedAt);
      let grading: BuiltShard["judge"];
      if (judge) {
        const judged = judgeShards.get(`${run.label}\n${planned.shard}`);
        const dataset = datasets.get(planned.shard);
        if (judged === undefined || dataset === undefined)
          throw new Error(`${plan.name}: the judge has no set or dataset file for the job ${planned.jobName}`);
        const answers = { label: run.label, set, outcome, dataset };
        const gradingSet = buildJudgeSet(plan, judge, judged, answers, parent, deleteResultFilesOnDestroy);
        grading = { set: gradingSet, outcome: outcomeOf(gradingSet, startedAt) };
      }
      built.set(planned.jobName, { set, outcome, ...(grading ? { judge: grading } : {}) });
      current.push(set, ...(grading ? [grading.set] : []));
    }
    previous = current;
  }

  const shards = new Map<string, BuiltShard[]>();
  for (const run of plan.runs) {
    shards.set(
      run.label,
      run.jobs.map((job) => {
        const made = built.get(job.jobName);
        if (made === undefined) throw new Error(`${plan.name}: the job ${job.jobName} is in no wave of the plan`);
        return { id: job.shard, requests: job.requests, ...made };
      }),
    );
  }
  return { shards };
}

/** A set's outcome once it is up to date: its jobs, status, result files and the counts of this `up`. */
function outcomeOf(set: RequestSet, startedAt: number): pulumi.Output<JobOutcome> {
  const counts = pulumi.all([
    set.totalRequests,
    set.succeededRequests,
    set.failedRequests,
    set.submittedRequests,
    set.retriedRequests,
    set.pendingRequests,
    set.updatedAt,
  ]);
  return pulumi
    .all([set.jobIds, set.status, set.outputPath, set.errorPath, counts, set.resolvedModel])
    .apply(
      ([
        jobIds,
        status,
        outputPath,
        errorPath,
        [requests, succeeded, failed, submittedThen, retriedThen, pending, updatedAt],
        resolvedModel,
      ]): JobOutcome => {
        // A set this `up` did not update keeps the counts of the `up` that did: nothing was submitted now.
        const now = updatedAt >= startedAt;
        const submitted = now ? submittedThen : 0;
        return {
          jobId: jobIds[0] ?? "",
          jobIds,
          status,
          reused: submitted === 0,
          downloaded: pending === 0 && isFinalStatus(status),
          outputPath,
          errorPath,
          requests,
          succeeded,
          failed,
          submitted,
          retried: now ? retriedThen : 0,
          resolvedModel: typeof resolvedModel === "string" ? resolvedModel : null,
        };
      },
    );
}

/**
 * The set grading one shard's answers (plan.judge): on the grading requests written from those answers once they
 * are on disk (judge.ts), so it updates after the answers' set. At preview, while the answers' set changes, its
 * grades are unknown (the answers are not there yet).
 */
function buildJudgeSet(
  plan: EvaluationPlan,
  judge: PlannedJudge,
  planned: PlannedJudgeShard,
  answers: { label: string; set: RequestSet; outcome: pulumi.Output<JobOutcome>; dataset: string },
  parent: pulumi.Resource,
  deleteResultFilesOnDestroy: boolean,
): RequestSet {
  const price = priceFor(plan.prices, judge.model);
  const discount = plan.prices.batchDiscount ?? 0.5;
  const expectedFile = plan.expected?.file;
  if (expectedFile === undefined) throw new Error(`${plan.name}: a judge is planned without expected answers`);
  const what = `Evaluation ${plan.name}: the judge of ${answers.label}${plan.shards.length > 1 ? ` (shard ${planned.shard})` : ""}`;
  const source = answers.outcome.apply(async (job) => {
    if (!job.downloaded)
      throw new pulumi.RunError(
        `${what} has no answers to grade yet (their job is ${job.status}); it grades the answers of the same up`,
      );
    try {
      const grades = await writeJudgeRequests(
        judge,
        { source: planned.source, label: what },
        {
          dataset: [answers.dataset],
          expectedFile,
          outputFiles: job.outputPath === null ? [] : [resolveStatePath(job.outputPath)],
          endpoint: plan.endpoint,
          maxBytes: plan.limits.bytesPerFile,
        },
      );
      if (grades === 0)
        pulumi.log.warn(
          `${what}: nothing to grade (${job.succeeded === 0 ? `every one of its ${job.failed} request(s) failed` : "no answered item has an expected answer"}); its grading set submits nothing`,
          parent,
        );
    } catch (error) {
      if (error instanceof JudgeInputError) throw new pulumi.RunError(error.message);
      throw error;
    }
    return planned.source;
  });
  return new RequestSet(
    planned.setName,
    {
      source,
      model: judge.model,
      endpoint: "/v1/chat/completions",
      directory: planned.directory,
      metadata: {
        evaluation: plan.name,
        run: answers.label,
        role: "judge",
        ...(plan.shards.length > 1 ? { shard: planned.shard } : {}),
      },
      waitForCompletion: plan.waitForCompletion,
      retryFailed: false,
      deleteResultFilesOnDestroy,
      onModelChange: plan.onModelChange,
      price: price ? { input: price.inputPerMTok * discount, output: price.outputPerMTok * discount } : null,
      filenamePrefix: planned.setName,
      // A shard with nothing to grade gets an empty file: a set of no requests, not a failed up.
      allowEmpty: true,
    },
    { parent, dependsOn: [answers.set] },
  );
}
