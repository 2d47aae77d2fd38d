/**
 * The decisions of the BatchJob resource, as pure functions: input checks, the idempotency key, diffs, status
 * handling and polling. The resource class calls these; tests call them directly.
 */
import { createHash } from "node:crypto";
import {
  MAX_INLINE_REQUESTS,
  METADATA_KEY_LENGTH,
  METADATA_VALUE_LENGTH,
  TIMEOUT_HOURS,
  UNSUCCESSFUL_FINAL_STATUSES,
  isFinalStatus,
  type BatchJobStatus,
} from "./api";
import { checkRequestLine, isApiEndpoint, show, API_ENDPOINTS, type ApiEndpoint } from "./requests";
import { DEFAULT_POLL_INTERVAL_SECONDS } from "./poll";
import { UNKNOWN, canonicalJson, containsUnknown } from "./unknown";

// From the contract: every status, the final ones, the ones in which a job found again under our idempotency key is
// adopted instead of submitting again, and the cap on inline requests.
export {
  ADOPTABLE_STATUSES,
  BATCH_JOB_STATUSES,
  FINAL_STATUSES,
  MAX_INLINE_REQUESTS,
  type BatchJobStatus,
} from "./api";

/** Metadata key under which a job carries its idempotency key. */
export const IDEMPOTENCY_METADATA_KEY = "pulumi_idempotency_key";
export const DEFAULT_ENDPOINT: ApiEndpoint = "/v1/chat/completions";
export const DEFAULT_TIMEOUT_HOURS = TIMEOUT_HOURS.default;
/** Statuses a user may ask to resubmit on: final and unsuccessful. */
export const RESUBMITTABLE_STATUSES: readonly BatchJobStatus[] = UNSUCCESSFUL_FINAL_STATUSES;

/** One request given inline (BatchFile `requests`, BatchJob `requests`). */
export interface InlineRequest {
  /** The id its result line carries (`custom_id`), unique within the batch. */
  customId: string;
  /** The request body sent to the endpoint, e.g. `{ messages: [...] }` for chat. */
  body: Record<string, unknown>;
}

/** How long `up` waits for a job, and how often it polls (poll.ts). */
export interface WaitPolicy {
  /**
   * Minutes `up` waits for a final status before it fails (the job stays in state; the next `up` waits again).
   * @default the job's `timeoutHours` plus 10 minutes (24 h 10 min for the default 24 h): Mistral ends the job by then
   */
  timeoutMinutes?: number;
  /**
   * Seconds from the start of the wait to the first poll; later intervals are at least 5 times this, and a quarter
   * of the time waited so far (beyond an hour they grow more slowly: 15 min at 1 h, 33 min at 24 h). With the
   * default a job is noticed at most 5 s or a quarter of its duration late, with 29 polls for a 1 h job and 81
   * for 24 h. Small values (e.g. 0.02) make tests fast.
   * @default 1
   */
  pollIntervalSeconds?: number;
}

/** Minutes a wait lasts beyond the job's `timeoutHours` when `timeoutMinutes` is not set. */
export const WAIT_MARGIN_MINUTES = 10;

/**
 * The inputs of a job as the provider stores them (after `check`, defaults filled in). The single source of the
 * args' documentation: `BatchJobArgs` (batchJob.ts) is derived from it.
 */
export interface JobInputs {
  /**
   * Ids of input files, typically `[file.id]` of BatchFiles. Exactly one of `inputFiles` and `requests`. A change replaces the job.
   * @default none: inline `requests` instead
   */
  inputFiles?: string[];
  /**
   * Inline requests (at most 10,000), instead of input files. A change replaces the job.
   * @default none: `inputFiles` instead
   */
  requests?: InlineRequest[];
  /**
   * The model that answers, e.g. `"mistral-small-latest"`. Exactly one of `model` and `agentId`. A change replaces the job.
   * @default none: `agentId` instead
   */
  model?: string;
  /**
   * An agent of the deprecated agents API, instead of a model. A change replaces the job.
   * @default none: `model` instead
   */
  agentId?: string;
  /**
   * The endpoint every request is sent to. A change replaces the job.
   * @default "/v1/chat/completions"
   */
  endpoint: ApiEndpoint;
  /**
   * Metadata stored with the job (keys 1-32 characters, values 1-512). The provider adds one key of its own,
   * `pulumi_idempotency_key`. A change replaces the job.
   * @default none: the job carries only `pulumi_idempotency_key`
   */
  metadata?: Record<string, string>;
  /**
   * Hours after which Mistral stops the job (TIMEOUT_EXCEEDED), 1 to 168. A change replaces the job.
   * @default 24
   */
  timeoutHours: number;
  /**
   * Make `pulumi up` wait for a final status, reporting progress: `true` waits up to the job's `timeoutHours` plus
   * 10 minutes, polling after 1 s and then less and less often (`WaitPolicy` says how). A wait that times out, or
   * a job that ends FAILED, TIMEOUT_EXCEEDED or CANCELLED, fails the update but stays in state; the next `up`
   * resumes waiting. A job that waits also waits to be submitted while the workspace's pending-request limit
   * (1,000,000) refuses it, on the same schedule and within the same timeout; a job that does not wait fails at once
   * with the numbers, and nothing is submitted. Updates in place.
   * @default false: `up` submits and returns; `pulumi refresh` reads the status
   */
  waitForCompletion?: boolean | WaitPolicy;
  /**
   * Statuses on which the next `up` submits the job again (shown as a replacement in preview), among FAILED,
   * TIMEOUT_EXCEEDED and CANCELLED. Updates in place.
   * @default [] (never resubmit)
   */
  resubmitOn?: BatchJobStatus[];
  /**
   * Also delete the job's output and error files on destroy. Updates in place.
   * @default false
   */
  deleteResultFilesOnDestroy?: boolean;
  /** `project/stack/resource name`: makes the idempotency key unique to this resource. Set by the constructor, not an arg. */
  scope: string;
}

