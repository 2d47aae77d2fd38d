/**
 * An Evaluation over its limits through the real engine, against an emulator with the same low caps: the dataset is
 * cut into shards (one RequestSet per shard and model), the jobs are submitted in two waves within the workspace's
 * pending requests (the emulator refuses a job that would exceed them), every model's shards are merged as one job
 * in the summaries and the report; then editing one line's body previews as an update of exactly one shard's sets
 * and submits that one request per model; and changing the expected answers' scorer submits nothing. Without
 * waiting (`waitForCompletion: false`) the waves go over several ups: each submits the next once the one before is
 * done, the later wave's sets holding meanwhile.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { Emulator } from "mistral-batch-emulator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ModelSummary } from "../../provider";
import { assertDistFresh, E2EProject, emulatorLib, previewSteps } from "./harness";
import { testProfile } from "../support/profile";

type Stack = Awaited<ReturnType<E2EProject["stack"]>>;

const LINES = 240;
const REQUESTS_PER_JOB = 100;
const PENDING = 300;

/** "What is a + b?" questions with the expected sum as a top-level field; line `edited` asks another question. */
function arithmetic(n: number, edited = -1): string {
  return `${Array.from({ length: n }, (_, i) => {
    const a = 7 * i + 3;
    const b = i === edited ? 1000 : 11 * i + 5;
    return JSON.stringify({
      custom_id: `q${String(i + 1).padStart(3, "0")}`,
      expected: a + b,
      body: { max_tokens: 16, messages: [{ role: "user", content: `What is ${a} + ${b}?` }] },
    });
  }).join("\n")}\n`;
}

interface ShardOutput {
  id: string;
  requests: number;
  job: string;
}

/** The emulator with the low caps, and a project of the arithmetic dataset running `program`. */
async function setup(
  name: string,
  program: string,
): Promise<{ emulator: Emulator; project: E2EProject; stack: Stack }> {
  assertDistFresh();
  const emulator = await emulatorLib().startEmulator({
    profile: testProfile(),
    speed: { queueDelayMs: 100, requestsPerSecond: 2000, cancelDelayMs: 50 },
    maxRequestsPerJob: REQUESTS_PER_JOB,
    maxPendingRequests: PENDING,
  });
  const project = new E2EProject(name, { files: { "data/arith.jsonl": arithmetic(LINES) } });
  project.program(program);
  return { emulator, project, stack: await project.stack(emulator.url) };
}

