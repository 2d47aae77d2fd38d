/**
 * The steps of a RequestSet update, over the provider's context: bring the earlier jobs (parts) up to date (their
 * status, waiting when the policy says so, and their files on this machine, downloaded from Mistral when missing),
 * read what they answered, plan the delta (ledger.ts), upload only the requests without a result as one file and
 * submit them as one job (idempotently: the same delta finds the same upload and the same job), and write the
 * current results (store.ts).
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type { BatchJob as SdkBatchJob } from "@mistralai/mistralai/models/components" with {
  "resolution-mode": "import",
};
import { isFinalStatus, type ApiEndpoint } from "../api";
import { BatchFileProvider } from "../batchFile";
import { getJob, submit, waitForFinal } from "../batchJob";
import { download } from "../batchResults";
import { isNotFound } from "../client";
import type { ProviderContext } from "../context";
import { formatUsd } from "../eval/report/format";
import { estimateRequestTokens } from "../eval/tokens";
import { idempotencyKey, type JobInputs, type WaitPolicy, waitPolicy } from "../jobLogic";
import { report } from "../log";
import { type Delta, describeDelta, planDelta, type SetPart } from "./ledger";
import {
  type Current,
  ERRORS_FILE,
  forEachIndexedRequest,
  indexPath,
  indexSource,
  linesOf,
  OUTPUT_FILE,
  type PartFile,
  type PartRecord,
  partPath,
  readRecord,
  type SetRecord,
  PARTS_DIR,
  type SourceIndex,
  summarizePart,
  summaryPath,
  writeCurrent,
  writeDelta,
} from "./store";
import { identities, memoized, recall, remember, wallNs } from "./memo";

/** What the steps need of the set's inputs. */
export interface SetSpec {
  /** The name in messages: `RequestSet "<name>"`. */
  resource: string;
  /** The source (absolute) and the directory of local files (absolute). */
  source: string;
  directory: string;
  model: string;
  endpoint: ApiEndpoint;
  metadata?: Record<string, string>;
  timeoutHours: number;
  waitForCompletion?: boolean | WaitPolicy;
  retryFailed: boolean;
  /** USD per million tokens at the batch price, for the estimate of a delta, or null. */
  price: { input: number; output: number } | null;
  filenamePrefix: string;
  /** The set's scope (project/stack/name): with the delta's hash, the idempotency key of its job. */
  scope: string;
}

/** The metadata key that names the set a job was submitted for (`ownerOf`): what lets an unrecorded job be adopted. */
export const SET_METADATA_KEY = "pulumi_request_set";

/**
 * The owner tag of a set's uploads and jobs: its scope, model and endpoint, hashed. A set replaced for another model
 * (or another stack's) never adopts this set's uploads or jobs.
 */
export function ownerOf(spec: Pick<SetSpec, "scope" | "model" | "endpoint">): string {
  return createHash("sha256").update(`${spec.scope}\u0000${spec.model}\u0000${spec.endpoint}`).digest("hex");
}

/** A part from the job as Mistral reports it. */
export function partOf(job: SdkBatchJob, inputFileId: string, requests: number, expired: string[] = []): SetPart {
  return {
    jobId: job.id,
    inputFileId,
    requests,
    status: job.status,
    succeeded: job.succeededRequests ?? 0,
    failed: job.failedRequests ?? 0,
    outputFileId: job.outputFile ?? null,
    errorFileId: job.errorFile ?? null,
    createdAt: job.createdAt,
    expiredFileIds: expired,
  };
}

/** The local files of a part that exist, and where its summary is kept. */
export function localFiles(directory: string, part: SetPart): PartRecord {
  const files: PartRecord["files"] = {};
  const paths: string[] = [];
  for (const kind of ["input", "output", "error"] as PartFile[]) {
    const file = partPath(directory, part.jobId, kind);
    paths.push(file);
    if (fs.existsSync(file)) files[kind] = file;
  }
  return {
    jobId: part.jobId,
    final: isFinalStatus(part.status),
    files,
    lost: part.expiredFileIds.length > 0,
    memo: { entry: summaryPath(directory, part.jobId), files: paths },
  };
}

