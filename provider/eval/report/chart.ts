/** The chart of the report page: accuracy and cost per model, as inline SVG; and the colour of each model. */
import type { ModelSummary } from "../types";
import { escapeHtml, formatPercent, formatUsd, int } from "./format";

/** Distinct colours per model (Tableau 10, then golden-angle hues). */
const PALETTE = [
  "#4e79a7",
  "#f28e2b",
  "#e15759",
  "#76b7b2",
  "#59a14f",
  "#edc948",
  "#b07aa1",
  "#ff9da7",
  "#9c755f",
  "#bab0ac",
];

export function modelColor(index: number): string {
  if (index < PALETTE.length) return PALETTE[index];
  const hue = Math.round((index * 137.508) % 360);
  return `hsl(${hue} 55% 50%)`;
}

/** A round number at or above x (1, 2, 2.5 or 5 times a power of ten). */
function niceCeil(x: number): number {
  if (!(x > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(x));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= x * (1 - 1e-12)) return m * p;
  return 10 * p;
}

export function chartSvg(summaries: ModelSummary[], colors: string[]): string {
  const e = escapeHtml;
  const n = summaries.length;
  const labelW = 200;
  const panelW = 300;
  const valueW = 80;
  const gap = 40;
  const accX = labelW;
  const costX = accX + panelW + valueW + gap;
  const width = costX + panelW + valueW;
  const top = 52;
  const rowH = 32;
  const barH = 20;
  const height = top + Math.max(n, 1) * rowH + 26;
  const bottom = top + Math.max(n, 1) * rowH;

  const costs = summaries
    .flatMap((s) => [s.cost, s.estimatedCost])
    .filter((v): v is number => typeof v === "number" && Number.isFinite(v) && v > 0);
  const maxCost = niceCeil(Math.max(0, ...costs));
  const costW = (v: number) => Math.max(0, Math.min(1, v / maxCost)) * panelW;
  const r = (v: number) => Math.round(v * 10) / 10;

  const label = summaries
    .map(
      (s) =>
        `${s.model}: accuracy ${formatPercent(s.accuracy)}, cost ${s.cost === null ? "no price" : formatUsd(s.cost)}`,
    )
    .join("; ");
  const out: string[] = [];
  out.push(
    `<svg class="chart" role="img" aria-label="${e(`Accuracy and cost per model. ${label || "No models."}`)}" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}">`,
    `<text class="title" x="${accX}" y="18">Accuracy</text>`,
    `<text class="legend" x="${accX}" y="34">mean score over scored items</text>`,
    `<text class="title" x="${costX}" y="18">Cost (USD, batch price)</text>`,
    `<rect x="${costX}" y="26" width="14" height="9" fill="none" stroke="#5f6673" stroke-dasharray="3 2"></rect>`,
    `<text class="legend" x="${costX + 20}" y="34">estimated before submission</text>`,
  );
  // Grid and ticks
  for (const f of [0, 0.25, 0.5, 0.75, 1]) {
    const x = r(accX + f * panelW);
    out.push(`<line class="grid" x1="${x}" y1="${top - 6}" x2="${x}" y2="${bottom}"></line>`);
    out.push(`<text class="tick" x="${x}" y="${bottom + 16}" text-anchor="middle">${f * 100}%</text>`);
  }
  for (const f of [0, 0.5, 1]) {
    const x = r(costX + f * panelW);
    out.push(`<line class="grid" x1="${x}" y1="${top - 6}" x2="${x}" y2="${bottom}"></line>`);
    out.push(
      `<text class="tick" x="${x}" y="${bottom + 16}" text-anchor="middle">${e(costs.length ? formatUsd(f * maxCost) : "")}</text>`,
    );
  }
  summaries.forEach((s, i) => {
    const y = top + i * rowH + (rowH - barH) / 2;
    const mid = r(y + barH / 2 + 4);
    const name = s.model.length > 28 ? `${s.model.slice(0, 27)}…` : s.model;
    const color = colors[i];
    out.push(`<g class="model" data-model="${e(s.model)}">`);
    out.push(`<text x="${labelW - 12}" y="${mid}" text-anchor="end"><title>${e(s.model)}</title>${e(name)}</text>`);
    // Accuracy
    const acc =
      typeof s.accuracy === "number" && Number.isFinite(s.accuracy) ? Math.max(0, Math.min(1, s.accuracy)) : null;
    const accW = acc === null ? 0 : r(acc * panelW);
    out.push(`<rect class="track" x="${accX}" y="${y}" width="${panelW}" height="${barH}" rx="3"></rect>`);
    out.push(
      `<rect class="bar acc" data-model="${e(s.model)}" x="${accX}" y="${y}" width="${accW}" height="${barH}" rx="3" fill="${color}">` +
        `<title>${e(`${s.model}: accuracy ${formatPercent(s.accuracy)} over ${int(s.scored)} scored items`)}</title></rect>`,
    );
    out.push(`<text class="value" x="${r(accX + accW + 6)}" y="${mid}">${e(formatPercent(s.accuracy))}</text>`);
    // Cost: actual (filled) over estimated (dashed outline)
    const est = typeof s.estimatedCost === "number" && Number.isFinite(s.estimatedCost) ? s.estimatedCost : null;
    if (est !== null) {
      out.push(
        `<rect class="est" x="${costX}" y="${y}" width="${r(costW(est))}" height="${barH}" rx="3" fill="none" stroke="${color}" stroke-width="1.5" stroke-dasharray="4 3">` +
          `<title>${e(`${s.model}: estimated ${formatUsd(est)}`)}</title></rect>`,
      );
    }
    const cost = typeof s.cost === "number" && Number.isFinite(s.cost) ? s.cost : null;
    const cW = cost === null ? 0 : r(costW(cost));
    out.push(
      `<rect class="bar cost" data-model="${e(s.model)}" x="${costX}" y="${y + 3}" width="${cW}" height="${barH - 6}" rx="2" fill="${color}">` +
        `<title>${e(`${s.model}: cost ${cost === null ? "no price" : formatUsd(cost)}`)}</title></rect>`,
    );
    const costLabel = cost === null ? "no price" : formatUsd(cost);
    out.push(
      `<text class="value" x="${r(costX + Math.max(cW, est === null ? 0 : costW(est)) + 6)}" y="${mid}">${e(costLabel)}</text>`,
    );
    out.push("</g>");
  });
  if (n === 0) out.push(`<text class="legend" x="${accX}" y="${top + 20}">No models.</text>`);
  out.push("</svg>");
  return out.join("\n");
}
