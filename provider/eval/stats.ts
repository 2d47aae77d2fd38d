/**
 * The statistics of a comparison, as pure functions: how sure an accuracy is (Wilson's interval, suited to
 * proportions on small samples), how sure a mean score is (its standard error), whether two models differ on the
 * same items (an exact McNemar test on the items they disagree on, a paired bootstrap interval of the difference
 * with a recorded seed), a correction for comparing several pairs at once (Holm), and the smallest difference a
 * dataset of n items can detect before anything is spent. Tested against values computed by statsmodels and SciPy
 * (test/provider/eval/stats.test.ts).
 */

import type { ModelSummary } from "./types";

/** A two-sided interval. */
export interface Interval {
  low: number;
  high: number;
}

/** The standard normal quantile: the z with P(Z <= z) = p (Acklam's rational approximation: relative error < 1.2e-9). */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`normalQuantile: p is ${p}; allowed: 0 < p < 1`);
  const a = [
    -39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239,
  ];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [
    -0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968,
    2.938163982698783,
  ];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const low = 0.02425;
  let x: number;
  if (p < low) {
    const q = Math.sqrt(-2 * Math.log(p));
    x =
      (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
      ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  } else if (p <= 1 - low) {
    const q = p - 0.5;
    const r = q * q;
    x =
      ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) /
      (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
  } else {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    x =
      -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
      ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  return x;
}

/** z of a two-sided interval at `confidence` (0.95: 1.95996...). */
export function zOf(confidence: number): number {
  if (!(confidence > 0 && confidence < 1))
    throw new RangeError(`confidence is ${confidence}; allowed: a number between 0 and 1, e.g. 0.95`);
  return normalQuantile(1 - (1 - confidence) / 2);
}

/** Wilson's score interval of `successes` out of `n` at `confidence` (default 95%); [0, 1] when n is 0. */
export function wilson(successes: number, n: number, confidence = 0.95): Interval {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`wilson: n is ${n}; allowed: a whole number >= 0`);
  if (!Number.isInteger(successes) || successes < 0 || successes > n)
    throw new RangeError(`wilson: successes is ${successes}; allowed: a whole number from 0 to n (${n})`);
  if (n === 0) return { low: 0, high: 1 };
  const z = zOf(confidence);
  const p = successes / n;
  const z2 = z * z;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z / (1 + z2 / n)) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  // At 0 and n the interval touches the bound exactly (rounding would leave 1e-17 off it).
  return { low: successes === 0 ? 0 : centre - half, high: successes === n ? 1 : centre + half };
}

/** The mean of `values` and its standard error (sample standard deviation / sqrt(n)); null for no values. */
export function meanWithError(values: readonly number[]): { mean: number; standardError: number; n: number } | null {
  const n = values.length;
  if (n === 0) return null;
  let sum = 0;
  for (const v of values) sum += v;
  const mean = sum / n;
  if (n === 1) return { mean, standardError: 0, n };
  let squares = 0;
  for (const v of values) squares += (v - mean) ** 2;
  return { mean, standardError: Math.sqrt(squares / (n - 1) / n), n };
}

/**
 * The 95% interval of an accuracy over `n` scored items: Wilson's for right-or-wrong scores (a proportion, sound on
 * small samples), else the mean score plus or minus 1.96 standard errors, kept within [0, 1]; null for no items.
 */
export function accuracyInterval(
  n: number,
  sum: number,
  squares: number,
  binary: boolean,
): ModelSummary["accuracyInterval"] {
  if (n === 0) return null;
  if (binary) return { ...wilson(Math.round(sum), n), method: "wilson", n };
  const mean = sum / n;
  // The sample variance from the sums (n - 1 in the denominator); 0 for one item.
  const variance = n > 1 ? Math.max(0, (squares - n * mean * mean) / (n - 1)) : 0;
  const standardError = Math.sqrt(variance / n);
  const half = zOf(0.95) * standardError;
  return { low: Math.max(0, mean - half), high: Math.min(1, mean + half), method: "mean ± 1.96 SE", n, standardError };
}

/**
 * The exact McNemar test of two models scored right or wrong on the same items: `onlyA` items only the first got
 * right, `onlyB` only the second. The two-sided p-value of the binomial test of min(onlyA, onlyB) among the
 * discordant items at 1/2 (as statsmodels' `mcnemar(exact=True)`); 1 when they never disagree.
 */
export function mcnemarExact(onlyA: number, onlyB: number): number {
  for (const [name, v] of [
    ["onlyA", onlyA],
    ["onlyB", onlyB],
  ] as const)
    if (!Number.isInteger(v) || v < 0)
      throw new RangeError(`mcnemarExact: ${name} is ${v}; allowed: a whole number >= 0`);
  const n = onlyA + onlyB;
  if (n === 0) return 1;
  const k = Math.min(onlyA, onlyB);
  // P(X <= k) for X ~ Binomial(n, 1/2), summed in log space (0.5^n underflows past n = 1074).
  let logTerm = -n * Math.LN2;
  let logSum = logTerm;
  for (let i = 0; i < k; i++) {
    logTerm += Math.log((n - i) / (i + 1));
    const hi = Math.max(logSum, logTerm);
    logSum = hi + Math.log(Math.exp(logSum - hi) + Math.exp(logTerm - hi));
  }
  return Math.min(1, 2 * Math.exp(logSum));
}

