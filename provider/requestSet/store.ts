/**
 * The files of a RequestSet on local disk, under its `directory`:
 *  - `parts/<job id>.input.jsonl`: what a job was sent (addressed custom_ids), `parts/<job id>.output.jsonl` and
 *    `parts/<job id>.error.jsonl`: its result files as Mistral wrote them (downloaded when the job ended);
 *  - `output.jsonl` and `errors.jsonl`: the current results, one per current request at most, custom_ids as in
 *    the dataset (the address's key taken off), written after every update: what the join and users read;
 *  - `index/` and `parts/<job id>.summary.json`: what was derived from those files (the source's addresses, what
 *    each part tells of each request, the current results written), kept while the files are unchanged (memo.ts).
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

/** Where a part's summary is kept (memo.ts). */
export function summaryPath(directory: string, jobId: string): string {
  return path.join(directory, PARTS_DIR, `${jobId}.summary.json`);
}

/** Where the set's other derived values are kept (memo.ts): `source` (its index), `current` (the results written). */
export function indexPath(directory: string, what: "source" | "current"): string {
  return path.join(directory, "index", `${what}.json`);
}

/** A source line that is not `{custom_id, body}`: the source was checked, so it changed since (or was never one). */
function badSource(file: string, lineNo: number, why: string): Error {
  return new Error(`${file} line ${lineNo}: ${why}; the set's source must hold {"custom_id", "body"} lines`);
}

/** The requests of a source: the line number and address of each `{custom_id, body}` line, in order. */
export interface SourceIndex {
  lines: number[];
  addresses: string[];
}

/** The address of every request of the source (`{custom_id, body}` lines), in order, with its line. */
export async function indexSource(file: string): Promise<SourceIndex> {
  const index: SourceIndex = { lines: [], addresses: [] };
  await forEachLine(file, (text, lineNo) => {
    if (text.trim() === "") return;
    const line = parseRequest(file, text, lineNo);
    index.lines.push(lineNo);
    index.addresses.push(addressOf(line.customId, requestKey(line.body)));
  });
  return index;
}

/** The lines of `index` whose address is in `wanted`: line number to address. */
export function linesOf(index: SourceIndex, wanted: ReadonlySet<string>): Map<number, string> {
  const out = new Map<number, string>();
  index.addresses.forEach((address, i) => {
    if (wanted.has(address)) out.set(index.lines[i] ?? 0, address);
  });
  return out;
}

/**
 * Calls `visit` with each request of `source` on the given `lines` (line number to the address an index found
 * there), parsed; fails when a line no longer holds that request (the source changed since it was indexed).
 */
export async function forEachIndexedRequest(
  source: string,
  lines: ReadonlyMap<number, string>,
  visit: (request: { customId: string; body: unknown; address: string }) => void,
): Promise<void> {
  if (lines.size === 0) return;
  let seen = 0;
  await forEachLine(source, (text, lineNo) => {
    const expected = lines.get(lineNo);
    if (expected === undefined) return;
    const line = parseRequest(source, text, lineNo);
    const address = addressOf(line.customId, requestKey(line.body));
    if (address !== expected) throw changedSource(source, lineNo);
    seen++;
    visit({ ...line, address });
  });
  if (seen !== lines.size) throw changedSource(source, null);
}

