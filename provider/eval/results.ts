/**
 * Parsing batch result lines: `{"id","custom_id","response":{"status_code","body"},"error"}`, from a job's output
 * file or error file, into the answer of one request. Pure, apart from the streaming file reader at the end.
 *
 * Both files may hold both kinds of line: Mistral's own SDK batch helper reads inline per-request errors in the output
 * file, merges the two files, and accepts a failure line without `custom_id` (its fixture:
 * `{"custom_id":"b","response":{"status_code":429,"body":null},"error":"rate limited"}`). A line is an error when
 * any of these holds (every form found elsewhere is accepted):
 *  - `error` is an object (its `message`), or a non-empty string;
 *  - `response.status_code` is not 200 (the message from the response body: `message`, `detail`, `error`);
 *  - a 200 response whose body has no answer for the endpoint (e.g. no `choices[0].message`).
 */
import type { ApiEndpoint } from "../requests";
import { forEachLine } from "./lines";
import { contentText } from "./tokens";
import type { ModelAnswer } from "./types";

export type { ModelAnswer };

/** Score threshold above which a classification label counts as flagged (the moderation API's 0.5). */
export const FLAG_THRESHOLD = 0.5;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function show(value: unknown, max = 120): string {
  if (value === undefined) return "missing";
  const text = JSON.stringify(value) ?? String(value);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** Where a line comes from, for error messages. */
export interface LineSource {
  file?: string;
  line?: number;
}

/** A result line that cannot be joined (not JSON, not an object, no custom_id): thrown by {@link parseResultLine} only. */
export class ResultLineError extends Error {
  constructor(
    readonly source: LineSource,
    readonly reason: string,
  ) {
    super(`${describeSource(source)}: ${reason}`);
    this.name = "ResultLineError";
  }
}

/** The message of an `error` field: a string, or an object's `message` (or nested `error.message`), else its JSON. */
function errorMessage(error: unknown): string | null {
  if (error === null || error === undefined || error === false) return null;
  if (typeof error === "string") return error.trim() === "" ? null : error;
  if (isObject(error)) {
    if (Object.keys(error).length === 0) return null;
    if (typeof error.message === "string" && error.message) return error.message;
    if (isObject(error.error) && typeof error.error.message === "string") return error.error.message;
    return show(error);
  }
  return show(error);
}

/** The message of a non-200 response body: `message`, a 422 `detail` list, `error`, else its JSON. */
function bodyMessage(body: unknown): string | null {
  if (typeof body === "string") return body || null;
  if (!isObject(body)) return null;
  if (typeof body.message === "string" && body.message) return body.message;
  if (Array.isArray(body.detail)) {
    return body.detail
      .map((d) =>
        isObject(d)
          ? `${Array.isArray(d.loc) ? `${d.loc.join(".")}: ` : ""}${typeof d.msg === "string" ? d.msg : show(d)}`
          : show(d),
      )
      .join("; ");
  }
  if (typeof body.detail === "string") return body.detail;
  const e = errorMessage(body.error);
  return e ?? show(body);
}

function statusOf(response: unknown): number | undefined {
  if (!isObject(response)) return undefined;
  const s = response.status_code ?? response.status;
  const n = typeof s === "string" && s.trim() !== "" ? Number(s) : s;
  return typeof n === "number" && Number.isFinite(n) ? n : undefined;
}

const count = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) && v >= 0 ? v : 0);

/** The chat answer: choices[0].message.content (a string, or text chunks joined; thinking chunks left out). */
function chatAnswer(body: Record<string, unknown>): string | { error: string } {
  const choice = Array.isArray(body.choices) ? body.choices[0] : undefined;
  const message = isObject(choice) ? choice.message : undefined;
  if (!isObject(message)) return { error: "the response has no choices[0].message" };
  const content = message.content;
  const text = Array.isArray(content) ? textChunks(content) : typeof content === "string" ? content : "";
  if (text === "" && Array.isArray(message.tool_calls) && message.tool_calls.length > 0) {
    // A tool call is the answer: render it as JSON, so a json-field scorer can look at the arguments.
    return JSON.stringify(
      message.tool_calls.map((c) => {
        const f = isObject(c) && isObject(c.function) ? c.function : {};
        let args: unknown = f.arguments;
        if (typeof args === "string") {
          try {
            args = JSON.parse(args);
          } catch {
            // kept as the string
          }
        }
        return { name: f.name, arguments: args };
      }),
    );
  }
  return text;
}

/** Text chunks of an answer's content joined without separator (chunks are pieces of one text). */
function textChunks(content: unknown[]): string {
  let out = "";
  for (const c of content) {
    if (typeof c === "string") out += c;
    else if (isObject(c) && (c.type === "text" || c.type === undefined) && typeof c.text === "string") out += c.text;
  }
  return out;
}

