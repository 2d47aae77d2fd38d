/**
 * The models API, read-only: `GET /v1/models` (a `ModelList` of the catalogue, one card per model, filtered by the
 * spec's optional `provider` and `model` query parameters) and `GET /v1/models/{model_id}` (one card, by id or
 * dated alias; an unknown id answers 404 with `modelNotFoundError` of the contract). Served in both profiles.
 */
import type { FastifyInstance } from "fastify";
import { ApiError } from "../errors";
import { modelCard } from "../models";
import { modelNotFoundError } from "pulumi-mistral-batch/api";
import type { EmulatorContext } from "./context";
import { single } from "./params";

export function registerModelRoutes(app: FastifyInstance, ctx: EmulatorContext): void {
  const { models } = ctx;

  app.get("/v1/models", async (request) => {
    const query = request.query as Record<string, string | string[] | undefined>;
    const provider = single(query.provider);
    const model = single(query.model);
    const data = models
      .list()
      .filter(() => provider === undefined || provider === "mistralai")
      .filter((m) => model === undefined || m.id === model || (m.aliases ?? []).includes(model))
      .map(modelCard);
    return { object: "list", data };
  });

  app.get("/v1/models/:model_id", async (request) => {
    const { model_id } = request.params as { model_id: string };
    const model = models.get(model_id);
    if (!model) throw new ApiError(404, { ...modelNotFoundError(model_id) });
    return modelCard(model);
  });
}
