/** Line-by-line reading of JSONL blobs from a byte offset, with bounded memory. */
import * as fs from "node:fs";

const CHUNK = 256 * 1024;

export interface Line {
  /** 1-based line number within the file, counting every line including blank ones. */
  lineNo: number;
  text: string;
}

/**
 * Reads up to `maxLines` non-blank lines of `file` starting at byte `offset` (which must be at a line start).
 * Returns them with the offset just past the last line returned, so the next call resumes there.
 */
export function readLinesSync(
  file: string,
  offset: number,
  maxLines: number,
  firstLineNo = 1,
): { lines: Line[]; offset: number; nextLineNo: number; eof: boolean } {
  const fd = fs.openSync(file, "r");
  try {
    const lines: Line[] = [];
    let lineNo = firstLineNo;
    let pos = offset;
    let pending: Buffer[] = [];
    let pendingStart = pos;
    const buf = Buffer.allocUnsafe(CHUNK);
    for (;;) {
      const n = fs.readSync(fd, buf, 0, CHUNK, pos);
      if (n === 0) {
        const rest = Buffer.concat(pending);
        if (rest.length > 0 && lines.length < maxLines) {
          const text = rest.toString("utf8");
          if (text.trim() !== "") lines.push({ lineNo, text });
          lineNo++;
          return { lines, offset: pendingStart + rest.length, nextLineNo: lineNo, eof: true };
        }
        return { lines, offset: pendingStart, nextLineNo: lineNo, eof: rest.length === 0 };
      }
      let start = 0;
      for (;;) {
        const nl = buf.indexOf(10, start);
        if (nl === -1 || nl >= n) break;
        pending.push(buf.subarray(start, nl));
        const text = Buffer.concat(pending).toString("utf8").replace(/\r$/, "");
        pending = [];
        const lineEnd = pos + nl + 1;
        if (text.trim() !== "") lines.push({ lineNo, text });
        lineNo++;
        pendingStart = lineEnd;
        start = nl + 1;
        if (lines.length >= maxLines) {
          return { lines, offset: lineEnd, nextLineNo: lineNo, eof: false };
        }
      }
      pending.push(Buffer.from(buf.subarray(start, n)));
      pos += n;
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** Calls `onLine` for every non-blank line of `file`, streaming, in order. Stops early when it returns false. */
export function forEachLineSync(file: string, onLine: (line: Line) => boolean | void, batch = 4096): void {
  let offset = 0;
  let lineNo = 1;
  for (;;) {
    const r = readLinesSync(file, offset, batch, lineNo);
    for (const line of r.lines) {
      if (onLine(line) === false) return;
    }
    offset = r.offset;
    lineNo = r.nextLineNo;
    if (r.eof || r.lines.length === 0) return;
  }
}
