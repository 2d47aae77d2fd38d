/**
 * BatchResults: the output and error files of a finished batch job, downloaded to local disk (streamed, line
 * counts checked) while Mistral still keeps them. Until the job has ended it records that nothing is there yet;
 * the `up` after the job ends (e.g. after a refresh of the job) downloads.
 */
import { createHash, randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import * as pulumi from "@pulumi/pulumi";
import { isFinalStatus } from "./api";
import { call, isNotFound } from "./client";
import type { ProviderContext } from "./context";
import type { BatchJob } from "./batchJob";
import { resolveStatePath, samePath, stateVersionOf, toStatePath } from "./paths";
import type { Args, OutputOnly, Outputs, Registers } from "./shape";
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
   * Requests that succeeded (`job.succeededRequests`): the output file must hold that many lines.
   * @default the output file's line count is not checked
   */
  succeededRequests?: number;
  /**
   * Requests that failed (`job.failedRequests`): the error file must hold that many lines.
   * @default the error file's line count is not checked
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
};

/** Streams one Mistral file to `target` (via a temporary file and a rename); returns its line count and hash. */
async function download(
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
    stateVersion: stateVersionOf(undefined),
  };
}

async function fetchResults(ctx: ProviderContext, inputs: BatchResultsInputs): Promise<BatchResultsOutputs> {
  if (!isFinalStatus(inputs.status)) return notYet(inputs);
  const resource = `BatchResults of job ${inputs.jobId}`;
  const dir = resolveStatePath(inputs.directory);
  const outs = notYet(inputs);
  outs.downloaded = true;
  for (const [kind, fileId, expected] of [
    ["output", inputs.outputFileId, inputs.succeededRequests],
    ["error", inputs.errorFileId, inputs.failedRequests],
  ] as const) {
    if (!fileId) continue;
    const target = path.join(dir, `${inputs.jobId}.${kind}.jsonl`);
    let got: Awaited<ReturnType<typeof download>>;
    try {
      got = await download(ctx, fileId, target, resource);
    } catch (error) {
      if (isNotFound(error)) {
        throw new Error(
          `${resource}: the ${kind} file ${fileId} is no longer kept by Mistral (results are kept for a limited time); resubmit the job to get results again`,
          { cause: error },
        );
      }
      throw error;
    }
    if (expected !== undefined && got.lines !== expected) {
      throw new Error(
        `${resource}: the ${kind} file ${fileId} has ${got.lines} lines, but the job reports ${expected} ${kind === "output" ? "succeeded" : "failed"} requests; refresh the job and run the update again`,
      );
    }
    if (kind === "output")
      Object.assign(outs, { outputPath: toStatePath(target), outputLines: got.lines, outputSha256: got.sha256 });
    else Object.assign(outs, { errorPath: toStatePath(target), errorLines: got.lines, errorSha256: got.sha256 });
  }
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
    stateVersion: stateVersionOf(props),
  };
}

const REPLACING = ["jobId"] as const;
const WATCHED = ["status", "outputFileId", "errorFileId", "succeededRequests", "failedRequests", "directory"] as const;

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
      changes: replaces.length > 0 || changed || due || olds.deleteOnDestroy !== news.deleteOnDestroy,
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
      return { outs: { ...upgraded(olds), directory: news.directory, deleteOnDestroy: news.deleteOnDestroy } };
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
    super(
      thinProvider("results"),
      name,
      { ...args, ...OUTPUT_ONLY } satisfies Registers<BatchResultsPublicOutputs>,
      opts,
      "mistral/batch",
      "BatchResults",
    );
  }

  /** The results of `job`, wired to its id, status, result files and counts, downloaded into `directory`. */
  static forJob(
    name: string,
    job: BatchJob,
    options: { directory: pulumi.Input<string>; deleteOnDestroy?: pulumi.Input<boolean> },
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
