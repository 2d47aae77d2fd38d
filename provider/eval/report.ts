/**
 * The report of an evaluation run: one self-contained HTML page (inline CSS and SVG, nothing fetched, no script)
 * and a Markdown summary for terminals and pull requests.
 *
 * The rows file (JSONL, one line per dataset item, written by the join) is read streaming: memory stays bounded by
 * the caps (`maxItems` items shown, `maxPerModel` wrong answers per model, `maxTextChars` per text), whatever the
 * number of items; figures over all items (agreement, per-model verdict counts) are counted as the lines go by.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as readline from "node:readline";
import type { EvalItem, ModelSummary, PriceTable } from "./types";

/**
 * One model's answer in a row of the rows file. The join writes null for an absent answer, error or score; undefined
 * (an absent field) reads the same.
 */
export interface RowAnswer {
  /** The text answer; null or absent when the request failed (or no result line answered the item). */
  answer?: string | null;
  error?: string | null;
  /** Score in [0, 1]; null or absent when not scored. */
  score?: number | null;
  promptTokens: number;
  completionTokens: number;
}

/** One line of the rows file. */
export interface ReportRow extends EvalItem {
  answers: Record<string, RowAnswer>;
}

export interface ReportMeta {
  /** The dataset's name or path. */
  dataset: string;
  /** The batch endpoint, e.g. /v1/chat/completions. */
  endpoint: string;
  generatedAt: string | Date;
  /** Models whose runs were reused (adopted) rather than submitted anew. */
  reused: string[];
  notes?: string[];
}

export interface WriteReportOptions {
  title: string;
  /** Figures per model, in the order the report shows them (and the order of the chart's colours). */
  summaries: ModelSummary[];
  /** The rows file written by the join (JSONL, one line per dataset item). */
  rowsFile: string;
  /** Where report.html and report.md go; created when missing. */
  outDir: string;
  prices: Pick<PriceTable, "date" | "batchDiscount">;
  meta: ReportMeta;
  /** Items shown in the per-item view (disagreements first). @default 500 */
  maxItems?: number;
  /** Wrong, partial or failed answers listed per model. @default 100 */
  maxPerModel?: number;
  /** Characters shown of one prompt, answer, error or expected value; longer text is cut, saying so. @default 2000 */
  maxTextChars?: number;
}

export interface ReportPaths {
  htmlPath: string;
  markdownPath: string;
}

export const DEFAULT_MAX_ITEMS = 500;
export const DEFAULT_MAX_PER_MODEL = 100;
export const DEFAULT_MAX_TEXT_CHARS = 2000;

/** How one model did on one item. */
export type Verdict = "right" | "partial" | "wrong" | "failed" | "unscored" | "missing";

/** Distinct colours per model (Tableau 10, then golden-angle hues). */
const PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"];

export function modelColor(index: number): string {
  if (index < PALETTE.length) return PALETTE[index];
  const hue = Math.round((index * 137.508) % 360);
  return `hsl(${hue} 55% 50%)`;
}

// ---------------------------------------------------------------------------------------------------------------
// Writing the report

export async function writeReport(options: WriteReportOptions): Promise<ReportPaths> {
  const maxItems = positiveInt(options.maxItems, DEFAULT_MAX_ITEMS, "maxItems");
  const maxPerModel = positiveInt(options.maxPerModel, DEFAULT_MAX_PER_MODEL, "maxPerModel");
  const maxTextChars = positiveInt(options.maxTextChars, DEFAULT_MAX_TEXT_CHARS, "maxTextChars");
  const models = options.summaries.map((s) => s.model);
  if (new Set(models).size !== models.length) throw new Error("writeReport: summaries name a model more than once");

  const rows = await readRows(options.rowsFile, models, { maxItems, maxPerModel, maxTextChars });

  await fs.promises.mkdir(options.outDir, { recursive: true });
  const htmlPath = path.resolve(options.outDir, "report.html");
  const markdownPath = path.resolve(options.outDir, "report.md");
  await writeAtomically(htmlPath, renderHtml(options, rows, maxItems));
  await writeAtomically(markdownPath, renderMarkdown(options, rows, htmlPath));
  return { htmlPath, markdownPath };
}

async function writeAtomically(file: string, text: string): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await fs.promises.writeFile(tmp, text, "utf8");
  await fs.promises.rename(tmp, file);
}

