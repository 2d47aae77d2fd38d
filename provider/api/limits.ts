/**
 * Mistral's limits on files and batch jobs, from its OpenAPI spec and documentation. Where the documents
 * disagree, the stricter figure (see ../shared/mistral/NOTES.md).
 */

/** Largest uploaded file: 512 MB (docs, SDK docstring). */
export const MAX_FILE_BYTES = 512 * 1024 * 1024;

/** Requests per batch job (known-limitations page, 2026-08; the batch page says 1M pending per workspace). */
export const MAX_REQUESTS_PER_JOB = 100_000;

/** Inline `requests` of one job (spec: maxItems). More need an input file. */
export const MAX_INLINE_REQUESTS = 10_000;

/** Length of a job's metadata keys, in characters (spec). */
export const METADATA_KEY_LENGTH = Object.freeze({ min: 1, max: 32 });

/** Length of a job's metadata values, which are strings, in characters (spec). */
export const METADATA_VALUE_LENGTH = Object.freeze({ min: 1, max: 512 });

/** A job's `timeout_hours`: a whole number of hours (spec). */
export const TIMEOUT_HOURS = Object.freeze({ min: 1, max: 168, default: 24 });

/** `expiry` of a file's signed URL, in hours (spec). */
export const SIGNED_URL_EXPIRY_HOURS = Object.freeze({ min: 1, max: 168, default: 24 });

/** `page_size` of the file and job lists when none is given (spec). */
export const DEFAULT_PAGE_SIZE = 100;
