/**
 * Per-endpoint request body rules (provider/requests.ts): for each endpoint, bodies that pass, and bodies that fail
 * with the field path named, the value shown and what is allowed.
 */
import { describe, expect, it } from "vitest";
import {
  API_ENDPOINTS,
  checkRequestLine,
  isApiEndpoint,
  show,
  type ApiEndpoint,
  type FieldProblem,
} from "../../provider/requests";

const USER = { role: "user", content: "Hello" };
const line = (body: unknown, custom_id: unknown = "r1") => ({ custom_id, body });
const check = (endpoint: ApiEndpoint, body: unknown) => checkRequestLine(line(body), endpoint);

/** For every endpoint: bodies it accepts, and bodies it refuses with the exact problem. */
const CASES: Record<
  ApiEndpoint,
  {
    valid: Record<string, unknown>[];
    invalid: [Record<string, unknown>, FieldProblem | { field: string; received: string; allowed: RegExp }][];
  }
> = {
  "/v1/chat/completions": {
    valid: [
      { messages: [USER] },
      {
        messages: [
          { role: "system", content: "Be brief." },
          USER,
          { role: "assistant", content: "Hi" },
          { role: "tool", content: "42" },
        ],
      },
      { messages: [{ role: "user", content: [{ type: "text", text: "Hello" }] }] },
      {
        messages: [
          USER,
          { role: "assistant", content: null, tool_calls: [{ id: "c1", function: { name: "f", arguments: "{}" } }] },
        ],
      },
      { model: "ignored-here", messages: [USER], temperature: 0.2 },
    ],
    invalid: [
      [{}, { field: "body.messages", received: "missing", allowed: /non-empty array of messages/ }],
      [{ messages: [] }, { field: "body.messages", received: "[]", allowed: /non-empty array/ }],
      [{ messages: "Hello" }, { field: "body.messages", received: '"Hello"', allowed: /non-empty array/ }],
      [
        { messages: ["Hello"] },
        { field: "body.messages[0]", received: '"Hello"', allowed: /an object \{ role, content \}/ },
      ],
      [
        { messages: [USER, { role: "bot", content: "x" }] },
        { field: "body.messages[1].role", received: '"bot"', allowed: /^"system", "user", "assistant", "tool"$/ },
      ],
      [{ messages: [{ content: "x" }] }, { field: "body.messages[0].role", received: "missing", allowed: /"user"/ }],
      [
        { messages: [USER, { role: "user", content: 42 }] },
        { field: "body.messages[1].content", received: "42", allowed: /a string or an array of content chunks/ },
      ],
      [
        { messages: [{ role: "assistant", content: null }] },
        { field: "body.messages[0].content", received: "null", allowed: /a string or an array/ },
      ],
      // tool_calls excuse a missing content only on an assistant message, and only when non-empty
      [
        { messages: [{ role: "assistant", tool_calls: [] }] },
        { field: "body.messages[0].content", received: "missing", allowed: /a string/ },
      ],
      [
        { messages: [{ role: "user", tool_calls: [{ id: "c" }] }] },
        { field: "body.messages[0].content", received: "missing", allowed: /a string/ },
      ],
    ],
  },
  "/v1/embeddings": {
    valid: [{ input: "text" }, { input: ["a", "b"] }],
    invalid: [
      [
        {},
        { field: "body.input", received: "missing", allowed: /^a non-empty string or a non-empty array of strings$/ },
      ],
      [{ input: "" }, { field: "body.input", received: '""', allowed: /non-empty string/ }],
      [{ input: [] }, { field: "body.input", received: "[]", allowed: /non-empty array of strings/ }],
      [{ input: ["a", 2] }, { field: "body.input", received: '["a",2]', allowed: /array of strings/ }],
      [{ inputs: "typo" }, { field: "body.input", received: "missing", allowed: /non-empty string/ }],
    ],
  },
  "/v1/fim/completions": {
    valid: [{ prompt: "def add(a, b):" }, { prompt: "def f(", suffix: "return 1" }, { prompt: "" }],
    invalid: [
      [{}, { field: "body.prompt", received: "missing", allowed: /^a string \(the code before the cursor\)$/ }],
      [{ prompt: ["x"] }, { field: "body.prompt", received: '["x"]', allowed: /a string/ }],
      [{ prompt: null }, { field: "body.prompt", received: "null", allowed: /a string/ }],
    ],
  },
  "/v1/moderations": {
    valid: [{ input: "text" }, { input: ["a", "b"] }],
    invalid: [
      [{}, { field: "body.input", received: "missing", allowed: /non-empty string or a non-empty array of strings/ }],
      [
        { input: [{ role: "user", content: "x" }] },
        { field: "body.input", received: '[{"role":"user","content":"x"}]', allowed: /array of strings/ },
      ],
    ],
  },
  "/v1/chat/moderations": {
    valid: [{ input: [USER] }, { input: [[USER], [{ role: "system", content: "s" }, USER]] }],
    invalid: [
      [{}, { field: "body.input", received: "missing", allowed: /non-empty array of messages/ }],
      [{ input: "text" }, { field: "body.input", received: '"text"', allowed: /non-empty array of messages/ }],
      [{ input: [] }, { field: "body.input", received: "[]", allowed: /non-empty array/ }],
      [
        { input: [[USER], [{ role: "robot", content: "x" }]] },
        { field: "body.input[1][0].role", received: '"robot"', allowed: /"system", "user", "assistant", "tool"/ },
      ],
      [{ input: [[USER], []] }, { field: "body.input[1]", received: "[]", allowed: /non-empty array of messages/ }],
      [
        { input: [USER, { role: "user" }] },
        { field: "body.input[1].content", received: "missing", allowed: /a string or an array/ },
      ],
    ],
  },
  "/v1/ocr": {
    valid: [
      { document: { type: "document_url", document_url: "https://example.com/a.pdf" } },
      { document: { type: "image_url", image_url: "https://example.com/a.png" } },
    ],
    invalid: [
      [
        {},
        {
          field: "body.document",
          received: "missing",
          allowed: /an object such as \{ type: "document_url", document_url \}/,
        },
      ],
      [
        { document: "https://example.com/a.pdf" },
        { field: "body.document", received: '"https://example.com/a.pdf"', allowed: /an object/ },
      ],
      [
        { document: [{ type: "document_url" }] },
        { field: "body.document", received: '[{"type":"document_url"}]', allowed: /an object/ },
      ],
    ],
  },
  "/v1/classifications": {
    valid: [{ input: "text" }, { input: ["a"] }],
    invalid: [
      [{}, { field: "body.input", received: "missing", allowed: /non-empty string or a non-empty array of strings/ }],
      [{ input: 5 }, { field: "body.input", received: "5", allowed: /non-empty string/ }],
    ],
  },
  "/v1/chat/classifications": {
    valid: [
      { input: { messages: [USER] } },
      { input: [{ messages: [USER] }, { messages: [USER] }] },
      { input: [USER] },
    ],
    invalid: [
      [{}, { field: "body.input", received: "missing", allowed: /non-empty array of messages/ }],
      [
        { input: { messages: [] } },
        { field: "body.input.messages", received: "[]", allowed: /non-empty array of messages/ },
      ],
      [
        { input: { messages: [{ role: "x", content: "c" }] } },
        { field: "body.input.messages[0].role", received: '"x"', allowed: /"user"/ },
      ],
      [
        { input: [{ messages: [USER] }, { messages: [{ role: "user", content: 1 }] }] },
        { field: "body.input[1].messages[0].content", received: "1", allowed: /a string or an array/ },
      ],
      [{ input: "text" }, { field: "body.input", received: '"text"', allowed: /non-empty array of messages/ }],
    ],
  },
  "/v1/conversations": {
    valid: [{ inputs: "Hello" }, { inputs: [{ role: "user", content: "Hello" }] }],
    invalid: [
      [
        {},
        { field: "body.inputs", received: "missing", allowed: /^a non-empty string or a non-empty array of entries$/ },
      ],
      [{ inputs: "" }, { field: "body.inputs", received: '""', allowed: /non-empty string/ }],
      [{ inputs: [] }, { field: "body.inputs", received: "[]", allowed: /non-empty array/ }],
      [{ input: "typo" }, { field: "body.inputs", received: "missing", allowed: /non-empty string/ }],
      [{ inputs: { role: "user" } }, { field: "body.inputs", received: '{"role":"user"}', allowed: /non-empty/ }],
    ],
  },
  "/v1/audio/transcriptions": {
    valid: [
      { file_url: "https://example.com/a.mp3" },
      { file_id: "3b6d2a4e-0000-4000-8000-000000000000" },
      { file_url: "https://x/a.mp3", language: "en" },
    ],
    invalid: [
      [{}, { field: "body.file_url", received: "missing", allowed: /^a file_url or file_id string$/ }],
      [{ file_url: "" }, { field: "body.file_url", received: '""', allowed: /file_url or file_id/ }],
      [{ file_id: 7 }, { field: "body.file_url", received: "missing", allowed: /file_url or file_id/ }],
      [{ file: "a.mp3" }, { field: "body.file_url", received: "missing", allowed: /file_url or file_id/ }],
    ],
  },
};

