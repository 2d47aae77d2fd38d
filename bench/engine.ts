/**
 * Engine benchmark: `pulumi preview` and `pulumi up` through the real CLI (scripts/pulumi-cli.sh, its Node.js
 * language host and dynamic-provider host), a file:// backend and a private PULUMI_HOME per project, against the
 * emulator CLI on loopback. Each case is measured next to its reference:
 *
 *   preview 1+100      a BatchFile and 100 BatchJobs (nothing deployed yet)  vs  the same shape of a no-op
 *                      dynamic resource (a pulumi.dynamic.Resource whose provider does nothing)
 *   preview 1+100 up   the same after `up` (every step "same")                vs  the no-op after `up`
 *   preview 3          BatchFile, BatchJob, BatchResults (nothing deployed)   vs  an empty program (and, to show
 *                      what any dynamic provider costs, three no-op resources vs the empty program and vs ours)
 *   state per job      bytes of one BatchJob's entry in `pulumi stack export` (compact JSON; median over the
 *                      100)  vs  one no-op resource's entry
 *   CPU                user + system time of the whole process tree of each preview (the CLI, the language host,
 *                      the program, the provider), from bash's `times`: steadier than wall time on a busy machine
 *   provider peak RSS  VmHWM of the dynamic-provider host (the `cmd/dynamic-provider` node process whose working
 *                      directory is the project's), sampled from /proc every 25 ms, over the previews and the up
 *
 *   npm run bench:engine                 # 3 runs of each preview (medians)
 *   npm run bench:engine -- --runs 5     # more runs
 *   npm run bench:engine -- --jobs 20    # another number of BatchJobs
 *
 * Each project installs the built package as a copy under its node_modules (as `npm install` does; `npm run build`
 * first). The previews of a case and of its reference alternate, so load on the (shared) machine falls on both. The exit
 * code is non-zero only when a result is wrong: an operation fails, a preview does not show the steps expected,
 * or the state lacks the resources; never because of a timing.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { printTable, runMain, startEmulator } from "./common";
import { Project } from "./project";
import { ratioOf, recordSummary } from "./summary";

const MODEL = "mistral-small-latest";
const LINES = `${[0, 1, 2].map((i) => JSON.stringify({ custom_id: `q${i}`, body: { messages: [{ role: "user", content: `What is ${i} + 1?` }] } })).join("\n")}\n`;

/** The no-op dynamic resource of the references: same inputs, a provider that only echoes them. */
const NOOP = `
const pulumi = require("@pulumi/pulumi");
const provider = {
  async check(olds, news) { return { inputs: news }; },
  async diff() { return { changes: false }; },
  async create(inputs) { return { id: "noop-" + Math.random().toString(36).slice(2), outs: inputs }; },
  async read(id, props) { return { id, props }; },
  async update(id, olds, news) { return { outs: news }; },
  async delete() {},
};
class Noop extends pulumi.dynamic.Resource {
  constructor(name, args, opts) { super(provider, name, args, opts); }
}`;

/** The programs, by project name. */
function programs(jobs: number): Record<string, string> {
  return {
    ours: `const { BatchFile, BatchJob } = require("pulumi-mistral-batch");
const file = new BatchFile("questions", { content: ${JSON.stringify(LINES)}, endpoint: "/v1/chat/completions" });
for (let i = 0; i < ${jobs}; i++) new BatchJob("job-" + i, { inputFiles: [file.id], model: ${JSON.stringify(MODEL)} });`,
    noop: `${NOOP}
const file = new Noop("questions", { content: ${JSON.stringify(LINES)}, endpoint: "/v1/chat/completions" });
for (let i = 0; i < ${jobs}; i++) new Noop("job-" + i, { inputFiles: [file.id], model: ${JSON.stringify(MODEL)} });`,
    three: `const path = require("node:path");
const { BatchFile, BatchJob, BatchResults } = require("pulumi-mistral-batch");
const file = new BatchFile("questions", { content: ${JSON.stringify(LINES)}, endpoint: "/v1/chat/completions" });
const job = new BatchJob("answers", { inputFiles: [file.id], model: ${JSON.stringify(MODEL)} });
BatchResults.forJob("results", job, { directory: path.join(__dirname, "results") });`,
    noop3: `${NOOP}
const file = new Noop("questions", { content: ${JSON.stringify(LINES)}, endpoint: "/v1/chat/completions" });
const job = new Noop("answers", { inputFiles: [file.id], model: ${JSON.stringify(MODEL)} });
new Noop("results", { jobId: job.id, directory: "results" });`,
    empty: "// nothing",
  };
}

