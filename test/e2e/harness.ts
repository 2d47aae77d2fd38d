/**
 * End-to-end harness: the real Pulumi engine as users run it. Each test program is a project folder (its own
 * `Pulumi.yaml`, `package.json` and `index.js`, with `node_modules` linking the built package and `@pulumi/pulumi`,
 * what `npm install pulumi-mistral-batch` would give), run by the `pulumi` CLI through the Node.js language host,
 * with a local file backend and a private PULUMI_HOME, against the emulator.
 *
 * Test programs are plain JavaScript, as a user may write them (the shipped TypeScript examples run through
 * ts-node in examples.e2e.test.ts); a test edits `index.js` between operations as a user edits their program.
 */
import * as fs from "node:fs";
import { createRequire } from "node:module";
import * as os from "node:os";
import * as path from "node:path";
import type * as automation from "@pulumi/pulumi/automation";
import type * as pkg from "../../provider";
import type * as emulatorPkg from "mistral-batch-emulator";

export const ROOT = path.resolve(__dirname, "../..");
export const req = createRequire(path.join(ROOT, "package.json"));

/** The Automation API, loaded natively. */
export const auto = req("@pulumi/pulumi/automation") as typeof automation;
/** The package as built (`npm run build`), loaded natively. */
export const lib = () => req(path.join(ROOT, "dist/provider/index.js")) as typeof pkg;
/** The emulator package as built, resolved as a dev dependency is. */
export const emulatorLib = () => req("mistral-batch-emulator") as typeof emulatorPkg;

export const API_KEY = "sk-e2e-SECRET-7f3a9c";

/** Shared with `npm run demo`: the engine's binaries, environment and stacks (scripts/engine.ts, built). */
export const engine = () => req(path.join(ROOT, "dist/scripts/engine.js")) as typeof import("../../scripts/engine");
export const pulumiBinDir = (): string => engine().pulumiBinDir();

/** Fails when dist/ is older than the sources: the engine runs the built package. */
export function assertDistFresh(): void {
  const newest = (dir: string): number =>
    fs.readdirSync(dir, { withFileTypes: true }).reduce((m, e) => {
      const p = path.join(dir, e.name);
      return Math.max(m, e.isDirectory() ? newest(p) : e.name.endsWith(".ts") ? fs.statSync(p).mtimeMs : 0);
    }, 0);
  const src = Math.max(newest(path.join(ROOT, "provider")), newest(path.join(ROOT, "packages/emulator/src")));
  const stamp = (p: string) => fs.statSync(path.join(ROOT, p), { throwIfNoEntry: false })?.mtimeMs ?? 0;
  const built = Math.min(stamp("dist/provider/index.js"), stamp("packages/emulator/dist/index.js"));
  if (built < src)
    throw new Error("dist/ is older than the sources: run `npm run build` (npm test does) before the end-to-end tests");
}

export interface ProjectOptions {
  /** Extra files of the program directory, e.g. datasets. */
  files?: Record<string, string>;
  /** The program, `index.js` (CommonJS; `module.exports` become the stack outputs). Also settable with `program()`. */
  program?: string;
}

/** A Pulumi project folder in a temporary directory, with its own file backend and PULUMI_HOME beside it. */
export class E2EProject {
  readonly dir: string;
  readonly workDir: string;
  readonly stateDir: string;
  readonly home: string;
  readonly logs: string[] = [];

