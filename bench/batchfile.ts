/**
 * BatchFile benchmark: a Mistral-sized batch input (512 MB) through the BatchFile provider, each figure beside its
 * reference, in one run (medians of --runs runs, interleaved, since the machine may be shared):
 *
 *   npm run bench:batchfile                         # 512 MB, 3 runs, the end-to-end `pulumi up` included
 *   npm run bench:batchfile -- --mb 50 --runs 5     # another size (MB = MiB throughout), more runs
 *   npm run bench:batchfile -- --no-e2e --sdk       # without the Pulumi CLI; with the SDK's files.upload
 *   npm run bench:batchfile -- --keep               # generate into .bench/ (gitignored) and reuse it on later runs
 *
 * The file holds chat-completion requests of 700-1100 words (about 6 KB a line), so that 512 MB stays under the
 * 100,000 requests a batch job takes and the provider's check accepts it; a 50 MB file of the same lines shows that
 * memory stays flat. The emulator CLI runs with --max-file-mb above the size and jobs that stay QUEUED (nothing runs
 * in the background). Every uploader and checker runs in its own child process, so that its memory is its own.
 *
 *   pulumi up          the extra wall time of `pulumi up --yes` (preview, then update: the real CLI, in a project
 *                      folder, private PULUMI_HOME, file backend) of a program with a BatchFile of the big file and
 *                      a BatchJob on it, over the same program with a 3-line file; reference: curl -F of the file.
 *                      Each `up` is a new stack with a new file name prefix (no adoption of an earlier upload) and
 *                      an empty scan cache: the first `up` of a new file; the extra time is the median of each
 *                      run's difference (the big file's `up` and the 3-line one's just before it), and again with
 *                      the scan cache off (the preview and the update both scan). Peak RSS: the provider processes' VmHWM
 *                      (sampled), at 50 MB and at the big size. The emulator's own share (POST /v1/batch/jobs parses
 *                      the whole input file) is measured apart and shown.
 *   check+create       BatchFile's check then create in one process, as the engine calls them, whole process
 *                      (loading included); reference: curl -F.
 *   upload             the provider's upload alone, its hash known (the look for an earlier upload, then the
 *                      streaming POST that hashes as it sends); reference: a plain Node stream of the file.
 *   check              BatchFile's check (the scan: this thread reads and hashes, a worker thread validates)
 *                      with the scan cache off, in a provider process (which loads the SDK meanwhile); reference:
 *                      a naive readline + JSON.parse + sha256 pass (which checks far less). Also a check answered
 *                      from the scan cache, and the scan alone with 2 worker threads beside it on one thread.
 *
 * Each stored file is checked against the local one (bytes and num_lines from GET /v1/files/{id}, sha256 of GET
 * .../content), and the BatchFile outputs too. The exit code is non-zero only when something fails or a stored file
 * differs; timings never fail it.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import {
  curlUpload,
  describe,
  type LocalFile,
  MB,
  mbOf,
  median,
  noteStored,
  plainStreamChild,
  prepareInput,
  printTable,
  procKb,
  providerUploadChild,
  ROOT,
  type Row,
  runChild,
  runMain,
  runUpload,
  type RunningEmulator,
  sdkChild,
  startEmulator,
  verify,
} from "./common";
import { ratioOf, recordSummary, type SummaryRow } from "./summary";

/** The goal of the issue: the extra `pulumi up` time at most this many times curl's upload of the file. */
const UP_TARGET_X_CURL = 1.5;
/** The goal: peak RSS of the provider at the big size within this of its peak at the small size. */
const FLAT_TARGET_MB = 20;
const LINE_WORDS = { minWords: 700, maxWords: 1100 };
const ENDPOINT = "/v1/chat/completions";
const NO_CACHE = { PULUMI_MISTRAL_BATCH_SCAN_CACHE: "off" };

// --- the uploaders (this script, run as a child) ----------------------------------------------------------------

