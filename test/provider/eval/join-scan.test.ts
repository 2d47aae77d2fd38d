/**
 * The join's fast paths are exact: the result-line scanner (provider/eval/join/scan.ts) reads what readResultLine
 * reads, or declines; the rows written from encoded fields are byte for byte what JSON.stringify writes.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { joinResults } from "../../../provider/eval/join";
import { scanChatResult } from "../../../provider/eval/join/scan";
import { readResultLine } from "../../../provider/eval/results";
import { chatResult } from "../../support/resultLines";

const CHAT = "/v1/chat/completions" as const;

/** The slow path's reading of a line, in the scanner's terms (undefined when it is not a success with a custom_id). */
function slow(line: string) {
  const r = readResultLine(line, CHAT);
  if (r.kind !== "result" || r.result.answer === undefined) return undefined;
  return {
    customId: r.result.customId,
    answerJson: JSON.stringify(r.result.answer),
    promptTokens: r.result.promptTokens,
    completionTokens: r.result.completionTokens,
    ...(r.result.finishReason !== undefined ? { finishReason: r.result.finishReason } : {}),
    ...(r.result.model !== undefined ? { model: r.result.model } : {}),
  };
}

/** The scanner either declines or agrees with the slow path; returns whether it took the line. */
function agrees(line: string): boolean {
  const fast = scanChatResult(line);
  if (fast !== undefined) expect(fast).toEqual(slow(line));
  return fast !== undefined;
}

const emulatorLine = (id: string, content: string) =>
  JSON.stringify({
    id: "batch-0b6f",
    custom_id: id,
    response: {
      status_code: 200,
      body: {
        id: "e1",
        object: "chat.completion",
        model: "mistral-small-latest",
        created: 1762000000,
        choices: [{ index: 0, message: { role: "assistant", content, tool_calls: null }, finish_reason: "stop" }],
        usage: { prompt_tokens: 29, completion_tokens: 31, total_tokens: 60 },
      },
    },
    error: null,
  });

describe("scanChatResult", () => {
  it("reads the common shapes (emulator, usage before choices, no error field, extra members)", () => {
    const lines = [
      emulatorLine("q-1", "The answer is 4."),
      JSON.stringify(chatResult("q-2", "4", 10, 5)),
      '{"custom_id":"q-3","response":{"status_code":200,"body":{"usage":{"prompt_tokens":1,"completion_tokens":2},"choices":[{"message":{"content":"ok"}}]}}}',
      '{"id":"x","custom_id":"q-4","response":{"status_code":200,"body":{"choices":[{"index":0,"message":{"role":"assistant","content":"ok","tool_calls":[],"prefix":false},"finish_reason":"stop","logprobs":null}],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3},"extra":{}}},"error":false,"x":1.5e3}',
    ];
    for (const line of lines) expect(agrees(line)).toBe(true);
    expect(scanChatResult(lines[0])).toEqual({
      customId: "q-1",
      answerJson: '"The answer is 4."',
      promptTokens: 29,
      completionTokens: 31,
      finishReason: "stop",
      model: "mistral-small-latest",
    });
    // The body's model before choices and usage (either order), escaped or not; after them, the slow path reads it.
    expect(scanChatResult(lines[1])?.model).toBe(undefined);
    const usageFirst =
      '{"custom_id":"q","response":{"status_code":200,"body":{"model":"m\\u002d2","usage":{"prompt_tokens":1,"completion_tokens":2},"choices":[{"message":{"content":"ok"}}]}}}';
    expect(agrees(usageFirst)).toBe(true);
    expect(scanChatResult(usageFirst)?.model).toBe("m-2");
    const after =
      '{"custom_id":"q","response":{"status_code":200,"body":{"choices":[{"message":{"content":"ok"}}],"usage":{"prompt_tokens":1,"completion_tokens":2},"model":"late"}}}';
    expect(scanChatResult(after)).toBeUndefined();
    expect(slow(after)?.model).toBe("late");
  });

  it("escapes: decoded as JSON.parse decodes them, written as JSON.stringify writes them", () => {
    for (const content of ['a "quoted" \\ word', "line\nbreak\ttab", "é ☃ 𝄞", "\u0001\u001f", "</script>"])
      expect(agrees(emulatorLine("q", content))).toBe(true);
    // escapes JSON.stringify does not write, and surrogates, are encoded again
    const odd = emulatorLine("q", "x").replace('"content":"x"', '"content":"a\\/b\\u0041\\ud83d\\ude00"');
    expect(scanChatResult(odd)?.answerJson).toBe(JSON.stringify("a/bA😀"));
    expect(agrees(odd)).toBe(true);
    const lone = emulatorLine("q", "x").replace('"content":"x"', '"content":"a\ud800b"');
    expect(agrees(lone)).toBe(true);
    expect(scanChatResult(lone)?.answerJson).toBe(JSON.stringify("a\ud800b"));
  });

  it("declines what the slow path must decide: errors, other shapes, invalid JSON, repeated or escaped keys", () => {
    const base = emulatorLine("q-1", "The answer is 4.");
    const declined = [
      base.replace('"error":null', '"error":"boom"'),
      base.replace('"error":null', '"error":{"message":"boom"}'),
      base.replace('"status_code":200', '"status_code":500'),
      base.replace('"status_code":200', '"status_code":"200"'),
      base.replace('"content":"The answer is 4."', '"content":""'),
      base.replace('"content":"The answer is 4."', '"content":null'),
      base.replace('"custom_id":"q-1"', '"custom_id":""'),
      base.replace('"custom_id":"q-1"', '"custom_id":7'),
      base.replace('"custom_id":"q-1"', '"custom_id":"q\\u002d1"'),
      base.replace('"custom_id":"q-1"', '"custom\\u005fid":"q-1"'),
      base.replace('"custom_id":"q-1",', ""),
      base.replace('"error":null', '"error":null,"custom_id":"q-2"'), // repeated: JSON.parse keeps the last
      base.replace('"tool_calls":null', '"tool_calls":null,"content":"other"'),
      base.replace('"index":0', '"index":01'),
      base.replace('"created":1762000000', '"created":1762000000,'),
      base.replace("{", "{ "),
      `${base} `,
      base.slice(0, -1),
      base.replace('"The answer is 4."', '"The answer\tis 4."'), // a raw tab: invalid JSON
      base.replace('"The answer is 4."', '"The answer \\x is 4."'),
      base.replace("}]", '},{"message":{"content":"second"}}]'),
      `[${base}]`,
    ];
    for (const line of declined) {
      expect(scanChatResult(line), line).toBeUndefined();
      agrees(line);
    }
  });

  it("property: on any mutation of a valid line it declines or agrees with readResultLine", () => {
    const alphabet = [
      '"',
      "\\",
      "{",
      "}",
      "[",
      "]",
      ",",
      ":",
      " ",
      "0",
      "1",
      "-",
      "e",
      ".",
      "u",
      "n",
      "a",
      "\u0000",
      "é",
    ];
    fc.assert(
      fc.property(fc.string(), fc.nat(2000), fc.constantFrom(...alphabet), fc.boolean(), (content, at, ch, insert) => {
        const line = emulatorLine("q-1", content);
        expect(agrees(line)).toBe(content !== "");
        const i = at % line.length;
        agrees(line.slice(0, i) + ch + line.slice(insert ? i : i + 1));
        agrees(line.slice(0, i) + line.slice(i + 1));
      }),
      { numRuns: 2000 },
    );
  });

  it("property: any JSON object line declines or agrees", () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.jsonValue(), (a, b) => {
        agrees(JSON.stringify({ custom_id: "x", response: { status_code: 200, body: a }, error: b }));
        agrees(JSON.stringify({ custom_id: "x", response: a }));
      }),
      { numRuns: 500 },
    );
  });
});

