/**
 * One streaming pass over a batch input (a JSONL file or text): its identity (SHA-256, bytes, request count) and
 * every problem that would make Mistral refuse it or fail its requests, with file and line: bytes that are not
 * UTF-8 (with their byte offset), a line longer than `MAX_LINE_BYTES`, a line that is not JSON or not a request.
 * Memory stays bounded whatever the file size: one read buffer, at most one line of `MAX_LINE_BYTES`, and the set
 * of custom_ids seen.
 */
import { isUtf8 } from "node:buffer";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import { availableParallelism } from "node:os";
import * as nodePath from "node:path";
import { Worker } from "node:worker_threads";
import { LineSplitter, MAX_FILE_BYTES, MAX_REQUESTS_PER_JOB } from "./api";
import { checkRequestLine, show, type ApiEndpoint, type FieldProblem } from "./requests";

/** Mistral's limits on an uploaded file and on the requests of a job (the contract's). */
export { MAX_FILE_BYTES, MAX_REQUESTS_PER_JOB };

/**
 * Longest request line the scanner reads: 128 MiB. Ours, not Mistral's (the API documents no per-request size). A
 * line is decoded to one string and parsed whole, which costs a few times its size in memory, and a string cannot
 * exceed V8's limit (2^29 - 24 characters, about 512 MiB), so without a cap a file without newlines fails deep in
 * Node ("Cannot create a string longer than 0x1fffffe8 characters") after using gigabytes. 128 MiB is far above the
 * largest request the API documents (a 50 MB OCR document inlined as base64 is about 67 MB) and keeps the scan's
 * peak memory in the hundreds of megabytes.
 */
export const MAX_LINE_BYTES = 128 * 1024 * 1024;

export interface LineProblem extends FieldProblem {
  /** 1-based line number in the file. */
  line: number;
}

export interface ScanOptions {
  /** When given, request bodies are checked for this endpoint. */
  endpoint?: ApiEndpoint;
  /** @default MAX_FILE_BYTES */
  maxBytes?: number;
  /** @default MAX_REQUESTS_PER_JOB */
  maxRequests?: number;
  /** How many line problems to collect before stopping to look. @default 10 */
  maxProblems?: number;
  /** Longest line read, in bytes; a longer one is a problem of its line, and is not read. @default MAX_LINE_BYTES */
  maxLineBytes?: number;
}

export interface ScanResult {
  sha256: string;
  bytes: number;
  /** Requests: non-blank lines. */
  requests: number;
  problems: LineProblem[];
  /** True when more problems exist than were collected. */
  moreProblems: boolean;
  /** Problems of the whole input (size, request count, empty). */
  fileProblems: string[];
}

/** Incremental scanner: feed it chunks, then `end()`. */
export class JsonlScanner {
  /** Undefined for a part of a file whose bytes are hashed elsewhere (a worker of `scanJsonlFile`). */
  private readonly hash: ReturnType<typeof createHash> | undefined;
  private readonly ids = new Map<string, number>();
  /** Lines as the readers number them; a byte order mark is kept (and reported: Mistral does not take it). */
  private readonly lines: LineSplitter;
  private readonly utf8 = new Utf8Validator();
  /** Lines already reported (invalid UTF-8, too long): not parsed again, so that each has one problem. */
  private readonly reported = new Set<number>();
  private bytes = 0;
  private requests = 0;
  private readonly problems: LineProblem[] = [];
  private moreProblems = false;
  private readonly maxProblems: number;
  private readonly maxLineBytes: number;

  /** `hashing`: false for a part of a file hashed elsewhere; its `sha256` is then "". */
  constructor(
    private readonly options: ScanOptions = {},
    hashing = true,
  ) {
    this.hash = hashing ? createHash("sha256") : undefined;
    this.maxProblems = options.maxProblems ?? 10;
    this.maxLineBytes = options.maxLineBytes ?? MAX_LINE_BYTES;
    this.lines = new LineSplitter((text, lineNo) => this.line(text, lineNo), {
      maxLineBytes: this.maxLineBytes,
      onLongLine: (lineNo, bytes, offset) => this.longLine(lineNo, bytes, offset),
    });
  }

