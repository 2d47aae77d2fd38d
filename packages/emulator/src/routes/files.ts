/**
 * The Files API: upload (multipart, streamed to disk while counting bytes, lines and a hash), list with
 * filters, get, delete (refused while a running job reads the file) and download.
 */
import * as fs from "node:fs";
import { createHash, randomUUID } from "node:crypto";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { FastifyInstance } from "fastify";
import { apiError, validationError } from "../errors";
import { isFinal } from "../processor";
import {
  DEFAULT_FILE_VISIBILITY,
  DEFAULT_PAGE_SIZE,
  FILE_PURPOSES,
  FILE_VISIBILITIES,
  LineCounter,
  SAMPLE_TYPES,
  SOURCES,
  type FilePurpose,
  type FileVisibility,
} from "pulumi-mistral-batch/api";
import type { EmulatorContext } from "./context";
import { boolParam, choices, enumList, intParam, list, single } from "./params";
import { fileView } from "./views";

export function registerFileRoutes(app: FastifyInstance, ctx: EmulatorContext): void {
  const { store, clock, uploadRecord, liveFiles, getFile, sendContent, observed } = ctx;

  app.post("/v1/files", async (request) => {
    if (!request.isMultipart()) {
      throw validationError([{ type: "missing", loc: ["body", "file"], msg: "Field required", input: null }]);
    }
    const fields: Record<string, string> = {};
    let upload: {
      tmp: string;
      filename: string;
      mimetype: string;
      bytes: number;
      lines: number;
      sha256: string;
    } | null = null;
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
    if (!upload)
      throw validationError([{ type: "missing", loc: ["body", "file"], msg: "Field required", input: null }]);
    const uploadTmp = upload.tmp;
    const fail = (detail: Parameters<typeof validationError>[0]) => {
      fs.rmSync(store.tmpPath(uploadTmp), { force: true });
      return validationError(detail);
    };
    const purpose = (fields.purpose ?? "fine-tune") as FilePurpose;
    if (!FILE_PURPOSES.includes(purpose)) {
      const expected = choices(FILE_PURPOSES);
      throw fail([
        {
          type: "enum",
          loc: ["body", "purpose"],
          msg: `Input should be ${expected}`,
          input: fields.purpose,
          ctx: { expected },
        },
      ]);
    }
    const visibility = (fields.visibility ?? DEFAULT_FILE_VISIBILITY) as FileVisibility;
    if (!FILE_VISIBILITIES.includes(visibility)) {
      const expected = choices(FILE_VISIBILITIES);
      throw fail([
        {
          type: "enum",
          loc: ["body", "visibility"],
          msg: `Input should be ${expected}`,
          input: visibility,
          ctx: { expected },
        },
      ]);
    }
    let expiresAt: number | null = null;
    if (fields.expiry !== undefined && fields.expiry !== "" && fields.expiry !== "null") {
      // pydantic parses an integer from decimal digits only: no "1.5", "0x10" or "1e3"
      const hours = /^\s*[+-]?\d+\s*$/.test(fields.expiry) ? Number(fields.expiry) : NaN;
      if (!Number.isSafeInteger(hours)) {
        throw fail([
          {
            type: "int_parsing",
            loc: ["body", "expiry"],
            msg: "Input should be a valid integer, unable to parse string as an integer",
            input: fields.expiry,
          },
        ]);
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
      // Observed profile: exact filenames only; spec profile: a case-insensitive substring of the name, or the id.
      .filter((f) =>
        !search
          ? true
          : observed
            ? f.filename === search
            : f.filename.toLowerCase().includes(search.toLowerCase()) || f.id === search,
      )
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
      if (!isFinal(job) && job.input_files.includes(file.id)) {
        throw apiError(
          409,
          `File ${file.id} is an input of batch job ${job.id} (status ${job.status}); cancel the job or wait until it ends before deleting the file`,
        );
      }
    }
    store.deleteFile(file.id);
    return { id: file.id, object: "file", deleted: true };
  });

  app.get("/v1/files/:file_id/content", async (request, reply) => sendContent(getFile(request), reply));
}
