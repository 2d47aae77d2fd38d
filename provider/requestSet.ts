/**
 * RequestSet (`mistral:batch:RequestSet`): a set of requests kept answered by one model, incrementally. Requests are
 * addressed by their content (requestSet/address.ts): each `up` submits only the requests without a result (new,
 * edited, lost, or failed and retried with `retryFailed`) as one small job (a part), keeps the earlier results of
 * unchanged ones and drops those of removed ones; with nothing to submit it submits nothing. Its state keeps the
 * parts (job, files, counts), so results are found again on any machine: kept under `directory`, and downloaded
 * from Mistral's files recorded in state when not on this machine. The current results are written to
 * `<directory>/output.jsonl` and `errors.jsonl`, custom_ids as in the source.
 *
 * Preview says per set what an `up` would do: `+37 new, 963 reused, 2 removed, est. $0.004`. It downloads the
 * earlier results that are missing on this machine to say so (it changes nothing in Mistral).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import { isFinalStatus, isApiEndpoint, API_ENDPOINTS, type ApiEndpoint } from "./api";
import { BatchJobProvider, keepInState, type BatchJobOutputs } from "./batchJob";
import { call, isNotFound } from "./client";
import type { ProviderContext } from "./context";
import { DEFAULT_TIMEOUT_HOURS, waitPolicy, type WaitPolicy } from "./jobLogic";
import { report } from "./log";
import { checkJobModel, resolvedModelOf } from "./models";
import { resolveStatePath, samePath, stateVersionOf, toStatePath } from "./paths";
import { pauseStackTraces } from "./register";
import { show } from "./requests";
import type { Args, OutputOnly, Outputs, Registers } from "./shape";
import { thinProvider } from "./thin";
import { containsUnknown, UNKNOWN } from "./unknown";
import {
  adoptUnrecorded,
  fetchPartFiles,
  planSet,
  settlePart,
  submitDelta,
  type SetSpec,
  writeResults,
} from "./requestSet/run";
import { partPath, summaryPath } from "./requestSet/store";
import type { Delta, SetPart } from "./requestSet/ledger";
import { BatchFileProvider } from "./batchFile";

/** The inputs of a RequestSet as the provider stores them (after `check`). `RequestSetArgs` is derived from it. */
export interface RequestSetInputs {
  /**
   * Path of a local `.jsonl` of `{custom_id, body}` lines: the requests, each body as sent. Relative paths resolve
   * from the program's directory. Editing it updates the set in place: only the requests without a result are sent.
   */
  source: string;
  /** The model that answers, e.g. `"mistral-small-latest"`. A change replaces the set (every request runs again). */
  model: string;
  /**
   * The endpoint every request is sent to. A change replaces the set.
   * @default "/v1/chat/completions"
   */
  endpoint: ApiEndpoint;
  /**
   * Local directory of the set's files: each job's input and result files (`parts/`) and the current results
   * (`output.jsonl`, `errors.jsonl`). A change updates in place (the results are downloaded again there).
   */
  directory: string;
  /**
   * Metadata of the jobs it submits from now on. Updates in place.
   * @default none
   */
  metadata?: Record<string, string>;
  /**
   * Hours Mistral gives each job (1-168). Updates in place (jobs submitted from now on).
   * @default 24
   */
  timeoutHours: number;
  /**
   * Wait in `up` for the jobs to end and download their results, as BatchJob's `waitForCompletion` does.
   * Updates in place.
   * @default true: up to `timeoutHours` plus 10 minutes
   */
  waitForCompletion: boolean | WaitPolicy;
  /**
   * Send the requests that failed (a per-request error inside a job) again on the next `up`, as a job of only
   * those. Updates in place.
   * @default false: a failed request stays failed until its body changes
   */
  retryFailed: boolean;
  /**
   * Submit nothing while true (requests without a result wait; what runs keeps running and is brought up to date):
   * an Evaluation's set of a later wave holds while the sets of the wave before have unfinished jobs, so that an
   * `up` that does not wait submits the next wave on a later `up`. Updates in place.
   * @default false
   */
  hold: boolean;
  /**
   * Also delete the output and error files in Mistral of the jobs it records on destroy (as BatchJob's option of the
   * same name); the local results in `directory` stay. Updates in place.
   * @default false: the result files stay in Mistral until it drops them
   */
  deleteResultFilesOnDestroy: boolean;
  /**
   * What happens when `model` (an alias such as `mistral-large-latest`) comes to resolve to another version in the
   * models API than the one the set's results came from: `"keep"` keeps them (preview and refresh say so);
   * `"replace"` replaces the set at the next `up`, which runs every request on the new version (its jobs are told
   * apart from the old ones by that version). Updates in place.
   * @default "keep"
   */
  onModelChange: "keep" | "replace";
  /**
   * Take an empty `source` (zero bytes) as a set of no requests: nothing is uploaded or submitted, the status is
   * SUCCESS and the results of earlier requests are dropped, as for any request removed from the source. An
   * Evaluation's grading set of a shard with nothing to grade is such a set. Changes nothing remote.
   * @default false: an empty source is refused, as Mistral refuses an empty file
   */
  allowEmpty?: boolean;
  /**
   * USD per million tokens at the batch price (`input`, `output`), for the estimate preview prints. Changes
   * nothing remote.
   * @default none: no estimate
   */
  price?: { input: number; output: number } | null;
  /**
   * The start of the uploaded files' names (the content's SHA-256 follows).
   * @default the source file's name without `.jsonl`
   */
  filenamePrefix: string;
  /** SHA-256 of the source, hex, computed by `check`. */
  sha256?: string;
  /** Requests in the source, counted by `check`. */
  requestCount?: number;
}

