/**
 * Run-to-run history of an Evaluation. Each `up` that writes the report keeps a compact record of its per-item
 * scores in `<outputDir>/history/`, and the report compares with the previous run: per model, the items that
 * regressed and improved, whether the change is significant, and what changed in the declaration (the model, what
 * answered, the overrides, prompts, expected answers, the scorer) as the likely cause.
 *
 * The record (history/runs.jsonl, one line per run, the newest last, at most MAX_RUNS):
 *   { version, at, items, scorer, runs: [{ label, model, overrides, answeredBy, scores, partials? }] }
 * `items` names the items file (history/items-<fingerprint>.json: the custom_ids in row order, and a short hash of
 * each item's prompt and expected answer), written once and shared by every run over the same items. `scores` is
 * one character per item, in that order: `1` right, `0` wrong, `x` failed (counting 0), `p` partly right (its
 * score in `partials`, in order), `-` not scored, `.` no answer in the rows.
 *
 * A run that repeats the newest record (same items, scorer, declarations and scores, as every `up` without a change
 * does) adds nothing, and the report compares with the record before it: the comparison stays the same from one
 * no-change `up` to the next. Pure planning (`encode*`, `diffRuns`) is apart from the files (`recordRun`).
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { canonicalJson } from "../unknown";
import { comparePairs, formatP, holm, testName, type PairComparison } from "./stats";

export const HISTORY_VERSION = 1;
/** Runs kept in runs.jsonl; the oldest go first, with the items files no kept run names. */
export const MAX_RUNS = 50;
/** Item ids listed per model and direction (regressed, improved) in a diff; the counts are whole. */
export const MAX_LISTED = 20;

/** What the program declared for a run: its label, model and overrides (a fingerprint; "" for none). */
export interface RunDeclaration {
  label: string;
  model: string;
  overrides: string;
}

export interface HistoryRun extends RunDeclaration {
  /** The models named by the responses (the `model` field), most requests first. */
  answeredBy: string[];
  /** What the models API resolved the model's name to when its requests ran, when known. */
  resolved?: string;
  /** One character per item (see the module comment). */
  scores: string;
  partials?: number[];
}

export interface HistoryEntry {
  version: typeof HISTORY_VERSION;
  /** When the run's report was written (ISO 8601). */
  at: string;
  /** The fingerprint of the items file (history/items-<items>.json). */
  items: string;
  /** The scorer as declared (canonical JSON, or a function's name and fingerprint). */
  scorer: string;
  runs: HistoryRun[];
}

/** The items of a run, in row order: custom_id, and short hashes of the prompt and the expected answer ("" none). */
export interface HistoryItems {
  ids: string[];
  prompts: string[];
  expected: string[];
}

/** A short fingerprint of a text: enough to tell whether one item's prompt changed between two runs. */
export function shortHash(text: string): string {
  return crypto.hash("sha256", text, "hex").slice(0, 10);
}

/** A declaration's text in the history: canonical JSON when short, else its fingerprint; "" for nothing. */
export function declarationText(value: unknown): string {
  if (value === undefined || value === null) return "";
  if (typeof value === "function") return `function ${value.name || "(anonymous)"} (${shortHash(value.toString())})`;
  if (typeof value === "object" && Object.keys(value).length === 0) return "";
  const text = canonicalJson(value);
  return text.length <= 200 ? text : `sha256:${shortHash(text)}`;
}

/** The character of a verdict in `scores`. */
export function scoreCode(verdict: string): string {
  switch (verdict) {
    case "right":
      return "1";
    case "wrong":
      return "0";
    case "failed":
      return "x";
    case "partial":
      return "p";
    case "unscored":
      return "-";
    default:
      return ".";
  }
}

/** Scores per item (NaN where not judged; a failure 0), from a run's `scores` and `partials`. */
export function decodeScores(run: Pick<HistoryRun, "scores" | "partials">): Float64Array {
  const out = new Float64Array(run.scores.length);
  let k = 0;
  for (let i = 0; i < run.scores.length; i++) {
    const c = run.scores[i];
    out[i] = c === "1" ? 1 : c === "0" || c === "x" ? 0 : c === "p" ? (run.partials?.[k++] ?? Number.NaN) : Number.NaN;
  }
  return out;
}

