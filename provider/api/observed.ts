/**
 * What the real service is observed to do where its OpenAPI spec is silent or says otherwise. Each fact names its
 * evidence; where no public evidence exists it says so and gives the reading this project plans for (the stricter).
 * The emulator's "observed" profile behaves this way; the provider copes with it.
 */
import { errorBody, type ErrorBody } from "./errors";

/**
 * Requests pending (queued or running) in one workspace: 1,000,000 (batch FAQ, in the project's seed documents).
 * A job that would take a workspace above it is refused.
 */
export const MAX_PENDING_REQUESTS_PER_WORKSPACE = 1_000_000;

/**
 * Hours a finished job's result files stay downloadable: 24 (known-limitations page; the batch page says results
 * do not expire: the stricter reading). After that, `GET /v1/files/{id}/content` of a result file answers 404.
 */
export const RESULT_RETENTION_HOURS = 24;

/** Days an uploaded input file is kept: 30 (known-limitations page). */
export const UPLOAD_RETENTION_DAYS = 30;

/** The two 401 bodies seen in the wild: FastAPI's `{"detail": ...}`, and the gateway's `{message, request_id}`. */
export const UNAUTHORIZED_BODIES = Object.freeze({
  detail: Object.freeze({ detail: "Unauthorized" }),
  gateway: (requestId: string) => ({ message: "Unauthorized", request_id: requestId }),
});

/** A generic error body with the `raw_status_code` the service sometimes adds. */
export type ObservedErrorBody = ErrorBody & { raw_status_code?: number };

/** The 400 of an unknown model, as observed: `code` "1500", with `raw_status_code`. */
export function invalidModelError(model: string): ObservedErrorBody {
  return {
    object: "error",
    message: `Invalid model: ${model}`,
    type: "invalid_model",
    param: null,
    code: "1500",
    raw_status_code: 400,
  };
}

/**
 * The 404 of `GET /v1/models/{model_id}` for an id the workspace cannot use. The spec declares no 404 and no public
 * sample exists: the generic error body, `code` "not_found" as the emulator's other not-found answers.
 */
export function modelNotFoundError(modelId: string): ErrorBody {
  return errorBody(`Model ${modelId} not found`, "invalid_request_error", { param: "model_id", code: "not_found" });
}

/**
 * The rate-limit headers Mistral sends (mistralai/client-ts#169, a curl dump of api.mistral.ai), with no public
 * evidence of `Retry-After` on a 429. The `-minute` window; a monthly window uses `-month`.
 */
export const RATE_LIMIT_HEADERS = Object.freeze({
  limitTokens: "x-ratelimit-limit-tokens-minute",
  remainingTokens: "x-ratelimit-remaining-tokens-minute",
  queryCost: "x-ratelimit-tokens-query-cost",
  limitRequests: "x-ratelimit-limit-req-minute",
  remainingRequests: "x-ratelimit-remaining-req-minute",
});

/**
 * The message of the refusal of a job that would exceed the workspace's pending requests. No public sample exists:
 * the emulator answers 429 with this message (type "rate_limited"); the provider recognises the status with
 * "pending" in the message and says what to do. `limit` defaults to the documented one (an emulator may be
 * configured with a smaller one).
 */
export const PENDING_LIMIT_MESSAGE = (
  pending: number,
  requested: number,
  limit: number = MAX_PENDING_REQUESTS_PER_WORKSPACE,
) => `Too many pending batch requests: ${pending} pending in the workspace, ${requested} requested, limit ${limit}`;