const oneOrMany = (items: unknown[]): string => JSON.stringify(items.length === 1 ? items[0] : items);

function flaggedCategories(result: unknown): string[] {
  const cats = isObject(result) && isObject(result.categories) ? result.categories : {};
  return Object.keys(cats)
    .filter((k) => cats[k] === true)
    .sort();
}

function flaggedLabels(result: unknown): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  if (!isObject(result)) return out;
  for (const target of Object.keys(result).sort()) {
    const t = result[target];
    const scores = isObject(t) && isObject(t.scores) ? t.scores : {};
    out[target] = Object.keys(scores)
      .filter((k) => typeof scores[k] === "number" && (scores[k] as number) >= FLAG_THRESHOLD)
      .sort();
  }
  return out;
}

/**
 * The answer in a successful response body, per endpoint:
 *  - chat / FIM / conversations: the text (chat: choices[0].message.content; a reply that is only tool calls gives
 *    the JSON `[{name, arguments}]`);
 *  - embeddings: a description, `embedding[1024]` (one input) or `embeddings[3x1024]`;
 *  - moderations, chat moderations: the flagged categories as JSON, `["violence_and_threats"]` (sorted; one list
 *    per input when there are several: `[[...],[...]]`);
 *  - classifications, chat classifications: per target the labels scoring >= 0.5, `{"moderation":["selfharm"]}`
 *    (an array of those for several inputs);
 *  - OCR: the pages' markdown joined by a blank line; audio transcriptions: `text`.
 */
export function answerOf(endpoint: ApiEndpoint, body: unknown): string | { error: string } {
  if (!isObject(body)) return { error: `the response has no body (got ${show(body)})` };
  switch (endpoint) {
    case "/v1/chat/completions":
    case "/v1/fim/completions":
      return chatAnswer(body);
    case "/v1/embeddings": {
      if (!Array.isArray(body.data) || body.data.length === 0) return { error: "the response has no data[].embedding" };
      const dims = body.data.map((d) =>
        isObject(d) && Array.isArray(d.embedding)
          ? String(d.embedding.length)
          : isObject(d) && typeof d.embedding === "string"
            ? "base64"
            : "?",
      );
      const same = dims.every((d) => d === dims[0]);
      return dims.length === 1
        ? `embedding[${dims[0]}]`
        : `embeddings[${dims.length}x${same ? dims[0] : dims.join(",")}]`;
    }
    case "/v1/moderations":
    case "/v1/chat/moderations":
      if (!Array.isArray(body.results)) return { error: "the response has no results[]" };
      return oneOrMany(body.results.map(flaggedCategories));
    case "/v1/classifications":
    case "/v1/chat/classifications":
      if (!Array.isArray(body.results)) return { error: "the response has no results[]" };
      return oneOrMany(body.results.map(flaggedLabels));
    case "/v1/ocr":
      if (!Array.isArray(body.pages)) return { error: "the response has no pages[]" };
      return body.pages.map((p) => (isObject(p) && typeof p.markdown === "string" ? p.markdown : "")).join("\n\n");
    case "/v1/conversations": {
      if (!Array.isArray(body.outputs)) return { error: "the response has no outputs[]" };
      const texts = body.outputs
        .filter((o) => isObject(o) && (o.type === "message.output" || o.type === undefined))
        .map((o) => contentText((o as { content: unknown }).content));
      return texts.join("\n");
    }
    case "/v1/audio/transcriptions":
      return typeof body.text === "string" ? body.text : { error: "the response has no text" };
    default:
      return { error: `answers of endpoint ${show(endpoint)} are not understood` };
  }
}

/**
 * A result line as read, never a throw (blank lines are the caller's to skip):
 *  - `result`: a line naming its request's custom_id (a success or a failure, from either file);
 *  - `unattributed`: a JSON object that names no usable custom_id (missing, null, empty, not a string or number).
 *    Mistral writes failure lines like that (its SDK's batch helper accepts them). It cannot be joined to a dataset
 *    item, so it is counted and reported with its file, line and message, never dropped silently: `error` is the
 *    failure's message, or null for a line that reads as a success (reported all the same);
 *  - `unreadable`: a line that is not a JSON object (not valid JSON, or an array, string or number); `reason` says
 *    which, with the start of the text.
 */
export type ResultLine =
  | { kind: "result"; result: ModelAnswer; source: LineSource }
  | {
      kind: "unattributed";
      source: LineSource;
      /** The failure's message (`HTTP <status>: <message>` when the line gives a status), or null for a success. */
      error: string | null;
      statusCode?: number;
      /** The line's own `id` (not a custom_id), when it has one: it helps to find the line in the file. */
      lineId?: string;
      promptTokens: number;
      completionTokens: number;
    }
  | { kind: "unreadable"; source: LineSource; reason: string };

