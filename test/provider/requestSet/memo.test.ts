/**
 * The derived values a RequestSet keeps beside its files (provider/requestSet/memo.ts): used again while the files
 * are unchanged, never once a file changed (in place with the same size, replaced, removed), and not kept for a
 * file too recently changed for its timestamps to tell a later change apart, unless it is the package's own.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { memoized, recall } from "../../../provider/requestSet/memo";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pmb-memo-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
afterEach(() => {
  delete process.env.PULUMI_MISTRAL_BATCH_SCAN_CACHE;
});

let n = 0;
/** A file written well before now (past the racy margin), and the entry file beside it. */
async function oldFile(text: string): Promise<{ file: string; entry: string }> {
  const file = path.join(dir, `f${++n}.jsonl`);
  fs.writeFileSync(file, text);
  await new Promise((r) => setTimeout(r, 150));
  return { file, entry: path.join(dir, `f${n}.memo.json`) };
}

/** memoized() with a compute that counts its calls and returns the file's text. */
function counted(file: string) {
  const calls = { n: 0 };
  const compute = async () => {
    calls.n++;
    return fs.readFileSync(file, "utf8");
  };
  return { calls, compute };
}

describe("memoized", () => {
  it("computes once while the file is unchanged, and again after any change", async () => {
    const { file, entry } = await oldFile("abc\n");
    const c = counted(file);
    expect(await memoized(entry, [file], { k: 1 }, c.compute)).toBe("abc\n");
    expect(await memoized(entry, [file], { k: 1 }, c.compute)).toBe("abc\n");
    expect(c.calls.n).toBe(1);
    // Another key: computed.
    expect(await memoized(entry, [file], { k: 2 }, c.compute)).toBe("abc\n");
    expect(c.calls.n).toBe(2);

    // Edited in place, same size, modification time put back: the change time still moved.
    const { mtime } = fs.statSync(file);
    fs.writeFileSync(file, "xyz\n");
    fs.utimesSync(file, mtime, mtime);
    expect(await memoized(entry, [file], { k: 2 }, c.compute)).toBe("xyz\n");
    expect(c.calls.n).toBe(3);

    // Replaced by another file of the same size; then removed.
    const other = path.join(dir, "other.tmp");
    fs.writeFileSync(other, "123\n");
    fs.renameSync(other, file);
    expect(await memoized(entry, [file], { k: 2 }, c.compute)).toBe("123\n");
    fs.rmSync(file);
    expect(recall(entry, [file], { k: 2 })).toBeUndefined();
  });

  it("keeps nothing for a file changed moments ago, unless the package wrote it", async () => {
    const file = path.join(dir, "young.jsonl");
    fs.writeFileSync(file, "young\n");
    const entry = path.join(dir, "young.memo.json");
    const c = counted(file);
    await memoized(entry, [file], {}, c.compute);
    await memoized(entry, [file], {}, c.compute);
    expect(c.calls.n).toBe(2);
    expect(fs.existsSync(entry)).toBe(false);
    await memoized(entry, [file], {}, c.compute, { ours: [file] });
    await memoized(entry, [file], {}, c.compute, { ours: [file] });
    expect(c.calls.n).toBe(3);
  });

  it("keeps nothing when a file changes while the value is computed, or when the caches are off", async () => {
    const { file, entry } = await oldFile("before\n");
    let calls = 0;
    const changing = async () => {
      calls++;
      fs.appendFileSync(file, "more\n");
      return "value";
    };
    await memoized(entry, [file], {}, changing);
    expect(fs.existsSync(entry)).toBe(false);

    const quiet = await oldFile("quiet\n");
    process.env.PULUMI_MISTRAL_BATCH_SCAN_CACHE = "off";
    const c = counted(quiet.file);
    await memoized(quiet.entry, [quiet.file], {}, c.compute);
    await memoized(quiet.entry, [quiet.file], {}, c.compute);
    expect(c.calls.n).toBe(2);
    expect(calls).toBe(1);
  });

  it("counts a file that is not there as absent, and notices when it appears", async () => {
    const { file, entry } = await oldFile("here\n");
    const missing = path.join(dir, "missing.jsonl");
    const c = counted(file);
    await memoized(entry, [file, missing], {}, c.compute);
    await memoized(entry, [file, missing], {}, c.compute);
    expect(c.calls.n).toBe(1);
    fs.writeFileSync(missing, "now\n");
    await memoized(entry, [file, missing], {}, c.compute);
    expect(c.calls.n).toBe(2);
  });

  it("treats an unreadable entry as none", async () => {
    const { file, entry } = await oldFile("text\n");
    fs.writeFileSync(entry, "{not json");
    const c = counted(file);
    expect(await memoized(entry, [file], {}, c.compute)).toBe("text\n");
    expect(c.calls.n).toBe(1);
    expect(await memoized(entry, [file], {}, c.compute)).toBe("text\n");
    expect(c.calls.n).toBe(1);
  });
});
