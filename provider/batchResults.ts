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
import { thinProvider } from "./thin";
import { containsUnknown } from "./unknown";

export interface BatchResultsArgs {
  /** The job whose results these are, typically `job.id`. A change replaces the results. */
  jobId: pulumi.Input<string>;
  /** The job's status, typically `job.status`: results are downloaded once it is final. */
  status: pulumi.Input<string>;
  /** The job's output file, typically `job.outputFileId`. */
  outputFileId?: pulumi.Input<string | null>;
  /** The job's error file, typically `job.errorFileId`. */
  errorFileId?: pulumi.Input<string | null>;
  /** Requests that succeeded (`job.succeededRequests`): the output file must hold that many lines. */
  succeededRequests?: pulumi.Input<number>;
  /** Requests that failed (`job.failedRequests`): the error file must hold that many lines. */
  failedRequests?: pulumi.Input<number>;
  /**
   * Local directory the files are written to (created if needed), relative to the program's directory.
   * A change downloads again there.
   */
  directory: pulumi.Input<string>;
  /**
   * Delete the local files on destroy.
   * @default false: downloaded results stay on disk
   */
  deleteOnDestroy?: pulumi.Input<boolean>;
}

export interface BatchResultsInputs {
  jobId: string;
  status: string;
  outputFileId?: string | null;
  errorFileId?: string | null;
  succeededRequests?: number;
  failedRequests?: number;
  directory: string;
  deleteOnDestroy?: boolean;
}

export interface BatchResultsOutputs extends BatchResultsInputs {
  /** The version of the state's shape (paths.ts); absent in state written before version 1. */
  stateVersion?: number;
  /** True once the job ended and its files are on disk. */
  downloaded: boolean;
  /** The downloaded output file: relative to the program's directory when inside it (absolute before version 1). */
  outputPath: string | null;
  errorPath: string | null;
  outputLines: number;
  errorLines: number;
  outputSha256: string | null;
  errorSha256: string | null;
}

/** Streams one Mistral file to `target` (via a temporary file and a rename); returns its line count and hash. */
async function download(ctx: ProviderContext, fileId: string, target: string, resource: string): Promise<{ lines: number; sha256: string }> {
  const client = await ctx.client();
  const stream = await call(ctx, "files.download", resource, () => client.files.download({ fileId }, { timeoutMs: 60 * 60_000 }));
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
    await pipeline(Readable.fromWeb(stream as import("node:stream/web").ReadableStream), counter, fs.createWriteStream(tmp));
    fs.renameSync(tmp, target);
  } catch (error) {
    fs.rmSync(tmp, { force: true });
    throw new Error(`${resource}: downloading file ${fileId} to ${target} failed: ${(error as Error).message}`, { cause: error });
  }
  if (last !== 10) lines++;
  return { lines, sha256: hash.digest("hex") };
}

function notYet(inputs: BatchResultsInputs): BatchResultsOutputs {
  return { ...inputs, downloaded: false, outputPath: null, errorPath: null, outputLines: 0, errorLines: 0, outputSha256: null, errorSha256: null, stateVersion: stateVersionOf(undefined) };
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
    let got;
    try {
      got = await download(ctx, fileId, target, resource);
    } catch (error) {
      if (isNotFound(error)) {
        throw new Error(`${resource}: the ${kind} file ${fileId} is no longer kept by Mistral (results are kept for a limited time); resubmit the job to get results again`, { cause: error });
      }
      throw error;
    }
    if (expected !== undefined && got.lines !== expected) {
      throw new Error(`${resource}: the ${kind} file ${fileId} has ${got.lines} lines, but the job reports ${expected} ${kind === "output" ? "succeeded" : "failed"} requests; refresh the job and run the update again`);
    }
    if (kind === "output") Object.assign(outs, { outputPath: toStatePath(target), outputLines: got.lines, outputSha256: got.sha256 });
    else Object.assign(outs, { errorPath: toStatePath(target), errorLines: got.lines, errorSha256: got.sha256 });
  }
  return outs;
}

function filesPresent(outs: BatchResultsOutputs): boolean {
  return [outs.outputPath, outs.errorPath].every((p) => p === null || p === undefined || fs.existsSync(resolveStatePath(p)));
}

/** A watched field's old and new values name the same thing (`directory`: the same place, however written). */
function sameField(k: (typeof WATCHED)[number], olds: BatchResultsInputs, news: BatchResultsInputs): boolean {
  if (k === "directory") return samePath(olds.directory, news.directory);
  return (olds[k] ?? null) === (news[k] ?? null);
}