/** Outputs as the provider stores them: the stored inputs, plus the set's jobs and current counts. */
export interface RequestSetOutputs extends RequestSetInputs {
  /** The version of the state's shape (paths.ts). */
  stateVersion?: number;
  /** Its jobs that still hold a current result or still run, in submission order. */
  parts: SetPart[];
  /** The ids of those jobs. */
  jobIds: string[];
  /**
   * SUCCESS once every current request has a result (answer or per-request error) from jobs that succeeded; else
   * the status of the first job still running, or of a job holding current requests that ended otherwise.
   */
  status: string;
  /** Current requests. */
  totalRequests: number;
  /** Current requests answered. */
  succeededRequests: number;
  /** Current requests that failed (per-request errors, or sent and never answered). */
  failedRequests: number;
  /** Current requests still queued or running. */
  pendingRequests: number;
  /** Requests the last update submitted. */
  submittedRequests: number;
  /** When the last create or update ended (ms since the epoch): tells a program whether that was its own `up`. */
  updatedAt: number;
  /** Of those, earlier failures sent again (`retryFailed`). */
  retriedRequests: number;
  /** Current requests whose result came from an earlier update. */
  reusedRequests: number;
  /** Earlier results no current request wants (edited or deleted lines), as of the last update. */
  removedRequests: number;
  /** `<directory>/output.jsonl`: the current answers, or null when there is none. */
  outputPath: string | null;
  /** `<directory>/errors.jsonl`: the current per-request failures, or null when there is none. */
  errorPath: string | null;
  /**
   * What `model` resolved to in the models API (its dated version, e.g. `mistral-small-2506`) when the set's requests
   * last ran; null when the list could not say. `preview` and `refresh` say when the name now resolves to another.
   * Absent in sets stored before (read as unknown: nothing is said of them until their requests run again).
   */
  resolvedModel: string | null;
}

/** The args of a RequestSet. */
export interface RequestSetArgs
  extends Args<
    Partial<Omit<RequestSetInputs, "sha256" | "requestCount">> &
      Pick<RequestSetInputs, "source" | "model" | "directory">
  > {}

