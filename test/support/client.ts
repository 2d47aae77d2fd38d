/**
 * An official-SDK client for the emulator whose every raw HTTP response is checked against Mistral's OpenAPI spec.
 */
import { Mistral } from "@mistralai/mistralai";
import { HTTPClient } from "@mistralai/mistralai/lib/http.js";
import { expectResponseValid } from "./openapi";

const ROUTES: [string, RegExp, string][] = [
  ["GET", /^\/v1\/models$/, "list_models_v1_models_get"],
  ["GET", /^\/v1\/models\/[^/]+$/, "retrieve_model_v1_models__model_id__get"],
  ["POST", /^\/v1\/files$/, "files_api_routes_upload_file"],
  ["GET", /^\/v1\/files$/, "files_api_routes_list_files"],
  ["GET", /^\/v1\/files\/[^/]+$/, "files_api_routes_retrieve_file"],
  ["DELETE", /^\/v1\/files\/[^/]+$/, "files_api_routes_delete_file"],
  ["GET", /^\/v1\/files\/[^/]+\/content$/, "files_api_routes_download_file"],
  ["GET", /^\/v1\/files\/[^/]+\/url$/, "files_api_routes_get_signed_url"],
  ["GET", /^\/v1\/batch\/jobs$/, "jobs_api_routes_batch_get_batch_jobs"],
  ["POST", /^\/v1\/batch\/jobs$/, "jobs_api_routes_batch_create_batch_job"],
  ["GET", /^\/v1\/batch\/jobs\/[^/]+$/, "jobs_api_routes_batch_get_batch_job"],
  ["DELETE", /^\/v1\/batch\/jobs\/[^/]+$/, "jobs_api_routes_batch_delete_batch_job"],
  ["POST", /^\/v1\/batch\/jobs\/[^/]+\/cancel$/, "jobs_api_routes_batch_cancel_batch_job"],
];

export function operationFor(method: string, pathname: string): string | undefined {
  return ROUTES.find(([m, re]) => m === method && re.test(pathname))?.[2];
}

export interface CheckedClient {
  client: Mistral;
  /** Operations whose successful responses were validated against the spec, in call order. */
  validated: string[];
  /** Spec violations found (the hook records them; tests assert the list is empty). */
  violations: string[];
}

export function checkedClient(serverURL: string, apiKey = "test-key"): CheckedClient {
  const validated: string[] = [];
  const violations: string[] = [];
  const httpClient = new HTTPClient();
  httpClient.addHook("response", async (response, request) => {
    const url = new URL(request.url);
    const op = operationFor(request.method, url.pathname);
    if (!op || response.status !== 200) return;
    const contentType = (response.headers.get("content-type") ?? "").split(";")[0];
    if (op === "files_api_routes_download_file") {
      if (contentType !== "application/octet-stream") violations.push(`${op}: content-type ${contentType}`);
      validated.push(op);
      return;
    }
    const body = await response.clone().json();
    try {
      expectResponseValid(op, 200, body, contentType);
      validated.push(op);
    } catch (error) {
      violations.push(`${op}: ${(error as Error).message}`);
    }
  });
  return { client: new Mistral({ apiKey, serverURL, httpClient }), validated, violations };
}
