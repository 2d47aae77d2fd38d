/**
 * The files of a RequestSet on local disk, under its `directory`:
 *  - `parts/<job id>.input.jsonl`: what a job was sent (addressed custom_ids), `parts/<job id>.output.jsonl` and
 *    `parts/<job id>.error.jsonl`: its result files as Mistral wrote them (downloaded when the job ended);
 *  - `output.jsonl` and `errors.jsonl`: the current results, one per current request at most, custom_ids as in
 *    the dataset (the address's key taken off), written after every update: what the join and users read.
 * Every read streams (memory: one entry per address of the set, a shard's at most 100,000).
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type { ApiEndpoint } from "../api";
import { forEachLine, LineWriter } from "../eval/lines";
import { readResultLine } from "../eval/results";
import { addressOf, parseAddress, requestKey } from "./address";
import type { Known } from "./ledger";

export const PARTS_DIR = "parts";
export const OUTPUT_FILE = "output.jsonl";
export const ERRORS_FILE = "errors.jsonl";

export type PartFile = "input" | "output" | "error";

/** Where a part's file is kept. */
export function partPath(directory: string, jobId: string, kind: PartFile): string {
  return path.join(directory, PARTS_DIR, `${jobId}.${kind}.jsonl`);
}

/** A source line that is not `{custom_id, body}`: the source was checked, so it changed since (or was never one). */
function badSource(file: string, lineNo: number, why: string): Error {
  return new Error(`${file} line ${lineNo}: ${why}; the set's source must hold {"custom_id", "body"} lines`);
}

/** The address of every request of the source (`{custom_id, body}` lines), in order. */
export async function sourceAddresses(file: string): Promise<string[]> {
  const out: string[] = [];
  await forEachLine(file, (text, lineNo) => {
    if (text.trim() === "") return;
    const line = parseRequest(file, text, lineNo);
    out.push(addressOf(line.customId, requestKey(line.body)));
  });
  return out;
}

function parseRequest(file: string, text: string, lineNo: number): { customId: string; body: unknown } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw badSource(file, lineNo, `not valid JSON (${(error as Error).message})`);
  }
  const line = parsed as { custom_id?: unknown; body?: unknown };
  if (typeof line !== "object" || line === null || typeof line.custom_id !== "string")
    throw badSource(file, lineNo, "no string custom_id");
  return { customId: line.custom_id, body: line.body };
}

/**
 * Writes the lines of `source` whose address is in `submit` to `target`, each as `{custom_id: <address>, body}`;
 * returns the number written and the SHA-256 of the file (hashed as written, so it need not be read again).
 */
export async function writeDelta(
  source: string,
  submit: ReadonlySet<string>,
  target: string,
): Promise<{ requests: number; sha256: string }> {
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const writer = new LineWriter(`${target}.tmp`);
  // The file's SHA-256 as it is written: each line's UTF-8 bytes and its "\n", as LineWriter writes them.
  const hash = createHash("sha256");
  try {
    await forEachLine(source, (text, lineNo) => {
      if (text.trim() === "") return;
      const line = parseRequest(source, text, lineNo);
      const address = addressOf(line.customId, requestKey(line.body));
      if (!submit.has(address)) return;
      const json = JSON.stringify({ custom_id: address, body: line.body });
      writer.write(json);
      hash.update(json).update("\n");
    });
  } catch (error) {
    writer.close();
    fs.rmSync(`${target}.tmp`, { force: true });
    throw error;
  }
  writer.close();
  fs.renameSync(`${target}.tmp`, target);
  return { requests: writer.lines, sha256: hash.digest("hex") };
}

/** One earlier job of the set as the record reads it. */
export interface PartRecord {
  jobId: string;
  /** Final (its result files are what it will ever have). */
  final: boolean;
  /** Its local files that exist, by kind (the input file to know what it was sent; result files once final). */
  files: Partial<Record<PartFile, string>>;
  /** A result file of it is gone (Mistral no longer keeps it): a request sent without a line here is lost, not failed. */
  lost?: boolean;
}

/** What the earlier jobs tell of each address: its state, and the part (index) whose result line counts. */
export interface SetRecord {
  known: Map<string, Known>;
  /** For succeeded and failed addresses with a result line: the index of the part whose line counts. */
  source: Map<string, number>;
  /** Result lines of the parts that name no address (no custom_id, or one this package did not write). */
  unattributed: number;
}

/**
 * Reads every part's local files, earliest first, into the record of each address. Within a part, a request sent
 * and never answered counts as failed once the job is final (pending before); a success wins over a failure line of
 * the same request. Across parts a later job's record replaces an earlier one, except an earlier success: an address
 * is only sent again when it had none.
 */
