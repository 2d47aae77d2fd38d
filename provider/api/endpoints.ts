/**
 * The endpoints a batch job may target: `ApiEndpoint` in Mistral's OpenAPI spec (and the SDK's enum), in the
 * spec's order. One model per job; every request of a job goes to its one endpoint.
 */

/** Endpoints a batch job may target, in the spec's order. */
export const API_ENDPOINTS = Object.freeze([
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
] as const);
export type ApiEndpoint = (typeof API_ENDPOINTS)[number];

export function isApiEndpoint(value: unknown): value is ApiEndpoint {
  return typeof value === "string" && (API_ENDPOINTS as readonly string[]).includes(value);
}
