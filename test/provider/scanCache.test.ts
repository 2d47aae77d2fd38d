/**
 * The scan cache (provider/scanCache.ts) with real files in a temporary directory: an entry is used only while the
 * file's content identity on disk is unchanged (same-size edits in place, `touch`, a different file renamed over it
 * all scan again), never kept for a file changed during the scan or just before it, never holds the file's lines,
 * and a cache that cannot be read or written only costs a scan.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { scanJsonlFile, type ScanOptions, type ScanResult } from "../../provider/jsonl";
import {
  MAX_ENTRIES,
  SCAN_CACHE_ENV,
  ScanCache,
  identityOf,
  racyMarginNs,
  safelyOlder,
  scanCacheDir,
  scanFileCached,
} from "../../provider/scanCache";

const CHAT = "/v1/chat/completions" as const;
const sha = (data: string | Buffer) => createHash("sha256").update(data).digest("hex");
const line = (id: string, content: string) =>
  JSON.stringify({ custom_id: id, body: { messages: [{ role: "user", content }] } });
const jsonl = (...lines: string[]) => `${lines.join("\n")}\n`;

let dir: string;
let cache: ScanCache;
/** Scans that really read the file (the cache's misses), by path. */
let scans: string[];
const countingScan = async (file: string, options: ScanOptions): Promise<ScanResult> => {
  scans.push(file);
  return scanJsonlFile(file, options);
};
const scan = (file: string, options: ScanOptions = { endpoint: CHAT }, fresh = false) =>
  scanFileCached(file, options, countingScan, cache, fresh);

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "pmb-scancache-"));
  cache = new ScanCache(path.join(dir, "cache"));
  scans = [];
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Waits until a scan starting now may keep its entry (the file's last change is older than the racy margin). */
async function settle(file: string): Promise<void> {
  for (;;) {
    const identity = identityOf(file, fs.statSync(file, { bigint: true }));
    if (safelyOlder(identity, BigInt(Date.now()) * 1_000_000n)) return;
    await new Promise((r) => setTimeout(r, Number(racyMarginNs(identity) / 1_000_000n) / 4 + 5));
  }
}

/** A file written and settled: its first scan is kept. */
async function settledFile(name: string, text: string): Promise<string> {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  await settle(file);
  return file;
}

const A = jsonl(line("a", "What is 1 + 1?"), line("b", "What is 2 + 2?"));
/** The same size as A, other content. */
const B = jsonl(line("a", "What is 3 + 3?"), line("b", "What is 4 + 4?"));

describe("an unchanged file is scanned once", () => {
  it("answers the second scan from the cache, with the same result as a scan", async () => {
    const file = await settledFile("q.jsonl", A);
    const first = await scan(file);
    expect(first).toMatchObject({ cached: false, stored: true });
    expect(first.result.sha256).toBe(sha(A));
    const second = await scan(file);
    expect(second).toMatchObject({ cached: true, stored: false });
    expect(second.result).toEqual(first.result);
    expect(second.result).toEqual(await scanJsonlFile(file, { endpoint: CHAT }));
    expect(scans).toEqual([file]);
  });

  it("is shared by another cache object on the same directory (another provider process)", async () => {
    const file = await settledFile("q.jsonl", A);
    await scan(file);
    const other = await scanFileCached(file, { endpoint: CHAT }, countingScan, new ScanCache(cache.dir));
    expect(other.cached).toBe(true);
    expect(other.result.sha256).toBe(sha(A));
  });

  it("keeps the problems of the whole file (size, count), which quote nothing of it", async () => {
    const file = await settledFile("q.jsonl", A);
    const first = await scan(file, { endpoint: CHAT, maxRequests: 1 });
    expect(first.result.fileProblems).toEqual([
      "holds 2 requests; a batch job takes at most 1: split it into several files and jobs",
    ]);
    const second = await scan(file, { endpoint: CHAT, maxRequests: 1 });
    expect(second.cached).toBe(true);
    expect(second.result).toEqual(first.result);
  });

  it("keys on the scan's options: another endpoint or limit scans again", async () => {
    const file = await settledFile("q.jsonl", A);
    await scan(file, { endpoint: CHAT });
    expect((await scan(file, { endpoint: "/v1/embeddings" })).cached).toBe(false);
    expect((await scan(file, {})).cached).toBe(false);
    expect((await scan(file, { endpoint: CHAT, maxBytes: 10 })).cached).toBe(false);
    // Each kept apart: the first is still there.
    expect((await scan(file, { endpoint: CHAT })).cached).toBe(true);
    expect((await scan(file, { endpoint: "/v1/embeddings" })).result.problems).not.toEqual([]);
  });

  it("with fresh, reads the file whatever the cache holds, and keeps the new scan", async () => {
    const file = await settledFile("q.jsonl", A);
    await scan(file);
    const again = await scan(file, { endpoint: CHAT }, true);
    expect(again).toMatchObject({ cached: false, stored: true });
    expect(scans).toEqual([file, file]);
    expect((await scan(file)).cached).toBe(true);
  });
});

describe("a changed file is scanned again: never stale content", () => {
  it("an edit in place with the same size gives the new sha256", async () => {
    const file = await settledFile("q.jsonl", A);
    expect((await scan(file)).result.sha256).toBe(sha(A));
    const fd = fs.openSync(file, "r+"); // the same inode, the same size
    fs.writeSync(fd, Buffer.from(B), 0, B.length, 0);
    fs.closeSync(fd);
    expect(fs.statSync(file).size).toBe(Buffer.byteLength(A));
    const after = await scan(file);
    expect(after.cached).toBe(false);
    expect(after.result.sha256).toBe(sha(B));
  });

  it("an edit in place that puts the old modification time back still scans again (the change time moved)", async () => {
    const file = await settledFile("q.jsonl", A);
    const { atime, mtime } = fs.statSync(file);
    await scan(file);
    fs.writeFileSync(file, B);
    fs.utimesSync(file, atime, mtime);
    const after = await scan(file);
    expect(after.cached).toBe(false);
    expect(after.result.sha256).toBe(sha(B));
  });

  it("a touch without change scans again and gives the same result", async () => {
    const file = await settledFile("q.jsonl", A);
    const first = await scan(file);
    const now = new Date();
    fs.utimesSync(file, now, now);
    const after = await scan(file);
    expect(after.cached).toBe(false);
    expect(after.result).toEqual(first.result);
  });

  it("a different file of the same size renamed over it (same modification time) gives the new sha256", async () => {
    const file = await settledFile("q.jsonl", A);
    const { atime, mtime } = fs.statSync(file);
    await scan(file);
    const other = path.join(dir, "other.jsonl");
    fs.writeFileSync(other, B);
    fs.utimesSync(other, atime, mtime);
    fs.renameSync(other, file);
    const after = await scan(file);
    expect(after.cached).toBe(false);
    expect(after.result.sha256).toBe(sha(B));
  });

  it("one entry per file and options: a new identity replaces the old entry", async () => {
    const file = await settledFile("q.jsonl", A);
    await scan(file);
    fs.writeFileSync(file, B);
    await settle(file);
    expect((await scan(file)).stored).toBe(true);
    expect(fs.readdirSync(cache.dir ?? "").filter((n) => n.endsWith(".json"))).toHaveLength(1);
  });
});

describe("what is not kept", () => {
  it("a scan of a file changed just before it (within the timestamps' granularity): the racy-git rule", async () => {
    const file = path.join(dir, "q.jsonl");
    fs.writeFileSync(file, A);
    const first = await scan(file); // at once: a change in the same clock tick would not move the timestamps
    expect(first).toMatchObject({ cached: false, stored: false });
    expect((await scan(file)).cached).toBe(false);
    await settle(file);
    expect((await scan(file)).stored).toBe(true);
    expect((await scan(file)).cached).toBe(true);
  });

  it("a scan of a file changed while it was read", async () => {
    const file = await settledFile("q.jsonl", A);
    const editing = async (f: string, options: ScanOptions) => {
      const result = await scanJsonlFile(f, options);
      fs.writeFileSync(f, B); // after the read, before the scan ends
      return result;
    };
    const during = await scanFileCached(file, { endpoint: CHAT }, editing, cache);
    expect(during).toMatchObject({ cached: false, stored: false });
    expect(during.result.sha256).toBe(sha(A));
    const after = await scan(file);
    expect(after.cached).toBe(false);
    expect(after.result.sha256).toBe(sha(B));
  });

  it("a scan of a file replaced (renamed over) while it was read", async () => {
    const file = await settledFile("q.jsonl", A);
    const other = await settledFile("other.jsonl", B);
    const replacing = async (f: string, options: ScanOptions) => {
      const result = await scanJsonlFile(f, options);
      fs.renameSync(other, f);
      return result;
    };
    expect((await scanFileCached(file, { endpoint: CHAT }, replacing, cache)).stored).toBe(false);
    expect((await scan(file)).result.sha256).toBe(sha(B));
  });

  it("a scan with line problems (their messages quote the lines): nothing of the file is written", async () => {
    const secret = "sk-do-not-write-me-0001";
    const text = jsonl(line("a", "fine"), `{"custom_id": "b", "body": "${secret}"}`);
    const file = await settledFile("q.jsonl", text);
    const first = await scan(file);
    expect(first.result.problems).toHaveLength(1);
    expect(first).toMatchObject({ cached: false, stored: false });
    expect((await scan(file)).cached).toBe(false);
    const clean = await settledFile("clean.jsonl", jsonl(line("a", secret)));
    expect((await scan(clean)).stored).toBe(true);
    for (const name of fs.readdirSync(cache.dir ?? ""))
      expect(fs.readFileSync(path.join(cache.dir ?? "", name), "utf8")).not.toContain(secret);
  });
});

describe("a cache that cannot be used costs a scan, never a failure", () => {
  it("a cache directory that cannot be created (a file stands there)", async () => {
    const file = await settledFile("q.jsonl", A);
    const blocked = path.join(dir, "blocked");
    fs.writeFileSync(blocked, "not a directory");
    const c = new ScanCache(path.join(blocked, "scans"));
    const r = await scanFileCached(file, { endpoint: CHAT }, countingScan, c);
    expect(r).toMatchObject({ cached: false, stored: false });
    expect(r.result.sha256).toBe(sha(A));
    expect((await scanFileCached(file, { endpoint: CHAT }, countingScan, c)).cached).toBe(false);
  });

  it("an entry that is not JSON, or holds another sha256 shape or size, is ignored", async () => {
    const file = await settledFile("q.jsonl", A);
    await scan(file);
    const [name] = fs.readdirSync(cache.dir ?? "");
    const entry = path.join(cache.dir ?? "", name);
    const good = JSON.parse(fs.readFileSync(entry, "utf8"));
    for (const bad of ["{not json", JSON.stringify({ ...good, result: { ...good.result, sha256: "zz" } })]) {
      fs.writeFileSync(entry, bad);
      const r = await scan(file);
      expect(r.cached).toBe(false);
      expect(r.result.sha256).toBe(sha(A));
    }
    fs.writeFileSync(entry, JSON.stringify({ ...good, result: { ...good.result, bytes: 1 } }));
    expect((await scan(file)).cached).toBe(false);
  });

  it("a missing file: the scan's own error", async () => {
    await expect(scan(path.join(dir, "missing.jsonl"))).rejects.toThrow(/ENOENT/);
  });

  it("off: nothing is kept", async () => {
    const file = await settledFile("q.jsonl", A);
    const off = new ScanCache(null);
    expect((await scanFileCached(file, {}, countingScan, off)).stored).toBe(false);
    expect((await scanFileCached(file, {}, countingScan, off)).cached).toBe(false);
  });
});

describe("bounded", () => {
  it(`keeps at most ${MAX_ENTRIES} entries, dropping the least recently written`, async () => {
    const files: string[] = [];
    for (let i = 0; i < MAX_ENTRIES + 3; i++) {
      const file = path.join(dir, `f${i}.jsonl`);
      fs.writeFileSync(file, jsonl(line(`id${i}`, "hi")));
      files.push(file);
    }
    await settle(files[files.length - 1]);
    for (const [i, file] of files.entries()) {
      expect((await scan(file)).stored).toBe(true);
      // Distinct modification times of the entries, so that "oldest" is well defined.
      const entries = fs.readdirSync(cache.dir ?? "");
      if (i < 3) for (const e of entries) fs.utimesSync(path.join(cache.dir ?? "", e), i + 1, i + 1);
    }
    expect(fs.readdirSync(cache.dir ?? "").filter((n) => n.endsWith(".json"))).toHaveLength(MAX_ENTRIES);
    expect((await scan(files[files.length - 1])).cached).toBe(true);
    expect((await scan(files[0])).cached).toBe(false);
  });
});

describe("scanCacheDir", () => {
  it("the program's node_modules/.cache, else XDG_CACHE_HOME, else ~/.cache; the variable names another or turns it off", () => {
    const project = path.join(dir, "project");
    fs.mkdirSync(path.join(project, "node_modules"), { recursive: true });
    expect(scanCacheDir({}, project)).toBe(path.join(project, "node_modules/.cache/pulumi-mistral-batch/scans"));
    const bare = path.join(dir, "bare");
    fs.mkdirSync(bare);
    expect(scanCacheDir({ XDG_CACHE_HOME: "/xdg" }, bare)).toBe("/xdg/pulumi-mistral-batch/scans");
    expect(scanCacheDir({}, bare)).toBe(path.join(os.homedir(), ".cache/pulumi-mistral-batch/scans"));
    expect(scanCacheDir({ [SCAN_CACHE_ENV]: "elsewhere" }, project)).toBe(path.join(project, "elsewhere"));
    for (const off of ["off", "0", "false", "none", "OFF"])
      expect(scanCacheDir({ [SCAN_CACHE_ENV]: off }, project)).toBe(undefined);
  });

  it("the racy margin: 100 ms with sub-second timestamps, 2 s when both are whole seconds", () => {
    const file = path.join(dir, "q.jsonl");
    fs.writeFileSync(file, A);
    const id = identityOf(file, fs.statSync(file, { bigint: true }));
    expect(racyMarginNs({ ...id, mtimeNs: "1000000000000000001" })).toBe(100_000_000n);
    expect(racyMarginNs({ ...id, mtimeNs: "1000000000000000000", ctimeNs: "2000000000000000000" })).toBe(
      2_000_000_000n,
    );
    expect(safelyOlder({ ...id, mtimeNs: "1000000000", ctimeNs: "1000000000" }, 3_000_000_001n)).toBe(true);
    expect(safelyOlder({ ...id, mtimeNs: "1000000000", ctimeNs: "1000000000" }, 3_000_000_000n)).toBe(false);
  });
});
