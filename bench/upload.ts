/**
 * Upload benchmark: how fast a large batch file goes into the emulator, and how much memory that takes.
 *
 *   npm run bench:upload                    # 300 MB file
 *   npm run bench:upload -- --mb 50         # another size (MB = MiB throughout)
 *   npm run bench:upload -- --keep          # generate into .bench/ (gitignored) and reuse it on later runs
 *
 * It writes a JSONL file of exactly N MB of chat-completion batch requests with unique custom_ids (or reuses
 * .bench/upload-<N>mb.jsonl if it has that size), starts the emulator CLI as a child process with a temporary
 * --data-dir, and uploads the file twice: (a) curl, a streaming multipart client; (b) the official SDK's
 * files.upload with a file-backed Blob (fs.openAsBlob), in a child node process. Each stored file is checked
 * against the local one: bytes and num_lines from GET /v1/files/{id}, and the sha256 of GET .../content.
 *
 * Figures per upload:
 *   wall s, MB/s  duration of the upload (the curl process; the files.upload call inside the SDK child)
 *   emu peak      the emulator's VmRSS sampled every 20 ms during the upload, highest value
 *   emu HWM       the emulator's VmHWM, reset (/proc/PID/clear_refs) before the upload and read after it: the
 *                 exact peak, which sampling can miss
 *   client peak   the uploader's peak RSS: the SDK child's own resourceUsage().maxRSS; for curl its VmHWM as
 *                 last sampled
 * The emulator should stay under 150 MB whatever the file size (it streams uploads to disk). This is a
 * benchmark, not a test: it exits non-zero only when an upload fails or a stored file differs from the local one.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";

const MB = 1024 * 1024;
const TARGET_MB = 150;
const ROOT = path.resolve(__dirname, "../..");

// --- the input file ---------------------------------------------------------------------------------------------

const SYSTEM = "You are a support assistant for an online bookshop. Answer in at most three sentences.";
const TASKS = ["Summarise this customer message", "Classify the sentiment of this review", "Draft a polite reply to", "Extract the order number and product from"];
const WORDS = ("order book delivery late parcel arrived damaged cover refund please thanks week still waiting tracking " +
  "number address changed novel author edition paperback hardback gift card voucher discount price shipping " +
  "return label email account password store recommend series sequel chapter page missing wrong item").split(" ");
const MAX_LINE = 4096; // longer than any generated line

function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), seed | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** One request line; with `length`, padded to exactly that many bytes (all generated text is ASCII). */
function requestLine(i: number, rand: () => number, length?: number): string {
  const words = Array.from({ length: 20 + Math.floor(rand() * 180) }, () => WORDS[Math.floor(rand() * WORDS.length)]);
  const text = `${TASKS[i % TASKS.length]}:\n\n${words.join(" ")}`;
  const line = (pad: string) =>
    JSON.stringify({
      custom_id: `req-${String(i).padStart(8, "0")}`,
      body: { model: "mistral-small-latest", messages: [{ role: "system", content: SYSTEM }, { role: "user", content: text + pad }], max_tokens: 256, temperature: 0.3 },
    }) + "\n";
  return length === undefined ? line("") : line(".".repeat(length - line("").length));
}

async function generate(file: string, bytes: number): Promise<void> {
  const rand = random(42);
  const out = await fs.promises.open(`${file}.part`, "w");
  let left = bytes;
  let chunk = "";
  let i = 0;
  while (left - chunk.length > 2 * MAX_LINE) {
    chunk += requestLine(i++, rand);
    if (chunk.length >= MB) {
      await out.write(chunk);
      left -= chunk.length;
      chunk = "";
    }
  }
  await out.write(chunk + requestLine(i, rand, left - chunk.length));
  await out.close();
  fs.renameSync(`${file}.part`, file);
}

