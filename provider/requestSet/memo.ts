/**
 * Values a RequestSet derives from its files (the addresses of its source, what each part's files tell of each
 * request, the current results written from them), kept in small JSON files beside them and used again while the
 * files they came from are unchanged: a no-change `pulumi up` (which runs the set's diff and update in one process,
 * after the preview's in another) then reads a few small files instead of parsing every request and result line.
 *
 * An entry is keyed as the scan cache's are (scanCache.ts): each file's resolved path, device, inode, size and
 * modification and change times in nanoseconds (an absent file counts as absent), plus what the caller puts in the
 * key (its format, options). An entry is written only when no file changed while the value was computed and each
 * file is old enough for its timestamps to tell a later change apart (the "racy git" rule, `safelyOlder`), except the
 * files this package wrote itself and nothing else writes (a part's downloaded results, the merged results). An entry
 * that cannot be read or written is no error: the value is computed. `PULUMI_MISTRAL_BATCH_SCAN_CACHE=off` turns
 * these entries off with the scan cache.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { type FileIdentity, SCAN_CACHE_ENV, identityOf, safelyOlder } from "../scanCache";

/** The shape of every entry; raise it when one changes meaning. */
export const MEMO_FORMAT = 1;

interface Entry<T> {
  format: number;
  key: unknown;
  files: (FileIdentity | null)[];
  value: T;
}

/** False when the environment turns the caches off (`PULUMI_MISTRAL_BATCH_SCAN_CACHE=off`, `0`, `false`, `none`). */
export function memoEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  const set = env[SCAN_CACHE_ENV]?.trim().toLowerCase();
  return !(set && ["off", "0", "false", "none"].includes(set));
}

/** The identities of `files` now (null for a file that is not there). */
export function identities(files: readonly string[]): (FileIdentity | null)[] {
  return files.map((file) => {
    const stats = fs.statSync(file, { bigint: true, throwIfNoEntry: false });
    return stats ? identityOf(file, stats) : null;
  });
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/** The value kept in `entryFile` for `files` as they are now and `key`, or undefined. */
export function recall<T>(entryFile: string, files: readonly string[], key: unknown): T | undefined {
  if (!memoEnabled()) return undefined;
  let entry: Entry<T>;
  try {
    entry = JSON.parse(fs.readFileSync(entryFile, "utf8")) as Entry<T>;
  } catch {
    return undefined; // none yet, or unreadable: computed again
  }
  if (entry.format !== MEMO_FORMAT || !same(entry.key, key) || !same(entry.files, identities(files))) return undefined;
  return entry.value;
}

/** What `remember` and `memoized` take besides the files and the key. */
export interface MemoOptions {
  /** Of the files, those this package wrote and nothing else writes: kept however recently they were written. */
  ours?: readonly string[];
}

/**
 * Keeps `value` in `entryFile` for `files` and `key` when `before` (their identities when computing began, at
 * `startedNs` on the wall clock) still holds and every file is old enough (see the module's documentation).
 */
export function remember<T>(
  entryFile: string,
  files: readonly string[],
  key: unknown,
  value: T,
  before: (FileIdentity | null)[],
  startedNs: bigint,
  options: MemoOptions = {},
): void {
  if (!memoEnabled()) return;
  const now = identities(files);
  const ours = new Set(options.ours ?? []);
  const young = now.some((id, i) => id !== null && !ours.has(files[i] ?? "") && !safelyOlder(id, startedNs));
  if (!same(now, before) || young) {
    fs.rmSync(entryFile, { force: true });
    return;
  }
  const entry: Entry<T> = { format: MEMO_FORMAT, key, files: now, value };
  const tmp = `${entryFile}.${process.pid}.tmp`;
  try {
    fs.mkdirSync(path.dirname(entryFile), { recursive: true });
    fs.writeFileSync(tmp, JSON.stringify(entry));
    fs.renameSync(tmp, entryFile);
  } catch {
    fs.rmSync(tmp, { force: true }); // not kept: computed again next time
  }
}

/** The wall clock in nanoseconds, as the files' timestamps are. */
export const wallNs = (): bigint => BigInt(Date.now()) * 1_000_000n;

/**
 * The value for `files` and `key`: the one kept in `entryFile` while they are unchanged, else `compute()`'s, kept
 * for next time.
 */
export async function memoized<T>(
  entryFile: string,
  files: readonly string[],
  key: unknown,
  compute: () => Promise<T>,
  options: MemoOptions = {},
): Promise<T> {
  const kept = recall<T>(entryFile, files, key);
  if (kept !== undefined) return kept;
  const startedNs = wallNs();
  const before = identities(files);
  const value = await compute();
  remember(entryFile, files, key, value, before, startedNs, options);
  return value;
}