/** `file line N` (or what of it is known), as messages name a line. */
export function describeSource(source: LineSource): string {
  return source.file !== undefined
    ? `${source.file}${source.line !== undefined ? ` line ${source.line}` : ""}`
    : source.line !== undefined
      ? `line ${source.line}`
      : "result line";
}

/** The answer or error of a parsed line object, under the given custom_id. */
function answerOfLine(parsed: Record<string, unknown>, endpoint: ApiEndpoint, customId: string): ModelAnswer {
  const response = parsed.response;
  const body = isObject(response) ? response.body : undefined;
  const usage = isObject(body) && isObject(body.usage) ? body.usage : {};
  const out: ModelAnswer = {
    customId,
    promptTokens: count(usage.prompt_tokens),
    completionTokens: count(usage.completion_tokens),
  };
  if (isObject(body) && typeof body.model === "string" && body.model !== "") out.model = body.model;
  const choice = isObject(body) && Array.isArray(body.choices) ? body.choices[0] : undefined;
  if (isObject(choice) && typeof choice.finish_reason === "string" && choice.finish_reason !== "")
    out.finishReason = choice.finish_reason;
  const status = statusOf(response);
  const fail = (message: string) => {
    if (status !== undefined && status !== 200) {
      out.statusCode = status;
      out.error = `HTTP ${status}: ${message}`;
    } else out.error = message;
    return out;
  };

  const err = errorMessage(parsed.error);
  if (err !== null) return fail(err);
  if (status !== undefined && status !== 200) return fail(bodyMessage(body) ?? "the request failed");
  if (!isObject(response)) return fail(`the result line has no response (got ${show(response)}) and no error`);
  const answer = answerOf(endpoint, body);
  if (typeof answer !== "string") return fail(answer.error);
  out.answer = answer;
  return out;
}

/**
 * Reads one result line of an output or error file (either file may hold successes and inline failures). The
 * answer or error, with the HTTP status when known (the error text is then `HTTP <status>: <message>`), and the
 * usage (`response.body.usage.prompt_tokens` / `completion_tokens`; 0 when missing). Never throws: see
 * {@link ResultLine} for lines without a custom_id and lines that are not JSON objects.
 */
export function readResultLine(line: string, endpoint: ApiEndpoint, source: LineSource = {}): ResultLine {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch (e) {
    return { kind: "unreadable", source, reason: `not valid JSON (${(e as Error).message}): ${show(line, 80)}` };
  }
  if (!isObject(parsed))
    return {
      kind: "unreadable",
      source,
      reason: `expected a JSON object {"id","custom_id","response","error"}, got ${show(parsed, 80)}`,
    };
  const id = parsed.custom_id;
  if (!((typeof id === "string" && id !== "") || (typeof id === "number" && Number.isFinite(id)))) {
    const r = answerOfLine(parsed, endpoint, "");
    return {
      kind: "unattributed",
      source,
      error: r.answer === undefined ? (r.error ?? "the request failed") : null,
      ...(r.statusCode !== undefined ? { statusCode: r.statusCode } : {}),
      ...(typeof parsed.id === "string" && parsed.id !== "" ? { lineId: parsed.id } : {}),
      promptTokens: r.promptTokens,
      completionTokens: r.completionTokens,
    };
  }
  return { kind: "result", result: answerOfLine(parsed, endpoint, String(id)), source };
}

/**
 * Parses one result line that must name its request: {@link readResultLine}, throwing {@link ResultLineError} for
 * a line that is not a JSON object or has no string (or number) custom_id. For a whole file, where such lines are
 * counted and reported rather than fatal, use {@link forEachResult}.
 */
export function parseResultLine(line: string, endpoint: ApiEndpoint, source: LineSource = {}): ModelAnswer {
  const r = readResultLine(line, endpoint, source);
  if (r.kind === "result") return r.result;
  if (r.kind === "unreadable") throw new ResultLineError(source, r.reason);
  const parsed = JSON.parse(line) as Record<string, unknown>;
  throw new ResultLineError(
    source,
    `custom_id is ${show(parsed.custom_id)}; expected the non-empty string of the request (results are joined by custom_id)`,
  );
}

/**
 * Streams a result file (output or error file) and calls `fn` with every line read ({@link ResultLine}: results,
 * lines without a custom_id, lines that are not JSON objects) and its line number. Blank lines are skipped; no line
 * throws. Returns the number of non-blank lines.
 */
export async function forEachResult(
  path: string,
  endpoint: ApiEndpoint,
  fn: (line: ResultLine, lineNo: number) => void,
): Promise<number> {
  let n = 0;
  await forEachLine(path, (text, lineNo) => {
    if (text.trim() === "") return;
    n++;
    fn(readResultLine(text, endpoint, { file: path, line: lineNo }), lineNo);
  });
  return n;
}
