/**
 * Content-addressed, streaming upload of a batch input file.
 *
 * The SDK's `files.upload` reads the whole file into memory (twice over: ~2.4x the file size, see bench/), so the
 * upload itself is one multipart POST whose file part streams from disk (`fs.openAsBlob`, Node's FormData and
 * fetch). Its answer is parsed with the SDK's own response schema. Every other call goes through the SDK.
 *
 * The uploaded name carries the content's SHA-256 (`<stem>-<sha256 prefix>.jsonl`), so an upload of the same
 * content is found again: after a lost response, an interrupted `pulumi up`, or on a second stack.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { call, isAmbiguous, isRetryable, mistralClient, retryAfterMs, sleep, wrapError } from "./client";
import { currentSettings, type Settings } from "./settings";

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
  const clean = stem.replace(/\.jsonl$/i, "").replace(/[^A-Za-z0-9._-]+/g, "_").slice(0, 80) || "batch";
  return `${clean}-${sha256.slice(0, 16)}.jsonl`;
}

/** Finds a file of the workspace with this name and size: an earlier upload of the same content. */
export async function findUpload(filename: string, bytes: number, purpose: string, resource: string): Promise<UploadedFile | undefined> {
  const client = await mistralClient();
  const hash = filename.replace(/\.jsonl$/, "").split("-").pop() ?? filename;
  for (let page = 0; page < 20; page++) {
    const list = await call("files.list", resource, () =>
      client.files.list({ page, pageSize: 100, search: hash, purpose: purpose as "batch" }),
    );
    const hit = list.data
      .filter((f) => f.filename === filename && f.sizeBytes === bytes && f.purpose === purpose && f.source === "upload")
      .sort((a, b) => b.createdAt - a.createdAt)[0];
    if (hit) {
      return { id: hit.id, filename: hit.filename, bytes: hit.sizeBytes, numLines: hit.numLines ?? null, createdAt: hit.createdAt, purpose: hit.purpose };
    }
    if (list.data.length < 100) return undefined;
  }
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
}

/** Uploads unless the workspace already holds this content under this name; returns the file either way. */
export async function uploadOnce(req: UploadRequest): Promise<{ file: UploadedFile; adopted: boolean }> {
  const existing = await findUpload(req.filename, req.bytes, req.purpose, req.resource);
  if (existing) return { file: existing, adopted: true };
  const settings = currentSettings();
  const attempts = req.maxAttempts ?? 6;
  let delay = 500;
  for (let attempt = 1; ; attempt++) {
    try {
      return { file: await postFile(settings, req), adopted: false };
    } catch (error) {
      if (attempt >= attempts || !isRetryable(error)) throw wrapError(error, "files.upload", req.resource);
      // After a failure that may have stored the file (lost answer, 5xx), look before sending it again.
      if (isAmbiguous(error)) {
        const found = await findUpload(req.filename, req.bytes, req.purpose, req.resource);
        if (found) return { file: found, adopted: true };
      }
      await sleep(retryAfterMs(error) ?? delay);
      delay = Math.min(delay * 2, 30_000);
    }
  }
}

/** One streaming multipart POST /v1/files. Throws errors shaped like the SDK's (statusCode, body, headers). */
async function postFile(settings: Settings, req: UploadRequest): Promise<UploadedFile> {
  const blob = "path" in req.source ? await fs.openAsBlob(req.source.path) : new Blob([req.source.content]);
  if (blob.size !== req.bytes) {
    throw new Error(`${req.resource}: ${"path" in req.source ? req.source.path : "content"} is ${blob.size} bytes now, ${req.bytes} when checked: it changed during the update; run it again`);
  }
  const form = new FormData();
  form.append("file", blob, path.basename(req.filename));
  form.append("purpose", req.purpose);
  let response: Response;
  try {
    response = await fetch(`${settings.serverUrl}/v1/files`, {
      method: "POST",
      headers: { authorization: `Bearer ${settings.apiKey}`, accept: "application/json" },
      body: form,
      signal: AbortSignal.timeout(30 * 60_000),
    });
  } catch (cause) {
    throw Object.assign(new Error(`upload of ${req.filename} to ${settings.serverUrl} failed: ${(cause as Error).message}`, { cause }), {
      name: "ConnectionError",
    });
  }
  const text = await response.text();
  if (!response.ok) {
    throw Object.assign(new Error(`HTTP ${response.status}`), { statusCode: response.status, body: text, headers: response.headers });
  }
  const { CreateFileResponse$inboundSchema } = await import("@mistralai/mistralai/models/components");
  let parsed;
  try {
    parsed = CreateFileResponse$inboundSchema.parse(JSON.parse(text));
  } catch (cause) {
    throw Object.assign(new Error(`unexpected answer to the upload: ${(cause as Error).message}`, { cause }), { statusCode: response.status, body: text });
  }
  return {
    id: parsed.id,
    filename: parsed.filename,
    bytes: parsed.sizeBytes,
    numLines: parsed.numLines ?? null,
    createdAt: parsed.createdAt,
    purpose: parsed.purpose,
  };
}
