/**
 * The streaming JSONL scanner (provider/jsonl.ts): identity (sha256, bytes, request count), line problems with
 * line numbers, caps, chunk boundaries, and the message built from a scan.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  JsonlScanner,
  MAX_FILE_BYTES,
  MAX_REQUESTS_PER_JOB,
  describeProblems,
  isClean,
  scanJsonlFile,
  scanJsonlText,
  type ScanOptions,
  type ScanResult,
} from "../../provider/jsonl";
import { pushInChunks } from "../support/chunks";

const sha = (data: string | Buffer) => createHash("sha256").update(data).digest("hex");
const req = (id: string, content = "Hello") =>
  JSON.stringify({ custom_id: id, body: { messages: [{ role: "user", content }] } });
const jsonl = (...lines: string[]) => `${lines.join("\n")}\n`;

/** Feeds the bytes to a scanner in chunks of 1..maxChunk bytes (deterministic sizes). */
function scanChunked(data: Buffer, maxChunk: number, options: ScanOptions = {}, seed = 1): ScanResult {
  const s = new JsonlScanner(options);
  pushInChunks(data, maxChunk, (chunk) => s.push(chunk), seed);
  return s.end();
}

describe("identity", () => {
  it("sha256 is node:crypto's over the exact bytes; bytes counts bytes, not characters", () => {
    const text = jsonl(req("a", "héllo ✓ 日本"), req("b"));
    const r = scanJsonlText(text);
    expect(r.sha256).toBe(sha(Buffer.from(text, "utf8")));
    expect(r.bytes).toBe(Buffer.byteLength(text, "utf8"));
    expect(r.bytes).toBeGreaterThan(text.length);
    expect(r.requests).toBe(2);
    expect(r.problems).toEqual([]);
    expect(r.fileProblems).toEqual([]);
    expect(r.moreProblems).toBe(false);
    expect(isClean(r)).toBe(true);
  });

  it("string and Buffer input give the same result", () => {
    const text = jsonl(req("a"), req("b"));
    expect(scanJsonlText(Buffer.from(text))).toEqual(scanJsonlText(text));
  });

  it("request count ignores blank and whitespace-only lines, but line numbers still count them", () => {
    const text = `\n${req("a")}\n\n   \n\t\n${req("b")}\n\n`;
    const r = scanJsonlText(text);
    expect(r.requests).toBe(2);
    expect(isClean(r)).toBe(true);
    const bad = scanJsonlText(`\n\n${req("a")}\n\n{oops\n`);
    expect(bad.problems.map((p) => p.line)).toEqual([5]);
  });

  it("CRLF line endings: same requests, no problems, hash over the CRLF bytes", () => {
    const text = `${req("a")}\r\n${req("b")}\r\n\r\n`;
    const r = scanJsonlText(text);
    expect(r.requests).toBe(2);
    expect(r.problems).toEqual([]);
    expect(r.sha256).toBe(sha(text));
    expect(r.bytes).toBe(text.length);
  });

  it("a last line without a newline counts and is checked", () => {
    expect(scanJsonlText(`${req("a")}\n${req("b")}`)).toMatchObject({ requests: 2, problems: [] });
    const r = scanJsonlText(`${req("a")}\n{"custom_id":"b"}`);
    expect(r.requests).toBe(2);
    expect(r.problems).toEqual([
      { line: 2, field: "body", received: "missing", allowed: expect.stringMatching(/JSON object/) },
    ]);
  });

  it("empty input: no requests is a file problem", () => {
    for (const text of ["", "\n", "\n\r\n  \n"]) {
      const r = scanJsonlText(text);
      expect(r.requests).toBe(0);
      expect(r.bytes).toBe(Buffer.byteLength(text));
      expect(r.sha256).toBe(sha(text));
      expect(r.fileProblems).toHaveLength(1);
      expect(r.fileProblems[0]).toMatch(/holds no requests/);
      expect(isClean(r)).toBe(false);
    }
  });
});

