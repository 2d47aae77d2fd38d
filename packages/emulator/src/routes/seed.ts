/**
 * `POST /__emulator/seed`: seeds a file with a given id and content and/or a batch job with a given id, the
 * job created through `POST /v1/batch/jobs` itself (a signed internal request, exempt from faults).
 */
import * as fs from "node:fs";
import { createHash } from "node:crypto";
import type { FastifyInstance } from "fastify";
import { apiError } from "../errors";
import type { FileRecord } from "../store";
import { DEFAULT_FILE_VISIBILITY, FILE_PURPOSES, LineCounter, type FilePurpose } from "pulumi-mistral-batch/api";
import type { EmulatorContext } from "./context";
import { fileView } from "./views";

export function registerSeedRoute(app: FastifyInstance, ctx: EmulatorContext): void {
  const { store, sign, uploadRecord } = ctx;

  // Seeds the world a document or a test assumes: a file with a given id and content, and optionally a batch job
  // with a given id, created through POST /v1/batch/jobs itself (same checks, same processing). Body:
  //   { "file": { "id", "filename", "purpose"?: "batch", "content", "encoding"?: "utf8" | "base64" },
  //     "job": { "id", ...the body of POST /v1/batch/jobs } }   (either or both; the job's input_files default
  //   to the seeded file). Answers { file, job } as the API shows them; nothing is kept when any part fails.
  app.post("/__emulator/seed", async (request, reply) => {
    const body = request.body as Record<string, unknown> | undefined;
    const bad = (status: number, message: string, param: string | null = null) =>
      apiError(status, `seed: ${message}`, "invalid_request_error", { param });
    if (
      !body ||
      typeof body !== "object" ||
      Array.isArray(body) ||
      (body.file === undefined && body.job === undefined)
    ) {
      throw bad(
        400,
        'expected a JSON object with "file" and/or "job", e.g. {"file":{"id":"<uuid>","filename":"in.jsonl","purpose":"batch","content":"..."}}',
      );
    }
    const known = (obj: Record<string, unknown>, what: string, keys: string[]) => {
      for (const k of Object.keys(obj))
        if (!keys.includes(k))
          throw bad(400, `unknown field ${what}.${k}; fields are ${keys.join(", ")}`, `${what}.${k}`);
    };
    known(body, "body", ["file", "job"]);
    const object = (v: unknown, what: string): Record<string, unknown> => {
      if (!v || typeof v !== "object" || Array.isArray(v))
        throw bad(400, `${what} must be a JSON object, received ${JSON.stringify(v)}`, what);
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
      if (typeof f.filename !== "string" || f.filename === "")
        throw bad(
          400,
          `file.filename must be a non-empty string, received ${JSON.stringify(f.filename)}`,
          "file.filename",
        );
      const purpose = (f.purpose ?? "batch") as FilePurpose;
      if (!FILE_PURPOSES.includes(purpose))
        throw bad(
          400,
          `file.purpose must be one of ${FILE_PURPOSES.join(", ")}, received ${JSON.stringify(f.purpose)}`,
          "file.purpose",
        );
      const encoding = f.encoding ?? "utf8";
      if (encoding !== "utf8" && encoding !== "base64")
        throw bad(400, `file.encoding must be utf8 or base64, received ${JSON.stringify(f.encoding)}`, "file.encoding");
      if (typeof f.content !== "string")
        throw bad(400, `file.content must be a string, received ${JSON.stringify(f.content)}`, "file.content");
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
    if (jobId === null || jobBody === null) {
      if (!file) throw new Error("seed: neither a file nor a job to create (the body check above requires one)");
      return { file: fileView(file), job: null };
    }
    if (file && jobBody.input_files === undefined && jobBody.requests === undefined) jobBody.input_files = [file.id];
    const headers: Record<string, string> = {
      "x-emulator-seed-job-id": jobId,
      "x-emulator-seed-signature": sign(`seed-job.${jobId}`),
    };
    if (request.headers.authorization) headers.authorization = request.headers.authorization;
    const created = await app.inject({ method: "POST", url: "/v1/batch/jobs", payload: jobBody, headers });
    if (created.statusCode !== 200) {
      if (file) store.deleteFile(file.id);
      return reply.code(created.statusCode).send(created.json());
    }
    return { file: file && fileView(file), job: created.json() };
  });
}
