/**
 * Cross-cutting request handling: the API key check, injected faults (latency, drops, error statuses), and the
 * error and not-found handlers that shape failures the way Mistral's API does.
 */
import { createHash, randomUUID, timingSafeEqual } from "node:crypto";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { ApiError } from "../errors";
import { errorBody, RATE_LIMIT_ERROR, RATE_LIMIT_HEADERS, UNAUTHORIZED_BODIES } from "pulumi-mistral-batch/api";
import type { EmulatorContext } from "./context";

const MB = 1024 * 1024;

export function registerHooks(app: FastifyInstance, ctx: EmulatorContext): void {
  const { options, faults, seededJobId, observed } = ctx;
  let unauthorizedCount = 0;
  const { maxFileBytes } = ctx.limits;

  app.addHook("onRequest", async (request, reply) => {
    if (options.logRequests) process.stderr.write(`${request.method} ${request.url}\n`);
    const path = request.url.split("?")[0];
    if (path.startsWith("/__emulator/signed/")) return; // authorised by its signature
    if (options.apiKey !== undefined && !bearerMatches(request.headers.authorization, options.apiKey)) {
      const requestId = randomUUID().replace(/-/g, "");
      // Observed profile: the two bodies seen in the wild, in turn (1st, 3rd, ...: FastAPI's; 2nd, 4th, ...: the gateway's).
      unauthorizedCount++;
      const body =
        observed && unauthorizedCount % 2 === 1 ? UNAUTHORIZED_BODIES.detail : UNAUTHORIZED_BODIES.gateway(requestId);
      return reply.code(401).send(body);
    }
    if (path.startsWith("/__emulator/")) return;
    if (seededJobId(request) !== null) return; // the seed route's own job creation: no faults
    for (const rule of faults.take(request.method, path)) {
      if (rule.kind === "latency") await new Promise((r) => setTimeout(r, rule.ms));
      else if (rule.kind === "drop") {
        request.raw.socket.destroy();
        return reply.hijack();
      } else if (rule.kind === "commit-then-drop") (request as FaultedRequest).dropResponse = true;
      else if (rule.kind === "status") {
        const status = rule.status;
        if (status === undefined)
          throw new Error("fault rule of kind status has no status (validateRule requires one)");
        // Observed profile: a 429 has the rate-limit headers and no Retry-After (unless the rule sets one).
        const retryAfter = rule.retryAfterSeconds ?? (status === 429 && !observed ? 1 : undefined);
        if (retryAfter !== undefined) reply.header("retry-after", String(retryAfter));
        if (status === 429 && observed) reply.headers(rateLimitHeaders());
        const body =
          status === 429
            ? { ...RATE_LIMIT_ERROR }
            : errorBody(`Injected fault: HTTP ${status}`, "internal_server_error");
        return reply.code(status).send(body);
      }
    }
  });
  app.addHook("onSend", async (request, _reply, payload) => {
    if ((request as FaultedRequest).dropResponse) {
      // The work is done; the client never hears of it.
      request.raw.socket.destroy();
    }
    return payload;
  });

  app.setErrorHandler((error: unknown, _request, reply) => {
    if (error instanceof ApiError) {
      for (const [k, v] of Object.entries(error.headers)) reply.header(k, v);
      return reply.code(error.statusCode).send(error.body);
    }
    const e = error as { code?: string; statusCode?: number; message?: string };
    if (
      e.code === "FST_ERR_CTP_INVALID_JSON_BODY" ||
      e.code === "FST_ERR_CTP_EMPTY_JSON_BODY" ||
      (e.statusCode === 400 && /JSON/i.test(e.message ?? ""))
    ) {
      return reply.code(422).send({
        detail: [
          { type: "json_invalid", loc: ["body"], msg: "JSON decode error", input: {}, ctx: { error: e.message } },
        ],
      });
    }
    if (e.code === "FST_REQ_FILE_TOO_LARGE" || e.code === "FST_ERR_CTP_BODY_TOO_LARGE") {
      return reply
        .code(413)
        .send(
          errorBody(
            `File too large: the limit is ${maxFileBytes} bytes (${Math.round(maxFileBytes / MB)} MB)`,
            "invalid_request_error",
            { param: "file" },
          ),
        );
    }
    if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500) {
      return reply.code(e.statusCode).send(errorBody(e.message ?? "Bad request"));
    }
    process.stderr.write(`mistral-batch-emulator: internal error: ${(error as Error)?.stack ?? String(error)}\n`);
    return reply.code(500).send(errorBody("Internal server error", "internal_server_error"));
  });
  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send({ detail: "Not Found" });
    void request;
  });
}

/** The rate-limit headers of an exhausted minute window (made-up figures: 500000 tokens, 60 requests). */
function rateLimitHeaders(): Record<string, string> {
  return {
    [RATE_LIMIT_HEADERS.limitTokens]: "500000",
    [RATE_LIMIT_HEADERS.remainingTokens]: "0",
    [RATE_LIMIT_HEADERS.queryCost]: "0",
    [RATE_LIMIT_HEADERS.limitRequests]: "60",
    [RATE_LIMIT_HEADERS.remainingRequests]: "0",
  };
}

interface FaultedRequest extends FastifyRequest {
  dropResponse?: boolean;
}

function bearerMatches(header: string | undefined, key: string): boolean {
  const m = /^Bearer\s+(.+)$/i.exec(header ?? "");
  if (!m) return false;
  const a = createHash("sha256").update(m[1].trim()).digest();
  const b = createHash("sha256").update(key).digest();
  return timingSafeEqual(a, b);
}