function positiveInt(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1) throw new Error(`writeReport: ${name} must be a positive integer, got ${value}`);
  return value;
}

// ---------------------------------------------------------------------------------------------------------------
// Reading the rows file, streaming

/** Text cut to a length: what is shown, and how many characters were left out. */
interface Clip {
  text: string;
  cut: number;
}

interface Cell {
  verdict: Verdict;
  /** The answer, or the error when the request failed. */
  text?: Clip;
  score?: number;
}

interface ShownItem {
  /** 1-based position of the item in the rows file. */
  index: number;
  customId: string;
  prompt: Clip;
  expected?: Clip;
  /** Per model, in summary order. */
  cells: Cell[];
  disagree: boolean;
  right: number;
  /** Models with a scored answer (or a failure) on this item. */
  judged: number;
}

interface ModelTally {
  right: number;
  partial: number;
  wrong: number;
  failed: number;
  unscored: number;
  missing: number;
  /** Wrong, partial and failed answers, in file order, capped. */
  misses: ShownItem[];
  missesTotal: number;
}

interface RowsDigest {
  items: number;
  disagreements: number;
  /** The items shown: disagreements first, then the others, each in file order, at most maxItems. */
  shown: ShownItem[];
  tallies: ModelTally[];
  /** Models that answer in the rows but have no summary (not shown), at most a few. */
  unknownModels: string[];
}

const MAX_UNKNOWN_MODELS = 20;

async function readRows(
  file: string,
  models: string[],
  caps: { maxItems: number; maxPerModel: number; maxTextChars: number },
): Promise<RowsDigest> {
  await fs.promises.stat(file); // a missing file fails here, with its path
  const modelIndex = new Map(models.map((m, i) => [m, i]));
  const tallies: ModelTally[] = models.map(() => ({ right: 0, partial: 0, wrong: 0, failed: 0, unscored: 0, missing: 0, misses: [], missesTotal: 0 }));
  const disagreeing: ShownItem[] = [];
  const agreeing: ShownItem[] = [];
  const unknown = new Set<string>();
  let items = 0;
  let disagreements = 0;
  let lineNo = 0;

  const input = fs.createReadStream(file, { encoding: "utf8", highWaterMark: 256 * 1024 });
  const lines = readline.createInterface({ input, crlfDelay: Infinity });
  try {
    for await (const line of lines) {
      lineNo++;
      if (!line.trim()) continue;
      const row = parseRow(line, file, lineNo);
      items++;
      const answers = row.answers;
      for (const name of Object.keys(answers)) {
        if (!modelIndex.has(name) && unknown.size < MAX_UNKNOWN_MODELS) unknown.add(name);
      }
      const raw = models.map((m) => (Object.prototype.hasOwnProperty.call(answers, m) ? answers[m] : undefined));
      const verdicts = raw.map(verdictOf);
      const disagree = disagrees(raw, verdicts);
      if (disagree) disagreements++;
      verdicts.forEach((v, i) => tallies[i][v]++);

      // Only build the shown form of the item when some list will keep it.
      const wantedShown = disagree ? disagreeing.length < caps.maxItems : agreeing.length < caps.maxItems && disagreeing.length < caps.maxItems;
      const wantedBy = verdicts.map((v, i) => isMiss(v) && tallies[i].misses.length < caps.maxPerModel);
      verdicts.forEach((v, i) => {
        if (isMiss(v)) tallies[i].missesTotal++;
      });
      if (!wantedShown && !wantedBy.some(Boolean)) continue;

      const shown = toShown(row, items, raw, verdicts, disagree, caps.maxTextChars);
      if (wantedShown) (disagree ? disagreeing : agreeing).push(shown);
      wantedBy.forEach((wanted, i) => {
        if (wanted) tallies[i].misses.push(shown);
      });
    }
  } finally {
    lines.close();
    input.destroy();
  }
  const shown = disagreeing.concat(agreeing).slice(0, caps.maxItems);
  return { items, disagreements, shown, tallies, unknownModels: [...unknown] };
}

