/**
 * BatchJob: a Mistral batch job. Create submits (idempotently), read reads status and counts, update waits or
 * changes policies, delete cancels what still runs.
 */
import * as pulumi from "@pulumi/pulumi";
import type { BatchJob as SdkBatchJob } from "@mistralai/mistralai/models/components" with {
  "resolution-mode": "import",
};
import { NO_RETRIES, call, isAmbiguous, isNotFound, isRetryable, retryAfterMs, sleep, wrapError } from "./client";
import type { ProviderContext } from "./context";
import {
  ADOPTABLE_STATUSES,
  DEFAULT_ENDPOINT,
  IDEMPOTENCY_METADATA_KEY,
  type POLICY_FIELDS,
  type SUBMISSION_FIELDS,
  checkJobInputs,
  diffJob,
  idempotencyKey,
  isFinal,
  pollDelayMs,
  progressLine,
  waitPolicy,
  type BatchJobStatus,
  type JobInputs,
  type WaitPolicy,
} from "./jobLogic";
import { report } from "./log";
import type { ApiEndpoint } from "./requests";
import { stateVersionOf } from "./paths";
import type { Args, OutputOnly, Outputs, Registers } from "./shape";
import { thinProvider } from "./thin";

/** The args of a BatchJob: the stored inputs users set (`JobInputs`, jobLogic.ts, documents each one). */
export interface BatchJobArgs
  extends Args<
    Partial<Pick<JobInputs, (typeof SUBMISSION_FIELDS)[number] | (typeof POLICY_FIELDS)[number]>>,
    { metadata: pulumi.Input<Record<string, pulumi.Input<string>>> }
  > {}

/** Outputs as the provider stores them: the stored inputs, plus the job as Mistral last reported it. */
export interface BatchJobOutputs extends JobInputs {
  /** The version of the state's shape (paths.ts); absent in state written before version 1. */
  stateVersion?: number;
  /** The Mistral job id (also the resource id). */
  jobId: string;
  /** QUEUED, RUNNING, SUCCESS, FAILED, TIMEOUT_EXCEEDED, CANCELLATION_REQUESTED or CANCELLED, as of the last up or refresh. */
  status: BatchJobStatus;
  /** Requests in the job. */
  totalRequests: number;
  /** Requests processed so far, succeeded or failed. */
  completedRequests: number;
  /** Requests that succeeded: the lines of the output file. */
  succeededRequests: number;
  /** Requests that failed: the lines of the error file. */
  failedRequests: number;
  /** The file of successful results, once the job has ended. */
  outputFileId: string | null;
  /** The file of failed requests, when any failed. */
  errorFileId: string | null;
  /** Submission time, unix seconds. */
  createdAt: number;
  /** When the job started running, unix seconds, or null before. */
  startedAt: number | null;
  /** When the job ended, unix seconds, or null before. */
  completedAt: number | null;
  /** The job's errors as Mistral reports them, each with how often it occurred. */
  errors: { message: string; count: number }[];
  /** The key in the job's metadata that makes submission idempotent. */
  idempotencyKey: string;
  /** True when an earlier submission of the same job (same idempotency key) was adopted instead of submitting again. */
  adopted: boolean;
}

/** The outputs a BatchJob exposes: every stored output but the inputs and the state's version. */
export type BatchJobPublicOutputs = Omit<BatchJobOutputs, keyof JobInputs | "stateVersion">;

/** The public outputs, all set by the provider: registered as `undefined` by the constructor. */
const OUTPUT_ONLY: OutputOnly<BatchJobPublicOutputs> = {
  jobId: undefined,
  status: undefined,
  totalRequests: undefined,
  completedRequests: undefined,
  succeededRequests: undefined,
  failedRequests: undefined,
  outputFileId: undefined,
  errorFileId: undefined,
  createdAt: undefined,
  startedAt: undefined,
  completedAt: undefined,
  errors: undefined,
  idempotencyKey: undefined,
  adopted: undefined,
};