export type RequestSetPublicOutputs = Omit<RequestSetOutputs, keyof RequestSetInputs | "stateVersion">;

const OUTPUT_ONLY: OutputOnly<RequestSetPublicOutputs> = {
  parts: undefined,
  jobIds: undefined,
  status: undefined,
  totalRequests: undefined,
  succeededRequests: undefined,
  failedRequests: undefined,
  pendingRequests: undefined,
  submittedRequests: undefined,
  updatedAt: undefined,
  retriedRequests: undefined,
  reusedRequests: undefined,
  removedRequests: undefined,
  outputPath: undefined,
  errorPath: undefined,
  resolvedModel: undefined,
};

/** The stored scope (project/stack/name) of a set: its idempotency keys and its name in messages. */
interface Scoped {
  scope?: string;
}

function label(inputs: Scoped): string {
  const name = inputs.scope?.split("/").pop();
  return name ? `RequestSet "${name}"` : "RequestSet";
}

/**
 * The set's spec. With `onModelChange: "replace"` and a known resolved version, the scope of its uploads and jobs
 * (their owner tag and idempotency keys) carries that version, so that the set replacing it for a new version neither
 * adopts nor finds again the old version's jobs.
 */
function specOf(inputs: RequestSetInputs & Scoped, resolved?: string | null): SetSpec {
  const scope = inputs.scope ?? "";
  return {
    resource: label(inputs),
    source: resolveStatePath(inputs.source),
    directory: resolveStatePath(inputs.directory),
    model: inputs.model,
    endpoint: inputs.endpoint,
    ...(inputs.metadata ? { metadata: inputs.metadata } : {}),
    timeoutHours: inputs.timeoutHours,
    waitForCompletion: inputs.waitForCompletion,
    retryFailed: inputs.retryFailed,
    price: inputs.price ?? null,
    filenamePrefix: inputs.filenamePrefix,
    scope: inputs.onModelChange === "replace" && typeof resolved === "string" ? `${scope}@${resolved}` : scope,
  };
}

/**
 * The aggregated status (see `RequestSetOutputs.status`): the first job still running; else the first job that
 * holds current requests and ended otherwise than SUCCESS; else SUCCESS, or QUEUED while requests are unsent.
 */
function statusOf(parts: readonly SetPart[], pending: number, unsent: number): string {
  const running = parts.find((p) => !isFinalStatus(p.status));
  if (running) return running.status;
  const ended = parts.find((p) => p.status !== "SUCCESS");
  if (ended) return ended.status;
  return pending === 0 && unsent === 0 ? "SUCCESS" : "QUEUED";
}

/** SHA-256 of no bytes: an empty source's. */
const EMPTY_SHA256 = createHash("sha256").digest("hex");

/** Whether `source` is a file of zero bytes. */
function isEmptyFile(source: string): boolean {
  const stat = fs.statSync(path.resolve(source), { throwIfNoEntry: false });
  return stat?.isFile() === true && stat.size === 0;
}

const REPLACING = ["model", "endpoint"] as const;
const IN_PLACE = [
  "sha256",
  "metadata",
  "timeoutHours",
  "waitForCompletion",
  "retryFailed",
  "hold",
  "deleteResultFilesOnDestroy",
  "onModelChange",
  "filenamePrefix",
] as const;

/** @internal */
export class RequestSetProvider implements pulumi.dynamic.ResourceProvider<RequestSetInputs, RequestSetOutputs> {
  constructor(private readonly ctx: ProviderContext) {}

