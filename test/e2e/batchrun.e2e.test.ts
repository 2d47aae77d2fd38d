/**
 * BatchRun through the real engine: a dataset over the (lowered) job limit on one model, cut into shards, one job
 * per shard, and the shards' results merged into one output file as if one job had run, with Mistral's counts summed.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { Emulator } from "mistral-batch-emulator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assertDistFresh, E2EProject, emulatorLib } from "./harness";
import { testProfile } from "../support/profile";

const LINES = 150;
const REQUESTS_PER_JOB = 40;

function questions(n: number): string {
  return `${Array.from({ length: n }, (_, i) =>
    JSON.stringify({
      custom_id: `r${i}`,
      note: "not uploaded",
      body: { max_tokens: 8, messages: [{ role: "user", content: `Say ${i}` }] },
    }),
  ).join("\n")}\n`;
}

describe("BatchRun through the engine", { timeout: 300_000 }, () => {
  let emulator: Emulator;
  let project: E2EProject;

  beforeAll(async () => {
    assertDistFresh();
    emulator = await emulatorLib().startEmulator({
      profile: testProfile(),
      speed: { queueDelayMs: 100, requestsPerSecond: 2000, cancelDelayMs: 50 },
      maxRequestsPerJob: REQUESTS_PER_JOB,
    });
    project = new E2EProject("batchrun", { files: { "data/q.jsonl": questions(LINES) } });
    project.program(`
const { BatchRun } = require("pulumi-mistral-batch");
const run = new BatchRun("answers", {
  dataset: "data/q.jsonl",
  model: "mistral-small-latest",
  limits: { requestsPerJob: ${REQUESTS_PER_JOB} },
  waitForCompletion: { timeoutMinutes: 3, pollIntervalSeconds: 0.2 },
});
module.exports = {
  status: run.status, jobIds: run.jobIds, totalRequests: run.totalRequests, succeeded: run.succeededRequests,
  failed: run.failedRequests, outputPath: run.outputPath, errorPath: run.errorPath, shards: run.shards.length,
};`);
  });

  afterAll(async () => {
    await emulator?.close();
    project?.cleanup();
  });

  it("up runs one job per shard and merges every shard's results into one output file", async () => {
    const stack = await project.stack(emulator.url);
    const result = await stack.up();
    expect(result.summary.result).toBe("succeeded");
    const out = Object.fromEntries(Object.entries(result.outputs).map(([k, v]) => [k, v.value]));
    const jobIds = out.jobIds as string[];
    expect(out.shards).toBeGreaterThan(3); // 150 lines at most 40 a job
    expect(jobIds).toHaveLength(out.shards as number);
    expect(new Set(jobIds).size).toBe(jobIds.length);
    expect(out).toMatchObject({ status: "SUCCESS", totalRequests: LINES, succeeded: LINES, failed: 0 });
    expect(out.errorPath).toBeUndefined();
    for (const id of jobIds) expect(emulator.store.jobs.get(id)?.total_requests).toBeLessThanOrEqual(REQUESTS_PER_JOB);

    // Only custom_id and body were uploaded.
    for (const f of [...emulator.store.files.values()].filter((f) => f.source === "upload")) {
      const first = JSON.parse(fs.readFileSync(emulator.store.blobPath(f.id), "utf8").split("\n")[0] ?? "{}");
      expect(Object.keys(first)).toEqual(["custom_id", "body"]);
    }

    // One merged file: every request answered once, as one job's output would hold them.
    const merged = fs
      .readFileSync(path.resolve(project.workDir, out.outputPath as string), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { custom_id: string; response: { status_code: number } });
    expect(merged).toHaveLength(LINES);
    expect(new Set(merged.map((l) => l.custom_id))).toEqual(new Set(Array.from({ length: LINES }, (_, i) => `r${i}`)));
    expect(merged.every((l) => l.response.status_code === 200)).toBe(true);
    expect(out.outputPath).toBe(path.join(".mistral-batch", "answers", "output.jsonl"));
  });
});
