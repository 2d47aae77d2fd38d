/**
 * What the batch input scanner (provider/jsonl.ts) refuses beyond JSON: bytes that are not UTF-8 (named by line and
 * byte offset, whatever the chunk boundaries) and a line longer than the line cap (named by line and size, read at
 * bounded memory), and the line reader's cap underneath (`LineSplitter.maxLineBytes`, provider/api/jsonl.ts).
 */
import { isUtf8 } from "node:buffer";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LineSplitter, MAX_FILE_BYTES } from "../../provider/api";
import {
  JsonlScanner,
  MAX_LINE_BYTES,
  Utf8Validator,
  describeProblems,
  findInvalidUtf8,
  scanJsonlFile,
  scanJsonlText,
  type InvalidUtf8,
} from "../../provider/jsonl";
import { pushInChunks } from "../support/chunks";

const req = (id: string, content = "Hello") =>
  JSON.stringify({ custom_id: id, body: { messages: [{ role: "user", content }] } });
const line = (text: string) => Buffer.from(`${text}\n`);

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "jsonl-bounds-"));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Byte arrays that are mostly UTF-8 (text, multi-byte characters, newlines) with now and then a stray byte. */
const mostlyUtf8 = fc
  .array(
    fc.oneof(
      { weight: 6, arbitrary: fc.string({ unit: "grapheme", maxLength: 8 }).map((s) => Buffer.from(s)) },
      { weight: 1, arbitrary: fc.constant(Buffer.from("\n")) },
      { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 3 }).map((b) => Buffer.from(b)) },
    ),
    { maxLength: 40 },
  )
  .map((parts) => Buffer.concat(parts));

function validateChunked(data: Buffer, maxChunk: number, seed: number): InvalidUtf8[] {
  const v = new Utf8Validator();
  const found: InvalidUtf8[] = [];
  let offset = 0;
  pushInChunks(
    data,
    maxChunk,
    (chunk) => {
      found.push(...v.push(chunk, offset));
      offset += chunk.length;
    },
    seed,
  );
  const last = v.end();
  if (last) found.push(last);
  return found;
}

