/**
 * Admin routes under `/__emulator/` for tests: health, faults, the manual clock, forced job failure, moving a model's
 * aliases, and stats.
 * The seed route lives in `seed.ts`.
 */
import type { FastifyInstance } from "fastify";
import { ManualClock } from "../clock";
import { apiError } from "../errors";
import { parseFaults } from "../faults";
import type { EmulatorContext } from "./context";

export function registerAdminRoutes(app: FastifyInstance, ctx: EmulatorContext): void {
  const { store, clock, processor, models, faults, jobView, getJob } = ctx;

  app.get("/__emulator/health", async () => ({ ok: true }));
  app.get("/__emulator/faults", async () => faults.list());
  app.post("/__emulator/faults", async (request) => {
    const body = request.body as unknown;
    try {
      const rules = typeof body === "string" ? parseFaults(body) : parseFaults(JSON.stringify(body));
      faults.add(rules);
      return faults.list();
    } catch (error) {
      throw apiError(400, (error as Error).message);
    }
  });
  app.delete("/__emulator/faults", async () => {
    faults.clear();
    return [];
  });
  app.post("/__emulator/clock/advance", async (request) => {
    const { ms } = (request.body ?? {}) as { ms?: number };
    if (!(clock instanceof ManualClock))
      throw apiError(409, 'the emulator runs on the wall clock; start it with clock: "manual" to drive time');
    if (typeof ms !== "number" || !(ms >= 0))
      throw apiError(400, `ms must be a number >= 0, received ${JSON.stringify(ms)}`);
    clock.advance(ms);
    await processor.advanceAll();
    return { now: clock.now() };
  });
  app.post("/__emulator/jobs/:job_id/fail", async (request) => {
    const job = await getJob(request);
    const { message } = (request.body ?? {}) as { message?: string };
    if (job.status !== "QUEUED")
      throw apiError(409, `job ${job.id} is ${job.status}; only a QUEUED job can be made to fail`);
    job.internal.forcedFailure = message ?? "Injected failure";
    store.saveJob(job);
    return jobView(job, false);
  });
  // An alias moves (Mistral releases a version): the model's aliases become these.
  app.put("/__emulator/models/:model_id/aliases", async (request) => {
    const { model_id: id } = request.params as { model_id: string };
    const { aliases } = (request.body ?? {}) as { aliases?: unknown };
    if (!Array.isArray(aliases) || !aliases.every((a) => typeof a === "string" && a !== ""))
      throw apiError(400, `aliases must be an array of model names, received ${JSON.stringify(aliases)}`);
    try {
      const moved = models.setAliases(id, aliases as string[]);
      return { id: moved.id, aliases: moved.aliases };
    } catch (error) {
      throw apiError(404, (error as Error).message);
    }
  });
  app.get("/__emulator/stats", async () => {
    await processor.advanceAll();
    const byStatus: Record<string, number> = {};
    for (const j of store.jobs.values()) byStatus[j.status] = (byStatus[j.status] ?? 0) + 1;
    return {
      files: store.files.size,
      jobs: store.jobs.size,
      jobsByStatus: byStatus,
      models: models.list().map((m) => m.id),
    };
  });
}