function parseRow(line: string, file: string, lineNo: number): ReportRow {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    throw new Error(`${file}:${lineNo}: not a JSON line (${(err as Error).message})`);
  }
  const row = value as Partial<ReportRow> | null;
  if (!row || typeof row !== "object" || Array.isArray(row)) throw new Error(`${file}:${lineNo}: expected a JSON object`);
  if (typeof row.customId !== "string") throw new Error(`${file}:${lineNo}: "customId" must be a string`);
  if (!row.answers || typeof row.answers !== "object" || Array.isArray(row.answers)) {
    throw new Error(`${file}:${lineNo}: "answers" must be an object keyed by model`);
  }
  return row as ReportRow;
}

export function verdictOf(answer: RowAnswer | undefined | null): Verdict {
  if (!answer || typeof answer !== "object") return "missing";
  if (answer.answer == null) return "failed";
  if (typeof answer.score !== "number" || !Number.isFinite(answer.score)) return "unscored";
  if (answer.score >= 1) return "right";
  if (answer.score <= 0) return "wrong";
  return "partial";
}

function isMiss(v: Verdict): boolean {
  return v === "wrong" || v === "partial" || v === "failed";
}

/**
 * Whether the models disagree on an item. When any answer is scored, by score (a failure counts as 0); otherwise
 * by the answers' text (trimmed, whitespace collapsed, case-folded), a failure being its own answer. Models
 * without an answer in the row are left out.
 */
function disagrees(raw: (RowAnswer | undefined)[], verdicts: Verdict[]): boolean {
  const scored = verdicts.some((v) => v === "right" || v === "wrong" || v === "partial");
  const keys = new Set<string>();
  raw.forEach((a, i) => {
    const v = verdicts[i];
    if (v === "missing") return;
    if (scored) keys.add(v === "failed" ? "0" : v === "unscored" ? "unscored" : String(a!.score));
    else keys.add(v === "failed" ? "\u0000failed" : String(a!.answer).trim().replace(/\s+/g, " ").toLowerCase());
  });
  return keys.size > 1;
}

function toShown(row: ReportRow, index: number, raw: (RowAnswer | undefined)[], verdicts: Verdict[], disagree: boolean, max: number): ShownItem {
  const cells: Cell[] = raw.map((a, i) => {
    const verdict = verdicts[i];
    if (!a || verdict === "missing") return { verdict };
    const text = verdict === "failed" ? (a.error != null && a.error !== "" ? String(a.error) : "no answer") : String(a.answer);
    return { verdict, text: clip(text, max), score: typeof a.score === "number" && Number.isFinite(a.score) ? a.score : undefined };
  });
  return {
    index,
    customId: clip(row.customId, 200).text,
    prompt: clip(typeof row.prompt === "string" ? row.prompt : row.prompt == null ? "" : JSON.stringify(row.prompt), max),
    expected: row.expected === undefined || row.expected === null ? undefined : clip(typeof row.expected === "string" ? row.expected : JSON.stringify(row.expected), max),
    cells,
    disagree,
    right: verdicts.filter((v) => v === "right").length,
    judged: verdicts.filter((v) => v === "right" || v === "wrong" || v === "partial" || v === "failed").length,
  };
}

function clip(text: string, max: number): Clip {
  if (text.length <= max) return { text, cut: 0 };
  let end = max;
  const code = text.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end--; // do not split a surrogate pair
  return { text: text.slice(0, end), cut: text.length - end };
}

// ---------------------------------------------------------------------------------------------------------------
// Formatting

const int = (n: number): string => (Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "—");

export function formatPercent(x: number | null | undefined): string {
  return typeof x === "number" && Number.isFinite(x) ? `${(x * 100).toFixed(1)}%` : "n/a";
}

