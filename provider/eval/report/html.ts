/**
 * The HTML page (report.html): self-contained (inline CSS and SVG, nothing fetched; one small inline script, allowed
 * by its hash alone, to search, filter and sort the items). Header, chart, then the sections (sections/): summary
 * table, differences between models, changes since the previous run, per-model wrong and failed answers, and the
 * answers side by side. Below 640 px the tables become one card per row, each cell with its label.
 */
import { chartSvg, modelColor } from "./chart";
import { CSS } from "./css";
import { discountText, escapeHtml, formatDate, int, relativeTo, reusedModels } from "./format";
import { SCRIPT, SCRIPT_HASH } from "./script";
import type { RowsDigest } from "./rows";
import { comparisonsSection, historySection } from "./sections/changes";
import { itemsSection } from "./sections/items";
import { modelsSection } from "./sections/models";
import { summarySection } from "./sections/summary";
import type { WriteReportOptions } from "./types";

export function renderHtml(options: WriteReportOptions, rows: RowsDigest, maxItems: number): string {
  const { summaries, meta, prices } = options;
  const colors = summaries.map((_, i) => modelColor(i));
  const reused = reusedModels(options);
  const reusedSet = new Set(reused);
  const e = escapeHtml;
  const out: string[] = [];

  out.push(
    "<!doctype html>",
    '<html lang="en">',
    "<head>",
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    // Nothing is fetched and no script runs but the page's own (by its hash), whatever the text in the report holds.
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src ${SCRIPT_HASH}; base-uri 'none'; form-action 'none'">`,
    `<title>${e(options.title)}</title>`,
    `<style>${CSS}</style>`,
    "</head>",
    "<body>",
    "<main>",
  );

  // Header
  out.push('<header id="top">', `<h1>${e(options.title)}</h1>`, '<dl class="meta">');
  const metaRow = (k: string, v: string) => out.push(`<dt>${k}</dt><dd>${v}</dd>`);
  // Paths under the program's directory relative to it, as in the Markdown: the page is shared as it is.
  const local = (text: string) => relativeTo(options.baseDir ?? process.cwd(), text);
  metaRow("Dataset", `<code>${e(local(meta.dataset))}</code> · ${int(rows.items)} items`);
  metaRow("Endpoint", `<code>${e(meta.endpoint)}</code>`);
  metaRow("Generated", e(formatDate(meta.generatedAt)));
  metaRow("Prices", `list prices of ${e(prices.date)}; ${e(discountText(prices.batchDiscount))}`);
  metaRow(
    "Reused runs",
    reused.length
      ? reused.map((m) => `<code>${e(m)}</code>`).join(", ")
      : '<span class="muted">none — every run was submitted anew</span>',
  );
  out.push("</dl>");
  const notes = [...(meta.notes ?? []), ...rows.notes];
  if (rows.unknownModels.length)
    notes.push(`The rows also hold answers of models without a summary, not shown: ${rows.unknownModels.join(", ")}`);
  if (notes.length) out.push('<ul class="notes">', ...notes.map((n) => `<li>${e(local(n))}</li>`), "</ul>");
  out.push("</header>");

  // Chart
  out.push(
    '<section class="card" id="chart">',
    "<h2>Accuracy and cost per model</h2>",
    '<div class="chart-wrap">',
    chartSvg(summaries, colors),
    chartSvg(summaries, colors, "narrow"),
    "</div>",
    "</section>",
  );

  out.push(
    ...summarySection(summaries, colors, reusedSet),
    ...comparisonsSection(rows),
    ...historySection(rows),
    ...modelsSection(summaries, rows, colors, reusedSet),
    ...itemsSection(options, rows, colors, maxItems),
  );

  out.push(
    `<footer>Written by pulumi-mistral-batch · self-contained: opens offline, fetches nothing; its one inline script only searches, filters and sorts the items.</footer>`,
  );
  out.push("</main>", `<script>${SCRIPT}</script>`, "</body>", "</html>", "");
  return out.join("\n");
}
