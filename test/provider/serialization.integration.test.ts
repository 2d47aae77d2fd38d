/**
 * The provider objects as Pulumi stores and runs them. Pulumi serializes `() => provider` for the provider given
 * to `dynamic.Resource` into the `__provider` property; its dynamic provider host later loads that text with
 * `requireFromString(text).handler()` in a fresh process whose working directory is the program's, calls
 * `configure` with the stack config, then the CRUD methods. This test does exactly that, with the built package
 * (`dist/`) linked into a temporary program directory's node_modules, against an emulator of this process.
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
function runHost(cwd: string, input: Json): Promise<HostRun> {
  const script = path.join(cwd, "host.cjs");
  fs.writeFileSync(script, HOST);
  const inputFile = path.join(cwd, `input-${Date.now()}-${Math.random().toString(36).slice(2)}.json`);
  fs.writeFileSync(inputFile, JSON.stringify(input));
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, REQUIRE_FROM_STRING };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, inputFile], { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => {
      try {
        resolve({ code, out: JSON.parse(stdout), stderr });
      } catch {
        reject(new Error(`host printed no JSON (exit ${code}):\n${stdout}\n${stderr}`));
      }
    });
  });
}

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
