import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { addressOf, requestKey } from "../../../provider/requestSet/address";
import { writeDelta } from "../../../provider/requestSet/store";

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
    const { requests, sha256 } = await writeDelta(source, submit, target);
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
