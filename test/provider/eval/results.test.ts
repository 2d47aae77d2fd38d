/**
 * Result lines (provider/eval/results.ts): answers per endpoint, usage, every error form, lines without custom_id
 * (unattributed) and lines that are not JSON objects (unreadable), never a throw when a file is read; checked
 * against the emulator's own result lines and the fixture of Mistral's Python SDK too.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { answerRequest, DEFAULT_MODELS, type ModelSpec } from "../../../packages/emulator/src/models";
import type { ApiEndpoint } from "../../../provider/requests";
import fc from "fast-check";
import {
  answerOf,
  forEachResult,
  parseResultLine,
  readResultLine,
  ResultLineError,
  type ResultLine,
} from "../../../provider/eval/results";

const CHAT: ApiEndpoint = "/v1/chat/completions";
const chatBody = (
  content: unknown,
  usage: unknown = { prompt_tokens: 12, completion_tokens: 5, total_tokens: 17 },
) => ({
  id: "abc",
  object: "chat.completion",
  model: "mistral-small-latest",
  created: 1762000000,
  choices: [{ index: 0, message: { role: "assistant", content, tool_calls: null }, finish_reason: "stop" }],
  usage,
});
const line = (o: unknown) => JSON.stringify(o);
const ok = (customId: string, body: unknown) =>
  line({ id: `batch-${customId}`, custom_id: customId, response: { status_code: 200, body }, error: null });

/** A result line exactly as the emulator's processor writes it. */
function emulatorLine(
  model: ModelSpec,
  endpoint: ApiEndpoint,
  body: Record<string, unknown>,
  customId: string,
): string {
  const a = answerRequest(model, endpoint, body, { customId, nowSeconds: 1762000000, requestIndex: 0 });
  if (a.ok)
    return line({ id: "batch-1", custom_id: customId, response: { status_code: 200, body: a.body }, error: null });
  const errBody = { object: "error", message: a.message, type: "invalid_request_error", param: null, code: null };
  return line({
    id: "batch-1",
    custom_id: customId,
    response: { status_code: a.status_code, body: errBody },
    error: { message: a.message, code: String(a.status_code) },
  });
}
const model = (id: string) => DEFAULT_MODELS.find((m) => m.id === id)!;

describe("successful chat lines", () => {
  it("answer = choices[0].message.content; usage from response.body.usage; model from response.body.model", () => {
    expect(parseResultLine(ok("q1", chatBody("The answer is 4.")), CHAT)).toEqual({
      customId: "q1",
      answer: "The answer is 4.",
      promptTokens: 12,
      completionTokens: 5,
      model: "mistral-small-latest",
      finishReason: "stop",
    });
    const { model: _, ...withoutModel } = chatBody("ok") as Record<string, unknown>;
    expect(parseResultLine(ok("q2", withoutModel), CHAT).model).toBeUndefined();
  });

  it("content chunks: text chunks joined, thinking chunks left out", () => {
    const content = [
      { type: "thinking", thinking: [{ type: "text", text: "2 and 2 make 4" }] },
      { type: "text", text: "The answer " },
      { type: "text", text: "is 4." },
    ];
    expect(parseResultLine(ok("q1", chatBody(content)), CHAT).answer).toBe("The answer is 4.");
  });

  it("missing or partial usage counts 0", () => {
    const { usage: _, ...noUsage } = chatBody("x");
    expect(parseResultLine(ok("q1", noUsage), CHAT)).toMatchObject({
      answer: "x",
      promptTokens: 0,
      completionTokens: 0,
    });
    expect(parseResultLine(ok("q1", chatBody("x", null)), CHAT)).toMatchObject({
      promptTokens: 0,
      completionTokens: 0,
    });
    expect(parseResultLine(ok("q1", chatBody("x", { prompt_tokens: 3 })), CHAT)).toMatchObject({
      promptTokens: 3,
      completionTokens: 0,
    });
    expect(parseResultLine(ok("q1", chatBody("x", { prompt_tokens: "3", completion_tokens: -1 })), CHAT)).toMatchObject(
      { promptTokens: 0, completionTokens: 0 },
    );
  });

  it("an empty content is an empty answer; a reply of tool calls is rendered as JSON", () => {
    expect(parseResultLine(ok("q1", chatBody("")), CHAT).answer).toBe("");
    const body = chatBody(null);
    (body.choices[0]!.message as Record<string, unknown>).tool_calls = [
      { id: "t1", type: "function", function: { name: "add", arguments: '{"a":2,"b":2}' } },
    ];
    expect(JSON.parse(parseResultLine(ok("q1", body), CHAT).answer!)).toEqual([
      { name: "add", arguments: { a: 2, b: 2 } },
    ]);
  });

  it("a numeric custom_id is read as its string; the line's id is not the custom_id", () => {
    expect(
      parseResultLine(
        line({ id: "0-uuid", custom_id: 7, response: { status_code: 200, body: chatBody("a") }, error: null }),
        CHAT,
      ).customId,
    ).toBe("7");
  });

  it("reads the emulator's lines (chat, FIM)", () => {
    const r = parseResultLine(
      emulatorLine(
        model("mistral-large-latest"),
        CHAT,
        { messages: [{ role: "user", content: "What is 12 + 30?" }] },
        "c1",
      ),
      CHAT,
    );
    expect(r.customId).toBe("c1");
    expect(r.answer).toMatch(/^The answer is -?\d+\.$/);
    expect(r.promptTokens).toBe(5); // "What is 12 + 30?": 16 chars = 4 tokens, + 1 for the message
    expect(r.completionTokens).toBeGreaterThan(0);
    const fim = parseResultLine(
      emulatorLine(model("codestral-latest"), "/v1/fim/completions", { prompt: "def f():\n    ", suffix: "\n" }, "f1"),
      "/v1/fim/completions",
    );
    expect(fim.answer).toContain("pass");
    expect(fim.error).toBeUndefined();
  });
});