/** USD with as many decimals as small amounts need (two significant digits below one cent). */
export function formatUsd(x: number | null | undefined): string {
  if (typeof x !== "number" || !Number.isFinite(x)) return "—";
  const sign = x < 0 ? "-" : "";
  const v = Math.abs(x);
  if (v === 0) return "$0.00";
  if (v >= 1) return `${sign}$${v.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
  if (v >= 0.01) return `${sign}$${v.toFixed(4)}`;
  const decimals = Math.min(10, 1 - Math.floor(Math.log10(v)));
  return `${sign}$${v.toFixed(decimals)}`;
}

function formatDate(d: string | Date): string {
  return d instanceof Date ? d.toISOString() : String(d);
}

function discountText(batchDiscount: number | undefined): string {
  const d = batchDiscount ?? 0.5;
  return `batch price = ${Math.round(d * 1000) / 10}% of list price`;
}

function reusedModels(options: WriteReportOptions): string[] {
  const set = new Set(options.meta.reused);
  for (const s of options.summaries) if (s.reused) set.add(s.model);
  return [...set];
}

function sumKnown(values: (number | null | undefined)[]): { sum: number | null; partial: boolean } {
  let sum: number | null = null;
  let partial = false;
  for (const v of values) {
    if (typeof v === "number" && Number.isFinite(v)) sum = (sum ?? 0) + v;
    else partial = true;
  }
  return { sum, partial: partial && sum !== null };
}

/** A plain-text table of the summaries, for terminal output. */
export function formatSummaryTable(summaries: ModelSummary[]): string {
  const header = ["model", "status", "accuracy", "scored", "ok/total", "failed", "prompt tok", "completion tok", "cost", "estimated"];
  const right = [false, false, true, true, true, true, true, true, true, true];
  const body = summaries.map((s) => [
    s.model + (s.reused ? " (reused)" : ""),
    s.status ?? "—",
    formatPercent(s.accuracy),
    int(s.scored),
    `${int(s.succeeded)}/${int(s.total)}`,
    int(s.failed),
    int(s.promptTokens),
    int(s.completionTokens),
    s.cost === null ? "no price" : formatUsd(s.cost),
    s.estimatedCost == null ? "—" : formatUsd(s.estimatedCost),
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...body.map((r) => r[c].length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, c) => (right[c] ? cell.padStart(widths[c]) : cell.padEnd(widths[c])))
      .join("  ")
      .trimEnd();
  const out = [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...body.map(line)];
  if (summaries.length === 0) out.push("(no models)");
  return out.join("\n");
}

// ---------------------------------------------------------------------------------------------------------------
// Markdown

function mdCell(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/\|/g, "\\|").replace(/</g, "&lt;").replace(/\r?\n/g, " ");
}

function mdCode(text: string): string {
  const t = text.replace(/\r?\n/g, " ");
  return t.includes("`") ? `\`\` ${t} \`\`` : `\`${t}\``;
}

function renderMarkdown(options: WriteReportOptions, rows: RowsDigest, htmlPath: string): string {
  const { meta, prices, summaries } = options;
  const out: string[] = [];
  out.push(`# ${mdCell(options.title)}`, "");
  out.push(
    `Dataset ${mdCode(meta.dataset)} · endpoint ${mdCode(meta.endpoint)} · ${int(rows.items)} items · generated ${mdCell(formatDate(meta.generatedAt))} · ` +
      `prices of ${mdCell(prices.date)} (${discountText(prices.batchDiscount)})`,
    "",
  );
  out.push("| Model | Accuracy | Succeeded/Total | Tokens (prompt / completion) | Cost | Estimated |");
  out.push("|---|---:|---:|---:|---:|---:|");
  for (const s of summaries) {
    out.push(
      `| ${mdCell(s.model)}${s.reused ? " (reused)" : ""} | ${formatPercent(s.accuracy)} | ${int(s.succeeded)}/${int(s.total)} | ` +
        `${int(s.promptTokens)} / ${int(s.completionTokens)} | ${s.cost === null ? "no price" : formatUsd(s.cost)} | ` +
        `${s.estimatedCost == null ? "—" : formatUsd(s.estimatedCost)} |`,
    );
  }
  out.push("");
  const reused = reusedModels(options);
  out.push(reused.length ? `Reused runs: ${reused.map(mdCode).join(", ")}` : "Reused runs: none (every run was submitted anew)");
  out.push("");
  if (summaries.length > 1) out.push(`Models disagree on ${int(rows.disagreements)} of ${int(rows.items)} items.`, "");
  const notes = [...(meta.notes ?? [])];
  if (rows.unknownModels.length) notes.push(`The rows also hold answers of models without a summary, not shown: ${rows.unknownModels.join(", ")}`);
  if (notes.length) {
    out.push("Notes:", "", ...notes.map((n) => `- ${mdCell(n)}`), "");
  }
  out.push(`HTML report: [report.html](report.html) (${mdCode(htmlPath)})`, "");
  return out.join("\n");
}