/** How long destroy waits for a cancelled job to stop. */
const CANCEL_WAIT_MS = 10 * 60_000;

function label(inputs: Partial<JobInputs>, id?: string): string {
  const name = inputs.scope?.split("/").pop();
  return `BatchJob ${name ? `"${name}"` : ""}${id ? ` (${id})` : ""}`.trim();
}

function outputsOf(
  inputs: JobInputs,
  job: SdkBatchJob,
  extra: { idempotencyKey: string; adopted: boolean },
): BatchJobOutputs {
  return {
    ...inputs,
    jobId: job.id,
    status: job.status as BatchJobStatus,
    totalRequests: job.totalRequests,
    completedRequests: job.completedRequests,
    succeededRequests: job.succeededRequests,
    failedRequests: job.failedRequests,
    outputFileId: job.outputFile ?? null,
    errorFileId: job.errorFile ?? null,
    createdAt: job.createdAt,
    startedAt: job.startedAt ?? null,
    completedAt: job.completedAt ?? null,
    errors: job.errors.map((e) => ({ message: e.message, count: e.count ?? 1 })),
    idempotencyKey: extra.idempotencyKey,
    adopted: extra.adopted,
    stateVersion: stateVersionOf(inputs as { stateVersion?: unknown }),
  };
}

/**
 * An error that keeps the job in state (an init error): the job exists and the next `up` picks it up. The engine
 * shows an init error's `reasons`, not its message, so the message is the one reason.
 */
function keepInState(
  ctx: ProviderContext,
  message: string,
  id: string,
  properties: Record<string, unknown>,
  cause?: unknown,
): Error {
  const text = ctx.redact(message);
  return Object.assign(new Error(text, cause === undefined ? undefined : { cause }), {
    id,
    properties,
    reasons: [text],
  });
}

async function getJob(ctx: ProviderContext, id: string, resource: string): Promise<SdkBatchJob> {
  const client = await ctx.client();
  return call(ctx, "batch.jobs.get", resource, () => client.batch.jobs.get({ jobId: id }));
}

/** A job of ours, found by its idempotency key, that is live or done: adopt it instead of submitting again. */
async function findSubmitted(ctx: ProviderContext, key: string, resource: string): Promise<SdkBatchJob | undefined> {
  const client = await ctx.client();
  const found: SdkBatchJob[] = [];
  for (let page = 0; page < 20; page++) {
    const list = await call(ctx, "batch.jobs.list", resource, () =>
      // Not filtered by model: Mistral may store a resolved name for an alias, and the key identifies the job anyway.
      client.batch.jobs.list({ page, pageSize: 100, metadata: { [IDEMPOTENCY_METADATA_KEY]: key } }),
    );
    const data = list.data ?? [];
    // The server may or may not filter on metadata: check it here.
    found.push(
      ...data.filter(
        (j) =>
          j.metadata?.[IDEMPOTENCY_METADATA_KEY] === key && ADOPTABLE_STATUSES.includes(j.status as BatchJobStatus),
      ),
    );
    if (data.length < 100) break;
  }
  for (const job of found.sort((a, b) => b.createdAt - a.createdAt)) {
    if (job.status !== "SUCCESS" || !job.outputFile) return job;
    // A finished job is worth adopting only while its results exist: after a destroy with
    // deleteResultFilesOnDestroy (or once Mistral dropped them), adopting it would hand out a dangling file id.
    if (await resultsExist(ctx, job.outputFile, resource)) return job;
    report(
      ctx,
      `${resource}: job ${job.id} was submitted earlier with the same inputs, but its output file ${job.outputFile} no longer exists; submitting again`,
    );
  }
  return undefined;
}

async function resultsExist(ctx: ProviderContext, fileId: string, resource: string): Promise<boolean> {
  const client = await ctx.client();
  try {
    const file = await call(ctx, "files.retrieve", resource, () => client.files.retrieve({ fileId }));
    return !file.deleted;
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  }
}

