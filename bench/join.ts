/**
 * Join benchmark: joinResults (provider/eval/join.ts) over 3 models x N shuffled chat results, scored with the
 * numeric scorer, to show that time grows linearly and memory stays flat as results grow.
 *
 *   npm run bench:join                          # N = 10,000, 100,000 and 300,000 (the default series)
 *   npm run bench:join -- --n 100000            # one size (or a comma list: --n 50000,200000)
 *   npm run bench:join -- --n 1000000           # the goal's size: 3 x 1M results in <= 60 s at <= 300 MiB peak RSS
 *   npm run bench:join -- --items-per-partition 5000 --keep --dir /tmp/j
 *
 * For each N, two children run one after the other, so that each measurement is clean:
 *  1. the generator writes, into a temporary directory, a dataset of N arithmetic questions (`What is a + b?`), the
 *     expected answers, and per model (mistral-large-latest, mistral-small-latest, ministral-3b-latest) an output
 *     file of realistic chat.completion result lines (as the emulator writes them: id, custom_id, response with the
 *     full body and usage, error null) in shuffled order, answering right at the model's rate (92%, 72%, 45%), and
 *     an error file for 1-3% of the requests in the three error forms (error {message} with a 500 response, a bare
 *     string error, a 429 status with error null). It prints the truth: per model succeeded, failed, right
 *     answers and token sums;
 *  2. the joiner loads the modules, then times joinResults and samples process.memoryUsage() every 5 ms; it prints
 *     the time, the buckets, its peak RSS (process.resourceUsage().maxRSS: the whole process, modules included), the
 *     RSS before the join, and the sampled peaks of RSS and V8 heap.
 * The parent checks the summaries against the truth (the only assertion: exit code 1 on a mismatch) and prints
 * the table, with the goal (GOAL_SECONDS_PER_MILLION per million items, pro rata, and GOAL_MAX_RSS_MB) beside
 * each figure; missing the goal is reported, never a failure. MB = MiB.
 */
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { joinResults } from "../provider/eval/join";
import { countLines, LineWriter } from "../provider/eval/lines";
import { DEFAULT_PRICES } from "../provider/eval/pricing";
import { estimateTokens } from "../provider/eval/tokens";
import type { ModelSummary } from "../provider/eval/types";
import { MB, printTable, random, runMain } from "./common";
import { recordSummary } from "./summary";

const DEFAULT_SERIES = [10_000, 100_000, 300_000];
/** The goal: 1,000,000 items x 3 models joined and scored in at most 60 s (pro rata for other sizes)... */
const GOAL_SECONDS_PER_MILLION = 60;
/** ...at at most 300 MiB peak RSS (the join child's maxRSS, modules included), whatever the size. */
const GOAL_MAX_RSS_MB = 300;
const ENDPOINT = "/v1/chat/completions";
const MODELS = [
  { id: "mistral-large-latest", accuracy: 0.92, failureRate: 0.01 },
  { id: "mistral-small-latest", accuracy: 0.72, failureRate: 0.02 },
  { id: "ministral-3b-latest", accuracy: 0.45, failureRate: 0.03 },
];
const SYSTEM = "You are a careful calculator. Think briefly, then end with: The answer is <number>.";
const FILLER = (
  "first add the units then carry the tens and check the result against a rough estimate so the sum " +
  "stays plausible before writing it down"
).split(" ");

interface Truth {
  model: string;
  succeeded: number;
  failed: number;
  right: number;
  promptTokens: number;
  completionTokens: number;
}

interface JoinFigures {
  ms: number;
  partitions: number;
  items: number;
  rows: number;
  inputBytes: number;
  rowsBytes: number;
  maxRssKb: number;
  baseRssKb: number;
  sampledRssPeak: number;
  sampledHeapPeak: number;
  summaries: ModelSummary[];
  warnings: string[];
}

const idOf = (i: number) => `q-${String(i).padStart(7, "0")}`;

/** The question of item i (deterministic). */
function question(i: number): { a: number; b: number } {
  const r = random(i * 7919 + 17);
  return { a: Math.floor(r() * 100_000), b: Math.floor(r() * 100_000) };
}

// --- child 1: the generator -------------------------------------------------------------------------------------

