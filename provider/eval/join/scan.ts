/**
 * A fast, exact reader of the common result line of the chat and FIM endpoints, for the join (../join.ts), where
 * parsing millions of result lines with `JSON.parse` is most of the time: one regular expression, a strict subset of
 * the JSON grammar, matches the whole line and captures the custom_id, the answer text and the usage counts (about
 * five times faster than `JSON.parse`, and it builds no object tree for the garbage collector).
 *
 * Exact, by construction. It accepts only a compact (no whitespace) JSON line of this shape:
 *
 *     {"custom_id":"<id>","response":{"status_code":200,"body":{"choices":[{"message":{"content":"<text>",…},…}],
 *      "usage":{"prompt_tokens":<n>,"completion_tokens":<n>,…},…},…},"error":null,…}
 *
 * where `…` stands for other members, at any place, whose keys are plain strings other than the level's known keys
 * and whose values are scalars, `{}` or `[]`; `choices` and `usage` may come in either order;
 * `error` may be null, false or absent; `<id>` is a non-empty string without escapes; `<text>` a non-empty string.
 * Each known key occurs once in its object, so no repeated key can change what `JSON.parse` would read. For such a
 * line, the answer, custom_id and usage are what `readResultLine` (../results.ts) reads. Any other line (an error,
 * another shape, whitespace, an escaped key, several choices, a tool call) gives undefined, and the caller reads it
 * with `readResultLine`: the fast path never decides anything the slow path would decide differently.
 *
 * Every part of the expression is decided by its next character (strings by quotes, keys by look-aheads, numbers by
 * digits), so matching takes linear time, even on lines that do not match.
 */

/** What {@link scanChatResult} reads from a plain success line. */
export interface ScannedResult {
  customId: string;
  /** The answer, JSON-encoded as `JSON.stringify(answer)` writes it. */
  answerJson: string;
  promptTokens: number;
  completionTokens: number;
  /** The choice's `finish_reason`, when it has one after its message (a non-empty string). */
  finishReason?: string;
  /** The body's `model`, when it names one (a non-empty string), as `readResultLine` reads it. */
  model?: string;
}

/** Any JSON string (escapes checked: \" \\ \/ \b \f \n \r \t \uXXXX), unrolled so that it cannot backtrack. */
const STRING = String.raw`"[^"\\\u0000-\u001f]*(?:\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})[^"\\\u0000-\u001f]*)*"`;
const NUMBER = String.raw`-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?`;
/** The values of other members: a scalar, `{}` or `[]` (anything else goes the slow way; a small expression stays fast). */
const FLAT_VALUE = String.raw`(?:${STRING}|${NUMBER}|null|true|false|\{\}|\[\])`;

/** A member whose key is plain and none of `known` (so a known key occurs only where the shape puts it). */
const other = (...known: string[]) => `"(?!(?:${known.join("|")})")[^"\\\\\\u0000-\\u001f]*":${FLAT_VALUE}`;
/**
 * An object made of `known` members in this order (each written as a pattern), other members anywhere; with
 * `optional`, also a member of that key (its value captured) before the first known one, or none at all; with
 * `trailing`, the same after the last known one.
 */
function object(known: string[], patterns: string[], optional?: string, trailing?: string): string {
  const o = other(...known, ...(optional ? [optional] : []), ...(trailing ? [trailing] : []));
  const lead = optional ? `(?:"${optional}":(${STRING}),(?:${o},)*)?` : "";
  const tail = trailing ? `(?:,"${trailing}":(${STRING})(?:,${o})*)?` : "";
  return String.raw`\{(?:${o},)*${lead}${patterns.join(`(?:,${o})*,`)}(?:,${o})*${tail}\}`;
}

const MESSAGE = object(["content"], [`"content":(${STRING})`]);
const CHOICES = String.raw`\[${object(["message"], [`"message":${MESSAGE}`], undefined, "finish_reason")}\]`;
const USAGE = object(
  ["prompt_tokens", "completion_tokens"],
  [`"prompt_tokens":(${NUMBER})`, `"completion_tokens":(${NUMBER})`],
);
// Groups (numbered in the order they open): 1 the custom_id (below); then 2 model, 3 content, 4 finish_reason,
// 5 prompt_tokens, 6 completion_tokens (choices first), or 7 model, 8 prompt_tokens, 9 completion_tokens,
// 10 content, 11 finish_reason (usage first). A choice's finish_reason is read after its message (as Mistral writes
// it); before it, the line goes the slow way.
// The body's `model`, when it has one, must come before `choices` and `usage` (as Mistral and the emulator write
// it); a line with it elsewhere goes the slow way.
const BODY = `(?:${object(["choices", "usage"], [`"choices":${CHOICES}`, `"usage":${USAGE}`], "model")}|${object(["choices", "usage"], [`"usage":${USAGE}`, `"choices":${CHOICES}`], "model")})`;
const RESPONSE = object(["status_code", "body"], ['"status_code":200', `"body":${BODY}`]);
const TOP_OTHER = other("custom_id", "response", "error");
// The custom_id: a non-empty string without escapes.
const LINE = new RegExp(
  String.raw`^\{(?:${TOP_OTHER},)*"custom_id":"([^"\\\u0000-\u001f]+)"(?:,${TOP_OTHER})*,"response":${RESPONSE}(?:,${TOP_OTHER})*(?:,"error":(?:null|false)(?:,${TOP_OTHER})*)?\}$`,
);

/**
 * Escapes JSON.stringify does not write, and surrogates. The other escapes (\" \\ \b \f \n \r \t) are the ones it writes
 * for those characters, and the grammar leaves no raw character it would escape.
 */
const REENCODE = /\\[/u]|[\ud800-\udfff]/;

/** Usage counts as `readResultLine` reads them: a finite number >= 0, else 0. */
const count = (text: string): number => {
  const n = Number(text);
  return Number.isFinite(n) && n >= 0 ? n : 0;
};

/**
 * Reads a plain successful chat / FIM result line (see the module comment), or returns undefined for any other line
 * (to be read with `readResultLine`). Never throws.
 */
export function scanChatResult(line: string): ScannedResult | undefined {
  const m = LINE.exec(line);
  if (m === null) return undefined;
  const first = m[3] !== undefined;
  const literal = first ? m[3] : m[10];
  if (literal === undefined || literal.length <= 2) return undefined; // an empty answer: the slow path decides
  // The literal is already what JSON.stringify writes for the text, unless it has an escape JSON.stringify does not
  // write (`\/`, `\uXXXX`) or a surrogate (JSON.stringify escapes a lone one): then it is decoded and encoded again.
  const answerJson = REENCODE.test(literal) ? JSON.stringify(JSON.parse(literal) as string) : literal;
  const modelLiteral = first ? m[2] : m[7];
  const model = modelLiteral === undefined ? undefined : (JSON.parse(modelLiteral) as string);
  const finishLiteral = first ? m[4] : m[11];
  const finishReason = finishLiteral === undefined ? undefined : (JSON.parse(finishLiteral) as string);
  return {
    customId: m[1],
    answerJson,
    promptTokens: count(first ? m[5] : m[8]),
    completionTokens: count(first ? m[6] : m[9]),
    ...(finishReason ? { finishReason } : {}),
    ...(model ? { model } : {}),
  };
}
