/**
 * Shard boundaries of an evaluation's dataset (provider/eval/shards.ts): within the caps, in order, stable under
 * edits (a body edit changes only its shard's bytes; an insertion or a deletion at most two shards), one shard for a
 * dataset within the caps. Property tests (fast-check) over generated datasets.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { cutShards, fingerprint, shardParameters, ShardCutter, type Shard } from "../../../provider/eval/shards";

type Line = readonly [string, number];
const lines = (ids: number[], bytes: (i: number) => number = () => 100): Line[] =>
  ids.map((k, i) => [`item-${k}`, bytes(i)] as const);

/** A shard as the lines it holds: its first and last custom_id and its size, which name it whatever its position. */
const span = (all: readonly Line[], s: Shard) =>
  `${all[s.start]?.[0]}..${all[s.start + s.requests - 1]?.[0]} (${s.requests}, ${s.bytes} B)`;
const spans = (all: readonly Line[], shards: Shard[]) => shards.map((s) => span(all, s));
const forcedBy = (shards: Shard[], ...why: Shard["end"][]) => shards.some((s) => why.includes(s.end));

/** Unique custom_id numbers, from lo to hi of them (any length in that range: `size: "max"`, not fast-check's small default). */
const uniqueIds = (lo: number, hi: number) =>
  fc.uniqueArray(fc.integer({ min: 0, max: 1_000_000 }), { minLength: lo, maxLength: hi, size: "max" });
const limitsArb = fc.record({
  maxRequests: fc.integer({ min: 1, max: 60 }),
  maxBytes: fc.integer({ min: 200, max: 4000 }),
});

describe("ShardCutter", () => {
  it("takes min = avg = a seventh of the request cap (at least 1)", () => {
    expect(shardParameters(100_000)).toEqual({ min: 14_285, avg: 14_285 });
    expect(shardParameters(3)).toEqual({ min: 1, avg: 1 });
  });

  it("makes one shard of a dataset within both caps, named by its first line's fingerprint", () => {
    const all = lines(Array.from({ length: 1000 }, (_, i) => i));
    const shards = cutShards(all, { maxRequests: 1000, maxBytes: 100_000 });
    expect(shards).toEqual([
      { id: fingerprint("item-0").slice(0, 8), start: 0, requests: 1000, bytes: 100_000, end: "last" },
    ]);
    expect(cutShards([], { maxRequests: 10, maxBytes: 10 })).toEqual([]);
  });

  it("cuts a larger one at content-defined boundaries, each shard named by its first custom_id", () => {
    const all = lines(Array.from({ length: 10_000 }, (_, i) => i));
    const shards = cutShards(all, { maxRequests: 1000, maxBytes: 1e9 });
    expect(shards.length).toBeGreaterThan(10);
    expect(shards.filter((s) => s.end === "boundary").length).toBeGreaterThan(shards.length / 2);
    for (const s of shards) {
      expect(s.id).toBe(fingerprint(all[s.start]![0]).slice(0, 8));
      expect(s.requests).toBeLessThanOrEqual(1000);
      if (s.end === "boundary" && s.start > 0) expect(s.requests).toBeGreaterThanOrEqual(shardParameters(1000).min);
    }
  });

  it("forces a cut before a line that would exceed the byte cap, and refuses a line larger than a file", () => {
    const shards = cutShards(
      lines([1, 2, 3, 4, 5], () => 40),
      { maxRequests: 100, maxBytes: 100 },
    );
    expect(shards.map((s) => [s.start, s.requests, s.bytes, s.end])).toEqual([
      [0, 2, 80, "bytes"],
      [2, 2, 80, "bytes"],
      [4, 1, 40, "last"],
    ]);
    expect(() => cutShards([["big", 101]], { maxRequests: 1, maxBytes: 100 })).toThrow(
      'line 1 (custom_id "big") takes 101 bytes uploaded; a file holds at most 100 bytes: shorten the line or raise the byte limit',
    );
    expect(() => new ShardCutter({ maxRequests: 0, maxBytes: 1 })).toThrow(
      "maxRequests is 0; expected a positive integer",
    );
  });

  it("suffixes a shard id already taken (the same first custom_id twice)", () => {
    const shards = cutShards(
      [
        ["a", 60],
        ["a", 60],
      ],
      { maxRequests: 5, maxBytes: 100 },
    );
    const id = fingerprint("a").slice(0, 8);
    expect(shards.map((s) => s.id)).toEqual([id, `${id}-2`]);
  });
});

