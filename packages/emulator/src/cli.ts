#!/usr/bin/env node
/**
 * `mistral-batch-emulator`: serves the emulator until SIGINT or SIGTERM. Prints its base URL on stdout when ready.
 */
import { parseArgs } from "node:util";
import {
  MAX_FILE_BYTES,
  MAX_PENDING_REQUESTS_PER_WORKSPACE,
  MAX_REQUESTS_PER_JOB,
  RESULT_RETENTION_HOURS,
} from "pulumi-mistral-batch/api";
import { EMULATOR_PROFILES, type EmulatorProfile } from "./options";
import { parseFaults, type FaultRule } from "./faults";
import { SPEEDS, type ProcessingOptions, type SpeedName } from "./processor";
import { startEmulator, type Emulator } from "./server";

const USAGE = `Usage: mistral-batch-emulator [options]

Serves Mistral's Files, Batch and models API offline, for tests and demos. Prints its base URL when ready.

Options:
  --profile NAME              spec | observed (default spec, or MISTRAL_EMULATOR_PROFILE): "spec" follows
                              Mistral's OpenAPI spec strictly; "observed" plays the real service as observed
                              (inline per-request errors in output files, input validated after creation,
                              slow cancels, expiring result files, 429s without Retry-After, alternating 401
                              bodies, job list without metadata filter and with a page cap, exact file search,
                              outputs on finished inline jobs)
  --cancel-duration-ms MS     observed: time a cancel stays CANCELLATION_REQUESTED (default 3000)
  --result-retention-hours H  observed: hours result files stay downloadable (default ${RESULT_RETENTION_HOURS})
  --max-jobs-page-size N      observed: largest page of the job list (default 50)
  --max-pending-requests N    requests queued or running in the workspace (default ${MAX_PENDING_REQUESTS_PER_WORKSPACE})
  --host HOST                 interface to bind (default 127.0.0.1)
  --port PORT                 port; 0 picks a free one (default 0)
  --api-key KEY               require "Authorization: Bearer KEY" (or set MISTRAL_EMULATOR_API_KEY)
  --data-dir DIR              keep files and jobs in DIR across restarts (default: a temporary directory)
  --speed NAME                instant | fast | demo | slow (default instant)
  --queue-delay-ms MS         time a job stays QUEUED (overrides --speed)
  --requests-per-second N     processing rate once RUNNING; "inf" for instant (overrides --speed)
  --max-file-mb N             largest upload in MB (default ${MAX_FILE_BYTES / 1024 / 1024})
  --max-requests-per-job N    largest job (default ${MAX_REQUESTS_PER_JOB})
  --fault SPEC                inject faults, repeatable, e.g. "429*3", "503:2@POST /v1/batch/jobs",
                              "drop", "latency:250*inf", "commit-then-drop@POST /v1/batch/jobs"
                              (also MISTRAL_EMULATOR_FAULTS)
  --log                       log each request to stderr
  -h, --help                  show this help
`;

function fail(message: string): never {
  process.stderr.write(`mistral-batch-emulator: ${message}\n\n${USAGE}`);
  process.exit(2);
}

function num(name: string, value: string | undefined, min: number, allowInf = false): number | undefined {
  if (value === undefined) return undefined;
  // Plain decimal numbers only: Number() would also read "", " ", "0x50" and "1e3".
  const n = allowInf && value === "inf" ? Infinity : /^\d+(\.\d+)?$/.test(value) ? Number(value) : NaN;
  if (Number.isNaN(n) || n < min) {
    fail(
      `--${name} must be a number ${min === Number.MIN_VALUE ? "> 0" : `>= ${min}`}${allowInf ? ' or "inf"' : ""}, received ${JSON.stringify(value)}`,
    );
  }
  return n;
}