describe("chunk boundaries", () => {
  const mixed = Buffer.from(
    [
      req("a", "héllo ✓ 日本語 🎉"),
      "",
      req("b"),
      "{not json",
      req("a"),
      "[1,2]",
      '{"custom_id":"","body":{}}',
      '{"custom_id":"c","body":"x"}',
      `${req("d")}\r`,
      "\r",
      req("e", "x".repeat(300)),
      req("f"),
    ].join("\n"),
  );

  it("tiny chunks (1..7 bytes, also splitting multi-byte characters and CRLF) give the same result as one chunk", () => {
    const whole = scanJsonlText(mixed, { endpoint: "/v1/chat/completions" });
    expect(whole.requests).toBe(10);
    expect(whole.problems.map((p) => p.line)).toEqual([4, 5, 6, 7, 8]);
    for (const max of [1, 2, 3, 5, 7]) {
      for (const seed of [1, 2, 3]) {
        expect(scanChunked(mixed, max, { endpoint: "/v1/chat/completions" }, seed)).toEqual(whole);
      }
    }
  });

  it("one byte at a time, chunk ending exactly at a newline, and empty chunks", () => {
    const whole = scanJsonlText(mixed);
    const s = new JsonlScanner();
    for (let i = 0; i < mixed.length; i++) {
      s.push(mixed.subarray(i, i + 1));
      s.push(Buffer.alloc(0));
    }
    expect(s.end()).toEqual(whole);

    const s2 = new JsonlScanner();
    const nl = mixed.indexOf(10) + 1;
    s2.push(mixed.subarray(0, nl));
    s2.push(mixed.subarray(nl));
    expect(s2.end()).toEqual(whole);
  });

  it("a reused chunk buffer does not corrupt a pending partial line", () => {
    // Streams may hand out views of a buffer they later overwrite: the scanner must copy what it keeps.
    const text = Buffer.from(jsonl(req("a"), req("b"), req("c")));
    const s = new JsonlScanner();
    const scratch = Buffer.alloc(5);
    for (let i = 0; i < text.length; i += 5) {
      const n = text.copy(scratch, 0, i, i + 5);
      s.push(scratch.subarray(0, n));
      scratch.fill(0x7b); // "{"
    }
    expect(s.end()).toEqual(scanJsonlText(text));
  });
});

