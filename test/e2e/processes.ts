/**
 * Processes, for end-to-end tests that kill the engine or must prove nothing keeps running: read from /proc
 * (Linux), so children, grandchildren and reparented orphans are all visible.
 */
import * as fs from "node:fs";
import * as path from "node:path";

export interface Proc {
  pid: number;
  ppid: number;
  state: string;
  /** The command line, arguments joined by spaces. */
  cmd: string;
}

function parseStat(stat: string): { state: string; ppid: number } {
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so read after the last ")".
  const [state, ppid] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return { state, ppid: Number(ppid) };
}

export function processTable(): Proc[] {
  const out: Proc[] = [];
  for (const name of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const { state, ppid } = parseStat(fs.readFileSync(`/proc/${name}/stat`, "utf8"));
      const cmd = fs.readFileSync(`/proc/${name}/cmdline`, "utf8").split("\0").filter(Boolean).join(" ");
      out.push({ pid: Number(name), ppid, state, cmd });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** Children, grandchildren, ... of `pid`. */
export function descendants(pid: number, table = processTable()): Proc[] {
  const found: Proc[] = [];
  const queue = [pid];
  while (queue.length) {
    const parent = queue.shift()!;
    for (const p of table) {
      if (p.ppid === parent) {
        found.push(p);
        queue.push(p.pid);
      }
    }
  }
  return found;
}

/** Alive and not a zombie (a zombie only waits for its parent to reap it). */
export function alive(pid: number): boolean {
  try {
    return parseStat(fs.readFileSync(`/proc/${pid}/stat`, "utf8")).state !== "Z";
  } catch {
    return false;
  }
}

/** Live processes whose working directory is `dir` or inside it (the CLI and the dynamic-provider host run in the program's). */
export function processesIn(dir: string): Proc[] {
  return processTable().filter((p) => {
    try {
      const cwd = fs.readlinkSync(`/proc/${p.pid}/cwd`);
      return (cwd === dir || cwd.startsWith(dir + path.sep)) && alive(p.pid);
    } catch {
      return false;
    }
  });
}

/** The `pulumi` CLI running `verb` that the Automation API spawned from this process. */
export function pulumiChild(verb: string): Proc | undefined {
  return descendants(process.pid).find((p) => {
    const argv = p.cmd.split(" ");
    return path.basename(argv[0] ?? "") === "pulumi" && argv.includes(verb) && alive(p.pid);
  });
}

/** SIGKILLs `root` and everything under it, taken as one snapshot first (orphans get reparented out of sight); waits until they are gone. */
export async function killTree(root: Proc): Promise<Proc[]> {
  const tree = [root, ...descendants(root.pid)];
  killAll(tree);
  for (let i = 0; i < 100 && tree.some((p) => alive(p.pid)); i++) await new Promise((r) => setTimeout(r, 50));
  return tree;
}

/** SIGKILLs those of `procs` still running the same command (pids get reused: never kill a stranger). */
export function killAll(procs: Proc[]): void {
  const now = new Map(processTable().map((p) => [p.pid, p]));
  for (const p of procs) {
    if (!alive(p.pid) || now.get(p.pid)?.cmd !== p.cmd) continue;
    try {
      process.kill(p.pid, "SIGKILL");
    } catch {
      // gone meanwhile
    }
  }
}