/** Submits the job unless it was submitted already; never leaves two jobs for one submission. */
async function submit(
  ctx: ProviderContext,
  inputs: JobInputs,
  key: string,
  resource: string,
): Promise<{ job: SdkBatchJob; adopted: boolean }> {
  const existing = await findSubmitted(ctx, key, resource);
  if (existing) return { job: existing, adopted: true };
  const client = await ctx.client();
  const request = {
    inputFiles: inputs.inputFiles,
    requests: inputs.requests?.map((r) => ({ customId: r.customId, body: r.body })),
    model: inputs.model,
    agentId: inputs.agentId,
    endpoint: inputs.endpoint,
    metadata: { ...(inputs.metadata ?? {}), [IDEMPOTENCY_METADATA_KEY]: key },
    timeoutHours: inputs.timeoutHours,
  };
  let delay = 500;
  for (let attempt = 1; ; attempt++) {
    try {
      return { job: await client.batch.jobs.create(request, { retries: NO_RETRIES }), adopted: false };
    } catch (error) {
      if (isAmbiguous(error)) {
        // The job may exist although the answer was lost: look before submitting again.
        const found = await findSubmitted(ctx, key, resource);
        if (found) return { job: found, adopted: true };
      }
      if (attempt >= 6 || !isRetryable(error)) throw wrapError(ctx, error, "batch.jobs.create", resource);
      await sleep(retryAfterMs(error) ?? delay);
      delay = Math.min(delay * 2, 30_000);
    }
  }
}

/** Polls until a final status or the policy's deadline; reports progress as it goes. */
async function waitForFinal(
  ctx: ProviderContext,
  job: SdkBatchJob,
  policy: Required<WaitPolicy>,
  resource: string,
): Promise<{ job: SdkBatchJob; timedOut: boolean }> {
  const deadline = Date.now() + policy.timeoutMinutes * 60_000;
  let last = "";
  for (let poll = 0; !isFinal(job.status); poll++) {
    const left = deadline - Date.now();
    if (left <= 0) return { job, timedOut: true };
    await sleep(Math.min(pollDelayMs(poll, policy.pollIntervalSeconds), left));
    job = await getJob(ctx, job.id, resource);
    const line = progressLine(job);
    if (line !== last) report(ctx, `${resource}: ${line}`);
    last = line;
  }
  return { job, timedOut: false };
}

export class BatchJobProvider implements pulumi.dynamic.ResourceProvider<JobInputs, BatchJobOutputs> {
  /** `ctx`: the configuration `configure` built (runtime.ts); `check` and `diff` do not use it. */
  constructor(private readonly ctx: ProviderContext) {}

  async check(_olds: JobInputs, news: JobInputs): Promise<pulumi.dynamic.CheckResult<JobInputs>> {
    const { inputs, failures } = checkJobInputs(news as unknown as Record<string, unknown>);
    return { inputs: inputs as unknown as JobInputs, failures };
  }

  async diff(_id: string, olds: BatchJobOutputs, news: JobInputs): Promise<pulumi.dynamic.DiffResult> {
    const d = diffJob(olds as unknown as Record<string, unknown>, news as unknown as Record<string, unknown>);
    return { changes: d.changes, replaces: d.replaces, deleteBeforeReplace: false };
  }