/** Collects a run's items and scores while the report reads the rows. */
export class HistoryCollector {
  readonly items: HistoryItems = { ids: [], prompts: [], expected: [] };
  private readonly codes: string[][];
  private readonly partials: number[][];

  constructor(readonly models: readonly string[]) {
    this.codes = models.map(() => []);
    this.partials = models.map(() => []);
  }

  add(customId: string, prompt: unknown, expected: unknown, verdicts: readonly string[], scores: readonly unknown[]) {
    this.items.ids.push(customId);
    this.items.prompts.push(shortHash(typeof prompt === "string" ? prompt : JSON.stringify(prompt ?? "")));
    this.items.expected.push(expected === undefined || expected === null ? "" : shortHash(JSON.stringify(expected)));
    verdicts.forEach((v, m) => {
      this.codes[m]?.push(scoreCode(v));
      if (v === "partial") this.partials[m]?.push(Number(scores[m]));
    });
  }

  /** Per model (in the collector's order): its scores and partial scores. */
  scoresOf(m: number): Pick<HistoryRun, "scores" | "partials"> {
    const partials = this.partials[m] ?? [];
    return { scores: (this.codes[m] ?? []).join(""), ...(partials.length ? { partials } : {}) };
  }
}

/** What changed for one model between the previous run and this one. */
export interface ModelDiff {
  label: string;
  /** Items judged in both runs (a failure scoring 0). */
  n: number;
  regressed: number;
  improved: number;
  /** The first regressed and improved items (custom_ids, in row order), at most MAX_LISTED each. */
  regressedIds: string[];
  improvedIds: string[];
  /** Now against before on the same items: difference, interval, McNemar (a = "now", b = "before"); null for n = 0. */
  comparison: PairComparison | null;
  /** Holm-adjusted over the models of the diff. */
  adjustedP: number;
  significant: boolean;
  /** The declared changes that may explain it (empty: none). */
  causes: string[];
}

export interface RunDiff {
  /** When the previous run was written. */
  previousAt: string;
  models: ModelDiff[];
  /** Labels in this run only, and in the previous one only. */
  added: string[];
  removed: string[];
  itemsAdded: number;
  itemsRemoved: number;
}