// ---------------------------------------------------------------------------------------------------------------
// HTML

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(text: unknown): string {
  return String(text).replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

const MARKS: Record<Verdict, string> = { right: "✓", wrong: "✗", partial: "◐", failed: "⚠", unscored: "·", missing: "—" };
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
  if (s.missing) parts.push(`<b>${int(s.missing)}</b> items without a result line`);
  if (s.duplicates) parts.push(`<b>${int(s.duplicates)}</b> duplicate result lines`);
  if (s.unknownIds) parts.push(`<b>${int(s.unknownIds)}</b> result lines for custom_ids not in the dataset`);
  return parts.length ? [`<p class="stats">${parts.join(" · ")}</p>`] : [];
}

function scoreText(score: number | undefined): string {
  return score === undefined ? "" : Number.isInteger(score) ? String(score) : score.toFixed(2);
}

const CSS = `
:root { --bg: #f5f6f8; --card: #ffffff; --ink: #1f2430; --muted: #5f6673; --line: #e2e5ea; --soft: #f0f2f5;
  --ok: #1d7a3a; --ok-bg: #e6f4ea; --bad: #b3261e; --bad-bg: #fce8e6; --warn: #8a5a00; --warn-bg: #fff4d6; }
* { box-sizing: border-box; }
html { background: var(--bg); }
body { margin: 0; color: var(--ink); font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Liberation Sans", sans-serif; }
main { max-width: 1320px; margin: 0 auto; padding: 20px 20px 48px; }
h1 { font-size: 26px; margin: 0 0 6px; letter-spacing: -0.01em; }
h2 { font-size: 18px; margin: 0 0 12px; }
h3 { font-size: 15px; margin: 0 0 8px; display: flex; align-items: center; gap: 8px; }
header, section.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 18px 20px; margin-bottom: 18px; box-shadow: 0 1px 2px rgba(20, 30, 50, 0.04); }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: 3px 16px; margin: 10px 0 0; }
dl.meta dt { color: var(--muted); }
dl.meta dd { margin: 0; }
ul.notes { margin: 10px 0 0; padding-left: 20px; color: var(--muted); }
code { font: 12.5px/1.4 ui-monospace, "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono", monospace; background: var(--soft); padding: 1px 5px; border-radius: 4px; }
.muted, .none { color: var(--muted); }
.note { color: var(--muted); margin: 8px 0; }
.note.cap { color: var(--warn); background: var(--warn-bg); padding: 6px 10px; border-radius: 6px; display: inline-block; }
.swatch { display: inline-block; width: 11px; height: 11px; border-radius: 3px; vertical-align: -1px; flex: none; }
.badge { display: inline-block; font-size: 11px; font-weight: 600; padding: 1px 7px; border-radius: 999px; background: var(--soft); color: var(--muted); vertical-align: 1px; }
.badge.reused { background: #e8eefc; color: #2a4fa8; }
.badge.disagree { background: var(--warn-bg); color: var(--warn); }
.status { font-size: 12px; font-weight: 600; padding: 1px 7px; border-radius: 4px; background: var(--soft); color: var(--muted); }
.status-success { background: var(--ok-bg); color: var(--ok); }
.status-failed, .status-timeout-exceeded, .status-cancelled { background: var(--bad-bg); color: var(--bad); }
.chart-wrap { overflow-x: auto; }
svg.chart { display: block; max-width: 100%; height: auto; }
svg.chart text { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, "Liberation Sans", sans-serif; font-size: 12px; fill: var(--ink); }
svg.chart .title { font-size: 13px; font-weight: 600; }
svg.chart .tick, svg.chart .legend { fill: var(--muted); font-size: 11px; }
svg.chart .value { font-weight: 600; }
svg.chart .grid { stroke: var(--line); stroke-width: 1; }
svg.chart .track { fill: var(--soft); }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 6px 9px; border-bottom: 1px solid var(--line); vertical-align: top; }
thead th { font-size: 12px; text-transform: uppercase; letter-spacing: 0.03em; color: var(--muted); background: #fafbfc; border-bottom: 1px solid #d5d9e0; white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tbody tr:nth-child(even) td { background: #fbfcfd; }
tfoot td { font-weight: 600; border-top: 1px solid #d5d9e0; border-bottom: 0; }
.table-wrap { overflow-x: auto; }
a { color: #2a4fa8; text-decoration: none; }
a:hover { text-decoration: underline; }
.model-name a { color: inherit; }
table.summary { font-size: 13px; }
table.summary thead th { white-space: normal; vertical-align: bottom; }
table.summary td { white-space: nowrap; }
table.summary td.job { white-space: normal; min-width: 172px; max-width: 200px; }
table.summary .model-name { white-space: normal; flex-wrap: wrap; }
table.summary th, table.summary td { padding: 6px 7px; }
table.summary td.job code { word-break: break-all; font-size: 11.5px; }
.model-name { display: flex; align-items: center; gap: 7px; font-weight: 600; white-space: nowrap; }
section.model { border-top: 1px solid var(--line); padding-top: 14px; margin-top: 14px; }
section.model:first-of-type { border-top: 0; margin-top: 0; padding-top: 0; }
.stats { color: var(--muted); margin: 0 0 8px; }
.stats b { color: var(--ink); }
.text { white-space: pre-wrap; word-break: break-word; max-height: 11em; overflow: auto; }
.cut { display: block; color: var(--muted); font-style: italic; font-size: 12px; }
table.items { table-layout: fixed; }
table.items th.id-col { width: 104px; }
table.items th.prompt-col { width: 22%; }
table.items th.expected-col { width: 11%; }
table.items th.right-col { width: 64px; }
th.model-col { text-transform: none; letter-spacing: 0; font-size: 12.5px; color: var(--ink); white-space: normal; }
th.model-col .model-name { white-space: normal; word-break: break-word; }
.cell { display: flex; gap: 6px; align-items: flex-start; }
.cell .body { flex: 1; min-width: 0; }
td.ans .mark { font-weight: 700; flex: none; width: 1em; text-align: center; }
td.ans.right { background: var(--ok-bg) !important; }
td.ans.right .mark { color: var(--ok); }
td.ans.wrong { background: var(--bad-bg) !important; }
td.ans.wrong .mark { color: var(--bad); }
td.ans.partial { background: var(--warn-bg) !important; }
td.ans.partial .mark { color: var(--warn); }
td.ans.failed { background: #f3f0f7 !important; }
td.ans.failed .mark { color: #6b4c9a; }
td.ans.failed .text { color: #6b4c9a; font-style: italic; }
td.ans .score { display: block; color: var(--muted); font-size: 11px; margin-top: 2px; }
td.expected .text { font-weight: 600; }
#only-disagree { margin: 0 6px 12px 0; vertical-align: -2px; }
.filter-label { cursor: pointer; user-select: none; }
#only-disagree:checked ~ .table-wrap tr.agree { display: none; }
footer { color: var(--muted); font-size: 12px; text-align: center; margin-top: 24px; }
`;

