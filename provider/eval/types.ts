/**
 * Shared shapes of evaluation runs: one dataset across several models, results joined by custom_id and scored.
 */

/**
 * How an answer is judged against the expected answer. Declarative, so it can be stored and diffed. Only items
 * with an expected answer are scored: an Evaluation without one scores nothing, whatever its scorer.
 */
export type Scorer =
  /** Equal after normalisation (trim, collapse whitespace, case-fold unless caseSensitive, strip trailing punctuation). */
  | {
      type: "exact";
      /** Compare case-sensitively. @default false */
      caseSensitive?: boolean;
    }
  /** The answer contains the expected text (normalised as for exact). */
  | {
      type: "contains";
      /** Compare case-sensitively. @default false */
      caseSensitive?: boolean;
    }
  /** The answer matches the pattern; `{expected}` in the pattern is replaced by the escaped expected text. */
  | {
      type: "regex";
      /** A JavaScript regular expression; `{expected}` stands for the escaped expected text. */
      pattern: string;
      /** Flags of the regular expression, e.g. `"i"`. @default "" (none) */
      flags?: string;
    }
  /** The last number in the answer equals the expected number within `tolerance` or `relativeTolerance`, whichever allows more. */
  | {
      type: "numeric";
      /** Absolute tolerance. @default 0 */
      tolerance?: number;
      /** Tolerance as a fraction of the expected number, e.g. 0.01. @default 0 */
      relativeTolerance?: number;
    }
  /** The answer parsed as JSON has `field` (dot path) equal to the expected value (JSON equality). */
  | {
      type: "json-field";
      /** Dot path into the answer's JSON, e.g. `"answer"` or `"result.items.0.name"`. */
      field: string;
    }
  /**
   * A judge for open-ended answers: `model` grades each answer against the expected one by `rubric`, replying
   * CORRECT (1) or INCORRECT (0). The grading runs as batch jobs of its own, at the batch price: one RequestSet per
   * run (`<evaluation>-judge-<label>`, and `-<shard>` per shard of a dataset cut in shards), declared, diffed and
   * reused like the answers' (a grade is sent again only when its answer, expected answer or the rubric changed).
   * Its cost is in the estimate and the report. It grades the answers of the same `up`, so `waitForCompletion` must
   * not be false.
   */
  | {
      type: "judge";
      /** The grading model, e.g. `"mistral-large-latest"`. */
      model: string;
      /** What the judge is told (its system message). @default JUDGE_RUBRIC: same meaning as the expected answer */
      rubric?: string;
      /** Output tokens per grade. @default 8 */
      maxTokens?: number;
    };

/** A scoring function run in the Pulumi program (never in the provider). Returns true/false or a score in [0, 1]. */
export type ScoreFn = (
  answer: string,
  expected: unknown,
  item: { customId: string; prompt: string },
) => boolean | number;

/** List prices in USD per million tokens, and the date they were read (the shape of the contract's price list). */
export type { PriceTable } from "../api/prices";

/** One dataset item as the report shows it. */
export interface EvalItem {
  customId: string;
  prompt: string;
  expected?: unknown;
}

/** One model's answer to one item. */
export interface ModelAnswer {
  customId: string;
  /** The text answer (chat: choices[0].message.content), or undefined when the request failed. */
  answer?: string;
  /** Error message when the request failed. */
  error?: string;
  /** HTTP status of a failed request, when the result line gives one. */
  statusCode?: number;
  /** The model the response names (`response.body.model`), when it names one. */
  model?: string;
  /** Why the answer ended (chat and FIM: `choices[0].finish_reason`, e.g. `stop`, `length`), when the line says. */
  finishReason?: string;
  promptTokens: number;
  completionTokens: number;
  /** Score in [0, 1], when there is an expected answer. */
  score?: number;
}