/** A run with its items, as diffRuns compares them. */
export interface RunRecord {
  entry: HistoryEntry;
  items: HistoryItems;
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Whether two records hold the same run (all but when it was written). */
export function sameRun(a: HistoryEntry, b: HistoryEntry): boolean {
  if (a.items !== b.items || a.scorer !== b.scorer || a.runs.length !== b.runs.length) return false;
  return a.runs.every((r, i) => {
    const o = b.runs[i];
    return (
      o !== undefined &&
      r.label === o.label &&
      r.model === o.model &&
      r.overrides === o.overrides &&
      r.resolved === o.resolved &&
      sameList(r.answeredBy, o.answeredBy) &&
      r.scores === o.scores &&
      sameList((r.partials ?? []).map(String), (o.partials ?? []).map(String))
    );
  });
}

/** Compares this run with the previous one, model by model (by label), on the items both hold (by custom_id). Pure. */
export function diffRuns(previous: RunRecord, current: RunRecord, alpha = 0.05): RunDiff {
  const before = new Map(previous.items.ids.map((id, i) => [id, i]));
  const now = new Set(current.items.ids);
  // Row positions of the items in both runs: [index now, index before].
  const pairs: [number, number][] = [];
  current.items.ids.forEach((id, i) => {
    const j = before.get(id);
    if (j !== undefined) pairs.push([i, j]);
  });
  const promptChanged = pairs.map(([i, j]) => current.items.prompts[i] !== previous.items.prompts[j]);
  const expectedChanged = pairs.map(([i, j]) => current.items.expected[i] !== previous.items.expected[j]);
  const previousRuns = new Map(previous.entry.runs.map((r) => [r.label, r]));
  const currentLabels = new Set(current.entry.runs.map((r) => r.label));

  const models: Omit<ModelDiff, "adjustedP" | "significant">[] = [];
  for (const run of current.entry.runs) {
    const old = previousRuns.get(run.label);
    if (old === undefined) continue;
    const a = decodeScores(run);
    const b = decodeScores(old);
    const nowScores: number[] = [];
    const beforeScores: number[] = [];
    const regressedIds: string[] = [];
    const improvedIds: string[] = [];
    let regressed = 0;
    let improved = 0;
    let prompts = 0;
    let expected = 0;
    pairs.forEach(([i, j], k) => {
      const u = a[i] ?? Number.NaN;
      const v = b[j] ?? Number.NaN;
      if (Number.isNaN(u) || Number.isNaN(v)) return;
      nowScores.push(u);
      beforeScores.push(v);
      if (u === v) return;
      if (promptChanged[k]) prompts++;
      if (expectedChanged[k]) expected++;
      const id = current.items.ids[i] ?? "";
      if (u < v) {
        regressed++;
        if (regressedIds.length < MAX_LISTED) regressedIds.push(id);
      } else {
        improved++;
        if (improvedIds.length < MAX_LISTED) improvedIds.push(id);
      }
    });
    const causes: string[] = [];
    if (old.model !== run.model) causes.push(`model ${old.model} → ${run.model}`);
    else if (old.resolved && run.resolved && old.resolved !== run.resolved)
      causes.push(`${run.model} resolved to ${old.resolved} → ${run.resolved}`);
    else if (old.answeredBy.length && run.answeredBy.length && !sameList(old.answeredBy, run.answeredBy))
      causes.push(`answered by ${old.answeredBy.join(", ")} → ${run.answeredBy.join(", ")}`);
    if (old.overrides !== run.overrides)
      causes.push(`overrides ${old.overrides || "none"} → ${run.overrides || "none"}`);
    if (prompts) causes.push(`prompt changed on ${prompts} of the ${regressed + improved} changed items`);
    if (expected) causes.push(`expected answer changed on ${expected} of the ${regressed + improved} changed items`);
    if (previous.entry.scorer !== current.entry.scorer)
      causes.push(`scorer ${previous.entry.scorer} → ${current.entry.scorer}`);
    const comparison = nowScores.length
      ? (comparePairs(["now", "before"], [nowScores, beforeScores])[0] ?? null)
      : null;
    models.push({
      label: run.label,
      n: nowScores.length,
      regressed,
      improved,
      regressedIds,
      improvedIds,
      comparison,
      causes,
    });
  }
  const adjusted = holm(models.map((m) => m.comparison?.p ?? 1));
  return {
    previousAt: previous.entry.at,
    models: models.map((m, i) => ({ ...m, adjustedP: adjusted[i] ?? 1, significant: (adjusted[i] ?? 1) < alpha })),
    added: current.entry.runs.filter((r) => !previousRuns.has(r.label)).map((r) => r.label),
    removed: previous.entry.runs.filter((r) => !currentLabels.has(r.label)).map((r) => r.label),
    itemsAdded: current.items.ids.filter((id) => !before.has(id)).length,
    itemsRemoved: previous.items.ids.filter((id) => !now.has(id)).length,
  };
}

/** A model's change in words, for the Markdown summary and the HTML report. */
export function describeModelDiff(d: ModelDiff): string {
  if (d.n === 0) return `${d.label}: no item judged in both runs`;
  const points = (x: number) => `${x >= 0 ? "+" : "-"}${Math.abs(x * 100).toFixed(1)}`;
  const c = d.comparison;
  const causes = d.causes.length
    ? `cause: ${d.causes.join("; ")}`
    : "no declared change (same model, overrides, prompts and scorer): the answers themselves changed";
  if (d.regressed === 0 && d.improved === 0) {
    return `${d.label}: no change on ${d.n.toLocaleString("en-US")} items${d.causes.length ? ` (${causes})` : ""}`;
  }
  return (
    `${d.label}: ${d.regressed.toLocaleString("en-US")} regressed, ${d.improved.toLocaleString("en-US")} improved of ` +
    `${d.n.toLocaleString("en-US")} items, ${c ? `${points(c.difference)} points (95% CI ${points(c.low)} to ${points(c.high)})` : ""}, ` +
    `${d.significant ? "significant" : "not significant"} (${c ? testName(c) : "McNemar"} ${formatP(c?.p ?? 1)}${d.adjustedP !== (c?.p ?? 1) ? `, Holm-adjusted ${formatP(d.adjustedP)}` : ""}); ${causes}`
  );
}

// ---- files ---------------------------------------------------------------------------------------------------------

const RUNS_FILE = "runs.jsonl";
const itemsFile = (dir: string, fingerprint: string) => path.join(dir, `items-${fingerprint}.json`);

function isEntry(v: unknown): v is HistoryEntry {
  const e = v as HistoryEntry | null;
  return (
    !!e &&
    typeof e === "object" &&
    e.version === HISTORY_VERSION &&
    typeof e.at === "string" &&
    typeof e.items === "string" &&
    typeof e.scorer === "string" &&
    Array.isArray(e.runs) &&
    e.runs.every((r) => r && typeof r.label === "string" && typeof r.scores === "string" && Array.isArray(r.answeredBy))
  );
}

/** The records of runs.jsonl, oldest first, and notes on the lines that could not be read (never fatal). */
export function readHistory(dir: string): { entries: HistoryEntry[]; notes: string[] } {
  const file = path.join(dir, RUNS_FILE);
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { entries: [], notes: [] };
    throw error;
  }
  const entries: HistoryEntry[] = [];
  const notes: string[] = [];
  text.split("\n").forEach((line, i) => {
    if (!line.trim()) return;
    try {
      const value: unknown = JSON.parse(line);
      if (isEntry(value)) entries.push(value);
      else notes.push(`history/${RUNS_FILE} line ${i + 1}: not a run record of version ${HISTORY_VERSION}, skipped`);
    } catch (error) {
      notes.push(`history/${RUNS_FILE} line ${i + 1}: not JSON (${(error as Error).message}), skipped`);
    }
  });
  return { entries, notes };
}