  async create(inputs: JobInputs): Promise<pulumi.dynamic.CreateResult<BatchJobOutputs>> {
    const resource = label(inputs);
    const key = idempotencyKey(inputs);
    const { job, adopted } = await submit(this.ctx, inputs, key, resource);
    report(
      this.ctx,
      `${label(inputs, job.id)}: ${adopted ? "adopted the job submitted earlier" : "submitted"}, ${job.status}`,
    );
    let outs: BatchJobOutputs;
    try {
      outs = await this.settle(inputs, job, { idempotencyKey: key, adopted }, undefined);
    } catch (error) {
      if ((error as { id?: unknown }).id) throw error; // already an init error
      // The job exists: whatever failed while waiting must not drop it from state (a plain error records nothing).
      const properties = {
        ...outputsOf(inputs, job, { idempotencyKey: key, adopted }),
        __provider: (inputs as unknown as { __provider?: string }).__provider,
      };
      throw keepInState(
        this.ctx,
        `${label(inputs, job.id)} was submitted, but waiting for it failed: ${(error as Error)?.message ?? String(error)}. It stays in state (status ${job.status} when submitted) and the next \`pulumi up\` resumes waiting`,
        job.id,
        properties,
        error,
      );
    }
    return { id: job.id, outs };
  }

  async read(id: string, props?: BatchJobOutputs): Promise<pulumi.dynamic.ReadResult<BatchJobOutputs>> {
    const known = props?.jobId ? props : undefined; // refresh has outputs; `BatchJob.get` has only an id
    let job: SdkBatchJob;
    try {
      job = await getJob(this.ctx, id, label(known ?? {}, id));
    } catch (error) {
      if (isNotFound(error)) return {}; // gone: refresh drops it from state
      throw error;
    }
    if (known) {
      return {
        id: job.id,
        props: outputsOf(known, job, { idempotencyKey: known.idempotencyKey, adopted: known.adopted }),
      };
    }
    const { [IDEMPOTENCY_METADATA_KEY]: key, ...metadata } = (job.metadata ?? {}) as Record<string, string>;
    const inputs: JobInputs = {
      ...(job.inputFiles.length ? { inputFiles: job.inputFiles } : {}),
      ...(job.model ? { model: job.model } : {}),
      ...(job.agentId ? { agentId: job.agentId } : {}),
      endpoint: (job.endpoint as ApiEndpoint) ?? DEFAULT_ENDPOINT,
      ...(Object.keys(metadata).length ? { metadata } : {}),
      timeoutHours: 24,
      scope: "",
    };
    return {
      id: job.id,
      props: outputsOf(inputs, job, { idempotencyKey: key ?? "", adopted: true }),
      inputs: inputs as BatchJobOutputs,
    };
  }

  async update(
    id: string,
    olds: BatchJobOutputs,
    news: JobInputs,
  ): Promise<pulumi.dynamic.UpdateResult<BatchJobOutputs>> {
    const resource = label(news, id);
    let job: SdkBatchJob;
    try {
      job = await getJob(this.ctx, id, resource);
    } catch (error) {
      if (isNotFound(error))
        throw new Error(
          `${resource}: the job no longer exists in Mistral; run \`pulumi refresh\` to drop it from state, then \`pulumi up\` to submit it again`,
          { cause: error },
        );
      throw error;
    }
    return {
      outs: await this.settle(news, job, { idempotencyKey: olds.idempotencyKey, adopted: olds.adopted }, olds.status),
    };
  }

  /**
   * Waits when the policy says so. A wait that times out, or a job that newly ended unsuccessfully, fails the
   * update while keeping the job in state.
   */
  private async settle(
    inputs: JobInputs,
    job: SdkBatchJob,
    extra: { idempotencyKey: string; adopted: boolean },
    previousStatus: string | undefined,
  ): Promise<BatchJobOutputs> {
    const resource = label(inputs, job.id);
    const policy = waitPolicy(inputs.waitForCompletion);
    if (!policy) return outputsOf(inputs, job, extra);
    const waited = await waitForFinal(this.ctx, job, policy, resource);
    const outs = outputsOf(inputs, waited.job, extra);
    const properties = { ...outs, __provider: (inputs as unknown as { __provider?: string }).__provider };
    if (waited.timedOut) {
      throw keepInState(
        this.ctx,
        `${resource} is still ${waited.job.status} (${progressLine(waited.job)}) after waiting ${policy.timeoutMinutes} minutes; it stays in state and the next \`pulumi up\` resumes waiting (raise waitForCompletion.timeoutMinutes to wait longer)`,
        job.id,
        properties,
      );
    }
    if (waited.job.status !== "SUCCESS" && waited.job.status !== previousStatus) {
      const errors = waited.job.errors.map((e) => `${e.message} (x${e.count ?? 1})`).join("; ");
      throw keepInState(
        this.ctx,
        `${resource} ended ${waited.job.status}${errors ? `: ${errors}` : ""}. It stays in state; set resubmitOn: ["${waited.job.status}"] to submit it again on the next \`pulumi up\``,
        job.id,
        properties,
      );
    }
    return outs;
  }

