/**
 * The options of `startEmulator` and the `Emulator` handle it returns.
 */
import type { Clock } from "./clock";
import type { Faults, FaultRule } from "./faults";
import type { ModelSpec } from "./models";
import type { Processor, ProcessingOptions, SpeedName } from "./processor";
import type { Store } from "./store";

export interface EmulatorOptions {
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
  /** Advances a manual clock and brings every job up to the new time. */
  advance(ms: number): Promise<void>;
  /** Brings every job up to the clock's time. */
  settle(): Promise<void>;
  close(): Promise<void>;
}
