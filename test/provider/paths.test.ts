/**
 * Paths and versions in state (provider/paths.ts), and the providers' acceptance of state an older release wrote:
 * the outputs of release 33e6790 (the last before `stateVersion`), built by hand from that release's create, with
 * absolute paths and no `stateVersion`; and outputs a newer release might write (a higher version, extra fields).
 * Offline: check, diff, read and delete of BatchResults, check and diff of BatchFile; no key, no server.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BatchFileProvider, type BatchFileInputs, type BatchFileOutputs } from "../../provider/batchFile";
import { BatchResultsProvider, type BatchResultsInputs, type BatchResultsOutputs } from "../../provider/batchResults";
import { ProviderContext } from "../../provider/context";
import { STATE_VERSION, resolveStatePath, samePath, stateVersionOf, toStatePath } from "../../provider/paths";

describe("toStatePath", () => {
  const cwd = path.resolve("/home/ann/project");
  it("an absolute path inside the program's directory becomes relative, with / separators", () => {
    expect(toStatePath(path.join(cwd, "data", "q.jsonl"), cwd)).toBe("data/q.jsonl");
    expect(toStatePath(path.join(cwd, ".mistral-eval", "e", "results", "m"), cwd)).toBe(".mistral-eval/e/results/m");
    expect(toStatePath(cwd, cwd)).toBe(".");
  });
  it("a relative path stays relative, normalized", () => {
    expect(toStatePath("data/q.jsonl", cwd)).toBe("data/q.jsonl");
    expect(toStatePath("./data/../data/q.jsonl", cwd)).toBe("data/q.jsonl");
  });
  it("a path outside the program's directory stays (or becomes) absolute", () => {
    expect(toStatePath("/srv/shared/q.jsonl", cwd)).toBe(path.resolve("/srv/shared/q.jsonl"));
    expect(toStatePath("../other/q.jsonl", cwd)).toBe(path.resolve("/home/ann/other/q.jsonl"));
    expect(toStatePath(path.resolve("/home/ann/project-b/q.jsonl"), cwd)).toBe(
      path.resolve("/home/ann/project-b/q.jsonl"),
    );
    // A name that merely starts with ".." is inside.
    expect(toStatePath(path.join(cwd, "..data", "q.jsonl"), cwd)).toBe("..data/q.jsonl");
  });
  it("is idempotent, and the same project in two places stores the same text", () => {
    const other = path.resolve("/tmp/elsewhere/project");
    for (const p of ["data/q.jsonl", "/srv/q.jsonl", "out"])
      expect(toStatePath(toStatePath(p, cwd), cwd)).toBe(toStatePath(p, cwd));
    expect(toStatePath(path.join(cwd, "out"), cwd)).toBe(toStatePath(path.join(other, "out"), other));
  });
  it("resolveStatePath and samePath: stored paths, relative or absolute, resolve against the working directory", () => {
    expect(resolveStatePath("data/q.jsonl", cwd)).toBe(path.join(cwd, "data", "q.jsonl"));
    expect(resolveStatePath("/srv/q.jsonl", cwd)).toBe(path.resolve("/srv/q.jsonl"));
    expect(samePath(path.join(cwd, "out"), "out", cwd)).toBe(true);
    expect(samePath("out", "./out/", cwd)).toBe(true);
    expect(samePath("out", "out2", cwd)).toBe(false);
    expect(samePath(undefined, null, cwd)).toBe(true);
    expect(samePath("out", undefined, cwd)).toBe(false);
  });
});

describe("stateVersionOf", () => {
  it("the current version for new or older state; a newer release's version is kept", () => {
    expect(STATE_VERSION).toBe(1);
    expect(stateVersionOf(undefined)).toBe(1);
    expect(stateVersionOf({})).toBe(1);
    expect(stateVersionOf({ stateVersion: 1 })).toBe(1);
    expect(stateVersionOf({ stateVersion: 7 })).toBe(7);
    expect(stateVersionOf({ stateVersion: "7" })).toBe(1);
  });
});

// A folder inside the program's directory (the working directory), as a project's data and results are.
let dir: string;
let rel: string;
const sha = (data: string) => createHash("sha256").update(data).digest("hex");
const LINE = JSON.stringify({ custom_id: "a", body: { messages: [{ role: "user", content: "Q" }] } });
const ctx = ProviderContext.fromConfig(undefined, {});
const PROVIDER = "exports.handler = __f0; /* the serialized thin provider of release 33e6790 */";

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(process.cwd(), ".state-test-"));
  rel = path.basename(dir);
  fs.writeFileSync(path.join(dir, "q.jsonl"), `${LINE}\n`);
  fs.mkdirSync(path.join(dir, "results"));
  fs.writeFileSync(path.join(dir, "results", "job-1.output.jsonl"), "{}\n{}\n");
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe("BatchFile: state of the previous release", () => {
  const provider = new BatchFileProvider(ctx);
  /** What release 33e6790 stored for `source: path.join(__dirname, "q.jsonl")`: the absolute path, no stateVersion. */
  const oldOutputs = (): BatchFileOutputs & { __provider: string } => ({
    __provider: PROVIDER,
    source: path.join(dir, "q.jsonl"),
    purpose: "batch",
    endpoint: "/v1/chat/completions",
    filenamePrefix: "q",
    sha256: sha(`${LINE}\n`),
    bytes: LINE.length + 1,
    lineCount: 1,
    fileId: "3f0e1c2a-9b8d-4c7e-a6f5-0123456789ab",
    filename: `q-${sha(`${LINE}\n`).slice(0, 16)}.jsonl`,
    createdAt: 1764000000,
    adopted: false,
  });

  it("check stores the source relative to the program's directory, whether given absolute or relative", async () => {
    for (const source of [path.join(dir, "q.jsonl"), `${rel}/q.jsonl`, `./${rel}/../${rel}/q.jsonl`]) {
      const { inputs, failures } = await provider.check(
        {} as BatchFileInputs,
        { source, endpoint: "/v1/chat/completions" } as BatchFileInputs,
      );
      expect(failures).toEqual([]);
      expect(inputs!.source).toBe(`${rel}/q.jsonl`);
      expect(inputs!.filenamePrefix).toBe("q");
    }
  });

  it("diff of the old state against the same inputs, given either way: no change, no replace", async () => {
    for (const source of [path.join(dir, "q.jsonl"), `${rel}/q.jsonl`]) {
      const { inputs } = await provider.check(oldOutputs(), {
        source,
        endpoint: "/v1/chat/completions",
      } as BatchFileInputs);
      const d = await provider.diff(oldOutputs().fileId, oldOutputs(), inputs!);
      expect(d).toMatchObject({ changes: false, replaces: [] });
    }
  });

  it("update (endpoint only) writes the current version, keeping the remote file's identity", async () => {
    const { inputs } = await provider.check(oldOutputs(), { source: `${rel}/q.jsonl` } as BatchFileInputs);
    const { outs } = await provider.update(oldOutputs().fileId, oldOutputs(), inputs!);
    expect(outs).toMatchObject({
      source: `${rel}/q.jsonl`,
      stateVersion: 1,
      sha256: oldOutputs().sha256,
      filename: oldOutputs().filename,
    });
  });
});