describe("joinResults: rows are JSON.stringify's", () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "join-scan-test-"));
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("byte for byte, with integer-like model names, odd expected values and escaped texts", async () => {
    const f = (name: string) => path.join(dir, name);
    const write = (name: string, lines: unknown[]) => {
      fs.writeFileSync(f(name), `${lines.map((l) => (typeof l === "string" ? l : JSON.stringify(l))).join("\n")}\n`);
      return f(name);
    };
    const ids = ["a", 'q "1"', "é\\x", "10", "\u2028"];
    const dataset = write(
      "dataset.jsonl",
      ids.map((id, i) => ({ custom_id: id, body: { messages: [{ role: "user", content: `Say ${i}\n"ok"` }] } })),
    );
    const expectedValues = [4, "4", { b: 1, 2: [null, -0] }, null];
    const expected = new Map<string, unknown>(ids.slice(0, 4).map((id, i) => [id, expectedValues[i]]));
    const out1 = write(
      "m1.jsonl",
      ids.map((id, i) => chatResult(id, `The answer is ${i} \\ "é" \u2028 4`, i, 2 * i)),
    );
    const out2 = write("m2.jsonl", [
      chatResult(ids[0], "4"),
      { custom_id: ids[1], response: { status_code: 429, body: { message: "slow down" } }, error: null },
    ]);
    const r = await joinResults({
      dataset,
      expected,
      endpoint: CHAT,
      scoreFn: (answer, _expected, item) => answer.endsWith("4") && item.prompt.startsWith("Say"),
      models: [
        { model: "zeta", outputFile: out1 },
        { model: "7", outputFile: out2 },
        { model: "__proto__", outputFile: out2 },
      ],
      outFile: f("rows.jsonl"),
      workDir: f("work"),
    });
    expect(r.items).toBe(ids.length);
    const lines = fs.readFileSync(f("rows.jsonl"), "utf8").split("\n").filter(Boolean);
    expect(lines).toHaveLength(ids.length);
    for (const line of lines) expect(line).toBe(JSON.stringify(JSON.parse(line)));
    const first = JSON.parse(lines.find((l) => l.startsWith('{"customId":"a"')) ?? "{}");
    expect(Object.keys(first.answers)).toEqual(["7", "zeta", "__proto__"]);
    expect(first.expected).toBe(4);
    expect(first.answers.zeta).toEqual({
      answer: 'The answer is 0 \\ "é" \u2028 4',
      error: null,
      score: 1,
      promptTokens: 0,
      completionTokens: 0,
      finishReason: "stop",
    });
    const third = JSON.parse(lines.find((l) => l.startsWith('{"customId":"é')) ?? "{}");
    expect(third.expected).toEqual({ b: 1, 2: [null, 0] });
    const last = JSON.parse(lines.find((l) => l.startsWith('{"customId":"\u2028"')) ?? "{}");
    expect("expected" in last).toBe(false);
  });
});
