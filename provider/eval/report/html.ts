/**
 * The HTML page (report.html): self-contained (inline CSS and SVG, nothing fetched; one small inline script, allowed
 * by its hash alone, to search, filter and sort the items). Header, chart, summary table, per-model wrong and failed
 * answers, and the answers side by side. Below 640 px the tables become one card per row, each cell with its label.
 */
import type { ModelSummary } from "../types";
import { chartSvg, modelColor } from "./chart";
import { CSS } from "./css";
import {
  discountText,
  escapeHtml,
  formatAccuracy,
  formatDate,
  formatInterval,
  formatPercent,
  formatUsd,
  int,
  reusedModels,
  sumKnown,
} from "./format";
import { describeModelDiff } from "../history";
import { describePair } from "../stats";
import { SCRIPT, SCRIPT_HASH } from "./script";
import type { Cell, Clip, RowsDigest } from "./rows";
import type { Verdict, WriteReportOptions } from "./types";

const MARKS: Record<Verdict, string> = {
  right: "✓",
  wrong: "✗",
  partial: "◐",
  failed: "⚠",
  unscored: "·",
  missing: "—",
};
const VERDICT_TEXT: Record<Verdict, string> = {
  right: "right",
  wrong: "wrong",
  partial: "partly right",
  failed: "request failed",
  unscored: "not scored",
  missing: "no answer in the rows",
};

function clipHtml(c: Clip | undefined, emptyText = "—"): string {
  if (!c) return `<span class="none">${escapeHtml(emptyText)}</span>`;
  const more = c.cut ? `<span class="cut">… ${int(c.cut)} more characters</span>` : "";
  return `<div class="text">${escapeHtml(c.text)}${more}</div>`;
}

/** A run's job: its id, or for several jobs (shards) the first and how many more, every id in the title. */
function jobCell(s: ModelSummary): string {
  const ids = s.jobIds ?? (s.jobId ? [s.jobId] : []);
  const [first] = ids;
  if (first === undefined) return '<span class="none">—</span>';
  if (ids.length === 1) return `<code>${escapeHtml(first)}</code>`;
  return `<span title="${escapeHtml(ids.join(" "))}"><code>${escapeHtml(first)}</code> +${ids.length - 1} more</span>`;
}

function statusBadge(status: string | undefined): string {
  if (!status) return `<span class="none">—</span>`;
  const cls = status.toLowerCase().replace(/[^a-z0-9]+/g, "-");
  return `<span class="status status-${escapeHtml(cls)}">${escapeHtml(status)}</span>`;
}

function swatch(color: string): string {
  return `<span class="swatch" style="background:${color}"></span>`;
}

/** The verdict mark beside the answer (or error), and anything after it. */
function answerCell(cell: Cell, after: string): string {
  const mark = `<span class="mark" title="${VERDICT_TEXT[cell.verdict]}">${MARKS[cell.verdict]}</span>`;
  const body = cell.verdict === "missing" ? `<span class="none">${VERDICT_TEXT.missing}</span>` : clipHtml(cell.text);
  return `<div class="cell">${mark}<div class="body">${body}${after}</div></div>`;
}

/** What the join noticed about a model's results, when it did. */
function runNotes(s: ModelSummary): string[] {
  const parts: string[] = [];
  if (typeof s.strictAccuracy === "number" && Number.isFinite(s.strictAccuracy)) {
    parts.push(`strict accuracy <b>${formatPercent(s.strictAccuracy)}</b> (failed and missing items counting 0)`);
  }
  if (s.judge) {
    const g = s.judge;
    parts.push(
      `graded by the judge <code>${escapeHtml(g.model)}</code>: <b>${int(g.graded)}</b> answers, ${int(g.promptTokens)} / ${int(g.completionTokens)} tokens, ` +
        `<b>${g.cost === null ? "no price" : formatUsd(g.cost)}</b>${g.unreadable ? ` (${int(g.unreadable)} replies that are no grade, scored 0)` : ""}`,
    );
  }
  if (s.missing) parts.push(`<b>${int(s.missing)}</b> items without a result line`);
  if (s.duplicates) parts.push(`<b>${int(s.duplicates)}</b> duplicate result lines`);
  if (s.unknownIds) parts.push(`<b>${int(s.unknownIds)}</b> result lines for custom_ids not in the dataset`);
  if (s.unattributed)
    parts.push(`<b>${int(s.unattributed)}</b> unattributed failures (result lines without a custom_id, not joined)`);
  if (s.unreadable) parts.push(`<b>${int(s.unreadable)}</b> result lines that are not JSON (not joined)`);
  return parts.length ? [`<p class="stats">${parts.join(" · ")}</p>`] : [];
}

