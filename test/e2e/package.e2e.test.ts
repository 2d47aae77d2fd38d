/**
 * The package as users get it: `npm pack`, the tarball installed in a fresh TypeScript project outside the
 * repository (Pulumi's template: `Pulumi.yaml`, `package.json`, `tsconfig.json`, `index.ts`; nothing of this
 * repository, its own `@pulumi/pulumi` and `pulumi-mistral-batch`), and the commands a user types there:
 * `pulumi stack init`, `pulumi config set --secret mistral:apiKey` (the key on stdin), `pulumi preview`, `up`,
 * `refresh`, `destroy`, through the real CLI and the Node.js language host, with a local file backend and a private
 * PULUMI_HOME, against the emulator package (`mistral-batch-emulator`, packed on its own and installed as a dev
 * dependency) started from its installed bin, which enforces the API key. The provider's tarball holds no emulator
 * code and brings no HTTP server. The key must not show anywhere in the state directory, PULUMI_HOME or what the CLI printed.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ROOT, assertDistFresh, chatJsonl, pulumiBinDir } from "./harness";
import { killAll, processesIn } from "./processes";
import { testProfile } from "../support/profile";

/** The environment a user's shell would give: no npm-script variables of this repository's `npm test`, no Mistral settings, no vitest. */
function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(npm_|VITEST|NODE_OPTIONS$|MISTRAL_|PULUMI_)/i.test(k)) continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}

interface Ran {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs a command to its end (asynchronously: nothing here may block the event loop), killing it after `timeoutMs`. */
function run(
  cmd: string,
  args: string[],
  opts: { cwd: string; env: NodeJS.ProcessEnv; input?: string; timeoutMs: number },
): Promise<Ran> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (t: string) => (stdout += t));
    child.stderr.setEncoding("utf8").on("data", (t: string) => (stderr += t));
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - started });
    });
    child.stdin.end(opts.input ?? "");
  });
}

