/**
 * One streaming pass over a batch input (a JSONL file or text): its identity (SHA-256, bytes, request count) and
 * every problem that would make Mistral refuse it or fail its requests, with file and line.
 * Memory stays flat whatever the file size, apart from the set of custom_ids seen.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import { checkRequestLine, show, type ApiEndpoint, type FieldProblem } from "./requests";

/** Mistral's limit on an uploaded file. */
export const MAX_FILE_BYTES = 512 * 1024 * 1024;
/** Mistral's per-job request cap (known-limitations page, 2026-08). */
export const MAX_REQUESTS_PER_JOB = 100_000;

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
  private pending: Buffer[] = [];
  private lineNo = 0;
  private bytes = 0;
  private requests = 0;
  private readonly problems: LineProblem[] = [];
  private moreProblems = false;
  private readonly maxProblems: number;

  constructor(private readonly options: ScanOptions = {}) {
    this.maxProblems = options.maxProblems ?? 10;
  }

  push(chunk: Buffer): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    let start = 0;
    for (let nl = chunk.indexOf(10); nl !== -1; nl = chunk.indexOf(10, start)) {
      if (this.pending.length) {
        this.pending.push(chunk.subarray(start, nl));
        this.line(Buffer.concat(this.pending).toString("utf8"));
        this.pending = [];
      } else {
        // A line within one chunk is decoded in place, without copying it first (a newline byte never falls
        // inside a UTF-8 sequence, so this decodes exactly as the whole line would).
        this.line(chunk.toString("utf8", start, nl));
      }
      start = nl + 1;
    }
    if (start < chunk.length) this.pending.push(Buffer.from(chunk.subarray(start)));
  }

  end(): ScanResult {
    if (this.pending.length) this.line(Buffer.concat(this.pending).toString("utf8"));
    this.pending = [];
    const maxBytes = this.options.maxBytes ?? MAX_FILE_BYTES;
    const maxRequests = this.options.maxRequests ?? MAX_REQUESTS_PER_JOB;
    const fileProblems: string[] = [];
    if (this.bytes > maxBytes) fileProblems.push(`size is ${this.bytes} bytes; Mistral accepts files of at most ${maxBytes} bytes (${Math.round(maxBytes / 1024 / 1024)} MB): split it into several files`);
    if (this.requests > maxRequests) fileProblems.push(`holds ${this.requests} requests; a batch job takes at most ${maxRequests}: split it into several files and jobs`);
    if (this.requests === 0) fileProblems.push("holds no requests; each line must be a JSON object { \"custom_id\": string, \"body\": object }");
    return {
      sha256: this.hash.digest("hex"),
      bytes: this.bytes,
      requests: this.requests,
      problems: this.problems,
      moreProblems: this.moreProblems,
      fileProblems,
    };
  }

  private line(raw: string): void {
    this.lineNo++;
    const text = raw.charCodeAt(raw.length - 1) === 13 ? raw.slice(0, -1) : raw; // a CRLF line's \r
    if (text.trim() === "") return;
    this.requests++;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (cause) {
      const bom = text.charCodeAt(0) === 0xfeff; // invisible in the message: say so
      this.add({
        line: this.lineNo,
        field: "(line)",
        received: bom ? `a byte order mark (U+FEFF) followed by ${show(text.slice(1))}` : show(text),
        allowed: bom ? "valid JSON without a byte order mark: save the file as UTF-8 without BOM" : `valid JSON (${(cause as Error).message})`,
      });
      return;
    }
    const p = checkRequestLine(parsed, this.options.endpoint);
    if (p) {
      this.add({ line: this.lineNo, ...p });
      return;
    }
    const id = (parsed as { custom_id: string }).custom_id;
    const first = this.ids.get(id);
    if (first !== undefined) {
      this.add({ line: this.lineNo, field: "custom_id", received: show(id), allowed: `an id unique in the file (line ${first} has it already)` });
    } else {
      this.ids.set(id, this.lineNo);
    }
  }

  private add(p: LineProblem): void {
    if (this.problems.length < this.maxProblems) this.problems.push(p);
    else this.moreProblems = true;
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
    for (let n; (n = (await file.read(buffer, 0, buffer.length, null)).bytesRead) > 0; ) scanner.push(buffer.subarray(0, n));
  } finally {
    await file.close();
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

