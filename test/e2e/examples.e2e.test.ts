/**
 * Every program this repository ships runs the way a user runs it: `pulumi up` in its own folder (the root, where
 * `Pulumi.yaml` runs the flagship, and each of examples/), through the real CLI and the Node.js language host,
 * which reads the folder's `Pulumi.yaml`, finds the program from its `package.json` and compiles its TypeScript
 * with ts-node. Against the emulator, `up` creates what the program declares, a second `up` changes nothing, and
 * `destroy` leaves no uploaded file behind. The only things written into the folders are the stack's settings file
 * and what the program itself writes there (reports, downloads); the tests remove what they created.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  API_KEY,
  type E2EStack,
  ROOT,
  type UpOperationResult,
  assertDistFresh,
  e2eStack,
  emulatorLib,
} from "./harness";
import type { Emulator } from "mistral-batch-emulator";
import type { ModelSummary } from "../../provider";
import { testProfile } from "../support/profile";

const STACK = "e2e-shipped";
const MODELS = ["mistral-large-latest", "mistral-small-latest", "ministral-3b-latest"];

interface Shipped {
  stack: E2EStack;
  dir: string;
  logs: string[];
  onOutput: (text: string) => void;
}

describe("the shipped programs, with pulumi up in their folders", { timeout: 300_000 }, () => {
  let emulator: Emulator;
  let tmp: string;

  beforeAll(async () => {
    assertDistFresh();
    emulator = await emulatorLib().startEmulator({
      profile: testProfile(),
      speed: { queueDelayMs: 100, requestsPerSecond: 500, cancelDelayMs: 50 },
    });
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "pmb-e2e-shipped-"));
  });

  afterAll(async () => {
    await emulator?.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  const uploads = () => [...emulator.store.files.values()].filter((f) => f.source === "upload");

  /**
   * Runs `body` with a stack of the project in `dir` (its own state directory and PULUMI_HOME), configured for the
   * emulator; then destroys it, checks nothing uploaded is left and the key was never printed, and removes the
   * stack's settings file and whatever of `outputs` (paths in the folder) the run created.
   */
  async function shipped(dir: string, outputs: string[], body: (s: Shipped) => Promise<void>): Promise<void> {
    const existed = new Set(outputs.filter((p) => fs.existsSync(p)));
    const logs: string[] = [];
    const name = path.basename(dir);
    try {
      const stack = await e2eStack({
        workDir: dir,
        stackName: STACK,
        stateDir: path.join(tmp, name, "state"),
        home: path.join(tmp, name, "home"),
        serverUrl: emulator.url,
        apiKey: API_KEY,
      });
      const s: Shipped = { stack, dir, logs, onOutput: (t) => void logs.push(t) };
      await body(s);
      const destroyed = await stack.destroy({ onOutput: s.onOutput });
      expect(destroyed.summary.result).toBe("succeeded");
      expect(uploads()).toEqual([]);
      expect(logs.join("")).not.toContain(API_KEY);
    } finally {
      fs.rmSync(path.join(dir, `Pulumi.${STACK}.yaml`), { force: true });
      for (const p of outputs) if (!existed.has(p)) fs.rmSync(p, { recursive: true, force: true });
    }
  }

  /** A second `up` with nothing changed: every resource stays as it is. */
  async function upAgainChangesNothing(s: Shipped): Promise<UpOperationResult> {
    const again = await s.stack.up({ onOutput: s.onOutput });
    expect(again.summary.result).toBe("succeeded");
    expect(Object.keys(again.summary.resourceChanges ?? {})).toEqual(["same"]);
    return again;
  }

  /** What the flagship (root and examples/model-comparison) must give: 3 models scored, large > small > 3b, the report. */
  function checkFlagship(up: UpOperationResult, programDir: string): void {
    const summaries = up.outputs.summaries.value as ModelSummary[];
    expect(summaries.map((x) => x.model)).toEqual(MODELS);
    for (const x of summaries) {
      expect(x).toMatchObject({ status: "SUCCESS", total: 50, succeeded: 50, failed: 0, scored: 50 });
      expect(x.cost).toBeGreaterThan(0);
    }
    const [large, small, tiny] = summaries.map((x) => x.accuracy!);
    // The same at a glance: a small map of the accuracies, rounded for reading.
    expect(up.outputs.accuracy.value).toEqual(
      Object.fromEntries(summaries.map((x) => [x.model, Math.round(x.accuracy! * 10_000) / 10_000])),
    );
    expect(large).toBeGreaterThan(small);
    expect(small).toBeGreaterThan(tiny);
    const jobs = [...emulator.store.jobs.values()].filter(
      (j) => j.metadata?.evaluation === "arithmetic" && summaries.some((x) => x.jobId === j.id),
    );
    expect(jobs.map((j) => j.model).sort()).toEqual([...MODELS].sort());
    expect(jobs.every((j) => j.status === "SUCCESS")).toBe(true);
    // The program runs in its own folder, so the report lands under it.
    const out = path.join(programDir, ".mistral-eval/arithmetic");
    // Relative to the program's folder (state does not depend on where it is).
    expect(path.resolve(programDir, up.outputs.reportPath.value)).toBe(path.join(out, "report.html"));
    expect(up.outputs.markdownPath.value).toBe(".mistral-eval/arithmetic/report.md");
    const md = fs.readFileSync(path.join(out, "report.md"), "utf8");
    const html = fs.readFileSync(path.join(out, "report.html"), "utf8");
    for (const m of MODELS) {
      expect(md).toContain(m);
      expect(html).toContain(m);
    }
    expect(uploads()).toHaveLength(3); // each model's set uploads the requests it submits
  }

  it("examples/minimal: up uploads and submits (QUEUED); a second up changes nothing; destroy cancels and deletes", async () => {
    const dir = path.join(ROOT, "examples/minimal");
    await shipped(dir, [], async (s) => {
      const up = await s.stack.up({ onOutput: s.onOutput });
      expect(up.summary.result).toBe("succeeded");
      expect(up.summary.resourceChanges).toEqual({ create: 3 }); // the stack, the file, the job
      const o = up.outputs;
      expect(o.status.value).toBe("QUEUED");
      expect(o.jobId.value).toMatch(/^[0-9a-f-]{36}$/);
      expect(uploads().map((f) => f.id)).toEqual([o.fileId.value]);
      expect(uploads()[0].num_lines).toBe(3);
      const job = emulator.store.jobs.get(o.jobId.value)!;
      expect(job).toMatchObject({ model: "mistral-small-latest", input_files: [o.fileId.value] });
      expect(job.metadata).toMatchObject({ example: "minimal" });
      const jobs = emulator.store.jobs.size;
      await upAgainChangesNothing(s);
      expect(emulator.store.jobs.size).toBe(jobs);
      expect(uploads()).toHaveLength(1);
    }); // shipped() destroys: the job is cancelled if it still runs

    const job = [...emulator.store.jobs.values()].find((j) => j.metadata?.example === "minimal")!;
    expect(["CANCELLED", "SUCCESS"]).toContain(job.status);
  });

  it("examples/embeddings: up waits for SUCCESS and downloads 6 vectors of 1024 dimensions; a second up changes nothing", async () => {
    const dir = path.join(ROOT, "examples/embeddings");
    await shipped(dir, [path.join(dir, "results")], async (s) => {
      const up = await s.stack.up({ onOutput: s.onOutput });
      expect(up.summary.result).toBe("succeeded");
      const o = up.outputs;
      expect(o.status.value).toBe("SUCCESS");
      expect(o.embedded.value).toBe(6);
      // Relative to the program's folder in state (it does not depend on where the checkout is).
      expect(path.dirname(o.vectorsPath.value as string)).toBe("results");
      const vectorsPath = path.resolve(dir, o.vectorsPath.value as string);
      const lines = fs
        .readFileSync(vectorsPath, "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l));
      expect(lines).toHaveLength(6);
      expect(lines.map((l) => l.custom_id).sort()).toEqual(["t1", "t2", "t3", "t4", "t5", "t6"]);
      for (const l of lines) {
        expect(l.response.status_code).toBe(200);
        const vector = l.response.body.data[0].embedding as number[];
        expect(vector).toHaveLength(1024);
        expect(vector.every((x) => typeof x === "number" && Number.isFinite(x))).toBe(true);
      }
      expect(uploads()).toHaveLength(1);
      const jobs = emulator.store.jobs.size;
      await upAgainChangesNothing(s);
      expect(emulator.store.jobs.size).toBe(jobs);
    });
  });

  it("examples/model-comparison: up scores 3 models (large > small > 3b) and writes the report; a second up changes nothing", async () => {
    const dir = path.join(ROOT, "examples/model-comparison");
    await shipped(dir, [path.join(dir, ".mistral-eval")], async (s) => {
      const up = await s.stack.up({ onOutput: s.onOutput });
      expect(up.summary.result).toBe("succeeded");
      checkFlagship(up, dir);
      const jobs = emulator.store.jobs.size;
      checkFlagship(await upAgainChangesNothing(s), dir);
      expect(emulator.store.jobs.size).toBe(jobs);
    });
  });

  // The same program as examples/model-comparison (whose second up already shows nothing changes), run from the
  // root's Pulumi.yaml: what is new here is that the root project runs it, from its own folder.
  it("the repository root: its Pulumi.yaml runs the flagship with pulumi up at the root", async () => {
    const programDir = path.join(ROOT, "examples/model-comparison");
    await shipped(ROOT, [path.join(programDir, ".mistral-eval")], async (s) => {
      const up = await s.stack.up({ onOutput: s.onOutput });
      expect(up.summary.result).toBe("succeeded");
      // The root project's stack, not the example's: its own name from the root Pulumi.yaml.
      expect(s.logs.join("")).toContain("mistral-batch-flagship");
      checkFlagship(up, programDir);
    });
  });
});
