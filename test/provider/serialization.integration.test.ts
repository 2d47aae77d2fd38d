/**
 * The provider objects as Pulumi stores and runs them. Pulumi serializes `() => provider` for the provider given
 * to `dynamic.Resource` into the `__provider` property; its dynamic provider host later loads that text with
 * `requireFromString(text).handler()` in a fresh process whose working directory is the program's, calls
 * `configure` with the stack config, then the CRUD methods. This test does exactly that, with the built package
 * (`dist/`) in a temporary program directory's node_modules, against an emulator of this process: installed as
 * npm installs it (a copy: Pulumi writes `require("pulumi-mistral-batch/runtime/<kind>")`) and linked (`npm link`:
 * Pulumi captures the provider module by value, thin.ts).
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import { createRequire } from "node:module";
import * as path from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { IDEMPOTENCY_METADATA_KEY } from "../../provider/jobLogic";
import {
  CHAT,
  MODEL,
  chatRequests,
  cleanup,
  configure,
  emulator,
  jsonlOf,
  sdk,
  stats,
  tempDir,
  type Json,
} from "./integration-harness";

const ROOT = path.resolve(__dirname, "../..");
const KEY = "sk-test-SERIALIZED-42";
const req = createRequire(path.join(ROOT, "package.json"));
const REQUIRE_FROM_STRING = createRequire(req.resolve("@pulumi/pulumi/package.json")).resolve("require-from-string");

afterEach(cleanup);

/** Throws unless dist/provider holds a build at least as new as every provider source. */
function assertProviderBuilt(): void {
  for (const name of fs
    .readdirSync(path.join(ROOT, "provider"))
    .filter((n) => n.endsWith(".ts") && !n.endsWith(".test.ts"))) {
    const built = path.join(ROOT, "dist/provider", name.replace(/\.ts$/, ".js"));
    if (!fs.existsSync(built) || fs.statSync(built).mtimeMs < fs.statSync(path.join(ROOT, "provider", name)).mtimeMs) {
      throw new Error(
        `dist/provider/${path.basename(built)} is missing or older than provider/${name}: run \`npm run build\` first`,
      );
    }
  }
}

/** Serializes the provider of a kind exactly as `dynamic.Resource` does. */
async function serialize(kind: "file" | "job"): Promise<string> {
  const pulumi = req("@pulumi/pulumi") as typeof import("@pulumi/pulumi");
  const { thinProvider } = req(path.join(ROOT, "dist/provider/thin.js")) as typeof import("../../provider/thin");
  const provider = thinProvider(kind);
  const serialized = await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: true });
  return serialized.text;
}

/** What the child process runs: Pulumi's dynamic provider host, reduced to the calls it makes. */
const HOST = `
const fs = require("node:fs");
const requireFromString = require(process.env.REQUIRE_FROM_STRING);
const input = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const config = { "mistral:apiKey": input.apiKey, "mistral:serverUrl": input.serverUrl };
const cache = {};
async function providerOf(text) {
  // getProvider() of @pulumi/pulumi/cmd/dynamic-provider: deserialize once, configure once.
  if (!cache[text]) {
    cache[text] = requireFromString(text).handler();
    await cache[text].configure({ config: { get: (key) => config[key] } });
  }
  return cache[text];
}
async function main() {
  const out = {};
  const file = await providerOf(input.fileText);
  const job = await providerOf(input.jobText);
  if (input.phase === "up") {
    const fileNews = { content: input.content, endpoint: "/v1/chat/completions", __provider: input.fileText };
    const fc = await file.check({}, fileNews);
    out.fileCheck = fc;
    const f = await file.create({ ...fc.inputs, __provider: input.fileText });
    out.file = f;
    out.fileRead = await file.read(f.id, { ...f.outs, __provider: input.fileText });
    const jobNews = { inputFiles: [f.id], model: input.model, scope: "proj/dev/answers", waitForCompletion: { pollIntervalSeconds: 0.02, timeoutMinutes: 0.5 }, deleteResultFilesOnDestroy: true, __provider: input.jobText };
    const jc = await job.check({}, jobNews);
    out.jobCheck = jc;
    const j = await job.create({ ...jc.inputs, __provider: input.jobText });
    out.job = j;
    out.jobRead = await job.read(j.id, { ...j.outs, __provider: input.jobText });
  } else {
    await job.delete(input.jobId, input.jobOuts);
    await file.delete(input.fileId, input.fileOuts);
    out.deleted = true;
  }
  process.stdout.write(JSON.stringify(out));
}
main().catch((error) => {
  process.stdout.write(JSON.stringify({ error: { message: error.message, stack: error.stack } }));
  process.exitCode = 1;
});
`;