  async check(olds: RequestSetInputs, news: RequestSetInputs): Promise<pulumi.dynamic.CheckResult<RequestSetInputs>> {
    const failures: pulumi.dynamic.CheckFailure[] = [];
    const inputs: RequestSetInputs = {
      ...news,
      endpoint: news.endpoint ?? "/v1/chat/completions",
      timeoutHours: news.timeoutHours ?? DEFAULT_TIMEOUT_HOURS,
      waitForCompletion: news.waitForCompletion ?? true,
      retryFailed: news.retryFailed ?? false,
      hold: news.hold ?? false,
      deleteResultFilesOnDestroy: news.deleteResultFilesOnDestroy ?? false,
      onModelChange: news.onModelChange ?? "keep",
    };
    delete inputs.sha256;
    delete inputs.requestCount;
    if (typeof news.model !== "string" || news.model.trim() === "")
      failures.push({
        property: "model",
        reason: `model is ${show(news.model)}; expected a model name, e.g. "mistral-small-latest"`,
      });
    if ((inputs.endpoint as string) !== UNKNOWN && !isApiEndpoint(inputs.endpoint))
      failures.push({
        property: "endpoint",
        reason: `endpoint is ${show(inputs.endpoint)}; allowed: ${API_ENDPOINTS.join(", ")}`,
      });
    if (typeof news.directory !== "string" || news.directory === "")
      failures.push({
        property: "directory",
        reason: `directory is ${show(news.directory)}; expected a local directory path`,
      });
    if (typeof inputs.hold !== "boolean" && !containsUnknown(inputs.hold))
      failures.push({ property: "hold", reason: `hold is ${show(inputs.hold)}; expected true or false` });
    if (typeof inputs.deleteResultFilesOnDestroy !== "boolean")
      failures.push({
        property: "deleteResultFilesOnDestroy",
        reason: `deleteResultFilesOnDestroy is ${show(inputs.deleteResultFilesOnDestroy)}; expected true or false`,
      });
    if (inputs.onModelChange !== "keep" && inputs.onModelChange !== "replace")
      failures.push({
        property: "onModelChange",
        reason: `onModelChange is ${show(inputs.onModelChange)}; allowed: "keep" (the default) or "replace"`,
      });
    if (inputs.allowEmpty !== undefined && typeof inputs.allowEmpty !== "boolean")
      failures.push({
        property: "allowEmpty",
        reason: `allowEmpty is ${show(inputs.allowEmpty)}; expected true or false`,
      });
    if (typeof inputs.retryFailed !== "boolean")
      failures.push({
        property: "retryFailed",
        reason: `retryFailed is ${show(inputs.retryFailed)}; expected true or false`,
      });
    if (typeof news.source !== "string" || news.source === "") {
      failures.push({
        property: "source",
        reason: `source is ${show(news.source)}; expected the path of a .jsonl file`,
      });
      return { inputs, failures };
    }
    // A source not known yet (at preview, a set written from other resources' results: an Evaluation's grading) is
    // checked once known; its model is checked now, before anything it depends on is spent.
    const checkModel = async () => {
      if (failures.length > 0) return;
      const failure = await checkJobModel(
        this.ctx,
        (olds ?? {}) as unknown as Record<string, unknown>,
        inputs as unknown as Record<string, unknown>,
        label(news as Scoped),
        containsUnknown,
      );
      if (failure) failures.push(failure);
    };
    if (news.source === UNKNOWN) {
      await checkModel();
      return { inputs, failures };
    }
    if (typeof news.directory === "string") inputs.directory = toStatePath(news.directory);
    if (news.filenamePrefix === undefined || news.filenamePrefix === null)
      inputs.filenamePrefix = path.basename(news.source).replace(/\.jsonl$/i, "");
    // The source's own checks (lines, bodies for the endpoint) and its identity: BatchFile's, with its scan cache;
    // with allowEmpty, an empty file is a source of no requests.
    const file =
      inputs.allowEmpty === true && isEmptyFile(news.source)
        ? { inputs: { source: toStatePath(news.source), sha256: EMPTY_SHA256, lineCount: 0 }, failures: [] }
        : await new BatchFileProvider(this.ctx).check({} as never, {
            source: news.source,
            purpose: "batch",
            endpoint: isApiEndpoint(inputs.endpoint) ? inputs.endpoint : undefined,
            filenamePrefix: inputs.filenamePrefix,
          });
    for (const f of file.failures ?? []) failures.push({ property: "source", reason: f.reason });
    const checked = file.inputs as { source?: string; sha256?: string; lineCount?: number } | undefined;
    if (checked?.source) inputs.source = checked.source;
    if (checked?.sha256) {
      inputs.sha256 = checked.sha256;
      inputs.requestCount = checked.lineCount;
    }
    await checkModel();
    return { inputs, failures };
  }

