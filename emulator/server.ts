/**
 * The emulator's HTTP server: Mistral's Files and Batch API over real HTTP, as the official OpenAPI spec defines
 * it, plus admin routes under `/__emulator/` for tests (faults, clock, stats, seed).
 */
import * as fs from "node:fs";
import { createHash, createHmac, randomUUID, timingSafeEqual } from "node:crypto";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import multipart from "@fastify/multipart";
import { ManualClock, systemClock, type Clock } from "./clock";
import { ApiError, apiError, notFound, validationError, valueError } from "./errors";
import { Faults, parseFaults, type FaultRule } from "./faults";
import { ModelCatalogue, type ModelSpec } from "./models";
import { Processor, SPEEDS, isFinal, type ProcessingOptions, type SpeedName } from "./processor";
import { validateSchema } from "./spec";
import { Store, type FileRecord, type JobRecord } from "./store";
import {
  API_ENDPOINTS,
  BATCH_JOB_STATUSES,
  DEFAULT_FILE_VISIBILITY,
  DEFAULT_PAGE_SIZE,
  FILE_PURPOSES,
  FILE_VISIBILITIES,
  LineCounter,
  MAX_FILE_BYTES,
  MAX_REQUESTS_PER_JOB,
  RATE_LIMIT_ERROR,
  SAMPLE_TYPES,
  SIGNED_URL_EXPIRY_HOURS,
  SOURCES,
  TIMEOUT_HOURS,
  errorBody,
  forEachLineSync,
  type ApiEndpoint,
  type BatchRequestLine,
  type FilePurpose,
  type FileVisibility,
} from "../provider/api";

export interface EmulatorOptions {
  /** Interface to bind. @default "127.0.0.1" */
  host?: string;
  /** Port; 0 picks a free one. @default 0 */
  port?: number;
  /** When set, every request must carry `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
  /** Directory where files and jobs persist across restarts. @default a temporary directory, removed on close */
  dataDir?: string;
  /** How fast jobs progress: a preset name or explicit timings. @default "instant" */
  speed?: SpeedName | ProcessingOptions;
  /** Clock driving job progress. `"manual"` gives a `ManualClock` that tests advance. @default the wall clock */
  clock?: Clock | "manual";
  /** Largest accepted upload in bytes. @default MAX_FILE_BYTES, Mistral's 512 MB (536870912) */
  maxFileBytes?: number;
  /** Largest number of requests in one job. @default MAX_REQUESTS_PER_JOB, Mistral's 100000 */
  maxRequestsPerJob?: number;
  /** Model catalogue. @default DEFAULT_MODELS */
  models?: readonly ModelSpec[];
  /** Model that answers jobs created with an `agent_id`. @default "mistral-medium-latest" */
  agentModel?: string;
  /** Faults active from the start. */
  faults?: FaultRule[] | string;
  /** Interval of the background progress timer in ms (wall clock only). @default 50 */
  tickMs?: number;
  /** Log each request to stderr. @default false */
  logRequests?: boolean;
}

export interface Emulator {
  /** Base URL to give the SDK as `serverURL`, e.g. `http://127.0.0.1:41234`. */
  url: string;
  port: number;
  dataDir: string;
  /** The manual clock, when the emulator was started with `clock: "manual"`. */
  clock: Clock;
  faults: Faults;
  store: Store;
  processor: Processor;
  /** Advances a manual clock and brings every job up to the new time. */
  advance(ms: number): Promise<void>;
  /** Brings every job up to the clock's time. */
  settle(): Promise<void>;
  close(): Promise<void>;
}

const MB = 1024 * 1024;
const KNOWN_JOB_QUERY = new Set(["page", "page_size", "model", "agent_id", "metadata", "created_after", "created_by_me", "status", "order_by"]);