/** Holm's step-down adjustment of p-values for comparing several pairs at once (as statsmodels' "holm"). */
export function holm(pValues: readonly number[]): number[] {
  const m = pValues.length;
  const order = pValues.map((p, i) => [p, i] as const).sort((x, y) => x[0] - y[0]);
  const adjusted = new Array<number>(m);
  let running = 0;
  order.forEach(([p, i], rank) => {
    running = Math.max(running, Math.min(1, (m - rank) * p));
    adjusted[i] = running;
  });
  return adjusted;
}

/** A small seeded generator (mulberry32): the same seed gives the same resamples on every machine. */
function generator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** What a paired bootstrap found: the observed mean difference, its interval, and how it was drawn. */
export interface PairedBootstrap extends Interval {
  difference: number;
  confidence: number;
  resamples: number;
  seed: number;
}

/**
 * The paired bootstrap interval of mean(a - b) over the same items (a[i] and b[i] score item i): `resamples` draws
 * of n items with replacement from a generator seeded with `seed`, the percentile interval at `confidence`.
 */
export function pairedBootstrap(
  a: readonly number[],
  b: readonly number[],
  options: { seed: number; resamples?: number; confidence?: number },
): PairedBootstrap {
  if (a.length !== b.length)
    throw new RangeError(
      `pairedBootstrap: the two score lists have ${a.length} and ${b.length} items; allowed: the same items`,
    );
  const { seed, resamples = 10_000, confidence = 0.95 } = options;
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff)
    throw new RangeError(`pairedBootstrap: seed is ${seed}; allowed: a whole number from 0 to 4294967295`);
  if (!Number.isInteger(resamples) || resamples < 1)
    throw new RangeError(`pairedBootstrap: resamples is ${resamples}; allowed: a whole number >= 1`);
  zOf(confidence); // validates it
  const n = a.length;
  const diffs = a.map((x, i) => x - b[i]);
  const difference = n === 0 ? 0 : diffs.reduce((s, d) => s + d, 0) / n;
  if (n === 0) return { difference, low: 0, high: 0, confidence, resamples, seed };
  const next = generator(seed);
  const means = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += diffs[Math.floor(next() * n)];
    means[r] = sum / n;
  }
  means.sort();
  const tail = (1 - confidence) / 2;
  const at = (q: number) => means[Math.min(resamples - 1, Math.max(0, Math.floor(q * resamples)))];
  return { difference, low: at(tail), high: at(1 - tail - 1 / resamples), confidence, resamples, seed };
}

/**
 * The smallest difference in accuracy between two models that `n` paired items detect with probability `power`
 * at two-sided level `alpha` (McNemar's test, Connor's normal approximation: n = (z_a sqrt(psi) + z_b sqrt(psi -
 * d^2))^2 / d^2), where `discordant` (psi) is the share of items the two models disagree on; the default 0.5 is
 * the largest it can be for accuracies near one half, so the figure is conservative. Null when no difference up
 * to `discordant` is detectable (too few items).
 */
export function minimumDetectableDifference(
  n: number,
  options: { alpha?: number; power?: number; discordant?: number } = {},
): number | null {
  const { alpha = 0.05, power = 0.8, discordant = 0.5 } = options;
  if (!Number.isInteger(n) || n < 1)
    throw new RangeError(`minimumDetectableDifference: n is ${n}; allowed: a whole number >= 1`);
  if (!(discordant > 0 && discordant <= 1))
    throw new RangeError(`minimumDetectableDifference: discordant is ${discordant}; allowed: 0 < discordant <= 1`);
  const za = normalQuantile(1 - alpha / 2);
  const zb = normalQuantile(power);
  const needed = (d: number) =>
    (za * Math.sqrt(discordant) + zb * Math.sqrt(Math.max(0, discordant - d * d))) ** 2 / (d * d);
  // needed() falls as d grows: bisect for the d where it meets n.
  if (needed(discordant) > n) return null;
  let lo = 1e-9;
  let hi = discordant;
  for (let i = 0; i < 100; i++) {
    const mid = (lo + hi) / 2;
    if (needed(mid) > n) lo = mid;
    else hi = mid;
  }
  return hi;
}

/** The seed of every paired bootstrap of a report, recorded beside its intervals. */
export const BOOTSTRAP_SEED = 20_261_203;