  async diff(_id: string, olds: RequestSetOutputs, news: RequestSetInputs): Promise<pulumi.dynamic.DiffResult> {
    const replaces = REPLACING.filter((k) => containsUnknown(news[k]) || olds[k] !== news[k]);
    if (replaces.length) return { changes: true, replaces: [...replaces], deleteBeforeReplace: false };
    // An alias that moved: said, and with onModelChange "replace" the set is replaced to run on the new version.
    if ((await this.reportResolution(olds, news.onModelChange)) && news.onModelChange === "replace")
      return { changes: true, replaces: ["model"], deleteBeforeReplace: false };
    // A set stored before `hold` or `deleteResultFilesOnDestroy` existed held and deleted nothing. A hold not known
    // yet (at preview, while the wave before may update) counts as unchanged: with requests to submit the set
    // updates anyway, and `up` decides on its value.
    const before: RequestSetOutputs = {
      ...olds,
      hold: olds.hold ?? false,
      deleteResultFilesOnDestroy: olds.deleteResultFilesOnDestroy ?? false,
      onModelChange: olds.onModelChange ?? "keep",
    };
    const changed = IN_PLACE.filter((k) =>
      k === "hold" && containsUnknown(news[k])
        ? false
        : containsUnknown(news[k]) || JSON.stringify(before[k] ?? null) !== JSON.stringify(news[k] ?? null),
    );
    if (!samePath(olds.directory, news.directory)) changed.push("directory" as never);
    // Work left from earlier updates: a job still running, results missing on this machine, requests not yet sent.
    let pending = false;
    if (!containsUnknown(news.source) && news.sha256) {
      const inputs = { ...news, scope: (olds as Scoped).scope } as RequestSetInputs & Scoped;
      const spec = specOf(inputs, olds.resolvedModel);
      const parts = (olds.parts ?? []).map((p) => ({ ...p, expiredFileIds: [...p.expiredFileIds] }));
      const unrecorded = await adoptUnrecorded(this.ctx, spec, parts);
      if (unrecorded.length) changed.push("parts" as never);
      parts.push(...unrecorded);
      for (const part of parts) await fetchPartFiles(this.ctx, spec, part);
      const planned = await this.ctx.localWork(() => planSet(spec, parts));
      pending = planned.delta.submit.length > 0 || planned.delta.pending > 0;
      const held =
        news.hold === true && planned.delta.submit.length > 0
          ? " (held until the jobs of the wave before have finished)"
          : "";
      if (changed.length || pending) report(this.ctx, `${spec.resource}: ${planned.line}${held}`);
      const current = [olds.outputPath, olds.errorPath].every((p) => p === null || fs.existsSync(resolveStatePath(p)));
      if (!current) pending = true;
    }
    return { changes: changed.length > 0 || pending, replaces: [], deleteBeforeReplace: false };
  }

  async create(inputs: RequestSetInputs): Promise<pulumi.dynamic.CreateResult<RequestSetOutputs>> {
    const scope = (inputs as Scoped).scope ?? "";
    const id = `set-${createHash("sha256").update(scope).digest("hex").slice(0, 16)}`;
    // What the model resolves to before anything runs: with onModelChange "replace", the scope of its jobs.
    const resolved = await resolvedModelOf(this.ctx, inputs.model);
    const outs = await this.run(id, inputs, [], resolved);
    return { id, outs: { ...outs, resolvedModel: resolved } };
  }

