/**
 * The official Mistral SDK, configured for the provider: created inside provider methods (never captured in
 * serialized code; `ProviderContext.client()` makes one per context), retries where a retry is safe, and errors
 * that keep their cause, name the operation and the resource, and never contain the key of the context given.
 */
import type { Mistral } from "@mistralai/mistralai" with { "resolution-mode": "import" };
import type { MistralCore } from "@mistralai/mistralai/core.js" with { "resolution-mode": "import" };
import type { modelsList } from "@mistralai/mistralai/funcs/modelsList.js" with { "resolution-mode": "import" };
import type { SDKOptions } from "@mistralai/mistralai/lib/config.js" with { "resolution-mode": "import" };
import type { RetryConfig } from "@mistralai/mistralai/lib/retries.js" with { "resolution-mode": "import" };
import { MAX_PENDING_REQUESTS_PER_WORKSPACE, RATE_LIMIT_HEADERS } from "./api/observed";
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

/** How long a refused connection (nothing listening, unknown host) is retried before the call fails. */
export const REFUSED_BUDGET_MS = Object.freeze({
  /** Before the server ever answered: most likely a wrong `mistral:serverUrl` or an emulator not started. */
  firstContact: 3_000,
  /** After it answered once: a restart or failover mid-run. */
  afterContact: 15_000,
});

/** The error codes of a connection that never reached a server: nothing was sent, so nothing took effect. */
const UNREACHABLE_CODES = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH"]);