/**
 * Downloads what of a part is not on this machine: its input file (what it was sent), and once it has ended its
 * result files. A result file Mistral no longer keeps (404) is recorded in `expiredFileIds` and reported: its
 * requests count as lost. An input file that is gone only leaves unknown which requests got no line at all (they
 * are then sent again).
 */
export async function fetchPartFiles(ctx: ProviderContext, spec: SetSpec, part: SetPart): Promise<void> {
  const wanted: [PartFile, string | null][] = [["input", part.inputFileId]];
  if (isFinalStatus(part.status)) wanted.push(["output", part.outputFileId], ["error", part.errorFileId]);
  for (const [kind, fileId] of wanted) {
    if (!fileId || part.expiredFileIds.includes(fileId)) continue;
    const target = partPath(spec.directory, part.jobId, kind);
    if (fs.existsSync(target)) continue;
    try {
      await download(ctx, fileId, target, spec.resource);
    } catch (error) {
      if (!isNotFound(error)) throw error;
      if (kind === "input") continue;
      part.expiredFileIds.push(fileId);
      report(
        ctx,
        `warning: ${spec.resource}: the ${kind} file ${fileId} of job ${part.jobId} is not on this machine and no longer kept by Mistral (404): its results are lost, and its requests are sent again`,
      );
    }
  }
}

/**
 * Brings a part's status up to date: waits for it to end when the policy says so (until `deadline`, ms). Returns
 * whether it is still running when it should have ended (a timed-out wait).
 */
export async function settlePart(
  ctx: ProviderContext,
  spec: SetSpec,
  part: SetPart,
  deadline: number | null,
): Promise<boolean> {
  if (isFinalStatus(part.status)) return false;
  let job = await getJob(ctx, part.jobId, spec.resource);
  const policy = waitPolicy(spec.waitForCompletion, spec.timeoutHours);
  if (!isFinalStatus(job.status) && policy && deadline !== null) {
    const left = Math.max(0, (deadline - Date.now()) / 60_000);
    const waited = await waitForFinal(
      ctx,
      job,
      { ...policy, timeoutMinutes: left },
      `${spec.resource} (job ${job.id})`,
    );
    job = waited.job;
  }
  Object.assign(part, partOf(job, part.inputFileId, part.requests, part.expiredFileIds));
  return policy !== null && deadline !== null && !isFinalStatus(job.status);
}

/**
 * The record of every part's local files, each part's summary read from its files once and kept while they are
 * unchanged (the files are this package's own: downloaded once, never edited).
 */
export function recordOf(spec: SetSpec, parts: readonly SetPart[]): Promise<SetRecord> {
  return readRecord(
    parts.map((p) => localFiles(spec.directory, p)),
    spec.endpoint,
    (part) => {
      const compute = () => summarizePart(part, spec.endpoint);
      if (!part.memo) return compute();
      const key = { kind: "part", final: part.final, lost: part.lost === true, endpoint: spec.endpoint };
      return memoized(part.memo.entry, part.memo.files, key, compute, { ours: part.memo.files });
    },
  );
}

/** The source's index (its requests' lines and addresses), read once and kept while the source is unchanged. */
export function sourceIndexOf(spec: SetSpec): Promise<SourceIndex> {
  return memoized(indexPath(spec.directory, "source"), [spec.source], { kind: "source" }, () =>
    indexSource(spec.source),
  );
}

/**
 * The estimated cost of the requests on `lines` of the source (their input tokens, plus max_tokens when every body
 * sets it).
 */
