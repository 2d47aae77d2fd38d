/**
 * A cache of scans of batch input files on disk, so that a file is scanned once while it is unchanged: `pulumi up`
 * runs `check` twice in two provider processes (preview, then update), and later runs check unchanged files again.
 *
 * An entry is keyed by what identifies a file's content on disk: its resolved path, device, inode, size, and
 * modification and change times in nanoseconds (`fs.statSync(p, { bigint: true })`; the change time, which no
 * program can set, moves on every write, rename over or `touch`), plus the scan's options and this cache's format
 * and the package's version. The value is what the scan found (sha256, bytes, requests, the problems of the whole
 * file); a scan that found line problems is not kept (its messages quote the file's lines), nor is a scan of a file
 * changed during it, nor of a file changed too recently for its timestamps to tell a later change apart (the
 * "racy git" rule: timestamps have a granularity). Entries are small JSON files in
 * `node_modules/.cache/pulumi-mistral-batch/scans` of the program's directory (or `$XDG_CACHE_HOME`, `~/.cache`),
 * one per file and options, at most `MAX_ENTRIES`; `PULUMI_MISTRAL_BATCH_SCAN_CACHE` names another directory, or
 * `off`. A cache that cannot be read or written is no error: the file is scanned.
 *
 * A stale entry can never upload other content: the upload hashes what it sends and refuses a mismatch
 * (upload.ts `ContentChangedError`), and the provider then scans again without the cache (`fresh`).
 */
import { createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { MAX_FILE_BYTES, MAX_LINE_BYTES, MAX_REQUESTS_PER_JOB, type ScanOptions, type ScanResult } from "./jsonl";

/** The shape of an entry; raise it when the key or the value changes meaning. */
export const SCAN_CACHE_FORMAT = 1;

/** Entries kept; past it, the least recently written go. */
export const MAX_ENTRIES = 256;

/** The environment variable naming the cache's directory, or `off` (also `0`, `false`, `none`) to disable it. */
export const SCAN_CACHE_ENV = "PULUMI_MISTRAL_BATCH_SCAN_CACHE";

/** What identifies a file's content on disk, as decimal strings (bigints do not go through JSON). */
export interface FileIdentity {
  /** The resolved path. */
  path: string;
  dev: string;
  ino: string;
  size: string;
  mtimeNs: string;
  ctimeNs: string;
}

/** The identity of the file that `stats` (a bigint stat) describes, at `file` (resolved). */
export function identityOf(file: string, stats: fs.BigIntStats): FileIdentity {
  return {
    path: path.resolve(file),
    dev: String(stats.dev),
    ino: String(stats.ino),
    size: String(stats.size),
    mtimeNs: String(stats.mtimeNs),
    ctimeNs: String(stats.ctimeNs),
  };
}

const sameIdentity = (a: FileIdentity, b: FileIdentity): boolean =>
  a.path === b.path &&
  a.dev === b.dev &&
  a.ino === b.ino &&
  a.size === b.size &&
  a.mtimeNs === b.mtimeNs &&
  a.ctimeNs === b.ctimeNs;

/**
 * How long after a file's last change a scan must start for its entry to be kept, in nanoseconds. Timestamps are
 * taken from a clock with a granularity (a few milliseconds on Linux, 1 or 2 s on some file systems): a change in
 * the same tick as the last one would leave them as they were. Timestamps in whole seconds both mean such a file
 * system (2 s); else 100 ms, far above a kernel tick.
 */
export function racyMarginNs(identity: FileIdentity): bigint {
  const second = 1_000_000_000n;
  return BigInt(identity.mtimeNs) % second === 0n && BigInt(identity.ctimeNs) % second === 0n
    ? 2n * second
    : 100_000_000n;
}

/** True when a scan that started at `startedNs` (wall clock) may be kept for this identity (see `racyMarginNs`). */
export function safelyOlder(identity: FileIdentity, startedNs: bigint): boolean {
  const limit = startedNs - racyMarginNs(identity);
  return BigInt(identity.mtimeNs) < limit && BigInt(identity.ctimeNs) < limit;
}

/** The directory of the cache: `PULUMI_MISTRAL_BATCH_SCAN_CACHE`, else as the module's documentation says; undefined when off. */
export function scanCacheDir(env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): string | undefined {
  return cacheDir("scans", SCAN_CACHE_ENV, env, cwd);
}

/**
 * A cache directory of this package: the environment variable `envName` when set (a directory, relative to `cwd`, or
 * `off`: undefined), else `<cwd>/node_modules/.cache/pulumi-mistral-batch/<kind>` when the program's directory has a
 * node_modules, else `$XDG_CACHE_HOME` (or `~/.cache`)`/pulumi-mistral-batch/<kind>`.
 */
export function cacheDir(kind: string, envName: string, env: NodeJS.ProcessEnv, cwd: string): string | undefined {
  const set = env[envName]?.trim();
  if (set) return ["off", "0", "false", "none"].includes(set.toLowerCase()) ? undefined : path.resolve(cwd, set);
  if (fs.existsSync(path.join(cwd, "node_modules")))
    return path.join(cwd, "node_modules/.cache/pulumi-mistral-batch", kind);
  const base = env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache");
  return path.join(base, "pulumi-mistral-batch", kind);
}

let packageVersion: string | undefined;
/** The version of this package (its package.json above this module), part of the key: a release may check otherwise. */
function versionOfPackage(): string {
  if (packageVersion === undefined) {
    packageVersion = "unknown";
    for (let dir = __dirname; path.dirname(dir) !== dir; dir = path.dirname(dir)) {
      try {
        const manifest = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8")) as {
          name?: string;
          version?: string;
        };
        if (manifest.name === "pulumi-mistral-batch") {
          packageVersion = String(manifest.version);
          break;
        }
      } catch {
        // no package.json here: look further up
      }
    }
  }
  return packageVersion;
}

