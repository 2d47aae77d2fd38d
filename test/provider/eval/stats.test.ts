/**
 * The comparison statistics (provider/eval/stats.ts) against values computed by well-kept libraries: statsmodels
 * 0.15 (`proportion_confint(method="wilson")`, `mcnemar(exact=True)`, `multipletests(method="holm")`) and SciPy 1.17
 * (`norm.ppf`; the minimum detectable difference solved with `brentq` on the same formula), printed to 16 digits.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  accuracyInterval,
  BOOTSTRAP_SEED,
  comparePairs,
  describePair,
  formatP,
  holm,
  mcnemarExact,
  meanWithError,
  minimumDetectableDifference,
  normalQuantile,
  pairedBootstrap,
  wilson,
  zOf,
} from "../../../provider/eval/stats";
import { accuracyByModel, formatAccuracy } from "../../../provider/eval/report/format";

describe("normalQuantile", () => {
  it("matches scipy.stats.norm.ppf across the range", () => {
    const cases: [number, number][] = [
      [0.975, 1.959963984540054],
      [0.8, 0.8416212335729143],
      [0.5, 0],
      [0.001, -3.090232306167813],
      [0.999999, 4.753424308817087],
    ];
    for (const [p, z] of cases) expect(normalQuantile(p)).toBeCloseTo(z, 7);
    expect(zOf(0.95)).toBeCloseTo(1.959963984540054, 8);
  });

  it("refuses what is not a probability, saying what is allowed", () => {
    expect(() => normalQuantile(1)).toThrow("normalQuantile: p is 1; allowed: 0 < p < 1");
    expect(() => zOf(95)).toThrow("confidence is 95; allowed: a number between 0 and 1, e.g. 0.95");
  });
});

describe("wilson", () => {
  it("matches statsmodels' Wilson interval, small and large samples and both bounds", () => {
    const cases: [number, number, number, number][] = [
      [45, 50, 0.7863976856252034, 0.9565242350681095],
      [40, 50, 0.6696289406777458, 0.8875624998422389],
      [0, 10, 0, 0.27753279986288926],
      [10, 10, 0.7224672001371106, 1],
      [81, 263, 0.2552885198782742, 0.36620957698280004],
      [1, 3, 0.06149194472039626, 0.7923403991979523],
      [500_000, 1_000_000, 0.4990200198900048, 0.5009799801099952],
    ];
    for (const [k, n, low, high] of cases) {
      const ci = wilson(k, n);
      expect(ci.low, `${k}/${n}`).toBeCloseTo(low, 7);
      expect(ci.high, `${k}/${n}`).toBeCloseTo(high, 7);
    }
    expect(wilson(0, 10).low).toBe(0);
    expect(wilson(10, 10).high).toBe(1);
    expect(wilson(0, 0)).toEqual({ low: 0, high: 1 });
  });

  it("always holds the observed accuracy and stays within [0, 1]", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100_000 }), fc.double({ min: 0, max: 1, noNaN: true }), (n, share) => {
        const k = Math.round(share * n);
        const ci = wilson(k, n);
        return ci.low >= 0 && ci.high <= 1 && ci.low <= k / n + 1e-12 && k / n <= ci.high + 1e-12;
      }),
    );
  });

  it("refuses counts that cannot be, naming them", () => {
    expect(() => wilson(6, 5)).toThrow("wilson: successes is 6; allowed: a whole number from 0 to n (5)");
    expect(() => wilson(1, 2.5)).toThrow("wilson: n is 2.5; allowed: a whole number >= 0");
  });
});

describe("meanWithError", () => {
  it("is the mean and the sample standard deviation over sqrt(n)", () => {
    // sd of [2, 4, 4, 4, 5, 5, 7, 9] with n - 1: sqrt(32 / 7); over sqrt(8).
    const r = meanWithError([2, 4, 4, 4, 5, 5, 7, 9])!;
    expect(r.mean).toBe(5);
    expect(r.standardError).toBeCloseTo(Math.sqrt(32 / 7) / Math.sqrt(8), 12);
    expect(meanWithError([0.5])).toEqual({ mean: 0.5, standardError: 0, n: 1 });
    expect(meanWithError([])).toBeNull();
  });
});

describe("mcnemarExact", () => {
  it("matches statsmodels' exact McNemar test, a few discordant items to thousands", () => {
    const cases: [number, number, number][] = [
      [2, 8, 0.109375],
      [0, 5, 0.0625],
      [5, 5, 1],
      [12, 3, 0.03515625],
      [30, 45, 0.10534226887460482],
      [1000, 1100, 0.03072070786424249],
    ];
    for (const [b, c, p] of cases) expect(mcnemarExact(b, c), `${b} vs ${c}`).toBeCloseTo(p, 10);
    expect(mcnemarExact(0, 0)).toBe(1);
    expect(mcnemarExact(8, 2)).toBe(mcnemarExact(2, 8));
  });

  it("refuses a count that is not a whole number", () => {
    expect(() => mcnemarExact(-1, 3)).toThrow("mcnemarExact: onlyA is -1; allowed: a whole number >= 0");
  });
});

describe("holm", () => {
  it("matches statsmodels' Holm adjustment, in the order given", () => {
    const close = (got: number[], want: number[]) => {
      expect(got).toHaveLength(want.length);
      for (const [i, p] of got.entries()) expect(p).toBeCloseTo(want[i]!, 12);
    };
    close(holm([0.01, 0.04, 0.03]), [0.03, 0.06, 0.06]);
    close(holm([0.2, 0.01, 0.5, 0.04]), [0.4, 0.04, 0.5, 0.12]);
    expect(holm([])).toEqual([]);
    expect(holm([0.7])).toEqual([0.7]);
  });
});

describe("pairedBootstrap", () => {
  const a = [1, 1, 1, 0, 1, 1, 0, 1, 1, 1, 0, 1, 1, 1, 1, 0, 1, 1, 1, 1];
  const b = [1, 0, 1, 0, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 1, 0, 1, 1, 0, 1];

  it("the same seed draws the same interval; another seed another, around the same difference", () => {
    const first = pairedBootstrap(a, b, { seed: 42 });
    expect(first).toEqual(pairedBootstrap(a, b, { seed: 42 }));
    expect(first).toMatchObject({ difference: 0.25, confidence: 0.95, resamples: 10_000, seed: 42 });
    expect(first.low).toBeLessThan(0.25);
    expect(first.high).toBeGreaterThan(0.25);
    // Five items of 20 only A got right, none only B: the difference is 5/20, and each resample's a multiple of 1/20
    // above 0 and below 1.
    for (const x of [first.low, first.high]) {
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThan(1);
      expect(Math.abs(x * 20 - Math.round(x * 20))).toBeLessThan(1e-9);
    }
    const other = pairedBootstrap(a, b, { seed: 7 });
    expect(other.seed).toBe(7);
    expect(Math.abs(other.low - first.low)).toBeLessThanOrEqual(0.1);
  });

  it("has no width when every item differs by the same amount, and none for no items", () => {
    expect(pairedBootstrap([1, 1, 1], [0, 0, 0], { seed: 1 })).toMatchObject({ difference: 1, low: 1, high: 1 });
    expect(pairedBootstrap([], [], { seed: 1 })).toMatchObject({ difference: 0, low: 0, high: 0 });
  });

  it("is about as wide as the normal interval of the paired differences on a larger sample", () => {
    const n = 400;
    const x = Array.from({ length: n }, (_, i) => (i % 5 === 0 ? 0 : 1));
    const y = Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 0 : 1));
    const boot = pairedBootstrap(x, y, { seed: 3 });
    const diffs = x.map((v, i) => v - y[i]!);
    const { mean, standardError } = meanWithError(diffs)!;
    expect(boot.difference).toBeCloseTo(mean, 12);
    expect(boot.low).toBeCloseTo(mean - 1.96 * standardError, 1);
    expect(boot.high).toBeCloseTo(mean + 1.96 * standardError, 1);
  });

  it("refuses lists of different items and a seed it cannot record", () => {
    expect(() => pairedBootstrap([1], [1, 0], { seed: 1 })).toThrow(
      "pairedBootstrap: the two score lists have 1 and 2 items; allowed: the same items",
    );
    expect(() => pairedBootstrap([1], [1], { seed: -1 })).toThrow(
      "pairedBootstrap: seed is -1; allowed: a whole number from 0 to 4294967295",
    );
  });
});

describe("minimumDetectableDifference", () => {
  it("matches the formula solved by SciPy's brentq, and says when nothing is detectable", () => {
    expect(minimumDetectableDifference(50)).toBeCloseTo(0.2736029513839203, 8);
    expect(minimumDetectableDifference(200)).toBeCloseTo(0.13925515548643186, 8);
    expect(minimumDetectableDifference(1000)).toBeCloseTo(0.0625715241800518, 8);
    expect(minimumDetectableDifference(100, { discordant: 0.2 })).toBeCloseTo(0.1238193314844138, 8);
    expect(minimumDetectableDifference(10)).toBeNull();
  });

  it("shrinks as the dataset grows", () => {
    fc.assert(
      fc.property(fc.integer({ min: 20, max: 100_000 }), (n) => {
        const small = minimumDetectableDifference(n)!;
        const large = minimumDetectableDifference(n * 2)!;
        return large < small;
      }),
      { numRuns: 200 },
    );
  });
});

describe("accuracyInterval and formatAccuracy", () => {
  it("Wilson for right-or-wrong scores, the mean with its standard error otherwise, within [0, 1]", () => {
    expect(accuracyInterval(0, 0, 0, true)).toBeNull();
    const binary = accuracyInterval(50, 45, 45, true)!;
    expect(binary).toMatchObject({ method: "wilson", n: 50 });
    expect(binary.low).toBeCloseTo(0.7863976856252034, 7);
    // Scores 0.5, 1, 1, 1: mean 0.875, sample sd 0.25, standard error 0.125.
    const graded = accuracyInterval(4, 3.5, 3.25, false)!;
    expect(graded).toMatchObject({ method: "mean ± 1.96 SE", n: 4 });
    expect(graded.standardError).toBeCloseTo(0.125, 12);
    expect(graded.low).toBeCloseTo(0.875 - 1.959963984540054 * 0.125, 8);
    expect(graded.high).toBe(1);
  });

  it("accuracy per model at a glance: rounded to 4 decimals, null kept", () => {
    expect(
      accuracyByModel([
        { model: "large", accuracy: 0.8999999999999999 },
        { model: "small", accuracy: 2 / 3 },
        { model: "unscored", accuracy: null },
      ]),
    ).toEqual({ large: 0.9, small: 0.6667, unscored: null });
  });

  it("writes the interval and the items beside the accuracy", () => {
    expect(formatAccuracy(0.9, accuracyInterval(50, 45, 45, true))).toBe("90.0% (78.6–95.7%, n=50)");
    expect(formatAccuracy(0.9, undefined)).toBe("90.0%");
    expect(formatAccuracy(null, null)).toBe("n/a");
  });
});

describe("comparePairs and describePair", () => {
  // 50 items: both right on 30, only A on 12, only B on 3, both wrong on 5; C fails (0) on the first 10, else as B.
  const a = Array.from({ length: 50 }, (_, i) => (i < 42 ? 1 : 0));
  const b = Array.from({ length: 50 }, (_, i) => (i < 30 || (i >= 42 && i < 45) ? 1 : 0));
  const c = b.map((v, i) => (i < 10 ? 0 : v));

  it("counts the discordant items, tests them exactly and bootstraps the difference with the recorded seed", () => {
    const [ab] = comparePairs(["A", "B"], [a, b]);
    expect(ab).toMatchObject({ a: "A", b: "B", n: 50, onlyA: 12, onlyB: 3 });
    expect(ab!.difference).toBeCloseTo(0.18, 12);
    expect(ab!.p).toBeCloseTo(0.03515625, 10); // statsmodels mcnemar(exact=True), 12 vs 3
    expect(ab!.adjustedP).toBe(ab!.p); // one pair: nothing to adjust
    expect(ab!.significant).toBe(true);
    expect(ab!.interval).toEqual({ method: "paired bootstrap", resamples: 10_000, seed: BOOTSTRAP_SEED });
    expect(ab!.low).toBeGreaterThan(0);
    expect(ab!.high).toBeGreaterThan(0.18);
    expect(describePair(ab!, 1)).toBe(
      `A vs B: +18.0 points (95% CI ${`+${(ab!.low * 100).toFixed(1)}`} to ${`+${(ab!.high * 100).toFixed(1)}`}; paired bootstrap, 10,000 resamples, seed ${BOOTSTRAP_SEED}), significant at n=50 (right only with A: 12, only with B: 3; McNemar p = 0.035)`,
    );
  });

  it("adjusts for several pairs (Holm) and leaves out items a model was not judged on", () => {
    const withGap: number[] = [...a];
    withGap[49] = Number.NaN;
    const pairs = comparePairs(["A", "B", "C"], [withGap, b, c]);
    expect(pairs.map((p) => `${p.a}-${p.b}`)).toEqual(["A-B", "A-C", "B-C"]);
    expect(pairs[0]!.n).toBe(49);
    const adjusted = holm(pairs.map((p) => p.p));
    expect(pairs.map((p) => p.adjustedP)).toEqual(adjusted);
    // B and C differ on 10 items, all B's: p = 2 / 2^10.
    expect(pairs[2]).toMatchObject({ onlyA: 10, onlyB: 0 });
    expect(pairs[2]!.p).toBeCloseTo(2 / 1024, 12);
    expect(describePair(pairs[2]!, 3)).toContain("McNemar p = 0.002, Holm-adjusted over 3 pairs p = ");
    expect([formatP(0.2274), formatP(0.001), formatP(0.000999), formatP(1e-12)]).toEqual([
      "p = 0.227",
      "p = 0.001",
      "p < 0.001",
      "p < 0.001",
    ]);
  });

  it("with partial scores, tests the items where one scored higher (sign test), so half points count", () => {
    // A scores 0.5 where B scores 0 on 12 items, B higher on 1: McNemar on "right" (score 1) would see no
    // discordant item at all and say p = 1.
    const x = Array.from({ length: 30 }, (_, i) => (i < 12 ? 0.5 : i === 12 ? 0 : 1));
    const y = Array.from({ length: 30 }, (_, i) => (i < 12 ? 0 : i === 12 ? 0.5 : 1));
    const [pair] = comparePairs(["x", "y"], [x, y]);
    expect(pair).toMatchObject({ onlyA: 12, onlyB: 1, binary: false });
    expect(pair!.p).toBeCloseTo(mcnemarExact(12, 1), 12); // scipy binomtest(1, 13, 0.5): 0.00341796875
    expect(pair!.p).toBeCloseTo(0.00341796875, 12);
    expect(pair!.significant).toBe(true);
    expect(describePair(pair!, 1)).toContain("(scored higher with x: 12, with y: 1; sign test p = 0.003)");
    expect(comparePairs(["A", "B"], [a, b])[0]!.binary).toBe(true);
  });

  it("says not significant when the data cannot tell", () => {
    const [pair] = comparePairs(
      ["x", "y"],
      [
        [1, 0, 1, 1],
        [1, 1, 0, 1],
      ],
    );
    expect(pair).toMatchObject({ onlyA: 1, onlyB: 1, p: 1, significant: false, difference: 0 });
    expect(describePair(pair!, 1)).toMatch(
      /^x vs y: \+0\.0 points \(95% CI -[0-9.]+ to \+[0-9.]+; .*\), not significant at n=4 /,
    );
  });

  it("uses the normal interval past 20,000 items, where a bootstrap would cost too much", () => {
    const n = 30_000;
    const [pair] = comparePairs(
      ["x", "y"],
      [
        Array.from({ length: n }, (_, i) => (i % 4 === 0 ? 0 : 1)),
        Array.from({ length: n }, (_, i) => (i % 5 === 0 ? 0 : 1)),
      ],
    );
    expect(pair!.interval).toEqual({ method: "normal" });
    expect(pair!.low).toBeLessThan(pair!.difference);
    expect(pair!.high).toBeGreaterThan(pair!.difference);
  });
});
