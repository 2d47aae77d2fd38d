/**
 * Pieces of HTML the report's sections share: verdict marks, clipped texts, a run's job cell, status badges, colour
 * swatches and answer cells. Every text is escaped here; nothing is markup that came from the data.
 */
import type { ModelSummary } from "../../types";
import { escapeHtml, int } from "../format";
import type { Cell, Clip } from "../rows";
import type { Verdict } from "../types";

export const MARKS: Record<Verdict, string> = {
  right: "✓",
  wrong: "✗",
  partial: "◐",
  failed: "⚠",
  unscored: "·",
  missing: "—",
};
export const VERDICT_TEXT: Record<Verdict, string> = {
  right: "right",
  wrong: "wrong",
  partial: "partly right",
  failed: "request failed",
  unscored: "not scored",
  missing: "no answer in the rows",
};

export function clipHtml(c: Clip | undefined, emptyText = "—"): string {
  if (!c) return `<span class="none">${escapeHtml(emptyText)}</span>`;
  const more = c.cut ? `<span class="cut">… ${int(c.cut)} more characters</span>` : "";
  return `<div class="text">${escapeHtml(c.text)}${more}</div>`;
}

/** A run's job: its id, or for several jobs (shards) the first and how many more, every id in the title. */
export function jobCell(s: ModelSummary): string {
  const ids = s.jobIds ?? (s.jobId ? [s.jobId] : []);
  const [first] = ids;
  if (first === undefined) return '<span class="none">—</span>';
  if (ids.length === 1) return `<code>${escapeHtml(first)}</code>`;
  return `<span title="${escapeHtml(ids.join(" "))}"><code>${escapeHtml(first)}</code> +${ids.length - 1} more</span>`;
}

export function statusBadge(status: string | undefined): string {
  if (!status) return `<span class="none">—</span>`;
  const cls = status.toLowerCase().replace(/[^a-z0-9]+/g, "-");
  return `<span class="status status-${escapeHtml(cls)}">${escapeHtml(status)}</span>`;
}

export function swatch(color: string): string {
  return `<span class="swatch" style="background:${color}"></span>`;
}

/** The verdict mark beside the answer (or error), and anything after it. */
export function answerCell(cell: Cell, after: string): string {
  const mark = `<span class="mark" title="${VERDICT_TEXT[cell.verdict]}">${MARKS[cell.verdict]}</span>`;
  const body = cell.verdict === "missing" ? `<span class="none">${VERDICT_TEXT.missing}</span>` : clipHtml(cell.text);
  return `<div class="cell">${mark}<div class="body">${body}${after}</div></div>`;
}

export function scoreText(score: number | undefined): string {
  return score === undefined ? "" : Number.isInteger(score) ? String(score) : score.toFixed(2);
}
