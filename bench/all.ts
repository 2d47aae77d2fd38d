/**
 * `npm run bench`: every benchmark in one run, one after the other (so that none measures beside another), then one
 * table of the figures: ours beside the reference, the ratio, the goal and the peak RSS, with the date and
 * the machine. Each benchmark prints its own detailed table as it goes and appends its figures for this summary
 * (bench/summary.ts).
 *
 *   npm run bench                 # the sizes: a 512 MiB BatchFile, 1,000,000 x 3 results joined
 *   npm run bench -- --quick      # smaller sizes (50 MiB, 100,000 x 3) for a first look
 *   npm run bench -- --only engine,poll
 *
 * The exit code is non-zero when a benchmark fails (a wrong result, not a slow one).
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { printTable, runMain } from "./common";
import { readSummary, SUMMARY_FILE_ENV } from "./summary";

interface Bench {
  name: string;
  args: string[];
  quickArgs: string[];
}

const BENCHES: Bench[] = [
  { name: "poll", args: [], quickArgs: [] },
  { name: "engine", args: [], quickArgs: ["--runs", "1"] },
  { name: "batchfile", args: [], quickArgs: ["--mb", "50"] },
  { name: "join", args: ["--n", "1000000"], quickArgs: ["--n", "100000"] },
  { name: "incremental", args: [], quickArgs: ["--requests", "10000"] },
  { name: "evaluation", args: [], quickArgs: ["--requests", "10000"] },
];

/** The machine, as the README quotes it. */
export function machine(): string {
  const cpus = os.cpus();
  return `${cpus.length} x ${cpus[0]?.model.trim() ?? "unknown CPU"}, ${(os.totalmem() / 1024 ** 3).toFixed(0)} GiB, ${os.type()} ${os.release()}, Node ${process.version}, load ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(" ")}`;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { quick: { type: "boolean", default: false }, only: { type: "string" } },
  });
  const only = values.only?.split(",").map((s) => s.trim());
  const unknown = only?.filter((n) => !BENCHES.some((b) => b.name === n)) ?? [];
  if (unknown.length > 0) {
    console.error(`--only ${unknown.join(",")}: no such benchmark; known: ${BENCHES.map((b) => b.name).join(", ")}`);
    return 2;
  }
  const summaryFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "bench-summary-")), "rows.jsonl");
  const started = new Date();
  const failed: string[] = [];
  for (const b of BENCHES.filter((x) => !only || only.includes(x.name))) {
    console.log(`\n=== ${b.name} ===`);
    const run = spawnSync(
      process.execPath,
      [path.join(__dirname, `${b.name}.js`), ...(values.quick ? b.quickArgs : b.args)],
      { stdio: "inherit", env: { ...process.env, [SUMMARY_FILE_ENV]: summaryFile } },
    );
    if (run.status !== 0) failed.push(`${b.name} (exit ${run.status ?? run.signal})`);
  }
  const rows = readSummary(summaryFile);
  fs.rmSync(path.dirname(summaryFile), { recursive: true, force: true });
  console.log(`\n=== summary: ${started.toISOString().slice(0, 10)}, ${machine()} ===`);
  printTable([
    ["bench", "what", "ours", "reference", "ratio", "goal", "", "peak MiB"],
    ...rows.map((r) => [
      r.bench,
      r.what,
      r.ours,
      r.reference,
      r.ratio,
      r.goal,
      r.verdict,
      r.peakMb === undefined ? "" : r.peakMb.toFixed(0),
    ]),
  ]);
  if (failed.length > 0) console.error(`failed: ${failed.join(", ")}`);
  return failed.length > 0 ? 1 : 0;
}

runMain(main);