export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const clock: Clock = options.clock === "manual" ? new ManualClock() : options.clock ?? systemClock;
  const speedName = options.speed ?? "instant";
  const speed = typeof speedName === "object" ? speedName : Object.hasOwn(SPEEDS, speedName) ? SPEEDS[speedName] : undefined;
  if (!speed) throw new Error(`startEmulator: speed must be one of ${Object.keys(SPEEDS).join(", ")} or timings, received ${String(options.speed)}`);
  const models = new ModelCatalogue(options.models);
  const agentModel = options.agentModel ?? "mistral-medium-latest";
  const faults = new Faults();
  if (options.faults) faults.add(typeof options.faults === "string" ? parseFaults(options.faults) : options.faults);
  // Options are checked before the store opens: a bad option must not leave a temporary data directory behind.
  const store = Store.open({ dataDir: options.dataDir });
  const processor = new Processor(store, clock, models, speed, agentModel);
  const maxFileBytes = options.maxFileBytes ?? MAX_FILE_BYTES;
  const maxRequestsPerJob = options.maxRequestsPerJob ?? MAX_REQUESTS_PER_JOB;
  const signingKey = randomUUID();

  const app: FastifyInstance = Fastify({ logger: false, bodyLimit: 256 * MB, forceCloseConnections: true });
  await app.register(multipart, { limits: { fileSize: maxFileBytes, files: 1, fields: 10 } });

  // --- auth and faults ------------------------------------------------------------------------------------------
  app.addHook("onRequest", async (request, reply) => {
    if (options.logRequests) process.stderr.write(`${request.method} ${request.url}\n`);
    const path = request.url.split("?")[0];
    if (path.startsWith("/__emulator/signed/")) return; // authorised by its signature
    if (options.apiKey !== undefined && !bearerMatches(request.headers.authorization, options.apiKey)) {
      return reply.code(401).send({ message: "Unauthorized", request_id: randomUUID().replace(/-/g, "") });
    }
    if (path.startsWith("/__emulator/")) return;
    if (seededJobId(request) !== null) return; // the seed route's own job creation: no faults
    for (const rule of faults.take(request.method, path)) {
      if (rule.kind === "latency") await new Promise((r) => setTimeout(r, rule.ms));
      else if (rule.kind === "drop") {
        request.raw.socket.destroy();
        return reply.hijack();
      } else if (rule.kind === "commit-then-drop") (request as FaultedRequest).dropResponse = true;
      else if (rule.kind === "status") {
        const status = rule.status!;
        const retryAfter = rule.retryAfterSeconds ?? (status === 429 ? 1 : undefined);
        if (retryAfter !== undefined) reply.header("retry-after", String(retryAfter));
        const body = status === 429 ? { ...RATE_LIMIT_ERROR } : errorBody(`Injected fault: HTTP ${status}`, "internal_server_error");
        return reply.code(status).send(body);
      }
    }
  });
  app.addHook("onSend", async (request, reply, payload) => {
    if ((request as FaultedRequest).dropResponse) {
      // The work is done; the client never hears of it.
      request.raw.socket.destroy();
    }
    return payload;
  });

  app.setErrorHandler((error: unknown, _request, reply) => {
    if (error instanceof ApiError) {
      for (const [k, v] of Object.entries(error.headers)) reply.header(k, v);
      return reply.code(error.statusCode).send(error.body);
    }
    const e = error as { code?: string; statusCode?: number; message?: string };
    if (e.code === "FST_ERR_CTP_INVALID_JSON_BODY" || e.code === "FST_ERR_CTP_EMPTY_JSON_BODY" || (e.statusCode === 400 && /JSON/i.test(e.message ?? ""))) {
      return reply.code(422).send({ detail: [{ type: "json_invalid", loc: ["body"], msg: "JSON decode error", input: {}, ctx: { error: e.message } }] });
    }
    if (e.code === "FST_REQ_FILE_TOO_LARGE" || e.code === "FST_ERR_CTP_BODY_TOO_LARGE") {
      return reply.code(413).send(errorBody(`File too large: the limit is ${maxFileBytes} bytes (${Math.round(maxFileBytes / MB)} MB)`, "invalid_request_error", { param: "file" }));
    }
    if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500) {
      return reply.code(e.statusCode).send(errorBody(e.message ?? "Bad request"));
    }
    process.stderr.write(`mistral-batch-emulator: internal error: ${(error as Error)?.stack ?? String(error)}\n`);
    return reply.code(500).send(errorBody("Internal server error", "internal_server_error"));
  });
  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send({ detail: "Not Found" });
    void request;
  });

  // --- files ----------------------------------------------------------------------------------------------------
  app.post("/v1/files", async (request) => {
    if (!request.isMultipart()) {
      throw validationError([{ type: "missing", loc: ["body", "file"], msg: "Field required", input: null }]);
    }
    const fields: Record<string, string> = {};
    let upload: { tmp: string; filename: string; mimetype: string; bytes: number; lines: number; sha256: string } | null = null;
    try {
      for await (const part of request.parts()) {
        if (part.type === "file") {
          if (part.fieldname !== "file" || upload) {
            part.file.resume();
            continue;
          }
          const tmp = store.newTmpName("upload");
          const hash = createHash("sha256");
          let bytes = 0;
          const lines = new LineCounter();
          const counter = new Transform({
            transform(chunk: Buffer, _enc, cb) {
              bytes += chunk.length;
              hash.update(chunk);
              lines.push(chunk);
              cb(null, chunk);
            },
          });
          upload = { tmp, filename: part.filename || "file", mimetype: part.mimetype, bytes: 0, lines: 0, sha256: "" };
          await pipeline(part.file, counter, fs.createWriteStream(store.tmpPath(tmp)));
          if (part.file.truncated) throw Object.assign(new Error("too large"), { code: "FST_REQ_FILE_TOO_LARGE" });
          upload.bytes = bytes;
          upload.lines = lines.lines;
          upload.sha256 = hash.digest("hex");
        } else {
          fields[part.fieldname] = String(part.value);
        }
      }
    } catch (error) {
      if (upload) fs.rmSync(store.tmpPath(upload.tmp), { force: true });
      throw error;
    }
    if (!upload) throw validationError([{ type: "missing", loc: ["body", "file"], msg: "Field required", input: null }]);
    const fail = (detail: Parameters<typeof validationError>[0]) => {
      fs.rmSync(store.tmpPath(upload!.tmp), { force: true });
      return validationError(detail);
    };
    const purpose = (fields.purpose ?? "fine-tune") as FilePurpose;
    if (!FILE_PURPOSES.includes(purpose)) {
      const expected = choices(FILE_PURPOSES);
      throw fail([{ type: "enum", loc: ["body", "purpose"], msg: `Input should be ${expected}`, input: fields.purpose, ctx: { expected } }]);
    }
    const visibility = (fields.visibility ?? DEFAULT_FILE_VISIBILITY) as FileVisibility;
    if (!FILE_VISIBILITIES.includes(visibility)) {
      const expected = choices(FILE_VISIBILITIES);
      throw fail([{ type: "enum", loc: ["body", "visibility"], msg: `Input should be ${expected}`, input: visibility, ctx: { expected } }]);
    }
    let expiresAt: number | null = null;
    if (fields.expiry !== undefined && fields.expiry !== "" && fields.expiry !== "null") {
      // pydantic parses an integer from decimal digits only: no "1.5", "0x10" or "1e3"
      const hours = /^\s*[+-]?\d+\s*$/.test(fields.expiry) ? Number(fields.expiry) : NaN;
      if (!Number.isSafeInteger(hours)) {
        throw fail([{ type: "int_parsing", loc: ["body", "expiry"], msg: "Input should be a valid integer, unable to parse string as an integer", input: fields.expiry }]);
      }
      expiresAt = Math.floor(clock.now() / 1000) + hours * 3600;
    }
    const record = uploadRecord({
      id: randomUUID(),
      filename: upload.filename,
      purpose,
      bytes: upload.bytes,
      lines: upload.lines,
      sha256: upload.sha256,
      mimetype: upload.mimetype,
      expiresAt,
      visibility,
    });
    store.commitFile(upload.tmp, record);
    return fileView(record);
  });

  app.get("/v1/files", async (request) => {
    const q = request.query as Record<string, string | string[] | undefined>;
    const page = intParam(q.page, "page", 0, 0);
    const pageSize = intParam(q.page_size, "page_size", DEFAULT_PAGE_SIZE, 1);
    const includeTotal = boolParam(q.include_total, "include_total", true);
    const sampleTypes = enumList(q.sample_type, "sample_type", SAMPLE_TYPES);
    const sources = enumList(q.source, "source", SOURCES);
    const purposes = enumList(q.purpose, "purpose", FILE_PURPOSES);
    const mimetypes = list(q.mimetypes);
    const search = single(q.search);
    const all = [...liveFiles()]
      .filter((f) => !sampleTypes.length || sampleTypes.includes(f.sample_type))
      .filter((f) => !sources.length || sources.includes(f.source))
      .filter((f) => !purposes.length || purposes.includes(f.purpose))
      .filter((f) => !mimetypes.length || (f.mimetype !== null && mimetypes.includes(f.mimetype)))
      .filter((f) => !search || f.filename.toLowerCase().includes(search.toLowerCase()) || f.id === search)
      .sort((a, b) => b.created_at - a.created_at || b.id.localeCompare(a.id));
    return {
      data: all.slice(page * pageSize, (page + 1) * pageSize).map(fileView),
      object: "list",
      total: includeTotal ? all.length : null,
    };
  });

  app.get("/v1/files/:file_id", async (request) => ({ ...fileView(getFile(request)), deleted: false }));

  app.delete("/v1/files/:file_id", async (request) => {
    const file = getFile(request);
    for (const job of store.jobs.values()) {
      if (!isFinal(job) && (job.input_files.includes(file.id))) {
        throw apiError(409, `File ${file.id} is an input of batch job ${job.id} (status ${job.status}); cancel the job or wait until it ends before deleting the file`);
      }
    }
    store.deleteFile(file.id);
    return { id: file.id, object: "file", deleted: true };
  });

  app.get("/v1/files/:file_id/content", async (request, reply) => sendContent(getFile(request), reply));

  app.get("/v1/files/:file_id/url", async (request) => {
    const file = getFile(request);
    const q = request.query as Record<string, string | undefined>;
    const expiry = intParam(q.expiry, "expiry", SIGNED_URL_EXPIRY_HOURS.default, SIGNED_URL_EXPIRY_HOURS.min, SIGNED_URL_EXPIRY_HOURS.max);
    const expires = Math.floor(clock.now() / 1000) + expiry * 3600;
    const sig = sign(`${file.id}.${expires}`);
    return { url: `${baseUrl()}/__emulator/signed/${file.id}?se=${expires}&sig=${sig}` };
  });

  app.get("/__emulator/signed/:file_id", async (request, reply) => {
    const { file_id } = request.params as { file_id: string };
    const q = request.query as Record<string, string | undefined>;
    const expires = Number(q.se);
    const expected = sign(`${file_id}.${expires}`);
    if (!q.sig || q.sig.length !== expected.length || !timingSafeEqual(Buffer.from(q.sig), Buffer.from(expected))) {
      throw apiError(403, "Signature does not match", "authentication_error");
    }
    if (!(expires > clock.now() / 1000)) throw apiError(403, "Signed URL has expired", "authentication_error");
    const file = store.files.get(file_id);
    if (!file) throw notFound("File", file_id);
    return sendContent(file, reply);
  });

  // --- batch jobs -----------------------------------------------------------------------------------------------
  app.post("/v1/batch/jobs", async (request) => {
    const body = request.body as Record<string, unknown> | undefined;
    if (body === undefined || body === null || typeof body !== "object" || Array.isArray(body)) {
      throw validationError([{ type: "model_attributes_type", loc: ["body"], msg: "Input should be a valid dictionary or object to extract fields from", input: body ?? null }]);
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
    if (model !== null) {
      const problem = models.checkModel(model, endpoint);
      if (problem) throw apiError(400, problem, "invalid_model", { param: "model", code: "1500" });
    }
    let planned = 0;
    let inlineBlob: string | null = null;
    if (inputFiles?.length) {
      inputFiles.forEach((id, i) => {
        const file = liveFile(id);
        if (!file) throw apiError(404, `Input file ${id} (input_files[${i}]) not found`, "invalid_request_error", { param: "input_files", code: "not_found" });
        if (file.purpose !== "batch") {
          throw valueError(["body", "input_files", i], `file ${id} has purpose '${file.purpose}'; batch input files must be uploaded with purpose 'batch'`, id);
        }
        planned += checkInputFile(file, i, maxRequestsPerJob - planned);
      });
    } else {
      requests!.forEach((r, i) => {
        if (r.custom_id !== undefined && r.custom_id !== null && typeof r.custom_id !== "string") {
          throw validationError([{ type: "string_type", loc: ["body", "requests", i, "custom_id"], msg: "Input should be a valid string", input: r.custom_id }]);
        }
      });
      planned = requests!.length;
      if (planned > maxRequestsPerJob) {
        throw valueError(["body", "requests"], `a batch job may hold at most ${maxRequestsPerJob} requests, received ${planned}`, planned);
      }
      inlineBlob = `inline-${randomUUID()}`;
      const tmp = store.newTmpName("inline");
      fs.writeFileSync(store.tmpPath(tmp), requests!.map((r) => JSON.stringify({ custom_id: r.custom_id ?? null, body: r.body })).join("\n") + "\n");
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
        partial: { output: store.newTmpName("output"), outputBytes: 0, error: store.newTmpName("error"), errorBytes: 0, outputLines: 0, errorLines: 0 },
        errorCounts: {},
        cancelRequestedAtMs: null,
        forcedFailure: null,
        plannedTotal: planned,
        finishing: null,
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
    const pageSize = intParam(q.page_size, "page_size", DEFAULT_PAGE_SIZE, 1);
    const statuses = enumList(q.status, "status", BATCH_JOB_STATUSES);
    const model = single(q.model);
    const agentId = single(q.agent_id);
    const orderBy = single(q.order_by) ?? "-created";
    if (orderBy !== "created" && orderBy !== "-created") {
      throw validationError([{ type: "enum", loc: ["query", "order_by"], msg: "Input should be 'created' or '-created'", input: orderBy, ctx: { expected: "'created' or '-created'" } }]);
    }
    boolParam(q.created_by_me, "created_by_me", false); // one workspace, one user: every job is the caller's
    let createdAfter: number | null = null;
    const ca = single(q.created_after);
    if (ca !== undefined) {
      const t = Date.parse(ca);
      if (Number.isNaN(t)) {
        throw validationError([{ type: "datetime_from_date_parsing", loc: ["query", "created_after"], msg: "Input should be a valid datetime or date, invalid character in year", input: ca }]);
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
        throw validationError([{ type: "dict_type", loc: ["query", "metadata"], msg: "Input should be a valid dictionary", input: m }]);
      }
      for (const [k, v] of Object.entries(parsed)) metadata[k] = String(v);
    }
    for (const [k, v] of Object.entries(q)) {
      if (!KNOWN_JOB_QUERY.has(k) && v !== undefined) metadata[k] = single(v)!;
    }
    const all = [...store.jobs.values()]
      .filter((j) => !statuses.length || statuses.includes(j.status))
      .filter((j) => model === undefined || j.model === model)
      .filter((j) => agentId === undefined || j.agent_id === agentId)
      .filter((j) => createdAfter === null || j.internal.createdAtMs > createdAfter)
      .filter((j) => Object.entries(metadata).every(([k, v]) => j.metadata?.[k] === v))
      .sort((a, b) => (a.internal.createdAtMs - b.internal.createdAtMs || a.id.localeCompare(b.id)) * (orderBy === "created" ? 1 : -1));
    return { data: all.slice(page * pageSize, (page + 1) * pageSize).map((j) => jobView(j, false)), object: "list", total: all.length };
  });

  app.get("/v1/batch/jobs/:job_id", async (request) => {
    const job = await getJob(request);
    const q = request.query as Record<string, string | undefined>;
    return jobView(job, boolParam(q.inline, "inline", false));
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
      throw apiError(409, `Batch job ${job.id} is ${job.status}; cancel it and wait until it is CANCELLED before deleting it`);
    }
    store.deleteJob(job.id);
    return { id: job.id, object: "batch", deleted: true };
  });

  // --- admin ----------------------------------------------------------------------------------------------------
  app.get("/__emulator/health", async () => ({ ok: true }));
  app.get("/__emulator/faults", async () => faults.list());
  app.post("/__emulator/faults", async (request) => {
    const body = request.body as unknown;
    try {
      const rules = typeof body === "string" ? parseFaults(body) : parseFaults(JSON.stringify(body));
      faults.add(rules);
      return faults.list();
    } catch (error) {
      throw apiError(400, (error as Error).message);
    }
  });
  app.delete("/__emulator/faults", async () => {
    faults.clear();
    return [];
  });
  app.post("/__emulator/clock/advance", async (request) => {
    const { ms } = (request.body ?? {}) as { ms?: number };
    if (!(clock instanceof ManualClock)) throw apiError(409, "the emulator runs on the wall clock; start it with clock: \"manual\" to drive time");
    if (typeof ms !== "number" || !(ms >= 0)) throw apiError(400, `ms must be a number >= 0, received ${JSON.stringify(ms)}`);
    clock.advance(ms);
    await processor.advanceAll();
    return { now: clock.now() };
  });
  app.post("/__emulator/jobs/:job_id/fail", async (request) => {
    const job = await getJob(request);
    const { message } = (request.body ?? {}) as { message?: string };
    if (job.status !== "QUEUED") throw apiError(409, `job ${job.id} is ${job.status}; only a QUEUED job can be made to fail`);
    job.internal.forcedFailure = message ?? "Injected failure";
    store.saveJob(job);
    return jobView(job, false);
  });
  app.get("/__emulator/stats", async () => {
    await processor.advanceAll();
    const byStatus: Record<string, number> = {};
    for (const j of store.jobs.values()) byStatus[j.status] = (byStatus[j.status] ?? 0) + 1;
    return { files: store.files.size, jobs: store.jobs.size, jobsByStatus: byStatus, models: models.list().map((m) => m.id) };
  });

  // Seeds the world a document or a test assumes: a file with a given id and content, and optionally a batch job
  // with a given id, created through POST /v1/batch/jobs itself (same checks, same processing). Body:
  //   { "file": { "id", "filename", "purpose"?: "batch", "content", "encoding"?: "utf8" | "base64" },
  //     "job": { "id", ...the body of POST /v1/batch/jobs } }   (either or both; the job's input_files default
  //   to the seeded file). Answers { file, job } as the API shows them; nothing is kept when any part fails.
  app.post("/__emulator/seed", async (request, reply) => {
    const body = request.body as Record<string, unknown> | undefined;
    const bad = (status: number, message: string, param: string | null = null) => apiError(status, `seed: ${message}`, "invalid_request_error", { param });
    if (!body || typeof body !== "object" || Array.isArray(body) || (body.file === undefined && body.job === undefined)) {
      throw bad(400, 'expected a JSON object with "file" and/or "job", e.g. {"file":{"id":"<uuid>","filename":"in.jsonl","purpose":"batch","content":"..."}}');
    }
    const known = (obj: Record<string, unknown>, what: string, keys: string[]) => {
      for (const k of Object.keys(obj)) if (!keys.includes(k)) throw bad(400, `unknown field ${what}.${k}; fields are ${keys.join(", ")}`, `${what}.${k}`);
    };
    known(body, "body", ["file", "job"]);
    const object = (v: unknown, what: string): Record<string, unknown> => {
      if (!v || typeof v !== "object" || Array.isArray(v)) throw bad(400, `${what} must be a JSON object, received ${JSON.stringify(v)}`, what);
      return v as Record<string, unknown>;
    };
    const seedId = (v: unknown, what: string): string => {
      if (typeof v !== "string" || !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(v)) {
        throw bad(400, `${what}.id must be a lower-case hyphenated UUID, received ${JSON.stringify(v)}`, `${what}.id`);
      }
      return v;
    };
    let jobId: string | null = null;
    let jobBody: Record<string, unknown> | null = null;
    if (body.job !== undefined) {
      const { id, ...rest } = object(body.job, "job");
      jobId = seedId(id, "job");
      if (store.jobs.has(jobId)) throw bad(409, `batch job ${jobId} already exists`, "job.id");
      jobBody = rest;
    }
    let file: FileRecord | null = null;
    if (body.file !== undefined) {
      const f = object(body.file, "file");
      known(f, "file", ["id", "filename", "purpose", "content", "encoding"]);
      const id = seedId(f.id, "file");
      if (store.files.has(id)) throw bad(409, `file ${id} already exists`, "file.id");
      if (typeof f.filename !== "string" || f.filename === "") throw bad(400, `file.filename must be a non-empty string, received ${JSON.stringify(f.filename)}`, "file.filename");
      const purpose = (f.purpose ?? "batch") as FilePurpose;
      if (!FILE_PURPOSES.includes(purpose)) throw bad(400, `file.purpose must be one of ${FILE_PURPOSES.join(", ")}, received ${JSON.stringify(f.purpose)}`, "file.purpose");
      const encoding = f.encoding ?? "utf8";
      if (encoding !== "utf8" && encoding !== "base64") throw bad(400, `file.encoding must be utf8 or base64, received ${JSON.stringify(f.encoding)}`, "file.encoding");
      if (typeof f.content !== "string") throw bad(400, `file.content must be a string, received ${JSON.stringify(f.content)}`, "file.content");
      const data = Buffer.from(f.content, encoding);
      const counted = new LineCounter();
      counted.push(data);
      const lines = counted.lines;
      file = uploadRecord({
        id,
        filename: f.filename,
        purpose,
        bytes: data.length,
        lines,
        sha256: createHash("sha256").update(data).digest("hex"),
        mimetype: "",
        expiresAt: null,
        visibility: DEFAULT_FILE_VISIBILITY,
      });
      const tmp = store.newTmpName("seed");
      fs.writeFileSync(store.tmpPath(tmp), data);
      store.commitFile(tmp, file);
    }
    if (jobId === null || jobBody === null) return { file: fileView(file!), job: null };
    if (file && jobBody.input_files === undefined && jobBody.requests === undefined) jobBody.input_files = [file.id];
    const headers: Record<string, string> = { "x-emulator-seed-job-id": jobId, "x-emulator-seed-signature": sign(`seed-job.${jobId}`) };
    if (request.headers.authorization) headers.authorization = request.headers.authorization;
    const created = await app.inject({ method: "POST", url: "/v1/batch/jobs", payload: jobBody, headers });
    if (created.statusCode !== 200) {
      if (file) store.deleteFile(file.id);
      return reply.code(created.statusCode).send(created.json());
    }
    return { file: file && fileView(file), job: created.json() };
  });

  /** The job id the seed route asked for, when this request is the seed route's own (signed) job creation. */
  function seededJobId(request: FastifyRequest): string | null {
    const id = request.headers["x-emulator-seed-job-id"];
    const sig = request.headers["x-emulator-seed-signature"];
    if (typeof id !== "string" || typeof sig !== "string") return null;
    const expected = sign(`seed-job.${id}`);
    return sig.length === expected.length && timingSafeEqual(Buffer.from(sig), Buffer.from(expected)) ? id : null;
  }

  // --- helpers --------------------------------------------------------------------------------------------------
  /** The record of a file a user uploaded (or a test seeded). */
  function uploadRecord(u: {
    id: string;
    filename: string;
    purpose: FilePurpose;
    bytes: number;
    lines: number;
    sha256: string;
    mimetype: string;
    expiresAt: number | null;
    visibility: FileVisibility;
  }): FileRecord {
    const jsonl = /\.jsonl$/i.test(u.filename);
    return {
      id: u.id,
      object: "file",
      bytes: u.bytes,
      created_at: Math.floor(clock.now() / 1000),
      filename: u.filename,
      purpose: u.purpose,
      sample_type: u.purpose === "batch" ? "batch_request" : u.purpose === "ocr" ? "pretrain" : "instruct",
      source: "upload",
      num_lines: jsonl || u.purpose !== "ocr" ? u.lines : null,
      mimetype: jsonl ? "application/jsonl" : u.mimetype || "application/octet-stream",
      signature: u.sha256.slice(0, 16),
      expires_at: u.expiresAt,
      visibility: u.visibility,
    };
  }

  function baseUrl(): string {
    const a = app.server.address();
    if (!a || typeof a === "string") return "";
    const host = a.family === "IPv6" ? `[${a.address}]` : a.address;
    return `http://${host}:${a.port}`;
  }

  /** The wire form of a job; with `inline`, a final job carries its result lines in `outputs`. */
  function jobView(job: JobRecord, inline: boolean) {
    const { internal: _internal, timeout_hours: _timeoutHours, ...wire } = job;
    let outputs: Record<string, unknown>[] | null = null;
    if (inline && isFinal(job)) {
      outputs = [];
      for (const id of [job.output_file, job.error_file]) {
        if (id && store.files.has(id)) forEachLineSync(store.blobPath(id), ({ text }) => void outputs!.push(JSON.parse(text)));
      }
    }
    return inline ? { ...wire, outputs } : wire;
  }

  function sign(text: string): string {
    return createHmac("sha256", signingKey).update(text).digest("hex");
  }

  function* liveFiles(): Iterable<FileRecord> {
    const now = clock.now() / 1000;
    for (const f of store.files.values()) if (f.expires_at === null || f.expires_at > now) yield f;
  }

  function liveFile(id: string): FileRecord | undefined {
    const f = store.files.get(id);
    return f && (f.expires_at === null || f.expires_at > clock.now() / 1000) ? f : undefined;
  }

  function getFile(request: FastifyRequest): FileRecord {
    const { file_id } = request.params as { file_id: string };
    uuidParam(file_id, "file_id");
    const f = liveFile(file_id);
    if (!f) throw notFound("File", file_id);
    return f;
  }

  async function getJob(request: FastifyRequest): Promise<JobRecord> {
    const { job_id } = request.params as { job_id: string };
    uuidParam(job_id, "job_id");
    if (!store.jobs.has(job_id)) throw notFound("Batch job", job_id);
    await processor.advance(job_id);
    const job = store.jobs.get(job_id);
    if (!job) throw notFound("Batch job", job_id);
    return job;
  }

  function sendContent(file: FileRecord, reply: FastifyReply) {
    reply.header("content-type", "application/octet-stream");
    reply.header("content-length", String(fs.statSync(store.blobPath(file.id)).size));
    reply.header("content-disposition", `attachment; filename="${file.filename.replace(/["\\\r\n]/g, "_")}"`);
    return reply.send(fs.createReadStream(store.blobPath(file.id)));
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
        problem = valueError(["body", "input_files", index], `file ${file.id} (${file.filename}) line ${lineNo} is not valid JSON: ${(cause as Error).message}`, file.id);
        return false;
      }
      if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) {
        problem = valueError(["body", "input_files", index], `file ${file.id} (${file.filename}) line ${lineNo} must be a JSON object with a "body" field, received ${JSON.stringify(parsed).slice(0, 80)}`, file.id);
        return false;
      }
      const line = parsed as { body?: unknown; custom_id?: unknown };
      if (line.body === undefined) {
        problem = valueError(["body", "input_files", index], `file ${file.id} (${file.filename}) line ${lineNo} has no "body": each line must be a JSON object with a "body" object`, file.id);
        return false;
      }
      if (!line.body || typeof line.body !== "object" || Array.isArray(line.body)) {
        problem = valueError(["body", "input_files", index], `file ${file.id} (${file.filename}) line ${lineNo}: "body" must be a JSON object, received ${JSON.stringify(line.body ?? null).slice(0, 80)}`, file.id);
        return false;
      }
      if (line.custom_id !== undefined && line.custom_id !== null && typeof line.custom_id !== "string") {
        problem = valueError(["body", "input_files", index], `file ${file.id} (${file.filename}) line ${lineNo}: "custom_id" must be a string, received ${JSON.stringify(line.custom_id)}`, file.id);
        return false;
      }
      count++;
      if (count > room) {
        problem = valueError(["body", "input_files", index], `a batch job may hold at most ${maxRequestsPerJob} requests; file ${file.id} (${file.filename}) line ${lineNo} is request ${maxRequestsPerJob - room + count} of the job`, file.id);
        return false;
      }
      return true;
    });
    if (problem) throw problem;
    if (count === 0) throw valueError(["body", "input_files", index], `file ${file.id} (${file.filename}) holds no requests`, file.id);
    return count;
  }

  // --- start ----------------------------------------------------------------------------------------------------
  try {
    await app.listen({ host: options.host ?? "127.0.0.1", port: options.port ?? 0 });
  } catch (error) {
    // e.g. EADDRINUSE: nothing was served, so nothing of a temporary data directory is worth keeping
    await app.close().catch(() => undefined);
    await store.close();
    throw error;
  }
  const address = app.server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  const url = baseUrl();

  let timer: NodeJS.Timeout | null = null;
  if (!(clock instanceof ManualClock)) {
    const tick = () => {
      processor
        .advanceAll()
        .catch((e) => process.stderr.write(`mistral-batch-emulator: processing failed: ${(e as Error).stack}\n`))
        .finally(() => {
          if (timer) timer = setTimeout(tick, options.tickMs ?? 50).unref();
        });
    };
    timer = setTimeout(tick, options.tickMs ?? 50).unref();
  }

  let closed = false;
  return {
    url,
    port,
    dataDir: store.dataDir,
    clock,
    faults,
    store,
    processor,
    async advance(ms: number) {
      if (!(clock instanceof ManualClock)) throw new Error("advance: the emulator runs on the wall clock; start it with clock: \"manual\"");
      clock.advance(ms);
      await processor.advanceAll();
    },
    settle: () => processor.advanceAll(),
    async close() {
      if (closed) return;
      closed = true;
      if (timer) clearTimeout(timer);
      timer = null;
      await app.close();
      await processor.advanceAll().catch(() => undefined);
      await store.close();
    },
  };
}

