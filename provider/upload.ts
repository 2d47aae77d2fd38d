/**
 * Content-addressed, streaming upload of a batch input file.
 *
 * The SDK's `files.upload` reads the whole file into memory (twice over: ~2.4x the file size, see bench/), so the
 * upload itself is one multipart POST whose file part streams from disk (see postFile). Its answer is parsed
 * with the SDK's own response schema. Every other call goes through the SDK.
 *
 * The uploaded name carries the content's SHA-256 (`<stem>-<sha256 prefix>.jsonl`), so an upload of the same
 * content is found again: after a lost response, an interrupted `pulumi up`, or on a second stack.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import FormData from "form-data";
import * as path from "node:path";
import { Transform } from "node:stream";
import {
  MistralApiError,
  ServerUnreachableError,
  backoffMs,
  call,
  isAmbiguous,
  isRetryable,
  lastPage,
  sleep,
  statusOf,
  unreachableCode,
  wrapError,
} from "./client";
import { report } from "./log";
import type { ProviderContext } from "./context";
import type { Settings } from "./settings";

export interface UploadedFile {
  id: string;
  filename: string;
  bytes: number;
  numLines: number | null;
  createdAt: number;
  purpose: string;
}

/** The name under which content is uploaded: the stem the user knows, then the content hash. */
export function contentFilename(stem: string, sha256: string): string {
  const clean =
    stem
      .replace(/\.jsonl$/i, "")
      .replace(/[^A-Za-z0-9._-]+/g, "_")
      .slice(0, 80) || "batch";
  return `${clean}-${sha256.slice(0, 16)}.jsonl`;
}

/** Pages of `files.list` looked through for an earlier upload before uploading anyway (see `findUpload`). */
export const MAX_UPLOAD_LOOKUP_PAGES = 50;
const UPLOAD_LOOKUP_PAGE_SIZE = 100;

/**
 * Finds a file of the workspace with this name and size: an earlier upload of the same content.
 *
 * It searches for the full name (`contentFilename`), which a search by substring and a search by exact name both
 * match, and checks every field here (the server's search may be looser). A page shorter than the longest page the
 * server returned so far, an empty page, or `total` (when the server gives it) ends the list: the server may cap
 * `page_size` below what is asked. At most MAX_UPLOAD_LOOKUP_PAGES pages: past that the answer is "not found"
 * with a warning, as uploading the same content twice costs only storage (a job is never submitted twice, see
 * batchJob.ts `findSubmitted`).
 */
export async function findUpload(
  ctx: ProviderContext,
  filename: string,
  bytes: number,
  purpose: string,
  resource: string,
): Promise<UploadedFile | undefined> {
  const client = await ctx.client();
  let longest = 0;
  let seen = 0;
  for (let page = 0; page < MAX_UPLOAD_LOOKUP_PAGES; page++) {
    const list = await call(ctx, "files.list", resource, () =>
      client.files.list({
        page,
        pageSize: UPLOAD_LOOKUP_PAGE_SIZE,
        includeTotal: true,
        search: filename,
        purpose: purpose as "batch",
      }),
    );
    const data = list.data ?? [];
    const hit = data
      .filter((f) => f.filename === filename && f.sizeBytes === bytes && f.purpose === purpose && f.source === "upload")
      .sort((a, b) => b.createdAt - a.createdAt)[0];
    if (hit) {
      return {
        id: hit.id,
        filename: hit.filename,
        bytes: hit.sizeBytes,
        numLines: hit.numLines ?? null,
        createdAt: hit.createdAt,
        purpose: hit.purpose,
      };
    }
    seen += data.length;
    longest = Math.max(longest, data.length);
    if (lastPage(data.length, longest, seen, list.total)) return undefined;
  }
  report(
    ctx,
    `${resource}: looked through ${MAX_UPLOAD_LOOKUP_PAGES} pages of files matching ${filename} without reaching the end; uploading it again`,
  );
  return undefined;
}