describe("error lines: every form", () => {
  it("error: { message } (with a non-200 response: the status is kept)", () => {
    const l = line({
      id: "x",
      custom_id: "q1",
      response: { status_code: 500, body: { object: "error", message: "boom" } },
      error: { message: "Internal error", code: "500" },
    });
    expect(parseResultLine(l, CHAT)).toEqual({
      customId: "q1",
      error: "HTTP 500: Internal error",
      statusCode: 500,
      promptTokens: 0,
      completionTokens: 0,
    });
  });

  it("error: { message } without a response", () => {
    expect(
      parseResultLine(line({ custom_id: "q1", response: null, error: { message: "Request timed out" } }), CHAT),
    ).toEqual({
      customId: "q1",
      error: "Request timed out",
      promptTokens: 0,
      completionTokens: 0,
    });
  });

  it("error: a bare string", () => {
    expect(parseResultLine(line({ custom_id: "q1", error: "model overloaded" }), CHAT).error).toBe("model overloaded");
  });

  it("error: an object without message is shown as JSON; nested error.message is read", () => {
    expect(parseResultLine(line({ custom_id: "q1", error: { code: 42 } }), CHAT).error).toBe('{"code":42}');
    expect(parseResultLine(line({ custom_id: "q1", error: { error: { message: "nested" } } }), CHAT).error).toBe(
      "nested",
    );
  });

  it("response.status_code other than 200, with error null: the message from the body", () => {
    const r = parseResultLine(
      line({
        custom_id: "q1",
        response: {
          status_code: 429,
          body: { object: "error", message: "Rate limit exceeded", type: "rate_limited", code: "1300" },
        },
        error: null,
      }),
      CHAT,
    );
    expect(r).toEqual({
      customId: "q1",
      error: "HTTP 429: Rate limit exceeded",
      statusCode: 429,
      promptTokens: 0,
      completionTokens: 0,
    });
  });

  it("a 422 detail list, a string status, a body-less failure", () => {
    const detail = {
      detail: [
        { loc: ["body", "messages"], msg: "field required", type: "missing" },
        { loc: ["body", "model"], msg: "bad" },
      ],
    };
    expect(parseResultLine(line({ custom_id: "q", response: { status_code: 422, body: detail } }), CHAT).error).toBe(
      "HTTP 422: body.messages: field required; body.model: bad",
    );
    expect(
      parseResultLine(line({ custom_id: "q", response: { status_code: "503", body: { message: "busy" } } }), CHAT),
    ).toMatchObject({ error: "HTTP 503: busy", statusCode: 503 });
    expect(parseResultLine(line({ custom_id: "q", response: { status_code: 500 } }), CHAT).error).toBe(
      "HTTP 500: the request failed",
    );
    expect(
      parseResultLine(line({ custom_id: "q", response: { status_code: 400, body: { error: "bad thing" } } }), CHAT)
        .error,
    ).toBe("HTTP 400: bad thing");
  });

  it("null, empty or false error fields are not errors", () => {
    for (const error of [null, "", {}, false, undefined]) {
      expect(
        parseResultLine(line({ custom_id: "q", response: { status_code: 200, body: chatBody("hi") }, error }), CHAT)
          .answer,
        JSON.stringify(error),
      ).toBe("hi");
    }
  });

  it("a 200 without an answer for the endpoint, or no response at all, is an error (not an empty answer)", () => {
    expect(
      parseResultLine(line({ custom_id: "q", response: { status_code: 200, body: { choices: [] } } }), CHAT).error,
    ).toBe("the response has no choices[0].message");
    expect(parseResultLine(line({ custom_id: "q", response: { status_code: 200, body: null } }), CHAT).error).toBe(
      "the response has no body (got null)",
    );
    expect(parseResultLine(line({ custom_id: "q", error: null }), CHAT).error).toBe(
      "the result line has no response (got missing) and no error",
    );
  });

  it("usage of a failed request is still counted when present", () => {
    const l = line({
      custom_id: "q",
      response: { status_code: 500, body: { message: "x", usage: { prompt_tokens: 9, completion_tokens: 1 } } },
    });
    expect(parseResultLine(l, CHAT)).toMatchObject({ promptTokens: 9, completionTokens: 1 });
  });

  it("reads the emulator's error lines", () => {
    const r = parseResultLine(
      emulatorLine(model("mistral-small-latest"), CHAT, { messages: [{ role: "system", content: "only" }] }, "bad"),
      CHAT,
    );
    expect(r.customId).toBe("bad");
    expect(r.statusCode).toBe(400);
    expect(r.error).toMatch(/^HTTP 400: Expected last role User or Tool/);
    expect(r.answer).toBeUndefined();
  });
});

