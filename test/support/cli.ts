/**
 * Runs the built emulator CLI (the `mistral-batch-emulator` bin of packages/emulator) as a child process, for tests that need a real process:
 * signals, exit codes, kill -9. Every process started here is tracked so `stopAllClis()` can clean up after a
 * failed test.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

const PACKAGE = path.resolve(__dirname, "../../packages/emulator");
const MANIFEST = JSON.parse(fs.readFileSync(path.join(PACKAGE, "package.json"), "utf8")) as {
  bin: Record<string, string>;
};
/** The emulator package's bin, as `npx mistral-batch-emulator` runs it. */
export const CLI = path.join(PACKAGE, MANIFEST.bin["mistral-batch-emulator"]!);

/** Throws unless the package's dist/ holds a build at least as new as every emulator source (run `npm run build`). */
export function assertBuilt(): void {
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
  const src = path.join(PACKAGE, "src");
  for (const name of fs.readdirSync(src).filter((n) => n.endsWith(".ts") && !n.endsWith(".test.ts"))) {
    const built = path.join(PACKAGE, "dist", name.replace(/\.ts$/, ".js"));
    if (!fs.existsSync(built) || fs.statSync(built).mtimeMs < fs.statSync(path.join(src, name)).mtimeMs) {
      throw new Error(
        `packages/emulator/dist/${path.basename(built)} is older than src/${name}: run \`npm run build\` first`,
      );
    }
  }
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface CliProcess {
  proc: ChildProcess;
  /** Base URL printed on the first line of stdout. */
  url: string;
  stdout(): string;
  stderr(): string;
  exited: Promise<Exit>;
}

const live = new Set<ChildProcess>();

function envFor(env: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = { ...process.env };
  delete base.MISTRAL_EMULATOR_FAULTS;
  delete base.MISTRAL_EMULATOR_API_KEY;
  delete base.MISTRAL_EMULATOR_PROFILE;
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete base[k];
    else base[k] = v;
  }
  return base;
}

function launch(args: string[], env: Record<string, string | undefined>) {
  const proc = spawn(process.execPath, [CLI, ...args], { env: envFor(env), stdio: ["ignore", "pipe", "pipe"] });
  live.add(proc);
  let stdout = "";
  let stderr = "";
  proc.stdout!.setEncoding("utf8").on("data", (d: string) => (stdout += d));
  proc.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  const exited = new Promise<Exit>((resolve) => {
    proc.on("exit", (code, signal) => {
      live.delete(proc);
      // let the pipes drain before callers read stdout/stderr
      setImmediate(() => resolve({ code, signal }));
    });
  });
  return { proc, exited, stdout: () => stdout, stderr: () => stderr };
}

/** Runs the CLI to completion (for `--help` and bad flags). */
export async function runCli(args: string[], env: Record<string, string | undefined> = {}, timeoutMs = 10_000) {
  const p = launch(args, env);
  const timer = setTimeout(() => p.proc.kill("SIGKILL"), timeoutMs);
  const exit = await p.exited;
  clearTimeout(timer);
  return { ...exit, stdout: p.stdout(), stderr: p.stderr() };
}

/** Starts the CLI and resolves once it printed its base URL; rejects if it exits or stays silent first. */
export async function startCli(
  args: string[],
  env: Record<string, string | undefined> = {},
  timeoutMs = 10_000,
): Promise<CliProcess> {
  const p = launch(args, env);
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      p.proc.kill("SIGKILL");
      reject(new Error(`emulator CLI printed no URL within ${timeoutMs} ms; stderr: ${p.stderr()}`));
    }, timeoutMs);
    const onData = () => {
      const nl = p.stdout().indexOf("\n");
      if (nl === -1) return;
      clearTimeout(timer);
      p.proc.stdout!.off("data", onData);
      resolve(p.stdout().slice(0, nl));
    };
    p.proc.stdout!.on("data", onData);
    void p.exited.then((exit) => {
      clearTimeout(timer);
      reject(new Error(`emulator CLI exited (${JSON.stringify(exit)}) before printing its URL; stderr: ${p.stderr()}`));
    });
  });
  // The banner on stderr is written before the URL, but the two pipes are read independently.
  const deadline = Date.now() + 2000;
  while (!p.stderr().includes("mistral-batch-emulator: serving") && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 5));
  }
  return { ...p, url };
}

/**
 * Stops every CLI process still running: SIGTERM first, so each removes its temporary data directory, then
 * SIGKILL for any that has not exited after `graceMs`. Resolves once they are all gone.
 */
export async function stopAllClis(graceMs = 3000): Promise<void> {
  const procs = [...live];
  await Promise.all(
    procs.map(
      (proc) =>
        new Promise<void>((resolve) => {
          if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
          const timer = setTimeout(() => proc.kill("SIGKILL"), graceMs);
          proc.once("exit", () => {
            clearTimeout(timer);
            resolve();
          });
          proc.kill("SIGTERM");
        }),
    ),
  );
}
