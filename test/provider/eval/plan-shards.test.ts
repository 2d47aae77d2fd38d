/**
 * The plan of an Evaluation whose dataset is over its limits (provider/eval/plan.ts): `limits` checked, the dataset
 * cut into shards shared by every file, one BatchFile per file and shard, one job per run and shard, waves within the
 * pending requests; and the shard files as writeEvaluationInputs writes them (provider/eval/inputs.ts): exactly
 * `{custom_id, body}` per line, every file within the byte limit, one shard's file changed by a body edit.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MAX_FILE_BYTES, MAX_PENDING_REQUESTS_PER_WORKSPACE, MAX_REQUESTS_PER_JOB } from "../../../provider/api";
import type { EvaluationArgs } from "../../../provider/evaluation";
import { writeEvaluationInputs } from "../../../provider/eval/inputs";
import { planWaves } from "../../../provider/eval/limits";
import { describeEstimates, planEvaluation } from "../../../provider/eval/plan";

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "plan-shards-"));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

type Line = { custom_id: string; expected: number; label: string; body: Record<string, unknown> };
const item = (i: number, text = `What is ${i} + ${i}?`): Line => ({
  custom_id: `item-${i}`,
  expected: 2 * i,
  label: i % 2 ? "odd" : "even",
  body: { max_tokens: 16, messages: [{ role: "user", content: text }] },
});
const writeDataset = (items: Line[], name = "data.jsonl") => {
  const file = path.join(dir, name);
  fs.writeFileSync(file, `${items.map((l) => JSON.stringify(l)).join("\n")}\n`);
  return file;
};
const items = (n: number) => Array.from({ length: n }, (_, i) => item(i));
const args = (extra: Partial<EvaluationArgs> = {}): EvaluationArgs => ({
  dataset: writeDataset(items(300)),
  models: ["mistral-small-latest", { name: "mistral-large-latest", label: "large", overrides: { temperature: 0 } }],
  expected: { field: "expected" },
  outputDir: path.join(dir, "out"),
  limits: { requestsPerJob: 40 },
  ...extra,
});
const failure = (extra: Partial<EvaluationArgs>): string => {
  try {
    planEvaluation("ev", args(extra));
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
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe("planEvaluation: limits", () => {
  it("defaults to Mistral's figures", () => {
    expect(planEvaluation("ev", { ...args(), limits: undefined }).limits).toEqual({
      requestsPerJob: MAX_REQUESTS_PER_JOB,
      bytesPerFile: MAX_FILE_BYTES,
      pendingRequests: MAX_PENDING_REQUESTS_PER_WORKSPACE,
    });
  });

  it("refuses a limit that is not a positive integer, above Mistral's, or unknown, naming the field and the value", () => {
    expect(failure({ limits: { requestsPerJob: 0 } })).toBe(
      'Evaluation "ev": limits.requestsPerJob is 0; expected a positive integer',
    );
    expect(failure({ limits: { bytesPerFile: 1.5 } })).toBe(
      'Evaluation "ev": limits.bytesPerFile is 1.5; expected a positive integer',
    );
    expect(failure({ limits: { requestsPerJob: 100_001 } })).toBe(
      `Evaluation "ev": limits.requestsPerJob is 100001; Mistral allows at most ${MAX_REQUESTS_PER_JOB} requests a batch job takes: give a number from 1 to ${MAX_REQUESTS_PER_JOB}, or leave it out`,
    );
    expect(failure({ limits: { bytesPerFile: MAX_FILE_BYTES + 1 } })).toContain(
      `limits.bytesPerFile is ${MAX_FILE_BYTES + 1}; Mistral allows at most ${MAX_FILE_BYTES}`,
    );
    expect(failure({ limits: { pendingRequests: "10" as unknown as number } })).toBe(
      'Evaluation "ev": limits.pendingRequests is "10"; expected a positive integer',
    );
    expect(failure({ limits: { requestPerJob: 5 } as EvaluationArgs["limits"] })).toBe(
      'Evaluation "ev": limits.requestPerJob is not a limit; expected requestsPerJob, bytesPerFile or pendingRequests',
    );
  });
});

describe("planEvaluation: shards", () => {
  it("keeps a dataset within the limits one shard, with the names of a single file and job", () => {
    const p = planEvaluation("ev", { ...args(), limits: { requestsPerJob: 300 } });
    expect(p.shards).toHaveLength(1);
    const [plain, large] = p.files;
    expect(plain!.shards).toEqual([
      { shard: p.shards[0]!.id, name: "ev-input", path: plain!.path, start: 0, requests: 300 },
    ]);
    expect(plain!.path).toBe(path.join(dir, "out", "inputs", "input.jsonl"));
    expect(large!.shards.map((s) => s.name)).toEqual([large!.name]);
    expect(p.runs.flatMap((r) => r.jobs.map((j) => [j.jobName, j.resultsName, j.file, j.metadata]))).toEqual([
      ["ev-mistral-small-latest", "ev-mistral-small-latest-results", "ev-input", p.runs[0]!.metadata],
      ["ev-large", "ev-large-results", large!.name, p.runs[1]!.metadata],
    ]);
    expect(p.waves).toHaveLength(1);
    expect(describeEstimates(p)).toMatch(/^Evaluation ev: 300 requests x 2 models, estimated at the batch price/);
  });

  it("cuts a larger dataset into shards shared by every file: one BatchFile per file and shard, one job per run and shard", () => {
    const p = planEvaluation("ev", args());
    const shards = p.shards;
    expect(shards.length).toBeGreaterThan(2);
    expect(shards.reduce((n, s) => n + s.requests, 0)).toBe(300);
    const inputs = path.join(dir, "out", "inputs");
    for (const file of p.files) {
      expect(file.shards.map((s) => [s.shard, s.name, s.path, s.start, s.requests])).toEqual(
        shards.map((s) => [
          s.id,
          `${file.name}-${s.id}`,
          path.join(inputs, `${file.label}-${s.id}.jsonl`),
          s.start,
          s.requests,
        ]),
      );
    }
    const [small, large] = p.runs;
    expect(large!.jobs.map((j) => [j.jobName, j.resultsName, j.file, j.requests, j.metadata])).toEqual(
      shards.map((s) => [
        `ev-large-${s.id}`,
        `ev-large-${s.id}-results`,
        `${p.files[1]!.name}-${s.id}`,
        s.requests,
        { evaluation: "ev", run: "large", shard: s.id },
      ]),
    );
    expect(small!.jobs.map((j) => j.file)).toEqual(p.files[0]!.shards.map((s) => s.name));
    // Estimates stay per run, over every shard.
    expect(p.runs.map((r) => r.estimate.requests)).toEqual([300, 300]);
    // The join reads the first file's shards, in order.
    expect(p.report.dataset).toEqual(p.files[0]!.shards.map((s) => s.path));
    expect(describeEstimates(p)).toContain(
      `Evaluation ev: 300 requests in ${shards.length} shards x 2 models = ${2 * shards.length} jobs, estimated at the batch price`,
    );
  });

  it("accepts a dataset over Mistral's per-job and per-file figures (it used to be refused), checking its lines still", () => {
    expect(
      planEvaluation("ev", { ...args(), limits: { requestsPerJob: 10, bytesPerFile: 2000 } }).shards.length,
    ).toBeGreaterThan(10);
    const file = writeDataset([item(1), item(1)], "dup.jsonl");
    expect(failure({ dataset: file })).toContain('custom_id is "item-1"');
  });

  it("counts a line's bytes as its largest uploaded variant: every file of every shard is within bytesPerFile", () => {
    const bytesPerFile = 1500;
    const p = planEvaluation("ev", {
      ...args(),
      models: ["mistral-small-latest", { name: "x", overrides: { stop: ["a long stop sequence that adds bytes"] } }],
      limits: { bytesPerFile },
    });
    writeEvaluationInputs(p);
    expect(p.shards.some((s) => s.end === "bytes")).toBe(true);
    for (const [k, shard] of p.shards.entries()) {
      const sizes = p.files.map((f) => fs.statSync(f.shards[k]!.path).size);
      for (const size of sizes) expect(size).toBeLessThanOrEqual(bytesPerFile);
      expect(Math.max(...sizes)).toBe(shard.bytes);
    }
  });

  it("refuses a line larger than bytesPerFile, naming the line", () => {
    expect(failure({ limits: { bytesPerFile: 50 } })).toMatch(
      /^Evaluation "ev": .*data\.jsonl line 1: line 1 \(custom_id "item-0"\) takes \d+ bytes uploaded; a file holds at most 50 bytes: shorten the line or raise the byte limit \(limits\.bytesPerFile\)$/,
    );
  });
});

describe("planEvaluation: waves of pending requests", () => {
  it("groups jobs in order into waves within the limit; a job over the limit alone fails", () => {
    const jobs = [10, 20, 30, 5, 40].map((requests, i) => ({ requests, jobName: `j${i}` }));
    expect(planWaves(jobs, 40).map((w) => w.map((j) => j.jobName))).toEqual([["j0", "j1"], ["j2", "j3"], ["j4"]]);
    expect(planWaves(jobs, 1000)).toHaveLength(1);
    expect(planWaves([], 1)).toEqual([]);
    expect(() => planWaves(jobs, 35)).toThrow(
      "job j4 holds 40 requests, more than the 35 pending requests a workspace may hold (limits.pendingRequests): lower limits.requestsPerJob to at most 35, or raise limits.pendingRequests",
    );
  });

  it("orders the jobs shard by shard, run by run, and records each job's wave; the preview line says why", () => {
    const p = planEvaluation("ev", { ...args(), limits: { requestsPerJob: 40, pendingRequests: 150 } });
    const order = p.waves.flat();
    expect(order.map((j) => [j.shard, j.run])).toEqual(
      p.shards.flatMap((s) => [
        [s.id, "mistral-small-latest"],
        [s.id, "large"],
      ]),
    );
    expect(p.waves.length).toBeGreaterThan(1);
    p.waves.forEach((wave, k) => {
      expect(wave.reduce((n, j) => n + j.requests, 0)).toBeLessThanOrEqual(150);
      for (const j of wave) expect(j.wave).toBe(k);
    });
    expect(p.runs.flatMap((r) => r.jobs).every((j) => order.includes(j))).toBe(true);
    expect(describeEstimates(p)).toContain(
      `jobs, ${p.waves.length} waves: at most 150 pending requests per workspace (each wave is submitted once the jobs of the one before have finished), estimated`,
    );
  });

  it("plans several waves with waitForCompletion: false, each for a later up; a job over the limit fails", () => {
    const p = planEvaluation("ev", {
      ...args(),
      limits: { requestsPerJob: 40, pendingRequests: 150 },
      waitForCompletion: false,
    });
    expect(p.waves.length).toBeGreaterThan(1);
    expect(describeEstimates(p)).toContain(
      `waves: at most 150 pending requests per workspace (each wave is submitted by a later \`pulumi up\` once the jobs of the one before have finished: waitForCompletion is false)`,
    );
    expect(planEvaluation("ev", { ...args(), waitForCompletion: false }).waves).toHaveLength(1);
    expect(failure({ limits: { requestsPerJob: 40, pendingRequests: 10 } })).toMatch(
      /^Evaluation "ev": job ev-mistral-small-latest-\w+ holds \d+ requests, more than the 10 pending requests/,
    );
  });
});

describe("writeEvaluationInputs: shard files", () => {
  it("writes every shard of every file with exactly custom_id and body; together they are the dataset in order", () => {
    const p = planEvaluation("ev", args());
    writeEvaluationInputs(p);
    const source = items(300);
    const [plain, large] = p.files.map((f) => f.shards.flatMap((s) => readLines(s.path)));
    expect(plain).toEqual(source.map((l) => ({ custom_id: l.custom_id, body: l.body })));
    expect(large).toEqual(source.map((l) => ({ custom_id: l.custom_id, body: { ...l.body, temperature: 0 } })));
    for (const file of p.files)
      for (const s of file.shards)
        expect(readLines(s.path).map((l) => l.custom_id)).toEqual(
          source.slice(s.start, s.start + s.requests).map((l) => l.custom_id),
        );
    expect(readLines(p.expected!.file)).toEqual(source.map((l) => ({ custom_id: l.custom_id, expected: l.expected })));
    expect(fs.readdirSync(p.inputsDir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });

  it("uploads no other field: changing labels or expected answers changes no uploaded file", () => {
    const p = planEvaluation("ev", args());
    writeEvaluationInputs(p);
    const before = p.files.flatMap((f) => f.shards.map((s) => fs.readFileSync(s.path, "utf8")));
    const changed = items(300).map((l) => ({ ...l, expected: -1, label: "other", note: { extra: true } }));
    const q = planEvaluation("ev", { ...args(), dataset: writeDataset(changed) });
    writeEvaluationInputs(q);
    expect(q.files.flatMap((f) => f.shards.map((s) => fs.readFileSync(s.path, "utf8")))).toEqual(before);
    expect(q.shards).toEqual(p.shards);
  });

  it("editing one line's body changes exactly one shard's files; the others are byte for byte the same", () => {
    const p = planEvaluation("ev", args());
    writeEvaluationInputs(p);
    const read = (plan: typeof p) =>
      plan.files.flatMap((f) => f.shards.map((s) => [s.name, fs.readFileSync(s.path, "utf8")]));
    const before = read(p);
    const edited = items(300).map((l, i) => (i === 123 ? item(i, "A different question, a little longer") : l));
    const q = planEvaluation("ev", { ...args(), dataset: writeDataset(edited) });
    writeEvaluationInputs(q);
    const after = read(q);
    expect(after.map(([name]) => name)).toEqual(before.map(([name]) => name));
    const changed = after.filter(([, text], i) => text !== before[i]![1]).map(([name]) => name);
    const holding = q.shards.find((s) => s.start <= 123 && 123 < s.start + s.requests)!;
    expect(changed).toEqual(q.files.map((f) => `${f.name}-${holding.id}`));
  });
});