/** Inputs that define what is submitted: a change to any of them means a new job. */
export const SUBMISSION_FIELDS = [
  "inputFiles",
  "requests",
  "model",
  "agentId",
  "endpoint",
  "metadata",
  "timeoutHours",
] as const;
/** Inputs that change no remote object: updated in place. */
export const POLICY_FIELDS = ["waitForCompletion", "resubmitOn", "deleteResultFilesOnDestroy"] as const;

export interface Failure {
  property: string;
  reason: string;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Checks the inputs of a job; unknown values (preview) are skipped. Returns the normalised inputs and failures. */
export function checkJobInputs(news: Record<string, unknown>): {
  inputs: Record<string, unknown>;
  failures: Failure[];
} {
  const f: Failure[] = [];
  const inputs: Record<string, unknown> = { ...news };
  const known = (v: unknown) => v !== undefined && v !== null && !containsUnknown(v);
  /** Given and not wholly unknown: known parts of a partly unknown object or list are still checked. */
  const present = (v: unknown) => v !== undefined && v !== null && v !== UNKNOWN;

  // endpoint
  if (news.endpoint === undefined || news.endpoint === null) inputs.endpoint = DEFAULT_ENDPOINT;
  else if (news.endpoint !== UNKNOWN && !isApiEndpoint(news.endpoint)) {
    f.push({
      property: "endpoint",
      reason: `endpoint is ${show(news.endpoint)}; allowed: ${API_ENDPOINTS.join(", ")}`,
    });
  }
  const endpoint = isApiEndpoint(inputs.endpoint) ? inputs.endpoint : undefined;

  // model / agentId
  const hasModel = news.model !== undefined && news.model !== null;
  const hasAgent = news.agentId !== undefined && news.agentId !== null;
  if (!hasModel && !hasAgent)
    f.push({ property: "model", reason: 'model is missing; set model (e.g. "mistral-small-latest") or agentId' });
  if (hasModel && hasAgent)
    f.push({
      property: "agentId",
      reason: `agentId is ${show(news.agentId)} and model is ${show(news.model)}; set either model or agentId, not both`,
    });
  for (const p of ["model", "agentId"] as const) {
    if (known(news[p]) && (typeof news[p] !== "string" || (news[p] as string).trim() === "")) {
      f.push({ property: p, reason: `${p} is ${show(news[p])}; expected a non-empty string` });
    }
  }

  // inputFiles / requests
  const hasFiles = news.inputFiles !== undefined && news.inputFiles !== null;
  const hasRequests = news.requests !== undefined && news.requests !== null;
  if (!hasFiles && !hasRequests)
    f.push({
      property: "inputFiles",
      reason: "inputFiles is missing; set inputFiles (file ids, e.g. [file.id]) or inline requests",
    });
  if (hasFiles && hasRequests)
    f.push({
      property: "requests",
      reason: `requests is ${show(news.requests)} and inputFiles is ${show(news.inputFiles)}; set either inputFiles or requests, not both`,
    });
  if (hasFiles && news.inputFiles !== UNKNOWN) {
    if (!Array.isArray(news.inputFiles) || news.inputFiles.length === 0) {
      f.push({
        property: "inputFiles",
        reason: `inputFiles is ${show(news.inputFiles)}; expected a non-empty list of file ids`,
      });
    } else {
      news.inputFiles.forEach((id, i) => {
        if (id !== UNKNOWN && (typeof id !== "string" || !UUID.test(id))) {
          f.push({
            property: `inputFiles[${i}]`,
            reason: `inputFiles[${i}] is ${show(id)}; expected a Mistral file id (a UUID such as a BatchFile's id)`,
          });
        }
      });
    }
  }
  if (hasRequests && news.requests !== UNKNOWN) f.push(...checkInlineRequests(news.requests, endpoint));

  // metadata
  if (present(news.metadata)) {
    if (!isObject(news.metadata))
      f.push({
        property: "metadata",
        reason: `metadata is ${show(news.metadata)}; expected an object of string values`,
      });
    else {
      const key = METADATA_KEY_LENGTH;
      const value = METADATA_VALUE_LENGTH;
      for (const [k, v] of Object.entries(news.metadata)) {
        if (k.length < key.min || k.length > key.max)
          f.push({
            property: `metadata.${k}`,
            reason: `metadata key ${show(k)} has ${k.length} characters; keys must have ${key.min} to ${key.max}`,
          });
        if (k === IDEMPOTENCY_METADATA_KEY)
          f.push({
            property: `metadata.${k}`,
            reason: `metadata key ${k} is reserved: the provider sets it to make submission idempotent`,
          });
        if (v === UNKNOWN) continue;
        if (typeof v !== "string")
          f.push({ property: `metadata.${k}`, reason: `metadata.${k} is ${show(v)}; values must be strings` });
        else if (v.length < value.min || v.length > value.max)
          f.push({
            property: `metadata.${k}`,
            reason: `metadata.${k} has ${v.length} characters; values must have ${value.min} to ${value.max}`,
          });
      }
    }
  }

  // timeoutHours
  if (news.timeoutHours === undefined || news.timeoutHours === null) inputs.timeoutHours = DEFAULT_TIMEOUT_HOURS;
  else if (
    news.timeoutHours !== UNKNOWN &&
    !(
      Number.isInteger(news.timeoutHours) &&
      (news.timeoutHours as number) >= TIMEOUT_HOURS.min &&
      (news.timeoutHours as number) <= TIMEOUT_HOURS.max
    )
  ) {
    f.push({
      property: "timeoutHours",
      reason: `timeoutHours is ${show(news.timeoutHours)}; allowed: a whole number of hours from ${TIMEOUT_HOURS.min} to ${TIMEOUT_HOURS.max} (${TIMEOUT_HOURS.max / 24} days)`,
    });
  }

  // policies
  const wait = news.waitForCompletion;
  if (present(wait) && typeof wait !== "boolean") {
    if (!isObject(wait))
      f.push({
        property: "waitForCompletion",
        reason: `waitForCompletion is ${show(wait)}; expected true, false or { timeoutMinutes, pollIntervalSeconds }`,
      });
    else {
      for (const [k, v] of Object.entries(wait)) {
        if (k !== "timeoutMinutes" && k !== "pollIntervalSeconds")
          f.push({
            property: `waitForCompletion.${k}`,
            reason: `unknown field ${k}; allowed: timeoutMinutes, pollIntervalSeconds`,
          });
        else if (v !== UNKNOWN && v !== undefined && !(typeof v === "number" && v > 0 && Number.isFinite(v))) {
          f.push({
            property: `waitForCompletion.${k}`,
            reason: `waitForCompletion.${k} is ${show(v)}; expected a number > 0`,
          });
        }
      }
    }
  }
  if (present(news.resubmitOn)) {
    if (!Array.isArray(news.resubmitOn))
      f.push({ property: "resubmitOn", reason: `resubmitOn is ${show(news.resubmitOn)}; expected a list of statuses` });
    else
      news.resubmitOn.forEach((s, i) => {
        if (s !== UNKNOWN && !RESUBMITTABLE_STATUSES.includes(s as BatchJobStatus)) {
          f.push({
            property: `resubmitOn[${i}]`,
            reason: `resubmitOn[${i}] is ${show(s)}; allowed: ${RESUBMITTABLE_STATUSES.join(", ")}`,
          });
        }
      });
  }
  if (known(news.deleteResultFilesOnDestroy) && typeof news.deleteResultFilesOnDestroy !== "boolean") {
    f.push({
      property: "deleteResultFilesOnDestroy",
      reason: `deleteResultFilesOnDestroy is ${show(news.deleteResultFilesOnDestroy)}; expected true or false`,
    });
  }
  return { inputs, failures: f };
}

function checkInlineRequests(requests: unknown, endpoint: ApiEndpoint | undefined): Failure[] {
  if (!Array.isArray(requests) || requests.length === 0) {
    return [
      {
        property: "requests",
        reason: `requests is ${show(requests)}; expected a non-empty list of { customId, body }`,
      },
    ];
  }
  const f: Failure[] = [];
  if (requests.length > MAX_INLINE_REQUESTS) {
    f.push({
      property: "requests",
      reason: `requests holds ${requests.length} items; Mistral takes at most ${MAX_INLINE_REQUESTS} inline: use a BatchFile for more`,
    });
  }
  const seen = new Map<string, number>();
  for (let i = 0; i < requests.length && f.length < 10; i++) {
    const r = requests[i] as unknown;
    if (containsUnknown(r)) continue;
    if (!isObject(r)) {
      f.push({ property: `requests[${i}]`, reason: `requests[${i}] is ${show(r)}; expected { customId, body }` });
      continue;
    }
    const p = checkRequestLine({ custom_id: r.customId, body: r.body }, endpoint);
    if (p) {
      const field = p.field === "custom_id" ? "customId" : p.field;
      f.push({
        property: `requests[${i}].${field}`,
        reason: `requests[${i}].${field} is ${p.received}; expected ${p.allowed}`,
      });
      continue;
    }
    const first = seen.get(r.customId as string);
    if (first !== undefined)
      f.push({
        property: `requests[${i}].customId`,
        reason: `requests[${i}].customId ${show(r.customId)} repeats requests[${first}].customId; custom ids must be unique`,
      });
    else seen.set(r.customId as string, i);
  }
  return f;
}

/** What is submitted, in the form both the key and the diff use. */
export function submissionOf(inputs: Partial<JobInputs>): Record<string, unknown> {
  return Object.fromEntries(SUBMISSION_FIELDS.map((k) => [k, inputs[k]]));
}

/**
 * The idempotency key: a hash of the resource's scope and what it submits. The same resource submitting the same
 * thing finds its job again after a lost response or an interrupted update.
 */
export function idempotencyKey(inputs: Partial<JobInputs>): string {
  return createHash("sha256")
    .update(`${inputs.scope ?? ""}\u0000${canonicalJson(submissionOf(inputs))}`)
    .digest("hex")
    .slice(0, 32);
}

export interface DiffDecision {
  changes: boolean;
  replaces: string[];
}

/** A change to what is submitted replaces the job; a policy change updates in place; a resubmit policy replaces. */
export function diffJob(olds: Record<string, unknown>, news: Record<string, unknown>): DiffDecision {
  const replaces: string[] = [];
  for (const k of SUBMISSION_FIELDS) {
    const o = olds[k];
    const n = news[k];
    if (containsUnknown(n) || canonicalJson(o) !== canonicalJson(n)) replaces.push(k);
  }
  const status = olds.status as BatchJobStatus | undefined;
  const resubmitOn = Array.isArray(news.resubmitOn) ? (news.resubmitOn as BatchJobStatus[]) : [];
  if (status && resubmitOn.includes(status) && !replaces.length) replaces.push("status");
  let changes = replaces.length > 0;
  for (const k of POLICY_FIELDS) {
    if (containsUnknown(news[k]) || canonicalJson(olds[k]) !== canonicalJson(news[k])) changes = true;
  }
  return { changes, replaces };
}

export function isFinal(status: string | undefined): boolean {
  return isFinalStatus(status);
}

/**
 * The wait policy in force, or null when `up` should not wait. Unset fields take the defaults: the job's
 * `timeoutHours` (Mistral ends the job by then) plus WAIT_MARGIN_MINUTES, and the first poll after
 * DEFAULT_POLL_INTERVAL_SECONDS.
 */
export function waitPolicy(
  wait: JobInputs["waitForCompletion"],
  timeoutHours: number = DEFAULT_TIMEOUT_HOURS,
): Required<WaitPolicy> | null {
  if (!wait) return null;
  const w = wait === true ? {} : wait;
  return {
    timeoutMinutes: w.timeoutMinutes ?? timeoutHours * 60 + WAIT_MARGIN_MINUTES,
    pollIntervalSeconds: w.pollIntervalSeconds ?? DEFAULT_POLL_INTERVAL_SECONDS,
  };
}

/** One line of progress for logs: `RUNNING 120/400 (30%), 2 failed`. */
export function progressLine(job: {
  status: string;
  totalRequests: number;
  completedRequests: number;
  failedRequests: number;
}): string {
  const pct = job.totalRequests > 0 ? ` (${Math.floor((job.completedRequests / job.totalRequests) * 100)}%)` : "";
  const failed = job.failedRequests > 0 ? `, ${job.failedRequests} failed` : "";
  return `${job.status} ${job.completedRequests}/${job.totalRequests}${pct}${failed}`;
}