function generate(n: number, dir: string): Truth[] {
  const dataset = new LineWriter(path.join(dir, "dataset.jsonl"), MB);
  const expected = new LineWriter(path.join(dir, "expected.jsonl"), MB);
  for (let i = 0; i < n; i++) {
    const { a, b } = question(i);
    dataset.write(
      JSON.stringify({
        custom_id: idOf(i),
        body: {
          model: "mistral-small-latest",
          messages: [
            { role: "system", content: SYSTEM },
            { role: "user", content: `What is ${a} + ${b}?` },
          ],
          max_tokens: 128,
          temperature: 0,
        },
      }),
    );
    // every fifth expected answer as a numeric string: the numeric scorer takes both
    expected.write(JSON.stringify({ custom_id: idOf(i), expected: i % 5 === 0 ? String(a + b) : a + b }));
  }
  dataset.close();
  expected.close();

  const created = 1_762_000_000;
  return MODELS.map((m, k) => {
    const rnd = random(1000 + k);
    const order = new Int32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1));
      const t = order[i];
      order[i] = order[j];
      order[j] = t;
    }
    const out = new LineWriter(path.join(dir, `${m.id}.output.jsonl`), MB);
    const err = new LineWriter(path.join(dir, `${m.id}.error.jsonl`), MB);
    const truth: Truth = { model: m.id, succeeded: 0, failed: 0, right: 0, promptTokens: 0, completionTokens: 0 };
    for (let x = 0; x < n; x++) {
      const i = order[x];
      const customId = idOf(i);
      const { a, b } = question(i);
      if (rnd() < m.failureRate) {
        truth.failed++;
        const form = truth.failed % 3;
        const line =
          form === 0
            ? {
                id: `batch-${randomUUID()}`,
                custom_id: customId,
                response: {
                  status_code: 500,
                  body: {
                    object: "error",
                    message: "Internal server error",
                    type: "internal_error",
                    param: null,
                    code: null,
                  },
                },
                error: { message: "Internal server error", code: "500" },
              }
            : form === 1
              ? { id: `batch-${randomUUID()}`, custom_id: customId, response: null, error: "Request timed out" }
              : {
                  id: `batch-${randomUUID()}`,
                  custom_id: customId,
                  response: {
                    status_code: 429,
                    body: {
                      object: "error",
                      message: "Rate limit exceeded",
                      type: "rate_limited",
                      param: null,
                      code: "1300",
                    },
                  },
                  error: null,
                };
        err.write(JSON.stringify(line));
        continue;
      }
      const right = rnd() < m.accuracy;
      const answer = right ? a + b : a + b + [1, 2, 10, -1, -10][Math.floor(rnd() * 5)];
      const words = Array.from(
        { length: 8 + Math.floor(rnd() * 24) },
        () => FILLER[Math.floor(rnd() * FILLER.length)],
      ).join(" ");
      const content = `Let me compute ${a} + ${b}: ${words}.\n\nThe answer is ${answer}.`;
      const promptTokens = estimateTokens(SYSTEM) + 1 + estimateTokens(`What is ${a} + ${b}?`) + 1;
      const completionTokens = estimateTokens(content);
      truth.succeeded++;
      if (right) truth.right++;
      truth.promptTokens += promptTokens;
      truth.completionTokens += completionTokens;
      out.write(
        JSON.stringify({
          id: `batch-${randomUUID()}`,
          custom_id: customId,
          response: {
            status_code: 200,
            body: {
              id: randomUUID().replace(/-/g, ""),
              object: "chat.completion",
              model: m.id,
              created,
              choices: [{ index: 0, message: { role: "assistant", content, tool_calls: null }, finish_reason: "stop" }],
              usage: {
                prompt_tokens: promptTokens,
                completion_tokens: completionTokens,
                total_tokens: promptTokens + completionTokens,
              },
            },
          },
          error: null,
        }),
      );
    }
    out.close();
    err.close();
    return truth;
  });
}

// --- child 2: the joiner ----------------------------------------------------------------------------------------

