/**
 * The contract's line reader (provider/api/jsonl.ts), which the batch input scanner, the evaluation modules and the
 * emulator all use: chunk boundaries, line numbers, CRLF, a last line without newline, blank lines, a byte order
 * mark, stopping and resuming at a byte offset, streams, counting, and flat memory on a big file.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  countLines,
  forEachLine,
  forEachLineSync,
  LineCounter,
  LineSplitter,
  readLinesSync,
  type Line,
} from "../../../provider/api";
import { pushInChunks } from "../../support/chunks";

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "api-jsonl-"));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});
let files = 0;
const write = (data: string | Buffer): string => {
  const file = path.join(dir, `f${files++}.jsonl`);
  fs.writeFileSync(file, data);
  return file;
};

/** [text, lineNo] of every line, the bytes pushed in chunks of 1..maxChunk bytes (deterministic sizes). */
function split(data: Buffer, maxChunk = data.length || 1, seed = 1, options = {}): [string, number][] {
  const out: [string, number][] = [];
  const s = new LineSplitter((t, n) => void out.push([t, n]), options);
  pushInChunks(data, maxChunk, (chunk) => s.push(chunk), seed);
  s.end();
  return out;
}

const MIXED = Buffer.from(["héllo ✓ 日本語 🎉", "", "  ", "b\r", "\r", "c".repeat(300), "last"].join("\n"));
const MIXED_LINES: [string, number][] = [
  ["héllo ✓ 日本語 🎉", 1],
  ["", 2],
  ["  ", 3],
  ["b", 4],
  ["", 5],
  ["c".repeat(300), 6],
  ["last", 7],
];

describe("LineSplitter", () => {
  it("numbers every line from 1, drops CRLF's \\r, keeps a last line without newline", () => {
    expect(split(MIXED)).toEqual(MIXED_LINES);
  });

  it("any chunking (1..7 bytes, splitting multi-byte characters and CRLF) gives the same lines", () => {
    for (const max of [1, 2, 3, 5, 7])
      for (const seed of [1, 2, 3]) expect(split(MIXED, max, seed)).toEqual(MIXED_LINES);
  });

  it("empty input has no lines; a lone newline is one empty line; a trailing newline adds none", () => {
    expect(split(Buffer.alloc(0))).toEqual([]);
    expect(split(Buffer.from("\n"))).toEqual([["", 1]]);
    expect(split(Buffer.from("a\nb\n"))).toEqual([
      ["a", 1],
      ["b", 2],
    ]);
    expect(split(Buffer.from("\r\n"))).toEqual([["", 1]]);
  });

  it("drops a byte order mark of the first line only when asked", () => {
    const data = Buffer.from("\ufeffa\n\ufeffb\n");
    expect(split(data)).toEqual([
      ["\ufeffa", 1],
      ["\ufeffb", 2],
    ]);
    expect(split(data, 1, 1, { stripBom: true })).toEqual([
      ["a", 1],
      ["\ufeffb", 2],
    ]);
  });

  it("stops when the callback returns false; offset and nextLineNo say where to resume", () => {
    const seen: string[] = [];
    const s = new LineSplitter(
      (t) => {
        seen.push(t);
        return t !== "b";
      },
      { offset: 100, firstLineNo: 10 },
    );
    expect(s.push(Buffer.from("a\nb\nc\n"))).toBe(false);
    expect(seen).toEqual(["a", "b"]);
    expect(s.stopped).toBe(true);
    expect(s.offset).toBe(104); // just past "b\n"
    expect(s.nextLineNo).toBe(12);
    expect(s.push(Buffer.from("d\n"))).toBe(false);
    s.end();
    expect(seen).toEqual(["a", "b"]);
    expect(() => s.push(Buffer.from("e"))).toThrow(/after end/);
  });

  it("does not keep a pushed buffer: the caller may reuse it", () => {
    const out: string[] = [];
    const s = new LineSplitter((t) => void out.push(t));
    const buffer = Buffer.alloc(4);
    for (const part of ["ab\ncd", "ef\ng"]) {
      const n = buffer.write(part.slice(0, 4));
      s.push(buffer.subarray(0, n));
      buffer.fill(0x7a); // overwrite what was pushed
      if (part.length > 4) s.push(Buffer.from(part.slice(4)));
    }
    s.end();
    expect(out).toEqual(["ab", "cdef", "g"]);
  });
});