describe("findInvalidUtf8", () => {
  it("agrees with Node's isUtf8, and everything before what it finds is UTF-8", () => {
    fc.assert(
      fc.property(mostlyUtf8, (bytes) => {
        const found = findInvalidUtf8(bytes);
        expect(found === undefined).toBe(isUtf8(bytes));
        if (found) expect(isUtf8(bytes.subarray(0, found.index))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it("refuses overlong forms, surrogates, code points above U+10FFFF and stray continuation bytes", () => {
    for (const bad of [
      [0xc0, 0x80],
      [0xe0, 0x80, 0x80],
      [0xed, 0xa0, 0x80],
      [0xf4, 0x90, 0x80, 0x80],
      [0x80],
      [0xff],
    ]) {
      expect(findInvalidUtf8(Uint8Array.from(bad))?.index, JSON.stringify(bad)).toBe(0);
    }
    expect(findInvalidUtf8(Buffer.from("aé日🎉"))).toBeUndefined();
    expect(findInvalidUtf8(Uint8Array.from([0x61, 0xe6, 0x97]))).toEqual({ index: 1, length: 2, truncated: true });
  });
});

describe("Utf8Validator", () => {
  it("finds the first bad sequence at the same offset whatever the chunk boundaries, and nothing in UTF-8", () => {
    fc.assert(
      fc.property(mostlyUtf8, fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 1000 }), (data, max, seed) => {
        const found = validateChunked(data, max, seed);
        const whole = findInvalidUtf8(data);
        expect(found.length === 0).toBe(whole === undefined);
        if (whole) expect(found[0]?.offset).toBe(whole.index);
        // One report per line at most: the reports are on distinct lines, in order.
        const lineOf = (offset: number) => data.subarray(0, offset).filter((b) => b === 10).length;
        const lines = found.map((f) => lineOf(f.offset));
        expect(new Set(lines).size).toBe(lines.length);
        expect([...lines].sort((a, b) => a - b)).toEqual(lines);
      }),
      { numRuns: 500 },
    );
  });

  it("a sequence cut short by the end of the input is reported as truncated", () => {
    const data = Buffer.concat([Buffer.from("ok\n"), Buffer.from("日").subarray(0, 2)]);
    expect(validateChunked(data, 1, 1)).toEqual([{ offset: 3, bytes: Uint8Array.from([0xe6, 0x97]), truncated: true }]);
  });
});

describe("scanner: bytes that are not UTF-8", () => {
  const utf8 = Buffer.concat([line(req("a")), line(req("b", "café")), line(req("c"))]);
  // Line 2 with "é" as the single Latin-1 byte 0xE9 (as a Windows editor may save it).
  const bad = Buffer.concat([
    line(req("a")),
    Buffer.from(`${req("b", "caf#")}\n`.replace("#", "\u0000")),
    line(req("c")),
  ]);
  const at = bad.indexOf(0);
  bad[at] = 0xe9;

  it("names the line, the byte and its offset; the line is not billed silently as U+FFFD", () => {
    expect(scanJsonlText(utf8).problems).toEqual([]);
    const r = scanJsonlText(bad);
    expect(r.requests).toBe(3);
    expect(r.problems).toHaveLength(1);
    const column = at - line(req("a")).length + 1;
    expect(r.problems[0]).toMatchObject({ line: 2, field: "(line)" });
    expect(r.problems[0].received).toBe(
      `not UTF-8: bytes 0xE9 0x22 at byte offset ${at} of the file (byte ${column} of the line)`,
    );
    expect(r.problems[0].allowed).toMatch(/^UTF-8 text .*U\+FFFD.*save the file as UTF-8$/);
    expect(describeProblems("data/q.jsonl", r)).toMatch(/^data\/q\.jsonl line 2: \(line\) is not UTF-8: bytes 0xE9/);
  });

  it("the same problems whatever the chunk boundaries, one per line, in line order", () => {
    const data = Buffer.concat([bad, line(req("d")), Buffer.from([0xff, 0x0a]), line(req("e", "日本語🎉"))]);
    const whole = scanJsonlText(data);
    expect(whole.problems.map((p) => p.line)).toEqual([2, 5]);
    for (const max of [1, 2, 3, 5, 64]) {
      for (const seed of [1, 2, 3]) {
        const s = new JsonlScanner();
        pushInChunks(data, max, (c) => s.push(c), seed);
        expect(s.end().problems, `chunks of 1..${max}, seed ${seed}`).toEqual(whole.problems);
      }
    }
  });

  it("a file ending inside a multi-byte character: its last line", () => {
    const data = Buffer.concat([line(req("a")), Buffer.from(req("b", "日")).subarray(0, -6)]);
    const r = scanJsonlText(data);
    expect(r.problems.map((p) => [p.line, p.received.startsWith("not UTF-8: a sequence cut short")])).toEqual([
      [2, true],
    ]);
  });
});

describe("scanner: a line above the line cap", () => {
  it("is a problem naming the line and its size, and the next lines are still checked", () => {
    const long = req("big", "x".repeat(2000));
    const data = Buffer.concat([line(req("a")), line(long), line(req("a")), Buffer.from("{oops\n")]);
    for (const max of [1, 7, 700, data.length]) {
      const s = new JsonlScanner({ maxLineBytes: 1024 });
      pushInChunks(data, max, (c) => s.push(c), 3);
      const r = s.end();
      expect(r.requests, `chunks of 1..${max}`).toBe(4);
      expect(r.problems.map((p) => [p.line, p.field])).toEqual([
        [2, "(line)"],
        [3, "custom_id"],
        [4, "(line)"],
      ]);
      expect(r.problems[0].received).toBe(
        `${long.length} bytes long (from byte offset ${req("a").length + 1} of the file)`,
      );
      expect(r.problems[0].allowed).toBe(
        'one request per line, each at most 1024 bytes (1024 bytes): end each request with a newline ("\\n")',
      );
    }
  });

  it("a file without a newline: says so; the default cap is 128 MiB, below V8's string limit", () => {
    const data = Buffer.from(req("a", "y".repeat(5000)));
    const r = scanJsonlText(data, { maxLineBytes: 4096 });
    expect(r.problems[0]).toMatchObject({
      line: 1,
      received: `${data.length} bytes long (from byte offset 0 of the file, which has no newline)`,
    });
    expect(MAX_LINE_BYTES).toBe(128 * 1024 * 1024);
    expect(MAX_LINE_BYTES).toBeLessThan(0x1fffffe8 / 2);
    expect(MAX_LINE_BYTES).toBeLessThan(MAX_FILE_BYTES);
  });

  it("a 600 MB file without a newline is refused at bounded memory, naming its size and the line", async () => {
    // 300 MiB read with a 1 MiB cap: the same path as 600 MB with the 128 MiB cap, in a few hundred milliseconds.
    const file = path.join(dir, "no-newline.jsonl");
    const block = Buffer.alloc(1024 * 1024, "a");
    const fd = fs.openSync(file, "w");
    for (let i = 0; i < 300; i++) fs.writeSync(fd, block);
    fs.closeSync(fd);
    const before = process.memoryUsage().rss;
    const r = await scanJsonlFile(file, { maxLineBytes: 1024 * 1024, maxBytes: 200 * 1024 * 1024 });
    const grew = process.memoryUsage().rss - before;
    expect(r.bytes).toBe(300 * 1024 * 1024);
    expect(r.fileProblems[0]).toMatch(/^size is 314572800 bytes; Mistral accepts files of at most 209715200 bytes/);
    expect(r.problems).toEqual([
      expect.objectContaining({
        line: 1,
        received: "314572800 bytes long (from byte offset 0 of the file, which has no newline)",
      }),
    ]);
    expect(grew).toBeLessThan(64 * 1024 * 1024);
  });
});

describe("LineSplitter.maxLineBytes", () => {
  it("delivers lines up to the cap, reports longer ones (number, size, offset) instead, and keeps numbering", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.string({ maxLength: 30 }).map((s) => s.replace(/[\r\n]/g, "")),
          { maxLength: 12 },
        ),
        fc.integer({ min: 0, max: 20 }),
        fc.integer({ min: 1, max: 9 }),
        fc.boolean(),
        (texts, cap, maxChunk, finalNewline) => {
          const data = Buffer.from(texts.join("\n") + (finalNewline && texts.length ? "\n" : ""));
          const got: unknown[] = [];
          const s = new LineSplitter((text, n) => void got.push(["line", n, text]), {
            maxLineBytes: cap,
            onLongLine: (n, bytes, offset) => void got.push(["long", n, bytes, offset]),
          });
          pushInChunks(data, maxChunk, (c) => s.push(c), cap + 1);
          s.end();
          const expected: unknown[] = [];
          let offset = 0;
          const lines = data.length === 0 ? [] : data.toString().replace(/\n$/, "").split("\n");
          lines.forEach((text, i) => {
            const bytes = Buffer.byteLength(text);
            expected.push(bytes > cap ? ["long", i + 1, bytes, offset] : ["line", i + 1, text]);
            offset += bytes + 1;
          });
          expect(got).toEqual(expected);
        },
      ),
      { numRuns: 300 },
    );
  });
});
