/**
 * The lines of batch files: a request (a line of an input file, or an item of a job's inline `requests`) and a
 * result (a line of a job's output or error file).
 *
 * Real result lines (cookbook) look like `{"id":"0-<uuid>","custom_id":"0","response":{"status_code":200,
 * "body":{...}},"error":null}`; they are NOT in input order, and `id` is not the custom_id. No real error line has
 * been seen: readers accept `error: {message}`, a bare string `error`, or a `response.status_code` other than 200.
 */

/** One request of a batch. */
export interface BatchRequestLine {
  custom_id?: string | null;
  body: Record<string, unknown>;
}

/** One result of a batch. */
export interface BatchResultLine {
  id: string;
  custom_id: string | null;
  response: { status_code: number; body: Record<string, unknown> } | null;
  error: { message: string; code?: string | null } | string | null;
}
