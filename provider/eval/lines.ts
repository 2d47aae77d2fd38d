/**
 * Streaming line I/O for the evaluation modules: the buffered appending writer, and the line reader they use (one
 * call per line of a file, memory flat whatever the file size), which is the contract's (`provider/api/jsonl.ts`).
 */
import * as fs from "node:fs";

export { countLines, forEachLine } from "../api";

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
    fs.writeSync(this.fd, `${this.parts.join("\n")}\n`);
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
