/**
 * One streaming pass over a batch input (a JSONL file or text): its identity (SHA-256, bytes, request count) and
 * every problem that would make Mistral refuse it or fail its requests, with file and line.
 * Memory stays flat whatever the file size, apart from the set of custom_ids seen.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import { LineSplitter, MAX_FILE_BYTES, MAX_REQUESTS_PER_JOB } from "./api";
import { checkRequestLine, show, type ApiEndpoint, type FieldProblem } from "./requests";

/** Mistral's limits on an uploaded file and on the requests of a job (the contract's). */
export { MAX_FILE_BYTES, MAX_REQUESTS_PER_JOB };

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
  /** Lines as the readers number them; a byte order mark is kept (and reported: Mistral does not take it). */
  private readonly lines = new LineSplitter((text, lineNo) => this.line(text, lineNo));
  private bytes = 0;
  private requests = 0;
  private readonly problems: LineProblem[] = [];
  private moreProblems = false;
  private readonly maxProblems: number;

  constructor(private readonly options: ScanOptions = {}) {
    this.maxProblems = options.maxProblems ?? 10;
  }

  /** Feeds bytes; the chunk is not kept (its buffer may be reused). */
  push(chunk: Buffer): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    this.lines.push(chunk);
  }

  end(): ScanResult {
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
      problems: this.problems,
      moreProblems: this.moreProblems,
      fileProblems,
    };
  }

  private line(text: string, lineNo: number): void {
    if (text.trim() === "") return;
    this.requests++;
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