interface FaultedRequest extends FastifyRequest {
  dropResponse?: boolean;
}

function bearerMatches(header: string | undefined, key: string): boolean {
  const m = /^Bearer\s+(.+)$/i.exec(header ?? "");
  if (!m) return false;
  const a = createHash("sha256").update(m[1].trim()).digest();
  const b = createHash("sha256").update(key).digest();
  return timingSafeEqual(a, b);
}

export function fileView(f: FileRecord) {
  return {
    id: f.id,
    object: "file",
    bytes: f.bytes,
    created_at: f.created_at,
    filename: f.filename,
    purpose: f.purpose,
    sample_type: f.sample_type,
    source: f.source,
    num_lines: f.num_lines,
    mimetype: f.mimetype,
    signature: f.signature,
    expires_at: f.expires_at,
    visibility: f.visibility,
  };
}

function single(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[v.length - 1] : v;
}

function list(v: string | string[] | undefined): string[] {
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).flatMap((s) => s.split(",")).filter(Boolean);
}

/** The allowed values as pydantic lists them in an enum error: `'a', 'b' or 'c'`. */
function choices(allowed: readonly string[]): string {
  return allowed.map((a) => `'${a}'`).join(", ").replace(/, ([^,]*)$/, " or $1");
}

function enumList<T extends string>(v: string | string[] | undefined, name: string, allowed: readonly T[]): T[] {
  const items = list(v);
  items.forEach((item, i) => {
    if (!allowed.includes(item as T)) {
      const expected = choices(allowed);
      throw validationError([{ type: "enum", loc: ["query", name, i], msg: `Input should be ${expected}`, input: item, ctx: { expected } }]);
    }
  });
  return items as T[];
}

