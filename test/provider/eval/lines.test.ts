/**
 * Streaming line I/O of the evaluation modules (provider/eval/lines.ts): lines across read-buffer boundaries,
 * multi-byte characters, CRLF, a byte order mark, a last line without newline; the buffered writer.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { countLines, forEachLine, LineWriter, replaceIfChanged, sameBytes } from "../../../provider/eval/lines";

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "lines-"));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

async function collect(file: string): Promise<[string, number][]> {
  const out: [string, number][] = [];
  await forEachLine(file, (t, n) => out.push([t, n]));
  return out;
}

describe("forEachLine", () => {
  it("reads lines longer than the read buffer and lines split across reads, multi-byte characters intact", async () => {
    const lines = ["é".repeat(700_000), "short ✓", "日本".repeat(300_000), "", "last"];
    const file = path.join(dir, "big.txt");
    fs.writeFileSync(file, `${lines.join("\n")}\n`);
    const got = await collect(file);
    expect(got.map(([t]) => t)).toEqual(lines);
    expect(got.map(([, n]) => n)).toEqual([1, 2, 3, 4, 5]);
    expect(await countLines(file)).toBe(5);
  });

  it("drops CRLF's \\r and a leading byte order mark; a last line without newline counts", async () => {
    const file = path.join(dir, "crlf.txt");
    fs.writeFileSync(file, "\ufeffone\r\ntwo\r\nthree");
    expect(await collect(file)).toEqual([
      ["one", 1],
      ["two", 2],
      ["three", 3],
    ]);
    expect(await countLines(file)).toBe(3);
  });

  it("an empty file has no lines; an exception of the callback stops the read", async () => {
    const empty = path.join(dir, "empty.txt");
    fs.writeFileSync(empty, "");
    expect(await forEachLine(empty, () => undefined)).toBe(0);
    expect(await countLines(empty)).toBe(0);
    const file = path.join(dir, "f.txt");
    fs.writeFileSync(file, "a\nb\nc\n");
    let seen = 0;
    await expect(
      forEachLine(file, (t) => {
        seen++;
        if (t === "b") throw new Error("stop at b");
      }),
    ).rejects.toThrow("stop at b");
    expect(seen).toBe(2);
  });
});

describe("LineWriter", () => {
  it("buffers, flushes past its threshold and on close, and counts lines", () => {
    const file = path.join(dir, "out.txt");
    const w = new LineWriter(file, 10);
    w.write("abc");
    expect(fs.readFileSync(file, "utf8")).toBe(""); // still buffered
    w.write("defghijk"); // past 10 characters: flushed
    expect(fs.readFileSync(file, "utf8")).toBe("abc\ndefghijk\n");
    w.write("z");
    w.close();
    w.close(); // idempotent
    expect(fs.readFileSync(file, "utf8")).toBe("abc\ndefghijk\nz\n");
    expect(w.lines).toBe(3);
  });

  it("appends with flags 'a'", () => {
    const file = path.join(dir, "out.txt");
    fs.writeFileSync(file, "old\n");
    const w = new LineWriter(file, 1024, "a");
    w.write("new");
    w.close();
    expect(fs.readFileSync(file, "utf8")).toBe("old\nnew\n");
  });
});

describe("replaceIfChanged", () => {
  it("keeps the target (its inode and times) when it holds the same bytes, else moves the new file over it", () => {
    const target = path.join(dir, "shard.jsonl");
    const tmp = `${target}.tmp`;
    const big = `${"x".repeat(3 << 20)}\n`; // over the 1 MiB compare buffer
    fs.writeFileSync(tmp, big);
    expect(replaceIfChanged(tmp, target)).toBe(true); // no target yet
    const before = fs.statSync(target, { bigint: true });
    fs.writeFileSync(tmp, big);
    expect(replaceIfChanged(tmp, target)).toBe(false);
    expect(fs.existsSync(tmp)).toBe(false);
    const after = fs.statSync(target, { bigint: true });
    expect([after.ino, after.mtimeNs, after.ctimeNs]).toEqual([before.ino, before.mtimeNs, before.ctimeNs]);
    // Same size, one byte different past the first buffer: replaced.
    fs.writeFileSync(tmp, `${"x".repeat(2 << 20)}y${"x".repeat((1 << 20) - 1)}\n`);
    expect(sameBytes(tmp, target)).toBe(false);
    expect(replaceIfChanged(tmp, target)).toBe(true);
    expect(fs.readFileSync(target, "utf8")[2 << 20]).toBe("y");
    expect(fs.existsSync(tmp)).toBe(false);
  });
});