describe("per-endpoint body rules", () => {
  it("covers every endpoint Mistral's batch API lists", () => {
    expect(Object.keys(CASES).sort()).toEqual([...API_ENDPOINTS].sort());
    expect(API_ENDPOINTS).toHaveLength(10);
  });

  for (const endpoint of API_ENDPOINTS) {
    describe(endpoint, () => {
      const { valid, invalid } = CASES[endpoint];
      it.each(valid.map((b) => [JSON.stringify(b), b]))("accepts %s", (_name, body) => {
        expect(check(endpoint, body)).toBeNull();
      });
      it.each(invalid.map(([b, p]) => [JSON.stringify(b), b, p] as const))("refuses %s", (_name, body, expected) => {
        const p = check(endpoint, body);
        expect(p).not.toBeNull();
        expect(p!.field).toBe(expected.field);
        expect(p!.received).toBe(expected.received);
        if (expected.allowed instanceof RegExp) expect(p!.allowed).toMatch(expected.allowed);
        else expect(p!.allowed).toBe(expected.allowed);
      });
    });
  }

  it("a body valid for one endpoint is refused by another, naming that endpoint's field", () => {
    const chat = { messages: [USER] };
    expect(check("/v1/chat/completions", chat)).toBeNull();
    expect(check("/v1/embeddings", chat)).toMatchObject({ field: "body.input", received: "missing" });
    expect(check("/v1/fim/completions", chat)).toMatchObject({ field: "body.prompt", received: "missing" });
    expect(check("/v1/ocr", chat)).toMatchObject({ field: "body.document" });
    expect(check("/v1/conversations", chat)).toMatchObject({ field: "body.inputs" });
    expect(check("/v1/audio/transcriptions", chat)).toMatchObject({ field: "body.file_url" });
  });
});