describe("line problems", () => {
  it("duplicate custom_id names the line that has it first", () => {
    const r = scanJsonlText(jsonl(req("a"), req("b"), req("a"), req("a")));
    expect(r.problems).toEqual([
      { line: 3, field: "custom_id", received: '"a"', allowed: "an id unique in the file (line 1 has it already)" },
      { line: 4, field: "custom_id", received: '"a"', allowed: "an id unique in the file (line 1 has it already)" },
    ]);
  });

  it("invalid JSON: shows the text and the parser's message", () => {
    const r = scanJsonlText(jsonl(req("a"), '{"custom_id": "b", body: {}}'));
    expect(r.problems).toHaveLength(1);
    expect(r.problems[0]).toMatchObject({
      line: 2,
      field: "(line)",
      received: JSON.stringify('{"custom_id": "b", body: {}}'),
    });
    expect(r.problems[0]!.allowed).toMatch(/^valid JSON \(.+\)$/);
  });

  it("a UTF-8 byte order mark is refused with a message that says so (it is invisible otherwise)", () => {
    const text = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(jsonl(req("a"), req("b")))]);
    const r = scanJsonlText(text);
    expect(r.sha256).toBe(sha(text));
    expect(r.requests).toBe(2);
    expect(r.problems).toEqual([
      {
        line: 1,
        field: "(line)",
        received: expect.stringMatching(/^a byte order mark \(U\+FEFF\) followed by "\{\\"custom_id\\":\\"a\\"/),
        allowed: "valid JSON without a byte order mark: save the file as UTF-8 without BOM",
      },
    ]);
    // split across chunks too
    expect(scanChunked(text, 2)).toEqual(r);
  });

  it("a line that is JSON but not an object", () => {
    const r = scanJsonlText(jsonl("[1]", '"text"', "42", "null"));
    expect(r.problems.map((p) => [p.line, p.field, p.received])).toEqual([
      [1, "(line)", "[1]"],
      [2, "(line)", '"text"'],
      [3, "(line)", "42"],
      [4, "(line)", "null"],
    ]);
  });

  it("missing or empty custom_id, body not an object", () => {
    const r = scanJsonlText(
      jsonl('{"body":{}}', '{"custom_id":"","body":{}}', '{"custom_id":"x","body":[1]}', '{"custom_id":"y"}'),
    );
    expect(r.problems).toEqual([
      { line: 1, field: "custom_id", received: "missing", allowed: "a non-empty string, unique in the file" },
      { line: 2, field: "custom_id", received: '""', allowed: "a non-empty string, unique in the file" },
      { line: 3, field: "body", received: "[1]", allowed: expect.stringMatching(/JSON object/) },
      { line: 4, field: "body", received: "missing", allowed: expect.stringMatching(/JSON object/) },
    ]);
  });

  it("bodies are checked for the endpoint only when one is given", () => {
    const text = jsonl(JSON.stringify({ custom_id: "a", body: { input: "x" } }));
    expect(scanJsonlText(text).problems).toEqual([]);
    expect(scanJsonlText(text, { endpoint: "/v1/embeddings" }).problems).toEqual([]);
    expect(scanJsonlText(text, { endpoint: "/v1/chat/completions" }).problems).toEqual([
      {
        line: 1,
        field: "body.messages",
        received: "missing",
        allowed: expect.stringMatching(/non-empty array of messages/),
      },
    ]);
  });

  it("an invalid line with a custom_id does not reserve that id", () => {
    const r = scanJsonlText(jsonl('{"custom_id":"a","body":1}', req("a")));
    expect(r.problems).toHaveLength(1);
    expect(r.problems[0]!.line).toBe(1);
  });

  it("maxProblems caps what is collected and sets moreProblems", () => {
    const bad = Array.from({ length: 15 }, () => "{bad").join("\n");
    const r = scanJsonlText(bad);
    expect(r.requests).toBe(15);
    expect(r.problems).toHaveLength(10); // default
    expect(r.problems.map((p) => p.line)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(r.moreProblems).toBe(true);

    const three = scanJsonlText(bad, { maxProblems: 3 });
    expect(three.problems.map((p) => p.line)).toEqual([1, 2, 3]);
    expect(three.moreProblems).toBe(true);

    const exact = scanJsonlText(Array.from({ length: 3 }, () => "{bad").join("\n"), { maxProblems: 3 });
    expect(exact.problems).toHaveLength(3);
    expect(exact.moreProblems).toBe(false);
  });
});

describe("caps", () => {
  it("defaults are Mistral's: 512 MB per file and 100,000 requests per job", () => {
    expect(MAX_FILE_BYTES).toBe(512 * 1024 * 1024);
    expect(MAX_REQUESTS_PER_JOB).toBe(100_000);
  });

  it("size cap: a file over maxBytes is a file problem naming its size and the limit", () => {
    const text = jsonl(req("a"), req("b"));
    const bytes = Buffer.byteLength(text);
    expect(scanJsonlText(text, { maxBytes: bytes }).fileProblems).toEqual([]);
    const r = scanJsonlText(text, { maxBytes: bytes - 1 });
    expect(r.fileProblems).toHaveLength(1);
    expect(r.fileProblems[0]).toContain(`size is ${bytes} bytes`);
    expect(r.fileProblems[0]).toContain(`at most ${bytes - 1} bytes`);
    expect(r.fileProblems[0]).toMatch(/split it/);
    expect(r.problems).toEqual([]);
    expect(isClean(r)).toBe(false);
  });

  it("request cap: more requests than maxRequests is a file problem naming both counts", () => {
    const text = jsonl(req("a"), req("b"), req("c"));
    expect(scanJsonlText(text, { maxRequests: 3 }).fileProblems).toEqual([]);
    const r = scanJsonlText(text, { maxRequests: 2 });
    expect(r.fileProblems).toEqual([expect.stringMatching(/holds 3 requests; a batch job takes at most 2/)]);
    expect(isClean(r)).toBe(false);
  });

  it("both caps at once are both reported", () => {
    const r = scanJsonlText(jsonl(req("a"), req("b")), { maxRequests: 1, maxBytes: 10 });
    expect(r.fileProblems).toHaveLength(2);
  });
});

