/**
 * Local paths as state records them. State must not depend on where the project is checked out (a moved checkout,
 * a teammate's clone elsewhere): a path inside the program's directory (`process.cwd()`, the project folder when the
 * CLI runs the program and the provider) is stored relative to it, with `/` separators; a path outside it stays
 * absolute. Every use resolves the stored path against the working directory, so what older versions stored
 * (absolute paths) still works.
 */
import * as path from "node:path";

/** `p` (relative to `cwd`, or absolute) as stored in state: relative when inside `cwd`, else absolute. */
export function toStatePath(p: string, cwd: string = process.cwd()): string {
  const absolute = path.resolve(cwd, p);
  const relative = path.relative(cwd, absolute);
  if (relative === "") return ".";
  if (relative === ".." || relative.startsWith(`..${path.sep}`) || path.isAbsolute(relative)) return absolute;
  return relative.split(path.sep).join("/");
}

/** A stored (or user-given) path, resolved against the working directory for use. */
export function resolveStatePath(p: string, cwd: string = process.cwd()): string {
  return path.resolve(cwd, p);
}

/** Whether two paths, stored or given, name the same place (an old absolute path and a new relative one). */
export function samePath(
  a: string | null | undefined,
  b: string | null | undefined,
  cwd: string = process.cwd(),
): boolean {
  if (a === null || a === undefined || b === null || b === undefined) return (a ?? null) === (b ?? null);
  return a === b || resolveStatePath(a, cwd) === resolveStatePath(b, cwd);
}

/** The version of what the providers write to state: raise it when the shape of inputs or outputs changes. */
export const STATE_VERSION = 1;

/** The version to record: the current one, unless the state came from a newer release (then it is kept). */
export function stateVersionOf(props: { stateVersion?: unknown } | undefined): number {
  const v = props?.stateVersion;
  return typeof v === "number" && v > STATE_VERSION ? v : STATE_VERSION;
}
