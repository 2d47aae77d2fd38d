/**
 * Types shared across the emulator's modules. Wire shapes follow Mistral's OpenAPI spec
 * (`../shared/mistral/openapi.yaml`): snake_case, unix seconds.
 */

/** Endpoints a batch job may target (`ApiEndpoint` in the spec). */
export const API_ENDPOINTS = [
  "/v1/chat/completions",
  "/v1/embeddings",
  "/v1/fim/completions",
  "/v1/moderations",
  "/v1/chat/moderations",
  "/v1/ocr",
  "/v1/classifications",
  "/v1/chat/classifications",
  "/v1/conversations",
  "/v1/audio/transcriptions",
] as const;
export type ApiEndpoint = (typeof API_ENDPOINTS)[number];

export const BATCH_JOB_STATUSES = [
  "QUEUED",
  "RUNNING",
  "SUCCESS",
  "FAILED",
  "TIMEOUT_EXCEEDED",
  "CANCELLATION_REQUESTED",
  "CANCELLED",
] as const;
export type BatchJobStatus = (typeof BATCH_JOB_STATUSES)[number];
export const TERMINAL_STATUSES: ReadonlySet<BatchJobStatus> = new Set([
  "SUCCESS",
  "FAILED",
  "TIMEOUT_EXCEEDED",
  "CANCELLED",
]);

export const FILE_PURPOSES = ["fine-tune", "batch", "ocr"] as const;
export type FilePurpose = (typeof FILE_PURPOSES)[number];
export const SAMPLE_TYPES = ["pretrain", "instruct", "batch_request", "batch_result", "batch_error"] as const;
export type SampleType = (typeof SAMPLE_TYPES)[number];
export const SOURCES = ["upload", "repository", "mistral"] as const;
export type Source = (typeof SOURCES)[number];

/** One request of a batch: a line of an input file, or an item of inline `requests`. */
export interface BatchRequestItem {
  custom_id?: string | null;
  body: Record<string, unknown>;
}

/** What a fake model answers for one request: the `response` part of a result line, or an error. */
export type ModelAnswer =
  | { ok: true; status_code: 200; body: Record<string, unknown> }
  | { ok: false; status_code: number; message: string };
