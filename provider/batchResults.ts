/**
 * BatchResults: the output and error files of a finished batch job, downloaded to local disk (streamed, line
 * counts compared with the job's counters) while Mistral still keeps them. Until the job has ended it records that
 * nothing is there yet; the `up` after the job ends (e.g. after a refresh of the job) downloads. Every final status
 * downloads what the job has: a CANCELLED, TIMEOUT_EXCEEDED or FAILED job yields its partial results.
 *
 * The files are taken as Mistral writes them: the output file may hold inline failures besides the successes (as
 * Mistral's own SDK reads it), so a line count that differs from the job's counters is reported (a warning, and
 * `countsMatch` / `countMismatch` in the outputs), not an error. A result file that is gone (404: results are kept
 * RESULT_RETENTION_HOURS after the job ends) fails the update with what to do, or with `onExpired: "warn"` is
 * recorded in `expiredFileIds`.
 */
import { createHash, randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import * as pulumi from "@pulumi/pulumi";
import { isFinalStatus, RESULT_RETENTION_HOURS } from "./api";
import { call, isNotFound } from "./client";
import type { ProviderContext } from "./context";
import type { BatchJob } from "./batchJob";
import { report } from "./log";
import { resolveStatePath, samePath, stateVersionOf, toStatePath } from "./paths";
import type { Args, OutputOnly, Outputs, Registers } from "./shape";
import { pauseStackTraces } from "./register";
import { thinProvider } from "./thin";
import { containsUnknown } from "./unknown";

/**
 * The inputs of a BatchResults as the provider stores them (after `check`). The single source of the args'
 * documentation: `BatchResultsArgs` is derived from it.
 */
export interface BatchResultsInputs {
  /** The job whose results these are, typically `job.id`. A change replaces the results. */
  jobId: string;
  /** The job's status, typically `job.status`: results are downloaded once it is final. */
  status: string;
  /**
   * The job's output file, typically `job.outputFileId`.
   * @default none: no output file is downloaded
   */
  outputFileId?: string | null;
  /**
   * The job's error file, typically `job.errorFileId`.
   * @default none: no error file is downloaded
   */
  errorFileId?: string | null;
  /**
   * Requests that succeeded (`job.succeededRequests`), compared with the output file's line count. A difference is
   * reported (a warning; `countsMatch` false, `countMismatch` says why), not an error: Mistral may write failures
   * inline in the output file, and a job's counters may be read before they settle.
   * @default the output file's line count is not compared
   */
  succeededRequests?: number;
  /**
   * Requests that failed (`job.failedRequests`), compared with the error file's line count (reported as for
   * `succeededRequests`).
   * @default the error file's line count is not compared
   */
  failedRequests?: number;
  /**
   * Local directory the files are written to (created if needed), relative to the program's directory (state holds
   * it relative to that directory when inside it). A change downloads again there.
   */
  directory: string;
  /**
   * Delete the local files on destroy. Updates in place.
   * @default false: downloaded results stay on disk
   */
  deleteOnDestroy?: boolean;
  /**
   * What a result file that Mistral no longer keeps (404; results are kept 24 hours after the job ends, see
   * RESULT_RETENTION_HOURS) does: `"fail"` fails the update with what to do (replace the job to run its requests
   * again: `pulumi up --replace <job URN>`; for a job that ended FAILED, TIMEOUT_EXCEEDED or CANCELLED, its
   * `resubmitOn` does it); `"warn"` reports it, records the file in `expiredFileIds` and carries on with what is
   * left (an Evaluation then counts the items as missing). Updates in place: after a failure, set `"warn"` to accept
   * the loss.
   * @default "fail"
   */
  onExpired?: "fail" | "warn";
}

/** Outputs as the provider stores them: the stored inputs, plus what was downloaded where. */
export interface BatchResultsOutputs extends BatchResultsInputs {
  /** The version of the state's shape (paths.ts); absent in state written before version 1. */
  stateVersion?: number;
  /** True once the job ended and its files are on disk. */
  downloaded: boolean;
  /**
   * Path of the downloaded output file (successful requests), or null: relative to the program's directory when
   * inside it (absolute before version 1).
   */
  outputPath: string | null;
  /** Path of the downloaded error file (failed requests), or null; relative as `outputPath` is. */
  errorPath: string | null;
  /** Lines of the downloaded output file (0 when there is none). */
  outputLines: number;
  /** Lines of the downloaded error file (0 when there is none). */
  errorLines: number;
  /** SHA-256 of the downloaded output file, hex, or null. */
  outputSha256: string | null;
  /** SHA-256 of the downloaded error file, hex, or null. */
  errorSha256: string | null;
  /**
   * Whether the files' line counts equal the job's counters (`succeededRequests` for the output file,
   * `failedRequests` for the error file), or null when nothing was compared (not downloaded yet, or no counters
   * given). False is reported as a warning, not an error. Absent in state written before this release (refresh
   * and update fill in null).
   */
  countsMatch: boolean | null;
  /**
   * When `countsMatch` is false: both numbers of each file that differs and what that likely means; else null.
   * Absent in state written before this release (refresh and update fill in null).
   */
  countMismatch: string | null;
  /**
   * The result files Mistral no longer kept (404) when they were downloaded with `onExpired: "warn"`; their paths
   * are null. Empty when every file was there. Absent in state written before this release (refresh and update
   * fill in an empty list).
   */
  expiredFileIds: string[];
}

/** The args of a BatchResults: every stored input, each an Input. */
export interface BatchResultsArgs extends Args<BatchResultsInputs> {}

/** The outputs a BatchResults exposes: every stored output but the inputs and the state's version. */
export type BatchResultsPublicOutputs = Omit<BatchResultsOutputs, keyof BatchResultsInputs | "stateVersion">;

/** The public outputs, all set by the provider: registered as `undefined` by the constructor. */
const OUTPUT_ONLY: OutputOnly<BatchResultsPublicOutputs> = {
  downloaded: undefined,
  outputPath: undefined,
  errorPath: undefined,
  outputLines: undefined,
  errorLines: undefined,
  outputSha256: undefined,
  errorSha256: undefined,
  countsMatch: undefined,
  countMismatch: undefined,
  expiredFileIds: undefined,
};

/**
 * Streams one Mistral file to `target` (via a temporary file and a rename); returns its line count and hash.
 * @internal
 */
export async function download(
  ctx: ProviderContext,
  fileId: string,
  target: string,
  resource: string,
): Promise<{ lines: number; sha256: string }> {
  const client = await ctx.client();
  const stream = await call(ctx, "files.download", resource, () =>
    client.files.download({ fileId }, { timeoutMs: 60 * 60_000 }),
  );
  const hash = createHash("sha256");
  let lines = 0;
  let last = 10;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
      if (chunk.length) last = chunk[chunk.length - 1];
      done(null, chunk);
    },
  });
  const tmp = `${target}.${randomUUID()}.part`;
  fs.mkdirSync(path.dirname(target), { recursive: true });
  try {
    await pipeline(
      Readable.fromWeb(stream as import("node:stream/web").ReadableStream),
      counter,
      fs.createWriteStream(tmp),
    );
    fs.renameSync(tmp, target);
  } catch (error) {
    fs.rmSync(tmp, { force: true });
    throw new Error(`${resource}: downloading file ${fileId} to ${target} failed: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (last !== 10) lines++;
  return { lines, sha256: hash.digest("hex") };
}

function notYet(inputs: BatchResultsInputs): BatchResultsOutputs {
  return {
    ...inputs,
    downloaded: false,
    outputPath: null,
    errorPath: null,
    outputLines: 0,
    errorLines: 0,
    outputSha256: null,
    errorSha256: null,
    countsMatch: null,
    countMismatch: null,
    expiredFileIds: [],
    stateVersion: stateVersionOf(undefined),
  };
}

/**
 * The message of a result file that is gone, saying what happened and what to do.
 * @internal
 */
export function expiredMessage(resource: string, kind: string, fileId: string, onExpired: "fail" | "warn"): string {
  const what = `${resource}: the ${kind} file ${fileId} is no longer kept by Mistral (404; result files are kept about ${RESULT_RETENTION_HOURS} hours after the job ends), so these results are gone`;
  return onExpired === "warn"
    ? `${what}; carrying on without it (onExpired: "warn"), its path is null and its id is in expiredFileIds`
    : `${what}. To run the requests again, replace the job: \`pulumi up --replace <URN of the BatchJob>\` (a job that ended FAILED, TIMEOUT_EXCEEDED or CANCELLED is resubmitted by its resubmitOn); this replaces these results too. To accept the loss and carry on with what is left, set onExpired: "warn" on this BatchResults`;
}

/**
 * The comparison of the files' line counts with the job's counters: null when nothing is compared, else whether
 * they match and, when not, a message with both numbers of each file and what a difference likely means.
 * @internal
 */
export function compareCounts(
  resource: string,
  got: { output?: number; error?: number },
  expected: { succeeded?: number; failed?: number },
): { countsMatch: boolean | null; countMismatch: string | null } {
  const checks = [
    ["output", got.output ?? 0, expected.succeeded, "succeeded"],
    ["error", got.error ?? 0, expected.failed, "failed"],
  ] as const;
  const compared = checks.filter(([, , want]) => typeof want === "number");
  if (compared.length === 0) return { countsMatch: null, countMismatch: null };
  const differ = compared.filter(([, lines, want]) => lines !== want);
  if (differ.length === 0) return { countsMatch: true, countMismatch: null };
  const parts = differ.map(
    ([kind, lines, want, counter]) =>
      `the ${kind} file has ${lines} line(s), the job reports ${want} ${counter} request(s)`,
  );
  const lines = (got.output ?? 0) + (got.error ?? 0);
  const want = (expected.succeeded ?? 0) + (expected.failed ?? 0);
  const both = typeof expected.succeeded === "number" && typeof expected.failed === "number";
  const meaning =
    both && lines === want
      ? `both files hold ${lines} line(s) in all, as many as the job's succeeded + failed requests: Mistral wrote some results in the other file (e.g. failures inline in the output file), which the results' readers accept`
      : lines > want
        ? "the files hold more lines than the job counts: failures inline in the output file, or counters read before they settled"
        : "the files hold fewer lines than the job counts: counters read after the files were written, or requests whose results are missing (a partial job); those requests count as missing";
  return {
    countsMatch: false,
    countMismatch: `${resource}: ${parts.join("; ")}. ${meaning.charAt(0).toUpperCase()}${meaning.slice(1)}. The results are kept as they are; refresh the job (\`pulumi refresh\`) to compare with its latest counters`,
  };
}

async function fetchResults(ctx: ProviderContext, inputs: BatchResultsInputs): Promise<BatchResultsOutputs> {
  if (!isFinalStatus(inputs.status)) return notYet(inputs);
  const resource = `BatchResults of job ${inputs.jobId}`;
  const dir = resolveStatePath(inputs.directory);
  const onExpired = inputs.onExpired ?? "fail";
  const outs = notYet(inputs);
  outs.downloaded = true;
  const expired: string[] = [];
  for (const [kind, fileId] of [
    ["output", inputs.outputFileId],
    ["error", inputs.errorFileId],
  ] as const) {
    if (!fileId) continue;
    const target = path.join(dir, `${inputs.jobId}.${kind}.jsonl`);
    let got: Awaited<ReturnType<typeof download>>;
    try {
      got = await download(ctx, fileId, target, resource);
    } catch (error) {
      if (!isNotFound(error)) throw error;
      if (onExpired !== "warn") throw new Error(expiredMessage(resource, kind, fileId, "fail"), { cause: error });
      report(ctx, `warning: ${expiredMessage(resource, kind, fileId, "warn")}`);
      // A copy downloaded by an earlier update is stale now: the paths say what this download has.
      fs.rmSync(target, { force: true });
      expired.push(fileId);
      continue;
    }
    if (kind === "output")
      Object.assign(outs, { outputPath: toStatePath(target), outputLines: got.lines, outputSha256: got.sha256 });
    else Object.assign(outs, { errorPath: toStatePath(target), errorLines: got.lines, errorSha256: got.sha256 });
  }
  outs.expiredFileIds = expired;
  // Counts are compared only where a file was there to count (an expired file's lines are unknown, not 0).
  const counted = compareCounts(
    resource,
    { output: outs.outputLines, error: outs.errorLines },
    {
      succeeded: inputs.outputFileId && expired.includes(inputs.outputFileId) ? undefined : inputs.succeededRequests,
      failed: inputs.errorFileId && expired.includes(inputs.errorFileId) ? undefined : inputs.failedRequests,
    },
  );
  Object.assign(outs, counted);
  if (counted.countMismatch !== null) report(ctx, `warning: ${counted.countMismatch}`);
  return outs;
}

function filesPresent(outs: BatchResultsOutputs): boolean {
  return [outs.outputPath, outs.errorPath].every(
    (p) => p === null || p === undefined || fs.existsSync(resolveStatePath(p)),
  );
}

/** A watched field's old and new values name the same thing (`directory`: the same place, however written). */
function sameField(k: (typeof WATCHED)[number], olds: BatchResultsInputs, news: BatchResultsInputs): boolean {
  if (k === "directory") return samePath(olds.directory, news.directory);
  return (olds[k] ?? null) === (news[k] ?? null);
}

/** Outputs an older release wrote, in this release's shape: paths relative to the program's directory when inside it. */
function upgraded(props: BatchResultsOutputs): BatchResultsOutputs {
  const rel = (p: string | null | undefined) => (typeof p === "string" ? toStatePath(p) : (p ?? null));
  return {
    ...props,
    outputPath: rel(props.outputPath),
    errorPath: rel(props.errorPath),
    // Fields newer than the state: unknown for what an older release downloaded.
    countsMatch: typeof props.countsMatch === "boolean" ? props.countsMatch : null,
    countMismatch: typeof props.countMismatch === "string" ? props.countMismatch : null,
    expiredFileIds: Array.isArray(props.expiredFileIds) ? props.expiredFileIds : [],
    stateVersion: stateVersionOf(props),
  };
}

const REPLACING = ["jobId"] as const;
const WATCHED = ["status", "outputFileId", "errorFileId", "succeededRequests", "failedRequests", "directory"] as const;

/** @internal */
export class BatchResultsProvider implements pulumi.dynamic.ResourceProvider<BatchResultsInputs, BatchResultsOutputs> {
  /** `ctx`: the configuration `configure` built (runtime.ts), for the downloads. */
  constructor(private readonly ctx: ProviderContext) {}

  async check(
    _olds: BatchResultsInputs,
    news: BatchResultsInputs,
  ): Promise<pulumi.dynamic.CheckResult<BatchResultsInputs>> {
    const failures: pulumi.dynamic.CheckFailure[] = [];
    for (const k of ["jobId", "directory"] as const) {
      if (typeof news[k] !== "string" || news[k] === "")
        failures.push({ property: k, reason: `${k} is ${JSON.stringify(news[k])}; expected a non-empty string` });
    }
    const onExpired: unknown = news.onExpired;
    if (onExpired !== undefined && onExpired !== "fail" && onExpired !== "warn" && !containsUnknown(onExpired))
      failures.push({
        property: "onExpired",
        reason: `onExpired is ${JSON.stringify(onExpired)}; expected "fail" or "warn"`,
      });
    // State holds the directory relative to the program's directory when inside it: a moved checkout shows no change.
    const directory =
      typeof news.directory === "string" && news.directory !== "" && !containsUnknown(news.directory)
        ? toStatePath(news.directory)
        : news.directory;
    return { inputs: { ...news, directory }, failures };
  }

  async diff(_id: string, olds: BatchResultsOutputs, news: BatchResultsInputs): Promise<pulumi.dynamic.DiffResult> {
    const replaces = REPLACING.filter((k) => containsUnknown(news[k]) || olds[k] !== news[k]);
    const changed = WATCHED.some((k) => containsUnknown(news[k]) || !sameField(k, olds, news));
    // Files deleted locally, or a job that has ended since: download (again).
    const due = (olds.downloaded && !filesPresent(olds)) || (!olds.downloaded && isFinalStatus(news.status));
    return {
      changes:
        replaces.length > 0 ||
        changed ||
        due ||
        olds.deleteOnDestroy !== news.deleteOnDestroy ||
        (olds.onExpired ?? "fail") !== (news.onExpired ?? "fail"),
      replaces: [...replaces],
    };
  }

  async create(inputs: BatchResultsInputs): Promise<pulumi.dynamic.CreateResult<BatchResultsOutputs>> {
    return { id: inputs.jobId, outs: await fetchResults(this.ctx, inputs) };
  }

  async read(id: string, props?: BatchResultsOutputs): Promise<pulumi.dynamic.ReadResult<BatchResultsOutputs>> {
    if (!props?.jobId)
      throw new Error(`BatchResults ${id}: cannot be adopted by id; declare it with the job it belongs to`);
    // Local files that disappeared make the next `up` download again.
    const props1 = upgraded(props);
    return { id, props: filesPresent(props1) ? props1 : { ...props1, downloaded: false } };
  }

  async update(
    _id: string,
    olds: BatchResultsOutputs,
    news: BatchResultsInputs,
  ): Promise<pulumi.dynamic.UpdateResult<BatchResultsOutputs>> {
    const same = WATCHED.every((k) => sameField(k, olds, news));
    if (same && olds.downloaded && filesPresent(olds))
      return {
        outs: {
          ...upgraded(olds),
          directory: news.directory,
          deleteOnDestroy: news.deleteOnDestroy,
          onExpired: news.onExpired,
        },
      };
    return { outs: await fetchResults(this.ctx, news) };
  }

  async delete(_id: string, props: BatchResultsOutputs): Promise<void> {
    // Tolerates what any release wrote: paths absolute (before version 1) or relative, fields missing or extra.
    if (!props?.deleteOnDestroy) return;
    for (const p of [props.outputPath, props.errorPath])
      if (typeof p === "string" && p) fs.rmSync(resolveStatePath(p), { force: true });
  }
}

/** The outputs of a BatchResults, one `pulumi.Output` per field of `BatchResultsPublicOutputs` (merged into the class below). */
export interface BatchResults extends Outputs<BatchResultsPublicOutputs> {}

/** The results of a batch job on local disk. */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the merged interface declares the outputs pulumi.dynamic.Resource sets on the instance at run time, derived from the mapped type Outputs<…>; a class cannot take members from a mapped type, and `declare` fields would duplicate the list by hand.
export class BatchResults extends pulumi.dynamic.Resource {
  constructor(name: string, args: BatchResultsArgs, opts?: pulumi.CustomResourceOptions) {
    // Without the promise stack traces of Pulumi's leak report, which cost most of a registration (register.ts).
    const restore = pauseStackTraces();
    try {
      super(
        thinProvider("results"),
        name,
        { ...args, ...OUTPUT_ONLY } satisfies Registers<BatchResultsPublicOutputs>,
        opts,
        "mistral/batch",
        "BatchResults",
      );
    } finally {
      restore();
    }
  }

  /** The results of `job`, wired to its id, status, result files and counts, downloaded into `directory`. */
  static forJob(
    name: string,
    job: BatchJob,
    options: {
      directory: pulumi.Input<string>;
      deleteOnDestroy?: pulumi.Input<boolean>;
      onExpired?: pulumi.Input<"fail" | "warn">;
    },
    opts?: pulumi.CustomResourceOptions,
  ): BatchResults {
    return new BatchResults(
      name,
      {
        jobId: job.id,
        status: job.status,
        outputFileId: job.outputFileId,
        errorFileId: job.errorFileId,
        succeededRequests: job.succeededRequests,
        failedRequests: job.failedRequests,
        ...options,
      },
      opts,
    );
  }
}