function intParam(v: string | string[] | undefined, name: string, dflt: number, min: number, max?: number): number {
  const s = single(v);
  if (s === undefined || s === "") return dflt;
  if (!/^-?\d+$/.test(s)) {
    throw validationError([{ type: "int_parsing", loc: ["query", name], msg: "Input should be a valid integer, unable to parse string as an integer", input: s }]);
  }
  const n = Number(s);
  if (n < min) throw validationError([{ type: "greater_than_equal", loc: ["query", name], msg: `Input should be greater than or equal to ${min}`, input: s, ctx: { ge: min } }]);
  if (max !== undefined && n > max) throw validationError([{ type: "less_than_equal", loc: ["query", name], msg: `Input should be less than or equal to ${max}`, input: s, ctx: { le: max } }]);
  return n;
}

function boolParam(v: string | string[] | undefined, name: string, dflt: boolean): boolean {
  const s = single(v);
  if (s === undefined || s === "") return dflt;
  if (/^(true|1|yes|on)$/i.test(s)) return true;
  if (/^(false|0|no|off)$/i.test(s)) return false;
  throw validationError([{ type: "bool_parsing", loc: ["query", name], msg: "Input should be a valid boolean, unable to interpret input", input: s }]);
}

function uuidParam(v: string, name: string): void {
  if (!/^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i.test(v)) {
    throw validationError([{ type: "uuid_parsing", loc: ["path", name], msg: "Input should be a valid UUID, invalid character: expected an optional prefix of `urn:uuid:` followed by [0-9a-fA-F-], found `" + (v.match(/[^0-9a-fA-F-]/)?.[0] ?? v[0] ?? "") + "` at 1", input: v }]);
  }
}

export { API_ENDPOINTS };
