/**
 * Per model: its accuracy and tallies, what the join noticed (strict accuracy, the judge's grades, missing and
 * unreadable lines), and a table of its wrong, partly right and failed answers.
 */
import type { ModelSummary } from "../../types";
import { escapeHtml, formatAccuracy, formatPercent, formatUsd, int } from "../format";
import type { RowsDigest } from "../rows";
import { answerCell, clipHtml, scoreText, swatch } from "./parts";

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

/** The per-model card. */
export function modelsSection(
  summaries: readonly ModelSummary[],
  rows: RowsDigest,
  colors: readonly string[],
  reusedSet: ReadonlySet<string>,
): string[] {
  const e = escapeHtml;
  const out: string[] = [];
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
  return out;
}
