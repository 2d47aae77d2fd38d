/**
 * A catalogue of fake Mistral models that answer batch requests deterministically.
 *
 * Every answer is a pure function of (model, endpoint, body, custom_id / request index, now): no clock, no
 * randomness. Response bodies follow Mistral's OpenAPI spec (`../shared/mistral/openapi.yaml`) and parse with
 * the official SDK's zod schemas; see `test/emulator/models.test.ts`.
 *
 * Chat models answer "checkable" questions (simple arithmetic, capitals, uppercase / reverse of a quoted
 * string) correctly at their configured `accuracy` rate, so evaluation runs show real differences between
 * models. Answers to checkable questions end with `The answer is <answer>.` (see {@link extractAnswer}).
 *
 * Layout: `catalogue.ts` (the models), `answers/` (one answer maker per endpoint, and {@link answerRequest}),
 * `checkable.ts` (questions with known answers), `hashing.ts` (determinism, token estimate).
 */
export { DEFAULT_MODELS, ModelCatalogue, type ModelSpec } from "./catalogue";
export { estimateTokens } from "./hashing";
export { checkableAnswer, extractAnswer, type CheckableKind } from "./checkable";
export { answerRequest } from "./answers";
export { MODEL_CARD_CREATED, modelCapabilities, modelCard } from "./cards";