describe("describeProblems", () => {
  it("names the source and every line, then the file problems, and says when more exist", () => {
    const r = scanJsonlText(jsonl("{bad", req("a"), req("a"), '{"custom_id":"b","body":{}}', "{bad", "{bad"), {
      endpoint: "/v1/chat/completions",
      maxProblems: 3,
      maxRequests: 2,
    });
    const text = describeProblems("data/q.jsonl", r);
    const lines = text.split("\n");
    expect(lines[0]).toBe(
      "data/q.jsonl: holds 6 requests; a batch job takes at most 2: split it into several files and jobs",
    );
    expect(lines[1]).toMatch(/^data\/q\.jsonl line 1: \(line\) is "\{bad"; expected valid JSON/);
    expect(lines[2]).toBe(
      'data/q.jsonl line 3: custom_id is "a"; expected an id unique in the file (line 2 has it already)',
    );
    expect(lines[3]).toMatch(
      /^data\/q\.jsonl line 4: body\.messages is missing; expected a non-empty array of messages/,
    );
    expect(lines[4]).toBe("data/q.jsonl: more problems not shown; fix these and check again");
    expect(lines).toHaveLength(5);
  });

  it("is empty for a clean scan", () => {
    expect(describeProblems("x", scanJsonlText(jsonl(req("a"))))).toBe("");
  });
});

describe("scanJsonlFile", () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "jsonl-test-"));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("matches scanJsonlText on the same bytes, clean or not", async () => {
    const texts = [jsonl(req("a"), req("b", "ünïcode ✓")), `${req("a")}\r\n\r\n{bad\r\n${req("a")}`, ""];
    for (const [i, text] of texts.entries()) {
      const file = path.join(dir, `f${i}.jsonl`);
      fs.writeFileSync(file, text);
      const options = { endpoint: "/v1/chat/completions" as const };
      expect(await scanJsonlFile(file, options)).toEqual(scanJsonlText(text, options));
    }
  });

  it("streams a file larger than its 1 MiB read chunk with lines across chunk edges", async () => {
    const lines = Array.from({ length: 5000 }, (_, i) => req(`id-${i}`, "lorem ipsum ".repeat(30)));
    lines.push(req("id-17")); // a duplicate at the very end
    const text = `${lines.join("\n")}\n`;
    expect(Buffer.byteLength(text)).toBeGreaterThan(2 * 1024 * 1024);
    const file = path.join(dir, "big.jsonl");
    fs.writeFileSync(file, text);
    const r = await scanJsonlFile(file);
    expect(r).toEqual(scanJsonlText(text));
    expect(r.sha256).toBe(sha(fs.readFileSync(file)));
    expect(r.requests).toBe(5001);
    expect(r.problems).toEqual([
      {
        line: 5001,
        field: "custom_id",
        received: '"id-17"',
        allowed: "an id unique in the file (line 18 has it already)",
      },
    ]);
  });

  it("rejects for a missing file", async () => {
    await expect(scanJsonlFile(path.join(dir, "nope.jsonl"))).rejects.toThrow(/ENOENT/);
  });
});
