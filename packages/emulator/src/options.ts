/**
 * The options of `startEmulator` and the `Emulator` handle it returns.
 */
import type { Clock } from "./clock";
import type { Faults, FaultRule } from "./faults";
import type { ModelSpec } from "./models";
import type { Processor, ProcessingOptions, SpeedName } from "./processor";
import type { Store } from "./store";

/**
 * Which service the emulator plays. `"spec"`: Mistral's OpenAPI spec, strictly. `"observed"`: the real service as
 * observed where the spec is silent or says otherwise (the facts of `provider/api/observed.ts`):
 *  - result lines: transient per-request failures (a model's `failureRate`) are split deterministically by a hash of
 *    the request (custom_id and index): half are written inline to the OUTPUT file as
 *    `{"response":{"status_code":429,"body":null},"error":"rate limited"}`, half to the error file as 500s, of
 *    which half carry a bare-string `error` and one in eight has no `custom_id`; `succeeded_requests` and
 *    `failed_requests` count as always, so the output file has more lines than `succeeded_requests`;
 *  - input lines are validated after creation: a job with bad lines (malformed JSON, no `custom_id`, no `body`, a
 *    body the endpoint rejects) is accepted (QUEUED, `total_requests` 0) and ends FAILED with `errors` naming the
 *    problems; an unknown model is still refused at creation, with the observed 400 body `invalidModelError`;
 *  - a cancel stays CANCELLATION_REQUESTED for `cancelDurationMs` before CANCELLED;
 *  - result files expire `resultRetentionHours` after the job ends (then retrieve and content answer 404);
 *  - 429 faults carry the `RATE_LIMIT_HEADERS` and no `Retry-After` (unless the rule sets one); 401s alternate
 *    between the two `UNAUTHORIZED_BODIES`: the 1st, 3rd, ... answer `{"detail":"Unauthorized"}`, the 2nd,
 *    4th, ... the gateway's `{message, request_id}` (the spec profile always answers the gateway's);
 *  - the job list ignores `metadata` filters and returns at most `maxJobsPageSize` jobs per page;
 *  - the file list's `search` matches whole filenames only (the spec profile: a case-insensitive substring or an id);
 *  - `GET /v1/batch/jobs/{id}` of a finished inline job carries `outputs` without `inline=true`.
 * The workspace limit of pending requests (`maxPendingRequests`) and the models API apply in both profiles.
 */
export type EmulatorProfile = "spec" | "observed";

export const EMULATOR_PROFILES: readonly EmulatorProfile[] = Object.freeze(["spec", "observed"]);

export interface EmulatorOptions {
  /** Which service to play: the spec, strictly, or the real service as observed (see {@link EmulatorProfile}). @default "spec" */
  profile?: EmulatorProfile;
  /**
   * Observed profile: how long a cancel stays CANCELLATION_REQUESTED, in ms of the emulator's clock (the wall
   * clock, or the manual clock that tests advance). The spec profile uses the speed's `cancelDelayMs`.
   * @default the `cancelDelayMs` of explicit `speed` timings, else 3000 (with a speed preset)
   */
  cancelDurationMs?: number;
  /**
   * Observed profile: hours of the emulator's clock a finished job's result files stay; after that, retrieving or
   * downloading them answers 404 and the file list omits them. @default RESULT_RETENTION_HOURS (24)
   */
  resultRetentionHours?: number;
  /**
   * Observed profile: the largest page of the job list; a bigger `page_size` silently returns at most this many.
   * @default 50
   */
  maxJobsPageSize?: number;
  /**
   * Both profiles: requests pending (queued or running, across jobs) allowed in the workspace; a job creation that
   * would exceed it answers 429 with `PENDING_LIMIT_MESSAGE`. @default MAX_PENDING_REQUESTS_PER_WORKSPACE (1000000)
   */
  maxPendingRequests?: number;
  /** Interface to bind. @default "127.0.0.1" */
  host?: string;
  /** Port; 0 picks a free one. @default 0 */
  port?: number;
  /** When set, every request must carry `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
  /** Directory where files and jobs persist across restarts. @default a temporary directory, removed on close */
  dataDir?: string;
  /** How fast jobs progress: a preset name or explicit timings. @default "instant" */
  speed?: SpeedName | ProcessingOptions;
  /** Clock driving job progress. `"manual"` gives a `ManualClock` that tests advance. @default the wall clock */
  clock?: Clock | "manual";
  /** Largest accepted upload in bytes. @default MAX_FILE_BYTES, Mistral's 512 MB (536870912) */
  maxFileBytes?: number;
  /** Largest number of requests in one job. @default MAX_REQUESTS_PER_JOB, Mistral's 100000 */
  maxRequestsPerJob?: number;
  /** Model catalogue. @default DEFAULT_MODELS */
  models?: readonly ModelSpec[];
  /** Model that answers jobs created with an `agent_id`. @default "mistral-medium-latest" */
  agentModel?: string;
  /** Faults active from the start. */
  faults?: FaultRule[] | string;
  /** Interval of the background progress timer in ms (wall clock only). @default 50 */
  tickMs?: number;
  /** Log each request to stderr. @default false */
  logRequests?: boolean;
}

export interface Emulator {
  /** Base URL to give the SDK as `serverURL`, e.g. `http://127.0.0.1:41234`. */
  url: string;
  port: number;
  dataDir: string;
  /** The manual clock, when the emulator was started with `clock: "manual"`. */
  clock: Clock;
  faults: Faults;
  store: Store;
  processor: Processor;
  /** The profile the emulator plays. */
  profile: EmulatorProfile;
  /** Advances a manual clock and brings every job up to the new time. */
  advance(ms: number): Promise<void>;
  /** Brings every job up to the clock's time. */
  settle(): Promise<void>;
  close(): Promise<void>;
}
