/**
 * Reading JSONL, the format of every batch file: the project's one line reader. Memory stays flat whatever the
 * size: reads go through one reused buffer, and only an unfinished line is copied (a line within one chunk is
 * decoded in place; a newline byte never falls inside a UTF-8 sequence, so that decodes exactly as the whole line).
 *
 * Lines, everywhere: numbered from 1, blank ones counted; a line ends at "\n" and its "\r" (CRLF) is dropped; a
 * last line without "\n" is a line; an empty file has none.
 *  - `LineSplitter`: the core, fed chunks of any size and boundaries (the batch input scanner pushes its own).
 *  - `forEachLine`: every line of a file or stream, asynchronously; a leading byte order mark is dropped.
 *  - `forEachLineSync`, `readLinesSync`: the non-blank lines of a file, synchronously (a byte order mark is kept:
 *    it is not JSON); `readLinesSync` reads a bounded number and resumes at a byte offset.
 *  - `LineCounter`, `countLines`: the number of lines, without decoding.
 */
import * as fs from "node:fs";

/** Read buffer of asynchronous passes (one per pass). */
const READ_BUFFER = 1024 * 1024;
/** Read buffer of synchronous reads, which are often bounded (`readLinesSync` stops after a few lines). */
const SYNC_READ_BUFFER = 256 * 1024;
/** The buffer of synchronous reads, lent to one read at a time (a read inside another's callback gets its own). */
let idleSyncBuffer: Buffer | null = null;

/**
 * Called once per line with its text (no line ending) and number. Returning `false` stops the splitter; any other
 * value, or none (a callback returning void), goes on.
 */
export type OnLine = (text: string, lineNo: number) => unknown;

export interface LineSplitterOptions {
  /** Number of the first line. @default 1 */
  firstLineNo?: number;
  /** Position of the first byte pushed in its file, so that `offset` is a file position. @default 0 */
  offset?: number;
  /** Drop a byte order mark (U+FEFF) at the start of the first line. @default false */
  stripBom?: boolean;
  /**
   * Longest line delivered, in bytes (without its line ending). A longer line is not decoded nor kept: its bytes are
   * counted and dropped as they come (memory stays bounded by the cap), and `onLongLine` gets its number, its size
   * and where it starts. @default no cap (a line is kept whole, however long)
   */
  maxLineBytes?: number;
  /** Called for each line longer than `maxLineBytes`, instead of `onLine`; `false` stops, as for `onLine`. */
  onLongLine?: (lineNo: number, bytes: number, offset: number) => unknown;
}

/** Splits pushed chunks into lines. A pushed chunk is never kept: the caller may reuse its buffer. */
export class LineSplitter {
  private pending: Buffer[] = [];
  private lineNo: number;
  /** File position of the next byte pushed. */
  private position: number;
  private lineEnd: number;
  private stripBom: boolean;
  private state: "open" | "stopped" | "ended" = "open";
  /** Bytes in `pending`. */
  private pendingBytes = 0;
  private readonly maxLineBytes: number;
  /** The bytes of the current line so far, once it is longer than `maxLineBytes` (then nothing is pending). */
  private longLineBytes = -1;
  private readonly onLongLine: LineSplitterOptions["onLongLine"];

  constructor(
    private readonly onLine: OnLine,
    options: LineSplitterOptions = {},
  ) {
    this.lineNo = (options.firstLineNo ?? 1) - 1;
    this.position = this.lineEnd = options.offset ?? 0;
    this.stripBom = options.stripBom ?? false;
    this.maxLineBytes = options.maxLineBytes ?? Number.POSITIVE_INFINITY;
    this.onLongLine = options.onLongLine;
  }

  /** File position just past the last line delivered (its "\n"): where a later read resumes. */
  get offset(): number {
    return this.lineEnd;
  }

  /** Number the next line gets. */
  get nextLineNo(): number {
    return this.lineNo + 1;
  }