describe("Evaluation in shards and waves through the engine", { timeout: 300_000 }, () => {
  let emulator: Emulator;
  let project: E2EProject;
  let stack: Stack;

  beforeAll(async () => {
    ({ emulator, project, stack } = await setup(
      "shards",
      `
const { Evaluation } = require("pulumi-mistral-batch");
const evaluation = new Evaluation("arith", {
  dataset: "data/arith.jsonl",
  expected: { field: "expected" },
  scorer: { type: require("node:fs").existsSync("scorer.txt") ? require("node:fs").readFileSync("scorer.txt", "utf8") : "numeric" },
  models: ["mistral-small-latest", { name: "ministral-3b-latest", label: "tiny" }],
  outputDir: "eval-out",
  limits: { requestsPerJob: ${REQUESTS_PER_JOB}, pendingRequests: ${PENDING} },
  waitForCompletion: { timeoutMinutes: 3, pollIntervalSeconds: 0.2 },
});
const shards = {};
for (const [label, list] of Object.entries(evaluation.shards))
  shards[label] = list.map((s) => s.set.jobIds.apply((jobs) => ({ id: s.id, requests: s.requests, job: jobs[0] })));
module.exports = { summaries: evaluation.summaries, reportPath: evaluation.reportPath, shards };`,
    ));
  });

  afterAll(async () => {
    await emulator?.close();
    project?.cleanup();
  });

  const jobs = () => [...emulator.store.jobs.values()];
  const uploads = () => [...emulator.store.files.values()].filter((f) => f.source === "upload");
  let shards: Record<string, ShardOutput[]>;

  it("up uploads one file per shard, runs one job per shard and model in two waves, and merges each model's shards", async () => {
    const output: string[] = [];
    const result = await stack.up({ onOutput: (t) => output.push(t) });
    expect(result.summary.result).toBe("succeeded");
    shards = result.outputs.shards.value as Record<string, ShardOutput[]>;
    const ids = shards["mistral-small-latest"]!.map((s) => s.id);
    expect(ids.length).toBeGreaterThan(2);
    expect(shards.tiny!.map((s) => [s.id, s.requests])).toEqual(
      shards["mistral-small-latest"]!.map((s) => [s.id, s.requests]),
    );
    expect(shards.tiny!.reduce((n, s) => n + s.requests, 0)).toBe(LINES);

    // The estimate's heading, logged by up too: shards, jobs, waves and why.
    const line =
      output
        .join("")
        .split("\n")
        .find((l) => l.includes("Evaluation arith:") && l.includes("estimated at the batch price")) ?? "";
    expect(line).toContain(
      `${LINES} requests in ${ids.length} shards x 2 models = ${2 * ids.length} jobs, 2 waves: at most ${PENDING} pending requests per workspace`,
    );

    // One upload per shard and model (each set uploads what it submits), only custom_id and body; one job each.
    expect(uploads()).toHaveLength(2 * ids.length);
    for (const f of uploads()) {
      const lines = fs
        .readFileSync(emulator.store.blobPath(f.id), "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l));
      expect(lines.length).toBeLessThanOrEqual(REQUESTS_PER_JOB);
      for (const l of lines) expect(Object.keys(l)).toEqual(["custom_id", "body"]);
    }
    expect(jobs()).toHaveLength(2 * ids.length);
    expect(jobs().every((j) => j.status === "SUCCESS")).toBe(true);

    // Two waves, each within PENDING requests (else the emulator would have refused a job with a 429): in state,
    // the jobs of the first wave depend on no job, and each job of the second depends on every job of the first.
    const state = (await stack.exportStack()).deployment as { resources?: { urn: string; dependencies?: string[] }[] };
    const nameOf = (urn: string): string => urn.split("::").pop() ?? urn;
    const jobNames = new Map<string, number>(
      Object.entries(shards).flatMap(([label, list]) =>
        list.map((x): [string, number] => [`arith-${label}-${x.id}`, x.requests]),
      ),
    );
    const dependsOnJobs = new Map<string, string[]>(
      (state.resources ?? [])
        .filter((r) => jobNames.has(nameOf(r.urn)))
        .map((r): [string, string[]] => [
          nameOf(r.urn),
          (r.dependencies ?? [])
            .map(nameOf)
            .filter((d) => jobNames.has(d))
            .sort(),
        ]),
    );
    expect(dependsOnJobs.size).toBe(2 * ids.length);
    const first = [...dependsOnJobs].filter(([, deps]) => deps.length === 0).map(([name]) => name);
    const second = [...dependsOnJobs].filter(([, deps]) => deps.length > 0);
    expect(first.length).toBeGreaterThan(0);
    expect(second.length).toBeGreaterThan(0);
    for (const [, deps] of second) expect(deps).toEqual([...first].sort());
    const requestsOf = (names: string[]) => names.reduce((n, name) => n + (jobNames.get(name) ?? 0), 0);
    expect(requestsOf(first)).toBeLessThanOrEqual(PENDING);
    expect(requestsOf(second.map(([name]) => name))).toBeLessThanOrEqual(PENDING);

    // Each model's shards are merged as one job: every item counted once, every job listed.
    const summaries = result.outputs.summaries.value as ModelSummary[];
    expect(summaries.map((s) => s.model)).toEqual(["mistral-small-latest", "tiny"]);
    for (const s of summaries) {
      const mine = shards[s.model]!.map((x) => x.job);
      expect(s).toMatchObject({ status: "SUCCESS", total: LINES, succeeded: LINES, failed: 0, scored: LINES });
      expect(s.jobIds).toEqual(mine);
      expect(s.jobId).toBe(mine[0]);
      expect(s.outputPaths).toHaveLength(mine.length);
      expect(mine.reduce((n, id) => n + (emulator.store.jobs.get(id)?.total_requests ?? 0), 0)).toBe(LINES);
    }
    const rows = fs
      .readFileSync(path.join(project.workDir, "eval-out", "rows.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { customId: string });
    expect(new Set(rows.map((r) => r.customId)).size).toBe(LINES);
    expect(rows).toHaveLength(LINES);
    const report = path.resolve(project.workDir, result.outputs.reportPath.value as string);
    expect(fs.readFileSync(report, "utf8")).toContain(`+${ids.length - 1} more`);
  });

  it("editing one line's body previews an update of exactly one shard's sets, and up submits that request alone", async () => {
    const edited = 150;
    const ids = shards.tiny!.map((s) => s.id);
    let start = 0;
    const holding = shards.tiny!.find((s) => {
      const inside = edited >= start && edited < start + s.requests;
      start += s.requests;
      return inside;
    })!.id;
    project.write("data/arith.jsonl", arithmetic(LINES, edited));
    const steps = await previewSteps(stack);
    const changed = Object.entries(steps)
      .filter(([, op]) => op !== "same")
      .map(([name, op]) => `${name}: ${op}`)
      .sort();
    expect(changed).toEqual([`arith-mistral-small-latest-${holding}: update`, `arith-tiny-${holding}: update`].sort());
    // Every other shard's set is there, unchanged.
    expect(Object.keys(steps)).toHaveLength(1 + 2 * ids.length);

    const before = jobs().length;
    const output: string[] = [];
    const result = await stack.up({ onOutput: (t) => output.push(t) });
    expect(result.summary.result).toBe("succeeded");
    expect(output.join("")).toMatch(/\+1 new, \d+ reused, 1 removed/);
    const added = jobs().slice(before);
    expect(added.map((j) => j.total_requests)).toEqual([1, 1]);
    const summaries = result.outputs.summaries.value as ModelSummary[];
    for (const s of summaries) expect(s).toMatchObject({ total: LINES, succeeded: LINES, submitted: 1, scored: LINES });
  });

  it("a new scorer for the expected answers re-scores the stored results and submits nothing", async () => {
    const before = jobs().length;
    const uploaded = uploads().length;
    project.write("scorer.txt", "exact");
    const result = await stack.up();
    expect(result.summary.result).toBe("succeeded");
    expect(jobs()).toHaveLength(before);
    expect(uploads()).toHaveLength(uploaded);
    const summaries = result.outputs.summaries.value as ModelSummary[];
    for (const s of summaries) expect(s).toMatchObject({ total: LINES, submitted: 0, scored: LINES });
  });
});

describe("Evaluation in waves without waiting: each up submits the next wave once the one before is done", {
  timeout: 300_000,
}, () => {
  let emulator: Emulator;
  let project: E2EProject;
  let stack: Stack;

  beforeAll(async () => {
    ({ emulator, project, stack } = await setup(
      "waves",
      `
const { Evaluation } = require("pulumi-mistral-batch");
const evaluation = new Evaluation("arith", {
  dataset: "data/arith.jsonl",
  expected: { field: "expected" },
  models: ["mistral-small-latest", { name: "ministral-3b-latest", label: "tiny" }],
  outputDir: "eval-out",
  limits: { requestsPerJob: ${REQUESTS_PER_JOB}, pendingRequests: ${PENDING} },
  waitForCompletion: false,
});
module.exports = { summaries: evaluation.summaries };`,
    ));
  });

  afterAll(async () => {
    await emulator?.close();
    project?.cleanup();
  });

  const jobs = () => [...emulator.store.jobs.values()];
  const pendingNow = () =>
    jobs()
      .filter((j) => j.status === "QUEUED" || j.status === "RUNNING")
      .reduce((n, j) => n + j.total_requests, 0);

  it("the first up submits the first wave and holds the rest; the next submits the second; the third finds all done", async () => {
    const output: string[] = [];
    const first = await stack.up({ onOutput: (t) => output.push(t) });
    expect(first.summary.result).toBe("succeeded");
    const text = output.join("");
    expect(text).toContain(
      "each wave is submitted by a later `pulumi up` once the jobs of the one before have finished",
    );
    expect(text).toMatch(/holds \d+ request\(s\) until the jobs of the wave before have finished/);
    const wave1 = jobs().length;
    expect(wave1).toBeGreaterThan(0);
    const submitted1 = jobs().reduce((n, j) => n + j.total_requests, 0);
    expect(submitted1).toBeLessThanOrEqual(PENDING);
    expect(submitted1).toBeLessThan(2 * LINES);

    // The first wave has finished by now (the emulator's jobs take well under a second): the second goes.
    const second = await stack.up();
    expect(second.summary.result).toBe("succeeded");
    expect(jobs().length).toBeGreaterThan(wave1);
    expect(jobs().reduce((n, j) => n + j.total_requests, 0)).toBe(2 * LINES);
    expect(pendingNow()).toBeLessThanOrEqual(PENDING);

    // Every request submitted once; the third up downloads the second wave's results and submits nothing.
    const before = jobs().length;
    const third = await stack.up();
    expect(jobs()).toHaveLength(before);
    const summaries = third.outputs.summaries.value as ModelSummary[];
    for (const s of summaries) expect(s).toMatchObject({ status: "SUCCESS", total: LINES, succeeded: LINES });
  });
});
