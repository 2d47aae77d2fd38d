import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { planBatchRun } from "../../provider/batchRun";

const dirs: string[] = [];
function dataset(lines: number): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pmb-batchrun-"));
  dirs.push(dir);
  const file = path.join(dir, "q.jsonl");
  const body = (i: number) => ({ messages: [{ role: "user", content: `q${i}` }] });
  fs.writeFileSync(
    file,
    Array.from({ length: lines }, (_, i) => `${JSON.stringify({ custom_id: `c${i}`, body: body(i) })}\n`).join(""),
  );
  return file;
}
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

describe("planBatchRun", () => {
  it("one run on the model, in shards within the limits, written under .mistral-batch/<name>", () => {
    const plan = planBatchRun("answers", {
      dataset: dataset(120),
      model: "ft:open-mistral-7b:abc:2024",
      limits: { requestsPerJob: 50 },
    });
    expect(plan.runs).toHaveLength(1);
    const [run] = plan.runs;
    expect(run).toMatchObject({ label: "run", model: "ft:open-mistral-7b:abc:2024" });
    expect(run?.jobs.length).toBeGreaterThan(2);
    expect(run?.jobs.every((j) => j.requests <= 50)).toBe(true);
    expect(run?.jobs.reduce((n, j) => n + j.requests, 0)).toBe(120);
    expect(plan.outputDir).toBe(path.resolve(".mistral-batch", "answers"));
    expect(plan.scorer).toBeUndefined();
  });

  it("bad arguments: messages that name the BatchRun, the argument and the value", () => {
    const file = dataset(3);
    expect(() => planBatchRun("a", { dataset: file, model: "" })).toThrow(
      'BatchRun "a": model is ""; expected a model name, e.g. "mistral-small-latest"',
    );
    expect(() => planBatchRun("a", { dataset: ["x"] as unknown as string, model: "m" })).toThrow(
      /^BatchRun "a": dataset is \["x"\]; expected the path of a JSONL file/,
    );
    expect(() => planBatchRun("a", { dataset: file, model: "m", limits: { requestsPerJob: 0 } })).toThrow(
      /^BatchRun "a": limits\.requestsPerJob is 0; expected a positive integer/,
    );
    expect(() => planBatchRun("a", { dataset: "/nonexistent/q.jsonl", model: "m" })).toThrow(
      /^BatchRun "a": dataset is "\/nonexistent\/q\.jsonl", which does not exist/,
    );
  });
});
