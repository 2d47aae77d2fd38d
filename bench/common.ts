/**
 * Shared by the benchmarks (bench/upload.ts, bench/batchfile.ts): the generated input file, the emulator child,
 * uploader children sampled through /proc, the check of a stored file against the local one, and the table.
 * MB = MiB throughout.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import { createInterface } from "node:readline";

export const MB = 1024 * 1024;
export const ROOT = path.resolve(__dirname, "../..");

// --- the input file ---------------------------------------------------------------------------------------------

const SYSTEM = "You are a support assistant for an online bookshop. Answer in at most three sentences.";
const TASKS = [
  "Summarise this customer message",
  "Classify the sentiment of this review",
  "Draft a polite reply to",
  "Extract the order number and product from",
];
const WORDS = (
  "order book delivery late parcel arrived damaged cover refund please thanks week still waiting tracking " +
  "number address changed novel author edition paperback hardback gift card voucher discount price shipping " +
  "return label email account password store recommend series sequel chapter page missing wrong item"
).split(" ");

export interface GenerateOptions {
  /** Words in a user message: from `minWords` up to (not including) `maxWords`. @default 20, 200 */
  minWords?: number;
  maxWords?: number;
}

/** A small seeded PRNG (mulberry32): the same inputs on every run. */
export function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), seed | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** One request line; with `length`, padded to exactly that many bytes (all generated text is ASCII). */
function requestLine(i: number, rand: () => number, minWords: number, maxWords: number, length?: number): string {
  const words = Array.from(
    { length: minWords + Math.floor(rand() * (maxWords - minWords)) },
    () => WORDS[Math.floor(rand() * WORDS.length)],
  );
  const text = `${TASKS[i % TASKS.length]}:\n\n${words.join(" ")}`;
  const line = (pad: string) =>
    `${JSON.stringify({
      custom_id: `req-${String(i).padStart(8, "0")}`,
      body: {
        model: "mistral-small-latest",
        messages: [
          { role: "system", content: SYSTEM },
          { role: "user", content: text + pad },
        ],
        max_tokens: 256,
        temperature: 0.3,
      },
    })}\n`;
  return length === undefined ? line("") : line(".".repeat(length - line("").length));
}

/**
 * Writes exactly `bytes` bytes of chat-completion batch requests with unique custom_ids (deterministic: the same
 * arguments give the same file).
 */
export async function generate(file: string, bytes: number, options: GenerateOptions = {}): Promise<void> {
  const minWords = options.minWords ?? 20;
  const maxWords = options.maxWords ?? 200;
  const maxLine = Math.max(4096, maxWords * 12 + 512); // longer than any generated line
  const rand = random(42);
  const out = await fs.promises.open(`${file}.part`, "w");
  let left = bytes;
  let chunk = "";
  let i = 0;
  while (left - chunk.length > 2 * maxLine) {
    chunk += requestLine(i++, rand, minWords, maxWords);
    if (chunk.length >= MB) {
      await out.write(chunk);
      left -= chunk.length;
      chunk = "";
    }
  }
  await out.write(chunk + requestLine(i, rand, minWords, maxWords, left - chunk.length));
  await out.close();
  fs.renameSync(`${file}.part`, file);
}

export interface LocalFile {
  bytes: number;
  lines: number;
  sha256: string;
}

export async function describe(file: string): Promise<LocalFile> {
  const hash = createHash("sha256");
  let bytes = 0;
  let lines = 0;
  for await (const chunk of fs.createReadStream(file, { highWaterMark: MB }) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    bytes += chunk.length;
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
  }
  return { bytes, lines, sha256: hash.digest("hex") };
}

/**
 * The input file of `mb` MB: `.bench/<stem>-<mb>mb.jsonl` when it exists with that size, else generated (into
 * `.bench/` with `keep`, to be reused by later runs; else into `work`). Logs which.
 */