function walk(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

/** The project a user would write: Pulumi's TypeScript template, with this package's resources in `index.ts`. */
const PROJECT: Record<string, string> = {
  "Pulumi.yaml":
    "name: consumer\nruntime:\n  name: nodejs\n  options:\n    typescript: true\ndescription: A project that installs pulumi-mistral-batch from its tarball\n",
  "tsconfig.json": JSON.stringify(
    {
      compilerOptions: {
        strict: true,
        outDir: "bin",
        target: "ES2022",
        module: "node16",
        moduleResolution: "node16",
        sourceMap: true,
        skipLibCheck: true,
      },
      files: ["index.ts"],
    },
    null,
    2,
  ),
  "index.ts": `import { BatchFile, BatchJob } from "pulumi-mistral-batch";

const questions = new BatchFile("questions", { source: "data/questions.jsonl", endpoint: "/v1/chat/completions" });
const answers = new BatchJob("answers", { inputFiles: [questions.id], model: "mistral-small-latest", metadata: { suite: "package" } });

export const fileId = questions.id;
export const jobId = answers.id;
export const status = answers.status;
`,
};

interface StateResource {
  urn: string;
  type: string;
  id?: string;
  inputs?: Record<string, unknown>;
  outputs?: Record<string, unknown>;
}

describe("The package as users get it", { timeout: 300_000 }, () => {
  const apiKey = `sk-pkg-${randomUUID()}`;
  let tmp: string;
  let packDir: string;
  let projectDir: string;
  let stateDir: string;
  let home: string;
  let tarball: string;
  let emulatorTarball: string;
  let emulator: ChildProcess | undefined;
  let emulatorUrl: string;
  let emulatorLog = "";
  /** Everything the CLI printed, command by command. */
  const transcript: string[] = [];
  let outputs: Record<string, string>;
  const timings: Record<string, number> = {};

  beforeAll(() => {
    assertDistFresh();
    // realpath: os.tmpdir() may be a symlink, and processes report their real working directory.
    tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "pmb-package-")));
    expect(tmp.startsWith(ROOT)).toBe(false);
    packDir = path.join(tmp, "pack");
    projectDir = path.join(tmp, "project");
    stateDir = path.join(tmp, "state");
    home = path.join(tmp, "pulumi-home");
    for (const d of [packDir, projectDir, stateDir, home, path.join(tmp, "emulator")]) fs.mkdirSync(d);
  });

  afterAll(async () => {
    if (emulator?.exitCode === null && emulator.signalCode === null) {
      const exited = new Promise((r) => emulator!.once("exit", r));
      emulator.kill("SIGTERM");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (emulator.exitCode === null && emulator.signalCode === null) emulator.kill("SIGKILL");
    }
    if (tmp) {
      killAll(processesIn(tmp));
      fs.rmSync(tmp, { recursive: true, force: true });
    }
    console.log(`package e2e timings (ms): ${JSON.stringify(timings)}`);
  });

  /** `npm pack` of the package in `dir`: the tarball's path and its entries (without the leading `package/`). */
  async function pack(
    dir: string,
  ): Promise<{ tarball: string; entries: string[]; size: number; unpackedSize: number }> {
    // --ignore-scripts: `npm test` has just built both packages; `prepare`/`prepack` would build them again.
    const packed = await run("npm", ["pack", "--ignore-scripts", "--pack-destination", packDir, "--json"], {
      cwd: dir,
      env: userEnv(),
      timeoutMs: 120_000,
    });
    timings[`pack ${path.basename(dir)}`] = packed.ms;
    expect(packed.code, packed.stderr).toBe(0);
    const [info] = JSON.parse(packed.stdout) as { filename: string; unpackedSize: number }[];
    const file = path.join(packDir, info.filename);
    const listing = await run("tar", ["-tzf", file], { cwd: tmp, env: userEnv(), timeoutMs: 30_000 });
    expect(listing.code).toBe(0);
    const entries = listing.stdout
      .trim()
      .split("\n")
      .map((e) => e.replace(/^package\//, ""));
    const size = fs.statSync(file).size;
    console.log(
      `tarball ${info.filename}: ${size} bytes packed (${(size / 1024).toFixed(1)} KiB), ${info.unpackedSize} bytes unpacked, ${entries.length} files`,
    );
    // Every entry point the manifest names is in the tarball.
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"));
    const targets: string[] = [
      manifest.main,
      manifest.types,
      ...Object.values((manifest.bin ?? {}) as Record<string, string>),
    ];
    for (const entry of Object.values(manifest.exports as Record<string, string | Record<string, string>>)) {
      targets.push(...(typeof entry === "string" ? [entry] : Object.values(entry)));
    }
    for (const target of targets)
      expect(entries, `${target} is named by ${path.basename(dir)}/package.json`).toContain(
        path.posix.normalize(target),
      );
    expect(entries.filter((e) => /(^|\/)node_modules\//.test(e))).toEqual([]);
    expect(entries.filter((e) => /(\.test\.|(^|\/)test\/|vitest)/.test(e))).toEqual([]);
    expect(entries.filter((e) => /\.(c|m)?tsx?$/.test(e) && !/\.d\.(c|m)?ts$/.test(e))).toEqual([]);
    expect(
      entries.filter((e) => !e.startsWith("dist/") && !["package.json", "README.md", "LICENSE"].includes(e)),
    ).toEqual([]);
    return { tarball: file, entries, size, unpackedSize: info.unpackedSize };
  }

  it("npm pack: the provider's tarball holds the built package, and no emulator, tests, TypeScript sources or node_modules", async () => {
    const packed = await pack(ROOT);
    tarball = packed.tarball;
    const { entries } = packed;
    expect(entries).toContain("package.json");
    expect(entries).toContain("README.md");
    expect(entries).toContain("dist/provider/index.js");
    expect(entries).toContain("dist/provider/runtime.js");
    expect(entries).toContain("dist/provider/api/index.js");
    // Nor the repository's own tooling (benchmarks, demo and maintenance scripts).
    expect(entries.filter((e) => /^dist\/(bench|scripts)\//.test(e))).toEqual([]);
    // No emulator: not its folder, not its bin, no file of it under another name, no HTTP server among the dependencies.
    expect(entries.filter((e) => /emulator/i.test(e))).toEqual([]);
    const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
    expect(manifest.bin).toBeUndefined();
    const shipped = { ...manifest.dependencies, ...manifest.peerDependencies, ...manifest.optionalDependencies };
    expect(Object.keys(shipped).filter((d) => /fastify|ajv|emulator|express|koa|hono/.test(d))).toEqual([]);
    const unpacked = path.join(tmp, "unpacked-provider");
    fs.mkdirSync(unpacked);
    expect(
      (await run("tar", ["-xzf", tarball, "-C", unpacked], { cwd: tmp, env: userEnv(), timeoutMs: 30_000 })).code,
    ).toBe(0);
    for (const file of walk(path.join(unpacked, "package/dist")).filter((f) => f.endsWith(".js"))) {
      const text = fs.readFileSync(file, "utf8");
      expect(text, `${path.relative(unpacked, file)} loads the emulator or its server`).not.toMatch(
        /require\("(mistral-batch-emulator|fastify|@fastify\/[^"]+|ajv[^"]*)"\)/,
      );
    }
    expect(packed.size).toBeLessThan(2 * 1024 * 1024);
  });

  it("npm pack: the emulator packs on its own, with its bin, its spec and its server dependencies", async () => {
    const packed = await pack(path.join(ROOT, "packages/emulator"));
    emulatorTarball = packed.tarball;
    expect(packed.entries).toContain("dist/cli.js");
    expect(packed.entries).toContain("dist/spec/files-batch.openapi.json");
    const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, "packages/emulator/package.json"), "utf8"));
    expect(Object.keys(manifest.dependencies)).toEqual(
      expect.arrayContaining(["fastify", "@fastify/multipart", "ajv", "pulumi-mistral-batch"]),
    );
  });

  it("installs in a fresh project outside the repository, the emulator as a dev dependency with a working bin", async () => {
    const lock = JSON.parse(fs.readFileSync(path.join(ROOT, "package-lock.json"), "utf8"));
    const pulumiVersion: string = lock.packages["node_modules/@pulumi/pulumi"].version;
    fs.writeFileSync(
      path.join(projectDir, "package.json"),
      JSON.stringify({ name: "consumer", version: "1.0.0", private: true }, null, 2),
    );
    const version = (name: string): string => lock.packages[`node_modules/${name}`].version;
    const installed = await run(
      "npm",
      [
        "install",
        tarball,
        `@pulumi/pulumi@${pulumiVersion}`,
        `typescript@${version("typescript")}`,
        `@types/node@${version("@types/node")}`,
        "--no-audit",
        "--no-fund",
        "--prefer-offline",
      ],
      {
        cwd: projectDir,
        env: userEnv(),
        timeoutMs: 280_000,
      },
    );
    timings.install = installed.ms;
    expect(installed.code, installed.stderr).toBe(0);
    // The provider alone brings no HTTP server.
    for (const server of ["fastify", "@fastify/multipart", "mistral-batch-emulator"])
      expect(fs.existsSync(path.join(projectDir, "node_modules", server)), server).toBe(false);
    // The emulator, as a dev dependency (its dependency on pulumi-mistral-batch is met by the one installed).
    const dev = await run(
      "npm",
      ["install", "--save-dev", emulatorTarball, "--no-audit", "--no-fund", "--prefer-offline"],
      { cwd: projectDir, env: userEnv(), timeoutMs: 280_000 },
    );
    timings.installEmulator = dev.ms;
    expect(dev.code, dev.stderr).toBe(0);
    expect(
      Object.keys(JSON.parse(fs.readFileSync(path.join(projectDir, "package.json"), "utf8")).devDependencies),
    ).toEqual(["mistral-batch-emulator"]);
    const pkg = path.join(projectDir, "node_modules/pulumi-mistral-batch");
    expect(fs.lstatSync(pkg).isSymbolicLink()).toBe(false); // a copy from the tarball, not a link to the repository
    expect(
      JSON.parse(fs.readFileSync(path.join(projectDir, "node_modules/@pulumi/pulumi/package.json"), "utf8")).version,
    ).toBe(pulumiVersion);
    const bin = path.join(projectDir, "node_modules/.bin/mistral-batch-emulator");
    expect(fs.statSync(bin).mode & 0o111).not.toBe(0);
    expect(fs.readFileSync(bin, "utf8").startsWith("#!/usr/bin/env node")).toBe(true);

    // The emulator as a separate process, from the installed bin, enforcing the key.
    emulator = spawn(bin, ["--api-key", apiKey, "--log", "--profile", testProfile()], {
      cwd: path.join(tmp, "emulator"),
      env: userEnv(),
      stdio: ["ignore", "pipe", "pipe"],
    });
    emulator.stderr!.setEncoding("utf8").on("data", (t: string) => (emulatorLog += t));
    emulatorUrl = await new Promise<string>((resolve, reject) => {
      let out = "";
      const timer = setTimeout(
        () => reject(new Error(`the emulator printed no URL in 30 s: ${out} ${emulatorLog}`)),
        30_000,
      );
      emulator!.stdout!.setEncoding("utf8").on("data", (t: string) => {
        out += t;
        const url = /https?:\/\/\S+/.exec(out)?.[0];
        if (url) {
          clearTimeout(timer);
          resolve(url.replace(/\/$/, ""));
        }
      });
      emulator!.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`the emulator exited (${code}): ${emulatorLog}`));
      });
    });
    expect((await fetch(`${emulatorUrl}/v1/files`)).status).toBe(401);
    expect((await fetch(`${emulatorUrl}/v1/files`, { headers: { authorization: `Bearer ${apiKey}` } })).status).toBe(
      200,
    );
  });

  /** `pulumi ARGS` in the project, as typed in a user's shell that exported a local backend and PULUMI_HOME. */
  async function pulumi(args: string[], input?: string): Promise<Ran> {
    const env = userEnv({
      PATH: `${pulumiBinDir()}${path.delimiter}${process.env.PATH}`,
      PULUMI_BACKEND_URL: `file://${stateDir}`,
      PULUMI_HOME: home,
      PULUMI_CONFIG_PASSPHRASE: "package-e2e",
      PULUMI_SKIP_UPDATE_CHECK: "true",
    });
    const ran = await run("pulumi", [...args, "--non-interactive"], {
      cwd: projectDir,
      env,
      input,
      timeoutMs: 240_000,
    });
    transcript.push(`$ pulumi ${args.join(" ")}\n${ran.stdout}${ran.stderr}`);
    timings[args[0]] = (timings[args[0]] ?? 0) + ran.ms;
    expect(
      ran.code,
      `pulumi ${args.join(" ")} exited ${ran.code}:\n${ran.stdout.slice(-4000)}\n${ran.stderr.slice(-4000)}`,
    ).toBe(0);
    return ran;
  }

  /** Keeps a copy of the stack's state after an operation (destroy empties it). */
  const snapshot = (name: string) => pulumi(["stack", "export", "--file", path.join(tmp, "snapshots", `${name}.json`)]);

  it("pulumi stack init and config set there, the key given on stdin", async () => {
    for (const [name, text] of Object.entries(PROJECT)) fs.writeFileSync(path.join(projectDir, name), text);
    fs.mkdirSync(path.join(projectDir, "data"));
    fs.writeFileSync(path.join(projectDir, "data/questions.jsonl"), chatJsonl(4));
    fs.mkdirSync(path.join(tmp, "snapshots"));
    await pulumi(["stack", "init", "dev"]);
    await pulumi(["config", "set", "--secret", "mistral:apiKey"], apiKey);
    await pulumi(["config", "set", "mistral:serverUrl", emulatorUrl]);
  });

  it("the program type-checks against the published types, which hold the public API and none of the SDK's types", async () => {
    // What ts-node does in `pulumi up` before the program runs: type-check index.ts. The package's declarations
    // leave out its providers (stripInternal), so the check reads none of the Mistral SDK's ~900 declaration files.
    const checked = await run(path.join(projectDir, "node_modules/.bin/tsc"), ["--noEmit", "--listFiles"], {
      cwd: projectDir,
      env: userEnv(),
      timeoutMs: 120_000,
    });
    expect(checked.code, `${checked.stdout}\n${checked.stderr}`).toBe(0);
    const files = checked.stdout.split("\n").filter((f) => f.endsWith(".ts"));
    const ours = files.filter((f) => f.includes("/node_modules/pulumi-mistral-batch/"));
    expect(ours.map((f) => f.split("/node_modules/pulumi-mistral-batch/")[1])).toContain("dist/provider/index.d.ts");
    expect(ours.filter((f) => /\/dist\/provider\/(context|client|runtime)\.d\.ts$/.test(f))).toEqual([]);
    expect(files.filter((f) => f.includes("/node_modules/@mistralai/"))).toEqual([]);
  });

  it("pulumi preview there shows the file and the job to create, and uploads nothing", async () => {
    const preview = await pulumi(["preview"]);
    expect(preview.stdout).toMatch(/\+\s+pulumi-nodejs:dynamic\/mistral\/batch:BatchFile\s+questions\s+create/);
    expect(preview.stdout).toMatch(/\+\s+pulumi-nodejs:dynamic\/mistral\/batch:BatchJob\s+answers\s+create/);
    expect(emulatorLog).not.toMatch(/^POST /m);
  });

  it("pulumi up, refresh and destroy there", async () => {
    const up = await pulumi(["up", "--yes"]);
    expect(up.stdout).toMatch(/3 created/); // the stack, the file, the job
    outputs = JSON.parse((await pulumi(["stack", "output", "--json"])).stdout);
    expect(outputs.jobId).toMatch(/^[0-9a-f-]{36}$/);
    await snapshot("up");
    const again = await pulumi(["up", "--yes"]);
    expect(again.stdout).toMatch(/3 unchanged/);
    await pulumi(["refresh", "--yes"]);
    await snapshot("refresh");
    const destroyed = await pulumi(["destroy", "--yes"]);
    expect(destroyed.stdout).toMatch(/3 deleted/);
    // Nothing of the engine keeps running in the project.
    expect(processesIn(projectDir)).toEqual([]);
  });

  it("the emulator saw the upload and the job, and destroy deleted the file", async () => {
    const { fileId, jobId } = outputs;
    const get = async (route: string) => {
      const r = await fetch(`${emulatorUrl}${route}`, { headers: { authorization: `Bearer ${apiKey}` } });
      return { status: r.status, body: (await r.json()) as Record<string, unknown> };
    };
    expect(emulatorLog).toMatch(/^POST \/v1\/files$/m);
    expect(emulatorLog).toMatch(/^POST \/v1\/batch\/jobs$/m);
    expect(emulatorLog).toContain(`DELETE /v1/files/${fileId}`);
    const jobs = (await get("/v1/batch/jobs")).body.data as {
      id: string;
      input_files: string[];
      metadata: Record<string, string>;
      status: string;
    }[];
    expect(jobs.map((j) => j.id)).toEqual([jobId]);
    expect(jobs[0].input_files).toEqual([fileId]);
    expect(jobs[0].metadata).toMatchObject({
      suite: "package",
      pulumi_idempotency_key: expect.stringMatching(/^[0-9a-f]{32}$/),
    });
    expect(["SUCCESS", "CANCELLED"]).toContain(jobs[0].status);
    expect((await get(`/v1/files/${fileId}`)).status).toBe(404);
    const files = (await get("/v1/files")).body.data as { source: string }[];
    expect(files.filter((f) => f.source === "upload")).toEqual([]);
  });

  it("__provider in the state stays small, names the installed runtime and no path of this repository", () => {
    for (const op of ["up", "refresh"]) {
      const state = JSON.parse(fs.readFileSync(path.join(tmp, "snapshots", `${op}.json`), "utf8"));
      const dynamic = (state.deployment.resources as StateResource[]).filter((r) =>
        r.type.startsWith("pulumi-nodejs:dynamic/"),
      );
      expect(dynamic.map((r) => r.urn.split("::").pop()).sort()).toEqual(["answers", "questions"]);
      for (const r of dynamic) {
        const codes = [r.inputs?.__provider, r.outputs?.__provider];
        console.log(
          `__provider of ${r.type.split(":").pop()} after ${op}: ${codes.map((c) => (typeof c === "string" ? `${Buffer.byteLength(c)} bytes` : String(c))).join(" (inputs), ")} (outputs)`,
        );
        for (const code of codes) {
          expect(typeof code).toBe("string");
          const text = code as string;
          expect(Buffer.byteLength(text)).toBeLessThan(4096);
          expect(text).toContain("pulumi-mistral-batch/runtime");
          expect(text).not.toContain(ROOT);
          expect(text).not.toContain(tmp);
        }
      }
      const job = dynamic.find((r) => r.type.endsWith(":BatchJob"))!;
      expect(job.id).toBe(outputs.jobId);
      if (op === "refresh") expect(job.outputs).toMatchObject({ status: "SUCCESS", succeededRequests: 4 });
    }
  });

  it("the API key shows nowhere: not in the state directory, PULUMI_HOME, the stack config or what the CLI printed", () => {
    const printed = transcript.join("\n");
    expect(printed).toContain("$ pulumi destroy");
    expect(printed).not.toContain(apiKey);
    const files = [
      ...walk(stateDir),
      ...walk(home),
      ...walk(path.join(tmp, "snapshots")),
      ...fs
        .readdirSync(projectDir)
        .filter((f) => /^Pulumi.*\.ya?ml$/.test(f))
        .map((f) => path.join(projectDir, f)),
    ];
    expect(files.some((f) => f.includes(`${path.sep}snapshots${path.sep}`))).toBe(true);
    expect(files.some((f) => f.endsWith("Pulumi.dev.yaml"))).toBe(true);
    for (const f of files) expect(fs.readFileSync(f).includes(apiKey), f).toBe(false);
    // The secret is there, encrypted: the provider got it from the config and the emulator accepted it.
    expect(fs.readFileSync(path.join(projectDir, "Pulumi.dev.yaml"), "utf8")).toMatch(/mistral:apiKey:\s*\n\s*secure:/);
  });
});
