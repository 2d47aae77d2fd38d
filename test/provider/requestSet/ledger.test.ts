/**
 * The pure decisions of a RequestSet: request keys and addresses (address.ts), and the delta of an update
 * (ledger.ts), with fast-check properties: every current request is counted exactly once, only requests without a
 * result are submitted, and a set submitted once and answered submits nothing more.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { addressOf, KEY_HEX_DIGITS, parseAddress, requestKey } from "../../../provider/requestSet/address";
import { describeDelta, type Known, planDelta } from "../../../provider/requestSet/ledger";

describe("request keys and addresses", () => {
  it("a key is the body's content: key order does not matter, any value does", () => {
    const a = requestKey({ messages: [{ role: "user", content: "hi" }], temperature: 0 });
    expect(a).toMatch(new RegExp(`^[0-9a-f]{${KEY_HEX_DIGITS}}$`));
    expect(requestKey({ temperature: 0, messages: [{ content: "hi", role: "user" }] })).toBe(a);
    expect(requestKey({ messages: [{ role: "user", content: "hi" }], temperature: 1 })).not.toBe(a);
  });

  it("an address gives back its custom_id and key, whatever the custom_id holds (a # included)", () => {
    fc.assert(
      fc.property(fc.string(), fc.jsonValue(), (id, body) => {
        const key = requestKey(body);
        expect(parseAddress(addressOf(id, key))).toEqual({ customId: id, key });
      }),
    );
    expect(parseAddress("plain-id")).toBeUndefined();
    expect(parseAddress("a#0123")).toBeUndefined();
  });
});

const address = fc.constantFrom(
  ...Array.from({ length: 12 }, (_, i) => `r${i}#${"0".repeat(15)}${(i % 10).toString()}`),
);
const state = fc.constantFrom<Known>("succeeded", "failed", "pending");

describe("planDelta", () => {
  it("submits new and changed requests, reuses answered ones, counts removed ones", () => {
    const known = new Map<string, Known>([
      ["a#1", "succeeded"],
      ["b#1", "succeeded"],
      ["c#1", "failed"],
      ["d#1", "pending"],
    ]);
    const delta = planDelta(["a#1", "b#2", "c#1", "d#1", "e#1"], known, false);
    expect(delta).toEqual({
      requests: 5,
      submit: ["b#2", "e#1"],
      reused: 1,
      pending: 1,
      failed: 1,
      retried: 0,
      removed: 1,
    });
    expect(planDelta(["a#1", "c#1"], known, true)).toMatchObject({
      submit: ["c#1"],
      retried: 1,
      failed: 0,
      removed: 1,
    });
    expect(describeDelta(delta, "$0.004")).toBe(
      "+2 new, 1 reused, 1 still running, 1 failed (not retried: retryFailed is off), 1 removed, est. $0.004",
    );
  });

  it("counts each current request once, and submits exactly those without a result (or failed, when retried)", () => {
    fc.assert(
      fc.property(fc.array(address), fc.array(fc.tuple(address, state)), fc.boolean(), (current, entries, retry) => {
        const known = new Map(entries);
        const d = planDelta(current, known, retry);
        const distinct = new Set(current);
        expect(d.requests).toBe(distinct.size);
        expect(d.submit.length + d.reused + d.pending + d.failed).toBe(d.requests);
        expect(new Set(d.submit).size).toBe(d.submit.length);
        for (const a of d.submit) {
          const s = known.get(a);
          expect(s === undefined || (retry && s === "failed")).toBe(true);
        }
        const removed = [...known].filter(([a, s]) => s !== "pending" && !distinct.has(a)).length;
        expect(d.removed).toBe(removed);
      }),
    );
  });

  it("once what it submitted is answered, the same requests submit nothing", () => {
    fc.assert(
      fc.property(fc.array(address), fc.array(fc.tuple(address, state)), (current, entries) => {
        const known = new Map(entries);
        const first = planDelta(current, known, true);
        for (const a of first.submit) known.set(a, "succeeded");
        expect(planDelta(current, known, true).submit).toEqual([]);
      }),
    );
  });
});