describe("ShardCutter properties (fast-check)", () => {
  it("every shard is within both caps, and the shards concatenated are the lines in order", () => {
    fc.assert(
      fc.property(uniqueIds(0, 400), limitsArb, fc.integer({ min: 1, max: 200 }), (ids, limits, size) => {
        const all = lines(ids, (i) => 1 + ((i * 37) % size));
        const shards = cutShards(all, limits);
        let next = 0;
        for (const s of shards) {
          expect(s.start).toBe(next);
          expect(s.requests).toBeGreaterThanOrEqual(1);
          expect(s.requests).toBeLessThanOrEqual(limits.maxRequests);
          expect(s.bytes).toBeLessThanOrEqual(limits.maxBytes);
          expect(s.bytes).toBe(all.slice(s.start, s.start + s.requests).reduce((sum, [, b]) => sum + b, 0));
          next += s.requests;
        }
        expect(next).toBe(all.length);
      }),
    );
  });

  it("a dataset within both caps is exactly one shard", () => {
    fc.assert(
      fc.property(uniqueIds(1, 300), fc.integer({ min: 1, max: 50 }), (ids, size) => {
        const all = lines(ids, () => size);
        const shards = cutShards(all, { maxRequests: all.length + 3, maxBytes: all.length * size });
        expect(shards).toHaveLength(1);
        expect(shards[0]).toMatchObject({ start: 0, requests: all.length });
      }),
    );
  });

  it("editing one line's body changes only its shard's byte count, never a boundary, unless a byte cap forces one", () => {
    fc.assert(
      fc.property(
        uniqueIds(1, 400),
        limitsArb,
        fc.nat(),
        fc.integer({ min: 1, max: 150 }),
        (ids, limits, at, newSize) => {
          const before = lines(ids, (i) => 10 + (i % 7));
          const i = at % before.length;
          const after = before.map((l, k) => (k === i ? ([l[0], newSize] as const) : l));
          const a = cutShards(before, limits);
          const b = cutShards(after, limits);
          // Without a byte-forced cut on either side, and on the same side of the one-shard rule.
          fc.pre(!forcedBy(a, "bytes") && !forcedBy(b, "bytes") && (a.length === 1) === (b.length === 1));
          expect(b.map((s) => [s.id, s.start, s.requests, s.end])).toEqual(
            a.map((s) => [s.id, s.start, s.requests, s.end]),
          );
          const holding = a.findIndex((s) => i >= s.start && i < s.start + s.requests);
          b.forEach((s, k) => {
            if (k !== holding) expect(s.bytes).toBe(a[k]!.bytes);
            else expect(s.bytes - a[k]!.bytes).toBe(newSize - before[i]![1]);
          });
        },
      ),
      { numRuns: 300 },
    );
  });

  it("with a byte cap that never binds, editing a body moves no boundary at all", () => {
    fc.assert(
      fc.property(uniqueIds(1, 500), fc.integer({ min: 1, max: 80 }), fc.nat(), (ids, maxRequests, at) => {
        const before = lines(ids);
        const i = at % before.length;
        const after = before.map((l, k) => (k === i ? ([l[0], 5000] as const) : l));
        const shape = (s: Shard) => [s.id, s.start, s.requests, s.end];
        const limits = { maxRequests, maxBytes: 1e12 };
        expect(cutShards(after, limits).map(shape)).toEqual(cutShards(before, limits).map(shape));
      }),
    );
  });

  /**
   * One line inserted or deleted at a random place, or (half the time) at the last line of a shard: deleting a
   * boundary line is where a rule counting from the shard's start cascades (about 10% of such deletions, measured).
   */
  const editArb = fc.record({
    ids: uniqueIds(2, 600),
    maxRequests: fc.integer({ min: 4, max: 120 }),
    at: fc.nat(),
    insert: fc.boolean(),
    atBoundary: fc.boolean(),
  });
  type Edit = { ids: number[]; maxRequests: number; at: number; insert: boolean; atBoundary: boolean };
  const edit = ({ ids, maxRequests, at, insert, atBoundary }: Edit) => {
    const before = lines(ids);
    const limits = { maxRequests, maxBytes: 1e12 };
    const a = cutShards(before, limits);
    const shard = a[at % a.length]!;
    const i = atBoundary ? shard.start + shard.requests - 1 : at % before.length;
    const after = insert
      ? [...before.slice(0, i), ["inserted", 100] as const, ...before.slice(i)]
      : before.filter((_, k) => k !== i);
    const b = cutShards(after, limits);
    // Without forced cuts, on datasets over the request cap (else one shard).
    fc.pre(!forcedBy(a, "requests", "bytes") && !forcedBy(b, "requests", "bytes"));
    fc.pre(before.length > maxRequests && after.length > maxRequests);
    return { before, after, a, b, i, min: shardParameters(maxRequests).min };
  };

  it("inserting or deleting one line changes at most two shards (without forced cuts)", () => {
    fc.assert(
      fc.property(editArb, (e) => {
        const { before, after, a, b } = edit(e);
        const old = new Set(spans(before, a));
        const now = new Set(spans(after, b));
        expect([...now].filter((s) => !old.has(s)).length).toBeLessThanOrEqual(2);
        expect([...old].filter((s) => !now.has(s)).length).toBeLessThanOrEqual(2);
      }),
      { numRuns: 600 },
    );
  });

  it("an insertion or deletion moves no content-defined boundary outside the min lines after it (no cascade)", () => {
    fc.assert(
      fc.property(editArb, (e) => {
        const { before, after, a, b, i, min } = edit(e);
        // The custom_ids that end a shard at a content-defined boundary, outside the lines [i, i + min) of `before`.
        const window = new Set(before.slice(i, i + min).map(([id]) => id));
        const ends = (all: readonly Line[], shards: Shard[]) =>
          shards
            .filter((s) => s.end === "boundary")
            .map((s) => all[s.start + s.requests - 1]![0])
            .filter((id) => !window.has(id) && id !== "inserted");
        expect(ends(after, b)).toEqual(ends(before, a));
      }),
      { numRuns: 600 },
    );
  });

  it("the same lines always give the same shards", () => {
    fc.assert(
      fc.property(uniqueIds(0, 300), limitsArb, (ids, limits) => {
        const all = lines(ids, (i) => 5 + (i % 11));
        expect(cutShards(all, limits)).toEqual(cutShards(all, limits));
      }),
    );
  });
});