  /**
   * The outputs with what the model resolves to: now, when this update submitted requests (or the set had no record
   * of it); else what it was when they ran.
   */
  private async withResolution(
    outs: RequestSetOutputs,
    previous: string | null | undefined,
  ): Promise<RequestSetOutputs> {
    // With onModelChange "replace" the version is the scope of the set's jobs: it stays until the set is replaced.
    const stays = outs.submittedRequests === 0 || outs.onModelChange === "replace";
    if (stays && typeof previous === "string") return { ...outs, resolvedModel: previous };
    return { ...outs, resolvedModel: await resolvedModelOf(this.ctx, outs.model) };
  }

  /**
   * Says when the model's name now resolves to another version than the one the set's results came from (an alias
   * such as `-latest` moved). The results are kept: an alias that moves does not rerun a set; naming the version
   * does (another model replaces the set).
   */
  private async reportResolution(olds: RequestSetOutputs, policy?: unknown): Promise<boolean> {
    const was = olds.resolvedModel;
    if (typeof was !== "string" || typeof olds.model !== "string") return false;
    const now = await resolvedModelOf(this.ctx, olds.model, true);
    if (now === null || now === was) return false;
    const what =
      policy === "replace"
        ? `onModelChange is "replace": the set is replaced and its requests run on ${now}`
        : `they are kept (onModelChange "keep": an alias that moves does not rerun a set). To run the requests on ${now}, set onModelChange: "replace" or name it (model: "${now}"); to stay on ${was}, name that`;
    report(
      this.ctx,
      `${label(olds as Scoped)}: ${olds.model} now resolves to ${now} (models API); the set's results came from ${was}; ${what}`,
    );
    return true;
  }

  async read(id: string, props?: RequestSetOutputs): Promise<pulumi.dynamic.ReadResult<RequestSetOutputs>> {
    if (!props?.parts) return { id, props };
    await this.reportResolution(props, props.onModelChange);
    const spec = specOf(props as RequestSetOutputs & Scoped, props.resolvedModel);
    const parts = props.parts.map((p) => ({ ...p, expiredFileIds: [...p.expiredFileIds] }));
    for (const part of parts) await settlePart(this.ctx, { ...spec, waitForCompletion: false }, part, null);
    const running = parts.some((p) => !isFinalStatus(p.status));
    return {
      id,
      props: {
        ...props,
        parts,
        status: running ? statusOf(parts, 1, 0) : props.status,
        stateVersion: stateVersionOf(props),
      },
    };
  }

  async update(
    id: string,
    olds: RequestSetOutputs,
    news: RequestSetInputs,
  ): Promise<pulumi.dynamic.UpdateResult<RequestSetOutputs>> {
    const outs = await this.run(id, news, olds.parts ?? [], olds.resolvedModel);
    return { outs: await this.withResolution(outs, olds.resolvedModel) };
  }