  /** True once `onLine` returned false before the input ended (on the last line of `end()`, it stays false). */
  get stopped(): boolean {
    return this.state === "stopped";
  }

  /** Delivers the lines the chunk completes. Returns false when stopped (then the rest of the chunk is ignored). */
  push(chunk: Uint8Array): boolean {
    if (this.state === "ended") throw new Error("LineSplitter: push() after end()");
    if (this.state === "stopped") return false;
    const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let start = 0;
    for (let nl = bytes.indexOf(10); nl !== -1; nl = bytes.indexOf(10, start)) {
      const from = start;
      const lineStart = this.lineEnd;
      const size = this.lineBytes(nl - from);
      start = nl + 1;
      this.lineEnd = this.position + start;
      if (size > this.maxLineBytes) {
        if (!this.deliverLong(size, lineStart)) return false;
        continue;
      }
      let raw: string;
      if (this.pending.length) {
        this.pending.push(bytes.subarray(from, nl));
        raw = Buffer.concat(this.pending).toString("utf8");
        this.pending = [];
        this.pendingBytes = 0;
      } else {
        raw = bytes.toString("utf8", from, nl);
      }
      if (!this.deliver(raw)) return false;
    }
    if (start < bytes.length) {
      const rest = bytes.length - start;
      if (this.longLineBytes >= 0) this.longLineBytes += rest;
      else if (this.pendingBytes + rest > this.maxLineBytes) {
        this.longLineBytes = this.pendingBytes + rest; // too long: counted from now on, not kept
        this.pending = [];
        this.pendingBytes = 0;
      } else {
        this.pending.push(Buffer.from(bytes.subarray(start))); // copied: the buffer may be reused
        this.pendingBytes += rest;
      }
    }
    this.position += bytes.length;
    return true;
  }

  /** The size of the line ending `tail` bytes into this chunk; resets the long-line count. */
  private lineBytes(tail: number): number {
    if (this.longLineBytes >= 0) {
      const size = this.longLineBytes + tail;
      this.longLineBytes = -1;
      return size;
    }
    return this.pendingBytes + tail;
  }

  private deliverLong(size: number, offset: number): boolean {
    this.pending = [];
    this.pendingBytes = 0;
    this.lineNo++;
    this.stripBom = false;
    if (this.onLongLine?.(this.lineNo, size, offset) === false) {
      this.state = "stopped";
      return false;
    }
    return true;
  }

  /** Delivers the last line when it has no "\n". Nothing may be pushed after. */
  end(): void {
    if (this.state === "ended") return;
    const open = this.state === "open";
    this.state = "ended";
    if (open && this.longLineBytes >= 0) {
      const size = this.lineBytes(0);
      const lineStart = this.lineEnd;
      this.lineEnd = this.position;
      this.deliverLong(size, lineStart);
      this.state = "ended";
    } else if (open && this.pending.length) {
      const raw = Buffer.concat(this.pending).toString("utf8");
      this.pending = [];
      this.pendingBytes = 0;
      this.lineEnd = this.position;
      this.deliver(raw);
      this.state = "ended";
    }
  }

