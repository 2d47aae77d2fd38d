/**
 * End-to-end harness: the real Pulumi engine as users run it. Each test program is a project folder (its own
 * `Pulumi.yaml`, `package.json` and `index.js`, with `node_modules` holding a copy of the built package beside its
 * dependencies and `@pulumi/pulumi`, what `npm install pulumi-mistral-batch` gives), run by the `pulumi` CLI through
 * the Node.js language host, with a local file backend and a private PULUMI_HOME, against the emulator.
 *
 * Test programs are plain JavaScript, as a user may write them (the shipped TypeScript examples run through
 * ts-node in examples.e2e.test.ts); a test edits `index.js` between operations as a user edits their program.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import { createRequire } from "node:module";
import * as os from "node:os";
import * as path from "node:path";
import type * as automation from "@pulumi/pulumi/automation";
import type * as pkg from "../../provider";
import type * as emulatorPkg from "mistral-batch-emulator";
import type * as engineTypes from "../../scripts/engine";

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
export const engine = () => req(path.join(ROOT, "dist/scripts/engine.js")) as typeof engineTypes;
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
    for (const d of [this.workDir, this.stateDir, this.home]) fs.mkdirSync(d, { recursive: true });
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
    // What `npm install` gives: the language host and the dynamic-provider host resolve @pulumi/pulumi, and the
    // program and the serialized provider resolve pulumi-mistral-batch (a copy of the built package), from the
    // project's node_modules.
    engine().installPackage(path.join(this.workDir, "node_modules"));
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
  async stack(serverUrl: string, stackName = "dev", env: Record<string, string> = {}): Promise<E2EStack> {
    return e2eStack({
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

/** What an `up`, `refresh` or `destroy` of {@link E2EStack} takes: the Automation API's options that the tests use. */
export interface OperationOptions {
  /** Called with each chunk of the CLI's stdout as it comes, as the Automation API's `onOutput`. */
  onOutput?: (text: string) => void;
  /** `--expect-no-changes` (up, refresh). */
  expectNoChanges?: boolean;
  /** `--clear-pending-creates` (refresh). */
  clearPendingCreates?: boolean;
}

/** The result of an `up`, `refresh` or `destroy`: the fields of the Automation API's results that the tests read. */
export interface OperationResult {
  stdout: string;
  stderr: string;
  /** From the engine's summary event: what the Automation API reads back from `pulumi stack history` (the same map). */
  summary: { kind: string; result: string; resourceChanges?: Record<string, number> };
}

/** The result of an `up`: also the stack's outputs, as the Automation API's `UpResult.outputs`. */
export interface UpOperationResult extends OperationResult {
  outputs: automation.OutputMap;
}

/** The Pulumi secret signature: an object with this key set to this value is a secret (its `ciphertext`, masked). */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const SECRET_VALUE = "1b47061264138c4ac30d75fd1eb44270";
const isSecret = (v: unknown): boolean =>
  typeof v === "object" && v !== null && (v as Record<string, unknown>)[SECRET_SIG] === SECRET_VALUE;
/** A value of the event log with its secrets as `pulumi stack output --json` shows them: `"[secret]"`. */
const masked = (v: unknown): unknown =>
  isSecret(v)
    ? "[secret]"
    : Array.isArray(v)
      ? v.map(masked)
      : typeof v === "object" && v !== null
        ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, masked(x)]))
        : v;

/** The error of a failed operation, as the Automation API's CommandError: its message holds the CLI's whole output. */
export class E2ECommandError extends Error {
  constructor(
    readonly command: string,
    readonly code: number | null,
    readonly stdout: string,
    readonly stderr: string,
  ) {
    super(`${command} exited ${code}\ncode: ${code}\n stdout: ${stdout}\n stderr: ${stderr}\n`);
    this.name = "CommandError";
  }
}

/**
 * A stack of a project folder whose `up`, `refresh` and `destroy` each run the `pulumi` CLI once, as a user types
 * them (`--yes --skip-preview`, non-interactive, in the folder, with the engine's environment), and read the result
 * from the engine's event log (`--event-log`, a debug flag: PULUMI_DEBUG_COMMANDS): the summary event gives
 * `summary.result` and `summary.resourceChanges`, the stack's outputs event gives `outputs`. The Automation API's
 * `stack.up()` runs three more CLI processes after `pulumi up` (`stack output --json`, the same with
 * `--show-secrets`, and `stack history`), and refresh and destroy one more (`stack history`); each costs about 0.3 to
 * 0.5 s of CPU. A secret output reads `{ value: "[secret]", secret: true }` (and a secret nested in an output,
 * `"[secret]"`): the tests read only plain outputs. `preview` and `cancel` are the Automation API's, one CLI process
 * each already.
 */
export class E2EStack {
  readonly name: string;
  private readonly env: NodeJS.ProcessEnv;
  private readonly pulumi: string;

  constructor(
    /** The Automation API's stack of the same folder and backend. */
    readonly automation: automation.Stack,
    readonly options: engineTypes.ProjectStackOptions,
  ) {
    this.name = options.stackName;
    this.pulumi = path.join(pulumiBinDir(), "pulumi");
    this.env = {
      ...process.env,
      // As the Automation API runs the CLI (cmd.js, stack.js), so that its output reads the same.
      PULUMI_DEBUG_COMMANDS: "true",
      PULUMI_AUTOMATION_API: "true",
      ...engine().engineEnv(options.stateDir, options.home, options.env),
    };
  }