  /**
   * One update: the earlier parts brought up to date (and waited for), the delta submitted and waited for, the
   * current results written. A wait that times out fails the update and keeps every part in state.
   */
  private async run(
    id: string,
    inputs: RequestSetInputs,
    earlier: readonly SetPart[],
    resolved: string | null | undefined,
  ): Promise<RequestSetOutputs> {
    const spec = specOf(inputs as RequestSetInputs & Scoped, resolved);
    const policy = waitPolicy(spec.waitForCompletion, spec.timeoutHours);
    const deadline = policy ? Date.now() + policy.timeoutMinutes * 60_000 : null;
    const parts = earlier.map((p) => ({ ...p, expiredFileIds: [...p.expiredFileIds] }));
    parts.push(...(await adoptUnrecorded(this.ctx, spec, parts)));
    let before: Delta | undefined;
    const outputs = async (submitted: number) =>
      this.ctx.localWork(() => this.outputs(inputs, spec, parts, submitted, before));
    const timedOut = async (what: string): Promise<never> => {
      const outs = await outputs(0);
      throw keepInState(
        this.ctx,
        `${spec.resource}: ${what} is still running after waiting ${policy?.timeoutMinutes ?? 0} min; the set stays in state with its jobs and the next \`pulumi up\` resumes waiting`,
        id,
        { ...outs, __provider: (inputs as unknown as { __provider?: string }).__provider },
      );
    };
    for (const part of parts) {
      if (await settlePart(this.ctx, spec, part, deadline)) await timedOut(`job ${part.jobId}`);
      await fetchPartFiles(this.ctx, spec, part);
    }
    const step = await this.submitStep(spec, parts, inputs.hold === true);
    before = step.counts;
    if (step.error !== undefined) {
      // Nothing new in state: the earlier parts stay as they were; the same delta finds the same upload and job.
      if (parts.length === 0) throw step.error;
      const outs = await outputs(0);
      throw keepInState(
        this.ctx,
        (step.error as Error).message,
        id,
        { ...outs, __provider: (inputs as unknown as { __provider?: string }).__provider },
        step.error,
      );
    }
    const { part, submitting } = step;
    if (part === null) return outputs(0);
    parts.push(part);
    if (await settlePart(this.ctx, spec, part, deadline)) {
      const outs = await outputs(submitting);
      throw keepInState(
        this.ctx,
        `${spec.resource}: job ${part.jobId} (${submitting} request(s)) is still ${part.status} after waiting ${policy?.timeoutMinutes ?? 0} min; it stays in state and the next \`pulumi up\` resumes waiting`,
        id,
        { ...outs, __provider: (inputs as unknown as { __provider?: string }).__provider },
      );
    }
    await fetchPartFiles(this.ctx, spec, part);
    return outputs(submitting);
  }

  /**
   * Plans the update from the parts as they are and submits its delta, unless there is none or the set holds. Of
   * the plan only its counts outlive this call (not its maps of every request, while a job is waited for).
   */
  private async submitStep(
    spec: SetSpec,
    parts: readonly SetPart[],
    hold: boolean,
  ): Promise<{ counts: Delta; submitting: number; part: SetPart | null; error?: unknown }> {
    const planned = await this.ctx.localWork(() => planSet(spec, parts));
    report(this.ctx, `${spec.resource}: ${planned.line}`);
    const { delta } = planned;
    const counts: Delta = { ...delta, submit: [] };
    const submitting = delta.submit.length;
    if (submitting === 0) return { counts, submitting, part: null };
    if (hold) {
      report(
        this.ctx,
        `${spec.resource}: holds ${submitting} request(s) until the jobs of the wave before have finished; a later \`pulumi up\` submits them`,
      );
      return { counts, submitting: 0, part: null };
    }
    try {
      return { counts, submitting, part: await submitDelta(this.ctx, spec, planned.index, delta.submit) };
    } catch (error) {
      return { counts, submitting: 0, part: null, error };
    }
  }