/**
 * An answer's details, opened on demand (`<details>`, no script): its tokens, what it cost at the batch price when the
 * model has a price, and its finish reason when known. Opening it also shows the whole answer (CSS: the text is
 * shown in part until then).
 */
function responseDetails(
  cell: Cell,
  price: { inputPerMTok: number; outputPerMTok: number } | null | undefined,
  batchDiscount: number | undefined,
): string {
  if (cell.verdict === "missing" || cell.promptTokens === undefined) return "";
  const p = cell.promptTokens;
  const c = cell.completionTokens ?? 0;
  const usd = price ? ((p * price.inputPerMTok + c * price.outputPerMTok) / 1e6) * (batchDiscount ?? 0.5) : null;
  const facts = [
    `${int(p)} prompt + ${int(c)} completion tokens`,
    usd === null ? "no price" : `${formatUsd(usd)} at the batch price`,
    ...(cell.finishReason ? [`finish reason <code>${escapeHtml(cell.finishReason)}</code>`] : []),
  ];
  return `<details class="response"><summary>Full response</summary><p class="facts">${facts.join(" · ")}</p></details>`;
}

/** A labelled select of `[value, text]` options. */
function select(id: string, label: string, options: readonly (readonly [string, string])[]): string {
  const e = escapeHtml;
  return `<label>${e(label)} <select id="${e(id)}">${options.map(([v, t]) => `<option value="${e(v)}">${e(t)}</option>`).join("")}</select></label>`;
}

/** The item tools (search, model, verdict, sort, the count), hidden until the page's script shows them. */
function itemTools(summaries: readonly ModelSummary[]): string {
  return [
    '<div id="item-tools" class="tools" hidden>',
    '<label>Search <input type="search" id="item-search" placeholder="id, prompt or answer"></label>',
    select("item-model", "Model", [["", "any model"], ...summaries.map((s) => [s.model, s.model] as const)]),
    select("item-verdict", "Verdict", [
      ["", "any"],
      ["right", "right"],
      ["wrong", "wrong"],
      ["partial", "partly right"],
      ["failed", "request failed"],
      ["disagree", "models disagree"],
      ["agree", "models agree"],
    ]),
    select("item-sort", "Sort", [
      ["shown", "disagreements first"],
      ["dataset", "dataset order"],
      ["id", "custom_id"],
      ["fewest", "fewest right first"],
      ["most", "most right first"],
    ]),
    '<output id="item-count" aria-live="polite"></output>',
    "</div>",
  ].join("\n");
}

function scoreText(score: number | undefined): string {
  return score === undefined ? "" : Number.isInteger(score) ? String(score) : score.toFixed(2);
}

/**
 * Which model answered, under the model's name: the responses' `model` when it is not the name itself, and the
 * version the name resolved to in the models API when the responses do not give it.
 */