function renderHtml(options: WriteReportOptions, rows: RowsDigest, maxItems: number): string {
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
    // Nothing is fetched and no script runs, whatever the text in the report holds.
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'">`,
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
    reused.length ? reused.map((m) => `<code>${e(m)}</code>`).join(", ") : '<span class="muted">none — every run was submitted anew</span>',
  );
  out.push("</dl>");
  const notes = [...(meta.notes ?? [])];
  if (rows.unknownModels.length) notes.push(`The rows also hold answers of models without a summary, not shown: ${rows.unknownModels.join(", ")}`);
  if (notes.length) out.push('<ul class="notes">', ...notes.map((n) => `<li>${e(n)}</li>`), "</ul>");
  out.push("</header>");

  // Chart
  out.push('<section class="card" id="chart">', "<h2>Accuracy and cost per model</h2>", '<div class="chart-wrap">', chartSvg(summaries, colors), "</div>", "</section>");

  // Summary table
  out.push('<section class="card" id="summary">', "<h2>Summary</h2>", '<div class="table-wrap">', '<table class="summary">', "<thead><tr>");
  out.push(
    "<th>Model</th><th>Job</th><th>Status</th>",
    '<th class="num">Total</th><th class="num">Succeeded</th><th class="num">Failed</th><th class="num">Accuracy</th>',
    '<th class="num">Prompt tokens</th><th class="num">Completion tokens</th><th class="num">Cost</th><th class="num">Estimated</th>',
    "</tr></thead>",
    "<tbody>",
  );
  summaries.forEach((s, i) => {
    const estTitle = s.estimatedInputTokens != null ? ` title="${e(`estimated ${int(s.estimatedInputTokens)} input tokens`)}"` : "";
    out.push(
      `<tr data-model="${e(s.model)}">`,
      `<td><span class="model-name">${swatch(colors[i])}<a href="#model-${i}">${e(s.model)}</a>${reusedSet.has(s.model) ? ' <span class="badge reused">reused</span>' : ""}</span></td>`,
      `<td class="job">${s.jobId ? `<code>${e(s.jobId)}</code>` : '<span class="none">—</span>'}</td>`,
      `<td>${statusBadge(s.status)}</td>`,
      `<td class="num">${int(s.total)}</td><td class="num">${int(s.succeeded)}</td><td class="num">${int(s.failed)}</td>`,
      `<td class="num accuracy" title="${e(
        `mean score over ${int(s.scored)} scored items` +
          (typeof s.strictAccuracy === "number" ? `; ${formatPercent(s.strictAccuracy)} counting failed and missing items as 0` : ""),
      )}">${formatPercent(s.accuracy)}</td>`,
      `<td class="num">${int(s.promptTokens)}</td><td class="num">${int(s.completionTokens)}</td>`,
      `<td class="num">${s.cost === null ? '<span class="none">no price</span>' : formatUsd(s.cost)}</td>`,
      `<td class="num"${estTitle}>${s.estimatedCost == null ? '<span class="none">—</span>' : formatUsd(s.estimatedCost)}</td>`,
      "</tr>",
    );
  });
  out.push("</tbody>");
  if (summaries.length > 1) {
    const cost = sumKnown(summaries.map((s) => s.cost));
    const est = sumKnown(summaries.map((s) => s.estimatedCost));
    const sum = (f: (s: ModelSummary) => number) => summaries.reduce((a, s) => a + (Number.isFinite(f(s)) ? f(s) : 0), 0);
    const money = (x: { sum: number | null; partial: boolean }) => (x.sum === null ? "—" : formatUsd(x.sum) + (x.partial ? "*" : ""));
    out.push(
      "<tfoot><tr>",
      `<td>All models</td><td></td><td></td>`,
      `<td class="num">${int(sum((s) => s.total))}</td><td class="num">${int(sum((s) => s.succeeded))}</td><td class="num">${int(sum((s) => s.failed))}</td><td></td>`,
      `<td class="num">${int(sum((s) => s.promptTokens))}</td><td class="num">${int(sum((s) => s.completionTokens))}</td>`,
      `<td class="num">${money(cost)}</td><td class="num">${money(est)}</td>`,
      "</tr></tfoot>",
    );
  }
  out.push("</table>", "</div>");
  if (summaries.some((s) => s.cost === null)) out.push('<p class="note">No price: the price table has no entry for the model. * A total over the models that have one.</p>');
  out.push("</section>");

  // Per model
  out.push('<section class="card" id="models">', "<h2>Per model: wrong and failed answers</h2>");
  summaries.forEach((s, i) => {
    const t = rows.tallies[i];
    out.push(
      `<section class="model" id="model-${i}" data-model="${e(s.model)}">`,
      `<h3>${swatch(colors[i])}${e(s.model)}${reusedSet.has(s.model) ? ' <span class="badge reused">reused</span>' : ""}</h3>`,
      `<p class="stats">accuracy <b>${formatPercent(s.accuracy)}</b> · right <b>${int(t.right)}</b> · partly right <b>${int(t.partial)}</b> · ` +
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
        `<td><code>${e(item.customId)}</code></td>`,
        `<td class="prompt">${clipHtml(item.prompt, "")}</td>`,
        `<td class="ans ${cell.verdict}">${answerCell(cell, "")}</td>`,
        `<td class="expected">${clipHtml(item.expected)}</td>`,
        `<td class="num">${cell.verdict === "failed" && cell.score === undefined ? "—" : scoreText(cell.score)}</td>`,
        "</tr>",
      );
    }
    out.push("</tbody>", "</table>", "</div>");
    if (t.missesTotal > t.misses.length) {
      out.push(`<p class="note cap">Showing the first ${int(t.misses.length)} of ${int(t.missesTotal)} wrong or failed answers; ${int(t.missesTotal - t.misses.length)} omitted.</p>`);
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
    out.push(`<p class="note cap" id="items-cap">Showing ${int(rows.shown.length)} of ${int(rows.items)} items; ${int(omitted)} omitted (maxItems = ${int(maxItems)}).</p>`);
  }
  out.push(
    `<input type="checkbox" id="only-disagree">`,
    `<label for="only-disagree" class="filter-label"> Show only disagreements</label>`,
    '<div class="table-wrap">',
    '<table class="items">',
    "<thead><tr>",
    '<th class="id-col">Item</th><th class="prompt-col">Prompt</th><th class="expected-col">Expected</th>',
    ...summaries.map((s, i) => `<th class="model-col" data-model="${e(s.model)}"><span class="model-name">${swatch(colors[i])}${e(s.model)}</span></th>`),
    '<th class="num right-col">Right</th>',
    "</tr></thead>",
    "<tbody>",
  );
  for (const item of rows.shown) {
    out.push(
      `<tr class="item ${item.disagree ? "disagree" : "agree"}" data-custom-id="${e(item.customId)}">`,
      `<td><code>${e(item.customId)}</code>${item.disagree ? ' <span class="badge disagree">disagree</span>' : ""}</td>`,
      `<td class="prompt">${clipHtml(item.prompt, "")}</td>`,
      `<td class="expected">${clipHtml(item.expected)}</td>`,
    );
    item.cells.forEach((cell, i) => {
      const score = cell.score !== undefined && cell.verdict === "partial" ? `<span class="score">score ${scoreText(cell.score)}</span>` : "";
      out.push(`<td class="ans ${cell.verdict}" data-model="${e(summaries[i].model)}">${answerCell(cell, score)}</td>`);
    });
    out.push(`<td class="num tally">${item.judged ? `${item.right}/${item.judged}` : "—"}</td>`, "</tr>");
  }
  if (rows.shown.length === 0) out.push(`<tr><td colspan="${summaries.length + 4}" class="none">No items in the rows file.</td></tr>`);
  out.push("</tbody>", "</table>", "</div>", "</section>");

  out.push(`<footer>Written by pulumi-mistral-batch · self-contained: opens offline, fetches nothing, runs no script.</footer>`);
  out.push("</main>", "</body>", "</html>", "");
  return out.join("\n");
}