  private deliver(raw: string): boolean {
    this.lineNo++;
    let text = raw.charCodeAt(raw.length - 1) === 13 ? raw.slice(0, -1) : raw;
    if (this.stripBom) {
      this.stripBom = false;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    if (this.onLine(text, this.lineNo) === false) {
      this.state = "stopped";
      return false;
    }
    return true;
  }
}

/** Feeds a file from byte `from` to `splitter`, synchronously, until it stops; then ends it. */
function pumpSync(file: string, splitter: LineSplitter, from = 0): void {
  const fd = fs.openSync(file, "r");
  const buffer = idleSyncBuffer ?? Buffer.allocUnsafe(SYNC_READ_BUFFER);
  idleSyncBuffer = null;
  try {
    for (let pos = from; ; ) {
      const n = fs.readSync(fd, buffer, 0, buffer.length, pos);
      if (n <= 0) break;
      if (!splitter.push(buffer.subarray(0, n))) return;
      pos += n;
    }
    splitter.end();
  } finally {
    idleSyncBuffer = buffer;
    fs.closeSync(fd);
  }
}

/**
 * Calls `fn(text, lineNo)` for every line of a file (a path) or a stream of bytes, blank lines included, a leading
 * byte order mark dropped. Returns the number of lines. `fn` may throw to stop; its return value is ignored.
 */
export async function forEachLine(
  source: string | AsyncIterable<Uint8Array>,
  fn: (text: string, lineNo: number) => void,
): Promise<number> {
  const splitter = new LineSplitter((text, lineNo) => void fn(text, lineNo), { stripBom: true });
  if (typeof source !== "string") {
    for await (const chunk of source) splitter.push(chunk);
  } else {
    await readChunks(source, (chunk) => splitter.push(chunk));
  }
  splitter.end();
  return splitter.nextLineNo - 1;
}

/** A non-blank line of a file. */
export interface Line {
  /** 1-based line number within the file, counting every line including blank ones. */
  lineNo: number;
  text: string;
}

/** A blank line: nothing but whitespace (a byte order mark counts as whitespace here, as for `String.trim`). */
const isBlank = (text: string): boolean => text.trim() === "";

/**
 * Calls `onLine` for every non-blank line of `file`, in order, synchronously. Stops early when it returns false.
 * `options` may cap the length of a line (`LineSplitterOptions.maxLineBytes`).
 */
export function forEachLineSync(
  file: string,
  onLine: (line: Line) => unknown,
  options: Pick<LineSplitterOptions, "maxLineBytes" | "onLongLine"> = {},
): void {
  pumpSync(file, new LineSplitter((text, lineNo) => (isBlank(text) ? undefined : onLine({ lineNo, text })), options));
}

/**
 * Reads up to `maxLines` (>= 1) non-blank lines of `file` from byte `offset`, which must be at a line start, where
 * line `firstLineNo` begins. Returns them with the offset just past the last line returned and the number of the
 * line there, so the next call resumes; `eof` when the file has no line after them.
 */
export function readLinesSync(
  file: string,
  offset: number,
  maxLines: number,
  firstLineNo = 1,
): { lines: Line[]; offset: number; nextLineNo: number; eof: boolean } {
  const lines: Line[] = [];
  const splitter = new LineSplitter(
    (text, lineNo) => {
      if (isBlank(text)) return;
      lines.push({ lineNo, text });
      return lines.length < maxLines;
    },
    { offset, firstLineNo },
  );
  pumpSync(file, splitter, offset);
  return { lines, offset: splitter.offset, nextLineNo: splitter.nextLineNo, eof: !splitter.stopped };
}

/** Counts lines as the readers number them (a last line without "\n" counts), from pushed chunks. */
export class LineCounter {
  private newlines = 0;
  private last = 10;

  push(chunk: Uint8Array): void {
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) this.newlines++;
    if (chunk.length) this.last = chunk[chunk.length - 1];
  }

  get lines(): number {
    return this.last === 10 ? this.newlines : this.newlines + 1;
  }
}

/** Counts the lines of a file, streaming. */
export async function countLines(path: string): Promise<number> {
  const counter = new LineCounter();
  await readChunks(path, (chunk) => counter.push(chunk));
  return counter.lines;
}

/** Reads a file front to back in one reused buffer, handing each chunk to `push` (valid only during the call). */
async function readChunks(path: string, push: (chunk: Buffer) => void): Promise<void> {
  const file = await fs.promises.open(path, "r");
  try {
    const buffer = Buffer.allocUnsafe(READ_BUFFER);
    for (;;) {
      const { bytesRead } = await file.read(buffer, 0, buffer.length, null);
      if (bytesRead <= 0) break;
      push(buffer.subarray(0, bytesRead));
    }
  } finally {
    await file.close();
  }
}