/** BatchFile through the provider, as the engine drives it: check, then create with what check returned. */
async function batchFileChild(file: string): Promise<void> {
  // Time the provider's HTTP calls (the SDK's and its own upload POST): each until fetch resolves, i.e. until the
  // answer's headers (for the POST: once the emulator has stored the file).
  const calls: { call: string; start: number; end: number }[] = [];
  const realFetch = globalThis.fetch;
  globalThis.fetch = async (input, init) => {
    const req = input instanceof Request ? input : undefined;
    const call = `${init?.method ?? req?.method ?? "GET"} ${new URL(req?.url ?? String(input)).pathname}`;
    const start = performance.now();
    try {
      return await realFetch(input, init);
    } finally {
      calls.push({ call, start, end: performance.now() });
    }
  };
  const t0 = performance.now();
  const runtime = require(path.join(ROOT, "dist/provider/runtime.js")) as typeof import("../provider/runtime");
  const provider = runtime.provider("file");
  // What a provider process holds before any upload: @pulumi/pulumi (the provider host loads it anyway) and the
  // Mistral SDK (loaded by the first API call). The upload's own memory is measured above this baseline.
  await import("@mistralai/mistralai");
  await import("@mistralai/mistralai/models/components");
  const loadMs = performance.now() - t0;
  const loadedRssKb = process.memoryUsage().rss / 1024;

  const t1 = performance.now();
  if (!provider.check) throw new Error("the file provider has no check method");
  const checked = await provider.check({}, { source: file, endpoint: ENDPOINT });
  const t2 = performance.now();
  const checkMaxRssKb = process.resourceUsage().maxRSS;
  if (checked.failures?.length) throw new Error(`check failed: ${JSON.stringify(checked.failures)}`);
  const created = await provider.create(checked.inputs);
  const t3 = performance.now();
  process.stdout.write(
    JSON.stringify({
      file: { id: created.id, ...created.outs },
      ms: t3 - t1,
      checkMs: t2 - t1,
      createMs: t3 - t2,
      calls: calls.map((c) => ({ call: c.call, startMs: c.start - t2, ms: c.end - c.start })),
      loadMs,
      loadedRssKb,
      checkMaxRssKb,
      maxRssKb: process.resourceUsage().maxRSS,
    }),
  );
}

/** BatchFile's check alone (the scan cache as the environment says); prints `{ms, maxRssKb, inputs}`. */
async function checkChild(file: string): Promise<void> {
  const runtime = require(path.join(ROOT, "dist/provider/runtime.js")) as typeof import("../provider/runtime");
  const provider = runtime.provider("file");
  if (!provider.check) throw new Error("the file provider has no check method");
  const started = performance.now();
  const checked = await provider.check({}, { source: file, endpoint: ENDPOINT });
  const ms = performance.now() - started;
  if (checked.failures?.length) throw new Error(`check failed: ${JSON.stringify(checked.failures)}`);
  process.stdout.write(JSON.stringify({ ms, maxRssKb: process.resourceUsage().maxRSS, inputs: checked.inputs }));
}

/** The scan alone, with `workers` worker threads (0: on one thread); prints `{ms, maxRssKb, sha256, requests}`. */
async function scanChild(file: string, workers: number): Promise<void> {
  const jsonl = require(path.join(ROOT, "dist/provider/jsonl.js")) as typeof import("../provider/jsonl");
  const started = performance.now();
  const r = await jsonl.scanJsonlFile(file, { endpoint: ENDPOINT }, { workers });
  const ms = performance.now() - started;
  if (!jsonl.isClean(r)) throw new Error(jsonl.describeProblems(file, r));
  process.stdout.write(
    JSON.stringify({ ms, maxRssKb: process.resourceUsage().maxRSS, sha256: r.sha256, requests: r.requests }),
  );
}

/**
 * The naive reference of a check: readline over a read stream, JSON.parse of each line, sha256 of the chunks (no
 * UTF-8 check, no request shape, no duplicate custom_ids); prints `{ms, maxRssKb, sha256, requests}`.
 */
