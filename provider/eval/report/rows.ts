/**
 * Reading the rows file, streaming: per model the verdict on each item and its tallies, the items shown (disagreements
 * first) and the wrong answers listed per model, within the caps. Memory stays bounded by the caps.
 */
import * as fs from "node:fs";
import * as readline from "node:readline";
import type { HistoryCollector, RunDiff } from "../history";
import { comparePairs, type PairComparison } from "../stats";
import type { ReportRow, RowAnswer, Verdict } from "./types";

/** Text cut to a length: what is shown, and how many characters were left out. */
export interface Clip {
  text: string;
  cut: number;
}

export interface Cell {
  verdict: Verdict;
  /** The answer, or the error when the request failed. */
  text?: Clip;
  score?: number;
  /** The answer's usage, and why it ended (`stop`, `length`, ...) when the rows say. */
  promptTokens?: number;
  completionTokens?: number;
  finishReason?: string;
}

export interface ShownItem {
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

export interface ModelTally {
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

export interface RowsDigest {
  items: number;
  disagreements: number;
  /** The items shown: disagreements first, then the others, each in file order, at most maxItems. */
  shown: ShownItem[];
  tallies: ModelTally[];
  /** Models that answer in the rows but have no summary (not shown), at most a few. */
  unknownModels: string[];
  /** Every pair of models compared on the items both were judged on (none with fewer than two models scored). */
  comparisons: PairComparison[];
  /** The comparison with the previous run, when the report keeps a history (writeReport's `history`). */
  diff?: RunDiff;
  /** Notes of the reading (the history's), shown with the report's notes. */
  notes: string[];
}

const MAX_UNKNOWN_MODELS = 20;

export async function readRows(
  file: string,
  models: string[],
  caps: { maxItems: number; maxPerModel: number; maxTextChars: number },
  collector?: HistoryCollector,
): Promise<RowsDigest> {
  await fs.promises.stat(file); // a missing file fails here, with its path
  const modelIndex = new Map(models.map((m, i) => [m, i]));
  const tallies: ModelTally[] = models.map(() => ({
    right: 0,
    partial: 0,
    wrong: 0,
    failed: 0,
    unscored: 0,
    missing: 0,
    misses: [],
    missesTotal: 0,
  }));
  const disagreeing: ShownItem[] = [];
  const agreeing: ShownItem[] = [];
  const unknown = new Set<string>();
  // With several models, each one's score on each item in file order (a failure 0; NaN when missing or not
  // scored), for comparePairs; nothing is kept for one model.
  const comparing = models.length > 1;
  const scores: number[][] = models.map(() => []);
  let anyScored = false;
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
      const raw = models.map((m) => (Object.hasOwn(answers, m) ? answers[m] : undefined));
      const verdicts = raw.map(verdictOf);
      const disagree = disagrees(raw, verdicts);
      if (disagree) disagreements++;
      collector?.add(
        row.customId,
        row.prompt,
        row.expected,
        verdicts,
        raw.map((a) => a?.score),
      );
      verdicts.forEach((v, i) => {
        tallies[i][v]++;
        if (!comparing) return;
        if (isScored(v)) anyScored = true;
        scores[i]?.push(v === "failed" ? 0 : isScored(v) ? (raw[i]?.score ?? 0) : Number.NaN);
      });

      // Only build the shown form of the item when some list will keep it.
      const wantedShown = disagree
        ? disagreeing.length < caps.maxItems
        : agreeing.length < caps.maxItems && disagreeing.length < caps.maxItems;
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
  const comparisons = comparing && anyScored ? comparePairs(models, scores) : [];
  return { items, disagreements, shown, tallies, unknownModels: [...unknown], comparisons, notes: [] };
}

function parseRow(line: string, file: string, lineNo: number): ReportRow {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    throw new Error(`${file}:${lineNo}: not a JSON line (${(err as Error).message})`);
  }
  const row = value as Partial<ReportRow> | null;
  if (!row || typeof row !== "object" || Array.isArray(row))
    throw new Error(`${file}:${lineNo}: expected a JSON object`);
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

/** An answer with a score: right, wrong or partly right. */
function isScored(v: Verdict): boolean {
  return v === "right" || v === "wrong" || v === "partial";
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
  const scored = verdicts.some(isScored);
  const keys = new Set<string>();
  raw.forEach((a, i) => {
    const v = verdicts[i];
    // verdictOf gives "missing" for an absent answer, so a is defined past this check.
    if (v === "missing" || a === undefined) return;
    if (scored) keys.add(v === "failed" ? "0" : v === "unscored" ? "unscored" : String(a.score));
    else keys.add(v === "failed" ? "\u0000failed" : String(a.answer).trim().replace(/\s+/g, " ").toLowerCase());
  });
  return keys.size > 1;
}

function toShown(
  row: ReportRow,
  index: number,
  raw: (RowAnswer | undefined)[],
  verdicts: Verdict[],
  disagree: boolean,
  max: number,
): ShownItem {
  const cells: Cell[] = raw.map((a, i) => {
    const verdict = verdicts[i];
    if (!a || verdict === "missing") return { verdict };
    const text =
      verdict === "failed" ? (a.error != null && a.error !== "" ? String(a.error) : "no answer") : String(a.answer);
    return {
      verdict,
      text: clip(text, max),
      score: typeof a.score === "number" && Number.isFinite(a.score) ? a.score : undefined,
      promptTokens: Number.isFinite(a.promptTokens) ? a.promptTokens : 0,
      completionTokens: Number.isFinite(a.completionTokens) ? a.completionTokens : 0,
      ...(typeof a.finishReason === "string" ? { finishReason: a.finishReason } : {}),
    };
  });
  return {
    index,
    customId: clip(row.customId, 200).text,
    prompt: clip(
      typeof row.prompt === "string" ? row.prompt : row.prompt == null ? "" : JSON.stringify(row.prompt),
      max,
    ),
    expected:
      row.expected === undefined || row.expected === null
        ? undefined
        : clip(typeof row.expected === "string" ? row.expected : JSON.stringify(row.expected), max),
    cells,
    disagree,
    right: verdicts.filter((v) => v === "right").length,
    judged: verdicts.filter((v) => isScored(v) || v === "failed").length,
  };
}

function clip(text: string, max: number): Clip {
  if (text.length <= max) return { text, cut: 0 };
  let end = max;
  const code = text.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end--; // do not split a surrogate pair
  return { text: text.slice(0, end), cut: text.length - end };
}
