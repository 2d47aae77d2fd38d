/**
 * The summary table: per model its job, status, counts, accuracy with its interval, tokens and costs, and a total
 * row over the models. Each cell carries its column's name (data-label) for the card layout below 640 px.
 */
import type { ModelSummary } from "../../types";
import { escapeHtml, formatInterval, formatPercent, formatUsd, int, spentText, sumKnown } from "../format";
import { jobCell, statusBadge, swatch } from "./parts";

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

/** The summary card. */
export function summarySection(
  summaries: readonly ModelSummary[],
  colors: readonly string[],
  reusedSet: ReadonlySet<string>,
): string[] {
  const e = escapeHtml;
  const out: string[] = [];
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
  const spent = spentText(summaries);
  if (spent) out.push(`<p class="note spent">${e(spent)}</p>`);
  if (summaries.some((s) => s.cost === null))
    out.push(
      '<p class="note">No price: the price table has no entry for the model. * A total over the models that have one.</p>',
    );
  out.push("</section>");
  return out;
}