  /** Feeds bytes; the chunk is not kept (its buffer may be reused). */
  push(chunk: Buffer): void {
    this.hash?.update(chunk);
    // Validated before the lines are split, so that the line the splitter is on is the one holding the chunk's start.
    for (const bad of this.utf8.push(chunk, this.bytes)) this.invalidUtf8(bad, chunk);
    this.bytes += chunk.length;
    this.lines.push(chunk);
  }

  end(): ScanResult {
    const truncated = this.utf8.end();
    if (truncated) this.invalidUtf8(truncated);
    this.lines.end();
    return {
      sha256: this.hash?.digest("hex") ?? "",
      bytes: this.bytes,
      requests: this.requests,
      problems: this.problems.sort((a, b) => a.line - b.line),
      moreProblems: this.moreProblems,
      fileProblems: fileProblemsOf(this.bytes, this.requests, this.options),
    };
  }

  /** The custom_ids of the lines without problems so far, in line order. */
  customIds(): string[] {
    return [...this.ids.keys()];
  }

  /**
   * Bytes that are not UTF-8 at file position `bad.offset`. Its line: the splitter's current line (the one holding
   * the chunk's first byte) plus the newlines of the chunk before it; `chunk` is undefined at the end of the input
   * (a sequence cut short by the end is on the last line).
   */
  private invalidUtf8(bad: InvalidUtf8, chunk?: Buffer): void {
    let line = this.lines.nextLineNo;
    let lineStart = this.lines.offset;
    if (chunk) {
      const upTo = bad.offset - this.bytes;
      for (let i = chunk.indexOf(10); i !== -1 && i < upTo; i = chunk.indexOf(10, i + 1)) {
        line++;
        lineStart = this.bytes + i + 1;
      }
    }
    if (this.reported.has(line)) return;
    this.reported.add(line);
    const bytes = [...bad.bytes].map((b) => `0x${b.toString(16).toUpperCase().padStart(2, "0")}`).join(" ");
    this.add({
      line,
      field: "(line)",
      received: `not UTF-8: ${bad.truncated ? "a sequence cut short by the end of the file" : "bytes"} ${bytes} at byte offset ${bad.offset} of the file (byte ${bad.offset - lineStart + 1} of the line)`,
      allowed:
        "UTF-8 text (a byte that is not UTF-8 would be read as U+FFFD, the replacement character, and sent and billed so): save the file as UTF-8",
    });
  }

  private longLine(lineNo: number, bytes: number, offset: number): void {
    this.requests++;
    if (this.reported.has(lineNo)) return;
    this.reported.add(lineNo);
    this.add({
      line: lineNo,
      field: "(line)",
      received: `${bytes} bytes long (from byte offset ${offset} of the file${offset === 0 && bytes === this.bytes ? ", which has no newline" : ""})`,
      allowed: `one request per line, each at most ${this.maxLineBytes} bytes (${formatMiB(this.maxLineBytes)}): end each request with a newline ("\\n")`,
    });
  }

  private line(text: string, lineNo: number): void {
    if (text.trim() === "") return;
    this.requests++;
    if (this.reported.has(lineNo)) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (cause) {
      const bom = text.charCodeAt(0) === 0xfeff; // invisible in the message: say so
      this.add({
        line: lineNo,
        field: "(line)",
        received: bom ? `a byte order mark (U+FEFF) followed by ${show(text.slice(1))}` : show(text),
        allowed: bom
          ? "valid JSON without a byte order mark: save the file as UTF-8 without BOM"
          : `valid JSON (${(cause as Error).message})`,
      });
      return;
    }
    const p = checkRequestLine(parsed, this.options.endpoint);
    if (p) {
      this.add({ line: lineNo, ...p });
      return;
    }
    const id = (parsed as { custom_id: string }).custom_id;
    const first = this.ids.get(id);
    if (first !== undefined) {
      this.add({
        line: lineNo,
        field: "custom_id",
        received: show(id),
        allowed: `an id unique in the file (line ${first} has it already)`,
      });
    } else {
      this.ids.set(id, lineNo);
    }
  }

  private add(p: LineProblem): void {
    if (this.problems.length < this.maxProblems) this.problems.push(p);
    else this.moreProblems = true;
  }
}

