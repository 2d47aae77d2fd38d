/**
 * Conversations and audio transcriptions: served only by custom models that list these endpoints.
 */
import { estimateTokens, unitHash } from "../hashing";
import { chatReply } from "./chat";
import { filler, hexId, usage, type Handler } from "./common";
import { contentText, describe, fail, isObject } from "./parse";

const isoTime = (seconds: number): string => new Date(Math.floor(seconds) * 1000).toISOString();

/** Conversations (only for custom models that list the endpoint): one assistant message output. */
export const conversation: Handler = (body) => {
  const inputs = body.inputs;
  let prompt: string;
  if (typeof inputs === "string") prompt = inputs;
  else if (Array.isArray(inputs) && inputs.length > 0) {
    const texts: string[] = [];
    for (let i = 0; i < inputs.length; i++) {
      const e: unknown = inputs[i];
      if (!isObject(e)) return fail(422, `body.inputs[${i}]: must be an object (got ${describe(e)})`);
      if (e.role === "user" || e.role === undefined) {
        const t = contentText(e.content, `body.inputs[${i}].content`);
        if (typeof t !== "string") return t;
        texts.push(t);
      }
    }
    prompt = texts.pop() ?? "";
  } else {
    return fail(
      422,
      inputs === undefined
        ? "body.inputs: field required"
        : "body.inputs: must be a string or a non-empty array of entries",
    );
  }
  return ({ model, nowSeconds, seed }) => {
    const content = chatReply(model, prompt, 0);
    const completion = estimateTokens(content);
    const promptTokens = Math.max(1, estimateTokens(prompt));
    return {
      object: "conversation.response",
      conversation_id: `conv_${hexId(seed, "conv")}`,
      outputs: [
        {
          object: "entry",
          type: "message.output",
          created_at: isoTime(nowSeconds),
          completed_at: isoTime(nowSeconds),
          agent_id: null,
          model: model.id,
          id: `msg_${hexId(seed, "msg")}`,
          role: "assistant",
          content,
        },
      ],
      usage: { ...usage(promptTokens, completion), connector_tokens: null, connectors: null },
    };
  };
};

/** Audio transcriptions (only for custom models that list the endpoint). */
export const transcription: Handler = (body) => {
  const src = body.file_url ?? body.file_id ?? null;
  if (typeof src !== "string" || !src)
    return fail(422, "body.file_url or body.file_id: one of them is required (string)");
  const language = body.language;
  if (language !== undefined && language !== null && (typeof language !== "string" || !/^\w{2}$/.test(language))) {
    return fail(422, "body.language: must be a two-letter language code");
  }
  return ({ model, seed }) => {
    const text = `Emulated transcription of ${src} by ${model.id}: ${filler(`${seed}\u0000audio`, 10, 30)}.`;
    const seconds = 5 + Math.floor(unitHash(`${seed}\u0000secs`) * 55);
    return {
      model: model.id,
      text,
      language: typeof language === "string" ? language : "en",
      segments: [{ type: "transcription_segment", text, start: 0, end: seconds }],
      usage: { ...usage(seconds * 10, estimateTokens(text)), prompt_audio_seconds: seconds },
    };
  };
};
