/**
 * Shards of an evaluation's dataset: where to cut its lines, in order, so that every shard fits one Mistral job
 * (at most `maxRequests` requests) and one file (at most `maxBytes` bytes), with boundaries that stay put when the
 * dataset is edited. Pure: the caller streams the lines in (`ShardCutter.push`), nothing is read or written here.
 *
 * Content-defined boundaries. A line's fingerprint is the SHA-256 of its custom_id (never its body, so editing a
 * body never moves a boundary). A line *hits* when its fingerprint's second 32 bits are divisible by `avg`. A shard
 * ends after a hitting line when none of the `min - 1` lines before it hit (the dataset's start counts as a hit):
 * so content-defined shards hold at least `min` requests, and whether a line ends a shard depends only on the
 * `min` lines ending with it, not on where its shard started. That locality is what keeps edits local: inserting
 * or deleting a line can only change boundaries within the `min` lines after it, which hold at most one boundary,
 * so at most two shards change (a rule counting from the shard's start instead can cascade through every later
 * shard). A shard is also cut, *forced*, before a line that would take it over either cap; a forced cut depends on
 * where its shard started, so edits before it can move it, until the next content-defined boundary.
 *
 * With min = avg = cap / 7 (cap = maxRequests), shards average about 0.4 of the cap and about 1.5% of cuts are
 * forced by the request cap (1,000,000 custom_ids `item-<n>`: at a cap of 1,000, 2,609 shards averaging 0.38 of the
 * cap, 39 forced; at 100,000, 27 shards, none forced). A shard after a forced cut may be small. Lines larger on average
 * than maxBytes / maxRequests (5.2 KiB at Mistral's limits) make the byte cap bind first: then most cuts are forced.
 *
 * A dataset within both caps is exactly one shard, whatever its fingerprints.
 *
 * Memory: per shard its start, count and bytes; nothing per line.
 */
import { hash } from "node:crypto";

/** The caps of one shard: Mistral's per-job and per-file limits, or lower ones. */
export interface ShardLimits {
  /** Requests per shard (one job). */
  maxRequests: number;
  /** Bytes per shard (one file), counting each line's largest uploaded variant and its newline. */
  maxBytes: number;
}

/** One shard: lines `start` to `start + requests - 1` (0-based, non-blank lines), in dataset order. */
export interface Shard {
  /** The first 8 hex digits of the fingerprint of its first line's custom_id (a `-<n>` suffix if taken already). */
  id: string;
  /** Index of its first line among the dataset's requests (0-based). */
  start: number;
  requests: number;
  /** Bytes of its lines' largest uploaded variants, newlines included. */
  bytes: number;
  /**
   * Why it ends: at a content-defined `boundary`; forced because the next line would take it over the `requests` or
   * the `bytes` cap; or at the dataset's end (`last`).
   */
  end: "boundary" | "requests" | "bytes" | "last";
}

/** The fingerprint of a custom_id: the SHA-256 hex digest of its UTF-8 bytes. */
export function fingerprint(customId: string): string {
  return hash("sha256", customId, "hex");
}

/** The content-defined parameters for a request cap: at least `min` requests a shard, a hit one line in `avg`. */
export function shardParameters(maxRequests: number): { min: number; avg: number } {
  const step = Math.max(1, Math.floor(maxRequests / 7));
  return { min: step, avg: step };
}

const isPositiveInteger = (n: unknown): n is number => typeof n === "number" && Number.isSafeInteger(n) && n >= 1;

/**
 * Cuts a stream of lines into shards: `push` each line (its custom_id and its bytes) in order, then `end()`.
 */
export class ShardCutter {
  private readonly min: number;
  private readonly avg: number;
  private readonly done: Shard[] = [];
  private current: Shard | undefined;
  /** Lines since the last hit (the dataset's start counts as one). */
  private sinceHit = 0;
  private lines = 0;
  private totalBytes = 0;
  private readonly ids = new Set<string>();

  constructor(readonly limits: ShardLimits) {
    for (const key of ["maxRequests", "maxBytes"] as const) {
      if (!isPositiveInteger(limits[key]))
        throw new RangeError(`ShardCutter: ${key} is ${String(limits[key])}; expected a positive integer`);
    }
    ({ min: this.min, avg: this.avg } = shardParameters(limits.maxRequests));
  }

  /** Adds the next line: its custom_id and its bytes (largest uploaded variant plus newline). */
  push(customId: string, bytes: number): void {
    if (bytes > this.limits.maxBytes)
      throw new RangeError(
        `line ${this.lines + 1} (custom_id ${JSON.stringify(customId)}) takes ${bytes} bytes uploaded; a file holds at most ${this.limits.maxBytes} bytes: shorten the line or raise the byte limit`,
      );
    const fp = fingerprint(customId);
    let shard = this.current;
    if (shard !== undefined && shard.requests + 1 > this.limits.maxRequests) shard = this.close("requests");
    else if (shard !== undefined && shard.bytes + bytes > this.limits.maxBytes) shard = this.close("bytes");
    if (shard === undefined) {
      shard = { id: this.uniqueId(fp.slice(0, 8)), start: this.lines, requests: 0, bytes: 0, end: "last" };
      this.current = shard;
    }
    shard.requests++;
    shard.bytes += bytes;
    this.lines++;
    this.totalBytes += bytes;
    const hit = Number.parseInt(fp.slice(8, 16), 16) % this.avg === 0;
    const cut = hit && this.sinceHit >= this.min - 1;
    this.sinceHit = hit ? 0 : this.sinceHit + 1;
    if (cut) this.close("boundary");
  }

  /** The shards, in order: one when the whole dataset fits both caps, none for no lines. */
  end(): Shard[] {
    this.close("last");
    const first = this.done[0];
    if (
      first !== undefined &&
      this.lines <= this.limits.maxRequests &&
      this.totalBytes <= this.limits.maxBytes &&
      this.done.length > 1
    ) {
      return [{ id: first.id, start: 0, requests: this.lines, bytes: this.totalBytes, end: "last" }];
    }
    return [...this.done];
  }

  /** Ends the current shard, if any, for `why`; returns undefined (no current shard). */
  private close(why: Shard["end"]): undefined {
    if (this.current !== undefined) {
      this.current.end = why;
      this.done.push(this.current);
    }
    this.current = undefined;
    return undefined;
  }

  /** Shard ids name resources: a repeated one (a 32-bit collision, or a custom_id's shard starting twice) gets `-<n>`. */
  private uniqueId(id: string): string {
    let unique = id;
    for (let n = 2; this.ids.has(unique); n++) unique = `${id}-${n}`;
    this.ids.add(unique);
    return unique;
  }
}

/** The shards of lines given in memory (tests, small datasets): each as `[customId, bytes]`. */
export function cutShards(lines: Iterable<readonly [string, number]>, limits: ShardLimits): Shard[] {
  const cutter = new ShardCutter(limits);
  for (const [id, bytes] of lines) cutter.push(id, bytes);
  return cutter.end();
}