export interface UploadRequest {
  /** A file on disk, or content in memory. */
  source: { path: string } | { content: Buffer };
  filename: string;
  bytes: number;
  purpose: string;
  /** For messages: e.g. `BatchFile "questions"`. */
  resource: string;
  /** Attempts for retryable failures. @default 6 */
  maxAttempts?: number;
  /**
   * SHA-256 the content must have (checked in `check`). It is hashed as it streams out; on a mismatch the upload
   * is deleted and the call fails, so what is uploaded is always what was checked, without reading it twice.
   */
  sha256?: string;
}

/** The content changed between `check` and the upload. */
export class ContentChangedError extends Error {
  override name = "ContentChangedError";
}

/**
 * Uploads unless the workspace already holds this content under this name; returns the file either way. The server
 * and the key are the context's.
 */
export async function uploadOnce(
  ctx: ProviderContext,
  req: UploadRequest,
): Promise<{ file: UploadedFile; adopted: boolean }> {
  const existing = await findUpload(ctx, req.filename, req.bytes, req.purpose, req.resource);
  if (existing) return { file: existing, adopted: true };
  const settings = ctx.settings();
  const attempts = req.maxAttempts ?? 6;
  for (let attempt = 1; ; attempt++) {
    try {
      const { file, sha256 } = await postFile(settings, req);
      if (req.sha256 && sha256 !== req.sha256) {
        const client = await ctx.client();
        await call(ctx, "files.delete", req.resource, () => client.files.delete({ fileId: file.id }));
        throw new ContentChangedError(
          `${req.resource}: the content changed after it was checked (sha256 ${req.sha256.slice(0, 12)}… then, ${sha256.slice(0, 12)}… as uploaded); ` +
            "the upload was deleted; run the update again",
        );
      }
      return { file, adopted: false };
    } catch (error) {
      if (error instanceof ContentChangedError) throw error;
      if (attempt >= attempts || !isRetryable(error)) {
        const wrapped = wrapError(ctx, error, "files.upload", req.resource);
        if (statusOf(error) === 413 && wrapped instanceof MistralApiError) {
          throw new MistralApiError(
            `${wrapped.message}. The file is ${req.bytes} bytes: split it into smaller files`,
            wrapped.operation,
            wrapped.resource,
            413,
            wrapped.mistralMessage,
            { cause: error },
          );
        }
        throw wrapped;
      }
      // After a failure that may have stored the file (lost answer, 5xx), look before sending it again.
      if (isAmbiguous(error)) {
        const found = await findUpload(ctx, req.filename, req.bytes, req.purpose, req.resource);
        if (found) return { file: found, adopted: true };
      }
      await sleep(backoffMs(error, attempt));
    }
  }
}

/** Read size of the file part: large reads cost fewer system calls and socket writes (bench/upload.ts). */
const UPLOAD_READ_BYTES = 1024 * 1024;

/**
 * One streaming multipart POST /v1/files over node:http(s): the file part is piped from disk with a known length
 * (`form-data`), so memory stays flat. (Node's fetch keeps a copy of the whole request body for redirects,
 * nodejs/undici#4058, so it is not used here.) Throws errors shaped like the SDK's (statusCode, body, headers).
 * Server and key are the context's settings (`uploadOnce`), as for the SDK's calls.
 */