function readItems(dir: string, fingerprint: string): HistoryItems | undefined {
  try {
    const value = JSON.parse(fs.readFileSync(itemsFile(dir, fingerprint), "utf8")) as HistoryItems;
    return Array.isArray(value.ids) && Array.isArray(value.prompts) && Array.isArray(value.expected)
      ? value
      : undefined;
  } catch {
    return undefined; // a lost or damaged items file: that run cannot be compared with, and is passed over
  }
}

function writeAtomically(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text, "utf8");
  fs.renameSync(tmp, file);
}

/**
 * Records this run in `dir` (unless it repeats the newest record) and returns its comparison with the previous
 * different run, or undefined for the first run; notes say what of the history could not be read.
 */
export function recordRun(
  dir: string,
  current: Omit<HistoryEntry, "version" | "items">,
  items: HistoryItems,
): { diff: RunDiff | undefined; notes: string[] } {
  fs.mkdirSync(dir, { recursive: true });
  const fingerprint = shortHash(JSON.stringify(items));
  const entry: HistoryEntry = {
    version: HISTORY_VERSION,
    at: current.at,
    items: fingerprint,
    scorer: current.scorer,
    runs: current.runs,
  };
  const { entries, notes } = readHistory(dir);
  const repeats = entries.length > 0 && sameRun(entries[entries.length - 1] as HistoryEntry, entry);
  const earlier = repeats ? entries.slice(0, -1) : entries;
  let diff: RunDiff | undefined;
  for (let k = earlier.length - 1; k >= 0 && diff === undefined; k--) {
    const previous = earlier[k] as HistoryEntry;
    const previousItems = previous.items === fingerprint ? items : readItems(dir, previous.items);
    if (previousItems === undefined) {
      notes.push(`history: the items of the run of ${previous.at} are missing; compared with an earlier run`);
      continue;
    }
    diff = diffRuns({ entry: previous, items: previousItems }, { entry, items });
  }
  if (!repeats) {
    if (!fs.existsSync(itemsFile(dir, fingerprint)))
      writeAtomically(itemsFile(dir, fingerprint), JSON.stringify(items));
    const kept = [...entries, entry].slice(-MAX_RUNS);
    writeAtomically(path.join(dir, RUNS_FILE), kept.map((e) => `${JSON.stringify(e)}\n`).join(""));
    const named = new Set(kept.map((e) => `items-${e.items}.json`));
    for (const name of fs.readdirSync(dir)) {
      if (/^items-[0-9a-f]+\.json$/.test(name) && !named.has(name)) fs.rmSync(path.join(dir, name), { force: true });
    }
  }
  return { diff, notes };
}