async function naiveChild(file: string): Promise<void> {
  const started = performance.now();
  const hash = createHash("sha256");
  const stream = fs.createReadStream(file);
  stream.on("data", (chunk) => hash.update(chunk));
  let requests = 0;
  for await (const line of createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY })) {
    if (line.trim() === "") continue;
    JSON.parse(line);
    requests++;
  }
  const ms = performance.now() - started;
  process.stdout.write(
    JSON.stringify({ ms, maxRssKb: process.resourceUsage().maxRSS, sha256: hash.digest("hex"), requests }),
  );
}

// --- the end-to-end run: the real CLI -----------------------------------------------------------------------------

const PROGRAM = `"use strict";
const pulumi = require("@pulumi/pulumi");
const { BatchFile, BatchJob } = require("pulumi-mistral-batch");
const config = new pulumi.Config("bench");
const file = new BatchFile("input", {
  source: config.require("source"),
  endpoint: "/v1/chat/completions",
  filenamePrefix: config.require("prefix"),
});
const job = new BatchJob("job", { inputFiles: [file.id], model: "mistral-small-latest", endpoint: "/v1/chat/completions" });
module.exports = { fileId: file.id, sha256: file.sha256, bytes: file.bytes, lineCount: file.lineCount, jobId: job.id };
`;

/** A Pulumi project folder (as test/e2e/harness.ts makes them): the program above, the built package installed. */
function makeProject(dir: string): { workDir: string; stateDir: string; home: string } {
  const workDir = path.join(dir, "program");
  const stateDir = path.join(dir, "state");
  const home = path.join(dir, "home");
  for (const d of [workDir, stateDir, home]) fs.mkdirSync(d, { recursive: true });
  fs.writeFileSync(path.join(workDir, "Pulumi.yaml"), "name: bench-batchfile\nruntime: nodejs\n");
  fs.writeFileSync(
    path.join(workDir, "package.json"),
    JSON.stringify({ name: "bench-batchfile", private: true, main: "index.js" }),
  );
  fs.writeFileSync(path.join(workDir, "index.js"), PROGRAM);
  const engine = require(path.join(ROOT, "dist/scripts/engine.js")) as typeof import("../scripts/engine");
  engine.installPackage(path.join(workDir, "node_modules"));
  return { workDir, stateDir, home };
}

/** The pids of `root`'s descendants (from /proc). */
function descendants(root: number): number[] {
  const parent = new Map<number, number>();
  for (const name of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, "utf8");
      // pid (comm) state ppid ...: comm may hold spaces, so split after its closing parenthesis.
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      parent.set(Number(name), ppid);
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = [];
  for (const pid of parent.keys()) {
    for (let p = parent.get(pid); p !== undefined && p > 1; p = parent.get(p)) {
      if (p === root) {
        out.push(pid);
        break;
      }
    }
  }
  return out;
}

const isProvider = (pid: number): boolean => {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("dynamic-provider");
  } catch {
    return false;
  }
};

interface UpRun {
  seconds: number;
  /** The highest VmHWM of the dynamic provider processes (preview's and update's), kB. */
  providerKb: number;
  outputs: Record<string, unknown>;
}

/** Runs `pulumi` in the project with the engine's environment; fails with its output when it fails. */
function pulumi(
  args: string[],
  cwd: string,
  env: Record<string, string>,
  onSpawn?: (child: ChildProcess) => void,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn("pulumi", args, { cwd, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    onSpawn?.(child);
    child.on("close", (code) =>
      code === 0 ? resolve(out) : reject(new Error(`pulumi ${args.join(" ")} failed (exit ${code}):\n${out}`)),
    );
  });
}

