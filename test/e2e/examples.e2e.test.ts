/**
 * Every example in examples/ runs in CI: its compiled program (dist/examples/<name>/index.js, data copied next to
 * it by `npm run build`) through the real engine against the emulator, the way `npm run demo` runs the flagship.
 * `up` gives the outputs the example promises, `destroy` leaves no uploaded file behind.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { API_KEY, ROOT, assertDistFresh, emulatorLib, engine } from "./harness";
import type { Emulator } from "../../emulator";
import type { ModelSummary } from "../../provider";

type Stack = Awaited<ReturnType<ReturnType<typeof engine>["createStack"]>>;

const STACK = "e2e-examples";

describe("the examples through the engine", { timeout: 240_000 }, () => {
  let emulator: Emulator;
  let tmp: string;

  beforeAll(async () => {
    assertDistFresh();
    for (const name of ["minimal", "embeddings", "model-comparison"]) {
      expect(fs.existsSync(path.join(ROOT, "dist/examples", name, "index.js")), `dist/examples/${name}: run npm run build`).toBe(true);
    }
    emulator = await emulatorLib().startEmulator({ speed: { queueDelayMs: 100, requestsPerSecond: 500, cancelDelayMs: 50 } });
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "pmb-e2e-examples-"));
  });

  afterAll(async () => {
    await emulator?.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  const uploads = () => [...emulator.store.files.values()].filter((f) => f.source === "upload");

  /** The example's compiled program as a stack with its own state directory, configured for the emulator. */
  async function exampleStack(name: string): Promise<{ stack: Stack; dir: string; logs: string[] }> {
    const dir = path.join(ROOT, "dist/examples", name);
    const projectName = /^name:\s*(\S+)/m.exec(fs.readFileSync(path.join(dir, "Pulumi.yaml"), "utf8"))![1];
    const e = engine();
    const stack = await e.createStack({
      workDir: dir,
      program: e.moduleProgram(path.join(dir, "index.js")),
      projectName,
      stackName: STACK,
      stateDir: path.join(tmp, name, "state"),
      home: path.join(tmp, name, "home"),
      serverUrl: emulator.url,
      apiKey: API_KEY,
    });
    return { stack, dir, logs: [] };
  }

  /** Destroys the stack, checks nothing uploaded is left, and removes the stack's settings file from dist/. */
  async function destroy(s: { stack: Stack; dir: string; logs: string[] }): Promise<void> {
    try {
      const destroyed = await s.stack.destroy({ onOutput: (t) => s.logs.push(t) });
      expect(destroyed.summary.result).toBe("succeeded");
      expect(uploads()).toEqual([]);
      expect(s.logs.join("")).not.toContain(API_KEY);
    } finally {
      fs.rmSync(path.join(s.dir, `Pulumi.${STACK}.yaml`), { force: true });
    }
  }

  it("minimal: up uploads and submits (QUEUED), destroy cancels and deletes", async () => {
    const s = await exampleStack("minimal");
    const up = await s.stack.up({ onOutput: (t) => s.logs.push(t) });
    expect(up.summary.result).toBe("succeeded");
    const o = up.outputs;
    expect(o.status.value).toBe("QUEUED");
    expect(o.jobId.value).toMatch(/^[0-9a-f-]{36}$/);
    expect(uploads().map((f) => f.id)).toEqual([o.fileId.value]);
    expect(uploads()[0].num_lines).toBe(3);
    const job = emulator.store.jobs.get(o.jobId.value)!;
    expect(job).toMatchObject({ model: "mistral-small-latest", input_files: [o.fileId.value] });
    expect(job.metadata).toMatchObject({ example: "minimal" });
    await destroy(s);
    expect(["CANCELLED", "SUCCESS"]).toContain(emulator.store.jobs.get(o.jobId.value)!.status);
  });

  it("embeddings: up waits for SUCCESS and downloads 6 vectors of 1024 dimensions; destroy cleans up", async () => {
    const s = await exampleStack("embeddings");
    let vectorsPath: string | undefined;
    try {
      const up = await s.stack.up({ onOutput: (t) => s.logs.push(t) });
      expect(up.summary.result).toBe("succeeded");
      const o = up.outputs;
      expect(o.status.value).toBe("SUCCESS");
      expect(o.embedded.value).toBe(6);
      vectorsPath = o.vectorsPath.value as string;
      expect(path.dirname(vectorsPath)).toBe(path.join(s.dir, "results"));
      const lines = fs.readFileSync(vectorsPath, "utf8").trim().split("\n").map((l) => JSON.parse(l));
      expect(lines).toHaveLength(6);
      expect(lines.map((l) => l.custom_id).sort()).toEqual(["t1", "t2", "t3", "t4", "t5", "t6"]);
      for (const l of lines) {
        expect(l.response.status_code).toBe(200);
        const vector = l.response.body.data[0].embedding as number[];
        expect(vector).toHaveLength(1024);
        expect(vector.every((x) => typeof x === "number" && Number.isFinite(x))).toBe(true);
      }
      expect(uploads()).toHaveLength(1);
      await destroy(s);
    } finally {
      // The download lands next to the compiled program (dist/): keep dist/ as the build left it.
      if (vectorsPath) fs.rmSync(vectorsPath, { force: true });
      const results = path.join(ROOT, "dist/examples/embeddings/results");
      if (fs.existsSync(results) && fs.readdirSync(results).length === 0) fs.rmdirSync(results);
    }
  });

  it("model-comparison: up scores 3 models (large > small > 3b) and writes the report; destroy cleans up", async () => {
    // The example writes its report under .mistral-eval/arithmetic relative to the program's working directory.
    const cwd = process.cwd();
    const work = path.join(tmp, "model-comparison", "cwd");
    fs.mkdirSync(work, { recursive: true });
    process.chdir(work);
    try {
      const s = await exampleStack("model-comparison");
      const up = await s.stack.up({ onOutput: (t) => s.logs.push(t) });
      expect(up.summary.result).toBe("succeeded");
      const summaries = up.outputs.summaries.value as ModelSummary[];
      expect(summaries.map((x) => x.model)).toEqual(["mistral-large-latest", "mistral-small-latest", "ministral-3b-latest"]);
      for (const x of summaries) {
        expect(x).toMatchObject({ status: "SUCCESS", total: 50, succeeded: 50, failed: 0, scored: 50 });
        expect(x.cost).toBeGreaterThan(0);
      }
      const [large, small, tiny] = summaries.map((x) => x.accuracy!);
      expect(large).toBeGreaterThan(small);
      expect(small).toBeGreaterThan(tiny);
      const jobs = [...emulator.store.jobs.values()].filter((j) => j.metadata?.evaluation === "arithmetic");
      expect(jobs.map((j) => j.model).sort()).toEqual(["ministral-3b-latest", "mistral-large-latest", "mistral-small-latest"]);
      expect(summaries.map((x) => x.jobId).sort()).toEqual(jobs.map((j) => j.id).sort());
      const out = path.join(work, ".mistral-eval/arithmetic");
      expect(up.outputs.reportPath.value).toBe(path.join(out, "report.html"));
      expect(up.outputs.markdownPath.value).toBe(path.join(out, "report.md"));
      const md = fs.readFileSync(path.join(out, "report.md"), "utf8");
      const html = fs.readFileSync(path.join(out, "report.html"), "utf8");
      for (const m of ["mistral-large-latest", "mistral-small-latest", "ministral-3b-latest"]) {
        expect(md).toContain(m);
        expect(html).toContain(m);
      }
      expect(uploads()).toHaveLength(1); // one file shared by the three models
      await destroy(s);
    } finally {
      process.chdir(cwd);
    }
  });
});