/** The problems of a whole input of `bytes` bytes and `requests` requests: size, request count, none. */
function fileProblemsOf(bytes: number, requests: number, options: ScanOptions): string[] {
  const maxBytes = options.maxBytes ?? MAX_FILE_BYTES;
  const maxRequests = options.maxRequests ?? MAX_REQUESTS_PER_JOB;
  const fileProblems: string[] = [];
  if (bytes > maxBytes)
    fileProblems.push(
      `size is ${bytes} bytes; Mistral accepts files of at most ${maxBytes} bytes (${Math.round(maxBytes / 1024 / 1024)} MB): split it into several files`,
    );
  if (requests > maxRequests)
    fileProblems.push(
      `holds ${requests} requests; a batch job takes at most ${maxRequests}: split it into several files and jobs`,
    );
  if (requests === 0)
    fileProblems.push('holds no requests; each line must be a JSON object { "custom_id": string, "body": object }');
  return fileProblems;
}

function formatMiB(bytes: number): string {
  const mib = bytes / 1024 / 1024;
  return mib >= 1 ? `${Number.isInteger(mib) ? mib : mib.toFixed(1)} MiB` : `${bytes} bytes`;
}

/** Where a byte stream stops being UTF-8. */
export interface InvalidUtf8 {
  /** Position of the first byte of the bad sequence in the stream. */
  offset: number;
  /** The bad sequence: its bytes up to and including the first that does not fit (at most 4). */
  bytes: Uint8Array;
  /** True when the stream ended inside a sequence. */
  truncated: boolean;
}

/** Bytes a sequence has, by its first byte; 0 for a byte that cannot start one. */
function sequenceLength(lead: number): number {
  if (lead < 0x80) return 1;
  if (lead >= 0xc2 && lead <= 0xdf) return 2;
  if (lead >= 0xe0 && lead <= 0xef) return 3;
  if (lead >= 0xf0 && lead <= 0xf4) return 4;
  return 0;
}

/**
 * The first sequence of `bytes[from..to)` that is not UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing
 * above U+10FFFF), as its index and length, or undefined. A sequence cut short by `to` is invalid with
 * `truncated`. The exact, slow search, run only where `isUtf8` said no.
 */
export function findInvalidUtf8(
  bytes: Uint8Array,
  from = 0,
  to = bytes.length,
): { index: number; length: number; truncated: boolean } | undefined {
  for (let i = from; i < to; ) {
    const lead = bytes[i];
    const n = sequenceLength(lead);
    if (n === 1) {
      i++;
      continue;
    }
    if (n === 0) return { index: i, length: 1, truncated: false };
    // The second byte's range depends on the lead (overlong forms, surrogates, above U+10FFFF); the others are 80..BF.
    const lo = lead === 0xe0 ? 0xa0 : lead === 0xf0 ? 0x90 : 0x80;
    const hi = lead === 0xed ? 0x9f : lead === 0xf4 ? 0x8f : 0xbf;
    for (let k = 1; k < n; k++) {
      if (i + k >= to) return { index: i, length: k, truncated: true };
      const b = bytes[i + k];
      if (k === 1 ? b < lo || b > hi : b < 0x80 || b > 0xbf) return { index: i, length: k + 1, truncated: false };
    }
    i += n;
  }
  return undefined;
}

/**
 * Streaming UTF-8 validation of chunks of any size and boundaries, at the speed of Node's native `isUtf8` (simdutf):
 * a sequence split between chunks is carried over (at most 3 bytes). Past a bad sequence, validation resumes at the
 * next newline: one report per line.
 */
export class Utf8Validator {
  /** The start of a sequence the last chunk ended in, and its position. */
  private carry: number[] = [];
  private carryOffset = 0;
  /** After a bad sequence: skip to the next newline. */
  private skipping = false;

