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

/**
 * How cost maps to a bar's length. Costs that span ten times or more are drawn on a log scale (each power of ten the
 * same length), so a cheap model's bar is not a sliver beside an expensive one; else a linear scale from 0.
 */
interface CostScale {
  log: boolean;
  /** The fraction of the panel a cost fills, in [0, 1]; a positive cost gets at least a visible sliver. */
  at(v: number): number;
  ticks: number[];
}

function costScale(costs: number[]): CostScale {
  const max = Math.max(0, ...costs);
  const min = Math.min(...costs);
  if (costs.length >= 2 && max / min >= 10) {
    const lo = Math.floor(Math.log10(min));
    const hi = Math.max(lo + 1, Math.ceil(Math.log10(max)));
    const step = Math.ceil((hi - lo) / 5);
    const ticks: number[] = [];
    for (let k = lo; k <= hi; k += step) ticks.push(10 ** k);
    return {
      log: true,
      at: (v) => (v > 0 ? Math.max(0.01, Math.min(1, (Math.log10(v) - lo) / (hi - lo))) : 0),
      ticks,
    };
  }
  const top = niceCeil(max);
  return {
    log: false,
    at: (v) => (v > 0 ? Math.max(0.01, Math.min(1, v / top)) : 0),
    ticks: costs.length ? [0, top / 2, top] : [],
  };
}

/** The cost label of a model: the actual cost and the estimate, each named. */
function costLabel(s: ModelSummary): string {
  const actual = typeof s.cost === "number" && Number.isFinite(s.cost) ? `${formatUsd(s.cost)} actual` : "no price";
  const est =
    typeof s.estimatedCost === "number" && Number.isFinite(s.estimatedCost)
      ? ` · ${formatUsd(s.estimatedCost)} est.`
      : "";
  return actual + est;
}

/**
 * The chart: accuracy and cost per model. `wide` puts the two panels side by side, names on the left; `narrow` (for
 * phones: 400 units wide, shown below 640 px) puts them one above the other, each model's name and value on a line
 * above its bar.
 */
export function chartSvg(summaries: ModelSummary[], colors: string[], layout: "wide" | "narrow" = "wide"): string {
  const costs = summaries
    .flatMap((s) => [s.cost, s.estimatedCost])
    .filter((v): v is number => typeof v === "number" && Number.isFinite(v) && v > 0);
  const scale = costScale(costs);
  const label = summaries
    .map(
      (s) =>
        `${s.model}: accuracy ${formatPercent(s.accuracy)}, cost ${s.cost === null ? "no price" : formatUsd(s.cost)}`,
    )
    .join("; ");
  const aria = escapeHtml(`Accuracy and cost per model. ${label || "No models."}`);
  return layout === "wide" ? wideChart(summaries, colors, scale, aria) : narrowChart(summaries, colors, scale, aria);
}

const r = (v: number) => Math.round(v * 10) / 10;
const costLegend = (scale: CostScale) =>
  `actual (filled), estimated before submission (dashed)${scale.log ? "; log scale" : ""}`;

/** One model's bars: accuracy, or cost (estimate dashed under the actual). */
function accBar(s: ModelSummary, color: string, x: number, y: number, w: number, h: number): string {
  const acc =
    typeof s.accuracy === "number" && Number.isFinite(s.accuracy) ? Math.max(0, Math.min(1, s.accuracy)) : null;
  const e = escapeHtml;
  return (
    `<rect class="track" x="${x}" y="${y}" width="${w}" height="${h}" rx="3"></rect>` +
    `<rect class="bar acc" data-model="${e(s.model)}" x="${x}" y="${y}" width="${acc === null ? 0 : r(acc * w)}" height="${h}" rx="3" fill="${color}">` +
    `<title>${e(`${s.model}: accuracy ${formatPercent(s.accuracy)} over ${int(s.scored)} scored items`)}</title></rect>`
  );
}

function costBars(s: ModelSummary, color: string, scale: CostScale, x: number, y: number, w: number, h: number) {
  const e = escapeHtml;
  const out: string[] = [];
  const est = typeof s.estimatedCost === "number" && Number.isFinite(s.estimatedCost) ? s.estimatedCost : null;
  if (est !== null) {
    out.push(
      `<rect class="est" x="${x}" y="${y}" width="${r(scale.at(est) * w)}" height="${h}" rx="3" fill="none" stroke="${color}" stroke-width="1.5" stroke-dasharray="4 3">` +
        `<title>${e(`${s.model}: estimated ${formatUsd(est)}`)}</title></rect>`,
    );
  }
  const cost = typeof s.cost === "number" && Number.isFinite(s.cost) ? s.cost : null;
  const width = cost === null ? 0 : r(scale.at(cost) * w);
  out.push(
    `<rect class="bar cost" data-model="${e(s.model)}" x="${x}" y="${y + 3}" width="${width}" height="${h - 6}" rx="2" fill="${color}">` +
      `<title>${e(`${s.model}: cost ${cost === null ? "no price" : formatUsd(cost)}`)}</title></rect>`,
  );
  return { svg: out.join(""), end: Math.max(width, est === null ? 0 : r(scale.at(est) * w)) };
}