interface HostRun {
  code: number | null;
  out: Json;
  stderr: string;
}

/** Runs the host in a fresh node process with `cwd` as the program directory and a clean environment. */
function runHost(cwd: string, input: Json, extraEnv: NodeJS.ProcessEnv = {}): Promise<HostRun> {
  const script = path.join(cwd, "host.cjs");
  fs.writeFileSync(script, HOST);
  const inputFile = path.join(cwd, `input-${Date.now()}-${Math.random().toString(36).slice(2)}.json`);
  fs.writeFileSync(inputFile, JSON.stringify(input));
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, REQUIRE_FROM_STRING, ...extraEnv };
  return spawnJson([script, inputFile], cwd, env, "host");
}

/** Runs node with `args` in `cwd` with exactly `env`; its stdout parsed as JSON (`name` for the error otherwise). */
function spawnJson(args: string[], cwd: string, env: NodeJS.ProcessEnv, name: string): Promise<HostRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => {
      try {
        resolve({ code, out: JSON.parse(stdout), stderr });
      } catch {
        reject(new Error(`${name} printed no JSON (exit ${code}):\n${stdout}\n${stderr}`));
      }
    });
  });
}

/**
 * A Pulumi program directory with this package installed as npm installs it: a copy of package.json and
 * dist/provider/ under node_modules, its dependencies beside it (links). `@pulumi/pulumi` a copy as well (its own
 * dependencies found through NODE_PATH) when `pulumiCopy`, so its closure serializer reads this package's manifest;
 * else a link into the repository, whose real path leads it to the manifest-less name (thin.ts).
 */
function installedDir(pulumiCopy: boolean): string {
  const dir = fs.realpathSync(tempDir());
  const modules = path.join(dir, "node_modules");
  const pkg = path.join(modules, "pulumi-mistral-batch");
  fs.mkdirSync(path.join(modules, "@pulumi"), { recursive: true });
  fs.mkdirSync(pkg);
  fs.copyFileSync(path.join(ROOT, "package.json"), path.join(pkg, "package.json"));
  fs.cpSync(path.join(ROOT, "dist/provider"), path.join(pkg, "dist/provider"), { recursive: true });
  for (const dep of ["@mistralai", "form-data"])
    fs.symlinkSync(path.join(ROOT, "node_modules", dep), path.join(modules, dep));
  const pulumiDir = fs.realpathSync(path.join(ROOT, "node_modules/@pulumi/pulumi"));
  if (pulumiCopy) fs.cpSync(pulumiDir, path.join(modules, "@pulumi/pulumi"), { recursive: true });
  else fs.symlinkSync(pulumiDir, path.join(modules, "@pulumi/pulumi"));
  return dir;
}

/** What a program run does for a kind, in `dir`: BatchX's provider (thinProvider) serialized as `dynamic.Resource` does. */
const SERIALIZE = `
const path = require("node:path");
const pulumi = require("@pulumi/pulumi");
const { thinProvider } = require(path.resolve("node_modules/pulumi-mistral-batch/dist/provider/thin.js"));
(async () => {
  const out = {};
  for (const kind of ["file", "job", "results", "set"]) {
    const provider = thinProvider(kind);
    if (provider !== require("pulumi-mistral-batch/runtime/" + kind)) throw new Error("not the module's exports: " + kind);
    out[kind] = (await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: true })).text;
  }
  process.stdout.write(JSON.stringify(out));
})().catch((error) => {
  process.stdout.write(JSON.stringify({ error: error.stack }));
  process.exitCode = 1;
});
`;