async function describe(file: string): Promise<{ bytes: number; lines: number; sha256: string }> {
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

// --- measuring --------------------------------------------------------------------------------------------------

/** A field of /proc/PID/status in kB, or 0 once the process is gone. */
function procKb(pid: number | undefined, field: "VmRSS" | "VmHWM"): number {
  try {
    const m = fs.readFileSync(`/proc/${pid}/status`, "utf8").match(new RegExp(`^${field}:\\s+(\\d+) kB`, "m"));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

interface Row {
  name: string;
  ok: boolean;
  note: string;
  seconds: number;
  emuPeakKb: number;
  emuHwmKb: number;
  clientKb: number;
}

/**
 * Runs an uploader process while sampling the emulator and the uploader. The uploader prints the created file as
 * JSON, or `{file, ms, maxRssKb}` to report its own timing and peak.
 */
async function upload(name: string, emuPid: number, cmd: string, args: string[]): Promise<Row & { fileId?: string }> {
  fs.writeFileSync(`/proc/${emuPid}/clear_refs`, "5"); // resets VmHWM to the current RSS
  const started = performance.now();
  const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  let emuPeakKb = 0;
  let clientKb = 0;
  const sample = () => {
    emuPeakKb = Math.max(emuPeakKb, procKb(emuPid, "VmRSS"));
    clientKb = Math.max(clientKb, procKb(child.pid, "VmHWM"));
  };
  const timer = setInterval(sample, 20);
  sample();
  const code: number | null = await new Promise((resolve) => child.on("close", resolve));
  const seconds = (performance.now() - started) / 1000;
  clearInterval(timer);
  const row = { name, ok: false, note: "", seconds, emuPeakKb, emuHwmKb: procKb(emuPid, "VmHWM"), clientKb };
  try {
    const out = JSON.parse(stdout);
    const file = out.file ?? out;
    if (code !== 0 || typeof file.id !== "string") throw new Error();
    return { ...row, ok: true, fileId: file.id, seconds: out.ms ? out.ms / 1000 : seconds, clientKb: out.maxRssKb ?? clientKb };
  } catch {
    return { ...row, note: `upload failed (exit ${code}): ${(stderr + stdout).trim().slice(0, 500)}` };
  }
}

/** Compares the stored file with the local one; returns what differs. */
async function verify(url: string, id: string, local: Awaited<ReturnType<typeof describe>>): Promise<string[]> {
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

// --- the SDK uploader (this script, run as a child) -------------------------------------------------------------

async function sdkChild(url: string, file: string): Promise<void> {
  const { Mistral } = await import("@mistralai/mistralai");
  const client = new Mistral({ apiKey: "bench", serverURL: url, timeoutMs: 60 * 60_000 });
  const started = performance.now();
  // The SDK takes a Blob (sent with the name "blob") or {fileName, content: Blob | bytes | stream}.
  const created = await client.files.upload({ file: { fileName: path.basename(file), content: await fs.openAsBlob(file) }, purpose: "batch" });
  const ms = performance.now() - started;
  process.stdout.write(JSON.stringify({ file: created, ms, maxRssKb: process.resourceUsage().maxRSS }));
}

// --- main -------------------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { mb: { type: "string", default: "300" }, keep: { type: "boolean", default: false } } });
  const mb = Number(values.mb);
  if (!Number.isInteger(mb) || mb < 1) throw new Error(`--mb must be a whole number >= 1, received ${values.mb}`);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "bench-upload-"));
  const cached = path.join(ROOT, ".bench", `upload-${mb}mb.jsonl`);
  let emulator: ReturnType<typeof spawn> | undefined;
  try {
    let input = cached;
    if (fs.statSync(cached, { throwIfNoEntry: false })?.size !== mb * MB) {
      if (values.keep) fs.mkdirSync(path.dirname(cached), { recursive: true });
      else input = path.join(work, `upload-${mb}mb.jsonl`);
      const t = performance.now();
      await generate(input, mb * MB);
      console.log(`generated ${input} in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    } else console.log(`reusing ${input}`);
    const local = await describe(input);
    console.log(`input: ${(local.bytes / MB).toFixed(1)} MB, ${local.lines} lines`);

    const cli = path.join(ROOT, "dist/emulator/cli.js");
    const maxFileMb = String(Math.max(512, mb + 1));
    emulator = spawn(process.execPath, [cli, "--port", "0", "--data-dir", path.join(work, "data"), "--max-file-mb", maxFileMb], { stdio: ["ignore", "pipe", "inherit"] });
    const url: string | undefined = (await createInterface({ input: emulator.stdout! })[Symbol.asyncIterator]().next()).value;
    if (!url) throw new Error("the emulator exited before printing its URL");
    const emuPid = emulator.pid!;
    await new Promise((r) => setTimeout(r, 500));
    console.log(`emulator pid ${emuPid} at ${url}, idle RSS ${(procKb(emuPid, "VmRSS") / 1024).toFixed(1)} MB\n`);

    const rows = [
      await upload("curl -F", emuPid, "curl", ["-sS", "--fail-with-body", "-F", `file=@${input}`, "-F", "purpose=batch", `${url}/v1/files`]),
      await upload("SDK files.upload", emuPid, process.execPath, [__filename, "--sdk-child", url, input]),
    ];
    for (const row of rows) if (row.fileId) row.note = (await verify(url, row.fileId, local)).join("; ") || "stored bytes, lines, sha256 match";
    for (const row of rows) row.ok &&= row.note.startsWith("stored");

    const mbOf = (kb: number) => (kb / 1024).toFixed(1);
    const table = [
      ["upload", "MB", "wall s", "MB/s", "emu peak MB", "emu HWM MB", "client peak MB", "check"],
      ...rows.map((r) => [r.name, (local.bytes / MB).toFixed(0), r.seconds.toFixed(2), (local.bytes / MB / r.seconds).toFixed(0), mbOf(r.emuPeakKb), mbOf(r.emuHwmKb), mbOf(r.clientKb), r.note]),
    ];
    const widths = table[0].map((_, c) => Math.max(...table.map((row) => row[c].length)));
    for (const row of table) console.log(row.map((cell, c) => (c === 0 || c === row.length - 1 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join("  ").trimEnd());
    const peakMb = Math.max(...rows.map((r) => Math.max(r.emuPeakKb, r.emuHwmKb))) / 1024;
    console.log(`\nemulator peak RSS: ${peakMb.toFixed(1)} MB (target < ${TARGET_MB} MB): ${peakMb < TARGET_MB ? "PASS" : "FAIL, above the target"}`);
    return rows.every((r) => r.ok) ? 0 : 1;
  } finally {
    emulator?.kill("SIGTERM");
    if (emulator && emulator.exitCode === null) await new Promise((r) => emulator!.once("exit", r));
    fs.rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[2] === "--sdk-child") {
  sdkChild(process.argv[3], process.argv[4]).catch((error) => {
    process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  });
} else {
  main().then(
    (code) => (process.exitCode = code),
    (error) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}