  /** `pulumi up --yes --skip-preview`; the outputs from the stack's outputs event (else `pulumi stack output`). */
  async up(opts: OperationOptions = {}): Promise<UpOperationResult> {
    const { result, events } = await this.run(
      ["up", "--yes", "--skip-preview", ...(opts.expectNoChanges ? ["--expect-no-changes"] : [])],
      opts,
    );
    let outputs: Record<string, unknown> | undefined;
    for (const e of events) {
      const m = (e.resOutputsEvent as { metadata?: { type?: string; new?: { parent?: string; outputs?: object } } })
        ?.metadata;
      if (m?.type === "pulumi:pulumi:Stack" && !m.new?.parent)
        outputs = (m.new?.outputs ?? {}) as Record<string, unknown>;
    }
    // No outputs event (none seen with v3.260): `pulumi stack output --json`, where a secret reads "[secret]".
    if (outputs === undefined) outputs = JSON.parse(await this.cli(["stack", "output", "--json"]));
    const map: automation.OutputMap = {};
    for (const [key, value] of Object.entries(outputs ?? {}))
      map[key] =
        isSecret(value) || value === "[secret]"
          ? { value: "[secret]", secret: true }
          : { value: masked(value), secret: false };
    return { ...result, outputs: map };
  }

  /** `pulumi refresh --yes --skip-preview`. */
  async refresh(opts: OperationOptions = {}): Promise<OperationResult> {
    const flags = [
      ...(opts.expectNoChanges ? ["--expect-no-changes"] : []),
      ...(opts.clearPendingCreates ? ["--clear-pending-creates"] : []),
    ];
    return (await this.run(["refresh", "--yes", "--skip-preview", ...flags], opts)).result;
  }

  /** `pulumi destroy --yes --skip-preview`. */
  async destroy(opts: OperationOptions = {}): Promise<OperationResult> {
    return (await this.run(["destroy", "--yes", "--skip-preview"], opts)).result;
  }

  /** The Automation API's preview (one CLI process; `onEvent` streams the engine events). */
  preview(opts?: automation.PreviewOptions): Promise<automation.PreviewResult> {
    return this.automation.preview(opts);
  }

  /** `pulumi cancel`: on a file backend, deletes the stack's lock files. */
  cancel(): Promise<void> {
    return this.automation.cancel();
  }

  /**
   * `pulumi stack export`, as the Automation API's exportStack but without `--show-secrets` (which doubles the
   * command's cost to decrypt): secret values stay encrypted, and the tests read only plain fields of the state.
   */
  async exportStack(): Promise<automation.Deployment> {
    return JSON.parse(await this.cli(["stack", "export"])) as automation.Deployment;
  }

  /** Runs one operation with an event log; resolves with its result and events, or rejects with the CLI's output. */
  private async run(
    args: string[],
    opts: OperationOptions,
  ): Promise<{ result: OperationResult; events: Record<string, unknown>[] }> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pmb-e2e-events-"));
    const log = path.join(dir, "events.jsonl");
    try {
      const { stdout, stderr } = await this.spawn([...args, "--event-log", log], opts.onOutput);
      const events: Record<string, unknown>[] = [];
      for (const line of fs.readFileSync(log, "utf8").split("\n")) {
        if (!line.trim()) continue;
        try {
          events.push(JSON.parse(line));
        } catch {
          // a line cut short: the events the tests read come before the last one (cancelEvent)
        }
      }
      const summary = events.find((e) => e.summaryEvent)?.summaryEvent as
        | { result?: string; resourceChanges?: Record<string, number> }
        | undefined;
      if (!summary)
        throw new Error(
          `pulumi ${args[0]} succeeded but its event log ${log} holds no summary event (${events.length} events); stdout:\n${stdout}`,
        );
      return {
        result: {
          stdout,
          stderr,
          summary: {
            kind: args[0] === "up" ? "update" : args[0],
            result: summary.result ?? "succeeded",
            resourceChanges: summary.resourceChanges,
          },
        },
        events,
      };
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  /** A CLI command's stdout. */
  private async cli(args: string[]): Promise<string> {
    return (await this.spawn(args)).stdout;
  }

  /** `pulumi <args> --stack <name> --non-interactive` in the project folder; rejects when it exits non-zero. */
  private spawn(args: string[], onOutput?: (text: string) => void): Promise<{ stdout: string; stderr: string }> {
    const argv = [...args, "--stack", this.name, "--non-interactive"];
    return new Promise((resolve, reject) => {
      const child = spawn(this.pulumi, argv, {
        cwd: this.options.workDir,
        env: this.env,
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stdout = "";
      let stderr = "";
      child.stdout.setEncoding("utf8").on("data", (t: string) => {
        stdout += t;
        onOutput?.(t);
      });
      child.stderr.setEncoding("utf8").on("data", (t: string) => (stderr += t));
      child.on("error", (e) => reject(new E2ECommandError(`pulumi ${argv.join(" ")}`, null, stdout, `${stderr}${e}`)));
      child.on("close", (code, signal) => {
        if (code === 0) resolve({ stdout, stderr });
        else
          reject(
            new E2ECommandError(
              `pulumi ${argv.join(" ")}`,
              code,
              stdout,
              signal ? `${stderr}\nsignal: ${signal}` : stderr,
            ),
          );
      });
    });
  }
}

/** A stack of the project in `o.workDir` (scripts/engine.ts projectStack) whose up, refresh and destroy run one CLI. */
export async function e2eStack(o: engineTypes.ProjectStackOptions): Promise<E2EStack> {
  return new E2EStack(await engine().projectStack(o), o);
}

/** Resources of a stack's exported state, by name. */
export async function resources(stack: Pick<automation.Stack, "exportStack">): Promise<
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
  stack: Pick<automation.Stack, "preview">,
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

/** The error of an operation that must fail (a CommandError): its message holds the CLI's whole output. */
export async function failure(operation: Promise<unknown>): Promise<string> {
  const error = await operation.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof Error)) throw new Error("the operation should have failed, but it succeeded");
  return error.message;
}