  /** Validates `chunk`, which starts at stream position `offset`; returns its bad sequences (usually none). */
  push(chunk: Uint8Array, offset: number): InvalidUtf8[] {
    let start = 0;
    if (this.skipping) {
      const nl = chunk.indexOf(10);
      if (nl === -1) return [];
      this.skipping = false;
      start = nl + 1;
    } else if (this.carry.length) {
      // Complete the carried sequence with the bytes it still needs (its first byte is a lead: need >= 1).
      const need = sequenceLength(this.carry[0]) - this.carry.length;
      const joined = Uint8Array.from([...this.carry, ...chunk.subarray(0, need)]);
      const found = findInvalidUtf8(joined);
      if (found?.truncated) {
        this.carry = [...joined]; // the chunk is shorter than what the sequence still needs
        return [];
      }
      this.carry = [];
      if (found) {
        const bad = { offset: this.carryOffset, bytes: joined.slice(0, found.length), truncated: false };
        const nl = chunk.indexOf(10);
        if (nl === -1) {
          this.skipping = true;
          return [bad];
        }
        return [bad, ...this.scan(chunk, offset, nl + 1)];
      }
      start = need;
    }
    return this.scan(chunk, offset, start);
  }

  /** Invalid sequence in the stream's last bytes, if it ended inside one. */
  end(): InvalidUtf8 | undefined {
    if (!this.carry.length) return undefined;
    const carry = Uint8Array.from(this.carry);
    this.carry = [];
    return { offset: this.carryOffset, bytes: carry, truncated: true };
  }

  private scan(chunk: Uint8Array, offset: number, from: number): InvalidUtf8[] {
    const bad: InvalidUtf8[] = [];
    let start = from;
    for (;;) {
      // The chunk's last bytes may begin a sequence the next chunk completes: leave them for later.
      let end = chunk.length;
      for (let i = chunk.length - 1; i >= Math.max(start, chunk.length - 3); i--) {
        const b = chunk[i];
        if (b < 0x80) break;
        if (b >= 0xc0) {
          if (sequenceLength(b) > chunk.length - i) end = i;
          break;
        }
      }
      if (start >= end || isUtf8(chunk.subarray(start, end))) {
        if (end < chunk.length) {
          this.carry = [...chunk.subarray(end)];
          this.carryOffset = offset + end;
        }
        return bad;
      }
      const found = findInvalidUtf8(chunk, start, end);
      if (!found) return bad; // not reached: isUtf8 and the exact search agree
      bad.push({
        offset: offset + found.index,
        bytes: chunk.slice(found.index, found.index + found.length),
        truncated: false,
      });
      const nl = chunk.indexOf(10, found.index);
      if (nl === -1) {
        this.skipping = true;
        return bad;
      }
      start = nl + 1;
    }
  }
}

/** Files from this size on are scanned by worker threads (`scanJsonlFile`), when the machine has several cores. */
export const PARALLEL_SCAN_MIN_BYTES = 32 * 1024 * 1024;

/**
 * The environment variable that sets the number of worker threads of the scan of a large file (at most the cores;
 * 0: none). By default one, with several cores: this thread reads and hashes while the worker validates, which also
 * leaves this thread free for what else the provider process does meanwhile (loading the SDK). Measured on a shared
 * 2-core machine (bench/batchfile.ts): a check of 512 MB in a provider process 1.8 s with one worker, 2.3 s without,
 * about the same with two, which cost 30 MB more than one (20 MB more than none).
 */
export const SCAN_WORKERS_ENV = "PULUMI_MISTRAL_BATCH_SCAN_WORKERS";

/** How `scanJsonlFile` spreads its work. */
export interface ParallelScanOptions {
  /** Worker threads; 0 scans on this thread alone. @default `PULUMI_MISTRAL_BATCH_SCAN_WORKERS`, else 1 with several cores */
  workers?: number;
  /** Files from this size on use the workers. @default PARALLEL_SCAN_MIN_BYTES */
  minBytes?: number;
  /** Bytes of a part a worker validates (whole lines). @default 4 MiB */
  blockBytes?: number;
  /** The worker's script. @default scanWorker.js beside this module; without it (sources run as TypeScript) no workers */
  workerScript?: string;
}

/**
 * Scans a file on disk, streaming. A large file is split at newlines into parts that worker threads validate (UTF-8,
 * JSON, request shape, custom_id unique in the part) while this thread reads and hashes it, and checks custom_ids
 * across parts in order; the result is the one scan on this thread gives. Any problem found by a worker, a
 * custom_id seen in an earlier part, a line longer than a part, or a failing worker: the file is scanned again on
 * this thread, which says what and where exactly (problems are the unusual case; their messages come from one
 * implementation). Memory stays bounded: at most two parts per worker in flight.
 */
