/**
 * The join of an evaluation run: the dataset, the expected answers and every model's result files, by custom_id;
 * each answer scored; one row per dataset item written to a JSONL file; per-model summaries.
 *
 * Result files are not in input order (NOTES.md), and may be large (100,000 requests a job, several models), so
 * the join relies on no order and keeps memory flat as results grow: a hash-partitioned join.
 *  - pass 1 streams every input (dataset, expected answers, each model's output and error files) once, parses each
 *    line (the common chat / FIM success line with a fast exact scanner, join/scan.ts; any other with JSON.parse),
 *    and appends a compact record of it (tab-separated, JSON-encoded texts) to bucket file hash(custom_id) % P;
 *  - pass 2 loads one bucket at a time (all records of its custom_ids: dataset, expected, every model's results),
 *    joins, scores, writes the bucket's rows, and adds to the summaries; then drops the bucket.
 * P grows with the input: about `itemsPerPartition` dataset items (default 5,000: smaller and faster than larger buckets, see bench:join) and at most `bytesPerPartition`
 * input bytes (default 64 MiB) a bucket. Memory is bounded by one bucket plus P write buffers (64 KiB each).
 *
 * A model's output and error files are merged by custom_id: either may hold successes and inline failures (as
 * Mistral writes them); for a custom_id answered in both, or twice in one, a success is kept over an error.
 *
 * Nothing is dropped silently: duplicate custom_ids (dataset, expected, results), results and expected answers for
 * custom_ids not in the dataset, dataset items without a result, result lines that name no custom_id (unattributed
 * failures) and result lines that are not JSON objects (unreadable) are counted (in the summaries) and reported (in
 * `warnings`, with example ids, or file, line and message).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { checkRequestLine, show, type ApiEndpoint } from "../requests";
import { countLines, forEachLine, LineWriter } from "./lines";
import { checkPrices, cost, DEFAULT_PRICES } from "./pricing";
import { scanChatResult } from "./join/scan";
import { describeSource, readResultLine } from "./results";
import { applyScoreFn, compileScorer, type CompiledScorer } from "./scoring";
import { accuracyInterval } from "./stats";
import { estimateRequestTokens, promptText } from "./tokens";
import type { ModelSummary, PriceTable, Scorer, ScoreFn } from "./types";

/** Default dataset items a bucket holds. */
export const DEFAULT_ITEMS_PER_PARTITION = 5_000;
/** Default input bytes a bucket holds at most (dataset + expected + result files, divided by P). */
export const DEFAULT_BYTES_PER_PARTITION = 64 * 1024 * 1024;
/** Most buckets (each is an open file during pass 1). */
export const MAX_PARTITIONS = 1024;

/**
 * One model's run to join: one job's result files, or several jobs' (a dataset cut into shards, one job each), which
 * are joined as one job's. All its files (output and error, of every job) are merged by custom_id.
 */
export interface JoinModel {
  model: string;
  /** The job's output file on disk (success lines, possibly inline error lines too). None at all (here or in `outputFiles` / `errorFiles`): every item is missing. */
  outputFile?: string;
  /** The job's error file on disk (error lines, possibly successes too): merged with the output file by custom_id. */
  errorFile?: string;
  /** More output files: those of the run's other jobs (shards), read after `outputFile`. @default none */
  outputFiles?: string[];
  /** More error files: those of the run's other jobs (shards). @default none */
  errorFiles?: string[];
  /** Copied to the summary: the run's job (the first of several). */
  jobId?: string;
  /** The job's status, copied to the summary unless `statuses` is given. */
  status?: string;
  /** Every job of the run, in shard order, copied to the summary. @default none: the run is the job `jobId` */
  jobIds?: string[];
  /**
   * The status of each job of `jobIds`: the summary's `status` is `SUCCESS` only when all are, else the status of the
   * first job that did not succeed, and a warning says which did not. @default none: `status` as given
   */
  statuses?: string[];
  reused?: boolean;
  /** Copied to the summary when given; otherwise `estimatedInputTokens` is the dataset's estimate. */
  estimatedInputTokens?: number;
  estimatedCost?: number | null;
}

