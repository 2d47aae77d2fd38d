/**
 * The Batch API: create a job (schema, model and input checks; requests inline or from batch files), list with
 * filters, get (optionally with inline results), cancel and delete. Jobs progress in the processor.
 */
import * as fs from "node:fs";
import { randomUUID } from "node:crypto";
import type { FastifyInstance } from "fastify";
import { ApiError, apiError, validationError, valueError } from "../errors";
import { isFinal } from "../processor";
import { validateSchema } from "../spec";
import type { FileRecord, JobRecord } from "../store";
import {
  BATCH_JOB_STATUSES,
  DEFAULT_PAGE_SIZE,
  PENDING_LIMIT_MESSAGE,
  TIMEOUT_HOURS,
  invalidModelError,
  forEachLineSync,
  type ApiEndpoint,
  type BatchRequestLine,
} from "pulumi-mistral-batch/api";
import type { EmulatorContext } from "./context";
import { boolParam, enumList, intParam, single } from "./params";

const KNOWN_JOB_QUERY = new Set([
  "page",
  "page_size",
  "model",
  "agent_id",
  "metadata",
  "created_after",
  "created_by_me",
  "status",
  "order_by",
]);

export function registerBatchJobRoutes(app: FastifyInstance, ctx: EmulatorContext): void {
  const { store, clock, processor, models, seededJobId, liveFile, jobView, getJob, observed } = ctx;
  const { maxRequestsPerJob, maxPendingRequests } = ctx.limits;

  app.post("/v1/batch/jobs", async (request) => {
    const body = request.body as Record<string, unknown> | undefined;
    if (body === undefined || body === null || typeof body !== "object" || Array.isArray(body)) {
      throw validationError([
        {
          type: "model_attributes_type",
          loc: ["body"],
          msg: "Input should be a valid dictionary or object to extract fields from",
          input: body ?? null,
        },
      ]);
    }
    const detail = validateSchema("CreateBatchJobRequest", body, ["body"]);
    if (detail.length) throw validationError(detail);
    const endpoint = body.endpoint as ApiEndpoint;
    const inputFiles = (body.input_files as string[] | null | undefined) ?? null;
    const requests = (body.requests as BatchRequestLine[] | null | undefined) ?? null;
    const model = (body.model as string | null | undefined) ?? null;
    const agentId = (body.agent_id as string | null | undefined) ?? null;
    if ((inputFiles === null || inputFiles.length === 0) && (requests === null || requests.length === 0)) {
      throw valueError(["body"], "either input_files or requests must be provided (and not empty)", body);
    }
    if (inputFiles?.length && requests?.length) {
      throw valueError(["body"], "input_files and requests are mutually exclusive; provide one of them", body);
    }
    if (model === null && agentId === null) {
      throw valueError(["body"], "either model or agent_id must be provided", body);
    }
    if (model !== null && agentId !== null) {
      throw valueError(["body"], "model and agent_id are mutually exclusive; provide one of them", body);
    }
    if (model !== null && observed && !models.get(model)) {
      throw new ApiError(400, { ...invalidModelError(model) });
    }
    if (model !== null) {
      const problem = models.checkModel(model, endpoint);
      if (problem) throw apiError(400, problem, "invalid_model", { param: "model", code: "1500" });
    }
    let planned = 0;
    let inlineBlob: string | null = null;
    // Observed profile: bad input lines do not refuse the creation; the job reports them when it starts.
    const problems = observed ? new LineProblems() : null;
    if (inputFiles?.length) {
      inputFiles.forEach((id, i) => {
        const file = liveFile(id);
        if (!file)
          throw apiError(404, `Input file ${id} (input_files[${i}]) not found`, "invalid_request_error", {
            param: "input_files",
            code: "not_found",
          });
        if (file.purpose !== "batch") {
          throw valueError(
            ["body", "input_files", i],
            `file ${id} has purpose '${file.purpose}'; batch input files must be uploaded with purpose 'batch'`,
            id,
          );
        }
        if (problems) planned += scanInputFile(file, i, maxRequestsPerJob - planned, problems);
        else planned += checkInputFile(file, i, maxRequestsPerJob - planned);
      });
    } else {
      if (requests === null)
        throw new Error("createBatchJob: no requests although input_files is empty (checked above)");
      requests.forEach((r, i) => {
        if (r.custom_id !== undefined && r.custom_id !== null && typeof r.custom_id !== "string") {
          throw validationError([
            {
              type: "string_type",
              loc: ["body", "requests", i, "custom_id"],
              msg: "Input should be a valid string",
              input: r.custom_id,
            },
          ]);
        }
      });
      planned = requests.length;
      if (planned > maxRequestsPerJob) {
        throw valueError(
          ["body", "requests"],
          `a batch job may hold at most ${maxRequestsPerJob} requests, received ${planned}`,
          planned,
        );
      }
      if (problems) for (const [i, r] of requests.entries()) problems.check(r, i + 1, "requests");
    }
    // Both profiles: the workspace's limit of pending (queued or running) requests across jobs.
    const pending = pendingRequests();
    if (pending + planned > maxPendingRequests) {
      throw apiError(429, PENDING_LIMIT_MESSAGE(pending, planned, maxPendingRequests), "rate_limited");
    }
    if (requests?.length && !inputFiles?.length) {
      inlineBlob = `inline-${randomUUID()}`;
      const tmp = store.newTmpName("inline");
      fs.writeFileSync(
        store.tmpPath(tmp),
        `${requests.map((r) => JSON.stringify({ custom_id: r.custom_id ?? null, body: r.body })).join("\n")}\n`,
      );
      fs.renameSync(store.tmpPath(tmp), store.blobPath(inlineBlob));
    }
    const now = clock.now();
    const job: JobRecord = {
      id: seededJobId(request) ?? randomUUID(),
      object: "batch",
      input_files: inputFiles ?? [],
      metadata: (body.metadata as Record<string, string> | null | undefined) ?? null,
      endpoint,
      model,
      agent_id: agentId,
      output_file: null,
      error_file: null,
      errors: [],
      status: "QUEUED",
      created_at: Math.floor(now / 1000),
      started_at: null,
      completed_at: null,
      total_requests: 0,
      completed_requests: 0,
      succeeded_requests: 0,
      failed_requests: 0,
      timeout_hours: (body.timeout_hours as number | undefined) ?? TIMEOUT_HOURS.default,
      internal: {
        createdAtMs: now,
        startedAtMs: null,
        inlineBlob,
        cursor: { input: 0, offset: 0 },
        partial: {
          output: store.newTmpName("output"),
          outputBytes: 0,
          error: store.newTmpName("error"),
          errorBytes: 0,
          outputLines: 0,
          errorLines: 0,
        },
        errorCounts: {},
        cancelRequestedAtMs: null,
        forcedFailure: null,
        plannedTotal: planned,
        finishing: null,
        ...(problems ? { lineProblems: problems.summary() } : {}),
      },
    };
    fs.writeFileSync(store.tmpPath(job.internal.partial.output), "");
    fs.writeFileSync(store.tmpPath(job.internal.partial.error), "");
    store.saveJob(job);
    return jobView(job, false);
  });

  app.get("/v1/batch/jobs", async (request) => {
    const q = request.query as Record<string, string | string[] | undefined>;
    await processor.advanceAll();
    const page = intParam(q.page, "page", 0, 0);
    const askedPageSize = intParam(q.page_size, "page_size", DEFAULT_PAGE_SIZE, 1);
    // Observed profile: a bigger page is silently cut to the cap.
    const pageSize = observed ? Math.min(askedPageSize, observed.maxJobsPageSize) : askedPageSize;
    const statuses = enumList(q.status, "status", BATCH_JOB_STATUSES);
    const model = single(q.model);
    const agentId = single(q.agent_id);
    const orderBy = single(q.order_by) ?? "-created";
    if (orderBy !== "created" && orderBy !== "-created") {
      throw validationError([
        {
          type: "enum",
          loc: ["query", "order_by"],
          msg: "Input should be 'created' or '-created'",
          input: orderBy,
          ctx: { expected: "'created' or '-created'" },
        },
      ]);
    }
    boolParam(q.created_by_me, "created_by_me", false); // one workspace, one user: every job is the caller's
    let createdAfter: number | null = null;
    const ca = single(q.created_after);
    if (ca !== undefined) {
      const t = Date.parse(ca);
      if (Number.isNaN(t)) {
        throw validationError([
          {
            type: "datetime_from_date_parsing",
            loc: ["query", "created_after"],
            msg: "Input should be a valid datetime or date, invalid character in year",
            input: ca,
          },
        ]);
      }
      createdAfter = t;
    }
    // Metadata filters: `metadata` as a JSON object, and bare `key=value` pairs (what the SDK sends).
    const metadata: Record<string, string> = {};
    const m = single(q.metadata);
    if (m !== undefined) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(m);
      } catch {
        parsed = undefined;
      }
      if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) {
        throw validationError([
          { type: "dict_type", loc: ["query", "metadata"], msg: "Input should be a valid dictionary", input: m },
        ]);
      }
      for (const [k, v] of Object.entries(parsed)) metadata[k] = String(v);
    }
    for (const [k, v] of Object.entries(q)) {
      const value = single(v);
      if (!KNOWN_JOB_QUERY.has(k) && value !== undefined) metadata[k] = value;
    }
    const all = [...store.jobs.values()]
      .filter((j) => !statuses.length || statuses.includes(j.status))
      .filter((j) => model === undefined || j.model === model)
      .filter((j) => agentId === undefined || j.agent_id === agentId)
      .filter((j) => createdAfter === null || j.internal.createdAtMs > createdAfter)
      // Observed profile: the metadata filter is accepted and ignored.
      .filter((j) => observed !== null || Object.entries(metadata).every(([k, v]) => j.metadata?.[k] === v))
      .sort(
        (a, b) =>
          (a.internal.createdAtMs - b.internal.createdAtMs || a.id.localeCompare(b.id)) *
          (orderBy === "created" ? 1 : -1),
      );
    return {
      data: all.slice(page * pageSize, (page + 1) * pageSize).map((j) => jobView(j, false)),
      object: "list",
      total: all.length,
    };
  });

  app.get("/v1/batch/jobs/:job_id", async (request) => {
    const job = await getJob(request);
    const q = request.query as Record<string, string | undefined>;
    const inline = boolParam(q.inline, "inline", false);
    // Observed profile: a finished inline job carries its results without `inline=true`.
    return jobView(job, inline || (observed !== null && job.internal.inlineBlob !== null && isFinal(job)));
  });

  app.post("/v1/batch/jobs/:job_id/cancel", async (request) => {
    const job = await getJob(request);
    processor.requestCancel(job);
    await processor.advance(job.id);
    return jobView(job, false);
  });

  app.delete("/v1/batch/jobs/:job_id", async (request) => {
    const job = await getJob(request);
    if (!isFinal(job)) {
      throw apiError(
        409,
        `Batch job ${job.id} is ${job.status}; cancel it and wait until it is CANCELLED before deleting it`,
      );
    }
    store.deleteJob(job.id);
    return { id: job.id, object: "batch", deleted: true };
  });

  /** Requests queued or running in the workspace, across jobs (a QUEUED job counts all its planned requests). */
  function pendingRequests(): number {
    let pending = 0;
    for (const j of store.jobs.values()) {
      if (j.status === "QUEUED") pending += j.internal.plannedTotal;
      else if (j.status === "RUNNING") pending += j.total_requests - j.completed_requests;
    }
    return pending;
  }

  /**
   * Observed profile: streams an input file once, counting its lines and recording each bad one in `problems`
   * instead of refusing the job; the limit of requests per job and an empty file are still refused.
   */
  function scanInputFile(file: FileRecord, index: number, room: number, problems: LineProblems): number {
    let count = 0;
    let tooMany = false;
    const source = `input file ${file.id}`;
    forEachLineSync(store.blobPath(file.id), ({ lineNo, text }) => {
      count++;
      if (count > room) {
        tooMany = true;
        return false;
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        problems.add("Malformed JSON", lineNo, source);
        return true;
      }
      problems.check(parsed, lineNo, source);
      return true;
    });
    if (tooMany)
      throw valueError(
        ["body", "input_files", index],
        `a batch job may hold at most ${maxRequestsPerJob} requests; file ${file.id} (${file.filename}) has more`,
        file.id,
      );
    if (count === 0)
      throw valueError(["body", "input_files", index], `file ${file.id} (${file.filename}) holds no requests`, file.id);
    return count;
  }

  /** Streams an input file once: each line a JSON object with an object `body`; returns its request count. */
  function checkInputFile(file: FileRecord, index: number, room: number): number {
    let count = 0;
    let problem: ApiError | null = null;
    forEachLineSync(store.blobPath(file.id), ({ lineNo, text }) => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch (cause) {
        problem = valueError(
          ["body", "input_files", index],
          `file ${file.id} (${file.filename}) line ${lineNo} is not valid JSON: ${(cause as Error).message}`,
          file.id,
        );
        return false;
      }
      if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) {
        problem = valueError(
          ["body", "input_files", index],
          `file ${file.id} (${file.filename}) line ${lineNo} must be a JSON object with a "body" field, received ${JSON.stringify(parsed).slice(0, 80)}`,
          file.id,
        );
        return false;
      }
      const line = parsed as { body?: unknown; custom_id?: unknown };
      if (line.body === undefined) {
        problem = valueError(
          ["body", "input_files", index],
          `file ${file.id} (${file.filename}) line ${lineNo} has no "body": each line must be a JSON object with a "body" object`,
          file.id,
        );
        return false;
      }
      if (!line.body || typeof line.body !== "object" || Array.isArray(line.body)) {
        problem = valueError(
          ["body", "input_files", index],
          `file ${file.id} (${file.filename}) line ${lineNo}: "body" must be a JSON object, received ${JSON.stringify(line.body ?? null).slice(0, 80)}`,
          file.id,
        );
        return false;
      }
      if (line.custom_id !== undefined && line.custom_id !== null && typeof line.custom_id !== "string") {
        problem = valueError(
          ["body", "input_files", index],
          `file ${file.id} (${file.filename}) line ${lineNo}: "custom_id" must be a string, received ${JSON.stringify(line.custom_id)}`,
          file.id,
        );
        return false;
      }
      count++;
      if (count > room) {
        problem = valueError(
          ["body", "input_files", index],
          `a batch job may hold at most ${maxRequestsPerJob} requests; file ${file.id} (${file.filename}) line ${lineNo} is request ${maxRequestsPerJob - room + count} of the job`,
          file.id,
        );
        return false;
      }
      return true;
    });
    if (problem) throw problem;
    if (count === 0)
      throw valueError(["body", "input_files", index], `file ${file.id} (${file.filename}) holds no requests`, file.id);
    return count;
  }
}

