/**
 * The Evaluation component through the real engine, against the emulator: one RequestSet per model (its uploads,
 * jobs and results), scored and reported in the program; an edit of the dataset submits only the new requests. Each test shows one rule of what a
 * change to the declared evaluation does (preview steps, jobs submitted in the emulator, summaries, report).
 * The program is the project folder's `index.js`, run by the `pulumi` CLI through the Node.js language host; a test
 * rewrites it between operations, as a user edits their program.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import { E2EProject, assertDistFresh, emulatorLib, lib, failure, previewSteps, resources } from "./harness";
import type { Emulator } from "mistral-batch-emulator";
import type { EvaluationModel, ModelSummary, Scorer } from "../../provider";
import type { EvaluationEstimate } from "../../provider/evaluation";
import { testProfile } from "../support/profile";

type Stack = Awaited<ReturnType<E2EProject["stack"]>>;

/** "What is a + b?" questions with the expected sum as a top-level field. */
function arithmetic(n: number): string {
  return `${Array.from({ length: n }, (_, i) => {
    const a = 7 * i + 3;
    const b = 11 * i + 5;
    return JSON.stringify({
      custom_id: `q${String(i + 1).padStart(2, "0")}`,
      expected: a + b,
      body: { max_tokens: 32, messages: [{ role: "user", content: `What is ${a} + ${b}?` }] },
    });
  }).join("\n")}\n`;
}

/** JavaScript written into the program as it is (e.g. a ScoreFn), where other declared values are written as JSON. */
class Source {
  constructor(readonly js: string) {}
}

const lastNumber = (text: string): number | null => {
  const all = text.match(/-?\d+(?:\.\d+)?/g);
  return all ? Number(all[all.length - 1]) : null;
};