export interface JoinOptions {
  /** The dataset as submitted: a JSONL file of `{ custom_id, body }` lines, or several (its shards), read in order. */
  dataset: string | readonly string[];
  /** Expected answers: a JSONL file of `{ custom_id, expected }` lines, or a map from custom_id. */
  expected?: string | ReadonlyMap<string, unknown>;
  /** The models, in the order of the summaries. Names must be distinct. */
  models: JoinModel[];
  /** Declarative scorer. At most one of `scorer` and `scoreFn`; with neither, nothing is scored. */
  scorer?: Scorer;
  scoreFn?: ScoreFn;
  /**
   * Scores given per model (by its `model` name) and custom_id, e.g. a judge's grades (judge.ts): an answered item
   * with an expected answer and no score here scores 0. At most one of `scorer`, `scoreFn` and `scores`.
   */
  scores?: ReadonlyMap<string, ReadonlyMap<string, number>>;
  /** @default DEFAULT_PRICES */
  prices?: PriceTable;
  /** The endpoint of the requests: how prompts, answers and token estimates are read. */
  endpoint: ApiEndpoint;
  /** Where the rows go (JSONL, written to `<outFile>.part` and renamed when complete). */
  outFile: string;
  /** A directory for the temporary buckets (a subdirectory is created, and removed at the end). */
  workDir: string;
  /** Forces the number of buckets (1..MAX_PARTITIONS). */
  partitions?: number;
  /** @default DEFAULT_ITEMS_PER_PARTITION */
  itemsPerPartition?: number;
  /** @default DEFAULT_BYTES_PER_PARTITION */
  bytesPerPartition?: number;
  /** Cuts prompts in rows (and as given to a ScoreFn) to this many characters, marked with "…". @default no limit */
  maxPromptChars?: number;
  /** Example custom_ids per warning (the first ones in sort order). @default 5 */
  examples?: number;
}

/** One model's answer to one item in a row. */
export interface RowAnswer {
  answer: string | null;
  error: string | null;
  /** null: not scored (no expected answer, no scorer, or no answer). */
  score: number | null;
  promptTokens: number;
  completionTokens: number;
  /** Why the answer ended (`stop`, `length`, ...), when its result line says; absent otherwise. */
  finishReason?: string;
}

/** One line of the rows file. `expected` is absent when the item has no expected answer. */
export interface JoinRow {
  customId: string;
  prompt: string;
  expected?: unknown;
  answers: Record<string, RowAnswer>;
}

export interface JoinResult {
  summaries: ModelSummary[];
  /** Distinct dataset items (rows written). */
  items: number;
  /**
   * The rows file (= `outFile`). Row order: bucket by bucket (hash of custom_id), and within a bucket in dataset
   * order; with one bucket, exactly the dataset order. Sort by custom_id or dataset position downstream when needed.
   */
  rowsFile: string;
  partitions: number;
  warnings: string[];
}

/** Error text of a dataset item no result line answers. */
export const MISSING_ERROR = "missing: no result line for this custom_id";

/** The bucket of a custom_id: FNV-1a over its UTF-16 code units, with a final avalanche, modulo `partitions`. */
export function bucketOf(id: string, partitions: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) % partitions;
}

/** The result files of a model: output and error files, its jobs' in order. */
export function resultFilesOf(m: JoinModel): string[] {
  const files = [m.outputFile, m.errorFile, ...(m.outputFiles ?? []), ...(m.errorFiles ?? [])];
  return files.filter((f): f is string => f !== undefined);
}

/**
 * The status of a run of several jobs: `SUCCESS` when every job succeeded (or the one status they share), else the
 * status of the first that did not succeed; and the jobs that did not, as `id: STATUS`.
 */
export function aggregateStatus(
  jobIds: readonly string[],
  statuses: readonly string[],
): {
  status: string | undefined;
  notSucceeded: string[];
} {
  const notSucceeded = statuses.flatMap((st, i) => (st === "SUCCESS" ? [] : [`${jobIds[i] ?? `job ${i + 1}`}: ${st}`]));
  const first = statuses.find((st) => st !== "SUCCESS");
  return { status: first ?? statuses[0], notSucceeded };
}

/** Counts of result lines that name no item, with the first few (file, line and message) in reading order. */
class Sample {
  count = 0;
  readonly examples: string[] = [];
  constructor(private readonly keep: number) {}
  add(text: string): void {
    this.count++;
    if (this.examples.length < this.keep) this.examples.push(text);
  }
  text(): string {
    return this.examples.join("; ") + (this.count > this.examples.length ? "; …" : "");
  }
}

/** Counts of one kind of anomaly with a few example ids (the smallest in sort order, so independent of P). */
class Tally {
  count = 0;
  readonly examples: string[] = [];
  constructor(private readonly keep: number) {}
  add(id: string): void {
    this.count++;
    if (this.keep <= 0) return;
    if (this.examples.length === this.keep && id >= this.examples[this.keep - 1]) return;
    if (this.examples.includes(id)) return;
    let i = this.examples.length;
    while (i > 0 && this.examples[i - 1] > id) i--;
    this.examples.splice(i, 0, id);
    if (this.examples.length > this.keep) this.examples.pop();
  }
  text(): string {
    return this.examples.map((e) => JSON.stringify(e)).join(", ") + (this.count > this.examples.length ? ", …" : "");
  }
}