export async function estimateDelta(spec: SetSpec, lines: ReadonlyMap<number, string>): Promise<number | null> {
  if (spec.price === null || lines.size === 0) return lines.size === 0 ? 0 : null;
  let input = 0;
  let output = 0;
  let bounded = true;
  await forEachIndexedRequest(spec.source, lines, (line) => {
    const body = line.body as Record<string, unknown>;
    input += estimateRequestTokens(spec.endpoint, body);
    const max = body?.max_tokens;
    if (typeof max === "number") output += max;
    else bounded = false;
  });
  const { price } = spec;
  return (input * price.input + (bounded ? output * price.output : 0)) / 1e6;
}

/** The plan of an update from this machine's files, with its line (reported at preview and at update). */
export async function planSet(
  spec: SetSpec,
  parts: readonly SetPart[],
): Promise<{ index: SourceIndex; current: string[]; record: SetRecord; delta: Delta; line: string }> {
  const index = await sourceIndexOf(spec);
  const current = index.addresses;
  const record = await recordOf(spec, parts);
  const delta = planDelta(current, record.known, spec.retryFailed);
  const lost = parts.reduce((n, p) => n + p.expiredFileIds.length, 0);
  const cost = await estimateDelta(spec, linesOf(index, new Set(delta.submit)));
  const usd = cost === null ? null : formatUsd(cost);
  const line = `${describeDelta(delta, usd)}${lost ? ` (${lost} result file(s) of earlier jobs are gone: their requests run again)` : ""}${record.unattributed ? `; ${record.unattributed} result line(s) name no request of this set` : ""}`;
  return { index, current, record, delta, line };
}

/**
 * Uploads the delta's requests as one file and submits them as one job; returns its part. The file is named by the
 * delta's content (an earlier upload of it is adopted) and the job's idempotency key is the set's scope and that
 * content, so an interrupted or retried update never sends a request twice.
 */
export async function submitDelta(
  ctx: ProviderContext,
  spec: SetSpec,
  index: SourceIndex,
  submitting: readonly string[],
): Promise<SetPart> {
  const staging = path.join(spec.directory, "deltas", "next.jsonl");
  const lines = linesOf(index, new Set(submitting));
  const { requests, sha256: sha } = await writeDelta(spec.source, lines, staging);
  const deltaPath = path.join(spec.directory, "deltas", `${sha.slice(0, 16)}.jsonl`);
  fs.renameSync(staging, deltaPath);
  const files = new BatchFileProvider(ctx);
  // Named for this set and its model: a set replaced for another model (or another stack's) never adopts this upload,
  // which its destroy deletes.
  const owner = ownerOf(spec);
  const checked = await files.check({} as never, {
    source: deltaPath,
    purpose: "batch",
    endpoint: spec.endpoint,
    filenamePrefix: `${spec.filenamePrefix}-${owner.slice(0, 8)}`,
  });
  if (checked.failures?.length)
    throw new Error(
      `${spec.resource}: the requests to submit do not pass the checks: ${checked.failures.map((f) => f.reason).join("; ")}`,
    );
  const uploaded = await files.create(checked.inputs as never);
  const inputFileId = uploaded.id;
  const jobInputs: JobInputs = {
    inputFiles: [inputFileId],
    model: spec.model,
    endpoint: spec.endpoint,
    ...(spec.metadata ? { metadata: spec.metadata } : {}),
    timeoutHours: spec.timeoutHours,
    waitForCompletion: spec.waitForCompletion,
    scope: `${spec.scope}#${sha.slice(0, 16)}`,
  } as JobInputs;
  // Tagged with its set (not part of the idempotency key: a job submitted before the tag existed is still adopted).
  const tagged = { ...jobInputs, metadata: { ...(spec.metadata ?? {}), [SET_METADATA_KEY]: owner.slice(0, 16) } };
  const { job, adopted } = await submit(ctx, tagged, idempotencyKey(jobInputs), spec.resource);
  report(
    ctx,
    `${spec.resource}: ${adopted ? "adopted the job submitted earlier for these requests" : "submitted"} ${requests} request(s) as job ${job.id}, ${job.status}`,
  );
  // What the job was sent, kept beside its results (store.ts).
  const kept = partPath(spec.directory, job.id, "input");
  fs.mkdirSync(path.dirname(kept), { recursive: true });
  fs.renameSync(deltaPath, kept);
  return partOf(job, inputFileId, requests);
}

