/**
 * The run-to-run history (provider/eval/history.ts): score codes, the diff of two runs (regressions, improvements,
 * significance, causes), and the files: a repeated run adds nothing and keeps its comparison, old runs and their
 * items files go, a damaged line is a note.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  declarationText,
  decodeScores,
  describeModelDiff,
  diffRuns,
  HistoryCollector,
  type HistoryEntry,
  type HistoryItems,
  MAX_RUNS,
  readHistory,
  recordRun,
  type RunRecord,
  shortHash,
} from "../../../provider/eval/history";
import { mcnemarExact } from "../../../provider/eval/stats";

let work: string;
let counter = 0;
const dir = () => path.join(work, `h${++counter}`);
beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), "eval-history-"));
});
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

const ids = (n: number) => Array.from({ length: n }, (_, i) => `q${i + 1}`);
function items(n: number, prompt = (i: number) => `What is ${i}?`): HistoryItems {
  return {
    ids: ids(n),
    prompts: ids(n).map((_, i) => shortHash(prompt(i))),
    expected: ids(n).map((_, i) => shortHash(JSON.stringify(String(i)))),
  };
}
function record(
  scores: Record<string, string>,
  n = Object.values(scores)[0]?.length ?? 0,
  extra: { model?: Record<string, string>; scorer?: string; at?: string; prompt?: (i: number) => string } = {},
): RunRecord {
  const its = items(n, extra.prompt);
  return {
    items: its,
    entry: {
      version: 1,
      at: extra.at ?? "2026-12-01T10:00:00.000Z",
      items: shortHash(JSON.stringify(its)),
      scorer: extra.scorer ?? '{"type":"exact"}',
      runs: Object.entries(scores).map(([label, s]) => ({
        label,
        model: extra.model?.[label] ?? label,
        overrides: "",
        answeredBy: [],
        scores: s,
      })),
    },
  };
}

describe("score codes", () => {
  it("encodes verdicts as one character per item and decodes them to scores (a failure 0, not judged NaN)", () => {
    const c = new HistoryCollector(["a", "b"]);
    c.add("q1", "p1", "e1", ["right", "wrong"], [1, 0]);
    c.add("q2", "p2", undefined, ["partial", "failed"], [0.25, null]);
    c.add("q3", { messages: [] }, null, ["unscored", "missing"], [null, undefined]);
    expect(c.scoresOf(0)).toEqual({ scores: "1p-", partials: [0.25] });
    expect(c.scoresOf(1)).toEqual({ scores: "0x." });
    expect(c.items.ids).toEqual(["q1", "q2", "q3"]);
    expect(c.items.expected[1]).toBe("");
    expect(c.items.prompts[0]).toBe(shortHash("p1"));
    expect([...decodeScores(c.scoresOf(0))]).toEqual([1, 0.25, Number.NaN]);
    expect([...decodeScores(c.scoresOf(1))]).toEqual([0, 0, Number.NaN]);
  });

  it("writes declarations as canonical JSON when short, a fingerprint when long, a function by name", () => {
    expect(declarationText({ b: 1, a: { d: 2, c: 3 } })).toBe('{"a":{"c":3,"d":2},"b":1}');
    expect(declarationText({})).toBe("");
    expect(declarationText(undefined)).toBe("");
    expect(declarationText({ text: "x".repeat(300) })).toMatch(/^sha256:[0-9a-f]{10}$/);
    function byLength() {
      return 1;
    }
    expect(declarationText(byLength)).toMatch(/^function byLength \([0-9a-f]{10}\)$/);
  });
});

describe("diffRuns", () => {
  it("names the regressed and improved items, the difference with its interval, McNemar, and the changed model", () => {
    const before = record({ small: "1111111111", large: "1111100000" }, 10, {
      model: { small: "mistral-small-latest" },
    });
    const now = record({ small: "1100111111", large: "1111100000" }, 10, {
      model: { small: "ministral-3b-latest" },
      at: "2026-12-02T10:00:00.000Z",
    });
    const d = diffRuns(before, now);
    expect(d.previousAt).toBe("2026-12-01T10:00:00.000Z");
    const [small, large] = d.models;
    expect(small).toMatchObject({ label: "small", n: 10, regressed: 2, improved: 0, regressedIds: ["q3", "q4"] });
    expect(small?.comparison?.difference).toBeCloseTo(-0.2, 10);
    expect(small?.comparison?.p).toBeCloseTo(mcnemarExact(0, 2), 12); // 0.5: two discordant items
    expect(small?.significant).toBe(false);
    expect(small?.causes).toEqual(["model mistral-small-latest → ministral-3b-latest"]);
    expect(large).toMatchObject({ regressed: 0, improved: 0, causes: [] });
    expect(describeModelDiff(large!)).toBe("large: no change on 10 items");
    expect(describeModelDiff(small!)).toBe(
      "small: 2 regressed, 0 improved of 10 items, -20.0 points (95% CI " +
        `${small!.comparison!.low <= 0 ? "-" : "+"}${Math.abs(small!.comparison!.low * 100).toFixed(1)} to ` +
        `${small!.comparison!.high >= 0 ? "+" : "-"}${Math.abs(small!.comparison!.high * 100).toFixed(1)}), ` +
        "not significant (McNemar p = 0.500, Holm-adjusted p = 1.000); cause: model mistral-small-latest → ministral-3b-latest",
    );
  });

  it("calls a large change significant, and says when nothing declared changed", () => {
    const n = 60;
    const before = record({ m: "1".repeat(n) });
    const now = record({ m: "0".repeat(20) + "1".repeat(n - 20) });
    const [m] = diffRuns(before, now).models;
    expect(m?.regressed).toBe(20);
    expect(m?.regressedIds).toHaveLength(20);
    expect(m?.significant).toBe(true);
    expect(describeModelDiff(m!)).toContain(
      "significant (McNemar p < 0.001); no declared change (same model, overrides, prompts and scorer)",
    );
  });

  it("names changed prompts, expected answers and scorer; pairs items by custom_id; counts added and removed", () => {
    const before = record({ m: "11110", gone: "11111" }, 5);
    const now = record({ m: "11101", fresh: "1111" }, 4, {
      prompt: (i) => (i === 3 ? "What is 3, really?" : `What is ${i}?`),
      scorer: '{"type":"contains"}',
    });
    const d = diffRuns(before, now);
    expect(d.added).toEqual(["fresh"]);
    expect(d.removed).toEqual(["gone"]);
    expect(d.itemsAdded).toBe(0);
    expect(d.itemsRemoved).toBe(1);
    expect(d.models).toHaveLength(1);
    const [m] = d.models;
    // q4 regressed (1 -> 0), the only changed item of the four in both runs; its prompt changed.
    expect(m).toMatchObject({ n: 4, regressed: 1, improved: 0, regressedIds: ["q4"] });
    expect(m?.causes).toEqual([
      "prompt changed on 1 of the 1 changed items",
      'scorer {"type":"exact"} → {"type":"contains"}',
    ]);
  });

  it("names a moved alias as the cause when the model's name is the same and what it resolved to is not", () => {
    const before = record({ m: "1111" });
    const now = record({ m: "1100" });
    before.entry.runs[0]!.resolved = "mistral-small-2506";
    now.entry.runs[0]!.resolved = "mistral-small-2507";
    expect(diffRuns(before, now).models[0]?.causes).toEqual(["m resolved to mistral-small-2506 → mistral-small-2507"]);
  });

  it("leaves items not judged in one of the runs out, and compares partial scores", () => {
    const before = record({ m: "1-x." });
    const now = record({ m: "-1p1" });
    now.entry.runs[0]!.partials = [0.5];
    const [m] = diffRuns(before, now).models;
    // Only q3 is judged in both: failed (0) before, 0.5 now.
    expect(m).toMatchObject({ n: 1, regressed: 0, improved: 1, improvedIds: ["q3"] });
  });

  it("is symmetric: what regressed one way improved the other (property)", () => {
    const runs = fc.stringMatching(/^[10x\-.]{1,40}$/);
    fc.assert(
      fc.property(runs, runs, (a, b) => {
        const n = Math.min(a.length, b.length);
        const forward = diffRuns(record({ m: a.slice(0, n) }), record({ m: b.slice(0, n) })).models[0];
        const backward = diffRuns(record({ m: b.slice(0, n) }), record({ m: a.slice(0, n) })).models[0];
        expect(forward?.regressed).toBe(backward?.improved);
        expect(forward?.improved).toBe(backward?.regressed);
        expect(forward?.n).toBe(backward?.n);
      }),
      { numRuns: 200 },
    );
  });
});

describe("recordRun: the files", () => {
  const entry = (scores: string, at: string): Omit<HistoryEntry, "version" | "items"> => ({
    at,
    scorer: '{"type":"exact"}',
    runs: [{ label: "m", model: "m", overrides: "", answeredBy: ["m-2506"], scores }],
  });

  it("has no comparison for the first run; compares with the previous one; a repeat adds nothing and keeps it", () => {
    const d = dir();
    expect(recordRun(d, entry("1111", "2026-12-01T00:00:00.000Z"), items(4)).diff).toBeUndefined();
    const second = recordRun(d, entry("1100", "2026-12-02T00:00:00.000Z"), items(4)).diff;
    expect(second?.models[0]).toMatchObject({ regressed: 2, regressedIds: ["q3", "q4"] });
    const again = recordRun(d, entry("1100", "2026-12-03T00:00:00.000Z"), items(4));
    expect(again.diff).toEqual(second);
    const { entries, notes } = readHistory(d);
    expect(notes).toEqual([]);
    expect(entries.map((e) => e.at)).toEqual(["2026-12-01T00:00:00.000Z", "2026-12-02T00:00:00.000Z"]);
    // One items file, shared by both runs.
    expect(fs.readdirSync(d).sort()).toEqual([`items-${entries[0]?.items}.json`, "runs.jsonl"]);
  });

  it(`keeps the last ${MAX_RUNS} runs and only the items files they name`, () => {
    const d = dir();
    for (let k = 0; k < MAX_RUNS + 5; k++) {
      recordRun(d, entry(k % 2 ? "10" : "01", new Date(Date.UTC(2026, 0, 1, 0, k)).toISOString()), items(2 + (k % 3)));
    }
    const { entries } = readHistory(d);
    expect(entries).toHaveLength(MAX_RUNS);
    expect(entries[0]?.at).toBe(new Date(Date.UTC(2026, 0, 1, 0, 5)).toISOString());
    const files = fs.readdirSync(d).filter((f) => f.startsWith("items-"));
    expect(files.sort()).toEqual([...new Set(entries.map((e) => `items-${e.items}.json`))].sort());
  });

  it("notes a damaged line and a lost items file, and compares with the run before", () => {
    const d = dir();
    recordRun(d, entry("11", "2026-12-01T00:00:00.000Z"), items(2));
    recordRun(d, entry("111", "2026-12-02T00:00:00.000Z"), items(3));
    const [, second] = readHistory(d).entries;
    fs.rmSync(path.join(d, `items-${second?.items}.json`));
    fs.appendFileSync(path.join(d, "runs.jsonl"), "{not json\n");
    const r = recordRun(d, entry("10", "2026-12-03T00:00:00.000Z"), items(2));
    expect(r.notes).toEqual([
      expect.stringMatching(/^history\/runs\.jsonl line 3: not JSON/),
      "history: the items of the run of 2026-12-02T00:00:00.000Z are missing; compared with an earlier run",
    ]);
    expect(r.diff?.previousAt).toBe("2026-12-01T00:00:00.000Z");
    expect(r.diff?.models[0]).toMatchObject({ regressed: 1, regressedIds: ["q2"] });
  });
});
