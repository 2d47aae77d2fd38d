/** The report's inputs and outputs: the rows file's lines, the options of writeReport and the paths it writes. */
import type { RunDeclaration } from "../history";
import type { EvalItem, ModelSummary, PriceTable } from "../types";

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
  /** Why the answer ended (`stop`, `length`, ...), when the join read it. */
  finishReason?: string | null;
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
  /**
   * List prices per model (by summary name), for each answer's cost in the per-item view; null for a model without.
   * @default none: the answers' details give tokens only
   */
  modelPrices?: Record<string, { inputPerMTok: number; outputPerMTok: number } | null>;
  meta: ReportMeta;
  /**
   * Keep a history of the runs in `dir` and compare with the previous one (eval/history.ts): the declared model and
   * overrides of each run (by label) and the scorer, named as causes when they change.
   * @default none: no history, no comparison with earlier runs
   */
  history?: { dir: string; scorer: string; runs: RunDeclaration[] };
  /**
   * Paths under this directory are written relative to it in the Markdown summary (meant for pull requests) and in
   * the HTML page's header and notes.
   * @default the working directory
   */
  baseDir?: string;
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

/** How one model did on one item. */
export type Verdict = "right" | "partial" | "wrong" | "failed" | "unscored" | "missing";
