/**
 * pulumi-mistral-batch: Mistral AI batch inference as Pulumi infrastructure.
 *
 * The public surface. The offline emulator lives in `pulumi-mistral-batch/emulator`.
 */
export { BatchFile, type BatchFileArgs } from "./batchFile";
export { BatchJob, type BatchJobArgs } from "./batchJob";
export { BatchResults, type BatchResultsArgs } from "./batchResults";
export { BatchRun, type BatchRunArgs } from "./batchRun";
export { RequestSet, type RequestSetArgs } from "./requestSet";
export {
  Evaluation,
  type EvaluationArgs,
  type EvaluationEstimate,
  type EvaluationLimits,
  type EvaluationModel,
  type EvaluationShard,
} from "./evaluation";
export { DEFAULT_PRICES } from "./eval/pricing";
export { formatSummaryTable } from "./eval/report";
export type { Scorer, ScoreFn, PriceTable, ModelSummary } from "./eval/types";
export type { InlineRequest, WaitPolicy, BatchJobStatus } from "./jobLogic";
export { API_ENDPOINTS, type ApiEndpoint } from "./api";
