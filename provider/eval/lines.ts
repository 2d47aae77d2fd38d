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

/** True when the two files hold the same bytes (false when either is missing). */
export function sameBytes(a: string, b: string): boolean {
  const sa = fs.statSync(a, { throwIfNoEntry: false });
  const sb = fs.statSync(b, { throwIfNoEntry: false });
  if (!sa || !sb || sa.size !== sb.size) return false;
  const fa = fs.openSync(a, "r");
  const fb = fs.openSync(b, "r");
  try {
    const ba = Buffer.allocUnsafe(1 << 20);
    const bb = Buffer.allocUnsafe(1 << 20);
    for (let at = 0; ; ) {
      const na = fs.readSync(fa, ba, 0, ba.length, at);
      const nb = fs.readSync(fb, bb, 0, bb.length, at);
      if (na !== nb) return false;
      if (na === 0) return true;
      if (ba.compare(bb, 0, nb, 0, na) !== 0) return false;
      at += na;
    }
  } finally {
    fs.closeSync(fa);
    fs.closeSync(fb);
  }
}

/**
 * Moves `tmp` over `target`, unless `target` already holds the same bytes: then `tmp` goes and `target` stays as
 * it was (its inode and times too, so the caches keyed by them, scanCache.ts and requestSet/memo.ts, still hold).
 * Returns whether `target` changed.
 */
export function replaceIfChanged(tmp: string, target: string): boolean {
  if (sameBytes(tmp, target)) {
    fs.rmSync(tmp, { force: true });
    return false;
  }
  fs.renameSync(tmp, target);
  return true;
}