export async function scanJsonlFile(
  path: string,
  options: ScanOptions = {},
  parallel: ParallelScanOptions = {},
): Promise<ScanResult> {
  const workers = parallel.workers ?? workersFromEnv();
  const script = parallel.workerScript ?? defaultWorkerScript();
  if (workers > 0 && script !== undefined) {
    const size = (await fs.promises.stat(path)).size;
    if (size >= (parallel.minBytes ?? PARALLEL_SCAN_MIN_BYTES)) {
      const result = await scanInParts(path, options, workers, script, parallel.blockBytes ?? 4 * 1024 * 1024);
      if (result) return result;
    }
  }
  return scanJsonlFileOnThisThread(path, options);
}

/** `PULUMI_MISTRAL_BATCH_SCAN_WORKERS` as a number of workers, at most the cores; unset (or not a number): 1 with several. */
function workersFromEnv(): number {
  const cores = availableParallelism();
  const set = process.env[SCAN_WORKERS_ENV]?.trim();
  const n = set ? Number(set) : Number.NaN;
  if (Number.isInteger(n) && n >= 0) return Math.min(n, cores);
  return cores > 1 ? 1 : 0;
}

let workerScriptFound: string | null | undefined;
/** The compiled worker beside this module (dist/provider/scanWorker.js), if there is one. */
function defaultWorkerScript(): string | undefined {
  if (workerScriptFound === undefined) {
    const script = nodePath.join(__dirname, "scanWorker.js");
    workerScriptFound = fs.existsSync(script) ? script : null;
  }
  return workerScriptFound ?? undefined;
}

/** A part of the file handed to a worker (scanWorker.ts): `length` bytes of `buffer`, whole lines. */
export interface ScanPart {
  seq: number;
  buffer: ArrayBuffer;
  length: number;
}

/** What a worker found in a part; `buffer` comes back for the next part. */
export interface ScanPartResult {
  seq: number;
  buffer: ArrayBuffer;
  requests: number;
  /** No problem in the part (its custom_ids unique within it). */
  clean: boolean;
  /** The part's custom_ids in line order (when clean). */
  ids: string[];
}