/** Figures of one model's run. */
export interface ModelSummary {
  /** The run's label (the model's name unless a label is set). */
  model: string;
  /** The run's batch job (the first of several when the dataset is cut into shards). */
  jobId?: string;
  /** Every batch job of the run, in shard order, when the dataset is cut into several shards. Absent for one job. */
  jobIds?: string[];
  /**
   * The job's status when the report was made. For several jobs: `SUCCESS` only when every one succeeded, else the
   * status of the first that did not (the join's warnings name them all).
   */
  status?: string;
  /** Requests this `up` submitted (new, edited, lost or retried ones); absent before incremental runs. */
  submitted?: number;
  /** Of `submitted`, failed requests sent again (`retryFailed`). */
  retried?: number;
  /**
   * The models the responses name (their `model` field: what answered, e.g. the dated version behind an alias), the
   * most requests first. Absent when no response names one, and in summaries made before.
   */
  answeredBy?: string[];
  /**
   * What the run's model name resolved to in the models API (its dated version) when its requests last ran; absent
   * when the list could not say. `preview` and `refresh` say when the name now resolves to another.
   */
  resolvedModel?: string;
  /**
   * The judge's grading of this run's answers (a `judge` scorer): its model and jobs, the answers graded (the
   * replies that were no grade score 0 and are counted in `unreadable`), its tokens and its cost at the batch price.
   */
  judge?: {
    model: string;
    jobIds: string[];
    graded: number;
    unreadable: number;
    promptTokens: number;
    completionTokens: number;
    cost: number | null;
  };
  /** Dataset items. */
  total: number;
  /** Dataset items with a successful answer. */
  succeeded: number;
  /** Dataset items without an answer: error results plus `missing` ones. */
  failed: number;
  /** Dataset items with no result line at all (included in `failed`). */
  missing?: number;
  /** Extra result lines for a custom_id already answered (one is kept: a success over an error, else the smallest answer). */
  duplicates?: number;
  /** Result lines whose custom_id is not in the dataset (not joined). */
  unknownIds?: number;
  /**
   * Unattributed failures: result lines (output or error file) that name no custom_id, so they cannot be joined to
   * an item; Mistral writes failure lines like that. Not joined (their items, if in the dataset, count as `missing`
   * and `failed`); reported in the join's warnings with file, line and message. Absent in summaries made before.
   */
  unattributed?: number;
  /**
   * Result lines that are not JSON objects (invalid JSON, or an array or scalar): not joined, reported with file and
   * line. Absent in summaries made before.
   */
  unreadable?: number;
  /** Dataset items that have an expected answer. */
  expectedItems?: number;
  /** Items with an expected answer that were scored. */
  scored: number;
  /** Mean score over scored items (0..1), or null when nothing was scored. */
  accuracy: number | null;
  /**
   * The 95% interval of `accuracy` and the number of items it rests on (`scored`): Wilson's score interval when
   * every score is right or wrong (0 or 1), else the mean plus or minus 1.96 standard errors (with that standard
   * error), within [0, 1]; null when nothing was scored. Absent in summaries made before.
   */
  accuracyInterval?: {
    low: number;
    high: number;
    method: "wilson" | "mean ± 1.96 SE";
    n: number;
    standardError?: number;
  } | null;
  /** Mean score over `expectedItems`, failed and missing items counting 0 (0..1); null when nothing is scored. */
  strictAccuracy?: number | null;
  /** Input tokens, as the results report them. */
  promptTokens: number;
  /** Output tokens, as the results report them. */
  completionTokens: number;
  /** Actual cost in USD at the batch price, or null when the model has no price. */
  cost: number | null;
  /** Input tokens estimated before submission. */
  estimatedInputTokens?: number;
  /** Cost in USD estimated before submission, or null without a price. */
  estimatedCost?: number | null;
  /** True when the run was adopted/reused rather than submitted anew. */
  reused?: boolean;
  /** The downloaded output file (successful requests, and inline failures) of the run (its first job's of several). */
  outputPath?: string | null;
  /** The downloaded error file (failed requests) of the run; merged with the output file by custom_id. */
  errorPath?: string | null;
  /** With several jobs (shards): every job's downloaded output file, in shard order (`outputPath` is the first's). */
  outputPaths?: (string | null)[];
  /** With several jobs (shards): every job's downloaded error file, in shard order (`errorPath` is the first's). */
  errorPaths?: (string | null)[];
}