/** Outputs an older release wrote, in this release's shape: paths relative to the program's directory when inside it. */
function upgraded(props: BatchResultsOutputs): BatchResultsOutputs {
  const rel = (p: string | null | undefined) => (typeof p === "string" ? toStatePath(p) : (p ?? null));
  return { ...props, outputPath: rel(props.outputPath), errorPath: rel(props.errorPath), stateVersion: stateVersionOf(props) };
}

const REPLACING = ["jobId"] as const;
const WATCHED = ["status", "outputFileId", "errorFileId", "succeededRequests", "failedRequests", "directory"] as const;

export class BatchResultsProvider implements pulumi.dynamic.ResourceProvider<BatchResultsInputs, BatchResultsOutputs> {
  /** `ctx`: the configuration `configure` built (runtime.ts), for the downloads. */
  constructor(private readonly ctx: ProviderContext) {}

  async check(_olds: BatchResultsInputs, news: BatchResultsInputs): Promise<pulumi.dynamic.CheckResult<BatchResultsInputs>> {
    const failures: pulumi.dynamic.CheckFailure[] = [];
    for (const k of ["jobId", "directory"] as const) {
      if (typeof news[k] !== "string" || news[k] === "") failures.push({ property: k, reason: `${k} is ${JSON.stringify(news[k])}; expected a non-empty string` });
    }
    // State holds the directory relative to the program's directory when inside it: a moved checkout shows no change.
    const directory = typeof news.directory === "string" && news.directory !== "" && !containsUnknown(news.directory) ? toStatePath(news.directory) : news.directory;
    return { inputs: { ...news, directory }, failures };
  }

  async diff(_id: string, olds: BatchResultsOutputs, news: BatchResultsInputs): Promise<pulumi.dynamic.DiffResult> {
    const replaces = REPLACING.filter((k) => containsUnknown(news[k]) || olds[k] !== news[k]);
    const changed = WATCHED.some((k) => containsUnknown(news[k]) || !sameField(k, olds, news));
    // Files deleted locally, or a job that has ended since: download (again).
    const due = (olds.downloaded && !filesPresent(olds)) || (!olds.downloaded && isFinalStatus(news.status));
    return { changes: replaces.length > 0 || changed || due || olds.deleteOnDestroy !== news.deleteOnDestroy, replaces: [...replaces] };
  }

  async create(inputs: BatchResultsInputs): Promise<pulumi.dynamic.CreateResult<BatchResultsOutputs>> {
    return { id: inputs.jobId, outs: await fetchResults(this.ctx, inputs) };
  }

  async read(id: string, props?: BatchResultsOutputs): Promise<pulumi.dynamic.ReadResult<BatchResultsOutputs>> {
    if (!props?.jobId) throw new Error(`BatchResults ${id}: cannot be adopted by id; declare it with the job it belongs to`);
    // Local files that disappeared make the next `up` download again.
    const props1 = upgraded(props);
    return { id, props: filesPresent(props1) ? props1 : { ...props1, downloaded: false } };
  }

  async update(_id: string, olds: BatchResultsOutputs, news: BatchResultsInputs): Promise<pulumi.dynamic.UpdateResult<BatchResultsOutputs>> {
    const same = WATCHED.every((k) => sameField(k, olds, news));
    if (same && olds.downloaded && filesPresent(olds)) return { outs: { ...upgraded(olds), directory: news.directory, deleteOnDestroy: news.deleteOnDestroy } };
    return { outs: await fetchResults(this.ctx, news) };
  }

  async delete(_id: string, props: BatchResultsOutputs): Promise<void> {
    // Tolerates what any release wrote: paths absolute (before version 1) or relative, fields missing or extra.
    if (!props?.deleteOnDestroy) return;
    for (const p of [props.outputPath, props.errorPath]) if (typeof p === "string" && p) fs.rmSync(resolveStatePath(p), { force: true });
  }
}

/** The results of a batch job on local disk. */
export class BatchResults extends pulumi.dynamic.Resource {
  /** True once the job ended and its files are on disk. */
  declare readonly downloaded: pulumi.Output<boolean>;
  /** Path of the downloaded output file (successful requests), or null. */
  declare readonly outputPath: pulumi.Output<string | null>;
  /** Path of the downloaded error file (failed requests), or null. */
  declare readonly errorPath: pulumi.Output<string | null>;
  declare readonly outputLines: pulumi.Output<number>;
  declare readonly errorLines: pulumi.Output<number>;
  declare readonly outputSha256: pulumi.Output<string | null>;
  declare readonly errorSha256: pulumi.Output<string | null>;

  constructor(name: string, args: BatchResultsArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      thinProvider("results"),
      name,
      { ...args, downloaded: undefined, outputPath: undefined, errorPath: undefined, outputLines: undefined, errorLines: undefined, outputSha256: undefined, errorSha256: undefined },
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
