/**
 * The plan of an Evaluation (provider/eval/plan.ts), without the engine: labels and resource names, duplicate and
 * other argument errors (the component's messages), one file per distinct body, prices and estimates; the files it
 * names as written by writeEvaluationInputs (provider/eval/inputs.ts). Property tests (fast-check) over model lists.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { EvaluationArgs, EvaluationModel } from "../../../provider/evaluation";
import { writeEvaluationInputs } from "../../../provider/eval/inputs";
import {
  describeDetectable,
  describeEstimates,
  planEvaluation,
  type EvaluationPlan,
} from "../../../provider/eval/plan";
import { cost, DEFAULT_PRICES, priceFor } from "../../../provider/eval/pricing";
import { formatUsd } from "../../../provider/eval/report";
import { canonicalJson } from "../../../provider/unknown";
import { estimateRequestTokens } from "../../../provider/eval/tokens";

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "plan-test-"));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

const CHAT = "/v1/chat/completions" as const;
const question = (i: number) => `What is ${i} + ${2 * i}?${" and more".repeat(i % 4)}`;
/** A dataset of n lines with an `expected` field; max_tokens on every line unless `unbounded`. */
function dataset(n: number, { unbounded = false, blankLines = false } = {}): string {
  const file = path.join(dir, "data.jsonl");
  const lines = Array.from({ length: n }, (_, i) =>
    JSON.stringify({
      custom_id: `q${i}`,
      expected: 3 * i,
      body: {
        ...(unbounded && i === 0 ? {} : { max_tokens: 8 + i }),
        messages: [{ role: "user", content: question(i) }],
      },
    }),
  );
  fs.writeFileSync(file, `${blankLines ? lines.join("\n\n") : lines.join("\n")}\n`);
  return file;
}
const args = (extra: Partial<EvaluationArgs> = {}): EvaluationArgs => ({
  dataset: dataset(5),
  models: ["mistral-small-latest"],
  outputDir: path.join(dir, "out"),
  ...extra,
});
const plan = (extra: Partial<EvaluationArgs> = {}, name = "ev") => planEvaluation(name, args(extra));
const failure = (extra: Partial<EvaluationArgs> | (() => unknown), name = "ev"): string => {
  try {
    if (typeof extra === "function") extra();
    else plan(extra, name);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error("planEvaluation should have thrown");
};
const readLines = (file: string) =>
  fs
    .readFileSync(file, "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));

describe("planEvaluation: runs and labels", () => {
  it("names each run by its label, or its model's name, in resource names, results directories and metadata", () => {
    const p = plan({
      models: ["mistral-large-latest", { name: "ministral-3b-latest", label: "tiny" }],
      metadata: { team: "evals" },
    });
    expect(p.runs.map((r) => [r.label, r.model, r.jobName, r.resultsName])).toEqual([
      ["mistral-large-latest", "mistral-large-latest", "ev-mistral-large-latest", "ev-mistral-large-latest-results"],
      ["tiny", "ministral-3b-latest", "ev-tiny", "ev-tiny-results"],
    ]);
    expect(p.runs[1]!.resultsDir).toBe(path.join(dir, "out", "results", "tiny"));
    expect(p.runs[1]!.metadata).toEqual({ team: "evals", evaluation: "ev", run: "tiny" });
    expect(p.runs.map((r) => r.estimate.model)).toEqual(["mistral-large-latest", "tiny"]);
  });

  it("resolves the output directory and names what the join and the report read and write", () => {
    const p = plan({ expected: { field: "expected" } });
    const out = path.join(dir, "out");
    expect(p).toMatchObject({
      name: "ev",
      endpoint: CHAT,
      outputDir: out,
      inputsDir: path.join(out, "inputs"),
      waitForCompletion: true,
    });
    expect(p.report).toEqual({
      title: "Evaluation ev",
      dataset: [path.join(out, "inputs", "input.jsonl")],
      rowsFile: path.join(out, "rows.jsonl"),
      workDir: path.join(out, "tmp"),
      htmlPath: path.join(out, "report.html"),
      markdownPath: path.join(out, "report.md"),
    });
    expect(p.expected).toEqual({ file: path.join(out, "inputs", "expected.jsonl"), fromDataset: true });
    expect(p.scorer).toEqual({ type: "exact" });
    expect(p.dataset.expectedField).toBe("expected");
  });

  it("defaults the output directory to .mistral-eval/<name> in the working directory", () => {
    const { outputDir: _o, ...rest } = args();
    expect(planEvaluation("nightly", rest).outputDir).toBe(path.resolve(".mistral-eval", "nightly"));
  });

  it("takes a given expected file as it is, and a ScoreFn as the scorer run in the program", () => {
    const score = () => 1;
    const p = plan({ expected: { file: "answers.jsonl" }, scorer: score });
    expect(p.expected).toEqual({ file: path.resolve("answers.jsonl"), fromDataset: false });
    expect(p.scoreFn).toBe(score);
    expect(p.scorer).toBeUndefined();
    expect(p.dataset.expectedField).toBeUndefined();
    expect(plan({}).expected).toBeUndefined();
    expect(plan({}).scorer).toBeUndefined();
  });

  it("refuses a model listed twice, naming the argument, the value, the first one and what is allowed", () => {
    expect(failure({ models: ["mistral-small-latest", "mistral-large-latest", "mistral-small-latest"] })).toBe(
      'Evaluation "ev": models[2] is "mistral-small-latest", the run "mistral-small-latest" again (models[0]); each run needs its own label: remove it, or give one of them another, e.g. { name: "mistral-small-latest", label: "mistral-small-latest-2", overrides: { ... } }',
    );
    // Labels, not models, must be distinct: the same model twice under two labels is fine.
    expect(
      plan({ models: ["mistral-small-latest", { name: "mistral-small-latest", label: "again" }] }).runs,
    ).toHaveLength(2);
    expect(
      failure({
        models: [
          { name: "a", label: "x" },
          { name: "b", label: "x" },
        ],
      }),
    ).toBe(
      'Evaluation "ev": models[1] is {"name":"b","label":"x"}, the run "x" again (models[0]); each run needs its own label: remove it, or give one of them another, e.g. { name: "b", label: "x-2", overrides: { ... } }',
    );
  });

  it("refuses labels with other characters, and models without a name", () => {
    expect(failure({ models: [{ name: "mistral-small-latest", label: "small t0" }] })).toBe(
      'Evaluation "ev": models[0] has the label "small t0"; a label may hold only letters, digits, ".", "_" and "-" (set label to name the run otherwise)',
    );
    expect(failure({ models: [{ name: "", label: "x" }] })).toBe(
      'Evaluation "ev": models[0] is {"name":"","label":"x"}; expected a model name, or { name, label?, overrides? } with a non-empty name',
    );
    expect(failure({ models: [null as unknown as string] })).toBe(
      'Evaluation "ev": models[0] is null; expected a model name, or { name, label?, overrides? } with a non-empty name',
    );
    expect(failure({ models: [] })).toBe(
      'Evaluation "ev": models is []; expected a non-empty list of models, e.g. ["mistral-small-latest"] or [{ name: "mistral-small-latest", label: "small" }]',
    );
  });
});

describe("planEvaluation: files", () => {
  it("shares one file among the models without overrides", () => {
    const p = plan({
      models: ["mistral-large-latest", "mistral-small-latest", { name: "ministral-3b-latest", label: "tiny" }],
    });
    expect(p.files).toHaveLength(1);
    expect(p.files[0]).toMatchObject({
      name: "ev-input",
      label: "input",
      key: "{}",
      overrides: {},
      path: path.join(dir, "out", "inputs", "input.jsonl"),
    });
    expect(p.files[0]!.runs.map((r) => r.label)).toEqual(["mistral-large-latest", "mistral-small-latest", "tiny"]);
    expect(p.runs.every((r) => r.file === "ev-input")).toBe(true);
  });

  it("gives overrides a second file named by the hash of their canonical JSON; equal overrides share it", () => {
    const p = plan({
      models: [
        "mistral-small-latest",
        { name: "mistral-small-latest", label: "t0", overrides: { temperature: 0, top_p: 1 } },
        "mistral-large-latest",
        { name: "mistral-large-latest", label: "large-t0", overrides: { top_p: 1, temperature: 0 } },
      ],
    });
    expect(p.files.map((f) => f.label)).toEqual(["input", expect.stringMatching(/^input-[0-9a-f]{8}$/)]);
    const second = p.files[1]!;
    expect(second).toMatchObject({
      name: `ev-${second.label}`,
      key: '{"temperature":0,"top_p":1}',
      path: path.join(dir, "out", "inputs", `${second.label}.jsonl`),
    });
    expect(second.runs.map((r) => r.label)).toEqual(["t0", "large-t0"]);
    // The runs' order (jobs, estimates, summaries) is file by file, declaration order within a file.
    expect(p.runs.map((r) => r.label)).toEqual(["mistral-small-latest", "mistral-large-latest", "t0", "large-t0"]);
    expect(p.runs.map((r) => r.file)).toEqual(["ev-input", "ev-input", second.name, second.name]);
    // The hash depends only on the overrides: another evaluation names the same file label.
    expect(plan({ models: [{ name: "m", overrides: { top_p: 1, temperature: 0 } }] }, "other").files[0]!.label).toBe(
      second.label,
    );
  });

  it("writes nothing: the output directory is not even created", () => {
    plan({ models: ["a", { name: "b", overrides: { temperature: 0 } }], expected: { field: "expected" } });
    planEvaluation("inline", {
      dataset: [{ customId: "x", body: { messages: [] } }],
      models: ["a"],
      outputDir: path.join(dir, "out"),
    });
    expect(fs.existsSync(path.join(dir, "out"))).toBe(false);
  });
});

describe("planEvaluation: prices and estimates", () => {
  it("estimates input tokens, the max_tokens bound and the batch cost per run from the bodies as written", () => {
    const p = plan({
      models: ["mistral-large-latest", { name: "mistral-small-latest", label: "short", overrides: { max_tokens: 4 } }],
    });
    const bodies = readLines(dataset(5)).map((l) => l.body);
    const input = bodies.reduce((s, b) => s + estimateRequestTokens(CHAT, b), 0);
    const bound = bodies.reduce((s, b) => s + b.max_tokens, 0);
    expect(input).toBeGreaterThan(5);
    expect(p.runs.map((r) => r.estimate)).toEqual([
      {
        model: "mistral-large-latest",
        requests: 5,
        inputTokens: input,
        maxOutputTokens: bound,
        estimatedCost: cost(DEFAULT_PRICES, "mistral-large-latest", input, bound),
      },
      {
        model: "short",
        requests: 5,
        inputTokens: input,
        maxOutputTokens: 20,
        estimatedCost: cost(DEFAULT_PRICES, "mistral-small-latest", input, 20),
      },
    ]);
    expect(p.files.map((f) => [f.requests, f.inputTokens, f.maxOutputTokens])).toEqual([
      [5, input, bound],
      [5, input, 20],
    ]);
    // (2 input + 6 output USD per million tokens) at half price.
    expect(p.runs[0]!.estimate.estimatedCost).toBeCloseTo(((input * 2 + bound * 6) / 1e6) * 0.5, 15);
  });

  it("has no output bound when a body has no max_tokens, and no cost for a model without a price", () => {
    const p = planEvaluation("ev", {
      ...args(),
      dataset: dataset(3, { unbounded: true, blankLines: true }),
      models: ["mistral-small-latest", "my-finetune"],
    });
    expect(p.runs.map((r) => [r.estimate.requests, r.estimate.maxOutputTokens])).toEqual([
      [3, null],
      [3, null],
    ]);
    expect(p.runs[0]!.estimate.estimatedCost).toBe(
      cost(DEFAULT_PRICES, "mistral-small-latest", p.files[0]!.inputTokens, 0),
    );
    expect(p.runs[1]!.price).toBeNull();
    expect(p.runs[1]!.estimate.estimatedCost).toBeNull();
  });

  it("uses the default prices, priced labels as their model, and the overrides given", () => {
    const defaults = plan({ models: [{ name: "mistral-small-2506", label: "dated" }, "ministral-3b-latest"] });
    expect(defaults.prices.date).toBe(DEFAULT_PRICES.date);
    expect(defaults.prices.batchDiscount).toBe(0.5);
    // A dated version is priced as its -latest entry; the label gets that price so the join costs it the same.
    expect(defaults.runs[0]!.price).toEqual({ model: "mistral-small-latest", inputPerMTok: 0.1, outputPerMTok: 0.3 });
    expect(defaults.prices.models.dated).toEqual({ inputPerMTok: 0.1, outputPerMTok: 0.3 });
    expect(defaults.runs[1]!.price).toEqual({
      model: "ministral-3b-latest",
      ...DEFAULT_PRICES.models["ministral-3b-latest"],
    });

    const custom = plan({
      models: ["ministral-3b-latest", { name: "ministral-3b-latest", label: "tiny" }, "my-finetune"],
      prices: {
        date: "2030-01-01",
        batchDiscount: 0.25,
        models: {
          "ministral-3b-latest": { inputPerMTok: 1, outputPerMTok: 3 },
          "my-finetune": { inputPerMTok: 4, outputPerMTok: 8 },
        },
      },
    });
    expect(custom.prices).toMatchObject({ date: "2030-01-01", batchDiscount: 0.25 });
    expect(custom.prices.models["mistral-large-latest"]).toEqual(DEFAULT_PRICES.models["mistral-large-latest"]);
    expect(custom.prices.models.tiny).toEqual({ inputPerMTok: 1, outputPerMTok: 3 });
    const { inputTokens: tokens, maxOutputTokens: bound } = custom.files[0]!;
    for (const [i, p] of [
      [0, { in: 1, out: 3 }],
      [1, { in: 1, out: 3 }],
      [2, { in: 4, out: 8 }],
    ] as const) {
      expect(custom.runs[i]!.estimate.estimatedCost).toBeCloseTo(((tokens * p.in + bound! * p.out) / 1e6) * 0.25, 15);
    }
  });

  it("logs one block: requests x models, the discount and date, a row per run, the total, what kind of bound", () => {
    const p = plan({ models: ["mistral-large-latest", "my-finetune"] });
    const [a, b] = p.runs.map((r) => r.estimate);
    const tokens = (e: typeof a) => `~${e!.inputTokens} input tokens + <=${e!.maxOutputTokens} output`;
    const w = Math.max("mistral-large-latest".length, "total".length);
    const t = tokens(a).length;
    const cost = formatUsd(a!.estimatedCost);
    const c = Math.max(cost.length, "no price".length);
    expect(describeEstimates(p).split("\n")).toEqual([
      `Evaluation ev: 5 requests x 2 models, estimated at the batch price (50% of list prices of ${DEFAULT_PRICES.date}):`,
      `  ${"mistral-large-latest".padEnd(w)}  ${tokens(a)}  ${cost.padStart(c)}  upper bound (max_tokens)`,
      `  ${"my-finetune".padEnd(w)}  ${tokens(b)}  ${"no price".padStart(c)}`,
      `  ${"total".padEnd(w)}  ${"".padEnd(t)}  ${cost.padStart(c)}  upper bound (max_tokens); without my-finetune: no price`,
    ]);
    // A small amount keeps two significant digits, never "$0.0000".
    expect(formatUsd(a!.estimatedCost)).toMatch(/^\$0\.0*[1-9]\d$/);
    const unbounded = planEvaluation("ev", {
      ...args(),
      dataset: dataset(2, { unbounded: true }),
      prices: { batchDiscount: 0.25 },
    });
    const lines = describeEstimates(unbounded).split("\n");
    expect(lines[0]).toMatch(
      /^Evaluation ev: 2 requests x 1 models, estimated at the batch price \(25% of list prices of .*\):$/,
    );
    expect(lines[1]).toMatch(
      /^ {2}mistral-small-latest {2}~\d+ input tokens {2}\$[0-9.]+ {2}input only \(no max_tokens\)$/,
    );
    expect(lines[2]).toMatch(/^ {2}total {17}\s+\$[0-9.]+ {2}input only \(no max_tokens\)$/);
  });

  it("counts only the runs that submit, and says there is nothing to pay when none does", () => {
    const p = plan({ models: ["mistral-large-latest", "mistral-small-latest"] });
    const [large, small] = p.runs.map((r) => r.estimate);
    const lines = describeEstimates(p, new Set(["mistral-small-latest"])).split("\n");
    expect(lines[1]).toMatch(/^ {2}mistral-large-latest {2}.* {2}\$0 {2}reused: nothing to submit$/);
    expect(lines[2]).toContain(`${formatUsd(small!.estimatedCost)}  upper bound (max_tokens)`);
    expect(lines[3]).toMatch(
      new RegExp(
        `^  total .*${formatUsd(small!.estimatedCost).replace(/[$.]/g, "\\$&")}  upper bound \\(max_tokens\\); the 1 run\\(s\\) that submit$`,
      ),
    );
    expect(large!.estimatedCost).toBeGreaterThan(small!.estimatedCost!);
    expect(describeEstimates(p, new Set())).toBe(
      "Evaluation ev: nothing to pay: every run is reused (5 requests x 2 models, each request with its result), so this update submits nothing",
    );
  });
});

describe("describeDetectable: what the dataset can settle, before anything is spent", () => {
  it("gives the smallest detectable difference for two or more models, none for one", () => {
    expect(describeDetectable(plan({ models: ["mistral-large-latest", "mistral-small-latest"] }))).toBe(
      "Evaluation ev: 5 items are too few to detect any difference in accuracy between two models (80% power, two-sided 5%, McNemar on paired items assuming they disagree on half of them)",
    );
    const many = planEvaluation("ev", {
      ...args(),
      dataset: dataset(50),
      models: ["mistral-large-latest", "mistral-small-latest"],
    });
    // minimumDetectableDifference(50) = 0.27360... (stats.test.ts: SciPy's brentq on the same formula)
    expect(describeDetectable(many)).toMatch(
      /^Evaluation ev: 50 items detect a difference in accuracy between two models of about 27\.4 points or more \(80% power/,
    );
    expect(describeDetectable(plan({ models: ["mistral-small-latest"] }))).toBeNull();
  });
});

describe("planEvaluation: argument errors (the component's messages)", () => {
  it("refuses a bad endpoint, a missing dataset file, an invalid scorer or price override", () => {
    expect(failure({ endpoint: "/v1/nope" as never })).toMatch(
      /^Evaluation "ev": endpoint is "\/v1\/nope"; allowed: \/v1\/chat\/completions, /,
    );
    const missing = path.join(dir, "none.jsonl");
    expect(failure({ dataset: missing })).toBe(
      `Evaluation "ev": dataset is ${JSON.stringify(missing)}, which does not exist (resolved to ${missing}); expected the path of a JSONL file of {"custom_id", "body"} lines, or inline items [{ customId, body, expected? }]`,
    );
    expect(failure({ dataset: dir })).toBe(
      `Evaluation "ev": dataset is ${JSON.stringify(dir)}, which is not a file (resolved to ${dir}); expected the path of a JSONL file of {"custom_id", "body"} lines, or inline items [{ customId, body, expected? }]`,
    );
    expect(failure({ scorer: { type: "numeric", tolerance: -1 } })).toMatch(
      /^Evaluation "ev": scorer: scorer\.tolerance is -1/,
    );
    expect(failure({ scorer: { type: "fuzzy" } as never })).toMatch(
      /^Evaluation "ev": scorer: scorer\.type is "fuzzy"; expected one of/,
    );
    expect(failure({ prices: { batchDiscount: 2 } })).toBe(
      'Evaluation "ev": prices.batchDiscount is 2; expected the batch price as a fraction of the list price, in (0, 1] (Mistral: 0.5)',
    );
  });

  it("checks the arguments in the order the component always did: dataset, endpoint, models, scorer, prices, lines", () => {
    const broken = {
      endpoint: "/v1/nope" as never,
      models: [],
      scorer: { type: "fuzzy" } as never,
      prices: { batchDiscount: 2 },
    };
    expect(failure({ ...broken, dataset: [] })).toMatch(/dataset is \[\]/);
    expect(failure(broken)).toMatch(/endpoint is/);
    const { endpoint: _e, ...rest } = broken;
    expect(failure({ ...rest, dataset: path.join(dir, "none.jsonl") })).toMatch(/which does not exist/);
    expect(failure(rest)).toMatch(/models is \[\]/);
    expect(failure({ ...rest, models: ["a"] })).toMatch(/scorer: /);
    expect(failure({ prices: rest.prices, models: ["a"] })).toMatch(/prices\.batchDiscount/);
  });

  it("refuses a dataset line that is not JSON, has no body, or lacks the expected field, naming the line", () => {
    const file = path.join(dir, "bad.jsonl");
    fs.writeFileSync(file, '{"custom_id":"a","body":{}}\n\n{oops\n');
    expect(failure({ dataset: file })).toMatch(
      new RegExp(`^Evaluation "ev": dataset ${file} line 3: \\(line\\) is "\\{oops"; expected valid JSON \\(`),
    );
    fs.writeFileSync(file, '{"custom_id":"a","body":{}}\n{"custom_id":"b","body":"text"}\n');
    expect(failure({ dataset: file })).toBe(
      `Evaluation "ev": dataset ${file} line 2: body is "text"; expected a JSON object (the request body for the endpoint)`,
    );
    fs.writeFileSync(file, '{"custom_id":"a","body":{},"answer":1}\n{"custom_id":"b","body":{}}\n');
    expect(failure({ dataset: file, expected: { field: "answer" } })).toBe(
      `Evaluation "ev": ${file} line 2 has no "answer" field (expected.field); every line needs its expected answer there`,
    );
  });

  it("refuses a dataset with bytes that are not UTF-8, a duplicate custom_id or an over-long line, naming each line, in one message", () => {
    const file = path.join(dir, "bytes.jsonl");
    const good = (id: string) => `{"custom_id":"${id}","body":{"messages":[{"role":"user","content":"hi"}]}}\n`;
    const latin1 = Buffer.from(good("b").replace("hi", "caf\u00e9"), "latin1"); // "é" as the one byte 0xE9
    fs.writeFileSync(file, Buffer.concat([Buffer.from(good("a")), latin1, Buffer.from(good("a"))]));
    const message = failure({ dataset: file });
    expect(message.split("\n")).toEqual([
      `Evaluation "ev": dataset ${file} line 2: (line) is not UTF-8: bytes 0xE9 0x22 at byte offset ${good("a").length + latin1.indexOf(0xe9)} of the file (byte ${latin1.indexOf(0xe9) + 1} of the line); expected UTF-8 text (a byte that is not UTF-8 would be read as U+FFFD, the replacement character, and sent and billed so): save the file as UTF-8`,
      `dataset ${file} line 3: custom_id is "a"; expected an id unique in the file (line 1 has it already)`,
    ]);
    // Nothing is written: the plan fails before the files are (writeEvaluationInputs runs on a plan only).
    expect(fs.existsSync(path.join(dir, "out"))).toBe(false);
  });

  it("refuses an empty or malformed inline dataset", () => {
    expect(failure({ dataset: [] })).toBe(
      'Evaluation "ev": dataset is []; expected a JSONL path or a non-empty list of { customId, body, expected? }',
    );
    expect(failure({ dataset: [{ customId: "a", body: {} }, { customId: 2, body: {} } as never] })).toBe(
      'Evaluation "ev": dataset[1] is {"customId":2,"body":{}}; expected { customId: string, body: object, expected? }',
    );
  });
});

describe("inline datasets", () => {
  const items = [
    { customId: "a", body: { max_tokens: 3, messages: [{ role: "user", content: "one?" }] }, expected: 1 },
    { customId: "b", body: { max_tokens: 3, messages: [{ role: "user", content: "two?" }] }, expected: "two" },
  ];

  it("become <inputs>/dataset.jsonl, their expected values the expected answers", () => {
    const p = plan({ dataset: items });
    const target = path.join(dir, "out", "inputs", "dataset.jsonl");
    expect(p.dataset).toEqual({
      path: target,
      file: target,
      inlineText: items
        .map((i) => `${JSON.stringify({ custom_id: i.customId, body: i.body, expected: i.expected })}\n`)
        .join(""),
      expectedField: "expected",
    });
    expect(p.expected).toEqual({ file: path.join(dir, "out", "inputs", "expected.jsonl"), fromDataset: true });
    expect(p.runs[0]!.estimate).toMatchObject({ requests: 2, maxOutputTokens: 6 });
  });

  it("without expected values, have no expected answers", () => {
    const p = plan({ dataset: items.map(({ expected: _e, ...rest }) => rest) });
    expect(p.expected).toBeUndefined();
    expect(p.dataset.expectedField).toBeUndefined();
  });
});

describe("writeEvaluationInputs", () => {
  it("writes each file with its overrides merged and the expected field taken out, and the expected answers", () => {
    const p = plan({
      models: [
        "mistral-small-latest",
        { name: "mistral-small-latest", label: "t0", overrides: { temperature: 0, max_tokens: 2 } },
      ],
      expected: { field: "expected" },
    });
    writeEvaluationInputs(p);
    const [shared, t0] = p.files.map((f) => readLines(f.path));
    const source = readLines(dataset(5));
    expect(shared).toEqual(source.map(({ expected: _e, ...line }) => line));
    expect(t0).toEqual(
      source.map(({ expected: _e, ...line }) => ({ ...line, body: { ...line.body, temperature: 0, max_tokens: 2 } })),
    );
    // Key order as in the dataset: custom_id, then body.
    expect(Object.keys(t0![0]!)).toEqual(["custom_id", "body"]);
    expect(readLines(p.expected!.file)).toEqual(source.map((l) => ({ custom_id: l.custom_id, expected: l.expected })));
    expect(fs.readdirSync(p.inputsDir).sort()).toEqual(
      ["expected.jsonl", `${p.files[1]!.label}.jsonl`, "input.jsonl"].sort(),
    );
  });

  it("writes the inline dataset once, and leaves it untouched when unchanged", () => {
    const p = plan({ dataset: [{ customId: "a", body: { messages: [{ role: "user", content: "hi" }] } }] });
    writeEvaluationInputs(p);
    expect(fs.readFileSync(p.dataset.file, "utf8")).toBe(p.dataset.inlineText);
    const old = new Date(2000, 0, 1);
    fs.utimesSync(p.dataset.file, old, old);
    writeEvaluationInputs(p);
    expect(fs.statSync(p.dataset.file).mtime.getTime()).toBe(old.getTime());
    expect(readLines(p.files[0]!.path)).toEqual([
      { custom_id: "a", body: { messages: [{ role: "user", content: "hi" }] } },
    ]);
  });
});

describe("properties (fast-check)", () => {
  const NAMES = [
    "mistral-large-latest",
    "mistral-small-latest",
    "mistral-small-2506",
    "ministral-3b-latest",
    "my-finetune",
  ];
  const OVERRIDES: (Record<string, unknown> | undefined)[] = [
    undefined,
    {},
    { temperature: 0 },
    { max_tokens: 3 },
    { temperature: 0, max_tokens: 3 },
    { max_tokens: 3, temperature: 0 },
  ];
  const items = Array.from({ length: 4 }, (_, i) => ({
    customId: `i${i}`,
    body: { ...(i ? { max_tokens: i } : {}), messages: [{ role: "user", content: question(i) }] },
    expected: i,
  }));
  /** Model lists with distinct labels: a string, or { name, label?, overrides? }. */
  const modelLists = fc
    .uniqueArray(
      fc.record({
        label: fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,7}$/),
        name: fc.constantFrom(...NAMES),
        plain: fc.boolean(),
        overrides: fc.constantFrom(...OVERRIDES),
      }),
      {
        minLength: 1,
        maxLength: 8,
        selector: (m) => m.label,
      },
    )
    .map((ms) =>
      ms.map((m): string | EvaluationModel =>
        m.plain && m.overrides === undefined
          ? m.label
          : { name: m.name, label: m.label, ...(m.overrides ? { overrides: m.overrides } : {}) },
      ),
    );
  const labelOf = (m: string | EvaluationModel) => (typeof m === "string" ? m : (m.label ?? m.name));
  const planFor = (models: (string | EvaluationModel)[]): EvaluationPlan =>
    planEvaluation("p", { dataset: items, models, outputDir: path.join(dir, "out") });

  it("every model appears exactly once in the runs, and in exactly one file's runs", () => {
    fc.assert(
      fc.property(modelLists, (models) => {
        const p = planFor(models);
        expect(p.runs.map((r) => r.label).sort()).toEqual(models.map(labelOf).sort());
        expect(p.files.flatMap((f) => f.runs)).toEqual(p.runs);
        for (const f of p.files) for (const r of f.runs) expect(r.file).toBe(f.name);
        // Within a file, the runs keep their declared order.
        for (const f of p.files) {
          const order = f.runs.map((r) => models.map(labelOf).indexOf(r.label));
          expect(order).toEqual([...order].sort((a, b) => a - b));
        }
      }),
    );
  });

  it("runs without overrides share one file, the plain one; there is one file per distinct set of overrides", () => {
    fc.assert(
      fc.property(modelLists, (models) => {
        const p = planFor(models);
        const plain = p.runs.filter((r) => canonicalJson(r.overrides) === "{}");
        expect(new Set(plain.map((r) => r.file)).size).toBe(plain.length ? 1 : 0);
        if (plain.length) expect(plain[0]!.file).toBe("p-input");
        expect(p.files.length).toBe(
          new Set(models.map((m) => canonicalJson((typeof m === "string" ? undefined : m.overrides) ?? {}))).size,
        );
        expect(new Set(p.files.map((f) => f.name)).size).toBe(p.files.length);
        for (const r of p.runs) expect(p.files.find((f) => f.name === r.file)!.key).toBe(canonicalJson(r.overrides));
      }),
    );
  });

  it("each estimate is its file's figures at its model's price; the same arguments give the same plan", () => {
    fc.assert(
      fc.property(modelLists, (models) => {
        const p = planFor(models);
        for (const f of p.files) {
          for (const r of f.runs) {
            expect(r.estimate).toEqual({
              model: r.label,
              requests: 4,
              inputTokens: f.inputTokens,
              maxOutputTokens: f.maxOutputTokens,
              estimatedCost: cost(p.prices, r.model, f.inputTokens, f.maxOutputTokens ?? 0),
            });
            expect(r.price).toEqual(priceFor(p.prices, r.model));
          }
          // max_tokens bounds the output when the overrides set it (one dataset item has none).
          expect(f.maxOutputTokens).toBe(f.overrides.max_tokens === 3 ? 12 : null);
        }
        expect(planFor(models)).toEqual(p);
      }),
      { numRuns: 50 },
    );
  });

  it("a label listed twice always fails with the component's message", () => {
    fc.assert(
      fc.property(modelLists, fc.nat(), (models, i) => {
        const again = models[i % models.length]!;
        const message = failure(() => planFor([...models, again]));
        const first = models.findIndex((m) => labelOf(m) === labelOf(again));
        expect(message).toMatch(new RegExp(`^Evaluation "p": models\\[${models.length}\\] is `));
        expect(message).toContain(
          `, the run ${JSON.stringify(labelOf(again))} again (models[${first}]); each run needs its own label: `,
        );
      }),
      { numRuns: 50 },
    );
  });
});