/** Runs `script` with node in `cwd` (NODE_PATH: this repository's node_modules); its stdout as JSON. */
function runNode(cwd: string, script: string, args: string[] = []): Promise<HostRun> {
  const file = path.join(cwd, `script-${Math.random().toString(36).slice(2)}.cjs`);
  fs.writeFileSync(file, script);
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_PATH: path.join(ROOT, "node_modules"),
  };
  return spawnJson([...args, file], cwd, env, path.basename(file));
}

/**
 * A module-resolution hook for `node --import <returned>` that prints "SDK-IMPORT <url>" on stderr for every module of
 * @mistralai that is imported.
 */
function sdkImportHook(dir: string): string {
  const hook = path.join(dir, "hook.mjs");
  fs.writeFileSync(
    hook,
    `export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  if (r.url.includes("/@mistralai/")) process.stderr.write("SDK-IMPORT " + r.url + "\\n");
  return r;
}
`,
  );
  return `data:text/javascript,import { register } from "node:module"; register(${JSON.stringify(`file://${hook}`)});`;
}

/** Script lines that print "SDK-REQUIRE <paths>" on stderr at exit when a module of @mistralai was required. */
const SDK_REQUIRES = `process.on("exit", () => {
  const cjs = Object.keys(require.cache).filter((k) => k.includes("@mistralai"));
  if (cjs.length) process.stderr.write("SDK-REQUIRE " + cjs.join(" "));
});`;

/** A Pulumi program directory whose node_modules holds this package (a link to the repository, as `npm link` makes). */
function programDir(): string {
  const dir = tempDir();
  fs.mkdirSync(path.join(dir, "node_modules"));
  fs.symlinkSync(ROOT, path.join(dir, "node_modules", "pulumi-mistral-batch"), "dir");
  return dir;
}

