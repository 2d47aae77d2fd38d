/**
 * Evaluation benchmark: one dataset across 3 models end to end through the real CLI (`pulumi up` in a project
 * folder, bench/project.ts) against the emulator CLI (instant processing, Mistral's limits: 100,000 requests a job,
 * 1,000,000 pending a workspace, so a large dataset runs in shards and waves). Each stage prints its wall time, the
 * CPU of the whole process tree, the peak RSS of the provider host and of the program, and what it submitted:
 *
 *   npm run bench:evaluation                          # 100,000 requests, then 1,000,000 (memory flat in size)
 *   npm run bench:evaluation -- --requests 20000      # one size only
 *
 *   up            the first up: shard, upload, submit, wait, download, join, score, report
 *   preview 1%    the preview after editing 1% of the bodies: the delta per set and its cost, nothing submitted
 *   up 1%         the up after it: only the edited requests are submitted, every other result is reused
 *   up again      the up after that: nothing submitted, everything re-joined and re-scored
 *
 * Figures are printed, never asserted; the exit code is non-zero only when a stage submits what it should not.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { printTable, runMain, startEmulator } from "./common";
import { Project, type PulumiRun } from "./project";
import { recordSummary } from "./summary";

const MODELS = ["mistral-small-latest", "ministral-3b-latest", "mistral-large-latest"];
const EDIT_EVERY = 100;

const PROGRAM = `
const { Evaluation } = require("pulumi-mistral-batch");
const evaluation = new Evaluation("bench", {
  dataset: "data/questions.jsonl",
  expected: { field: "expected" },
  scorer: { type: "numeric" },
  models: ${JSON.stringify(MODELS)},
  outputDir: "eval-out",
  waitForCompletion: { timeoutMinutes: 120, pollIntervalSeconds: 0.5 },
});
module.exports = { summaries: evaluation.summaries };`;

/** "What is a + b?" lines with the sum as the expected answer; with `edited`, every 100th asks another sum. */
function writeDataset(file: string, n: number, edited: boolean): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const fd = fs.openSync(file, "w");
  try {
    let chunk: string[] = [];
    for (let i = 0; i < n; i++) {
      const a = i % 997;
      const b = edited && i % EDIT_EVERY === 0 ? 1000 + (i % 13) : i % 101;
      const body = { max_tokens: 8, messages: [{ role: "user", content: `What is ${a} + ${b}?` }] };
      chunk.push(JSON.stringify({ custom_id: `q${i}`, expected: a + b, body }));
      if (chunk.length === 10_000 || i === n - 1) {
        fs.writeSync(fd, `${chunk.join("\n")}\n`);
        chunk = [];
      }
    }
  } finally {
    fs.closeSync(fd);
  }
}

interface Stage {
  name: string;
  run: PulumiRun;
  submitted: number;
}

/** The requests the stack's last up submitted, all models together (the summaries' `submitted`). */
async function submittedOf(project: Project): Promise<number> {
  const out = await project.pulumi(["stack", "output", "--json", "--show-secrets"], "stack output");
  const { summaries } = JSON.parse(out.stdout) as { summaries: { submitted?: number; total: number }[] };
  if (summaries.length !== MODELS.length) throw new Error(`${summaries.length} summaries; expected ${MODELS.length}`);
  return summaries.reduce((n, s) => n + (s.submitted ?? 0), 0);
}

async function measure(base: string, requests: number): Promise<Stage[]> {
  const emu = await startEmulator(path.join(base, `emulator-${requests}`), 512, ["--speed", "instant"]);
  try {
    const project = new Project(base, `evaluation-${requests}`, PROGRAM);
    const dataset = path.join(project.workDir, "data/questions.jsonl");
    writeDataset(dataset, requests, false);
    await project.init(emu.url);
    const stages: Stage[] = [];
    const up = async (name: string) => {
      const run = await project.pulumi(["up", "--yes", "--skip-preview"], name);
      stages.push({ name, run, submitted: await submittedOf(project) });
    };
    await up("up");
    writeDataset(dataset, requests, true);
    stages.push({ name: "preview 1%", run: await project.pulumi(["preview"], "preview 1%"), submitted: 0 });
    await up("up 1%");
    await up("up again");
    return stages;
  } finally {
    await emu.stop();
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { requests: { type: "string" } } });
  const sizes = values.requests === undefined ? [100_000, 1_000_000] : [Number(values.requests)];
  for (const n of sizes)
    if (!Number.isInteger(n) || n < EDIT_EVERY)
      throw new Error(`--requests is ${values.requests}; expected a whole number >= ${EDIT_EVERY}`);
  const base = fs.mkdtempSync(path.join(os.tmpdir(), "pmb-bench-evaluation-"));
  console.log(`${MODELS.length} models; ${os.cpus().length} cores, Node ${process.version}`);
  const header = ["stage", "wall", "CPU", "provider peak", "program peak", "submitted", "expected"];
  const table = [header];
  let wrong = 0;
  try {
    for (const n of sizes) {
      const stages = await measure(base, n);
      const edited = Math.ceil(n / EDIT_EVERY) * MODELS.length;
      const expected: Record<string, number> = { up: n * MODELS.length, "preview 1%": 0, "up 1%": edited };
      for (const s of stages) {
        const want = expected[s.name] ?? 0;
        if (s.submitted !== want) wrong++;
        table.push([
          `${n.toLocaleString("en-US")}: ${s.name}`,
          `${s.run.seconds.toFixed(1)} s`,
          `${s.run.cpu.toFixed(1)} s`,
          `${(s.run.providerKb / 1024).toFixed(0)} MiB`,
          `${(s.run.programKb / 1024).toFixed(0)} MiB`,
          String(s.submitted),
          String(want),
        ]);
      }
      // Each size's figures as soon as they are measured: the 1,000,000 run takes long.
      printTable([header, ...table.slice(-stages.length)]);
      const first = stages[0];
      const rerun = stages.find((s) => s.name === "up 1%");
      if (first && rerun) {
        recordSummary([
          {
            bench: "evaluation",
            what: `Evaluation ${n.toLocaleString("en-US")} x ${MODELS.length} through the CLI: first up / 1%-edit up`,
            ours: `${first.run.seconds.toFixed(1)} s / ${rerun.run.seconds.toFixed(1)} s (${rerun.submitted} submitted)`,
            reference: "",
            ratio: "",
            goal: "",
            verdict: "",
            peakMb: Math.round(Math.max(first.run.providerKb, first.run.programKb) / 1024),
          },
        ]);
      }
    }
  } finally {
    fs.rmSync(base, { recursive: true, force: true });
  }
  if (sizes.length > 1) printTable(table);
  if (wrong) console.error(`${wrong} stage(s) submitted other than expected`);
  return wrong ? 1 : 0;
}

runMain(main);
