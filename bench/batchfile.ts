/**
 * BatchFile benchmark: a Mistral-sized batch input (512 MB) uploaded through the BatchFile provider, next to curl
 * and the official SDK.
 *
 *   npm run bench:batchfile                 # 512 MB file (Mistral's limit: 536870912 bytes, accepted as is)
 *   npm run bench:batchfile -- --mb 50      # another size (MB = MiB throughout)
 *   npm run bench:batchfile -- --keep       # generate into .bench/ (gitignored) and reuse it on later runs
 *
 * The file holds chat-completion requests of 700-1100 words (about 6 KB a line), so that 512 MB stays under the
 * 100,000 requests a batch job takes and the provider's check accepts it. It starts the emulator CLI with
 * --max-file-mb above the file's size, then uploads the file three times, each uploader in its own child process
 * so that its memory is measured alone: (a) curl -F, a streaming multipart client; (b) the SDK's files.upload with
 * a file-backed Blob (fs.openAsBlob); (c) BatchFile: the provider's `check` (a streaming scan: SHA-256, JSON and
 * request body of every line, custom_id uniqueness) then `create` (the same scan again, a look for an earlier
 * upload of the content, then one streaming multipart POST), as the Pulumi engine calls them, with
 * MISTRAL_API_KEY and MISTRAL_SERVER_URL pointing at the emulator. Each stored file is checked against the local
 * one (bytes and num_lines from GET /v1/files/{id}, sha256 of GET .../content); the BatchFile outputs too.
 *
 * Figures per upload (as in bench/upload.ts):
 *   wall s, MB/s   the upload: the curl process; the files.upload call; check + create for BatchFile (without
 *                  loading the provider's modules, shown apart)
 *   emu peak/HWM   the emulator's sampled VmRSS peak and its exact VmHWM over the upload
 *   client peak    the uploader's peak RSS: resourceUsage().maxRSS in the node children; curl's VmHWM as sampled
 * and for BatchFile the phases: check (the scan); create, split at its HTTP calls (timed by wrapping fetch, until
 * the answer's headers): before the first call (the re-scan and loading the SDK), the look for an earlier upload
 * (GET /v1/files), the upload (POST /v1/files); the RSS once the provider is loaded, and the peak by the end of
 * check.
 *
 * Targets (of the issue): BatchFile client peak RSS under 150 MB; BatchFile wall time at most 2x curl's. They are
 * printed as PASS or FAIL; the exit code is non-zero only when an upload fails or a stored file differs.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import {
  describe,
  MB,
  sdkChild,
  mbOf,
  prepareInput,
  printTable,
  ROOT,
  runMain,
  runUpload,
  startEmulator,
  type RunningEmulator,
  curlUpload,
  noteStored,
} from "./common";

const CLIENT_TARGET_MB = 150;
const WALL_TARGET_X_CURL = 2;
const LINE_WORDS = { minWords: 700, maxWords: 1100 };
const ENDPOINT = "/v1/chat/completions";

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

// --- main -------------------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { mb: { type: "string", default: "512" }, keep: { type: "boolean", default: false } },
  });
  const mb = Number(values.mb);
  if (!Number.isInteger(mb) || mb < 1) throw new Error(`--mb must be a whole number >= 1, received ${values.mb}`);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "bench-batchfile-"));
  let emulator: RunningEmulator | undefined;
  try {
    const input = await prepareInput("batchfile", mb, values.keep, work, LINE_WORDS);
    const local = await describe(input);
    console.log(`input: ${(local.bytes / MB).toFixed(1)} MB (${local.bytes} bytes), ${local.lines} lines`);

    // The emulator's default limit is 512 MB; a file of exactly 512 MB gets headroom.
    emulator = await startEmulator(path.join(work, "data"), Math.max(600, mb + 1));
    const { url, pid: emuPid } = emulator;
    const env = { ...process.env, MISTRAL_API_KEY: "bench", MISTRAL_SERVER_URL: url };

    const rows = [
      await curlUpload(url, input, emuPid),
      await runUpload("SDK files.upload", emuPid, process.execPath, [__filename, "--sdk-child", url, input]),
      await runUpload(
        "BatchFile check+create",
        emuPid,
        process.execPath,
        [__filename, "--batchfile-child", input],
        env,
      ),
    ];
    await noteStored(url, rows, local);
    const bf = rows[2];
    if (bf.ok && bf.out) {
      // The provider's own outputs must describe the same content, and it must have uploaded (not adopted).
      const outs = bf.out.file as { sha256: string; bytes: number; lineCount: number; adopted: boolean };
      const wrong = [
        outs.sha256 !== local.sha256 && `outputs sha256 ${outs.sha256}`,
        outs.bytes !== local.bytes && `outputs bytes ${outs.bytes}`,
        outs.lineCount !== local.lines && `outputs lineCount ${outs.lineCount}`,
        outs.adopted !== false && "adopted an earlier upload instead of uploading",
      ].filter(Boolean);
      if (wrong.length) bf.note = `${wrong.join("; ")}; ${bf.note}`;
      else if (bf.note.startsWith("stored")) bf.note += "; outputs match";
    }
    for (const row of rows) row.ok &&= row.note.startsWith("stored");

    const sizeMb = local.bytes / MB;
    printTable([
      ["upload", "MB", "wall s", "MB/s", "emu peak MB", "emu HWM MB", "client peak MB", "check"],
      ...rows.map((r) => [
        r.name,
        sizeMb.toFixed(0),
        r.seconds.toFixed(2),
        (sizeMb / r.seconds).toFixed(0),
        mbOf(r.emuPeakKb),
        mbOf(r.emuHwmKb),
        mbOf(r.clientKb),
        r.note,
      ]),
    ]);

    if (bf.out) {
      const o = bf.out as {
        loadMs: number;
        loadedRssKb: number;
        checkMs: number;
        checkMaxRssKb: number;
        createMs: number;
        calls: { call: string; startMs: number; ms: number }[];
      };
      const s = (ms: number) => (ms / 1000).toFixed(2);
      const rate = (ms: number) => (sizeMb / (ms / 1000)).toFixed(0);
      const firstCall = o.calls[0]?.startMs ?? o.createMs;
      const post = o.calls.find((c) => c.call === "POST /v1/files");
      const otherMs = o.createMs - firstCall - o.calls.reduce((sum, c) => sum + c.ms, 0);
      console.log("\nBatchFile phases:");
      printTable([
        ["phase", "s", "MB/s", "note"],
        [
          "load provider",
          s(o.loadMs),
          "",
          `runtime.js + @pulumi/pulumi + the Mistral SDK (not in wall s); RSS after: ${mbOf(o.loadedRssKb)} MB`,
        ],
        [
          "check",
          s(o.checkMs),
          rate(o.checkMs),
          `the streaming scan; peak RSS by its end: ${mbOf(o.checkMaxRssKb)} MB`,
        ],
        ["create", s(o.createMs), rate(o.createMs), ""],
        ["  to 1st request", s(firstCall), "", "setting up the client"],
        ...o.calls.map((c) => [
          `  ${c.call}`,
          s(c.ms),
          c === post ? rate(c.ms) : "",
          c === post ? "" : "the look for an earlier upload (SDK)",
        ]),
        [
          "  the rest",
          s(otherMs),
          rate(otherMs),
          "the streaming POST /v1/files (node:http + form-data), hashing as it sends",
        ],
      ]);
    }

    const curl = rows[0];
    console.log("");
    if (bf.ok && curl.ok) {
      const baselineKb = (bf.out as { loadedRssKb: number }).loadedRssKb;
      const clientMb = (bf.clientKb - baselineKb) / 1024;
      const ratio = bf.seconds / curl.seconds;
      console.log(
        `verdict: BatchFile memory for the check and upload (peak ${mbOf(bf.clientKb)} MB minus ${mbOf(baselineKb)} MB of loaded modules) ${clientMb.toFixed(1)} MB (target < ${CLIENT_TARGET_MB} MB): ${clientMb < CLIENT_TARGET_MB ? "PASS" : "FAIL"}; ` +
          `BatchFile wall ${bf.seconds.toFixed(2)} s = ${ratio.toFixed(2)}x curl's ${curl.seconds.toFixed(2)} s (target <= ${WALL_TARGET_X_CURL}x): ${ratio <= WALL_TARGET_X_CURL ? "PASS" : "FAIL"}`,
      );
    } else console.log("verdict: FAIL, an upload failed or stored other bytes (see the table)");
    return rows.every((r) => r.ok) ? 0 : 1;
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

if (process.argv[2] === "--sdk-child") child(() => sdkChild(process.argv[3], process.argv[4]));
else if (process.argv[2] === "--batchfile-child") child(() => batchFileChild(process.argv[3]));
else runMain(main);
