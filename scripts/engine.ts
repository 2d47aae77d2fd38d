/**
 * Running Pulumi programs offline with the real engine: the `pulumi` CLI (scripts/pulumi-cli.sh), a local file
 * backend, a private PULUMI_HOME, and the Automation API with inline programs. Used by `npm run demo` and by the
 * end-to-end tests.
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

let binDir: string | undefined;
/** The directory holding `pulumi` and `pulumi-resource-pulumi-nodejs` (built once by scripts/pulumi-cli.sh, cached). */
export function pulumiBinDir(): string {
  if (!binDir) {
    const out = execFileSync("bash", [path.join(ROOT, "scripts/pulumi-cli.sh")], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], timeout: 60 * 60_000 });
    binDir = out.trim().split("\n").pop()!;
  }
  return binDir;
}

/** The environment of the engine: local backend in `stateDir`, `home` as PULUMI_HOME, no update checks or downloads. */
export function engineEnv(stateDir: string, home: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: `${pulumiBinDir()}:${process.env.PATH}`,
    PULUMI_HOME: home,
    PULUMI_BACKEND_URL: `file://${stateDir}`,
    PULUMI_CONFIG_PASSPHRASE: "offline-passphrase",
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK: "true",
    ...extra,
  };
}

export interface StackOptions {
  /** The program's directory: the provider runs there and resolves relative paths from it. */
  workDir: string;
  program: automation.PulumiFn;
  projectName: string;
  stackName?: string;
  stateDir: string;
  home: string;
  /** Sets mistral:serverUrl. */
  serverUrl?: string;
  /** Sets mistral:apiKey, as a secret. */
  apiKey?: string;
  env?: Record<string, string>;
}

/** A stack of an inline program on the local backend, configured for Mistral (or the emulator). */
export async function createStack(o: StackOptions): Promise<automation.Stack> {
  const auto = require("@pulumi/pulumi/automation") as typeof automation;
  fs.mkdirSync(o.stateDir, { recursive: true });
  fs.mkdirSync(o.home, { recursive: true });
  const environment = engineEnv(o.stateDir, o.home, o.env);
  process.env.PATH = environment.PATH; // the Automation API looks `pulumi` up on PATH
  const pulumiCommand = await auto.PulumiCommand.get({ root: path.dirname(pulumiBinDir()), skipVersionCheck: true }).catch(() => undefined);
  const ws = await auto.LocalWorkspace.create({
    workDir: o.workDir,
    program: o.program,
    pulumiHome: o.home,
    envVars: environment,
    ...(pulumiCommand ? { pulumiCommand } : {}),
    projectSettings: { name: o.projectName, runtime: "nodejs", backend: { url: `file://${o.stateDir}` } },
  });
  const stack = await auto.Stack.createOrSelect(o.stackName ?? "dev", ws);
  if (o.apiKey !== undefined) await stack.setConfig("mistral:apiKey", { value: o.apiKey, secret: true });
  if (o.serverUrl !== undefined) await stack.setConfig("mistral:serverUrl", { value: o.serverUrl });
  return stack;
}

/**
 * An inline program that runs a compiled Pulumi program module (e.g. dist/examples/minimal/index.js) afresh on
 * every engine operation, returning its exports as stack outputs. Give the stack its folder as `workDir`: the
 * engine and the resource providers run there. The module itself runs in this process, so paths it resolves
 * itself (e.g. an Evaluation's default `outputDir`, `.mistral-eval/<name>`) are relative to `process.cwd()`.
 */
export function moduleProgram(modulePath: string): automation.PulumiFn {
  return async () => {
    const resolved = require.resolve(modulePath);
    delete require.cache[resolved];
    return { ...(require(resolved) as Record<string, unknown>) };
  };
}
