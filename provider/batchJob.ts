/**
 * BatchJob: a Mistral batch job. Create submits (idempotently), read reads status and counts, update waits or
 * changes policies, delete cancels what still runs.
 */
import * as pulumi from "@pulumi/pulumi";
import type { BatchJob as SdkBatchJob } from "@mistralai/mistralai/models/components" with {
  "resolution-mode": "import",
};
import {
  NO_RETRIES,
  backoffMs,
  call,
  isAmbiguous,
  isNotFound,
  isRetryable,
  lastPage,
  type PendingLimit,
  pendingLimitAdvice,
  pendingLimitInText,
  pendingLimitOf,
  sleep,
  wrapError,
} from "./client";
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
  progressLine,
  waitPolicy,
  type BatchJobStatus,
  type JobInputs,
  WAIT_MARGIN_MINUTES,
  type WaitPolicy,
} from "./jobLogic";
import { report } from "./log";
import { DEFAULT_POLL_SCHEDULE, formatDuration, nextPollDelayMs, pollSchedule } from "./poll";
import { checkJobModel } from "./models";
import { containsUnknown } from "./unknown";
import type { ApiEndpoint } from "./requests";
import { stateVersionOf } from "./paths";
import type { Args, OutputOnly, Outputs, Registers } from "./shape";
import { pauseStackTraces } from "./register";
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
 * @internal
 */