describe("forEachLine (async, every line)", () => {
  it("reads a file and a stream alike: lines longer than the read buffer, blank lines, BOM dropped, count returned", async () => {
    const lines = ["é".repeat(700_000), "short ✓", "", "日本".repeat(300_000), "last"];
    const data = Buffer.from(`\ufeff${lines.join("\r\n")}`);
    const fromFile: [string, number][] = [];
    expect(await forEachLine(write(data), (t, n) => void fromFile.push([t, n]))).toBe(5);
    expect(fromFile).toEqual(lines.map((t, i) => [t, i + 1]));
    const fromStream: [string, number][] = [];
    const chunks = Array.from({ length: Math.ceil(data.length / 65_537) }, (_, i) =>
      data.subarray(i * 65_537, (i + 1) * 65_537),
    );
    expect(await forEachLine(Readable.from(chunks), (t, n) => void fromStream.push([t, n]))).toBe(5);
    expect(fromStream).toEqual(fromFile);
  });

  it("an exception of the callback stops the read; its return value is ignored", async () => {
    const file = write("a\nb\nc\n");
    const seen: string[] = [];
    await expect(
      forEachLine(file, (t) => {
        seen.push(t);
        if (t === "b") throw new Error("stop at b");
      }),
    ).rejects.toThrow("stop at b");
    expect(seen).toEqual(["a", "b"]);
    const all: string[] = [];
    const pushThenStop = (t: string) => {
      all.push(t);
      return false;
    };
    await forEachLine(file, pushThenStop as unknown as (t: string) => void);
    expect(all).toEqual(["a", "b", "c"]);
  });
});

describe("forEachLineSync and readLinesSync (non-blank lines)", () => {
  const text = `\n{"a":1}\r\n\n   \n\ufeff{"b":2}\n${"x".repeat(300_000)}\n\t\n{"c":3}`;
  const expected: Line[] = [
    { lineNo: 2, text: '{"a":1}' },
    { lineNo: 5, text: '\ufeff{"b":2}' }, // a byte order mark is kept: it is not JSON, the caller says so
    { lineNo: 6, text: "x".repeat(300_000) },
    { lineNo: 8, text: '{"c":3}' },
  ];

  it("a read inside another's callback does not disturb it (the sync read buffer is lent to one read at a time)", () => {
    const outer = write(text);
    const inner = write("q\n".repeat(200_000)); // bigger than the read buffer
    const got: Line[] = [];
    forEachLineSync(outer, (l) => {
      got.push(l);
      let n = 0;
      forEachLineSync(inner, () => void n++);
      expect(n).toBe(200_000);
      expect(readLinesSync(inner, 0, 3).lines.map((x) => x.text)).toEqual(["q", "q", "q"]);
    });
    expect(got).toEqual(expected);
  });

  it("forEachLineSync skips blank lines but counts them, and stops when the callback returns false", () => {
    const file = write(text);
    const all: Line[] = [];
    forEachLineSync(file, (l) => void all.push(l));
    expect(all).toEqual(expected);
    const some: Line[] = [];
    forEachLineSync(file, (l) => {
      some.push(l);
      return some.length < 2;
    });
    expect(some).toEqual(expected.slice(0, 2));
    forEachLineSync(write(""), () => {
      throw new Error("no line expected");
    });
  });

  it("readLinesSync reads a bounded number and resumes at the offset it returns (lines across its read buffer)", () => {
    const file = write(text);
    for (const max of [1, 2, 3, 10]) {
      const got: Line[] = [];
      let at = { offset: 0, lineNo: 1 };
      for (let calls = 0; ; calls++) {
        expect(calls).toBeLessThan(10);
        const r = readLinesSync(file, at.offset, max, at.lineNo);
        expect(r.lines.length).toBeLessThanOrEqual(max);
        got.push(...r.lines);
        at = { offset: r.offset, lineNo: r.nextLineNo };
        if (r.eof) break;
      }
      expect(got).toEqual(expected);
      expect(at).toEqual({ offset: Buffer.byteLength(text), lineNo: 9 });
    }
  });

  it("readLinesSync: eof only when no line is left; the offset is just past the last line returned", () => {
    const file = write("a\n\nb\n");
    expect(readLinesSync(file, 0, 1)).toEqual({
      lines: [{ lineNo: 1, text: "a" }],
      offset: 2,
      nextLineNo: 2,
      eof: false,
    });
    expect(readLinesSync(file, 2, 1, 2)).toEqual({
      lines: [{ lineNo: 3, text: "b" }],
      offset: 5,
      nextLineNo: 4,
      eof: false,
    });
    expect(readLinesSync(file, 5, 1, 4)).toEqual({ lines: [], offset: 5, nextLineNo: 4, eof: true });
    expect(readLinesSync(write("a\nb"), 2, 5, 2)).toEqual({
      lines: [{ lineNo: 2, text: "b" }],
      offset: 3,
      nextLineNo: 3,
      eof: true,
    });
    expect(readLinesSync(write("a\nb"), 2, 1, 2)).toMatchObject({ offset: 3, eof: true }); // the last line has no newline
  });
});

