/**
 * The comparisons in words: the differences between models (stats.ts comparePairs) and the changes since the previous
 * run (history.ts diffRuns), the same sentences as the Markdown summary's, significant ones marked.
 */
import { describeModelDiff } from "../../history";
import { describePair } from "../../stats";
import { escapeHtml, formatDate, int } from "../format";
import type { RowsDigest } from "../rows";

/** The differences between models, when there are two or more. */
export function comparisonsSection(rows: RowsDigest): string[] {
  const e = escapeHtml;
  const out: string[] = [];
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
  return out;
}

/** The changes since the previous run, when there is one. */
export function historySection(rows: RowsDigest): string[] {
  const e = escapeHtml;
  const out: string[] = [];
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
  return out;
}