function changedSource(file: string, lineNo: number | null): Error {
  return new Error(
    `${file}${lineNo === null ? " is shorter than" : ` line ${lineNo} differs from`} what this update read of it moments before: it changed while \`pulumi up\` ran; nothing of it was submitted: run \`pulumi up\` again`,
  );
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

const ID_PREFIX = '{"custom_id":"';

/**
 * The custom_id of a line of an input file this package wrote (`writeDelta`: `{"custom_id":"<address>","body":...}`),
 * read off the text when it has that form and no escape in the id; else as `parseRequest` reads it.
 */
function customIdOf(file: string, text: string, lineNo: number): string {
  if (text.startsWith(ID_PREFIX)) {
    const end = text.indexOf('"', ID_PREFIX.length);
    if (end > 0 && text.startsWith(",", end + 1)) {
      const id = text.slice(ID_PREFIX.length, end);
      if (!id.includes("\\")) return id;
    }
  }
  return parseRequest(file, text, lineNo).customId;
}

/**
 * Writes the requests of `source` on `lines` (line number to address, from its index: `linesOf`) to `target`, each
 * as `{custom_id: <address>, body}`; returns the number written and the SHA-256 of the file (hashed as written, so it
 * need not be read again). Only those lines are parsed; one that no longer holds its request fails it.
 */
export async function writeDelta(
  source: string,
  lines: ReadonlyMap<number, string>,
  target: string,
): Promise<{ requests: number; sha256: string }> {
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const writer = new LineWriter(`${target}.tmp`);
  // The file's SHA-256 as it is written: each line's UTF-8 bytes and its "\n", as LineWriter writes them.
  const hash = createHash("sha256");
  try {
    await forEachIndexedRequest(source, lines, (line) => {
      const json = JSON.stringify({ custom_id: line.address, body: line.body });
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
  /** Where its summary is kept while its files are unchanged (memo.ts), and the paths of all its files; none: not kept. */
  memo?: { entry: string; files: string[] };
}

/** What the earlier jobs tell of each address: its state, and the part (index) and line whose result counts. */
export interface SetRecord {
  known: Map<string, Known>;
  /** For succeeded and failed addresses with a result line: the index of the part whose line counts. */
  source: Map<string, number>;
  /** For the same addresses: that line, as a part summary gives it (`PartSummary.lines`). */
  line: Map<string, number>;
  /** Result lines of the parts that name no address (no custom_id, or one this package did not write). */
  unattributed: number;
}

/**
 * What one part's files tell of each request it was sent or answered: its state (`s` succeeded, `f` failed, `p`
 * pending, one character per address) and the result line that counts (`n` for line n of its output file, `-n` of
 * its error file, 0 for none: sent and never answered, or still running).
 */
export interface PartSummary {
  addresses: string[];
  states: string;
  lines: number[];
  /** Result lines that name no address of this package. */
  unattributed: number;
}

const STATE: Record<string, Known> = { s: "succeeded", f: "failed", p: "pending" };

/**
 * Reads one part's local files into its summary. A request sent and never answered counts as failed once the job
 * is final (pending before); a success wins over a failure line of the same request; of several lines of one request
 * and outcome, the first counts.
 */
export async function summarizePart(part: PartRecord, endpoint: ApiEndpoint): Promise<PartSummary> {
  const mine = new Map<string, { state: "s" | "f" | "p"; line: number }>();
  const input = part.lost ? undefined : part.files.input;
  if (input) {
    await forEachLine(input, (text, lineNo) => {
      if (text.trim() === "") return;
      mine.set(customIdOf(input, text, lineNo), { state: part.final ? "f" : "p", line: 0 });
    });
  }
  let unattributed = 0;
  await forEachResult(part, endpoint, (r, _text, kind, lineNo) => {
    if (r.kind !== "result" || parseAddress(r.result.customId) === undefined) {
      unattributed++;
      return;
    }
    const address = r.result.customId;
    const at = kind === "output" ? lineNo : -lineNo;
    const had = mine.get(address);
    if (r.result.answer !== undefined) {
      if (had?.state !== "s") mine.set(address, { state: "s", line: at });
    } else if (!had?.line) mine.set(address, { state: "f", line: at });
  });
  const summary: PartSummary = { addresses: [], states: "", lines: [], unattributed };
  const states: string[] = [];
  for (const [address, m] of mine) {
    summary.addresses.push(address);
    states.push(m.state);
    summary.lines.push(m.line);
  }
  summary.states = states.join("");
  return summary;
}

/**
 * Reads every part's summary (`summarize`: by default `summarizePart`), earliest first, into the record of each
 * address. Across parts a later job's record replaces an earlier one, except an earlier success: an address is
 * only sent again when it had none.
 */
export async function readRecord(
  parts: readonly PartRecord[],
  endpoint: ApiEndpoint,
  summarize: (part: PartRecord) => Promise<PartSummary> = (part) => summarizePart(part, endpoint),
): Promise<SetRecord> {
  const known = new Map<string, Known>();
  const source = new Map<string, number>();
  const line = new Map<string, number>();
  let unattributed = 0;
  for (const [index, part] of parts.entries()) {
    const summary = await summarize(part);
    unattributed += summary.unattributed;
    summary.addresses.forEach((address, i) => {
      if (known.get(address) === "succeeded") return;
      known.set(address, STATE[summary.states[i] ?? "f"] ?? "failed");
      const at = summary.lines[i] ?? 0;
      if (at !== 0) {
        source.set(address, index);
        line.set(address, at);
      } else {
        source.delete(address);
        line.delete(address);
      }
    });
  }
  return { known, source, line, unattributed };
}

/** What `writeCurrent` wrote. */
export interface Current {
  outputPath: string | null;
  errorPath: string | null;
  succeeded: number;
  failed: number;
  /** Indexes of the parts a current result line comes from. */
  used: number[];
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
): Promise<Current> {
  const outputPath = path.join(directory, OUTPUT_FILE);
  const errorPath = path.join(directory, ERRORS_FILE);
  fs.mkdirSync(directory, { recursive: true });
  // The lines to copy, by part and file: the record says which line of which part counts for each address.
  const wanted = parts.map(() => ({ output: new Map<number, string>(), error: new Map<number, string>() }));
  for (const address of current) {
    const index = record.source.get(address);
    const at = record.line.get(address);
    if (index === undefined || at === undefined) continue;
    const take = wanted[index];
    if (take) (at > 0 ? take.output : take.error).set(Math.abs(at), address);
  }
  const out = new LineWriter(`${outputPath}.tmp`);
  const err = new LineWriter(`${errorPath}.tmp`);
  const used = new Set<number>();
  try {
    for (const [index, part] of parts.entries()) {
      for (const kind of ["output", "error"] as const) {
        const take = wanted[index]?.[kind];
        const file = part.files[kind];
        if (!file || !take?.size) continue;
        await forEachLine(file, (text, lineNo) => {
          const address = take.get(lineNo);
          if (address === undefined) return;
          const customId = parseAddress(address)?.customId ?? address;
          let copy = withCustomId(text, address, customId);
          if (copy === undefined) {
            const line = JSON.parse(text) as Record<string, unknown>;
            if (line.custom_id !== address)
              throw new Error(
                `${file} line ${lineNo} is not the result of ${address} that this update read there moments before: the file changed while \`pulumi up\` ran; run \`pulumi up\` again`,
              );
            line.custom_id = customId;
            copy = JSON.stringify(line);
          }
          (record.known.get(address) === "succeeded" ? out : err).write(copy);
          used.add(index);
        });
      }
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
    used: [...used],
  };
}

/**
 * `text` (a result line) with its custom_id `address` replaced by `customId`, edited as text (no parse, every other
 * byte as Mistral wrote it); undefined unless `address`, JSON-encoded, occurs exactly once and right after a
 * `"custom_id":` key. Inside a JSON string every quote is escaped, so such an occurrence is a key and its value; the
 * part's summary read this line's top-level custom_id as `address`, so the one occurrence is that one.
 */
export function withCustomId(text: string, address: string, customId: string): string | undefined {
  const encoded = JSON.stringify(address);
  const at = text.indexOf(encoded);
  if (at < 0 || text.indexOf(encoded, at + encoded.length) >= 0) return undefined;
  if (!/"custom_id"\s*:\s*$/.test(text.slice(Math.max(0, at - 32), at))) return undefined;
  return `${text.slice(0, at)}${JSON.stringify(customId)}${text.slice(at + encoded.length)}`;
}

/** Each non-blank line of a final part's output and error files (none for a part still running), as read. */
async function forEachResult(
  part: PartRecord,
  endpoint: ApiEndpoint,
  visit: (r: ReturnType<typeof readResultLine>, text: string, kind: "output" | "error", lineNo: number) => void,
): Promise<void> {
  if (!part.final) return;
  for (const kind of ["output", "error"] as const) {
    const file = part.files[kind];
    if (!file) continue;
    await forEachLine(file, (text, lineNo) => {
      if (text.trim() !== "") visit(readResultLine(text, endpoint, { file, line: lineNo }), text, kind, lineNo);
    });
  }
}
