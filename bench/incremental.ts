/**
 * Incremental runs benchmark: one RequestSet (one shard of one model) through its provider, as the engine calls it,
 * against the emulator CLI (instant processing, its own process). Each stage runs in a new process, as each `up`
 * runs a new provider process, and prints its wall time, peak RSS and what it submitted:
 *
 *   npm run bench:incremental                       # 100,000 requests (Mistral's job limit), then 10,000 (memory)
 *   npm run bench:incremental -- --requests 20000   # one size only
 *
 *   create        the first up: every request uploaded, submitted, answered and downloaded
 *   edit 1%       the up after editing 1% of the bodies: only those are submitted
 *   no change     the up after that: nothing submitted
 *   fresh         a machine without the set's local files: every result downloaded again from Mistral, nothing
 *                 submitted
 *
 * Figures are printed, never asserted; the exit code is non-zero only when a stage submits what it should not.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { printTable, runMain, startEmulator } from "./common";
import { recordSummary } from "./summary";

interface StageResult {
  ms: number;
  peakMb: number;
  submitted: number;
  reused: number;
  succeeded: number;
}

function writeSource(file: string, n: number, editEvery: number): void {
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const edited = editEvery > 0 && i % editEvery === 0;
    const content = `Question ${i}: what is ${i} + ${edited ? 7 : 1}? Answer with the number only.`;
    lines.push(JSON.stringify({ custom_id: `q${i}`, body: { max_tokens: 8, messages: [{ role: "user", content }] } }));
  }
  fs.writeFileSync(file, `${lines.join("\n")}\n`);
}

/** A stage in this process (the child): check, then create or update, as the engine calls them. */
async function child(dir: string, url: string): Promise<void> {
  const { createRuntime } = require("../provider/runtime") as typeof import("../provider/runtime");
  const runtime = createRuntime({ ...process.env, MISTRAL_API_KEY: "bench", MISTRAL_SERVER_URL: url });
  const p = runtime.provider("set") as Required<import("@pulumi/pulumi").dynamic.ResourceProvider>;
  const stateFile = path.join(dir, "state.json");
  const olds = fs.existsSync(stateFile) ? JSON.parse(fs.readFileSync(stateFile, "utf8")) : undefined;
  const news = {
    source: path.join(dir, "source.jsonl"),
    model: "mistral-small-latest",
    directory: path.join(dir, "results"),
    waitForCompletion: { pollIntervalSeconds: 0.05 },
    scope: "bench/dev/set",
  };
  const start = performance.now();
  const checked = await p.check(olds ?? {}, news);
  if (checked.failures?.length) throw new Error(JSON.stringify(checked.failures));
  const inputs = { ...checked.inputs, scope: news.scope };
  const outs = olds ? (await p.update("set", olds, inputs)).outs : (await p.create(inputs)).outs;
  const ms = performance.now() - start;
  fs.writeFileSync(stateFile, JSON.stringify(outs));
  const result: StageResult = {
    ms,
    peakMb: process.resourceUsage().maxRSS / 1024,
    submitted: outs.submittedRequests,
    reused: outs.reusedRequests,
    succeeded: outs.succeededRequests,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

function runStage(stage: string, dir: string, url: string): Promise<StageResult> {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, [__filename, "--child", stage, "--dir", dir, "--url", url], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    c.stdout.on("data", (d) => (out += d));
    c.stderr.on("data", (d) => (err += d));
    c.on("close", (code) => {
      const last = out.trim().split("\n").pop() ?? "";
      if (code !== 0) reject(new Error(`stage ${stage} exited ${code}: ${err.slice(-2000)}`));
      else resolve(JSON.parse(last) as StageResult);
    });
  });
}

async function measure(n: number, url: string): Promise<{ rows: string[][]; ok: boolean }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pmb-bench-inc-"));
  const edits = Math.ceil(n / 100);
  const rows: string[][] = [];
  let ok = true;
  try {
    const stage = async (name: string, expect: number) => {
      const r = await runStage(name, dir, url);
      if (r.submitted !== expect) ok = false;
      rows.push([
        `${n.toLocaleString("en-US")}: ${name}`,
        `${(r.ms / 1000).toFixed(2)} s`,
        `${r.peakMb.toFixed(0)} MiB`,
        String(r.submitted),
        String(r.reused),
        String(r.succeeded),
        r.submitted === expect ? "" : `expected ${expect} submitted`,
      ]);
      return r;
    };
    writeSource(path.join(dir, "source.jsonl"), n, 0);
    await stage("create", n);
    writeSource(path.join(dir, "source.jsonl"), n, 100);
    await stage("edit 1%", edits);
    await stage("no change", 0);
    fs.rmSync(path.join(dir, "results"), { recursive: true, force: true });
    await stage("fresh", 0);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return { rows, ok };
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      requests: { type: "string" },
      child: { type: "string" },
      dir: { type: "string" },
      url: { type: "string" },
    },
  });
  if (values.child) {
    await child(values.dir ?? "", values.url ?? "");
    return 0;
  }
  const sizes = values.requests ? [Number(values.requests)] : [100_000, 10_000];
  const data = fs.mkdtempSync(path.join(os.tmpdir(), "pmb-bench-emu-"));
  const emulator = await startEmulator(data, 512, ["--speed", "instant"]);
  const table = [["stage", "wall", "peak RSS", "submitted", "reused", "succeeded", ""]];
  let ok = true;
  try {
    for (const n of sizes) {
      const m = await measure(n, emulator.url);
      table.push(...m.rows);
      ok &&= m.ok;
    }
  } finally {
    await emulator.stop();
    fs.rmSync(data, { recursive: true, force: true });
  }
  printTable(table);
  recordSummary(
    table.slice(1).map((r) => ({
      bench: "incremental",
      what: `RequestSet ${r[0]}`,
      ours: `${r[1]}, ${r[3]} submitted`,
      reference: "",
      ratio: "",
      goal: "",
      verdict: "",
      peakMb: Number.parseFloat(r[2] ?? "0"),
    })),
  );
  return ok ? 0 : 1;
}

runMain(main);