describe("malformed lines", () => {
  it("names the file and line, the problem and the text", () => {
    expect(() => parseResultLine("{not json", CHAT, { file: "out.jsonl", line: 7 })).toThrow(
      /^out\.jsonl line 7: not valid JSON \(.*\): "\{not json"$/,
    );
    expect(() => parseResultLine("[1,2]", CHAT, { file: "out.jsonl", line: 2 })).toThrow(
      'out.jsonl line 2: expected a JSON object {"id","custom_id","response","error"}, got [1,2]',
    );
    expect(() =>
      parseResultLine(line({ id: "x", custom_id: null, response: {} }), CHAT, { file: "f", line: 3 }),
    ).toThrow(
      "f line 3: custom_id is null; expected the non-empty string of the request (results are joined by custom_id)",
    );
    expect(() => parseResultLine(line({ id: "x", response: {} }), CHAT, { line: 4 })).toThrow(
      /^line 4: custom_id is missing/,
    );
    expect(() => parseResultLine(line({ custom_id: "" }), CHAT)).toThrow(/^result line: custom_id is ""/);
    try {
      parseResultLine("x", CHAT, { file: "a", line: 1 });
    } catch (e) {
      expect(e).toBeInstanceOf(ResultLineError);
      expect((e as ResultLineError).source).toEqual({ file: "a", line: 1 });
    }
  });
});