/** The scan's options with their defaults, as they enter the key. */
function optionsKey(options: ScanOptions): Record<string, unknown> {
  return {
    endpoint: options.endpoint ?? null,
    maxBytes: options.maxBytes ?? MAX_FILE_BYTES,
    maxRequests: options.maxRequests ?? MAX_REQUESTS_PER_JOB,
    maxProblems: options.maxProblems ?? 10,
    maxLineBytes: options.maxLineBytes ?? MAX_LINE_BYTES,
  };
}

interface Entry {
  key: unknown;
  result: Pick<ScanResult, "sha256" | "bytes" | "requests" | "fileProblems">;
}

const sha256 = (text: string): string => createHash("sha256").update(text).digest("hex");

/** One cache directory (by default `scanCacheDir()`); `new ScanCache(null)` is a cache that keeps nothing. */
export class ScanCache {
  /** The directory of the entries; undefined when the cache is off. */
  readonly dir: string | undefined;

  constructor(dir: string | null = scanCacheDir() ?? null) {
    this.dir = dir ?? undefined;
  }

  /** The entry's file name: one per path and options (a new identity replaces the old entry), then the key. */
  private names(identity: FileIdentity, options: ScanOptions): { prefix: string; file: string; key: string } {
    const opts = optionsKey(options);
    const prefix = sha256(JSON.stringify([identity.path, opts])).slice(0, 24);
    const key = JSON.stringify({ format: SCAN_CACHE_FORMAT, version: versionOfPackage(), identity, options: opts });
    return { prefix, key, file: `${prefix}-${sha256(key).slice(0, 24)}.json` };
  }

  /** The scan kept for this identity and options, if any and well-formed. */
  get(identity: FileIdentity, options: ScanOptions): ScanResult | undefined {
    if (!this.dir) return undefined;
    const { file, key } = this.names(identity, options);
    let entry: Entry;
    try {
      entry = JSON.parse(fs.readFileSync(path.join(this.dir, file), "utf8")) as Entry;
    } catch {
      return undefined; // none, or unreadable: scan
    }
    const r = entry?.result;
    if (
      JSON.stringify(entry.key) !== key ||
      typeof r !== "object" ||
      r === null ||
      typeof r.sha256 !== "string" ||
      !/^[0-9a-f]{64}$/.test(r.sha256) ||
      r.bytes !== Number(identity.size) ||
      !Number.isSafeInteger(r.requests) ||
      r.requests < 0 ||
      !Array.isArray(r.fileProblems) ||
      !r.fileProblems.every((p) => typeof p === "string")
    )
      return undefined;
    return {
      sha256: r.sha256,
      bytes: r.bytes,
      requests: r.requests,
      problems: [],
      moreProblems: false,
      fileProblems: [...r.fileProblems],
    };
  }

