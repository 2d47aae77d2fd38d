/**
 * pulumi-mistral-batch: Mistral AI batch inference as Pulumi infrastructure.
 *
 * The public surface. The offline emulator lives in `pulumi-mistral-batch/emulator`.
 */
export { BatchFile, type BatchFileArgs } from "./batchFile";
export { BatchJob, type BatchJobArgs } from "./batchJob";
export type { InlineRequest, WaitPolicy, BatchJobStatus } from "./jobLogic";
export { API_ENDPOINTS, type ApiEndpoint } from "./requests";
