/**
 * The emulator's HTTP server: Mistral's Files and Batch API and its read-only models API over real HTTP, as the
 * official OpenAPI spec defines them, plus admin routes under `/__emulator/` for tests (faults, clock, stats, seed).
 *
 * `startEmulator` builds the emulator's parts and one shared context, then lets each route module under
 * `routes/` register its routes: hooks and error handling, files, signed URLs, batch jobs, models, admin, seed.
 */
import Fastify, { type FastifyInstance } from "fastify";
import multipart from "@fastify/multipart";
import { ManualClock, systemClock, type Clock } from "./clock";
import { Faults, parseFaults } from "./faults";
import { ModelCatalogue } from "./models";
import { EMULATOR_PROFILES, type Emulator, type EmulatorOptions } from "./options";
import { Processor, SPEEDS } from "./processor";
import { Store } from "./store";
import { registerAdminRoutes } from "./routes/admin";
import { registerBatchJobRoutes } from "./routes/batchJobs";
import { createContext } from "./routes/context";
import { registerFileRoutes } from "./routes/files";
import { registerHooks } from "./routes/hooks";
import { registerSeedRoute } from "./routes/seed";
import { registerSignedUrlRoutes } from "./routes/signed";
import { registerModelRoutes } from "./routes/models";
import {
  API_ENDPOINTS,
  MAX_FILE_BYTES,
  MAX_PENDING_REQUESTS_PER_WORKSPACE,
  MAX_REQUESTS_PER_JOB,
  RESULT_RETENTION_HOURS,
} from "pulumi-mistral-batch/api";

export type { Emulator, EmulatorOptions, EmulatorProfile } from "./options";
export { fileView } from "./routes/views";

const MB = 1024 * 1024;

/** Defaults of the observed profile's settings (documented on `EmulatorOptions`). */
const DEFAULT_CANCEL_DURATION_MS = 3000;
const DEFAULT_MAX_JOBS_PAGE_SIZE = 50;

function positive(name: string, value: number | undefined, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || Number.isNaN(value) || value < min)
    throw new Error(`startEmulator: ${name} must be a number >= ${min}, received ${String(value)}`);
  return value;
}

export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const clock: Clock = options.clock === "manual" ? new ManualClock() : (options.clock ?? systemClock);
  const speedName = options.speed ?? "instant";
  const speed =
    typeof speedName === "object" ? speedName : Object.hasOwn(SPEEDS, speedName) ? SPEEDS[speedName] : undefined;
  if (!speed)
    throw new Error(
      `startEmulator: speed must be one of ${Object.keys(SPEEDS).join(", ")} or timings, received ${String(options.speed)}`,
    );
  const profile = options.profile ?? "spec";
  if (!EMULATOR_PROFILES.includes(profile))
    throw new Error(
      `startEmulator: profile must be one of ${EMULATOR_PROFILES.join(", ")}, received ${String(profile)}`,
    );
  const observed =
    profile === "observed"
      ? {
          // Explicit timings (`speed: { cancelDelayMs }`) are the caller's choice of duration; a preset gets the
          // observed one.
          cancelDurationMs: positive(
            "cancelDurationMs",
            options.cancelDurationMs,
            typeof options.speed === "object" ? options.speed.cancelDelayMs : DEFAULT_CANCEL_DURATION_MS,
          ),
          resultRetentionHours: positive(
            "resultRetentionHours",
            options.resultRetentionHours,
            RESULT_RETENTION_HOURS,
            Number.MIN_VALUE,
          ),
          maxJobsPageSize: Math.floor(
            positive("maxJobsPageSize", options.maxJobsPageSize, DEFAULT_MAX_JOBS_PAGE_SIZE, 1),
          ),
        }
      : null;
  const maxPendingRequests = positive(
    "maxPendingRequests",
    options.maxPendingRequests,
    MAX_PENDING_REQUESTS_PER_WORKSPACE,
    1,
  );
  const models = new ModelCatalogue(options.models);
  const agentModel = options.agentModel ?? "mistral-medium-latest";
  const faults = new Faults();
  if (options.faults) faults.add(typeof options.faults === "string" ? parseFaults(options.faults) : options.faults);
  // Options are checked before the store opens: a bad option must not leave a temporary data directory behind.
  const store = Store.open({ dataDir: options.dataDir });
  const processor = new Processor(store, clock, models, speed, agentModel, observed);
  const maxFileBytes = options.maxFileBytes ?? MAX_FILE_BYTES;
  const maxRequestsPerJob = options.maxRequestsPerJob ?? MAX_REQUESTS_PER_JOB;

  const app: FastifyInstance = Fastify({ logger: false, bodyLimit: 256 * MB, forceCloseConnections: true });
  await app.register(multipart, { limits: { fileSize: maxFileBytes, files: 1, fields: 10 } });
  const ctx = createContext(app, {
    store,
    clock,
    processor,
    models,
    faults,
    options,
    limits: { maxFileBytes, maxRequestsPerJob, maxPendingRequests },
    observed,
  });
  const { baseUrl } = ctx;

  registerHooks(app, ctx);
  registerFileRoutes(app, ctx);
  registerSignedUrlRoutes(app, ctx);
  registerBatchJobRoutes(app, ctx);
  registerModelRoutes(app, ctx);
  registerAdminRoutes(app, ctx);
  registerSeedRoute(app, ctx);

  // --- start ----------------------------------------------------------------------------------------------------
  try {
    await app.listen({ host: options.host ?? "127.0.0.1", port: options.port ?? 0 });
  } catch (error) {
    // e.g. EADDRINUSE: nothing was served, so nothing of a temporary data directory is worth keeping
    await app.close().catch(() => undefined);
    await store.close();
    throw error;
  }
  const address = app.server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  const url = baseUrl();

  let timer: NodeJS.Timeout | null = null;
  if (!(clock instanceof ManualClock)) {
    const tick = () => {
      processor
        .advanceAll()
        .catch((e) => process.stderr.write(`mistral-batch-emulator: processing failed: ${(e as Error).stack}\n`))
        .finally(() => {
          if (timer) timer = setTimeout(tick, options.tickMs ?? 50).unref();
        });
    };
    timer = setTimeout(tick, options.tickMs ?? 50).unref();
  }

  let closed = false;
  return {
    url,
    port,
    dataDir: store.dataDir,
    clock,
    faults,
    store,
    processor,
    profile,
    async advance(ms: number) {
      if (!(clock instanceof ManualClock))
        throw new Error('advance: the emulator runs on the wall clock; start it with clock: "manual"');
      clock.advance(ms);
      await processor.advanceAll();
    },
    settle: () => processor.advanceAll(),
    async close() {
      if (closed) return;
      closed = true;
      if (timer) clearTimeout(timer);
      timer = null;
      await app.close();
      await processor.advanceAll().catch(() => undefined);
      await store.close();
    },
  };
}

export { API_ENDPOINTS };
