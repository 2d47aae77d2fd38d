/**
 * Running Pulumi projects offline the way users run them: a project folder (its `Pulumi.yaml`, `package.json` and
 * program), the `pulumi` CLI with its Node.js language host (scripts/pulumi-cli.sh), a local file backend and a
 * private PULUMI_HOME per run, so nothing touches the user's own `~/.pulumi` login or stacks. The Automation API
 * drives the CLI here with a `workDir` and no inline program, so every operation goes through the project's
 * `Pulumi.yaml` and the language host, exactly as `pulumi up` typed in that folder. Used by `npm run demo` and by
 * the end-to-end tests.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import type * as automation from "@pulumi/pulumi/automation";

/** The package's root directory (this file runs from scripts/ or dist/scripts/). */
export const ROOT = (() => {
  for (let dir = __dirname; path.dirname(dir) !== dir; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, "scripts/pulumi-cli.sh"))) return dir;
  }
  throw new Error(`engine: no package root above ${__dirname}`);
})();

/**
 * Installs the built package into `nodeModules` as `npm install pulumi-mistral-batch` does: a copy of what the
 * package publishes (package.json, README.md, dist/provider/ without source maps) under
 * `nodeModules/pulumi-mistral-batch`, its dependencies beside it (linked to this repository's installed ones), and
 * `@pulumi/pulumi` (linked likewise), which the program brings itself. A copy, not a link to the repository: Node
 * resolves a linked package to its real path, outside any node_modules, where Pulumi's serializer stores the
 * provider by value (the `npm link` form) and the language host's plugin search walks the whole repository.
 */
export function installPackage(nodeModules: string): void {
  const target = path.join(nodeModules, "pulumi-mistral-batch");
  fs.mkdirSync(target, { recursive: true });
  for (const file of ["package.json", "README.md"]) fs.copyFileSync(path.join(ROOT, file), path.join(target, file));
  fs.cpSync(path.join(ROOT, "dist/provider"), path.join(target, "dist/provider"), {
    recursive: true,
    filter: (src) => !src.endsWith(".map"),
  });
  const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
    dependencies?: Record<string, string>;
  };
  for (const dep of ["@pulumi/pulumi", ...Object.keys(manifest.dependencies ?? {})]) {
    const link = path.join(nodeModules, dep);
    fs.mkdirSync(path.dirname(link), { recursive: true });
    if (!fs.existsSync(link)) fs.symlinkSync(path.join(ROOT, "node_modules", dep), link);
  }
}

let binDir: string | undefined;
/**
 * The directory holding what a Pulumi install holds: `pulumi`, `pulumi-language-nodejs` and
 * `pulumi-resource-pulumi-nodejs` (scripts/pulumi-cli.sh; built once and cached when not installed).
 */
export function pulumiBinDir(): string {
  if (!binDir) {
    const out = execFileSync("bash", [path.join(ROOT, "scripts/pulumi-cli.sh")], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
      timeout: 60 * 60_000,
    });
    // The bin directory is the script's last line of output (split always gives at least one).
    const lines = out.trim().split("\n");
    binDir = lines[lines.length - 1];
  }
  return binDir;
}

/**
 * The engine's environment: the engine's binaries first on PATH, a local backend in `stateDir`, `home` as
 * PULUMI_HOME, a fixed passphrase for the local secrets provider, and no update checks or plugin downloads.
 */
export function engineEnv(stateDir: string, home: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: `${pulumiBinDir()}${path.delimiter}${process.env.PATH}`,
    PULUMI_HOME: home,
    PULUMI_BACKEND_URL: `file://${stateDir}`,
    PULUMI_CONFIG_PASSPHRASE: "offline-passphrase",
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK: "true",
    ...extra,
  };
}

export interface ProjectStackOptions {
  /** The project folder: it holds the `Pulumi.yaml` that names the project, its runtime and its `main`. */
  workDir: string;
  stackName: string;
  /** The local backend's directory (`file://`), created if missing. */
  stateDir: string;
  /** The private PULUMI_HOME of this run, created if missing. */
  home: string;
  /** Sets mistral:serverUrl. */
  serverUrl?: string;
  /** Sets mistral:apiKey, as a secret. */
  apiKey?: string;
  env?: Record<string, string>;
}

let command: Promise<automation.PulumiCommand> | undefined;
/**
 * The `pulumi` CLI of pulumiBinDir() for the Automation API (else it would look for one on PATH or download one).
 * Found once per process: `PulumiCommand.get` runs `pulumi version` each time.
 */
function pulumiCommand(): Promise<automation.PulumiCommand> {
  const auto = require("@pulumi/pulumi/automation") as typeof automation;
  command ??= auto.PulumiCommand.get({ root: path.dirname(pulumiBinDir()), skipVersionCheck: true });
  return command;
}

/**
 * A stack of the project in `workDir` on a local backend, configured for Mistral (or the emulator). Its operations
 * run `pulumi` in that folder, which starts the program through the language host from the project's
 * `Pulumi.yaml`. The stack's settings file (`Pulumi.<stack>.yaml`) is written into the folder, as the CLI does.
 */
export async function projectStack(o: ProjectStackOptions): Promise<automation.Stack> {
  const auto = require("@pulumi/pulumi/automation") as typeof automation;
  fs.mkdirSync(o.stateDir, { recursive: true });
  fs.mkdirSync(o.home, { recursive: true });
  const ws = await auto.LocalWorkspace.create({
    workDir: o.workDir,
    pulumiHome: o.home,
    envVars: engineEnv(o.stateDir, o.home, o.env),
    pulumiCommand: await pulumiCommand(),
  });
  // Create first, select if it exists: createOrSelect runs `pulumi stack select`, then `pulumi stack init` for a new
  // stack (two CLI processes where one does).
  const stack = await auto.Stack.create(o.stackName, ws).catch((error: unknown) => {
    if (error instanceof auto.StackAlreadyExistsError) return auto.Stack.select(o.stackName, ws);
    throw error;
  });
  // One `pulumi config set-all` for both (each CLI call costs a process start).
  const config: automation.ConfigMap = {};
  if (o.apiKey !== undefined) config["mistral:apiKey"] = { value: o.apiKey, secret: true };
  if (o.serverUrl !== undefined) config["mistral:serverUrl"] = { value: o.serverUrl };
  if (Object.keys(config).length > 0) await stack.setAllConfig(config);
  return stack;
}
