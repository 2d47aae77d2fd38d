/**
 * The report of an evaluation run: one self-contained HTML page (inline CSS and SVG, nothing fetched, no script)
 * and a Markdown summary for terminals and pull requests.
 *
 * The rows file (JSONL, one line per dataset item, written by the join) is read streaming: memory stays bounded by
 * the caps (`maxItems` items shown, `maxPerModel` wrong answers per model, `maxTextChars` per text), whatever the
 * number of items; figures over all items (agreement, per-model verdict counts) are counted as the lines go by.
 *
 * The parts: types.ts (options, rows), rows.ts (reading the rows file), format.ts (numbers, money, escaping, the
 * terminal table), chart.ts (the SVG chart, model colours), html.ts, sections/ and css.ts (the page), markdown.ts
 * (the summary).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { HistoryCollector, recordRun } from "../history";
import { renderHtml } from "./html";
import { renderMarkdown } from "./markdown";
import { readRows } from "./rows";
import type { ReportPaths, WriteReportOptions } from "./types";

export type { ReportMeta, ReportPaths, ReportRow, RowAnswer, Verdict, WriteReportOptions } from "./types";
export { verdictOf } from "./rows";
export { escapeHtml, formatPercent, formatSummaryTable, formatUsd } from "./format";
export { modelColor } from "./chart";

export const DEFAULT_MAX_ITEMS = 500;
export const DEFAULT_MAX_PER_MODEL = 100;
export const DEFAULT_MAX_TEXT_CHARS = 2000;

/** Where writeReport puts the page and the summary in `outDir` (absolute). */
export function reportPaths(outDir: string): ReportPaths {
  return { htmlPath: path.resolve(outDir, "report.html"), markdownPath: path.resolve(outDir, "report.md") };
}

export async function writeReport(options: WriteReportOptions): Promise<ReportPaths> {
  const maxItems = positiveInt(options.maxItems, DEFAULT_MAX_ITEMS, "maxItems");
  const maxPerModel = positiveInt(options.maxPerModel, DEFAULT_MAX_PER_MODEL, "maxPerModel");
  const maxTextChars = positiveInt(options.maxTextChars, DEFAULT_MAX_TEXT_CHARS, "maxTextChars");
  const models = options.summaries.map((s) => s.model);
  if (new Set(models).size !== models.length) throw new Error("writeReport: summaries name a model more than once");

  const collector = options.history ? new HistoryCollector(models) : undefined;
  const rows = await readRows(options.rowsFile, models, { maxItems, maxPerModel, maxTextChars }, collector);
  if (options.history && collector) {
    const declared = new Map(options.history.runs.map((r) => [r.label, r]));
    const generated = options.meta.generatedAt;
    const recorded = recordRun(
      options.history.dir,
      {
        at: (generated instanceof Date ? generated : new Date(generated)).toISOString(),
        scorer: options.history.scorer,
        runs: options.summaries.map((s, m) => ({
          label: s.model,
          model: declared.get(s.model)?.model ?? s.model,
          overrides: declared.get(s.model)?.overrides ?? "",
          answeredBy: s.answeredBy ?? [],
          ...(s.resolvedModel ? { resolved: s.resolvedModel } : {}),
          ...collector.scoresOf(m),
        })),
      },
      collector.items,
    );
    rows.diff = recorded.diff;
    rows.notes.push(...recorded.notes);
  }

  await fs.promises.mkdir(options.outDir, { recursive: true });
  const { htmlPath, markdownPath } = reportPaths(options.outDir);
  await writeAtomically(htmlPath, renderHtml(options, rows, maxItems));
  await writeAtomically(markdownPath, renderMarkdown(options, rows, htmlPath));
  return { htmlPath, markdownPath };
}

async function writeAtomically(file: string, text: string): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await fs.promises.writeFile(tmp, text, "utf8");
  await fs.promises.rename(tmp, file);
}

function positiveInt(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1)
    throw new Error(`writeReport: ${name} must be a positive integer, got ${value}`);
  return value;
}