function wideChart(summaries: ModelSummary[], colors: string[], scale: CostScale, aria: string): string {
  const e = escapeHtml;
  const n = summaries.length;
  const labelW = 200;
  const panelW = 300;
  const valueW = 60;
  const costValueW = 190;
  const gap = 30;
  const accX = labelW;
  const costX = accX + panelW + valueW + gap;
  const width = costX + panelW + costValueW;
  const top = 52;
  const rowH = 32;
  const barH = 20;
  const height = top + Math.max(n, 1) * rowH + 26;
  const bottom = top + Math.max(n, 1) * rowH;
  const out: string[] = [];
  out.push(
    `<svg class="chart" role="img" aria-label="${aria}" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}">`,
    `<text class="title" x="${accX}" y="18">Accuracy</text>`,
    `<text class="legend" x="${accX}" y="34">mean score over scored items</text>`,
    `<text class="title" x="${costX}" y="18">Cost (USD, batch price)</text>`,
    `<rect x="${costX}" y="26" width="14" height="9" fill="none" stroke="#5f6673" stroke-dasharray="3 2"></rect>`,
    `<text class="legend" x="${costX + 20}" y="34">${e(costLegend(scale))}</text>`,
  );
  for (const f of [0, 0.25, 0.5, 0.75, 1]) {
    const x = r(accX + f * panelW);
    out.push(`<line class="grid" x1="${x}" y1="${top - 6}" x2="${x}" y2="${bottom}"></line>`);
    out.push(`<text class="tick" x="${x}" y="${bottom + 16}" text-anchor="middle">${f * 100}%</text>`);
  }
  for (const t of scale.ticks) {
    const x = r(costX + (scale.log ? scale.at(t) : t / (scale.ticks.at(-1) || 1)) * panelW);
    out.push(`<line class="grid" x1="${x}" y1="${top - 6}" x2="${x}" y2="${bottom}"></line>`);
    // A power of ten as people write it ($0.001), not as an amount ($0.0010).
    const tick = scale.log ? `$${String(Number(t.toPrecision(1)))}` : formatUsd(t);
    out.push(`<text class="tick" x="${x}" y="${bottom + 16}" text-anchor="middle">${e(tick)}</text>`);
  }
  summaries.forEach((s, i) => {
    const y = top + i * rowH + (rowH - barH) / 2;
    const mid = r(y + barH / 2 + 4);
    const name = s.model.length > 28 ? `${s.model.slice(0, 27)}…` : s.model;
    const color = colors[i];
    const acc =
      typeof s.accuracy === "number" && Number.isFinite(s.accuracy) ? Math.max(0, Math.min(1, s.accuracy)) : 0;
    const cost = costBars(s, color, scale, costX, y, panelW, barH);
    out.push(
      `<g class="model" data-model="${e(s.model)}">`,
      `<text x="${labelW - 12}" y="${mid}" text-anchor="end"><title>${e(s.model)}</title>${e(name)}</text>`,
      accBar(s, color, accX, y, panelW, barH),
      `<text class="value" x="${r(accX + acc * panelW + 6)}" y="${mid}">${e(formatPercent(s.accuracy))}</text>`,
      cost.svg,
      `<text class="value" x="${r(costX + cost.end + 6)}" y="${mid}">${e(costLabel(s))}</text>`,
      "</g>",
    );
  });
  if (n === 0) out.push(`<text class="legend" x="${accX}" y="${top + 20}">No models.</text>`);
  out.push("</svg>");
  return out.join("\n");
}

function narrowChart(summaries: ModelSummary[], colors: string[], scale: CostScale, aria: string): string {
  const e = escapeHtml;
  const width = 400;
  const rowH = 44;
  const barH = 16;
  const n = Math.max(summaries.length, 1);
  const panel = (
    title: string,
    legend: string,
    y0: number,
    bar: (s: ModelSummary, i: number, y: number) => string,
    value: (s: ModelSummary) => string,
  ) => {
    const out = [
      `<text class="title" x="0" y="${y0 + 14}">${e(title)}</text>`,
      `<text class="legend" x="0" y="${y0 + 30}">${e(legend)}</text>`,
    ];
    summaries.forEach((s, i) => {
      const y = y0 + 40 + i * rowH;
      const name = s.model.length > 34 ? `${s.model.slice(0, 33)}…` : s.model;
      out.push(
        `<g class="model" data-model="${e(s.model)}">`,
        `<text x="0" y="${y + 14}"><title>${e(s.model)}</title>${e(name)}</text>`,
        `<text class="value" x="${width}" y="${y + 14}" text-anchor="end">${e(value(s))}</text>`,
        bar(s, i, y + 20),
        "</g>",
      );
    });
    return out;
  };
  const accHeight = 40 + n * rowH + 12;
  const height = accHeight + 40 + n * rowH + 8;
  return [
    `<svg class="chart narrow" role="img" aria-label="${aria}" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}">`,
    ...panel(
      "Accuracy",
      "mean score over scored items",
      0,
      (s, i, y) => accBar(s, colors[i] ?? "", 0, y, width, barH),
      (s) => formatPercent(s.accuracy),
    ),
    ...panel(
      "Cost (USD, batch price)",
      costLegend(scale),
      accHeight,
      (s, i, y) => costBars(s, colors[i] ?? "", scale, 0, y, width, barH).svg,
      costLabel,
    ),
    ...(summaries.length === 0 ? [`<text class="legend" x="0" y="60">No models.</text>`] : []),
    "</svg>",
  ].join("\n");
}