/** One `pulumi up --yes` (preview, then update) of a new stack for `source`, with an empty scan cache (or none). */
async function pulumiUp(
  project: { workDir: string; stateDir: string; home: string },
  url: string,
  source: string,
  stack: string,
  cache = true,
): Promise<UpRun> {
  const engine = require(path.join(ROOT, "dist/scripts/engine.js")) as typeof import("../scripts/engine");
  const env = engine.engineEnv(project.stateDir, project.home, {
    PULUMI_MISTRAL_BATCH_SCAN_CACHE: cache ? path.join(project.stateDir, `scan-cache-${stack}`) : "off",
  });
  const cwd = project.workDir;
  await pulumi(["stack", "init", stack, "--non-interactive"], cwd, env);
  for (const [key, value, secret] of [
    ["mistral:serverUrl", url, false],
    ["mistral:apiKey", "bench", true],
    ["bench:source", source, false],
    ["bench:prefix", stack, false],
  ] as const)
    await pulumi(["config", "set", ...(secret ? ["--secret"] : []), "--stack", stack, key, value], cwd, env);
  let providerKb = 0;
  let timer: NodeJS.Timeout | undefined;
  const started = performance.now();
  await pulumi(["up", "--yes", "--non-interactive", "--stack", stack], cwd, env, (child) => {
    const pid = child.pid;
    if (pid === undefined) return;
    const seen = new Set<number>();
    timer = setInterval(() => {
      for (const p of descendants(pid)) if (seen.has(p) || isProvider(p)) seen.add(p);
      for (const p of seen) providerKb = Math.max(providerKb, procKb(p, "VmHWM"));
    }, 25);
  });
  const seconds = (performance.now() - started) / 1000;
  clearInterval(timer);
  const outputs = JSON.parse(await pulumi(["stack", "output", "--json", "--stack", stack], cwd, env)) as Record<
    string,
    unknown
  >;
  return { seconds, providerKb, outputs };
}

/** Time of POST /v1/batch/jobs on an uploaded file: the emulator parses the whole input file then. */
async function jobCreateSeconds(url: string, fileId: string): Promise<number> {
  const started = performance.now();
  const res = await fetch(`${url}/v1/batch/jobs`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: "Bearer bench" },
    body: JSON.stringify({ input_files: [fileId], model: "mistral-small-latest", endpoint: ENDPOINT }),
  });
  const seconds = (performance.now() - started) / 1000;
  if (!res.ok) throw new Error(`POST /v1/batch/jobs: HTTP ${res.status} ${await res.text()}`);
  return seconds;
}

// --- main -------------------------------------------------------------------------------------------------------