export function keepInState(
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

/** @internal */
export async function getJob(ctx: ProviderContext, id: string, resource: string): Promise<SdkBatchJob> {
  const client = await ctx.client();
  return call(ctx, "batch.jobs.get", resource, () => client.batch.jobs.get({ jobId: id }));
}

/** Jobs and pages of `batch.jobs.list` looked through for an earlier submission before giving up (`findSubmitted`). */
export const JOB_LOOKUP_LIMITS = Object.freeze({ jobs: 10_000, pages: 200, pageSize: 100 });
// The jobs bound can be raised per stack (mistral:jobLookupMaxJobs, settings.ts); pages follow it at 50 a page.
/** Margin for clocks when a job's earliest creation time is taken from its input files (seconds). */
const CREATED_MARGIN_S = 300;
/** `created_after` is sent a day earlier still: a server reading it in another time zone must not hide the job. */
const CREATED_AFTER_SLACK_S = 86_400;

/**
 * The lookup of an earlier submission reached its bound without an answer: nothing was submitted.
 * @internal
 */
export class JobLookupIncompleteError extends Error {
  override name = "JobLookupIncompleteError";
}

/**
 * A job of ours, found by its idempotency key, that is live or done: adopt it instead of submitting again.
 *
 * Assumes nothing of the server's filters and paging: the metadata filter may be ignored (every job is checked
 * here), `page_size` may be capped (a page ends the list only when it is empty, shorter than the longest page
 * seen, or `total` is reached). `notBefore` (unix seconds: when the job's input files were created, so the earliest
 * it can have been submitted) bounds the scan without trusting the server: it is sent as `created_after` a day
 * early, and once the list shows itself newest first (checked on every page), a job older than `notBefore` ends it.
 * Past JOB_LOOKUP_LIMITS without a definite answer it throws JobLookupIncompleteError rather than risk a duplicate.
 */
async function findSubmitted(
  ctx: ProviderContext,
  key: string,
  resource: string,
  notBefore?: number,
): Promise<SdkBatchJob | undefined> {
  const client = await ctx.client();
  const found: SdkBatchJob[] = [];
  const rejected = new Set<string>();
  /** The newest match worth adopting: a finished job only while its results exist. */
  const pick = async (): Promise<SdkBatchJob | undefined> => {
    for (const job of [...found].sort((a, b) => b.createdAt - a.createdAt)) {
      if (rejected.has(job.id)) continue;
      if (job.status !== "SUCCESS" || !job.outputFile) return job;
      // After a destroy with deleteResultFilesOnDestroy (or once Mistral dropped them), adopting it would hand
      // out a dangling file id.
      if (await resultsExist(ctx, job.outputFile, resource)) return job;
      rejected.add(job.id);
      report(
        ctx,
        `${resource}: job ${job.id} was submitted earlier with the same inputs, but its output file ${job.outputFile} no longer exists; submitting again`,
      );
    }
    return undefined;
  };
  let longest = 0;
  let seen = 0;
  let newestFirst = true;
  let previous = Number.POSITIVE_INFINITY;
  const maxJobs = ctx.settings().jobLookupMaxJobs ?? JOB_LOOKUP_LIMITS.jobs;
  const maxPages = Math.max(JOB_LOOKUP_LIMITS.pages, Math.ceil(maxJobs / 50));
  let page = 0;
  for (; page < maxPages && seen < maxJobs; page++) {
    const list = await call(ctx, "batch.jobs.list", resource, () =>
      // Not filtered by model: Mistral may store a resolved name for an alias, and the key identifies the job anyway.
      client.batch.jobs.list({
        page,
        pageSize: JOB_LOOKUP_LIMITS.pageSize,
        metadata: { [IDEMPOTENCY_METADATA_KEY]: key },
        orderBy: "-created",
        ...(notBefore !== undefined ? { createdAfter: new Date((notBefore - CREATED_AFTER_SLACK_S) * 1000) } : {}),
      }),
    );
    const data = list.data ?? [];
    for (const j of data) {
      if (j.createdAt > previous) newestFirst = false;
      previous = j.createdAt;
    }
    // The server may or may not filter on metadata: check it here.
    found.push(
      ...data.filter(
        (j) =>
          j.metadata?.[IDEMPOTENCY_METADATA_KEY] === key && ADOPTABLE_STATUSES.includes(j.status as BatchJobStatus),
      ),
    );
    seen += data.length;
    longest = Math.max(longest, data.length);
    if (lastPage(data.length, longest, seen, list.total)) return pick();
    if (newestFirst && found.length) {
      // Newest first: the newest match is in hand, and older ones would only be adopted in its place.
      const job = await pick();
      if (job) return job;
    }
    const oldest = data.at(-1)?.createdAt;
    if (notBefore !== undefined && newestFirst && oldest !== undefined && oldest < notBefore) return pick();
  }
  const job = await pick();
  if (job) return job;
  throw new JobLookupIncompleteError(
    `${resource}: could not tell whether this job was submitted already: looked through ${seen} jobs (${page} pages) ` +
      `of the workspace without reaching the end of the list, and none carries ${IDEMPOTENCY_METADATA_KEY}=${key} ` +
      "(the server seems not to filter jobs by metadata). Nothing was submitted, to avoid a duplicate. " +
      `Look for a job with that metadata in the Mistral console: if there is one, adopt it with BatchJob.get("<name>", "<job id>"); ` +
      `if not, raise the bound with \`pulumi config set mistral:jobLookupMaxJobs <n>\` (now ${maxJobs}) and run \`pulumi up\` again`,
  );
}

/**
 * The earliest time (unix seconds) a job of these inputs can have been submitted: when its newest input file was
 * created, less a margin. Undefined for inline jobs, or when a file cannot be read (the lookup then scans fully).
 */
async function earliestSubmission(
  ctx: ProviderContext,
  inputs: JobInputs,
  resource: string,
): Promise<number | undefined> {
  if (!inputs.inputFiles?.length) return undefined;
  const client = await ctx.client();
  try {
    const times = await Promise.all(
      inputs.inputFiles.map(async (fileId) => {
        const file = await call(ctx, "files.retrieve", resource, () => client.files.retrieve({ fileId }));
        return file.createdAt;
      }),
    );
    return Math.max(...times) - CREATED_MARGIN_S;
  } catch {
    return undefined;
  }
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

/** Attempts at `batch.jobs.create` for failures where nothing took effect (429 without a pending-limit refusal, 503). */
export const SUBMIT_ATTEMPTS = 6;

/**
 * Submits the job unless it was submitted already; never leaves two jobs for one submission. A create is never
 * retried by the SDK: after an ambiguous failure (lost answer, 5xx) it looks again before sending it again; a 429
 * waits (Retry-After, else 2 s doubling to 30 s) for at most SUBMIT_ATTEMPTS attempts. A refusal for the
 * workspace's pending-request limit (nothing was created) fails at once, saying what to do, unless the job waits
 * for completion: then it waits for room as long as its wait policy allows, asking again on the poll schedule
 * (poll.ts), so jobs beyond the limit are submitted as earlier ones finish.
 * @internal
 */
export async function submit(
  ctx: ProviderContext,
  inputs: JobInputs,
  key: string,
  resource: string,
): Promise<{ job: SdkBatchJob; adopted: boolean }> {
  const notBefore = await earliestSubmission(ctx, inputs, resource);
  const existing = await findSubmitted(ctx, key, resource, notBefore);
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
  const roomWait = new RoomWait(ctx, inputs, resource);
  for (let attempt = 1; ; attempt++) {
    try {
      return { job: await client.batch.jobs.create(request, { retries: NO_RETRIES }), adopted: false };
    } catch (error) {
      if (isAmbiguous(error)) {
        // The job may exist although the answer was lost: look before submitting again.
        const found = await findSubmitted(ctx, key, resource, notBefore);
        if (found) return { job: found, adopted: true };
      }
      const pending = pendingLimitOf(error);
      if (pending) {
        await roomWait.next(error, pending); // throws once the job may not wait (longer)
        attempt = 0; // a refusal for the limit created nothing: not an attempt of the bounded retries
        continue;
      }
      if (attempt >= SUBMIT_ATTEMPTS || !isRetryable(error)) throw wrapError(ctx, error, "batch.jobs.create", resource);
      await sleep(backoffMs(error, attempt));
    }
  }
}

/**
 * Waiting for room under the workspace's pending-request limit before a submission: as long as the job's wait policy
 * allows (none: not at all), on the poll schedule of that policy, reporting the numbers whenever they change.
 */
class RoomWait {
  private readonly policy: Required<WaitPolicy> | null;
  private readonly start = Date.now();
  private last = "";

  constructor(
    private readonly ctx: ProviderContext,
    private readonly inputs: JobInputs,
    private readonly resource: string,
  ) {
    this.policy = waitPolicy(inputs.waitForCompletion, inputs.timeoutHours);
  }

  /** Sleeps until the next try, or throws the refusal (with how long it waited) when the job may not wait longer. */
  async next(error: unknown, pending: PendingLimit): Promise<void> {
    const { policy } = this;
    if (!policy) throw wrapError(this.ctx, error, "batch.jobs.create", this.resource);
    const elapsed = Date.now() - this.start;
    const left = policy.timeoutMinutes * 60_000 - elapsed;
    if (left <= 0) {
      const wrapped = wrapError(this.ctx, error, "batch.jobs.create", this.resource);
      wrapped.message = `${wrapped.message} (after waiting ${waitedFor(this.inputs, policy)} for room)`;
      throw wrapped;
    }
    const line = `${this.resource}: waiting to submit: ${pendingLimitAdvice(pending).split(". ")[0]}`;
    if (line !== this.last) report(this.ctx, line);
    this.last = line;
    await sleep(Math.min(nextPollDelayMs(elapsed, pollSchedule(policy.pollIntervalSeconds)), left));
  }
}

/** How long a wait lasted and why, e.g. `5 min (waitForCompletion.timeoutMinutes 5)` or `24 h 10 min (timeoutHours 24 plus 10 min, ...)`. */
function waitedFor(inputs: JobInputs, policy: Required<WaitPolicy>): string {
  const wait = inputs.waitForCompletion;
  const given = typeof wait === "object" && wait.timeoutMinutes !== undefined;
  const why = given
    ? `waitForCompletion.timeoutMinutes ${policy.timeoutMinutes}`
    : `timeoutHours ${inputs.timeoutHours} plus ${WAIT_MARGIN_MINUTES} min, waitForCompletion.timeoutMinutes being unset`;
  return `${formatDuration(policy.timeoutMinutes * 60_000)} (${why})`;
}

/**
 * Polls until a final status or the policy's deadline, on the schedule of poll.ts (the first poll after
 * `pollIntervalSeconds`, then intervals growing with the time waited); reports progress as it goes.
 * @internal
 */
export async function waitForFinal(
  ctx: ProviderContext,
  job: SdkBatchJob,
  policy: Required<WaitPolicy>,
  resource: string,
): Promise<{ job: SdkBatchJob; timedOut: boolean }> {
  const schedule = pollSchedule(policy.pollIntervalSeconds);
  const start = Date.now();
  const deadline = start + policy.timeoutMinutes * 60_000;
  let last = "";
  while (!isFinal(job.status)) {
    const now = Date.now();
    const left = deadline - now;
    if (left <= 0) return { job, timedOut: true };
    await sleep(Math.min(nextPollDelayMs(now - start, schedule), left));
    job = await getJob(ctx, job.id, resource);
    const line = progressLine(job);
    if (line !== last) report(ctx, `${resource}: ${line}`);
    last = line;
  }
  return { job, timedOut: false };
}

/** @internal */
export class BatchJobProvider implements pulumi.dynamic.ResourceProvider<JobInputs, BatchJobOutputs> {
  /** `ctx`: the configuration `configure` built (runtime.ts); `check` uses it only to read the models API (models.ts). */
  constructor(private readonly ctx: ProviderContext) {}

  async check(olds: JobInputs, news: JobInputs): Promise<pulumi.dynamic.CheckResult<JobInputs>> {
    const { inputs, failures } = checkJobInputs(news as unknown as Record<string, unknown>);
    // The model against the models API (models.ts): only once the inputs pass, so a failure there stays the one.
    if (failures.length === 0) {
      const failure = await checkJobModel(
        this.ctx,
        (olds ?? {}) as unknown as Record<string, unknown>,
        inputs,
        label(inputs as Partial<JobInputs>),
        containsUnknown,
      );
      if (failure) failures.push(failure);
    }
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
    const policy = waitPolicy(inputs.waitForCompletion, inputs.timeoutHours);
    if (!policy) return outputsOf(inputs, job, extra);
    const waited = await waitForFinal(this.ctx, job, policy, resource);
    const outs = outputsOf(inputs, waited.job, extra);
    const properties = { ...outs, __provider: (inputs as unknown as { __provider?: string }).__provider };
    if (waited.timedOut) {
      throw keepInState(
        this.ctx,
        `${resource} is still ${waited.job.status} (${progressLine(waited.job)}) after waiting ${waitedFor(inputs, policy)}; it stays in state and the next \`pulumi up\` resumes waiting (raise waitForCompletion.timeoutMinutes to wait longer)`,
        job.id,
        properties,
      );
    }
    if (waited.job.status !== "SUCCESS" && waited.job.status !== previousStatus) {
      const errors = waited.job.errors.map((e) => `${e.message} (x${e.count ?? 1})`).join("; ");
      const pending = waited.job.errors.map((e) => pendingLimitInText(e.message)).find((p) => p !== undefined);
      const advice = pending ? ` (${pendingLimitAdvice(pending).replace("Nothing was submitted. ", "")})` : "";
      throw keepInState(
        this.ctx,
        `${resource} ended ${waited.job.status}${errors ? `: ${errors}` : ""}${advice}. It stays in state; set resubmitOn: ["${waited.job.status}"] to submit it again on the next \`pulumi up\``,
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
      const start = Date.now();
      const deadline = start + CANCEL_WAIT_MS;
      while (!isFinal(job.status)) {
        const now = Date.now();
        if (now >= deadline) {
          throw new Error(
            `${resource} is still ${job.status} ${CANCEL_WAIT_MS / 60_000} minutes after its cancellation was requested; it stays in state: run \`pulumi destroy\` again later`,
          );
        }
        await sleep(Math.min(nextPollDelayMs(now - start, DEFAULT_POLL_SCHEDULE), deadline - now));
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
    // Without the promise stack traces of Pulumi's leak report, which cost most of a registration (register.ts).
    const restore = pauseStackTraces();
    try {
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
    } finally {
      restore();
    }
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