describe("request envelope", () => {
  it("refuses a line that is not an object", () => {
    for (const v of [null, 5, "x", [1, 2]]) {
      const p = checkRequestLine(v);
      expect(p).toMatchObject({ field: "(line)", received: JSON.stringify(v) });
      expect(p!.allowed).toMatch(/"custom_id": string, "body": object/);
    }
  });

  it("refuses a missing, empty or non-string custom_id", () => {
    expect(checkRequestLine({ body: {} })).toEqual({
      field: "custom_id",
      received: "missing",
      allowed: "a non-empty string, unique in the file",
    });
    expect(checkRequestLine({ custom_id: "", body: {} })).toMatchObject({ field: "custom_id", received: '""' });
    expect(checkRequestLine({ custom_id: 7, body: {} })).toMatchObject({ field: "custom_id", received: "7" });
    expect(checkRequestLine({ custom_id: null, body: {} })).toMatchObject({ field: "custom_id", received: "null" });
  });

  it("refuses a body that is not an object", () => {
    for (const body of [undefined, null, "text", [1], 3]) {
      const p = checkRequestLine({ custom_id: "a", body });
      expect(p).toMatchObject({ field: "body", received: body === undefined ? "missing" : JSON.stringify(body) });
      expect(p!.allowed).toMatch(/a JSON object/);
    }
  });

  it("checks only the envelope without an endpoint", () => {
    expect(checkRequestLine({ custom_id: "a", body: {} })).toBeNull();
    expect(checkRequestLine({ custom_id: "a", body: {} }, "/v1/chat/completions")).toMatchObject({
      field: "body.messages",
    });
  });

  it("checks the envelope before the body", () => {
    expect(checkRequestLine({ body: {} }, "/v1/chat/completions")).toMatchObject({ field: "custom_id" });
  });
});

describe("isApiEndpoint", () => {
  it("accepts exactly the listed endpoints", () => {
    for (const e of API_ENDPOINTS) expect(isApiEndpoint(e)).toBe(true);
    for (const e of [
      "/v1/chat/completions/",
      "v1/chat/completions",
      "/v1/CHAT/completions",
      "/v1/agents/completions",
      "",
      undefined,
      1,
    ]) {
      expect(isApiEndpoint(e)).toBe(false);
    }
  });
});

describe("show", () => {
  it("renders JSON, 'missing' for undefined, and cuts long values with an ellipsis", () => {
    expect(show(undefined)).toBe("missing");
    expect(show("a")).toBe('"a"');
    expect(show({ a: [1] })).toBe('{"a":[1]}');
    const long = show("x".repeat(200));
    expect(long).toHaveLength(60);
    expect(long.endsWith("…")).toBe(true);
    expect(show("x".repeat(10), 5)).toBe('"xxx…');
  });

  it("survives values JSON cannot render", () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(show(cyclic)).toBe("[object Object]");
    expect(show(() => 1)).toMatch(/=>/);
    expect(show(10n)).toBe("10");
  });
});
