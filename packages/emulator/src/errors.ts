/** The errors the emulator's routes throw, with Mistral-shaped bodies (the shapes: `provider/api/errors.ts`). */
import { errorBody, type ValidationDetail } from "pulumi-mistral-batch/api";

/** An error the routes throw; the server's error handler turns it into the response. */
export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly body: Record<string, unknown>,
    readonly headers: Record<string, string> = {},
  ) {
    super(typeof body.message === "string" ? body.message : JSON.stringify(body));
  }
}

/** The generic error body: `{object:"error", message, type, param, code}`. */
export function apiError(
  statusCode: number,
  message: string,
  type = "invalid_request_error",
  extra: { param?: string | null; code?: string | null; headers?: Record<string, string> } = {},
): ApiError {
  return new ApiError(statusCode, { ...errorBody(message, type, extra) }, extra.headers);
}

/** A 422 with FastAPI/pydantic `detail` items. */
export function validationError(detail: ValidationDetail[]): ApiError {
  return new ApiError(422, { detail });
}

export function notFound(what: string, id: string): ApiError {
  return apiError(404, `${what} ${id} not found`, "invalid_request_error", { code: "not_found" });
}

export function valueError(loc: (string | number)[], msg: string, input: unknown): ApiError {
  return validationError([{ type: "value_error", loc, msg: `Value error, ${msg}`, input, ctx: { error: msg } }]);
}
