/**
 * Upload benchmark: how fast a large batch file goes into the emulator, and how much memory that takes.
 *
 *   npm run bench:upload                    # 300 MB file
 *   npm run bench:upload -- --mb 50         # another size (MB = MiB throughout)
 *   npm run bench:upload -- --keep          # generate into .bench/ (gitignored) and reuse it on later runs
 *
 * It writes a JSONL file of exactly N MB of chat-completion batch requests with unique custom_ids (or reuses
 * .bench/upload-<N>mb.jsonl if it has that size), starts the emulator CLI as a child process with a temporary
 * --data-dir, and uploads the file four times, each uploader a child process: (a) curl, a streaming multipart
 * client; (b) a plain Node stream of the file to the socket (bench/common.ts plainStreamChild); (c) the provider's
 * upload, the hash known as after `check` (uploadOnce: the look for an earlier upload, then the streaming POST that
 * hashes as it sends); (d) the official SDK's files.upload with a file-backed Blob (fs.openAsBlob). Each stored file is checked
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
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import {
  describe,
  MB,
  sdkChild,
  mbOf,
  prepareInput,
  printTable,
  runMain,
  runUpload,
  startEmulator,
  type RunningEmulator,
  curlUpload,
  noteStored,
  plainStreamChild,
  providerUploadChild,
} from "./common";

const TARGET_MB = 150;

// --- the SDK uploader (this script, run as a child) -------------------------------------------------------------

// --- main -------------------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { mb: { type: "string", default: "300" }, keep: { type: "boolean", default: false } },
  });
  const mb = Number(values.mb);
  if (!Number.isInteger(mb) || mb < 1) throw new Error(`--mb must be a whole number >= 1, received ${values.mb}`);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "bench-upload-"));
  let emulator: RunningEmulator | undefined;
  try {
    const input = await prepareInput("upload", mb, values.keep, work);
    const local = await describe(input);
    console.log(`input: ${(local.bytes / MB).toFixed(1)} MB, ${local.lines} lines`);

    emulator = await startEmulator(path.join(work, "data"), Math.max(512, mb + 1));
    const { url, pid: emuPid } = emulator;

    const env = { ...process.env, MISTRAL_API_KEY: "bench", MISTRAL_SERVER_URL: url };
    const rows = [
      await curlUpload(url, input, emuPid),
      await runUpload("plain Node stream", emuPid, process.execPath, [__filename, "--plain-child", url, input]),
      await runUpload(
        "provider upload (hash known)",
        emuPid,
        process.execPath,
        [__filename, "--upload-child", input, local.sha256, "upload"],
        env,
      ),
      await runUpload("SDK files.upload", emuPid, process.execPath, [__filename, "--sdk-child", url, input]),
    ];
    await noteStored(url, rows, local);
    for (const row of rows) row.ok &&= row.note.startsWith("stored");

    printTable([
      ["upload", "MB", "wall s", "MB/s", "emu peak MB", "emu HWM MB", "client peak MB", "check"],
      ...rows.map((r) => [
        r.name,
        (local.bytes / MB).toFixed(0),
        r.seconds.toFixed(2),
        (local.bytes / MB / r.seconds).toFixed(0),
        mbOf(r.emuPeakKb),
        mbOf(r.emuHwmKb),
        mbOf(r.clientKb),
        r.note,
      ]),
    ]);
    const peakMb = Math.max(...rows.map((r) => Math.max(r.emuPeakKb, r.emuHwmKb))) / 1024;
    console.log(
      `\nemulator peak RSS: ${peakMb.toFixed(1)} MB (target < ${TARGET_MB} MB): ${peakMb < TARGET_MB ? "PASS" : "FAIL, above the target"}`,
    );
    return rows.every((r) => r.ok) ? 0 : 1;
  } finally {
    await emulator?.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

const children: Record<string, () => Promise<void>> = {
  "--sdk-child": () => sdkChild(process.argv[3], process.argv[4]),
  "--plain-child": () => plainStreamChild(process.argv[3], process.argv[4]),
  "--upload-child": () => providerUploadChild(process.argv[3], process.argv[4], process.argv[5]),
};
const childRun = children[process.argv[2]];
if (childRun) {
  childRun().catch((error) => {
    process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  });
} else {
  runMain(main);
}
