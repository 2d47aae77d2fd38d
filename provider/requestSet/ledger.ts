/**
 * The decisions of a RequestSet, as pure functions: which of the current requests already have a result (reused),
 * which must be submitted (new, changed, lost with an expired result file, or failed and retried), which are still
 * running in an earlier job (pending), which failed and are kept as failed, and how many earlier results no current
 * request wants (removed). The provider (../requestSet.ts) reads the files; these functions only count.
 */

/** What is known of one address from the earlier jobs of a set. */
export type Known = "succeeded" | "failed" | "pending";

/** The plan of one update. */
export interface Delta {
  /** Current requests (distinct addresses). */
  requests: number;
  /** Addresses to submit now, in the source's order. */
  submit: string[];
  /** Current requests with a result from an earlier job. */
  reused: number;
  /** Current requests still queued or running in an earlier job. */
  pending: number;
  /** Current requests whose earlier attempt failed, kept failed (not retried). */
  failed: number;
  /** Of `submit`: earlier failures submitted again (retryFailed). */
  retried: number;
  /** Earlier results (succeeded or failed) of addresses no current request has: edited or deleted lines. */
  removed: number;
}

/** One job of a set: a delta of its requests, as state keeps it. */
export interface SetPart {
  jobId: string;
  /** The uploaded file of the requests it was sent. */
  inputFileId: string;
  /** Requests it was sent. */
  requests: number;
  status: string;
  succeeded: number;
  failed: number;
  outputFileId: string | null;
  errorFileId: string | null;
  /** Submission time, unix seconds. */
  createdAt: number;
  /** Its files Mistral no longer keeps (404), so their requests count as lost and run again. */
  expiredFileIds: string[];
}

/**
 * The delta of `current` (addresses in the source's order) against `known` (what the earlier jobs tell of each address: store.ts
 * `readRecord`). `retryFailed` submits failed requests again.
 */
export function planDelta(current: readonly string[], known: ReadonlyMap<string, Known>, retryFailed: boolean): Delta {
  const delta: Delta = { requests: 0, submit: [], reused: 0, pending: 0, failed: 0, retried: 0, removed: 0 };
  const seen = new Set<string>();
  for (const address of current) {
    if (seen.has(address)) continue;
    seen.add(address);
    delta.requests++;
    const state = known.get(address);
    if (state === "succeeded") delta.reused++;
    else if (state === "pending") delta.pending++;
    else if (state === "failed" && !retryFailed) delta.failed++;
    else {
      if (state === "failed") delta.retried++;
      delta.submit.push(address);
    }
  }
  for (const [address, state] of known) if (state !== "pending" && !seen.has(address)) delta.removed++;
  return delta;
}

/** The line a preview and an update print for a delta, e.g. `+37 new, 963 reused, 2 removed, est. $0.004`. */
export function describeDelta(delta: Delta, estimatedCost: string | null): string {
  const parts = [`+${delta.submit.length} new`];
  if (delta.retried) parts[0] += ` (${delta.retried} retried)`;
  parts.push(`${delta.reused} reused`);
  if (delta.pending) parts.push(`${delta.pending} still running`);
  if (delta.failed) parts.push(`${delta.failed} failed (not retried: retryFailed is off)`);
  parts.push(`${delta.removed} removed`);
  if (delta.submit.length && estimatedCost !== null) parts.push(`est. ${estimatedCost}`);
  return parts.join(", ");
}