// Bucket records, one a line, written in pass 1 in this order: all dataset records, then expected, then model 0's
// output file and error file, model 1's... Pass 2 relies on that order within a bucket. A record is fields joined by
// tabs; text fields are JSON-encoded (JSON.stringify never writes a raw tab or newline), so that pass 2 splits a
// record with no JSON.parse, and writes the encoded texts into the rows as they are:
//   dataset  "0" \t custom_id \t prompt
//   expected "1" \t custom_id \t JSON of the expected value
//   result   "2" \t model index \t custom_id \t answer or null \t error or null \t promptTokens \t completionTokens
//            \t finish reason or null
const DATASET = "0";
const EXPECTED = "1";
const RESULT = "2";
/**
 * A result record split: [RESULT, model, custom_id, answer, error, promptTokens, completionTokens, finishReason],
 * JSON-encoded.
 */
type ResultRec = string[];

interface Item {
  /** JSON-encoded, as in the row. */
  promptJson: string;
  /** The expected value's JSON, or undefined when the item has none. */
  expectedJson: string | undefined;
  answers: (ResultRec | undefined)[];
}

/** The string a JSON-encoded string field holds (`null` for the field `null`); JSON.parse only when it has escapes. */
function decoded(json: string): string;
function decoded(json: string | null): string | null;
function decoded(json: string | null): string | null {
  if (json === null || json === "null") return null;
  return json.includes("\\") ? (JSON.parse(json) as string) : json.slice(1, -1);
}

/** A finite number as JSON writes it (`null` otherwise). */
const jsonNumber = (n: number): string => (Number.isFinite(n) ? String(n) : "null");