export async function readRecord(parts: readonly PartRecord[], endpoint: ApiEndpoint): Promise<SetRecord> {
  const known = new Map<string, Known>();
  const source = new Map<string, number>();
  let unattributed = 0;
  for (const [index, part] of parts.entries()) {
    const mine = new Map<string, { state: Known; line?: number }>();
    const input = part.lost ? undefined : part.files.input;
    if (input) {
      await forEachLine(input, (text, lineNo) => {
        if (text.trim() === "") return;
        mine.set(parseRequest(input, text, lineNo).customId, { state: part.final ? "failed" : "pending" });
      });
    }
    await forEachResult(part, endpoint, (r) => {
      if (r.kind !== "result" || parseAddress(r.result.customId) === undefined) {
        unattributed++;
        return;
      }
      const address = r.result.customId;
      if (r.result.answer !== undefined) mine.set(address, { state: "succeeded", line: index });
      else if (mine.get(address)?.state !== "succeeded") mine.set(address, { state: "failed", line: index });
    });
    for (const [address, m] of mine) {
      if (known.get(address) === "succeeded") continue;
      known.set(address, m.state);
      if (m.line !== undefined) source.set(address, m.line);
      else source.delete(address);
    }
  }
  return { known, source, unattributed };
}

/** What `writeCurrent` wrote. */
export interface Current {
  outputPath: string | null;
  errorPath: string | null;
  succeeded: number;
  failed: number;
  /** Indexes of the parts a current result line comes from. */
  used: Set<number>;
}

/**
 * Writes the current results: for each current address whose result line comes from a part (record.source), that
 * line, its custom_id back as in the dataset, into `output.jsonl` (answers) or `errors.jsonl` (failures); a file
 * with no line is not kept (its path is null).
 */
export async function writeCurrent(
  directory: string,
  current: ReadonlySet<string>,
  parts: readonly PartRecord[],
  record: SetRecord,
  endpoint: ApiEndpoint,
): Promise<Current> {
  const outputPath = path.join(directory, OUTPUT_FILE);
  const errorPath = path.join(directory, ERRORS_FILE);
  fs.mkdirSync(directory, { recursive: true });
  const out = new LineWriter(`${outputPath}.tmp`);
  const err = new LineWriter(`${errorPath}.tmp`);
  const used = new Set<number>();
  const written = new Set<string>();
  try {
    for (const [index, part] of parts.entries()) {
      await forEachResult(part, endpoint, (r, text) => {
        if (r.kind !== "result") return;
        const address = r.result.customId;
        if (!current.has(address) || record.source.get(address) !== index || written.has(address)) return;
        const ok = r.result.answer !== undefined;
        if (ok !== (record.known.get(address) === "succeeded")) return;
        const parsed = parseAddress(address);
        const line = JSON.parse(text) as Record<string, unknown>;
        line.custom_id = parsed?.customId ?? address;
        (ok ? out : err).write(JSON.stringify(line));
        written.add(address);
        used.add(index);
      });
    }
  } catch (error) {
    out.close();
    err.close();
    fs.rmSync(`${outputPath}.tmp`, { force: true });
    fs.rmSync(`${errorPath}.tmp`, { force: true });
    throw error;
  }
  out.close();
  err.close();
  // A file of no lines is not written (and an earlier one goes): its path is null, as a job's missing file is.
  const keep = (tmp: string, target: string, lines: number) => {
    if (lines > 0) fs.renameSync(tmp, target);
    else for (const f of [tmp, target]) fs.rmSync(f, { force: true });
    return lines > 0 ? target : null;
  };
  return {
    outputPath: keep(`${outputPath}.tmp`, outputPath, out.lines),
    errorPath: keep(`${errorPath}.tmp`, errorPath, err.lines),
    succeeded: out.lines,
    failed: err.lines,
    used,
  };
}

/** Each non-blank line of a final part's output and error files (none for a part still running), as read. */
async function forEachResult(
  part: PartRecord,
  endpoint: ApiEndpoint,
  visit: (r: ReturnType<typeof readResultLine>, text: string) => void,
): Promise<void> {
  if (!part.final) return;
  for (const kind of ["output", "error"] as const) {
    const file = part.files[kind];
    if (!file) continue;
    await forEachLine(file, (text, lineNo) => {
      if (text.trim() !== "") visit(readResultLine(text, endpoint, { file, line: lineNo }), text);
    });
  }
}
