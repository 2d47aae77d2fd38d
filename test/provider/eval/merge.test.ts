import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { mergeResultFiles } from "../../../provider/eval/merge";

const dirs: string[] = [];
function temp(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pmb-merge-"));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

describe("mergeResultFiles", () => {
  it("concatenates in order, skips shards without a file, ends every file's last line", async () => {
    const dir = temp();
    const a = path.join(dir, "a.jsonl");
    const b = path.join(dir, "b.jsonl");
    fs.writeFileSync(a, '{"custom_id":"1"}\n{"custom_id":"2"}\n');
    fs.writeFileSync(b, '{"custom_id":"3"}'); // no final newline
    const target = path.join(dir, "out.jsonl");
    expect(await mergeResultFiles([a, null, b, undefined], target)).toEqual({ files: 2, lines: 3 });
    expect(fs.readFileSync(target, "utf8")).toBe('{"custom_id":"1"}\n{"custom_id":"2"}\n{"custom_id":"3"}\n');
    expect(fs.existsSync(`${target}.part`)).toBe(false);
  });

  it("a large file streams through unchanged", async () => {
    const dir = temp();
    const big = path.join(dir, "big.jsonl");
    const line = `${JSON.stringify({ custom_id: "x", body: "y".repeat(1000) })}\n`;
    fs.writeFileSync(big, line.repeat(5000));
    const target = path.join(dir, "out.jsonl");
    expect(await mergeResultFiles([big, big], target)).toEqual({ files: 2, lines: 10_000 });
    expect(fs.statSync(target).size).toBe(2 * 5000 * Buffer.byteLength(line));
  });

  it("no file: nothing written and an earlier merge removed; a missing file fails naming the target, no part left", async () => {
    const dir = temp();
    const target = path.join(dir, "out.jsonl");
    fs.writeFileSync(target, "old\n");
    expect(await mergeResultFiles([null, null], target)).toEqual({ files: 0, lines: 0 });
    expect(fs.existsSync(target)).toBe(false);
    await expect(mergeResultFiles([path.join(dir, "gone.jsonl")], target)).rejects.toThrow(
      `could not merge the result files into ${target}: ENOENT`,
    );
    expect(fs.readdirSync(dir)).toEqual([]);
  });
});
