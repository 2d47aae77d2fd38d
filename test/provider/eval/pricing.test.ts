/**
 * Prices of evaluation runs (provider/eval/pricing.ts): the default table, overrides, name resolution, batch cost.
 */
import { describe, expect, it } from "vitest";
import {
  checkPrices,
  cost,
  DEFAULT_BATCH_DISCOUNT,
  DEFAULT_PRICES,
  mergePrices,
  priceFor,
  roundCost,
} from "../../../provider/eval/pricing";
import type { PriceTable } from "../../../provider/eval/types";

const MODELS = [
  "mistral-large-latest",
  "mistral-medium-latest",
  "mistral-small-latest",
  "magistral-medium-latest",
  "pixtral-large-latest",
  "codestral-latest",
  "open-mistral-nemo",
  "ministral-8b-latest",
  "ministral-3b-latest",
  "mistral-embed",
  "codestral-embed",
  "mistral-moderation-latest",
];

describe("DEFAULT_PRICES", () => {
  it("has a date, the 50% batch discount and a valid price for every listed model", () => {
    expect(DEFAULT_PRICES.date).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(DEFAULT_PRICES.batchDiscount).toBe(0.5);
    expect(DEFAULT_BATCH_DISCOUNT).toBe(0.5);
    expect(Object.keys(DEFAULT_PRICES.models).sort()).toEqual([...MODELS].sort());
    expect(checkPrices(DEFAULT_PRICES)).toEqual([]);
    for (const m of ["mistral-embed", "codestral-embed", "mistral-moderation-latest"])
      expect(DEFAULT_PRICES.models[m]!.outputPerMTok).toBe(0);
  });

  it("is frozen: a caller cannot change the defaults by accident", () => {
    expect(Object.isFrozen(DEFAULT_PRICES)).toBe(true);
    expect(Object.isFrozen(DEFAULT_PRICES.models)).toBe(true);
    expect(() => {
      (DEFAULT_PRICES.models as Record<string, unknown>).x = { inputPerMTok: 1, outputPerMTok: 1 };
    }).toThrow();
  });
});

describe("priceFor", () => {
  it("finds an exact name", () => {
    expect(priceFor(DEFAULT_PRICES, "mistral-small-latest")).toEqual({
      model: "mistral-small-latest",
      inputPerMTok: 0.1,
      outputPerMTok: 0.3,
    });
  });

  it("resolves a dated version to <base>-latest, then <base>", () => {
    expect(priceFor(DEFAULT_PRICES, "mistral-small-2506")?.model).toBe("mistral-small-latest");
    expect(priceFor(DEFAULT_PRICES, "mistral-large-2411")?.model).toBe("mistral-large-latest");
    expect(priceFor(DEFAULT_PRICES, "mistral-moderation-2411")?.model).toBe("mistral-moderation-latest");
    expect(priceFor(DEFAULT_PRICES, "open-mistral-nemo-2407")?.model).toBe("open-mistral-nemo");
    expect(priceFor(DEFAULT_PRICES, "mistral-embed-2312")?.model).toBe("mistral-embed");
    expect(priceFor(DEFAULT_PRICES, "codestral-embed-2505")?.model).toBe("codestral-embed");
  });

  it("prefers an exact entry for a dated version over its -latest", () => {
    const t = mergePrices(DEFAULT_PRICES, {
      models: { "mistral-small-2409": { inputPerMTok: 0.2, outputPerMTok: 0.6 } },
    });
    expect(priceFor(t, "mistral-small-2409")).toEqual({
      model: "mistral-small-2409",
      inputPerMTok: 0.2,
      outputPerMTok: 0.6,
    });
  });

  it("does not guess: unknown names, bare prefixes, other suffixes and prototype keys give null", () => {
    for (const name of [
      "gpt-4o",
      "mistral-small",
      "mistral-small-3.2",
      "mistral-small-25061",
      "toString",
      "__proto__",
      "constructor",
      "",
    ]) {
      expect(priceFor(DEFAULT_PRICES, name), name).toBeNull();
    }
  });
});