/**
 * Observed profile: the structurally bad lines of a job's input, grouped by kind (malformed JSON, not an object, no
 * `custom_id`, no `body`), each kind an entry of the job's `errors` naming its first lines. A body the endpoint
 * rejects is a per-request failure, not a failure of the file.
 */
class LineProblems {
  private readonly kinds = new Map<string, { lines: string[]; count: number }>();

  add(kind: string, lineNo: number, source: string): void {
    let entry = this.kinds.get(kind);
    if (!entry) {
      entry = { lines: [], count: 0 };
      this.kinds.set(kind, entry);
    }
    entry.count++;
    if (entry.lines.length < 5) entry.lines.push(`line ${lineNo} of ${source}`);
  }

  /** Records the problems of one parsed request line (`lineNo` counts from 1). */
  check(parsed: unknown, lineNo: number, source: string): void {
    if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) {
      this.add("Request is not a JSON object", lineNo, source);
      return;
    }
    const line = parsed as { body?: unknown; custom_id?: unknown };
    if (line.custom_id === undefined || line.custom_id === null) this.add("Missing custom_id", lineNo, source);
    else if (typeof line.custom_id !== "string") this.add("custom_id is not a string", lineNo, source);
    if (line.body === undefined || line.body === null) {
      this.add("Missing body", lineNo, source);
      return;
    }
    if (typeof line.body !== "object" || Array.isArray(line.body)) {
      this.add("body is not a JSON object", lineNo, source);
      return;
    }
    // A body the endpoint rejects is not a validation failure of the file: the request fails on its own, with an
    // error line (as in the spec profile), and the other requests are answered.
  }

  /** The job's `errors`: one entry per kind, or null when every line is good. */
  summary(): { message: string; count: number }[] | null {
    if (this.kinds.size === 0) return null;
    return [...this.kinds].map(([kind, { lines, count }]) => ({
      message: `${kind}: ${lines.join(", ")}${count > lines.length ? ` and ${count - lines.length} more` : ""}`,
      count,
    }));
  }
}
