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
  private readonly hash = createHash("sha256");
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

  constructor(private readonly options: ScanOptions = {}) {
    this.maxProblems = options.maxProblems ?? 10;
    this.maxLineBytes = options.maxLineBytes ?? MAX_LINE_BYTES;
    this.lines = new LineSplitter((text, lineNo) => this.line(text, lineNo), {
      maxLineBytes: this.maxLineBytes,
      onLongLine: (lineNo, bytes, offset) => this.longLine(lineNo, bytes, offset),
    });
  }

  /** Feeds bytes; the chunk is not kept (its buffer may be reused). */
  push(chunk: Buffer): void {
    this.hash.update(chunk);
    // Validated before the lines are split, so that the line the splitter is on is the one holding the chunk's start.
    for (const bad of this.utf8.push(chunk, this.bytes)) this.invalidUtf8(bad, chunk);
    this.bytes += chunk.length;
    this.lines.push(chunk);
  }

  end(): ScanResult {
    const truncated = this.utf8.end();
    if (truncated) this.invalidUtf8(truncated);
    this.lines.end();
    const maxBytes = this.options.maxBytes ?? MAX_FILE_BYTES;
    const maxRequests = this.options.maxRequests ?? MAX_REQUESTS_PER_JOB;
    const fileProblems: string[] = [];
    if (this.bytes > maxBytes)
      fileProblems.push(
        `size is ${this.bytes} bytes; Mistral accepts files of at most ${maxBytes} bytes (${Math.round(maxBytes / 1024 / 1024)} MB): split it into several files`,
      );
    if (this.requests > maxRequests)
      fileProblems.push(
        `holds ${this.requests} requests; a batch job takes at most ${maxRequests}: split it into several files and jobs`,
      );
    if (this.requests === 0)
      fileProblems.push('holds no requests; each line must be a JSON object { "custom_id": string, "body": object }');
    return {
      sha256: this.hash.digest("hex"),
      bytes: this.bytes,
      requests: this.requests,
      problems: this.problems.sort((a, b) => a.line - b.line),
      moreProblems: this.moreProblems,
      fileProblems,
    };
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

/** Scans a file on disk, streaming. */
export async function scanJsonlFile(path: string, options: ScanOptions = {}): Promise<ScanResult> {
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
