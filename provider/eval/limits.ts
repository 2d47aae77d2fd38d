/**
 * The limits an Evaluation keeps to (requests per job, bytes per file, pending requests per workspace), as given or
 * Mistral's, and the waves of jobs that keep the pending requests within the workspace's limit. Pure.
 */
import { MAX_FILE_BYTES, MAX_PENDING_REQUESTS_PER_WORKSPACE, MAX_REQUESTS_PER_JOB } from "../api";
import type { EvaluationArgs } from "../evaluation";
import { show } from "../requests";
import { fail } from "./errors";

/** The limits the plan keeps to, as given or Mistral's. */
export interface PlannedLimits {
  requestsPerJob: number;
  bytesPerFile: number;
  pendingRequests: number;
}

/** `limits` as given, checked, with Mistral's figures for what is not given. */
export function planLimits(name: string, given: EvaluationArgs["limits"]): PlannedLimits {
  if (given !== undefined && (typeof given !== "object" || given === null || Array.isArray(given)))
    fail(name, `limits is ${show(given)}; expected { requestsPerJob?, bytesPerFile?, pendingRequests? }`);
  const caps = {
    requestsPerJob: { default: MAX_REQUESTS_PER_JOB, max: MAX_REQUESTS_PER_JOB, what: "requests a batch job takes" },
    bytesPerFile: { default: MAX_FILE_BYTES, max: MAX_FILE_BYTES, what: "bytes of an uploaded file" },
    pendingRequests: { default: MAX_PENDING_REQUESTS_PER_WORKSPACE, max: Number.MAX_SAFE_INTEGER, what: "" },
  } as const;
  const out = {} as PlannedLimits;
  for (const key of Object.keys(given ?? {}))
    if (!(key in caps))
      fail(name, `limits.${key} is not a limit; expected requestsPerJob, bytesPerFile or pendingRequests`);
  for (const key of ["requestsPerJob", "bytesPerFile", "pendingRequests"] as const) {
    const value: unknown = given?.[key];
    const cap = caps[key];
    if (value === undefined) {
      out[key] = cap.default;
      continue;
    }
    if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1)
      fail(name, `limits.${key} is ${show(value)}; expected a positive integer`);
    if (value > cap.max)
      fail(
        name,
        `limits.${key} is ${value}; Mistral allows at most ${cap.max} ${cap.what}: give a number from 1 to ${cap.max}, or leave it out`,
      );
    out[key] = value;
  }
  return out;
}

/**
 * Waves of jobs (pure): in the order given, each job joins the current wave while the wave's requests stay within
 * `limit` (pending requests per workspace), else starts the next wave. A job larger than `limit` alone throws.
 */
export function planWaves<J extends { requests: number; jobName: string }>(jobs: readonly J[], limit: number): J[][] {
  const waves: J[][] = [];
  let current: J[] = [];
  let pending = 0;
  for (const job of jobs) {
    if (job.requests > limit)
      throw new RangeError(
        `job ${job.jobName} holds ${job.requests} requests, more than the ${limit} pending requests a workspace may hold (limits.pendingRequests): lower limits.requestsPerJob to at most ${limit}, or raise limits.pendingRequests`,
      );
    if (current.length > 0 && pending + job.requests > limit) {
      waves.push(current);
      current = [];
      pending = 0;
    }
    current.push(job);
    pending += job.requests;
  }
  if (current.length > 0) waves.push(current);
  return waves;
}