  /**
   * The outputs from the parts' local files: the current results written (unless the files they were written from
   * and the written files are as they were: memo.ts), the parts no result needs dropped with their files. Run in a
   * turn of the local work (`ProviderContext.localWork`).
   */
  private async outputs(
    inputs: RequestSetInputs,
    spec: SetSpec,
    parts: SetPart[],
    submitted: number,
    before: Delta | undefined,
  ): Promise<RequestSetOutputs> {
    const planned = await planSet(spec, parts);
    const { current, record, delta } = planned;
    const currentSet = new Set(current);
    // Parts that hold a current request's result or last attempt, or still run, stay; the others' files go.
    const needed = new Set<number>();
    for (const address of currentSet) {
      const from = record.source.get(address);
      if (from !== undefined) needed.add(from);
    }
    const kept = parts.filter((p, i) => needed.has(i) || !isFinalStatus(p.status));
    const written = await writeResults(spec, currentSet, parts, record);
    for (const p of parts) {
      if (kept.includes(p)) continue;
      for (const k of ["input", "output", "error"] as const)
        fs.rmSync(partPath(spec.directory, p.jobId, k), { force: true });
      fs.rmSync(summaryPath(spec.directory, p.jobId), { force: true });
    }
    const unsent = delta.submit.length;
    let failed = 0;
    for (const address of currentSet) if (record.known.get(address) === "failed") failed++;
    return {
      ...inputs,
      parts: kept,
      jobIds: kept.map((p) => p.jobId),
      status: statusOf(kept, delta.pending, unsent),
      totalRequests: delta.requests,
      succeededRequests: written.succeeded,
      failedRequests: failed,
      pendingRequests: delta.pending,
      submittedRequests: submitted,
      resolvedModel: null, // create and update fill it in (withResolution)
      updatedAt: Date.now(),
      retriedRequests: submitted ? (before?.retried ?? 0) : 0,
      reusedRequests: (before ?? delta).reused,
      removedRequests: (before ?? delta).removed,
      outputPath: written.outputPath === null ? null : toStatePath(written.outputPath),
      errorPath: written.errorPath === null ? null : toStatePath(written.errorPath),
      stateVersion: stateVersionOf(undefined),
    };
  }

  /**
   * Cancels its jobs that still run (waiting for them to stop, as BatchJob's destroy does) and deletes the files it
   * uploaded. The result files stay in Mistral (as a BatchJob's do by default) unless `deleteResultFilesOnDestroy`,
   * and on disk.
   */
  async delete(_id: string, props: RequestSetOutputs): Promise<void> {
    const resource = label(props as Scoped);
    const jobs = new BatchJobProvider(this.ctx);
    const deleteResults = props.deleteResultFilesOnDestroy === true;
    const resultFiles: string[] = [];
    for (const part of props.parts ?? []) {
      if (!isFinalStatus(part.status))
        // BatchJob's destroy cancels it, waits for it to stop and deletes the result files it then has.
        await jobs.delete(part.jobId, {
          scope: (props as Scoped).scope,
          deleteResultFilesOnDestroy: deleteResults,
        } as BatchJobOutputs);
      else if (deleteResults)
        for (const fileId of [part.outputFileId, part.errorFileId]) if (fileId) resultFiles.push(fileId);
    }
    const client = await this.ctx.client();
    for (const fileId of new Set([...(props.parts ?? []).map((p) => p.inputFileId), ...resultFiles])) {
      try {
        await call(this.ctx, "files.delete", resource, () => client.files.delete({ fileId }));
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    }
    report(
      this.ctx,
      `${resource}: destroyed${deleteResults ? ", its result files in Mistral deleted" : ""}; its results stay in ${props.directory}`,
    );
  }
}

/** The outputs of a RequestSet (merged into the class below). */
export interface RequestSet extends Outputs<RequestSetPublicOutputs> {}

/**
 * A set of requests kept answered by one model: each `up` sends only what has no result yet.
 *
 * ```ts
 * const answers = new RequestSet("answers", { source: "questions.jsonl", model: "mistral-small-latest", directory: "results" });
 * ```
 */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the merged interface declares the outputs pulumi.dynamic.Resource sets on the instance at run time (see BatchJob).
export class RequestSet extends pulumi.dynamic.Resource {
  constructor(name: string, args: RequestSetArgs, opts?: pulumi.CustomResourceOptions) {
    const restore = pauseStackTraces();
    try {
      super(
        thinProvider("set"),
        name,
        {
          ...args,
          scope: `${pulumi.getProject()}/${pulumi.getStack()}/${name}`,
          ...OUTPUT_ONLY,
        } satisfies Registers<RequestSetPublicOutputs>,
        opts,
        "mistral/batch",
        "RequestSet",
      );
    } finally {
      restore();
    }
  }
}