/** Mistral's server could not be reached at all; nothing was sent. Not a network drop mid-request. */
export class ServerUnreachableError extends Error {
  override name = "ServerUnreachableError";
  constructor(
    message: string,
    readonly serverUrl: string,
    readonly code: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The `code` of a refused or unresolvable connection anywhere in `error`'s causes (fetch nests them), or undefined. */
export function unreachableCode(error: unknown): string | undefined {
  for (let e = error, depth = 0; e && typeof e === "object" && depth < 8; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && UNREACHABLE_CODES.has(code)) return code;
    // Happy eyeballs: an AggregateError of one refusal per address.
    const inner = (e as { errors?: unknown }).errors;
    if (Array.isArray(inner) && inner.length && inner.every((x) => unreachableCode(x) !== undefined)) {
      return unreachableCode(inner[0]);
    }
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** The `ServerUnreachableError` in `error`'s causes, if any. */
export function unreachableOf(error: unknown): ServerUnreachableError | undefined {
  for (let e = error, depth = 0; e && typeof e === "object" && depth < 8; depth++) {
    if (e instanceof ServerUnreachableError) return e;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Marks the `Retry-After` the fetcher adds to a 429 that came without one (see `guardedFetcher`). */
export const SYNTHETIC_RETRY_AFTER_HEADER = "x-pulumi-mistral-retry-after";

/** Seconds to wait after the n-th 429 in a row that gave no `Retry-After`: 2, 4, 8, 16, then 30. */
export function rateLimitBackoffSeconds(consecutive: number): number {
  return Math.min(30, 2 ** Math.max(1, consecutive));
}

/**
 * The fetch the SDK uses: (1) a refused connection (nothing listening, unknown host) is retried for a few seconds
 * (REFUSED_BUDGET_MS) and then fails with a `ServerUnreachableError` naming the URL, which the SDK does not retry:
 * without this, its connection-error backoff runs for two minutes and ends in "Request timed out". Resets and drops
 * mid-request stay the SDK's to retry (SAFE_RETRIES). (2) A 429 without `Retry-After` (Mistral sends x-ratelimit-*
 * headers instead) gets one, growing with consecutive 429s, so the SDK's retries back off instead of hammering.
 */
export function guardedFetcher(
  serverUrl: string,
  source: string,
  fetchImpl: (request: Request) => Promise<Response> = (request) => fetch(request),
): (input: ConstructorParameters<typeof Request>[0], init?: RequestInit) => Promise<Response> {
  let contacted = false;
  let rateLimited = 0;
  return async (input, init) => {
    const request = new Request(input, init);
    const start = Date.now();
    let delay = 250;
    for (;;) {
      let response: Response;
      const attempt = request.clone();
      try {
        response = await fetchImpl(attempt);
      } catch (error) {
        const code = unreachableCode(error);
        if (code === undefined) throw error;
        const budget = contacted ? REFUSED_BUDGET_MS.afterContact : REFUSED_BUDGET_MS.firstContact;
        if (Date.now() - start + delay > budget || request.signal.aborted) {
          const what = code === "ECONNREFUSED" ? "refused the connection" : `could not be reached (${code})`;
          throw new ServerUnreachableError(
            `the Mistral server ${serverUrl} (${source}) ${what}; retried for ${Math.round((Date.now() - start) / 1000)} s. ` +
              "Check mistral:serverUrl (or MISTRAL_SERVER_URL), and that the server (or the emulator) is running",
            serverUrl,
            code,
            { cause: error },
          );
        }
        await sleep(delay);
        delay = Math.min(delay * 2, 2_000);
        continue;
      }
      contacted = true;
      if (response.status !== 429) {
        rateLimited = 0;
        return response;
      }
      rateLimited++;
      if (response.headers.get("retry-after")) return response;
      const headers = new Headers(response.headers);
      headers.set("retry-after", String(rateLimitBackoffSeconds(rateLimited)));
      headers.set(SYNTHETIC_RETRY_AFTER_HEADER, "1");
      return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
    }
  };
}

/** The options of every SDK client made for these settings (the full client and the core one alike). */
async function sdkOptions(settings: Settings): Promise<SDKOptions> {
  const { HTTPClient } = await import("@mistralai/mistralai/lib/http.js");
  return {
    apiKey: settings.apiKey,
    serverURL: settings.serverUrl,
    retryConfig: SAFE_RETRIES,
    timeoutMs: 120_000,
    httpClient: new HTTPClient({ fetcher: guardedFetcher(settings.serverUrl, settings.sources.serverUrl) }),
  };
}

/** A new SDK client for these settings. Loads the whole SDK (about 1.3 s of CPU the first time in a process). */
export async function mistralClient(settings: Settings): Promise<Mistral> {
  const { Mistral } = await import("@mistralai/mistralai");
  return new Mistral(await sdkOptions(settings));
}

/**
 * The SDK's standalone core client (`MistralCore`, for its `funcs/*` functions) with the same options as
 * `mistralClient`, and the models list function: what the model check needs (models.ts), without the SDK's
 * client classes (about a quarter less to load than the whole SDK).
 */
export async function mistralCore(settings: Settings): Promise<{ core: MistralCore; modelsList: typeof modelsList }> {
  const [{ MistralCore }, funcs] = await Promise.all([sdkModules.core(), sdkModules.modelsList()]);
  return { core: new MistralCore(await sdkOptions(settings)), modelsList: funcs.modelsList };
}

/** The SDK modules the core client loads, each imported once per process (an import is cached by Node anyway). */
const sdkModules = {
  core: () => import("@mistralai/mistralai/core.js"),
  modelsList: () => import("@mistralai/mistralai/funcs/modelsList.js"),
};

/** Whether `preloadSdk` started (reset when the load failed, so a later call tries again). */
let preloadStarted = false;

/**
 * Starts loading, without waiting, the SDK modules a provider process needs first (those of `mistralCore`: the model
 * check of `check`, which preview runs), so that the load overlaps the engine's work instead of delaying the first
 * call that needs them. The whole SDK (`mistralClient`, for create, read and delete) shares most of those modules.
 * Once per process; a failure is left to the call that needs the SDK to report.
 */
export function preloadSdk(): void {
  if (preloadStarted) return;
  preloadStarted = true;
  Promise.all([sdkModules.core(), sdkModules.modelsList()]).catch(() => {
    preloadStarted = false;
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
  // A server that was never reached received nothing.
  if (unreachableOf(error) || unreachableCode(error) !== undefined) return false;
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

/**
 * True for failures where nothing took effect and a retry is due (429, 503 before handling). Not a refusal for the
 * workspace's pending-request limit (that takes hours to clear), nor an unreachable server (the fetcher retried).
 */
export function isRetryable(error: unknown): boolean {
  if (unreachableOf(error)) return false;
  if (pendingLimitOf(error)) return false;
  const status = statusOf(error);
  return status === 429 || status === 502 || status === 503 || status === 504 || isAmbiguous(error);
}

/** The parsed JSON error body of an SDK error (or of what a MistralApiError wraps), if it is an object. */
function bodyOf(error: unknown): Record<string, unknown> | undefined {
  const e = error instanceof MistralApiError ? error.cause : error;
  const body = (e as { body?: unknown })?.body;
  if (typeof body !== "string" || body === "") return undefined;
  try {
    const parsed: unknown = JSON.parse(body);
    return parsed && typeof parsed === "object" && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Mistral's message out of an error body: `{message}` (the generic body and the gateway's 401), `{detail: string}`
 * (FastAPI's 401 and 404) or `{detail: [{loc, msg}]}` (422); else the raw text, cut at 500 characters.
 */
export function mistralMessageOf(error: unknown): string | undefined {
  const body = (error as { body?: unknown })?.body;
  if (typeof body !== "string" || body === "") return undefined;
  try {
    const parsed = JSON.parse(body) as { message?: unknown; detail?: unknown };
    if (typeof parsed?.message === "string") return parsed.message;
    if (typeof parsed?.detail === "string") return parsed.detail;
    if (Array.isArray(parsed?.detail)) {
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

/**
 * What an error body says beside its message, for the wrapped message: the `type` and `code` of the generic body
 * (`rate_limited`, code 1300; `invalid_model`, code 1500), a `raw_status_code` that differs from the HTTP status,
 * and the gateway's `request_id` (what Mistral's support asks for). Empty when there is nothing.
 */
export function errorDetailsOf(error: unknown): string {
  const body = bodyOf(error);
  if (!body) return "";
  const parts: string[] = [];
  const str = (v: unknown) => (typeof v === "string" && v !== "") || typeof v === "number";
  if (str(body.type)) parts.push(`type ${body.type}`);
  if (str(body.code)) parts.push(`code ${body.code}`);
  const raw = body.raw_status_code;
  if (typeof raw === "number" && raw !== statusOf(error)) parts.push(`upstream status ${raw}`);
  if (str(body.request_id)) parts.push(`request_id ${body.request_id}`);
  return parts.length ? ` (${parts.join(", ")})` : "";
}

/** What a 429 says about the rate limits (x-ratelimit-* headers, RATE_LIMIT_HEADERS), e.g. `0 of 60 requests left this minute`. */
export function rateLimitOf(error: unknown): string | undefined {
  const e = error instanceof MistralApiError ? error.cause : error;
  const headers = (e as { headers?: Headers })?.headers;
  if (!headers || typeof headers.get !== "function") return undefined;
  const h = RATE_LIMIT_HEADERS;
  const parts: string[] = [];
  const req = [headers.get(h.remainingRequests), headers.get(h.limitRequests)];
  if (req[0] !== null) parts.push(`${req[0]}${req[1] !== null ? ` of ${req[1]}` : ""} requests left this minute`);
  const tok = [headers.get(h.remainingTokens), headers.get(h.limitTokens)];
  if (tok[0] !== null) parts.push(`${tok[0]}${tok[1] !== null ? ` of ${tok[1]}` : ""} tokens left this minute`);
  return parts.length ? parts.join(", ") : undefined;
}

/** The numbers of a refusal for the workspace's pending-request limit, as far as its message gives them. */
export interface PendingLimit {
  pending?: number;
  requested?: number;
  limit?: number;
  message: string;
}

/**
 * A refusal (429, or another 4xx) or a job error for the workspace's limit on pending requests
 * (MAX_PENDING_REQUESTS_PER_WORKSPACE): recognised by "pending" in the message, with the numbers it holds
 * (PENDING_LIMIT_MESSAGE: "N pending ..., M requested, limit L"). Undefined for anything else.
 */
export function pendingLimitOf(error: unknown): PendingLimit | undefined {
  const status = statusOf(error);
  if (status === undefined || status < 400 || status >= 500) return undefined;
  const message =
    (error instanceof MistralApiError ? error.mistralMessage : undefined) ??
    mistralMessageOf(error instanceof MistralApiError ? error.cause : error);
  return message ? pendingLimitInText(message) : undefined;
}

/** `pendingLimitOf` for a bare message (a job's `errors[].message`). */
export function pendingLimitInText(message: string): PendingLimit | undefined {
  if (!/pending/i.test(message) || !/limit|too many|exceed/i.test(message)) return undefined;
  const num = (re: RegExp) => {
    const m = re.exec(message);
    return m?.[1] === undefined ? undefined : Number(m[1].replace(/[,_\s]/g, ""));
  };
  return {
    message,
    pending: num(/(\d[\d,_]*)\s+pending/i),
    requested: num(/(\d[\d,_]*)\s+requested/i),
    limit: num(/limit(?:\s+of|:)?\s+(\d[\d,_]*)/i) ?? MAX_PENDING_REQUESTS_PER_WORKSPACE,
  };
}

/** What to tell a user whose job hit the pending-request limit. */
export function pendingLimitAdvice(p: PendingLimit): string {
  const n = (x: number | undefined) => (x === undefined ? "?" : x.toLocaleString("en-US"));
  const numbers =
    p.pending !== undefined || p.requested !== undefined
      ? ` (${n(p.pending)} requests pending, ${n(p.requested)} in this job, limit ${n(p.limit)})`
      : ` (limit ${n(p.limit)} pending requests per workspace)`;
  return (
    `the workspace has too many pending batch requests${numbers}. Nothing was submitted. ` +
    "Wait for running jobs to finish, cancel some you no longer need, or split the input into smaller jobs; " +
    "then run `pulumi up` again"
  );
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
  const unreachable = unreachableOf(error);
  if (status !== undefined) message += ` with HTTP ${status}`;
  if (unreachable) message += `: ${unreachable.message}`;
  else if (mistralMessage) message += `: ${mistralMessage}${errorDetailsOf(error)}`;
  else if (error instanceof Error)
    message += `: ${error.message}${error.cause instanceof Error ? ` (${error.cause.message})` : ""}`;
  if (status === 401) {
    message +=
      ". The API key was rejected: check `pulumi config set --secret mistral:apiKey <key>` or MISTRAL_API_KEY, and mistral:serverUrl.";
  }
  const pending = pendingLimitOf(error);
  if (pending) message += `: ${pendingLimitAdvice(pending)}`;
  else if (status === 429) {
    const limits = rateLimitOf(error);
    if (limits) message += `; ${limits}`;
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

/**
 * Whether a page ends a listing: empty, shorter than the longest page seen (the server's real page size, which may
 * be below the one asked for), or the items seen reach `total` (when the server says).
 */
export function lastPage(length: number, longest: number, seen: number, total: number | null | undefined): boolean {
  return length === 0 || length < longest || (typeof total === "number" && seen >= total);
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

/**
 * How long to wait before attempt `attempt + 1` of a call that failed with `error`: what `Retry-After` asks; else,
 * for a 429 (Mistral sends none, only x-ratelimit-* headers with per-minute windows), 2 s doubling up to 30 s;
 * else 0.5 s doubling up to 30 s. With up to 20% jitter, so parallel resources do not retry in step.
 */
export function backoffMs(error: unknown, attempt: number): number {
  const asked = retryAfterMs(error instanceof MistralApiError ? error.cause : error);
  if (asked !== undefined) return asked;
  const base =
    statusOf(error) === 429 ? rateLimitBackoffSeconds(attempt) * 1000 : Math.min(30_000, 500 * 2 ** (attempt - 1));
  return Math.round(base * (1 + Math.random() * 0.2));
}
