/**
 * What the answer makers share: the handler types (validate a body, then produce a response body from a
 * per-request context), deterministic filler text, `stop` / `max_tokens` handling, usage and ids.
 */
import type { ApiEndpoint } from "pulumi-mistral-batch/api";
import type { ModelSpec } from "../catalogue";
import { estimateTokens, prng, sha256 } from "../hashing";
import type { Fail } from "./parse";

const FILLER = (
  "the of and to in is that for it as with on be by this are from at or an which model answer can more " +
  "data batch result request token mistral context example value first second also however therefore " +
  "because simple clear short long note point detail summary overall generally specific useful"
).split(" ");

export function filler(seed: string, minWords: number, maxWords: number): string {
  const rnd = prng(seed);
  const n = minWords + Math.floor(rnd() * (maxWords - minWords + 1));
  const words: string[] = [];
  for (let i = 0; i < n; i++) words.push(FILLER[Math.floor(rnd() * FILLER.length)]);
  const text = words.join(" ");
  return text.charAt(0).toUpperCase() + text.slice(1);
}

export const collapse = (s: string): string => s.replace(/\s+/g, " ").trim();

export interface Generated {
  content: string;
  finishReason: "stop" | "length";
  completionTokens: number;
}

/** Applies `stop` sequences and `max_tokens` to generated text. */
export function finishText(text: string, stops: string[], maxTokens: number | null): Generated {
  let content = text;
  for (const s of stops) {
    const at = content.indexOf(s);
    if (at >= 0) content = content.slice(0, at);
  }
  if (maxTokens !== null && estimateTokens(content) > maxTokens) {
    content = content.slice(0, maxTokens * 4);
    return { content, finishReason: "length", completionTokens: maxTokens };
  }
  return { content, finishReason: "stop", completionTokens: estimateTokens(content) };
}

export function usage(prompt: number, completion: number): Record<string, unknown> {
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

// Endpoint handlers: each validates the body and returns either an error or a function producing the body.

export interface Ctx {
  model: ModelSpec;
  endpoint: ApiEndpoint;
  nowSeconds: number;
  /** Seed unique to this request: same (model, endpoint, body, custom_id or index) -> same seed. */
  seed: string;
}
export type Producer = (ctx: Ctx) => Record<string, unknown>;
export type Handler = (body: Record<string, unknown>, model: ModelSpec) => Producer | Fail;

export const hexId = (seed: string, salt: string): string =>
  sha256(`${salt}\u0000${seed}`).toString("hex").slice(0, 32);