/** Two models compared on the items both were judged on. */
export interface PairComparison {
  a: string;
  b: string;
  /** Items both models were judged on (a failed request scoring 0). */
  n: number;
  /** mean(score a - score b), with its 95% interval. */
  difference: number;
  low: number;
  high: number;
  /** How the interval was drawn: a paired bootstrap (its resamples and seed), or the normal one on many items. */
  interval: { method: "paired bootstrap"; resamples: number; seed: number } | { method: "normal" };
  /**
   * Items A scored higher on, and items B scored higher on: with right-or-wrong scores, the items only A and only B
   * got right.
   */
  onlyA: number;
  onlyB: number;
  /**
   * Whether every score of the pair is 0 or 1. Then the test is McNemar's exact test; with partial scores, the exact
   * sign test on the items where one scored higher (the same binomial test, which McNemar's is for 0/1 scores).
   */
  binary: boolean;
  /** The exact test's p-value, and adjusted by Holm over all the pairs of the report. */
  p: number;
  adjustedP: number;
  significant: boolean;
}

/** Above this many paired items the interval is the normal one (a bootstrap would cost n x resamples). */
const BOOTSTRAP_MAX_ITEMS = 20_000;

/**
 * Every pair of models compared on the same items: `scores[m][i]` is model m's score on item i, NaN where it was
 * not judged. The difference with its 95% interval, the exact McNemar test on the items they disagree on, and
 * Holm's correction over the pairs; significant when the adjusted p-value is below `alpha`.
 */
export function comparePairs(
  models: readonly string[],
  scores: readonly ArrayLike<number>[],
  alpha = 0.05,
): PairComparison[] {
  const pairs: Omit<PairComparison, "adjustedP" | "significant">[] = [];
  for (let x = 0; x < models.length; x++) {
    for (let y = x + 1; y < models.length; y++) {
      const sa = scores[x] ?? [];
      const sb = scores[y] ?? [];
      const a: number[] = [];
      const b: number[] = [];
      let onlyA = 0;
      let onlyB = 0;
      let binary = true;
      const length = Math.min(sa.length, sb.length);
      for (let i = 0; i < length; i++) {
        const u = sa[i] ?? Number.NaN;
        const v = sb[i] ?? Number.NaN;
        if (Number.isNaN(u) || Number.isNaN(v)) continue;
        a.push(u);
        b.push(v);
        if ((u !== 0 && u !== 1) || (v !== 0 && v !== 1)) binary = false;
        if (u > v) onlyA++;
        else if (v > u) onlyB++;
      }
      const n = a.length;
      let interval: PairComparison["interval"];
      let difference: number;
      let low: number;
      let high: number;
      if (n <= BOOTSTRAP_MAX_ITEMS) {
        const resamples = n <= 2_000 ? 10_000 : Math.max(1_000, Math.floor(2e7 / n));
        ({ difference, low, high } = pairedBootstrap(a, b, { seed: BOOTSTRAP_SEED, resamples }));
        interval = { method: "paired bootstrap", resamples, seed: BOOTSTRAP_SEED };
      } else {
        const stats = meanWithError(a.map((u, i) => u - (b[i] ?? 0)));
        difference = stats?.mean ?? 0;
        const half = zOf(0.95) * (stats?.standardError ?? 0);
        low = difference - half;
        high = difference + half;
        interval = { method: "normal" };
      }
      pairs.push({
        a: models[x] ?? "",
        b: models[y] ?? "",
        n,
        difference,
        low,
        high,
        interval,
        onlyA,
        onlyB,
        binary,
        p: mcnemarExact(onlyA, onlyB),
      });
    }
  }
  const adjusted = holm(pairs.map((p) => p.p));
  return pairs.map((p, i) => ({ ...p, adjustedP: adjusted[i] ?? 1, significant: (adjusted[i] ?? 1) < alpha }));
}

/** The exact test of a comparison: McNemar's for right-or-wrong scores, the sign test for partial ones. */
export function testName(c: Pick<PairComparison, "binary">): string {
  return c.binary ? "McNemar" : "sign test";
}

/** A p-value in words: `p = 0.227`, or `p < 0.001` below that. */
export function formatP(p: number): string {
  return p < 0.001 ? "p < 0.001" : `p = ${p.toFixed(3)}`;
}

/** A comparison in words: `large vs small: +10.0 points (95% CI -2.0 to +22.0), not significant at n=50 (...)`. */
export function describePair(c: PairComparison, pairs: number): string {
  const points = (x: number) => `${x >= 0 ? "+" : "-"}${Math.abs(x * 100).toFixed(1)}`;
  const how =
    c.interval.method === "paired bootstrap"
      ? `paired bootstrap, ${c.interval.resamples.toLocaleString("en-US")} resamples, seed ${c.interval.seed}`
      : "normal interval";
  const name = testName(c);
  const test =
    pairs > 1
      ? `${name} ${formatP(c.p)}, Holm-adjusted over ${pairs} pairs ${formatP(c.adjustedP)}`
      : `${name} ${formatP(c.p)}`;
  const counts = c.binary
    ? `right only with ${c.a}: ${c.onlyA}, only with ${c.b}: ${c.onlyB}`
    : `scored higher with ${c.a}: ${c.onlyA}, with ${c.b}: ${c.onlyB}`;
  return (
    `${c.a} vs ${c.b}: ${points(c.difference)} points (95% CI ${points(c.low)} to ${points(c.high)}; ${how}), ` +
    `${c.significant ? "significant" : "not significant"} at n=${c.n.toLocaleString("en-US")} (${counts}; ${test})`
  );
}
