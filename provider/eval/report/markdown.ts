/**
 * The Markdown summary (report.md): for terminals and pull requests. Ready to paste: paths under the program's
 * directory (`baseDir`) are written relative to it, so no absolute machine path is in the text.
 */
import { describeModelDiff, type RunDiff } from "../history";
import {
  discountText,
  formatAccuracy,
  formatDate,
  formatUsd,
  int,
  relativeTo,
  reusedModels,
  spentText,
} from "./format";
import { describePair } from "../stats";
import type { RowsDigest } from "./rows";
import type { WriteReportOptions } from "./types";

/**
 * Text for a table cell or a list item: pipes and backslashes escaped, one line, and a `<` that could open an HTML
 * tag, comment or autolink as `&lt;` (a model label or item text is never markup); `p < 0.001` stays as written.
 */
function mdCell(text: string): string {
  return text
    .replace(/\\/g, "\\\\")
    .replace(/\|/g, "\\|")
    .replace(/<(?=[A-Za-z/!?])/g, "&lt;")
    .replace(/\r?\n/g, " ");
}

function mdCode(text: string): string {
  const t = text.replace(/\r?\n/g, " ");
  return t.includes("`") ? `\`\` ${t} \`\`` : `\`${t}\``;
}

function diffLines(diff: RunDiff): string[] {
  const out = [`## Since the previous run (${mdCell(formatDate(diff.previousAt))})`, ""];
  const list = (ids: string[], total: number) =>
    ids.map(mdCode).join(", ") + (total > ids.length ? ` and ${int(total - ids.length)} more` : "");
  for (const d of diff.models) {
    const text = mdCell(describeModelDiff(d));
    out.push(`- ${d.significant ? `**${text}**` : text}`);
    if (d.regressed) out.push(`  - Regressed: ${list(d.regressedIds, d.regressed)}`);
    if (d.improved) out.push(`  - Improved: ${list(d.improvedIds, d.improved)}`);
  }
  if (diff.added.length) out.push(`- New runs: ${diff.added.map(mdCode).join(", ")}`);
  if (diff.removed.length) out.push(`- Runs no longer declared: ${diff.removed.map(mdCode).join(", ")}`);
  if (diff.itemsAdded || diff.itemsRemoved)
    out.push(`- Items: ${int(diff.itemsAdded)} added, ${int(diff.itemsRemoved)} removed`);
  out.push("");
  return out;
}

export function renderMarkdown(options: WriteReportOptions, rows: RowsDigest, htmlPath: string): string {
  const text = renderMarkdownText(options, rows, htmlPath);
  return relativeTo(options.baseDir ?? process.cwd(), text);
}

function renderMarkdownText(options: WriteReportOptions, rows: RowsDigest, htmlPath: string): string {
  const { meta, prices, summaries } = options;
  const out: string[] = [];
  out.push(`# ${mdCell(options.title)}`, "");
  out.push(
    `Dataset ${mdCode(meta.dataset)} · endpoint ${mdCode(meta.endpoint)} · ${int(rows.items)} items · generated ${mdCell(formatDate(meta.generatedAt))} · ` +
      `prices of ${mdCell(prices.date)} (${discountText(prices.batchDiscount)})`,
    "",
  );
  out.push(
    "| Model | Accuracy (95% CI, items) | Succeeded/Total | Unattributed failures | Tokens (prompt / completion) | Cost | Estimated |",
  );
  out.push("|---|---:|---:|---:|---:|---:|---:|");
  for (const s of summaries) {
    out.push(
      `| ${mdCell(s.model)}${s.reused ? " (reused)" : ""} | ${formatAccuracy(s.accuracy, s.accuracyInterval)} | ${int(s.succeeded)}/${int(s.total)} | ${int(s.unattributed ?? 0)} | ` +
        `${int(s.promptTokens)} / ${int(s.completionTokens)} | ${s.cost === null ? "no price" : formatUsd(s.cost)} | ` +
        `${s.estimatedCost == null ? "—" : formatUsd(s.estimatedCost)} |`,
    );
  }
  out.push("");
  const answered = summaries.filter((s) => s.answeredBy?.length || s.resolvedModel);
  if (answered.length) {
    const which = (s: (typeof summaries)[number]) =>
      [
        ...(s.answeredBy?.length ? [(s.answeredBy ?? []).map(mdCode).join(", ")] : []),
        ...(s.resolvedModel && !(s.answeredBy ?? []).includes(s.resolvedModel)
          ? [`resolved to ${mdCode(s.resolvedModel)}`]
          : []),
      ].join(", ");
    out.push(`Answered by: ${answered.map((s) => `${mdCell(s.model)} → ${which(s)}`).join(" · ")}`, "");
  }
  const judged = summaries.filter((s) => s.judge);
  if (judged.length) {
    const j = (s: (typeof summaries)[number]) => {
      const g = s.judge;
      if (!g) return "";
      const cost = g.cost === null ? "no price" : formatUsd(g.cost);
      const odd = g.unreadable ? `, ${int(g.unreadable)} replies that are no grade (scored 0)` : "";
      return `${mdCell(s.model)}: ${int(g.graded)} graded by ${mdCode(g.model)}${odd}, ${int(g.promptTokens)} / ${int(g.completionTokens)} tokens, ${cost}`;
    };
    out.push(`Judge (batch jobs of its own, at the batch price): ${judged.map(j).join(" · ")}`, "");
    const spent = spentText(summaries);
    if (spent) out.push(spent, "");
  }
  const lost = summaries.filter((s) => s.unattributed || s.unreadable);
  if (lost.length) {
    for (const s of lost) {
      const parts: string[] = [];
      if (s.unattributed)
        parts.push(`${int(s.unattributed)} result line(s) without a custom_id (unattributed failures)`);
      if (s.unreadable) parts.push(`${int(s.unreadable)} result line(s) that are not JSON`);
      out.push(`- ${mdCell(s.model)}: ${parts.join(", ")}; not joined to any item (file and line in the notes)`);
    }
    out.push("");
  }
  const reused = reusedModels(options);
  out.push(
    reused.length
      ? `Reused runs: ${reused.map(mdCode).join(", ")}`
      : "Reused runs: none (every run was submitted anew)",
  );
  out.push("");
  if (summaries.length > 1) out.push(`Models disagree on ${int(rows.disagreements)} of ${int(rows.items)} items.`, "");
  if (rows.comparisons.length) {
    out.push("Differences between models, on the items both answered (significant: Holm-adjusted p < 0.05):", "");
    for (const c of rows.comparisons) out.push(`- ${mdCell(describePair(c, rows.comparisons.length))}`);
    out.push("");
  }
  if (rows.diff) out.push(...diffLines(rows.diff));
  const notes = [...(meta.notes ?? []), ...rows.notes];
  if (rows.unknownModels.length)
    notes.push(`The rows also hold answers of models without a summary, not shown: ${rows.unknownModels.join(", ")}`);
  if (notes.length) {
    out.push("Notes:", "", ...notes.map((n) => `- ${mdCell(n)}`), "");
  }
  out.push(`HTML report: [report.html](report.html) (${mdCode(htmlPath)})`, "");
  return out.join("\n");
}
