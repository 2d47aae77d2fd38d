/**
 * State recorded by the previous release (33e6790, the last before `stateVersion` and relative paths): the
 * fixture fixtures/state-33e6790.json holds the inputs and outputs that release's providers wrote for a BatchFile
 * (source given absolute, with __dirname), a BatchJob and its BatchResults (directory absolute); it was made by
 * fixtures/state-33e6790.gen.js running that release's build, with the project folder and the remote ids replaced
 * by placeholders. Here the project folder is a directory inside the working directory (as the program's
 * directory is for the provider), and the remote file and job are made in an emulator. The current providers must
 * accept that state: check + diff with the same program show no change and no replacement, read (refresh) works
 * and upgrades it, delete (destroy) works.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type * as pulumi from "@pulumi/pulumi";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRuntime } from "../../provider/runtime";
import { setReporter } from "../../provider/log";
import { cleanup, emulator, sdk, TEST_KEY } from "./integration-harness";

/** A resource's entry in the fixture: its id and what the engine kept of its inputs and outputs. */
interface ResourceState {
  id: string;
  inputs: Record<string, unknown>;
  outputs: Record<string, unknown>;
}
interface State {
  file: ResourceState;
  job: ResourceState;
  results: ResourceState;
}
type Provider = Required<pulumi.dynamic.ResourceProvider>;

const line = (id: string) =>
  JSON.stringify({ custom_id: id, body: { messages: [{ role: "user", content: `Q ${id}` }] } });
const CONTENT = `${[line("a"), line("b"), line("c")].join("\n")}\n`;

let project: string;
let url: string;
let ids: { FILE_ID: string; JOB_ID: string; OUTPUT_FILE_ID: string };
const rt = createRuntime({});
const p = (kind: "file" | "job" | "results") => rt.provider(kind) as Provider;
let restoreReporter: (() => void) | undefined;

/** The fixture for this project folder and these remote ids. */
function fixture(): State {
  let text = fs.readFileSync(path.join(__dirname, "fixtures/state-33e6790.json"), "utf8");
  for (const [k, v] of Object.entries({ PROJECT: project, ...ids })) text = text.split(`\${${k}}`).join(v);
  return JSON.parse(text);
}
/** What the program declares (and the engine hands `check`), as in the release that wrote the fixture. */
const declared = (state: State) => ({
  file: { source: path.join(project, "data/questions.jsonl"), endpoint: "/v1/chat/completions" },
  job: {
    inputFiles: [ids.FILE_ID],
    model: "mistral-small-latest",
    metadata: { suite: "fixture" },
    waitForCompletion: { timeoutMinutes: 1, pollIntervalSeconds: 1 },
  },
  results: { ...state.results.inputs, directory: path.join(project, "results"), __provider: undefined },
});

beforeAll(async () => {
  const previous = setReporter(() => {});
  restoreReporter = () => setReporter(previous);
  project = fs.mkdtempSync(path.join(process.cwd(), ".previous-release-"));
  fs.mkdirSync(path.join(project, "data"));
  fs.writeFileSync(path.join(project, "data/questions.jsonl"), CONTENT);
  const emu = await emulator();
  url = emu.url;
  const values: Record<string, string> = { "mistral:apiKey": TEST_KEY, "mistral:serverUrl": url };
  await rt.configure({ config: { get: (k: string) => values[k] } } as never);
  // The remote objects the recorded state points at: made with the current providers (same content, same job).
  const fileIn = (
    await p("file").check({}, { source: path.join(project, "data/questions.jsonl"), endpoint: "/v1/chat/completions" })
  ).inputs!;
  const file = await p("file").create(fileIn);
  const job = await p("job").create(
    (
      await p("job").check(
        {},
        {
          inputFiles: [file.id],
          model: "mistral-small-latest",
          metadata: { suite: "fixture" },
          waitForCompletion: { timeoutMinutes: 1, pollIntervalSeconds: 1 },
        },
      )
    ).inputs!,
  );
  ids = { FILE_ID: file.id, JOB_ID: job.id, OUTPUT_FILE_ID: job.outs.outputFileId };
  // The results on disk, where the previous release downloaded them.
  fs.mkdirSync(path.join(project, "results"));
  fs.writeFileSync(path.join(project, "results", `${job.id}.output.jsonl`), "{}\n{}\n{}\n");
});

afterAll(async () => {
  restoreReporter?.();
  await cleanup();
  fs.rmSync(project, { recursive: true, force: true });
});

describe("state of release 33e6790", () => {
  it("the fixture is what that release wrote: absolute paths of the project, no stateVersion", () => {
    const state = fixture();
    expect(state.file.outputs.source).toBe(path.join(project, "data/questions.jsonl"));
    expect(state.results.outputs.outputPath).toBe(path.join(project, "results", `${ids.JOB_ID}.output.jsonl`));
    for (const r of [state.file, state.job, state.results]) expect(r.outputs.stateVersion).toBeUndefined();
  });

  it("check + diff with the unchanged program: no change, no replacement, for every resource", async () => {
    const state = fixture();
    const news = declared(state);
    for (const kind of ["file", "job", "results"] as const) {
      const { inputs, failures } = await p(kind).check(state[kind].inputs, news[kind]);
      expect(failures ?? [], kind).toEqual([]);
      const d = await p(kind).diff(state[kind].id, state[kind].outputs, inputs);
      expect(d.changes, `${kind}: ${JSON.stringify(d)}`).toBe(false);
      expect(d.replaces ?? [], kind).toEqual([]);
    }
  });

  it("read (refresh) accepts it and upgrades it: relative paths, stateVersion 1, nothing dropped", async () => {
    const state = fixture();
    const file = await p("file").read(state.file.id, state.file.outputs);
    expect(file.id).toBe(ids.FILE_ID);
    expect(file.props).toMatchObject({
      source: `${path.basename(project)}/data/questions.jsonl`,
      sha256: state.file.outputs.sha256,
      filename: state.file.outputs.filename,
      stateVersion: 1,
    });
    const job = await p("job").read(state.job.id, state.job.outputs);
    expect(job.props).toMatchObject({
      jobId: ids.JOB_ID,
      status: "SUCCESS",
      idempotencyKey: state.job.outputs.idempotencyKey,
      stateVersion: 1,
    });
    const results = await p("results").read(state.results.id, state.results.outputs);
    expect(results.props).toMatchObject({
      downloaded: true,
      outputPath: `${path.basename(project)}/results/${ids.JOB_ID}.output.jsonl`,
      stateVersion: 1,
    });
  });

  it("delete (destroy) accepts it: the results' local files, the job and the file go", async () => {
    const state = fixture();
    await p("results").delete(state.results.id, state.results.outputs);
    expect(fs.existsSync(path.join(project, "results", `${ids.JOB_ID}.output.jsonl`))).toBe(false);
    await p("job").delete(state.job.id, state.job.outputs);
    await p("file").delete(state.file.id, state.file.outputs);
    const files = await sdk(url).files.list({});
    expect(files.data.map((f) => f.id)).not.toContain(ids.FILE_ID);
  });
});
