/**
 * Batch job statuses (`BatchJobStatus` in Mistral's OpenAPI spec) and the sets derived from them: the final ones,
 * the final unsuccessful ones, and the ones in which a job found again may be adopted instead of submitting anew.
 *
 * Lifecycle: QUEUED -> RUNNING -> SUCCESS | FAILED | TIMEOUT_EXCEEDED; a cancel makes CANCELLATION_REQUESTED, then
 * CANCELLED. CANCELLATION_REQUESTED is not final.
 */

/** Every status, in the spec's order. */
export const BATCH_JOB_STATUSES = Object.freeze([
  "QUEUED",
  "RUNNING",
  "SUCCESS",
  "FAILED",
  "TIMEOUT_EXCEEDED",
  "CANCELLATION_REQUESTED",
  "CANCELLED",
] as const);
export type BatchJobStatus = (typeof BATCH_JOB_STATUSES)[number];

/** The statuses a job never leaves. */
export const FINAL_STATUSES: readonly BatchJobStatus[] = Object.freeze([
  "SUCCESS",
  "FAILED",
  "TIMEOUT_EXCEEDED",
  "CANCELLED",
]);

/** The final statuses as a set (exported by the emulator as `TERMINAL_STATUSES`). */
export const TERMINAL_STATUSES: ReadonlySet<BatchJobStatus> = new Set(FINAL_STATUSES);

/** Final and unsuccessful: the job ended without doing its work (the statuses a resubmit may be asked on). */
export const UNSUCCESSFUL_FINAL_STATUSES: readonly BatchJobStatus[] = Object.freeze(
  FINAL_STATUSES.filter((s) => s !== "SUCCESS"),
);

/** A job in one of these has done, or will do, its work: found again (e.g. after a lost response), it is adopted. */
export const ADOPTABLE_STATUSES: readonly BatchJobStatus[] = Object.freeze(["QUEUED", "RUNNING", "SUCCESS"]);

/** True for a final status; false for any other value, including statuses this list does not know. */
export function isFinalStatus(status: unknown): status is BatchJobStatus {
  return TERMINAL_STATUSES.has(status as BatchJobStatus);
}