/** A figure measured over the runs: its values (s) and peaks (kB). */
class Figure {
  readonly seconds: number[] = [];
  readonly kb: number[] = [];
  readonly notes: string[] = [];
  add(seconds: number, kb = 0, note?: string): void {
    this.seconds.push(seconds);
    this.kb.push(kb);
    if (note) this.notes.push(note);
  }
  get s(): number {
    return median(this.seconds);
  }
  get peakKb(): number {
    return Math.max(0, ...this.kb);
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      mb: { type: "string", default: "512" },
      "small-mb": { type: "string", default: "50" },
      runs: { type: "string", default: "3" },
      keep: { type: "boolean", default: false },
      "no-e2e": { type: "boolean", default: false },
      sdk: { type: "boolean", default: false },
    },
  });
  const mb = Number(values.mb);
  const smallMb = Number(values["small-mb"]);
  const runs = Number(values.runs);
  for (const [flag, v] of [
    ["--mb", mb],
    ["--small-mb", smallMb],
    ["--runs", runs],
  ] as const)
    if (!Number.isInteger(v) || v < 1) throw new Error(`${flag} must be a whole number >= 1, received ${v}`);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "bench-batchfile-"));
  let emulator: RunningEmulator | undefined;
  const wrong: string[] = [];
  try {
    const input = await prepareInput("batchfile", mb, values.keep, work, LINE_WORDS);
    const local = await describe(input);
    const smallInput = await prepareInput("batchfile", smallMb, values.keep, work, LINE_WORDS);
    const smallLocal = await describe(smallInput);
    const tiny = path.join(work, "tiny.jsonl");
    fs.writeFileSync(
      tiny,
      `${[1, 2, 3]
        .map((i) =>
          JSON.stringify({
            custom_id: `t${i}`,
            body: { model: "mistral-small-latest", messages: [{ role: "user", content: `Q${i}` }] },
          }),
        )
        .join("\n")}\n`,
    );
    const sizeMb = local.bytes / MB;
    console.log(
      `input: ${sizeMb.toFixed(1)} MB (${local.bytes} bytes), ${local.lines} lines; small: ${(smallLocal.bytes / MB).toFixed(1)} MB; ${runs} runs, medians (the machine may be shared: ${os.availableParallelism()} cores, load ${os.loadavg()[0].toFixed(1)})`,
    );
    emulator = await startEmulator(path.join(work, "data"), Math.max(600, mb + 1), ["--queue-delay-ms", "86400000"]);
    const { url, pid: emuPid } = emulator;
    const env = { ...process.env, MISTRAL_API_KEY: "bench", MISTRAL_SERVER_URL: url };
    const noCache = { ...env, ...NO_CACHE };
    const self = (...args: string[]) => [__filename, ...args];
    /** Checks what the emulator stored for the row, then deletes it (a later run must upload, not adopt it). */
    const stored = async (row: Row, what: LocalFile, keep = false): Promise<string> => {
      await noteStored(url, [row], what);
      if (!row.ok || !row.note.startsWith("stored")) wrong.push(`${row.name}: ${row.note}`);
      if (row.fileId && !keep) await fetch(`${url}/v1/files/${row.fileId}`, { method: "DELETE" });
      return row.note;
    };

    const f = {
      curl: new Figure(),
      checkCreate: new Figure(),
      checkCreateInner: new Figure(),
      upload: new Figure(),
      plain: new Figure(),
      check: new Figure(),
      checkCached: new Figure(),
      naive: new Figure(),
      scanOne: new Figure(),
      scanTwo: new Figure(),
      job: new Figure(),
      upTiny: new Figure(),
      upBig: new Figure(),
      upBigNoCache: new Figure(),
      /** Per run: the big file's `up` minus the 3-line one's just before it (paired: the load drifts). */
      extra: new Figure(),
      extraNoCache: new Figure(),
      upSmall: new Figure(),
    };
    const project = values["no-e2e"] ? undefined : makeProject(path.join(work, "project"));
    if (project) {
      console.log("warming up the engine (one unmeasured pulumi up of the 3-line program)");
      await pulumiUp(project, url, tiny, "warmup");
    }
    for (let run = 1; run <= runs; run++) {
      process.stdout.write(`run ${run}/${runs}:`);
      const curl = await curlUpload(url, input, emuPid);
      f.curl.add(curl.seconds, curl.clientKb, await stored(curl, local, true)); // kept: the job below uses it
      if (curl.fileId) f.job.add(await jobCreateSeconds(url, curl.fileId));
      process.stdout.write(" curl");

      const bf = await runUpload(
        "BatchFile check+create",
        emuPid,
        process.execPath,
        self("--batchfile-child", input),
        noCache,
      );
      await stored(bf, local);
      const outs = bf.out?.file as
        | { sha256?: string; bytes?: number; lineCount?: number; adopted?: boolean }
        | undefined;
      if (
        bf.ok &&
        (outs?.sha256 !== local.sha256 ||
          outs?.bytes !== local.bytes ||
          outs?.lineCount !== local.lines ||
          outs?.adopted !== false)
      )
        wrong.push(`BatchFile check+create outputs ${JSON.stringify(outs)} do not describe the file (or adopted it)`);
      f.checkCreate.add(bf.processSeconds, bf.clientKb);
      f.checkCreateInner.add(bf.seconds, bf.clientKb);
      process.stdout.write(" check+create");

      const up = await runUpload(
        "upload",
        emuPid,
        process.execPath,
        self("--upload-child", input, local.sha256, `up${run}`),
        env,
      );
      await stored(up, local);
      f.upload.add(up.seconds, up.clientKb);
      const plain = await runUpload("plain stream", emuPid, process.execPath, self("--plain-child", url, input), env);
      await stored(plain, local);
      f.plain.add(plain.seconds, plain.clientKb);
      process.stdout.write(" upload");

      const check = await runChild(undefined, process.execPath, self("--check-child", input), noCache);
      const inputs = check.out?.inputs as { sha256?: string; lineCount?: number } | undefined;
      if (check.code !== 0 || inputs?.sha256 !== local.sha256 || inputs?.lineCount !== local.lines)
        wrong.push(`check: ${check.stderr.slice(0, 300) || JSON.stringify(inputs)}`);
      f.check.add(Number(check.out?.ms) / 1000, check.clientKb);
      const cacheEnv = { ...env, PULUMI_MISTRAL_BATCH_SCAN_CACHE: path.join(work, `scan-cache-${run}`) };
      await runChild(undefined, process.execPath, self("--check-child", input), cacheEnv); // fills the cache
      const cached = await runChild(undefined, process.execPath, self("--check-child", input), cacheEnv);
      if ((cached.out?.inputs as { sha256?: string } | undefined)?.sha256 !== local.sha256)
        wrong.push(`cached check: ${cached.stderr.slice(0, 300)}`);
      f.checkCached.add(Number(cached.out?.ms) / 1000, cached.clientKb);
      const naive = await runChild(undefined, process.execPath, self("--naive-child", input));
      if (naive.out?.sha256 !== local.sha256) wrong.push(`naive: ${naive.stderr.slice(0, 300)}`);
      f.naive.add(Number(naive.out?.ms) / 1000, naive.clientKb);
      const one = await runChild(undefined, process.execPath, self("--scan-child", input, "0"));
      if (one.out?.sha256 !== local.sha256) wrong.push(`scan on one thread: ${one.stderr.slice(0, 300)}`);
      f.scanOne.add(Number(one.out?.ms) / 1000, one.clientKb);
      const two = await runChild(undefined, process.execPath, self("--scan-child", input, "2"));
      if (two.out?.sha256 !== local.sha256) wrong.push(`scan on 2 workers: ${two.stderr.slice(0, 300)}`);
      f.scanTwo.add(Number(two.out?.ms) / 1000, two.clientKb);
      process.stdout.write(" check");

      if (project) {
        for (const [figure, source, what, name, cache] of [
          [f.upTiny, tiny, undefined, "tiny", true],
          [f.upBig, input, local, "big", true],
          [f.upBigNoCache, input, local, "big-nocache", false],
          [f.upSmall, smallInput, smallLocal, "small", true],
        ] as const) {
          const r = await pulumiUp(project, url, source, `${name}-${run}`, cache);
          figure.add(r.seconds, r.providerKb);
          if (what) {
            const problems = await verify(url, String(r.outputs.fileId), what);
            if (r.outputs.sha256 !== what.sha256) problems.push(`output sha256 ${r.outputs.sha256}`);
            if (problems.length) wrong.push(`pulumi up ${name}: ${problems.join("; ")}`);
          }
        }
        const last = (x: Figure) => x.seconds[x.seconds.length - 1];
        f.extra.add(last(f.upBig) - last(f.upTiny));
        f.extraNoCache.add(last(f.upBigNoCache) - last(f.upTiny));
        process.stdout.write(" pulumi-up");
      }
      console.log("");
    }
    let sdk: Row | undefined;
    if (values.sdk) {
      sdk = await runUpload("SDK files.upload", emuPid, process.execPath, self("--sdk-child", url, input));
      await stored(sdk, local);
    }

    // --- the figures, side by side ---
    const s = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : "-");
    const rate = (x: number) => (Number.isFinite(x) && x > 0 ? (sizeMb / x).toFixed(0) : "-");
    const extra = f.extra.s;
    const extraOurs = extra - f.job.s;
    console.log(`\nMedians of ${runs} runs, ${sizeMb.toFixed(0)} MB (MB/s of the big file):`);
    /** A row: ours beside the reference, the ratio, the peaks (a blank MB/s for figures that move no bytes). */
    const row = (
      name: string,
      ours: number,
      ref: string,
      refS: number,
      oursKb?: number,
      refKb?: number,
      moves = true,
    ) => [
      name,
      s(ours),
      moves ? rate(ours) : "",
      ref,
      s(refS),
      `${s(ours / refS)}x`,
      oursKb === undefined ? "" : mbOf(oursKb),
      refKb === undefined ? "" : mbOf(refKb),
    ];
    printTable([
      ["figure", "ours s", "MB/s", "reference", "ref s", "ratio", "our peak MB", "ref peak MB"],
      ...(project
        ? [
            row("pulumi up, extra time (file + job)", extra, "curl -F", f.curl.s, f.upBig.peakKb, f.curl.peakKb),
            row(
              "  the same, scan cache off (2 scans)",
              f.extraNoCache.s,
              "curl -F",
              f.curl.s,
              f.upBigNoCache.peakKb,
              f.curl.peakKb,
            ),
            row("  without the emulator's job check", extraOurs, "curl -F", f.curl.s),
          ]
        : []),
      row("check+create, whole process", f.checkCreate.s, "curl -F", f.curl.s, f.checkCreate.peakKb, f.curl.peakKb),
      row("  check+create, in process", f.checkCreateInner.s, "curl -F", f.curl.s),
      row("upload alone (hash known)", f.upload.s, "plain Node stream", f.plain.s, f.upload.peakKb, f.plain.peakKb),
      row(
        "check (scan, 1 worker thread)",
        f.check.s,
        "naive readline+parse+sha256",
        f.naive.s,
        f.check.peakKb,
        f.naive.peakKb,
      ),
      row(
        "check, answered by the scan cache",
        f.checkCached.s,
        "check, scanning",
        f.check.s,
        f.checkCached.peakKb,
        f.check.peakKb,
        false,
      ),
      row(
        "scan alone, 2 worker threads",
        f.scanTwo.s,
        "scan on one thread",
        f.scanOne.s,
        f.scanTwo.peakKb,
        f.scanOne.peakKb,
      ),
      ...(sdk ? [row("(SDK files.upload)", sdk.seconds, "curl -F", f.curl.s, sdk.clientKb, f.curl.peakKb)] : []),
    ]);
    console.log(
      `\nalone: curl runs ${f.curl.seconds.map(s).join(", ")} s; POST /v1/batch/jobs on the file (the emulator parses it) ${s(f.job.s)} s` +
        (project
          ? `; pulumi up: 3 lines ${f.upTiny.seconds.map(s).join(", ")} s, ${(smallLocal.bytes / MB).toFixed(0)} MB ${f.upSmall.seconds.map(s).join(", ")} s, ${sizeMb.toFixed(0)} MB ${f.upBig.seconds.map(s).join(", ")} s (cache off: ${f.upBigNoCache.seconds.map(s).join(", ")} s); extra per run ${f.extra.seconds.map(s).join(", ")} s (cache off: ${f.extraNoCache.seconds.map(s).join(", ")} s)`
          : ""),
    );
    if (project) {
      const flat = (f.upBig.peakKb - f.upSmall.peakKb) / 1024;
      console.log(
        `provider peak RSS in pulumi up: ${mbOf(f.upTiny.peakKb)} MB (3 lines), ${mbOf(f.upSmall.peakKb)} MB (${(smallLocal.bytes / MB).toFixed(0)} MB), ${mbOf(f.upBig.peakKb)} MB (${sizeMb.toFixed(0)} MB): ` +
          `${flat.toFixed(1)} MB more for the big file (goal: within ${FLAT_TARGET_MB} MB): ${Math.abs(flat) <= FLAT_TARGET_MB ? "met" : "not met"}`,
      );
      console.log(
        `goal: extra pulumi up time <= ${UP_TARGET_X_CURL}x curl: ${s(extra / f.curl.s)}x, ${extra / f.curl.s <= UP_TARGET_X_CURL ? "met" : "not met"} ` +
          `(${s(extraOurs / f.curl.s)}x without the emulator's job check, ${extraOurs / f.curl.s <= UP_TARGET_X_CURL ? "met" : "not met"})`,
      );
    }
    const summary: SummaryRow[] = [
      {
        bench: "batchfile",
        what: `BatchFile upload alone (hash known), ${sizeMb.toFixed(0)} MiB`,
        ours: `${s(f.upload.s)} s`,
        reference: `plain Node stream ${s(f.plain.s)} s`,
        ratio: ratioOf(f.upload.s, f.plain.s),
        goal: "",
        verdict: "",
        peakMb: f.upload.peakKb / 1024,
      },
      {
        bench: "batchfile",
        what: `check of ${sizeMb.toFixed(0)} MiB, scanning / answered by the scan cache`,
        ours: `${s(f.check.s)} s / ${s(f.checkCached.s)} s`,
        reference: `naive readline+parse+sha256 ${s(f.naive.s)} s`,
        ratio: ratioOf(f.check.s, f.naive.s),
        goal: "",
        verdict: "",
        peakMb: f.check.peakKb / 1024,
      },
    ];
    if (project) {
      const flat = (f.upBig.peakKb - f.upSmall.peakKb) / 1024;
      summary.unshift(
        {
          bench: "batchfile",
          what: `extra pulumi up time of a ${sizeMb.toFixed(0)} MiB BatchFile + BatchJob`,
          ours: `${s(extra)} s`,
          reference: `curl -F ${s(f.curl.s)} s`,
          ratio: ratioOf(extra, f.curl.s),
          goal: `<= ${UP_TARGET_X_CURL}x`,
          verdict: extra / f.curl.s <= UP_TARGET_X_CURL ? "met" : "MISSED",
          peakMb: f.upBig.peakKb / 1024,
        },
        {
          bench: "batchfile",
          what: `provider peak RSS in pulumi up, ${(smallLocal.bytes / MB).toFixed(0)} vs ${sizeMb.toFixed(0)} MiB file`,
          ours: `${mbOf(f.upSmall.peakKb)} / ${mbOf(f.upBig.peakKb)} MB`,
          reference: "",
          ratio: "",
          goal: `within ${FLAT_TARGET_MB} MB`,
          verdict: Math.abs(flat) <= FLAT_TARGET_MB ? "met" : "MISSED",
          peakMb: f.upBig.peakKb / 1024,
        },
      );
    }
    recordSummary(summary);
    if (wrong.length) console.log(`\nWRONG RESULTS:\n  ${wrong.join("\n  ")}`);
    else console.log("\nall results right: every stored file matches the local one, and the outputs too");
    return wrong.length ? 1 : 0;
  } finally {
    await emulator?.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

function child(run: () => Promise<void>): void {
  run().catch((error) => {
    process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  });
}

const [, , mode, a, b, c] = process.argv;
if (mode === "--sdk-child") child(() => sdkChild(a, b));
else if (mode === "--batchfile-child") child(() => batchFileChild(a));
else if (mode === "--upload-child") child(() => providerUploadChild(a, b, c));
else if (mode === "--plain-child") child(() => plainStreamChild(a, b));
else if (mode === "--check-child") child(() => checkChild(a));
else if (mode === "--scan-child") child(() => scanChild(a, Number(b)));
else if (mode === "--naive-child") child(() => naiveChild(a));
else runMain(main);