describe("Evaluation through the engine", { timeout: 240_000 }, () => {
  let emulator: Emulator;
  let project: E2EProject;
  let stack: Stack;
  /** The dataset and the output directory as the test reads them; the program names them relative to its folder. */
  let dataset: string;
  let outputDir: string;

  // What the program declares; tests change it between operations, as a user edits their program.
  // The scorer may be invalid on purpose (hence unknown), or a Source: a ScoreFn written in the program.
  // With `probe`, the program logs the outputs it can see (an apply runs only on a known value).
  const declared: {
    models: (string | EvaluationModel)[];
    scorer: Scorer | Source | unknown;
    probe?: boolean;
    deleteResultFilesOnDestroy?: boolean;
    onModelChange?: "keep" | "replace";
  } = {
    models: ["mistral-large-latest", "mistral-small-latest", { name: "ministral-3b-latest", label: "tiny" }],
    scorer: { type: "numeric" },
  };
  /** Writes the program for what is declared now. */
  const declare = (change: Partial<typeof declared> = {}) => {
    Object.assign(declared, change);
    const scorer = declared.scorer instanceof Source ? declared.scorer.js : JSON.stringify(declared.scorer);
    project.program(`
const { Evaluation } = require("pulumi-mistral-batch");
const evaluation = new Evaluation("arith", {
  dataset: "data/arith.jsonl",
  expected: { field: "expected" },
  scorer: ${scorer},
  models: ${JSON.stringify(declared.models)},
  outputDir: "eval-out",
  waitForCompletion: { timeoutMinutes: 2, pollIntervalSeconds: 0.2 },${declared.deleteResultFilesOnDestroy ? "\n  deleteResultFilesOnDestroy: true," : ""}${declared.onModelChange ? `\n  onModelChange: "${declared.onModelChange}",` : ""}
});
module.exports = { summaries: evaluation.summaries, estimates: evaluation.estimates, reportPath: evaluation.reportPath, markdownPath: evaluation.markdownPath };${
      declared.probe
        ? `
for (const key of ["reportPath", "markdownPath", "summaries", "estimates"]) {
  evaluation[key].apply((value) => console.log("probe " + key + " = " + JSON.stringify(value)));
}`
        : ""
    }`);
  };

  beforeAll(async () => {
    assertDistFresh();
    emulator = await emulatorLib().startEmulator({
      profile: testProfile(),
      speed: { queueDelayMs: 100, requestsPerSecond: 500, cancelDelayMs: 50 },
    });
    project = new E2EProject("evaluation", { files: { "data/arith.jsonl": arithmetic(20) } });
    // The program runs in its folder: its relative paths resolve there.
    dataset = path.join(project.workDir, "data/arith.jsonl");
    outputDir = path.join(project.workDir, "eval-out");
    declare();
    stack = await project.stack(emulator.url);
  });

  afterAll(async () => {
    await emulator?.close();
    project?.cleanup();
  });

  const jobs = () => [...emulator.store.jobs.values()];
  const uploads = () => [...emulator.store.files.values()].filter((f) => f.source === "upload");
  const expectedById = () =>
    new Map(
      fs
        .readFileSync(dataset, "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as { custom_id: string; expected: number })
        .map((l) => [l.custom_id, l.expected]),
    );
  /** The emulator's output file of a job, parsed here (not by the package): result lines by custom_id. */
  const emulatorOutput = (jobIds: string | string[]) =>
    [jobIds].flat().flatMap((jobId) => {
      const job = emulator.store.jobs.get(jobId)!;
      expect(job.status).toBe("SUCCESS");
      return (
        fs
          .readFileSync(emulator.store.blobPath(job.output_file!), "utf8")
          .trim()
          .split("\n")
          .map(
            (l) =>
              JSON.parse(l) as {
                custom_id: string;
                response: {
                  status_code: number;
                  body: {
                    choices: { message: { content: string } }[];
                    usage: { prompt_tokens: number; completion_tokens: number };
                  };
                };
              },
          )
          // The uploaded custom_id carries the body's key (`<custom_id>#<key>`).
          .map((l) => ({ ...l, custom_id: l.custom_id.replace(/#[0-9a-f]{16}$/, "") }))
      );
    });
  /** Accuracy (numeric match of the last number) and token sums computed independently from the emulator's files. */
  const independent = (
    jobId: string | string[],
    score: (answer: string, expected: number) => number = (a, e) => (lastNumber(a) === e ? 1 : 0),
  ) => {
    const expected = expectedById();
    const lines = emulatorOutput(jobId);
    let total = 0;
    let prompt = 0;
    let completion = 0;
    for (const line of lines) {
      expect(expected.has(line.custom_id)).toBe(true);
      total += score(line.response.body.choices[0].message.content, expected.get(line.custom_id)!);
      prompt += line.response.body.usage.prompt_tokens;
      completion += line.response.body.usage.completion_tokens;
    }
    expect(new Set(lines.map((l) => l.custom_id)).size).toBe(expected.size);
    return { accuracy: total / lines.length, prompt, completion, lines: lines.length };
  };
  const batchCost = (model: string, prompt: number, completion: number) => {
    const p = lib().DEFAULT_PRICES.models[model];
    return ((prompt * p.inputPerMTok + completion * p.outputPerMTok) / 1e6) * 0.5;
  };
  /**
   * The component's estimate block in a preview's output text: its heading and its rows (a run's or the total), as
   * the CLI prints a multi-line message (each line indented), whitespace between the columns collapsed to one space.
   */
  const estimateLine = (output: string) => {
    const lines = output.split("\n");
    // The last: the progress shows the heading alone, the diagnostics the whole block.
    const at = lines.findLastIndex(
      (l) => l.includes("Evaluation arith:") && l.includes("estimated at the batch price"),
    );
    expect(at, `no estimate block in the preview output:\n${output}`).toBeGreaterThanOrEqual(0);
    const rows: string[] = [];
    for (const l of lines.slice(at + 1)) {
      if (!/^\s+\S+\s+(~\d|\$|no price)/.test(l)) break;
      rows.push(l.trim().replace(/\s+/g, " "));
    }
    expect(rows.at(-1) ?? "", `no total in the estimate block:\n${output}`).toMatch(/^total /);
    return [lines[at]!.trim(), ...rows].join("\n");
  };
  const up = async () => {
    const result = await stack.up({ onOutput: project.onOutput });
    expect(result.summary.result).toBe("succeeded");
    // The outputs hold the report's paths relative to the project folder (state does not depend on where it is).
    const stored = {
      reportPath: result.outputs.reportPath.value as string,
      markdownPath: result.outputs.markdownPath.value as string,
    };
    return {
      changes: result.summary.resourceChanges ?? {},
      summaries: result.outputs.summaries.value as ModelSummary[],
      estimates: result.outputs.estimates.value as EvaluationEstimate[],
      stored,
      reportPath: path.resolve(project.workDir, stored.reportPath),
      markdownPath: path.resolve(project.workDir, stored.markdownPath),
    };
  };
  const jobIdOf = (summaries: ModelSummary[], model: string) => summaries.find((s) => s.model === model)!.jobId!;
  let previewEstimates: Map<string, { tokens: number; cost: string }>;
  let first: Awaited<ReturnType<typeof up>>;
  let latest: Awaited<ReturnType<typeof up>>;

  it("preview before the first up shows the estimated input tokens and cost per model, and uploads nothing", async () => {
    const output: string[] = [];
    const steps = await previewSteps(stack, (t) => output.push(t));
    expect(steps).toEqual({
      arith: "create",
      "arith-mistral-large-latest": "create",
      "arith-mistral-small-latest": "create",
      "arith-tiny": "create",
    });
    const line = estimateLine(output.join(""));
    expect(line).toContain("20 requests x 3 models");
    // Beside the cost, what the dataset can settle: 20 paired items (stats.ts minimumDetectableDifference).
    expect(output.join("")).toContain(
      "Evaluation arith: 20 items detect a difference in accuracy between two models of about 41.7 points or more (80% power",
    );
    previewEstimates = new Map();
    for (const label of ["mistral-large-latest", "mistral-small-latest", "tiny"]) {
      const m = new RegExp(
        `\\n${label} ~(\\d+) input tokens \\+ <=640 output (\\$[0-9.,]+) upper bound \\(max_tokens\\)\\n`,
      ).exec(line);
      expect(m, `${label} in: ${line}`).not.toBeNull();
      previewEstimates.set(label, { tokens: Number(m![1]), cost: m![2] });
    }
    expect(uploads()).toEqual([]);
    expect(jobs()).toEqual([]);
  });

  // badinput.e2e.test.ts previews the argument checks of the models and the dataset through the engine, and the
  // plan's and the scorers' unit tests hold every message; here: up fails as preview does, and a scorer's message.
  it("bad arguments fail up (and preview) with a clear message, and nothing is uploaded", async () => {
    const original = declared.models;
    try {
      declare({ models: ["mistral-small-latest", "mistral-large-latest", "mistral-small-latest"] });
      const duplicateUp = await failure(stack.up({ onOutput: project.onOutput }));
      expect(duplicateUp).toMatch(
        /Evaluation "arith": models\[2\] is "mistral-small-latest", the run "mistral-small-latest" again \(models\[0\]\)/,
      );
      expect(duplicateUp).not.toMatch(/\n\s+at /); // one message, no stack trace
      declare({ models: original, scorer: { type: "numeric", tolerance: -1 } });
      expect(await failure(previewSteps(stack))).toMatch(/Evaluation "arith": scorer: scorer\.tolerance is -1/);
    } finally {
      declare({ models: original, scorer: { type: "numeric" } });
    }
    expect(uploads()).toEqual([]);
    expect(jobs()).toEqual([]);
  });

  it("up uploads each model's requests, runs one job per model, downloads and scores the results", async () => {
    first = latest = await up();
    // One upload per model's set, the same 20 requests (no model has overrides), only custom_id and body.
    expect(uploads()).toHaveLength(3);
    const contents = uploads().map((f) => fs.readFileSync(emulator.store.blobPath(f.id), "utf8"));
    expect(new Set(contents).size).toBe(1);
    const uploaded = (contents[0] ?? "")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(uploaded).toHaveLength(20);
    expect(uploaded.every((l) => Object.keys(l).join() === "custom_id,body")).toBe(true);
    expect(jobs()).toHaveLength(3);
    expect(
      jobs()
        .map((j) => j.model)
        .sort(),
    ).toEqual(["ministral-3b-latest", "mistral-large-latest", "mistral-small-latest"]);
    expect(
      jobs().every(
        (j) => j.input_files.length === 1 && uploads().some((f) => f.id === j.input_files[0]) && j.status === "SUCCESS",
      ),
    ).toBe(true);

    const { summaries } = first;
    expect(summaries.map((s) => s.model)).toEqual(["mistral-large-latest", "mistral-small-latest", "tiny"]);
    const modelOf: Record<string, string> = {
      "mistral-large-latest": "mistral-large-latest",
      "mistral-small-latest": "mistral-small-latest",
      tiny: "ministral-3b-latest",
    };
    for (const s of summaries) {
      expect(emulator.store.jobs.get(s.jobId!)?.model).toBe(modelOf[s.model]);
      // Downloaded: the output file is on disk with one line per request.
      const dir = path.join(outputDir, "results", s.model);
      const out = path.join(dir, "output.jsonl");
      expect(fs.readFileSync(out, "utf8").trim().split("\n")).toHaveLength(20);
      const mine = independent(s.jobId!);
      expect(s).toMatchObject({ status: "SUCCESS", total: 20, succeeded: 20, failed: 0, scored: 20, reused: false });
      expect(s.accuracy).toBeCloseTo(mine.accuracy, 10);
      expect(s.promptTokens).toBe(mine.prompt);
      expect(s.completionTokens).toBe(mine.completion);
      expect(s.promptTokens).toBeGreaterThan(0);
      expect(s.cost).toBeCloseTo(batchCost(modelOf[s.model], mine.prompt, mine.completion), 12);
      // The estimate shown by the preview is the one recorded.
      expect(s.estimatedInputTokens).toBe(previewEstimates.get(s.model)!.tokens);
      const e = first.estimates.find((x) => x.model === s.model)!;
      expect(e.inputTokens).toBe(previewEstimates.get(s.model)!.tokens);
      // The cost shown (two significant digits for small amounts) is the estimate's, small but not zero.
      const shown = Number(previewEstimates.get(s.model)!.cost.slice(1).replace(/,/g, ""));
      expect(shown).toBeGreaterThan(0);
      expect(Math.abs(shown - e.estimatedCost!) / e.estimatedCost!).toBeLessThan(0.05);
      expect(e.estimatedCost).toBeCloseTo(batchCost(modelOf[s.model], e.inputTokens, 20 * 32), 12);
    }
    // The models really differ (the emulator's large model is right more often than the 3b one).
    expect(summaries[0].accuracy!).toBeGreaterThan(summaries[2].accuracy!);
    // The report and the summary exist and name every model.
    expect(first.reportPath).toBe(path.join(outputDir, "report.html"));
    expect(first.markdownPath).toBe(path.join(outputDir, "report.md"));
    expect(first.stored).toEqual({ reportPath: "eval-out/report.html", markdownPath: "eval-out/report.md" });
    // No absolute path of the project folder in state: paths are relative to it.
    expect(project.stateText()).not.toContain(project.workDir);
    const html = fs.readFileSync(first.reportPath, "utf8");
    const md = fs.readFileSync(first.markdownPath, "utf8");
    for (const label of ["mistral-large-latest", "mistral-small-latest", "tiny"]) {
      expect(html).toContain(label);
      expect(md).toContain(label);
    }
    expect(md).toContain("Reused runs: none");
  });

  it("rerunning up with no change submits nothing and reproduces the same report, saying the runs were reused", async () => {
    const before = jobs().length;
    // The component counts a run as reused when its job was created before this run's program started, with a
    // second of slack for clock skew (created_at has whole seconds): make sure the rerun starts clearly later.
    const settle = Math.max(...jobs().map((j) => j.created_at)) * 1000 + 2000 - Date.now();
    if (settle > 0) await new Promise((r) => setTimeout(r, settle));
    const again = await up();
    expect(again.changes).toEqual({ same: 5 }); // the component, 3 sets and the stack
    expect(jobs()).toHaveLength(before);
    expect(uploads()).toHaveLength(3);
    const strip = (ss: ModelSummary[]) => ss.map(({ reused: _r, submitted: _s, ...rest }) => rest);
    expect(strip(again.summaries)).toEqual(strip(first.summaries));
    expect(again.summaries.map((s) => s.submitted)).toEqual([0, 0, 0]);
    expect(again.summaries.every((s) => s.reused === true)).toBe(true);
    const md = fs.readFileSync(again.markdownPath, "utf8");
    expect(md).toContain("Reused runs: `mistral-large-latest`, `mistral-small-latest`, `tiny`");
    expect(md).toContain("| mistral-large-latest (reused) |");
    expect(fs.readFileSync(again.reportPath, "utf8")).toContain('<span class="badge reused">reused</span>');
    latest = again;
  });

  it("records what each model resolved to; when an alias moves, preview and refresh say so and keep the results", async () => {
    // The emulator's catalogue: mistral-large-latest is the card whose alias is the dated mistral-large-2411.
    expect(latest.summaries.find((s) => s.model === "mistral-large-latest")?.resolvedModel).toBe("mistral-large-2411");
    expect(latest.summaries.find((s) => s.model === "tiny")?.resolvedModel).toBe("ministral-3b-2410");
    expect(fs.readFileSync(latest.markdownPath, "utf8")).toContain(
      "mistral-large-latest → `mistral-large-latest`, resolved to `mistral-large-2411`",
    );
    const move = async (aliases: string[]) => {
      const res = await fetch(`${emulator.url}/__emulator/models/mistral-large-latest/aliases`, {
        method: "PUT",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ aliases }),
      });
      expect(res.status).toBe(200);
    };
    await move(["mistral-large-2512"]);
    try {
      const said =
        'RequestSet "arith-mistral-large-latest": mistral-large-latest now resolves to mistral-large-2512 (models API); ' +
        'the set\'s results came from mistral-large-2411; they are kept (onModelChange "keep"';
      const output: string[] = [];
      const steps = await previewSteps(stack, (t) => output.push(t));
      expect(output.join("")).toContain(said);
      expect(
        Object.values(steps).every((step) => step === "same"),
        JSON.stringify(steps),
      ).toBe(true);
      // The other sets' models did not move: nothing said of them.
      expect(output.join("")).not.toContain('RequestSet "arith-tiny": ministral-3b-latest now resolves');
      const refreshed: string[] = [];
      await stack.refresh({ onOutput: (t) => refreshed.push(t) });
      expect(refreshed.join("")).toContain(said);
      expect(jobs()).toHaveLength(3);

      // With onModelChange "replace", the moved alias replaces that run's set: its requests run on the new version.
      declare({ onModelChange: "replace" });
      const replacing: string[] = [];
      const steps2 = await previewSteps(stack, (t) => replacing.push(t));
      expect(steps2["arith-mistral-large-latest"], JSON.stringify(steps2)).toBe("replace");
      expect(steps2["arith-mistral-small-latest"]).toBe("update"); // the policy itself, in place
      expect(replacing.join("")).toContain(
        'onModelChange is "replace": the set is replaced and its requests run on mistral-large-2512',
      );
      const before = jobs().map((j) => j.id);
      const replaced = await up();
      const added = jobs().filter((j) => !before.includes(j.id));
      expect(added.map((j) => [j.model, j.total_requests])).toEqual([["mistral-large-latest", 20]]);
      const large = replaced.summaries.find((s) => s.model === "mistral-large-latest")!;
      expect(large).toMatchObject({ jobId: added[0]!.id, resolvedModel: "mistral-large-2512", submitted: 20 });
      expect(replaced.summaries.find((s) => s.model === "tiny")!.submitted).toBe(0);
      // The emulator's model behind the alias answers as before: no item changed, and the cause is named.
      expect(fs.readFileSync(replaced.markdownPath, "utf8")).toContain(
        "- mistral-large-latest: no change on 20 items (cause: mistral-large-latest resolved to mistral-large-2411 → mistral-large-2512)",
      );
      // Back to "keep" (in place: nothing submitted) and the alias where it was.
      declare({ onModelChange: undefined });
      await move(["mistral-large-2411"]);
      latest = await up();
      expect(jobs()).toHaveLength(before.length + 1);
    } finally {
      await move(["mistral-large-2411"]);
    }
  });

  it("preview writes no report: the join and the report run in up only; the report's paths are known, the summaries are not", async () => {
    // Every run is unchanged and downloaded: the report step sees known values at preview. Before the dry-run guard,
    // it joined and rewrote the rows and both reports there.
    const jobsBefore = jobs().length;
    const written = [latest.reportPath, latest.markdownPath, path.join(outputDir, "rows.jsonl")];
    for (const f of written) expect(fs.existsSync(f), f).toBe(true);
    for (const f of written) fs.rmSync(f);
    const output: string[] = [];
    try {
      declare({ probe: true });
      const steps = await previewSteps(stack, (t) => output.push(t));
      expect(
        Object.values(steps).every((s) => s === "same"),
        JSON.stringify(steps),
      ).toBe(true);
    } finally {
      declare({ probe: false });
    }
    for (const f of written) expect(fs.existsSync(f), `${f} was written by preview`).toBe(false);
    expect(fs.readdirSync(path.join(outputDir, "tmp"))).toEqual([]); // no join started either
    const text = output.join("");
    const probe = (key: string) =>
      text
        .split("\n")
        .find((l) => l.includes(`probe ${key} = `))
        ?.split(`probe ${key} = `)[1]
        ?.trim();
    // The paths the up writes are known at preview; the summaries are computed by the up's join (unknown here).
    const seen = (key: string) => {
      const value = probe(key);
      expect(value, `no probe of ${key} in the preview output:\n${text}`).toBeDefined();
      return JSON.parse(value!) as unknown;
    };
    expect(seen("reportPath")).toBe(latest.stored.reportPath);
    expect(seen("markdownPath")).toBe(latest.stored.markdownPath);
    expect(seen("estimates")).toEqual(latest.estimates);
    expect(probe("summaries"), text).toBeUndefined();
    // Every set unchanged: the estimate says there is nothing to pay, not what a first run would cost.
    expect(text).toContain(
      "Evaluation arith: nothing to pay: every run is reused (20 requests x 3 models, each request with its result), so this update submits nothing",
    );
    expect(text).not.toContain("estimated at the batch price");
    expect(jobs()).toHaveLength(jobsBefore);
    // The next up writes them again.
    const again = await up();
    expect(again.changes).toEqual({ same: 5 });
    for (const f of written) expect(fs.existsSync(f), f).toBe(true);
    expect(fs.readFileSync(again.markdownPath, "utf8")).toContain(
      "Reused runs: `mistral-large-latest`, `mistral-small-latest`, `tiny`",
    );
    latest = again;
  });

  it("changing one model's name replaces only that model's set", async () => {
    // A plain model name is also the run's label: a new name is a new run (create + delete), the others stay.
    declare({
      models: ["mistral-large-latest", "mistral-medium-latest", { name: "ministral-3b-latest", label: "tiny" }],
    });
    expect(await previewSteps(stack)).toEqual({
      arith: "same",
      "arith-mistral-large-latest": "same",
      "arith-mistral-medium-latest": "create",
      "arith-mistral-small-latest": "delete",
      "arith-tiny": "same",
    });
    // A labelled run keeps its resources: the new model replaces them. This is the change applied.
    declare({
      models: ["mistral-large-latest", "mistral-small-latest", { name: "ministral-8b-latest", label: "tiny" }],
    });
    const output: string[] = [];
    expect(await previewSteps(stack, (t) => output.push(t))).toEqual({
      arith: "same",
      "arith-mistral-large-latest": "same",
      "arith-mistral-small-latest": "same",
      "arith-tiny": "replace",
    });
    // The estimate counts only the run that submits; the unchanged ones are reused at no cost.
    const block = estimateLine(output.join(""));
    expect(block).toMatch(/\nmistral-large-latest ~\d+ input tokens \+ <=640 output \$0 reused: nothing to submit\n/);
    expect(block).toMatch(/\nmistral-small-latest ~\d+ input tokens \+ <=640 output \$0 reused: nothing to submit\n/);
    const tinyCost = /\ntiny ~\d+ input tokens \+ <=640 output (\$[0-9.]+) upper bound \(max_tokens\)\n/.exec(
      block,
    )?.[1];
    expect(tinyCost, block).toBeDefined();
    expect(block).toContain(`\ntotal ${tinyCost} upper bound (max_tokens); the 1 run(s) that submit`);
    const before = jobs().map((j) => j.id);
    const result = await up();
    const added = jobs().filter((j) => !before.includes(j.id));
    expect(added).toHaveLength(1);
    expect(added[0].model).toBe("ministral-8b-latest");
    // The replaced set's upload was deleted with it; the new set's content is the same, under its own name.
    expect(uploads()).toHaveLength(3);
    expect(result.changes).toEqual({ same: 4, replace: 1 });
    const tiny = result.summaries.find((s) => s.model === "tiny")!;
    expect(tiny.jobId).toBe(added[0].id);
    expect(tiny.reused).toBe(false);
    expect(tiny.accuracy).toBeCloseTo(independent(added[0].id).accuracy, 10);
    expect(tiny.cost).toBeCloseTo(batchCost("ministral-8b-latest", tiny.promptTokens, tiny.completionTokens), 12);
    for (const m of ["mistral-large-latest", "mistral-small-latest"]) {
      expect(jobIdOf(result.summaries, m)).toBe(jobIdOf(latest.summaries, m));
      expect(result.summaries.find((s) => s.model === m)!.reused).toBe(true);
    }
    expect(tiny.answeredBy).toEqual(["ministral-8b-latest"]);
    // The Markdown compares with the previous run (the no-change ups before added nothing to the history): the
    // items tiny got right with ministral-3b and wrong with ministral-8b, and back, computed here from the
    // emulator's files, and the model change named as the cause.
    const rightById = (jobId: string) =>
      new Map(
        emulatorOutput(jobId).map((l) => [
          l.custom_id,
          lastNumber(l.response.body.choices[0].message.content) === expectedById().get(l.custom_id),
        ]),
      );
    const before3b = rightById(jobIdOf(latest.summaries, "tiny"));
    const now8b = rightById(tiny.jobId!);
    const ids = [...now8b.keys()].sort();
    const regressed = ids.filter((id) => before3b.get(id) && !now8b.get(id));
    const improved = ids.filter((id) => !before3b.get(id) && now8b.get(id));
    expect(regressed.length + improved.length).toBeGreaterThan(0);
    const md = fs.readFileSync(result.markdownPath, "utf8");
    const lines = md.split("\n");
    const since = lines.findIndex((l) => l.startsWith("## Since the previous run ("));
    expect(since, md).toBeGreaterThan(0);
    expect(lines[since + 2]).toBe("- mistral-large-latest: no change on 20 items");
    expect(lines[since + 3]).toBe("- mistral-small-latest: no change on 20 items");
    const tinyLine = lines.slice(since).find((l) => l.startsWith("- tiny: ") || l.startsWith("- **tiny: "));
    expect(tinyLine, md).toContain(`tiny: ${regressed.length} regressed, ${improved.length} improved of 20 items`);
    expect(tinyLine).toContain("cause: model ministral-3b-latest → ministral-8b-latest");
    if (regressed.length) expect(md).toContain(`  - Regressed: ${regressed.map((id) => `\`${id}\``).join(", ")}`);
    if (improved.length) expect(md).toContain(`  - Improved: ${improved.map((id) => `\`${id}\``).join(", ")}`);
    // Ready to paste into a pull request: no path of this machine.
    expect(md).not.toContain(project.workDir);
    expect(md).toContain("HTML report: [report.html](report.html) (`eval-out/report.html`)");
    expect(fs.readFileSync(result.reportPath, "utf8")).toContain('<section class="card" id="history">');
    latest = result;
  });

  it("adding a model adds one set, nothing else changes", async () => {
    declare({ models: [...declared.models, "mistral-medium-latest"] });
    expect(await previewSteps(stack)).toEqual({
      arith: "same",
      "arith-mistral-large-latest": "same",
      "arith-mistral-small-latest": "same",
      "arith-tiny": "same",
      "arith-mistral-medium-latest": "create",
    });
    const before = jobs().map((j) => j.id);
    const filesBefore = uploads().map((f) => f.id);
    const result = await up();
    expect(result.changes).toEqual({ same: 5, create: 1 });
    const added = jobs().filter((j) => !before.includes(j.id));
    expect(added.map((j) => j.model)).toEqual(["mistral-medium-latest"]);
    const newFiles = uploads().filter((f) => !filesBefore.includes(f.id));
    expect(added[0].input_files).toEqual(newFiles.map((f) => f.id));
    expect(result.summaries.map((s) => s.model)).toEqual([
      "mistral-large-latest",
      "mistral-small-latest",
      "tiny",
      "mistral-medium-latest",
    ]);
    for (const s of latest.summaries) expect(jobIdOf(result.summaries, s.model)).toBe(s.jobId);
    const medium = result.summaries.find((s) => s.model === "mistral-medium-latest")!;
    expect(medium).toMatchObject({ jobId: added[0].id, succeeded: 20, reused: false });
    expect(medium.accuracy).toBeCloseTo(independent(added[0].id).accuracy, 10);
    expect(fs.readFileSync(result.markdownPath, "utf8")).toContain("mistral-medium-latest");
    latest = result;
  });

  it("per-model overrides send that model's bodies with them, the other models' unchanged", async () => {
    declare({
      models: [...declared.models, { name: "mistral-small-latest", label: "small-t0", overrides: { temperature: 0 } }],
    });
    const steps = await previewSteps(stack);
    expect(steps).toEqual({
      arith: "same",
      "arith-mistral-large-latest": "same",
      "arith-mistral-small-latest": "same",
      "arith-tiny": "same",
      "arith-mistral-medium-latest": "same",
      "arith-small-t0": "create",
    });
    const before = jobs().map((j) => j.id);
    const filesBefore = uploads().map((f) => f.id);
    const shared = filesBefore[0]!;
    const result = await up();
    expect(result.changes).toEqual({ same: 6, create: 1 });
    expect(uploads()).toHaveLength(5);
    const second = uploads().find((f) => !filesBefore.includes(f.id))!;
    const bodies = fs
      .readFileSync(emulator.store.blobPath(second.id), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l).body);
    expect(bodies).toHaveLength(20);
    expect(bodies.every((b) => b.temperature === 0 && b.max_tokens === 32)).toBe(true);
    expect(fs.readFileSync(emulator.store.blobPath(shared), "utf8")).not.toContain("temperature");
    const added = jobs().filter((j) => !before.includes(j.id));
    expect(added.map((j) => [j.model, j.input_files])).toEqual([["mistral-small-latest", [second.id]]]);
    const t0 = result.summaries.find((s) => s.model === "small-t0")!;
    expect(t0).toMatchObject({ jobId: added[0].id, succeeded: 20, reused: false });
    expect(t0.accuracy).toBeCloseTo(independent(added[0].id).accuracy, 10);
    // Priced as the model it runs, not as its label.
    expect(t0.cost).toBeCloseTo(batchCost("mistral-small-latest", t0.promptTokens, t0.completionTokens), 12);
    latest = result;
  });

  it("adding lines to the dataset submits only them, per model; preview shows the new estimates", async () => {
    project.write("data/arith.jsonl", arithmetic(22));
    const output: string[] = [];
    const steps = await previewSteps(stack, (t) => output.push(t));
    const text = output.join("");
    const line = estimateLine(text);
    expect(line).toContain("22 requests x 5 models");
    for (const label of ["mistral-large-latest", "mistral-small-latest", "tiny", "mistral-medium-latest", "small-t0"]) {
      const m = new RegExp(`\\n${label} ~(\\d+) input tokens \\+ <=704 output \\$[0-9.]+ upper bound`).exec(line);
      expect(m, `${label} in: ${line}`).not.toBeNull();
      expect(Number(m![1])).toBeGreaterThan(latest.estimates.find((e) => e.model === label)!.inputTokens);
    }
    // Each model's set says what it would submit: the 2 new requests, the 20 others reused.
    // (The engine shows a provider's line in the progress and again under Diagnostics: count the sets.)
    const sets = [...text.matchAll(/RequestSet "([^"]+)": \+2 new, 20 reused, 0 removed, est\. \$[0-9.]+/g)];
    expect(new Set(sets.map((m) => m[1]))).toEqual(
      new Set(
        ["mistral-large-latest", "mistral-small-latest", "tiny", "mistral-medium-latest", "small-t0"].map(
          (l) => `arith-${l}`,
        ),
      ),
    );
    const { arith: component, ...children } = steps;
    expect(component).toBe("same");
    expect(Object.keys(children)).toHaveLength(5);
    expect(
      Object.values(children).every((s) => s === "update"),
      JSON.stringify(steps),
    ).toBe(true);

    const before = jobs().map((j) => j.id);
    const result = await up();
    const added = jobs().filter((j) => !before.includes(j.id));
    expect(added.map((j) => j.total_requests)).toEqual([2, 2, 2, 2, 2]);
    for (const s of result.summaries) {
      expect(s.jobIds).toHaveLength(2);
      expect(added.map((j) => j.id)).toContain(s.jobIds![1]);
      expect(s).toMatchObject({ total: 22, succeeded: 22, scored: 22, submitted: 2, reused: false });
      expect(s.accuracy).toBeCloseTo(independent(s.jobIds!).accuracy, 10);
    }
    latest = result;
  });

  it("a ScoreFn scorer runs in the program and changes the accuracy accordingly, submitting nothing", async () => {
    // Half a point for a right answer: every accuracy is halved. The function runs in the program's process, so
    // it records each item it scores in a file of the project folder (one line each) for the test to count.
    const seenFile = path.join(project.workDir, "scored.txt");
    fs.rmSync(seenFile, { force: true });
    declare({
      scorer: new Source(String.raw`(answer, expected, item) => {
    require("node:fs").appendFileSync("scored.txt", item.customId + "\n");
    const all = answer.match(/-?\d+(?:\.\d+)?/g);
    const lastNumber = all ? Number(all[all.length - 1]) : null;
    return lastNumber === expected ? 0.5 : 0;
  }`),
    });
    const before = jobs().length;
    const result = await up();
    expect(result.changes).toEqual({ same: 7 });
    expect(jobs()).toHaveLength(before);
    const seen = fs.readFileSync(seenFile, "utf8").trim().split("\n");
    expect(seen.length).toBe(22 * 5);
    for (const s of result.summaries) {
      const old = latest.summaries.find((x) => x.model === s.model)!;
      expect(s.jobId).toBe(old.jobId);
      expect(s.reused).toBe(true);
      expect(s.accuracy).toBeCloseTo(old.accuracy! / 2, 10);
      expect(s.accuracy).toBeCloseTo(
        independent(s.jobIds ?? s.jobId!, (a, e) => (lastNumber(a) === e ? 0.5 : 0)).accuracy,
        10,
      );
    }
    // Every right answer is now worth half a point: each model's right items "regressed", the scorer named as why
    // (the function by the name JavaScript gives it, `scorer`, and a fingerprint of its source).
    const md = fs.readFileSync(result.markdownPath, "utf8");
    const large = result.summaries.find((s) => s.model === "mistral-large-latest")!;
    const right = Math.round(large.accuracy! * 2 * large.scored);
    expect(md).toMatch(
      new RegExp(
        `- \\**mistral-large-latest: ${right} regressed, 0 improved of 22 items, .*; cause: scorer \\{"type":"numeric"\\} → function scorer \\([0-9a-f]{10}\\)`,
      ),
    );
  });

  it("with deleteResultFilesOnDestroy (in place: nothing submitted), destroy removes every uploaded and result file", async () => {
    declare({ deleteResultFilesOnDestroy: true });
    const before = jobs().length;
    const updated = await up();
    expect(jobs()).toHaveLength(before);
    expect(updated.changes).not.toHaveProperty("replace");
    // The result files of the jobs the sets record (sets replaced earlier were destroyed without the option).
    const recorded = [...(await resources(stack)).values()]
      .filter((r) => r.type.endsWith(":RequestSet"))
      .flatMap((r) => (r.outputs.parts as { outputFileId: string | null; errorFileId: string | null }[]) ?? [])
      .flatMap((part) => [part.outputFileId, part.errorFileId])
      .filter((id): id is string => typeof id === "string");
    expect(recorded.length).toBeGreaterThan(0);
    expect(recorded.every((id) => emulator.store.files.has(id))).toBe(true);
    const destroyed = await stack.destroy({ onOutput: project.onOutput });
    expect(destroyed.summary.result).toBe("succeeded");
    expect(uploads()).toEqual([]);
    expect(recorded.filter((id) => emulator.store.files.has(id))).toEqual([]);
    expect(fs.existsSync(path.join(outputDir, "report.html"))).toBe(true); // results and reports stay on disk
  });
});