export async function prepareInput(
  stem: string,
  mb: number,
  keep: boolean,
  work: string,
  options?: GenerateOptions,
): Promise<string> {
  const cached = path.join(ROOT, ".bench", `${stem}-${mb}mb.jsonl`);
  let input = cached;
  if (fs.statSync(cached, { throwIfNoEntry: false })?.size !== mb * MB) {
    if (keep) fs.mkdirSync(path.dirname(cached), { recursive: true });
    else input = path.join(work, `${stem}-${mb}mb.jsonl`);
    const t = performance.now();
    await generate(input, mb * MB, options);
    console.log(`generated ${input} in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  } else console.log(`reusing ${input}`);
  return input;
}

// --- the emulator -----------------------------------------------------------------------------------------------

export interface RunningEmulator {
  url: string;
  pid: number;
  /** SIGTERM, then waits for the exit. */
  stop(): Promise<void>;
}

/** The emulator package's bin (`npx mistral-batch-emulator`), resolved as a dev dependency is. */
export function emulatorCli(): string {
  const manifest = require.resolve("mistral-batch-emulator/package.json");
  const { bin } = JSON.parse(fs.readFileSync(manifest, "utf8")) as { bin: Record<string, string> };
  const entry = bin["mistral-batch-emulator"];
  if (entry === undefined) throw new Error(`${manifest}: no bin "mistral-batch-emulator"`);
  return path.join(path.dirname(manifest), entry);
}

/** Starts the emulator CLI (emulatorCli()) as a child with `--data-dir dataDir`; logs its pid and idle RSS. */
export async function startEmulator(
  dataDir: string,
  maxFileMb: number,
  extraArgs: string[] = [],
): Promise<RunningEmulator> {
  const cli = emulatorCli();
  const child = spawn(
    process.execPath,
    [cli, "--port", "0", "--data-dir", dataDir, "--max-file-mb", String(maxFileMb), ...extraArgs],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const stop = async () => {
    child.kill("SIGTERM");
    if (child.exitCode === null && child.signalCode === null) await new Promise((r) => child.once("exit", r));
  };
  const url: string | undefined = (await createInterface({ input: child.stdout })[Symbol.asyncIterator]().next()).value;
  if (!url) {
    await stop();
    throw new Error("the emulator exited before printing its URL");
  }
  const pid = child.pid;
  if (pid === undefined) {
    await stop();
    throw new Error("the emulator printed its URL but has no pid");
  }
  await new Promise((r) => setTimeout(r, 500));
  console.log(`emulator pid ${pid} at ${url}, idle RSS ${(procKb(pid, "VmRSS") / 1024).toFixed(1)} MB\n`);
  return { url, pid, stop };
}

// --- measuring --------------------------------------------------------------------------------------------------

/** A field of /proc/PID/status in kB, or 0 once the process is gone. */
export function procKb(pid: number | undefined, field: "VmRSS" | "VmHWM"): number {
  try {
    const m = fs.readFileSync(`/proc/${pid}/status`, "utf8").match(new RegExp(`^${field}:\\s+(\\d+) kB`, "m"));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

export interface Row {
  name: string;
  ok: boolean;
  note: string;
  /** The uploader's own timing of the upload when it reports one (`ms`), else the process's wall time. */
  seconds: number;
  /** Wall time of the whole uploader process, loading included. */
  processSeconds: number;
  emuPeakKb: number;
  emuHwmKb: number;
  clientKb: number;
  fileId?: string;
  /** What the uploader printed (parsed JSON), when it printed JSON. */
  out?: Record<string, unknown>;
}

/** What a child process did: its wall time, what it printed (JSON), the emulator's and its own peak memory. */
export interface ChildRun {
  code: number | null;
  /** Wall time of the whole process, seconds. */
  seconds: number;
  stdout: string;
  stderr: string;
  /** Parsed stdout, when it is JSON. */
  out?: Record<string, unknown>;
  emuPeakKb: number;
  emuHwmKb: number;
  /** The child's peak RSS: its own `maxRssKb` when it printed one, else its VmHWM as last sampled. */
  clientKb: number;
}

/** Runs a child while sampling the emulator's RSS (every 20 ms; its exact VmHWM is reset before) and the child's. */
export async function runChild(
  emuPid: number | undefined,
  cmd: string,
  args: string[],
  env?: NodeJS.ProcessEnv,
): Promise<ChildRun> {
  if (emuPid !== undefined) fs.writeFileSync(`/proc/${emuPid}/clear_refs`, "5"); // resets VmHWM to the current RSS
  const started = performance.now();
  const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], env: env ?? process.env });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  let emuPeakKb = 0;
  let clientKb = 0;
  const sample = () => {
    if (emuPid !== undefined) emuPeakKb = Math.max(emuPeakKb, procKb(emuPid, "VmRSS"));
    clientKb = Math.max(clientKb, procKb(child.pid, "VmHWM"));
  };
  const timer = setInterval(sample, 20);
  sample();
  const code: number | null = await new Promise((resolve) => child.on("close", resolve));
  const seconds = (performance.now() - started) / 1000;
  clearInterval(timer);
  let out: Record<string, unknown> | undefined;
  try {
    out = JSON.parse(stdout) as Record<string, unknown>;
  } catch {
    out = undefined;
  }
  const ownKb = typeof out?.maxRssKb === "number" ? out.maxRssKb : undefined;
  return {
    code,
    seconds,
    stdout,
    stderr,
    out,
    emuPeakKb,
    emuHwmKb: emuPid === undefined ? 0 : procKb(emuPid, "VmHWM"),
    clientKb: ownKb ?? clientKb,
  };
}

/**
 * Runs an uploader process while sampling the emulator and the uploader. The uploader prints the created file as
 * JSON, or `{file, ms, maxRssKb, ...}` to report its own timing and peak.
 */
export async function runUpload(
  name: string,
  emuPid: number,
  cmd: string,
  args: string[],
  env?: NodeJS.ProcessEnv,
): Promise<Row> {
  const run = await runChild(emuPid, cmd, args, env);
  const row = {
    name,
    ok: false,
    note: "",
    seconds: run.seconds,
    processSeconds: run.seconds,
    emuPeakKb: run.emuPeakKb,
    emuHwmKb: run.emuHwmKb,
    clientKb: run.clientKb,
  };
  const out = run.out;
  const file = (out?.file ?? out) as { id?: unknown } | undefined;
  if (run.code !== 0 || !out || typeof file?.id !== "string")
    return { ...row, note: `upload failed (exit ${run.code}): ${(run.stderr + run.stdout).trim().slice(0, 500)}` };
  return { ...row, ok: true, fileId: file.id, seconds: typeof out.ms === "number" ? out.ms / 1000 : run.seconds, out };
}

/** The reference every upload is measured against: curl's multipart upload of `input` to the emulator at `url`. */
export function curlUpload(url: string, input: string, emuPid: number): Promise<Row> {
  return runUpload("curl -F", emuPid, "curl", [
    "-sS",
    "--fail-with-body",
    "-F",
    `file=@${input}`,
    "-F",
    "purpose=batch",
    `${url}/v1/files`,
  ]);
}

/** Sets each uploaded row's note to what the emulator stored that differs from `local`, or that all of it matches. */
export async function noteStored(url: string, rows: Row[], local: LocalFile): Promise<void> {
  for (const row of rows)
    if (row.fileId) row.note = (await verify(url, row.fileId, local)).join("; ") || "stored bytes, lines, sha256 match";
}

/** Compares the stored file with the local one; returns what differs. */
export async function verify(url: string, id: string, local: LocalFile): Promise<string[]> {
  const meta = (await (await fetch(`${url}/v1/files/${id}`)).json()) as { bytes: number; num_lines: number | null };
  const problems: string[] = [];
  if (meta.bytes !== local.bytes) problems.push(`bytes ${meta.bytes} != ${local.bytes}`);
  if (meta.num_lines !== local.lines) problems.push(`num_lines ${meta.num_lines} != ${local.lines}`);
  const res = await fetch(`${url}/v1/files/${id}/content`);
  const hash = createHash("sha256");
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) hash.update(chunk);
  if (!res.ok || hash.digest("hex") !== local.sha256) problems.push(`content differs (HTTP ${res.status})`);
  return problems;
}

// --- output -----------------------------------------------------------------------------------------------------

export const mbOf = (kb: number): string => (kb / 1024).toFixed(1);

/** Prints rows of cells: the first and last column left-aligned, the others right-aligned. */
export function printTable(table: string[][]): void {
  const widths = table[0].map((_, c) => Math.max(...table.map((row) => row[c].length)));
  for (const row of table)
    console.log(
      row
        .map((cell, c) => (c === 0 || c === row.length - 1 ? cell.padEnd(widths[c]) : cell.padStart(widths[c])))
        .join("  ")
        .trimEnd(),
    );
}

/** The usual entry point of a benchmark script: exit code from `main`, or 1 with the error. */
export function runMain(main: () => Promise<number>): void {
  main().then(
    (code) => (process.exitCode = code),
    (error) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}

/** Uploads `file` with the official SDK's `files.upload` (run as a child, so its memory is measured alone). */
export async function sdkChild(url: string, file: string): Promise<void> {
  const { Mistral } = await import("@mistralai/mistralai");
  const client = new Mistral({ apiKey: "bench", serverURL: url, timeoutMs: 60 * 60_000 });
  const started = performance.now();
  // The SDK takes a Blob (sent with the name "blob") or {fileName, content: Blob | bytes | stream}.
  const created = await client.files.upload({
    file: { fileName: path.basename(file), content: await fs.openAsBlob(file) },
    purpose: "batch",
  });
  const ms = performance.now() - started;
  process.stdout.write(JSON.stringify({ file: created, ms, maxRssKb: process.resourceUsage().maxRSS }));
}

/** The median of the numbers (the mean of the middle two for an even count); NaN for none. */
export function median(values: number[]): number {
  if (!values.length) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * The reference for our upload: a plain Node stream of the file to the socket, as a short program would write it
 * (`fs.createReadStream(file).pipe(request)` with its default 64 KiB reads, the multipart head and tail written by
 * hand, no hashing). Run as a child; prints `{file, ms, maxRssKb}`.
 */
export async function plainStreamChild(url: string, file: string): Promise<void> {
  const http = await import("node:http");
  const size = fs.statSync(file).size;
  const started = performance.now();
  const boundary = `----bench${Date.now()}`;
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${path.basename(file)}"\r\nContent-Type: application/jsonl\r\n\r\n`,
  );
  const tail = Buffer.from(
    `\r\n--${boundary}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nbatch\r\n--${boundary}--\r\n`,
  );
  const created = await new Promise<unknown>((resolve, reject) => {
    const request = http.request(`${url}/v1/files`, {
      method: "POST",
      headers: {
        "content-type": `multipart/form-data; boundary=${boundary}`,
        "content-length": String(head.length + size + tail.length),
        authorization: "Bearer bench",
      },
    });
    request.on("error", reject);
    request.on("response", (response) => {
      let text = "";
      response.on("data", (c) => (text += c));
      response.on("end", () =>
        (response.statusCode ?? 0) < 300
          ? resolve(JSON.parse(text))
          : reject(new Error(`HTTP ${response.statusCode}: ${text}`)),
      );
    });
    request.write(head);
    const stream = fs.createReadStream(file);
    stream.on("error", reject);
    stream.on("end", () => request.end(tail));
    stream.pipe(request, { end: false });
  });
  const ms = performance.now() - started;
  process.stdout.write(JSON.stringify({ file: created, ms, maxRssKb: process.resourceUsage().maxRSS }));
}

/**
 * The provider's upload alone, the content's hash already known (as `create` runs it after `check`): the look for an
 * earlier upload, then the streaming POST that hashes as it sends. Times it apart from loading the SDK. Run as a
 * child with MISTRAL_API_KEY and MISTRAL_SERVER_URL set; prints `{file, ms, maxRssKb}`.
 */
export async function providerUploadChild(file: string, sha256: string, name: string): Promise<void> {
  const upload = require(path.join(ROOT, "dist/provider/upload.js")) as typeof import("../provider/upload");
  const { ProviderContext } = require(
    path.join(ROOT, "dist/provider/context.js"),
  ) as typeof import("../provider/context");
  const ctx = ProviderContext.fromConfig(undefined, process.env);
  await ctx.client(); // the SDK loaded, as in a provider process that has made its first call
  await import("@mistralai/mistralai/models/components");
  const started = performance.now();
  const { file: created } = await upload.uploadOnce(ctx, {
    source: { path: file },
    filename: upload.contentFilename(name, sha256),
    bytes: fs.statSync(file).size,
    purpose: "batch",
    resource: `BatchFile (${file})`,
    sha256,
  });
  const ms = performance.now() - started;
  process.stdout.write(JSON.stringify({ file: created, ms, maxRssKb: process.resourceUsage().maxRSS }));
}
