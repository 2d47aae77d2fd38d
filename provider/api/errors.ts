/**
 * The shapes of Mistral's error bodies: the generic `{object: "error", message, type, param, code}`, and the 422
 * body of FastAPI/pydantic, `{detail: [{type, loc, msg, input, ctx?}]}` (spec; reported to differ at times).
 */

/** The generic error body. */
export interface ErrorBody {
  object: "error";
  message: string;
  /** e.g. "invalid_request_error", "rate_limited", "internal_server_error". */
  type: string;
  param: string | null;
  code: string | null;
}

/** A generic error body, fields in Mistral's order. */
export function errorBody(
  message: string,
  type = "invalid_request_error",
  extra: { param?: string | null; code?: string | null } = {},
): ErrorBody {
  return { object: "error", message, type, param: extra.param ?? null, code: extra.code ?? null };
}

/** A real 429 body (seen from Mistral), sent with `Retry-After`. */
export const RATE_LIMIT_ERROR: Readonly<ErrorBody> = Object.freeze(
  errorBody("Rate limit exceeded", "rate_limited", { code: "1300" }),
);

/** One item of a 422 body (pydantic v2 `ValidationError.errors()` without `url`). */
export interface ValidationDetail {
  type: string;
  /** Where: e.g. ["body", "timeout_hours"], ["query", "status", 0]. */
  loc: (string | number)[];
  msg: string;
  input: unknown;
  ctx?: Record<string, unknown>;
}

/** The 422 body. */
export interface ValidationErrorBody {
  detail: ValidationDetail[];
}
