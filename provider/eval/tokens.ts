/**
 * Rough input-token estimates of batch requests, before anything is submitted, and the prompt text of a request as
 * a report shows it. Pure functions (plus one streaming reader of a dataset file).
 *
 * The estimate is the emulator's: ceil(characters / 4) per text (at least 1 for a non-empty text), so on the
 * emulator it equals the `prompt_tokens` reported back. Real tokenisers differ (roughly 3-5 characters a token
 * for English prose, fewer for code and non-Latin scripts): use it for budgets, not invoices.
 */
import type { ApiEndpoint } from "../requests";
import { forEachLine } from "./lines";

/** Rough token count of a text: ceil(chars / 4); 0 for the empty string, at least 1 otherwise (as the emulator). */
export function estimateTokens(text: string): number {
  if (!text) return 0;
  return Math.max(1, Math.ceil(text.length / 4));
}

/**
 * Tokens added per chat message for its role and delimiters. 1, as the emulator counts; real chat templates add a
 * few tokens a message, so this underestimates long conversations of short messages slightly.
 */
export const MESSAGE_OVERHEAD_TOKENS = 1;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * The text of a message `content`: a string, or content chunks of which the `text` chunks (a chunk without a type
 * counts as text) are joined with "\n". Other chunks (image_url, document_url, input_audio, thinking...) carry no
 * text here and are not counted: images are priced by image tokens, which this does not estimate.
 */
export function contentText(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  const parts: string[] = [];
  for (const chunk of content) {
    if (typeof chunk === "string") parts.push(chunk);
    else if (isObject(chunk) && (chunk.type === undefined || chunk.type === "text") && typeof chunk.text === "string")
      parts.push(chunk.text);
  }
  return parts.join("\n");
}

/** The conversations of a request field: one conversation (messages), `{ messages }`, or a list of either. */
function conversationsOf(value: unknown): unknown[][] {
  if (isObject(value) && Array.isArray(value.messages)) return [value.messages];
  if (!Array.isArray(value) || value.length === 0) return [];
  if (value.every(Array.isArray)) return value as unknown[][];
  if (value.every((v) => isObject(v) && Array.isArray(v.messages) && v.role === undefined))
    return value.map((v) => (v as { messages: unknown[] }).messages);
  return [value];
}

const messagesOf = (value: unknown): unknown[] => conversationsOf(value).flat();

function messagesTokens(messages: unknown[]): number {
  let tokens = 0;
  for (const m of messages) if (isObject(m)) tokens += estimateTokens(contentText(m.content)) + MESSAGE_OVERHEAD_TOKENS;
  return tokens;
}

function stringInputs(value: unknown): string[] {
  if (typeof value === "string") return [value];
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}

/**
 * Estimated input tokens of one request body:
 *  - chat completions: every message's text (string content or its text chunks) + {@link MESSAGE_OVERHEAD_TOKENS}
 *    each, at least 1;
 *  - chat moderations / chat classifications: the same over the conversations of `input`;
 *  - embeddings, moderations, classifications: each string of `input`;
 *  - FIM: `prompt` + `suffix`, at least 1;
 *  - conversations: `inputs` (a string, or the entries' content);
 *  - OCR and audio transcriptions: 0 (priced per page / per second, not per token).
 * A body that is not an object gives 0.
 */
export function estimateRequestTokens(endpoint: ApiEndpoint, body: unknown): number {
  if (!isObject(body)) return 0;
  switch (endpoint) {
    case "/v1/chat/completions":
      return Math.max(1, messagesTokens(messagesOf(body.messages)));
    case "/v1/chat/moderations":
    case "/v1/chat/classifications":
      return messagesTokens(messagesOf(body.input));
    case "/v1/embeddings":
    case "/v1/moderations":
    case "/v1/classifications":
      return stringInputs(body.input).reduce((s, t) => s + estimateTokens(t), 0);
    case "/v1/fim/completions":
      return Math.max(
        1,
        estimateTokens(typeof body.prompt === "string" ? body.prompt : "") +
          estimateTokens(typeof body.suffix === "string" ? body.suffix : ""),
      );
    case "/v1/conversations":
      return typeof body.inputs === "string"
        ? estimateTokens(body.inputs)
        : messagesTokens(Array.isArray(body.inputs) ? body.inputs : []);
    default:
      return 0;
  }
}

