/**
 * Mistral's list prices, dated: USD per million input / output tokens of the synchronous API, and the batch
 * discount (a batch job costs 50% of the synchronous price: Mistral's batch page).
 *
 * ILLUSTRATIVE: approximate list prices as published by Mistral around the date of the list. They are not
 * authoritative and go stale. The evaluation's default price table is this list (users override it with the
 * prices of their contract) and the emulator's model catalogue prices its models from it. Embedding and
 * moderation models have no output tokens, hence an output price of 0. OCR is priced per page, so it has no entry.
 */

/** One model's list price, USD per million tokens. */
export interface ModelPrice {
  inputPerMTok: number;
  outputPerMTok: number;
}

/** List prices in USD per million tokens, and the date they were read. */
export interface PriceTable {
  date: string;
  /** Batch price as a fraction of the listed price. @default 0.5 */
  batchDiscount?: number;
  models: Record<string, ModelPrice>;
}

/** Batch jobs cost 50% of the synchronous list price. */
export const BATCH_DISCOUNT = 0.5;

const price = (inputPerMTok: number, outputPerMTok: number): ModelPrice =>
  Object.freeze({ inputPerMTok, outputPerMTok });

/** The dated list. Frozen: a caller cannot change it by accident. */
export const LIST_PRICES: PriceTable = Object.freeze({
  date: "2026-11-01",
  batchDiscount: BATCH_DISCOUNT,
  models: Object.freeze({
    "mistral-large-latest": price(2, 6),
    "mistral-medium-latest": price(0.4, 2),
    "mistral-small-latest": price(0.1, 0.3),
    "magistral-medium-latest": price(2, 5),
    "pixtral-large-latest": price(2, 6),
    "codestral-latest": price(0.3, 0.9),
    "open-mistral-nemo": price(0.15, 0.15),
    "ministral-8b-latest": price(0.1, 0.1),
    "ministral-3b-latest": price(0.04, 0.04),
    "mistral-embed": price(0.1, 0),
    "codestral-embed": price(0.15, 0),
    "mistral-moderation-latest": price(0.1, 0),
  }),
});

/** The list price of a model of the list (exact name), or undefined. */
export function listPrice(model: string): ModelPrice | undefined {
  return Object.hasOwn(LIST_PRICES.models, model) ? LIST_PRICES.models[model] : undefined;
}