async function postFile(settings: Settings, req: UploadRequest): Promise<{ file: UploadedFile; sha256: string }> {
  const form = new FormData();
  const filename = path.basename(req.filename);
  const hash = createHash("sha256");
  if ("path" in req.source) {
    const size = fs.statSync(req.source.path).size;
    if (size !== req.bytes) {
      throw new ContentChangedError(
        `${req.resource}: the content changed after it was checked (${req.bytes} bytes then, ${size} bytes now); nothing was uploaded; run the update again`,
      );
    }
    let read = 0;
    const hashing = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        hash.update(chunk);
        read += chunk.length;
        done(null, chunk);
      },
      flush(done) {
        // A file cut short since it was checked: fail instead of leaving the request waiting for the missing bytes.
        done(
          read === size
            ? null
            : new ContentChangedError(
                `${req.resource}: the content changed after it was checked (${size} bytes then, the file ended after ${read} bytes while uploading); the upload was abandoned; run the update again`,
              ),
        );
      },
    });
    // Exactly the checked size is read (`end` is inclusive), even if the file grew since: what is sent is hashed.
    const file = fs.createReadStream(req.source.path, {
      highWaterMark: UPLOAD_READ_BYTES,
      ...(size > 0 ? { end: size - 1 } : {}),
    });
    file.on("error", (error) => hashing.destroy(error));
    form.append("file", file.pipe(hashing), { filename, knownLength: size, contentType: "application/jsonl" });
  } else {
    hash.update(req.source.content);
    form.append("file", req.source.content, {
      filename,
      knownLength: req.source.content.length,
      contentType: "application/jsonl",
    });
  }
  form.append("purpose", req.purpose);
  const url = new URL(`${settings.serverUrl}/v1/files`);
  const send = url.protocol === "https:" ? https.request : http.request;
  const { status, headers, text } = await new Promise<{ status: number; headers: Headers; text: string }>(
    (resolve, reject) => {
      const request = send(url, {
        method: "POST",
        headers: {
          ...form.getHeaders(),
          "content-length": String(form.getLengthSync()),
          authorization: `Bearer ${settings.apiKey}`,
          accept: "application/json",
        },
        timeout: 30 * 60_000,
      });
      request.on("timeout", () => request.destroy(new Error("no answer within 30 minutes")));
      request.on("response", (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (c: Buffer) => chunks.push(c));
        response.on("error", reject);
        response.on("end", () => {
          const h = new Headers();
          for (const [k, v] of Object.entries(response.headers))
            if (v !== undefined) h.set(k, Array.isArray(v) ? v.join(", ") : v);
          resolve({ status: response.statusCode ?? 0, headers: h, text: Buffer.concat(chunks).toString("utf8") });
        });
      });
      request.on("error", (cause) => {
        // The file itself, not the connection, failed (cut short since the check): that is the error.
        if (cause instanceof ContentChangedError) {
          reject(cause);
          return;
        }
        const code = unreachableCode(cause);
        // Nothing listening (or no such host): nothing was sent, and retrying for minutes would not help.
        if (code !== undefined) {
          reject(
            new ServerUnreachableError(
              `upload of ${req.filename}: the Mistral server ${settings.serverUrl} (${settings.sources.serverUrl}) ${code === "ECONNREFUSED" ? "refused the connection" : `could not be reached (${code})`}. Check mistral:serverUrl (or MISTRAL_SERVER_URL), and that the server (or the emulator) is running`,
              settings.serverUrl,
              code,
              { cause },
            ),
          );
          return;
        }
        reject(
          Object.assign(
            new Error(`upload of ${req.filename} to ${settings.serverUrl} failed: ${cause.message}`, { cause }),
            { name: "ConnectionError" },
          ),
        );
      });
      form.on("error", (cause) => request.destroy(cause));
      form.pipe(request);
    },
  );
  if (status < 200 || status >= 300) {
    throw Object.assign(new Error(`HTTP ${status}`), { statusCode: status, body: text, headers });
  }
  const { CreateFileResponse$inboundSchema } = await import("@mistralai/mistralai/models/components");
  let parsed: ReturnType<typeof CreateFileResponse$inboundSchema.parse>;
  try {
    parsed = CreateFileResponse$inboundSchema.parse(JSON.parse(text));
  } catch (cause) {
    throw Object.assign(new Error(`unexpected answer to the upload: ${(cause as Error).message}`, { cause }), {
      statusCode: status,
      body: text,
    });
  }
  return {
    file: {
      id: parsed.id,
      filename: parsed.filename,
      bytes: parsed.sizeBytes,
      numLines: parsed.numLines ?? null,
      createdAt: parsed.createdAt,
      purpose: parsed.purpose,
    },
    sha256: hash.digest("hex"),
  };
}
