/** The Markdown summary (report.md): for terminals and pull requests. */
import { discountText, formatAccuracy, formatDate, formatUsd, int, reusedModels } from "./format";
import { describePair } from "../stats";
import type { RowsDigest } from "./rows";
import type { WriteReportOptions } from "./types";

function mdCell(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/\|/g, "\\|").replace(/</g, "&lt;").replace(/\r?\n/g, " ");
}

function mdCode(text: string): string {
  const t = text.replace(/\r?\n/g, " ");
  return t.includes("`") ? `\`\` ${t} \`\`` : `\`${t}\``;
}

export function renderMarkdown(options: WriteReportOptions, rows: RowsDigest, htmlPath: string): string {
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
  const notes = [...(meta.notes ?? [])];
  if (rows.unknownModels.length)
    notes.push(`The rows also hold answers of models without a summary, not shown: ${rows.unknownModels.join(", ")}`);
  if (notes.length) {
    out.push("Notes:", "", ...notes.map((n) => `- ${mdCell(n)}`), "");
  }
  out.push(`HTML report: [report.html](report.html) (${mdCode(htmlPath)})`, "");
  return out.join("\n");
}
