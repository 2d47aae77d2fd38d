/**
 * The contract: what this project knows about Mistral's Files and Batch API, in one place, imported by the provider
 * (the library) and by the emulator (its test double) alike. Pure data and pure functions (plus the line reader
 * of JSONL files): no Pulumi, no SDK, no HTTP server. Sources: Mistral's OpenAPI spec and documentation, as
 * summarised in ../shared/mistral/NOTES.md.
 *
 *  - endpoints: the endpoints a batch job may target
 *  - statuses: job statuses, the final ones, the adoptable ones
 *  - files: file purposes, sample types, sources, visibilities
 *  - limits: sizes, counts, lengths and ranges the API enforces
 *  - prices: the dated list prices and the batch discount
 *  - errors: the shapes of error bodies
 *  - batchLines: the request and result lines of batch files
 *  - jsonl: the line reader
 *  - models: the capability each endpoint needs of a model (the models API)
 *  - observed: what the real service does where the spec is silent (retention, error shapes, workspace limits)
 */
export * from "./endpoints";
export * from "./statuses";
export * from "./files";
export * from "./limits";
export * from "./prices";
export * from "./errors";
export * from "./batchLines";
export * from "./jsonl";
export * from "./models";
export * from "./observed";