/**
 * Installs this package into `nodeModules` as `npm install` does: a real directory holding package.json, README.md
 * and dist/provider/ (built), its dependencies beside it (links to this repository's copies). Not a link to the
 * repository: Pulumi serializes a provider module found under node_modules by reference and a linked one by value
 * (thin.ts), and users install the package.
 */
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
};

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { runs: { type: "string", default: "3" }, jobs: { type: "string", default: "100" } },
  });
  const runs = Number(values.runs);
  const jobs = Number(values.jobs);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs is ${values.runs}; expected a whole number >= 1`);
  if (!Number.isInteger(jobs) || jobs < 1) throw new Error(`--jobs is ${values.jobs}; expected a whole number >= 1`);

  const base = fs.mkdtempSync(path.join(os.tmpdir(), "pmb-bench-engine-"));
  const emu = await startEmulator(path.join(base, "emulator"), 10);
  try {
    const src = programs(jobs);
    const p = Object.fromEntries(Object.entries(src).map(([n, text]) => [n, new Project(base, n, text)])) as Record<
      keyof ReturnType<typeof programs>,
      Project
    >;
    for (const project of Object.values(p)) await project.init(emu.url);
    console.log(`${runs} runs of each preview, ${jobs} BatchJobs; ${os.cpus().length} cores, Node ${process.version}`);

    const peak: Record<string, number> = { ours: 0, noop: 0, three: 0, noop3: 0 };
    const times: Record<string, number[]> = {};
    const cpus: Record<string, number[]> = {};
    const time = async (key: string, project: Project, op: string, resources: number) => {
      const r = await project.preview(op, resources);
      times[key] = [...(times[key] ?? []), r.seconds];
      cpus[key] = [...(cpus[key] ?? []), r.cpu];
      peak[project.name] = Math.max(peak[project.name] ?? 0, r.providerKb);
      console.log(
        `  ${key.padEnd(14)} ${r.seconds.toFixed(2)} s, CPU ${r.cpu.toFixed(2)} s, provider peak ${(r.providerKb / 1024).toFixed(0)} MB`,
      );
    };
    for (let i = 0; i < runs; i++) {
      await time("ours 1+N", p.ours, "create", jobs + 1);
      await time("noop 1+N", p.noop, "create", jobs + 1);
      await time("ours 3", p.three, "create", 3);
      await time("no-op 3", p.noop3, "create", 3);
      await time("empty", p.empty, "create", 0);
    }

    const upOurs = await p.ours.pulumi(["up", "--yes", "--skip-preview"], "up");
    const upNoop = await p.noop.pulumi(["up", "--yes", "--skip-preview"], "up");
    console.log(
      `  up: ours ${upOurs.seconds.toFixed(1)} s (provider peak ${(upOurs.providerKb / 1024).toFixed(0)} MB), no-op ${upNoop.seconds.toFixed(1)} s (${(upNoop.providerKb / 1024).toFixed(0)} MB)`,
    );
    const upPeak = { ours: upOurs.providerKb, noop: upNoop.providerKb };
    for (let i = 0; i < runs; i++) {
      await time("ours 1+N up", p.ours, "same", jobs + 1);
      await time("noop 1+N up", p.noop, "same", jobs + 1);
    }

    const oursState = await p.ours.stateSizes();
    const noopState = await p.noop.stateSizes();
    const ourJobs = oursState.filter((r) => r.type.endsWith("BatchJob"));
    const noopJobs = noopState.filter((r) => r.name.startsWith("job-"));
    if (ourJobs.length !== jobs || noopJobs.length !== jobs) {
      throw new Error(`state holds ${ourJobs.length} BatchJobs and ${noopJobs.length} no-op jobs; expected ${jobs}`);
    }
    const ourFile = oursState.find((r) => r.type.endsWith("BatchFile"));

    const kb = (b: number) => `${(b / 1024).toFixed(2)} KB`;
    const mb = (k: number) => `${(k / 1024).toFixed(0)} MB`;
    const row = (
      name: string,
      ours: number,
      ref: number,
      unit: (x: number) => string,
      goal: string,
      best?: [number, number],
    ) => [
      name,
      unit(ours),
      unit(ref),
      `${(ours / ref).toFixed(2)}x`,
      best ? `${unit(best[0])} / ${unit(best[1])} = ${(best[0] / best[1]).toFixed(2)}x` : "",
      goal,
    ];
    const s = (x: number) => `${x.toFixed(2)} s`;
    const m = (k: string) => median(times[k] ?? []);
    const c = (k: string) => median(cpus[k] ?? []);
    /** The fastest run of each side: the least disturbed by other load on a shared machine. */
    const b = (k: string, r: string): [number, number] => [
      Math.min(...(times[k] ?? [])),
      Math.min(...(times[r] ?? [])),
    ];
    console.log("");
    printTable([
      ["case (medians)", "ours", "reference", "ratio", "best runs", "goal"],
      row(`preview 1+${jobs} vs no-op`, m("ours 1+N"), m("noop 1+N"), s, "<= 1.15x", b("ours 1+N", "noop 1+N")),
      row(`  CPU (all processes)`, c("ours 1+N"), c("noop 1+N"), s, ""),
      row(`preview 1+${jobs} after up`, m("ours 1+N up"), m("noop 1+N up"), s, "", b("ours 1+N up", "noop 1+N up")),
      row(`  CPU (all processes)`, c("ours 1+N up"), c("noop 1+N up"), s, ""),
      row("preview 3 vs empty", m("ours 3"), m("empty"), s, "<= 1.5x", b("ours 3", "empty")),
      row(`  CPU (all processes)`, c("ours 3"), c("empty"), s, ""),
      row("  no-op 3 vs empty", m("no-op 3"), m("empty"), s, "", b("no-op 3", "empty")),
      row("preview 3 vs no-op 3", m("ours 3"), m("no-op 3"), s, "", b("ours 3", "no-op 3")),
      row(
        "state per BatchJob",
        median(ourJobs.map((r) => r.bytes)),
        median(noopJobs.map((r) => r.bytes)),
        kb,
        "<= 4 KB",
      ),
      row(
        "  of it __provider (x2)",
        2 * median(ourJobs.map((r) => r.providerBytes)),
        2 * median(noopJobs.map((r) => r.providerBytes)),
        kb,
        "",
      ),
      row("provider peak RSS, previews", peak.ours ?? 0, peak.noop ?? 0, mb, ""),
      row("provider peak RSS, up", upPeak.ours, upPeak.noop, mb, ""),
      row("provider peak RSS, preview 3", peak.three ?? 0, peak.noop3 ?? 0, mb, ""),
    ]);
    const verdict = (ratio: number, goal: number) => (ratio <= goal ? "met" : "MISSED");
    const jobBytes = median(ourJobs.map((r) => r.bytes));
    recordSummary([
      {
        bench: "engine",
        what: `pulumi preview, 1 BatchFile + ${jobs} BatchJobs`,
        ours: s(m("ours 1+N")),
        reference: `no-op dynamic resource ${s(m("noop 1+N"))}`,
        ratio: ratioOf(m("ours 1+N"), m("noop 1+N")),
        goal: "<= 1.15x",
        verdict: verdict(m("ours 1+N") / m("noop 1+N"), 1.15),
        peakMb: (peak.ours ?? 0) / 1024,
      },
      {
        bench: "engine",
        what: "pulumi preview of a 3-resource program",
        ours: s(m("ours 3")),
        reference: `empty program ${s(m("empty"))}`,
        ratio: ratioOf(m("ours 3"), m("empty")),
        goal: "<= 1.5x",
        verdict: verdict(m("ours 3") / m("empty"), 1.5),
        peakMb: (peak.three ?? 0) / 1024,
      },
      {
        bench: "engine",
        what: "state per BatchJob",
        ours: kb(jobBytes),
        reference: `no-op resource ${kb(median(noopJobs.map((r) => r.bytes)))}`,
        ratio: ratioOf(jobBytes, median(noopJobs.map((r) => r.bytes))),
        goal: "<= 4 KB",
        verdict: jobBytes <= 4096 ? "met" : "MISSED",
      },
      {
        bench: "engine",
        what: "provider process peak RSS, up",
        ours: mb(upPeak.ours),
        reference: `no-op provider ${mb(upPeak.noop)}`,
        ratio: ratioOf(upPeak.ours, upPeak.noop),
        goal: "",
        verdict: "",
        peakMb: upPeak.ours / 1024,
      },
    ]);
    if (ourFile) console.log(`\nBatchFile state entry: ${kb(ourFile.bytes)}`);
    console.log("(measured on this machine, which may be shared: compare the ratios, not the seconds)");
    return 0;
  } finally {
    await emu.stop();
    fs.rmSync(base, { recursive: true, force: true });
  }
}

runMain(main);