/** A round number at or above x (1, 2, 2.5 or 5 times a power of ten). */
function niceCeil(x: number): number {
  if (!(x > 0)) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(x)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= x * (1 - 1e-12)) return m * p;
  return 10 * p;
}

function chartSvg(summaries: ModelSummary[], colors: string[]): string {
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

  const costs = summaries.flatMap((s) => [s.cost, s.estimatedCost]).filter((v): v is number => typeof v === "number" && Number.isFinite(v) && v > 0);
  const maxCost = niceCeil(Math.max(0, ...costs));
  const costW = (v: number) => Math.max(0, Math.min(1, v / maxCost)) * panelW;
  const r = (v: number) => Math.round(v * 10) / 10;

  const label = summaries
    .map((s) => `${s.model}: accuracy ${formatPercent(s.accuracy)}, cost ${s.cost === null ? "no price" : formatUsd(s.cost)}`)
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
    out.push(`<text class="tick" x="${x}" y="${bottom + 16}" text-anchor="middle">${e(costs.length ? formatUsd(f * maxCost) : "")}</text>`);
  }
  summaries.forEach((s, i) => {
    const y = top + i * rowH + (rowH - barH) / 2;
    const mid = r(y + barH / 2 + 4);
    const name = s.model.length > 28 ? `${s.model.slice(0, 27)}…` : s.model;
    const color = colors[i];
    out.push(`<g class="model" data-model="${e(s.model)}">`);
    out.push(`<text x="${labelW - 12}" y="${mid}" text-anchor="end"><title>${e(s.model)}</title>${e(name)}</text>`);
    // Accuracy
    const acc = typeof s.accuracy === "number" && Number.isFinite(s.accuracy) ? Math.max(0, Math.min(1, s.accuracy)) : null;
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
    out.push(`<text class="value" x="${r(costX + Math.max(cW, est === null ? 0 : costW(est)) + 6)}" y="${mid}">${e(costLabel)}</text>`);
    out.push("</g>");
  });
  if (n === 0) out.push(`<text class="legend" x="${accX}" y="${top + 20}">No models.</text>`);
  out.push("</svg>");
  return out.join("\n");
}
