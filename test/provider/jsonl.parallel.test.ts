/**
 * The parallel scan of large files (provider/jsonl.ts `scanJsonlFile` with worker threads, provider/scanWorker.ts):
 * whatever the file and however it is cut into parts, the result is the one the scan on one thread gives, problems
 * and their messages included. Parts are made tiny here so that every kind of line meets a part boundary. The
 * workers run the built worker (dist/provider/scanWorker.js, `npm run build`): the sources run as TypeScript here.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { scanJsonlFile, type ScanOptions } from "../../provider/jsonl";

const WORKER = path.resolve(__dirname, "../../dist/provider/scanWorker.js");
const CHAT = "/v1/chat/completions" as const;
const req = (id: string, content = "Hello") =>
  JSON.stringify({ custom_id: id, body: { messages: [{ role: "user", content }] } });
const many = (n: number, prefix = "r") =>
  Array.from({ length: n }, (_, i) => req(`${prefix}${i}`, `question ${i} ${"é".repeat(i % 7)}`));

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "pmb-parallel-"));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

let n = 0;
function write(data: string | Buffer): string {
  const file = path.join(dir, `f${n++}.jsonl`);
  fs.writeFileSync(file, data);
  return file;
}

/** The parallel scan's result for every part size, each equal to the scan on one thread. */
async function expectSameAsOneThread(file: string, options: ScanOptions = { endpoint: CHAT }): Promise<void> {
  const single = await scanJsonlFile(file, options, { workers: 0 });
  const cuts: [number, number][] = [
    [64, 1],
    [97, 2],
    [1000, 3],
    [1 << 20, 2],
  ];
  for (const [blockBytes, workers] of cuts) {
    const parallel = await scanJsonlFile(file, options, { workers, minBytes: 0, blockBytes, workerScript: WORKER });
    expect({ blockBytes, workers, parallel }).toEqual({ blockBytes, workers, parallel: single });
  }
}

describe.skipIf(!fs.existsSync(WORKER))("parallel scan = scan on one thread", () => {
  it("a clean file, with blank lines, CRLF and multi-byte characters", async () => {
    const lines = many(200);
    lines.splice(10, 0, "", "   ");
    await expectSameAsOneThread(write(`${lines.join("\r\n")}\r\n`));
    await expectSameAsOneThread(write(`${many(150).join("\n")}\n`));
  });

  it("a last line without newline; an empty file; only blank lines", async () => {
    await expectSameAsOneThread(write(many(120).join("\n")));
    await expectSameAsOneThread(write(""));
    await expectSameAsOneThread(write("\n\n  \n"));
  });

  it("the limits of the whole file (requests, bytes)", async () => {
    const file = write(`${many(100).join("\n")}\n`);
    await expectSameAsOneThread(file, { endpoint: CHAT, maxRequests: 50 });
    await expectSameAsOneThread(file, { maxBytes: 1000 });
  });

  it("a custom_id repeated in a later part, and within a part", async () => {
    const lines = many(300);
    lines[250] = req("r3");
    await expectSameAsOneThread(write(`${lines.join("\n")}\n`));
    lines[4] = req("r3");
    await expectSameAsOneThread(write(`${lines.join("\n")}\n`));
  });

  it("a line that is not JSON, a body that does not fit the endpoint, a byte order mark", async () => {
    const lines = many(200);
    lines[77] = '{"custom_id": "x", "body": ';
    lines[150] = JSON.stringify({ custom_id: "y", body: { prompt: "no messages" } });
    await expectSameAsOneThread(write(`${lines.join("\n")}\n`));
    await expectSameAsOneThread(write(`\uFEFF${many(100).join("\n")}\n`));
  });

  it("bytes that are not UTF-8, and more problems than are reported", async () => {
    const lines = many(200).map((l) => Buffer.from(`${l}\n`));
    lines[120] = Buffer.concat([
      Buffer.from('{"custom_id": "bad", "body": {"messages": "'),
      Buffer.from([0xff, 0xfe]),
      Buffer.from('"}}\n'),
    ]);
    await expectSameAsOneThread(write(Buffer.concat(lines)));
    const broken = many(200).map((l, i) => (i % 9 === 0 ? "{oops" : l));
    await expectSameAsOneThread(write(`${broken.join("\n")}\n`));
  });

  it("a line longer than a part, and one longer than the scan reads", async () => {
    const lines = many(50);
    lines[20] = req("long", "x".repeat(5000));
    await expectSameAsOneThread(write(`${lines.join("\n")}\n`));
    await expectSameAsOneThread(write(`${lines.join("\n")}\n`), { endpoint: CHAT, maxLineBytes: 1000 });
  });

  it("a worker script that fails: the scan on one thread answers", async () => {
    const file = write(`${many(100).join("\n")}\n`);
    const broken = path.join(dir, "broken-worker.js");
    fs.writeFileSync(broken, "throw new Error('no worker here');\n");
    const single = await scanJsonlFile(file, { endpoint: CHAT }, { workers: 0 });
    expect(
      await scanJsonlFile(file, { endpoint: CHAT }, { workers: 2, minBytes: 0, blockBytes: 100, workerScript: broken }),
    ).toEqual(single);
  });
});
