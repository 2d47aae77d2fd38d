/**
 * Streaming line I/O for the evaluation modules: a reader that calls back once per line of a file (one reused read
 * buffer, as provider/jsonl.ts), and a buffered appending writer. Memory stays flat whatever the file size.
 */
import * as fs from "node:fs";

const READ_BUFFER = 1024 * 1024;

/**
 * Calls `fn(text, lineNo)` for every line of the file (1-based numbers; blank lines included; a CRLF line's "\r" and
 * a leading UTF-8 byte order mark removed). Returns the number of lines. `fn` may throw to stop.
 */
export async function forEachLine(path: string, fn: (text: string, lineNo: number) => void): Promise<number> {
  const file = await fs.promises.open(path, "r");
  let lineNo = 0;
  const emit = (raw: string) => {
    lineNo++;
    let text = raw.charCodeAt(raw.length - 1) === 13 ? raw.slice(0, -1) : raw;
    if (lineNo === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    fn(text, lineNo);
  };
  try {
    const buffer = Buffer.allocUnsafe(READ_BUFFER);
    let pending: Buffer[] = [];
    for (let n; (n = (await file.read(buffer, 0, buffer.length, null)).bytesRead) > 0; ) {
      const chunk = buffer.subarray(0, n);
      let start = 0;
      for (let nl = chunk.indexOf(10); nl !== -1; nl = chunk.indexOf(10, start)) {
        if (pending.length) {
          pending.push(chunk.subarray(start, nl));
          emit(Buffer.concat(pending).toString("utf8"));
          pending = [];
        } else emit(chunk.toString("utf8", start, nl)); // a newline byte never falls inside a UTF-8 sequence
        start = nl + 1;
      }
      if (start < chunk.length) pending.push(Buffer.from(chunk.subarray(start))); // copied: the buffer is reused
    }
    if (pending.length) emit(Buffer.concat(pending).toString("utf8"));
  } finally {
    await file.close();
  }
  return lineNo;
}

/** Counts the newline-terminated lines of a file (a last line without "\n" counts too), streaming. */
export async function countLines(path: string): Promise<number> {
  const file = await fs.promises.open(path, "r");
  let lines = 0;
  let last = 10;
  try {
    const buffer = Buffer.allocUnsafe(READ_BUFFER);
    for (let n; (n = (await file.read(buffer, 0, buffer.length, null)).bytesRead) > 0; ) {
      for (let i = buffer.indexOf(10); i !== -1 && i < n; i = buffer.indexOf(10, i + 1)) lines++;
      last = buffer[n - 1]!;
    }
  } finally {
    await file.close();
  }
  return last === 10 ? lines : lines + 1;
}

/**
 * Appends lines to a file through an in-memory buffer of about `flushBytes` characters (synchronous writes: each
 * is at most that big). `close()` flushes and closes; nothing is written after.
 */
export class LineWriter {
  private fd: number;
  private parts: string[] = [];
  private size = 0;
  /** Lines written so far. */
  lines = 0;

  constructor(
    readonly path: string,
    private readonly flushBytes = 256 * 1024,
    flags: "w" | "a" = "w",
  ) {
    this.fd = fs.openSync(path, flags);
  }

  /** Adds one line (without its "\n"). */
  write(line: string): void {
    this.parts.push(line);
    this.size += line.length + 1;
    this.lines++;
    if (this.size >= this.flushBytes) this.flush();
  }

  flush(): void {
    if (this.parts.length === 0) return;
    fs.writeSync(this.fd, this.parts.join("\n") + "\n");
    this.parts = [];
    this.size = 0;
  }

  close(): void {
    if (this.fd < 0) return;
    try {
      this.flush();
    } finally {
      fs.closeSync(this.fd);
      this.fd = -1;
    }
  }
}
