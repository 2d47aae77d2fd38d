/**
 * The emulator's wire shapes, for tests that call it over raw HTTP instead of through the SDK, and `readJson` to
 * read a response body as one of them.
 */
import type { fileView } from "../../packages/emulator/src/server";
import type { JobRecord } from "../../packages/emulator/src/store";

/** Mistral's error bodies (the generic one and the 422 one), as the contract declares them. */
export type { ErrorBody, ValidationErrorBody } from "../../provider/api";

/** A file as POST /v1/files and GET /v1/files/{id} answer it. */
export type FileBody = ReturnType<typeof fileView>;

/** A batch job as the job routes answer it; `outputs` is there only with `?inline=true` (null until the job is final). */
export type JobBody = Omit<JobRecord, "internal" | "timeout_hours"> & { outputs?: Record<string, unknown>[] | null };

/** GET /v1/files and GET /v1/batch/jobs; the files list has `total` null with `include_total=false`. */
export interface ListBody<T> {
  object: "list";
  data: T[];
  total: number | null;
}

/**
 * The response's JSON body, typed as the wire shape the caller expects. Not checked here: a body of another shape
 * fails the test's own assertions (the contract tests check every SDK-made response against the OpenAPI spec).
 */
export async function readJson<T>(res: Response): Promise<T> {
  return (await res.json()) as T;
}
