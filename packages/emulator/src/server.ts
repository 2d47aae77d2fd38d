/**
 * The emulator's HTTP server: Mistral's Files and Batch API over real HTTP, as the official OpenAPI spec defines
 * it, plus admin routes under `/__emulator/` for tests (faults, clock, stats, seed).
 *
 * `startEmulator` builds the emulator's parts and one shared context, then lets each route module under
 * `routes/` register its routes: hooks and error handling, files, signed URLs, batch jobs, admin, seed.
 */
import Fastify, { type FastifyInstance } from "fastify";
import multipart from "@fastify/multipart";
import { ManualClock, systemClock, type Clock } from "./clock";
import { Faults, parseFaults } from "./faults";
import { ModelCatalogue } from "./models";
import type { Emulator, EmulatorOptions } from "./options";
import { Processor, SPEEDS } from "./processor";
import { Store } from "./store";
import { registerAdminRoutes } from "./routes/admin";
import { registerBatchJobRoutes } from "./routes/batchJobs";
import { createContext } from "./routes/context";
import { registerFileRoutes } from "./routes/files";
import { registerHooks } from "./routes/hooks";
import { registerSeedRoute } from "./routes/seed";
import { registerSignedUrlRoutes } from "./routes/signed";
import { API_ENDPOINTS, MAX_FILE_BYTES, MAX_REQUESTS_PER_JOB } from "pulumi-mistral-batch/api";

export type { Emulator, EmulatorOptions } from "./options";
export { fileView } from "./routes/views";

const MB = 1024 * 1024;

export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const clock: Clock = options.clock === "manual" ? new ManualClock() : (options.clock ?? systemClock);
  const speedName = options.speed ?? "instant";
  const speed =
    typeof speedName === "object" ? speedName : Object.hasOwn(SPEEDS, speedName) ? SPEEDS[speedName] : undefined;
  if (!speed)
    throw new Error(
      `startEmulator: speed must be one of ${Object.keys(SPEEDS).join(", ")} or timings, received ${String(options.speed)}`,
    );
  const models = new ModelCatalogue(options.models);
  const agentModel = options.agentModel ?? "mistral-medium-latest";
  const faults = new Faults();
  if (options.faults) faults.add(typeof options.faults === "string" ? parseFaults(options.faults) : options.faults);
  // Options are checked before the store opens: a bad option must not leave a temporary data directory behind.
  const store = Store.open({ dataDir: options.dataDir });
  const processor = new Processor(store, clock, models, speed, agentModel);
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
    limits: { maxFileBytes, maxRequestsPerJob },
  });
  const { baseUrl } = ctx;

  registerHooks(app, ctx);
  registerFileRoutes(app, ctx);
  registerSignedUrlRoutes(app, ctx);
  registerBatchJobRoutes(app, ctx);
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
