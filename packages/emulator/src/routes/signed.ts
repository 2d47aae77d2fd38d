/**
 * Signed download URLs: `GET /v1/files/{id}/url` signs a link with an expiry, and the unauthenticated
 * `/__emulator/signed/{id}` route serves the file when the signature matches and has not expired.
 */
import { timingSafeEqual } from "node:crypto";
import type { FastifyInstance } from "fastify";
import { apiError, notFound } from "../errors";
import { SIGNED_URL_EXPIRY_HOURS } from "pulumi-mistral-batch/api";
import type { EmulatorContext } from "./context";
import { intParam } from "./params";

export function registerSignedUrlRoutes(app: FastifyInstance, ctx: EmulatorContext): void {
  const { store, clock, sign, baseUrl, getFile, sendContent } = ctx;

  app.get("/v1/files/:file_id/url", async (request) => {
    const file = getFile(request);
    const q = request.query as Record<string, string | undefined>;
    const expiry = intParam(
      q.expiry,
      "expiry",
      SIGNED_URL_EXPIRY_HOURS.default,
      SIGNED_URL_EXPIRY_HOURS.min,
      SIGNED_URL_EXPIRY_HOURS.max,
    );
    const expires = Math.floor(clock.now() / 1000) + expiry * 3600;
    const sig = sign(`${file.id}.${expires}`);
    return { url: `${baseUrl()}/__emulator/signed/${file.id}?se=${expires}&sig=${sig}` };
  });

  app.get("/__emulator/signed/:file_id", async (request, reply) => {
    const { file_id } = request.params as { file_id: string };
    const q = request.query as Record<string, string | undefined>;
    const expires = Number(q.se);
    const expected = sign(`${file_id}.${expires}`);
    if (!q.sig || q.sig.length !== expected.length || !timingSafeEqual(Buffer.from(q.sig), Buffer.from(expected))) {
      throw apiError(403, "Signature does not match", "authentication_error");
    }
    if (!(expires > clock.now() / 1000)) throw apiError(403, "Signed URL has expired", "authentication_error");
    const file = store.files.get(file_id);
    if (!file) throw notFound("File", file_id);
    return sendContent(file, reply);
  });
}