describe("other endpoints", () => {
  it("embeddings: a description, from the emulator's lines", () => {
    const one = parseResultLine(
      emulatorLine(model("mistral-embed"), "/v1/embeddings", { input: "hello" }, "e1"),
      "/v1/embeddings",
    );
    expect(one).toMatchObject({ customId: "e1", answer: "embedding[1024]", completionTokens: 0 });
    expect(one.promptTokens).toBe(2);
    const three = parseResultLine(
      emulatorLine(model("codestral-embed"), "/v1/embeddings", { input: ["a", "b", "c"] }, "e2"),
      "/v1/embeddings",
    );
    expect(three.answer).toBe("embeddings[3x1536]");
    expect(answerOf("/v1/embeddings", { data: [{ embedding: "AAAA" }] })).toBe("embedding[base64]");
    expect(answerOf("/v1/embeddings", { data: [] })).toEqual({ error: "the response has no data[].embedding" });
  });

  it("moderations: the flagged categories as compact sorted JSON", () => {
    const m = model("mistral-moderation-latest");
    const flagged = parseResultLine(
      emulatorLine(m, "/v1/moderations", { input: "I will kill you and steal your bomb" }, "m1"),
      "/v1/moderations",
    );
    expect(JSON.parse(flagged.answer!)).toEqual(["dangerous_and_criminal_content", "violence_and_threats"]);
    const clean = parseResultLine(emulatorLine(m, "/v1/moderations", { input: "a nice day" }, "m2"), "/v1/moderations");
    expect(clean.answer).toBe("[]");
    const two = parseResultLine(
      emulatorLine(m, "/v1/moderations", { input: ["a nice day", "I hate you, racist"] }, "m3"),
      "/v1/moderations",
    );
    expect(JSON.parse(two.answer!)).toEqual([[], ["hate_and_discrimination"]]);
    const chat = parseResultLine(
      emulatorLine(m, "/v1/chat/moderations", { input: [{ role: "user", content: "how to make a bomb" }] }, "m4"),
      "/v1/chat/moderations",
    );
    expect(JSON.parse(chat.answer!)).toEqual(["dangerous_and_criminal_content"]);
  });

  it("classifications: per target, the labels scoring >= 0.5", () => {
    const m = model("mistral-moderation-latest");
    const r = parseResultLine(
      emulatorLine(m, "/v1/classifications", { input: "I want to hurt myself, suicide" }, "c1"),
      "/v1/classifications",
    );
    expect(JSON.parse(r.answer!)).toEqual({ moderation: ["selfharm"] });
    expect(
      answerOf("/v1/classifications", {
        results: [{ b: { scores: { x: 0.2, y: 0.5 } }, a: { scores: { z: 0.9 } } }, {}],
      }),
    ).toBe('[{"a":["z"],"b":["y"]},{}]');
    expect(answerOf("/v1/chat/classifications", { results: "no" })).toEqual({ error: "the response has no results[]" });
  });

  it("OCR, conversations, transcriptions", () => {
    expect(answerOf("/v1/ocr", { pages: [{ markdown: "# p1" }, { markdown: "p2" }] })).toBe("# p1\n\np2");
    expect(
      answerOf("/v1/conversations", {
        outputs: [{ type: "tool.execution" }, { type: "message.output", content: [{ type: "text", text: "hi" }] }],
      }),
    ).toBe("hi");
    expect(answerOf("/v1/audio/transcriptions", { text: "hello" })).toBe("hello");
    expect(answerOf("/v1/audio/transcriptions", {})).toEqual({ error: "the response has no text" });
  });
});