/**
 * The prompt of a request as a report shows it: chat, the last user message (the question; earlier turns and the
 * system prompt are left out); chat moderations / classifications, the last message of the (first) conversation;
 * embeddings, moderations, classifications: the input strings joined with "\n"; FIM: `prompt`, then
 * `\n[suffix]\n` and `suffix` when there is one; conversations: the last entry's text. Empty when there is none.
 */
export function promptText(endpoint: ApiEndpoint, body: unknown): string {
  if (!isObject(body)) return "";
  const lastUser = (messages: unknown[]): string => {
    for (let i = messages.length - 1; i >= 0; i--) {
      const m = messages[i];
      if (isObject(m) && (m.role === "user" || m.role === undefined)) return contentText(m.content);
    }
    const last = messages[messages.length - 1];
    return isObject(last) ? contentText(last.content) : "";
  };
  switch (endpoint) {
    case "/v1/chat/completions":
      return lastUser(messagesOf(body.messages));
    case "/v1/chat/moderations":
    case "/v1/chat/classifications": {
      return lastUser(conversationsOf(body.input)[0] ?? []);
    }
    case "/v1/embeddings":
    case "/v1/moderations":
    case "/v1/classifications":
      return stringInputs(body.input).join("\n");
    case "/v1/fim/completions": {
      const prompt = typeof body.prompt === "string" ? body.prompt : "";
      return typeof body.suffix === "string" && body.suffix ? `${prompt}\n[suffix]\n${body.suffix}` : prompt;
    }
    case "/v1/conversations":
      return typeof body.inputs === "string" ? body.inputs : Array.isArray(body.inputs) ? lastUser(body.inputs) : "";
    default:
      return "";
  }
}

/** A request line of a dataset: its JSON text, or the parsed `{ custom_id, body }`. */
export type DatasetLine = string | { custom_id?: unknown; body?: unknown };

export interface DatasetTokens {
  /** Requests counted (non-blank lines). */
  requests: number;
  /** Sum of the requests' estimated input tokens. */
  inputTokens: number;
  /** The largest single request. */
  maxRequestTokens: number;
}

/**
 * Estimated input tokens of a dataset given as lines (JSON text or parsed), synchronous or asynchronous. Blank lines
 * are skipped; a line that is not JSON throws, naming its 1-based position.
 */
export async function estimateDatasetTokens(
  lines: Iterable<DatasetLine> | AsyncIterable<DatasetLine>,
  endpoint: ApiEndpoint,
): Promise<DatasetTokens> {
  const acc = { requests: 0, inputTokens: 0, maxRequestTokens: 0 };
  let n = 0;
  for await (const line of lines as AsyncIterable<DatasetLine>) {
    n++;
    addLine(acc, line, endpoint, `line ${n}`);
  }
  return acc;
}

/** The same over a JSONL file, streaming. */
export async function estimateDatasetFileTokens(path: string, endpoint: ApiEndpoint): Promise<DatasetTokens> {
  const acc = { requests: 0, inputTokens: 0, maxRequestTokens: 0 };
  await forEachLine(path, (text, line) => addLine(acc, text, endpoint, `${path} line ${line}`));
  return acc;
}

function addLine(acc: DatasetTokens, line: DatasetLine, endpoint: ApiEndpoint, where: string): void {
  let parsed: unknown = line;
  if (typeof line === "string") {
    if (line.trim() === "") return;
    try {
      parsed = JSON.parse(line);
    } catch (e) {
      throw new Error(`${where}: not valid JSON (${(e as Error).message})`);
    }
  }
  const tokens = estimateRequestTokens(endpoint, isObject(parsed) ? parsed.body : undefined);
  acc.requests++;
  acc.inputTokens += tokens;
  if (tokens > acc.maxRequestTokens) acc.maxRequestTokens = tokens;
}
