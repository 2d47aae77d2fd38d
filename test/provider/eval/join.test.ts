/**
 * The hash-partitioned join (provider/eval/join.ts): same figures whatever the number of buckets and the order of
 * the result lines or of which file holds them; missing, duplicate and unknown ids, lines without custom_id and lines
 * that are not JSON counted and reported; scoring with a scorer or a ScoreFn; errors naming file and line; cleanup;
 * and the split of a dataset carrying its expected answers.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { answerRequest, checkableAnswer, DEFAULT_MODELS, extractAnswer } from "../../../packages/emulator/src/models";
import { isClean, scanJsonlFile } from "../../../provider/jsonl";
import {
  aggregateStatus,
  bucketOf,
  expectedFromField,
  joinResults,
  MISSING_ERROR,
  type JoinOptions,
  type JoinRow,
} from "../../../provider/eval/join";
import { cost, DEFAULT_PRICES } from "../../../provider/eval/pricing";
import type { ModelSummary } from "../../../provider/eval/types";
import { chatResult } from "../../support/resultLines";

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "join-test-"));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

const CHAT = "/v1/chat/completions" as const;
const f = (name: string) => path.join(dir, name);
const write = (name: string, lines: unknown[]) => {
  fs.writeFileSync(f(name), `${lines.map((l) => (typeof l === "string" ? l : JSON.stringify(l))).join("\n")}\n`);
  return f(name);
};
const readRows = (file: string): JoinRow[] =>
  fs
    .readFileSync(file, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l));
const byId = (rows: JoinRow[]) =>
  [...rows].sort((a, b) => (a.customId < b.customId ? -1 : a.customId > b.customId ? 1 : 0));

/** Deterministic shuffle (mulberry32). */
function shuffle<T>(items: T[], seed: number): T[] {
  const a = [...items];
  let s = seed;
  const rnd = () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

const ok = chatResult;
const errObj = (id: string) => ({
  id: "x",
  custom_id: id,
  response: { status_code: 500, body: { object: "error", message: "boom" } },
  error: { message: "Internal error", code: "500" },
});
const errString = (id: string) => ({ id: "x", custom_id: id, response: null, error: "overloaded" });
const errStatus = (id: string) => ({
  id: "x",
  custom_id: id,
  response: {
    status_code: 429,
    body: { message: "Rate limit exceeded", usage: { prompt_tokens: 3, completion_tokens: 0 } },
  },
  error: null,
});

/**
 * A scenario with known figures. 60 items q-00..q-59, `What is i + 1?`, expected i + 1; items 50..59 have no
 * expected answer. Three models:
 *  - alpha: answers everything; right unless i % 4 == 0 (wrong by one). One extra line for an unknown id.
 *  - beta: i % 10 == 0 fail (three error forms, in the error file; one also answered in the output: success wins);
 *    i % 10 == 5 missing; others right. q-01 answered twice (first right, then wrong: the first is kept).
 *  - gamma: no files at all.
 */
function scenario() {
  const n = 60;
  const id = (i: number) => `q-${String(i).padStart(2, "0")}`;
  const dataset = write(
    "dataset.jsonl",
    Array.from({ length: n }, (_, i) => ({
      custom_id: id(i),
      body: {
        model: "x",
        messages: [
          { role: "system", content: "Be brief." },
          { role: "user", content: `What is ${i} + 1?` },
        ],
      },
    })),
  );
  const expected = write(
    "expected.jsonl",
    shuffle(
      Array.from({ length: 50 }, (_, i) => ({ custom_id: id(i), expected: i % 2 ? i + 1 : String(i + 1) })),
      1,
    ),
  );
  const truth = {
    alpha: { succeeded: 0, scoreSum: 0, scored: 0, p: 0, c: 0 },
    beta: { succeeded: 0, failed: 0, missing: 0, scoreSum: 0, scored: 0, p: 0, c: 0 },
  };
  const alpha: unknown[] = [];
  for (let i = 0; i < n; i++) {
    const right = i % 4 !== 0;
    alpha.push(ok(id(i), `The answer is ${right ? i + 1 : i + 2}.`, 10 + i, 5));
    truth.alpha.succeeded++;
    truth.alpha.p += 10 + i;
    truth.alpha.c += 5;
    if (i < 50) {
      truth.alpha.scored++;
      truth.alpha.scoreSum += right ? 1 : 0;
    }
  }
  alpha.push(ok("not-in-dataset", "The answer is 1."));
  const betaOut: unknown[] = [];
  const betaErr: unknown[] = [];
  const forms = [errObj, errString, errStatus];
  for (let i = 0; i < n; i++) {
    if (i % 10 === 5) {
      truth.beta.missing++;
      truth.beta.failed++;
      continue;
    }
    if (i % 10 === 0) {
      const e = forms[(i / 10) % 3]!(id(i));
      betaErr.push(e);
      if (i === 30) {
        // also answered (right) in the output file: the success is kept
        betaOut.push(ok(id(i), `The answer is ${i + 1}.`, 7, 2));
        truth.beta.succeeded++;
        truth.beta.p += 7;
        truth.beta.c += 2;
        truth.beta.scored++;
        truth.beta.scoreSum++;
      } else {
        truth.beta.failed++;
        if (forms[(i / 10) % 3] === errStatus) truth.beta.p += 3;
      }
      continue;
    }
    betaOut.push(ok(id(i), `Let me see: ${i} + 1 = ${i + 1}. The answer is ${i + 1}.`, 8, 4));
    truth.beta.succeeded++;
    truth.beta.p += 8;
    truth.beta.c += 4;
    if (i < 50) {
      truth.beta.scored++;
      truth.beta.scoreSum++;
    }
  }
  betaOut.push(ok(id(1), "The answer is 999.", 8, 4)); // a duplicate of q-01, wrong: kept is the smaller answer text, "Let me see: ..." (right)
  const options: JoinOptions = {
    dataset,
    expected,
    endpoint: CHAT,
    scorer: { type: "numeric" },
    prices: DEFAULT_PRICES,
    models: [
      {
        model: "mistral-large-latest",
        outputFile: write("alpha.out.jsonl", shuffle(alpha, 2)),
        jobId: "job-a",
        status: "SUCCESS",
      },
      {
        model: "mistral-small-latest",
        outputFile: write("beta.out.jsonl", shuffle(betaOut, 3)),
        errorFile: write("beta.err.jsonl", shuffle(betaErr, 4)),
        jobId: "job-b",
        status: "SUCCESS",
      },
      { model: "ministral-3b-latest", status: "FAILED" },
    ],
    outFile: f("rows.jsonl"),
    workDir: f("work"),
  };
  return { options, truth, n, id };
}

describe("joinResults: figures", () => {
  it("summaries match the scenario's truth", async () => {
    const { options, truth, n } = scenario();
    const r = await joinResults(options);
    expect(r.items).toBe(n);
    const [a, b, g] = r.summaries as [ModelSummary, ModelSummary, ModelSummary];
    expect(a).toMatchObject({
      model: "mistral-large-latest",
      jobId: "job-a",
      status: "SUCCESS",
      total: n,
      succeeded: n,
      failed: 0,
      missing: 0,
      duplicates: 0,
      unknownIds: 1,
      expectedItems: 50,
      scored: 50,
    });
    expect(a.accuracy).toBeCloseTo(truth.alpha.scoreSum / 50, 12);
    expect(a.strictAccuracy).toBeCloseTo(truth.alpha.scoreSum / 50, 12);
    expect(a.promptTokens).toBe(truth.alpha.p);
    expect(a.completionTokens).toBe(truth.alpha.c);
    expect(a.cost).toBeCloseTo(cost(DEFAULT_PRICES, "mistral-large-latest", truth.alpha.p, truth.alpha.c)!, 15);
    // 12 items answered wrong (i % 4 == 0 under 50: 0, 4, ..., 48 -> 13): accuracy 37/50
    expect(truth.alpha.scoreSum).toBe(37);
    // Right or wrong: Wilson's interval of 37 of 50 (statsmodels: 0.604468, 0.841285).
    expect(a.accuracyInterval).toMatchObject({ method: "wilson", n: 50 });
    expect(a.accuracyInterval!.low).toBeCloseTo(0.6044684273515116, 7);
    expect(a.accuracyInterval!.high).toBeCloseTo(0.841284725064476, 7);

    expect(b).toMatchObject({
      total: n,
      succeeded: truth.beta.succeeded,
      failed: truth.beta.failed,
      missing: truth.beta.missing,
      duplicates: 2,
      unknownIds: 0,
      expectedItems: 50,
      scored: truth.beta.scored,
    });
    expect(b.succeeded + b.failed).toBe(n);
    expect(b.accuracy).toBe(1);
    expect(b.strictAccuracy).toBeCloseTo(truth.beta.scoreSum / 50, 12);
    expect(b.promptTokens).toBe(truth.beta.p);
    expect(b.completionTokens).toBe(truth.beta.c);

    expect(g).toMatchObject({
      status: "FAILED",
      total: n,
      succeeded: 0,
      failed: n,
      missing: n,
      scored: 0,
      accuracy: null,
      strictAccuracy: 0,
      promptTokens: 0,
      completionTokens: 0,
      cost: 0,
    });
    // the dataset estimate: per item "Be brief." (3 + 1) + "What is i + 1?" (4 + 1 for i < 10, 4 + 1 for 14-15 chars)
    expect(a.estimatedInputTokens).toBe(g.estimatedInputTokens);
    expect(a.estimatedInputTokens).toBe(
      Array.from({ length: n }, (_, i) => 4 + Math.ceil(`What is ${i} + 1?`.length / 4) + 1).reduce((x, y) => x + y),
    );
  });

  it("reports what it did not join, with example ids", async () => {
    const { options } = scenario();
    const r = await joinResults(options);
    expect(r.warnings).toContain(
      'mistral-large-latest: 1 result line(s) for custom_ids not in the dataset ("not-in-dataset"); not joined',
    );
    expect(r.warnings).toContain(
      'mistral-small-latest: 6 dataset item(s) have no result (job status SUCCESS) ("q-05", "q-15", "q-25", "q-35", "q-45", …); counted as failed',
    );
    expect(r.warnings).toContain(
      'mistral-small-latest: 2 extra result line(s) for custom_ids already answered ("q-01", "q-30"); one is kept: a success over an error, else the smallest answer',
    );
    expect(r.warnings).toContain("ministral-3b-latest: no output file and no error file");
    expect(
      r.warnings.some((w) =>
        w.startsWith("ministral-3b-latest: 60 dataset item(s) have no result (job status FAILED)"),
      ),
    ).toBe(true);
    expect(r.warnings).toHaveLength(5);
  });

  it("rows: one per dataset item, every model's answer, error, score and tokens", async () => {
    const { options, n } = scenario();
    const r = await joinResults(options);
    expect(r.rowsFile).toBe(options.outFile);
    const rows = readRows(r.rowsFile);
    expect(rows).toHaveLength(n);
    const get = (id: string) => rows.find((x) => x.customId === id)!;
    expect(get("q-04")).toEqual({
      customId: "q-04",
      prompt: "What is 4 + 1?",
      expected: "5",
      answers: {
        "mistral-large-latest": {
          answer: "The answer is 6.",
          error: null,
          score: 0,
          promptTokens: 14,
          completionTokens: 5,
          finishReason: "stop", // the result line's choices[0].finish_reason
        },
        "mistral-small-latest": {
          answer: "Let me see: 4 + 1 = 5. The answer is 5.",
          error: null,
          score: 1,
          promptTokens: 8,
          completionTokens: 4,
          finishReason: "stop",
        },
        "ministral-3b-latest": {
          answer: null,
          error: MISSING_ERROR,
          score: null,
          promptTokens: 0,
          completionTokens: 0,
        },
      },
    });
    expect(get("q-01").answers["mistral-small-latest"]!.answer).toBe("Let me see: 1 + 1 = 2. The answer is 2."); // the smaller text
    expect(get("q-01").expected).toBe(2);
    expect(get("q-10").answers["mistral-small-latest"]).toEqual({
      answer: null,
      error: "overloaded",
      score: null,
      promptTokens: 0,
      completionTokens: 0,
    });
    expect(get("q-20").answers["mistral-small-latest"]).toEqual({
      answer: null,
      error: "HTTP 429: Rate limit exceeded",
      score: null,
      promptTokens: 3,
      completionTokens: 0,
    });
    expect(get("q-00").answers["mistral-small-latest"]!.error).toBe("HTTP 500: Internal error");
    expect(get("q-30").answers["mistral-small-latest"]).toEqual({
      answer: "The answer is 31.",
      error: null,
      score: 1,
      promptTokens: 7,
      completionTokens: 2,
      finishReason: "stop",
    });
    expect(get("q-05").answers["mistral-small-latest"]!.error).toBe(MISSING_ERROR);
    expect("expected" in get("q-55")).toBe(false);
    expect(get("q-55").answers["mistral-large-latest"]!.score).toBeNull();
  });

  it("the same summaries and rows with 1, 3, 7 buckets or P chosen from a small itemsPerPartition; one bucket keeps dataset order", async () => {
    const { options, id, n } = scenario();
    const one = await joinResults({ ...options, partitions: 1, outFile: f("rows1.jsonl") });
    expect(one.partitions).toBe(1);
    const rows1 = readRows(one.rowsFile);
    expect(rows1.map((r) => r.customId)).toEqual(Array.from({ length: n }, (_, i) => id(i)));
    for (const p of [3, 7]) {
      const r = await joinResults({ ...options, partitions: p, outFile: f(`rows${p}.jsonl`) });
      expect(r.partitions).toBe(p);
      expect(r.summaries).toEqual(one.summaries);
      expect(r.warnings).toEqual(one.warnings);
      const rows = readRows(r.rowsFile);
      expect(rows.map((x) => x.customId)).not.toEqual(rows1.map((x) => x.customId)); // grouped by bucket
      expect(byId(rows)).toEqual(byId(rows1));
    }
    const auto = await joinResults({ ...options, itemsPerPartition: 8, outFile: f("rows-auto.jsonl") });
    expect(auto.partitions).toBe(Math.ceil(n / 8));
    expect(auto.summaries).toEqual(one.summaries);
    const bytes = await joinResults({ ...options, bytesPerPartition: 4096, outFile: f("rows-bytes.jsonl") });
    expect(bytes.partitions).toBeGreaterThan(2);
    expect(bytes.summaries).toEqual(one.summaries);
  });

  it("does not depend on the order of the result lines", async () => {
    const { options } = scenario();
    const first = await joinResults({ ...options, partitions: 4 });
    for (const m of options.models) {
      for (const file of [m.outputFile, m.errorFile]) {
        if (!file) continue;
        const lines = fs.readFileSync(file, "utf8").split("\n").filter(Boolean);
        fs.writeFileSync(file, `${shuffle(lines.reverse(), 99).join("\n")}\n`);
      }
    }
    const again = await joinResults({ ...options, partitions: 4, outFile: f("rows-again.jsonl") });
    expect(again.summaries).toEqual(first.summaries);
    expect(byId(readRows(again.rowsFile))).toEqual(byId(readRows(first.rowsFile)));
  });

  it("leaves no temporary files: the buckets' directory is removed, the rows file is complete", async () => {
    const { options } = scenario();
    await joinResults({ ...options, partitions: 5 });
    expect(fs.readdirSync(options.workDir)).toEqual([]);
    expect(fs.existsSync(`${options.outFile}.part`)).toBe(false);
  });
});

describe("joinResults: inputs", () => {
  it("expected answers as a Map give the same figures as the file", async () => {
    const { options } = scenario();
    const fromFile = await joinResults(options);
    const map = new Map<string, unknown>();
    for (const l of fs
      .readFileSync(options.expected as string, "utf8")
      .split("\n")
      .filter(Boolean)) {
      const e = JSON.parse(l);
      map.set(e.custom_id, e.expected);
    }
    const fromMap = await joinResults({ ...options, expected: map, outFile: f("rows-map.jsonl") });
    expect(fromMap.summaries).toEqual(fromFile.summaries);
  });

  it("counts and reports duplicate dataset ids and expected entries that are repeated, unknown or without a value", async () => {
    const dataset = write("d.jsonl", [
      { custom_id: "a", body: { messages: [{ role: "user", content: "first a" }] } },
      "",
      { custom_id: "b", body: { messages: [{ role: "user", content: "b" }] } },
      { custom_id: "a", body: { messages: [{ role: "user", content: "second a" }] } },
    ]);
    const expected = write("e.jsonl", [
      { custom_id: "a", expected: 1 },
      { custom_id: "a", expected: 2 },
      { custom_id: "zz", expected: 3 },
      { custom_id: "b" },
    ]);
    const out = write("o.jsonl", [ok("a", "1"), ok("b", "2")]);
    const r = await joinResults({
      dataset,
      expected,
      endpoint: CHAT,
      scorer: { type: "exact" },
      models: [{ model: "m", outputFile: out }],
      outFile: f("rows.jsonl"),
      workDir: f("w"),
      partitions: 2,
    });
    expect(r.items).toBe(2);
    expect(r.summaries[0]).toMatchObject({
      total: 2,
      succeeded: 2,
      expectedItems: 1,
      scored: 1,
      accuracy: 1,
      strictAccuracy: 1,
      cost: null,
    });
    expect(r.warnings).toEqual([
      'dataset: 1 line(s) repeat a custom_id ("a"); the first line of each is used',
      'expected: 1 entr(ies) without an expected value ("b"); ignored',
      'expected: 1 entr(ies) repeat a custom_id ("a"); the first is used',
      'expected: 1 entr(ies) for custom_ids not in the dataset ("zz"); ignored',
      "m: no price in the price table of 2026-11-01; cost is null",
    ]);
    const rows = readRows(r.rowsFile);
    expect(rows.find((x) => x.customId === "a")).toMatchObject({ prompt: "first a", expected: 1 });
  });

  it("of several results for one id, the same one is kept whatever the order: a success over an error, else the smaller answer", async () => {
    const dataset = write("d.jsonl", [{ custom_id: "a", body: { messages: [{ role: "user", content: "q" }] } }]);
    for (const [name, lines, kept] of [
      ["e-first", [errString("a"), ok("a", "yes")], "yes"],
      ["s-first", [ok("a", "yes"), errString("a")], "yes"],
      ["z-first", [ok("a", "zeta"), ok("a", "alpha"), errObj("a")], "alpha"],
      ["a-first", [errObj("a"), ok("a", "alpha"), ok("a", "zeta")], "alpha"],
    ] as const) {
      const out = write(`${name}.jsonl`, [...lines]);
      const r = await joinResults({
        dataset,
        endpoint: CHAT,
        models: [{ model: "m", outputFile: out }],
        outFile: f(`${name}.rows`),
        workDir: f("w"),
      });
      expect(r.summaries[0]).toMatchObject({ succeeded: 1, failed: 0, duplicates: lines.length - 1 });
      expect(readRows(r.rowsFile)[0]!.answers.m!.answer).toBe(kept);
    }
    const errs = write("errs.jsonl", [errString("a"), errObj("a")]);
    const r = await joinResults({
      dataset,
      endpoint: CHAT,
      models: [{ model: "m", errorFile: errs }],
      outFile: f("errs.rows"),
      workDir: f("w"),
    });
    expect(r.summaries[0]).toMatchObject({ succeeded: 0, failed: 1, missing: 0, duplicates: 1 });
    expect(readRows(r.rowsFile)[0]!.answers.m!.error).toBe("HTTP 500: Internal error");
  });

  it("records the models the responses name (answeredBy), the most answers first, from the fast and the slow path", async () => {
    const named = (id: string, model: string, late = false) => {
      const line = chatResult(id, "4");
      const body: Record<string, unknown> = late
        ? { ...line.response.body, model } // after choices and usage: read by the slow path
        : { model, ...line.response.body };
      return { ...line, response: { ...line.response, body } };
    };
    const dataset = write(
      "d.jsonl",
      ["a", "b", "c", "d"].map((id) => ({ custom_id: id, body: { messages: [] } })),
    );
    const out = write("o.jsonl", [
      named("a", "small-2507"),
      named("b", "small-2506", true),
      named("c", "small-2506"),
      errObj("d"),
    ]);
    const plain = write("p.jsonl", [chatResult("a", "4")]);
    const r = await joinResults({
      dataset,
      endpoint: CHAT,
      models: [
        { model: "small", outputFile: out },
        { model: "plain", outputFile: plain },
      ],
      outFile: f("rows.jsonl"),
      workDir: f("work"),
    });
    expect(r.summaries[0]?.answeredBy).toEqual(["small-2506", "small-2507"]);
    expect(r.summaries[1]?.answeredBy).toBeUndefined();
  });

  it("without a scorer nothing is scored, and it says so", async () => {
    const { options } = scenario();
    const r = await joinResults({ ...options, scorer: undefined });
    expect(r.summaries.map((s) => [s.scored, s.accuracy, s.strictAccuracy, s.expectedItems])).toEqual([
      [0, null, null, 50],
      [0, null, null, 50],
      [0, null, null, 50],
    ]);
    expect(r.warnings).toContain(
      "50 item(s) have an expected answer but no scorer or scoreFn is given; nothing is scored",
    );
    expect(readRows(r.rowsFile).every((row) => Object.values(row.answers).every((a) => a.score === null))).toBe(true);
  });

  it("a scorer without expected answers scores nothing, and says so", async () => {
    const { options } = scenario();
    const r = await joinResults({ ...options, expected: undefined });
    expect(r.summaries[0]).toMatchObject({ expectedItems: 0, scored: 0, accuracy: null, strictAccuracy: null });
    expect(r.warnings).toContain("a scorer is given but no expected answers; nothing is scored");
  });

  it("a ScoreFn receives answer, expected and the item; booleans and numbers count", async () => {
    const { options } = scenario();
    const calls: string[] = [];
    const r = await joinResults({
      ...options,
      scorer: undefined,
      scoreFn: (answer, expected, item) => {
        calls.push(item.customId);
        expect(item.prompt).toMatch(/^What is \d+ \+ 1\?$/);
        return item.customId.endsWith("1") ? 0.5 : answer.includes(String(expected));
      },
    });
    expect(calls.length).toBe(r.summaries[0]!.scored + r.summaries[1]!.scored);
    expect(r.summaries[0]!.scored).toBe(50);
    // Scores of 0.5 are not right or wrong: the mean with 1.96 standard errors.
    const interval = r.summaries[0]!.accuracyInterval!;
    expect(interval).toMatchObject({ method: "mean ± 1.96 SE", n: 50 });
    const mean = r.summaries[0]!.accuracy!;
    expect(interval.low).toBeCloseTo(mean - 1.959964 * interval.standardError!, 6);
    expect(interval.standardError).toBeGreaterThan(0);
    const numeric = await joinResults({ ...options, outFile: f("num.jsonl") });
    expect(r.summaries[1]!.accuracy).toBeLessThan(numeric.summaries[1]!.accuracy!);
  });

  it("maxPromptChars cuts prompts in rows", async () => {
    const { options } = scenario();
    const r = await joinResults({ ...options, maxPromptChars: 6 });
    expect(readRows(r.rowsFile)[0]!.prompt).toBe("What …");
  });
});

describe("joinResults: errors", () => {
  it("rejects bad options before reading anything", async () => {
    const { options } = scenario();
    await expect(joinResults({ ...options, models: [] })).rejects.toThrow("models is empty");
    await expect(joinResults({ ...options, models: [{ model: "a" }, { model: "a" }] })).rejects.toThrow(
      'models[1].model is "a", named twice',
    );
    await expect(joinResults({ ...options, scoreFn: () => true })).rejects.toThrow(
      "more than one of scorer, scoreFn and scores is given",
    );
    await expect(joinResults({ ...options, partitions: 0 })).rejects.toThrow(
      "partitions is 0; expected an integer from 1 to 1024",
    );
    await expect(joinResults({ ...options, scorer: { type: "numeric", tolerance: -1 } })).rejects.toThrow(
      "scorer.tolerance is -1",
    );
    await expect(joinResults({ ...options, prices: { date: "", models: {} } })).rejects.toThrow('prices.date is ""');
    expect(fs.existsSync(options.workDir)).toBe(false);
  });

  it("names a missing input file", async () => {
    const { options } = scenario();
    await expect(joinResults({ ...options, models: [{ model: "m", outputFile: f("nope.jsonl") }] })).rejects.toThrow(
      `m outputFile: ${f("nope.jsonl")} does not exist or is not a file`,
    );
    await expect(joinResults({ ...options, dataset: f("nope.jsonl") })).rejects.toThrow(
      /^dataset: .*nope\.jsonl does not exist/,
    );
  });

  it("a result line that is not JSON does not fail the join: counted as unreadable, reported with file and line", async () => {
    const { options } = scenario();
    const bad = options.models[1]?.errorFile ?? "";
    fs.appendFileSync(bad, '{"custom_id": "q-01", "response": \n');
    const lines = fs.readFileSync(bad, "utf8").split("\n").length - 1;
    const r = await joinResults({ ...options, partitions: 3 });
    expect(r.summaries[1]).toMatchObject({ unreadable: 1, unattributed: 0 });
    expect(r.warnings).toContainEqual(
      expect.stringMatching(
        new RegExp(
          `^mistral-small-latest: 1 result line\\(s\\) are not JSON objects, counted as unreadable and not joined \\(${bad.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")} line ${lines}: not valid JSON`,
        ),
      ),
    );
    expect(fs.readdirSync(options.workDir)).toEqual([]);
  });

  it("names the file and line of a malformed dataset or expected line", async () => {
    const { options } = scenario();
    fs.appendFileSync(options.dataset as string, '{"custom_id": "", "body": {}}\n');
    await expect(joinResults(options)).rejects.toThrow(
      `${options.dataset} line 61: custom_id is ""; expected a non-empty string, unique in the file`,
    );
    const { options: o2 } = scenario();
    fs.appendFileSync(o2.expected as string, '{"id": "x", "expected": 1}\n');
    await expect(joinResults(o2)).rejects.toThrow(
      `${o2.expected} line 51: custom_id is missing; expected a line { "custom_id": string, "expected": any JSON }`,
    );
  });

  it("a scorer failing on an item (a non-numeric expected answer) names the item and model; a bad ScoreFn result too", async () => {
    const { options } = scenario();
    fs.writeFileSync(options.expected as string, `${JSON.stringify({ custom_id: "q-03", expected: "four" })}\n`);
    await expect(joinResults(options)).rejects.toThrow(
      'scoring custom_id "q-03" (model mistral-large-latest): numeric scorer: the expected answer is "four"',
    );
    const { options: o2 } = scenario();
    await expect(joinResults({ ...o2, scorer: undefined, scoreFn: () => 2 })).rejects.toThrow(
      /^scoreFn for custom_id "q-\d+" \(model mistral-large-latest\) returned 2; expected true\/false or a finite number in \[0, 1\]$/,
    );
    expect(fs.existsSync(o2.outFile)).toBe(false);
    expect(fs.readdirSync(o2.workDir)).toEqual([]);
  });
});

describe("joinResults: results as Mistral writes them", () => {
  const dataset = () =>
    write(
      "d.jsonl",
      ["a", "b", "c", "d", "e"].map((id) => ({ custom_id: id, body: { messages: [{ role: "user", content: id }] } })),
    );
  /** The failure line of Mistral's SDK fixture (a bare-string error, a 429, body null), with or without custom_id. */
  const rateLimited = (id?: string) => ({
    ...(id === undefined ? {} : { custom_id: id }),
    response: { status_code: 429, body: null },
    error: "rate limited",
  });

  it("merges the output and error files by custom_id: inline errors in the output file, successes in the error file", async () => {
    const out = write("out.jsonl", [ok("a", "A"), rateLimited("b"), ok("c", "C")]);
    const err = write("err.jsonl", [ok("b", "B"), errObj("c"), errString("d")]);
    const r = await joinResults({
      dataset: dataset(),
      endpoint: CHAT,
      models: [{ model: "m", outputFile: out, errorFile: err }],
      outFile: f("rows.jsonl"),
      workDir: f("w"),
    });
    expect(r.summaries[0]).toMatchObject({
      total: 5,
      succeeded: 3,
      failed: 2,
      missing: 1,
      duplicates: 2,
      unattributed: 0,
      unreadable: 0,
    });
    const rows = Object.fromEntries(readRows(r.rowsFile).map((row) => [row.customId, row.answers.m]));
    expect(rows.a?.answer).toBe("A");
    expect(rows.b?.answer).toBe("B"); // the success in the error file over the inline 429 of the output file
    expect(rows.c?.answer).toBe("C");
    expect(rows.d?.error).toBe("overloaded");
    expect(rows.e?.error).toBe(MISSING_ERROR);
  });

  it("lines without custom_id, in either file, are unattributed failures: counted per model, reported with file, line and message", async () => {
    const out = write("out.jsonl", [
      ok("a", "A"),
      rateLimited(),
      { id: "9-uuid", custom_id: null, error: { message: "Request timed out" } },
    ]);
    const err = write("err.jsonl", [
      errObj("b"),
      rateLimited(),
      "not json at all",
      { response: { status_code: 200, body: ok("x", "X").response.body } },
    ]);
    const r = await joinResults({
      dataset: dataset(),
      endpoint: CHAT,
      models: [
        { model: "m", outputFile: out, errorFile: err },
        {
          model: "clean",
          outputFile: write(
            "clean.jsonl",
            ["a", "b", "c", "d", "e"].map((id) => ok(id, id)),
          ),
        },
      ],
      outFile: f("rows.jsonl"),
      workDir: f("w"),
    });
    expect(r.summaries[0]).toMatchObject({
      total: 5,
      succeeded: 1,
      failed: 4,
      missing: 3,
      unattributed: 4,
      unreadable: 1,
      promptTokens: 10,
    });
    expect(r.summaries[1]).toMatchObject({ succeeded: 5, unattributed: 0, unreadable: 0 });
    expect(r.warnings).toContain(
      `m: 4 result line(s) name no custom_id, counted as unattributed failures and not joined; they likely belong to the 3 item(s) without a result (${out} line 2: HTTP 429: rate limited; ${out} line 3 (line id "9-uuid"): Request timed out; ${err} line 2: HTTP 429: rate limited; ${err} line 4: a successful answer)`,
    );
    expect(r.warnings).toContainEqual(
      expect.stringMatching(
        /^m: 1 result line\(s\) are not JSON objects, counted as unreadable and not joined \(.*err\.jsonl line 3: not valid JSON \(/,
      ),
    );
    // examples: at most `examples`, then an ellipsis
    const few = await joinResults({
      dataset: dataset(),
      endpoint: CHAT,
      models: [{ model: "m", outputFile: out, errorFile: err }],
      outFile: f("rows2.jsonl"),
      workDir: f("w"),
      examples: 1,
    });
    expect(few.warnings).toContain(
      `m: 4 result line(s) name no custom_id, counted as unattributed failures and not joined; they likely belong to the 3 item(s) without a result (${out} line 2: HTTP 429: rate limited; …)`,
    );
  });

  it("property: the outcome depends neither on line order, nor on which file holds a line, nor on the buckets", async () => {
    const ids = ["a", "b", "c", "d", "e"];
    const ds = dataset();
    const kinds = [
      (id: string) => ok(id, `ans-${id}`, 3, 1),
      (id: string) => ok(id, `other-${id}`, 2, 2),
      errObj,
      errString,
      errStatus,
      rateLimited,
      () => rateLimited(),
      () => "{broken",
    ];
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.constantFrom(...ids), fc.nat(kinds.length - 1), fc.boolean()), { maxLength: 14 }),
        fc.nat(1000),
        fc.integer({ min: 1, max: 4 }),
        async (lines, seed, partitions) => {
          run++;
          const made = lines.map(([id, k, inOutput]) => [(kinds[k] ?? kinds[0])(id), inOutput] as const);
          const join = async (
            name: string,
            split: (inOutput: boolean, i: number) => boolean,
            order: number,
            p: number,
          ) => {
            const out = made.filter(([, o], i) => split(o, i)).map(([l]) => l);
            const err = made.filter(([, o], i) => !split(o, i)).map(([l]) => l);
            const r = await joinResults({
              dataset: ds,
              endpoint: CHAT,
              models: [
                {
                  model: "m",
                  outputFile: write(`${name}-${run}.out.jsonl`, shuffle(out, order)),
                  errorFile: write(`${name}-${run}.err.jsonl`, shuffle(err, order + 1)),
                },
              ],
              outFile: f(`${name}-${run}.rows`),
              workDir: f("w"),
              partitions: p,
              examples: 0,
            });
            return { summaries: r.summaries, rows: byId(readRows(r.rowsFile)) };
          };
          const first = await join("first", (o) => o, 1, 1);
          const moved = await join("moved", (o, i) => (i % 3 === 0 ? !o : o), seed, partitions);
          const all = await join("all", () => true, seed + 7, partitions);
          expect(moved).toEqual(first);
          expect(all).toEqual(first);
          const s = first.summaries[0];
          expect(s?.succeeded === undefined ? -1 : s.succeeded + s.failed).toBe(ids.length);
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe("joinResults with the emulator's models", () => {
  it("accuracy equals the truth of the emulator's answers, with lines shuffled", async () => {
    const questions = Array.from({ length: 300 }, (_, i) => `What is ${i * 7} + ${i * 3 + 1}?`);
    const dataset = write(
      "d.jsonl",
      questions.map((q, i) => ({
        custom_id: `item-${i}`,
        body: { messages: [{ role: "user", content: q }], max_tokens: 32 },
      })),
    );
    const expected = write(
      "e.jsonl",
      questions.map((q, i) => ({ custom_id: `item-${i}`, expected: Number(checkableAnswer(q)!.answer) })),
    );
    const models = ["mistral-large-latest", "mistral-small-latest", "ministral-3b-latest"];
    const truth: Record<string, { right: number; prompt: number; completion: number }> = {};
    const inputs = models.map((id, k) => {
      const spec = DEFAULT_MODELS.find((m) => m.id === id)!;
      truth[id] = { right: 0, prompt: 0, completion: 0 };
      const lines = questions.map((q, i) => {
        const a = answerRequest(
          spec,
          CHAT,
          { messages: [{ role: "user", content: q }], max_tokens: 32 },
          { customId: `item-${i}`, nowSeconds: 1762000000, requestIndex: i },
        );
        if (!a.ok) throw new Error(a.message);
        const body = a.body as {
          choices: { message: { content: string } }[];
          usage: { prompt_tokens: number; completion_tokens: number };
        };
        if (extractAnswer(body.choices[0]!.message.content) === checkableAnswer(q)!.answer) truth[id]!.right++;
        truth[id]!.prompt += body.usage.prompt_tokens;
        truth[id]!.completion += body.usage.completion_tokens;
        return {
          id: `batch-${k}-${i}`,
          custom_id: `item-${i}`,
          response: { status_code: 200, body: a.body },
          error: null,
        };
      });
      return { model: id, outputFile: write(`${id}.jsonl`, shuffle(lines, k + 10)) };
    });
    const r = await joinResults({
      dataset,
      expected,
      endpoint: CHAT,
      scorer: { type: "numeric" },
      models: inputs,
      outFile: f("rows.jsonl"),
      workDir: f("w"),
      partitions: 3,
    });
    expect(r.warnings).toEqual([]);
    for (const s of r.summaries) {
      const t = truth[s.model]!;
      expect(s).toMatchObject({
        total: 300,
        succeeded: 300,
        failed: 0,
        scored: 300,
        promptTokens: t.prompt,
        completionTokens: t.completion,
      });
      expect(s.accuracy).toBeCloseTo(t.right / 300, 12);
      expect(s.estimatedInputTokens).toBe(t.prompt); // the estimate is the emulator's count
    }
    // bigger models are visibly better on the emulator
    expect(r.summaries[0]!.accuracy!).toBeGreaterThan(r.summaries[2]!.accuracy!);
  });
});

describe("bucketOf", () => {
  it("is deterministic, in range, and spreads sequential ids evenly", () => {
    const counts = new Array(8).fill(0);
    for (let i = 0; i < 16_000; i++) {
      const b = bucketOf(`req-${String(i).padStart(8, "0")}`, 8);
      expect(b).toBe(bucketOf(`req-${String(i).padStart(8, "0")}`, 8));
      counts[b]++;
    }
    for (const c of counts) expect(Math.abs(c - 2000)).toBeLessThan(200);
    expect(bucketOf("anything", 1)).toBe(0);
    expect(bucketOf("", 5)).toBeGreaterThanOrEqual(0);
  });
});

describe("expectedFromField", () => {
  it("writes the dataset without the field, and the expected answers, streaming", async () => {
    const src = write("src.jsonl", [
      { custom_id: "a", body: { messages: [{ role: "user", content: "1+1?" }] }, expected: 2, note: "kept" },
      "",
      { custom_id: "b", body: { messages: [{ role: "user", content: "capital of France?" }] }, expected: "Paris" },
      { custom_id: "c", body: { messages: [{ role: "user", content: "no answer" }] } },
      { custom_id: "d", body: { messages: [{ role: "user", content: "json" }] }, expected: { x: [1, null] } },
    ]);
    const r = await expectedFromField(src, "expected", f("upload.jsonl"));
    expect(r).toEqual({
      items: 4,
      withExpected: 3,
      withoutExpected: 1,
      strippedFile: f("upload.jsonl"),
      expectedFile: f("upload.jsonl.expected.jsonl"),
    });
    const stripped = fs
      .readFileSync(f("upload.jsonl"), "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    expect(stripped).toEqual([
      { custom_id: "a", body: { messages: [{ role: "user", content: "1+1?" }] }, note: "kept" },
      { custom_id: "b", body: { messages: [{ role: "user", content: "capital of France?" }] } },
      { custom_id: "c", body: { messages: [{ role: "user", content: "no answer" }] } },
      { custom_id: "d", body: { messages: [{ role: "user", content: "json" }] } },
    ]);
    expect(fs.readFileSync(r.expectedFile, "utf8")).toBe(
      `${[
        '{"custom_id":"a","expected":2}',
        '{"custom_id":"b","expected":"Paris"}',
        '{"custom_id":"d","expected":{"x":[1,null]}}',
      ].join("\n")}\n`,
    );
    // the stripped file is an uploadable batch input
    expect(isClean(await scanJsonlFile(f("upload.jsonl"), { endpoint: CHAT }))).toBe(true);
    // and the pair joins
    const out = write("o.jsonl", [ok("a", "2"), ok("b", "paris."), ok("c", "?"), ok("d", '{"x":[1,null]}')]);
    const joined = await joinResults({
      dataset: r.strippedFile,
      expected: r.expectedFile,
      endpoint: CHAT,
      scorer: { type: "exact" },
      models: [{ model: "m", outputFile: out }],
      outFile: f("rows.jsonl"),
      workDir: f("w"),
    });
    expect(joined.summaries[0]).toMatchObject({ expectedItems: 3, scored: 3, accuracy: 1 });
  });

  it("takes another field name and an explicit expected path", async () => {
    const src = write("src.jsonl", [{ custom_id: "a", body: {}, gold: "x", expected: "not this" }]);
    const r = await expectedFromField(src, "gold", f("s.jsonl"), f("gold.jsonl"));
    expect(r.expectedFile).toBe(f("gold.jsonl"));
    expect(JSON.parse(fs.readFileSync(f("s.jsonl"), "utf8"))).toEqual({
      custom_id: "a",
      body: {},
      expected: "not this",
    });
    expect(JSON.parse(fs.readFileSync(f("gold.jsonl"), "utf8"))).toEqual({ custom_id: "a", expected: "x" });
  });

  it("rejects a field that is part of the request, a malformed line (file and line), and same-file outputs; leaves nothing behind", async () => {
    const src = write("src.jsonl", [{ custom_id: "a", body: {}, expected: 1 }, "{bad"]);
    await expect(expectedFromField(src, "body", f("s.jsonl"))).rejects.toThrow(
      'expectedFromField: field is "body"; expected the name of a top-level field other than custom_id and body',
    );
    await expect(expectedFromField(src, "", f("s.jsonl"))).rejects.toThrow('field is ""');
    await expect(expectedFromField(src, "expected", src)).rejects.toThrow("must be three different files");
    await expect(expectedFromField(src, "expected", f("s.jsonl"))).rejects.toThrow(`${src} line 2: not valid JSON`);
    write("src2.jsonl", [{ custom_id: 5, body: {} }]);
    await expect(expectedFromField(f("src2.jsonl"), "expected", f("s.jsonl"))).rejects.toThrow(
      `${f("src2.jsonl")} line 1: custom_id is 5; expected a non-empty string`,
    );
    expect(fs.readdirSync(dir).sort()).toEqual(["src.jsonl", "src2.jsonl"]);
  });
});

describe("joinResults: a run of several jobs (a dataset cut into shards)", () => {
  /** Splits a JSONL file into `parts` files of consecutive lines (shards), or of lines dealt round-robin (results). */
  const split = (file: string, parts: number, how: "consecutive" | "dealt"): string[] => {
    const lines = fs.readFileSync(file, "utf8").trim().split("\n");
    const size = Math.ceil(lines.length / parts);
    return Array.from({ length: parts }, (_, k) => {
      const mine =
        how === "consecutive" ? lines.slice(k * size, (k + 1) * size) : lines.filter((_, i) => i % parts === k);
      const out = `${file}.${k}`;
      fs.writeFileSync(out, mine.length ? `${mine.join("\n")}\n` : "");
      return out;
    });
  };

  it("joins the shards' dataset files and every job's result files as one job: the same rows and counts", async () => {
    const { options } = scenario();
    const single = await joinResults({ ...options, outFile: f("single.jsonl") });
    const [alpha, beta, failed] = options.models;
    const sharded = await joinResults({
      ...options,
      dataset: split(options.dataset as string, 3, "consecutive"),
      models: [
        {
          model: alpha!.model,
          outputFiles: split(alpha!.outputFile!, 3, "dealt"),
          jobIds: ["job-a1", "job-a2", "job-a3"],
          statuses: ["SUCCESS", "SUCCESS", "SUCCESS"],
        },
        {
          model: beta!.model,
          outputFile: split(beta!.outputFile!, 2, "dealt")[0],
          outputFiles: [`${beta!.outputFile}.1`],
          errorFiles: split(beta!.errorFile!, 2, "dealt"),
          jobId: "job-b1",
          jobIds: ["job-b1", "job-b2"],
          statuses: ["SUCCESS", "SUCCESS"],
        },
        { model: failed!.model, jobIds: ["job-c1", "job-c2"], statuses: ["SUCCESS", "FAILED"] },
      ],
      outFile: f("sharded.jsonl"),
    });
    expect(sharded.items).toBe(single.items);
    const figures = ({ jobId, jobIds, status, ...rest }: ModelSummary) => rest;
    expect(sharded.summaries.map(figures)).toEqual(single.summaries.map(figures));
    expect(byId(readRows(sharded.rowsFile))).toEqual(byId(readRows(single.rowsFile)));
    expect(sharded.summaries.map((s) => [s.jobId, s.jobIds, s.status])).toEqual([
      [undefined, ["job-a1", "job-a2", "job-a3"], "SUCCESS"],
      ["job-b1", ["job-b1", "job-b2"], "SUCCESS"],
      [undefined, ["job-c1", "job-c2"], "FAILED"],
    ]);
    expect(sharded.warnings).toContain(
      "ministral-3b-latest: 1 of 2 jobs did not succeed (job-c2: FAILED); the items they hold without a result count as failed",
    );
  });

  it("aggregates the jobs' statuses: SUCCESS only when every job succeeded, else the first that did not", () => {
    expect(aggregateStatus(["a", "b"], ["SUCCESS", "SUCCESS"])).toEqual({ status: "SUCCESS", notSucceeded: [] });
    expect(aggregateStatus(["a", "b", "c"], ["SUCCESS", "TIMEOUT_EXCEEDED", "FAILED"])).toEqual({
      status: "TIMEOUT_EXCEEDED",
      notSucceeded: ["b: TIMEOUT_EXCEEDED", "c: FAILED"],
    });
  });

  it("refuses statuses that do not match the jobIds, and a dataset list that is empty", async () => {
    const { options } = scenario();
    await expect(
      joinResults({ ...options, models: [{ model: "m", jobIds: ["a", "b"], statuses: ["SUCCESS"] }] }),
    ).rejects.toThrow("models[0].statuses has 1 entries for 2 jobIds; expected one status per job");
    await expect(joinResults({ ...options, dataset: [] })).rejects.toThrow(
      "dataset is []; expected a JSONL path, or a non-empty list of them (the shards, in order)",
    );
  });
});