describe("counting", () => {
  it("LineCounter and countLines count as the readers number (a last line without newline counts)", async () => {
    for (const text of ["", "\n", "a", "a\n", "a\nb", "a\r\n\r\nb\r\n", MIXED.toString()]) {
      const data = Buffer.from(text);
      const file = write(data);
      const counter = new LineCounter();
      for (let i = 0; i < data.length; i += 3) counter.push(data.subarray(i, i + 3));
      const n = await forEachLine(file, () => undefined);
      expect(counter.lines, JSON.stringify(text)).toBe(n);
      expect(await countLines(file)).toBe(n);
    }
  });
});

describe("big files", () => {
  const LINES = 400_000;
  let big: string;
  beforeAll(() => {
    const line = JSON.stringify({ custom_id: "x", body: { messages: [{ role: "user", content: "y".repeat(40) }] } });
    big = path.join(dir, "big.jsonl");
    const fd = fs.openSync(big, "w");
    for (let i = 0; i < LINES; i += 10_000) fs.writeSync(fd, `${line}\n`.repeat(10_000)); // about 30 MB
    fs.closeSync(fd);
  });

  /** Growth of memory held in buffers while `read` runs, sampled every 10,000 lines. */
  async function bufferGrowth(read: (sample: () => void) => unknown): Promise<number> {
    const base = process.memoryUsage().arrayBuffers;
    let peak = base;
    let n = 0;
    await read(() => {
      if (++n % 10_000 === 0) peak = Math.max(peak, process.memoryUsage().arrayBuffers);
    });
    expect(n).toBe(LINES);
    return peak - base;
  }

  it("memory stays flat: no reader holds the file (buffers grow by a few MB for a 30 MB file)", async () => {
    const limit = 8 * 1024 * 1024;
    expect(fs.statSync(big).size).toBeGreaterThan(4 * limit);
    expect(await bufferGrowth((sample) => forEachLine(big, sample))).toBeLessThan(limit);
    expect(await bufferGrowth((sample) => forEachLineSync(big, sample))).toBeLessThan(limit);
    expect(
      await bufferGrowth((sample) => {
        let at = { offset: 0, lineNo: 1 };
        for (;;) {
          const r = readLinesSync(big, at.offset, 1000, at.lineNo);
          if (r.eof && !r.lines.length) break;
          r.lines.forEach(sample);
          if (r.eof) break;
          at = { offset: r.offset, lineNo: r.nextLineNo };
        }
      }),
    ).toBeLessThan(limit);
  });
});