/** The command line, parsed; exits with the usage error when it cannot be read. */
function parseCommandLine() {
  try {
    return parseArgs({
      options: {
        host: { type: "string" },
        port: { type: "string" },
        profile: { type: "string" },
        "cancel-duration-ms": { type: "string" },
        "result-retention-hours": { type: "string" },
        "max-jobs-page-size": { type: "string" },
        "max-pending-requests": { type: "string" },
        "api-key": { type: "string" },
        "data-dir": { type: "string" },
        speed: { type: "string" },
        "queue-delay-ms": { type: "string" },
        "requests-per-second": { type: "string" },
        "max-file-mb": { type: "string" },
        "max-requests-per-job": { type: "string" },
        fault: { type: "string", multiple: true },
        log: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    });
  } catch (error) {
    return fail((error as Error).message);
  }
}

async function main(): Promise<void> {
  const v = parseCommandLine().values;
  if (v.help) {
    process.stdout.write(USAGE);
    return;
  }
  // An empty MISTRAL_EMULATOR_PROFILE means unset.
  const profile = (v.profile ?? (process.env.MISTRAL_EMULATOR_PROFILE || "spec")) as EmulatorProfile;
  if (!EMULATOR_PROFILES.includes(profile))
    fail(
      `--profile (or MISTRAL_EMULATOR_PROFILE) must be one of ${EMULATOR_PROFILES.join(", ")}, received ${JSON.stringify(profile)}`,
    );
  const cancelDurationMs = num("cancel-duration-ms", v["cancel-duration-ms"], 0);
  const resultRetentionHours = num("result-retention-hours", v["result-retention-hours"], Number.MIN_VALUE);
  const maxJobsPageSize = num("max-jobs-page-size", v["max-jobs-page-size"], 1);
  const maxPendingRequests = num("max-pending-requests", v["max-pending-requests"], 1);
  const speedName = (v.speed ?? "instant") as SpeedName;
  if (!Object.hasOwn(SPEEDS, speedName))
    fail(`--speed must be one of ${Object.keys(SPEEDS).join(", ")}, received ${JSON.stringify(v.speed)}`);
  const speed: ProcessingOptions = { ...SPEEDS[speedName] };
  const qd = num("queue-delay-ms", v["queue-delay-ms"], 0);
  if (qd !== undefined) speed.queueDelayMs = qd;
  const rps = num("requests-per-second", v["requests-per-second"], Number.MIN_VALUE, true);
  if (rps !== undefined) speed.requestsPerSecond = rps;
  let faults: FaultRule[] = [];
  const faultSources: [string, string][] = [
    ...(process.env.MISTRAL_EMULATOR_FAULTS
      ? [["MISTRAL_EMULATOR_FAULTS", process.env.MISTRAL_EMULATOR_FAULTS] as [string, string]]
      : []),
    ...(v.fault ?? []).map((spec): [string, string] => ["--fault", spec]),
  ];
  for (const [source, spec] of faultSources) {
    try {
      faults = faults.concat(parseFaults(spec));
    } catch (error) {
      fail(`${source} ${JSON.stringify(spec)} is not a valid fault spec: ${(error as Error).message}`);
    }
  }
  const port = num("port", v.port, 0);
  if (port !== undefined && (!Number.isInteger(port) || port > 65535))
    fail(`--port must be a whole number 0..65535, received ${JSON.stringify(v.port)}`);
  const maxFileMb = num("max-file-mb", v["max-file-mb"], 1);
  const maxRequests = num("max-requests-per-job", v["max-requests-per-job"], 1);
  // An empty MISTRAL_EMULATOR_API_KEY means unset; an empty --api-key is a mistake.
  const apiKey = v["api-key"] ?? (process.env.MISTRAL_EMULATOR_API_KEY || undefined);
  if (apiKey !== undefined && apiKey.trim() === "") fail("--api-key must not be empty");
  if (v.host !== undefined && v.host.trim() === "")
    fail(`--host must not be empty, received ${JSON.stringify(v.host)}`);

  // Signals are handled from here on: one arriving while the emulator starts stops it as soon as it is up.
  let emulator: Emulator | null = null;
  let stopSignal: string | null = null;
  const stop = (signal: string) => {
    if (stopSignal !== null) return;
    stopSignal = signal;
    process.stderr.write(`mistral-batch-emulator: ${signal}, stopping\n`);
    if (emulator) close(emulator);
  };
  const close = (running: Emulator) => {
    running.close().then(
      () => process.exit(0),
      (error) => {
        process.stderr.write(`mistral-batch-emulator: error while stopping: ${(error as Error).stack}\n`);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));

  let started: Emulator;
  try {
    started = await startEmulator({
      host: v.host,
      port,
      profile,
      cancelDurationMs,
      resultRetentionHours,
      maxJobsPageSize,
      maxPendingRequests,
      apiKey,
      dataDir: v["data-dir"],
      speed,
      faults,
      maxFileBytes: maxFileMb === undefined ? undefined : Math.floor(maxFileMb * 1024 * 1024),
      maxRequestsPerJob: maxRequests,
      logRequests: v.log,
    });
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    if (e.code && ["EADDRINUSE", "EACCES", "EADDRNOTAVAIL", "ENOTFOUND", "EAI_AGAIN"].includes(e.code)) {
      process.stderr.write(
        `mistral-batch-emulator: cannot listen on ${v.host ?? "127.0.0.1"}:${port ?? 0}: ${e.message}\n`,
      );
      process.exit(1);
    }
    throw error;
  }
  emulator = started;
  if (stopSignal !== null) return close(started);
  process.stderr.write(
    `mistral-batch-emulator: serving Mistral's Files and Batch API at ${started.url} ` +
      `(data: ${started.dataDir}${v["data-dir"] ? "" : ", temporary"}; speed: ${speedName}; ` +
      `auth: ${apiKey !== undefined ? "bearer key required" : "none"}` +
      `${profile === "spec" ? "" : `; profile: ${profile}`})\n`,
  );
  // The URL on stdout comes last: whoever waits for it knows the emulator is serving and handles signals.
  process.stdout.write(`${started.url}\n`);
}

main().catch((error) => {
  process.stderr.write(`mistral-batch-emulator: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
