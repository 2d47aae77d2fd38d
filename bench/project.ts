/**
 * A Pulumi project folder for the engine benchmarks (bench/engine.ts, bench/evaluation.ts): this package installed
 * as a copy (as `npm install` does), a file:// backend and a private PULUMI_HOME, and `pulumi` run through the real
 * CLI with its time, CPU and the peak RSS of the provider host and of the program's process.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import { engineEnv, installPackage } from "../scripts/engine";
import { procKb } from "./common";

/** The key the benchmark projects configure (the emulator accepts any). */
export const KEY = "sk-bench-engine";

/** One `pulumi` operation's figures. */
export interface PulumiRun {
  seconds: number;
  /** User + system time of the whole process tree (bash's `times`). */
  cpu: number;
  stdout: string;
  /** Peak RSS (VmHWM) of the dynamic-provider host, kB. */
  providerKb: number;
  /** Peak RSS of the program's Node process (the language host's `cmd/run`), kB. */
  programKb: number;
}

/** A project folder (Pulumi.yaml, package.json, index.js; node_modules with this package and @pulumi/pulumi). */
export class Project {
  readonly workDir: string;
  readonly env: Record<string, string>;
  constructor(
    base: string,
    readonly name: string,
    program: string,
  ) {
    const dir = path.join(base, name);
    this.workDir = path.join(dir, "program");
    const state = path.join(dir, "state");
    const home = path.join(dir, "home");
    for (const d of [this.workDir, state, home]) fs.mkdirSync(d, { recursive: true });
    fs.writeFileSync(path.join(this.workDir, "Pulumi.yaml"), `name: bench-${name}\nruntime: nodejs\n`);
    fs.writeFileSync(
      path.join(this.workDir, "package.json"),
      JSON.stringify({ name: `bench-${name}`, private: true, main: "index.js" }),
    );
    fs.writeFileSync(path.join(this.workDir, "index.js"), `"use strict";\n${program}\n`);
    installPackage(path.join(this.workDir, "node_modules"));
    this.env = { ...(process.env as Record<string, string>), ...engineEnv(state, home) };
  }

  /** Runs `pulumi <args>` in the project folder; the time, the output and the provider host's peak RSS. */
  async pulumi(args: string[], what: string): Promise<PulumiRun> {
    const real = fs.realpathSync(this.workDir);
    const hwm = new Map<number, number>();
    const programHwm = new Map<number, number>();
    const sample = () => {
      for (const entry of fs.readdirSync("/proc")) {
        if (!/^\d+$/.test(entry)) continue;
        try {
          if (fs.readlinkSync(`/proc/${entry}/cwd`) !== real) continue;
          const cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, "utf8");
          const into = cmdline.includes("dynamic-provider") ? hwm : /cmd.run/.test(cmdline) ? programHwm : undefined;
          if (into === undefined) continue;
          const kb = procKb(Number(entry), "VmHWM");
          into.set(Number(entry), Math.max(into.get(Number(entry)) ?? 0, kb));
        } catch {
          // gone, or not ours to read
        }
      }
    };
    const timer = setInterval(sample, 25);
    const started = performance.now();
    // Through bash, whose `times` then gives the CPU time of the whole process tree (the CLI reaps its language
    // host, program and provider processes): less at the mercy of other load than the wall time.
    const child = spawn(
      "bash",
      [
        "-c",
        'pulumi "$@"; status=$?; times >&2; exit $status',
        "pulumi",
        ...args,
        "--non-interactive",
        "--stack",
        "dev",
      ],
      { cwd: this.workDir, env: this.env, stdio: ["ignore", "pipe", "pipe"] },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const code: number | null = await new Promise((resolve, reject) => {
      child.on("error", reject);
      child.on("close", resolve);
    });
    const seconds = (performance.now() - started) / 1000;
    clearInterval(timer);
    if (code !== 0) {
      throw new Error(
        `${this.name}: ${what} (pulumi ${args.join(" ")}) exited ${code}:\n${(stdout + stderr).trim().slice(-3000)}`,
      );
    }
    // `times`: the shell's own user and system time, then its children's (the last line).
    const last = stderr.trim().split("\n").pop() ?? "";
    const cpu = [...last.matchAll(/(\d+)m([\d.]+)s/g)].reduce((t, m) => t + Number(m[1]) * 60 + Number(m[2]), 0);
    return {
      seconds,
      cpu,
      stdout,
      providerKb: Math.max(0, ...hwm.values()),
      programKb: Math.max(0, ...programHwm.values()),
    };
  }

  async init(serverUrl: string): Promise<void> {
    await this.pulumi(["stack", "init"], "stack init");
    await this.pulumi(["config", "set", "mistral:serverUrl", serverUrl], "config");
    await this.pulumi(["config", "set", "--secret", "mistral:apiKey", KEY], "config");
  }

  /** A preview; fails unless every resource of the program, and the stack, shows the step `op` (create, same). */
  async preview(op: string, resources: number): Promise<PulumiRun> {
    const run = await this.pulumi(["preview", "--json"], "preview");
    const summary = (JSON.parse(run.stdout) as { changeSummary?: Record<string, number> }).changeSummary ?? {};
    const others = Object.entries(summary).filter(([k, n]) => k !== op && n > 0);
    if (summary[op] !== resources + 1 || others.length) {
      throw new Error(
        `${this.name}: preview's change summary is ${JSON.stringify(summary)}; expected ${resources + 1} (the resources and the stack) "${op}" and nothing else`,
      );
    }
    return run;
  }

  /** The compact JSON size of each resource of the exported state, by URN name, with its type. */
  async stateSizes(): Promise<{ name: string; type: string; bytes: number; providerBytes: number }[]> {
    const run = await this.pulumi(["stack", "export"], "stack export");
    const deployment = (JSON.parse(run.stdout) as { deployment: { resources?: Record<string, unknown>[] } }).deployment;
    return (deployment.resources ?? []).map((r) => {
      const p = (r.inputs as { __provider?: string } | undefined)?.__provider;
      return {
        name: String(r.urn).split("::").pop() ?? "",
        type: String(r.type),
        bytes: Buffer.byteLength(JSON.stringify(r)),
        providerBytes: p === undefined ? 0 : Buffer.byteLength(JSON.stringify(p)),
      };
    });
  }
}