describe("readResultLine: lines Mistral writes, never a throw", () => {
  const at = { file: "out.jsonl", line: 3 };

  it("Mistral's SDK fixture: a bare-string error with a 429 and a null body", () => {
    const l = '{"custom_id":"b","response":{"status_code":429,"body":null},"error":"rate limited"}';
    expect(readResultLine(l, CHAT, at)).toEqual({
      kind: "result",
      source: at,
      result: { customId: "b", error: "HTTP 429: rate limited", statusCode: 429, promptTokens: 0, completionTokens: 0 },
    });
  });

  it("non-200 status codes with a body null, a string, an object, a detail list", () => {
    const err = (body: unknown) =>
      parseResultLine(line({ custom_id: "q", response: { status_code: 429, body }, error: null }), CHAT).error;
    expect(err(null)).toBe("HTTP 429: the request failed");
    expect(err("slow down")).toBe("HTTP 429: slow down");
    expect(err({ object: "error", message: "Rate limit exceeded", type: "rate_limited", code: "1300" })).toBe(
      "HTTP 429: Rate limit exceeded",
    );
    expect(err({ detail: [{ loc: ["body", "model"], msg: "required" }, "odd"] })).toBe(
      'HTTP 429: body.model: required; "odd"',
    );
  });

  it("a line without custom_id is unattributed, with its error (every shape), status, line id and usage", () => {
    const un = (o: unknown) => readResultLine(line(o), CHAT, at);
    expect(un({ response: { status_code: 429, body: null }, error: "rate limited" })).toEqual({
      kind: "unattributed",
      source: at,
      error: "HTTP 429: rate limited",
      statusCode: 429,
      promptTokens: 0,
      completionTokens: 0,
    });
    expect(un({ id: "7-uuid", custom_id: null, error: { message: "Request timed out" } })).toEqual({
      kind: "unattributed",
      source: at,
      error: "Request timed out",
      lineId: "7-uuid",
      promptTokens: 0,
      completionTokens: 0,
    });
    expect(un({ custom_id: "", error: { error: { message: "nested" } } })).toMatchObject({ error: "nested" });
    expect(un({ custom_id: true, response: { status_code: 500, body: { message: "boom" } } })).toMatchObject({
      error: "HTTP 500: boom",
      statusCode: 500,
    });
    expect(un({ response: { status_code: 422, body: { detail: [{ loc: ["x"], msg: "bad" }] } } })).toMatchObject({
      error: "HTTP 422: x: bad",
    });
    // A success without a custom_id cannot be joined either: reported with a null error, its usage kept.
    expect(
      un({ response: { status_code: 200, body: chatBody("hi", { prompt_tokens: 4, completion_tokens: 2 }) } }),
    ).toEqual({ kind: "unattributed", source: at, error: null, promptTokens: 4, completionTokens: 2 });
    expect(un({})).toMatchObject({
      kind: "unattributed",
      error: "the result line has no response (got missing) and no error",
    });
  });

  it("a line that is not a JSON object is unreadable, with the reason and the start of the text", () => {
    expect(readResultLine("{not json", CHAT, at)).toMatchObject({
      kind: "unreadable",
      source: at,
      reason: expect.stringMatching(/^not valid JSON \(.*\): "\{not json"$/),
    });
    expect(readResultLine("[1,2]", CHAT, at)).toEqual({
      kind: "unreadable",
      source: at,
      reason: 'expected a JSON object {"id","custom_id","response","error"}, got [1,2]',
    });
    expect(readResultLine('"text"', CHAT).kind).toBe("unreadable");
    expect(readResultLine("null", CHAT).kind).toBe("unreadable");
  });

  it("property: any text reads without throwing, and a string custom_id is always attributed", () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        const r = readResultLine(text, CHAT);
        expect(["result", "unattributed", "unreadable"]).toContain(r.kind);
      }),
    );
    fc.assert(
      fc.property(
        fc.string({ minLength: 1 }),
        fc.oneof(fc.constant(null), fc.string(), fc.record({ message: fc.string() }), fc.anything()),
        fc.oneof(fc.constant(undefined), fc.integer({ min: 100, max: 599 })),
        fc.anything(),
        (customId, error, status, body) => {
          const r = readResultLine(
            line({ custom_id: customId, response: status === undefined ? null : { status_code: status, body }, error }),
            CHAT,
          );
          expect(r.kind).toBe("result");
          if (r.kind === "result") {
            expect(r.result.customId).toBe(customId);
            expect(r.result.answer === undefined).toBe(r.result.error !== undefined);
          }
        },
      ),
    );
  });
});

describe("forEachResult", () => {
  it("streams a file, skipping blank lines; lines without custom_id and broken lines are passed on, not thrown", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "results-"));
    try {
      const f = path.join(dir, "out.jsonl");
      fs.writeFileSync(
        f,
        [
          ok("b", chatBody("2")),
          "",
          ok("a", chatBody("1")),
          line({ custom_id: "c", error: "x" }),
          line({ response: { status_code: 429, body: null }, error: "rate limited" }),
          "",
          "{broken",
        ].join("\n"),
      );
      const seen: [string, number][] = [];
      const label = (r: ResultLine) =>
        r.kind === "result" ? r.result.customId : r.kind === "unattributed" ? `? ${r.error}` : `! ${r.reason}`;
      expect(await forEachResult(f, CHAT, (r, n) => seen.push([label(r), n]))).toBe(5);
      expect(seen.slice(0, 4)).toEqual([
        ["b", 1],
        ["a", 3],
        ["c", 4],
        ["? HTTP 429: rate limited", 5],
      ]);
      expect(seen[4]?.[0]).toMatch(/^! not valid JSON/);
      expect(seen[4]?.[1]).toBe(7);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