/** Clock margin between this machine and Mistral when comparing a local file's time with a job's (seconds). */
const CLOCK_MARGIN_S = 300;

/**
 * The jobs this set submitted that its state does not record: an update interrupted after submitting (a Ctrl-C while
 * it waited, a crash) leaves its job running and paid for, and the job's input file in `parts/` (kept as soon as it
 * is submitted). Each such file newer than the set's newest recorded job is looked up; a job tagged as this set's
 * (`SET_METADATA_KEY`) becomes a part again, newest last, so its results count and its requests are not sent twice
 * (an update of the same requests adopts it anyway by its idempotency key; this finds it after the source changed).
 * A job of another set (the one this set replaces, sharing its directory) or one Mistral no longer has is left alone.
 */
export async function adoptUnrecorded(
  ctx: ProviderContext,
  spec: SetSpec,
  parts: readonly SetPart[],
): Promise<SetPart[]> {
  const dir = path.join(spec.directory, PARTS_DIR);
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return []; // no parts on this machine
  }
  const recorded = new Set(parts.map((p) => p.jobId));
  const newest = parts.reduce((t, p) => Math.max(t, p.createdAt), 0);
  const tag = ownerOf(spec).slice(0, 16);
  const found: SetPart[] = [];
  for (const name of names) {
    const m = /^(.+)\.input\.jsonl$/.exec(name);
    const jobId = m?.[1];
    if (jobId === undefined || recorded.has(jobId)) continue;
    const file = path.join(dir, name);
    if (fs.statSync(file).mtimeMs / 1000 < newest - CLOCK_MARGIN_S) continue;
    let job: SdkBatchJob;
    try {
      job = await getJob(ctx, jobId, spec.resource);
    } catch (error) {
      if (isNotFound(error)) continue;
      throw error;
    }
    if (job.metadata?.[SET_METADATA_KEY] !== tag) continue;
    const inputFileId = job.inputFiles[0] ?? "";
    found.push(partOf(job, inputFileId, job.totalRequests));
    report(
      ctx,
      `${spec.resource}: found job ${job.id} (${job.totalRequests} request(s), ${job.status}), submitted by an interrupted update and not in the stack's state: its results count, its requests are not sent again`,
    );
  }
  return found.sort((a, b) => a.createdAt - b.createdAt);
}

/**
 * Writes the current results from the parts (`writeCurrent`), unless the source, the parts' files and the written
 * results are as they were when they were last written: then what was written then stands.
 */
export async function writeResults(
  spec: SetSpec,
  current: ReadonlySet<string>,
  parts: readonly SetPart[],
  record: SetRecord,
): Promise<Current> {
  const written = [path.join(spec.directory, OUTPUT_FILE), path.join(spec.directory, ERRORS_FILE)];
  const records = parts.map((p) => localFiles(spec.directory, p));
  const partFiles = records.flatMap((r) => r.memo?.files ?? []);
  const files = [spec.source, ...partFiles, ...written];
  const entry = indexPath(spec.directory, "current");
  const key = {
    kind: "current",
    endpoint: spec.endpoint,
    parts: parts.map((p) => [p.jobId, isFinalStatus(p.status), p.expiredFileIds.length > 0]),
  };
  const earlier = recall<Current>(entry, files, key);
  if (earlier) return earlier;
  const startedNs = wallNs();
  const before = identities([spec.source, ...partFiles]);
  const result = await writeCurrent(spec.directory, current, records, record);
  const now = [...before, ...identities(written)];
  remember(entry, files, key, result, now, startedNs, { ours: [...partFiles, ...written] });
  return result;
}
