/**
 * BatchFile with the scan cache (provider/scanCache.ts) against the emulator: `check` answers from the cache for
 * an unchanged file, and an entry that does not describe the file's content (stale) can never upload other
 * content: the upload's own hash refuses it, deletes it, and the next check scans the file again.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { scanJsonlText } from "../../provider/jsonl";
import { SCAN_CACHE_ENV, ScanCache, identityOf, safelyOlder } from "../../provider/scanCache";
import {
  CHAT,
  chatRequests,
  cleanup,
  configure,
  emulator,
  fileProvider,
  jsonlOf,
  sdk,
  stats,
  tempDir,
  thrown,
} from "./integration-harness";

const sha = (text: string | Buffer) => createHash("sha256").update(text).digest("hex");
let saved: string | undefined;
let cacheDir: string;

beforeEach(() => {
  saved = process.env[SCAN_CACHE_ENV];
  cacheDir = path.join(tempDir(), "scans");
  process.env[SCAN_CACHE_ENV] = cacheDir;
});
afterEach(async () => {
  if (saved === undefined) delete process.env[SCAN_CACHE_ENV];
  else process.env[SCAN_CACHE_ENV] = saved;
  await cleanup();
});

/** Writes `text` and waits until a scan of it may be kept (its last change older than the racy margin). */
async function settledFile(name: string, text: string): Promise<string> {
  const file = path.join(tempDir(), name);
  fs.writeFileSync(file, text);
  while (!safelyOlder(identityOf(file, fs.statSync(file, { bigint: true })), BigInt(Date.now()) * 1_000_000n))
    await new Promise((r) => setTimeout(r, 30));
  return file;
}

describe("BatchFile and the scan cache", () => {
  it("check keeps its scan of a settled file; a second check (the update's process) gives the same inputs", async () => {
    const e = await emulator();
    await configure(e.url);
    const text = jsonlOf(chatRequests(3));
    const source = await settledFile("q.jsonl", text);
    const first = await fileProvider().check({}, { source, endpoint: CHAT });
    expect(first.failures).toEqual([]);
    expect(fs.readdirSync(cacheDir).filter((n) => n.endsWith(".json"))).toHaveLength(1);
    const second = await fileProvider().check({}, { source, endpoint: CHAT });
    expect(second).toEqual(first);
    expect(second.inputs).toMatchObject({ sha256: sha(text), bytes: Buffer.byteLength(text), lineCount: 3 });
    const { id } = await fileProvider().create(second.inputs);
    expect(await new Response(await sdk(e.url).files.download({ fileId: id })).text()).toBe(text);
  });

  it("a stale entry (it names other content for the file's identity) never uploads other content", async () => {
    const e = await emulator();
    await configure(e.url);
    const before = jsonlOf(chatRequests(2, "a"));
    const now = jsonlOf(chatRequests(2, "b")); // the same size
    expect(Buffer.byteLength(now)).toBe(Buffer.byteLength(before));
    const source = await settledFile("q.jsonl", now);
    // What a cache would hold had the file changed without its identity moving (a file system without a change
    // time, a clock set back): the scan of the content before, under the identity of the content now.
    const identity = identityOf(source, fs.statSync(source, { bigint: true }));
    expect(new ScanCache(cacheDir).set(identity, { endpoint: CHAT }, scanJsonlText(before))).toBe(true);

    const checked = await fileProvider().check({}, { source, endpoint: CHAT });
    expect(checked.failures).toEqual([]);
    expect(checked.inputs.sha256).toBe(sha(before)); // answered from the (stale) cache
    const error = await thrown(() => fileProvider().create(checked.inputs));
    expect(error.message).toMatch(
      /changed after it was checked .*as uploaded.*upload was deleted; run the update again/s,
    );
    expect((await stats(e.url)).files).toBe(0);

    // The refused upload scanned the file again without the cache and replaced the entry: the next run is right.
    const again = await fileProvider().check({}, { source, endpoint: CHAT });
    expect(again.inputs.sha256).toBe(sha(now));
    const { id, outs } = await fileProvider().create(again.inputs);
    expect(outs.sha256).toBe(sha(now));
    expect(await new Response(await sdk(e.url).files.download({ fileId: id })).text()).toBe(now);
    expect((await stats(e.url)).files).toBe(1);
  });

  it("an edit in place of the same size after a cached check: the next check has the new content", async () => {
    const e = await emulator();
    await configure(e.url);
    const a = jsonlOf(chatRequests(2, "a"));
    const b = jsonlOf(chatRequests(2, "b"));
    const source = await settledFile("q.jsonl", a);
    expect((await fileProvider().check({}, { source })).inputs.sha256).toBe(sha(a));
    fs.writeFileSync(source, b);
    const checked = await fileProvider().check({}, { source });
    expect(checked.inputs.sha256).toBe(sha(b));
    const { id } = await fileProvider().create(checked.inputs);
    expect(await new Response(await sdk(e.url).files.download({ fileId: id })).text()).toBe(b);
  });

  it("a cache that cannot be written changes nothing: check and create work", async () => {
    const e = await emulator();
    await configure(e.url);
    const blocked = path.join(tempDir(), "blocked");
    fs.writeFileSync(blocked, "a file where the cache directory should be");
    process.env[SCAN_CACHE_ENV] = path.join(blocked, "scans");
    const text = jsonlOf(chatRequests(2));
    const source = await settledFile("q.jsonl", text);
    const checked = await fileProvider().check({}, { source });
    expect(checked.failures).toEqual([]);
    expect(checked.inputs.sha256).toBe(sha(text));
    const { outs } = await fileProvider().create(checked.inputs);
    expect(outs).toMatchObject({ sha256: sha(text), adopted: false });
  });
});