function versionLine(s: ModelSummary): string {
  const e = escapeHtml;
  const by = (s.answeredBy ?? []).filter((m) => m !== s.model);
  const resolved = s.resolvedModel && !(s.answeredBy ?? []).includes(s.resolvedModel) ? s.resolvedModel : undefined;
  const parts = [
    ...(by.length ? [`answered by ${by.map((m) => `<code>${e(m)}</code>`).join(", ")}`] : []),
    ...(resolved ? [`resolved to <code>${e(resolved)}</code>`] : []),
  ];
  return parts.length ? `<span class="answered-by">${parts.join(", ")}</span>` : "";
}

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
  metaRow("Dataset", `<code>${e(meta.dataset)}</code> · ${int(rows.items)} items`);
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
  if (notes.length) out.push('<ul class="notes">', ...notes.map((n) => `<li>${e(n)}</li>`), "</ul>");
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

  // Summary table
  out.push(
    '<section class="card" id="summary">',
    "<h2>Summary</h2>",
    '<div class="table-wrap">',
    '<table class="summary">',
    "<thead><tr>",
  );
  out.push(
    "<th>Model</th><th>Job</th><th>Status</th>",
    '<th class="num">Succeeded / total</th><th class="num">Failed</th>',
    '<th class="num" title="result lines without a custom_id: failures that cannot be joined to an item">Unattributed failures</th>',
    '<th class="num">Accuracy (95% CI)</th>',
    '<th class="num">Tokens (prompt / completion)</th><th class="num">Cost</th><th class="num">Estimated</th>',
    "</tr></thead>",
    "<tbody>",
  );
  summaries.forEach((s, i) => {
    const estTitle =
      s.estimatedInputTokens != null ? ` title="${e(`estimated ${int(s.estimatedInputTokens)} input tokens`)}"` : "";
    out.push(
      `<tr data-model="${e(s.model)}">`,
      `<td data-label="Model"><div class="model-cell"><span class="model-name">${swatch(colors[i])}<a href="#model-${i}">${e(s.model)}</a>${reusedSet.has(s.model) ? ' <span class="badge reused">reused</span>' : ""}</span>${versionLine(
        s,
      )}</div></td>`,
      `<td class="job" data-label="Job">${jobCell(s)}</td>`,
      `<td data-label="Status">${statusBadge(s.status)}</td>`,
      `<td class="num" data-label="Succeeded / total">${int(s.succeeded)} / ${int(s.total)}</td><td class="num" data-label="Failed">${int(s.failed)}</td>`,
      `<td class="num unattributed" data-label="Unattributed failures">${int(s.unattributed ?? 0)}</td>`,
      `<td class="num accuracy" data-label="Accuracy (95% CI)" title="${e(
        `mean score over ${int(s.scored)} scored items` +
          (s.accuracyInterval ? `, 95% CI ${formatInterval(s.accuracyInterval)} (${s.accuracyInterval.method})` : "") +
          (typeof s.strictAccuracy === "number"
            ? `; ${formatPercent(s.strictAccuracy)} counting failed and missing items as 0`
            : ""),
      )}">${formatPercent(s.accuracy)}${
        s.accuracyInterval
          ? `<span class="ci">${e(formatInterval(s.accuracyInterval))}, n=${int(s.accuracyInterval.n)}</span>`
          : ""
      }</td>`,
      `<td class="num" data-label="Tokens (prompt / completion)">${int(s.promptTokens)} / ${int(s.completionTokens)}</td>`,
      `<td class="num" data-label="Cost">${s.cost === null ? '<span class="none">no price</span>' : formatUsd(s.cost)}</td>`,
      `<td class="num" data-label="Estimated"${estTitle}>${s.estimatedCost == null ? '<span class="none">—</span>' : formatUsd(s.estimatedCost)}</td>`,
      "</tr>",
    );
  });
  out.push("</tbody>");
  if (summaries.length > 1) {
    const cost = sumKnown(summaries.map((s) => s.cost));
    const est = sumKnown(summaries.map((s) => s.estimatedCost));
    const sum = (f: (s: ModelSummary) => number) =>
      summaries.reduce((a, s) => a + (Number.isFinite(f(s)) ? f(s) : 0), 0);
    const money = (x: { sum: number | null; partial: boolean }) =>
      x.sum === null ? "—" : formatUsd(x.sum) + (x.partial ? "*" : "");
    out.push(
      "<tfoot><tr>",
      `<td data-label="Model">All models</td><td class="empty"></td><td class="empty"></td>`,
      `<td class="num" data-label="Succeeded / total">${int(sum((s) => s.succeeded))} / ${int(sum((s) => s.total))}</td><td class="num" data-label="Failed">${int(sum((s) => s.failed))}</td>`,
      `<td class="num" data-label="Unattributed failures">${int(sum((s) => s.unattributed ?? 0))}</td><td class="empty"></td>`,
      `<td class="num" data-label="Tokens (prompt / completion)">${int(sum((s) => s.promptTokens))} / ${int(sum((s) => s.completionTokens))}</td>`,
      `<td class="num" data-label="Cost">${money(cost)}</td><td class="num" data-label="Estimated">${money(est)}</td>`,
      "</tr></tfoot>",
    );
  }
  out.push("</table>", "</div>");
  if (summaries.some((s) => s.cost === null))
    out.push(
      '<p class="note">No price: the price table has no entry for the model. * A total over the models that have one.</p>',
    );
  out.push("</section>");

  // Differences between models, in words (stats.ts comparePairs: the same as the Markdown summary's)
  if (rows.comparisons.length) {
    out.push(
      '<section class="card" id="comparisons">',
      "<h2>Differences between models</h2>",
      '<p class="note">On the items both models answered; significant: Holm-adjusted p &lt; 0.05.</p>',
      '<ul class="comparisons">',
      ...rows.comparisons.map(
        (c) =>
          `<li class="${c.significant ? "significant" : "not-significant"}">${e(describePair(c, rows.comparisons.length))}</li>`,
      ),
      "</ul>",
      "</section>",
    );
  }

  // Since the previous run (history.ts diffRuns: the same as the Markdown summary's)
  if (rows.diff) {
    const d = rows.diff;
    const ids = (list: string[], total: number) =>
      list.map((id) => `<code>${e(id)}</code>`).join(", ") +
      (total > list.length ? ` and ${int(total - list.length)} more` : "");
    out.push(
      '<section class="card" id="history">',
      `<h2>Since the previous run <span class="muted">(${e(formatDate(d.previousAt))})</span></h2>`,
      '<ul class="changes">',
    );
    for (const m of d.models) {
      out.push(
        `<li class="${m.significant ? "significant" : "not-significant"}" data-model="${e(m.label)}">${e(describeModelDiff(m))}`,
        m.regressed ? `<div class="regressed">Regressed: ${ids(m.regressedIds, m.regressed)}</div>` : "",
        m.improved ? `<div class="improved">Improved: ${ids(m.improvedIds, m.improved)}</div>` : "",
        "</li>",
      );
    }
    if (d.added.length) out.push(`<li>New runs: ${d.added.map((l) => `<code>${e(l)}</code>`).join(", ")}</li>`);
    if (d.removed.length)
      out.push(`<li>Runs no longer declared: ${d.removed.map((l) => `<code>${e(l)}</code>`).join(", ")}</li>`);
    if (d.itemsAdded || d.itemsRemoved)
      out.push(`<li>Items: ${int(d.itemsAdded)} added, ${int(d.itemsRemoved)} removed</li>`);
    out.push("</ul>", "</section>");
  }

  // Per model
  out.push('<section class="card" id="models">', "<h2>Per model: wrong and failed answers</h2>");
  summaries.forEach((s, i) => {
    const t = rows.tallies[i];
    out.push(
      `<section class="model" id="model-${i}" data-model="${e(s.model)}">`,
      `<h3>${swatch(colors[i])}${e(s.model)}${reusedSet.has(s.model) ? ' <span class="badge reused">reused</span>' : ""}</h3>`,
      `<p class="stats">accuracy <b>${formatAccuracy(s.accuracy, s.accuracyInterval)}</b> · right <b>${int(t.right)}</b> · partly right <b>${int(t.partial)}</b> · ` +
        `wrong <b>${int(t.wrong)}</b> · failed <b>${int(t.failed)}</b> · not scored <b>${int(t.unscored)}</b>` +
        (t.missing ? ` · no answer in the rows <b>${int(t.missing)}</b>` : "") +
        "</p>",
      ...runNotes(s),
    );
    if (t.missesTotal === 0) {
      out.push('<p class="note">No wrong or failed answers.</p>', "</section>");
      return;
    }
    out.push(
      '<div class="table-wrap">',
      '<table class="misses">',
      '<thead><tr><th>Item</th><th>Prompt</th><th>Answer</th><th>Expected</th><th class="num">Score</th></tr></thead>',
      "<tbody>",
    );
    for (const item of t.misses) {
      const cell = item.cells[i];
      out.push(
        `<tr class="miss ${cell.verdict}">`,
        `<td data-label="Item"><code>${e(item.customId)}</code></td>`,
        `<td class="prompt" data-label="Prompt">${clipHtml(item.prompt, "")}</td>`,
        `<td class="ans ${cell.verdict}" data-label="Answer">${answerCell(cell, "")}</td>`,
        `<td class="expected" data-label="Expected">${clipHtml(item.expected)}</td>`,
        `<td class="num" data-label="Score">${cell.verdict === "failed" && cell.score === undefined ? "—" : scoreText(cell.score)}</td>`,
        "</tr>",
      );
    }
    out.push("</tbody>", "</table>", "</div>");
    if (t.missesTotal > t.misses.length) {
      out.push(
        `<p class="note cap">Showing the first ${int(t.misses.length)} of ${int(t.missesTotal)} wrong or failed answers; ${int(t.missesTotal - t.misses.length)} omitted.</p>`,
      );
    }
    out.push("</section>");
  });
  out.push("</section>");

  // Per item
  out.push('<section class="card" id="items">', "<h2>Answers side by side</h2>");
  const omitted = rows.items - rows.shown.length;
  out.push(
    `<p class="note">${int(rows.items)} items; the models disagree on <b>${int(rows.disagreements)}</b>. ` +
      "Items where they disagree come first; ✓ right, ✗ wrong, ◐ partly right, ⚠ request failed, · not scored.</p>",
  );
  if (omitted > 0) {
    out.push(
      `<p class="note cap" id="items-cap">Showing ${int(rows.shown.length)} of ${int(rows.items)} items; ${int(omitted)} omitted (maxItems = ${int(maxItems)}).</p>`,
    );
  }
  out.push(
    // Shown by the script (without it, nothing to search with); the checkbox works by CSS alone.
    itemTools(summaries),
    `<input type="checkbox" id="only-disagree">`,
    `<label for="only-disagree" class="filter-label"> Show only disagreements</label>`,
    '<div class="table-wrap">',
    '<table class="items">',
    "<thead><tr>",
    '<th class="id-col">Item</th><th class="prompt-col">Prompt</th><th class="expected-col">Expected</th>',
    ...summaries.map(
      (s, i) =>
        `<th class="model-col" data-model="${e(s.model)}"><span class="model-name">${swatch(colors[i])}${e(s.model)}</span></th>`,
    ),
    '<th class="num right-col">Right</th>',
    "</tr></thead>",
    "<tbody>",
  );
  for (const item of rows.shown) {
    out.push(
      `<tr class="item ${item.disagree ? "disagree" : "agree"}" data-custom-id="${e(item.customId)}" data-index="${item.index}" data-right="${item.right}">`,
      `<td data-label="Item"><code>${e(item.customId)}</code>${item.disagree ? ' <span class="badge disagree">disagree</span>' : ""}</td>`,
      `<td class="prompt" data-label="Prompt">${clipHtml(item.prompt, "")}</td>`,
      `<td class="expected" data-label="Expected">${clipHtml(item.expected)}</td>`,
    );
    item.cells.forEach((cell, i) => {
      const score =
        cell.score !== undefined && cell.verdict === "partial"
          ? `<span class="score">score ${scoreText(cell.score)}</span>`
          : "";
      const details = responseDetails(cell, options.modelPrices?.[summaries[i].model], prices.batchDiscount);
      out.push(
        `<td class="ans ${cell.verdict}" data-model="${e(summaries[i].model)}" data-label="${e(summaries[i].model)}">${answerCell(cell, score + details)}</td>`,
      );
    });
    out.push(
      `<td class="num tally" data-label="Right">${item.judged ? `${item.right}/${item.judged}` : "—"}</td>`,
      "</tr>",
    );
  }
  if (rows.shown.length === 0)
    out.push(`<tr><td colspan="${summaries.length + 4}" class="none">No items in the rows file.</td></tr>`);
  out.push("</tbody>", "</table>", "</div>", "</section>");

  out.push(
    `<footer>Written by pulumi-mistral-batch · self-contained: opens offline, fetches nothing; its one inline script only searches, filters and sorts the items.</footer>`,
  );
  out.push("</main>", `<script>${SCRIPT}</script>`, "</body>", "</html>", "");
  return out.join("\n");
}
