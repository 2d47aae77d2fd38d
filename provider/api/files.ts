/**
 * Facts about files of Mistral's Files API (enums of its OpenAPI spec, in the spec's order): what a file is for
 * (`purpose`), what it holds (`sample_type`), where it came from (`source`), and who sees it (`visibility`).
 */

/** `FilePurpose`. A batch job's input files must have purpose "batch". */
export const FILE_PURPOSES = Object.freeze(["fine-tune", "batch", "ocr"] as const);
export type FilePurpose = (typeof FILE_PURPOSES)[number];

/** `SampleType`: batch inputs are `batch_request`; a job's output and error files `batch_result` and `batch_error`. */
export const SAMPLE_TYPES = Object.freeze([
  "pretrain",
  "instruct",
  "batch_request",
  "batch_result",
  "batch_error",
] as const);
export type SampleType = (typeof SAMPLE_TYPES)[number];

/** `Source`: "upload" for what a user uploaded; files Mistral wrote (a job's results) are "mistral". */
export const SOURCES = Object.freeze(["upload", "repository", "mistral"] as const);
export type Source = (typeof SOURCES)[number];

/** `FileVisibility` of an upload; the first is the default. */
export const FILE_VISIBILITIES = Object.freeze(["workspace", "user"] as const);
export type FileVisibility = (typeof FILE_VISIBILITIES)[number];
export const DEFAULT_FILE_VISIBILITY: FileVisibility = "workspace";
