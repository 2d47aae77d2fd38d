/**
 * Answers one request of a batch: picks the endpoint's answer maker, checks the model serves the endpoint,
 * applies the model's deterministic `failureRate`, and seeds the answer from the request.
 */
import { API_ENDPOINTS, type ApiEndpoint } from "pulumi-mistral-batch/api";
import type { ModelAnswer } from "../../types";
import type { ModelSpec } from "../catalogue";
import { unitHash } from "../hashing";
import { chatCompletion, fimCompletion } from "./chat";
import type { Handler } from "./common";
import { conversation, transcription } from "./conversations";
import { embeddings } from "./embeddings";
import { chatClassifications, chatModerations, classifications, moderations } from "./moderation";
import { ocr } from "./ocr";
import { describe, fail, isFail, isObject } from "./parse";

const HANDLERS: Record<ApiEndpoint, Handler> = {
  "/v1/chat/completions": chatCompletion,
  "/v1/embeddings": embeddings,
  "/v1/fim/completions": fimCompletion,
  "/v1/moderations": moderations,
  "/v1/chat/moderations": chatModerations,
  "/v1/ocr": ocr,
  "/v1/classifications": classifications,
  "/v1/chat/classifications": chatClassifications,
  "/v1/conversations": conversation,
  "/v1/audio/transcriptions": transcription,
};

/**
 * Answers one request of a batch. Pure and deterministic: the same (model, endpoint, body, customId — or
 * requestIndex when there is no customId) gives the same answer; `created` comes from `nowSeconds`.
 * Invalid bodies give 422 (400 for semantic problems), an endpoint the model does not serve gives 400, and
 * `model.failureRate` makes a deterministic fraction of valid requests fail with 500 (on the first
 * `model.failureAttempts` attempts of a request only, when set: `opts.attempt` counts from 0).
 */
export function answerRequest(
  model: ModelSpec,
  endpoint: ApiEndpoint,
  body: Record<string, unknown>,
  opts: { customId?: string | null; nowSeconds: number; requestIndex: number; attempt?: number },
): ModelAnswer {
  const handler = Object.hasOwn(HANDLERS, endpoint) ? HANDLERS[endpoint] : undefined;
  if (!handler) return fail(400, `Unknown endpoint '${endpoint}'. Allowed endpoints: ${API_ENDPOINTS.join(", ")}`);
  if (!model.endpoints.includes(endpoint)) {
    return fail(
      400,
      `Endpoint ${endpoint} is not supported by model ${model.id} (it serves ${model.endpoints.join(", ") || "no endpoint"})`,
    );
  }
  if (!isObject(body)) return fail(422, `body: must be a JSON object (got ${describe(body)})`);
  const produce = handler(body, model);
  if (isFail(produce)) return produce;

  const requestKey =
    opts.customId !== undefined && opts.customId !== null ? `c:${opts.customId}` : `i:${opts.requestIndex}`;
  const failureRate = model.failureRate ?? 0;
  const failing = model.failureAttempts === undefined || (opts.attempt ?? 0) < model.failureAttempts;
  if (failing && failureRate > 0 && unitHash(`${model.id}\u0000failure\u0000${requestKey}`) < failureRate) {
    return fail(
      500,
      `Internal server error while running ${model.id} on request ${requestKey.slice(2)} (emulated failure)`,
    );
  }
  let bodyText: string;
  try {
    bodyText = JSON.stringify(body);
  } catch {
    return fail(422, "body: must be JSON-serialisable");
  }
  const seed = `${model.id}\u0000${endpoint}\u0000${requestKey}\u0000${bodyText}`;
  return { ok: true, status_code: 200, body: produce({ model, endpoint, nowSeconds: opts.nowSeconds, seed }) };
}
