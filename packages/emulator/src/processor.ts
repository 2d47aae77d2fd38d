/**
 * Batch job lifecycle: QUEUED -> RUNNING -> SUCCESS | FAILED | TIMEOUT_EXCEEDED, and
 * CANCELLATION_REQUESTED -> CANCELLED. Progress is a function of the emulator clock: every read of a job first
 * brings it up to the clock's time, and a timer does the same in the background when the clock is the wall clock.
 *
 * Results are appended to partial files under tmp/ and committed with the job record, so a restart (even after
 * kill -9) resumes exactly where the last committed record stood: no request is answered twice or lost.
 */
import * as fs from "node:fs";
import { createHash, randomUUID } from "node:crypto";
import type { Clock } from "./clock";
import type { FileRecord, JobRecord, Store } from "./store";
import {
  DEFAULT_FILE_VISIBILITY,
  errorBody,
  isFinalStatus,
  readLinesSync,
  type ApiEndpoint,
  type BatchRequestLine,
  type BatchResultLine,
} from "pulumi-mistral-batch/api";
import { answerRequest, type ModelCatalogue, type ModelSpec } from "./models";
import { unitHash } from "./models/hashing";

export interface ProcessingOptions {
  /** Time a job stays QUEUED before it starts. */
  queueDelayMs: number;
  /** Requests answered per second once RUNNING; `Infinity` answers them all at once. */
  requestsPerSecond: number;
  /** Time between a cancel request and CANCELLED. */
  cancelDelayMs: number;
}

export const SPEEDS: Record<"instant" | "fast" | "demo" | "slow", ProcessingOptions> = {
  instant: { queueDelayMs: 0, requestsPerSecond: Infinity, cancelDelayMs: 0 },
  fast: { queueDelayMs: 100, requestsPerSecond: 500, cancelDelayMs: 100 },
  demo: { queueDelayMs: 1500, requestsPerSecond: 20, cancelDelayMs: 1000 },
  slow: { queueDelayMs: 10_000, requestsPerSecond: 2, cancelDelayMs: 5000 },
};
export type SpeedName = keyof typeof SPEEDS;

/** The settings of the observed profile (see `EmulatorProfile`); the processor plays the spec without them. */
export interface ObservedSettings {
  /** How long a cancel stays CANCELLATION_REQUESTED, in ms of the emulator's clock. */
  cancelDurationMs: number;
  /** Hours after a job's end that its result files stay retrievable. */
  resultRetentionHours: number;
  /** The largest page of the job list. */
  maxJobsPageSize: number;
}

/** Observed profile: a transient failure as the real service writes it inline in the output file. */
const INLINE_RATE_LIMIT = { status_code: 429, error: "rate limited" } as const;

/** Requests answered per step before yielding to the event loop. */
const STEP = 1000;