describe("cost", () => {
  it("has no floating-point noise: 12 significant digits, so outputs read 0.0000647, not 6.469999999999999e-05", () => {
    expect(roundCost(6.469999999999999e-5)).toBe(0.0000647);
    expect(JSON.stringify(roundCost(0.1 + 0.2))).toBe("0.3");
    expect(roundCost(0)).toBe(0);
    expect(roundCost(1234.5678901234567)).toBe(1234.56789012);
    const table: PriceTable = { date: "2026-01-01", models: { m: { inputPerMTok: 0.1, outputPerMTok: 0.3 } } };
    // 2 prompt and 7 completion tokens: (2 x 0.1 + 7 x 0.3) / 1e6 / 2 is 0.0000011500000000000002 in floating point.
    expect(((2 * 0.1 + 7 * 0.3) / 1e6) * 0.5).not.toBe(0.00000115);
    expect(cost({ ...table, batchDiscount: 0.5 }, "m", 2, 7)).toBe(0.00000115);
  });

  it("is the list price times the batch discount", () => {
    expect(cost(DEFAULT_PRICES, "mistral-small-latest", 1_000_000, 0)).toBeCloseTo(0.05, 12);
    expect(cost(DEFAULT_PRICES, "mistral-large-latest", 1_000_000, 1_000_000)).toBeCloseTo(4, 12);
    expect(cost(DEFAULT_PRICES, "mistral-large-latest", 1500, 500)).toBeCloseTo((1500 * 2 + 500 * 6) / 1e6 / 2, 15);
    expect(cost(DEFAULT_PRICES, "mistral-small-2506", 2_000_000, 0)).toBeCloseTo(0.1, 12);
    expect(cost(DEFAULT_PRICES, "mistral-embed", 0, 0)).toBe(0);
  });

  it("uses the table's discount, and 0.5 when the table has none", () => {
    const full: PriceTable = { ...DEFAULT_PRICES, batchDiscount: 1 };
    expect(cost(full, "mistral-small-latest", 1_000_000, 0)).toBeCloseTo(0.1, 12);
    const none: PriceTable = { date: "2026-01-01", models: { m: { inputPerMTok: 10, outputPerMTok: 0 } } };
    expect(cost(none, "m", 1_000_000, 0)).toBeCloseTo(5, 12);
  });

  it("is null for a model without a price", () => {
    expect(cost(DEFAULT_PRICES, "my-fine-tune", 100, 100)).toBeNull();
  });
});

describe("mergePrices and checkPrices", () => {
  it("lays an override over the base without changing either", () => {
    const override = {
      date: "2027-01-01",
      batchDiscount: 0.4,
      models: {
        "mistral-small-latest": { inputPerMTok: 0.2, outputPerMTok: 0.5 },
        "ft:custom": { inputPerMTok: 1, outputPerMTok: 2 },
      },
    };
    const merged = mergePrices(DEFAULT_PRICES, override);
    expect(merged.date).toBe("2027-01-01");
    expect(merged.batchDiscount).toBe(0.4);
    expect(merged.models["mistral-small-latest"]).toEqual({ inputPerMTok: 0.2, outputPerMTok: 0.5 });
    expect(merged.models["ft:custom"]).toEqual({ inputPerMTok: 1, outputPerMTok: 2 });
    expect(merged.models["mistral-large-latest"]).toEqual(DEFAULT_PRICES.models["mistral-large-latest"]);
    expect(DEFAULT_PRICES.models["mistral-small-latest"]).toEqual({ inputPerMTok: 0.1, outputPerMTok: 0.3 });
    expect(DEFAULT_PRICES.models["ft:custom"]).toBeUndefined();
    expect(override.models["mistral-small-latest"]).toEqual({ inputPerMTok: 0.2, outputPerMTok: 0.5 });
  });

  it("keeps the base's date and discount when the override has none; no override copies the base", () => {
    const merged = mergePrices(DEFAULT_PRICES, { models: {} });
    expect(merged.date).toBe(DEFAULT_PRICES.date);
    expect(merged.batchDiscount).toBe(0.5);
    const copy = mergePrices(DEFAULT_PRICES);
    expect(copy).toEqual(DEFAULT_PRICES);
    expect(copy.models).not.toBe(DEFAULT_PRICES.models);
  });

  it("rejects an invalid override, naming the field, the value and what is allowed", () => {
    expect(() => mergePrices(DEFAULT_PRICES, { models: { m: { inputPerMTok: -1, outputPerMTok: 1 } } })).toThrow(
      /price override\.models\["m"\]\.inputPerMTok is -1; expected a finite number >= 0/,
    );
    expect(() => mergePrices(DEFAULT_PRICES, { batchDiscount: 0 })).toThrow(
      /batchDiscount is 0; expected .* in \(0, 1\]/,
    );
    expect(() => mergePrices(DEFAULT_PRICES, { batchDiscount: 1.5 })).toThrow(/batchDiscount is 1.5/);
  });

  it("checkPrices lists every problem of a full table", () => {
    const problems = checkPrices({ models: { a: { inputPerMTok: "1", outputPerMTok: 1 }, b: null } });
    expect(problems).toHaveLength(3);
    expect(problems[0]).toMatch(/^prices\.date is missing; expected the date/);
    expect(problems[1]).toMatch(/prices\.models\["a"\]\.inputPerMTok is "1"/);
    expect(problems[2]).toMatch(/prices\.models\["b"\] is null/);
    expect(checkPrices("cheap")).toEqual(['prices is "cheap"; expected an object { date, batchDiscount?, models }']);
    expect(checkPrices({ date: "2026-01-01" })[0]).toMatch(/prices\.models is missing/);
  });
});