interface ModelAcc {
  /** The counters a join always fills in, so they are never undefined while it counts. */
  summary: ModelSummary & { expectedItems: number; missing: number };
  scoreSum: number;
  /** Sum of the squared scores, for the standard error of a mean score. */
  scoreSquares: number;
  /** Every score so far was 0 or 1 (right or wrong): the accuracy is a proportion. */
  binary: boolean;
  missing: Tally;
  duplicates: Tally;
  unknown: Tally;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function fileSize(file: string, what: string): number {
  const st = fs.statSync(file, { throwIfNoEntry: false });
  if (!st?.isFile()) throw new Error(`${what}: ${file} does not exist or is not a file`);
  return st.size;
}

function checkOptions(o: JoinOptions): void {
  const problems: string[] = [];
  const datasets: unknown = o.dataset;
  if (
    !(
      typeof datasets === "string" ||
      (Array.isArray(datasets) && datasets.length > 0 && datasets.every((d) => typeof d === "string"))
    )
  )
    problems.push(
      `dataset is ${show(datasets)}; expected a JSONL path, or a non-empty list of them (the shards, in order)`,
    );
  if (!Array.isArray(o.models) || o.models.length === 0)
    problems.push("models is empty; expected at least one { model, outputFile?, errorFile? }");
  else {
    const seen = new Set<string>();
    o.models.forEach((m, i) => {
      if (!isObject(m) || typeof m.model !== "string" || m.model === "")
        problems.push(`models[${i}].model is ${show(isObject(m) ? m.model : m)}; expected a non-empty model name`);
      else if (seen.has(m.model))
        problems.push(
          `models[${i}].model is ${show(m.model)}, named twice; expected distinct names (they key the answers of a row)`,
        );
      else seen.add(m.model);
      if (!isObject(m)) return;
      for (const k of ["outputFiles", "errorFiles", "jobIds", "statuses"] as const) {
        const v: unknown = m[k];
        if (v !== undefined && !(Array.isArray(v) && v.every((x) => typeof x === "string")))
          problems.push(`models[${i}].${k} is ${show(v)}; expected a list of strings`);
      }
      if (m.statuses !== undefined && m.statuses.length !== (m.jobIds ?? []).length)
        problems.push(
          `models[${i}].statuses has ${m.statuses.length} entries for ${(m.jobIds ?? []).length} jobIds; expected one status per job`,
        );
    });
  }
  if ([o.scorer, o.scoreFn, o.scores].filter((x) => x !== undefined).length > 1)
    problems.push("more than one of scorer, scoreFn and scores is given; expected at most one of them");
  if (o.scoreFn !== undefined && typeof o.scoreFn !== "function")
    problems.push(`scoreFn is ${show(o.scoreFn)}; expected a function (answer, expected, item) => boolean | number`);
  if (
    o.partitions !== undefined &&
    !(Number.isInteger(o.partitions) && o.partitions >= 1 && o.partitions <= MAX_PARTITIONS)
  ) {
    problems.push(`partitions is ${show(o.partitions)}; expected an integer from 1 to ${MAX_PARTITIONS}`);
  }
  for (const k of ["itemsPerPartition", "bytesPerPartition", "maxPromptChars"] as const) {
    const v = o[k];
    if (v !== undefined && !(typeof v === "number" && v >= 1))
      problems.push(`${k} is ${show(v)}; expected a number >= 1`);
  }
  if (o.prices !== undefined) problems.push(...checkPrices(o.prices));
  if (problems.length) throw new Error(`joinResults: ${problems.join("\n")}`);
}

/**
 * Joins the dataset, the expected answers and every model's results by custom_id, scores each answer, writes the
 * rows (see {@link JoinRow}; order in {@link JoinResult.rowsFile}) and returns per-model summaries:
 *  - total: distinct dataset items; succeeded: items with an answer; failed: items with an error result or no
 *    result (`missing`); results for unknown custom_ids are counted in `unknownIds` and not joined; a custom_id
 *    answered more than once, in one file or across the output and error files, counts once (`duplicates` counts
 *    the extra lines; a success is kept over an error, and among several of a kind the smallest answer text: the
 *    outcome depends neither on line order nor on which file holds a line);
 *  - unattributed: result lines that name no custom_id (their items, when any, are among the `missing`);
 *    unreadable: result lines that are not JSON objects; neither is joined, both are reported with file and line;
 *  - expectedItems: items with an expected answer; scored: those with an answer, scored when a scorer or scoreFn
 *    is given; accuracy: mean score of the scored; strictAccuracy: the score sum over expectedItems (a failed
 *    or missing item counts 0);
 *  - promptTokens / completionTokens: usage of the joined results (duplicates and unknown ids not counted);
 *    cost: at the batch price of `prices`, null without a price for the model;
 *  - estimatedInputTokens: the dataset's estimate (tokens.ts), unless the model entry gives one.
 * Throws for a malformed dataset or expected line (naming the file and line; result lines never throw), a missing
 * input file, invalid options, or a ScoreFn / scorer failure on an item (naming the custom_id and model).
 */
/** A dataset line parsed and checked as a request line (`{custom_id, body}`); the messages name the file and line. */
function parseRequestLine(file: string, text: string, lineNo: number): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file} line ${lineNo}: not valid JSON (${(e as Error).message}): ${show(text)}`);
  }
  const p = checkRequestLine(parsed);
  if (p) throw new Error(`${file} line ${lineNo}: ${p.field} is ${p.received}; expected ${p.allowed}`);
  return parsed as Record<string, unknown>;
}

export async function joinResults(options: JoinOptions): Promise<JoinResult> {
  checkOptions(options);
  const { dataset, endpoint, models } = options;
  const prices = options.prices ?? DEFAULT_PRICES;
  const keep = options.examples ?? 5;
  const maxPrompt = options.maxPromptChars ?? Infinity;
  const compiled: CompiledScorer | undefined = options.scorer ? compileScorer(options.scorer) : undefined;
  const scoreFn = options.scoreFn;
  const scoring = compiled !== undefined || scoreFn !== undefined || options.scores !== undefined;

  // Inputs and their sizes: P from the dataset's line count and the bytes of everything.
  const datasets: readonly string[] = typeof dataset === "string" ? [dataset] : dataset;
  let inputBytes = 0;
  let datasetLines = 0;
  for (const file of datasets) {
    inputBytes += fileSize(file, "dataset");
    datasetLines += await countLines(file);
  }
  const expectedFile = typeof options.expected === "string" ? options.expected : undefined;
  if (expectedFile !== undefined) inputBytes += fileSize(expectedFile, "expected");
  for (const m of models) {
    const named: [string | undefined, string][] = [
      [m.outputFile, "outputFile"],
      [m.errorFile, "errorFile"],
      ...(m.outputFiles ?? []).map((file, i): [string, string] => [file, `outputFiles[${i}]`]),
      ...(m.errorFiles ?? []).map((file, i): [string, string] => [file, `errorFiles[${i}]`]),
    ];
    for (const [file, what] of named) if (file !== undefined) inputBytes += fileSize(file, `${m.model} ${what}`);
  }
  const partitions =
    options.partitions ??
    Math.min(
      MAX_PARTITIONS,
      Math.max(
        1,
        Math.ceil(datasetLines / (options.itemsPerPartition ?? DEFAULT_ITEMS_PER_PARTITION)),
        Math.ceil(inputBytes / (options.bytesPerPartition ?? DEFAULT_BYTES_PER_PARTITION)),
      ),
    );

  fs.mkdirSync(options.workDir, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(options.workDir, "join-"));
  const bucketPath = (b: number) => path.join(tmp, `bucket-${b}.jsonl`);
  fs.mkdirSync(path.dirname(path.resolve(options.outFile)), { recursive: true });
  const partFile = `${options.outFile}.part`;
  const warnings: string[] = [];
  try {
    // ---- pass 1: partition --------------------------------------------------------------------------------------
    let estimatedInputTokens = 0;
    const expectedWithoutField = new Tally(keep);
    const unjoinable = models.map(() => ({ unattributed: new Sample(keep), unreadable: new Sample(keep) }));
    // Per model, the models its responses name (`model`), and how many answers each.
    const answeredBy = models.map(() => new Map<string, number>());
    const answered = (m: number, name: string | undefined) => {
      if (name === undefined) return;
      const counts = answeredBy[m];
      counts?.set(name, (counts.get(name) ?? 0) + 1);
    };
    const writers: LineWriter[] = [];
    try {
      for (let b = 0; b < partitions; b++) writers.push(new LineWriter(bucketPath(b), 64 * 1024));
      const put = (id: string, record: string) => writers[bucketOf(id, partitions)].write(record);
      const encode = (value: unknown): string => JSON.stringify([value]).slice(1, -1); // as inside an array: undefined and functions give null

      for (const file of datasets) {
        await forEachLine(file, (text, lineNo) => {
          if (text.trim() === "") return;
          const { custom_id: id, body } = parseRequestLine(file, text, lineNo) as {
            custom_id: string;
            body: Record<string, unknown>;
          };
          estimatedInputTokens += estimateRequestTokens(endpoint, body);
          let prompt = promptText(endpoint, body);
          if (prompt.length > maxPrompt) prompt = `${prompt.slice(0, Math.max(0, maxPrompt - 1))}…`;
          put(id, `${DATASET}\t${JSON.stringify(id)}\t${JSON.stringify(prompt)}`);
        });
      }

      if (expectedFile !== undefined) {
        await forEachLine(expectedFile, (text, lineNo) => {
          if (text.trim() === "") return;
          let parsed: unknown;
          try {
            parsed = JSON.parse(text);
          } catch (e) {
            throw new Error(`${expectedFile} line ${lineNo}: not valid JSON (${(e as Error).message}): ${show(text)}`);
          }
          if (!isObject(parsed) || typeof parsed.custom_id !== "string" || parsed.custom_id === "") {
            throw new Error(
              `${expectedFile} line ${lineNo}: custom_id is ${show(isObject(parsed) ? parsed.custom_id : parsed)}; expected a line { "custom_id": string, "expected": any JSON }`,
            );
          }
          if (!("expected" in parsed)) expectedWithoutField.add(parsed.custom_id);
          else put(parsed.custom_id, `${EXPECTED}\t${JSON.stringify(parsed.custom_id)}\t${encode(parsed.expected)}`);
        });
      } else if (options.expected !== undefined) {
        for (const [id, value] of options.expected) {
          if (value === undefined) expectedWithoutField.add(String(id));
          else put(String(id), `${EXPECTED}\t${JSON.stringify(String(id))}\t${encode(value)}`);
        }
      }

      // The common success line of chat and FIM is read by a fast exact scanner (join/scan.ts); any other line,
      // and every line of the other endpoints, by readResultLine.
      const scan = endpoint === "/v1/chat/completions" || endpoint === "/v1/fim/completions";
      for (const [m, model] of models.entries()) {
        const lost = unjoinable[m];
        for (const file of resultFilesOf(model)) {
          await forEachLine(file, (text, lineNo) => {
            if (text.trim() === "") return;
            if (scan) {
              const fast = scanChatResult(text);
              if (fast !== undefined) {
                const id = fast.customId;
                answered(m, fast.model);
                put(
                  id,
                  `${RESULT}\t${m}\t${JSON.stringify(id)}\t${fast.answerJson}\tnull\t${fast.promptTokens}\t${fast.completionTokens}\t${fast.finishReason ? JSON.stringify(fast.finishReason) : "null"}`,
                );
                return;
              }
            }
            const line = readResultLine(text, endpoint, { file, line: lineNo });
            if (line.kind === "unreadable") {
              lost.unreadable.add(`${describeSource(line.source)}: ${line.reason}`);
              return;
            }
            if (line.kind === "unattributed") {
              const what = line.error ?? "a successful answer";
              const id = line.lineId !== undefined ? ` (line id ${show(line.lineId)})` : "";
              lost.unattributed.add(`${describeSource(line.source)}${id}: ${what}`);
              return;
            }
            const r = line.result;
            if (r.answer !== undefined) answered(m, r.model);
            const answer = r.answer === undefined ? "null" : JSON.stringify(r.answer);
            const error = r.answer === undefined ? JSON.stringify(r.error ?? "error") : "null";
            put(
              r.customId,
              `${RESULT}\t${m}\t${JSON.stringify(r.customId)}\t${answer}\t${error}\t${r.promptTokens}\t${r.completionTokens}\t${r.finishReason !== undefined && r.answer !== undefined ? JSON.stringify(r.finishReason) : "null"}`,
            );
          });
        }
      }
    } finally {
      for (const w of writers) w.close();
    }

    // ---- pass 2: join bucket by bucket ----------------------------------------------------------------------------
    const accs: ModelAcc[] = models.map((m) => {
      const status = m.statuses !== undefined ? aggregateStatus(m.jobIds ?? [], m.statuses).status : m.status;
      return {
        summary: {
          model: m.model,
          ...(m.jobId !== undefined ? { jobId: m.jobId } : {}),
          ...(m.jobIds !== undefined ? { jobIds: [...m.jobIds] } : {}),
          ...(status !== undefined ? { status } : {}),
          total: 0,
          succeeded: 0,
          failed: 0,
          missing: 0,
          duplicates: 0,
          unknownIds: 0,
          unattributed: 0,
          unreadable: 0,
          expectedItems: 0,
          scored: 0,
          accuracy: null,
          strictAccuracy: null,
          promptTokens: 0,
          completionTokens: 0,
          cost: null,
          estimatedInputTokens: m.estimatedInputTokens ?? estimatedInputTokens,
          ...(m.estimatedCost !== undefined ? { estimatedCost: m.estimatedCost } : {}),
          ...(m.reused !== undefined ? { reused: m.reused } : {}),
        },
        scoreSum: 0,
        scoreSquares: 0,
        binary: true,
        missing: new Tally(keep),
        duplicates: new Tally(keep),
        unknown: new Tally(keep),
      };
    });
    const datasetDuplicates = new Tally(keep);
    const expectedDuplicates = new Tally(keep);
    const expectedUnknown = new Tally(keep);
    let items = 0;
    let withExpected = 0;
    // The rows are written as JSON.stringify would write them (checked by the tests), from the encoded fields: the
    // `answers` object's keys in the order JSON.stringify gives them (integer-like model names first).
    const keyOrder = Object.keys(Object.fromEntries(models.map((m, i) => [m.model, i]))).map((k) =>
      models.findIndex((m) => m.model === k),
    );
    const modelKeys = models.map((m) => `${JSON.stringify(m.model)}:`);
    const missingJson = JSON.stringify({
      answer: null,
      error: MISSING_ERROR,
      score: null,
      promptTokens: 0,
      completionTokens: 0,
    });
    const parts: string[] = new Array(models.length);
    const out = new LineWriter(partFile, 1024 * 1024);
    try {
      for (let b = 0; b < partitions; b++) {
        // Keyed by the JSON-encoded custom_id (one to one with the custom_id).
        const bucket = new Map<string, Item>();
        await forEachLine(bucketPath(b), (text) => {
          if (text === "") return;
          const rec = text.split("\t");
          const idJson = rec[rec[0] === RESULT ? 2 : 1];
          switch (rec[0]) {
            case DATASET:
              if (bucket.has(idJson)) datasetDuplicates.add(decoded(idJson));
              else
                bucket.set(idJson, { promptJson: rec[2], expectedJson: undefined, answers: new Array(models.length) });
              break;
            case EXPECTED: {
              const item = bucket.get(idJson);
              if (!item) expectedUnknown.add(decoded(idJson));
              else if (item.expectedJson !== undefined) expectedDuplicates.add(decoded(idJson));
              else item.expectedJson = rec[2];
              break;
            }
            case RESULT: {
              const m = Number(rec[1]);
              const acc = accs[m];
              if (acc === undefined || rec.length !== 8)
                throw new Error(
                  `${bucketPath(b)}: result record for model index ${rec[1]}, not in 0..${models.length - 1}`,
                );
              const item = bucket.get(idJson);
              if (!item) {
                acc.unknown.add(decoded(idJson));
                break;
              }
              const had = item.answers[m];
              if (had === undefined) item.answers[m] = rec;
              else {
                acc.duplicates.add(decoded(idJson));
                if (preferred(rec, had)) item.answers[m] = rec;
              }
              break;
            }
            default:
              throw new Error(`${bucketPath(b)}: unknown record ${show(text)}`);
          }
        });
        fs.rmSync(bucketPath(b), { force: true });

        for (const [idJson, item] of bucket) {
          items++;
          const hasExpected = item.expectedJson !== undefined;
          if (hasExpected) withExpected++;
          // Decoded once an item, when needed: the custom_id, the prompt (for a ScoreFn) and the expected value.
          let customId: string | undefined;
          let scored: ScoredItem | undefined;
          for (let m = 0; m < accs.length; m++) {
            const acc = accs[m];
            const s = acc.summary;
            const r = item.answers[m];
            s.total++;
            if (hasExpected) s.expectedItems++;
            if (r === undefined) {
              s.failed++;
              s.missing++;
              customId ??= decoded(idJson);
              acc.missing.add(customId);
              parts[m] = missingJson;
              continue;
            }
            const promptTokens = Number(r[5]);
            const completionTokens = Number(r[6]);
            s.promptTokens += promptTokens;
            s.completionTokens += completionTokens;
            let score: number | null = null;
            if (r[3] === "null") s.failed++;
            else {
              s.succeeded++;
              if (hasExpected && scoring) {
                customId ??= decoded(idJson);
                scored ??= {
                  customId,
                  promptJson: item.promptJson,
                  expected: JSON.parse(item.expectedJson as string) as unknown,
                };
                score = options.scores
                  ? (options.scores.get(s.model)?.get(scored.customId) ?? 0)
                  : scoreOne(decoded(r[3]), scored, s.model, compiled, scoreFn);
                s.scored++;
                acc.scoreSum += score;
                acc.scoreSquares += score * score;
                if (score !== 0 && score !== 1) acc.binary = false;
              }
            }
            parts[m] =
              `{"answer":${r[3]},"error":${r[4]},"score":${score === null ? "null" : jsonNumber(score)},` +
              `"promptTokens":${jsonNumber(promptTokens)},"completionTokens":${jsonNumber(completionTokens)}` +
              `${r[7] !== undefined && r[7] !== "null" ? `,"finishReason":${r[7]}` : ""}}`;
          }
          let answers = "";
          for (let k = 0; k < keyOrder.length; k++) {
            const m = keyOrder[k];
            answers += `${k === 0 ? "" : ","}${modelKeys[m]}${parts[m]}`;
          }
          out.write(
            `{"customId":${idJson},"prompt":${item.promptJson}${hasExpected ? `,"expected":${item.expectedJson}` : ""},"answers":{${answers}}}`,
          );
        }
      }
    } finally {
      out.close();
    }
    fs.renameSync(partFile, options.outFile);

    // ---- summaries and warnings ------------------------------------------------------------------------------------
    if (datasetDuplicates.count)
      warnings.push(
        `dataset: ${datasetDuplicates.count} line(s) repeat a custom_id (${datasetDuplicates.text()}); the first line of each is used`,
      );
    if (expectedWithoutField.count)
      warnings.push(
        `expected: ${expectedWithoutField.count} entr(ies) without an expected value (${expectedWithoutField.text()}); ignored`,
      );
    if (expectedDuplicates.count)
      warnings.push(
        `expected: ${expectedDuplicates.count} entr(ies) repeat a custom_id (${expectedDuplicates.text()}); the first is used`,
      );
    if (expectedUnknown.count)
      warnings.push(
        `expected: ${expectedUnknown.count} entr(ies) for custom_ids not in the dataset (${expectedUnknown.text()}); ignored`,
      );
    if (options.expected !== undefined && withExpected === 0 && items > 0)
      warnings.push("expected: no dataset item has an expected answer; nothing is scored");
    if (!scoring && withExpected > 0)
      warnings.push(
        `${withExpected} item(s) have an expected answer but no scorer or scoreFn is given; nothing is scored`,
      );
    if (scoring && options.expected === undefined)
      warnings.push("a scorer is given but no expected answers; nothing is scored");
    for (const [m, model] of models.entries()) {
      const { summary: s, scoreSum, scoreSquares, binary, missing, duplicates, unknown } = accs[m];
      const name = s.model;
      s.duplicates = duplicates.count;
      s.unknownIds = unknown.count;
      const lost = unjoinable[m];
      s.unattributed = lost.unattributed.count;
      s.unreadable = lost.unreadable.count;
      const by = [...(answeredBy[m] ?? new Map<string, number>()).entries()]
        .sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0))
        .map(([name]) => name);
      if (by.length) s.answeredBy = by;
      s.accuracy = s.scored > 0 ? scoreSum / s.scored : null;
      s.accuracyInterval = accuracyInterval(s.scored, scoreSum, scoreSquares, binary);
      s.strictAccuracy = scoring && s.expectedItems > 0 ? scoreSum / s.expectedItems : null;
      s.cost = cost(prices, name, s.promptTokens, s.completionTokens);
      if (s.cost === null) warnings.push(`${name}: no price in the price table of ${prices.date}; cost is null`);
      if (resultFilesOf(model).length === 0) warnings.push(`${name}: no output file and no error file`);
      if (model.statuses !== undefined) {
        const { notSucceeded } = aggregateStatus(model.jobIds ?? [], model.statuses);
        if (notSucceeded.length)
          warnings.push(
            `${name}: ${notSucceeded.length} of ${model.statuses.length} jobs did not succeed (${notSucceeded.join(", ")}); the items they hold without a result count as failed`,
          );
      }
      if (missing.count) {
        const status = s.status !== undefined ? ` (job status ${s.status})` : "";
        warnings.push(
          `${name}: ${missing.count} dataset item(s) have no result${status} (${missing.text()}); counted as failed`,
        );
      }
      if (duplicates.count)
        warnings.push(
          `${name}: ${duplicates.count} extra result line(s) for custom_ids already answered (${duplicates.text()}); one is kept: a success over an error, else the smallest answer`,
        );
      if (unknown.count)
        warnings.push(
          `${name}: ${unknown.count} result line(s) for custom_ids not in the dataset (${unknown.text()}); not joined`,
        );
      if (lost.unattributed.count) {
        const items = missing.count ? `; they likely belong to the ${missing.count} item(s) without a result` : "";
        warnings.push(
          `${name}: ${lost.unattributed.count} result line(s) name no custom_id, counted as unattributed failures and not joined${items} (${lost.unattributed.text()})`,
        );
      }
      if (lost.unreadable.count)
        warnings.push(
          `${name}: ${lost.unreadable.count} result line(s) are not JSON objects, counted as unreadable and not joined (${lost.unreadable.text()})`,
        );
    }
    return { summaries: accs.map((a) => a.summary), items, rowsFile: options.outFile, partitions, warnings };
  } catch (e) {
    fs.rmSync(partFile, { force: true });
    throw e;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/**
 * Which of two results for one custom_id is kept, whatever their order in the files: a success beats an error; then
 * the smaller answer text, then the smaller error text, then fewer tokens (an arbitrary but deterministic choice).
 */
function preferred(a: ResultRec, b: ResultRec): boolean {
  const answerA = decoded(a[3]);
  const answerB = decoded(b[3]);
  if (answerA === null || answerB === null) {
    if (answerA !== answerB) return answerA !== null;
  } else if (answerA !== answerB) return answerA < answerB;
  const errorA = decoded(a[4]);
  const errorB = decoded(b[4]);
  if (errorA !== errorB) return (errorA ?? "") < (errorB ?? "");
  return Number(a[5]) + Number(a[6]) < Number(b[5]) + Number(b[6]);
}

/** An item being scored: its custom_id, its prompt (decoded for a ScoreFn only) and its expected value. */
interface ScoredItem {
  customId: string;
  promptJson: string;
  prompt?: string;
  expected: unknown;
}

function scoreOne(
  answer: string,
  item: ScoredItem,
  model: string,
  compiled: CompiledScorer | undefined,
  scoreFn: ScoreFn | undefined,
): number {
  const customId = item.customId;
  if (scoreFn) {
    item.prompt ??= decoded(item.promptJson);
    return applyScoreFn(scoreFn, answer, item.expected, { customId, prompt: item.prompt }, model);
  }
  if (compiled === undefined) throw new Error("scoreOne: called with neither a scorer nor a scoreFn");
  try {
    return compiled(answer, item.expected);
  } catch (e) {
    throw new Error(`scoring custom_id ${JSON.stringify(customId)} (model ${model}): ${(e as Error).message}`, {
      cause: e,
    });
  }
}

export interface ExpectedSplit {
  /** Dataset lines read (non-blank). */
  items: number;
  /** Lines that had the field (written to the expected file). */
  withExpected: number;
  withoutExpected: number;
  strippedFile: string;
  expectedFile: string;
}

/**
 * Splits a dataset whose lines carry the expected answer in a top-level field (e.g. `"expected"`): writes the
 * dataset without that field to `strippedOut` (for upload; every other field kept, each line re-serialised as
 * compact JSON) and the expected answers as `{ "custom_id", "expected" }` lines to `expectedOut` (default
 * `<strippedOut>.expected.jsonl`). Streaming; both files are written to `.part` files and renamed when complete.
 * Blank lines are dropped. Throws for a malformed line (file and line) or a field named custom_id or body.
 */
export async function expectedFromField(
  datasetPath: string,
  field: string,
  strippedOut: string,
  expectedOut = `${strippedOut}.expected.jsonl`,
): Promise<ExpectedSplit> {
  if (typeof field !== "string" || field === "" || field === "custom_id" || field === "body") {
    throw new Error(
      `expectedFromField: field is ${show(field)}; expected the name of a top-level field other than custom_id and body, e.g. "expected"`,
    );
  }
  if (
    path.resolve(strippedOut) === path.resolve(datasetPath) ||
    path.resolve(expectedOut) === path.resolve(datasetPath) ||
    path.resolve(expectedOut) === path.resolve(strippedOut)
  ) {
    throw new Error(
      "expectedFromField: the dataset, the stripped output and the expected output must be three different files",
    );
  }
  fileSize(datasetPath, "dataset");
  const result: ExpectedSplit = {
    items: 0,
    withExpected: 0,
    withoutExpected: 0,
    strippedFile: strippedOut,
    expectedFile: expectedOut,
  };
  const stripped = new LineWriter(`${strippedOut}.part`);
  const expected = new LineWriter(`${expectedOut}.part`);
  try {
    await forEachLine(datasetPath, (text, lineNo) => {
      if (text.trim() === "") return;
      const line = parseRequestLine(datasetPath, text, lineNo);
      result.items++;
      if (Object.hasOwn(line, field)) {
        result.withExpected++;
        expected.write(JSON.stringify({ custom_id: line.custom_id, expected: line[field] }));
        delete line[field];
      } else result.withoutExpected++;
      stripped.write(JSON.stringify(line));
    });
    stripped.close();
    expected.close();
    fs.renameSync(`${strippedOut}.part`, strippedOut);
    fs.renameSync(`${expectedOut}.part`, expectedOut);
  } catch (e) {
    stripped.close();
    expected.close();
    fs.rmSync(`${strippedOut}.part`, { force: true });
    fs.rmSync(`${expectedOut}.part`, { force: true });
    throw e;
  }
  return result;
}
