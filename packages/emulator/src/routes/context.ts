/**
 * The context every route module shares: the emulator's store, clock, processor, catalogue, faults, options
 * and limits, plus the helpers the routes have in common (file and job lookups, views, signing). Created once
 * per emulator by {@link createContext} in `startEmulator`.
 */
import * as fs from "node:fs";
import { createHmac, randomUUID, timingSafeEqual } from "node:crypto";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Clock } from "../clock";
import { notFound } from "../errors";
import type { Faults } from "../faults";
import type { ModelCatalogue } from "../models";
import type { EmulatorOptions } from "../options";
import { isFinal, type ObservedSettings, type Processor } from "../processor";
import type { FileRecord, JobRecord, Store } from "../store";
import { forEachLineSync, type FilePurpose, type FileVisibility } from "pulumi-mistral-batch/api";
import { uuidParam } from "./params";

/** What `startEmulator` builds before the routes: the emulator's parts and its resolved options. */
export interface ContextDeps {
  store: Store;
  clock: Clock;
  processor: Processor;
  models: ModelCatalogue;
  faults: Faults;
  options: EmulatorOptions;
  limits: { maxFileBytes: number; maxRequestsPerJob: number; maxPendingRequests: number };
  /** The observed profile's settings; null in the spec profile. */
  observed: ObservedSettings | null;
}

/** The shared context of the route modules. */
export type EmulatorContext = ContextDeps & ReturnType<typeof helpers> & { app: FastifyInstance };

export function createContext(app: FastifyInstance, deps: ContextDeps): EmulatorContext {
  return { ...deps, ...helpers(app, deps), app };
}

/** The helpers the routes share, closed over the emulator's parts (destructure them freely). */
function helpers(app: FastifyInstance, { store, clock, processor }: ContextDeps) {
  const signingKey = randomUUID();

  /** The job id the seed route asked for, when this request is the seed route's own (signed) job creation. */
  function seededJobId(request: FastifyRequest): string | null {
    const id = request.headers["x-emulator-seed-job-id"];
    const sig = request.headers["x-emulator-seed-signature"];
    if (typeof id !== "string" || typeof sig !== "string") return null;
    const expected = sign(`seed-job.${id}`);
    return sig.length === expected.length && timingSafeEqual(Buffer.from(sig), Buffer.from(expected)) ? id : null;
  }

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
      const lines: Record<string, unknown>[] = [];
      for (const id of [job.output_file, job.error_file]) {
        if (id && store.files.has(id))
          forEachLineSync(store.blobPath(id), ({ text }) => void lines.push(JSON.parse(text)));
      }
      outputs = lines;
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

  return { seededJobId, uploadRecord, baseUrl, jobView, sign, liveFiles, liveFile, getFile, getJob, sendContent };
}
