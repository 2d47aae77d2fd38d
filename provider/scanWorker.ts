/**
 * A worker thread of `scanJsonlFile` (jsonl.ts): validates the parts of a file it is handed (whole lines) with the
 * scanner, without hashing them (the main thread hashes the file as it reads it), and hands each part's buffer back.
 */
import { parentPort, workerData } from "node:worker_threads";
import { JsonlScanner, type ScanOptions, type ScanPart, type ScanPartResult } from "./jsonl";

const options = (workerData as { options: ScanOptions }).options;
const port = parentPort;
if (port) {
  port.on("message", (part: ScanPart) => {
    // One problem is enough: the main thread then scans the file itself, for the full report.
    const scanner = new JsonlScanner({ ...options, maxProblems: 1 }, false);
    scanner.push(Buffer.from(part.buffer, 0, part.length));
    const r = scanner.end();
    const clean = r.problems.length === 0;
    const result: ScanPartResult = {
      seq: part.seq,
      buffer: part.buffer,
      requests: r.requests,
      clean,
      ids: clean ? scanner.customIds() : [],
    };
    port.postMessage(result, [part.buffer]);
  });
}
