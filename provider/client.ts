/**
 * The official Mistral SDK, configured for the provider: created inside provider methods (never captured in
 * serialized code; `ProviderContext.client()` makes one per context), retries where a retry is safe, and errors
 * that keep their cause, name the operation and the resource, and never contain the key of the context given.
 */
import type { Mistral } from "@mistralai/mistralai" with { "resolution-mode": "import" };
import type { RetryConfig } from "@mistralai/mistralai/lib/retries.js" with { "resolution-mode": "import" };
import type { Settings } from "./settings";

/** What removes the API key from text: a `ProviderContext`. */
export interface Redactor {
  redact(text: string): string;
}

/** Retries for calls that are safe to repeat (reads, cancel, delete): 429 with Retry-After, 5xx, lost connections. */
export const SAFE_RETRIES: RetryConfig = {
  strategy: "backoff",
  backoff: { initialInterval: 500, maxInterval: 30_000, exponent: 1.5, maxElapsedTime: 120_000 },
  retryConnectionErrors: true,
};
/** Calls that create something are never retried blindly: the caller checks what took effect first. */
export const NO_RETRIES: RetryConfig = { strategy: "none" };

/** A new SDK client for these settings. */
export async function mistralClient(settings: Settings): Promise<Mistral> {
  const { Mistral } = await import("@mistralai/mistralai");
  return new Mistral({
    apiKey: settings.apiKey,
    serverURL: settings.serverUrl,
    retryConfig: SAFE_RETRIES,
    timeoutMs: 120_000,
  });
}

/** An error of a Mistral API call, naming the operation and the resource, with Mistral's own message. */
export class MistralApiError extends Error {
  override name = "MistralApiError";
  constructor(
    message: string,
    readonly operation: string,
    readonly resource: string,
    readonly statusCode: number | undefined,
    readonly mistralMessage: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The HTTP status of an SDK error, if it has one. */
export function statusOf(error: unknown): number | undefined {
  const s = (error as { statusCode?: unknown })?.statusCode;
  return typeof s === "number" ? s : undefined;
}

export function isNotFound(error: unknown): boolean {
  return statusOf(error) === 404 || (error instanceof MistralApiError && error.statusCode === 404);
}

/** True for failures after which a create may or may not have taken effect (lost connection, timeout, 5xx). */
export function isAmbiguous(error: unknown): boolean {
  const status = statusOf(error);
  if (status !== undefined) return status >= 500;
  // A wrapped failure without a status (lost connection, timeout) is classified by what it wraps.
  if (error instanceof MistralApiError) return isAmbiguous(error.cause);
  const name = (error as { name?: string })?.name ?? "";
  return [
    "ConnectionError",
    "RequestTimeoutError",
    "RequestAbortedError",
    "UnexpectedClientError",
    "AbortError",
  ].includes(name);
}

/** True for failures where nothing took effect and a retry is due (429, 503 before handling). */
export function isRetryable(error: unknown): boolean {
  const status = statusOf(error);
  return status === 429 || status === 502 || status === 503 || status === 504 || isAmbiguous(error);
}

/** Mistral's message out of an error body: `{message}`, `{detail: string}` or `{detail: [{loc, msg}]}`. */
export function mistralMessageOf(error: unknown): string | undefined {
  const body = (error as { body?: unknown })?.body;
  if (typeof body !== "string" || body === "") return undefined;
  try {
    const parsed = JSON.parse(body) as { message?: unknown; detail?: unknown };
    if (typeof parsed.message === "string") return parsed.message;
    if (typeof parsed.detail === "string") return parsed.detail;
    if (Array.isArray(parsed.detail)) {
      return parsed.detail
        .map(
          (d: { loc?: unknown[]; msg?: string }) =>
            `${Array.isArray(d.loc) && d.loc.length ? `${d.loc.join(".")}: ` : ""}${d.msg ?? JSON.stringify(d)}`,
        )
        .join("; ");
    }
  } catch {
    // not JSON: fall through to the raw text
  }
  return body.slice(0, 500);
}

/** Wraps any failure of `fn` into a `MistralApiError` naming the operation and the resource. */
export async function call<T>(ctx: Redactor, operation: string, resource: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    throw wrapError(ctx, error, operation, resource);
  }
}

/** The failure of a Mistral API call as a `MistralApiError`, with `ctx`'s key redacted from its texts. */
export function wrapError(ctx: Redactor, error: unknown, operation: string, resource: string): Error {
  if (error instanceof MistralApiError) return error;
  const status = statusOf(error);
  const mistralMessage = mistralMessageOf(error);
  let message = `${resource}: Mistral API call ${operation} failed`;
  if (status !== undefined) message += ` with HTTP ${status}`;
  if (mistralMessage) message += `: ${mistralMessage}`;
  else if (error instanceof Error)
    message += `: ${error.message}${error.cause instanceof Error ? ` (${error.cause.message})` : ""}`;
  if (status === 401) {
    message +=
      ". The API key was rejected: check `pulumi config set --secret mistral:apiKey <key>` or MISTRAL_API_KEY, and mistral:serverUrl.";
  }
  return new MistralApiError(
    ctx.redact(message),
    operation,
    resource,
    status,
    mistralMessage && ctx.redact(mistralMessage),
    { cause: error },
  );
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Milliseconds a 429/503 asks us to wait (`Retry-After` in seconds), or undefined. */
export function retryAfterMs(error: unknown): number | undefined {
  const headers = (error as { headers?: Headers })?.headers;
  const value = headers && typeof headers.get === "function" ? headers.get("retry-after") : null;
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}