describe("the serialized providers", () => {
  let fileText: string;
  let jobText: string;

  beforeAll(async () => {
    assertProviderBuilt();
    // A key configured in this process must not end up in what is serialized.
    await configure("http://127.0.0.1:9", KEY);
    fileText = await serialize("file");
    jobText = await serialize("job");
  });

  it("are small, hold no key and no path of this machine, and load pulumi-mistral-batch/runtime", () => {
    for (const [kind, text] of [
      ["file", fileText],
      ["job", jobText],
    ]) {
      expect(Buffer.byteLength(text), kind).toBeLessThan(4096);
      expect(text).not.toContain(KEY);
      expect(text).not.toContain(ROOT);
      expect(text).not.toContain(`${path.dirname(ROOT)}/`);
      expect(text).toContain('"pulumi-mistral-batch/runtime"');
      expect(text).toMatch(/require\(entry\)/);
      expect(text).toContain("exports.handler");
      expect(text).toContain(`kind: "${kind}"`);
    }
    expect(fileText).not.toBe(jobText);
  });

  it("run in a fresh process from the program's node_modules: up, then destroy from another process", async () => {
    const e = await emulator({ apiKey: KEY, speed: "fast" });
    const dir = programDir();
    const content = jsonlOf(chatRequests(3));
    const base = { fileText, jobText, apiKey: KEY, serverUrl: e.url, model: MODEL };

    const up = await runHost(dir, { ...base, phase: "up", content });
    expect(up.out.error).toBeUndefined();
    expect(up.code).toBe(0);
    const { file, job } = up.out;
    expect(up.out.fileCheck.failures).toEqual([]);
    expect(up.out.jobCheck.failures).toEqual([]);
    expect(file.outs).toMatchObject({ fileId: file.id, lineCount: 3, adopted: false });
    expect(up.out.fileRead.props).toMatchObject({ fileId: file.id, filename: file.outs.filename });
    expect(job.outs).toMatchObject({
      jobId: job.id,
      status: "SUCCESS",
      totalRequests: 3,
      succeededRequests: 3,
      inputFiles: [file.id],
      endpoint: CHAT,
    });
    expect(up.out.jobRead.props).toMatchObject({ status: "SUCCESS", outputFileId: job.outs.outputFileId });
    expect(up.stderr).not.toContain(KEY);

    const client = sdk(e.url, KEY);
    expect(await new Response(await client.files.download({ fileId: file.id })).text()).toBe(content);
    const remote = await client.batch.jobs.get({ jobId: job.id });
    expect(remote).toMatchObject({
      status: "SUCCESS",
      inputFiles: [file.id],
      metadata: { [IDEMPOTENCY_METADATA_KEY]: job.outs.idempotencyKey },
    });
    expect(await stats(e.url, KEY)).toMatchObject({ files: 2, jobs: 1 }); // the input and the output file

    const destroy = await runHost(dir, {
      ...base,
      phase: "destroy",
      jobId: job.id,
      jobOuts: { ...job.outs, __provider: jobText },
      fileId: file.id,
      fileOuts: { ...file.outs, __provider: fileText },
    });
    expect(destroy.out).toEqual({ deleted: true });
    expect(await stats(e.url, KEY)).toMatchObject({ files: 0, jobs: 1 });
    await expect(client.files.retrieve({ fileId: job.outs.outputFileId })).rejects.toMatchObject({ statusCode: 404 });
  });

  it("installed (a copy under node_modules): one require of pulumi-mistral-batch/runtime/<kind>, under 300 bytes", async () => {
    const dir = installedDir(true);
    const run = await runNode(dir, SERIALIZE);
    expect(run.out.error).toBeUndefined();
    for (const kind of ["file", "job", "results", "set"]) {
      const text: string = run.out[kind];
      expect(Buffer.byteLength(JSON.stringify(text)), kind).toBeLessThan(300);
      expect(text).toMatch(/^exports\.handler = __f0;\n/);
      // The whole provider: the installed module, by reference. No code, key or path.
      expect(text).toContain(`require("pulumi-mistral-batch/runtime/${kind}")`);
      expect(text.match(/require\(/g)).toHaveLength(1);
      expect(text).not.toContain(dir);
      expect(text).not.toContain(ROOT);
    }
  });

  it("installed, with a @pulumi/pulumi that cannot read the package's manifest: the exported dist name instead", async () => {
    const dir = installedDir(false);
    const run = await runNode(dir, SERIALIZE);
    expect(run.out.error).toBeUndefined();
    for (const kind of ["file", "job", "results", "set"]) {
      const text: string = run.out[kind];
      expect(text).toContain(`require("pulumi-mistral-batch/dist/provider/entry/${kind}.js")`);
      expect(Buffer.byteLength(JSON.stringify(text))).toBeLessThan(320);
      expect(text).not.toContain(dir);
    }
    // Both names resolve in the program, to the same provider: what the host deserializes.
    const check = await runNode(
      dir,
      `const rfs = require(${JSON.stringify(REQUIRE_FROM_STRING)});
const texts = ${JSON.stringify(run.out)};
const same = Object.entries(texts).map(([kind, text]) => rfs(text).handler() === require("pulumi-mistral-batch/runtime/" + kind));
process.stdout.write(JSON.stringify({ same }));`,
    );
    expect(check.out).toEqual({ same: [true, true, true, true] });
  });

  it("installed: up in a fresh process from what the program serialized, then destroy from another process", async () => {
    const dir = installedDir(true);
    const texts = (await runNode(dir, SERIALIZE)).out;
    const e = await emulator({ apiKey: KEY, speed: "fast" });
    const content = jsonlOf(chatRequests(2));
    const base = { fileText: texts.file, jobText: texts.job, apiKey: KEY, serverUrl: e.url, model: MODEL };
    // The copy of @pulumi/pulumi finds its own dependencies in this repository's node_modules.
    const nodePath = { NODE_PATH: path.join(ROOT, "node_modules") };
    const up = await runHost(dir, { ...base, phase: "up", content }, nodePath);
    expect(up.out.error).toBeUndefined();
    expect(up.out.fileCheck.failures).toEqual([]);
    expect(up.out.jobCheck.failures).toEqual([]);
    expect(up.out.job.outs).toMatchObject({ status: "SUCCESS", totalRequests: 2, inputFiles: [up.out.file.id] });
    expect(up.stderr).not.toContain(KEY);
    const destroy = await runHost(
      dir,
      {
        ...base,
        phase: "destroy",
        jobId: up.out.job.id,
        jobOuts: { ...up.out.job.outs, __provider: texts.job },
        fileId: up.out.file.id,
        fileOuts: { ...up.out.file.outs, __provider: texts.file },
      },
      nodePath,
    );
    expect(destroy.out).toEqual({ deleted: true });
    expect(await stats(e.url, KEY)).toMatchObject({ files: 0, jobs: 1 });
  });

  it("the program side loads no SDK: requiring the package and serializing its providers imports nothing of @mistralai", async () => {
    const dir = installedDir(false);
    const register = sdkImportHook(dir);
    const run = await runNode(dir, `require("pulumi-mistral-batch");\n${SERIALIZE}\n${SDK_REQUIRES}`, [
      "--import",
      register,
    ]);
    expect(run.out.error).toBeUndefined();
    expect(Object.keys(run.out).sort()).toEqual(["file", "job", "results", "set"]);
    expect(run.stderr).not.toMatch(/SDK-(IMPORT|REQUIRE)/);
    // The hook does see an import of the SDK (so the check above can fail).
    const control = await runNode(
      dir,
      `import("@mistralai/mistralai/core.js").then(() => process.stdout.write("{}"));`,
      ["--import", register],
    );
    expect(control.stderr).toContain("SDK-IMPORT");
  });

  it("a provider's check of a new BatchJob loads no SDK once a fresh models list is on disk (modelCache.ts)", async () => {
    const e = await emulator();
    const dir = installedDir(false);
    const register = sdkImportHook(dir);
    const values = { "mistral:apiKey": KEY, "mistral:serverUrl": e.url };
    const check = `const runtime = require("pulumi-mistral-batch/runtime");
(async () => {
  const values = ${JSON.stringify(values)};
  await runtime.configure({ config: { get: (k) => values[k] } });
  const body = { messages: [{ role: "user", content: "hi" }] };
  const r = await runtime.provider("job").check({}, { requests: [{ customId: "a", body }], model: ${JSON.stringify(MODEL)}, scope: "p/s/j" });
  process.stdout.write(JSON.stringify({ failures: r.failures }));
})().catch((e) => process.stdout.write(JSON.stringify({ error: String(e) })));
${SDK_REQUIRES}`;
    // The first provider process (a preview) reads the list through the SDK and keeps a copy in the program's
    // node_modules/.cache; the next one (the up's) checks from it.
    const first = await runNode(dir, check, ["--import", register]);
    expect(first.out).toEqual({ failures: [] });
    expect(first.stderr).toContain("SDK-IMPORT");
    const second = await runNode(dir, check, ["--import", register]);
    expect(second.out).toEqual({ failures: [] });
    expect(second.stderr).not.toMatch(/SDK-(IMPORT|REQUIRE)/);
    expect(fs.readdirSync(path.join(dir, "node_modules/.cache/pulumi-mistral-batch/models"))).toHaveLength(1);
  });

  it("without the package in the program's node_modules: the clear install message", async () => {
    const dir = tempDir();
    const run = await runHost(dir, {
      fileText,
      jobText,
      apiKey: KEY,
      serverUrl: "http://127.0.0.1:9",
      phase: "up",
      content: "",
    });
    expect(run.code).toBe(1);
    expect(run.out.error.message).toBe(
      `pulumi-mistral-batch/runtime could not be loaded from ${fs.realpathSync(dir)}: install the package in the Pulumi program's project (npm install pulumi-mistral-batch)`,
    );
  });
});