async function join(dir: string, itemsPerPartition: number | undefined): Promise<JoinFigures> {
  const files = [
    path.join(dir, "dataset.jsonl"),
    path.join(dir, "expected.jsonl"),
    ...MODELS.flatMap((m) => [path.join(dir, `${m.id}.output.jsonl`), path.join(dir, `${m.id}.error.jsonl`)]),
  ];
  const inputBytes = files.reduce((s, f) => s + fs.statSync(f).size, 0);
  const baseRssKb = process.memoryUsage().rss / 1024;
  let sampledRssPeak = 0;
  let sampledHeapPeak = 0;
  const sample = () => {
    const m = process.memoryUsage();
    sampledRssPeak = Math.max(sampledRssPeak, m.rss);
    sampledHeapPeak = Math.max(sampledHeapPeak, m.heapUsed);
  };
  const timer = setInterval(sample, 5);
  sample();
  const t = performance.now();
  const r = await joinResults({
    dataset: files[0],
    expected: files[1],
    endpoint: ENDPOINT,
    scorer: { type: "numeric" },
    prices: DEFAULT_PRICES,
    models: MODELS.map((m) => ({
      model: m.id,
      outputFile: path.join(dir, `${m.id}.output.jsonl`),
      errorFile: path.join(dir, `${m.id}.error.jsonl`),
      status: "SUCCESS",
    })),
    outFile: path.join(dir, "rows.jsonl"),
    workDir: path.join(dir, "work"),
    itemsPerPartition,
  });
  const ms = performance.now() - t;
  sample();
  clearInterval(timer);
  return {
    ms,
    partitions: r.partitions,
    items: r.items,
    rows: await countLines(r.rowsFile),
    inputBytes,
    rowsBytes: fs.statSync(r.rowsFile).size,
    maxRssKb: process.resourceUsage().maxRSS,
    baseRssKb,
    sampledRssPeak,
    sampledHeapPeak,
    summaries: r.summaries,
    warnings: r.warnings,
  };
}

// --- the parent -------------------------------------------------------------------------------------------------

function child(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [__filename, ...args], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    p.stdout.on("data", (d) => (out += d));
    p.on("error", reject);
    p.on("close", (code) =>
      code === 0 ? resolve(out) : reject(new Error(`child ${args.join(" ")} exited with ${code}`)),
    );
  });
}

