/**
 * The answers side by side: one row per item (disagreements first, up to maxItems), each model's answer with its
 * verdict and, on demand, its full response; the tools the page's script shows to search, filter and sort them.
 */
import type { ModelSummary } from "../../types";
import { escapeHtml, formatUsd, int } from "../format";
import type { Cell, RowsDigest } from "../rows";
import type { WriteReportOptions } from "../types";
import { answerCell, clipHtml, scoreText, swatch } from "./parts";

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

/** The per-item card. */
export function itemsSection(
  options: WriteReportOptions,
  rows: RowsDigest,
  colors: readonly string[],
  maxItems: number,
): string[] {
  const { summaries, prices } = options;
  const e = escapeHtml;
  const out: string[] = [];
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
  return out;
}