  constructor(
    readonly name: string,
    options: ProjectOptions = {},
  ) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), `pmb-e2e-${name}-`));
    this.workDir = path.join(this.dir, "program");
    this.stateDir = path.join(this.dir, "state");
    this.home = path.join(this.dir, "home");
    for (const d of [this.workDir, this.stateDir, this.home, path.join(this.workDir, "node_modules/@pulumi")])
      fs.mkdirSync(d, { recursive: true });
    this.write(
      "Pulumi.yaml",
      `name: ${name}\nruntime: nodejs\ndescription: pulumi-mistral-batch end-to-end test (${name})\n`,
    );
    this.write(
      "package.json",
      `${JSON.stringify(
        {
          name: `e2e-${name}`,
          private: true,
          main: "index.js",
          dependencies: { "@pulumi/pulumi": "*", "pulumi-mistral-batch": "*" },
        },
        null,
        2,
      )}\n`,
    );
    // The language host and the dynamic-provider host resolve @pulumi/pulumi, and the program and the serialized
    // provider resolve pulumi-mistral-batch, from the project's node_modules.
    fs.symlinkSync(
      path.join(ROOT, "node_modules/@pulumi/pulumi"),
      path.join(this.workDir, "node_modules/@pulumi/pulumi"),
    );
    fs.symlinkSync(ROOT, path.join(this.workDir, "node_modules/pulumi-mistral-batch"));
    for (const [name, text] of Object.entries(options.files ?? {})) this.write(name, text);
    if (options.program !== undefined) this.program(options.program);
  }

  write(name: string, text: string): string {
    const p = path.join(this.workDir, name);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, text);
    return p;
  }

  /** Writes the program (`index.js`), as a user edits it between operations. */
  program(source: string): void {
    this.write("index.js", `"use strict";\n${source.trim()}\n`);
  }

  /** The engine's environment for this project (for running the `pulumi` CLI directly). */
  env(extra: Record<string, string> = {}): Record<string, string> {
    return engine().engineEnv(this.stateDir, this.home, extra);
  }

  /** A stack of this project, configured for the emulator at `serverUrl` with the secret key. */
  async stack(serverUrl: string, stackName = "dev", env: Record<string, string> = {}): Promise<automation.Stack> {
    return engine().projectStack({
      workDir: this.workDir,
      stackName,
      stateDir: this.stateDir,
      home: this.home,
      serverUrl,
      apiKey: API_KEY,
      env,
    });
  }

  /** Collects engine output into `logs` (searched for the key) and returns the callback for Automation calls. */
  get onOutput(): (text: string) => void {
    return (text) => void this.logs.push(text);
  }

  /** Every state file of the backend, as text. */
  stateText(): string {
    const texts: string[] = [];
    const walk = (dir: string) => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else texts.push(fs.readFileSync(p, "utf8"));
      }
    };
    walk(this.stateDir);
    return texts.join("\n");
  }

  cleanup(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Resources of a stack's exported state, by name. */
export async function resources(stack: automation.Stack): Promise<
  Map<
    string,
    {
      type: string;
      id?: string;
      inputs: Record<string, unknown>;
      outputs: Record<string, unknown>;
      initErrors?: string[];
    }
  >
> {
  const exported = await stack.exportStack();
  const out = new Map();
  for (const r of (
    exported.deployment as {
      resources?: {
        urn: string;
        type: string;
        id?: string;
        inputs?: object;
        outputs?: object;
        initErrors?: string[];
      }[];
    }
  ).resources ?? []) {
    out.set(r.urn.split("::").pop(), {
      type: r.type,
      id: r.id,
      inputs: r.inputs ?? {},
      outputs: r.outputs ?? {},
      initErrors: r.initErrors,
    });
  }
  return out;
}

/** The step each resource takes in a preview (`same`, `create`, `replace`, `update`, ...), by resource name. */
export async function previewSteps(
  stack: automation.Stack,
  onOutput?: (t: string) => void,
): Promise<Record<string, string>> {
  const steps: Record<string, string> = {};
  await stack.preview({
    onOutput,
    onEvent: (event) => {
      const m = event.resourcePreEvent?.metadata;
      if (!m || m.type.startsWith("pulumi:")) return;
      const name = m.urn.split("::").pop()!;
      // A replacement shows as several steps (create-replacement, replace, delete-replaced): report "replace".
      const op = ["create-replacement", "replace", "delete-replaced"].includes(m.op) ? "replace" : m.op;
      if (steps[name] !== "replace") steps[name] = op;
    },
  });
  return steps;
}

export function chatJsonl(n: number, prefix = "q", offset = 0): string {
  return `${Array.from({ length: n }, (_, i) =>
    JSON.stringify({
      custom_id: `${prefix}${i + offset}`,
      body: { max_tokens: 32, messages: [{ role: "user", content: `What is ${i + offset} + ${i + 1}?` }] },
    }),
  ).join("\n")}\n`;
}

/** The Automation API's error for an operation that must fail: its message holds the CLI's whole output. */
export async function failure(operation: Promise<unknown>): Promise<string> {
  const error = await operation.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof Error)) throw new Error("the operation should have failed, but it succeeded");
  return error.message;
}