describe("BatchResults: state of the previous release, and of a newer one", () => {
  const provider = new BatchResultsProvider(ctx);
  const output = () => path.join(dir, "results", "job-1.output.jsonl");
  /**
   * What release 33e6790 stored for `directory: path.join(__dirname, "results")`: absolute paths, no stateVersion,
   * none of the fields added since (countsMatch, countMismatch, expiredFileIds).
   */
  const oldOutputs = (): BatchResultsOutputs & { __provider: string } =>
    ({
      __provider: PROVIDER,
      jobId: "job-1",
      status: "SUCCESS",
      outputFileId: "out-1",
      errorFileId: null,
      succeededRequests: 2,
      failedRequests: 0,
      directory: path.join(dir, "results"),
      deleteOnDestroy: true,
      downloaded: true,
      outputPath: output(),
      errorPath: null,
      outputLines: 2,
      errorLines: 0,
      outputSha256: sha("{}\n{}\n"),
      errorSha256: null,
    }) as Omit<BatchResultsOutputs, "countsMatch" | "countMismatch" | "expiredFileIds"> as BatchResultsOutputs & {
      __provider: string;
    };
  const news = (directory: string): BatchResultsInputs => ({
    jobId: "job-1",
    status: "SUCCESS",
    outputFileId: "out-1",
    errorFileId: null,
    succeededRequests: 2,
    failedRequests: 0,
    directory,
    deleteOnDestroy: true,
  });

  it("check stores the directory relative to the program's directory; one outside stays absolute", async () => {
    expect((await provider.check({} as BatchResultsInputs, news(path.join(dir, "results")))).inputs!.directory).toBe(
      `${rel}/results`,
    );
    expect((await provider.check({} as BatchResultsInputs, news(`${rel}/results/`))).inputs!.directory).toBe(
      `${rel}/results`,
    );
    expect((await provider.check({} as BatchResultsInputs, news("/srv/results"))).inputs!.directory).toBe(
      path.resolve("/srv/results"),
    );
  });

  it("diff of the old state against the same inputs: no change, no replace, no download", async () => {
    for (const directory of [path.join(dir, "results"), `${rel}/results`]) {
      const { inputs } = await provider.check(oldOutputs(), news(directory));
      expect(await provider.diff("job-1", oldOutputs(), inputs!)).toMatchObject({ changes: false, replaces: [] });
    }
    const { inputs } = await provider.check(oldOutputs(), news(`${rel}/other`));
    expect((await provider.diff("job-1", oldOutputs(), inputs!)).changes).toBe(true);
  });

  it("read (refresh) upgrades the old state: relative paths, the current version; the files count as present", async () => {
    const { props } = await provider.read("job-1", oldOutputs());
    expect(props).toMatchObject({
      downloaded: true,
      outputPath: `${rel}/results/job-1.output.jsonl`,
      errorPath: null,
      stateVersion: 1,
      directory: path.join(dir, "results"),
    });
  });

  it("update with unchanged inputs downloads nothing and writes the upgraded state", async () => {
    const { inputs } = await provider.check(oldOutputs(), news(`${rel}/results`));
    const { outs } = await provider.update("job-1", oldOutputs(), inputs!);
    expect(outs).toMatchObject({
      downloaded: true,
      directory: `${rel}/results`,
      outputPath: `${rel}/results/job-1.output.jsonl`,
      stateVersion: 1,
    });
  });

  it("read keeps what a newer release wrote: its version and fields this release does not know", async () => {
    const newer = {
      ...oldOutputs(),
      outputPath: `${rel}/results/job-1.output.jsonl`,
      stateVersion: 3,
      manifest: { kept: true },
    };
    const { props } = await provider.read("job-1", newer);
    expect(props).toMatchObject({ stateVersion: 3, manifest: { kept: true }, downloaded: true });
  });

  it("delete accepts the old absolute paths, new relative ones, and a newer release's outputs", async () => {
    await provider.delete("job-1", oldOutputs());
    expect(fs.existsSync(output())).toBe(false);
    fs.writeFileSync(output(), "{}\n{}\n");
    await provider.delete("job-1", {
      ...oldOutputs(),
      outputPath: `${rel}/results/job-1.output.jsonl`,
      stateVersion: 9,
      extra: 1,
    } as BatchResultsOutputs);
    expect(fs.existsSync(output())).toBe(false);
    fs.writeFileSync(output(), "{}\n{}\n");
    // Keeping the files (the default), or outputs missing fields: nothing to do, no error.
    await provider.delete("job-1", { ...oldOutputs(), deleteOnDestroy: undefined });
    await provider.delete("job-1", {} as BatchResultsOutputs);
    expect(fs.existsSync(output())).toBe(true);
  });
});