/** What differs between the join's summaries and the generator's truth (empty when all agree). */
function check(n: number, truth: Truth[], f: JoinFigures): string[] {
  const problems: string[] = [];
  const eq = (what: string, got: unknown, want: unknown) => {
    if (got !== want) problems.push(`${what}: ${String(got)} != ${String(want)}`);
  };
  eq("items", f.items, n);
  eq("rows", f.rows, n);
  if (f.warnings.length) problems.push(`warnings: ${f.warnings.join("; ")}`);
  for (const t of truth) {
    const s = f.summaries.find((x) => x.model === t.model);
    if (!s) {
      problems.push(`${t.model}: no summary`);
      continue;
    }
    eq(`${t.model} total`, s.total, n);
    eq(`${t.model} succeeded`, s.succeeded, t.succeeded);
    eq(`${t.model} failed`, s.failed, t.failed);
    eq(`${t.model} missing`, s.missing, 0);
    eq(`${t.model} duplicates`, s.duplicates, 0);
    eq(`${t.model} unknownIds`, s.unknownIds, 0);
    eq(`${t.model} scored`, s.scored, t.succeeded);
    eq(`${t.model} promptTokens`, s.promptTokens, t.promptTokens);
    eq(`${t.model} completionTokens`, s.completionTokens, t.completionTokens);
    const acc = t.right / t.succeeded;
    if (s.accuracy === null || Math.abs(s.accuracy - acc) > 1e-12)
      problems.push(`${t.model} accuracy: ${s.accuracy} != ${acc}`);
  }
  return problems;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      child: { type: "string" },
      n: { type: "string" },
      dir: { type: "string" },
      keep: { type: "boolean", default: false },
      "items-per-partition": { type: "string" },
    },
  });
  const itemsPerPartition =
    values["items-per-partition"] !== undefined ? Number(values["items-per-partition"]) : undefined;
  if (values.child === "generate" || values.child === "join") {
    // The parent always passes --dir to its children.
    const dir = values.dir;
    if (dir === undefined) throw new Error(`--child ${values.child} needs --dir`);
    if (values.child === "generate") process.stdout.write(JSON.stringify(generate(Number(values.n ?? 100_000), dir)));
    else process.stdout.write(JSON.stringify(await join(dir, itemsPerPartition)));
    return 0;
  }

  const series = values.n ? values.n.split(",").map((s) => Number(s.replace(/_/g, ""))) : DEFAULT_SERIES;
  if (series.some((n) => !Number.isInteger(n) || n < 1))
    throw new Error(`--n: expected positive integers, got ${values.n}`);
  const root = values.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), "bench-join-"));
  fs.mkdirSync(root, { recursive: true });
  console.log(`join benchmark: 3 models x N results, numeric scorer; files in ${root}; node ${process.version}\n`);
  const table = [
    [
      "N",
      "result lines",
      "input MB",
      "buckets",
      "gen s",
      "join s",
      "rows/s",
      "lines/s",
      "maxRSS MB",
      "RSS before",
      "sampled RSS",
      "sampled heap",
      "goal s",
      "goal MB",
      "goal",
      "check",
    ],
  ];
  let failures = 0;
  for (const n of series) {
    const dir = path.join(root, `n${n}`);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    const g0 = performance.now();
    const truth = JSON.parse(await child(["--child", "generate", "--n", String(n), "--dir", dir])) as Truth[];
    const genS = (performance.now() - g0) / 1000;
    const f = JSON.parse(
      await child([
        "--child",
        "join",
        "--dir",
        dir,
        ...(itemsPerPartition ? ["--items-per-partition", String(itemsPerPartition)] : []),
      ]),
    ) as JoinFigures;
    const problems = check(n, truth, f);
    failures += problems.length ? 1 : 0;
    const lines = truth.reduce((s, t) => s + t.succeeded + t.failed, 0);
    const goalS = (GOAL_SECONDS_PER_MILLION * n) / 1_000_000;
    table.push([
      n.toLocaleString("en-US"),
      lines.toLocaleString("en-US"),
      (f.inputBytes / MB).toFixed(1),
      String(f.partitions),
      genS.toFixed(1),
      (f.ms / 1000).toFixed(2),
      Math.round(n / (f.ms / 1000)).toLocaleString("en-US"),
      Math.round(lines / (f.ms / 1000)).toLocaleString("en-US"),
      (f.maxRssKb / 1024).toFixed(1),
      (f.baseRssKb / 1024).toFixed(1),
      (f.sampledRssPeak / MB).toFixed(1),
      (f.sampledHeapPeak / MB).toFixed(1),
      `<= ${goalS.toFixed(1)}`,
      `<= ${GOAL_MAX_RSS_MB}`,
      f.ms / 1000 <= goalS && f.maxRssKb / 1024 <= GOAL_MAX_RSS_MB ? "met" : "MISSED",
      problems.length ? "MISMATCH" : "ok",
    ]);
    console.log(
      `N=${n}: ${f.summaries.map((s) => `${s.model} accuracy ${((s.accuracy ?? 0) * 100).toFixed(2)}% (${s.succeeded} ok, ${s.failed} failed, ${s.cost === null ? "no price" : `$${s.cost.toFixed(4)}`})`).join("; ")}`,
    );
    for (const p of problems) console.log(`  MISMATCH ${p}`);
    recordSummary([
      {
        bench: "join",
        what: `join and score ${n.toLocaleString("en-US")} results x 3 models`,
        ours: `${(f.ms / 1000).toFixed(1)} s`,
        reference: "",
        ratio: "",
        goal: `<= ${goalS.toFixed(1)} s, <= ${GOAL_MAX_RSS_MB} MiB`,
        verdict: f.ms / 1000 <= goalS && f.maxRssKb / 1024 <= GOAL_MAX_RSS_MB ? "met" : "MISSED",
        peakMb: f.maxRssKb / 1024,
      },
    ]);
    if (!values.keep) fs.rmSync(dir, { recursive: true, force: true });
  }
  if (!values.keep && !values.dir) fs.rmSync(root, { recursive: true, force: true });
  console.log("");
  printTable(table);
  console.log(
    "\nrows/s: dataset items joined a second (each row carries 3 answers); lines/s: result lines a second. maxRSS: the join child's peak RSS, " +
      "modules included; RSS before: after loading them; sampled: peaks of process.memoryUsage() every 5 ms during the join. " +
      `goal: ${GOAL_SECONDS_PER_MILLION} s per million items (pro rata) and ${GOAL_MAX_RSS_MB} MiB peak RSS; measured on whatever else the machine runs.`,
  );
  return failures ? 1 : 0;
}

runMain(main);
