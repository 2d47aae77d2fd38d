/** Formatting shared by the HTML page, the Markdown summary and the terminal table. */
import * as path from "node:path";
import type { ModelSummary } from "../types";
import type { WriteReportOptions } from "./types";

export const int = (n: number): string => (Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "—");

export function formatPercent(x: number | null | undefined): string {
  return typeof x === "number" && Number.isFinite(x) ? `${(x * 100).toFixed(1)}%` : "n/a";
}

/**
 * An accuracy with its 95% interval and the items it rests on, e.g. `90.0% (78.6–95.7%, n=50)`; the accuracy alone
 * for a summary without an interval (made before intervals were recorded).
 */
export function formatAccuracy(
  accuracy: number | null | undefined,
  interval: { low: number; high: number; n: number } | null | undefined,
): string {
  const text = formatPercent(accuracy);
  if (!interval || typeof accuracy !== "number") return text;
  return `${text} (${formatInterval(interval)}, n=${int(interval.n)})`;
}

/**
 * Accuracy per model at a glance, for a stack output: each summary's accuracy rounded to 4 decimals (0.9, not
 * 0.8999999999999999), null where nothing was scored; keyed by the run's label.
 */
export function accuracyByModel(
  summaries: readonly { model: string; accuracy: number | null }[],
): Record<string, number | null> {
  return Object.fromEntries(
    summaries.map((s) => [s.model, s.accuracy === null ? null : Math.round(s.accuracy * 10_000) / 10_000]),
  );
}

/** An interval of shares in percent: `78.6–95.7%`. */
export function formatInterval(interval: { low: number; high: number }): string {
  return `${(interval.low * 100).toFixed(1)}–${(interval.high * 100).toFixed(1)}%`;
}

/** USD with as many decimals as small amounts need (two significant digits below one cent). */
export function formatUsd(x: number | null | undefined): string {
  if (typeof x !== "number" || !Number.isFinite(x)) return "—";
  const sign = x < 0 ? "-" : "";
  const v = Math.abs(x);
  if (v === 0) return "$0.00";
  if (v >= 1) return `${sign}$${v.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
  if (v >= 0.01) return `${sign}$${v.toFixed(4)}`;
  const decimals = Math.min(10, 1 - Math.floor(Math.log10(v)));
  return `${sign}$${v.toFixed(decimals)}`;
}

export function formatDate(d: string | Date): string {
  return d instanceof Date ? d.toISOString() : String(d);
}

export function discountText(batchDiscount: number | undefined): string {
  const d = batchDiscount ?? 0.5;
  return `batch price = ${Math.round(d * 1000) / 10}% of list price`;
}

export function reusedModels(options: WriteReportOptions): string[] {
  const set = new Set(options.meta.reused);
  for (const s of options.summaries) if (s.reused) set.add(s.model);
  return [...set];
}

export function sumKnown(values: (number | null | undefined)[]): { sum: number | null; partial: boolean } {
  let sum: number | null = null;
  let partial = false;
  for (const v of values) {
    if (typeof v === "number" && Number.isFinite(v)) sum = (sum ?? 0) + v;
    else partial = true;
  }
  return { sum, partial: partial && sum !== null };
}

/**
 * With a judge, what the evaluation cost in all at the batch price: the answers' (the summary table's Cost) and the
 * grading's, which the table leaves out. Null without a judge. A `*` marks a sum over the runs that have a price.
 */
export function spentText(summaries: readonly ModelSummary[]): string | null {
  if (!summaries.some((s) => s.judge)) return null;
  const money = (x: { sum: number | null; partial: boolean }) =>
    x.sum === null ? "no price" : `${formatUsd(x.sum)}${x.partial ? "*" : ""}`;
  const answerCosts = summaries.map((s) => s.cost);
  const gradingCosts = summaries.flatMap((s) => (s.judge ? [s.judge.cost] : []));
  const answers = sumKnown(answerCosts);
  const grading = sumKnown(gradingCosts);
  const all = sumKnown([...answerCosts, ...gradingCosts]);
  return `Spent in all: ${money(all)} at the batch price (answers ${money(answers)}, grading ${money(grading)})${all.partial ? "; * over the runs with a price" : ""}`;
}

/** A plain-text table of the summaries, for terminal output. */
export function formatSummaryTable(summaries: ModelSummary[]): string {
  const header = [
    "model",
    "status",
    "accuracy",
    "95% CI",
    "scored",
    "ok/total",
    "failed",
    "unattributed",
    "prompt tok",
    "completion tok",
    "cost",
    "estimated",
  ];
  const right = [false, false, true, true, true, true, true, true, true, true, true, true];
  const body = summaries.map((s) => [
    s.model + (s.reused ? " (reused)" : ""),
    s.status ?? "—",
    formatPercent(s.accuracy),
    s.accuracyInterval ? formatInterval(s.accuracyInterval) : "—",
    int(s.scored),
    `${int(s.succeeded)}/${int(s.total)}`,
    int(s.failed),
    int(s.unattributed ?? 0),
    int(s.promptTokens),
    int(s.completionTokens),
    s.cost === null ? "no price" : formatUsd(s.cost),
    s.estimatedCost == null ? "—" : formatUsd(s.estimatedCost),
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...body.map((r) => r[c].length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, c) => (right[c] ? cell.padStart(widths[c]) : cell.padEnd(widths[c])))
      .join("  ")
      .trimEnd();
  const out = [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...body.map(line)];
  if (summaries.length === 0) out.push("(no models)");
  return out.join("\n");
}

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(text: unknown): string {
  return String(text).replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

/** Text with every path under `base` made relative to it (`base` itself: "."). */
export function relativeTo(base: string, text: string): string {
  const root = path.resolve(base).replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const sep = path.sep.replace(/\\/g, "\\\\");
  return text.replace(new RegExp(`${root}${sep}`, "g"), "").replace(new RegExp(`${root}(?![\\w-]|\\.\\w)`, "g"), ".");
}