/** The parallel scan of `scanJsonlFile`; undefined when the file must be scanned on this thread (see there). */
async function scanInParts(
  path: string,
  options: ScanOptions,
  workerCount: number,
  script: string,
  blockBytes: number,
): Promise<ScanResult | undefined> {
  const handle = await fs.promises.open(path, "r");
  const workers: { worker: Worker; inFlight: number }[] = [];
  try {
    const hash = createHash("sha256");
    const ids = new Set<string>();
    let bytes = 0;
    let requests = 0;
    /** A reason to scan on this thread instead. */
    let failed = false;
    /** A worker failed: its parts will not come back. */
    let broken = false;
    let inFlight = 0;
    const done = new Map<number, ScanPartResult>();
    let nextToMerge = 0;
    const free: ArrayBuffer[] = [];
    let wake: (() => void) | undefined;
    const signal = () => {
      const w = wake;
      wake = undefined;
      w?.();
    };
    const waitForSignal = () => new Promise<void>((resolve) => (wake = resolve));
    const merge = (r: ScanPartResult) => {
      if (!r.clean) failed = true;
      if (failed) return;
      requests += r.requests;
      for (const id of r.ids) {
        if (ids.has(id)) {
          failed = true;
          return;
        }
        ids.add(id);
      }
    };
    for (let i = 0; i < workerCount; i++) {
      const slot = { worker: new Worker(script, { workerData: { options } }), inFlight: 0 };
      slot.worker.on("message", (r: ScanPartResult) => {
        slot.inFlight--;
        inFlight--;
        free.push(r.buffer);
        done.set(r.seq, r);
        for (let next = done.get(nextToMerge); next; next = done.get(nextToMerge)) {
          done.delete(nextToMerge++);
          merge(next);
        }
        signal();
      });
      const fail = () => {
        failed = broken = true;
        signal();
      };
      slot.worker.on("error", fail);
      slot.worker.on("exit", (code) => code !== 0 && fail());
      workers.push(slot);
    }
    let carry = Buffer.alloc(0);
    let eof = false;
    for (let seq = 0; !eof && !failed; ) {
      while (inFlight >= 2 * workerCount && !failed) await waitForSignal();
      if (failed) break;
      const block = free.pop() ?? new ArrayBuffer(blockBytes);
      const view = Buffer.from(block);
      let filled = carry.copy(view, 0);
      while (filled < view.length) {
        const { bytesRead } = await handle.read(view, filled, view.length - filled, null);
        if (bytesRead <= 0) {
          eof = true;
          break;
        }
        hash.update(view.subarray(filled, filled + bytesRead));
        filled += bytesRead;
        bytes += bytesRead;
      }
      let cut = filled;
      if (!eof) {
        cut = view.lastIndexOf(10, filled - 1) + 1;
        if (cut === 0) {
          failed = true; // a line longer than a part
          break;
        }
      }
      carry = Buffer.from(view.subarray(cut, filled)); // a copy: the block goes to a worker
      if (cut === 0) {
        free.push(block);
        continue;
      }
      const slot = workers.reduce((a, b) => (b.inFlight < a.inFlight ? b : a));
      slot.inFlight++;
      inFlight++;
      const part: ScanPart = { seq: seq++, buffer: block, length: cut };
      slot.worker.postMessage(part, [block]);
    }
    while (inFlight > 0 && !broken) await waitForSignal();
    if (failed) return undefined;
    return {
      sha256: hash.digest("hex"),
      bytes,
      requests,
      problems: [],
      moreProblems: false,
      fileProblems: fileProblemsOf(bytes, requests, options),
    };
  } finally {
    await Promise.all(workers.map((w) => w.worker.terminate()));
    await handle.close();
  }
}

/** Scans a file on disk, streaming, on this thread. */
async function scanJsonlFileOnThisThread(path: string, options: ScanOptions): Promise<ScanResult> {
  const scanner = new JsonlScanner(options);
  // One read buffer, reused: push() keeps no reference to a chunk (it copies an unfinished line), so no buffer per
  // read piles up for the garbage collector.
  const file = await fs.promises.open(path, "r");
  try {
    const buffer = Buffer.allocUnsafe(1024 * 1024);
    for (;;) {
      const { bytesRead } = await file.read(buffer, 0, buffer.length, null);
      if (bytesRead <= 0) break;
      scanner.push(buffer.subarray(0, bytesRead));
    }
  } finally {
    await file.close();
  }
  return scanner.end();
}

/** Scans a file on disk, streaming, synchronously (for what runs in a Pulumi program's constructors). */
export function scanJsonlFileSync(path: string, options: ScanOptions = {}): ScanResult {
  const scanner = new JsonlScanner(options);
  const fd = fs.openSync(path, "r");
  try {
    const buffer = Buffer.allocUnsafe(1024 * 1024);
    for (;;) {
      const bytesRead = fs.readSync(fd, buffer, 0, buffer.length, null);
      if (bytesRead <= 0) break;
      scanner.push(buffer.subarray(0, bytesRead));
    }
  } finally {
    fs.closeSync(fd);
  }
  return scanner.end();
}

/** Scans JSONL held in memory. */
export function scanJsonlText(text: string | Buffer, options: ScanOptions = {}): ScanResult {
  const scanner = new JsonlScanner(options);
  scanner.push(typeof text === "string" ? Buffer.from(text) : text);
  return scanner.end();
}

/** True when the input can be uploaded as it is. */
export function isClean(result: ScanResult): boolean {
  return result.problems.length === 0 && result.fileProblems.length === 0;
}

/** One message for every problem found, naming the source and each line. */
export function describeProblems(source: string, result: ScanResult): string {
  const lines = [
    ...result.fileProblems.map((p) => `${source}: ${p}`),
    ...result.problems.map((p) => `${source} line ${p.line}: ${p.field} is ${p.received}; expected ${p.allowed}`),
  ];
  if (result.moreProblems) lines.push(`${source}: more problems not shown; fix these and check again`);
  return lines.join("\n");
}
