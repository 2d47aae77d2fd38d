/**
 * Input-token estimates and prompt texts of batch requests (provider/eval/tokens.ts), checked against the
 * emulator's own counting where it reports usage.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { answerRequest, DEFAULT_MODELS, estimateTokens as emulatorTokens } from "../../../packages/emulator/src/models";
import type { ApiEndpoint } from "../../../provider/requests";
import {
  contentText,
  estimateDatasetFileTokens,
  estimateDatasetTokens,
  estimateRequestTokens,
  estimateTokens,
  MESSAGE_OVERHEAD_TOKENS,
  promptText,
} from "../../../provider/eval/tokens";

const model = (id: string) => DEFAULT_MODELS.find((m) => m.id === id)!;
const emulatedPromptTokens = (modelId: string, endpoint: ApiEndpoint, body: Record<string, unknown>): number => {
  const a = answerRequest(model(modelId), endpoint, body, { customId: "x", nowSeconds: 0, requestIndex: 0 });
  if (!a.ok) throw new Error(a.message);
  return (a.body.usage as { prompt_tokens: number }).prompt_tokens;
};

describe("estimateTokens", () => {
  it("is ceil(chars / 4), 0 for empty, at least 1, as the emulator's", () => {
    for (const s of ["", "a", "abcd", "abcde", "x".repeat(4001), "héllo wörld", "日本語のテキスト"]) {
      expect(estimateTokens(s), JSON.stringify(s)).toBe(emulatorTokens(s));
    }
    expect(estimateTokens("")).toBe(0);
    expect(estimateTokens("abc")).toBe(1);
    expect(estimateTokens("abcdefghi")).toBe(3);
  });
});

describe("estimateRequestTokens", () => {
  it("chat: each message's text plus a per-message overhead, equal to the emulator's prompt_tokens", () => {
    const bodies: Record<string, unknown>[] = [
      { messages: [{ role: "user", content: "What is 2 + 2?" }] },
      {
        messages: [
          { role: "system", content: "Be brief." },
          { role: "user", content: "Name the capital of France." },
        ],
      },
      {
        messages: [
          {
            role: "user",
            content: [
              { type: "text", text: "Describe this image" },
              { type: "image_url", image_url: "https://x/y.png" },
              { type: "text", text: "in one line" },
            ],
          },
        ],
      },
      { messages: [{ role: "user", content: "" }] },
    ];
    for (const b of bodies)
      expect(estimateRequestTokens("/v1/chat/completions", b)).toBe(
        emulatedPromptTokens("mistral-small-latest", "/v1/chat/completions", b),
      );
    expect(MESSAGE_OVERHEAD_TOKENS).toBe(1);
    // "What is 2 + 2?" = 14 chars -> 4 tokens, + 1 overhead
    expect(estimateRequestTokens("/v1/chat/completions", bodies[0])).toBe(5);
    // text chunks joined with "\n": "Describe this image\nin one line" = 31 chars -> 8, + 1; the image counts 0
    expect(estimateRequestTokens("/v1/chat/completions", bodies[2])).toBe(9);
    // an empty conversation still counts 1
    expect(estimateRequestTokens("/v1/chat/completions", { messages: [] })).toBe(1);
  });

  it("FIM: prompt + suffix, as the emulator", () => {
    const b = { prompt: "def add(a, b):\n    ", suffix: "\n\nprint(add(1, 2))" };
    expect(estimateRequestTokens("/v1/fim/completions", b)).toBe(
      emulatedPromptTokens("codestral-latest", "/v1/fim/completions", b),
    );
    expect(estimateRequestTokens("/v1/fim/completions", { prompt: "abcdefgh" })).toBe(2);
  });

  it("embeddings: every input string, as the emulator", () => {
    const b = { input: ["first text to embed", "second", "a third, longer text to embed here"] };
    expect(estimateRequestTokens("/v1/embeddings", b)).toBe(emulatedPromptTokens("mistral-embed", "/v1/embeddings", b));
    expect(estimateRequestTokens("/v1/embeddings", { input: "abcdefgh" })).toBe(2);
  });

  it("moderations and classifications: input strings; chat variants: the conversations' messages", () => {
    expect(estimateRequestTokens("/v1/moderations", { input: ["abcd", "abcdefgh"] })).toBe(3);
    expect(estimateRequestTokens("/v1/classifications", { input: "abcdefgh" })).toBe(2);
    const conv = [
      { role: "user", content: "abcdefgh" },
      { role: "assistant", content: "abcd" },
    ];
    expect(estimateRequestTokens("/v1/chat/moderations", { input: conv })).toBe(2 + 1 + 1 + 1);
    expect(estimateRequestTokens("/v1/chat/moderations", { input: [conv, conv] })).toBe(10);
    expect(estimateRequestTokens("/v1/chat/classifications", { input: { messages: conv } })).toBe(5);
    expect(estimateRequestTokens("/v1/chat/classifications", { input: [{ messages: conv }, { messages: conv }] })).toBe(
      10,
    );
  });

  it("conversations: the inputs string or entries; OCR, audio and non-object bodies: 0", () => {
    expect(estimateRequestTokens("/v1/conversations", { inputs: "abcdefgh" })).toBe(2);
    expect(estimateRequestTokens("/v1/conversations", { inputs: [{ role: "user", content: "abcd" }] })).toBe(2);
    expect(
      estimateRequestTokens("/v1/ocr", { document: { type: "document_url", document_url: "https://x/a.pdf" } }),
    ).toBe(0);
    expect(estimateRequestTokens("/v1/audio/transcriptions", { file_url: "https://x/a.mp3" })).toBe(0);
    expect(estimateRequestTokens("/v1/chat/completions", null)).toBe(0);
    expect(estimateRequestTokens("/v1/chat/completions", "text")).toBe(0);
    expect(estimateRequestTokens("/v1/embeddings", { input: 42 })).toBe(0);
  });
});

describe("contentText and promptText", () => {
  it("contentText keeps text chunks (and untyped ones), drops others", () => {
    expect(contentText("plain")).toBe("plain");
    expect(
      contentText([
        { type: "text", text: "a" },
        { type: "image_url", image_url: "u" },
        { text: "b" },
        { type: "thinking", thinking: [] },
      ]),
    ).toBe("a\nb");
    expect(contentText(null)).toBe("");
  });

  it("chat: the last user message", () => {
    const body = {
      messages: [
        { role: "system", content: "sys" },
        { role: "user", content: "first" },
        { role: "assistant", content: "reply" },
        { role: "user", content: [{ type: "text", text: "second" }] },
      ],
    };
    expect(promptText("/v1/chat/completions", body)).toBe("second");
    expect(promptText("/v1/chat/completions", { messages: [{ role: "system", content: "only system" }] })).toBe(
      "only system",
    );
  });

  it("other endpoints", () => {
    expect(promptText("/v1/embeddings", { input: ["a", "b"] })).toBe("a\nb");
    expect(promptText("/v1/moderations", { input: "bad words" })).toBe("bad words");
    expect(promptText("/v1/fim/completions", { prompt: "def f(", suffix: "):" })).toBe("def f(\n[suffix]\n):");
    expect(promptText("/v1/fim/completions", { prompt: "x = " })).toBe("x = ");
    expect(
      promptText("/v1/chat/moderations", {
        input: [[{ role: "user", content: "one" }], [{ role: "user", content: "two" }]],
      }),
    ).toBe("one");
    expect(promptText("/v1/chat/classifications", { input: { messages: [{ role: "user", content: "hi" }] } })).toBe(
      "hi",
    );
    expect(promptText("/v1/conversations", { inputs: "hello" })).toBe("hello");
    expect(promptText("/v1/ocr", { document: {} })).toBe("");
    expect(promptText("/v1/chat/completions", 7)).toBe("");
  });
});

describe("estimateDatasetTokens", () => {
  const lines = [
    JSON.stringify({ custom_id: "a", body: { messages: [{ role: "user", content: "abcdefgh" }] } }), // 3
    "",
    JSON.stringify({ custom_id: "b", body: { messages: [{ role: "user", content: "x".repeat(40) }] } }), // 11
  ];

  it("sums over JSON lines or parsed lines, skipping blanks", async () => {
    expect(await estimateDatasetTokens(lines, "/v1/chat/completions")).toEqual({
      requests: 2,
      inputTokens: 14,
      maxRequestTokens: 11,
    });
    const parsed = lines.filter(Boolean).map((l) => JSON.parse(l));
    expect(await estimateDatasetTokens(parsed, "/v1/chat/completions")).toEqual({
      requests: 2,
      inputTokens: 14,
      maxRequestTokens: 11,
    });
  });

  it("takes an async iterable", async () => {
    async function* gen() {
      for (const l of lines) yield l;
    }
    expect((await estimateDatasetTokens(gen(), "/v1/chat/completions")).inputTokens).toBe(14);
  });

  it("names the line that is not JSON", async () => {
    await expect(estimateDatasetTokens(["{}", "{oops"], "/v1/chat/completions")).rejects.toThrow(
      /^line 2: not valid JSON/,
    );
  });

  it("reads a file, streaming, naming file and line on error", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tokens-"));
    try {
      const f = path.join(dir, "d.jsonl");
      fs.writeFileSync(f, `${lines.join("\r\n")}\r\n`);
      expect(await estimateDatasetFileTokens(f, "/v1/chat/completions")).toEqual({
        requests: 2,
        inputTokens: 14,
        maxRequestTokens: 11,
      });
      fs.writeFileSync(f, `${lines[0]}\nnot json\n`);
      await expect(estimateDatasetFileTokens(f, "/v1/chat/completions")).rejects.toThrow(`${f} line 2: not valid JSON`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
