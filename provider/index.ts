/**
 * pulumi-mistral-batch: Mistral AI batch inference as Pulumi infrastructure.
 *
 * The public surface. The offline emulator lives in `pulumi-mistral-batch/emulator`.
 */
export {
  API_ENDPOINTS,
  BATCH_JOB_STATUSES,
  TERMINAL_STATUSES,
  type ApiEndpoint,
  type BatchJobStatus,
} from "../emulator/types";
