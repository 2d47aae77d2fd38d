import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { addressOf, requestKey } from "../../../provider/requestSet/address";
import {
  forEachIndexedRequest,
  indexSource,
  linesOf,
  type PartRecord,
  readRecord,
  summarizePart,
  withCustomId,
  writeCurrent,
  writeDelta,
} from "../../../provider/requestSet/store";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pmb-store-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe("writeDelta", () => {
  it("writes only the requests to submit, addressed, and returns the SHA-256 of exactly the bytes written", async () => {
    const bodies = [
      { messages: [{ role: "user", content: "é 😀 one" }] },
      { messages: [{ role: "user", content: "x".repeat(300_000) }] },
      { messages: [{ role: "user", content: "three" }] },
    ];
    const source = path.join(dir, "source.jsonl");
    fs.writeFileSync(
      source,
      `${bodies.map((body, i) => JSON.stringify({ custom_id: `q${i}`, expected: i, body })).join("\n")}\n\n`,
    );
    const submit = new Set([0, 1].map((i) => addressOf(`q${i}`, requestKey(bodies[i]))));
    const target = path.join(dir, "delta.jsonl");
    const { requests, sha256 } = await writeDelta(source, linesOf(await indexSource(source), submit), target);
    const written = fs.readFileSync(target);
    expect(requests).toBe(2);
    expect(sha256).toBe(createHash("sha256").update(written).digest("hex"));
    expect(
      written
        .toString("utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l)),
    ).toEqual([0, 1].map((i) => ({ custom_id: addressOf(`q${i}`, requestKey(bodies[i])), body: bodies[i] })));
  });
});

const ok = (address: string, text: string) =>
  JSON.stringify({
    id: `b-${address}`,
    custom_id: address,
    response: { status_code: 200, body: { choices: [{ index: 0, message: { role: "assistant", content: text } }] } },
    error: null,
  });
const failed = (address: string, message: string) =>
  JSON.stringify({ id: `e-${address}`, custom_id: address, response: null, error: { message, code: "x" } });

/** A final part of `jobId` in `dir`: what it was sent and its result files (lines as given). */
function part(
  jobId: string,
  sent: string[],
  results: { output?: string[]; error?: string[] },
  final = true,
): PartRecord {
  const files: PartRecord["files"] = {};
  const write = (kind: "input" | "output" | "error", lines: string[]) => {
    const file = path.join(dir, `${jobId}.${kind}.jsonl`);
    fs.writeFileSync(file, `${lines.join("\n")}\n`);
    files[kind] = file;
  };
  write(
    "input",
    sent.map((a) => JSON.stringify({ custom_id: a, body: {} })),
  );
  if (results.output) write("output", results.output);
  if (results.error) write("error", results.error);
  return { jobId, final, files };
}

describe("summarizePart and readRecord", () => {
  const [a, b, c, d] = ["a#0000000000000001", "b#0000000000000002", "c#0000000000000003", "d#0000000000000004"];

  it("a success wins over a failure of the same request, the first line counts, and a request never answered failed", async () => {
    const p = part("j1", [a, b, c], {
      output: [ok(a, "first"), ok(a, "second"), JSON.stringify({ custom_id: "not-ours", response: null })],
      error: [failed(a, "boom"), failed(b, "one"), failed(b, "two")],
    });
    const s = await summarizePart(p, "/v1/chat/completions");
    const byAddress = Object.fromEntries(s.addresses.map((x, i) => [x, [s.states[i], s.lines[i]]]));
    expect(byAddress).toEqual({ [a]: ["s", 1], [b]: ["f", -2], [c]: ["f", 0] });
    expect(s.unattributed).toBe(1);
    // Still running: what it was sent is pending.
    const running = await summarizePart({ ...p, final: false }, "/v1/chat/completions");
    expect(running.states).toBe("ppp");
  });

  it("reads the ids of what a part was sent from lines in any form: escapes, another key order, spaces", async () => {
    const quoted = 'say "hi"\\n#0000000000000005';
    const unicode = "caf\u00e9 \u2028#0000000000000006";
    const p = part("j2", [quoted, unicode, a], {});
    // Lines this package did not write itself: the id after the body, and JSON with spaces.
    fs.appendFileSync(
      p.files.input!,
      `${JSON.stringify({ body: {}, custom_id: b })}\n{ "custom_id" : "${c}", "body": {} }\n`,
    );
    const s = await summarizePart(p, "/v1/chat/completions");
    expect(s.addresses).toEqual([quoted, unicode, a, b, c]);
    expect(s.states).toBe("fffff");
  });

  it("a later part replaces an earlier record, except an earlier success", async () => {
    const first = part("k1", [a, b, c], { output: [ok(a, "yes")], error: [failed(b, "no"), failed(c, "no")] });
    const second = part("k2", [a, b, c, d], { output: [ok(b, "now yes")], error: [failed(a, "late")] });
    const record = await readRecord([first, second], "/v1/chat/completions");
    expect(Object.fromEntries(record.known)).toEqual({
      [a]: "succeeded",
      [b]: "succeeded",
      [c]: "failed",
      [d]: "failed",
    });
    expect(Object.fromEntries(record.source)).toEqual({ [a]: 0, [b]: 1 });
    expect(Object.fromEntries(record.line)).toEqual({ [a]: 1, [b]: 1 });
  });

  it("writeCurrent copies exactly the line that counts for each current request, custom_ids as in the dataset", async () => {
    const first = part("m1", [a, b, c], { output: [ok(a, "A1"), ok(c, "C1")], error: [failed(b, "B1")] });
    const second = part("m2", [b], { output: [ok(b, "B2")] });
    const parts = [first, second];
    const record = await readRecord(parts, "/v1/chat/completions");
    const out = path.join(dir, "current");
    const written = await writeCurrent(out, new Set([a, b]), parts, record);
    expect(written).toMatchObject({ succeeded: 2, failed: 0, errorPath: null, used: [0, 1] });
    const rows = fs
      .readFileSync(path.join(out, "output.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(rows.map((r) => [r.custom_id, r.response.body.choices[0].message.content])).toEqual([
      ["a", "A1"],
      ["b", "B2"],
    ]);

    // A result file changed since the record was read: refused, nothing half written.
    fs.writeFileSync(first.files.output ?? "", `${ok(c, "C1")}\n${ok(a, "A1")}\n`);
    await expect(writeCurrent(out, new Set([a, b]), parts, record)).rejects.toThrow(
      /m1\.output\.jsonl line 1 is not the result of a#0000000000000001 .*changed while `pulumi up` ran/,
    );
    expect(fs.existsSync(path.join(out, "output.jsonl.tmp"))).toBe(false);
  });
});

describe("the source's index", () => {
  it("names each request's line, and a delta read from it fails when a line changed since", async () => {
    const source = path.join(dir, "indexed.jsonl");
    const line = (id: string, content: string) =>
      JSON.stringify({ custom_id: id, body: { messages: [{ role: "user", content }] } });
    fs.writeFileSync(source, `${line("x", "one")}\n\n${line("y", "two")}\n${line("z", "three")}\n`);
    const index = await indexSource(source);
    expect(index.lines).toEqual([1, 3, 4]);
    expect(index.addresses.map((address) => address.split("#")[0])).toEqual(["x", "y", "z"]);
    const wanted = linesOf(index, new Set([index.addresses[1] ?? ""]));
    expect([...wanted.keys()]).toEqual([3]);
    const seen: unknown[] = [];
    await forEachIndexedRequest(source, wanted, (r) => seen.push(r.customId));
    expect(seen).toEqual(["y"]);

    fs.writeFileSync(source, `${line("x", "one")}\n\n${line("y", "TWO")}\n${line("z", "three")}\n`);
    await expect(writeDelta(source, wanted, path.join(dir, "stale.jsonl"))).rejects.toThrow(
      /indexed\.jsonl line 3 differs from what this update read of it moments before: it changed while `pulumi up` ran; nothing of it was submitted/,
    );
    expect(fs.existsSync(path.join(dir, "stale.jsonl"))).toBe(false);
    fs.writeFileSync(source, `${line("x", "one")}\n`);
    await expect(forEachIndexedRequest(source, wanted, () => {})).rejects.toThrow(
      /is shorter than what this update read/,
    );
  });
});

describe("withCustomId", () => {
  const address = "q1#00ff00ff00ff00ff";

  it("edits the custom_id of a result line as text, every other byte as written", () => {
    const text = `{"id":"b1","custom_id":"${address}","response":{"status_code":200,"body":{"x":"é"}},"error":null}`;
    expect(withCustomId(text, address, "q1")).toBe(text.replace(address, "q1"));
    expect(withCustomId(`{"custom_id" : "${address}"}`, address, 'a "quoted" id')).toBe(
      `{"custom_id" : "a \\"quoted\\" id"}`,
    );
  });

  it("declines (undefined) where the text alone cannot tell: no such key, or the address twice", () => {
    expect(withCustomId(`{"other":"${address}"}`, address, "q1")).toBeUndefined();
    expect(withCustomId(`{"custom_id":"${address}","echo":"${address}"}`, address, "q1")).toBeUndefined();
    expect(withCustomId(`{"custom_id":"q2"}`, address, "q1")).toBeUndefined();
  });

  it("whatever the line holds, an edit it makes is the line with only its custom_id changed", () => {
    const value = fc.oneof(fc.string(), fc.constant(address), fc.constant(`"custom_id":"${address}"`), fc.integer());
    fc.assert(
      fc.property(fc.dictionary(fc.string(), value), fc.nat(5), fc.string(), (fields, position, customId) => {
        const entries = Object.entries(fields).filter(([k]) => k !== "custom_id");
        entries.splice(Math.min(position, entries.length), 0, ["custom_id", address]);
        const line = Object.fromEntries(entries);
        const edited = withCustomId(JSON.stringify(line), address, customId);
        if (edited === undefined) return;
        expect(JSON.parse(edited)).toEqual({ ...line, custom_id: customId });
      }),
      { numRuns: 500 },
    );
  });
});