export class Processor {
  private readonly running = new Map<string, Promise<void>>();
  /** Attempts so far of each request (model and custom_id), for models whose failures are transient. */
  private readonly attempts = new Map<string, number>();

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly models: ModelCatalogue,
    public speed: ProcessingOptions,
    private readonly agentModel: string,
    private readonly observed: ObservedSettings | null = null,
  ) {
    for (const job of store.jobs.values()) this.completeFinish(job);
  }

  /** Brings one job up to the clock's time. Concurrent callers share one run. */
  advance(jobId: string): Promise<void> {
    const current = this.running.get(jobId);
    if (current) return current.then(() => this.advance(jobId));
    const run = this.advanceNow(jobId).finally(() => this.running.delete(jobId));
    this.running.set(jobId, run);
    return run;
  }

  async advanceAll(): Promise<void> {
    const ids = [...this.store.jobs.values()].filter((j) => !isFinal(j)).map((j) => j.id);
    await Promise.all(ids.map((id) => this.advance(id)));
  }

  /** True while some job is not final. */
  hasActiveJobs(): boolean {
    for (const j of this.store.jobs.values()) if (!isFinal(j)) return true;
    return false;
  }

  requestCancel(job: JobRecord): void {
    if (isFinal(job) || job.status === "CANCELLATION_REQUESTED") return;
    job.status = "CANCELLATION_REQUESTED";
    job.internal.cancelRequestedAtMs = this.clock.now();
    this.store.saveJob(job);
  }

  /** Time between a cancel request and CANCELLED: the observed profile's duration, else the speed's delay. */
  private cancelDelayMs(): number {
    return this.observed ? this.observed.cancelDurationMs : this.speed.cancelDelayMs;
  }

  private async advanceNow(jobId: string): Promise<void> {
    for (;;) {
      const job = this.store.jobs.get(jobId);
      if (!job || isFinal(job)) return;
      const now = this.clock.now();
      const more = this.step(job, now);
      if (!more) return;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  /** One bounded step of work. Returns true when more work is due at this time. */
  private step(job: JobRecord, now: number): boolean {
    const int = job.internal;
    if (job.status === "CANCELLATION_REQUESTED") {
      const cancelAt = (int.cancelRequestedAtMs ?? now) + this.cancelDelayMs();
      if (now >= cancelAt) this.finish(job, "CANCELLED", cancelAt);
      return false;
    }
    const deadline = int.createdAtMs + job.timeout_hours * 3_600_000;
    if (job.status === "QUEUED") {
      const startAt = int.createdAtMs + this.speed.queueDelayMs;
      if (now < startAt) return false;
      if (startAt >= deadline) {
        this.finish(job, "TIMEOUT_EXCEEDED", deadline);
        return false;
      }
      job.status = "RUNNING";
      int.startedAtMs = startAt;
      job.started_at = Math.floor(startAt / 1000);
      job.total_requests = int.plannedTotal;
      if (int.forcedFailure) {
        job.errors = [{ message: int.forcedFailure, count: 1 }];
        this.finish(job, "FAILED", startAt);
        return false;
      }
      if (int.lineProblems?.length) {
        // Observed profile: the input was validated after creation; the job ends without answering a request.
        job.total_requests = 0;
        job.errors = int.lineProblems;
        this.finish(job, "FAILED", startAt);
        return false;
      }
      this.store.saveJob(job);
    }
    // RUNNING
    const startedAt = int.startedAtMs ?? int.createdAtMs;
    const until = Math.min(now, deadline);
    const due =
      this.speed.requestsPerSecond === Infinity
        ? job.total_requests
        : Math.min(job.total_requests, Math.floor(((until - startedAt) * this.speed.requestsPerSecond) / 1000));
    const todo = due - job.completed_requests;
    if (todo > 0) {
      this.answer(job, Math.min(todo, STEP));
    }
    if (job.completed_requests >= job.total_requests) {
      const doneAt =
        this.speed.requestsPerSecond === Infinity
          ? startedAt
          : startedAt + Math.ceil((job.total_requests * 1000) / this.speed.requestsPerSecond);
      const failedAll = job.total_requests > 0 && job.succeeded_requests === 0;
      this.finish(job, failedAll ? "FAILED" : "SUCCESS", Math.min(Math.max(doneAt, startedAt), now));
      return false;
    }
    // Requests due before the deadline are answered (a step at a time) before the job can time out.
    if (todo > STEP) return true;
    if (now >= deadline) {
      this.finish(job, "TIMEOUT_EXCEEDED", deadline);
      return false;
    }
    return false;
  }

  /** Answers the next `count` requests, appends their result lines and commits the job record. */
  private answer(job: JobRecord, count: number): void {
    const int = job.internal;
    const inputs = int.inlineBlob ? [int.inlineBlob] : job.input_files;
    const model = this.resolveModel(job);
    const out: string[] = [];
    const err: string[] = [];
    let left = count;
    const nowSeconds = Math.floor(this.clock.now() / 1000);
    while (left > 0 && int.cursor.input < inputs.length) {
      const blob = this.store.blobPath(inputs[int.cursor.input]);
      const r = readLinesSync(blob, int.cursor.offset, left);
      for (const line of r.lines) {
        const index = job.completed_requests;
        const request = JSON.parse(line.text) as BatchRequestLine;
        const customId = request.custom_id ?? null;
        const attemptKey = `${model.id}\u0000${customId ?? `#${job.id}:${index}`}`;
        const attempt = model.failureAttempts === undefined ? 0 : (this.attempts.get(attemptKey) ?? 0);
        if (model.failureAttempts !== undefined) this.attempts.set(attemptKey, attempt + 1);
        const answer = answerRequest(model, job.endpoint as ApiEndpoint, request.body, {
          customId,
          nowSeconds,
          requestIndex: index,
          attempt,
        });
        const id = `batch-${randomUUID()}`;
        if (answer.ok) {
          const result: BatchResultLine = {
            id,
            custom_id: customId,
            response: { status_code: 200, body: answer.body },
            error: null,
          };
          out.push(JSON.stringify(result));
          job.succeeded_requests++;
        } else if (this.observed) {
          const line = observedFailureLine(id, customId, index, answer);
          (line.inline ? out : err).push(JSON.stringify(line.result));
          job.failed_requests++;
          int.errorCounts[answer.message] = (int.errorCounts[answer.message] ?? 0) + 1;
        } else {
          const result: BatchResultLine = {
            id,
            custom_id: customId,
            response: { status_code: answer.status_code, body: { ...errorBody(answer.message) } },
            error: { message: answer.message, code: String(answer.status_code) },
          };
          err.push(JSON.stringify(result));
          job.failed_requests++;
          int.errorCounts[answer.message] = (int.errorCounts[answer.message] ?? 0) + 1;
        }
        job.completed_requests++;
        left--;
      }
      if (r.eof) int.cursor = { input: int.cursor.input + 1, offset: 0 };
      else int.cursor = { input: int.cursor.input, offset: r.offset };
    }
    // Mistral does not return results in input order; neither do we (a deterministic shuffle per step).
    shuffleInPlace(out, job.id + job.completed_requests);
    shuffleInPlace(err, job.id + job.completed_requests);
    const p = int.partial;
    if (out.length) {
      const data = `${out.join("\n")}\n`;
      fs.appendFileSync(this.store.tmpPath(p.output), data);
      p.outputBytes += Buffer.byteLength(data);
      p.outputLines += out.length;
    }
    if (err.length) {
      const data = `${err.join("\n")}\n`;
      fs.appendFileSync(this.store.tmpPath(p.error), data);
      p.errorBytes += Buffer.byteLength(data);
      p.errorLines += err.length;
    }
    job.errors = Object.entries(int.errorCounts).map(([message, n]) => ({ message, count: n }));
    this.store.saveJob(job);
  }

  private resolveModel(job: JobRecord): ModelSpec {
    const id = job.model ?? this.agentModel;
    const model = this.models.get(id);
    if (!model) throw new Error(`emulator: job ${job.id} names model ${id}, which is not in the catalogue`);
    return model;
  }

  /**
   * Ends a job: turns its partial results into files of the file list and records the final status.
   * The decision is committed first (`internal.finishing`), so a restart in the middle completes it.
   */
  private finish(job: JobRecord, status: JobRecord["status"], atMs: number): void {
    const p = job.internal.partial;
    job.internal.finishing = {
      status,
      atMs,
      outputId: p.outputLines > 0 ? randomUUID() : null,
      errorId: p.errorLines > 0 ? randomUUID() : null,
    };
    this.store.saveJob(job);
    this.completeFinish(job);
  }

  /** Publishes the result files of a job whose end is decided; idempotent. */
  completeFinish(job: JobRecord): void {
    const f = job.internal.finishing;
    if (!f) return;
    const p = job.internal.partial;
    const createdAt = Math.floor(f.atMs / 1000);
    const publish = (
      id: string | null,
      tmpName: string,
      lines: number,
      bytes: number,
      kind: "batch_result" | "batch_error",
    ) => {
      if (id === null) {
        fs.rmSync(this.store.tmpPath(tmpName), { force: true });
        return null;
      }
      if (this.store.files.has(id)) return id;
      const record: FileRecord = {
        id,
        object: "file",
        bytes,
        created_at: createdAt,
        filename: `${job.id}_${kind === "batch_result" ? "output" : "error"}.jsonl`,
        purpose: "batch",
        sample_type: kind,
        source: "mistral",
        num_lines: lines,
        mimetype: "application/jsonl",
        signature: null,
        // Observed profile: results are downloadable for a while only (RESULT_RETENTION_HOURS by default).
        expires_at: this.observed ? createdAt + Math.round(this.observed.resultRetentionHours * 3600) : null,
        visibility: DEFAULT_FILE_VISIBILITY,
      };
      if (fs.existsSync(this.store.tmpPath(tmpName))) {
        fs.truncateSync(this.store.tmpPath(tmpName), bytes);
        this.store.commitFile(tmpName, record);
      } else {
        this.store.saveFile(record); // renamed before a crash; only the record was missing
      }
      return id;
    };
    job.output_file = publish(f.outputId, p.output, p.outputLines, p.outputBytes, "batch_result");
    job.error_file = publish(f.errorId, p.error, p.errorLines, p.errorBytes, "batch_error");
    p.outputBytes = p.errorBytes = 0;
    p.outputLines = p.errorLines = 0;
    job.status = f.status;
    job.completed_at = createdAt;
    if (f.status === "TIMEOUT_EXCEEDED") {
      job.errors = [
        ...job.errors,
        {
          message: `Batch job timed out after ${job.timeout_hours} hour${job.timeout_hours === 1 ? "" : "s"}`,
          count: 1,
        },
      ];
    }
    job.internal.finishing = null;
    this.store.saveJob(job);
  }
}

/**
 * Observed profile: where and how a failed request is written, decided by a hash of the request (its custom_id and
 * index, so the same input gives the same lines). Only the model's transient failures (5xx) vary: half are written
 * inline to the output file as a 429 with `body: null` and a bare-string `error`; the rest go to the error file, half
 * of them with a bare-string `error`, and one in eight without `custom_id`. Other failures go to the error file as
 * in the spec profile.
 */
export function observedFailureLine(
  id: string,
  customId: string | null,
  index: number,
  answer: { status_code: number; message: string },
): { inline: boolean; result: Record<string, unknown> } {
  const key = `${customId ?? ""}\u0000${index}`;
  const transient = answer.status_code >= 500;
  if (transient && unitHash(`observed-inline\u0000${key}`) < 0.5) {
    return {
      inline: true,
      result: {
        id,
        custom_id: customId,
        response: { status_code: INLINE_RATE_LIMIT.status_code, body: null },
        error: INLINE_RATE_LIMIT.error,
      },
    };
  }
  const bare = transient && unitHash(`observed-bare\u0000${key}`) < 0.5;
  const anonymous = transient && unitHash(`observed-anonymous\u0000${key}`) < 0.125;
  return {
    inline: false,
    result: {
      id,
      ...(anonymous ? {} : { custom_id: customId }),
      response: { status_code: answer.status_code, body: { ...errorBody(answer.message) } },
      error: bare ? answer.message : { message: answer.message, code: String(answer.status_code) },
    },
  };
}

export function isFinal(job: JobRecord): boolean {
  return isFinalStatus(job.status);
}

function shuffleInPlace<T>(items: T[], seed: string): void {
  if (items.length < 2) return;
  let state = createHash("sha256").update(seed).digest().readUInt32LE(0) || 1;
  for (let i = items.length - 1; i > 0; i--) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    const j = (state >>> 0) % (i + 1);
    [items[i], items[j]] = [items[j], items[i]];
  }
}