  async delete(id: string, props: BatchJobOutputs): Promise<void> {
    const resource = label(props, id);
    const client = await this.ctx.client();
    let job: SdkBatchJob;
    try {
      job = await getJob(this.ctx, id, resource);
    } catch (error) {
      if (isNotFound(error)) return; // already gone
      throw error;
    }
    if (!isFinal(job.status)) {
      if (job.status !== "CANCELLATION_REQUESTED") {
        job = await call(this.ctx, "batch.jobs.cancel", resource, () => client.batch.jobs.cancel({ jobId: id }));
        report(this.ctx, `${resource}: cancellation requested (${progressLine(job)})`);
      }
      const deadline = Date.now() + CANCEL_WAIT_MS;
      for (let poll = 0; !isFinal(job.status); poll++) {
        if (Date.now() >= deadline) {
          throw new Error(
            `${resource} is still ${job.status} ${CANCEL_WAIT_MS / 60_000} minutes after its cancellation was requested; it stays in state: run \`pulumi destroy\` again later`,
          );
        }
        await sleep(Math.min(pollDelayMs(poll, 1), Math.max(0, deadline - Date.now())));
        job = await getJob(this.ctx, id, resource);
      }
      report(this.ctx, `${resource}: ${job.status}`);
    }
    if (props.deleteResultFilesOnDestroy) {
      for (const fileId of [job.outputFile, job.errorFile]) {
        if (!fileId) continue;
        try {
          await call(this.ctx, "files.delete", resource, () => client.files.delete({ fileId }));
        } catch (error) {
          if (!isNotFound(error)) throw error;
        }
      }
    }
  }
}

/** The outputs of a BatchJob, one `pulumi.Output` per field of `BatchJobPublicOutputs` (merged into the class below). */
export interface BatchJob extends Outputs<BatchJobPublicOutputs> {}

/**
 * A Mistral batch job.
 *
 * ```ts
 * const job = new BatchJob("answers", { inputFiles: [questions.id], model: "mistral-small-latest" });
 * ```
 */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the merged interface declares the outputs pulumi.dynamic.Resource sets on the instance at run time, derived from the mapped type Outputs<…>; a class cannot take members from a mapped type, and `declare` fields would duplicate the list by hand.
export class BatchJob extends pulumi.dynamic.Resource {
  constructor(name: string, args: BatchJobArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      thinProvider("job"),
      name,
      {
        ...args,
        scope: `${pulumi.getProject()}/${pulumi.getStack()}/${name}`,
        ...OUTPUT_ONLY,
      } satisfies Registers<BatchJobPublicOutputs>,
      opts,
      "mistral/batch",
      "BatchJob",
    );
  }

  /**
   * Adopts an existing job by id, e.g. one started outside Pulumi (the `import` resource option does not work for
   * dynamic resources). Up and refresh read its status; Pulumi never changes or deletes a resource it only read, so
   * destroy drops it from state and leaves the job running if it runs.
   */
  static get(name: string, id: pulumi.Input<string>, opts?: pulumi.CustomResourceOptions): BatchJob {
    return new BatchJob(name, {}, { ...opts, id });
  }
}
