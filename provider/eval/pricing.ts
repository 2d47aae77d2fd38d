/**
 * Prices of evaluation runs: a table of list prices, overrides, the price of a model name, and the cost of a run at
 * the batch price. Pure functions.
 */
import { BATCH_DISCOUNT, LIST_PRICES, type ModelPrice, type PriceTable } from "../api";

export type { ModelPrice, PriceTable };

/** Batch jobs cost 50% of the synchronous list price (Mistral's batch page; the contract's `BATCH_DISCOUNT`). */
export const DEFAULT_BATCH_DISCOUNT = BATCH_DISCOUNT;

/**
 * Default list prices, USD per million input / output tokens of the synchronous API: the contract's dated list
 * (`LIST_PRICES` of `provider/api/prices.ts`), which the emulator's model catalogue prices its models from too.
 *
 * ILLUSTRATIVE: approximate list prices as published by Mistral around the list's date. They are not authoritative
 * and go stale: override them with the prices of your contract (`mergePrices(DEFAULT_PRICES, { date, models: { ... } })`).
 * Frozen.
 */
export const DEFAULT_PRICES: PriceTable = LIST_PRICES;

/** A partial table to lay over another one: each model given replaces that model's whole entry. */
export interface PriceOverride {
  date?: string;
  batchDiscount?: number;
  models?: Record<string, ModelPrice>;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const show = (v: unknown): string => (v === undefined ? "missing" : (JSON.stringify(v) ?? String(v)));
const isPrice = (v: unknown): boolean => typeof v === "number" && Number.isFinite(v) && v >= 0;

/**
 * Problems of a price table or override (an empty list when it is fine); each names the field, the value received
 * and what is allowed. With `partial`, `date` and `models` may be missing (an override).
 */
export function checkPrices(value: unknown, partial = false, where = "prices"): string[] {
  if (!isObject(value)) return [`${where} is ${show(value)}; expected an object { date, batchDiscount?, models }`];
  const problems: string[] = [];
  if (value.date !== undefined || !partial) {
    if (typeof value.date !== "string" || value.date === "")
      problems.push(`${where}.date is ${show(value.date)}; expected the date the prices were read, e.g. "2026-11-01"`);
  }
  if (value.batchDiscount !== undefined) {
    const d = value.batchDiscount;
    if (typeof d !== "number" || !(d > 0 && d <= 1))
      problems.push(
        `${where}.batchDiscount is ${show(d)}; expected the batch price as a fraction of the list price, in (0, 1] (Mistral: 0.5)`,
      );
  }
  if (value.models !== undefined || !partial) {
    if (!isObject(value.models))
      problems.push(
        `${where}.models is ${show(value.models)}; expected an object { "<model>": { inputPerMTok, outputPerMTok } }`,
      );
    else {
      for (const [model, p] of Object.entries(value.models)) {
        if (!isObject(p)) {
          problems.push(
            `${where}.models["${model}"] is ${show(p)}; expected { inputPerMTok, outputPerMTok } in USD per million tokens`,
          );
          continue;
        }
        for (const field of ["inputPerMTok", "outputPerMTok"] as const) {
          if (!isPrice(p[field]))
            problems.push(
              `${where}.models["${model}"].${field} is ${show(p[field])}; expected a finite number >= 0 (USD per million tokens)`,
            );
        }
      }
    }
  }
  return problems;
}

/**
 * `base` with `override` laid over it: `date` and `batchDiscount` from the override when given; per model, the
 * override's entry replaces the base's. Throws when the override is invalid. Neither argument is modified.
 */
export function mergePrices(base: PriceTable, override?: PriceOverride): PriceTable {
  if (override === undefined) return { ...base, models: { ...base.models } };
  const problems = checkPrices(override, true, "price override");
  if (problems.length) throw new Error(problems.join("\n"));
  return {
    date: override.date ?? base.date,
    batchDiscount: override.batchDiscount ?? base.batchDiscount ?? DEFAULT_BATCH_DISCOUNT,
    models: { ...base.models, ...override.models },
  };
}

/** A dated version suffix: `-2506`, `-2411` (YYMM). */
const DATED = /^(.+)-\d{4}$/;

/**
 * The price of `model`, or null when the table does not know it. Resolution, in order:
 *  1. the exact name;
 *  2. a dated version (`<base>-YYMM`, e.g. `mistral-small-2506`): `<base>-latest`, then `<base>`
 *     (so `mistral-small-2506` -> `mistral-small-latest`, `open-mistral-nemo-2407` -> `open-mistral-nemo`).
 * Nothing else (no prefix guessing): a dated version priced differently from `-latest` needs its own entry.
 * `model` in the result is the table entry used.
 */
export function priceFor(table: PriceTable, model: string): (ModelPrice & { model: string }) | null {
  const own = (name: string) => (Object.hasOwn(table.models, name) ? table.models[name] : undefined);
  const candidates = [model];
  const dated = DATED.exec(model);
  if (dated) candidates.push(`${dated[1]}-latest`, dated[1]);
  for (const name of candidates) {
    const p = own(name);
    if (p) return { model: name, inputPerMTok: p.inputPerMTok, outputPerMTok: p.outputPerMTok };
  }
  return null;
}

/**
 * Cost in USD of `promptTokens` input and `completionTokens` output tokens of `model` at the batch price
 * (list price x `table.batchDiscount`, default 0.5), or null when the model has no price.
 */
export function cost(table: PriceTable, model: string, promptTokens: number, completionTokens: number): number | null {
  const p = priceFor(table, model);
  if (!p) return null;
  const discount = table.batchDiscount ?? DEFAULT_BATCH_DISCOUNT;
  return roundCost(((promptTokens * p.inputPerMTok + completionTokens * p.outputPerMTok) / 1_000_000) * discount);
}

/**
 * A cost without the floating-point noise of its arithmetic (12 significant digits, far below a millionth of a
 * cent for any real bill): stack outputs read `0.0000647`, not `6.469999999999999e-05`.
 */
export function roundCost(usd: number): number {
  return Number.isFinite(usd) && usd !== 0 ? Number(usd.toPrecision(12)) : usd;
}
