/**
 * `pulumi-mistral-batch/emulator`: an offline emulator of Mistral's Files and Batch API, for tests and demos.
 *
 * ```ts
 * import { startEmulator } from "pulumi-mistral-batch/emulator";
 * const emulator = await startEmulator({ speed: "instant" });
 * const client = new Mistral({ apiKey: "test", serverURL: emulator.url });
 * // ...
 * await emulator.close();
 * ```
 */
export { startEmulator, type Emulator, type EmulatorOptions, type EmulatorProfile } from "./server";
export { ManualClock, systemClock, type Clock } from "./clock";
export { parseFaults, Faults, type FaultRule, type FaultKind } from "./faults";
export { SPEEDS, type ProcessingOptions, type SpeedName } from "./processor";
export { DEFAULT_MODELS, ModelCatalogue, type ModelSpec } from "./models";
// Facts about the API, from the contract (`provider/api`) the library shares.
export {
  API_ENDPOINTS,
  BATCH_JOB_STATUSES,
  TERMINAL_STATUSES,
  type ApiEndpoint,
  type BatchJobStatus,
} from "pulumi-mistral-batch/api";
