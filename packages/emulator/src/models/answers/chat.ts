/**
 * Chat and FIM completions: a chat model's reply answers checkable questions (right at its `accuracy` rate)
 * or gives deterministic filler; FIM fills between prompt and suffix.
 */
import type { ModelSpec } from "../catalogue";
import { findCheckable } from "../checkable";
import { estimateTokens, unitHash } from "../hashing";
import { collapse, filler, finishText, hexId, usage, type Handler } from "./common";
import { describe, fail, isFail, isObject, optionalInt, parseMessages, stopSequences } from "./parse";

/**
 * The verdict of the deterministic judge (ModelSpec.judge) on a message holding `<expected>…</expected>` and
 * `<answer>…</answer>`: `CORRECT` when the answer contains the expected text as a whole word or number
 * (case-insensitive, whitespace collapsed), else `INCORRECT`.
 */
export function judgeVerdict(message: string): string {
  const expected = /<expected>([\s\S]*?)<\/expected>/.exec(message)?.[1];
  const answer = /<answer>([\s\S]*?)<\/answer>/.exec(message)?.[1];
  if (expected === undefined || answer === undefined) return "INCORRECT (no <expected> and <answer> to compare)";
  const norm = (t: string) => collapse(t).toLowerCase();
  const want = norm(expected).replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  if (want === "") return "INCORRECT";
  return new RegExp(`(^|[^a-z0-9.])${want}($|[^a-z0-9]|\\.(?![0-9]))`).test(norm(answer)) ? "CORRECT" : "INCORRECT";
}

/** The reply of a chat model to a conversation (without stop / max_tokens). */
export function chatReply(model: ModelSpec, prompt: string, choice: number): string {
  if (model.judge) return judgeVerdict(prompt);
  const checkable = findCheckable(prompt);
  const key = `${model.id}\u0000${collapse(prompt)}${choice ? `\u0000#${choice}` : ""}`;
  if (checkable) {
    const u = unitHash(key);
    const answer = u < model.accuracy ? checkable.answer : checkable.wrong(unitHash(`wrong\u0000${key}`));
    return `The answer is ${answer}.`;
  }
  const head = collapse(prompt).slice(0, 60);
  return `[${model.id}] Answer to: ${head}\n\n${filler(key, 8, 40)}.`;
}

export const chatCompletion: Handler = (body) => {
  const messages = parseMessages(body.messages, "body.messages");
  if (isFail(messages)) return messages;
  const last = messages.at(-1);
  if (!last) throw new Error("chatCompletion: parseMessages returned no messages (it rejects an empty list)");
  if (last.role === "assistant" && !last.prefix) {
    return fail(400, "Expected last role User or Tool (or Assistant with prefix True) for serving but got assistant");
  }
  if (last.role === "system")
    return fail(400, "Expected last role User or Tool (or Assistant with prefix True) for serving but got system");
  const maxTokens = optionalInt(body, "max_tokens", 0);
  if (isFail(maxTokens)) return maxTokens;
  const n = optionalInt(body, "n", 1, 128);
  if (isFail(n)) return n;
  const stops = stopSequences(body);
  if (isFail(stops)) return stops;
  const rf = body.response_format;
  if (rf !== undefined && rf !== null && (!isObject(rf) || (rf.type !== undefined && typeof rf.type !== "string"))) {
    return fail(422, "body.response_format: must be an object with a string type");
  }
  const jsonMode = isObject(rf) && (rf.type === "json_object" || rf.type === "json_schema");
  const promptTokens = Math.max(
    1,
    messages.reduce((s, m) => s + estimateTokens(m.text) + 1, 0),
  );
  // The question is the last user/tool message; an assistant prefix conditions the reply.
  const prefix = last.role === "assistant" ? last.text : "";
  const question = [...messages].reverse().find((m) => m.role === "user" || m.role === "tool")?.text ?? "";

  return ({ model, nowSeconds, seed }) => {
    const choices: Record<string, unknown>[] = [];
    let completion = 0;
    for (let i = 0; i < (n ?? 1); i++) {
      let reply = chatReply(model, question, i);
      if (jsonMode) reply = JSON.stringify({ answer: reply });
      const g = finishText(prefix + reply, stops, maxTokens);
      completion += g.completionTokens;
      choices.push({
        index: i,
        message: { role: "assistant", content: g.content, tool_calls: null },
        finish_reason: g.finishReason,
      });
    }
    return {
      id: hexId(seed, "chat"),
      object: "chat.completion",
      model: model.id,
      created: Math.floor(nowSeconds),
      choices,
      usage: usage(promptTokens, completion),
    };
  };
};

export const fimCompletion: Handler = (body) => {
  if (typeof body.prompt !== "string") {
    return fail(
      422,
      body.prompt === undefined
        ? "body.prompt: field required"
        : `body.prompt: must be a string (got ${describe(body.prompt)})`,
    );
  }
  const prompt = body.prompt;
  if (body.suffix !== undefined && body.suffix !== null && typeof body.suffix !== "string") {
    return fail(422, `body.suffix: must be a string or null (got ${describe(body.suffix)})`);
  }
  const suffix = typeof body.suffix === "string" ? body.suffix : "";
  const maxTokens = optionalInt(body, "max_tokens", 0);
  if (isFail(maxTokens)) return maxTokens;
  const stops = stopSequences(body);
  if (isFail(stops)) return stops;
  const promptTokens = Math.max(1, estimateTokens(prompt) + estimateTokens(suffix));
  return ({ model, nowSeconds, seed }) => {
    const lastLine = prompt.split("\n").pop() ?? "";
    const indent = /^\s*/.exec(lastLine)?.[0] ?? "";
    const before = collapse(prompt).slice(-40);
    const after = collapse(suffix).slice(0, 40);
    const text =
      `${indent}# ${model.id}: fill between ${JSON.stringify(before)} and ${JSON.stringify(after)}\n` +
      `${indent}# ${filler(`${model.id}\u0000fim\u0000${prompt}\u0000${suffix}`, 4, 12)}\n` +
      `${indent}pass\n`;
    const g = finishText(text, stops, maxTokens);
    return {
      id: hexId(seed, "fim"),
      object: "chat.completion",
      model: model.id,
      created: Math.floor(nowSeconds),
      choices: [
        {
          index: 0,
          message: { role: "assistant", content: g.content, tool_calls: null },
          finish_reason: g.finishReason,
        },
      ],
      usage: usage(promptTokens, g.completionTokens),
    };
  };
};
