/**
 * Models as the models API describes them (`GET /v1/models`, `ModelList` of the spec): each card has an `id`,
 * `aliases` and `capabilities` flags. Which flag says a model serves a batch endpoint is this project's reading of
 * the spec (the spec does not map endpoints to capabilities; embeddings have no flag at all).
 */
import type { ApiEndpoint } from "./endpoints";

/** The capability flags of the spec's `ModelCapabilities`, as the API returns them (snake_case). */
export const MODEL_CAPABILITIES = Object.freeze([
  "completion_chat",
  "function_calling",
  "reasoning",
  "completion_fim",
  "fine_tuning",
  "vision",
  "ocr",
  "classification",
  "moderation",
  "audio",
  "audio_transcription",
] as const);
export type ModelCapability = (typeof MODEL_CAPABILITIES)[number];

/**
 * The capability a model needs to serve each batch endpoint; `null` where the spec has no flag (embeddings): then
 * only the model's existence can be checked.
 */
export const ENDPOINT_CAPABILITY: Readonly<Record<ApiEndpoint, ModelCapability | null>> = Object.freeze({
  "/v1/chat/completions": "completion_chat",
  "/v1/embeddings": null,
  "/v1/fim/completions": "completion_fim",
  "/v1/moderations": "moderation",
  "/v1/chat/moderations": "moderation",
  "/v1/ocr": "ocr",
  "/v1/classifications": "classification",
  "/v1/chat/classifications": "classification",
  "/v1/conversations": "completion_chat",
  "/v1/audio/transcriptions": "audio_transcription",
});
