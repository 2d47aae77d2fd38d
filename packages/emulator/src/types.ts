/**
 * Types of the emulator's own. Facts about Mistral's API (endpoints, statuses, file enums, line shapes) live in the
 * contract, `provider/api`, which the emulator's modules import; the endpoints are re-exported here for the tests
 * that import them from this file. Wire shapes follow Mistral's OpenAPI spec (`../shared/mistral/openapi.yaml`):
 * snake_case, unix seconds.
 */
export { API_ENDPOINTS, type ApiEndpoint } from "pulumi-mistral-batch/api";

/** What a fake model answers for one request: the `response` part of a result line, or an error. */
export type ModelAnswer =
  | { ok: true; status_code: 200; body: Record<string, unknown> }
  | { ok: false; status_code: number; message: string };
