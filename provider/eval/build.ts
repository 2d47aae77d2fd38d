/**
 * Turns a plan's files, shards, jobs and waves (plan.ts) into resources, for the components that run a dataset in
 * shards (Evaluation, BatchRun): one BatchFile per planned file and shard, one BatchJob and one BatchResults per run
 * and shard, a job of wave k + 1 depending on every job of wave k (whose create waits for it to finish). Nothing is
 * decided here: every name, input and order is the plan's.
 */
import * as pulumi from "@pulumi/pulumi";
import { BatchFile } from "../batchFile";
import { BatchJob } from "../batchJob";
import { BatchResults } from "../batchResults";
import type { EvaluationPlan } from "./plan";

/** One job once it and its results are known. */
export interface JobOutcome {
  jobId: string;
  status: string;
  /** Adopted, or submitted before this program started (an unchanged job from an earlier `up`). */
  reused: boolean;
  downloaded: boolean;
  outputPath: string | null;
  errorPath: string | null;
}

/** One shard of one run as built: its resources, and its job's outcome once known. */
export interface BuiltShard {
  /** The shard's id (`Shard.id`). */
  id: string;
  /** Its requests. */
  requests: number;
  file: BatchFile;
  job: BatchJob;
  results: BatchResults;
  outcome: pulumi.Output<JobOutcome>;
}

export interface BuiltRuns {
  /** Every BatchFile, in the plan's order (file by file, shard by shard). */
  files: BatchFile[];
  /** Each run's shards, by the run's label, in dataset order. */
  shards: Map<string, BuiltShard[]>;
}

/**
 * The resources of `plan`, children of `parent`. `startedAt` (ms) tells a job submitted by this program from one
 * submitted before it (`JobOutcome.reused`).
 */
export function buildShardedRuns(plan: EvaluationPlan, parent: pulumi.Resource, startedAt: number): BuiltRuns {
  const childOpts = { parent };
  const files = new Map<string, BatchFile>();
  for (const planned of plan.files) {
    for (const shard of planned.shards) {
      const file = new BatchFile(
        shard.name,
        { source: shard.path, endpoint: plan.endpoint, filenamePrefix: shard.name },
        childOpts,
      );
      files.set(shard.name, file);
    }
  }
  const built = new Map<string, Omit<BuiltShard, "id" | "requests" | "file">>();
  let previous: BatchJob[] = [];
  for (const wave of plan.waves) {
    const current: BatchJob[] = [];
    for (const planned of wave) {
      const file = files.get(planned.file);
      const run = plan.runs.find((r) => r.label === planned.run);
      if (file === undefined || run === undefined)
        throw new Error(`${plan.name}: the plan names a job ${planned.jobName} on no planned file or run`);
      const job = new BatchJob(
        planned.jobName,
        {
          inputFiles: [file.id],
          model: run.model,
          endpoint: plan.endpoint,
          metadata: planned.metadata,
          waitForCompletion: plan.waitForCompletion,
          resubmitOn: plan.resubmitOn,
        },
        previous.length ? { ...childOpts, dependsOn: previous } : childOpts,
      );
      const results = BatchResults.forJob(planned.resultsName, job, { directory: run.resultsDir }, childOpts);
      const outcome = pulumi
        .all([
          job.id,
          job.status,
          job.adopted,
          job.createdAt,
          results.downloaded,
          results.outputPath,
          results.errorPath,
        ])
        .apply(
          ([jobId, status, adopted, createdAt, downloaded, outputPath, errorPath]): JobOutcome => ({
            jobId,
            status,
            reused: adopted || createdAt * 1000 < startedAt - 1000,
            downloaded,
            outputPath,
            errorPath,
          }),
        );
      built.set(planned.jobName, { job, results, outcome });
      current.push(job);
    }
    previous = current;
  }

  const shards = new Map<string, BuiltShard[]>();
  for (const run of plan.runs) {
    shards.set(
      run.label,
      run.jobs.map((job) => {
        const made = built.get(job.jobName);
        const file = files.get(job.file);
        if (made === undefined || file === undefined)
          throw new Error(`${plan.name}: the job ${job.jobName} is in no wave of the plan`);
        return { id: job.shard, requests: job.requests, file, ...made };
      }),
    );
  }
  return { files: [...files.values()], shards };
}
