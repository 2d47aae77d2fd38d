/**
 * Streaming line I/O for the evaluation modules: the buffered appending writer, and the line reader they use (one
 * call per line of a file, memory flat whatever the file size), which is the contract's (`provider/api/jsonl.ts`).
 */
import * as fs from "node:fs";

export { countLines, forEachLine } from "../api";

/**
 * Appends lines to a file through a buffer of about `flushBytes` bytes (synchronous writes: each is at most that
 * big, or one line when a line is bigger). Each line is encoded to UTF-8 into the buffer as it is written, so no
 * string outlives its `write` (many writers holding pending strings would make the garbage collector's work grow).
 * `close()` flushes and closes; nothing is written after.
 */
export class LineWriter {
  private fd: number;
  private readonly buffer: Buffer;
  private size = 0;
  /** Lines written so far. */
  lines = 0;

  constructor(
    readonly path: string,
    private readonly flushBytes = 256 * 1024,
    flags: "w" | "a" = "w",
  ) {
    this.fd = fs.openSync(path, flags);
    this.buffer = Buffer.allocUnsafe(Math.max(flushBytes, 4096));
  }

  /** Adds one line (without its "\n"). */
  write(line: string): void {
    this.lines++;
    const most = line.length * 3 + 1; // UTF-8 bytes of a UTF-16 code unit: at most 3
    if (this.size + most > this.buffer.length) {
      this.flush();
      if (most > this.buffer.length) {
        fs.writeSync(this.fd, `${line}\n`);
        return;
      }
    }
    this.size += this.buffer.write(line, this.size);
    this.buffer[this.size++] = 10;
    if (this.size >= this.flushBytes) this.flush();
  }

  flush(): void {
    for (let done = 0; done < this.size; ) done += fs.writeSync(this.fd, this.buffer, done, this.size - done);
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