  /**
   * Keeps `result` for this identity and options, replacing what was kept for the same path and options; a result
   * with line problems is not kept. Never throws: a cache that cannot be written is only slower.
   */
  set(identity: FileIdentity, options: ScanOptions, result: ScanResult): boolean {
    if (!this.dir || result.problems.length > 0 || result.moreProblems) return false;
    const { prefix, file, key } = this.names(identity, options);
    const entry: Entry = {
      key: JSON.parse(key),
      result: {
        sha256: result.sha256,
        bytes: result.bytes,
        requests: result.requests,
        fileProblems: result.fileProblems,
      },
    };
    try {
      fs.mkdirSync(this.dir, { recursive: true });
      const tmp = path.join(this.dir, `.${file}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
      fs.writeFileSync(tmp, `${JSON.stringify(entry)}\n`);
      fs.renameSync(tmp, path.join(this.dir, file));
      this.prune(prefix, file);
      return true;
    } catch {
      return false;
    }
  }

  /** Forgets what was kept for this path and options (whatever its identity). */
  delete(file: string, options: ScanOptions): void {
    if (!this.dir) return;
    const prefix = sha256(JSON.stringify([path.resolve(file), optionsKey(options)])).slice(0, 24);
    try {
      for (const name of fs.readdirSync(this.dir))
        if (name.startsWith(`${prefix}-`)) fs.rmSync(path.join(this.dir, name), { force: true });
    } catch {
      // nothing kept, or not removable: a stale entry is refused by the upload's hash anyway
    }
  }

  /** Removes the other entries of the same path and options, then the oldest ones past MAX_ENTRIES. */
  private prune(prefix: string, kept: string): void {
    const names = fs.readdirSync(this.dir ?? "").filter((n) => n.endsWith(".json"));
    const others: { name: string; mtimeMs: number }[] = [];
    for (const name of names) {
      if (name === kept) continue;
      const p = path.join(this.dir ?? "", name);
      if (name.startsWith(`${prefix}-`)) fs.rmSync(p, { force: true });
      else others.push({ name, mtimeMs: fs.statSync(p, { throwIfNoEntry: false })?.mtimeMs ?? 0 });
    }
    if (others.length + 1 <= MAX_ENTRIES) return;
    others.sort((a, b) => a.mtimeMs - b.mtimeMs);
    for (const o of others.slice(0, others.length + 1 - MAX_ENTRIES))
      fs.rmSync(path.join(this.dir ?? "", o.name), { force: true });
  }
}

/** How `scanFileCached` answered: from the cache, or by scanning (then whether the scan was kept). */
export interface CachedScan {
  result: ScanResult;
  cached: boolean;
  stored: boolean;
}

/**
 * Scans `file` with `scan`, or answers from `cache` when it holds a scan of the same content identity and options.
 * With `fresh`, the cache is not read (the entry for the path is forgotten first), only written.
 */
export async function scanFileCached(
  file: string,
  options: ScanOptions,
  scan: (file: string, options: ScanOptions) => Promise<ScanResult>,
  cache: ScanCache = new ScanCache(),
  fresh = false,
): Promise<CachedScan> {
  const resolved = path.resolve(file);
  const startedNs = BigInt(Date.now()) * 1_000_000n;
  const before = statIdentity(resolved);
  if (before && !fresh) {
    const hit = cache.get(before, options);
    if (hit) return { result: hit, cached: true, stored: false };
  }
  if (fresh) cache.delete(resolved, options);
  const result = await scan(resolved, options);
  // Kept only if the file is the same after the scan as before it, and its last change was safely before the scan.
  const after = statIdentity(resolved);
  const stored =
    before !== undefined &&
    after !== undefined &&
    sameIdentity(before, after) &&
    safelyOlder(before, startedNs) &&
    cache.set(before, options, result);
  return { result, cached: false, stored };
}

function statIdentity(file: string): FileIdentity | undefined {
  try {
    const stats = fs.statSync(file, { bigint: true });
    return stats.isFile() ? identityOf(file, stats) : undefined;
  } catch {
    return undefined; // the scan says what is wrong
  }
}
